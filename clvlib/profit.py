"""Profit per order and per customer: how far a customer's lifetime profit runs ahead of the first order's.

A first order worth $29 of gross margin can belong to a $304 customer. Acquisition budgets set against the first
order's profit starve the channels that bring customers who come back; :func:`profit_clv` and
:func:`profit_gap_table` put the two figures side by side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validation import customer_indexed, validate_columns
from .errors import DataError
from .formatting import format_pct

__all__ = ["describe_profit_gap", "order_profit", "margin_rate", "profit_clv", "profit_gap_table"]


def order_profit(orders: pd.DataFrame, *, margin: float | None = None) -> pd.Series:
    """Gross margin of each order: ``gross_margin``, else ``revenue − cost``, else ``revenue × margin``.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders table.
    margin : float, optional
        A share of revenue to use instead of the data's cost. None uses ``gross_margin`` or ``cost`` when present
        and otherwise the revenue itself (margin 1.0).

    Returns
    -------
    Series named ``gross_margin``, aligned with ``orders``.
    """
    validate_columns(orders, ("revenue",), source="orders", what="orders table")
    if margin is not None:
        profit = orders["revenue"] * float(margin)
    elif "gross_margin" in orders.columns:
        profit = orders["gross_margin"]
    elif "cost" in orders.columns:
        profit = orders["revenue"] - orders["cost"]
    else:
        profit = orders["revenue"]
    return profit.astype(np.float64).rename("gross_margin")


def margin_rate(orders: pd.DataFrame, *, margin: float | None = None) -> float:
    """The store's gross margin rate: a given ``margin``, else gross margin / revenue over all orders, else 1.0.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders table.
    margin : float, optional
        A known rate; returned as is (after a range check).

    Returns
    -------
    float
        Share of revenue kept as gross margin: from ``gross_margin`` or ``cost`` when the orders carry them (revenue
        CLV, 1.0, otherwise).

    Examples
    --------
    >>> margin_rate(pd.DataFrame({"revenue": [100.0, 300.0], "cost": [70.0, 150.0]}))
    0.45
    """
    if margin is not None:
        if not 0 < margin <= 1:
            raise ValueError(f"`margin` must be in (0, 1], but {margin!r} was passed.")
        return float(margin)
    revenue = float(orders["revenue"].sum()) if "revenue" in orders.columns else 0.0
    if not {"gross_margin", "cost"} & set(orders.columns) or revenue <= 0:
        return 1.0
    return float(order_profit(orders).sum()) / revenue


def profit_clv(
    orders: pd.DataFrame,
    *,
    as_of=None,
    margin: float | None = None,
    predicted: pd.Series | None = None,
) -> pd.DataFrame:
    """Each customer's first-order profit beside the profit of their whole history (and, optionally, the future).

    A store that judges acquisition by the first order's profit undervalues every customer who comes back; this
    table shows the gap.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders table (``customer_id``, ``order_date``, ``revenue``; the first order is the earliest by
        date, then by ``order_id`` when present). Guest orders are left out.
    as_of : date-like, optional
        Orders after it are ignored.
    margin : float, optional
        As in :func:`order_profit`: None uses the data's cost when present, else revenue.
    predicted : Series, optional
        Predicted future profit per customer (indexed by ``customer_id``), e.g. from a predictive CLV model.

    Returns
    -------
    DataFrame indexed by ``customer_id`` with ``n_orders``, ``first_order_revenue``, ``first_order_profit``,
    ``lifetime_revenue``, ``lifetime_profit`` (historical, to ``as_of``) and ``profit_multiple`` (lifetime /
    first-order profit; NaN when the first order made no profit); with ``predicted``, also ``predicted_profit``
    (0 where missing) and ``total_profit`` (lifetime + predicted).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05"]),
    ...                        "revenue": [100.0, 300.0, 50.0], "cost": [71.0, 200.0, 40.0]})
    >>> profit_clv(orders)[["first_order_profit", "lifetime_profit", "profit_multiple"]]
                 first_order_profit  lifetime_profit  profit_multiple
    customer_id
    a                          29.0            129.0         4.448276
    b                          10.0             10.0         1.000000
    """
    validate_columns(orders, ("customer_id", "order_date", "revenue"), source="orders", what="orders table")
    data = orders[orders["customer_id"].notna()]
    if as_of is not None:
        data = data[data["order_date"] <= pd.Timestamp(as_of)]
    data = data.assign(_profit=order_profit(data, margin=margin))
    keys = ["order_date", "order_id"] if "order_id" in data.columns else ["order_date"]
    data = data.sort_values(keys, kind="stable")
    first = data.drop_duplicates("customer_id").set_index("customer_id")
    grouped = data.groupby("customer_id", sort=True)
    table = pd.DataFrame({
        "n_orders": grouped.size().astype(np.int64),
        "first_order_revenue": first["revenue"].astype(np.float64),
        "first_order_profit": first["_profit"],
        "lifetime_revenue": grouped["revenue"].sum().astype(np.float64),
        "lifetime_profit": grouped["_profit"].sum(),
    })
    table.index.name = "customer_id"
    positive = table["first_order_profit"] > 0
    table["profit_multiple"] = (table["lifetime_profit"] / table["first_order_profit"]).where(positive)
    if predicted is not None:
        future = predicted.reindex(table.index).fillna(0.0).astype(np.float64)
        table["predicted_profit"] = future
        table["total_profit"] = table["lifetime_profit"] + future
    return table


def profit_gap_table(profits: pd.DataFrame, *, top_share: float = 0.1) -> pd.DataFrame:
    """Mean first-order profit against mean lifetime profit, for all, one-time, repeat and top customers.

    Parameters
    ----------
    profits : DataFrame
        Output of :func:`profit_clv`; indexed by customer id, or with a ``customer_id`` column.
    top_share : float, default 0.1
        Share of customers, by lifetime profit (or total profit when present), in the "top" row.

    Returns
    -------
    DataFrame indexed by ``group`` ("all customers", "one-time buyers", "repeat buyers", "top 10 %") with
    ``customers``, ``first_order_profit`` and ``lifetime_profit`` (means, money), ``multiple`` (ratio of the two
    means) and, when ``profits`` has them, ``total_profit`` (mean).
    """
    profits = customer_indexed(profits, "profit table")
    validate_columns(profits, ("n_orders", "first_order_profit", "lifetime_profit"), source="profits",
                     what="profit table")
    value = "total_profit" if "total_profit" in profits.columns else "lifetime_profit"
    n_top = max(1, int(np.ceil(top_share * len(profits))))
    groups = {
        "all customers": profits,
        "one-time buyers": profits[profits["n_orders"] == 1],
        "repeat buyers": profits[profits["n_orders"] > 1],
        f"top {format_pct(top_share)}": profits.nlargest(n_top, value),
    }
    columns = ["first_order_profit", "lifetime_profit"] + (["total_profit"] if value == "total_profit" else [])
    rows = {name: {"customers": len(g), **g[columns].mean().to_dict()} for name, g in groups.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "group"
    table["customers"] = table["customers"].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        table.insert(3, "multiple", table["lifetime_profit"] / table["first_order_profit"])
    return table


def describe_profit_gap(gap: pd.DataFrame, *, currency: str = "USD") -> str:
    """The first-order profit of repeat buyers against their lifetime profit, as one Markdown sentence.

    Parameters
    ----------
    gap : DataFrame
        Output of :func:`profit_gap_table`.
    currency : str
        ISO code for money.

    Examples
    --------
    >>> gap = pd.DataFrame({"customers": [2], "first_order_profit": [29.0], "lifetime_profit": [304.0],
    ...                     "multiple": [304 / 29]}, index=pd.Index(["repeat buyers"], name="group"))
    >>> print(describe_profit_gap(gap))  # doctest: +NORMALIZE_WHITESPACE
    A repeat buyer's first order made **\\$29** of profit on average, but over their life so far they brought
    **\\$304** — **10.5×** as much. A first order worth \\$29 can be a \\$304 customer: cut acquisition because
    the first order barely pays, and you lose the customers who come back.
    """
    from .formatting import markdown_money

    repeat = gap.loc["repeat buyers"] if "repeat buyers" in gap.index else None
    if repeat is None or repeat["customers"] == 0:
        return ("No customer has ordered twice yet, so a first order's profit cannot be set against a lifetime's: "
                "come back to this once customers return.")
    first = markdown_money(repeat["first_order_profit"], currency=currency)
    life = markdown_money(repeat["lifetime_profit"], currency=currency)
    multiple = f"**{repeat['multiple']:.1f}×** as much" if np.isfinite(repeat["multiple"]) else "far more"
    return (f"A repeat buyer's first order made **{first}** of profit on average, but over their life so far they "
            f"brought **{life}** — {multiple}. A first order worth {first} can be a {life} customer: cut "
            "acquisition because the first order barely pays, and you lose the customers who come back.")
