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
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, hyp2f1

from ._base import PurchaseModel

__all__ = [
    "BetaGeo",
    "bgnbd_log_likelihood",
    "bgnbd_expected_purchases",
    "bgnbd_p_alive",
    "bgnbd_expected_purchases_new_customer",
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


def _log_likelihood_and_gradient(params, x, t_x, T):
    """Per-row log-likelihood and its gradient in the natural parameters (rows × 4)."""
    r, alpha, a, b = _split(params)
    log_a12, log_a3, log_a4 = _log_terms(params, x, t_x, T)
    log_bracket = np.logaddexp(log_a3, log_a4)
    w3 = np.exp(log_a3 - log_bracket)  # share of the "still alive" term
    w4 = 1.0 - w3
    repeat = x > 0
    safe_bx1 = np.where(repeat, b + x - 1, 1.0)
    grad = np.empty((x.size, 4))
    grad[:, 0] = (
        digamma(r + x) - digamma(r) + np.log(alpha)
        - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x)
    )
    grad[:, 1] = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    grad[:, 2] = digamma(a + b) - digamma(a + b + x) + w4 / a
    grad[:, 3] = (
        digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x)
        - np.where(repeat, w4 / safe_bx1, 0.0)
    )
    return log_a12 + log_bracket, grad


def bgnbd_expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """Expected repeat purchases in the next ``t`` time units given each customer's history, [1] eq. (10).

    E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    / [1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)].

    Examples
    --------
    >>> round(float(bgnbd_expected_purchases([0.243, 4.414, 0.793, 2.426], 39, [2], [30.43], [38.86])[0]), 3)
    1.226
    """
    r, alpha, a, b = _split(params)
    x, t_x, T, t = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T, t))
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    first = (a + b + x - 1) / (a - 1)
    numerator = 1 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * hyp
    return first * numerator / _dropout_odds_plus_one(params, x, t_x, T)


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
    hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


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

    Examples
    --------
    >>> from clvlib.models.simulate import simulate_bgnbd
    >>> customers = simulate_bgnbd([0.25, 4.0, 0.8, 2.5], n_customers=3000, T=39, seed=1)
    >>> model = BetaGeo().fit(customers)
    >>> list(model.params_.index)
    ['r', 'alpha', 'a', 'b']

    Methods: ``fit(customers, *, time_unit=None, tol=1e-10)``, ``expected_purchases(customers, t=...)``
    ([1] eq. 10), ``p_alive(customers)`` ([2] eq. 2), ``expected_purchases_new_customer(t)`` ([1] eq. 9),
    ``summary()``, ``sample_params(n_draws)``.

    References
    ----------
    Fader, Hardie & Lee (2005), *Marketing Science* 24(2): likelihood eq. (6), predictions eqs. (9)–(10).
    """

    _param_names = ("r", "alpha", "a", "b")
    _model_name = "BG/NBD"
    _expected_fn = staticmethod(bgnbd_expected_purchases)
    _p_alive_fn = staticmethod(bgnbd_p_alive)
    _new_customer_fn = staticmethod(bgnbd_expected_purchases_new_customer)

    @staticmethod
    def _start(data, weights) -> np.ndarray:
        x, _, T = data
        mean_x = max(np.average(x, weights=weights), 0.05)
        # Method of moments for the rate: E[λ] = r/α ≈ purchases per unit of age.
        alpha = np.average(T, weights=weights) / mean_x
        return np.log([1.0, max(alpha, 1e-3), 1.0, 2.0])

    @staticmethod
    def _negative_log_likelihood(theta, data, weights):
        params = np.exp(theta)
        ll, grad = _log_likelihood_and_gradient(params, *data)
        # Chain rule to log-parameters: d/dθ = d/dp · p.
        return -float(np.einsum("i,i->", weights, ll)), -np.einsum("i,ij->j", weights, grad) * params
