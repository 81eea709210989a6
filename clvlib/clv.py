"""Customer lifetime value by formula: the teaching formula, the store's own inputs, historical and profit CLV.

Three ways to put a number on a customer, from the simplest to the one the models (``clvlib.models``) refine:

* the **simple formula**, ``AOV × purchases per year × years × margin`` (:func:`simple_clv`), with its inputs
  estimated from the store's orders (:func:`store_clv_inputs`) and a what-if table (:func:`what_if_table`);
* the **retention formula** of Gupta & Lehmann, ``m · r / (1 + d − r)`` (:func:`retention_clv`);
* **historical CLV**, what each customer has brought so far (:func:`historical_clv`), and its profit version,
  whose profit version (:mod:`clvlib.profit`) shows how far a customer's lifetime profit runs ahead of the
  first order's.

Money is in the orders' currency; rates are fractions (0.1 = 10 %).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validation import customer_indexed, validate_columns
from .errors import DataError
from .formatting import format_pct
from .profit import order_profit

__all__ = ["simple_clv", "retention_clv", "what_if_table", "store_clv_inputs", "describe_store_inputs",
           "historical_clv", "describe_historical_clv"]


def _shape_like(values: np.ndarray, *inputs):
    """Return ``values`` as a float for scalar inputs, a Series when an input was a Series, else an array."""
    if values.ndim == 0:
        return float(values)
    for x in inputs:
        if isinstance(x, pd.Series) and len(x) == values.shape[0]:
            return pd.Series(values, index=x.index)
    return values


def _annuity_years(years: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Present value of one unit a year for ``years`` years, paid at the end of each year.

    A final fraction ``f`` of a year pays ``f`` units at the end of the customer's life (time ``years``).
    """
    whole = np.floor(years)
    part = years - whole
    with np.errstate(divide="ignore", invalid="ignore"):
        # Geometric sum of (1 + d)^-k for k = 1..n; its limit at d = 0 is n.
        whole_years = np.where(rate == 0, whole, (1 - (1 + rate) ** -whole) / np.where(rate == 0, 1, rate))
    return whole_years + part * (1 + rate) ** -years


def simple_clv(*, aov, purchases_per_year, years, margin=1.0, annual_discount_rate=0.0):
    """The teaching formula: average order value × purchases per year × years as a customer × margin.

    Without discounting, ``CLV = aov × purchases_per_year × years × margin``. With an annual discount rate ``d``,
    the yearly value ``V = aov × purchases_per_year × margin`` is received at the *end* of each year of life and
    discounted, ``CLV = V × Σ_{k=1..n} (1 + d)^-k + f × V × (1 + d)^-Y``, where ``Y = n + f`` is the (possibly
    fractional) lifespan in years: a last partial year ``f`` brings ``f × V``, received when the customer leaves.

    Parameters
    ----------
    aov : float or array-like
        Average order value (money).
    purchases_per_year : float or array-like
        Orders per customer per year.
    years : float or array-like
        Expected years as a customer (fractional allowed, ≥ 0).
    margin : float or array-like, default 1.0
        Share of revenue kept as gross profit (1.0 = revenue CLV).
    annual_discount_rate : float or array-like, default 0.0
        Yearly discount rate ``d`` (> −1).

    Returns
    -------
    float, ndarray or Series
        CLV in money; a Series (same index) when an input is a Series, an array for other array inputs.

    Examples
    --------
    >>> simple_clv(aov=200, purchases_per_year=4, years=3)          # $200 × 4 a year × 3 years
    2400.0
    >>> simple_clv(aov=30, purchases_per_year=12, years=1)          # $30 a month for 12 months
    360.0
    >>> round(simple_clv(aov=200, purchases_per_year=4, years=3, margin=0.3, annual_discount_rate=0.1), 2)
    596.84

    The discounted figure is 240/1.1 + 240/1.1² + 240/1.1³. Inputs broadcast, and a Series keeps its index:

    >>> simple_clv(aov=pd.Series([50.0, 200.0], index=["a", "b"]), purchases_per_year=4, years=3)
    a     600.0
    b    2400.0
    dtype: float64
    """
    a, p, y, m, d = (np.asarray(x, dtype=np.float64) for x in (aov, purchases_per_year, years, margin,
                                                                 annual_discount_rate))
    if np.any(y < 0):
        raise ValueError("`years` must be ≥ 0.")
    if np.any(d <= -1):
        raise ValueError("`annual_discount_rate` must be greater than -1 (e.g. 0.1 for 10 %).")
    value = a * p * m * np.where(d == 0, y, _annuity_years(y, d))
    return _shape_like(np.asarray(value), aov, purchases_per_year, years, margin, annual_discount_rate)


def retention_clv(*, margin_per_period, retention_rate, discount_rate):
    """CLV of a customer who brings a margin each period and stays with a constant retention rate.

    ``CLV = m · r / (1 + d − r)``: the sum over periods ``t = 1, 2, ...`` of ``m · r^t / (1 + d)^t``, the margin
    ``m`` of each period received at its end by a customer still there (probability ``r^t``), discounted at ``d``.

    Parameters
    ----------
    margin_per_period : float or array-like
        Margin a retained customer brings each period (money).
    retention_rate : float or array-like
        Share of customers who stay from one period to the next, in [0, 1).
    discount_rate : float or array-like
        Discount rate per period (same period as the retention rate), > −1 and > ``retention_rate`` − 1.

    Returns
    -------
    float, ndarray or Series
        CLV in money.

    References
    ----------
    Gupta, S. & Lehmann, D. R. (2003). Customers as assets. *Journal of Interactive Marketing* 17(1), 9–24
    (the margin multiple ``r / (1 + i − r)``).

    Examples
    --------
    >>> round(retention_clv(margin_per_period=100, retention_rate=0.8, discount_rate=0.1), 2)  # 100 × 0.8 / 0.3
    266.67
    >>> retention_clv(margin_per_period=100, retention_rate=np.array([0.5, 0.8]), discount_rate=0.1).round(2)
    array([ 83.33, 266.67])
    """
    m, r, d = (np.asarray(x, dtype=np.float64) for x in (margin_per_period, retention_rate, discount_rate))
    if np.any((r < 0) | (r >= 1)):
        raise ValueError("`retention_rate` must be in [0, 1) (e.g. 0.8 for 80 % of customers staying).")
    if np.any(d <= -1):
        raise ValueError("`discount_rate` must be greater than -1 (e.g. 0.1 for 10 %).")
    return _shape_like(np.asarray(m * r / (1 + d - r)), margin_per_period, retention_rate, discount_rate)


def what_if_table(
    *,
    aov: float,
    purchases_per_year: float,
    years: float,
    margin: float = 1.0,
    annual_discount_rate: float = 0.0,
    aov_uplift: float = 0.10,
    extra_purchases: float = 1.0,
    extra_years: float = 1.0,
) -> pd.DataFrame:
    """How the simple CLV moves when each lever is pulled: a higher AOV, one more purchase a year, a longer life.

    Parameters
    ----------
    aov, purchases_per_year, years, margin, annual_discount_rate : float
        The baseline, as in :func:`simple_clv`.
    aov_uplift : float, default 0.10
        Relative AOV increase (0.10 = +10 %).
    extra_purchases : float, default 1.0
        Purchases added per year.
    extra_years : float, default 1.0
        Years added to the customer's life.

    Returns
    -------
    DataFrame indexed by ``scenario`` ("baseline", one row per lever, "all three") with columns ``aov``,
    ``purchases_per_year``, ``years``, ``clv``, ``change`` (money, against the baseline) and ``change_pct``
    (fraction).

    Examples
    --------
    >>> what_if_table(aov=200, purchases_per_year=4, years=3)[["clv", "change"]]
                          clv  change
    scenario
    baseline           2400.0     0.0
    +10 % AOV          2640.0   240.0
    +1 purchase a year 3000.0   600.0
    +1 year of life    3200.0   800.0
    all three          4400.0  2000.0
    """
    a2, p2, y2 = aov * (1 + aov_uplift), purchases_per_year + extra_purchases, years + extra_years
    rows = {
        "baseline": (aov, purchases_per_year, years),
        f"+{format_pct(aov_uplift)} AOV": (a2, purchases_per_year, years),
        f"+{extra_purchases:g} purchase{'s' if extra_purchases != 1 else ''} a year": (aov, p2, years),
        f"+{extra_years:g} year{'s' if extra_years != 1 else ''} of life": (aov, purchases_per_year, y2),
        "all three": (a2, p2, y2),
    }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["aov", "purchases_per_year", "years"])
    table.index.name = "scenario"
    table["clv"] = simple_clv(aov=table["aov"], purchases_per_year=table["purchases_per_year"], years=table["years"],
                              margin=margin, annual_discount_rate=annual_discount_rate)
    base = table["clv"].iloc[0]
    table["change"] = table["clv"] - base
    table["change_pct"] = table["change"] / base if base else np.nan
    return table


def store_clv_inputs(
    orders: pd.DataFrame,
    *,
    as_of=None,
    period_months: int | None = None,
    annual_discount_rate: float = 0.0,
) -> pd.DataFrame:
    """Estimate the simple formula's inputs from the store's orders, each with its formula and the numbers used.

    Two back-to-back periods of ``period_months`` months end at ``as_of``: the *last period* and the *previous
    period*. Guest orders (no ``customer_id``) are left out.

    * ``aov`` = revenue of the last period's orders / their number;
    * ``purchases_per_year`` = orders in the last period / customers who ordered in it, × 12 / ``period_months``;
    * ``retention_rate`` (yearly) = (customers who ordered in both periods / customers who ordered in the
      previous period) ^ (12 / ``period_months``);
    * ``churn_rate`` = 1 − retention rate; ``lifespan_years`` = 1 / churn rate (the mean of a geometric lifetime);
    * ``gross_margin_rate`` = gross margin / revenue of the last period (only when the orders carry a cost or
      ``gross_margin``);
    * ``simple_clv`` = :func:`simple_clv` of the above (× the margin rate when known).

    Parameters
    ----------
    orders : DataFrame
        Canonical orders table (``customer_id``, ``order_date``, ``revenue``; optional ``gross_margin``/``cost``).
    as_of : date-like, optional
        End of the last period; orders after it are ignored. Defaults to the last order date.
    period_months : int, optional
        Length of each period. Defaults to 12 when the orders cover two whole years before ``as_of``, otherwise to
        the longest whole number of months such that they cover two periods (rates are then annualised as above).
    annual_discount_rate : float, default 0.0
        Passed to :func:`simple_clv` for the ``simple_clv`` row.

    Returns
    -------
    DataFrame indexed by ``input`` with columns ``value`` (float), ``unit``, ``formula`` and ``computation`` (the
    formula with the store's numbers). ``attrs`` holds ``period_months``, ``last_period`` and ``previous_period``
    (pairs of dates). When ``period_months`` is not given and the history cannot hold two periods of even one
    month (a new store, or every order on one day), the table has no rows and ``attrs["unavailable"]`` says why:
    the inputs are absent, with a reason, rather than an error in a report. A ``period_months`` that is given and
    does not fit raises :class:`~clvlib.DataError`.
    """
    validate_columns(orders, ("customer_id", "order_date", "revenue"), source="orders", what="orders table")
    known = orders[orders["customer_id"].notna()]
    if known.empty:
        raise DataError("orders: no orders with a `customer_id`, so per-customer inputs cannot be estimated.")
    end = pd.Timestamp(as_of).normalize() if as_of is not None else known["order_date"].max()
    known = known[known["order_date"] <= end]
    start, anchor = known["order_date"].min(), end + pd.Timedelta(days=1)

    def covered(months: int) -> bool:  # do the orders reach back over two whole periods?
        return anchor - pd.DateOffset(months=2 * months) >= start

    chosen = period_months is None
    if period_months is None:
        period_months = next((m for m in range(12, 0, -1) if covered(m)), 0)
    if chosen and period_months < 1:
        return _no_inputs(f"the history from {start.date()} to {end.date()} is shorter than two whole months, so a "
                          "retention rate (the share of one period's customers who come back in the next) cannot "
                          "be measured yet.")
    if period_months < 1 or not covered(period_months):
        raise DataError(
            f"orders: the history from {start.date()} to {end.date()} cannot hold two periods of "
            f"{period_months} month(s); retention needs at least two whole months of orders."
        )
    # Periods are [anchor − 2P, cut) and [cut, anchor), anchor being the day after as_of.
    cut = anchor - pd.DateOffset(months=period_months)
    first = anchor - pd.DateOffset(months=2 * period_months)
    last_p = known[known["order_date"] >= cut]
    prev_p = known[(known["order_date"] >= first) & (known["order_date"] < cut)]
    n_orders, revenue = len(last_p), float(last_p["revenue"].sum())
    active, active_prev = last_p["customer_id"].nunique(), prev_p["customer_id"].nunique()
    retained = len(set(last_p["customer_id"]) & set(prev_p["customer_id"]))
    if (n_orders == 0 or active_prev == 0) and chosen:
        return _no_inputs(f"no customer ordered in one of the two {period_months}-month periods before "
                          f"{end.date()}, so a retention rate cannot be measured.")
    if n_orders == 0 or active_prev == 0:
        raise DataError(
            f"orders: no customer orders between {first.date()} and {end.date()} in one of the two periods of "
            f"{period_months} months; choose another `as_of` or `period_months`."
        )
    scale = 12 / period_months
    aov = revenue / n_orders
    ppy = n_orders / active * scale
    period_retention = retained / active_prev
    retention = period_retention ** scale
    churn = 1 - retention
    lifespan = 1 / churn if churn > 0 else np.inf
    per = f" ^ (12/{period_months})" if period_months != 12 else ""
    rows = [
        ("aov", aov, "money per order", "revenue / orders (last period)", f"{revenue:,.2f} / {n_orders:,}"),
        ("purchases_per_year", ppy, "orders per customer per year",
         f"orders / active customers (last period){f' × 12/{period_months}' if scale != 1 else ''}",
         f"{n_orders:,} / {active:,}" + (f" × {scale:g}" if scale != 1 else "")),
        ("retention_rate", retention, "share per year",
         f"(customers active in both periods / customers active in the previous period){per}",
         f"({retained:,} / {active_prev:,}){per}"),
        ("churn_rate", churn, "share per year", "1 − retention rate", f"1 − {retention:.3f}"),
        ("lifespan_years", lifespan, "years", "1 / churn rate", f"1 / {churn:.3f}"),
    ]
    margin_rate = 1.0
    profit = order_profit(last_p, margin=None) if {"gross_margin", "cost"} & set(orders.columns) else None
    if profit is not None:
        margin_rate = float(profit.sum()) / revenue
        rows.append(("gross_margin_rate", margin_rate, "share of revenue", "gross margin / revenue (last period)",
                     f"{profit.sum():,.2f} / {revenue:,.2f}"))
    clv = simple_clv(aov=aov, purchases_per_year=ppy, years=lifespan, margin=margin_rate,
                     annual_discount_rate=annual_discount_rate) if np.isfinite(lifespan) else np.inf
    # Every factor is shown, the discount too, so the computation multiplies out to the value beside it.
    undiscounted = aov * ppy * lifespan * margin_rate
    factor = clv / undiscounted if annual_discount_rate and np.isfinite(clv) and undiscounted > 0 else None
    rows.append(("simple_clv", clv, "money per customer",
                 "AOV × purchases per year × lifespan" + (" × margin rate" if profit is not None else "")
                 + (f" × discount factor ({format_pct(annual_discount_rate)} a year)" if factor is not None else ""),
                 f"{aov:,.2f} × {ppy:.2f} × {lifespan:.2f}" + (f" × {margin_rate:.2f}" if profit is not None else "")
                 + (f" × {factor:.4f}" if factor is not None else "")))
    table = pd.DataFrame(rows, columns=["input", "value", "unit", "formula", "computation"]).set_index("input")
    table.attrs.update(period_months=period_months, last_period=(cut, end),
                       previous_period=(first, cut - pd.Timedelta(days=1)))
    return table


def _no_inputs(reason: str) -> pd.DataFrame:
    table = pd.DataFrame(columns=["value", "unit", "formula", "computation"], index=pd.Index([], name="input"))
    table["value"] = table["value"].astype(np.float64)
    table.attrs["unavailable"] = reason
    return table


def describe_store_inputs(inputs: pd.DataFrame, *, currency: str = "USD") -> str:
    """The simple formula's inputs (:func:`store_clv_inputs`) as one Markdown sentence, money escaped for Markdown.

    Says plainly when the inputs cannot be estimated, or when nobody churned, so that the formula's lifespan (1 ÷
    churn) is unbounded and the simple formula cannot value a customer.

    Examples
    --------
    >>> describe_store_inputs(_no_inputs("the history is one day long."))
    "The simple formula's inputs cannot be estimated from this data: the history is one day long."
    """
    from .formatting import markdown_money

    def money(value: float) -> str:  # "\\$12": two amounts are not a formula; the currency code escaped too
        return markdown_money(value, currency)

    if inputs.attrs.get("unavailable"):
        return f"The simple formula's inputs cannot be estimated from this data: {inputs.attrs['unavailable']}"
    v = inputs["value"]
    first, last = inputs.attrs["last_period"]
    # Not the store AOV of the index and of 03 (all orders of the whole history, guests included): say which it is.
    text = (f"From {first:%d %b %Y} to {last:%d %b %Y} (the last period) the average order of customers (guest orders "
            f"left out) was **{money(v['aov'])}**, a customer "
            f"ordered **{v['purchases_per_year']:.2f}** times a year, and **{format_pct(v['retention_rate'])}** of "
            "the previous period's customers came back")
    if not np.isfinite(v["lifespan_years"]):
        return text + (": nobody was lost, so the formula's lifespan (1 ÷ churn) is unbounded and the simple "
                       "formula cannot value a customer on this data. Use historical CLV, or the models of the CLV "
                       "report.")
    return (text + f", so a customer stays about **{v['lifespan_years']:.1f} years**. The simple formula puts a "
            f"customer at **{money(v['simple_clv'])}**"
            + (" of gross margin." if "gross_margin_rate" in v else " of revenue (the data has no cost)."))


def historical_clv(customers: pd.DataFrame, *, margin: float | str = 1.0) -> pd.DataFrame:
    """What each customer has brought so far: revenue to date, or gross margin to date.

    Parameters
    ----------
    customers : DataFrame
        Customer table (:func:`clvlib.customer_summary`) with ``n_orders`` and ``total_revenue``; indexed by
        customer id, or with a ``customer_id`` column. Never modified.
    margin : float or str, default 1.0
        A share of revenue kept as margin (1.0 = revenue CLV), or the name of a column of ``customers`` holding
        each customer's gross margin to date (e.g. ``lifetime_profit`` from :func:`profit_clv`).

    Returns
    -------
    DataFrame indexed by customer id with ``n_orders``, ``total_revenue`` and ``historical_clv`` (money).

    Examples
    --------
    >>> customers = pd.DataFrame({"n_orders": [3, 1], "total_revenue": [300.0, 40.0]},
    ...                          index=pd.Index(["a", "b"], name="customer_id"))
    >>> historical_clv(customers, margin=0.25)
                 n_orders  total_revenue  historical_clv
    customer_id
    a                   3          300.0            75.0
    b                   1           40.0            10.0
    """
    customers = customer_indexed(customers)
    needed = ("n_orders", "total_revenue") + ((margin,) if isinstance(margin, str) else ())
    validate_columns(customers, needed, source="customers", what="customer table")
    value = customers[margin] if isinstance(margin, str) else customers["total_revenue"] * float(margin)
    return customers[["n_orders", "total_revenue"]].assign(historical_clv=value.astype(np.float64))


def describe_historical_clv(history: pd.DataFrame, *, currency: str = "USD", label: str = "historical CLV") -> str:
    """Historical CLV in one Markdown sentence: total, mean against median, top 20 % share, one-time buyers.

    The shares are :func:`clvlib.customer_shares`'s, the figures the index and the Pareto page quote: the top 20 %
    share is of revenue, and a one-time buyer placed one order.

    Parameters
    ----------
    history : DataFrame
        :func:`historical_clv`'s table (``n_orders``, ``total_revenue``, ``historical_clv``); indexed by customer
        id, or with a ``customer_id`` column.
    currency : str
        ISO code used to write money (escaped for Markdown).
    label : str, default "historical CLV"
        What ``historical_clv`` holds, as the sentence names it (e.g. "revenue to date").

    Examples
    --------
    >>> history = historical_clv(pd.DataFrame({"n_orders": [1, 1, 1, 3, 2],
    ...                                        "total_revenue": [10.0, 20, 30, 60, 80]}), margin=0.5)
    >>> print(describe_historical_clv(history))
    5 customers have brought **\\$100** of historical CLV in all: a mean of **\\$20** but a median of **\\$15**; the top 20 % of customers brought **40 %** of revenue, and **60 %** bought only once.
    """
    from .formatting import escape_markdown, markdown_money
    from .pareto import customer_shares

    history = customer_indexed(history, "historical CLV table")
    validate_columns(history, ("n_orders", "total_revenue", "historical_clv"), source="history",
                     what="historical CLV table")
    value = history["historical_clv"]
    if value.empty or history["total_revenue"].sum() <= 0:
        return "No customer has brought any revenue yet: there is no historical CLV to describe."
    shares = customer_shares(history)
    return (f"{len(value):,} customer{'s have' if len(value) != 1 else ' has'} brought "
            f"**{markdown_money(value.sum(), currency)}** of {escape_markdown(label)} in all: a mean of "
            f"**{markdown_money(value.mean(), currency)}** but a median of **{markdown_money(value.median(), currency)}**; "
            f"the top 20 % of customers brought **{format_pct(shares['top_share'])}** of revenue, and "
            f"**{format_pct(shares['one_time_share'])}** bought only once.")
