"""Simulators that draw customer tables from the BG/NBD, Pareto/NBD and Gamma-Gamma models (vectorised numpy).

They exist to check the fitters (parameter recovery) and the closed-form predictions (Monte Carlo), and to make
large synthetic bases for benchmarks. Every simulator returns a customer table in the shape of
:func:`clvlib.customer_summary` (``frequency``, ``recency``, ``T``, and optionally ``frequency_holdout``) with
``attrs["time_unit"]``.

The draws avoid per-customer loops: given K Poisson arrivals in a window of length w, the arrival times are K
sorted uniforms, so the time of the j-th arrival is w · Beta(j, K − j + 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_bgnbd", "simulate_pareto_nbd", "simulate_gamma_gamma"]


def _ages(T, n_customers: int, rng: np.random.Generator) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.ndim == 0:
        return np.full(n_customers, float(T))
    if T.shape == (2,):  # (low, high): ages spread uniformly, like staggered acquisition
        return rng.uniform(T[0], T[1], size=n_customers)
    if T.shape != (n_customers,):
        raise ValueError(f"`T` must be a number, a (low, high) pair or one age per customer, but has shape {T.shape}.")
    return T


def _time_of_arrival(j: np.ndarray, k: np.ndarray, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Time of the j-th of k uniform arrivals in (0, window]; 0 where j is 0."""
    has = j > 0
    out = np.zeros_like(window)
    out[has] = window[has] * rng.beta(j[has], k[has] - j[has] + 1)
    return out


def _table(x, t_x, T, alive, holdout, holdout_counts, time_unit) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"frequency": x.astype(np.float64), "recency": t_x, "T": T, "alive": alive},
        index=pd.RangeIndex(len(x), name="customer_id"),
    )
    if holdout is not None:
        frame["frequency_holdout"] = holdout_counts.astype(np.float64)
        frame["duration_holdout"] = float(holdout)
    frame.attrs["time_unit"] = time_unit
    return frame


def simulate_bgnbd(
    params,
    *,
    n_customers: int,
    T=52.0,
    holdout: float | None = None,
    time_unit: str = "W",
    dropout: bool = True,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw a customer table from the BG/NBD model with natural parameters ``(r, alpha, a, b)``.

    λ ~ Gamma(r, rate α); p ~ Beta(a, b); repeat purchases arrive at rate λ and the customer drops out after each
    one with probability p, so the number of repeat purchases before drop-out is Geometric(p).

    Parameters
    ----------
    params : (r, alpha, a, b)
    n_customers : int
    T : float, (low, high) or array
        Customers' ages at the end of the calibration period.
    holdout : float, optional
        Length of a holdout period after ``T``; adds ``frequency_holdout`` (purchases in it).
    time_unit : str
        Recorded in ``attrs["time_unit"]``.
    dropout : bool
        False draws from the no-drop-out limit (the NBD: everyone keeps buying; ``a`` and ``b`` are ignored), the
        store on which BG/NBD's drop-out parameters are not identified.
    seed : int or Generator

    Returns
    -------
    DataFrame with ``frequency, recency, T``, ``alive`` (the true state at ``T``, which real data never shows)
    and, with ``holdout``, ``frequency_holdout`` and ``duration_holdout``.

    Examples
    --------
    >>> simulate_bgnbd([0.25, 4.0, 0.8, 2.5], n_customers=3, T=39, seed=0).columns.tolist()
    ['frequency', 'recency', 'T', 'alive']
    """
    r, alpha, a, b = (float(v) for v in params)
    rng = np.random.default_rng(seed)
    ages = _ages(T, n_customers, rng)
    lam = rng.gamma(r, 1.0 / alpha, size=n_customers)
    p = rng.beta(a, b, size=n_customers)
    # Repeat purchases until (and including) the one after which the customer drops out.
    lifetime_purchases = rng.geometric(np.clip(p, 1e-300, 1.0))
    if not dropout:
        lifetime_purchases = np.full(n_customers, np.iinfo(np.int64).max)
    k = rng.poisson(lam * ages)
    x = np.minimum(k, lifetime_purchases)
    t_x = _time_of_arrival(x, k, ages, rng)
    extra = None
    if holdout is not None:
        remaining = np.maximum(lifetime_purchases - k, 0)  # memoryless: the future needs only what is left
        extra = np.minimum(rng.poisson(lam * holdout), remaining)
    return _table(x, t_x, ages, lifetime_purchases > k, holdout, extra, time_unit)


def simulate_pareto_nbd(
    params,
    *,
    n_customers: int,
    T=52.0,
    holdout: float | None = None,
    time_unit: str = "W",
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw a customer table from the Pareto/NBD model with natural parameters ``(r, alpha, s, beta)``.

    λ ~ Gamma(r, rate α) purchase rate; μ ~ Gamma(s, rate β) drop-out rate; the lifetime is Exponential(μ).
    Parameters and result as for :func:`simulate_bgnbd`.

    Examples
    --------
    >>> simulate_pareto_nbd([0.55, 10.6, 0.61, 11.7], n_customers=3, T=39, seed=0).shape
    (3, 4)
    """
    r, alpha, s, beta = (float(v) for v in params)
    rng = np.random.default_rng(seed)
    ages = _ages(T, n_customers, rng)
    lam = rng.gamma(r, 1.0 / alpha, size=n_customers)
    mu = rng.gamma(s, 1.0 / beta, size=n_customers)
    lifetime = rng.exponential(1.0 / np.maximum(mu, 1e-300))
    active = np.minimum(lifetime, ages)
    x = rng.poisson(lam * active)
    # The last of x uniform arrivals in (0, active].
    t_x = _time_of_arrival(x, x, active, rng)
    extra = None
    if holdout is not None:
        extra = rng.poisson(lam * np.clip(lifetime - ages, 0.0, holdout))
    return _table(x, t_x, ages, lifetime > ages, holdout, extra, time_unit)


def simulate_gamma_gamma(
    params,
    frequency,
    *,
    time_unit: str = "W",
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw mean repeat-transaction values from the Gamma-Gamma model with natural parameters ``(p, q, v)``.

    ν ~ Gamma(q, rate v) per customer; each transaction ~ Gamma(p, rate ν), so the sum of x transactions is
    Gamma(px, rate ν) and ``monetary_value`` is that sum over x (0 for customers with ``frequency`` 0).

    Returns
    -------
    DataFrame with ``frequency, monetary_value``.

    Examples
    --------
    >>> simulate_gamma_gamma([6.0, 4.0, 15.0], [0, 2], seed=0)["monetary_value"].iloc[0]
    np.float64(0.0)
    """
    p, q, v = (float(c) for c in params)
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=np.float64)
    nu = rng.gamma(q, 1.0 / v, size=x.size)
    repeat = x > 0
    mean_value = np.zeros(x.size)
    mean_value[repeat] = rng.gamma(p * x[repeat], 1.0 / nu[repeat]) / x[repeat]
    frame = pd.DataFrame(
        {"frequency": x, "monetary_value": mean_value}, index=pd.RangeIndex(x.size, name="customer_id")
    )
    frame.attrs["time_unit"] = time_unit
    return frame
