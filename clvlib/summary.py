"""Per-customer summary of an orders table: the lifetimes/BTYD inputs and the everyday figures.

The shape of the result (one row per customer, indexed by ``customer_id``):

=================  ===========================================================================================
``frequency``      number of *repeat* purchase periods: distinct purchase days after the first (lifetimes'
                   convention; several orders on one day are one purchase, their amounts summed)
``recency``        time from the first to the last purchase, in ``time_unit`` (0 when frequency is 0)
``T``              time from the first purchase to ``as_of``, in ``time_unit``
``monetary_value`` mean value of the repeat purchase days (0 when frequency is 0, as in lifetimes)
``n_orders``       orders placed (counting each order, even several on one day)
``total_revenue``  net revenue of all the customer's orders
``aov``            average order value, ``total_revenue / n_orders``
``first_order``    date of the first order; ``last_order`` date of the last order up to ``as_of``
=================  ===========================================================================================

The computation never calls Python per customer: customers are integer-coded, dates become integer days, and one
sort of a combined (customer, day) key gives every per-customer figure through ``reduceat``/``bincount``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validation import check_time_unit, validate_columns
from .config import TIME_UNIT_NAMES
from .errors import DataError

__all__ = ["customer_summary", "calibration_holdout", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = [
    "frequency", "recency", "T", "monetary_value",
    "n_orders", "total_revenue", "aov", "first_order", "last_order",
]
_REQUIRED = ("customer_id", "order_date", "revenue")


def _to_day(values) -> np.ndarray:
    """Calendar dates as int64 days since the epoch."""
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _as_of_day(as_of, days: np.ndarray, what: str) -> int:
    if as_of is None:
        if days.size == 0:
            raise DataError(f"orders: no orders to summarise, so `{what}` cannot default to the last order date.")
        return int(days.max())
    stamp = pd.Timestamp(as_of)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return int(np.datetime64(stamp.normalize().to_datetime64(), "D").astype(np.int64))


def _prepare(orders: pd.DataFrame, source: str):
    """Validate and return integer customer codes, the customer labels, days and revenue (guests removed)."""
    validate_columns(orders, _REQUIRED, source=source, what="orders table")
    ids = orders["customer_id"]
    known = ids.notna().to_numpy()
    revenue = orders["revenue"].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(revenue[known]).any():
        raise DataError(f"{source}: column `revenue` has missing values; clean them with read_transactions first.")
    dates = orders["order_date"]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        raise DataError(
            f"{source}: column `order_date` must hold dates (datetime64), but has dtype {dates.dtype}; "
            "read the data with clvlib.read_transactions, or convert with pd.to_datetime."
        )
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)
    if dates[known].isna().any():
        raise DataError(f"{source}: column `order_date` has missing dates.")
    if not known.all():
        ids, dates, revenue = ids[known], dates[known], revenue[known]
    codes, labels = pd.factorize(ids, sort=True)
    return codes.astype(np.int64), labels, _to_day(dates), revenue, int((~known).sum())


def _summarise(codes, labels, days, revenue, as_of_day: int, unit_days: float) -> pd.DataFrame:
    """The summary of customers whose first order is on or before ``as_of_day`` (days > as_of are already cut)."""
    n_customers = len(labels)
    if codes.size == 0:
        frame = pd.DataFrame(columns=SUMMARY_COLUMNS, index=pd.Index(labels[:0], name="customer_id"))
        return frame.astype({c: "float64" for c in SUMMARY_COLUMNS[:7]})
    d0 = int(days.min())
    span = int(days.max()) - d0 + 1
    key = codes * span + (days - d0)
    order = np.argsort(key, kind="stable")
    skey = key[order]
    starts = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]])
    day_revenue = np.add.reduceat(revenue[order], starts)
    group_key = skey[starts]
    group_cust = group_key // span
    group_day = group_key % span + d0

    purchase_days = np.bincount(group_cust, minlength=n_customers)
    present = purchase_days > 0
    first_idx = np.r_[0, np.cumsum(purchase_days)[:-1]]
    last_idx = np.cumsum(purchase_days) - 1
    first_day = np.where(present, group_day[np.minimum(first_idx, len(group_day) - 1)], 0)
    last_day = np.where(present, group_day[np.minimum(last_idx, len(group_day) - 1)], 0)
    first_revenue = np.where(present, day_revenue[np.minimum(first_idx, len(group_day) - 1)], 0.0)
    total = np.bincount(codes, weights=revenue, minlength=n_customers)
    n_orders = np.bincount(codes, minlength=n_customers)

    frequency = np.maximum(purchase_days - 1, 0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, (total - first_revenue) / frequency, 0.0)
        aov = np.where(n_orders > 0, total / n_orders, np.nan)
    frame = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last_day - first_day) / unit_days,
            "T": (as_of_day - first_day) / unit_days,
            "monetary_value": monetary,
            "n_orders": n_orders.astype(np.int64),
            "total_revenue": total,
            "aov": aov,
            "first_order": first_day.astype("datetime64[D]").astype("datetime64[ns]"),
            "last_order": last_day.astype("datetime64[D]").astype("datetime64[ns]"),
        },
        index=pd.Index(labels, name="customer_id"),
    )
    return frame[present]


def customer_summary(orders: pd.DataFrame, *, as_of=None, time_unit: str = "D") -> pd.DataFrame:
    """Summarise an orders table into one row per customer.

    Parameters
    ----------
    orders : DataFrame
        One row per order with ``customer_id``, ``order_date`` (datetime64) and ``revenue``, as returned by
        :func:`clvlib.read_transactions`. Guest orders (``customer_id`` missing) are left out of customer metrics;
        their count is in ``result.attrs["guest_orders"]``.
    as_of : date-like, optional
        End of the observation period. Orders after it are ignored; ``T`` is measured to it. Defaults to the last
        order date.
    time_unit : {"D", "W", "M"}
        Unit of ``recency`` and ``T``: days, weeks (7 days) or months (30.4375 days). Fractional, as in the
        literature; recorded in ``result.attrs["time_unit"]``.

    Returns
    -------
    DataFrame indexed by ``customer_id`` with columns ``frequency, recency, T, monetary_value, n_orders,
    total_revenue, aov, first_order, last_order`` (see the module docstring).

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-10"]),
    ...     "revenue": [10.0, 5.0, 30.0, 20.0],
    ... })
    >>> customer_summary(orders, as_of="2024-01-31")[["frequency", "recency", "T", "monetary_value", "n_orders"]]
                 frequency  recency     T  monetary_value  n_orders
    customer_id
    a                  1.0     14.0  30.0            30.0         3
    b                  0.0      0.0  21.0             0.0         1
    """
    unit_days = check_time_unit(time_unit)
    codes, labels, days, revenue, guests = _prepare(orders, "orders")
    as_of_day = _as_of_day(as_of, days, "as_of")
    keep = days <= as_of_day
    if not keep.all():
        codes, days, revenue = codes[keep], days[keep], revenue[keep]
    result = _summarise(codes, labels, days, revenue, as_of_day, unit_days)
    result.attrs.update(
        time_unit=time_unit,
        time_unit_name=TIME_UNIT_NAMES[time_unit],
        as_of=pd.Timestamp(np.datetime64(as_of_day, "D")),
        guest_orders=guests,
        orders_after_as_of=int((~keep).sum()),
    )
    return result


def calibration_holdout(
    orders: pd.DataFrame,
    calibration_end,
    observation_end=None,
    time_unit: str = "D",
) -> pd.DataFrame:
    """Split orders at ``calibration_end``: a calibration summary plus what each customer did afterwards.

    Customers are those with a first order on or before ``calibration_end`` (the cohort a model is fitted on).

    Returns
    -------
    DataFrame indexed by ``customer_id``: the :func:`customer_summary` columns for the calibration period, plus
    ``frequency_holdout`` (distinct purchase days in the holdout period, all of them repeat purchases),
    ``revenue_holdout`` (net revenue in the holdout period) and ``duration_holdout`` (its length in ``time_unit``).
    """
    unit_days = check_time_unit(time_unit)
    codes, labels, days, revenue, guests = _prepare(orders, "orders")
    cal_day = _as_of_day(calibration_end, days, "calibration_end")
    obs_day = _as_of_day(observation_end, days, "observation_end")
    if obs_day <= cal_day:
        raise ValueError(
            f"`observation_end` ({np.datetime64(obs_day, 'D')}) must be after `calibration_end` "
            f"({np.datetime64(cal_day, 'D')})."
        )
    in_cal = days <= cal_day
    cal = _summarise(codes[in_cal], labels, days[in_cal], revenue[in_cal], cal_day, unit_days)

    in_hold = ~in_cal & (days <= obs_day)
    hcodes, hdays = codes[in_hold], days[in_hold]
    # Distinct (customer, day) pairs: same-day orders are one purchase, as in the calibration period.
    pair = np.unique(hcodes * (obs_day - cal_day + 1) + (hdays - cal_day))
    n_customers = len(labels)
    freq_hold = np.bincount(pair // (obs_day - cal_day + 1), minlength=n_customers)
    rev_hold = np.bincount(hcodes, weights=revenue[in_hold], minlength=n_customers)
    position = labels.get_indexer(cal.index)
    cal = cal.assign(
        frequency_holdout=freq_hold[position].astype(np.float64),
        revenue_holdout=rev_hold[position],
        duration_holdout=(obs_day - cal_day) / unit_days,
    )
    cal.attrs.update(
        time_unit=time_unit,
        time_unit_name=TIME_UNIT_NAMES[time_unit],
        as_of=pd.Timestamp(np.datetime64(cal_day, "D")),
        calibration_end=pd.Timestamp(np.datetime64(cal_day, "D")),
        observation_end=pd.Timestamp(np.datetime64(obs_day, "D")),
        guest_orders=guests,
    )
    return cal
