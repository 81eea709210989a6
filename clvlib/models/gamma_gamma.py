"""Gamma-Gamma model of average transaction value (Fader, Hardie & Lee 2005; Fader & Hardie 2013).

A customer's transaction values are Gamma(p, ν) with a customer-level scale ν ~ Gamma(q, γ); the observed mean
m̄ of x repeat transactions then has a closed-form marginal density. The model assumes spend is independent of
purchase frequency: :meth:`GammaGamma.check_independence` tests that.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves for Customer Base
   Analysis. *Journal of Marketing Research* 42(4), 415–430.
.. [2] Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
   http://brucehardie.com/notes/025/

Limiting forms. The fit keeps p in [1e-4, 1e3], q in [1.01, 1e3] and v within a factor 1e8 of the mean of m̄ (see
:mod:`clvlib.models._base`); the diagnosis (``GammaGamma().fit(...).diagnosis_``) names what a bound means:

* q → 1 from above (q held at 1.01): the data want q ≤ 1, where the population mean order value pγ/(q − 1) is
  infinite (a few customers' spend is extremely heavy-tailed); every expected spend stays finite at the bound, but
  one-time buyers get a mean inflated by the tail. Recorded as not trustworthy (``diagnosis_.ok`` is False).
* p → ∞ (p at 1e3): each customer's orders have (nearly) the same value; q → ∞ (q at 1e3): customers' average
  order values barely differ. Both are homogeneous limits, harmless: expected spend is then the customer's own
  mean or the common mean.

Repeat customers with ``monetary_value`` 0 (zero-value repeat orders, kept for CDNOW only) or missing are left out
of the fit and counted in ``excluded_``; they still get an expected spend (their m̄ counts as 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import betainc, digamma, gammaln

from .._validation import customer_indexed, validate_columns
from .._results import result_html
from ..errors import DataError
from ._base import SCALE_FACTOR, SHAPE_MAX, SHAPE_MIN, BaseModel, compress_rows

#: Lower bound of q: below 1 the population mean order value pγ/(q − 1) does not exist.
Q_MIN = 1.01

__all__ = ["GammaGamma", "IndependenceCheck", "gamma_gamma_log_likelihood", "gamma_gamma_expected_spend"]


def gamma_gamma_log_likelihood(params, frequency, monetary_value) -> np.ndarray:
    """Per-customer log density of the mean spend m̄ over x repeat transactions, [2] eq. (3).

    f(m̄ | p, q, γ; x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m̄^(px−1) x^(px) / (γ + m̄x)^(px+q).

    Parameters
    ----------
    params : sequence of float
        Natural parameters ``(p, q, v)`` (v is the papers' γ).
    frequency, monetary_value : array-like
        Repeat transactions (> 0) and their mean value (> 0).

    Examples
    --------
    >>> round(float(gamma_gamma_log_likelihood([6.25, 3.74, 15.44], [1], [20.0])[0]), 4)
    -3.5942
    """
    p, q, v = (float(c) for c in params)
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + m * x)
    )


class _Prepared(NamedTuple):
    """Rows plus the sums that do not depend on the parameters (so each evaluation needs one log per row)."""

    x: np.ndarray
    mx: np.ndarray
    w: np.ndarray
    wx_row: np.ndarray
    ux: np.ndarray
    wx: np.ndarray
    sum_w_log_m: float
    sum_wx_log_mx: float


def _prepare(data, weights) -> _Prepared:
    x, m = data
    ix, ux = pd.factorize(x)
    ux = np.asarray(ux)
    wx = np.bincount(ix, weights=weights, minlength=len(ux))
    return _Prepared(
        x, m * x, weights, weights * x, ux, wx,
        float(weights @ np.log(m)), float((weights * x) @ (np.log(m) + np.log(x))),
    )


def _weighted_log_likelihood_and_gradient(params, d: _Prepared) -> tuple[float, np.ndarray]:
    """Weighted total of [2] eq. (3) and its gradient in ``(p, q, v)``."""
    p, q, v = (float(c) for c in params)
    pux = p * d.ux
    log_vmx = np.log(v + d.mx)
    inv_vmx = 1.0 / (v + d.mx)
    level = gammaln(pux + q) - gammaln(pux) - gammaln(q) + q * np.log(v)
    wx_log = np.einsum("i,i->", d.wx_row, log_vmx)
    w_log = np.einsum("i,i->", d.w, log_vmx)
    total = d.wx @ level + p * d.sum_wx_log_mx - d.sum_w_log_m - p * wx_log - q * w_log
    grad = np.array([
        d.wx @ (d.ux * (digamma(pux + q) - digamma(pux))) + d.sum_wx_log_mx - wx_log,
        d.wx @ (digamma(pux + q) - digamma(q) + np.log(v)) - w_log,
        q * d.wx.sum() / v - p * np.einsum("i,i->", d.wx_row, inv_vmx) - q * np.einsum("i,i->", d.w, inv_vmx),
    ])
    return float(total), grad


def gamma_gamma_expected_spend(params, frequency, monetary_value) -> np.ndarray:
    """Conditional expected average transaction value, [2] eq. (5) ([1] eq. (4)).

    E(M | p, q, γ, m̄, x) = (γ + m̄x) p / (px + q − 1): a weighted mean of the population mean pγ/(q−1) and the
    customer's own m̄, weighted by px. Customers without repeat purchases (x = 0) get the population mean.

    Examples
    --------
    >>> [round(float(v), 2) for v in gamma_gamma_expected_spend([6.25, 3.74, 15.44], [0, 2], [0.0, 50.0])]
    [35.22, 47.34]
    """
    p, q, v = (float(c) for c in params)
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    m = np.where((x > 0) & np.isfinite(m), np.maximum(m, 0.0), 0.0)  # a missing mean counts as no information
    return (v + m * x) * p / (p * x + q - 1)


@dataclass(frozen=True)
class IndependenceCheck:
    """Result of :meth:`GammaGamma.check_independence`: Pearson correlation, its p-value and a verdict.

    ``table`` holds the same numbers as a one-row DataFrame (``correlation``, ``p_value``, ``n_customers``).
    """

    correlation: float
    p_value: float
    n_customers: int
    verdict: str

    @property
    def table(self) -> pd.DataFrame:
        """``correlation``, ``p_value`` and ``n_customers`` (repeat buyers checked) as a one-row table."""
        return pd.DataFrame({"correlation": [self.correlation], "p_value": [self.p_value],
                             "n_customers": [self.n_customers]}, index=pd.Index(["frequency vs spend"], name="check"))

    def __str__(self) -> str:
        return self.verdict

    def _repr_html_(self) -> str:
        return result_html(self.verdict, self.table, title="Gamma-Gamma independence check")


def _pearson(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Pearson's r and its two-sided p-value under independence (as ``scipy.stats.pearsonr``, without the second
    of import time that scipy.stats costs): with n − 2 degrees of freedom, p = I_{1−r²}((n − 2)/2, 1/2).

    Examples
    --------
    >>> r, p = _pearson(np.array([1.0, 2, 3, 4, 5]), np.array([2.0, 1, 4, 3, 5]))
    >>> round(r, 4), round(p, 4)
    (0.8, 0.1041)
    """
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    return r, float(betainc((len(x) - 2) / 2, 0.5, 1.0 - r * r))


class GammaGamma(BaseModel):
    """The Gamma-Gamma spend model, fitted by maximum likelihood on repeat buyers.

    The fit uses customers with ``frequency > 0`` and ``monetary_value > 0`` only (one-time buyers carry no
    information about repeat spend, and the density needs m̄ > 0); the number left out and why is in
    ``excluded_`` (a Series: ``no repeat purchase``, ``non-positive monetary_value``).

    Attributes
    ----------
    params_ : Series indexed ``p, q, v`` (``v`` is the papers' γ).
    log_likelihood_, variance_matrix_, standard_errors_, confidence_intervals_ : as for :class:`BetaGeo`.

    Examples
    --------
    >>> from clvlib.models.simulate import simulate_gamma_gamma
    >>> customers = simulate_gamma_gamma([6.0, 4.0, 15.0], frequency=np.full(2000, 3), seed=1)
    >>> GammaGamma().fit(customers).params_.round(0).index.tolist()
    ['p', 'q', 'v']

    References
    ----------
    Fader, Hardie & Lee (2005), *JMR* 42(4); Fader & Hardie (2013), note 025: density eq. (3), mean eq. (5).
    """

    _param_names = ("p", "q", "v")

    def fit(
        self,
        customers: pd.DataFrame,
        *,
        time_unit: str | None = None,
        tol: float = 1e-8,
        maxiter: int = 2000,
    ) -> GammaGamma:
        """Fit on a customer table with ``frequency`` and ``monetary_value`` (indexed by customer id, or with a
        ``customer_id`` column); returns the fitted model."""
        customers = customer_indexed(customers)
        validate_columns(customers, ["frequency", "monetary_value"], source="customers", what="customer table")
        x = customers["frequency"].to_numpy(dtype=np.float64, na_value=np.nan)
        m = customers["monetary_value"].to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(x).any() or (x < 0).any() or (x != np.round(x)).any():
            raise DataError("customers: `frequency` must be a non-negative integer without missing values.")
        repeat = x > 0
        positive = repeat & (m > 0)
        self.excluded_ = pd.Series(
            {"no repeat purchase": int((~repeat).sum()), "non-positive monetary_value": int((repeat & ~(m > 0)).sum())},
            name="customers",
        )
        if positive.sum() < 3:
            raise DataError(
                f"customers: the Gamma-Gamma model needs repeat buyers with positive `monetary_value`, but only "
                f"{int(positive.sum())} customer(s) have one. Use the average order value instead."
            )
        self._record_time_unit(customers, time_unit)
        data, weights, _ = compress_rows(x[positive], m[positive])
        self._optimise(data, weights, tol, maxiter)
        dropped = int(self.excluded_["non-positive monetary_value"])
        if dropped:
            note = (f"{dropped:,} repeat customer(s) with a zero or missing average repeat order value were left out "
                    "of the spend fit.")
            diagnosis = self.diagnosis_
            self.diagnosis_ = type(diagnosis)(**{**diagnosis.__dict__, "notes": diagnosis.notes + (note,)})
        return self

    @staticmethod
    def _bounds(data, weights) -> list[tuple[float, float]]:
        scale = float(np.average(data[1], weights=weights))  # the mean of m̄, in the table's currency
        return [(SHAPE_MIN, SHAPE_MAX), (Q_MIN, SHAPE_MAX), (scale / SCALE_FACTOR, scale * SCALE_FACTOR)]

    @classmethod
    def _describe_boundary(cls, params, at_low, at_high):
        p, q, v = params.to_numpy()
        parts, rest_low, rest_high = [], list(at_low), list(at_high)
        if "q" in rest_low:
            rest_low.remove("q")
            parts.append((
                f"q held at {Q_MIN} (mean order value would be infinite)",
                "A few customers' order values are so extreme that the spend model's average order value would be "
                f"infinite (q ≤ 1); q was held at {Q_MIN}, so expected spend, above all for one-time buyers, is "
                "inflated by the extremes: check for outliers or use the average order value.",
                True, False,
            ))
        if "p" in rest_high or "q" in rest_high:
            which = []
            if "p" in rest_high:
                which.append("each customer's orders have nearly the same value")
            if "q" in rest_high:
                which.append("customers' average order values barely differ")
            rest_high = [n for n in rest_high if n not in ("p", "q")]
            parts.append((
                "near-constant spend: " + ", ".join(n for n in ("p", "q") if n in at_high) + " → ∞",
                f"Spend is nearly constant ({' and '.join(which)}), so the spend model was fitted in its limiting "
                "form; expected spend is the customer's own average, or the common average.",
                True, True,
            ))
        return cls._combine_boundary(parts, rest_low, rest_high)

    @staticmethod
    def _start(data, weights) -> np.ndarray:
        x, m = data
        # Moments: with p = 1 and q = 3, the population mean p·γ/(q − 1) equals the observed mean spend.
        mean_m = np.average(m, weights=weights)
        return np.log([1.0, 3.0, 2.0 * mean_m])

    _prepare = staticmethod(_prepare)

    _log_likelihood_and_gradient = staticmethod(_weighted_log_likelihood_and_gradient)

    def expected_spend(self, customers: pd.DataFrame) -> pd.Series:
        """Conditional expected average order value per customer, [2] eq. (5); Series ``expected_spend``.

        Customers without repeat purchases get the population mean pγ/(q − 1). ``customers`` is indexed by
        customer id, or has a ``customer_id`` column; the Series is indexed by customer id.
        """
        self._check_fitted()
        customers = customer_indexed(customers)
        self._check_time_unit(customers)
        validate_columns(customers, ["frequency", "monetary_value"], source="customers", what="customer table")
        values = gamma_gamma_expected_spend(
            self.params_.to_numpy(),
            customers["frequency"].to_numpy(dtype=np.float64),
            customers["monetary_value"].to_numpy(dtype=np.float64),
        )
        return pd.Series(values, index=customers.index, name="expected_spend")

    def population_mean_spend(self) -> float:
        """The model's mean transaction value across customers, pγ/(q − 1) (infinite when q ≤ 1)."""
        self._check_fitted()
        p, q, v = self.params_.to_numpy()
        return float(p * v / (q - 1)) if q > 1 else float("inf")

    @staticmethod
    def check_independence(customers: pd.DataFrame, *, threshold: float = 0.3) -> IndependenceCheck:
        """Correlation of ``frequency`` and ``monetary_value`` among repeat buyers, with a plain-language verdict.

        The Gamma-Gamma model assumes the two are independent; |r| below ``threshold`` is treated as weak enough.
        ``customers`` is indexed by customer id, or has a ``customer_id`` column.
        """
        customers = customer_indexed(customers)
        validate_columns(customers, ["frequency", "monetary_value"], source="customers", what="customer table")
        repeat = customers[(customers["frequency"] > 0) & (customers["monetary_value"] > 0)]
        if len(repeat) < 3 or repeat["frequency"].nunique() < 2:
            return IndependenceCheck(np.nan, np.nan, len(repeat), "Too few repeat buyers to check independence.")
        corr, p_value = _pearson(repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float))
        strength = "weak" if abs(corr) < threshold else "strong"
        advice = (
            "the Gamma-Gamma assumption looks reasonable."
            if strength == "weak"
            else "the Gamma-Gamma assumption is doubtful: frequent buyers spend systematically "
            + ("more" if corr > 0 else "less")
            + " per order, so predicted spend may be biased."
        )
        verdict = (
            f"Correlation between repeat purchases and average spend among {len(repeat):,} repeat buyers is "
            f"{corr:.2f} ({strength}); {advice}"
        )
        return IndependenceCheck(float(corr), float(p_value), len(repeat), verdict)

