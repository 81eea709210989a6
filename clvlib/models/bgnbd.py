"""BG/NBD ("beta-geometric / negative binomial distribution") purchase model of Fader, Hardie & Lee (2005).

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each repeat purchase they drop
out with probability p ~ Beta(a, b). The functions here are vectorised over customers and take the natural
parameters ``(r, alpha, a, b)``; :class:`BetaGeo` fits them by maximum likelihood.

References
----------
.. [1] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the Easy Way: An Alternative to
   the Pareto/NBD Model. *Marketing Science* 24(2), 275–284.
.. [2] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) Using the BG/NBD Model.
   http://brucehardie.com/notes/021/

Limiting forms. The fit keeps r, a and b in [1e-4, 1e3] and α within a factor 1e8 of the longest T (see
:mod:`clvlib.models._base`); the diagnosis (``BetaGeo().fit(...).diagnosis_``) names what a bound means:

* a + b → ∞ at a fixed mean a/(a+b) (a or b at 1e3): the drop-out probability is the same for everyone, the Beta
  is a point mass at p = a/(a+b). At a shape of 1e3 its spread is a few percent of p, which changes no prediction
  that matters; this limit is identified and harmless (intervals are conditional on it).
* a → 0 (a at 1e-4): the data show no sign of drop-out; the limit is the NBD model, P(alive) = 1 for everyone by
  construction. A legitimate answer, but flagged ``identified=False``: the drop-out process is not measured.
* r → ∞ (r at 1e3): everyone buys at the same rate r/α (Poisson purchasing); harmless.

E[Y(t) | alive] needs ₂F₁ with parameters of the size of a + b; where scipy's ₂F₁ overflows or leaves the
bounds the expectation must respect (see :func:`_if_alive`), it is computed by quadrature over the posterior Beta.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import betaincinv, betaln, digamma, gammaln

from ._base import (SCALE_FACTOR, SHAPE_MAX, SHAPE_MIN, PurchaseModel, check_counts, check_horizon, hyp2f1,
                    nbd_log_pmf_and_tail)

__all__ = [
    "BetaGeo",
    "bgnbd_log_likelihood",
    "bgnbd_expected_purchases",
    "bgnbd_p_alive",
    "bgnbd_expected_purchases_new_customer",
    "bgnbd_purchase_count_pmf",
]


def _split(params) -> tuple[float, float, float, float]:
    r, alpha, a, b = (float(v) for v in np.asarray(params, dtype=np.float64))
    return r, alpha, a, b


def _log_terms(params, x, t_x, T):
    """ln A1 + ln A2 and the two terms of the bracket of [1] eq. (6), in logs (A4 is -inf when x = 0)."""
    r, alpha, a, b = _split(params)
    repeat = x > 0
    log_a12 = (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    )
    log_a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_a4 = np.where(
            repeat,
            np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return log_a12, log_a3, log_a4


def bgnbd_log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood, [1] eq. (6), computed with log-sum-exp.

    Parameters
    ----------
    params : sequence of float
        Natural parameters ``(r, alpha, a, b)``.
    frequency, recency, T : array-like
        Repeat purchases, time of the last purchase and age, in one time unit.

    Returns
    -------
    ndarray of log-likelihood contributions, one per customer.

    Examples
    --------
    >>> round(float(bgnbd_log_likelihood([0.243, 4.414, 0.793, 2.426], [0], [0], [38.86])[0]), 4)
    -0.5547
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    log_a12, log_a3, log_a4 = _log_terms(params, x, t_x, T)
    return log_a12 + np.logaddexp(log_a3, log_a4)


class _Prepared(NamedTuple):
    """Compressed rows split into the levels each likelihood term depends on, computed once per fit.

    The gamma-function terms depend on x alone, log(α+T) on T alone and log(α+t_x) on t_x alone; evaluating each
    on its distinct values and gathering leaves only a handful of cheap array operations per row.
    """

    x: np.ndarray
    w: np.ndarray
    repeat: np.ndarray
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
    return _Prepared(x, weights, x > 0, np.asarray(ux), ix, wx, np.asarray(uT), iT, np.asarray(utx), itx)


def _weighted_log_likelihood_and_gradient(params, d: _Prepared) -> tuple[float, np.ndarray]:
    """Weighted total of [1] eq. (6) and its gradient in the natural parameters, on prepared levels."""
    r, alpha, a, b = _split(params)
    ux, w = d.ux, d.w
    repeat_level = ux > 0
    # Terms of x alone (ln A1 + ln A2 and their derivatives), on the few distinct frequencies.
    a12 = (
        gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux)
    )
    with np.errstate(divide="ignore"):
        c4 = np.where(repeat_level, np.log(a) - np.log(np.where(repeat_level, b + ux - 1, 1.0)), -np.inf)
    log_T, log_tx = np.log(alpha + d.uT)[d.iT], np.log(alpha + d.utx)[d.itx]
    rx = r + d.x
    log_a3 = -rx * log_T
    log_a4 = c4[d.ix] - rx * log_tx
    log_bracket = np.logaddexp(log_a3, log_a4)
    w3 = np.exp(log_a3 - log_bracket)  # share of the "still alive" term
    w4 = 1.0 - w3
    total = float(d.wx @ a12 + np.einsum("i,i->", w, log_bracket))

    ww3, ww4 = w * w3, w * w4
    w4_by_x = np.bincount(d.ix, weights=ww4, minlength=len(ux))
    inv_T, inv_tx = (1.0 / (alpha + d.uT))[d.iT], (1.0 / (alpha + d.utx))[d.itx]
    grad = np.array([
        d.wx @ (digamma(r + ux) - digamma(r) + np.log(alpha))
        - np.einsum("i,i->", ww3, log_T) - np.einsum("i,i->", ww4, log_tx),
        d.wx.sum() * r / alpha - np.einsum("i,i->", rx, ww3 * inv_T + ww4 * inv_tx),
        d.wx @ (digamma(a + b) - digamma(a + b + ux)) + w4_by_x.sum() / a,
        d.wx @ (digamma(a + b) + digamma(b + ux) - digamma(b) - digamma(a + b + ux))
        - np.sum(np.where(repeat_level, w4_by_x / np.where(repeat_level, b + ux - 1, 1.0), 0.0)),
    ])
    return total, grad


def bgnbd_expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """Expected repeat purchases in the next ``t`` time units given each customer's history, [1] eq. (10).

    E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    / [1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)].

    Examples
    --------
    >>> round(float(bgnbd_expected_purchases([0.243, 4.414, 0.793, 2.426], 39, [2], [30.43], [38.86])[0]), 3)
    1.226
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    return _expected_if_alive(params, t, x, T) / _dropout_odds_plus_one(params, x, t_x, T)


def _expected_if_alive(params, t, frequency, T) -> np.ndarray:
    """E[Y(t) | alive, x, T]: [1] eq. (10) without its P(alive) denominator (so CLV draws need one P(alive))."""
    r, alpha, a, b = _split(params)
    x, T, t = (np.asarray(v, dtype=np.float64) for v in (frequency, T, t))
    return _if_alive(r, a, b, x, t / (alpha + T + t))


def _if_alive(r, a, b, x, z) -> np.ndarray:
    """E[Y(t) | alive, x] = (a+b+x−1)/(a−1) · [1 − (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)], z = t/(α+T+t).

    Continuous through a = 1: at a = 1 both factors' numerator and denominator vanish; within 1e-4 of it the value
    is interpolated between a = 1 ± 1e-4 (error ~1e-8 relative), where the subtraction still keeps ~12 digits.

    The same expectation is E[g(p)] over the alive customer's posterior p ~ Beta(a, b+x), with
    g(p) = (1 − (1 + p·c)^−(r+x)) / p and c = t/(α+T) (the NBD part integrated out). g falls from g(0) = (r+x)c to
    g(1), so the value must lie between them. scipy's ₂F₁ overflows or loses all digits for large a + b, for a
    near 0 with heavy buyers, and for z → 1 (found against mpmath on a grid); wherever the closed form is not
    finite or leaves [g(1), g(0)], the expectation is computed by quadrature instead (:func:`_if_alive_quadrature`).
    """
    def direct(a):
        return (a + b + x - 1) / (a - 1) * _one_minus_tail(r, a, b, x, z)

    delta = 1e-4
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if abs(a - 1) >= delta:
            value = direct(a)
        else:
            low, high = direct(1 - delta), direct(1 + delta)
            value = low + (high - low) * (a - (1 - delta)) / (2 * delta)
        x_b, z_b = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64))
        c = z_b / (1 - z_b)
        g0 = (r + x_b) * c
        g1 = -np.expm1(-(r + x_b) * np.log1p(c))
        value = np.broadcast_to(value, x_b.shape)
        bad = ~np.isfinite(value) | (value > g0 * (1 + 1e-9)) | (value < g1 * (1 - 1e-9))
    if not bad.any():
        return value
    value = np.array(value, dtype=np.float64)
    value[bad] = _if_alive_quadrature(r, a, b, x_b[bad], z_b[bad])
    return value if value.ndim else value[()]


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2  # Gauss-Legendre on (0, 1)


def _if_alive_quadrature(r, a, b, x, z) -> np.ndarray:
    """E[g(p)] over p ~ Beta(a, b+x) as ∫₀¹ g(F⁻¹(u)) du, Gauss-Legendre in the quantile u (64 nodes).

    g(p) = (1 − (1 + p·c)^−(r+x)) / p is smooth, monotone and bounded on [0, 1], so the quadrature is accurate
    (about 1e-6 relative; 1e-4 where the Beta has almost all its mass at p = 0, i.e. a near 0) and always finite.
    """
    x, z = (np.asarray(v, dtype=np.float64) for v in (x, z))
    c = (z / (1 - z))[..., None]
    n = (r + x)[..., None]
    # The nodes depend on x alone (not on z): inverted once per distinct frequency, the costly part.
    codes, levels = pd.factorize(x.ravel())
    p = betaincinv(a, b + np.asarray(levels)[:, None], _NODES)[codes].reshape(*x.shape, len(_NODES))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(p > 0, -np.expm1(-n * np.log1p(p * c)) / np.where(p > 0, p, 1.0), n * c)
    return g @ _WEIGHTS


def _one_minus_tail(r, a, b, x, z) -> np.ndarray:
    """1 − (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z), written with Euler's transformation.

    ₂F₁(r+x, b+x; c; z) = (1−z)^(a−1−r−x) ₂F₁(a+b−1−r, a−1; c; z), so the term is (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; c; z):
    the direct form multiplies a vanishing power by a diverging ₂F₁ and returns NaN for heavy buyers over long
    horizons (Fader & Hardie's "#NUM!" problem, note 027); this one stays finite.
    """
    first = a + b - 1 - r
    # ₂F₁(0, ·; ·; z) = 1; scipy returns inf for a first parameter of rounding-error size (~1e-17) when z > 0.9.
    first = 0.0 if abs(first) < 1e-13 else first
    return 1 - np.exp((a - 1) * np.log1p(-z)) * hyp2f1(first, a - 1, a + b + x - 1, z)


def _dropout_odds_plus_one(params, x, t_x, T) -> np.ndarray:
    r, alpha, a, b = _split(params)
    repeat = x > 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        log_odds = np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) + (r + x) * np.log((alpha + T) / (alpha + t_x))
        # Overflow to inf is the right limit here: P(alive) → 0.
        return 1.0 + np.where(repeat, np.exp(log_odds), 0.0)


def bgnbd_p_alive(params, frequency, recency, T) -> np.ndarray:
    """Probability that each customer is still alive at ``T``, [2] eq. (2).

    P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)); 1 for customers without repeat
    purchases, who by the model's assumption cannot have dropped out yet.
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    return 1.0 / _dropout_odds_plus_one(params, x, t_x, T)


def bgnbd_expected_purchases_new_customer(params, t) -> np.ndarray:
    """Expected repeat purchases of a new customer in their first ``t`` time units, [1] eq. (9).

    E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))].
    """
    r, alpha, a, b = _split(params)
    t = np.asarray(t, dtype=np.float64)
    return _if_alive(r, a, b, 0.0, t / (alpha + t))


def bgnbd_purchase_count_pmf(params, t, k) -> np.ndarray:
    """P(X(t) = k): the probability that a new customer makes exactly ``k`` repeat purchases in (0, t], [1] eq. (8).

    P(X(t) = k) = B(a, b+k)/B(a, b) · NB(k) + δ(k>0) · B(a+1, b+k−1)/B(a, b) · P(NB ≥ k), with
    NB(k) = Γ(r+k)/(Γ(r) k!) (α/(α+t))^r (t/(α+t))^k the count of a customer who never drops out: the first term
    is "still alive after k purchases", the second "dropped out right after the k-th". P(NB ≥ k) is the regularised
    incomplete beta I_{t/(α+t)}(k, r) (not 1 minus a partial sum, which loses every digit in the tail). Vectorised
    over ``t`` and ``k`` (broadcast).

    Examples
    --------
    >>> round(float(bgnbd_purchase_count_pmf([0.243, 4.414, 0.793, 2.426], 39, 0)), 7)  # BTYD: 0.5737864
    0.5737864
    """
    r, alpha, a, b = _split(params)
    k, t = check_counts(k), check_horizon(t)
    log_nb, tail = nbd_log_pmf_and_tail(r, alpha, t, k)
    repeat = k > 0
    with np.errstate(invalid="ignore"):
        log_dropped = betaln(a + 1, np.where(repeat, b + k - 1, b)) - betaln(a, b)
    alive = np.exp(betaln(a, b + k) - betaln(a, b) + log_nb)
    return alive + np.where(repeat, np.exp(log_dropped) * tail, 0.0)


class BetaGeo(PurchaseModel):
    """The BG/NBD purchase model, fitted by maximum likelihood.

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty on the parameters (lifetimes' convention); 0 gives the pure maximum-likelihood fit.

    Attributes
    ----------
    params_ : Series indexed ``r, alpha, a, b``.
    log_likelihood_ : float, the full log-likelihood at the optimum (a sum over customers, as in the papers).
    variance_matrix_, standard_errors_, confidence_intervals_ : from the Hessian (see :meth:`summary`).
    time_unit_ : the unit of ``recency`` and ``T`` the model was fitted in; predictions check it.
    diagnosis_ : :class:`~clvlib.models.FitDiagnosis`: convergence, bounds reached (limiting forms, see the module
        docstring), identification, condition number, and a plain-language ``summary``.
    dropout_lr_ : float, likelihood-ratio statistic against the no-drop-out limit (NBD); below 2.71 the drop-out
        process is recorded as not identified.

    Examples
    --------
    >>> from clvlib.models.simulate import simulate_bgnbd
    >>> customers = simulate_bgnbd([0.25, 4.0, 0.8, 2.5], n_customers=3000, T=39, seed=1)
    >>> model = BetaGeo().fit(customers)
    >>> list(model.params_.index)
    ['r', 'alpha', 'a', 'b']

    Methods: ``fit(customers, *, time_unit=None, tol=1e-10)``, ``expected_purchases(customers, t=...)``
    ([1] eq. 10), ``p_alive(customers)`` ([2] eq. 2), ``expected_purchases_new_customer(t=t)`` ([1] eq. 9),
    ``purchase_count_pmf(t, k)`` ([1] eq. 8), ``summary()``, ``sample_params(n_draws=n_draws)``.

    References
    ----------
    Fader, Hardie & Lee (2005), *Marketing Science* 24(2): likelihood eq. (6), predictions eqs. (9)–(10).
    """

    _param_names = ("r", "alpha", "a", "b")
    _model_name = "BG/NBD"
    _expected_fn = staticmethod(bgnbd_expected_purchases)
    _expected_if_alive_fn = staticmethod(_expected_if_alive)
    _p_alive_fn = staticmethod(bgnbd_p_alive)
    _new_customer_fn = staticmethod(bgnbd_expected_purchases_new_customer)
    _pmf_fn = staticmethod(bgnbd_purchase_count_pmf)

    @staticmethod
    def _start(data, weights) -> np.ndarray:
        x, _, T = data
        mean_x = max(np.average(x, weights=weights), 0.05)
        # Method of moments for the rate: E[λ] = r/α ≈ purchases per unit of age.
        alpha = np.average(T, weights=weights) / mean_x
        return np.log([1.0, max(alpha, 1e-3), 1.0, 2.0])

    @staticmethod
    def _bounds(data, weights) -> list[tuple[float, float]]:
        scale = float(np.max(data[2]))  # the longest observation period, in the table's time unit
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
                "The data show no sign of customers dropping out: BG/NBD's drop-out parameter a ran to 0, so the "
                "model was fitted in its limiting form without drop-out (NBD), where every customer counts as "
                "active; P(alive) is then 1 by construction, not by evidence.",
                False, False,
            ))
        elif "a" in rest_high or "b" in rest_high:
            rest_high = [n for n in rest_high if n not in ("a", "b")]
            parts.append((
                "homogeneous drop-out probability: a + b → ∞",
                "Customers do not differ in how likely they are to drop out: BG/NBD's drop-out parameters ran to "
                f"their limit (a + b → ∞), so the model was fitted in its limiting form with one drop-out "
                f"probability for everyone ({a / (a + b):.1%} after each purchase).",
                True, True,
            ))
        cls._rate_limit(r, alpha, rest_high, parts)
        return cls._combine_boundary(parts, rest_low, rest_high)

    _prepare = staticmethod(_prepare)

    _log_likelihood_and_gradient = staticmethod(_weighted_log_likelihood_and_gradient)
