"""Predictive CLV: a purchase model times a spend model, discounted month by month, with parameter uncertainty.

For customer i and month k = 1..H of the horizon,

    CLV_i = margin · E[spend_i] · Σ_k (E[Y_i(k·u)] − E[Y_i((k−1)·u)]) / (1 + d)^k,

where u is one month in the model's time unit (30.4375 days), E[Y_i(t)] the purchase model's conditional expected
repeat purchases in the next t units, E[spend_i] the Gamma-Gamma conditional expected order value, and
d = (1 + annual rate)^(1/12) − 1 the monthly discount rate (cash flows discounted at the end of their month).

Intervals propagate parameter uncertainty: parameters are drawn from the asymptotic normal of each model's
log-parameters (inverse Hessian), every draw gives every customer a CLV, and intervals are percentiles over draws.
Totals are summed *per draw* before taking percentiles, so a segment's interval is not the sum of its members'.

Intervals are only drawn when both models can give them: a fit that does not identify its parameters (see
``model.diagnosis_``), a singular Hessian, or draws whose predictions are not finite leave the table with its point
predictions only, ``attrs["level"] = None`` and one plain sentence in ``attrs["interval_note"]`` (None when the
intervals are there or were not asked for). Never NaN bounds, never an exception.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import customer_indexed, validate_columns
from ..config import DAYS_PER_MONTH, DAYS_PER_UNIT
from ..errors import DataError
from ._base import PurchaseModel, compress_rows
from .gamma_gamma import GammaGamma, gamma_gamma_expected_spend

__all__ = ["predictive_clv", "clv_totals", "p_alive_grid"]

_CHUNK = 50_000  # customers per block when draws × customers would not fit comfortably in memory


def _time_unit(purchase_model, spend_model, customers: pd.DataFrame) -> str:
    units = {
        "purchase model": purchase_model.time_unit_,
        "customer table": customers.attrs.get("time_unit"),
    }
    known = {k: v for k, v in units.items() if v is not None}
    if not known:
        raise DataError(
            "customers: the time unit is unknown (no `attrs['time_unit']` and the model was fitted without one); "
            "fit with `time_unit=` so that a horizon in months can be converted."
        )
    if len(set(known.values())) > 1:
        raise DataError(
            f"customers: time units disagree ({known}); a weekly model read as daily gives wrong CLV. Rebuild the "
            "customer table with the model's time unit."
        )
    spend_model._check_time_unit(customers)
    return next(iter(known.values()))


def _discounted_purchases(model, params, months: np.ndarray, unit_per_month: float, discount, rows):
    """Σ_k ΔE[Y(k·u)] · discount_k per unique (x, t_x, T) row, plus the undiscounted total over the horizon.

    Both models factor as E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) · E[Y(t) | alive, x, T]: the second factor,
    the only one with ₂F₁ and the only one that depends on t, is computed once per distinct (x, T) pair (as
    E[Y(t) | x, t_x = T, T] / P(alive | x, T, T), which is never 0).
    """
    data, (x_p, T_p), pair, prepared = rows
    if_alive_fn = getattr(model, "_expected_if_alive_fn", None)
    if if_alive_fn is not None:  # a closed form: no P(alive) per horizon month
        if_alive = np.stack([if_alive_fn(params, k * unit_per_month, x_p, T_p) for k in months])
    else:
        if_alive = np.stack([model._expected_fn(params, k * unit_per_month, x_p, T_p, T_p) for k in months])
        if_alive /= model._p_alive_fn(params, x_p, T_p, T_p)
    discounted = discount @ np.diff(if_alive, axis=0, prepend=0.0)
    p_alive = model._p_alive_prepared_fn(params, prepared) if prepared is not None else model._p_alive_fn(params,
                                                                                                         *data)
    return p_alive * discounted[pair], p_alive * if_alive[-1][pair]


def _group_codes(customers: pd.DataFrame, by) -> tuple[np.ndarray, list, str | None]:
    if by is None:
        return np.zeros(len(customers), dtype=np.int64), [], None
    if isinstance(by, str):
        validate_columns(customers, [by], source="customers", what="customer table")
        values, name = customers[by], by
    else:
        values = pd.Series(by).reindex(customers.index)
        name = values.name or "group"
    codes, labels = pd.factorize(values.astype(object).where(values.notna(), "(missing)"), sort=True)
    return codes, list(labels), name


def predictive_clv(
    purchase_model: PurchaseModel,
    spend_model: GammaGamma,
    customers: pd.DataFrame,
    *,
    horizon_months: float = 12,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    intervals: bool = True,
    n_draws: int = 200,
    level: float = 0.95,
    by: str | pd.Series | None = None,
    seed: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Historical, predicted and total CLV per customer, with intervals and totals per group.

    Parameters
    ----------
    purchase_model : BetaGeo or ParetoNBD
        Fitted purchase model (its time unit is the table's).
    spend_model : GammaGamma
        Fitted spend model.
    customers : DataFrame
        Customer table (``frequency, recency, T, monetary_value, total_revenue``), e.g. from
        :func:`clvlib.customer_summary`; indexed by customer id, or with a ``customer_id`` column. Not modified.
    horizon_months : float
        Prediction horizon in months of 30.4375 days, converted to the model's time unit.
    annual_discount_rate : float
        Yearly rate, applied monthly as (1 + rate)^(1/12) − 1.
    margin : float
        Share of revenue kept as profit, in (0, 1]; 1 gives revenue CLV.
    intervals : bool
        Propagate parameter uncertainty with ``n_draws`` draws; ``level`` is the central interval's coverage.
    by : str or Series, optional
        Column of ``customers`` (or a Series indexed by customer id) to total by, e.g. ``"segment"`` or ``"channel"``.
    seed : int or Generator
        Seed of the parameter draws.

    Returns
    -------
    DataFrame indexed by customer id with ``historical_clv`` (total_revenue × margin), ``p_alive``,
    ``expected_purchases_{H}m`` (repeat purchases in the horizon, undiscounted), ``expected_spend``,
    ``predicted_clv_{H}m``, ``total_clv_{H}m`` (historical + predicted) and, with intervals,
    ``predicted_clv_{H}m_lower/_upper`` and ``total_clv_{H}m_lower/_upper`` (H = horizon in months), plus the
    ``by`` column when given. The same figures summed for the whole base and per group come back as a table from
    :func:`clv_totals` (rows ``"all customers"`` and each group; column ``customers`` counts them); they are kept
    in ``attrs["totals"]`` as plain records, so the table survives ``nlargest``, ``concat`` and joins, and writes
    to JSON as it is. ``attrs`` also carries
    ``time_unit``, ``horizon_months``, ``horizon`` (in the time unit), ``annual_discount_rate``, ``margin`` and
    ``level``.

    Examples
    --------
    >>> from clvlib.models import BetaGeo, GammaGamma
    >>> from clvlib.models.simulate import simulate_bgnbd, simulate_gamma_gamma
    >>> customers = simulate_bgnbd([0.25, 4.0, 0.8, 2.5], n_customers=2000, T=39, seed=1)
    >>> customers["monetary_value"] = simulate_gamma_gamma([6, 4, 15], customers["frequency"], seed=1)[
    ...     "monetary_value"]
    >>> customers["total_revenue"] = customers["monetary_value"] * (customers["frequency"] + 1)
    >>> clv = predictive_clv(BetaGeo().fit(customers), GammaGamma().fit(customers), customers, n_draws=50)
    >>> clv_totals(clv).index.tolist()
    ['all customers']
    >>> bool((clv["predicted_clv_12m_lower"] <= clv["predicted_clv_12m"]).all())
    True
    """
    purchase_model._check_fitted()
    spend_model._check_fitted()
    # Indexed by id before anything else: the output's index and a `by` Series are matched on it.
    customers = customer_indexed(customers)
    validate_columns(customers, ["frequency", "recency", "T", "monetary_value", "total_revenue"],
                     source="customers", what="customer table")
    if not 0 < margin <= 1:
        raise ValueError(f"`margin` must be in (0, 1], but {margin!r} was passed.")
    if not annual_discount_rate > -1:
        raise ValueError(f"`annual_discount_rate` must be above -1, but {annual_discount_rate!r} was passed.")
    if horizon_months <= 0:
        raise ValueError(f"`horizon_months` must be positive, but {horizon_months!r} was passed.")
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1), but {level!r} was passed.")
    unit = _time_unit(purchase_model, spend_model, customers)
    unit_per_month = DAYS_PER_MONTH / DAYS_PER_UNIT[unit]

    x, t_x, T = purchase_model._arrays(customers)
    m = customers["monetary_value"].to_numpy(dtype=np.float64)
    data, _, inverse = compress_rows(x, t_x, T)
    pairs, _, pair = compress_rows(data[0], data[2])
    prepare = getattr(purchase_model, "_prepare_rows", None)  # a model may share work across parameter draws
    rows = (data, pairs, pair, prepare(data) if prepare is not None else None)
    months = np.arange(1, int(np.ceil(horizon_months)) + 1, dtype=np.float64)
    months[-1] = horizon_months  # a fractional horizon ends part-way through its last month
    monthly_rate = (1 + annual_discount_rate) ** (1 / 12) - 1
    discount = (1 + monthly_rate) ** -months
    disc, total_purchases = _discounted_purchases(
        purchase_model, purchase_model.params_.to_numpy(), months, unit_per_month, discount, rows
    )
    spend = gamma_gamma_expected_spend(spend_model.params_.to_numpy(), x, m)
    predicted = margin * spend * disc[inverse]
    historical = margin * customers["total_revenue"].to_numpy(dtype=np.float64)

    h = f"{horizon_months:g}m"
    out = pd.DataFrame(
        {
            "historical_clv": historical,
            "p_alive": purchase_model.p_alive(customers).to_numpy(),
            f"expected_purchases_{h}": total_purchases[inverse],
            "expected_spend": spend,
            f"predicted_clv_{h}": predicted,
            f"total_clv_{h}": historical + predicted,
        },
        index=customers.index,
    )
    codes, labels, by_name = _group_codes(customers, by)
    if by_name is not None:
        out[by_name] = np.asarray(labels, dtype=object)[codes]

    totals = _totals(out, codes, labels, h)
    interval_note = None
    if intervals:
        interval_note = purchase_model._interval_problem() or spend_model._interval_problem()
        if interval_note is None:
            bounds = _interval_bounds(purchase_model, spend_model, n_draws, level, seed, x, m, margin, months,
                                      unit_per_month, discount, rows, inverse, codes, labels)
            if bounds is None:
                interval_note = ("Uncertainty intervals are not given: some parameter draws gave predictions that "
                                 "are not finite numbers (the data leave the parameters too uncertain).")
            else:
                lower, upper, lo, hi = bounds
                out[f"predicted_clv_{h}_lower"], out[f"predicted_clv_{h}_upper"] = lower, upper
                out[f"total_clv_{h}_lower"], out[f"total_clv_{h}_upper"] = historical + lower, historical + upper
                hist_totals = totals["historical_clv"].to_numpy()
                totals[f"predicted_clv_{h}_lower"], totals[f"predicted_clv_{h}_upper"] = lo, hi
                totals[f"total_clv_{h}_lower"], totals[f"total_clv_{h}_upper"] = hist_totals + lo, hist_totals + hi
    with_intervals = intervals and interval_note is None

    out.attrs.update(
        time_unit=unit,
        horizon_months=horizon_months,
        horizon=horizon_months * unit_per_month,
        annual_discount_rate=annual_discount_rate,
        margin=margin,
        level=level if with_intervals else None,
        n_draws=n_draws if with_intervals else 0,
        interval_note=interval_note,
        # Records, not a DataFrame: pandas compares attrs when it combines frames, and a frame there is ambiguous.
        totals={"by": by if isinstance(by, str) or by is None else by.name,
                "rows": totals.reset_index(names="group").to_dict(orient="records")},
    )
    return out


def _interval_bounds(purchase_model, spend_model, n_draws, level, seed, x, m, margin, months, unit_per_month,
                     discount, rows, inverse, codes, labels):
    """Percentile bounds per customer and per group from parameter draws; None when any draw is not finite."""
    tail = (1 - level) / 2 * 100
    rng = np.random.default_rng(seed)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            draws_p = purchase_model.sample_params(n_draws=n_draws, seed=rng)
            draws_s = spend_model.sample_params(n_draws=n_draws, seed=rng)
            if not (np.all(np.isfinite(draws_p)) and np.all(np.isfinite(draws_s))):
                return None
            disc_draws = np.stack([
                _discounted_purchases(purchase_model, d, months, unit_per_month, discount, rows)[0] for d in draws_p
            ])
            if not np.all(np.isfinite(disc_draws)):
                return None
            lower, upper = np.empty(len(x)), np.empty(len(x))
            n_groups = max(len(labels), 1)
            group_sums = np.zeros((n_draws, n_groups))
            for start in range(0, len(x), _CHUNK):
                block = slice(start, start + _CHUNK)
                spend_draws = np.stack([gamma_gamma_expected_spend(d, x[block], m[block]) for d in draws_s])
                clv_draws = margin * spend_draws * disc_draws[:, inverse[block]]
                if not np.all(np.isfinite(clv_draws)):
                    return None
                lower[block], upper[block] = np.percentile(clv_draws, [tail, 100 - tail], axis=0)
                for g in range(n_groups):
                    group_sums[:, g] += clv_draws[:, codes[block] == g].sum(axis=1)
            sums = np.column_stack([group_sums.sum(axis=1), group_sums]) if labels else group_sums
            lo, hi = np.percentile(sums, [tail, 100 - tail], axis=0)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        # A draw far out in the tails can make scipy's special functions fail outright: no intervals then.
        return None
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        return None
    return lower, upper, lo, hi


def clv_totals(clv: pd.DataFrame) -> pd.DataFrame:
    """CLV summed for the whole base and per group, with intervals summed draw by draw (:func:`predictive_clv`).

    Returns
    -------
    DataFrame indexed by group (``"all customers"`` first) with ``customers``, ``historical_clv``,
    ``expected_purchases_{H}m``, ``predicted_clv_{H}m``, ``total_clv_{H}m`` and their ``_lower``/``_upper`` bounds.
    """
    if "totals" not in clv.attrs:
        raise ValueError("`clv` carries no totals: pass the table returned by predictive_clv.")
    table = pd.DataFrame.from_records(clv.attrs["totals"]["rows"]).set_index("group")
    table.index.name = clv.attrs["totals"]["by"]
    return table


def _totals(out: pd.DataFrame, codes: np.ndarray, labels: list, h: str) -> pd.DataFrame:
    """Sums of the point estimates for the whole base and per group (rows in label order)."""
    cols = ["historical_clv", f"expected_purchases_{h}", f"predicted_clv_{h}", f"total_clv_{h}"]
    values = out[cols].to_numpy()
    rows = {"all customers": np.r_[len(out), values.sum(axis=0)]}
    for g, label in enumerate(labels):
        mask = codes == g
        rows[label] = np.r_[mask.sum(), values[mask].sum(axis=0)]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["customers", *cols])
    table["customers"] = table["customers"].astype(np.int64)
    table[f"mean_predicted_clv_{h}"] = table[f"predicted_clv_{h}"] / table["customers"]
    table.index.name = "group"
    return table


def p_alive_grid(
    purchase_model, *, T: float | None = None, max_frequency: int = 30, n_recency: int = 40
) -> pd.DataFrame:
    """P(alive) over a frequency × recency grid for customers of age ``T`` (the classic heat map's table).

    Parameters
    ----------
    purchase_model : BetaGeo or ParetoNBD
        Fitted model.
    T : float, optional
        Customers' age in the model's time unit; defaults to the largest ``T`` the model was fitted on.
    max_frequency : int
        Rows run over repeat purchases 0 … ``max_frequency``.
    n_recency : int
        Columns: ``n_recency`` recency values evenly spaced over [0, T].

    Returns
    -------
    DataFrame indexed by ``frequency`` with one column per recency value (in the model's time unit);
    ``attrs`` holds ``T`` and ``time_unit``. Cells with frequency 0 and recency > 0 are NaN (impossible).

    Examples
    --------
    >>> from clvlib.models import BetaGeo
    >>> model = BetaGeo()
    >>> model.params_ = pd.Series([0.243, 4.414, 0.793, 2.426], index=["r", "alpha", "a", "b"])
    >>> model.time_unit_ = "W"
    >>> grid = p_alive_grid(model, T=39, max_frequency=2, n_recency=3)
    >>> grid.loc[2].round(3).tolist()  # x = 2, t_x = 39: 1 / (1 + a / (b + 1)) = 0.812
    [0.025, 0.531, 0.812]
    """
    purchase_model._check_fitted()
    if T is None:
        T = float(getattr(purchase_model, "max_T_", None) or 52.0)
    recency = np.linspace(0.0, T, n_recency)
    freq = np.arange(max_frequency + 1, dtype=np.float64)
    x, t_x = np.meshgrid(freq, recency, indexing="ij")
    values = purchase_model._p_alive_fn(purchase_model.params_.to_numpy(), x.ravel(), t_x.ravel(),
                                        np.full(x.size, T)).reshape(x.shape)
    values[0, 1:] = np.nan
    grid = pd.DataFrame(values, index=pd.Index(freq.astype(int), name="frequency"),
                        columns=pd.Index(np.round(recency, 6), name="recency"))
    grid.attrs.update(T=T, time_unit=purchase_model.time_unit_)
    return grid
