"""Average order value (AOV): bands around the store AOV, the order-value distribution, unusually large orders.

The store AOV is total revenue over the number of orders, guest orders included: it is the store's figure.
Per-order analyses (``by="order"``, :func:`order_value_stats`, :func:`large_orders`) count guest orders too;
per-customer ones (``by="customer"``, :func:`high_aov_customers`, :func:`business_buyers`) leave them out, because a
guest order has no customer to attach it to.

:func:`pareto_headlines` writes the findings of this module and :mod:`clvlib.pareto` as sentences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._validation import check_argument, customer_indexed, validate_columns
from .errors import DataError
from .formatting import escape_markdown, format_pct, markdown_money
from .pareto import customer_shares, gini, repeat_split, share_for_value, top_share

__all__ = [
    "store_aov", "store_figures", "revenue_by_month", "describe_large_orders", "aov_bands", "order_value_stats", "describe_order_values",
    "high_aov_customers", "large_orders", "business_buyers", "pareto_headlines",
]

# Scale factors that make a median (or mean) absolute deviation estimate the standard deviation of normal data.
MAD_SCALE = 1.4826
MEAN_AD_SCALE = 1.2533
_NOUNS = {"total_revenue": "revenue", "n_orders": "orders", "frequency": "repeat purchases"}
_TIMES = {0.5: "half", 2.0: "twice", 3.0: "three times", 4.0: "four times"}


def _orders(orders: pd.DataFrame, required: Sequence[str] = ("revenue",)) -> pd.DataFrame:
    validate_columns(orders, required, source="orders", what="orders table")
    if orders.empty:
        raise DataError("orders: the orders table is empty.")
    if orders["revenue"].isna().any():
        raise DataError("orders: column `revenue` has missing values; clean them with read_transactions first.")
    return orders


def store_aov(orders: pd.DataFrame) -> float:
    """The store's average order value: total revenue / number of orders, guest orders included.

    Examples
    --------
    >>> store_aov(pd.DataFrame({"revenue": [10.0, 20.0, 60.0]}))
    30.0
    """
    return float(_orders(orders)["revenue"].mean())


def store_figures(orders: pd.DataFrame, *, customers: pd.DataFrame | None = None, as_of=None) -> pd.Series:
    """The store's headline figures, computed once for every page and the index: counts, revenue, AOV, shares.

    Parameters
    ----------
    orders : DataFrame
        Orders table (guest orders included: they count towards the store totals and the store AOV).
    customers : DataFrame, optional
        :func:`clvlib.customer_summary` of ``orders`` (indexed by customer id, or with a ``customer_id``
        column); computed (with ``as_of``) when not given.
    as_of : date-like, optional
        Passed to :func:`clvlib.customer_summary` when ``customers`` is not given.

    Returns
    -------
    Series with ``orders``, ``guest_orders``, ``customers``, ``revenue`` (net of every refund and return: the
    orders' revenue less the returns no order could take, listed in the cleaning report's ``unmatched_returns``,
    up to ``as_of``), ``unmatched_returns`` (that amount, ≤ 0), ``aov`` (the **store AOV**:
    :func:`store_aov`, all orders over the whole history, guests included), and :func:`clvlib.customer_shares`'s
    ``repeat_rate``, ``one_time_share`` and ``top20_share`` (share of customer revenue from the top 20 % of
    customers). Shares are NaN when there are no customers.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b", None], "order_id": ["1", "2", "3", "4"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01", "2024-02-02"]),
    ...     "revenue": [30.0, 50.0, 20.0, 100.0]})
    >>> store_figures(orders)[["orders", "guest_orders", "customers", "aov", "repeat_rate", "top20_share"]]
    orders          4.0
    guest_orders    1.0
    customers       2.0
    aov            50.0
    repeat_rate     0.5
    top20_share     0.8
    dtype: float64
    """
    from .summary import customer_summary

    if customers is None:
        customers = customer_summary(orders, as_of=as_of, warn=False)  # guests counted below
    customers = customer_indexed(customers)
    unmatched = _unmatched_returns(orders, as_of=as_of)
    figures = {"orders": float(len(orders)), "guest_orders": float(orders["customer_id"].isna().sum()),
               "customers": float(len(customers)), "revenue": float(_orders(orders)["revenue"].sum()) + unmatched,
               "unmatched_returns": unmatched,
               "aov": store_aov(orders) if len(orders) else np.nan,
               "repeat_rate": np.nan, "one_time_share": np.nan, "top20_share": np.nan}
    if len(customers) and customers["total_revenue"].sum() > 0:
        shares = customer_shares(customers, fraction=0.2)
        figures.update(repeat_rate=shares["repeat_rate"], one_time_share=shares["one_time_share"],
                       top20_share=shares["top_share"])
    return pd.Series(figures, dtype="float64")


def _unmatched_returns(orders: pd.DataFrame, *, as_of=None) -> float:
    """Returns no order could take (the cleaning report's; up to ``as_of`` when given): a negative amount."""
    report = orders.attrs.get("cleaning")
    table = getattr(report, "unmatched_returns", None)
    if table is None or not len(table):
        return 0.0
    if as_of is not None:
        table = table[table["order_date"] <= pd.Timestamp(as_of).normalize()]
    return float(table["revenue"].sum())


def _band_edges(aov: float, multipliers, thresholds) -> tuple[np.ndarray, list[str], str]:
    """Inner band edges in money and the band labels."""
    if multipliers is not None and thresholds is not None:
        raise ValueError("Pass either `multipliers` (relative to the store AOV) or `thresholds` (amounts), not both.")
    relative = thresholds is None
    cuts = [0.5, 2.0] if relative and multipliers is None else list(multipliers if relative else thresholds)
    name = "multipliers" if relative else "thresholds"
    if not cuts or any(c <= 0 for c in cuts) or any(b <= a for a, b in zip(cuts, cuts[1:])):
        raise ValueError(f"`{name}` must be positive and strictly increasing, but {cuts!r} was passed.")
    text = [f"{c:g}×" if relative else f"{c:,g}" for c in cuts]
    unit = " AOV" if relative else ""
    labels = [f"up to {text[0]}{unit}"]
    labels += [f"{a}–{b}{unit}" for a, b in zip(text, text[1:])]
    labels.append(f"over {text[-1]}{unit}")
    edges = np.asarray(cuts, dtype=np.float64) * (aov if relative else 1.0)
    return edges, labels, name


def aov_bands(
    orders: pd.DataFrame,
    *,
    by: str = "customer",
    multipliers: Sequence[float] | None = None,
    thresholds: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Customers (or orders) in bands of order value around the store AOV, and each band's share of revenue.

    Parameters
    ----------
    orders : DataFrame
        Orders table with ``customer_id`` (missing for guests), ``revenue``.
    by : {"customer", "order"}
        ``"customer"`` puts each customer in the band of *their* AOV (revenue / orders; guests left out);
        ``"order"`` puts each order in the band of its value (guest orders included).
    multipliers : sequence of float, optional
        Band edges as multiples of the store AOV; default ``[0.5, 2]``: up to half the AOV, half to twice it, more
        than twice.
    thresholds : sequence of float, optional
        Band edges as amounts of money instead of multipliers.

    Returns
    -------
    DataFrame indexed by ``band`` (lowest first) with columns ``lower`` and ``upper`` (band edges in money; a value
    on an edge belongs to the lower band, so the top band is *more than* 2× the AOV), ``customers``, ``orders``,
    ``revenue``, ``customer_share``, ``order_share`` and ``revenue_share``. With ``by="customer"`` every share
    column sums to 1. With ``by="order"``, ``customers`` counts the customers with at least one order in the band,
    so ``customer_share`` may sum to more than 1. ``attrs["store_aov"]`` holds the store AOV.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b", "b", "c", None], "revenue": [10.0, 60, 80, 250, 100]})
    >>> aov_bands(orders)[["customers", "revenue", "customer_share", "revenue_share"]]  # store AOV = 100
                    customers  revenue  customer_share  revenue_share
    band
    up to 0.5× AOV          1     10.0        0.333333          0.025
    0.5×–2× AOV             1    140.0        0.333333          0.350
    over 2× AOV             1    250.0        0.333333          0.625
    """
    check_argument("by", ["customer", "order"], by)
    orders = _orders(orders, ["customer_id", "revenue"])
    aov = store_aov(orders)
    edges, labels, _ = _band_edges(aov, multipliers, thresholds)
    bins = np.r_[-np.inf, edges, np.inf]
    known = orders["customer_id"].notna()
    if by == "customer":
        per = orders[known].groupby("customer_id", observed=True)["revenue"].agg(["sum", "size"])
        band = pd.cut(per["sum"] / per["size"], bins, labels=labels)
        grouped = per.groupby(band, observed=False)
        table = pd.DataFrame({
            "customers": grouped.size(), "orders": grouped["size"].sum(), "revenue": grouped["sum"].sum(),
        })
        n_customers = len(per)
    else:
        band = pd.cut(orders["revenue"], bins, labels=labels)
        grouped = orders.groupby(band, observed=False)
        table = pd.DataFrame({
            "customers": grouped["customer_id"].nunique(), "orders": grouped.size(),
            "revenue": grouped["revenue"].sum(),
        })
        n_customers = orders.loc[known, "customer_id"].nunique()
    table.index.name = "band"
    table = table.astype({"customers": "int64", "orders": "int64", "revenue": "float64"})
    table.insert(0, "lower", np.r_[0.0, edges])
    table.insert(1, "upper", np.r_[edges, np.inf])
    with np.errstate(invalid="ignore", divide="ignore"):
        table = table.assign(
            customer_share=table["customers"] / n_customers,
            order_share=table["orders"] / table["orders"].sum(),
            revenue_share=table["revenue"] / table["revenue"].sum(),
        )
    table.attrs.update(store_aov=aov, by=by)
    return table


def order_value_stats(
    orders: pd.DataFrame, *, percentiles: Sequence[float] = (0.1, 0.25, 0.75, 0.9, 0.99),
) -> pd.Series:
    """Summary of the order-value distribution (all orders, guests included), and how far the mean is off.

    Returns
    -------
    Series with ``orders``, ``revenue`` (total), ``mean`` (the store AOV), ``median``, ``p10``, ``p25``, ... (one
    per percentile), ``std``, ``skewness`` (the adjusted Fisher–Pearson sample skewness, as
    :meth:`pandas.Series.skew`), ``mean_to_median`` and ``share_below_mean`` (share of orders worth less than the
    AOV). In a right-skewed distribution a few large orders pull the mean above the median, so most orders are
    below the "average" order.

    Examples
    --------
    >>> stats = order_value_stats(pd.DataFrame({"revenue": [10.0, 10, 20, 20, 140]}))
    >>> stats[["mean", "median", "share_below_mean"]].tolist()
    [40.0, 20.0, 0.8]
    """
    values = _orders(orders)["revenue"].astype("float64")
    mean, median = values.mean(), values.median()
    quantiles = {f"p{100 * q:g}": values.quantile(q) for q in percentiles}
    return pd.Series(
        {
            "orders": float(len(values)), "revenue": values.sum(), "mean": mean, "median": median, **quantiles,
            "std": values.std(), "skewness": values.skew(),
            "mean_to_median": mean / median if median else np.nan,
            "share_below_mean": float((values < mean).mean()),
        },
        name="revenue",
    )


def describe_order_values(stats: pd.Series, *, currency: str = "USD") -> str:
    """A Markdown sentence on the AOV against the median order, from :func:`order_value_stats`.

    Money is escaped for Markdown (``\\$40``: two amounts are not a formula), as is the currency code.

    Examples
    --------
    >>> stats = pd.Series({"mean": 40.0, "median": 20.0, "skewness": 2.1, "share_below_mean": 0.8})
    >>> print(describe_order_values(stats))  # doctest: +ELLIPSIS
    The average order (AOV) is \\$40 but the median order is \\$20: 80 % of orders are below the average, because...
    """
    mean, median = markdown_money(stats["mean"], currency), markdown_money(stats["median"], currency)
    if stats["mean"] > 1.1 * stats["median"] and stats["skewness"] > 0.5:
        return (
            f"The average order (AOV) is {mean} but the median order is {median}: {format_pct(stats['share_below_mean'])}"
            f" of orders are below the average, because a few large orders (skewness {stats['skewness']:.1f}) pull"
            " the mean up. Quote the median as the typical order and use the AOV for revenue planning."
        )
    # Skewness needs three orders of different values; with fewer it is undefined and not quoted.
    skew = f" (skewness {stats['skewness']:.1f})" if np.isfinite(stats["skewness"]) else ""
    return (
        f"The average order (AOV) is {mean} and the median order is {median}: order values are fairly even"
        f"{skew}, so the AOV is a fair picture of a typical order."
    )


def high_aov_customers(
    customers: pd.DataFrame, *, store_aov: float | None = None, multiple: float = 2.0,
) -> pd.DataFrame:
    """Customers whose own AOV is more than ``multiple`` × the store AOV, highest AOV first (ties by id).

    Parameters
    ----------
    customers : DataFrame
        Customer table with ``aov``, ``n_orders`` and ``total_revenue``; indexed by customer id, or with a
        ``customer_id`` column.
    store_aov : float, optional
        The store AOV, e.g. ``clvlib.store_aov(orders)`` (guests included). Default: the customers' own revenue
        over their orders.
    multiple : float
        How many times the store AOV a customer's AOV must exceed.

    Returns
    -------
    DataFrame indexed by ``customer_id``: the customer table's columns plus ``aov_multiple`` (AOV / store AOV).
    """
    customers = customer_indexed(customers)
    validate_columns(customers, ["aov", "n_orders", "total_revenue"], source="customers", what="customer table")
    if store_aov is None:
        store_aov = float(customers["total_revenue"].sum() / customers["n_orders"].sum())
    ratio = customers["aov"] / store_aov
    chosen = customers.assign(aov_multiple=ratio)[ratio > multiple]
    ids = pd.factorize(chosen.index.to_numpy(), sort=True)[0]
    return chosen.iloc[np.lexsort((ids, -chosen["aov"].to_numpy()))]


def _robust_z(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Robust z-scores of ``log(values)``: (log v − median) / (1.4826 · MAD); values ≤ 0 get −inf."""
    positive = values > 0
    logs = np.log(values[positive])
    center = float(np.median(logs))
    spread = MAD_SCALE * float(np.median(np.abs(logs - center)))
    if spread == 0:  # more than half the orders share one value: fall back to the mean absolute deviation
        spread = MEAN_AD_SCALE * float(np.mean(np.abs(logs - center)))
    z = np.full(values.shape, -np.inf)
    if spread > 0:
        z[positive] = (logs - center) / spread
    else:
        z[positive] = 0.0
    return z, center, spread


def large_orders(orders: pd.DataFrame, *, k: float = 3.5, on: Sequence[str] | None = None) -> pd.DataFrame:
    """Orders unusually large by value or by quantity: a robust outlier rule on the log scale.

    Order values are right-skewed, so the rule works on ``log(value)``, where they are roughly symmetric. An order
    is large when its robust z-score exceeds ``k``:

    .. math:: z = \\frac{\\log v - \\operatorname{median}(\\log v)}{1.4826 \\cdot \\operatorname{MAD}(\\log v)} > k,

    with MAD the median absolute deviation from the median; 1.4826 makes it estimate the standard deviation of
    normal data, and ``k = 3.5`` is Iglewicz and Hoaglin's cut-off for the modified z-score. Median and MAD are not
    moved by the outliers themselves, unlike a mean and standard deviation. If more than half the orders share one
    value (MAD = 0), the mean absolute deviation (× 1.2533) is used instead; if all are equal, nothing is flagged.
    Orders of value 0, and missing quantities, are never flagged. Guest orders are included.

    Parameters
    ----------
    orders : DataFrame
        Orders table.
    k : float
        Cut-off on the robust z-score; larger flags fewer orders.
    on : sequence of {"revenue", "quantity"}, optional
        Columns to test; default ``revenue`` and, when the table has it, ``quantity``.

    Returns
    -------
    The flagged orders (all their columns), largest ``revenue`` first, plus ``<column>_z`` for each tested column
    and ``large_by`` (e.g. ``"revenue"``, ``"quantity"``, ``"revenue and quantity"``). ``attrs["thresholds"]``
    maps each column to the smallest flagged amount, ``exp(median + k · 1.4826 · MAD)``.

    References
    ----------
    B. Iglewicz and D. C. Hoaglin (1993), *How to Detect and Handle Outliers*, ASQC, §3.3 (modified z-score).
    """
    if on is None:
        on = ["revenue"] + (["quantity"] if "quantity" in orders.columns else [])
    on = list(on)
    for column in on:
        check_argument("on", ["revenue", "quantity"], column)
    orders = _orders(orders, ["revenue", *on])
    flags, scores, thresholds = [], {}, {}
    for column in on:
        values = orders[column].to_numpy(dtype=np.float64, na_value=np.nan)
        z, center, spread = _robust_z(np.nan_to_num(values, nan=0.0))
        scores[f"{column}_z"] = z
        thresholds[column] = float(np.exp(center + k * spread)) if spread > 0 else np.inf
        flags.append(z > k)
    flagged = np.stack(flags)
    names = np.array(on, dtype=object)
    large_by = [" and ".join(names[flagged[:, i]]) for i in np.flatnonzero(flagged.any(axis=0))]
    chosen = orders.assign(**scores)[flagged.any(axis=0)].assign(large_by=large_by)
    chosen = chosen.sort_values("revenue", ascending=False, kind="mergesort")
    chosen.attrs = {"thresholds": thresholds, "k": k}
    return chosen


def business_buyers(orders: pd.DataFrame, *, k: float = 3.5, on: Sequence[str] | None = None) -> pd.DataFrame:
    """Customers with at least one unusually large order (:func:`large_orders`): likely business (B2B) buyers.

    Resellers, offices and event buyers place orders far outside the usual range; treat them as a separate
    segment rather than letting them inflate the store AOV. Guest orders are left out (no customer to contact).

    Returns
    -------
    DataFrame indexed by ``customer_id``, most large-order revenue first, with ``large_orders``,
    ``large_order_revenue``, ``orders``, ``revenue`` (all their orders) and ``largest_order``.
    """
    large = large_orders(orders, k=k, on=on)
    large = large[large["customer_id"].notna()]
    per_large = large.groupby("customer_id", observed=True)["revenue"].agg(["size", "sum", "max"])
    mine = orders[orders["customer_id"].isin(per_large.index)]
    per_all = mine.groupby("customer_id", observed=True)["revenue"].agg(["size", "sum"])
    table = pd.DataFrame({
        "large_orders": per_large["size"], "large_order_revenue": per_large["sum"],
        "orders": per_all["size"].reindex(per_large.index), "revenue": per_all["sum"].reindex(per_large.index),
        "largest_order": per_large["max"],
    })
    table.index.name = "customer_id"
    ids = pd.factorize(table.index.to_numpy(), sort=True)[0]
    table = table.iloc[np.lexsort((ids, -table["large_order_revenue"].to_numpy()))]
    table.attrs = dict(large.attrs)
    return table


def describe_large_orders(large: pd.DataFrame, business: pd.DataFrame, orders: pd.DataFrame) -> str:
    """How many orders :func:`large_orders` flagged, above which amounts, and the revenue of their customers.

    Parameters
    ----------
    large : DataFrame
        :func:`large_orders`'s table (its ``attrs["thresholds"]``).
    business : DataFrame
        :func:`business_buyers`'s table for the same orders and ``k``.
    orders : DataFrame
        The orders both were computed from (for the share of all revenue).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": list("abcdefgh"), "revenue": [20.0, 22, 25, 21, 23, 24, 20, 900]})
    >>> print(describe_large_orders(large_orders(orders), business_buyers(orders), orders))
    1 order flagged (revenue above 35.36); 1 customer placed them (85.3 % of all revenue).
    """
    limits = ", ".join(f"{escape_markdown(column)} above {limit:,.2f}" for column, limit
                       in large.attrs.get("thresholds", {}).items() if np.isfinite(limit))
    revenue = float(orders["revenue"].sum())
    share = float(business["large_order_revenue"].sum()) / revenue if revenue > 0 else 0.0
    return (f"{len(large):,} order{'' if len(large) == 1 else 's'} flagged ({limits or 'no spread to measure'}); "
            f"{len(business):,} customer{'' if len(business) == 1 else 's'} placed them "
            f"({100 * share:.1f} % of all revenue).")


def _times(multiple: float) -> str:
    return _TIMES.get(float(multiple), f"{multiple:g} times")


def pareto_headlines(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    currency: str = "USD",
    fraction: float = 0.2,
    multipliers: Sequence[float] = (0.5, 2.0),
    value_column: str = "total_revenue",
) -> list[str]:
    """The headline findings as sentences, each computed from the tables of this module and :mod:`clvlib.aov`.

    Parameters
    ----------
    customers : DataFrame
        Customer table (:func:`clvlib.customer_summary` of ``orders``); indexed by customer id, or with a
        ``customer_id`` column.
    orders : DataFrame
        Orders table (for the store AOV, the AOV bands and the order-value distribution; guests included).
    currency : str
        ISO code used to write money.
    fraction : float
        The "top" share of customers in the first sentence.
    multipliers : sequence of float
        AOV band edges (see :func:`clvlib.aov_bands`); the sentence compares the lowest and the highest band.
    value_column : str, default "total_revenue"
        Customer column the concentration sentences are about.

    Returns
    -------
    list of str: top-share, 80 %-of-value, repeat customers, AOV bands, mean vs median order, Gini; Markdown
    sentences, money escaped (``\\$110``).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "d"], "revenue": [300.0, 100, 50, 30, 20]})
    >>> customers = pd.DataFrame({"n_orders": [2, 1, 1, 1], "total_revenue": [400.0, 50, 30, 20],
    ...                           "aov": [200.0, 50, 30, 20]}, index=pd.Index(list("abcd"), name="customer_id"))
    >>> pareto_headlines(customers, orders)[0]
    'Your top 20 % of customers (1 person) bring 80 % of revenue.'
    """
    noun = _NOUNS.get(value_column) or (f"`{value_column}`" if "`" not in str(value_column)
                                        else escape_markdown(value_column))
    customers = customer_indexed(customers)
    top = top_share(customers, fractions=[fraction], column=value_column).iloc[0]
    k = int(top["k"])
    split = repeat_split(customers)
    rep, one = split.loc["repeat"], split.loc["one-time"]
    bands = aov_bands(orders, by="customer", multipliers=multipliers)
    low, high = bands.iloc[0], bands.iloc[-1]
    aov = markdown_money(bands.attrs["store_aov"], currency)
    g = gini(customers, column=value_column)
    return [
        f"Your top {format_pct(fraction)} of customers ({k:,} {'person' if k == 1 else 'people'}) bring "
        f"{format_pct(top['share'])} of {noun}.",
        f"{format_pct(share_for_value(customers, target=0.8, column=value_column))} of customers make 80 % of {noun}.",
        f"Repeat customers are {format_pct(rep['customer_share'])} of customers ({int(rep['customers']):,}) and make "
        f"{format_pct(rep['revenue_share'])} of revenue; one-time buyers are {format_pct(one['customer_share'])} and make "
        f"{format_pct(one['revenue_share'])}.",
        f"Customers spending more than {_times(multipliers[-1])} the store AOV ({aov}) are "
        f"{format_pct(high['customer_share'])} of customers and make {format_pct(high['revenue_share'])} of revenue; those "
        f"spending up to {_times(multipliers[0])} of it are {format_pct(low['customer_share'])} of customers and make "
        f"{format_pct(low['revenue_share'])}.",
        describe_order_values(order_value_stats(orders), currency=currency),
        f"The Gini coefficient of {noun} across customers is {g:.2f} (0 if every customer spent the same, "
        "near 1 if one customer made it all).",
    ]


def revenue_by_month(orders: pd.DataFrame, *, as_of=None) -> pd.DataFrame:
    """Revenue, orders and buying customers per calendar month up to ``as_of``, guest orders included.

    Parameters
    ----------
    orders : DataFrame
        Orders table (``order_date``, ``revenue``, ``customer_id``).
    as_of : date-like, optional
        Last day counted; default the last order date. The month holding it is ``complete`` only when ``as_of``
        is its last day.

    Returns
    -------
    DataFrame indexed by ``month`` (Period[M], every month from the first order, empty ones as 0) with
    ``revenue``, ``orders``, ``customers`` (distinct, guests not counted) and ``complete`` (bool).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "b", None], "revenue": [10.0, 20.0, 5.0],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-03-09"])})
    >>> revenue_by_month(orders, as_of="2024-03-31")
             revenue  orders  customers  complete
    month
    2024-01     10.0       1          1      True
    2024-02      0.0       0          0      True
    2024-03     25.0       2          1      True
    """
    frame = _orders(orders, ("order_date", "revenue", "customer_id"))
    cutoff = pd.Timestamp(as_of).normalize() if as_of is not None else frame["order_date"].max().normalize()
    frame = frame[frame["order_date"].dt.normalize() <= cutoff]  # a day counts whole, whatever its times
    month = frame["order_date"].dt.to_period("M").rename("month")
    grouped = frame.groupby(month)
    table = pd.DataFrame({"revenue": grouped["revenue"].sum(), "orders": grouped.size(),
                          "customers": grouped["customer_id"].nunique()})
    months = pd.period_range(month.min(), cutoff.to_period("M"), freq="M", name="month")
    table = table.reindex(months, fill_value=0).astype({"revenue": "float64", "orders": "int64",
                                                       "customers": "int64"})
    table["complete"] = months.to_timestamp(how="end").normalize() <= cutoff
    return table
