"""MBG/NBD ("modified beta-geometric / NBD") purchase model of Batislam, Denizel & Filiztekin (2007).

Like BG/NBD, while alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α), and drops out with
probability p ~ Beta(a, b) at each drop-out opportunity. The one change: the first opportunity is at time 0, right
after the first purchase, so a customer can drop out without ever buying again. BG/NBD counts every customer
without repeat purchases as alive; MBG/NBD lets the time since the first purchase speak for them too. (Hoppe &
Wagner's 2007 CBG/NBD is the same model; BTYDplus implements it as MBG/CNBD-k with k = 1.)

Each expression is BG/NBD's with ``b`` shifted by one where the customer has survived the extra opportunity:

* likelihood ([1]; BTYDplus ``mbgcnbd.LL``, k = 1):
  L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / Γ(r) · [(α+T)^−(r+x) + a/(b+x) · (α+t_x)^−(r+x)];
* P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)), below 1 also for x = 0;
* E[Y(t) | x, t_x, T] = P(alive) · (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x+1; a+b+x; z)],
  z = t/(α+T+t) (BTYDplus ``mbgcnbd.ConditionalExpectedTransactions``, k = 1);
* E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))] ([1]);
* P(X(t) = x) = B(a, b+x+1)/B(a, b) · [NB(x) + a/(b+x) · P(NB ≥ x)], NB the negative binomial count of an immortal
  customer (BTYDplus ``xbgcnbd_pmf_cpp`` with ``dropout_at_zero``).

The ₂F₁ expectation is BG/NBD's E[Y(t) | alive] with b+1 in place of b (the alive customer's drop-out probability
has the posterior Beta(a, b+x+1)), so it shares :func:`clvlib.models.bgnbd._if_alive` and its guards (Euler's
transformation, quadrature where scipy's ₂F₁ fails). Limiting forms and bounds are BG/NBD's (see
:mod:`clvlib.models.bgnbd`).

References
----------
.. [1] Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and comparison of models for
   customer base analysis. *International Journal of Research in Marketing* 24(3), 201–209.
.. [2] Hoppe, D. & Wagner, U. (2007). Customer base analysis: The case for a central variant of the
   Betageometric/NBD model. *Marketing – Journal of Research and Management* 3(2), 75–90.
.. [3] Platzer, M. & Reutterer, T. BTYDplus (R package), ``R/mbg-cnbd-k.R`` and ``demo/cdnow.R``: the published
   CDNOW fit r = 0.525, α = 6.183, a = 0.891, b = 1.614.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from ._base import SCALE_FACTOR, SHAPE_MAX, SHAPE_MIN, PurchaseModel, check_counts, check_horizon, nbd_log_pmf_and_tail
from .bgnbd import _if_alive, _split
from .simulate import _ages, _table, _time_of_arrival

__all__ = [
    "ModifiedBetaGeo",
    "mbgnbd_log_likelihood",
    "mbgnbd_expected_purchases",
    "mbgnbd_p_alive",
    "mbgnbd_expected_purchases_new_customer",
    "mbgnbd_purchase_count_pmf",
    "simulate_mbgnbd",
]


def mbgnbd_log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Per-customer MBG/NBD log-likelihood ([1]), computed with log-sum-exp.

    Parameters
    ----------
    params : (r, alpha, a, b)
    frequency, recency, T : array-like
        Repeat purchases, time of the last purchase and age, in one time unit.

    Examples
    --------
    >>> round(float(mbgnbd_log_likelihood([0.525, 6.183, 0.891, 1.614], [0], [0], [38.86])[0]), 4)
    -0.5398
    """
    r, alpha, a, b = _split(params)
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    front = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x + 1) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    dropped = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + t_x)
    return front + np.logaddexp(alive, dropped)


class _Prepared(NamedTuple):
    """Rows split into the levels each term depends on (as in :mod:`clvlib.models.bgnbd`), computed once per fit."""

    x: np.ndarray
    w: np.ndarray
    ux: np.ndarray
    ix: np.ndarray
    wx: np.ndarray
    uT: np.ndarray
    iT: np.ndarray
    utx: np.ndarray
    itx: np.ndarray


def _prepare(data, weights) -> _Prepared:
    x, t_x, T = data
    ix, ux = pd.factorize(x)
    iT, uT = pd.factorize(T)
    itx, utx = pd.factorize(t_x)
    wx = np.bincount(ix, weights=weights, minlength=len(ux))
    return _Prepared(x, weights, np.asarray(ux), ix, wx, np.asarray(uT), iT, np.asarray(utx), itx)


def _weighted_log_likelihood_and_gradient(params, d: _Prepared) -> tuple[float, np.ndarray]:
    """Weighted total of the likelihood of [1] and its gradient in the natural parameters."""
    r, alpha, a, b = _split(params)
    ux, w = d.ux, d.w
    front = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
             + gammaln(b + ux + 1) + gammaln(a + b) - gammaln(b) - gammaln(a + b + ux + 1))
    c4 = np.log(a) - np.log(b + ux)
    log_T, log_tx = np.log(alpha + d.uT)[d.iT], np.log(alpha + d.utx)[d.itx]
    rx = r + d.x
    log_alive = -rx * log_T
    log_dropped = c4[d.ix] - rx * log_tx
    log_bracket = np.logaddexp(log_alive, log_dropped)
    w_alive = np.exp(log_alive - log_bracket)
    w_dropped = 1.0 - w_alive
    total = float(d.wx @ front + np.einsum("i,i->", w, log_bracket))

    ww_alive, ww_dropped = w * w_alive, w * w_dropped
    dropped_by_x = np.bincount(d.ix, weights=ww_dropped, minlength=len(ux))
    inv_T, inv_tx = (1.0 / (alpha + d.uT))[d.iT], (1.0 / (alpha + d.utx))[d.itx]
    grad = np.array([
        d.wx @ (digamma(r + ux) - digamma(r) + np.log(alpha))
        - np.einsum("i,i->", ww_alive, log_T) - np.einsum("i,i->", ww_dropped, log_tx),
        d.wx.sum() * r / alpha - np.einsum("i,i->", rx, ww_alive * inv_T + ww_dropped * inv_tx),
        d.wx @ (digamma(a + b) - digamma(a + b + ux + 1)) + dropped_by_x.sum() / a,
        d.wx @ (digamma(b + ux + 1) + digamma(a + b) - digamma(b) - digamma(a + b + ux + 1))
        - np.sum(dropped_by_x / (b + ux)),
    ])
    return total, grad


def mbgnbd_p_alive(params, frequency, recency, T) -> np.ndarray:
    """Probability each customer is still alive at ``T``: 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)).

    Unlike BG/NBD's, it is below 1 for customers without repeat purchases too (they may have dropped out at time 0).

    Examples
    --------
    >>> round(float(mbgnbd_p_alive([0.525, 6.183, 0.891, 1.614], [0], [0], [38.86])[0]), 4)
    0.3897
    """
    r, alpha, a, b = _split(params)
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    with np.errstate(over="ignore"):
        log_odds = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return 1.0 / (1.0 + np.exp(log_odds))  # overflow to inf is the right limit: P(alive) → 0


def _expected_if_alive(params, t, frequency, T) -> np.ndarray:
    """E[Y(t) | alive, x, T] = (a+b+x)/(a−1) · [1 − (1−z)^(r+x) ₂F₁(r+x, b+x+1; a+b+x; z)], z = t/(α+T+t)."""
    r, alpha, a, b = _split(params)
    x, T, t = (np.asarray(v, dtype=np.float64) for v in (frequency, T, t))
    return _if_alive(r, a, b + 1.0, x, t / (alpha + T + t))


def mbgnbd_expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """Expected repeat purchases in the next ``t`` time units given each customer's history.

    E[Y(t) | x, t_x, T] = P(alive) · (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))]
    (BTYDplus ``mbgcnbd.ConditionalExpectedTransactions`` with k = 1; [1]).

    Examples
    --------
    >>> round(float(mbgnbd_expected_purchases([0.525, 6.183, 0.891, 1.614], 39, [2], [30.43], [38.86])[0]), 3)
    1.263
    """
    return mbgnbd_p_alive(params, frequency, recency, T) * _expected_if_alive(params, t, frequency, T)


def mbgnbd_expected_purchases_new_customer(params, t) -> np.ndarray:
    """Expected repeat purchases of a new customer in their first ``t`` time units ([1]).

    E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))]: BG/NBD's expression for a customer alive after
    one drop-out opportunity (posterior Beta(a, b+1)), times the probability b/(a+b) of surviving it.
    """
    r, alpha, a, b = _split(params)
    t = np.asarray(t, dtype=np.float64)
    return b / (a + b) * _if_alive(r, a, b + 1.0, 0.0, t / (alpha + t))


def mbgnbd_purchase_count_pmf(params, t, k) -> np.ndarray:
    """P(X(t) = k): the probability that a new customer makes exactly ``k`` repeat purchases in (0, t].

    P(X(t) = k) = B(a, b+k+1)/B(a, b) · [NB(k) + a/(b+k) · P(NB ≥ k)], with NB(k) the negative binomial probability
    Γ(r+k)/(Γ(r) k!) (α/(α+t))^r (t/(α+t))^k of an immortal customer (BTYDplus ``mbgcnbd.pmf``, k = 1). The first
    term is "alive at t after k purchases", the second "dropped out right after the k-th".
    Vectorised over ``t`` and ``k`` (broadcast).

    Examples
    --------
    >>> round(float(mbgnbd_purchase_count_pmf([0.525, 6.183, 0.891, 1.614], 39, 0)), 4)
    0.5825
    """
    r, alpha, a, b = _split(params)
    k, t = check_counts(k), check_horizon(t)
    log_nb, tail = nbd_log_pmf_and_tail(r, alpha, t, k)
    log_front = betaln(a, b + k + 1) - betaln(a, b)
    return np.exp(log_front) * (np.exp(log_nb) + a / (b + k) * tail)


def simulate_mbgnbd(
    params,
    *,
    n_customers: int,
    T=52.0,
    holdout: float | None = None,
    time_unit: str = "W",
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw a customer table from the MBG/NBD model with natural parameters ``(r, alpha, a, b)``.

    λ ~ Gamma(r, rate α); p ~ Beta(a, b); the customer drops out with probability p at time 0 and after each repeat
    purchase, so the number of repeat purchases before drop-out is Geometric(p) − 1 (0, 1, 2, …). Parameters and
    result as for :func:`clvlib.models.simulate.simulate_bgnbd` (``alive`` is the true state at ``T``).

    Examples
    --------
    >>> simulate_mbgnbd([0.525, 6.183, 0.891, 1.614], n_customers=3, T=39, seed=0).columns.tolist()
    ['frequency', 'recency', 'T', 'alive']
    """
    r, alpha, a, b = (float(v) for v in params)
    rng = np.random.default_rng(seed)
    ages = _ages(T, n_customers, rng)
    lam = rng.gamma(r, 1.0 / alpha, size=n_customers)
    p = rng.beta(a, b, size=n_customers)
    # Repeat purchases made before dropping out: failures before the first success (numpy's geometric counts trials).
    lifetime_purchases = rng.geometric(np.clip(p, 1e-300, 1.0)) - 1
    k = rng.poisson(lam * ages)
    x = np.minimum(k, lifetime_purchases)
    t_x = _time_of_arrival(x, k, ages, rng)
    extra = None
    if holdout is not None:
        remaining = np.maximum(lifetime_purchases - k, 0)  # memoryless: the future needs only what is left
        extra = np.minimum(rng.poisson(lam * holdout), remaining)
    return _table(x, t_x, ages, lifetime_purchases > k, holdout, extra, time_unit)


class ModifiedBetaGeo(PurchaseModel):
    """The MBG/NBD purchase model of Batislam et al. (2007), fitted by maximum likelihood.

    Assumptions:

    1. While active, a customer's repeat purchases follow a Poisson process with rate λ.
    2. λ varies across customers as Gamma(r, α) (shape r, rate α).
    3. At time 0 and right after each repeat purchase the customer drops out for good with probability p.
    4. p varies across customers as Beta(a, b), independently of λ.

    Only (3) differs from BG/NBD (:class:`~clvlib.BetaGeo`), where the first drop-out opportunity comes after the
    first repeat purchase: so MBG/NBD's P(alive) of a customer who never came back falls with the time since their
    first purchase, where BG/NBD's stays at 1.

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty on the parameters (lifetimes' convention); 0 gives the pure maximum-likelihood fit.

    Attributes
    ----------
    params_ : Series indexed ``r, alpha, a, b``.
    log_likelihood_, variance_matrix_, standard_errors_, confidence_intervals_, time_unit_, diagnosis_,
    dropout_lr_ : as for :class:`~clvlib.BetaGeo`.

    Methods: ``fit(customers, *, time_unit=None, tol=1e-8)``, ``expected_purchases(customers, t=...)``,
    ``p_alive(customers)``, ``expected_purchases_new_customer(t=...)``, ``purchase_count_pmf(t, k)``,
    ``summary()``, ``sample_params(n_draws=...)``.

    Examples
    --------
    >>> customers = simulate_mbgnbd([0.5, 6.0, 0.9, 1.6], n_customers=3000, T=39, seed=1)
    >>> list(ModifiedBetaGeo().fit(customers).params_.index)
    ['r', 'alpha', 'a', 'b']

    References
    ----------
    Batislam, Denizel & Filiztekin (2007), *IJRM* 24(3); BTYDplus ``mbgnbd.EstimateParameters`` (Platzer).
    """

    _param_names = ("r", "alpha", "a", "b")
    _model_name = "MBG/NBD"
    _expected_fn = staticmethod(mbgnbd_expected_purchases)
    _expected_if_alive_fn = staticmethod(_expected_if_alive)
    _p_alive_fn = staticmethod(mbgnbd_p_alive)
    _new_customer_fn = staticmethod(mbgnbd_expected_purchases_new_customer)
    _pmf_fn = staticmethod(mbgnbd_purchase_count_pmf)

    @staticmethod
    def _start(data, weights) -> np.ndarray:
        x, _, T = data
        mean_x = max(np.average(x, weights=weights), 0.05)
        alpha = np.average(T, weights=weights) / mean_x
        return np.log([1.0, max(alpha, 1e-3), 1.0, 2.0])

    @staticmethod
    def _bounds(data, weights) -> list[tuple[float, float]]:
        scale = float(np.max(data[2]))
        shape = (SHAPE_MIN, SHAPE_MAX)
        return [shape, (scale / SCALE_FACTOR, scale * SCALE_FACTOR), shape, shape]

    @classmethod
    def _describe_boundary(cls, params, at_low, at_high):
        r, alpha, a, b = params.to_numpy()
        parts, rest_low, rest_high = [], list(at_low), list(at_high)
        if "a" in at_low:
            rest_low.remove("a")
            rest_high = [n for n in rest_high if n != "b"]
            parts.append((
                "no drop-out (NBD): a → 0",
                "The data show no sign of customers dropping out: MBG/NBD's drop-out parameter a ran to 0, so the "
                "model was fitted in its limiting form without drop-out (NBD), where every customer counts as "
                "active; P(alive) is then 1 by construction, not by evidence.",
                False, False,
            ))
        elif "a" in rest_high or "b" in rest_high:
            rest_high = [n for n in rest_high if n not in ("a", "b")]
            parts.append((
                "homogeneous drop-out probability: a + b → ∞",
                "Customers do not differ in how likely they are to drop out: MBG/NBD's drop-out parameters ran to "
                f"their limit (a + b → ∞), so the model was fitted in its limiting form with one drop-out "
                f"probability for everyone ({a / (a + b):.1%} at each opportunity).",
                True, True,
            ))
        cls._rate_limit(r, alpha, rest_high, parts)
        return cls._combine_boundary(parts, rest_low, rest_high)

    _prepare = staticmethod(_prepare)
    _log_likelihood_and_gradient = staticmethod(_weighted_log_likelihood_and_gradient)
