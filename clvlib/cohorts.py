"""Unit economics: where customers come from, what they cost, and how fast they pay it back.

* :func:`first_order_attributes` — each customer's acquisition channel, first product and monthly cohort;
* :func:`cac_by_channel` — customer acquisition cost = marketing spend / new customers, by channel and/or cohort;
* :func:`ltv_cac` — LTV:CAC, the value a customer brings per unit of money spent to acquire one;
* :func:`cumulative_value_curves`, :func:`cohort_revenue_table` — cumulative revenue (or margin) per customer by
  months since the first order;
* :func:`payback_curves`, :func:`cac_payback` — months until the cumulative margin per customer covers CAC;
* :func:`clv_by_group` — CLV by first product, channel or cohort.

**Months since the first order** are calendar months: 0 is the month of the first order, 1 the next calendar month,
and so on. A customer counts towards month ``m`` only once observed that long (cohort month + ``m`` ≤ the
``as_of`` month), so young cohorts never drag an older month's average down.

**Shapes.** ``marketing_spend`` has one row per month and channel: ``month`` (anything ``pd.Period``/``to_datetime``
reads: "2024-01", a date or a Period), ``channel`` (same labels as the orders) and ``spend`` (money). A *customer
table* is indexed by ``customer_id`` (or has a ``customer_id`` column) and has ``channel`` and ``first_order`` (or
``cohort``), as
:func:`first_order_attributes` returns, plus any CLV column. Customers without a channel are left out of channel
groups.

**As of a date.** Every function taking ``marketing_spend`` also takes ``as_of``: nothing dated after it is used.
The spend of a month counts when the month *starts* on or before ``as_of`` (the whole month's spend: spend is
recorded per month, and pro-rating would invent a daily pattern), and a customer counts as acquired when their
first order is on or before ``as_of``. At a month end, as in periodic reports, both cover exactly the same months;
at a mid-month ``as_of`` the last month's CAC is charged its whole spend against the customers acquired so far,
so compare CAC at month ends. Without ``as_of`` the whole spend table is used, as before; a spend month after the
last acquisition then draws a warning, as it usually means the orders were cut at a date and the spend was not.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ._validation import check_argument, customer_indexed, validate_columns
from .profit import order_profit
from .config import DATA_DIR, project_path
from .errors import DataError

__all__ = [
    "first_order_attributes", "cac_by_channel", "ltv_cac", "cumulative_value_curves", "cohort_revenue_table",
    "payback_curves", "cac_payback", "clv_by_group", "read_marketing_spend",
    "acquisition_table", "channel_ltv_cac", "channel_payback", "cohort_economics", "product_clv",
    "describe_acquisition", "describe_ltv_cac", "describe_first_products",
]

_GROUPINGS = ["channel", "cohort", "product", ("channel", "cohort")]


def _to_month(values: pd.Series) -> pd.Series:
    """Monthly periods from strings, dates or periods."""
    if isinstance(values.dtype, pd.PeriodDtype):
        return values.dt.asfreq("M")
    return pd.to_datetime(values).dt.to_period("M")


def _month_number(periods: pd.Series) -> np.ndarray:
    """Months since year 0, so that month differences are integer subtractions."""
    ts = periods.dt.to_timestamp()
    return (ts.dt.year * 12 + ts.dt.month - 1).to_numpy(dtype=np.int64)


def _keys(by) -> list[str]:
    check_argument("by", _GROUPINGS, tuple(by) if isinstance(by, list) else by)
    return list(by) if isinstance(by, (list, tuple)) else [by]


def _with_cohort(customers: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The customer table with a ``cohort`` column (month of the first order) when the grouping needs one."""
    if "cohort" in keys and "cohort" not in customers.columns:
        validate_columns(customers, ("first_order",), source="customers", what="customer table")
        return customers.assign(cohort=_to_month(customers["first_order"]))
    if "cohort" in customers.columns:
        return customers.assign(cohort=_to_month(customers["cohort"]))
    return customers


def first_order_attributes(orders: pd.DataFrame, *, as_of=None) -> pd.DataFrame:
    """The acquisition facts of each customer: date, monthly cohort, channel and product of the first order.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders table (``customer_id``, ``order_date``, ``revenue``; ``order_id``, ``channel`` and
        ``product`` when present). The first order is the earliest by date, then by ``order_id``. Guest orders are
        left out.
    as_of : date-like, optional
        Orders after it are ignored.

    Returns
    -------
    DataFrame indexed by ``customer_id`` with ``first_order`` (date), ``cohort`` (monthly ``Period``),
    ``first_order_revenue`` and, when the orders have them, ``first_order_id``, ``channel`` and ``product``.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b", "a"], "order_id": ["1", "2", "3"],
    ...     "order_date": pd.to_datetime(["2024-01-20", "2024-02-03", "2024-03-01"]),
    ...     "revenue": [30.0, 50.0, 20.0], "channel": ["email", "ads", "ads"]})
    >>> first_order_attributes(orders)[["cohort", "channel", "first_order_revenue"]]
                  cohort channel  first_order_revenue
    customer_id
    a            2024-01   email                 30.0
    b            2024-02     ads                 50.0
    """
    validate_columns(orders, ("customer_id", "order_date", "revenue"), source="orders", what="orders table")
    data = orders[orders["customer_id"].notna()]
    if as_of is not None:
        data = data[data["order_date"] <= pd.Timestamp(as_of)]
    keys = ["order_date", "order_id"] if "order_id" in data.columns else ["order_date"]
    first = data.sort_values(keys, kind="stable").drop_duplicates("customer_id").set_index("customer_id")
    table = pd.DataFrame({
        "first_order": first["order_date"],
        "cohort": _to_month(first["order_date"]),
        "first_order_revenue": first["revenue"].astype(np.float64),
    })
    for source, target in (("order_id", "first_order_id"), ("channel", "channel"), ("product", "product")):
        if source in first.columns:
            table[target] = first[source]
    return table.sort_index()


def _months_up_to(months: pd.Series, as_of) -> np.ndarray:
    """Which monthly periods start on or before ``as_of`` (the spend rule of the module docstring)."""
    return (months.dt.start_time <= pd.Timestamp(as_of).normalize()).to_numpy(dtype=bool)


def _spend_by_month(marketing_spend: pd.DataFrame, as_of=None) -> pd.DataFrame:
    validate_columns(marketing_spend, ("month", "channel", "spend"), source="marketing_spend",
                     what="marketing spend table")
    spend = marketing_spend.assign(cohort=_to_month(marketing_spend["month"]),
                                   spend=marketing_spend["spend"].astype(np.float64))
    return spend if as_of is None else spend[_months_up_to(spend["cohort"], as_of)]


def _acquired(customers: pd.DataFrame, spend: pd.DataFrame, keys: list[str], as_of=None) -> pd.DataFrame:
    """Customers acquired in the months the spend table covers (so spend and customers describe the same months),
    and, with ``as_of``, on or before it."""
    if "channel" in keys:
        validate_columns(customers, ("channel",), source="customers", what="customer table")
    frame = _with_cohort(customers, keys + ["cohort"])
    frame = frame[frame["cohort"].isin(set(spend["cohort"]))]
    if as_of is None:
        return frame
    if "first_order" in frame.columns:
        # Normalised like the orders table's dates, so a first order on the as_of day counts whatever its time.
        return frame[pd.to_datetime(frame["first_order"]).dt.normalize() <= pd.Timestamp(as_of).normalize()]
    return frame[_months_up_to(frame["cohort"], as_of)]  # only the month is known: the spend's rule


def _warn_spend_after(spend: pd.DataFrame, customers: pd.DataFrame, as_of) -> None:
    """Warn when, without ``as_of``, the spend runs past the last acquisition month (CAC would be overstated)."""
    if as_of is not None or spend.empty or customers.empty:
        return
    frame = _with_cohort(customers, ["cohort"])
    last = frame["cohort"].max()
    later = spend.loc[spend["cohort"] > last, "cohort"]
    if len(later):
        warnings.warn(
            f"marketing spend covers {later.nunique()} month(s) after the last acquisition ({last}), up to "
            f"{later.max()}: if the orders were cut at a date, pass the same `as_of` so that spend is cut too "
            "(else CAC counts spend that brought no customer in the data).", UserWarning, stacklevel=3)


def cac_by_channel(marketing_spend: pd.DataFrame, customers: pd.DataFrame, *, by="channel",
                   as_of=None) -> pd.DataFrame:
    """Customer acquisition cost: marketing spend divided by the new customers it brought, per group.

    Only customers whose first order falls in a month of ``marketing_spend`` are counted, so that spend and
    customers cover the same months. With ``as_of``, CAC = spend of the months starting on or before ``as_of`` /
    customers whose first order is on or before ``as_of`` (module docstring).

    Parameters
    ----------
    marketing_spend : DataFrame
        ``month``, ``channel``, ``spend`` (see the module docstring).
    customers : DataFrame
        Customer table with ``channel`` and ``first_order`` (or ``cohort``), e.g. :func:`first_order_attributes`;
        indexed by customer id, or with a ``customer_id`` column.
    by : {"channel", "cohort", ("channel", "cohort")}
        Grouping: acquisition channel, monthly cohort (all channels together) or both.
    as_of : date-like, optional
        Nothing dated after it is used: spend of later months, customers acquired later. None: all of both
        (with a warning when the spend runs past the last acquisition month).

    Returns
    -------
    DataFrame indexed by the grouping with ``spend`` (money), ``new_customers`` and ``cac`` (money per new
    customer; NaN where no customer was acquired). A channel with customers but no spend (e.g. organic) has CAC 0.
    ``attrs["as_of"]``: the ISO date used, or None.

    Examples
    --------
    >>> spend = pd.DataFrame({"month": ["2024-01", "2024-01"], "channel": ["ads", "email"], "spend": [300.0, 50.0]})
    >>> customers = pd.DataFrame({"channel": ["ads", "ads", "email"],
    ...     "first_order": pd.to_datetime(["2024-01-03", "2024-01-20", "2024-01-09"])})
    >>> cac_by_channel(spend, customers)
             spend  new_customers    cac
    channel
    ads      300.0              2  150.0
    email     50.0              1   50.0
    """
    keys = _keys(by)
    customers = customer_indexed(customers)
    spend = _spend_by_month(marketing_spend, as_of)
    acquired = _acquired(customers, spend, keys, as_of)
    _warn_spend_after(spend, customers, as_of)
    table = pd.concat(
        [spend.groupby(keys)["spend"].sum(), acquired.groupby(keys).size().rename("new_customers")], axis=1
    )
    table = table.fillna({"spend": 0.0, "new_customers": 0}).astype({"new_customers": np.int64})
    table["cac"] = (table["spend"] / table["new_customers"]).where(table["new_customers"] > 0)
    table = table.sort_index()
    table.attrs["as_of"] = None if as_of is None else pd.Timestamp(as_of).date().isoformat()
    return table


def ltv_cac(
    customers: pd.DataFrame, marketing_spend: pd.DataFrame, *, ltv_column: str = "clv", by="channel", as_of=None,
) -> pd.DataFrame:
    """LTV:CAC per group: the mean value of an acquired customer over what it cost to acquire one.

    A common rule of thumb: above 3 the channel pays well; below 1 each customer costs more than they bring.

    Parameters
    ----------
    customers : DataFrame
        Customer table with ``channel``, ``first_order`` (or ``cohort``) and the ``ltv_column`` column;
        indexed by customer id, or with a ``customer_id`` column.
    marketing_spend : DataFrame
        ``month``, ``channel``, ``spend``.
    ltv_column : str, default "clv"
        Column of ``customers`` holding each customer's lifetime value (historical or predicted, money).
    by : {"channel", "cohort", ("channel", "cohort")}
        Grouping.
    as_of : date-like, optional
        Nothing dated after it is used, as in :func:`cac_by_channel`; the mean LTV is over the same customers.

    Returns
    -------
    DataFrame indexed by the grouping with ``spend``, ``new_customers``, ``cac``, ``ltv`` (mean over the new
    customers, money) and ``ltv_cac`` (NaN where CAC is 0 or unknown).
    """
    keys = _keys(by)
    customers = customer_indexed(customers)
    validate_columns(customers, (ltv_column,), source="customers", what="customer table")
    spend = _spend_by_month(marketing_spend, as_of)
    with warnings.catch_warnings():  # cac_by_channel's warning about the spend is raised once, here
        warnings.simplefilter("ignore", UserWarning)
        table = cac_by_channel(marketing_spend, customers, by=by, as_of=as_of)
    _warn_spend_after(spend, customers, as_of)
    mean_ltv = _acquired(customers, spend, keys, as_of).groupby(keys)[ltv_column].mean()
    table["ltv"] = mean_ltv.reindex(table.index).astype(np.float64)
    table["ltv_cac"] = (table["ltv"] / table["cac"]).where(table["cac"] > 0)
    return table


def cumulative_value_curves(
    orders: pd.DataFrame,
    *,
    by: str = "cohort",
    value: str = "revenue",
    margin: float | None = None,
    as_of=None,
) -> pd.DataFrame:
    """Cumulative revenue (or gross margin) per customer by months since the first order, per group.

    The curve is the development (chain-ladder) estimate: the value a group's customers bring in month ``k`` after
    their first order is averaged over the customers observed for at least ``k`` months, and those monthly means are
    accumulated. Dividing each month's *cumulative* total by the customers observed that long instead would mix a
    different set of cohorts at every month, and the curve could fall where only the early cohorts remain; this one
    never falls while values are non-negative, and for a single cohort the two agree.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders table; groups come from the first order (:func:`first_order_attributes`).
    by : {"cohort", "channel", "product"}
        Grouping of customers.
    value : {"revenue", "gross_margin"}
        What accumulates; gross margin as in :func:`clvlib.order_profit` (``margin`` overrides the data's cost).
    margin : float, optional
        Share of revenue kept, when ``value="gross_margin"`` and the orders carry no cost.
    as_of : date-like, optional
        Orders after it are ignored; its month is the last month observed.

    Returns
    -------
    DataFrame with columns ``<by>``, ``months_since_first_order`` (0, 1, ...), ``customers`` (observed that long),
    ``cumulative_total`` (value those customers brought in months ``0..m``) and ``cumulative_per_customer`` (the
    development estimate, money). ``attrs["value"]`` names the value.
    """
    check_argument("by", ["cohort", "channel", "product"], by)
    check_argument("value", ["revenue", "gross_margin"], value)
    attrs = first_order_attributes(orders, as_of=as_of)
    validate_columns(attrs, (by,), source="orders", what="orders table")
    data = orders[orders["customer_id"].notna()]
    if as_of is not None:
        data = data[data["order_date"] <= pd.Timestamp(as_of)]
    amount = data["revenue"].astype(np.float64) if value == "revenue" else order_profit(data, margin=margin)
    last_month = int(_month_number(_to_month(data["order_date"])).max())
    cohort_no = pd.Series(_month_number(attrs["cohort"]), index=attrs.index)
    codes = attrs.index.get_indexer(data["customer_id"])
    offset = _month_number(_to_month(data["order_date"])) - cohort_no.to_numpy()[codes]
    per_cell = pd.DataFrame({
        "group": attrs[by].to_numpy()[codes], "start": cohort_no.to_numpy()[codes], "offset": offset,
        "amount": amount.to_numpy(),
    }).groupby(["group", "start", "offset"])["amount"].sum()
    months = np.arange(last_month - int(cohort_no.min()) + 1)
    # One row per (group, cohort): value by offset, blanked where the cohort is not yet that old.
    monthly = per_cell.unstack("offset", fill_value=0.0).reindex(columns=months, fill_value=0.0)
    starts = monthly.index.get_level_values("start").to_numpy()
    observed = starts[:, None] + months[None, :] <= last_month
    size = pd.DataFrame({"group": attrs[by].to_numpy(), "start": cohort_no.to_numpy()}).value_counts()
    counts = size.reindex(monthly.index).to_numpy()[:, None] * observed
    total = monthly.cumsum(axis=1).where(observed).groupby(level="group").sum(min_count=1)
    increments = monthly.where(observed).groupby(level="group").sum(min_count=1)
    customers = pd.DataFrame(counts, index=monthly.index, columns=months).groupby(level="group").sum()
    customers = customers.where(customers > 0)
    per_customer = (increments / customers).cumsum(axis=1, skipna=False)
    long = pd.DataFrame({
        "cumulative_total": total.stack(), "customers": customers.stack(),
        "cumulative_per_customer": per_customer.stack(),
    }).dropna()
    long.index.names = [by, "months_since_first_order"]
    long = long.reset_index().astype({"customers": np.int64})
    if by == "cohort":
        long["cohort"] = long["cohort"].astype(attrs["cohort"].dtype)
    long = long[[by, "months_since_first_order", "customers", "cumulative_total", "cumulative_per_customer"]]
    long.attrs["value"] = value
    return long


def cohort_revenue_table(orders: pd.DataFrame, *, value: str = "revenue", margin: float | None = None,
                         as_of=None) -> pd.DataFrame:
    """The classic cohort triangle: cumulative revenue per customer, cohort × months since the first order.

    Returns
    -------
    DataFrame indexed by ``cohort`` (monthly Period), one column per month since the first order (0, 1, ...),
    holding the cumulative value per customer (money; NaN where the cohort is not yet that old), plus
    ``customers`` (cohort size) as the first column. Parameters as in :func:`cumulative_value_curves`.
    """
    curves = cumulative_value_curves(orders, by="cohort", value=value, margin=margin, as_of=as_of)
    table = curves.pivot(index="cohort", columns="months_since_first_order", values="cumulative_per_customer")
    table.columns.name = "months_since_first_order"
    sizes = curves[curves["months_since_first_order"] == 0].set_index("cohort")["customers"]
    table.insert(0, "customers", sizes.reindex(table.index))
    return table


def payback_curves(
    orders: pd.DataFrame, marketing_spend: pd.DataFrame, *, by: str = "channel", margin: float | None = None,
    as_of=None,
) -> pd.DataFrame:
    """Cumulative gross margin per acquired customer beside the CAC it must cover, per channel or cohort.

    Only customers acquired in the months of ``marketing_spend`` are followed (the ones CAC is computed on).
    ``as_of`` cuts the orders and the spend alike: orders after it are ignored, and CAC is that of
    :func:`cac_by_channel` with the same ``as_of`` (spend of the months starting on or before it).

    Returns
    -------
    The :func:`cumulative_value_curves` table of gross margin (``by`` column, ``months_since_first_order``,
    ``customers``, ``cumulative_total``, ``cumulative_per_customer``) with a ``cac`` column from
    :func:`cac_by_channel`. ``by`` is "channel" or "cohort".
    """
    check_argument("by", ["channel", "cohort"], by)
    spend = _spend_by_month(marketing_spend, as_of)
    attrs = first_order_attributes(orders, as_of=as_of)
    keep = attrs.index[attrs["cohort"].isin(set(spend["cohort"]))]
    followed = orders[orders["customer_id"].isin(keep)]
    curves = cumulative_value_curves(followed, by=by, value="gross_margin", margin=margin, as_of=as_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cac = cac_by_channel(marketing_spend, attrs, by=by, as_of=as_of)["cac"]
    _warn_spend_after(spend, attrs, as_of)
    curves["cac"] = cac.reindex(curves[by].to_numpy()).to_numpy()
    return curves


def cac_payback(curves: pd.DataFrame) -> pd.DataFrame:
    """Months until the cumulative margin per customer covers CAC, per group, from :func:`payback_curves`.

    Returns
    -------
    DataFrame indexed by the group with ``cac``, ``customers`` (acquired), ``months_observed`` (the longest
    observed month since the first order), ``margin_to_date`` (cumulative margin per customer at that month),
    ``payback_months`` (the first month since the first order at which the margin covers CAC, 0 = the first
    month; NaN when not reached) and ``payback`` (the same in words: "3 months", "not yet (after 5 months)" or
    "no CAC").
    """
    group = curves.columns[0]
    validate_columns(curves, (group, "months_since_first_order", "customers", "cumulative_per_customer", "cac"),
                     source="curves", what="payback curves")
    ordered = curves.sort_values([group, "months_since_first_order"], kind="stable")
    grouped = ordered.groupby(group, sort=True)
    reached = ordered[ordered["cumulative_per_customer"] >= ordered["cac"]]
    table = pd.DataFrame({
        "cac": grouped["cac"].first(),
        "customers": grouped["customers"].first(),
        "months_observed": grouped["months_since_first_order"].max(),
        "margin_to_date": grouped["cumulative_per_customer"].last(),
    })
    table["payback_months"] = reached.groupby(group)["months_since_first_order"].min().reindex(table.index)
    words = np.where(
        table["cac"].isna(), "no CAC",
        np.where(table["payback_months"].notna(),
                 table["payback_months"].map(lambda m: f"{m:.0f} month{'s' if m != 1 else ''}"),
                 table["months_observed"].map(lambda m: f"not yet (after {m:.0f} months)")),
    )
    table["payback"] = pd.Series(words, index=table.index, dtype="str")
    return table


def clv_by_group(customers: pd.DataFrame, *, by: str = "product", clv_column: str = "clv") -> pd.DataFrame:
    """CLV per first product, channel or cohort: which acquisitions bring customers who come back.

    Parameters
    ----------
    customers : DataFrame
        Customer table with the ``by`` column (``cohort`` may come from ``first_order``) and ``clv_column``; with
        ``n_orders`` the repeat rate is added. Indexed by customer id, or with a ``customer_id`` column.
    by : {"product", "channel", "cohort"}
        Grouping.
    clv_column : str, default "clv"
        Column with each customer's lifetime value (money).

    Returns
    -------
    DataFrame indexed by the group, largest total first, with ``customers``, ``customer_share``, ``clv_mean``,
    ``clv_median``, ``clv_total``, ``clv_share`` and, with ``n_orders``, ``repeat_rate`` (share of customers with
    more than one order).

    Examples
    --------
    >>> customers = pd.DataFrame({"product": ["mug", "mug", "tea"], "clv": [10.0, 30.0, 60.0],
    ...                           "n_orders": [1, 3, 2]})
    >>> clv_by_group(customers)[["customers", "clv_mean", "clv_share", "repeat_rate"]]
             customers  clv_mean  clv_share  repeat_rate
    product
    tea              1      60.0        0.6          1.0
    mug              2      20.0        0.4          0.5
    """
    check_argument("by", ["product", "channel", "cohort"], by)
    frame = _with_cohort(customer_indexed(customers), [by])
    validate_columns(frame, (by, clv_column), source="customers", what="customer table")
    grouped = frame.groupby(by)
    table = pd.DataFrame({
        "customers": grouped.size(),
        "clv_mean": grouped[clv_column].mean(),
        "clv_median": grouped[clv_column].median(),
        "clv_total": grouped[clv_column].sum(),
    })
    table.insert(1, "customer_share", table["customers"] / table["customers"].sum())
    table["clv_share"] = table["clv_total"] / table["clv_total"].sum()
    if "n_orders" in frame.columns:
        table["repeat_rate"] = grouped["n_orders"].apply(lambda n: float((n > 1).mean()))
    return table.sort_values("clv_total", ascending=False, kind="stable")


def read_marketing_spend(source: str | Path | pd.DataFrame | None = None, *, as_of=None) -> pd.DataFrame:
    """Read a marketing spend table (CSV with ``month``, ``channel``, ``spend``), or the demo store's.

    Parameters
    ----------
    source : str, Path or DataFrame, optional
        A CSV file (or a DataFrame) with one row per month and channel; None reads the bundled demo store's. A
        relative path is taken relative to the project folder (:func:`clvlib.config.project_path`).
    as_of : date-like, optional
        Keep only the months that start on or before it: the month of ``as_of`` is kept whole (spend is known per
        month only; see the module docstring), later months are dropped. None keeps every month.

    Returns
    -------
    DataFrame with ``month`` (monthly Period), ``channel`` (str) and ``spend`` (float), one row per month and channel
    (repeated rows are summed). ``attrs``: ``as_of`` (ISO date or None) and ``months_after_as_of`` (months dropped).

    Examples
    --------
    >>> read_marketing_spend().columns.tolist()
    ['month', 'channel', 'spend']
    >>> read_marketing_spend(as_of="2024-03-15")["month"].max()
    Period('2024-03', 'M')
    """
    name = "marketing_spend" if isinstance(source, pd.DataFrame) else str(source or "demo store")
    if isinstance(source, pd.DataFrame):
        frame = source
    else:
        path = DATA_DIR / "demo_store" / "marketing_spend.csv" if source is None else project_path(source)
        frame = pd.read_csv(path, dtype={"month": "str", "channel": "str"})
    validate_columns(frame, ("month", "channel", "spend"), source=name, what="marketing spend table")
    spend = pd.to_numeric(frame["spend"], errors="coerce")
    if spend.isna().any() or (spend < 0).any():
        bad = frame.loc[spend.isna() | (spend < 0), "spend"].head(3).tolist()
        raise DataError(f"{name}: column `spend` must hold non-negative amounts, but has e.g. {bad}.")
    table = pd.DataFrame({"month": _to_month(frame["month"]), "channel": frame["channel"].astype("str"),
                          "spend": spend.astype(np.float64)})
    table = table.groupby(["month", "channel"], as_index=False, sort=True)["spend"].sum()
    dropped = 0
    if as_of is not None:
        kept = _months_up_to(table["month"], as_of)
        dropped = int(table.loc[~kept, "month"].nunique())
        table = table[kept].reset_index(drop=True)
    table.attrs = {"as_of": None if as_of is None else pd.Timestamp(as_of).date().isoformat(),
                   "months_after_as_of": dropped}
    return table


# --- The acquisition page's views: each returns its table, or an empty one whose attrs["skipped"] says why. ---

def _skipped(reason: str) -> pd.DataFrame:
    table = pd.DataFrame()
    table.attrs["skipped"] = reason
    return table


def _missing(customers: pd.DataFrame, marketing_spend, what: str, *, needs_spend: bool = True) -> str | None:
    """Why a view of the acquisition page cannot be computed (no channel column, no spend), or None."""
    lacks = []
    if "channel" not in customers.columns:
        lacks.append("a `channel` column in the orders")
    if needs_spend and marketing_spend is None:
        lacks.append("a marketing spend file (`marketing_spend=`)")
    return f"Skipped: {what} needs {' and '.join(lacks)}." if lacks else None


def acquisition_table(orders: pd.DataFrame, values: pd.DataFrame | None = None, *, as_of=None) -> pd.DataFrame:
    """One row per customer with the acquisition facts of :func:`first_order_attributes`, ``n_orders`` and CLV.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders table.
    values : DataFrame, optional
        Per-customer columns to add (indexed by customer id, or with a ``customer_id`` column), e.g.
        ``result.table[[result.ltv_column]]`` of :func:`clvlib.predict_clv`.
    as_of : date-like, optional
        Orders after it are ignored.

    Returns
    -------
    :func:`first_order_attributes`'s table with ``n_orders`` (orders up to ``as_of``) and the columns of
    ``values``.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b", "a"], "order_id": ["1", "2", "3"],
    ...     "order_date": pd.to_datetime(["2024-01-20", "2024-02-03", "2024-03-01"]),
    ...     "revenue": [30.0, 50.0, 20.0], "channel": ["email", "ads", "ads"]})
    >>> clv = pd.DataFrame({"clv": [80.0, 50.0]}, index=pd.Index(["a", "b"], name="customer_id"))
    >>> acquisition_table(orders, clv)[["channel", "n_orders", "clv"]]
                channel  n_orders   clv
    customer_id
    a             email         2  80.0
    b               ads         1  50.0
    """
    table = first_order_attributes(orders, as_of=as_of)
    known = orders[orders["customer_id"].notna()]
    if as_of is not None:
        known = known[known["order_date"] <= pd.Timestamp(as_of)]
    table["n_orders"] = known.groupby("customer_id").size().reindex(table.index).astype(np.int64)
    # Joined on the id: a `customer_id` column would join nothing (and come back as a column of its own).
    return table if values is None else table.join(customer_indexed(values, "values table"))


def channel_ltv_cac(customers: pd.DataFrame, marketing_spend: pd.DataFrame | None, *, ltv_column: str = "clv",
                    as_of=None) -> pd.DataFrame:
    """:func:`ltv_cac` by channel when the data allow it; else an empty table whose ``attrs["skipped"]`` says why.

    Parameters as in :func:`ltv_cac` (``customers`` indexed by customer id, or with a ``customer_id`` column); ``marketing_spend`` may be None (no
    spend file).

    Examples
    --------
    >>> customers = pd.DataFrame({"first_order": pd.to_datetime(["2024-01-03"]), "clv": [90.0]})
    >>> channel_ltv_cac(customers, None).attrs["skipped"]
    'Skipped: LTV:CAC needs a `channel` column in the orders and a marketing spend file (`marketing_spend=`).'
    """
    customers = customer_indexed(customers)
    reason = _missing(customers, marketing_spend, "LTV:CAC")
    if reason:
        return _skipped(reason)
    return ltv_cac(customers, marketing_spend, ltv_column=ltv_column, as_of=as_of)


def channel_payback(orders: pd.DataFrame, marketing_spend: pd.DataFrame | None, *, margin: float | None = None,
                    as_of=None) -> pd.DataFrame:
    """:func:`payback_curves` by channel when the data allow it; else an empty table with ``attrs["skipped"]``.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2024-01-03"]),
    ...                        "revenue": [10.0], "channel": ["ads"]})
    >>> channel_payback(orders, None).attrs["skipped"]
    'Skipped: payback needs a marketing spend file (`marketing_spend=`).'
    """
    reason = _missing(orders, marketing_spend, "payback")
    if reason:
        return _skipped(reason)
    return payback_curves(orders, marketing_spend, margin=margin, as_of=as_of)


def cohort_economics(customers: pd.DataFrame, orders: pd.DataFrame, marketing_spend: pd.DataFrame | None, *,
                     ltv_column: str = "clv", margin: float | None = None, as_of=None) -> pd.DataFrame:
    """CLV per monthly cohort (:func:`clv_by_group`), oldest first, with CAC, LTV:CAC and payback given spend.

    Parameters
    ----------
    customers : DataFrame
        :func:`acquisition_table`'s table with ``ltv_column``; indexed by customer id, or with a ``customer_id`` column.
    orders : DataFrame
        The orders (for the payback months).
    marketing_spend : DataFrame or None
        Spend; None leaves out ``cac``, ``ltv_cac`` and ``payback`` (``attrs["skipped"]`` says so).
    ltv_column, margin, as_of
        As in :func:`ltv_cac` and :func:`payback_curves`.

    Examples
    --------
    >>> customers = pd.DataFrame({"first_order": pd.to_datetime(["2024-01-03", "2024-02-09"]),
    ...                           "clv": [90.0, 30.0]})
    >>> cohort_economics(customers, None, None)[["customers", "clv_mean"]]
             customers  clv_mean
    cohort
    2024-01          1      90.0
    2024-02          1      30.0
    """
    customers = customer_indexed(customers)
    table = clv_by_group(customers, by="cohort", clv_column=ltv_column).sort_index()
    if marketing_spend is None:
        table.attrs["skipped"] = "No marketing spend file: CAC, LTV:CAC and payback by cohort are left out."
        return table
    ratio = ltv_cac(customers, marketing_spend, ltv_column=ltv_column, by="cohort", as_of=as_of)[["cac", "ltv_cac"]]
    payback = cac_payback(payback_curves(orders, marketing_spend, by="cohort", margin=margin, as_of=as_of))
    return table.join(ratio).join(payback[["payback"]])


def product_clv(customers: pd.DataFrame, *, clv_column: str = "clv") -> pd.DataFrame:
    """:func:`clv_by_group` by first product, or an empty table whose ``attrs["skipped"]`` says why (no product).

    Parameters
    ----------
    customers : DataFrame
        Customer table with ``product`` and ``clv_column``; indexed by customer id, or with a ``customer_id`` column.
    clv_column : str, default "clv"
        Column with each customer's lifetime value (money).

    Examples
    --------
    >>> product_clv(pd.DataFrame({"clv": [1.0]})).attrs["skipped"]
    'Skipped: the orders have no `product` column, so there is no CLV by first product.'
    """
    customers = customer_indexed(customers)
    if "product" not in customers.columns:
        return _skipped("Skipped: the orders have no `product` column, so there is no CLV by first product.")
    return clv_by_group(customers, by="product", clv_column=clv_column)


def describe_acquisition(customers: pd.DataFrame, marketing_spend: pd.DataFrame | None, *, ltv_column: str,
                         ltv_label: str, currency: str = "USD", as_of=None) -> str:
    """What the acquisition page measures LTV with, the spend it charges, and the views skipped (Markdown).

    Parameters
    ----------
    customers : DataFrame
        Customer table (for its columns: without ``channel`` the channel views are skipped); indexed by customer id, or with a ``customer_id`` column.
    marketing_spend : DataFrame or None
        Spend (``month``, ``channel``, ``spend``), or None when there is no spend file.
    ltv_column, ltv_label : str
        The column LTV is read from and what it measures, in words.
    currency : str
        ISO code used to write money.
    as_of : date-like, optional
        The date the spend is cut at, named in the sentence.

    Examples
    --------
    >>> spend = pd.DataFrame({"month": ["2024-01", "2024-02"], "channel": ["ads", "ads"], "spend": [300.0, 100.0]})
    >>> customers = pd.DataFrame({"channel": ["ads"], "clv": [90.0]})
    >>> print(describe_acquisition(customers, spend, ltv_column="clv", ltv_label="revenue to date",
    ...                            as_of="2024-02-29"))
    LTV is the revenue to date (`clv`). Marketing spend up to 29 Feb 2024: \\$400 over 2 months.
    """
    from .formatting import escape_markdown, markdown_money

    customers = customer_indexed(customers)
    notes = [f"LTV is the {escape_markdown(ltv_label)} (`{ltv_column}`)."]
    if marketing_spend is None:
        notes.append("No marketing spend file: CAC, LTV:CAC and payback are skipped (pass `marketing_spend=`).")
    else:
        until = f" up to {pd.Timestamp(as_of):%d %b %Y}" if as_of is not None else ""
        months = marketing_spend["month"].nunique()
        notes.append(f"Marketing spend{until}: {markdown_money(float(marketing_spend['spend'].sum()), currency)} "
                     f"over {months} month{'' if months == 1 else 's'}.")
    if "channel" not in customers.columns:
        notes.append("The orders have no `channel` column: the channel views are skipped.")
    return " ".join(notes)


def describe_ltv_cac(table: pd.DataFrame, *, target: float = 3.0) -> str:
    """The best and the worst channel by LTV:CAC and the channels below ``target`` (Markdown, names escaped).

    Parameters
    ----------
    table : DataFrame
        :func:`channel_ltv_cac`'s (or :func:`ltv_cac`'s) table; a skipped table gives its reason.
    target : float, default 3.0
        The LTV:CAC a channel should reach (3:1, the rule of thumb).

    Examples
    --------
    >>> table = pd.DataFrame({"ltv_cac": [4.5, 1.2, 2.0, float("nan")]},
    ...                      index=pd.Index(["email", "ads", "social", "organic"], name="channel"))
    >>> print(describe_ltv_cac(table))
    **email** returns the most per unit of spend (**4.5:1**), **ads** the least (**1.2:1**). Channels below the 3:1 target: ads, social.
    """
    from .formatting import escape_markdown

    if table.attrs.get("skipped"):
        return table.attrs["skipped"]
    ranked = table["ltv_cac"].dropna().sort_values(kind="stable")
    if ranked.empty:
        return "No channel has both spend and acquired customers, so LTV:CAC is not defined for any channel."
    below = ", ".join(escape_markdown(name) for name in ranked[ranked < target].index) or "none"
    best, worst = escape_markdown(ranked.index[-1]), escape_markdown(ranked.index[0])
    if len(ranked) == 1:
        return f"**{best}** is the only channel with an LTV:CAC: **{ranked.iloc[0]:.1f}:1** (target {target:g}:1)."
    return (f"**{best}** returns the most per unit of spend (**{ranked.iloc[-1]:.1f}:1**), **{worst}** the least "
            f"(**{ranked.iloc[0]:.1f}:1**). Channels below the {target:g}:1 target: {below}.")


def describe_first_products(table: pd.DataFrame, *, currency: str = "USD") -> str:
    """The first products whose customers are worth the most and the least on average (Markdown, names escaped).

    Parameters
    ----------
    table : DataFrame
        :func:`product_clv`'s (or :func:`clv_by_group`'s) table, with ``clv_mean`` and ``repeat_rate``; a skipped
        table gives its reason.
    currency : str
        ISO code used to write money.

    Examples
    --------
    >>> customers = pd.DataFrame({"product": ["mug", "mug", "tea"], "clv": [10.0, 30.0, 60.0],
    ...                           "n_orders": [1, 3, 2]})
    >>> print(describe_first_products(product_clv(customers)))
    Customers whose first purchase was **tea** are worth the most on average (**\\$60**, 100 % came back); **mug** starters the least (**\\$20**).
    """
    from .formatting import escape_markdown, format_pct, markdown_money

    if table.attrs.get("skipped"):
        return table.attrs["skipped"]
    means = table["clv_mean"].dropna()
    if means.empty:
        return "No first product has a CLV to compare."
    best, worst = means.idxmax(), means.idxmin()
    came_back = (f", {format_pct(table.loc[best, 'repeat_rate'])} came back" if "repeat_rate" in table.columns
                 else "")
    return (f"Customers whose first purchase was **{escape_markdown(best)}** are worth the most on average "
            f"(**{markdown_money(means[best], currency)}**{came_back}); **{escape_markdown(worst)}** starters the "
            f"least (**{markdown_money(means[worst], currency)}**).")
