"""The customer outlook: one row per customer with what a purchase model expects of them, for email tools.

:func:`customer_outlook` puts beside each customer what a CRM's "predictive analytics" panel shows (expected
purchases, chance of buying, churn risk, expected date of the next purchase, typical gap between purchases,
historical, predicted and total CLV), each computed exactly from the fitted model, never by simulation.
:func:`contact_list` picks who to contact this week from it, and :func:`describe_outlook` says it in words.

The probability of buying again. Every supported model (BG/NBD, MBG/NBD, Pareto/NBD) shares one structure: a
customer alive at the as-of date T buys as a Poisson process with rate λ, and, given their history
(x repeat purchases, the last at t_x, age T) *and* that they are alive, λ ~ Gamma(r + x, α + T) (the purchase
likelihood λ^x e^(−λT) times the Gamma(r, α) prior). So

    P(at least one purchase in (T, T+t] | history) = P(alive | history) · P(at least one | alive, history),

since a customer who has dropped out never buys again. What differs is how an alive customer can drop out:

* **BG/NBD and MBG/NBD**: only right after a purchase. An alive customer therefore makes no purchase in
  (T, T+t] exactly when the Poisson process has no event there (probability e^(−λt)); dropping out can only follow
  a purchase. Integrating over λ: P(at least one | alive) = 1 − ((α+T)/(α+T+t))^(r+x). MBG/NBD differs from
  BG/NBD only in P(alive) (an extra drop-out opportunity at time 0, so one-time buyers may be gone too); the
  alive customer's λ posterior, and so this factor, is the same. At T = 0 this is the models' P(X(t) = 0).
* **Pareto/NBD**: at any moment, at rate μ; given alive at T, the remaining lifetime is Exponential(μ) (memoryless)
  with μ ~ Gamma(s, β + T), independent of λ. The first purchase comes before death and before T + t with
  probability λ/(λ+μ) · (1 − e^(−(λ+μ)t)) = ∫₀ᵗ λ e^(−λu) e^(−μu) du. The expectation over both rates is the
  one-dimensional integral

      P(at least one | alive) = ∫₀ᵗ (r+x)/(α+T+u) · ((α+T)/(α+T+u))^(r+x) · ((β+T)/(β+T+u))^s du,

  the density of the first purchase time of an alive customer. It is evaluated by Gauss-Legendre quadrature in
  v = ln(c + u), c = min(α+T, β+T), on panels narrow enough for the integrand's decay rate (at most r + x + s per
  unit of v), so it is exact to about 1e-12, not simulated; beyond the point where the integrand's remaining mass
  is below e^−40 the range is cut off.

Definitions of the other columns (all in :func:`customer_outlook`'s docstring) follow from that probability.

References
----------
Fader, Hardie & Lee (2005), *Marketing Science* 24(2) (BG/NBD); Batislam, Denizel & Filiztekin (2007) (MBG/NBD);
Schmittlein, Morrison & Colombo (1987) and Fader & Hardie (2005), note 009 (Pareto/NBD, the posterior of λ and μ
for a customer alive at T).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import customer_indexed, validate_columns
from ..config import DAYS_PER_UNIT
from ..errors import DataError
from ._base import PurchaseModel, check_horizon, compress_rows
from .bgnbd import BetaGeo
from .gamma_gamma import GammaGamma
from .mbgnbd import ModifiedBetaGeo
from .paretonbd import ParetoNBD
from .predict import _time_unit, predictive_clv

__all__ = ["customer_outlook", "contact_list", "describe_outlook", "p_purchase", "RISK_THRESHOLDS",
           "NEXT_PURCHASE_MAX_DAYS"]

#: P(alive) cut-offs of the churn-risk bands: high below 0.3, medium from 0.3 to below 0.7, low from 0.7.
RISK_THRESHOLDS = (0.3, 0.7)
#: The expected date of the next purchase is searched for up to five years ahead; beyond that it is left empty.
NEXT_PURCHASE_MAX_DAYS = 5 * 365.25

_RISK_BANDS = ["low", "medium", "high"]
_NO_DATE = "no date: a purchase within 5 years is less likely than not"
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)
_UNIT_NODES, _UNIT_WEIGHTS = (_GL_NODES + 1) / 2, _GL_WEIGHTS / 2  # Gauss-Legendre on (0, 1)
_BLOCK = 4096  # rows per quadrature block: rows × panels × 24 nodes stay small
_PHI_STEP = 4.0  # panel length in φ (see _pareto_buy_if_alive): the integrand changes by at most e^8 across one


# -- P(at least one purchase in (T, T+t] | alive, x, T) per model ----------------------------------------------------

def _geo_buy_if_alive(params, t, frequency, T) -> np.ndarray:
    """BG/NBD and MBG/NBD: 1 − ((α+T)/(α+T+t))^(r+x), written with log1p/expm1 (exact for small t)."""
    r, alpha = (float(v) for v in np.asarray(params, dtype=np.float64)[:2])
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (frequency, T, t)))
    return -np.expm1(-(r + x) * np.log1p(t / (alpha + T)))


def _geo_wait(params, q, frequency, T) -> np.ndarray:
    """BG/NBD and MBG/NBD: the t at which the alive customer's P(at least one purchase) reaches q (0 < q < 1)."""
    r, alpha = (float(v) for v in np.asarray(params, dtype=np.float64)[:2])
    return (alpha + T) * np.expm1(-np.log1p(-q) / (r + frequency))


def _pareto_buy_if_alive(params, t, frequency, T) -> np.ndarray:
    """Pareto/NBD: ∫₀ᵗ (r+x)/(A+u) · S(u) du, S(u) = (A/(A+u))^(r+x) (B/(B+u))^s, A = α+T, B = β+T (Gauss-Legendre).

    In d = ln(1 + u/c), c = min(A, B), the integrand g(d) = (c+u) (r+x)/(A+u) S(u) has
    ln g = ln((r+x) c/A) + d − ln(1 + u/A) − H(u) with H = −ln S increasing, so ln g varies by at most twice the
    growth of φ(d) = d + H(u(d)). Panels are cut at equal steps of φ no larger than 4 (found by bisection; where
    exactly they fall does not matter for accuracy), so g changes by at most a factor e⁸ across a panel, smoothly,
    and 24 nodes integrate it to machine precision (an exponential falling by e⁸ is integrated to ~1e-18), whether
    the integrand decays slowly (small r+x and s) or within a sliver of the range (shapes near their bound of 1e3).
    The range stops where S falls below e^−40, which bounds what is left out. Checked against adaptive quadrature
    at the corners of the parameter box (tests/test_outlook.py).
    """
    r, alpha, s, beta = (float(v) for v in np.asarray(params, dtype=np.float64)[:4])
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (frequency, T, t)))
    shape = x.shape
    x, T, t = x.ravel(), T.ravel(), t.ravel()
    rx, A, B = r + x, alpha + T, beta + T
    c = np.minimum(A, B)
    with np.errstate(over="ignore", divide="ignore"):
        cut = np.minimum(A * np.expm1(40.0 / rx), B * np.expm1(40.0 / s))  # S(cut) <= e^-40
    width = np.log1p(np.minimum(t, cut) / c)  # the range of d

    def phi(rows, d):
        u = c[rows, None] * np.expm1(d)
        return d + rx[rows, None] * np.log1p(u / A[rows, None]) + s * np.log1p(u / B[rows, None])

    everything = np.arange(x.size)
    panels = np.ceil(phi(everything, width[:, None])[:, 0] / _PHI_STEP).clip(min=1)
    out = np.zeros(x.size)
    order = np.argsort(panels, kind="stable")  # blocks of similar panel counts waste little work
    for start in range(0, x.size, _BLOCK):
        rows = order[start:start + _BLOCK]
        n = int(panels[rows].max())
        w = width[rows, None]
        # Panel edges at equal steps of φ: bisection for each inner edge (12 halvings place it well enough).
        goal = phi(rows, w) * (np.arange(1, n) / n)[None, :]
        low, high = np.zeros_like(goal), np.broadcast_to(w, goal.shape).copy()
        for _ in range(12):
            middle = (low + high) / 2
            below = phi(rows, middle) < goal
            low, high = np.where(below, middle, low), np.where(below, high, middle)
        edges = np.concatenate([np.zeros_like(w), (low + high) / 2, w], axis=1)
        half = np.diff(edges, axis=1)[:, :, None]  # (rows, n, 1) panel lengths
        d = edges[:, :-1, None] + half * _UNIT_NODES[None, None, :]
        u = c[rows, None, None] * np.expm1(d)
        a_, b_, r_ = A[rows, None, None], B[rows, None, None], rx[rows, None, None]
        log_g = (np.log(r_) + np.log(c[rows, None, None]) - np.log(a_) + d
                 - (r_ + 1) * np.log1p(u / a_) - s * np.log1p(u / b_))
        out[rows] = np.einsum("ijk,ijk,k->i", np.exp(log_g), np.broadcast_to(half, log_g.shape), _UNIT_WEIGHTS)
    return np.minimum(out, 1.0).reshape(shape)


def _pareto_density_if_alive(params, t, frequency, T) -> np.ndarray:
    """Pareto/NBD: the integrand of :func:`_pareto_buy_if_alive` at t, (r+x)/(A+t) · S(t): its derivative in t."""
    r, alpha, s, beta = (float(v) for v in np.asarray(params, dtype=np.float64)[:4])
    rx, A, B = r + frequency, alpha + T, beta + T
    return rx / (A + t) * np.exp(-rx * np.log1p(t / A) - s * np.log1p(t / B))


def _pareto_wait(params, q, frequency, T, cap: float) -> np.ndarray:
    """Pareto/NBD: the t ≤ cap at which the alive customer's P(at least one purchase) reaches q (callers pass only
    rows where it does by ``cap``).

    The probability F(t) rises and is concave (its derivative, the first-purchase density, falls). Without drop-out
    it would be 1 − ((α+T)/(α+T+t))^(r+x) ≥ F(t), whose root is therefore a lower bound: bisection from there to
    ``cap`` (24 halvings), then one Newton step from the lower end, which by concavity stays below the root and
    leaves an error far below a second.
    """
    low = np.minimum(_geo_wait(params, q, frequency, T), cap)
    high = np.full_like(q, cap)
    f_low = _pareto_buy_if_alive(params, low, frequency, T)
    for _ in range(24):
        middle = (low + high) / 2
        f_middle = _pareto_buy_if_alive(params, middle, frequency, T)
        below = f_middle < q
        low, f_low, high = np.where(below, middle, low), np.where(below, f_middle, f_low), np.where(below, high, middle)
    step = (q - f_low) / _pareto_density_if_alive(params, low, frequency, T)
    return np.minimum(low + np.maximum(step, 0.0), high)


_SUPPORTED = ((BetaGeo, _geo_buy_if_alive, _geo_wait), (ModifiedBetaGeo, _geo_buy_if_alive, _geo_wait),
              (ParetoNBD, _pareto_buy_if_alive, None))


def _functions(model) -> tuple:
    for cls, buy, wait in _SUPPORTED:
        if isinstance(model, cls):
            return buy, wait
    names = ", ".join(cls.__name__ for cls, _, _ in _SUPPORTED)
    raise TypeError(f"The customer outlook supports {names}, but a {type(model).__name__} was passed.")


def p_purchase(model: PurchaseModel, customers: pd.DataFrame, *, t) -> pd.Series:
    """P(at least one purchase in the next ``t`` time units | each customer's history), exactly (no simulation).

    P(X(T, T+t) ≥ 1 | x, t_x, T) = P(alive) · P(at least one | alive, x, T); the second factor is
    1 − ((α+T)/(α+T+t))^(r+x) for BG/NBD and MBG/NBD, and a one-dimensional integral for Pareto/NBD (see the module
    docstring for the derivation). 1 − this is P(no purchase), which for a new customer (x = 0, T = 0) equals the
    model's ``purchase_count_pmf(t, 0)``.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        Fitted purchase model.
    customers : DataFrame
        ``frequency``, ``recency``, ``T`` in the model's time unit; indexed by customer id, or with a
        ``customer_id`` column.
    t : float
        Horizon in the model's time unit (≥ 0).

    Returns
    -------
    Series ``p_purchase`` indexed by customer id.

    Examples
    --------
    >>> model = BetaGeo()
    >>> model.params_ = pd.Series([0.243, 4.414, 0.793, 2.426], index=["r", "alpha", "a", "b"])
    >>> model.time_unit_ = "W"
    >>> table = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86]})
    >>> round(float(p_purchase(model, table, t=4).iloc[0]), 4)
    0.1307
    """
    buy, _ = _functions(model)
    customers = customer_indexed(customers)
    x, t_x, T = model._arrays(customers)
    t = float(check_horizon(t))
    params = model.params_.to_numpy()
    values = model._p_alive_fn(params, x, t_x, T) * buy(params, t, x, T)
    return pd.Series(values, index=customers.index, name="p_purchase")


# -- the outlook table -----------------------------------------------------------------------------------------------

def _risk_band(p_alive: np.ndarray, thresholds: tuple[float, float]) -> pd.Categorical:
    low, high = thresholds
    codes = np.where(p_alive >= high, 0, np.where(p_alive >= low, 1, 2))
    return pd.Categorical.from_codes(codes, categories=_RISK_BANDS, ordered=True)


def _check_horizons(horizons_days) -> tuple[float, ...]:
    values = tuple(float(h) for h in np.atleast_1d(horizons_days))
    if not values or any(not np.isfinite(h) or h <= 0 for h in values) or len(set(values)) < len(values):
        raise ValueError(f"`horizons_days` must be distinct positive numbers of days, but {horizons_days!r} was "
                         "passed.")
    return values


def _clv_columns(clv: pd.DataFrame, index: pd.Index) -> tuple[pd.DataFrame, str]:
    """The CLV columns of a :func:`predictive_clv` table, aligned on ``index``; the horizon suffix ("12m")."""
    clv = customer_indexed(clv, "CLV table")
    horizon = clv.attrs.get("horizon_months")
    if horizon is None:
        predicted = [c for c in clv.columns if str(c).startswith("predicted_clv_") and str(c).endswith("m")]
        if len(predicted) != 1:
            raise ValueError("`clv` must be the table returned by predictive_clv (or predict_clv's `.table` with a "
                             "model): it has no `predicted_clv_<H>m` column.")
        h = predicted[0][len("predicted_clv_"):]
    else:
        h = f"{horizon:g}m"
    wanted = ["expected_spend", "historical_clv", f"predicted_clv_{h}", f"predicted_clv_{h}_lower",
              f"predicted_clv_{h}_upper", f"total_clv_{h}", f"total_clv_{h}_lower", f"total_clv_{h}_upper"]
    validate_columns(clv, ["historical_clv", f"predicted_clv_{h}", f"total_clv_{h}"], source="clv",
                     what="CLV table")
    missing = index.difference(clv.index)
    if len(missing):
        raise DataError(f"clv: {len(missing)} customer(s) of the customer table have no CLV, e.g. "
                        f"{list(missing[:3])}; pass the CLV table computed on the same customers.")
    return clv.loc[index, [c for c in wanted if c in clv.columns]], h


def customer_outlook(
    model: PurchaseModel,
    spend_model: GammaGamma,
    customers: pd.DataFrame,
    *,
    horizons_days=(30, 90, 365),
    as_of=None,
    clv: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    horizon_months: float = 12,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    intervals: bool = True,
    n_draws: int = 200,
    level: float = 0.9,
    seed: int | np.random.Generator | None = 0,
    risk_thresholds: tuple[float, float] = RISK_THRESHOLDS,
) -> pd.DataFrame:
    """One row per customer: expected purchases, chance of buying, churn risk, next purchase, typical gap and CLV.

    What a CRM's predictive panel shows (Klaviyo's predicted orders, churn risk, expected date of next order,
    average time between orders and historic/predicted/total CLV; GA4's purchase probability), computed exactly
    from the fitted models, for every customer, ready for :func:`clvlib.export_tables`.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        Fitted purchase model (e.g. ``predict_clv(...).purchase_model``).
    spend_model : GammaGamma
        Fitted spend model (e.g. ``predict_clv(...).spend_model``).
    customers : DataFrame
        Customer table from :func:`clvlib.customer_summary` (``frequency``, ``recency``, ``T``,
        ``monetary_value``, ``total_revenue``), in the model's time unit; indexed by customer id, or with a
        ``customer_id`` column. Not modified. ``last_order`` and ``n_orders`` are carried over when present.
    horizons_days : sequence of float
        Horizons, in days, of the expected purchases and purchase probabilities (e.g. 7 for GA4's 7-day figure).
    as_of : date-like, optional
        The date the customer table stands on, from which the next purchase is dated; by default
        ``customers.attrs["as_of"]`` (set by :func:`clvlib.customer_summary`).
    clv : DataFrame, optional
        A :func:`clvlib.predictive_clv` table of these customers (e.g. ``predict_clv(...).table``) whose CLV columns
        are used as they are, so the outlook shows the report's figures; then ``horizon_months``,
        ``annual_discount_rate``, ``margin``, ``intervals``, ``n_draws``, ``level`` and ``seed`` are not used.
        None computes them with :func:`clvlib.predictive_clv` and those arguments.
    contacts : DataFrame, optional
        A table with ``customer_id`` and ``email`` (e.g. the orders table): each customer's last known email is
        added as ``email``, for email tools (:func:`clvlib.latest_emails`). Without an ``email`` column, nothing is
        added. :func:`clvlib.export_tables` and :func:`clvlib.pseudonymise_table` leave it out when given a key.
    risk_thresholds : (float, float)
        P(alive) cut-offs of the churn-risk bands (default :data:`RISK_THRESHOLDS`, 0.3 and 0.7).

    Returns
    -------
    DataFrame indexed by customer id, the customers' order, with these columns (d = days, H = horizon months):

    ``email``
        With ``contacts`` that have emails: the customer's last known email (missing when unknown).
    ``frequency``, ``n_orders``, ``last_order``
        From the customer table (the last two when present).
    ``p_alive``
        The model's probability that the customer is still active at ``as_of``.
    ``churn_risk``
        Ordered category from P(alive): **high** below 0.3 (more than two in three such customers have lapsed:
        win-back territory), **medium** from 0.3 to below 0.7 (the model cannot tell: the customers whose status
        a timely contact can still change), **low** from 0.7 (most are active: business as usual). Missing for
        BG/NBD customers without repeat purchases, whose P(alive) is 1 by the model's assumption (drop-out only
        follows a purchase), not by evidence; ``attrs["churn_risk_note"]`` says how many.
    ``expected_purchases_{d}d``
        Expected repeat purchases in the next d days given the history (the model's ``expected_purchases``).
    ``p_purchase_{d}d``
        P(at least one purchase in the next d days | history), exact (:func:`p_purchase`): rises with d, at most
        P(alive).
    ``next_purchase_in_days``, ``expected_next_purchase``
        The median time to the next purchase: the t (in days) at which P(at least one purchase in the next t days)
        reaches 50 %; the date is ``as_of`` + t, rounded to the nearest day. Both are missing when that
        probability stays below 50 % for five years (:data:`NEXT_PURCHASE_MAX_DAYS`), which is what a lapsed or
        very slow customer looks like: no purchase is more likely than not; ``next_purchase_note`` then says so
        (and is missing otherwise). For a one-time buyer the same definition applies: the median waiting time to
        their first repeat purchase.
    ``typical_gap_days``, ``typical_gap_source``
        The usual time between purchases, in days. For a repeat buyer, their own mean gap, recency ÷ frequency
        (first to last purchase, over the gaps between them; source "own purchases"). For a one-time buyer, who
        has no gap yet, the gap at the model's expected purchase rate of an active customer with that history,
        1 / E[λ | alive, history] = (α + T) / r (source "model: one-time buyer"); it lengthens as they stay
        silent.
    ``expected_spend``, ``historical_clv``, ``predicted_clv_{H}m``, ``total_clv_{H}m`` (+ ``_lower``/``_upper``)
        From :func:`clvlib.predictive_clv` (or ``clv``): historical CLV is revenue to date × margin, predicted CLV
        the discounted margin of the next H months, total their sum, with the parameter-uncertainty interval when
        it could be computed (otherwise the bounds are left out and ``attrs["interval_note"]`` says why).

    ``attrs``: ``as_of``, ``time_unit``, ``horizons_days``, ``horizon_months``, ``model``, ``risk_thresholds``,
    ``level``, ``interval_note``, ``churn_risk_note``, ``next_purchase_max_days``.

    Examples
    --------
    >>> import clvlib
    >>> result = clvlib.predict_clv(clvlib.load_orders(), intervals=False)
    >>> customers = clvlib.customer_summary(clvlib.load_orders(), time_unit="W", warn=False)
    >>> outlook = customer_outlook(result.purchase_model, result.spend_model, customers, clv=result.table)
    >>> bool((outlook["p_purchase_30d"] <= outlook["p_purchase_90d"]).all())
    True
    """
    buy, wait = _functions(model)
    model._check_fitted()
    spend_model._check_fitted()
    customers = customer_indexed(customers)
    horizons = _check_horizons(horizons_days)
    low, high = (float(v) for v in risk_thresholds)
    if not 0 < low < high < 1:
        raise ValueError(f"`risk_thresholds` must be two numbers with 0 < low < high < 1, but {risk_thresholds!r} "
                         "was passed.")
    as_of = as_of if as_of is not None else customers.attrs.get("as_of")
    if as_of is None:
        raise DataError("customers: the as-of date is unknown (no `attrs['as_of']`); pass `as_of=` so that the "
                        "next purchase can be dated.")
    as_of = pd.Timestamp(as_of).normalize()
    unit = _time_unit(model, spend_model, customers)
    days = DAYS_PER_UNIT[unit]
    x, t_x, T = model._arrays(customers)
    params = model.params_.to_numpy()

    if clv is None:
        clv = predictive_clv(model, spend_model, customers, horizon_months=horizon_months,
                             annual_discount_rate=annual_discount_rate, margin=margin, intervals=intervals,
                             n_draws=n_draws, level=level, seed=seed)
    clv_part, h = _clv_columns(clv, customers.index)

    # Every quantity below depends on (x, t_x, T) only: computed once per distinct history.
    (ux, utx, uT), _, inverse = compress_rows(x, t_x, T)
    with np.errstate(over="ignore", under="ignore"):
        alive = model._p_alive_fn(params, ux, utx, uT)
    out = pd.DataFrame(index=customers.index)
    if contacts is not None and "email" in contacts.columns:
        from ..rfm.exports import latest_emails

        out["email"] = customers.index.map(latest_emails(contacts)).astype("string")
    out["frequency"] = x
    for column in ("n_orders", "last_order"):
        if column in customers.columns:
            out[column] = customers[column].to_numpy()
    out["p_alive"] = alive[inverse]
    band = _risk_band(out["p_alive"].to_numpy(), (low, high))
    by_assumption = isinstance(model, BetaGeo) & (x == 0)
    out["churn_risk"] = pd.Categorical(np.where(by_assumption, None, np.asarray(band, dtype=object)),
                                       categories=_RISK_BANDS, ordered=True)
    for horizon in horizons:
        label = f"{horizon:g}d"
        out[f"expected_purchases_{label}"] = model._expected_fn(params, horizon / days, ux, utx, uT)[inverse]
        out[f"p_purchase_{label}"] = (alive * buy(params, horizon / days, ux, uT))[inverse]

    # The median wait: P(alive) · G(t) = 1/2, G the alive customer's P(at least one purchase by t).
    cap = NEXT_PURCHASE_MAX_DAYS / days
    reachable = alive * buy(params, cap, ux, uT) >= 0.5
    wait_units = np.full(len(ux), np.nan)
    if reachable.any():
        target = 0.5 / alive[reachable]
        if wait is not None:
            wait_units[reachable] = wait(params, target, ux[reachable], uT[reachable])
        else:
            wait_units[reachable] = _pareto_wait(params, target, ux[reachable], uT[reachable], cap)
    wait_days = wait_units[inverse] * days
    out["next_purchase_in_days"] = wait_days
    out["expected_next_purchase"] = as_of + pd.to_timedelta(np.round(wait_days), unit="D")
    out["next_purchase_note"] = pd.Series(np.where(np.isnan(wait_days), _NO_DATE, None), index=out.index,
                                          dtype="string")

    r = float(params[0])
    alpha = float(params[1])
    repeat = x > 0
    gap_units = np.where(repeat, t_x / np.where(repeat, x, 1.0), (alpha + T) / r)
    out["typical_gap_days"] = gap_units * days
    out["typical_gap_source"] = pd.Categorical(np.where(repeat, "own purchases", "model: one-time buyer"),
                                               categories=["own purchases", "model: one-time buyer"])
    for column in clv_part.columns:
        out[column] = clv_part[column].to_numpy()

    n_assumed = int(by_assumption.sum())
    notes = []
    if n_assumed:
        notes.append(f"Churn risk is not given for {n_assumed:,} customers without repeat purchases: BG/NBD assumes "
                     "they are still active (drop-out only follows a purchase), so their P(alive) of 100 % is not "
                     "evidence. Judge them by their chance of buying and their predicted CLV.")
    diagnosis = getattr(model, "diagnosis_", None)
    if diagnosis is not None and not diagnosis.identified:
        notes.append("The purchase model's drop-out part is not measured by the data "
                     f"({diagnosis.limit or 'see its diagnosis'}), so P(alive) and the churn-risk bands reflect "
                     "the model's assumptions rather than evidence.")
    out.attrs.update(
        as_of=as_of.date().isoformat(),
        time_unit=unit,
        horizons_days=list(horizons),
        horizon_months=clv.attrs.get("horizon_months", float(h[:-1])),
        model=getattr(model, "_model_name", type(model).__name__),
        risk_thresholds=[low, high],
        level=clv.attrs.get("level"),
        interval_note=clv.attrs.get("interval_note"),
        churn_risk_note=" ".join(notes) or None,
        next_purchase_max_days=NEXT_PURCHASE_MAX_DAYS,
    )
    return out


# -- who to contact, in words ----------------------------------------------------------------------------------------

def _horizon(outlook: pd.DataFrame, days) -> str:
    horizons = outlook.attrs.get("horizons_days") or sorted(
        float(c[len("p_purchase_"):-1]) for c in outlook.columns if str(c).startswith("p_purchase_"))
    if not horizons:
        raise ValueError("`outlook` has no `p_purchase_<d>d` column: pass the table returned by customer_outlook.")
    chosen = min(horizons) if days is None else float(days)
    label = f"{chosen:g}d"
    validate_columns(outlook, [f"p_purchase_{label}"], source="outlook", what="customer outlook")
    return label


def _predicted_column(outlook: pd.DataFrame) -> str:
    columns = [c for c in outlook.columns if str(c).startswith("predicted_clv_") and str(c).endswith("m")]
    if not columns:
        raise ValueError("`outlook` has no `predicted_clv_<H>m` column: pass the table returned by customer_outlook.")
    return columns[0]


def contact_list(outlook: pd.DataFrame, *, n: int = 10, days: float | None = None) -> pd.DataFrame:
    """Who to contact this week: up to ``n`` customers ready to buy and up to ``n`` valuable ones slipping away.

    * **ready to buy**: the highest P(at least one purchase in the next ``days``) × predicted CLV: likely to buy
      soon and worth the most over the horizon. Send the timely message (a reminder, the next product, a
      restock) rather than a discount: many would buy anyway.
    * **slipping away**: churn risk "medium" (P(alive) between the thresholds: the model cannot tell whether they
      are still customers), the highest historical CLV first. A personal win-back note now, before they lapse.
      Customers already on the first list are not repeated.

    Parameters
    ----------
    outlook : DataFrame
        From :func:`customer_outlook`.
    n : int
        Customers per list.
    days : float, optional
        Horizon of the purchase probability (one of the outlook's ``horizons_days``); the shortest by default.

    Returns
    -------
    DataFrame indexed by customer id: ``reason``, ``contact_clv`` (P(purchase) × predicted CLV: money, so it
    is exported in cents), ``email`` (when the outlook has it), ``churn_risk``, ``p_alive``, ``p_purchase_{d}d``,
    ``expected_next_purchase``, ``typical_gap_days``, ``last_order`` (when known), ``historical_clv``,
    ``predicted_clv_{H}m`` (with its bounds when present). Ready to buy first, then slipping away, each in its
    ranking order. Empty, with ``attrs["skipped"]`` saying why, when the outlook has no customers.
    """
    if n < 1:
        raise ValueError(f"`n` must be a positive number of customers, but {n!r} was passed.")
    label = _horizon(outlook, days)
    predicted = _predicted_column(outlook)
    validate_columns(outlook, ["churn_risk", "p_alive", "historical_clv"], source="outlook", what="customer outlook")
    score = outlook[f"p_purchase_{label}"] * outlook[predicted]
    ready = score.sort_values(ascending=False, kind="stable").index[:n]
    medium = outlook[(outlook["churn_risk"] == "medium") & ~outlook.index.isin(ready)]
    slipping = medium["historical_clv"].sort_values(ascending=False, kind="stable").index[:n]
    columns = ["email", "churn_risk", "p_alive", f"p_purchase_{label}", "expected_next_purchase", "typical_gap_days",
               "last_order", "historical_clv", predicted, f"{predicted}_lower", f"{predicted}_upper"]
    columns = [c for c in columns if c in outlook.columns]
    table = pd.concat([outlook.loc[ready, columns].assign(reason="ready to buy"),
                       outlook.loc[slipping, columns].assign(reason="slipping away")])
    table.insert(0, "contact_clv", score.loc[table.index].to_numpy())
    table.insert(0, "reason", table.pop("reason"))
    table.attrs = {"horizon": label, "value_column": predicted}
    if outlook.empty:
        table.attrs["skipped"] = "No customers to contact: the outlook is empty."
    return table


def describe_outlook(outlook: pd.DataFrame | None, *, currency: str = "USD", days: float | None = None) -> str:
    """The outlook in a few Markdown sentences (money and names escaped): who will buy soon, who is at risk.

    ``outlook`` None (no purchase model: :func:`clvlib.predict_clv` decided on historical CLV) gives the sentence
    saying there is no outlook and what to use instead.

    Examples
    --------
    >>> outlook = pd.DataFrame({"p_alive": [0.9, 0.2], "churn_risk": pd.Categorical(["low", "high"],
    ...     categories=["low", "medium", "high"], ordered=True), "expected_purchases_30d": [0.5, 0.01],
    ...     "p_purchase_30d": [0.6, 0.01], "historical_clv": [100.0, 300.0], "predicted_clv_12m": [80.0, 2.0]})
    >>> print(describe_outlook(outlook))  # doctest: +NORMALIZE_WHITESPACE
    Over the next **30 days** the 2 customers are expected to make **0.5** repeat purchases; **1** of them (50 %)
    are more likely than not to buy at least once. **1** customer is at **high** churn risk (P(alive) below 30 %),
    with **\\$300** of historical CLV, and **0** at **medium** risk, with **\\$0**.
    """
    from ..formatting import format_pct, markdown_money

    if outlook is None:
        return ("**No outlook:** chances of buying, churn risk and next-purchase dates come from a purchase model, "
                "and this store's data do not support one (the decision above says why). Rank customers by their "
                "historical CLV (`02_clv.ipynb`) instead.")
    label = _horizon(outlook, days)
    n = len(outlook)
    if n == 0:
        return "There are no customers to describe."
    likely = int((outlook[f"p_purchase_{label}"] > 0.5).sum())
    low, high = outlook.attrs.get("risk_thresholds", RISK_THRESHOLDS)
    purchases = outlook[f"expected_purchases_{label}"].sum() if f"expected_purchases_{label}" in outlook else None
    text = (f"Over the next **{label[:-1]} days** the {n:,} customers are expected to make **{purchases:,.1f}** "
            f"repeat purchases; " if purchases is not None else f"Over the next **{label[:-1]} days**, ")
    text += (f"**{likely:,}** of them ({format_pct(likely / n)}) are more likely than not to buy at least once. ")
    parts = []
    for band in ("high", "medium"):
        members = outlook["churn_risk"] == band
        count, value = int(members.sum()), float(outlook.loc[members, "historical_clv"].sum())
        parts.append((band, count, value))
    (_, n_high, v_high), (_, n_medium, v_medium) = parts
    text += (f"**{n_high:,}** customer{'s are' if n_high != 1 else ' is'} at **high** churn risk (P(alive) below "
             f"{format_pct(low)}), with **{markdown_money(v_high, currency)}** of historical CLV, and "
             f"**{n_medium:,}** at **medium** risk, with **{markdown_money(v_medium, currency)}**.")
    unmeasured = int(outlook["churn_risk"].isna().sum())
    if unmeasured:
        text += (f" Churn risk is not measured for {unmeasured:,} one-time buyers (BG/NBD assumes they are still "
                 "active); their chance of buying says more.")
    return text
