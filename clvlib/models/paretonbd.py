"""Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987), in the form of Fader & Hardie's notes.

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); their lifetime is exponential with
rate μ ~ Gamma(s, β). Unlike BG/NBD, a customer can drop out at any moment, not only right after a purchase.

The likelihood needs the Gaussian hypergeometric function ₂F₁(a, b; a+1; z) with z → 1 for long-lived heavy
buyers; Euler's transformation ₂F₁(a, b; c; z) = (1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z) turns it into ₂F₁(1, ·; ·; z),
which stays finite, and the difference of the two boundary terms is taken in logs (log1p/expm1).

References
----------
.. [1] Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting Your Customers: Who Are They and What
   Will They Do Next? *Management Science* 33(1), 1–24.
.. [2] Fader, P. S. & Hardie, B. G. S. (2005). A Note on Deriving the Pareto/NBD Model and Related Expressions.
   http://brucehardie.com/notes/009/ (likelihood eqs. 22–23; E[X(t)], P(alive) and the conditional expectation
   in sections 3–5).
.. [3] Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). A Note on Implementing the Pareto/NBD Model in MATLAB.
   http://brucehardie.com/notes/008/ (the CDNOW estimates this module is tested against).

Limiting forms. The fit keeps r and s in [1e-4, 1e3] and α, β within a factor 1e8 of the longest T (see
:mod:`clvlib.models._base`); the diagnosis names what a bound means:

* s → 0 or β → ∞ (s at 1e-4 or β at its upper bound): the mean drop-out rate s/β → 0, the data show no sign of
  drop-out. The limit is the NBD model without drop-out; flagged ``identified=False`` (P(alive) ≈ 1 by
  construction), and no uncertainty intervals are drawn (β's interval would reach 1e15).
* s → ∞ at fixed s/β (s at 1e3): everyone drops out at the same rate (exponential lifetimes); harmless.
* r → ∞ (r at 1e3): everyone buys at the same rate r/α; harmless.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import gammaln

from ._base import (SCALE_FACTOR, SHAPE_MAX, SHAPE_MIN, PurchaseModel, check_counts, check_horizon, compress_rows,
                    hyp2f1, nbd_log_pmf_and_tail)

__all__ = [
    "ParetoNBD",
    "pareto_nbd_log_likelihood",
    "pareto_nbd_expected_purchases",
    "pareto_nbd_p_alive",
    "pareto_nbd_expected_purchases_new_customer",
    "pareto_nbd_purchase_count_pmf",
]


def _split(params) -> tuple[float, float, float, float]:
    # numpy scalars, not Python floats: a parameter that underflows to 0 during a line search then gives inf
    # (handled by the optimiser) instead of a ZeroDivisionError.
    r, alpha, s, beta = np.asarray(params, dtype=np.float64)[:4]
    return r, alpha, s, beta


def _log_boundary(a, b, base: float, other: float, y, grad: bool = False):
    """log of ₂F₁(a, b; a+1; z) / (base+y)^a with z = (base−other)/(base+y), through Euler's transformation.

    With ``grad``, also its derivatives in ``base`` and ``other``. They need no further ₂F₁: H(z) = ₂F₁(1, b₁; c; z)
    satisfies (1−z)H' = b₁H − (c−1)(H−1)/z (from the ratio of its series terms).
    """
    z = (base - other) / (base + y)
    b1, c = a + 1 - b, a + 1
    hyp = hyp2f1(1.0, b1, c, z)
    value = (1 - b) * np.log1p(-z) + np.log(hyp) - a * np.log(base + y)
    if not grad:
        return value
    small = z < 1e-6  # (H − 1)/z cancels there; its series starts b₁/c + b₁(b₁+1)/(c(c+1)) z
    safe_z = np.where(small, 1.0, z)
    h_minus_1_over_z = np.where(small, b1 / c + b1 * (b1 + 1) / (c * (c + 1)) * z, (hyp - 1) / safe_z)
    dlog_dz = (1 - b) / -(1 - z) + (b1 * hyp - (c - 1) * h_minus_1_over_z) / ((1 - z) * hyp)
    d_base = dlog_dz * (other + y) / (base + y) ** 2 - a / (base + y)
    d_other = -dlog_dz / (base + y)
    return value, d_base, d_other


def _boundary(params, x, y, grad: bool = False):
    """log F(y) = log[₂F₁(r+s+x, ·; r+s+x+1; z(y)) / (max(α,β)+y)^(r+s+x)], the integral's end-point term.

    With ``grad``: ``(value, d/dα, d/dβ)``.
    """
    r, alpha, s, beta = _split(params)
    if alpha >= beta:
        return _log_boundary(r + s + x, s + 1.0, alpha, beta, y, grad)
    out = _log_boundary(r + s + x, r + x, beta, alpha, y, grad)
    return (out[0], out[2], out[1]) if grad else out


def _alive(params, x, T) -> np.ndarray:
    """log of 1 / ((α+T)^(r+x) (β+T)^s): survived to T."""
    r, alpha, s, beta = _split(params)
    return -(r + x) * np.log(alpha + T) - s * np.log(beta + T)


def _front(params, x) -> tuple[np.ndarray, np.ndarray]:
    """log Γ(r+x)α^rβ^s/Γ(r) and log(s/(r+s+x)): the terms of x alone."""
    r, alpha, s, beta = _split(params)
    log_front = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return log_front, np.log(s) - np.log(r + s + x)


def _died(log_share, log_at_T, log_at_tx) -> np.ndarray:
    """log of s/(r+s+x) · A0, the "died in (t_x, T]" term ([2] eq. 23)."""
    # A0 = F(t_x) − F(T) > 0; log(F1 − F2) = log F1 + log(−expm1(log F2 − log F1)), exact even when they are close.
    with np.errstate(divide="ignore"):
        return log_share + log_at_tx + np.log(-np.expm1(log_at_T - log_at_tx))


def _log_terms(params, x, t_x, T):
    """Log of Γ(r+x)α^rβ^s/Γ(r), of the "alive at T" term, and of the "died in (t_x, T]" term ([2] eqs. 22–23)."""
    log_front, log_share = _front(params, x)
    log_died = _died(log_share, _boundary(params, x, T), _boundary(params, x, t_x))
    return log_front, _alive(params, x, T), log_died


class _Prepared(NamedTuple):
    """Rows with their distinct x, (x, T) and (x, t_x) values: each term is evaluated once per distinct value."""

    ux: np.ndarray
    ix: np.ndarray
    wx: np.ndarray
    w: np.ndarray
    x_T: np.ndarray
    T: np.ndarray
    i_T: np.ndarray
    x_tx: np.ndarray
    t_x: np.ndarray
    i_tx: np.ndarray


def _prepare(data, weights) -> _Prepared:
    x, t_x, T = data
    (xT, TT), _, i_T = compress_rows(x, T)
    (xt, tt), _, i_tx = compress_rows(x, t_x)
    ix, ux = pd.factorize(x)
    wx = np.bincount(ix, weights=weights, minlength=len(ux))
    return _Prepared(np.asarray(ux), ix, wx, weights, xT, TT, i_T, xt, tt, i_tx)


def _weighted_log_likelihood(params, d: _Prepared, grad: bool = False):
    """Weighted total of [2] eq. (22), each term on the distinct values it depends on, then gathered per row.

    With ``grad``, also the analytic derivatives in α and β (the ₂F₁ parameters, and so r and s, have none).
    """
    r, alpha, s, beta = _split(params)
    log_front, log_share = _front(params, d.ux)
    log_alive = _alive(params, d.x_T, d.T)[d.i_T]
    at_T, at_tx = _boundary(params, d.x_T, d.T, grad), _boundary(params, d.x_tx, d.t_x, grad)
    if not grad:
        log_died = _died(log_share[d.ix], at_T[d.i_T], at_tx[d.i_tx])
        return float(d.wx @ log_front + np.einsum("i,i->", d.w, np.logaddexp(log_alive, log_died)))
    l_T, l_tx = at_T[0][d.i_T], at_tx[0][d.i_tx]
    log_died = _died(log_share[d.ix], l_T, l_tx)
    log_bracket = np.logaddexp(log_alive, log_died)
    w_alive = d.w * np.exp(log_alive - log_bracket)
    w_died = d.w - w_alive
    # d log(F(t_x) − F(T)) = (dF(t_x)/F(t_x) − q dF(T)/F(T)) / (1 − q), q = F(T)/F(t_x); weightless where q = 1.
    q = np.exp(l_T - l_tx)
    scale = np.divide(w_died, 1 - q, out=np.zeros_like(q), where=q < 1)
    x_T, total_w = d.x_T[d.i_T], d.wx.sum()
    grads = []
    for k, (front, alive) in enumerate(((r / alpha, -(r + x_T) / (alpha + d.T[d.i_T])),
                                         (s / beta, -s / (beta + d.T[d.i_T])))):
        d_T, d_tx = at_T[k + 1][d.i_T], at_tx[k + 1][d.i_tx]
        died = np.einsum("i,i->", scale, d_tx - q * d_T)
        grads.append(total_w * front + np.einsum("i,i->", w_alive, alive) + died)
    total = float(d.wx @ log_front + np.einsum("i,i->", d.w, log_bracket))
    return total, grads[0], grads[1]


def pareto_nbd_log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood, [2] eqs. (22)–(23).

    L = Γ(r+x) α^r β^s / Γ(r) · [1 / ((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A0], with A0 the integral over the
    possible death times between t_x and T, written with ₂F₁.

    Parameters
    ----------
    params : (r, alpha, s, beta)
    frequency, recency, T : array-like

    Examples
    --------
    >>> round(float(pareto_nbd_log_likelihood([0.5534, 10.5802, 0.6061, 11.6562], [0], [0], [38.86])[0]), 4)
    -0.5211
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    log_front, log_alive, log_died = _log_terms(params, x, t_x, T)
    return log_front + np.logaddexp(log_alive, log_died)


def pareto_nbd_p_alive(params, frequency, recency, T) -> np.ndarray:
    """Probability each customer is alive at ``T``: the "alive" term's share of the likelihood ([2] section 4).

    P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A0).

    Examples
    --------
    >>> round(float(pareto_nbd_p_alive([0.5534, 10.5802, 0.6061, 11.6562], [26], [30.86], [31])[0]), 4)
    0.9979
    """
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
    _, log_alive, log_died = _log_terms(params, x, t_x, T)
    return np.exp(log_alive - np.logaddexp(log_alive, log_died))


def _p_alive_prepared(params, d: _Prepared) -> np.ndarray:
    """:func:`pareto_nbd_p_alive` of prepared rows, each ₂F₁ once per distinct (x, T) and (x, t_x) value.

    For CLV intervals, which evaluate P(alive) once per parameter draw: customers share far fewer (x, T) and
    (x, t_x) pairs than (x, t_x, T) triples, and the ₂F₁ is nearly all of the cost.
    """
    _, log_share = _front(params, d.ux)
    log_alive = _alive(params, d.x_T, d.T)[d.i_T]
    log_died = _died(log_share[d.ix], _boundary(params, d.x_T, d.T)[d.i_T],
                     _boundary(params, d.x_tx, d.t_x)[d.i_tx])
    return np.exp(log_alive - np.logaddexp(log_alive, log_died))


def _one_minus_power_over(s_minus_1: float, log_u) -> np.ndarray:
    """(1 − u^(s−1)) / (s−1), continuous at s = 1 (where it is −log u)."""
    if abs(s_minus_1) < 1e-10:
        return -np.asarray(log_u)
    return -np.expm1(s_minus_1 * np.asarray(log_u)) / s_minus_1


def pareto_nbd_expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """Expected repeat purchases in the next ``t`` time units given each customer's history ([2] section 5).

    E[Y(t) | x, t_x, T] = P(alive) · (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)].

    Examples
    --------
    >>> round(float(pareto_nbd_expected_purchases([0.5534, 10.5802, 0.6061, 11.6562], 52, [26], [30.86], [31])[0]), 2)
    25.45
    """
    return pareto_nbd_p_alive(params, frequency, recency, T) * _expected_if_alive(params, t, frequency, T)


def _expected_if_alive(params, t, frequency, T) -> np.ndarray:
    """E[Y(t) | alive, x, T] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)]: closed form, no ₂F₁.

    Kept apart so that CLV over many horizons and parameter draws evaluates the costly P(alive) once per draw.
    """
    r, alpha, s, beta = _split(params)
    x, T, t = (np.asarray(v, dtype=np.float64) for v in (frequency, T, t))
    log_u = np.log(beta + T) - np.log(beta + T + t)
    return (r + x) * (beta + T) / (alpha + T) * _one_minus_power_over(s - 1, log_u)


def pareto_nbd_expected_purchases_new_customer(params, t) -> np.ndarray:
    """Expected repeat purchases of a new customer in their first ``t`` time units ([2] section 3).

    E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)].
    """
    r, alpha, s, beta = _split(params)
    t = np.asarray(t, dtype=np.float64)
    return r * beta / alpha * _one_minus_power_over(s - 1, np.log(beta) - np.log(beta + t))


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)


def pareto_nbd_purchase_count_pmf(params, t, k) -> np.ndarray:
    """P(X(t) = k): the probability that a new customer makes exactly ``k`` repeat purchases in (0, t].

    Given the purchase rate λ and the drop-out rate μ, the customer either is still alive at t (probability e^(−μt))
    and made Poisson(λt) purchases, or died at some τ < t (density μe^(−μτ)) after Poisson(λτ) purchases.
    Integrating λ ~ Gamma(r, α) and μ ~ Gamma(s, β) out (they are independent) leaves one integral over the time
    of death:

    P(X(t) = k) = NB(k; t) · (β/(β+t))^s + ∫₀ᵗ s β^s (β+τ)^−(s+1) · NB(k; τ) dτ,

    with NB(k; τ) = Γ(r+k)/(Γ(r) k!) (α/(α+τ))^r (τ/(α+τ))^k. This is the expression Fader & Hardie derive in closed
    form with ₂F₁ (note 012, "Deriving an expression for P(X(t) = x) under the Pareto/NBD model"); their form
    subtracts two nearly equal sums for large k, so here the integral is evaluated numerically instead: exactly
    (to about 1e-13), not by simulation. In u = ln(c + τ), c = min(α, β), the integrand is smooth with no
    singularity within π of the real axis, and 24-point Gauss-Legendre on panels of width ≤ 1 in u integrates it to
    machine precision. Vectorised over ``t`` and ``k`` (broadcast).

    Examples
    --------
    >>> round(float(pareto_nbd_purchase_count_pmf([0.5534, 10.5802, 0.6061, 11.6562], 39, 0)), 4)
    0.5936
    """
    r, alpha, s, beta = (float(v) for v in _split(params))
    k, t = check_counts(k), check_horizon(t)
    k, t = np.broadcast_arrays(k, t)
    out = np.empty(k.shape, dtype=np.float64)
    flat_k, flat_t, flat_out = k.ravel(), t.ravel(), out.reshape(-1)
    for horizon in np.unique(flat_t):
        rows = flat_t == horizon
        flat_out[rows] = _pareto_pmf_one_horizon(r, alpha, s, beta, float(horizon), flat_k[rows])
    return out if out.ndim else out[()]


def _pareto_pmf_one_horizon(r, alpha, s, beta, t: float, k: np.ndarray) -> np.ndarray:
    log_nb, _ = nbd_log_pmf_and_tail(r, alpha, t, k)
    alive = np.exp(log_nb + s * (np.log(beta) - np.log(beta + t)))
    if t == 0:
        return alive
    c = min(alpha, beta)
    low, high = np.log(c), np.log(c + t)
    n_panels = max(1, int(np.ceil(high - low)))
    edges = np.linspace(low, high, n_panels + 1)
    half = np.diff(edges)[:, None] / 2
    u = (edges[:-1, None] + half * (_GL_NODES + 1)).ravel()
    weights = (half * _GL_WEIGHTS).ravel()
    tau = c * np.expm1(u - low)  # τ = e^u − c, without cancelling for τ ≪ c
    # Death density in u (dτ = e^u du) and the NBD count at each death time, in logs.
    log_death = np.log(s) + s * np.log(beta) - (s + 1) * np.log(beta + tau) + u
    died = np.empty_like(alive)
    for start in range(0, len(k), 2048):  # blocks of k keep the (k, node) matrix small
        block = slice(start, start + 2048)
        log_nb_tau, _ = nbd_log_pmf_and_tail(r, alpha, tau[None, :], k[block, None])
        died[block] = np.exp(log_nb_tau + log_death[None, :]) @ weights
    return alive + died


class ParetoNBD(PurchaseModel):
    """The Pareto/NBD purchase model, fitted by maximum likelihood.

    Same interface as :class:`~clvlib.BetaGeo`; ``params_`` is indexed ``r, alpha, s, beta``. The gradient is
    analytic in α and β and a central finite difference in r and s (they enter the ₂F₁ parameters, which have no
    closed-form derivative); each ₂F₁ is evaluated once per distinct (x, t_x) or (x, T) pair.

    Examples
    --------
    >>> from clvlib.models.simulate import simulate_pareto_nbd
    >>> customers = simulate_pareto_nbd([0.55, 10.6, 0.61, 11.7], n_customers=3000, T=39, seed=1)
    >>> list(ParetoNBD().fit(customers).params_.index)
    ['r', 'alpha', 's', 'beta']

    References
    ----------
    Schmittlein, Morrison & Colombo (1987); Fader & Hardie (2005), note 009, eqs. (22)–(23).
    """

    _param_names = ("r", "alpha", "s", "beta")
    _model_name = "Pareto/NBD"
    _expected_fn = staticmethod(pareto_nbd_expected_purchases)
    _expected_if_alive_fn = staticmethod(_expected_if_alive)
    _p_alive_fn = staticmethod(pareto_nbd_p_alive)
    _p_alive_prepared_fn = staticmethod(_p_alive_prepared)
    _prepare_rows = staticmethod(lambda data: _prepare(data, np.ones(len(data[0]))))  # weights unused here
    _new_customer_fn = staticmethod(pareto_nbd_expected_purchases_new_customer)
    _pmf_fn = staticmethod(pareto_nbd_purchase_count_pmf)

    @staticmethod
    def _start(data, weights) -> np.ndarray:
        x, _, T = data
        mean_x = max(np.average(x, weights=weights), 0.05)
        mean_T = np.average(T, weights=weights)
        return np.log([1.0, max(mean_T / mean_x, 1e-3), 1.0, max(mean_T, 1e-3)])

    @staticmethod
    def _bounds(data, weights) -> list[tuple[float, float]]:
        scale = float(np.max(data[2]))  # the longest observation period, in the table's time unit
        shape, scales = (SHAPE_MIN, SHAPE_MAX), (scale / SCALE_FACTOR, scale * SCALE_FACTOR)
        return [shape, scales, shape, scales]

    @classmethod
    def _describe_boundary(cls, params, at_low, at_high):
        r, alpha, s, beta = params.to_numpy()
        parts, rest_low, rest_high = [], list(at_low), list(at_high)
        if "s" in at_low or "beta" in at_high:
            rest_low = [n for n in rest_low if n != "s"]
            rest_high = [n for n in rest_high if n not in ("s", "beta")]
            parts.append((
                "no drop-out (NBD): s/β → 0",
                "The data show no sign of customers dropping out: Pareto/NBD's drop-out rate ran to 0 (s/β → 0), "
                "so the model was fitted in its limiting form without drop-out (NBD), where every customer counts "
                "as active; P(alive) is then about 1 by construction, not by evidence.",
                False, False,
            ))
        elif "s" in rest_high:
            rest_high.remove("s")
            parts.append((
                "homogeneous drop-out rate: s → ∞",
                "Customers do not differ in how quickly they drop out: the spread of drop-out rates ran to its limit "
                f"(s → ∞), so everyone was given one drop-out rate ({s / beta:.3g} per time unit).",
                True, True,
            ))
        cls._rate_limit(r, alpha, rest_high, parts)
        return cls._combine_boundary(parts, rest_low, rest_high)

    _prepare = staticmethod(_prepare)

    @staticmethod
    def _total(theta, data: _Prepared, weights) -> float:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return -_weighted_log_likelihood(np.exp(theta), data)

    @classmethod
    def _negative_log_likelihood(cls, theta, data, weights):
        """Total and gradient in the log-parameters: analytic for α and β, central differences for r and s."""
        params = np.exp(theta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            total, d_alpha, d_beta = _weighted_log_likelihood(params, data, grad=True)
        grad = np.empty(4)
        grad[1], grad[3] = -d_alpha * params[1], -d_beta * params[3]
        for i in (0, 2):
            h = 1e-5 * max(1.0, abs(theta[i]))
            up, down = theta.copy(), theta.copy()
            up[i] += h
            down[i] -= h
            grad[i] = (cls._total(up, data, weights) - cls._total(down, data, weights)) / (2 * h)
        return -total, grad

    def _hessian(self, theta, data, weights) -> np.ndarray:
        """Second differences of the likelihood itself (differencing a numeric gradient would square the noise)."""
        n, h = len(theta), 1e-4
        f0 = self._total(theta, data, weights)
        hess = np.empty((n, n))
        eye = np.eye(n) * h
        for i in range(n):
            for j in range(i, n):
                if i == j:
                    value = (self._total(theta + eye[i], data, weights) - 2 * f0
                             + self._total(theta - eye[i], data, weights)) / h**2
                else:
                    value = (
                        self._total(theta + eye[i] + eye[j], data, weights)
                        - self._total(theta + eye[i] - eye[j], data, weights)
                        - self._total(theta - eye[i] + eye[j], data, weights)
                        + self._total(theta - eye[i] - eye[j], data, weights)
                    ) / (4 * h**2)
                hess[i, j] = hess[j, i] = value
        return hess
