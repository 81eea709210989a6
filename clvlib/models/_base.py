"""What every maximum-likelihood model shares: input checks, row compression, the optimiser, the Hessian.

Each model works on log-parameters (so the optimiser never leaves the positive orthant) and reports on the
natural scale. Uncertainty comes from the observed information: the Hessian of the negative log-likelihood in the
log-parameters is inverted and carried to the natural scale by the delta method. At the optimum the gradient is zero,
so this equals the inverse of the natural-scale Hessian.

Boundary optima. On some stores the likelihood keeps rising towards the edge of the parameter space: customers
who show no sign of dropping out drive BG/NBD's ``a`` (Pareto/NBD's ``s``) to 0; a drop-out probability or a
purchase rate that is the same for everyone drives a Gamma or Beta shape to infinity (the mixing distribution
becomes a point mass); near-constant order values do the same to Gamma-Gamma's ``p`` and ``q``. The maximum is then
not a point but a limit, and an unconstrained optimiser runs off until predictions overflow. So every parameter has a
documented box in log-space (each model's ``_bounds``): shape parameters lie in [``SHAPE_MIN``, ``SHAPE_MAX``] =
[1e-4, 1e3] (a Gamma or Beta of shape 1e3 has a coefficient of variation of about 3 %: for prediction purposes the
homogeneous limit) and scale parameters within a factor 1e8 of the data's own scale. The fit is first the plain
unconstrained BFGS (an interior optimum, e.g. every published CDNOW fit, is found exactly as before); only when it
leaves the box or fails is it redone with L-BFGS-B inside the box. Parameters that end on a bound are held there:
the result is the model's limiting form, which each model names in plain words, and which it judges either harmless
(a homogeneous limit: predictions equal the limiting model's) or not identified (e.g. no sign of drop-out: P(alive)
is 1 by construction, not by evidence). Standard errors and parameter draws are then those of the free parameters,
conditional on the held ones. The outcome is recorded as :class:`FitDiagnosis` in ``model.diagnosis_``; numerical
conditions are recorded there, never raised as warnings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy.special import digamma, gammaln

from .._validation import check_time_unit, customer_indexed, validate_columns
from .._results import result_html
from ..errors import ConvergenceError, DataError, NotFittedError

__all__ = [
    "BaseModel",
    "PurchaseModel",
    "FitDiagnosis",
    "compress_rows",
    "purchase_arrays",
    "hyp2f1",
    "check_counts",
    "check_horizon",
    "nbd_log_pmf_and_tail",
]

_Z95 = 1.959963984540054

#: Box of the dimensionless shape parameters (Gamma and Beta shapes): see the module docstring.
SHAPE_MIN, SHAPE_MAX = 1e-4, 1e3
#: Scale parameters (α, β in time units, Gamma-Gamma's v in money) may lie within this factor of the data's scale.
SCALE_FACTOR = 1e8


@dataclass(frozen=True)
class FitDiagnosis:
    """How a maximum-likelihood fit ended, in fields a program can test and sentences a person can read.

    Attributes
    ----------
    converged : bool
        The optimiser reached a point where the (projected) gradient is zero.
    at_boundary : bool
        Some parameter is held at a bound of its box (listed in ``bounded``): the fit is a limiting form.
    identified : bool
        The data determine every parameter that matters for predictions: no bound of the "not identified" kind
        (e.g. no sign of drop-out) and a positive-definite Hessian of the free parameters.
    condition_number : float
        Of the Hessian of the free log-parameters (ratio of its largest to smallest eigenvalue); ``inf`` when it is
        singular or not positive definite.
    limit : str or None
        Which limiting model or bound was used, in plain words; None for an interior optimum.
    notes : tuple of str
        Plain sentences: what happened and what it means (the first explains ``limit`` when there is one).
    bounded : tuple of str
        Names of the parameters held at a bound.
    harmless_boundary : bool
        True when the boundary reached is a limit whose predictions are trustworthy (homogeneous mixing).
    model : str
        The model's name, for messages.

    ``ok`` is True when the fit converged, is identified, any boundary is harmless and the condition number is
    finite and below ``CONDITION_LIMIT`` (1e8: beyond that the inverse Hessian, so every interval, is unreliable).
    ``verdict`` (the same as ``summary``) says it in words, ``table`` lays the fields out as one row.
    """

    converged: bool
    at_boundary: bool
    identified: bool
    condition_number: float
    limit: str | None = None
    notes: tuple[str, ...] = ()
    bounded: tuple[str, ...] = ()
    harmless_boundary: bool = True
    model: str = ""

    CONDITION_LIMIT: ClassVar[float] = 1e8

    @property
    def well_conditioned(self) -> bool:
        return bool(np.isfinite(self.condition_number) and self.condition_number < self.CONDITION_LIMIT)

    @property
    def ok(self) -> bool:
        """Converged, identified, not at a boundary that makes predictions untrustworthy, well conditioned."""
        return bool(
            self.converged and self.identified and (not self.at_boundary or self.harmless_boundary)
            and self.well_conditioned
        )

    @property
    def summary(self) -> str:
        """One or two plain sentences a manager can read."""
        if not self.converged:
            return ("The fit stopped before it reached the best parameters, so its predictions are not "
                    "trustworthy.")
        if self.limit and self.notes:
            return self.notes[0]
        if not self.identified:
            return ("The fit converged, but the data barely determine some parameters, so the predictions come "
                    "without uncertainty intervals.")
        if not self.well_conditioned:
            return ("The fit converged, but some parameters are so intertwined that their uncertainty cannot be "
                    "measured reliably; treat intervals with caution.")
        return "The fit converged and every parameter is identified."

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (an infinite condition number becomes None), with ``ok`` and ``summary``."""
        cond = float(self.condition_number)
        return {
            "model": self.model,
            "ok": self.ok,
            "summary": self.summary,
            "converged": bool(self.converged),
            "at_boundary": bool(self.at_boundary),
            "identified": bool(self.identified),
            "condition_number": cond if np.isfinite(cond) else None,
            "limit": self.limit,
            "notes": list(self.notes),
            "bounded": list(self.bounded),
            "harmless_boundary": bool(self.harmless_boundary),
        }

    @property
    def verdict(self) -> str:
        """The plain-language verdict (the same as :attr:`summary`)."""
        return self.summary

    @property
    def table(self) -> pd.DataFrame:
        """The diagnosis as one row indexed by ``model``: ``ok``, ``converged``, ``at_boundary``, ``identified``,
        ``condition_number``, ``limit``, ``bounded`` (comma-separated) and ``harmless_boundary``."""
        state = self.to_dict()
        row = {key: state[key] for key in ("ok", "converged", "at_boundary", "identified", "condition_number",
                                           "limit", "harmless_boundary")}
        row["bounded"] = ", ".join(self.bounded)
        return pd.DataFrame([row], index=pd.Index([self.model or "fit"], name="model"))

    def _repr_html_(self) -> str:
        return result_html(self.verdict, self.table, title="Fit diagnosis")

    @classmethod
    def from_dict(cls, state: dict) -> FitDiagnosis:
        """The inverse of :meth:`to_dict` (``ok`` and ``summary`` are recomputed)."""
        cond = state.get("condition_number")
        return cls(
            converged=bool(state["converged"]), at_boundary=bool(state["at_boundary"]),
            identified=bool(state["identified"]), condition_number=float("inf") if cond is None else float(cond),
            limit=state.get("limit"), notes=tuple(state.get("notes", ())), bounded=tuple(state.get("bounded", ())),
            harmless_boundary=bool(state.get("harmless_boundary", True)), model=state.get("model", ""),
        )


def _first_rows(customers: pd.DataFrame, bad: np.ndarray, columns: list[str]) -> str:
    return customers.loc[bad, columns].head(3).to_string()


def purchase_arrays(customers: pd.DataFrame, source: str = "customers") -> tuple[np.ndarray, ...]:
    """Validate a customer table against the lifetimes invariants; return ``frequency, recency, T`` as float arrays.

    Raises :class:`~clvlib.DataError` naming the column and the first offending rows when a column is missing or
    has missing values, frequency is not a non-negative integer, recency is negative, exceeds ``T``, or is not 0
    for a customer without repeat purchases. ``customers`` is indexed by customer id, or has a ``customer_id``
    column (the offending rows are named by id either way).
    """
    customers = customer_indexed(customers)
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


def check_counts(k) -> np.ndarray:
    """Purchase counts ``k`` as a float array; ValueError unless they are non-negative integers."""
    k = np.asarray(k, dtype=np.float64)
    if np.any(~np.isfinite(k)) or np.any(k < 0) or np.any(k != np.round(k)):
        raise ValueError(f"`k` must be non-negative integers (numbers of purchases), but {k!r} was passed.")
    return k


def check_horizon(t) -> np.ndarray:
    """A length of time ``t`` as a float array; ValueError unless it is finite and non-negative."""
    t = np.asarray(t, dtype=np.float64)
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"`t` must be finite and non-negative (a length of time), but {t!r} was passed.")
    return t


def nbd_log_pmf_and_tail(r: float, alpha: float, t, k) -> tuple[np.ndarray, np.ndarray]:
    """log P(N = k) and P(N ≥ k) for the purchases N in (0, t] of a customer who never drops out (the NBD).

    N is negative binomial: P(N = k) = Γ(r+k)/(Γ(r) k!) · (α/(α+t))^r · (t/(α+t))^k. The tail is the regularised
    incomplete beta I_{t/(α+t)}(k, r), accurate far into the tail (1 − a partial sum would lose every digit there).
    ``t`` and ``k`` broadcast; at t = 0, N = 0.
    """
    k, t = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(t, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_share = np.log(t) - np.log(alpha + t)  # log t/(α+t): -inf at t = 0
        log_pmf = (gammaln(r + k) - gammaln(r) - gammaln(k + 1) + r * (np.log(alpha) - np.log(alpha + t))
                   + np.where(k > 0, k * log_share, 0.0))
        tail = np.where(k > 0, special.betainc(np.maximum(k, 1.0), r, t / (alpha + t)), 1.0)
    return log_pmf, tail


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


def _converged(result, lower=None, upper=None) -> bool:
    """Success, or a stop for lost precision where the per-customer (projected) gradient is already ~0.

    With bounds, a gradient component counts as ~0 when its parameter sits on a bound and the gradient pushes it
    outwards (the constrained optimum: the Karush-Kuhn-Tucker condition).
    """
    finite = np.all(np.isfinite(result.x)) and np.isfinite(result.fun)
    if not finite:
        return False
    jac = np.asarray(result.jac, dtype=np.float64)
    if not np.all(np.isfinite(jac)):
        return False
    if lower is not None:
        at_low, at_high = result.x <= lower + 1e-8, result.x >= upper - 1e-8
        jac = np.where(at_low, np.minimum(jac, 0.0), np.where(at_high, np.maximum(jac, 0.0), jac))
    return bool(result.success or np.max(np.abs(jac)) <= 1e-5)


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


class _OutsideBox(Exception):
    """Raised by the objective when BFGS probes a point far outside the parameter box."""


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

    @staticmethod
    def _bounds(data: tuple, weights: np.ndarray) -> list[tuple[float, float]]:
        """Box of each natural parameter (low, high); subclasses narrow it (see the module docstring)."""
        raise NotImplementedError

    @classmethod
    def _describe_boundary(cls, params: pd.Series, at_low: list[str], at_high: list[str]) -> tuple[str, str, bool, bool]:
        """Plain words for a boundary optimum: ``(limit, sentence, identified, harmless)``.

        The default knows no limiting forms: every parameter held at a bound is named and the fit is treated as
        not identified. Models override this with their limiting forms and pass the rest to
        :meth:`_combine_boundary`.
        """
        return cls._combine_boundary([], list(at_low), list(at_high))

    @classmethod
    def _combine_boundary(cls, parts: list, rest_low: list[str], rest_high: list[str]) -> tuple[str, str, bool, bool]:
        """Join known limiting forms ``parts`` with a generic account of the other bounds reached."""
        parts = list(parts)
        if rest_low or rest_high:
            held = ", ".join([f"{n} at its lower bound" for n in rest_low]
                             + [f"{n} at its upper bound" for n in rest_high])
            parts.append((
                f"parameters held at a bound ({held})",
                f"The data push some parameters of the {cls.__name__} model to the edge of their range ({held}), "
                "so they are not measured by the data.",
                False, False,
            ))
        limit = "; ".join(p[0] for p in parts)
        sentence = " ".join(p[1] for p in parts)
        return limit, sentence, all(p[2] for p in parts), all(p[3] for p in parts)

    def _optimise(self, data: tuple, weights: np.ndarray, tol: float, maxiter: int) -> None:
        n = weights.sum()
        penalty = self.penalizer_coef

        bounds = np.log(np.asarray(self._bounds(data, weights), dtype=np.float64))
        lower, upper = bounds[:, 0], bounds[:, 1]
        # A BFGS run that probes a point more than a factor 10 outside the box is running off to a limit: it is
        # stopped there and the bounded fit below takes over. Far out, each likelihood evaluation is slow (scipy's
        # ₂F₁ with huge parameters) and useless, so this keeps a runaway Pareto/NBD fit from taking half a minute.
        far_low, far_high = lower - np.log(10.0), upper + np.log(10.0)
        last = {"x": None}

        def objective(theta: np.ndarray, guard: bool = False) -> tuple[float, np.ndarray]:
            if guard and (np.any(theta < far_low) or np.any(theta > far_high)):
                raise _OutsideBox
            value, grad = self._negative_log_likelihood(theta, data, weights)
            params = np.exp(theta)
            # lifetimes' L2 penalty on the natural parameters, scaled per customer so `tol` is size-free.
            value, grad = value / n + penalty * np.sum(params**2), grad / n + penalty * 2 * params**2
            if guard and np.isfinite(value):
                last["x"] = theta.copy()
            return value, grad

        x0 = np.clip(self._start(data, weights), lower, upper)
        data = self._prepare(data, weights)
        result = None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            # BFGS: the log-parameters are unconstrained, and it needs no BLAS-threaded bookkeeping (L-BFGS-B's
            # costs more than the likelihood itself on a busy machine). An interior optimum ends here.
            try:
                result = optimize.minimize(objective, x0, args=(True,), jac=True, method="BFGS",
                                           options={"gtol": tol, "maxiter": maxiter})
            except (_OutsideBox, ZeroDivisionError, FloatingPointError, OverflowError):
                result = None
            inside = result is not None and np.all(result.x >= lower) and np.all(result.x <= upper)
            if not (inside and _converged(result)):
                # A boundary optimum or a failed run: the same likelihood inside the box (L-BFGS-B), from the
                # moment start and, failing that, from where BFGS got to (clipped into the box).
                restarts = [x0]
                reached = result.x if result is not None else last["x"]
                if reached is not None and np.all(np.isfinite(reached)):
                    restarts.append(np.clip(reached, lower, upper))
                # Both starts: on the flat likelihoods of boundary cases L-BFGS-B can stop early in a valley, so the
                # better of the two converged ends is kept.
                best = None
                for start in restarts:
                    run = optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                                            bounds=list(zip(lower, upper)), tol=tol, options={"maxiter": maxiter})
                    ok = _converged(run, lower, upper)
                    if best is None or (ok, -run.fun) > (best[0], -best[1].fun):
                        best = (ok, run)
                result = best[1]
        if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
            raise ConvergenceError(
                f"{type(self).__name__}: the optimiser left the finite range ({result.message}). "
                "Try `penalizer_coef=0.001`, a coarser `time_unit`, or more data."
            )
        if not _converged(result, lower, upper):
            raise ConvergenceError(
                f"{type(self).__name__}: maximum-likelihood fit did not converge: {result.message} "
                "Try `tol=`, `penalizer_coef=0.001`, or more data."
            )
        theta = result.x
        names = list(self._param_names)
        self.params_ = pd.Series(np.exp(theta), index=names, name="coef")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            total, _ = self._negative_log_likelihood(theta, data, weights)
        self.log_likelihood_ = -float(total)
        self.n_customers_ = int(n)
        # Held at a bound: within 0.1 % of it (L-BFGS-B stops on an active bound, or a hair inside it when the
        # likelihood is flat there).
        at_low = [nm for nm, t, lo in zip(names, theta, lower) if t <= lo + 1e-3]
        at_high = [nm for nm, t, hi in zip(names, theta, upper) if t >= hi - 1e-3]
        self._fixed = np.array([nm in at_low or nm in at_high for nm in names])
        self._set_uncertainty(theta, data, weights)
        self._optimiser_result = result
        self.diagnosis_ = self._diagnose(at_low, at_high)

    def _diagnose(self, at_low: list[str], at_high: list[str], extra_notes: tuple[str, ...] = ()) -> FitDiagnosis:
        """The :class:`FitDiagnosis` of the fit just done (bounds, identification, conditioning)."""
        notes: list[str] = []
        limit, identified, harmless = None, True, True
        if at_low or at_high:
            limit, sentence, identified, harmless = self._describe_boundary(self.params_, at_low, at_high)
            notes.append(sentence)
        if not self._hessian_ok:
            identified = False
            notes.append("The likelihood is flat in some direction at the optimum (singular Hessian), so standard "
                          "errors and uncertainty intervals are unavailable.")
        elif not np.isfinite(self._condition) or self._condition >= FitDiagnosis.CONDITION_LIMIT:
            notes.append(f"The Hessian's condition number is {self._condition:.3g}: some parameters are nearly "
                         "interchangeable, so their standard errors are unreliable.")
        notes.extend(extra_notes)
        return FitDiagnosis(
            converged=True, at_boundary=bool(at_low or at_high), identified=identified,
            condition_number=float(self._condition), limit=limit, notes=tuple(notes),
            bounded=tuple(at_low + at_high), harmless_boundary=harmless, model=type(self).__name__,
        )

    def _hessian(self, theta: np.ndarray, data: tuple, weights: np.ndarray) -> np.ndarray:
        """Hessian of the total negative log-likelihood in the log-parameters (differences of the gradient)."""

        def gradient(th: np.ndarray) -> np.ndarray:
            return self._negative_log_likelihood(th, data, weights)[1]

        return _hessian_from_gradient(gradient, theta, self._hessian_step)

    def _set_uncertainty(self, theta: np.ndarray, data: tuple, weights: np.ndarray) -> None:
        """Covariance of the log-parameters: the inverse Hessian of the free ones, 0 for those held at a bound.

        A singular or indefinite Hessian leaves the covariance NaN (no standard errors, no draws) and is recorded
        in the diagnosis, not warned about: it is a property of the data, not a mistake of the caller.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            hess = self._hessian(theta, data, weights)
        names = list(self._param_names)
        k = len(theta)
        free = ~self._fixed
        cov_log = np.full((k, k), np.nan)
        self._hessian_ok, self._condition = False, float("inf")
        sub = hess[np.ix_(free, free)]
        if not free.any():
            cov_log, self._hessian_ok, self._condition = np.zeros((k, k)), True, 1.0
        elif np.all(np.isfinite(sub)):
            eig = np.linalg.eigvalsh(sub)
            if eig[0] > 0:
                self._condition = float(eig[-1] / eig[0])
                try:
                    inv = np.linalg.inv(sub)
                    if np.all(np.isfinite(inv)) and np.all(np.diag(inv) > 0):
                        cov_log = np.zeros((k, k))
                        cov_log[np.ix_(free, free)] = inv
                        self._hessian_ok = True
                except np.linalg.LinAlgError:
                    pass
        self._log_covariance = cov_log
        jac = np.diag(np.exp(theta))  # delta method: d exp(theta) / d theta
        self.variance_matrix_ = pd.DataFrame(jac @ cov_log @ jac, index=names, columns=names)

    def _interval_problem(self) -> str | None:
        """Why parameter draws (so intervals) are unavailable, as one plain sentence; None when they are fine."""
        self._check_fitted()
        diagnosis = getattr(self, "diagnosis_", None)
        name = type(self).__name__
        if diagnosis is not None and not diagnosis.identified:
            return (f"Uncertainty intervals are not given: the data do not identify every parameter of the {name} "
                    f"model ({diagnosis.limit or 'flat likelihood'}).")
        covariance = getattr(self, "_log_covariance", None)
        if covariance is None or not np.all(np.isfinite(covariance)):
            return f"Uncertainty intervals are not given: the {name} fit has no usable standard errors."
        return None

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
        se = np.sqrt(np.clip(np.diag(self.variance_matrix_), 0.0, None))
        # A parameter held at a bound has no sampling error of its own (it is fixed by the limit): NaN, not 0.
        return pd.Series(np.where(self._held(), np.nan, se), index=self.params_.index, name="se")

    def _held(self) -> np.ndarray:
        fixed = getattr(self, "_fixed", None)
        return np.zeros(len(self.params_), dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """95 % intervals, symmetric on the log scale (so they stay positive): ``exp(log θ ± 1.96 se(log θ))``."""
        self._check_fitted()
        se_log = np.where(self._held(), np.nan, np.sqrt(np.clip(np.diag(self._log_covariance), 0.0, None)))
        log_coef = np.log(self.params_.to_numpy())
        return pd.DataFrame(
            {"lower_95": np.exp(log_coef - _Z95 * se_log), "upper_95": np.exp(log_coef + _Z95 * se_log)},
            index=self.params_.index,
        )

    def summary(self) -> pd.DataFrame:
        """Parameter table: ``coef``, ``se``, ``lower_95``, ``upper_95`` indexed by the literature's symbols."""
        self._check_fitted()
        table = pd.concat([self.params_.rename("coef"), self.standard_errors_, self.confidence_intervals_], axis=1)
        table.index.name = "parameter"
        diagnosis = getattr(self, "diagnosis_", None)
        table.attrs.update(
            log_likelihood=self.log_likelihood_, n_customers=self.n_customers_, time_unit=self.time_unit_,
            diagnosis=diagnosis.to_dict() if diagnosis is not None else None,
        )
        return table

    def sample_params(self, *, n_draws: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """Parameter draws from the asymptotic normal of the log-parameters, as an ``(n_draws, k)`` natural array.

        Parameters held at a bound (see :class:`FitDiagnosis`) stay at their value in every draw. Raises
        :class:`~clvlib.DataError` when the fit has no usable covariance (check ``diagnosis_`` first).
        """
        self._check_fitted()
        if not np.all(np.isfinite(self._log_covariance)):
            raise DataError(f"{type(self).__name__}: no parameter uncertainty available (singular Hessian).")
        rng = np.random.default_rng(seed)
        mean = np.log(self.params_.to_numpy())
        free = ~self._held()
        draws = np.tile(mean, (n_draws, 1))
        if free.any():
            draws[:, free] = rng.multivariate_normal(mean[free], self._log_covariance[np.ix_(free, free)],
                                                     size=n_draws)
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
            "held": self._held().tolist(),
            "diagnosis": self.diagnosis_.to_dict() if getattr(self, "diagnosis_", None) is not None else None,
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
        if state.get("held") is not None:
            model._fixed = np.array(state["held"], dtype=bool)
        if state.get("diagnosis") is not None:
            model.diagnosis_ = FitDiagnosis.from_dict(state["diagnosis"])
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
    """What BG/NBD, MBG/NBD and Pareto/NBD share: the fit on ``(frequency, recency, T)`` and the predictions.

    Subclasses provide the vectorised module functions as ``_expected_fn(params, t, x, t_x, T)``,
    ``_p_alive_fn(params, x, t_x, T)``, ``_new_customer_fn(params, t)`` and ``_pmf_fn(params, t, k)`` (P(X(t) = k)
    for a new customer), and ``_model_name`` for messages;
    optionally ``_expected_if_alive_fn(params, t, x, T)`` when E[Y(t) | alive] has a closed form, which
    :func:`~clvlib.predictive_clv` then uses instead of dividing the expectation by P(alive); and optionally
    ``_prepare_rows((x, t_x, T))`` with ``_p_alive_prepared_fn(params, prepared)``, when work can be shared across
    the many P(alive) evaluations of CLV intervals.
    """

    _model_name = ""
    _pmf_fn = None
    _expected_if_alive_fn = None
    _prepare_rows = None
    _p_alive_prepared_fn = None

    @staticmethod
    def _rate_limit(r: float, alpha: float, rest_high: list[str], parts: list) -> None:
        """The purchase process's limiting form, the same in both models: r → ∞, one purchase rate for everyone."""
        if "r" in rest_high:
            rest_high.remove("r")
            parts.append((
                "homogeneous purchase rate: r → ∞",
                "Customers buy at nearly the same rate: the spread of purchase rates ran to its limit (r → ∞), so "
                f"everyone was given one rate ({r / alpha:.3g} purchases per time unit while active).",
                True, True,
            ))

    def fit(
        self,
        customers: pd.DataFrame,
        *,
        time_unit: str | None = None,
        tol: float = 1e-8,
        maxiter: int = 2000,
    ):
        """Fit on a customer table with ``frequency``, ``recency`` and ``T`` (indexed by customer id, or with a
        ``customer_id`` column); returns the fitted model.

        ``time_unit`` defaults to ``customers.attrs["time_unit"]``; ``tol`` is the optimiser's tolerance on the
        gradient of the mean log-likelihood per customer (BFGS ``gtol``). Raises :class:`~clvlib.DataError` when
        no customer has a repeat purchase (then buying and dropping out cannot be told apart) and
        :class:`~clvlib.ConvergenceError` with the optimiser's message when the fit fails.
        """
        customers = customer_indexed(customers)
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
        self._check_dropout_evidence(data, weights)
        return self

    def _check_dropout_evidence(self, data: tuple, weights: np.ndarray) -> None:
        """Likelihood-ratio test of the model against its no-drop-out limit, the NBD; recorded in the diagnosis.

        Both models tend to the NBD as drop-out vanishes (BG/NBD: a → 0; Pareto/NBD: s/β → 0), with the
        log-likelihood Σ [ln Γ(r+x) − ln Γ(r) + r ln α − (r+x) ln(α+T)]. When 2·(LL_model − LL_NBD) is below 2.71
        (the 5 % point of ½χ²₀ + ½χ²₁, for a parameter on the edge of its range) the data show no evidence of
        drop-out, so whatever drop-out parameters were fitted are not identified: ``identified=False``.
        """
        x, _, T = data
        k = weights.sum()

        def negative(theta):
            r, alpha = np.exp(theta)
            ll = weights @ (gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T))
            d_r = weights @ (digamma(r + x) - digamma(r) + np.log(alpha) - np.log(alpha + T))
            d_alpha = weights @ (r / alpha - (r + x) / (alpha + T))
            return -ll / k, -np.array([d_r * r, d_alpha * alpha]) / k

        start = np.log(self.params_.to_numpy()[:2])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            nbd = optimize.minimize(negative, start, jac=True, method="BFGS", options={"gtol": 1e-9})
        if not np.isfinite(nbd.fun):
            return
        statistic = 2 * (self.log_likelihood_ + nbd.fun * k)
        self.dropout_lr_ = float(statistic)
        diagnosis = self.diagnosis_
        if statistic >= 2.71 or (diagnosis.limit and "no drop-out" in diagnosis.limit):
            return
        sentence = (
            f"The data show no evidence of customers dropping out: a model without drop-out (NBD) fits them as "
            f"well as {self._model_name} (likelihood-ratio statistic {max(statistic, 0.0):.2f}, below 2.71), so "
            "the drop-out part of the model is not measured and P(alive) reflects assumptions, not evidence."
        )
        limit = "no evidence of drop-out (NBD fits as well)"
        self.diagnosis_ = FitDiagnosis(
            converged=diagnosis.converged, at_boundary=diagnosis.at_boundary, identified=False,
            condition_number=diagnosis.condition_number,
            limit=limit if diagnosis.limit is None else f"{limit}; {diagnosis.limit}",
            notes=(sentence,) + diagnosis.notes, bounded=diagnosis.bounded,
            harmless_boundary=diagnosis.harmless_boundary, model=diagnosis.model,
        )

    def _arrays(self, customers: pd.DataFrame) -> tuple[np.ndarray, ...]:
        self._check_fitted()
        self._check_time_unit(customers)
        return purchase_arrays(customers)

    def expected_purchases(self, customers: pd.DataFrame, *, t: float) -> pd.Series:
        """Conditional expected repeat purchases in the next ``t`` time units; Series ``expected_purchases``.

        ``customers`` is indexed by customer id, or has a ``customer_id`` column; the Series is indexed by customer
        id. The equation is in the docstring of the model's module function (``*_expected_purchases``).
        """
        customers = customer_indexed(customers)  # the result is indexed like the table: by id, never by row number
        x, t_x, T = self._arrays(customers)
        values = self._expected_fn(self.params_.to_numpy(), t, x, t_x, T)
        return pd.Series(values, index=customers.index, name="expected_purchases")

    def p_alive(self, customers: pd.DataFrame) -> pd.Series:
        """Probability each customer is still active at the end of the period; Series ``p_alive``, indexed by
        customer id (``customers`` is indexed by customer id, or has a ``customer_id`` column)."""
        customers = customer_indexed(customers)
        x, t_x, T = self._arrays(customers)
        return pd.Series(self._p_alive_fn(self.params_.to_numpy(), x, t_x, T), index=customers.index, name="p_alive")

    def expected_purchases_new_customer(self, *, t) -> np.ndarray | float:
        """Expected repeat purchases of a just-acquired customer over their first ``t`` time units."""
        self._check_fitted()
        values = self._new_customer_fn(self.params_.to_numpy(), t)
        return float(values) if np.ndim(values) == 0 else values

    def purchase_count_pmf(self, t, k) -> np.ndarray | float:
        """P(X(t) = k): probability that a just-acquired customer makes exactly ``k`` repeat purchases in (0, t].

        The distribution behind :meth:`expected_purchases_new_customer` (its mean): vectorised over ``k`` (and
        ``t``; the two broadcast), e.g. ``model.purchase_count_pmf(39, np.arange(20))`` is the expected share of
        customers with 0, 1, … 19 repeat purchases after 39 time units. The equation is in the docstring of the
        model's module function (``*_purchase_count_pmf``). Raises ValueError for negative or fractional ``k`` or
        negative ``t``.
        """
        self._check_fitted()
        if self._pmf_fn is None:
            raise NotImplementedError(f"{type(self).__name__} has no purchase-count distribution.")
        values = self._pmf_fn(self.params_.to_numpy(), t, k)
        return float(values) if np.ndim(values) == 0 else values
