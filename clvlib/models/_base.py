"""What every maximum-likelihood model shares: input checks, row compression, the optimiser, the Hessian.

Each model works on log-parameters (so the optimiser never leaves the positive orthant) and reports on the
natural scale. Uncertainty comes from the observed information: the Hessian of the negative log-likelihood in the
log-parameters is inverted and carried to the natural scale by the delta method. At the optimum the gradient is zero,
so this equals the inverse of the natural-scale Hessian.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import optimize, special

from .._validation import check_time_unit, validate_columns
from ..errors import ConvergenceError, DataError, NotFittedError

__all__ = ["BaseModel", "PurchaseModel", "compress_rows", "purchase_arrays", "numeric_gradient", "hyp2f1"]

_Z95 = 1.959963984540054


def _first_rows(customers: pd.DataFrame, bad: np.ndarray, columns: list[str]) -> str:
    return customers.loc[bad, columns].head(3).to_string()


def purchase_arrays(customers: pd.DataFrame, source: str = "customers") -> tuple[np.ndarray, ...]:
    """Validate a customer table against the lifetimes invariants; return ``frequency, recency, T`` as float arrays.

    Raises :class:`~clvlib.DataError` naming the column and the first offending rows when a column is missing or
    has missing values, frequency is not a non-negative integer, recency is negative, exceeds ``T``, or is not 0
    for a customer without repeat purchases.
    """
    cols = ["frequency", "recency", "T"]
    validate_columns(customers, cols, source=source, what="customer table")
    arrays = [customers[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in cols]
    x, t_x, T = arrays
    for name, values in zip(cols, arrays):
        if not np.isfinite(values).all():
            bad = ~np.isfinite(values)
            raise DataError(
                f"{source}: column `{name}` has {bad.sum()} missing or infinite value(s):\n"
                f"{_first_rows(customers, bad, cols)}"
            )
    tol = 1e-9 * np.maximum(1.0, T)
    checks = [
        ((x < 0) | (x != np.round(x)), "`frequency` must be a non-negative integer (repeat purchases)"),
        (t_x < 0, "`recency` must not be negative"),
        (t_x > T + tol, "`recency` must not exceed `T` (the customer's age)"),
        ((x == 0) & (np.abs(t_x) > tol), "`recency` must be 0 for customers with `frequency` 0 (lifetimes' rule)"),
    ]
    for bad, rule in checks:
        if bad.any():
            raise DataError(
                f"{source}: {rule}, but {bad.sum()} customer(s) break this rule; build the table with "
                f"clvlib.customer_summary. First rows:\n{_first_rows(customers, bad, cols)}"
            )
    return x, np.minimum(t_x, T), T


def hyp2f1(a, b, c, z) -> np.ndarray:
    """``scipy.special.hyp2f1`` with a guard for its spurious ``inf``.

    For z > 0.9 and an integer c − a − b (e.g. ₂F₁(1, −0.5; 99.5; 0.95)) scipy 1.17 can return inf although the
    series converges; moving c by one part in 10¹² lands off that branch and changes the value far below float
    precision of the likelihood.
    """
    value = np.asarray(special.hyp2f1(a, b, c, z), dtype=np.float64)
    bad = ~np.isfinite(value)
    if bad.any():
        a, b, c, z = (np.broadcast_to(np.asarray(v, dtype=np.float64), value.shape)[bad] for v in (a, b, c, z))
        value = value.copy()
        value[bad] = special.hyp2f1(a, b, c * (1 + 1e-12), z)
    return value


def compress_rows(*columns: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Identical rows collapsed: the unique rows (one array per column), their counts, and the inverse index.

    The log-likelihood of the data is the count-weighted sum over unique rows, which is what makes fitting on a
    million customers fast: customers share far fewer distinct ``(frequency, recency, T)`` triples. Rows are
    hashed (``pd.factorize`` per column, then on the combined integer code), which is linear in the number of
    rows, unlike sorting them.
    """
    codes, uniques = zip(*(pd.factorize(np.asarray(c), sort=False) for c in columns))
    sizes = [len(u) for u in uniques]
    if np.prod(np.array(sizes, dtype=np.float64)) >= 2.0**62:  # the combined code would overflow int64
        stacked = np.column_stack(columns)
        unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
        return tuple(unique.T), counts.astype(np.float64), inverse.ravel()
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for code, size in zip(codes, sizes):
        key = key * size + code
    inverse, keys = pd.factorize(key, sort=False)
    rows = []
    for code_unique, size in zip(reversed(uniques), reversed(sizes)):
        keys, position = np.divmod(keys, size)
        rows.append(np.asarray(code_unique)[position])
    counts = np.bincount(inverse, minlength=len(rows[0])).astype(np.float64)
    return tuple(reversed(rows)), counts, inverse


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central finite-difference gradient of a scalar function (relative steps)."""
    grad = np.empty_like(x)
    for i in range(len(x)):
        h = step * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def _converged(result) -> bool:
    """Success, or a stop for lost precision at a point where the per-customer gradient is already ~0."""
    finite = np.all(np.isfinite(result.x)) and np.isfinite(result.fun)
    return bool(finite and (result.success or np.max(np.abs(result.jac)) <= 1e-5))


def _hessian_from_gradient(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: float) -> np.ndarray:
    n = len(x)
    hess = np.empty((n, n))
    for i in range(n):
        h = step * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        hess[i] = (grad(up) - grad(down)) / (2 * h)
    return (hess + hess.T) / 2


class BaseModel:
    """Shared machinery of the maximum-likelihood models (not used directly).

    Subclasses set ``_param_names``, implement ``_start(data, weights)`` (starting log-parameters) and provide
    ``_log_likelihood_and_gradient(params, data)`` (the weighted total and its gradient in the natural parameters),
    or override ``_negative_log_likelihood(log_params, data, weights)`` when the gradient is not analytic;
    ``_prepare(data, weights)`` may precompute what every evaluation reuses.
    """

    _param_names: tuple[str, ...] = ()
    _hessian_step: float = 1e-5

    @staticmethod
    def _prepare(data: tuple, weights: np.ndarray):
        """Precompute whatever the likelihood reuses across evaluations (default: nothing)."""
        return data

    @classmethod
    def _negative_log_likelihood(cls, theta, data, weights):
        """What the optimiser minimises: −log-likelihood and its gradient in the log-parameters."""
        params = np.exp(theta)
        total, grad = cls._log_likelihood_and_gradient(params, data)
        # Chain rule to log-parameters: d/dθ = d/dp · p.
        return -total, -grad * params

    def __init__(self, penalizer_coef: float = 0.0):
        if penalizer_coef < 0:
            raise ValueError(f"`penalizer_coef` must be >= 0, but {penalizer_coef!r} was passed.")
        self.penalizer_coef = float(penalizer_coef)

    # -- fitting ---------------------------------------------------------------------------------------------
    def _record_time_unit(self, customers: pd.DataFrame, time_unit: str | None) -> None:
        unit = time_unit if time_unit is not None else customers.attrs.get("time_unit")
        if unit is not None:
            check_time_unit(unit)
        self.time_unit_ = unit

    def _optimise(self, data: tuple, weights: np.ndarray, tol: float, maxiter: int) -> None:
        n = weights.sum()
        penalty = self.penalizer_coef

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = self._negative_log_likelihood(theta, data, weights)
            params = np.exp(theta)
            # lifetimes' L2 penalty on the natural parameters, scaled per customer so `tol` is size-free.
            return value / n + penalty * np.sum(params**2), grad / n + penalty * 2 * params**2

        x0 = self._start(data, weights)
        data = self._prepare(data, weights)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # BFGS: the log-parameters are unconstrained, and it needs no BLAS-threaded bookkeeping (L-BFGS-B's
            # costs more than the likelihood itself on a busy machine). L-BFGS-B is the fallback.
            result = optimize.minimize(
                objective, x0, jac=True, method="BFGS", options={"gtol": tol, "maxiter": maxiter}
            )
            if not _converged(result):
                result = optimize.minimize(
                    objective, x0, jac=True, method="L-BFGS-B", tol=tol, options={"maxiter": maxiter}
                )
        if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
            raise ConvergenceError(
                f"{type(self).__name__}: the optimiser left the finite range ({result.message}). "
                "Try `penalizer_coef=0.001`, a coarser `time_unit`, or more data."
            )
        if not _converged(result):
            raise ConvergenceError(
                f"{type(self).__name__}: maximum-likelihood fit did not converge: {result.message} "
                "Try `tol=`, `penalizer_coef=0.001`, or more data."
            )
        theta = result.x
        self.params_ = pd.Series(np.exp(theta), index=list(self._param_names), name="coef")
        total, _ = self._negative_log_likelihood(theta, data, weights)
        self.log_likelihood_ = -float(total)
        self.n_customers_ = int(n)
        self._set_uncertainty(theta, data, weights)
        self._optimiser_result = result

    def _hessian(self, theta: np.ndarray, data: tuple, weights: np.ndarray) -> np.ndarray:
        """Hessian of the total negative log-likelihood in the log-parameters (differences of the gradient)."""

        def gradient(th: np.ndarray) -> np.ndarray:
            return self._negative_log_likelihood(th, data, weights)[1]

        return _hessian_from_gradient(gradient, theta, self._hessian_step)

    def _set_uncertainty(self, theta: np.ndarray, data: tuple, weights: np.ndarray) -> None:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            hess = self._hessian(theta, data, weights)
        names = list(self._param_names)
        try:
            cov_log = np.linalg.inv(hess)
            if not np.all(np.isfinite(cov_log)) or np.any(np.diag(cov_log) <= 0):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            warnings.warn(
                f"{type(self).__name__}: the Hessian at the optimum is singular, so standard errors are unavailable "
                "(the data barely identify some parameters).",
                UserWarning,
                stacklevel=4,  # _set_uncertainty < _optimise < fit < the caller
            )
            cov_log = np.full((len(theta), len(theta)), np.nan)
        self._log_covariance = cov_log
        jac = np.diag(np.exp(theta))  # delta method: d exp(theta) / d theta
        self.variance_matrix_ = pd.DataFrame(jac @ cov_log @ jac, index=names, columns=names)

    # -- results ---------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet: call .fit() first.")

    def _check_time_unit(self, customers: pd.DataFrame) -> None:
        unit = customers.attrs.get("time_unit") if isinstance(customers, pd.DataFrame) else None
        if unit is not None and self.time_unit_ is not None and unit != self.time_unit_:
            raise DataError(
                f"customers: the table is in time unit {unit!r} but the {type(self).__name__} was fitted in "
                f"{self.time_unit_!r}; rebuild the table with customer_summary(..., time_unit={self.time_unit_!r})."
            )

    @property
    def standard_errors_(self) -> pd.Series:
        """Standard errors of the natural-scale parameters (delta method on the log-scale Hessian)."""
        self._check_fitted()
        return pd.Series(np.sqrt(np.diag(self.variance_matrix_)), index=self.params_.index, name="se")

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """95 % intervals, symmetric on the log scale (so they stay positive): ``exp(log θ ± 1.96 se(log θ))``."""
        self._check_fitted()
        se_log = np.sqrt(np.diag(self._log_covariance))
        log_coef = np.log(self.params_.to_numpy())
        return pd.DataFrame(
            {"lower 95%": np.exp(log_coef - _Z95 * se_log), "upper 95%": np.exp(log_coef + _Z95 * se_log)},
            index=self.params_.index,
        )

    def summary(self) -> pd.DataFrame:
        """Parameter table: ``coef``, ``se``, ``lower 95%``, ``upper 95%`` indexed by the literature's symbols."""
        self._check_fitted()
        table = pd.concat([self.params_.rename("coef"), self.standard_errors_, self.confidence_intervals_], axis=1)
        table.index.name = "parameter"
        table.attrs.update(
            log_likelihood=self.log_likelihood_, n_customers=self.n_customers_, time_unit=self.time_unit_
        )
        return table

    def sample_params(self, n_draws: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """Parameter draws from the asymptotic normal of the log-parameters, as an ``(n_draws, k)`` natural array."""
        self._check_fitted()
        if not np.all(np.isfinite(self._log_covariance)):
            raise DataError(f"{type(self).__name__}: no parameter uncertainty available (singular Hessian).")
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(np.log(self.params_.to_numpy()), self._log_covariance, size=n_draws)
        return np.exp(draws)

    def to_json(self) -> str:
        """The fitted model as JSON (parameters, log-scale covariance, time unit): persist this, not a pickle."""
        self._check_fitted()
        return json.dumps({
            "model": type(self).__name__,
            "params": self.params_.to_dict(),
            "log_covariance": np.where(np.isfinite(self._log_covariance), self._log_covariance, None).tolist(),
            "time_unit": self.time_unit_,
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "penalizer_coef": self.penalizer_coef,
            "max_T": getattr(self, "max_T_", None),
        })

    @classmethod
    def from_json(cls, text: str):
        """A model restored from :meth:`to_json`, ready to predict."""
        state = json.loads(text)
        if state.get("model") != cls.__name__:
            raise ValueError(f"The JSON holds a {state.get('model')!r} model, not a {cls.__name__}.")
        model = cls(penalizer_coef=state["penalizer_coef"])
        model.params_ = pd.Series(state["params"], name="coef")[list(cls._param_names)]
        model._log_covariance = np.array(state["log_covariance"], dtype=np.float64)
        jac = np.diag(model.params_.to_numpy())
        names = list(cls._param_names)
        model.variance_matrix_ = pd.DataFrame(jac @ model._log_covariance @ jac, index=names, columns=names)
        model.time_unit_ = state["time_unit"]
        model.log_likelihood_ = state["log_likelihood"]
        model.n_customers_ = state["n_customers"]
        if state.get("max_T") is not None:
            model.max_T_ = state["max_T"]
        return model

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "params_"):
            return f"<clvlib.{name}: not fitted>"
        values = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        unit = self.time_unit_ or "unknown unit"
        return (
            f"<clvlib.{name}: {values}; fitted on {self.n_customers_:,} customers, time unit {unit}, "
            f"log-likelihood {self.log_likelihood_:,.2f}>"
        )


class PurchaseModel(BaseModel):
    """What BG/NBD and Pareto/NBD share: the fit on ``(frequency, recency, T)`` and the three predictions.

    Subclasses provide the vectorised module functions as ``_expected_fn(params, t, x, t_x, T)``,
    ``_p_alive_fn(params, x, t_x, T)`` and ``_new_customer_fn(params, t)``, and ``_model_name`` for messages;
    optionally ``_expected_if_alive_fn(params, t, x, T)`` when E[Y(t) | alive] has a closed form, which
    :func:`~clvlib.predictive_clv` then uses instead of dividing the expectation by P(alive); and optionally
    ``_prepare_rows((x, t_x, T))`` with ``_p_alive_prepared_fn(params, prepared)``, when work can be shared across
    the many P(alive) evaluations of CLV intervals.
    """

    _model_name = ""
    _expected_if_alive_fn = None
    _prepare_rows = None
    _p_alive_prepared_fn = None

    def fit(
        self,
        customers: pd.DataFrame,
        *,
        time_unit: str | None = None,
        tol: float = 1e-8,
        maxiter: int = 2000,
    ):
        """Fit on a customer table with ``frequency``, ``recency`` and ``T``; returns the fitted model.

        ``time_unit`` defaults to ``customers.attrs["time_unit"]``; ``tol`` is the optimiser's tolerance on the
        gradient of the mean log-likelihood per customer (BFGS ``gtol``). Raises :class:`~clvlib.DataError` when
        no customer has a repeat purchase (then buying and dropping out cannot be told apart) and
        :class:`~clvlib.ConvergenceError` with the optimiser's message when the fit fails.
        """
        x, t_x, T = purchase_arrays(customers)
        if not (x > 0).any():
            raise DataError(
                f"customers: no customer has a repeat purchase (`frequency` is 0 for everyone), so the "
                f"{self._model_name} model cannot tell buying rates from drop-out. Use historical CLV, or a longer "
                "observation period."
            )
        self._record_time_unit(customers, time_unit)
        self.max_T_ = float(T.max())
        data, weights, _ = compress_rows(x, t_x, T)
        self._optimise(data, weights, tol, maxiter)
        return self

    def _arrays(self, customers: pd.DataFrame) -> tuple[np.ndarray, ...]:
        self._check_fitted()
        self._check_time_unit(customers)
        return purchase_arrays(customers)

    def expected_purchases(self, customers: pd.DataFrame, *, t: float) -> pd.Series:
        """Conditional expected repeat purchases in the next ``t`` time units; Series ``expected_purchases``.

        The equation is in the docstring of the model's module function (``*_expected_purchases``).
        """
        x, t_x, T = self._arrays(customers)
        values = self._expected_fn(self.params_.to_numpy(), t, x, t_x, T)
        return pd.Series(values, index=customers.index, name="expected_purchases")

    def p_alive(self, customers: pd.DataFrame) -> pd.Series:
        """Probability each customer is still active at the end of the period; Series ``p_alive``."""
        x, t_x, T = self._arrays(customers)
        return pd.Series(self._p_alive_fn(self.params_.to_numpy(), x, t_x, T), index=customers.index, name="p_alive")

    def probability_alive(self, customers: pd.DataFrame) -> pd.Series:
        """Alias of :meth:`p_alive` (PyMC-Marketing's name)."""
        return self.p_alive(customers)

    def expected_purchases_new_customer(self, t) -> np.ndarray | float:
        """Expected repeat purchases of a just-acquired customer over their first ``t`` time units."""
        self._check_fitted()
        values = self._new_customer_fn(self.params_.to_numpy(), t)
        return float(values) if np.ndim(values) == 0 else values
