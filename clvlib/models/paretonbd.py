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
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1

from ._base import PurchaseModel, numeric_gradient

__all__ = [
    "ParetoNBD",
    "pareto_nbd_log_likelihood",
    "pareto_nbd_expected_purchases",
    "pareto_nbd_p_alive",
    "pareto_nbd_expected_purchases_new_customer",
]


def _split(params) -> tuple[float, float, float, float]:
    r, alpha, s, beta = (float(v) for v in np.asarray(params, dtype=np.float64))
    return r, alpha, s, beta


def _log_boundary(a: np.ndarray, b: np.ndarray, base: float, shift: float, y: np.ndarray) -> np.ndarray:
    """log of ₂F₁(a, b; a+1; shift/(base+y)) / (base+y)^a, through Euler's transformation."""
    z = shift / (base + y)
    return (1 - b) * np.log1p(-z) + np.log(hyp2f1(1.0, a + 1 - b, a + 1, z)) - a * np.log(base + y)


def _log_terms(params, x, t_x, T):
    """Log of Γ(r+x)α^rβ^s/Γ(r), of the "alive at T" term, and of the "died in (t_x, T]" term ([2] eqs. 22–23)."""
    r, alpha, s, beta = _split(params)
    rsx = r + s + x
    log_front = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    if alpha >= beta:
        b, base, shift = s + 1.0, alpha, alpha - beta
    else:
        b, base, shift = r + x, beta, beta - alpha
    log_at_tx = _log_boundary(rsx, b, base, shift, t_x)
    log_at_T = _log_boundary(rsx, b, base, shift, T)
    # A0 = F(t_x) − F(T) > 0; log(F1 − F2) = log F1 + log(−expm1(log F2 − log F1)), exact even when they are close.
    with np.errstate(divide="ignore"):
        log_a0 = log_at_tx + np.log(-np.expm1(log_at_T - log_at_tx))
    log_died = np.log(s) - np.log(rsx) + log_a0
    return log_front, log_alive, log_died


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
    r, alpha, s, beta = _split(params)
    x, t_x, T, t = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T, t))
    log_u = np.log(beta + T) - np.log(beta + T + t)
    rate = (r + x) * (beta + T) / (alpha + T) * _one_minus_power_over(s - 1, log_u)
    return pareto_nbd_p_alive(params, x, t_x, T) * rate


def pareto_nbd_expected_purchases_new_customer(params, t) -> np.ndarray:
    """Expected repeat purchases of a new customer in their first ``t`` time units ([2] section 3).

    E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)].
    """
    r, alpha, s, beta = _split(params)
    t = np.asarray(t, dtype=np.float64)
    return r * beta / alpha * _one_minus_power_over(s - 1, np.log(beta) - np.log(beta + t))


class ParetoNBD(PurchaseModel):
    """The Pareto/NBD purchase model, fitted by maximum likelihood.

    Same interface as :class:`~clvlib.BetaGeo`; ``params_`` is indexed ``r, alpha, s, beta``. The gradient is a
    central finite difference of the vectorised likelihood (the ₂F₁ terms have no convenient derivative in their
    parameters); rows are compressed first, so it stays fast.

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
    _p_alive_fn = staticmethod(pareto_nbd_p_alive)
    _new_customer_fn = staticmethod(pareto_nbd_expected_purchases_new_customer)

    @staticmethod
    def _start(data, weights) -> np.ndarray:
        x, _, T = data
        mean_x = max(np.average(x, weights=weights), 0.05)
        mean_T = np.average(T, weights=weights)
        return np.log([1.0, max(mean_T / mean_x, 1e-3), 1.0, max(mean_T, 1e-3)])

    @staticmethod
    def _total(theta, data, weights) -> float:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return -float(weights @ pareto_nbd_log_likelihood(np.exp(theta), *data))

    @classmethod
    def _negative_log_likelihood(cls, theta, data, weights):
        def total(th):
            return cls._total(th, data, weights)

        return total(theta), numeric_gradient(total, theta, step=1e-5)

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
