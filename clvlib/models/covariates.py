"""Time-invariant covariates in BG/NBD and Pareto/NBD: do customers from one channel buy or drop out differently?

Each customer ``i`` carries fixed covariates ``z_i`` (acquisition channel, first product category, first-order
discount, one-hot or numeric) that scale the parameters of the plain model (Fader & Hardie 2007, note 019), in
the purchase and the drop-out process separately:

* purchase (both models): α_i = α₀ · exp(−γ_p'z_i). Since λ ~ Gamma(r, rate α_i), the mean purchase rate while
  alive is r/α_i = (r/α₀) · exp(γ_p'z_i): a coefficient γ multiplies the purchase rate by exp(γ).
* drop-out, Pareto/NBD: β_i = β₀ · exp(−γ_d'z_i), so the mean drop-out rate s/β_i is multiplied by exp(γ_d).
* drop-out, BG/NBD: a_i = a₀ · exp(γ_a'z_i) and b_i = b₀ · exp(γ_b'z_i), two coefficients per covariate; the
  mean drop-out probability after a purchase, a_i/(a_i+b_i), rises with γ_a and falls with γ_b.

Sign convention: **a positive coefficient means more of the process**: more purchasing, more (sooner) drop-out.
This is PyMC-Marketing's (``BetaGeoModel`` and ``ParetoNBDModel`` with ``purchase_covariate_cols`` /
``dropout_covariate_cols``: ``alpha = alpha_scale · exp(−X·purchase_coefficient)``, ``beta = beta_scale ·
exp(−X·dropout_coefficient)``, ``a = a_scale · exp(X·dropout_coefficient_a)``, ``b = b_scale ·
exp(X·dropout_coefficient_b)``) and CLVTools' (``pnbd`` with static covariates: α_i = α₀ exp(−γ_trans'x),
β_i = β₀ exp(−γ_life'x)). CLVTools' BG/NBD uses one life coefficient for both a and b (which leaves the mean
drop-out probability unchanged); here a and b get their own, as in PyMC-Marketing. The base parameters
(``r, alpha, a, b`` or ``r, alpha, s, beta``) are those of a customer with z = 0: the baseline category of
one-hot columns.

The likelihood of each customer is the plain model's, evaluated at their own α_i (and a_i, b_i or β_i); with every
coefficient at 0 it is the plain model's exactly. The fit works on the log base parameters and the raw
coefficients, inside a box (the plain model's bounds; |γ·z| ≤ 20): BFGS first and, when it leaves the box or
fails, L-BFGS-B inside it, as in :mod:`clvlib.models._base`. It starts from the plain fit, which it keeps for the
likelihood-ratio test (:meth:`lr_test`). Standard errors come from a numerical Hessian (central differences of the
gradient: analytic for BG/NBD; for Pareto/NBD analytic in α_i and β_i, numerical in r and s). A covariate that is
the same for every customer has no measurable effect: its coefficients are held at 0 (recorded in ``diagnosis_``),
and a model whose covariates are all constant is the plain model.

References
----------
.. [1] Fader, P. S. & Hardie, B. G. S. (2007). Incorporating Time-Invariant Covariates into the Pareto/NBD and
   BG/NBD Models. http://brucehardie.com/notes/019/
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import digamma, gammaln

from .._results import result_html
from .._validation import customer_indexed, validate_columns
from ..errors import ConvergenceError, DataError, NotFittedError
from ..formatting import escape_markdown
from ._base import (_Z95, FitDiagnosis, _converged, _hessian_from_gradient, _OutsideBox, check_horizon,
                    compress_rows, purchase_arrays)
from .bgnbd import BetaGeo, _if_alive
from .paretonbd import ParetoNBD, _log_boundary, _one_minus_power_over
from .simulate import _ages, _table, _time_of_arrival

__all__ = [
    "BetaGeoCovariates",
    "ParetoNBDCovariates",
    "LikelihoodRatioTest",
    "covariate_model",
    "covariate_table",
    "simulate_with_covariates",
]


# -- per-customer likelihoods (each customer with their own parameters) ----------------------------------------
def _bgnbd_rows(r, alpha, a, b, x, t_x, T, grad: bool = False):
    """BG/NBD log-likelihood per row, [FHL 2005] eq. (6), with ``alpha``, ``a``, ``b`` arrays (one per row).

    With ``grad``, also the derivatives per row in ``r``, ``alpha``, ``a`` and ``b``.
    """
    repeat = x > 0
    log_a12 = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
               + gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x))
    log_alpha_T, log_alpha_tx = np.log(alpha + T), np.log(alpha + t_x)
    b_x_1 = np.where(repeat, b + x - 1, 1.0)
    with np.errstate(divide="ignore"):
        log_a4 = np.where(repeat, np.log(a) - np.log(b_x_1) - (r + x) * log_alpha_tx, -np.inf)
    log_a3 = -(r + x) * log_alpha_T
    log_bracket = np.logaddexp(log_a3, log_a4)
    ll = log_a12 + log_bracket
    if not grad:
        return ll
    w3 = np.exp(log_a3 - log_bracket)  # share of the "still alive" term
    w4 = 1.0 - w3
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * log_alpha_T - w4 * log_alpha_tx
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
    common = digamma(a + b) - digamma(a + b + x)
    d_a = common + w4 / a
    d_b = common + digamma(b + x) - digamma(b) - np.where(repeat, w4 / b_x_1, 0.0)
    return ll, d_r, d_alpha, d_a, d_b


def _pnbd_boundary(r, s, alpha, beta, x, y, grad: bool):
    """Per-row log F(y) of the Pareto/NBD likelihood (:func:`clvlib.models.paretonbd._boundary`), with ``alpha`` and
    ``beta`` arrays; with ``grad`` also ``(d/dα, d/dβ)``."""
    alpha, beta, x, y = np.broadcast_arrays(alpha, beta, x, y)
    first = alpha >= beta
    if first.all():  # one branch for every row (the usual case): no gathering and scattering
        return _log_boundary(r + s + x, s + 1.0, alpha, beta, y, grad)
    if not first.any():
        out = _log_boundary(r + s + x, r + x, beta, alpha, y, grad)
        return (out[0], out[2], out[1]) if grad else out
    value = np.empty(alpha.shape)
    d_alpha, d_beta = np.empty(alpha.shape), np.empty(alpha.shape)
    if first.any():
        m = first
        out = _log_boundary(r + s + x[m], s + 1.0, alpha[m], beta[m], y[m], grad)
        if grad:
            value[m], d_alpha[m], d_beta[m] = out
        else:
            value[m] = out
    if (~first).any():
        m = ~first
        out = _log_boundary(r + s + x[m], r + x[m], beta[m], alpha[m], y[m], grad)
        if grad:
            value[m], d_beta[m], d_alpha[m] = out
        else:
            value[m] = out
    return (value, d_alpha, d_beta) if grad else value


def _pnbd_terms(r, alpha, s, beta, x, t_x, T, grad: bool = False, levels=None):
    """Log of the front factor, the "alive at T" and the "died in (t_x, T]" terms of note 009 eq. (22), per row.

    ``levels``: optional ``(rows_T, inverse_T, rows_tx, inverse_tx)``, one row per distinct (x, T, covariates) and
    (x, t_x, covariates) and the map back: each ₂F₁ (nearly all of the cost) is then evaluated once per distinct value.
    """
    log_front = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_share = np.log(s) - np.log(r + s + x)
    log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    if levels is None:
        at_T = _pnbd_boundary(r, s, alpha, beta, x, T, grad)
        at_tx = _pnbd_boundary(r, s, alpha, beta, x, t_x, grad)
    else:
        rows_T, inverse_T, rows_tx, inverse_tx = levels
        at_T = _pnbd_boundary(r, s, alpha[rows_T], beta[rows_T], x[rows_T], T[rows_T], grad)
        at_tx = _pnbd_boundary(r, s, alpha[rows_tx], beta[rows_tx], x[rows_tx], t_x[rows_tx], grad)
        if grad:
            at_T, at_tx = tuple(v[inverse_T] for v in at_T), tuple(v[inverse_tx] for v in at_tx)
        else:
            at_T, at_tx = at_T[inverse_T], at_tx[inverse_tx]
    l_T, l_tx = (at_T[0], at_tx[0]) if grad else (at_T, at_tx)
    with np.errstate(divide="ignore"):
        log_died = log_share + l_tx + np.log(-np.expm1(l_T - l_tx))
    if not grad:
        return log_front, log_alive, log_died
    return log_front, log_alive, log_died, at_T, at_tx


def _pnbd_rows(r, alpha, s, beta, x, t_x, T, grad: bool = False, levels=None):
    """Pareto/NBD log-likelihood per row with ``alpha`` and ``beta`` arrays; with ``grad`` also d/dα and d/dβ."""
    out = _pnbd_terms(r, alpha, s, beta, x, t_x, T, grad, levels)
    log_front, log_alive, log_died = out[:3]
    log_bracket = np.logaddexp(log_alive, log_died)
    ll = log_front + log_bracket
    if not grad:
        return ll
    (l_T, dT_alpha, dT_beta), (l_tx, dtx_alpha, dtx_beta) = out[3], out[4]
    w_alive = np.exp(log_alive - log_bracket)
    w_died = 1.0 - w_alive
    # d log(F(t_x) − F(T)) = (dF(t_x)/F(t_x) − q dF(T)/F(T)) / (1 − q), q = F(T)/F(t_x); weightless where q = 1.
    q = np.exp(l_T - l_tx)
    scale = np.divide(w_died, 1 - q, out=np.zeros_like(q), where=q < 1)
    d_alpha = r / alpha - w_alive * (r + x) / (alpha + T) + scale * (dtx_alpha - q * dT_alpha)
    d_beta = s / beta - w_alive * s / (beta + T) + scale * (dtx_beta - q * dT_beta)
    return ll, d_alpha, d_beta


def _pnbd_p_alive(r, alpha, s, beta, x, t_x, T) -> np.ndarray:
    _, log_alive, log_died = _pnbd_terms(r, alpha, s, beta, x, t_x, T)
    return np.exp(log_alive - np.logaddexp(log_alive, log_died))


def _bgnbd_p_alive(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    repeat = x > 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        log_odds = (np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0))
                    + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        return 1.0 / (1.0 + np.where(repeat, np.exp(log_odds), 0.0))


def _grouped_if_alive(r, a, b, x, z) -> np.ndarray:
    """BG/NBD's E[Y(t) | alive] (:func:`clvlib.models.bgnbd._if_alive`, scalar a and b) over rows with their own
    a and b: one call per distinct (a, b) pair, i.e. per distinct row of drop-out covariates."""
    a, b, x, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, x, z)))
    out = np.empty(a.shape)
    codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([a.ravel(), b.ravel()]))
    codes = codes.reshape(a.shape)
    for k, (a_k, b_k) in enumerate(uniques):
        rows = codes == k
        out[rows] = _if_alive(r, float(a_k), float(b_k), x[rows], z[rows])
    return out


# -- data ----------------------------------------------------------------------------------------------------
class _Rows(NamedTuple):
    """Compressed rows: purchase history, weights and each row's covariates for the two processes."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    w: np.ndarray
    Zp: np.ndarray
    Zd: np.ndarray
    levels: tuple  # distinct (x, T, covariates) and (x, t_x, covariates): see _pnbd_terms


def _is_binary(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())


def _covariate_frame(covariates, customers: pd.DataFrame, source: str) -> pd.DataFrame:
    """The covariate table indexed by customer id (``customers`` itself when ``covariates`` is None)."""
    if covariates is None:
        return customers
    if not isinstance(covariates, pd.DataFrame):
        raise TypeError(f"`covariates` must be a DataFrame indexed by customer id (or with a `customer_id` column), "
                        f"but got {type(covariates).__name__}.")
    table = customer_indexed(covariates, what="covariate table")
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()].unique()[:3]
        raise DataError(f"{source}: the covariate table has more than one row for some customers, e.g. {list(dup)}; "
                        "keep one row per customer.")
    return table


def _covariate_matrix(table: pd.DataFrame, index: pd.Index, columns: list[str], source: str) -> np.ndarray:
    """The columns as a float matrix, one row per customer of ``index``; DataError naming what is wrong."""
    if not columns:
        return np.zeros((len(index), 0))
    validate_columns(table, columns, source=source, what="covariate table")
    missing = index.difference(table.index)
    if len(missing):
        raise DataError(f"{source}: {len(missing)} customer(s) have no row in the covariate table, e.g. "
                        f"{list(missing[:3])}; build it from the same orders (clvlib.covariate_table).")
    frame = table.loc[index, columns] if not index.equals(table.index) else table[columns]
    out = np.empty((len(index), len(columns)))
    for j, col in enumerate(columns):
        values = frame[col]
        if values.dtype == bool or str(values.dtype) == "boolean":
            values = values.astype("float64")
        if not pd.api.types.is_numeric_dtype(values):
            raise DataError(
                f"{source}: covariate `{col}` is not numeric ({values.dtype}); one-hot encode categories with "
                "clvlib.covariate_table (or pd.get_dummies(..., drop_first=True)), keeping one baseline category "
                "out."
            )
        array = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(array).all():
            bad = frame.index[~np.isfinite(array)][:3]
            raise DataError(f"{source}: covariate `{col}` has {int((~np.isfinite(array)).sum())} missing or "
                            f"infinite value(s), e.g. for customers {list(bad)}; fill them (e.g. 0 for 'none').")
        out[:, j] = array
    return out


def _check_collinear(Z: np.ndarray, columns: list[str], constant: np.ndarray, process: str) -> None:
    """DataError when the non-constant columns and an intercept are linearly dependent (e.g. every category kept)."""
    free = ~constant
    if free.sum() == 0:
        return
    design = np.unique(np.column_stack([np.ones(len(Z)), Z[:, free]]), axis=0)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        names = [c for c, f in zip(columns, free) if f]
        raise DataError(
            f"covariates: the {process} covariates {names} are collinear (one is a combination of the others and "
            "the baseline), so their effects cannot be told apart; for one-hot categories drop one baseline "
            "category (clvlib.covariate_table does)."
        )


# -- results -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LikelihoodRatioTest:
    """Likelihood-ratio test of the covariate model against the plain model (all coefficients 0).

    ``statistic`` = 2 · (LL with covariates − LL without), asymptotically χ² with ``df`` (the number of free
    coefficients) degrees of freedom under "no covariate matters"; ``p_value`` is its upper tail.
    """

    statistic: float
    df: int
    p_value: float
    log_likelihood: float
    log_likelihood_plain: float

    @property
    def verdict(self) -> str:
        if self.df == 0:
            return "The model has no free covariate coefficient, so it is the plain model."
        if self.p_value < 0.05:
            return (f"The covariates improve the fit beyond chance (likelihood-ratio statistic {self.statistic:.1f} "
                    f"on {self.df} degrees of freedom, {_format_p(self.p_value)}): customers differ by them.")
        return (f"The covariates do not improve the fit beyond chance (likelihood-ratio statistic "
                f"{self.statistic:.1f} on {self.df} degrees of freedom, {_format_p(self.p_value)}).")

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"statistic": self.statistic, "df": self.df, "p_value": self.p_value,
                              "log_likelihood": self.log_likelihood,
                              "log_likelihood_plain": self.log_likelihood_plain}], index=["lr_test"])

    def _repr_html_(self) -> str:
        return result_html(self.verdict, self.table, title="Likelihood-ratio test")


def _format_p(p: float) -> str:
    """"p < 0.001" or "p = 0.042"."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _change(effect: float) -> tuple[str, bool]:
    """"22 %" or "2.3 times", and whether the effect is an increase."""
    if effect >= 2:
        return f"{effect:.1f} times", True
    return f"{abs(effect - 1) * 100:.0f} %", effect >= 1


def _sentence(process: str, label: str, reference: str, effect: float, lower: float, upper: float,
              dropout_measure: str) -> tuple[str, str]:
    """The plain sentence of one effect, and its clause without the subject (for joining per covariate)."""
    than = f" than {reference}" if reference else ""
    size, up = _change(effect)
    significant = not (lower <= 1 <= upper)
    if process == "purchase":
        if not significant:
            clause = "no evidence they buy " + ("more" if up else "less") + " often" + than
        elif size.endswith("times"):
            clause = f"buy {size} as often" + (f" as {reference}" if reference else "")
        else:
            clause = f"buy {size} " + ("more" if up else "less") + " often" + than
    else:
        if not significant:
            clause = "no evidence they drop out sooner" if up else "no evidence they stay longer"
            clause += than
        else:
            word = "as high" if size.endswith("times") else ("higher" if up else "lower")
            clause = (("drop out sooner" if up else "stay longer") + than
                      + f" ({dropout_measure} {size} {word})")
    subject = label[:1].upper() + label[1:]
    if clause.startswith("no evidence"):
        return f"{subject}: {clause}.", clause
    return f"{subject} {clause}.", clause


# -- the models ----------------------------------------------------------------------------------------------
class _CovariateModel:
    """Shared machinery of :class:`BetaGeoCovariates` and :class:`ParetoNBDCovariates` (not used directly)."""

    _plain = None  # the plain model's class
    _base_names: tuple[str, ...] = ()
    _dropout_blocks: tuple[str, ...] = ()
    _dropout_measure = ""
    _model_name = ""
    _hessian_step = 1e-5  # relative step of the gradient differences

    def __init__(self, purchase_covariates: list[str] | None = None, dropout_covariates: list[str] | None = None):
        for name, value in (("purchase_covariates", purchase_covariates), ("dropout_covariates", dropout_covariates)):
            if value is not None and (isinstance(value, str) or not all(isinstance(c, str) for c in value)):
                raise ValueError(f"`{name}` must be a list of column names (or None for every column of the "
                                 f"covariate table), but {value!r} was passed.")
        self.purchase_covariates = None if purchase_covariates is None else list(purchase_covariates)
        self.dropout_covariates = None if dropout_covariates is None else list(dropout_covariates)

    # -- layout of the parameter vector: base (4) | purchase (p) | each drop-out block (d) ----------------------
    def _names(self) -> list[str]:
        names = list(self._base_names) + [f"purchase[{c}]" for c in self.purchase_columns_]
        for block in self._dropout_blocks:
            names += [f"{block}[{c}]" for c in self.dropout_columns_]
        return names

    def _split_theta(self, theta):
        p, d = len(self.purchase_columns_), len(self.dropout_columns_)
        base, gp = theta[:4], theta[4:4 + p]
        blocks = [theta[4 + p + k * d: 4 + p + (k + 1) * d] for k in range(len(self._dropout_blocks))]
        return base, gp, blocks

    # -- fitting -------------------------------------------------------------------------------------------
    def fit(self, customers: pd.DataFrame, covariates: pd.DataFrame | None = None, *, time_unit: str | None = None,
            tol: float = 1e-8, maxiter: int = 2000):
        """Fit on a customer table (``frequency``, ``recency``, ``T``) and its covariates; returns the model.

        Parameters
        ----------
        customers : DataFrame
            Indexed by customer id, or with a ``customer_id`` column (as :func:`clvlib.customer_summary` builds it).
        covariates : DataFrame, optional
            Numeric covariates, one row per customer, indexed by customer id (or with a ``customer_id`` column),
            e.g. from :func:`covariate_table`; rows of other customers are ignored. None: the covariate columns are
            read from ``customers``.
        time_unit : str, optional
            Defaults to ``customers.attrs["time_unit"]``.
        tol, maxiter : optimiser tolerance (on the gradient of the mean log-likelihood) and iteration cap.

        Raises :class:`~clvlib.DataError` for missing, non-numeric or collinear covariates and customers without a
        covariate row, and :class:`~clvlib.ConvergenceError` when the optimiser fails.
        """
        customers = customer_indexed(customers)
        x, t_x, T = purchase_arrays(customers)
        table = _covariate_frame(covariates, customers, "covariates")
        numeric = [c for c in table.columns
                   if (pd.api.types.is_numeric_dtype(table[c]) or table[c].dtype == bool)
                   and (covariates is not None or c not in _SUMMARY_COLUMNS)]
        self.purchase_columns_ = list(numeric if self.purchase_covariates is None else self.purchase_covariates)
        self.dropout_columns_ = list(numeric if self.dropout_covariates is None else self.dropout_covariates)
        Zp = _covariate_matrix(table, customers.index, self.purchase_columns_, "covariates")
        Zd = _covariate_matrix(table, customers.index, self.dropout_columns_, "covariates")
        const_p, const_d = (np.ptp(Z, axis=0) == 0 if len(Z) else np.ones(Z.shape[1], dtype=bool)
                            for Z in (Zp, Zd))
        _check_collinear(Zp, self.purchase_columns_, const_p, "purchase")
        _check_collinear(Zd, self.dropout_columns_, const_d, "drop-out")
        columns = dict(zip(self.purchase_columns_, Zp.T)) | dict(zip(self.dropout_columns_, Zd.T))
        self._binary_columns = {c: _is_binary(v) for c, v in columns.items()}
        labels, references = table.attrs.get("labels", {}), table.attrs.get("references", {})
        self.labels_ = {c: labels.get(c, f"customers with `{c}` = 1" if self._binary_columns[c]
                                      else f"customers with one unit more of `{c}`") for c in columns}
        self.references_ = {c: references.get(c, f"those with `{c}` = 0" if self._binary_columns[c] else "")
                            for c in columns}
        self.levels_ = dict(table.attrs.get("levels", {}))

        self.plain_ = self._plain().fit(customers, time_unit=time_unit, tol=tol, maxiter=maxiter)
        self.time_unit_ = self.plain_.time_unit_
        self.n_customers_ = len(x)

        # Rows identical in history and covariates are one row with a weight (one-hot covariates keep this cheap).
        group = np.zeros(len(x), dtype=np.int64)
        if Zp.shape[1] + Zd.shape[1]:
            _, group = np.unique(np.column_stack([Zp, Zd]), axis=0, return_inverse=True)
        (ux, utx, uT, ug), weights, inverse = compress_rows(x, t_x, T, group.ravel())
        first = np.zeros(len(ux), dtype=np.int64)
        first[inverse] = np.arange(len(x))  # some customer of each compressed row
        levels = []
        for y in (uT, utx):
            _, _, inverse_y = compress_rows(ux, y, ug)
            rep = np.zeros(inverse_y.max() + 1, dtype=np.int64)
            rep[inverse_y] = np.arange(len(ux))
            levels += [rep, inverse_y]
        rows = _Rows(ux, utx, uT, weights, Zp[first], Zd[first], tuple(levels))

        names = self._names()
        k = len(names)
        base_bounds = np.log(np.asarray(self._plain._bounds((ux, utx, uT), weights), dtype=np.float64))
        held = np.zeros(k, dtype=bool)
        held[4:] = np.concatenate([const_p] + [const_d] * len(self._dropout_blocks))
        scale_bound = np.concatenate([_coef_bound(Zp)] + [_coef_bound(Zd)] * len(self._dropout_blocks))
        lower = np.concatenate([base_bounds[:, 0], -scale_bound])
        upper = np.concatenate([base_bounds[:, 1], scale_bound])
        lower[held], upper[held] = 0.0, 0.0
        x0 = np.concatenate([np.log(self.plain_.params_.to_numpy()), np.zeros(k - 4)])
        x0 = np.clip(x0, lower, upper)
        n = weights.sum()

        def objective(theta):
            value, grad = self._objective(theta, rows)
            return value / n, grad / n

        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            theta, result, converged = _minimise(objective, x0, lower, upper, tol, maxiter)
        if not converged or not np.all(np.isfinite(theta)) or not np.isfinite(result.fun):
            raise ConvergenceError(
                f"{type(self).__name__}: maximum-likelihood fit did not converge: {result.message} "
                "Try fewer covariates, merge rare categories, or use more data."
            )
        self._theta = theta
        self._rows = rows
        # Base parameters that end on their bound are held there, as in the plain model.
        at_low = [nm for nm, t, lo in zip(names[:4], theta[:4], lower[:4]) if t <= lo + 1e-3]
        at_high = [nm for nm, t, hi in zip(names[:4], theta[:4], upper[:4]) if t >= hi - 1e-3]
        held[:4] = [nm in at_low or nm in at_high for nm in names[:4]]
        self._held = held
        self.params_ = pd.Series(np.concatenate([np.exp(theta[:4]), theta[4:]]), index=names, name="coef")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            self.log_likelihood_ = -float(self._objective(theta, rows)[0])
        self._set_uncertainty(theta, rows)
        notes = [f"`{c}` is the same for every customer, so its effect on {process} cannot be measured; its "
                 "coefficient is held at 0." for c, process, const in
                 [(c, "purchasing", f) for c, f in zip(self.purchase_columns_, const_p)]
                 + [(c, "drop-out", f) for c, f in zip(self.dropout_columns_, const_d)] if const]
        self.diagnosis_ = self._diagnose(at_low, at_high, notes)
        return self

    def _set_uncertainty(self, theta: np.ndarray, rows: _Rows) -> None:
        k = len(theta)
        free = ~self._held
        cov = np.full((k, k), np.nan)
        self._hessian_ok, self._condition = False, float("inf")
        if not free.any():
            cov, self._hessian_ok, self._condition = np.zeros((k, k)), True, 1.0
        else:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                hess = self._hessian(theta, rows, free)
            if np.all(np.isfinite(hess)):
                eig = np.linalg.eigvalsh(hess)
                if eig[0] > 0:
                    self._condition = float(eig[-1] / eig[0])
                    inv = np.linalg.inv(hess)
                    if np.all(np.isfinite(inv)) and np.all(np.diag(inv) > 0):
                        cov = np.zeros((k, k))
                        cov[np.ix_(free, free)] = inv
                        self._hessian_ok = True
        self._covariance = cov  # of (log base parameters, raw coefficients)
        jac = np.diag(np.concatenate([np.exp(theta[:4]), np.ones(k - 4)]))
        names = list(self.params_.index)
        self.variance_matrix_ = pd.DataFrame(jac @ cov @ jac, index=names, columns=names)

    def _hessian(self, theta: np.ndarray, rows: _Rows, free: np.ndarray) -> np.ndarray:
        """Hessian of the total negative log-likelihood in the free entries of θ (differences of the gradient)."""
        def gradient(sub):
            full = theta.copy()
            full[free] = sub
            return self._objective(full, rows)[1][free]

        return _hessian_from_gradient(gradient, theta[free], self._hessian_step)

    def _diagnose(self, at_low, at_high, notes) -> FitDiagnosis:
        limit, identified, harmless = None, True, True
        notes = list(notes)
        if at_low or at_high:
            base = pd.Series(self.params_.to_numpy()[:4], index=list(self._base_names))
            limit, sentence, identified, harmless = self._plain._describe_boundary(base, at_low, at_high)
            notes.insert(0, sentence)
        plain = self.plain_.diagnosis_
        if not plain.identified and plain.limit and "no evidence of drop-out" in plain.limit:
            identified = False
            notes.append(plain.notes[0])
        if not self._hessian_ok:
            identified = False
            notes.append("The likelihood is flat in some direction at the optimum (singular Hessian), so standard "
                         "errors and intervals are unavailable; try fewer covariates or merge rare categories.")
        elif self._condition >= FitDiagnosis.CONDITION_LIMIT:
            notes.append(f"The Hessian's condition number is {self._condition:.3g}: some parameters are nearly "
                         "interchangeable, so their standard errors are unreliable.")
        return FitDiagnosis(
            converged=True, at_boundary=bool(at_low or at_high), identified=identified,
            condition_number=float(self._condition), limit=limit, notes=tuple(notes),
            bounded=tuple(at_low + at_high), harmless_boundary=harmless, model=type(self).__name__,
        )

    # -- results -------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet: call .fit() first.")

    @property
    def standard_errors_(self) -> pd.Series:
        """Standard errors of ``params_`` (base parameters on the natural scale by the delta method; coefficients
        as they are); NaN for parameters held at 0 or at a bound."""
        self._check_fitted()
        se = np.sqrt(np.clip(np.diag(self.variance_matrix_), 0.0, None))
        return pd.Series(np.where(self._held, np.nan, se), index=self.params_.index, name="se")

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """95 % intervals: log-symmetric for the base parameters (they stay positive), symmetric for coefficients."""
        self._check_fitted()
        se = np.where(self._held, np.nan, np.sqrt(np.clip(np.diag(self._covariance), 0.0, None)))
        theta = self._theta
        low, high = theta - _Z95 * se, theta + _Z95 * se
        low[:4], high[:4] = np.exp(low[:4]), np.exp(high[:4])
        return pd.DataFrame({"lower_95": low, "upper_95": high}, index=self.params_.index)

    def summary(self) -> pd.DataFrame:
        """Parameter table: ``coef``, ``se``, ``lower_95``, ``upper_95``; ``attrs`` carry the log-likelihood, the
        likelihood-ratio test and the diagnosis."""
        self._check_fitted()
        table = pd.concat([self.params_, self.standard_errors_, self.confidence_intervals_], axis=1)
        table.index.name = "parameter"
        test = self.lr_test()
        table.attrs.update(log_likelihood=self.log_likelihood_, n_customers=self.n_customers_,
                           time_unit=self.time_unit_, lr_statistic=test.statistic, lr_df=test.df,
                           lr_p_value=test.p_value, diagnosis=self.diagnosis_.to_dict())
        return table

    def lr_test(self) -> LikelihoodRatioTest:
        """Likelihood-ratio test against the plain model fitted on the same customers (``plain_``)."""
        self._check_fitted()
        df = int((~self._held[4:]).sum())
        statistic = max(2 * (self.log_likelihood_ - self.plain_.log_likelihood_), 0.0) if df else 0.0
        p_value = float(stats.chi2.sf(statistic, df)) if df else 1.0
        return LikelihoodRatioTest(float(statistic), df, p_value, self.log_likelihood_,
                                   self.plain_.log_likelihood_)

    def _dropout_log_effects(self, j: int) -> tuple[float, np.ndarray]:
        """Log of the drop-out effect of covariate j and its gradient in θ (for the delta method)."""
        raise NotImplementedError

    def effects(self) -> pd.DataFrame:
        """One row per covariate and process: the effect as a multiplicative change, its 95 % interval, p-value
        and a plain sentence.

        Purchase: ``effect`` = exp(γ), the factor on the purchase rate of customers with the covariate (one unit
        more of it, for a numeric one) against the baseline. Drop-out: the factor on the mean drop-out rate
        (Pareto/NBD: exp(γ)) or on the mean drop-out probability after a purchase (BG/NBD: a_i/(a_i+b_i) against
        a₀/(a₀+b₀), through both coefficients). Intervals and p-values are Wald's, on the log of the effect.
        A sentence says "no evidence …" when the interval contains 1 (p > 0.05). Indexed by ``(covariate,
        process)``; columns ``effect``, ``lower_95``, ``upper_95``, ``p_value``, ``measure``, ``sentence``.
        """
        self._check_fitted()
        rows = []
        p = len(self.purchase_columns_)
        for j, col in enumerate(self.purchase_columns_):
            grad = np.zeros(len(self._theta))
            grad[4 + j] = 1.0
            rows.append(self._effect_row(col, "purchase", self._theta[4 + j], grad, held=self._held[4 + j]))
        for j, col in enumerate(self.dropout_columns_):
            log_effect, grad = self._dropout_log_effects(j)
            held = bool(self._held[4 + p + j])
            rows.append(self._effect_row(col, "dropout", log_effect, grad, held=held))
        table = pd.DataFrame(rows, columns=["covariate", "process", "effect", "lower_95", "upper_95", "p_value",
                                            "measure", "sentence"])
        return table.set_index(["covariate", "process"])

    def _effect_row(self, col: str, process: str, log_effect: float, grad: np.ndarray, held: bool) -> dict:
        measure = "purchase rate" if process == "purchase" else self._dropout_measure
        var = np.nan if held else float(grad @ self._covariance @ grad)
        se = np.sqrt(var) if np.isfinite(var) and var > 0 else np.nan
        effect = float(np.exp(log_effect))
        low, high = np.exp(log_effect - _Z95 * se), np.exp(log_effect + _Z95 * se)
        p_value = float(2 * stats.norm.sf(abs(log_effect) / se)) if np.isfinite(se) else np.nan
        if held:
            sentence = (f"{self.labels_[col][:1].upper() + self.labels_[col][1:]}: not measurable (`{col}` is the "
                        "same for every customer).")
        elif not np.isfinite(se):
            sentence = (f"{self.labels_[col][:1].upper() + self.labels_[col][1:]}: {measure} × {effect:.2f}, "
                        "without an interval (no usable standard errors).")
        else:
            sentence, _ = _sentence(process, self.labels_[col], self.references_[col], effect, low, high, measure)
        return {"covariate": col, "process": process, "effect": effect, "lower_95": low, "upper_95": high,
                "p_value": p_value, "measure": measure, "sentence": sentence}

    def describe_effects(self) -> str:
        """Markdown: one bullet per covariate, e.g. "Customers from paid social buy 22 % less often than those from
        organic search; no evidence they drop out sooner." (both processes joined), then the likelihood-ratio test.
        Data values (channel and product names) are escaped, so the text shows them literally."""
        table = self.effects()
        if table.empty:
            return ("No covariate varies between customers (e.g. the orders have no channel or product column), so "
                    "there is nothing to compare: the model is the plain " + self._model_name + " model.")
        lines = []
        for col in dict.fromkeys(table.index.get_level_values("covariate")):
            part = table.loc[col]
            clauses = []
            for process in ("purchase", "dropout"):
                if process not in part.index:
                    continue
                row = part.loc[process]
                if not np.isfinite(row["lower_95"]):
                    clauses.append(row["sentence"].split(": ", 1)[-1].rstrip("."))
                    continue
                _, clause = _sentence(process, self.labels_[col], self.references_[col], row["effect"],
                                      row["lower_95"], row["upper_95"], row["measure"])
                if clauses and self.references_[col]:  # the comparison is named once
                    clause = clause.replace(f" than {self.references_[col]}", "").replace(
                        f" as {self.references_[col]}", "")
                clauses.append(clause)
            subject = self.labels_[col][:1].upper() + self.labels_[col][1:]
            plain_start = clauses[0].startswith(("buy", "drop out", "stay"))
            lines.append("- " + escape_markdown(subject + (" " if plain_start else ": ") + "; ".join(clauses) + "."))
        return "\n".join(lines) + "\n\n" + escape_markdown(self.lr_test().verdict)

    # -- predictions ---------------------------------------------------------------------------------------
    def _design(self, table: pd.DataFrame, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
        return (_covariate_matrix(table, index, self.purchase_columns_, "covariates"),
                _covariate_matrix(table, index, self.dropout_columns_, "covariates"))

    def _check_time_unit(self, customers: pd.DataFrame) -> None:
        unit = customers.attrs.get("time_unit")
        if unit is not None and self.time_unit_ is not None and unit != self.time_unit_:
            raise DataError(
                f"customers: the table is in time unit {unit!r} but the {type(self).__name__} was fitted in "
                f"{self.time_unit_!r}; rebuild the table with customer_summary(..., time_unit={self.time_unit_!r})."
            )

    def individual_params(self, covariates: pd.DataFrame) -> pd.DataFrame:
        """Each customer's own model parameters (``r, alpha, a, b`` or ``r, alpha, s, beta``) from their covariates;
        ``covariates`` indexed by customer id (or with a ``customer_id`` column)."""
        self._check_fitted()
        table = _covariate_frame(covariates, pd.DataFrame(), "covariates")
        Zp, Zd = self._design(table, table.index)
        values = self._individual(self._theta, Zp, Zd)
        return pd.DataFrame({n: np.broadcast_to(v, len(table)) for n, v in zip(self._base_names, values)},
                            index=table.index)

    def _history(self, customers, covariates):
        self._check_fitted()
        customers = customer_indexed(customers)
        self._check_time_unit(customers)
        x, t_x, T = purchase_arrays(customers)
        table = _covariate_frame(covariates, customers, "covariates")
        Zp, Zd = self._design(table, customers.index)
        return customers, x, t_x, T, self._individual(self._theta, Zp, Zd)

    def expected_purchases(self, customers: pd.DataFrame, covariates: pd.DataFrame | None = None, *,
                           t: float) -> pd.Series:
        """Expected repeat purchases of each customer in the next ``t`` time units, given their history and their
        own parameters; Series ``expected_purchases`` indexed by customer id. ``covariates`` as in :meth:`fit`."""
        customers, x, t_x, T, params = self._history(customers, covariates)
        t = float(check_horizon(t))
        return pd.Series(self._expected(params, t, x, t_x, T), index=customers.index, name="expected_purchases")

    def p_alive(self, customers: pd.DataFrame, covariates: pd.DataFrame | None = None) -> pd.Series:
        """Probability each customer is still active at the end of the period; Series ``p_alive``."""
        customers, x, t_x, T, params = self._history(customers, covariates)
        return pd.Series(self._p_alive(params, x, t_x, T), index=customers.index, name="p_alive")

    def profiles(self) -> pd.DataFrame:
        """One covariate row per group: the baseline, then each category of :func:`covariate_table`'s attributes
        (one attribute at a time, the others at their baseline; numeric covariates at 0). Pass it to
        :meth:`expected_purchases_new_customer` for a comparison by group."""
        self._check_fitted()
        columns = list(dict.fromkeys(self.purchase_columns_ + self.dropout_columns_))
        rows: dict[str, dict] = {}
        if self.levels_:
            for attribute, levels in self.levels_.items():
                for level, column in levels.items():
                    if column is None or column in columns:
                        rows[f"{attribute}={level}"] = {c: float(c == column) for c in columns}
        else:
            rows["baseline"] = {c: 0.0 for c in columns}
            for c in columns:
                if self._binary_columns.get(c, False):
                    rows[c] = {k: float(k == c) for k in columns}
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns).astype(np.float64)
        frame.index.name = "group"
        return frame

    def expected_purchases_new_customer(self, covariates=None, *, t):
        """Expected repeat purchases of a just-acquired customer over their first ``t`` time units.

        ``covariates``: None (the baseline, z = 0), one customer's values (a dict or Series by column; columns left
        out are 0), the name of a group of :meth:`profiles` (e.g. ``"channel=paid_social"``) or a DataFrame of
        rows (e.g. :meth:`profiles`). Returns a float (an array over an array ``t``) for one row, and for a
        DataFrame a Series indexed like it (a DataFrame with one column per ``t`` for an array ``t``).
        """
        self._check_fitted()
        t_arr = check_horizon(t)
        columns = list(dict.fromkeys(self.purchase_columns_ + self.dropout_columns_))
        if isinstance(covariates, pd.DataFrame):
            frame = covariates
        else:
            if covariates is None:
                row = {}
            elif isinstance(covariates, str):
                groups = self.profiles()
                if covariates not in groups.index:
                    raise ValueError(f"The value for `covariates` must be one of {list(groups.index)} (a group of "
                                     f"profiles()), a dict or a DataFrame, but {covariates!r} was passed.")
                row = groups.loc[covariates].to_dict()
            else:
                row = dict(covariates)
            unknown = [c for c in row if c not in columns]
            if unknown:
                raise ValueError(f"Unknown covariate(s) {unknown}; the model's covariates are {columns}.")
            frame = pd.DataFrame([{c: float(row.get(c, 0.0)) for c in columns}])
        Zp, Zd = self._design(frame.reindex(columns=columns, fill_value=0.0), frame.index)
        # One row per profile, one column per horizon.
        params = tuple(np.asarray(v, dtype=np.float64).reshape(-1, 1) if np.ndim(v) else float(v)
                       for v in self._individual(self._theta, Zp, Zd))
        values = np.broadcast_to(self._new_customer(params, t_arr.reshape(1, -1)), (len(frame), t_arr.size))
        if not isinstance(covariates, pd.DataFrame):
            return float(values[0, 0]) if t_arr.ndim == 0 else values[0].reshape(t_arr.shape)
        if t_arr.ndim == 0:
            return pd.Series(values[:, 0], index=frame.index, name="expected_purchases")
        return pd.DataFrame(values, index=frame.index, columns=t_arr.ravel())

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "params_"):
            return f"<clvlib.{name}: not fitted>"
        values = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return (f"<clvlib.{name}: {values}; fitted on {self.n_customers_:,} customers, log-likelihood "
                f"{self.log_likelihood_:,.2f}>")

    def _repr_html_(self) -> str:
        return result_html(self.lr_test().verdict, self.effects(), title=type(self).__name__)


_SUMMARY_COLUMNS = {"frequency", "recency", "T", "monetary_value", "n_orders", "total_revenue", "aov",
                    "first_order", "last_order", "frequency_holdout", "duration_holdout", "alive"}


def _minimise(objective, x0: np.ndarray, lower: np.ndarray, upper: np.ndarray, tol: float, maxiter: int):
    """Minimise inside the box: ``(theta, optimiser result, converged)``.

    As in :meth:`clvlib.models._base.BaseModel._optimise`: first BFGS on the free entries (those whose box is not a
    single point), which finds an interior optimum and is cheaper than L-BFGS-B's bookkeeping on a busy machine;
    when it leaves the box (a limit, e.g. no drop-out) or fails, L-BFGS-B inside the box, from the start and from
    where BFGS got to, keeping the better converged end.
    """
    free = lower < upper
    far_low, far_high = lower - np.log(10.0), upper + np.log(10.0)

    def on_free(sub):
        full = x0.copy()
        full[free] = sub
        if np.any(full < far_low) or np.any(full > far_high):
            raise _OutsideBox
        value, grad = objective(full)
        return value, grad[free]

    reached = None
    try:
        run = optimize.minimize(on_free, x0[free], jac=True, method="BFGS", options={"gtol": tol, "maxiter": maxiter})
        reached = x0.copy()
        reached[free] = run.x
        if np.all(reached >= lower) and np.all(reached <= upper) and _converged(run):
            return reached, run, True
    except (_OutsideBox, ZeroDivisionError, FloatingPointError, OverflowError):
        pass
    starts = [x0]
    if reached is not None and np.all(np.isfinite(reached)):
        starts.append(np.clip(reached, lower, upper))
    best = None
    for start in starts:
        run = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=list(zip(lower, upper)),
                                tol=tol, options={"maxiter": maxiter})
        ok = _converged(run, lower, upper)
        if best is None or (ok, -run.fun) > (best[0], -best[1].fun):
            best = (ok, run)
    return best[1].x, best[1], best[0]


def _coef_bound(Z: np.ndarray) -> np.ndarray:
    """Box of each coefficient: |γ·z| at most 20 (a factor e^20 ≈ 5e8) over the observed range of the covariate."""
    if Z.shape[1] == 0:
        return np.zeros(0)
    spread = np.max(np.abs(Z), axis=0)
    return 20.0 / np.where(spread > 0, spread, 1.0)


class BetaGeoCovariates(_CovariateModel):
    """BG/NBD with time-invariant covariates in the purchase and the drop-out process.

    α_i = α₀ exp(−γ_p'z_i) (purchase rate × exp(γ_p)); a_i = a₀ exp(γ_a'z_i), b_i = b₀ exp(γ_b'z_i) (drop-out
    probability after a purchase ~ Beta(a_i, b_i)); see the module docstring for the conventions.

    Parameters
    ----------
    purchase_covariates, dropout_covariates : list of str, optional
        Columns of the covariate table that act on each process; None: every numeric column.

    Attributes
    ----------
    params_ : Series ``r, alpha, a, b`` (the baseline customer, z = 0), then ``purchase[col]``, ``dropout_a[col]``
        and ``dropout_b[col]`` coefficients.
    standard_errors_, confidence_intervals_, variance_matrix_ : from the numerical Hessian.
    log_likelihood_ : float; ``plain_`` : the :class:`~clvlib.BetaGeo` fitted on the same customers.
    diagnosis_ : :class:`~clvlib.FitDiagnosis`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> z = pd.DataFrame({"paid_social": np.arange(2000) % 2}, index=pd.RangeIndex(2000, name="customer_id"))
    >>> customers = simulate_with_covariates("bgnbd", [0.5, 8.0, 0.8, 2.5], z, purchase={"paid_social": -0.5},
    ...                                      T=52, seed=3)
    >>> model = BetaGeoCovariates(dropout_covariates=[]).fit(customers, z)
    >>> list(model.params_.index)
    ['r', 'alpha', 'a', 'b', 'purchase[paid_social]']
    """

    _plain = BetaGeo
    _base_names = ("r", "alpha", "a", "b")
    _dropout_blocks = ("dropout_a", "dropout_b")
    _dropout_measure = "drop-out probability after a purchase"
    _model_name = "BG/NBD"

    def _individual(self, theta, Zp, Zd):
        (log_r, log_alpha, log_a, log_b), gp, (ga, gb) = self._split_theta(theta)
        return (np.exp(log_r), np.exp(log_alpha - Zp @ gp), np.exp(log_a + Zd @ ga), np.exp(log_b + Zd @ gb))

    def _objective(self, theta, d: _Rows):
        r, alpha, a, b = self._individual(theta, d.Zp, d.Zd)
        alpha, a, b = (np.broadcast_to(v, d.x.shape) for v in (alpha, a, b))
        ll, d_r, d_alpha, d_a, d_b = _bgnbd_rows(r, alpha, a, b, d.x, d.t_x, d.T, grad=True)
        w = d.w
        g_alpha, g_a, g_b = w * d_alpha * alpha, w * d_a * a, w * d_b * b
        grad = np.concatenate([[w @ d_r * r, g_alpha.sum(), g_a.sum(), g_b.sum()],
                               -(d.Zp.T @ g_alpha), d.Zd.T @ g_a, d.Zd.T @ g_b])
        return -float(w @ ll), -grad

    def _dropout_log_effects(self, j):
        p, d = len(self.purchase_columns_), len(self.dropout_columns_)
        theta = self._theta
        a0, b0 = np.exp(theta[2]), np.exp(theta[3])
        ia, ib = 4 + p + j, 4 + p + d + j
        ga, gb = theta[ia], theta[ib]
        a1, b1 = a0 * np.exp(ga), b0 * np.exp(gb)
        # log of [a1/(a1+b1)] / [a0/(a0+b0)]
        log_effect = ga + np.log(a0 + b0) - np.log(a1 + b1)
        grad = np.zeros(len(theta))
        grad[2] = a0 / (a0 + b0) - a1 / (a1 + b1)
        grad[3] = b0 / (a0 + b0) - b1 / (a1 + b1)
        grad[ia] = 1 - a1 / (a1 + b1)
        grad[ib] = -b1 / (a1 + b1)
        return float(log_effect), grad

    @staticmethod
    def _p_alive(params, x, t_x, T):
        r, alpha, a, b = params
        return _bgnbd_p_alive(r, alpha, a, b, x, t_x, T)

    @staticmethod
    def _expected(params, t, x, t_x, T):
        r, alpha, a, b = params
        if_alive = _grouped_if_alive(r, a, b, x, t / (alpha + T + t))
        return if_alive * _bgnbd_p_alive(r, alpha, a, b, x, t_x, T)

    @staticmethod
    def _new_customer(params, t):
        r, alpha, a, b = params
        return _grouped_if_alive(r, a, b, 0.0, t / (alpha + t))


class ParetoNBDCovariates(_CovariateModel):
    """Pareto/NBD with time-invariant covariates in the purchase and the drop-out process.

    α_i = α₀ exp(−γ_p'z_i) (purchase rate × exp(γ_p)); β_i = β₀ exp(−γ_d'z_i) (drop-out rate × exp(γ_d)); see
    the module docstring for the conventions. Same interface as :class:`BetaGeoCovariates`; ``params_`` holds
    ``r, alpha, s, beta`` then ``purchase[col]`` and ``dropout[col]``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> z = pd.DataFrame({"paid_social": np.arange(2000) % 2}, index=pd.RangeIndex(2000, name="customer_id"))
    >>> customers = simulate_with_covariates("paretonbd", [0.55, 10.6, 0.61, 11.7], z, dropout={"paid_social": 0.7},
    ...                                      T=52, seed=3)
    >>> list(ParetoNBDCovariates().fit(customers, z).params_.index)
    ['r', 'alpha', 's', 'beta', 'purchase[paid_social]', 'dropout[paid_social]']
    """

    _plain = ParetoNBD
    _base_names = ("r", "alpha", "s", "beta")
    _dropout_blocks = ("dropout",)
    _dropout_measure = "drop-out rate"
    _model_name = "Pareto/NBD"
    # The gradient in log r and log s is itself a central difference: a larger step keeps its rounding noise out of
    # the Hessian (standard errors agree with second differences of the likelihood to ~1e-4).
    _hessian_step = 1e-4

    def _individual(self, theta, Zp, Zd):
        (log_r, log_alpha, log_s, log_beta), gp, (gd,) = self._split_theta(theta)
        return (np.exp(log_r), np.exp(log_alpha - Zp @ gp), np.exp(log_s), np.exp(log_beta - Zd @ gd))

    def _total(self, theta, d: _Rows) -> float:
        r, alpha, s, beta = self._individual(theta, d.Zp, d.Zd)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            alpha, beta = (np.broadcast_to(v, d.x.shape) for v in (alpha, beta))
            return -float(d.w @ _pnbd_rows(r, alpha, s, beta, d.x, d.t_x, d.T, levels=d.levels))

    def _objective(self, theta, d: _Rows):
        """Total and gradient: analytic in α_i and β_i (so in α₀, β₀ and every coefficient), central differences in
        log r and log s (they enter the ₂F₁ parameters), as in :class:`~clvlib.ParetoNBD`."""
        r, alpha, s, beta = self._individual(theta, d.Zp, d.Zd)
        alpha, beta = (np.broadcast_to(v, d.x.shape) for v in (alpha, beta))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ll, d_alpha, d_beta = _pnbd_rows(r, alpha, s, beta, d.x, d.t_x, d.T, grad=True, levels=d.levels)
        w = d.w
        g_alpha, g_beta = w * d_alpha * alpha, w * d_beta * beta
        grad = np.concatenate([[0.0, g_alpha.sum(), 0.0, g_beta.sum()], -(d.Zp.T @ g_alpha), -(d.Zd.T @ g_beta)])
        for i in (0, 2):
            h = 1e-5 * max(1.0, abs(theta[i]))
            up, down = theta.copy(), theta.copy()
            up[i] += h
            down[i] -= h
            grad[i] = -(self._total(up, d) - self._total(down, d)) / (2 * h)
        return -float(w @ ll), -grad

    def _dropout_log_effects(self, j):
        p = len(self.purchase_columns_)
        grad = np.zeros(len(self._theta))
        grad[4 + p + j] = 1.0
        return float(self._theta[4 + p + j]), grad

    @staticmethod
    def _p_alive(params, x, t_x, T):
        r, alpha, s, beta = params
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _pnbd_p_alive(r, alpha, s, beta, x, t_x, T)

    @classmethod
    def _expected(cls, params, t, x, t_x, T):
        r, alpha, s, beta = params
        log_u = np.log(beta + T) - np.log(beta + T + t)
        if_alive = (r + x) * (beta + T) / (alpha + T) * _one_minus_power_over(s - 1, log_u)
        return cls._p_alive(params, x, t_x, T) * if_alive

    @staticmethod
    def _new_customer(params, t):
        r, alpha, s, beta = params
        return r * beta / alpha * _one_minus_power_over(s - 1, np.log(beta) - np.log(beta + t))


def covariate_model(purchase_model=None, *, purchase_covariates: list[str] | None = None,
                    dropout_covariates: list[str] | None = None) -> _CovariateModel:
    """The covariate version of a plain purchase model, unfitted: :class:`ParetoNBDCovariates` for a
    :class:`~clvlib.ParetoNBD`, :class:`BetaGeoCovariates` otherwise (BG/NBD, MBG/NBD, or None), e.g.
    ``covariate_model(result.purchase_model)`` for the report's decision.

    >>> type(covariate_model(ParetoNBD())).__name__
    'ParetoNBDCovariates'
    """
    cls = ParetoNBDCovariates if isinstance(purchase_model, ParetoNBD) else BetaGeoCovariates
    return cls(purchase_covariates=purchase_covariates, dropout_covariates=dropout_covariates)


# -- building covariates from orders ---------------------------------------------------------------------------
def _pretty(value) -> str:
    return str(value).replace("_", " ")


def covariate_table(
    orders: pd.DataFrame,
    *,
    channel: bool = True,
    first_product: bool = True,
    discount: str | None = None,
    baseline: dict | None = None,
    as_of=None,
) -> pd.DataFrame:
    """Covariates of each customer from their first order: one-hot acquisition channel and first product category,
    and optionally the first order's discount.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (``customer_id``, ``order_date``, ``revenue``; ``order_id``, ``channel``, ``product`` when
        present). The first order is the earliest by date, then by ``order_id`` (the rule of
        :func:`clvlib.first_order_attributes`); guest orders are left out.
    channel, first_product : bool
        One-hot columns ``channel=<value>`` and ``product=<value>`` (0/1), one per category except the baseline;
        skipped when the orders have no such column.
    discount : str, optional
        Name of a column of ``orders`` with each order's discount: 0/1 or boolean (whether the first order was
        discounted) or numeric (its amount or rate, used as it is); missing values count as 0. One column
        ``discount``.
    baseline : dict, optional
        Baseline category per attribute, e.g. ``{"channel": "organic_search"}``; default the most common one
        (the most precise comparison).
    as_of : date-like, optional
        Orders after it are ignored.

    Returns
    -------
    DataFrame indexed by ``customer_id`` with float columns. ``attrs`` carry, for the models' sentences,
    ``labels`` (e.g. "customers from paid social"), ``references`` ("those from organic search"), ``levels``
    (``{"channel": {"organic_search": None, "paid_social": "channel=paid_social", ...}}``) and ``baselines``.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b", "c", "a"], "order_id": ["1", "2", "3", "4"],
    ...     "order_date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-02-01"]),
    ...     "revenue": [10.0, 20.0, 30.0, 40.0], "channel": ["email", "ads", "email", "ads"]})
    >>> covariate_table(orders)
                 channel=ads
    customer_id
    a                    0.0
    b                    1.0
    c                    0.0
    """
    validate_columns(orders, ("customer_id", "order_date", "revenue"), source="orders", what="orders table")
    if discount is not None:
        validate_columns(orders, (discount,), source="orders", what="orders table")
    data = orders[orders["customer_id"].notna()]
    if as_of is not None:
        data = data[data["order_date"] <= pd.Timestamp(as_of)]
    keys = ["order_date", "order_id"] if "order_id" in data.columns else ["order_date"]
    first = data.sort_values(keys, kind="stable").drop_duplicates("customer_id").set_index("customer_id")
    first = first.sort_index()
    baseline = dict(baseline or {})
    unknown = set(baseline) - {"channel", "product"}
    if unknown:
        raise ValueError(f"The keys of `baseline` must be among ['channel', 'product'], but {sorted(unknown)} "
                         "were passed.")
    table = pd.DataFrame(index=first.index)
    labels, references, levels, baselines = {}, {}, {}, {}
    wording = {"channel": ("customers from {}", "those from {}"),
               "product": ("customers whose first order was {}", "those whose first order was {}")}
    for attribute, wanted in (("channel", channel), ("product", first_product)):
        if not wanted or attribute not in first.columns:
            continue
        values = first[attribute].astype("object").where(first[attribute].notna(), "unknown").astype(str)
        counts = values.value_counts()
        base = baseline.get(attribute, counts.index[0])
        if base not in counts.index:
            raise ValueError(f"The baseline {attribute} {base!r} does not occur; the values are "
                             f"{sorted(counts.index)}.")
        baselines[attribute] = base
        levels[attribute] = {base: None}
        label, reference = wording[attribute]
        for level in sorted(counts.index):
            if level == base:
                continue
            column = f"{attribute}={level}"
            table[column] = (values == level).astype(np.float64)
            labels[column] = label.format(_pretty(level))
            references[column] = reference.format(_pretty(base))
            levels[attribute][level] = column
    if discount is not None:
        raw = first[discount]
        if raw.dtype == bool or str(raw.dtype) == "boolean":
            raw = raw.astype("float64")
        if not pd.api.types.is_numeric_dtype(raw):
            raise DataError(f"orders: the discount column `{discount}` is not numeric ({raw.dtype}); give 0/1, "
                            "true/false or an amount.")
        values = raw.astype(np.float64).fillna(0.0)
        table["discount"] = values
        if _is_binary(values.to_numpy()):
            labels["discount"] = "customers whose first order had a discount"
            references["discount"] = "those whose first order had none"
        else:
            labels["discount"] = f"customers with one unit more of first-order `{discount}`"
            references["discount"] = ""
    table.attrs.update(labels=labels, references=references, levels=levels, baselines=baselines)
    return table


# -- simulation ------------------------------------------------------------------------------------------------
def simulate_with_covariates(
    model: str,
    params,
    covariates: pd.DataFrame,
    *,
    purchase: dict | None = None,
    dropout: dict | None = None,
    T=52.0,
    time_unit: str = "W",
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw a customer table from BG/NBD or Pareto/NBD with covariate effects (one customer per covariate row).

    Parameters
    ----------
    model : {"bgnbd", "paretonbd"}
    params : the baseline customer's ``(r, alpha, a, b)`` or ``(r, alpha, s, beta)``.
    covariates : DataFrame
        One row per customer (its index becomes the customer ids); numeric columns.
    purchase : dict, optional
        ``{column: γ}``: α_i = α₀ exp(−Σ γ z_i), the purchase rate × exp(γ).
    dropout : dict, optional
        Pareto/NBD ``{column: γ}``: β_i = β₀ exp(−Σ γ z_i); BG/NBD ``{column: (γ_a, γ_b)}``: a_i = a₀ exp(Σ γ_a z_i),
        b_i = b₀ exp(Σ γ_b z_i).
    T, time_unit, seed : as in :func:`clvlib.simulate_bgnbd`.

    Returns
    -------
    DataFrame with ``frequency, recency, T, alive``, indexed like ``covariates``.
    """
    if model not in ("bgnbd", "paretonbd"):
        raise ValueError(f"The value for `model` must be one of ['bgnbd', 'paretonbd'], but {model!r} was passed.")
    n = len(covariates)
    rng = np.random.default_rng(seed)
    r, alpha0, shape, scale = (float(v) for v in params)
    purchase, dropout = dict(purchase or {}), dict(dropout or {})

    def linear(effects, k=None):
        total = np.zeros(n)
        for col, coef in effects.items():
            total += (coef if k is None else coef[k]) * covariates[col].to_numpy(dtype=np.float64)
        return total

    ages = _ages(T, n, rng)
    alpha = alpha0 * np.exp(-linear(purchase))
    lam = rng.gamma(r, 1.0 / alpha)
    if model == "bgnbd":
        a, b = shape * np.exp(linear(dropout, 0)), scale * np.exp(linear(dropout, 1))
        p = rng.beta(a, b)
        lifetime_purchases = rng.geometric(np.clip(p, 1e-300, 1.0))
        k = rng.poisson(lam * ages)
        x = np.minimum(k, lifetime_purchases)
        t_x = _time_of_arrival(x, k, ages, rng)
        alive = lifetime_purchases > k
    else:
        beta = scale * np.exp(-linear(dropout))
        mu = rng.gamma(shape, 1.0 / beta)
        lifetime = rng.exponential(1.0 / np.maximum(mu, 1e-300))
        active = np.minimum(lifetime, ages)
        x = rng.poisson(lam * active)
        t_x = _time_of_arrival(x, x, active, rng)
        alive = lifetime > ages
    frame = _table(x, t_x, ages, alive, None, None, time_unit)
    frame.index = covariates.index.rename("customer_id")
    return frame
