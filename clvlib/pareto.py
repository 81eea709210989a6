"""How concentrated is a store's value: top shares, the Lorenz curve, Gini, one-time vs repeat customers.

All the per-customer functions take the customer table of :func:`clvlib.customer_summary` (indexed by
``customer_id``, or with a ``customer_id`` column; guests are not in it) and the name of the one column they rank
customers by, ``column`` (``"total_revenue"`` by default). Shares are fractions (0.67 is 67 %). The per-period
functions take the orders table instead, because a customer's value *within* a year or quarter is a sum of that
period's orders; they too leave guest orders out.

Ties never change a share: the top ``k`` customers' total is the same whichever of several equal customers is
counted at the boundary. Lists of customers (:func:`top_customers`) break ties by value, then by ``customer_id``,
so the same data always gives the same list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._validation import check_argument, customer_indexed, validate_columns
from .errors import DataError

__all__ = [
    "top_share", "lorenz_curve", "gini", "share_for_value", "repeat_split",
    "top_share_by_period", "repeat_split_by_period", "top_customers", "repeat_buyers", "customer_shares",
    "describe_repeat_split", "describe_concentration", "describe_top_share",
]

PERIODS = {"Y": "year", "Q": "quarter", "M": "month"}
REPEAT_GROUPS = ["one-time", "repeat"]


def _values(customers: pd.DataFrame, value: str) -> np.ndarray:
    """The ``value`` column as float64, checked: present, numeric, complete, non-negative, not all zero."""
    validate_columns(customers, [value], source="customers", what="customer table")
    column = customers[value]
    if not pd.api.types.is_numeric_dtype(column):
        raise DataError(f"customers: column `{value}` must be numeric to rank customers, but has dtype {column.dtype}.")
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    if values.size == 0:
        raise DataError("customers: the customer table is empty, so there are no shares to compute.")
    if np.isnan(values).any():
        bad = list(customers.index[np.isnan(values)][:3])
        raise DataError(f"customers: column `{value}` has missing values, e.g. for customers {bad}.")
    if (values < 0).any():
        bad = list(customers.index[values < 0][:3])
        raise DataError(
            f"customers: column `{value}` has negative values (e.g. customers {bad}); shares of a total are only "
            "meaningful for non-negative values."
        )
    if values.sum() == 0:
        raise DataError(f"customers: column `{value}` sums to 0, so no customer has a share of it.")
    return values


def _top_k(fraction: float, n):
    """``ceil(fraction × n)``, at least 1; rounded first so that 0.1 × 30 (3.0000000000000004) gives 3."""
    return np.maximum(1, np.ceil(np.round(fraction * np.asarray(n), 9))).astype(np.int64)


def _check_fraction(name: str, fraction: float) -> float:
    if not 0 < fraction <= 1:
        raise ValueError(f"`{name}` must be a share in (0, 1], but {fraction!r} was passed.")
    return float(fraction)


def top_share(
    customers: pd.DataFrame,
    *,
    fractions: Sequence[float] = (0.01, 0.05, 0.1, 0.2, 0.5),
    column: str = "total_revenue",
) -> pd.DataFrame:
    """Share of the total of ``column`` brought by the top ``fraction`` of customers.

    The top fraction ``f`` of ``n`` customers is the ``k = ceil(f × n)`` customers with the largest values (at
    least one customer, so in a store with fewer than ``1 / f`` customers "the top f" is the single best one).

    Parameters
    ----------
    customers : DataFrame
        Customer table (:func:`clvlib.customer_summary`); guests are not customers. Indexed by customer id, or
        with a ``customer_id`` column.
    fractions : sequence of float
        Shares of customers in (0, 1].
    column : str, default "total_revenue"
        Column to rank and sum, e.g. ``"total_revenue"`` or ``"n_orders"``.

    Returns
    -------
    DataFrame indexed by ``fraction`` with columns ``k`` (customers counted), ``customer_share`` (``k / n``, which
    exceeds the fraction when ``f × n`` is not whole), ``value`` (their total) and ``share`` (of the store total).

    Examples
    --------
    >>> customers = pd.DataFrame({"total_revenue": [50.0, 20, 10, 10, 10]}, index=list("abcde"))
    >>> top_share(customers, fractions=[0.2, 0.5, 1.0])
              k  customer_share  value  share
    fraction
    0.2       1             0.2   50.0    0.5
    0.5       3             0.6   80.0    0.8
    1.0       5             1.0  100.0    1.0
    """
    customers = customer_indexed(customers)
    values = np.sort(_values(customers, column))[::-1]
    n, total = values.size, values.sum()
    cumulative = np.cumsum(values)
    fractions = [_check_fraction("fractions", f) for f in fractions]
    k = _top_k(np.asarray(fractions, dtype=np.float64), n)
    top = cumulative[k - 1]
    return pd.DataFrame(
        {"k": k, "customer_share": k / n, "value": top, "share": top / total},
        index=pd.Index(fractions, name="fraction"),
    )


def lorenz_curve(customers: pd.DataFrame, *, column: str = "total_revenue") -> pd.DataFrame:
    """The Lorenz curve: cumulative share of value against cumulative share of customers, smallest first.

    Parameters
    ----------
    customers : DataFrame
        Customer table (:func:`clvlib.customer_summary`) with ``column``; indexed by customer id, or with a
        ``customer_id`` column.
    column : str, default "total_revenue"
        Column to rank and sum.

    Returns
    -------
    DataFrame with ``n + 1`` rows and columns ``customer_share`` and ``value_share``, from (0, 0) to (1, 1). The
    curve is convex and lies on or below the diagonal (the line of equal spend); the further below, the more
    concentrated the value. Read it from the top right: the point at ``customer_share`` 0.8 says what the bottom
    80 % make, so ``1 - value_share`` there is the top 20 %'s share.

    Examples
    --------
    >>> lorenz_curve(pd.DataFrame({"total_revenue": [30.0, 10.0]}))
       customer_share  value_share
    0             0.0         0.00
    1             0.5         0.25
    2             1.0         1.00
    """
    customers = customer_indexed(customers)
    values = np.sort(_values(customers, column))
    n = values.size
    return pd.DataFrame({
        "customer_share": np.arange(n + 1) / n,
        "value_share": np.r_[0.0, np.cumsum(values) / values.sum()],
    })


def gini(customers: pd.DataFrame, *, column: str = "total_revenue") -> float:
    """Gini coefficient of ``column`` across customers: 0 when all spend the same, near 1 when one makes it all.

    With values sorted ascending, :math:`x_{(1)} \\le \\dots \\le x_{(n)}`,

    .. math:: G = \\frac{\\sum_{i=1}^{n} (2i - n - 1)\\, x_{(i)}}{n \\sum_i x_i},

    which equals the mean absolute difference over twice the mean, and one minus twice the area under the
    (piecewise-linear) Lorenz curve. It is the sample form without small-sample correction, so one customer
    holding everything gives ``(n - 1) / n``, not 1.

    Parameters
    ----------
    customers : DataFrame
        Customer table (:func:`clvlib.customer_summary`) with ``column``; indexed by customer id, or with a
        ``customer_id`` column.
    column : str, default "total_revenue"
        Column to rank and sum.

    Examples
    --------
    >>> round(gini(pd.DataFrame({"total_revenue": [0.0, 0.0, 0.0, 10.0]})), 4)
    0.75
    """
    customers = customer_indexed(customers)
    values = np.sort(_values(customers, column))
    n = values.size
    weights = 2 * np.arange(1, n + 1) - n - 1
    return float(weights @ values / (n * values.sum()))


def share_for_value(customers: pd.DataFrame, *, target: float = 0.8, column: str = "total_revenue") -> float:
    """Smallest share of customers that together make at least ``target`` of the total of ``column``.

    The best customers are counted one by one until their running total reaches ``target`` × total; the result is
    how many were needed, divided by the number of customers. The "80/20 rule" says this is 0.2 for ``target=0.8``.

    Parameters
    ----------
    customers : DataFrame
        Customer table (:func:`clvlib.customer_summary`) with ``column``; indexed by customer id, or with a
        ``customer_id`` column.
    target : float, default 0.8
        Share of the total, in (0, 1].
    column : str, default "total_revenue"
        Column to rank and sum.

    Examples
    --------
    >>> share_for_value(pd.DataFrame({"total_revenue": [50.0, 30, 10, 5, 5]}), target=0.8)
    0.4
    """
    target = _check_fraction("target", target)
    customers = customer_indexed(customers)
    values = np.sort(_values(customers, column))[::-1]
    cumulative = np.cumsum(values) / values.sum()
    # A tolerance, so that a running share of 0.7999999999999999 counts as reaching 0.8.
    k = int(np.searchsorted(cumulative, target - 1e-12)) + 1
    return min(k, values.size) / values.size


def repeat_split(customers: pd.DataFrame) -> pd.DataFrame:
    """One-time vs repeat customers: how many, how much of the revenue, and the AOV of each group.

    A repeat customer placed more than one order (``n_orders > 1``; two orders on the same day count as two,
    unlike the lifetimes ``frequency``).

    Parameters
    ----------
    customers : DataFrame
        Customer table (:func:`clvlib.customer_summary`) with ``n_orders`` and ``total_revenue``; indexed by
        customer id, or with a ``customer_id`` column.

    Returns
    -------
    DataFrame indexed by ``group`` (``"one-time"``, ``"repeat"``) with columns ``customers``, ``orders``,
    ``revenue``, ``customer_share``, ``order_share``, ``revenue_share`` and ``aov`` (revenue / orders).

    Examples
    --------
    >>> customers = pd.DataFrame({"n_orders": [1, 1, 1, 3], "total_revenue": [10.0, 20, 30, 60]})
    >>> repeat_split(customers)[["customers", "customer_share", "revenue_share", "aov"]]
              customers  customer_share  revenue_share   aov
    group
    one-time          3            0.75            0.5  20.0
    repeat            1            0.25            0.5  20.0
    """
    customers = customer_indexed(customers)
    validate_columns(customers, ["n_orders", "total_revenue"], source="customers", what="customer table")
    revenue = _values(customers, "total_revenue")
    n_orders = customers["n_orders"].to_numpy(dtype=np.int64)
    repeat = n_orders > 1
    masks = (~repeat, repeat)
    table = pd.DataFrame(
        {
            "customers": [int(m.sum()) for m in masks],
            "orders": [int(n_orders[m].sum()) for m in masks],
            "revenue": [float(revenue[m].sum()) for m in masks],
        },
        index=pd.Index(REPEAT_GROUPS, name="group"),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return table.assign(
            customer_share=table["customers"] / table["customers"].sum(),
            order_share=table["orders"] / table["orders"].sum(),
            revenue_share=table["revenue"] / table["revenue"].sum(),
            aov=table["revenue"] / table["orders"].where(table["orders"] > 0),
        )


def _period_sums(orders: pd.DataFrame, freq: str, value: str) -> pd.DataFrame:
    """Known customers' ``value`` and order count per (period, customer), largest value first in each period."""
    check_argument("freq", list(PERIODS), freq)
    validate_columns(orders, ["customer_id", "order_date", value], source="orders", what="orders table")
    known = orders.loc[orders["customer_id"].notna(), ["customer_id", "order_date", value]]
    if known.empty:
        raise DataError("orders: no order has a `customer_id`, so there are no customers to compare.")
    frame = pd.DataFrame({
        "period": known["order_date"].dt.to_period(freq),
        "customer_id": known["customer_id"],
        "value": known[value].astype("float64"),
    })
    sums = frame.groupby(["period", "customer_id"], observed=True)["value"].agg(["sum", "size"]).reset_index()
    sums = sums.sort_values(["period", "sum", "customer_id"], ascending=[True, False, True], kind="mergesort")
    sums["rank"] = sums.groupby("period").cumcount()
    return sums


def top_share_by_period(
    orders: pd.DataFrame, *, freq: str = "Y", fraction: float = 0.2, value_column: str = "revenue",
) -> pd.DataFrame:
    """The top ``fraction`` of each period's customers and their share of that period's value, plus its Gini.

    A customer's value in a period is the sum of their orders in it; guest orders are left out.

    Parameters
    ----------
    orders : DataFrame
        Orders table (:func:`clvlib.read_transactions`).
    freq : {"Y", "Q", "M"}
        Calendar year, quarter or month. The first and last periods may be partial.
    fraction : float
        Share of each period's customers counted as its top (``k = ceil(fraction × n)``, as in :func:`top_share`).
    value_column : str, default "revenue"
        Orders column to sum per customer.

    Returns
    -------
    DataFrame indexed by ``period`` (a PeriodIndex) with columns ``customers`` (who ordered in the period),
    ``k``, ``total`` (the period's value from customers), ``top_total``, ``share`` (``top_total / total``) and
    ``gini`` (of the period's per-customer values, as in :func:`gini`).
    """
    fraction = _check_fraction("fraction", fraction)
    sums = _period_sums(orders, freq, value_column)
    group = sums.groupby("period")
    n = group["rank"].transform("size").to_numpy()
    k = _top_k(fraction, n)
    x = sums["sum"].to_numpy()
    rank = sums["rank"].to_numpy()
    # Gini from descending ranks r = 0..n-1: the ascending position is i = n - r, so 2i - n - 1 = n - 2r - 1.
    parts = pd.DataFrame({
        "period": sums["period"].to_numpy(),
        "customers": 1,
        "total": x,
        "top_total": np.where(rank < k, x, 0.0),
        "gini_num": (n - 2 * rank - 1) * x,
    })
    table = parts.groupby("period").sum()
    table.insert(1, "k", _top_k(fraction, table["customers"].to_numpy()))
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share"] = table["top_total"] / table["total"]
        table["gini"] = table.pop("gini_num") / (table["customers"] * table["total"])
    table.attrs.update(freq=freq, fraction=fraction, value=value_column)
    return table


def repeat_split_by_period(orders: pd.DataFrame, *, freq: str = "Y") -> pd.DataFrame:
    """One-time vs repeat customers within each period: the trend of :func:`repeat_split`.

    A customer is a repeat customer *of the period* when they placed more than one order in it; guest orders are
    left out.

    Returns
    -------
    DataFrame indexed by ``period`` with columns ``customers``, ``repeat_customers``, ``repeat_customer_share``,
    ``repeat_revenue_share``, ``one_time_aov`` and ``repeat_aov``.
    """
    sums = _period_sums(orders, freq, "revenue")
    repeat = sums["size"] > 1
    frame = pd.DataFrame({
        "period": sums["period"].to_numpy(),
        "customers": 1,
        "repeat_customers": repeat.astype(int).to_numpy(),
        "revenue": sums["sum"].to_numpy(),
        "repeat_revenue": sums["sum"].where(repeat, 0.0).to_numpy(),
        "orders": sums["size"].to_numpy(),
        "repeat_orders": sums["size"].where(repeat, 0).to_numpy(),
    })
    t = frame.groupby("period").sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "customers": t["customers"],
            "repeat_customers": t["repeat_customers"],
            "repeat_customer_share": t["repeat_customers"] / t["customers"],
            "repeat_revenue_share": t["repeat_revenue"] / t["revenue"],
            "one_time_aov": (t["revenue"] - t["repeat_revenue"]) / (t["orders"] - t["repeat_orders"]),
            "repeat_aov": t["repeat_revenue"] / t["repeat_orders"],
        })
    table.attrs.update(freq=freq)
    return table


def _ranked(customers: pd.DataFrame, value: str) -> pd.DataFrame:
    """Customers by ``value`` descending, ties by ``customer_id`` ascending, with rank and shares added."""
    values = _values(customers, value)
    ids = customers.index.to_numpy()
    order = np.lexsort((pd.factorize(ids, sort=True)[0], -values))
    ranked = customers.iloc[order]
    share = values[order] / values.sum()
    return ranked.assign(rank=np.arange(1, len(ranked) + 1), share=share, cumulative_share=np.cumsum(share))


def top_customers(customers: pd.DataFrame, *, n: int = 20, column: str = "total_revenue") -> pd.DataFrame:
    """The ``n`` best customers by ``column``, with their rank, share and running share of the total.

    Ties are broken by ``customer_id``, so the list is the same on every run. ``result.to_csv(path)`` exports it.

    Parameters
    ----------
    customers : DataFrame
        Customer table (:func:`clvlib.customer_summary`); indexed by customer id, or with a ``customer_id`` column.
    n : int, default 20
        Number of customers listed.
    column : str, default "total_revenue"
        Column to rank customers by.

    Returns
    -------
    DataFrame indexed by ``customer_id``: the customer table's columns plus ``rank`` (1 = best), ``share`` and
    ``cumulative_share`` of the total of ``column``.

    Examples
    --------
    >>> ids = pd.Index(["c", "b", "a"], name="customer_id")
    >>> customers = pd.DataFrame({"total_revenue": [5.0, 9.0, 9.0]}, index=ids)
    >>> top_customers(customers, n=2)[["total_revenue", "rank", "cumulative_share"]].round(2)
                 total_revenue  rank  cumulative_share
    customer_id
    a                      9.0     1              0.39
    b                      9.0     2              0.78
    """
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"`n` must be a positive whole number of customers, but {n!r} was passed.")
    return _ranked(customer_indexed(customers), column).head(n)


def repeat_buyers(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers with more than one order, best first by ``total_revenue`` (ties by ``customer_id``).

    Parameters
    ----------
    customers : DataFrame
        Customer table (:func:`clvlib.customer_summary`) with ``n_orders`` and ``total_revenue``; indexed by
        customer id, or with a ``customer_id`` column.

    Returns
    -------
    DataFrame indexed by ``customer_id``: the customer table's columns plus ``rank``, ``share`` and
    ``cumulative_share`` of *all* customers' revenue.
    """
    customers = customer_indexed(customers)
    validate_columns(customers, ["n_orders", "total_revenue"], source="customers", what="customer table")
    ranked = _ranked(customers, "total_revenue")
    repeat = ranked[ranked["n_orders"] > 1]
    return repeat.assign(rank=np.arange(1, len(repeat) + 1), cumulative_share=repeat["share"].cumsum())



def customer_shares(customers: pd.DataFrame, *, fraction: float = 0.2) -> pd.Series:
    """The shares every page quotes about customers, computed once: repeat rate, one-time share, top share.

    The report's pages (``01``, ``02``, ``03``) and the index all quote these figures; they come from this function
    (through :func:`repeat_split` and :func:`top_share`), so a figure is the same wherever it appears.

    Parameters
    ----------
    customers : DataFrame
        Customer table with ``n_orders`` and ``total_revenue`` (:func:`clvlib.customer_summary`, or
        :func:`clvlib.historical_clv`'s table); indexed by customer id, or with a ``customer_id`` column.
    fraction : float, default 0.2
        The "top" share of customers of ``top_share``.

    Returns
    -------
    Series with ``customers``, ``repeat_rate`` (share of customers with more than one order: ``n_orders > 1``,
    two orders on one day count as two), ``one_time_share`` (1 − ``repeat_rate``) and ``top_share`` (share of
    revenue from the top ``fraction`` of customers, ``ceil(fraction × n)`` of them). ``attrs["fraction"]``.

    Examples
    --------
    >>> customers = pd.DataFrame({"n_orders": [1, 1, 1, 3, 2], "total_revenue": [10.0, 20, 30, 60, 80]})
    >>> customer_shares(customers)
    customers         5.0
    repeat_rate       0.4
    one_time_share    0.6
    top_share         0.4
    dtype: float64
    """
    fraction = _check_fraction("fraction", fraction)
    customers = customer_indexed(customers)
    split = repeat_split(customers)
    top = top_share(customers, fractions=[fraction])
    shares = pd.Series({
        "customers": float(split["customers"].sum()),
        "repeat_rate": float(split.loc["repeat", "customer_share"]),
        "one_time_share": float(split.loc["one-time", "customer_share"]),
        "top_share": float(top["share"].iloc[0]),
    }, dtype="float64")
    shares.attrs["fraction"] = fraction
    return shares


def describe_repeat_split(split: pd.DataFrame, *, currency: str = "USD", convert: float = 0.1) -> str:
    """What one-time buyers are worth, and what converting some of them would add, as one Markdown sentence.

    Parameters
    ----------
    split : DataFrame
        :func:`repeat_split`'s table.
    currency : str
        ISO code used to write money (escaped for Markdown).
    convert : float, default 0.1
        The share of one-time buyers imagined turning into repeat customers.

    Returns
    -------
    str: the one-time buyers' share of customers and of revenue, the repeat customers' revenue per head and what
    ``convert`` of the one-time buyers would add at that rate (the difference of revenue per head × their number).

    Examples
    --------
    >>> customers = pd.DataFrame({"n_orders": [1, 1, 1, 3], "total_revenue": [10.0, 20, 30, 60]})
    >>> print(describe_repeat_split(repeat_split(customers), convert=0.5))
    75 % of customers bought once and made 50 % of revenue. Turning 50 % of them into repeat customers at the repeat customers' revenue per head (\\$60) would add about \\$60 of revenue.
    """
    from .formatting import format_pct, markdown_money

    one, rep = split.loc["one-time"], split.loc["repeat"]
    text = (f"{format_pct(one['customer_share'])} of customers bought once and made "
            f"{format_pct(one['revenue_share'])} of revenue.")
    if rep["customers"] == 0 or one["customers"] == 0:
        return text + (" Nobody came back yet." if rep["customers"] == 0 else " Every customer came back.")
    per_repeat, per_one = rep["revenue"] / rep["customers"], one["revenue"] / one["customers"]
    return (text + f" Turning {format_pct(convert)} of them into repeat customers at the repeat customers' revenue "
            f"per head ({markdown_money(per_repeat, currency)}) would add about "
            f"{markdown_money(convert * one['customers'] * (per_repeat - per_one), currency)} of revenue.")


def describe_concentration(customers: pd.DataFrame, *, column: str = "total_revenue", target: float = 0.8) -> str:
    """The Gini coefficient and the smallest group of customers making ``target`` of the value, in Markdown.

    Parameters
    ----------
    customers : DataFrame
        Customer table; indexed by customer id, or with a ``customer_id`` column.
    column : str, default "total_revenue"
        Column whose concentration is measured ("total_revenue" is called revenue, "n_orders" orders).
    target : float, default 0.8
        The share of the value the smallest group of customers makes.

    Examples
    --------
    >>> customers = pd.DataFrame({"total_revenue": [10.0, 10, 10, 10, 160]})
    >>> print(describe_concentration(customers))
    Gini coefficient: **0.60**. The smallest group of customers that makes 80 % of revenue is **20 %** of customers (1 person); the 80/20 rule would say 20 %.
    """
    from .formatting import escape_markdown, format_pct

    noun = {"total_revenue": "revenue", "n_orders": "orders"}.get(column) or escape_markdown(column)
    customers = customer_indexed(customers)
    share = share_for_value(customers, target=target, column=column)
    people = round(share * len(customers))
    return (f"Gini coefficient: **{gini(customers, column=column):.2f}**. The smallest group of customers that makes "
            f"{format_pct(target)} of {noun} is **{format_pct(share)}** of customers ({people:,} "
            f"{'person' if people == 1 else 'people'}); the 80/20 rule would say 20 %.")


def describe_top_share(customers: pd.DataFrame, *, column: str, fraction: float = 0.1, label: str = "CLV") -> str:
    """"The 10 % of customers with the highest CLV hold **X** of it." (:func:`top_share`), in Markdown.

    Parameters
    ----------
    customers : DataFrame
        Customer table with ``column`` (e.g. :func:`clvlib.predict_clv`'s ``result.table``); indexed by customer
        id, or with a ``customer_id`` column.
    column : str
        The value customers are ranked by.
    fraction : float, default 0.1
        The top share of customers.
    label : str, default "CLV"
        What the value is called in the sentence.

    Examples
    --------
    >>> print(describe_top_share(pd.DataFrame({"clv": [5.0, 5, 5, 5, 5, 5, 5, 5, 5, 55]}), column="clv"))
    The 10 % of customers with the highest CLV hold **55 %** of it.
    >>> print(describe_top_share(pd.DataFrame({"clv": [0.0, 0.0]}), column="clv"))
    No customer has any CLV yet.
    """
    from .formatting import escape_markdown, format_pct

    customers = customer_indexed(customers)
    values = customers[column] if column in customers.columns else pd.Series(dtype="float64")
    if values.empty or not values.sum() > 0 or (values < 0).any() or values.isna().any():
        return f"No customer has any {escape_markdown(label)} yet."
    share = top_share(customers, fractions=[fraction], column=column)["share"].iloc[0]
    return (f"The {format_pct(fraction)} of customers with the highest {escape_markdown(label)} hold "
            f"**{format_pct(share)}** of it.")
