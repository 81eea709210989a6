"""Shifted-beta-geometric (sBG) retention model for contractual cohorts (Fader & Hardie 2007, 2010).

A subscription business sees each customer renew or cancel once per period, so a cohort is described by how many
of its members are still customers at the end of each period. The sBG model explains the familiar rising retention
curve by heterogeneity, not by customers growing more loyal:

1. each customer cancels at the end of each period with a fixed probability θ (their lifetime is geometric);
2. θ varies across customers as Beta(α, β).

The high-churn customers leave first, so the retention rate of the survivors rises period after period.

With P(T = t) the probability of cancelling at the end of period t (t = 1, 2, …) and S(t) the probability of still
being a customer after t periods:

* P(T = t) = B(α+1, β+t−1) / B(α, β), S(t) = B(α, β+t) / B(α, β) ([1]);
* retention rate r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) ([1]);
* log-likelihood of survivors n_0, n_1, …, n_T: Σ_t (n_{t−1} − n_t) ln P(T = t) + n_T ln S(T) ([1]);
* expected lifetime E[T] = (α+β−1)/(α−1) periods, finite only when α > 1;
* discounted expected residual lifetime of a customer who has made n renewals ([2], whose
  "n−1 renewals" is n here): DERL = (β+n)/(α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d)).

References
----------
.. [1] Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. *Journal of Interactive
   Marketing* 21(1), 76–90. (The "regular" and "high end" cohorts tested against, survivors in years 0–7 of
   1000, 631, 468, 382, 326, 289, 262, 241 and 1000, 869, 743, 653, 593, 551, 517, 491: α = 0.704, β = 1.182 and
   α = 0.668, β = 3.806.)
.. [2] Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a contractual setting: the perils of
   ignoring heterogeneity. *Marketing Science* 29(1), 85–93.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma

from ..errors import DataError
from ._base import SHAPE_MAX, SHAPE_MIN, BaseModel, hyp2f1

__all__ = ["ShiftedBetaGeometric", "sbg_log_likelihood", "sbg_survival", "sbg_derl", "simulate_sbg"]


def _split(params) -> tuple[float, float]:
    alpha, beta = (float(v) for v in np.asarray(params, dtype=np.float64)[:2])
    return alpha, beta


def sbg_survival(params, t) -> np.ndarray:
    """S(t) = B(α, β+t)/B(α, β): the probability that a customer is still a customer after ``t`` periods.

    Examples
    --------
    >>> [round(float(v), 3) for v in sbg_survival([0.704, 1.182], [0, 1, 7])]
    [1.0, 0.627, 0.239]
    """
    alpha, beta = _split(params)
    t = np.asarray(t, dtype=np.float64)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def _lost_and_remaining(survivors) -> tuple[np.ndarray, float]:
    survivors = np.asarray(survivors, dtype=np.float64)
    return -np.diff(survivors), float(survivors[-1])


def sbg_log_likelihood(params, survivors) -> float:
    """Log-likelihood of a cohort's survivors n_0, n_1, …, n_T ([1]).

    Σ_{t=1..T} (n_{t−1} − n_t) ln P(T = t) + n_T ln S(T), with P(T = t) = B(α+1, β+t−1)/B(α, β).

    Examples
    --------
    >>> round(sbg_log_likelihood([0.704, 1.182], [1000, 631, 468, 382, 326, 289, 262, 241]), 1)
    -1680.3
    """
    alpha, beta = _split(params)
    lost, remaining = _lost_and_remaining(survivors)
    t = np.arange(1, len(lost) + 1, dtype=np.float64)
    log_p = betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta)
    log_s = betaln(alpha, beta + t[-1]) - betaln(alpha, beta)
    return float(lost @ log_p + remaining * log_s)


def _log_likelihood_and_gradient(params, data) -> tuple[float, np.ndarray]:
    """The log-likelihood of [1] and its gradient in (α, β) (∂ ln B(x, y)/∂x = ψ(x) − ψ(x+y))."""
    alpha, beta = _split(params)
    lost, remaining, t = data
    n = t[-1]
    common = digamma(alpha + beta)
    log_p = betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta)
    log_s = betaln(alpha, beta + n) - betaln(alpha, beta)
    total = float(lost @ log_p + remaining * log_s)
    d_alpha = lost @ (digamma(alpha + 1) - digamma(alpha + beta + t) - digamma(alpha) + common) \
        + remaining * (common - digamma(alpha + beta + n))
    d_beta = lost @ (digamma(beta + t - 1) - digamma(alpha + beta + t) - digamma(beta) + common) \
        + remaining * (digamma(beta + n) - digamma(alpha + beta + n) - digamma(beta) + common)
    return total, np.array([d_alpha, d_beta])


def sbg_derl(params, discount_rate: float, renewals=0) -> np.ndarray | float:
    """Discounted expected residual lifetime of a customer who has made ``renewals`` renewals ([2]).

    DERL(d | α, β, n) = (β+n)/(α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d)): the expected number of future payments,
    each discounted at rate d per period, counted from the customer's next renewal decision (not discounted) on.
    It is Σ_{k≥0} E[(1−θ)^(k+1)] / (1+d)^k over the posterior θ ~ Beta(α, β+n) of a customer with n renewals.
    At d = 0 it is the expected residual lifetime (β+n)/(α−1), infinite when α ≤ 1. Multiply by the margin per
    period for the residual lifetime value. Vectorised over ``renewals``.

    Examples
    --------
    >>> round(float(sbg_derl([0.704, 1.182], 0.10)), 3)
    2.965
    """
    alpha, beta = _split(params)
    d = float(discount_rate)
    if not np.isfinite(d) or d < 0:
        raise ValueError(f"`discount_rate` must be a finite rate >= 0 per period, but {discount_rate!r} was passed.")
    n = np.asarray(renewals, dtype=np.float64)
    if np.any(~np.isfinite(n)) or np.any(n < 0) or np.any(n != np.round(n)):
        raise ValueError(f"`renewals` must be non-negative integers, but {renewals!r} was passed.")
    b = beta + n
    if d == 0:
        value = np.full(n.shape, np.inf) if alpha <= 1 else b / (alpha - 1)
    else:
        value = b / (alpha + b) * hyp2f1(1.0, b + 1, alpha + b + 1, 1.0 / (1.0 + d))
    value = np.asarray(value, dtype=np.float64)
    return float(value) if value.ndim == 0 else value


def simulate_sbg(
    alpha: float,
    beta: float,
    *,
    cohort_size: int,
    n_periods: int,
    seed: int | np.random.Generator | None = None,
) -> pd.Series:
    """Draw one cohort's survivors for periods 0…``n_periods`` from the sBG model.

    Each of ``cohort_size`` customers draws θ ~ Beta(α, β) and cancels after a Geometric(θ) number of periods.

    Returns
    -------
    Series ``survivors`` of integers indexed by ``period`` 0…n_periods (period 0 is the cohort size).

    Examples
    --------
    >>> simulate_sbg(0.7, 1.2, cohort_size=1000, n_periods=3, seed=0).iloc[0]
    np.int64(1000)
    """
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, size=cohort_size)
    lifetimes = rng.geometric(np.clip(theta, 1e-300, 1.0))  # the period at whose end the customer cancels
    periods = np.arange(n_periods + 1)
    survivors = (lifetimes[None, :] > periods[:, None]).sum(axis=1)
    return pd.Series(survivors, index=pd.Index(periods, name="period"), name="survivors")


def _check_survivors(survivors) -> np.ndarray:
    """The survivors as a float array, or a DataError naming the broken rule and the periods that break it."""
    source = "survivors"
    values = np.asarray(survivors.to_numpy() if isinstance(survivors, pd.Series) else survivors, dtype=object)
    if values.ndim != 1:
        raise DataError(f"{source}: expected one number per period (a 1-D list or Series), got shape {values.shape}.")
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{source}: every value must be a number of customers, got {list(values)!r}.") from None
    if len(values) < 3:
        raise DataError(
            f"{source}: need the cohort size and at least two periods after it (3 values or more), got "
            f"{len(values)}; with fewer, how fast customers leave and how much they differ cannot be told apart."
        )
    rules = [
        (~np.isfinite(values), "must not be missing or infinite"),
        (np.isfinite(values) & (values < 0), "must not be negative"),
        (np.isfinite(values) & (values != np.round(values)), "must be whole numbers of customers"),
    ]
    for bad, rule in rules:
        if bad.any():
            raise DataError(f"{source}: values {rule}; periods {np.flatnonzero(bad).tolist()} "
                            f"have {values[bad].tolist()}.")
    if values[0] <= 0:
        raise DataError(f"{source}: the first value is the cohort size (period 0) and must be positive, got "
                        f"{values[0]:g}.")
    rising = np.flatnonzero(np.diff(values) > 0) + 1
    if rising.size:
        raise DataError(
            f"{source}: survivors must not increase from one period to the next (customers who left do not "
            f"return in a cohort); period(s) {rising.tolist()} have more survivors than the period before. "
            "Pass one acquisition cohort, starting at its size."
        )
    return values


class ShiftedBetaGeometric(BaseModel):
    """The shifted-beta-geometric retention model of a contractual cohort, fitted by maximum likelihood.

    Assumptions:

    1. At the end of each period every customer renews or cancels; a customer cancels with probability θ, the same
       every period (the lifetime is geometric: the "shifted" geometric, starting at 1).
    2. θ varies across customers as Beta(α, β).

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty on the parameters; 0 gives the pure maximum-likelihood fit.

    Attributes
    ----------
    params_ : Series indexed ``alpha, beta``.
    confidence_intervals_ : DataFrame ``lower_95, upper_95``, from the observed information, symmetric on the log
        scale (so they stay positive).
    standard_errors_, variance_matrix_, log_likelihood_, diagnosis_ : as for the other models.
    cohort_size_ : int, the number of customers in period 0 (``n_customers_``).
    survivors_ : Series of the survivors fitted, indexed by period.

    Methods: ``fit(survivors)``, ``survival(n_periods)``, ``retention_rates(n_periods)``, ``expected_lifetime()``,
    ``derl(discount_rate, renewals=0)``, ``summary()``.

    Examples
    --------
    >>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> model = ShiftedBetaGeometric().fit(regular)
    >>> model.params_.round(3).tolist()
    [0.704, 1.182]
    >>> model.survival(8).round(0).tolist()[-2:]
    [239.0, 220.0]

    References
    ----------
    Fader & Hardie (2007), *J. Interactive Marketing* 21(1); Fader & Hardie (2010), *Marketing Science* 29(1).
    """

    _param_names = ("alpha", "beta")
    _log_likelihood_and_gradient = staticmethod(_log_likelihood_and_gradient)

    @staticmethod
    def _start(data, weights) -> np.ndarray:
        """Method of moments on the first two retention rates: r_1 = β/(α+β), r_2 = (β+1)/(α+β+1)."""
        lost, remaining, _ = data
        size = weights.sum()
        at_risk = size - np.concatenate([[0.0], np.cumsum(lost)])
        churn_1 = np.clip(lost[0] / size, 1e-3, 1 - 1e-3)
        retention_2 = 1 - lost[1] / at_risk[1] if at_risk[1] > 0 else 1 - churn_1
        spread = retention_2 - (1 - churn_1)
        total = (1 - retention_2) / spread if spread > 1e-6 else 10.0  # α + β
        total = float(np.clip(total, 0.1, 100.0))
        return np.log([churn_1 * total, (1 - churn_1) * total])

    @staticmethod
    def _bounds(data, weights) -> list[tuple[float, float]]:
        return [(SHAPE_MIN, SHAPE_MAX), (SHAPE_MIN, SHAPE_MAX)]

    @classmethod
    def _describe_boundary(cls, params, at_low, at_high):
        alpha, beta = params.to_numpy()
        parts, rest_low, rest_high = [], list(at_low), list(at_high)
        if "alpha" in rest_low:
            rest_low.remove("alpha")
            rest_high = []
            parts.append((
                "no sign of cancellations: α → 0",
                "The cohort shows (almost) no cancellations, so the churn probability ran to 0 (α → 0): how long "
                "customers stay is not measured by these data, only bounded from below.",
                False, False,
            ))
        elif "beta" in rest_low:
            rest_low.remove("beta")
            rest_high = []
            parts.append((
                "everyone cancels at once: β → 0",
                "(Almost) the whole cohort cancelled in the first period, so the churn probability ran to 1 "
                "(β → 0): how the few who stayed will behave is not measured by these data.",
                False, False,
            ))
        elif rest_high:
            rest_high = []
            parts.append((
                "homogeneous churn probability: α + β → ∞",
                "Customers do not differ in how likely they are to cancel: the Beta's parameters ran to their limit "
                f"(α + β → ∞), so everyone was given one churn probability ({alpha / (alpha + beta):.1%} per period, "
                "a constant retention rate).",
                True, True,
            ))
        return cls._combine_boundary(parts, rest_low, rest_high)

    def fit(self, survivors, *, tol: float = 1e-10, maxiter: int = 2000) -> ShiftedBetaGeometric:
        """Fit on one cohort's survivors per period, starting at the cohort size; returns the fitted model.

        ``survivors`` is array-like or a Series: n_0 (the cohort size, period 0), n_1, …, n_T, non-increasing
        whole numbers, at least 3 values. Raises :class:`~clvlib.DataError` (a ``ValueError``) naming the broken
        rule otherwise, and :class:`~clvlib.ConvergenceError` when the optimiser fails.
        """
        values = _check_survivors(survivors)
        lost, remaining = _lost_and_remaining(values)
        t = np.arange(1, len(lost) + 1, dtype=np.float64)
        self.time_unit_ = None
        index = survivors.index if isinstance(survivors, pd.Series) else pd.RangeIndex(len(values), name="period")
        self.survivors_ = pd.Series(values, index=index, name="survivors")
        self._optimise((lost, remaining, t), np.array([values[0]]), tol, maxiter)
        return self

    @property
    def cohort_size_(self) -> int:
        self._check_fitted()
        return self.n_customers_

    def survival(self, n_periods: int, *, cohort_size: float | None = None) -> pd.Series:
        """Expected survivors for periods 0…``n_periods``: ``cohort_size`` · S(t), on the scale of the data fitted.

        ``cohort_size`` defaults to the fitted cohort's (pass 1 for the survival probabilities S(t), or another
        cohort's size to project it). Series ``survivors`` indexed by ``period``.
        """
        self._check_fitted()
        periods = np.arange(_check_periods(n_periods) + 1)
        size = self.cohort_size_ if cohort_size is None else float(cohort_size)
        values = size * sbg_survival(self.params_.to_numpy(), periods)
        return pd.Series(values, index=pd.Index(periods, name="period"), name="survivors")

    def retention_rates(self, n_periods: int) -> pd.Series:
        """The retention curve r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) for periods 1…``n_periods`` ([1]).

        The share of the customers present at the start of period t who are still there at its end; it rises with
        t because the customers most likely to leave leave first. Series ``retention_rate`` indexed by ``period``.
        """
        self._check_fitted()
        alpha, beta = self.params_.to_numpy()
        periods = np.arange(1, _check_periods(n_periods) + 1)
        rates = (beta + periods - 1) / (alpha + beta + periods - 1)
        return pd.Series(rates, index=pd.Index(periods, name="period"), name="retention_rate")

    def expected_lifetime(self) -> float:
        """Expected number of periods a new customer stays (counting the first): E[T] = (α+β−1)/(α−1).

        Returns ``inf`` when α ≤ 1, never NaN. Then the mean lifetime does not exist: the Beta puts so much
        mass near θ = 0 (customers who practically never cancel) that E[1/θ] diverges, although almost every
        customer leaves eventually and the survival curve, the retention rates and the discounted residual lifetime
        (:meth:`derl`, d > 0) are all finite. Use those, or a lifetime truncated at a horizon (the sum of
        :meth:`survival` with ``cohort_size=1``), for decisions.
        """
        self._check_fitted()
        alpha, beta = self.params_.to_numpy()
        return float((alpha + beta - 1) / (alpha - 1)) if alpha > 1 else float("inf")

    def derl(self, discount_rate: float, *, renewals=0) -> float | np.ndarray:
        """Discounted expected residual lifetime of a customer who has made ``renewals`` renewals ([2]).

        The expected number of payments still to come, the next one (at the coming renewal) undiscounted and each
        later one discounted by ``discount_rate`` per period; multiply by the margin per period for the residual
        lifetime value. Customers who have renewed more often are worth more (their θ is likely lower). See
        :func:`sbg_derl` for the closed form.
        """
        self._check_fitted()
        return sbg_derl(self.params_.to_numpy(), discount_rate, renewals)

    def summary(self) -> pd.DataFrame:
        """Parameter table (``coef``, ``se``, ``lower_95``, ``upper_95`` for α, β); ``attrs`` also hold the cohort size,
        the periods fitted, the log-likelihood, the expected lifetime and the diagnosis."""
        table = super().summary()
        table.attrs.update(cohort_size=self.cohort_size_, n_periods=int(len(self.survivors_) - 1)
                           if hasattr(self, "survivors_") else None,
                           expected_lifetime=self.expected_lifetime())
        return table

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return "<clvlib.ShiftedBetaGeometric: not fitted>"
        alpha, beta = self.params_.to_numpy()
        return (f"<clvlib.ShiftedBetaGeometric: alpha={alpha:.4g}, beta={beta:.4g}; cohort of {self.n_customers_:,}, "
                f"log-likelihood {self.log_likelihood_:,.2f}>")


def _check_periods(n_periods) -> int:
    if isinstance(n_periods, bool) or not float(n_periods).is_integer() or n_periods < 0:
        raise ValueError(f"`n_periods` must be a whole number >= 0, but {n_periods!r} was passed.")
    return int(n_periods)
