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

The computation never calls Python per customer and never sorts the rows: customers become integer codes (a hash
encoding of the id column, ranked so the result is sorted by id), dates become integer days, and every figure is a
``bincount`` over the codes, except the distinct purchase days, which need one sort of a compact integer
(customer, day) key. For tables larger than memory, or a warehouse, see :mod:`clvlib.sql`.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._validation import check_time_unit, validate_columns
from .config import TIME_UNIT_NAMES
from .errors import DataError

__all__ = ["customer_summary", "calibration_holdout", "SUMMARY_COLUMNS", "describe_orders"]

SUMMARY_COLUMNS = [
    "frequency", "recency", "T", "monetary_value",
    "n_orders", "total_revenue", "aov", "first_order", "last_order",
]
_REQUIRED = ("customer_id", "order_date", "revenue")
_PARALLEL_ROWS = 1_000_000  # below this, a second thread costs more than it saves


def _arrow_strings(ids: pd.Series) -> pa.ChunkedArray | None:
    """The ids as an Arrow string array when pandas stores them in Arrow (pandas 3's default ``str``), else None."""
    to_arrow = getattr(ids.array, "__arrow_array__", None)
    if to_arrow is None:
        return None
    values = to_arrow()
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return values
    return None


def _encode_serial(values: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Arrow dictionary encoding: int32 indices (-1 for a missing id) and the distinct ids in first-seen order."""
    encoded = pc.dictionary_encode(values)
    if encoded.num_chunks == 0:
        return np.zeros(0, dtype=np.int32), pa.array([], type=values.type)
    # The chunks of a chunked dictionary encoding share one dictionary.
    indices = np.concatenate([pc.fill_null(c.indices, -1).to_numpy() for c in encoded.chunks])
    return indices, encoded.chunks[0].dictionary


def _encode_arrow(values: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """:func:`_encode_serial`, in two threads for large arrays.

    Hashing the ids is most of a summary's time, and Arrow's hash kernel is single-threaded but releases the GIL:
    each half is encoded in its own thread, then the second half's (small) dictionary is mapped onto the first's.
    """
    if len(values) < _PARALLEL_ROWS or (os.cpu_count() or 1) < 2:
        return _encode_serial(values)
    half = len(values) // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        (first, first_dict), (second, second_dict) = pool.map(
            _encode_serial, [values.slice(0, half), values.slice(half)]
        )
    position = pc.index_in(second_dict, value_set=first_dict)  # null: an id the first half never saw
    new = pc.is_null(position).to_numpy(zero_copy_only=False)
    mapping = np.empty(len(second_dict) + 1, dtype=np.int32)
    mapping[:-1] = pc.fill_null(position, -1).to_numpy(zero_copy_only=False)
    mapping[:-1][new] = len(first_dict) + np.arange(np.count_nonzero(new), dtype=np.int32)
    mapping[-1] = -1  # index -1 (a missing id) stays -1
    dictionary = pa.concat_arrays([first_dict, second_dict.filter(pa.array(new))])
    return np.concatenate([first, mapping[second]]), dictionary


def _customer_codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """int32 codes of the customer ids (-1 for a missing id), the distinct ids sorted, and the code of each.

    Hashing the ids is most of the cost of a summary on string ids, so each storage gets its cheapest encoder:
    categorical codes as they are, Arrow strings through Arrow's dictionary encoding (several times faster than
    ``pd.factorize`` on them), anything else through ``pd.factorize``. The codes stay in first-seen order: only
    the distinct ids are sorted, and per-customer results are put in that order at the end (``order[i]`` is the
    code of ``labels[i]``), which costs a sort of the customers rather than of the rows.
    """
    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes, categories = ids.cat.codes.to_numpy(), ids.cat.categories
        order = np.argsort(categories.to_numpy(), kind="stable")
        return codes.astype(np.int32), pd.Index(categories[order], name="customer_id"), order
    arrow = _arrow_strings(ids)
    if arrow is not None:
        codes, dictionary = _encode_arrow(arrow)
        order = pc.array_sort_indices(dictionary).to_numpy()
        labels = pd.Index(pd.array(dictionary.take(order), dtype=ids.dtype), name="customer_id")
        return codes, labels, order
    codes, labels = pd.factorize(ids, sort=True)
    return codes.astype(np.int32), pd.Index(labels, name="customer_id"), np.arange(len(labels))


def _days(dates: np.ndarray) -> np.ndarray:
    """Calendar dates (datetime64 of any unit) as int32 days since the epoch."""
    return dates.astype("datetime64[D]").view(np.int64).astype(np.int32)


def _iso(day: int) -> str:
    """A day number as an ISO date. Dates in ``attrs`` stay JSON-safe: pandas writes ``attrs`` with the frame (e.g.
    ``to_parquet``) and fails on a Timestamp there."""
    return str(np.datetime64(day, "D"))


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
    """Validate; return int32 customer codes, the sorted labels and their codes, int32 days and revenue (guests
    removed), and the number of guest orders."""
    validate_columns(orders, _REQUIRED, source=source, what="orders table")
    dates = orders["order_date"]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        raise DataError(
            f"{source}: column `order_date` must hold dates (datetime64), but has dtype {dates.dtype}; "
            "read the data with clvlib.read_transactions, or convert with pd.to_datetime."
        )
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)
    codes, labels, order = _customer_codes(orders["customer_id"])
    known = codes >= 0
    revenue = orders["revenue"].to_numpy(dtype=np.float64, na_value=np.nan)
    if (np.isnan(revenue) & known).any():
        raise DataError(f"{source}: column `revenue` has missing values; clean them with read_transactions first.")
    stamps = dates.to_numpy()
    if (np.isnat(stamps) & known).any():
        raise DataError(f"{source}: column `order_date` has missing dates.")
    days = _days(stamps)
    guests = int(codes.size - np.count_nonzero(known))
    if guests:
        codes, days, revenue = codes[known], days[known], revenue[known]
    return codes, (labels, order), days, revenue, guests


def _sorted_keys(codes: np.ndarray, days: np.ndarray, n_customers: int, d0: int) -> tuple[np.ndarray, int]:
    """The (customer, day) keys ``code * span + day - d0``, sorted, in int32 when they fit; and ``span``."""
    span = int(days.max()) - d0 + 1
    dtype = np.int32 if n_customers * span < 2**31 else np.int64
    key = codes.astype(dtype) * dtype(span)
    key += days - d0
    key.sort()  # radix/SIMD sort of plain integers: far cheaper than an argsort of the rows
    return key, span


def _day_counts(codes: np.ndarray, days: np.ndarray, n_customers: int):
    """Per customer: orders, distinct purchase days, first and last purchase day (int days)."""
    n_orders = np.bincount(codes, minlength=n_customers)
    if codes.size == 0:
        empty = np.zeros(n_customers, dtype=np.int64)
        return n_orders, empty, empty, empty
    d0 = int(days.min())
    key, span = _sorted_keys(codes, days, n_customers, d0)
    ends = np.cumsum(n_orders)
    starts = ends - n_orders
    present = n_orders > 0
    base = np.arange(n_customers, dtype=np.int64) * span - d0
    first_day = np.zeros(n_customers, dtype=np.int64)
    last_day = np.zeros(n_customers, dtype=np.int64)
    first_day[present] = key[starts[present]] - base[present]
    last_day[present] = key[ends[present] - 1] - base[present]
    # Rows that repeat a (customer, day) key are same-day orders: one purchase day each fewer.
    repeats = key[1:][key[1:] == key[:-1]] // span
    purchase_days = n_orders - np.bincount(repeats, minlength=n_customers)
    return n_orders, purchase_days, first_day, last_day


def _summarise(codes, customers, days, revenue, as_of_day: int, unit_days: float) -> tuple[pd.DataFrame, np.ndarray]:
    """The summary of customers with an order on or before ``as_of_day`` (days > as_of are already cut), sorted
    by id, and the code of each of its rows."""
    labels, order = customers
    n_customers = len(labels)
    n_orders, purchase_days, first_day, last_day = _day_counts(codes, days, n_customers)
    total = np.bincount(codes, weights=revenue, minlength=n_customers)
    on_first_day = days == first_day.astype(np.int32)[codes]
    first_revenue = np.bincount(codes[on_first_day], weights=revenue[on_first_day], minlength=n_customers)

    rows = np.flatnonzero(n_orders[order])  # positions among the sorted labels of customers with orders
    present = order[rows]  # and their codes
    n_orders, purchase_days, total = n_orders[present], purchase_days[present], total[present]
    first_day, last_day, first_revenue = first_day[present], last_day[present], first_revenue[present]
    frequency = (purchase_days - 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, (total - first_revenue) / frequency, 0.0)
    frame = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last_day - first_day) / unit_days,
            "T": (as_of_day - first_day) / unit_days,
            "monetary_value": monetary,
            "n_orders": n_orders.astype(np.int64),
            "total_revenue": total,
            "aov": total / n_orders,
            "first_order": first_day.astype("datetime64[D]").astype("datetime64[ns]"),
            "last_order": last_day.astype("datetime64[D]").astype("datetime64[ns]"),
        },
        index=labels[rows],
    )
    return frame, present


def customer_summary(orders: pd.DataFrame, *, as_of=None, time_unit: str = "D", warn: bool = True) -> pd.DataFrame:
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
    warn : bool, default True
        Warn (``UserWarning``) when orders are left out, naming how many: orders after ``as_of`` and guest
        orders. False when the caller states those counts itself (the report notebooks show them in the cleaning
        report); they are always in ``attrs["orders_after_as_of"]`` and ``attrs["guest_orders"]``.

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
    codes, customers, days, revenue, guests = _prepare(orders, "orders")
    as_of_day = _as_of_day(as_of, days, "as_of")
    keep = days <= as_of_day
    if not keep.all():
        codes, days, revenue = codes[keep], days[keep], revenue[keep]
    result, _ = _summarise(codes, customers, days, revenue, as_of_day, unit_days)
    result.attrs.update(
        time_unit=time_unit,
        time_unit_name=TIME_UNIT_NAMES[time_unit],
        as_of=_iso(as_of_day),
        guest_orders=guests,
        orders_after_as_of=int((~keep).sum()),
    )
    left_out = [f"{n:,} {what}" for n, what in ((int((~keep).sum()), f"order(s) after as_of {_iso(as_of_day)}"),
                                                  (guests, "guest order(s) (no customer id)")) if n]
    if warn and left_out:
        warnings.warn(f"customer_summary left out {' and '.join(left_out)}; the counts are in the result's attrs "
                      "(orders_after_as_of, guest_orders).", UserWarning, stacklevel=2)
    return result


def calibration_holdout(
    orders: pd.DataFrame,
    *,
    calibration_end,
    observation_end=None,
    time_unit: str = "D",
) -> pd.DataFrame:
    """Split orders at ``calibration_end``: a calibration summary plus what each customer did afterwards.

    Customers are those with a first order on or before ``calibration_end`` (the cohort a model is fitted on).

    Parameters
    ----------
    orders : DataFrame
        The orders table (output of :func:`clvlib.read_transactions`).
    calibration_end : date-like
        Last day of the calibration period (inclusive).
    observation_end : date-like, optional
        Last day of the holdout period (inclusive); the last order date when omitted.
    time_unit : {"D", "W", "M"}, default "D"
        Unit of ``recency``, ``T`` and ``duration_holdout``.

    Returns
    -------
    DataFrame indexed by ``customer_id``: the :func:`customer_summary` columns for the calibration period, plus
    ``frequency_holdout`` (distinct purchase days in the holdout period, all of them repeat purchases),
    ``revenue_holdout`` (net revenue in the holdout period) and ``duration_holdout`` (its length in ``time_unit``).
    """
    unit_days = check_time_unit(time_unit)
    codes, customers, days, revenue, guests = _prepare(orders, "orders")
    n_customers = len(customers[0])
    cal_day = _as_of_day(calibration_end, days, "calibration_end")
    obs_day = _as_of_day(observation_end, days, "observation_end")
    if obs_day <= cal_day:
        raise ValueError(
            f"`observation_end` ({np.datetime64(obs_day, 'D')}) must be after `calibration_end` "
            f"({np.datetime64(cal_day, 'D')})."
        )
    in_cal = days <= cal_day
    cal, present = _summarise(codes[in_cal], customers, days[in_cal], revenue[in_cal], cal_day, unit_days)

    in_hold = ~in_cal & (days <= obs_day)
    hcodes, hdays = codes[in_hold], days[in_hold]
    # Distinct purchase days, as in the calibration period: same-day orders are one purchase.
    _, freq_hold, _, _ = _day_counts(hcodes, hdays, n_customers)
    rev_hold = np.bincount(hcodes, weights=revenue[in_hold], minlength=n_customers)
    cal = cal.assign(
        frequency_holdout=freq_hold[present].astype(np.float64),
        revenue_holdout=rev_hold[present],
        duration_holdout=(obs_day - cal_day) / unit_days,
    )
    cal.attrs.update(
        time_unit=time_unit,
        time_unit_name=TIME_UNIT_NAMES[time_unit],
        as_of=_iso(cal_day),
        calibration_end=_iso(cal_day),
        observation_end=_iso(obs_day),
        guest_orders=guests,
    )
    return cal


def describe_orders(orders: pd.DataFrame, *, as_of=None, currency: str | None = None,
                    time_unit: str | None = None, margin: float | None = None) -> str:
    """The data's facts in one Markdown paragraph: orders, dates, customers, guest orders, and what money means.

    Parameters
    ----------
    orders : DataFrame
        Orders table (``customer_id``, ``order_date``).
    as_of : date-like, optional
        The analysis date, named when given.
    currency : str, optional
        ISO code of the money, named when given.
    time_unit : {"D", "W", "M"}, optional
        The models' time unit, named when given.
    margin : float, optional
        The margin rate CLV is computed with (:func:`clvlib.margin_rate`): below 1 CLV is gross margin, at 1
        revenue. Named when given.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b", None],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-01", "2024-03-31"])})
    >>> print(describe_orders(orders, currency="EUR", time_unit="W", margin=0.4))
    **4 orders** from 05 Jan 2024 to 31 Mar 2024, from **2 customers** (1 guest order counts towards store totals but not towards any customer). Money is in EUR. Time in the models is in **weeks**. CLV is **gross margin** (margin rate 40 %).
    """
    from .config import TIME_UNIT_NAMES
    from .formatting import escape_markdown, format_pct

    guests = int(orders["customer_id"].isna().sum())
    dates = orders["order_date"]
    text = (f"**{len(orders):,} orders** from {dates.min():%d %b %Y} to {dates.max():%d %b %Y}"
            + (f", analysed as of **{pd.Timestamp(as_of):%d %b %Y}**" if as_of is not None else "")
            + f", from **{orders['customer_id'].nunique():,} customers**")
    if guests:
        text += (f" ({guests:,} guest order{' counts' if guests == 1 else 's count'} towards store totals but not "
                 "towards any customer)")
    text += "."
    if currency is not None:
        text += f" Money is in {escape_markdown(currency)}."
    if time_unit is not None:
        text += f" Time in the models is in **{TIME_UNIT_NAMES[time_unit]}**."
    if margin is not None:
        text += f" CLV is **{'gross margin' if margin < 1 else 'revenue'}** (margin rate {format_pct(margin)})."
    return text
