"""The articles the kit began from: their worked examples as tiny stores, and the same measures on real stores.

The kit began from five articles on e-commerce CLV (:data:`ARTICLES`): the formula and its uses; CAC against CLV
with the six one-to-one marketing types; a store's Pareto and AOV distribution; RFM values and scores; how to
measure CLV. Their examples are hand calculations. This module turns each into data that the ordinary clvlib calls
take, so the lesson runs on the library itself:

* :func:`article_tables` — the smallest order tables (and formula inputs) that give each article number;
* :func:`article_examples` — every article number beside what clvlib computes from those tables;
* :func:`store_measures` and :func:`article_comparison` — the same measures on any store (the demo store, CDNOW,
  your export), beside the article's;
* :func:`describe_article_comparison` — one example's measures as a Markdown table, each store's gap to the
  article written in its cell.

Where an article gives only its result, the tables are built to give exactly that result; each table's docstring
entry says how. Money in the articles is in US dollars.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._validation import check_argument
from .aov import aov_bands, store_aov
from .clv import simple_clv
from .cohorts import cac_by_channel, first_order_attributes, ltv_cac
from .formatting import escape_markdown, format_pct, markdown_money
from .pareto import repeat_split, top_share
from .profit import profit_clv, profit_gap_table
from .summary import customer_summary

__all__ = ["ARTICLES", "ARTICLE_MEASURES", "article_tables", "article_examples", "store_measures",
           "article_comparison", "describe_article_comparison"]

#: The five articles, by the key used in :func:`article_examples`, with the notebook that develops each.
ARTICLES = {
    "formula": ("The CLV formula and its uses", "01_clv_basics"),
    "cac": ("CAC against CLV, and the six one-to-one marketing types", "05_acquisition, 04_rfm"),
    "pareto": ("A store's Pareto and AOV distribution", "03_pareto_aov"),
    "rfm": ("RFM values and scores", "04_rfm"),
    "measure": ("How to measure CLV: historical and predicted", "02_clv"),
}

#: measure -> (example it belongs to, label, kind: "share", "money", "ratio" (×) or "to_one" (x:1)), in display order.
ARTICLE_MEASURES = {
    "repeat_to_one_time_revenue": ("James and Stacy", "revenue of a repeat customer ÷ of a one-time customer",
                                   "ratio"),
    "lifetime_to_first_profit": ("Customer A", "profit to date ÷ first-order profit, repeat buyers", "ratio"),
    "cac": ("Customer A", "CAC: marketing spend ÷ new customers", "money"),
    "ltv_cac": ("Customer A", "LTV:CAC: profit to date per acquired customer ÷ CAC", "to_one"),
    "top10_share": ("Top customers", "revenue share of the top 10 % of customers", "share"),
    "top20_share": ("Top customers", "revenue share of the top 20 % of customers", "share"),
    "repeat_customer_share": ("Repeat customers", "repeat customers' share of customers", "share"),
    "repeat_revenue_share": ("Repeat customers", "repeat customers' share of revenue", "share"),
    "store_aov": ("AOV bands", "store AOV", "money"),
    "band_low": ("AOV bands", "lower band edge (½ × AOV)", "money"),
    "band_high": ("AOV bands", "upper band edge (2 × AOV)", "money"),
    "high_band_customer_share": ("AOV bands", "customers with an AOV over 2 × the store AOV", "share"),
    "high_band_revenue_share": ("AOV bands", "their share of revenue", "share"),
}
EXAMPLES = list(dict.fromkeys(example for example, _, _ in ARTICLE_MEASURES.values()))


def _orders(rows, columns=("customer_id", "order_date", "revenue")) -> pd.DataFrame:
    """A canonical orders table from ``(customer_id, date, revenue, ...)`` rows: ids as strings, one order each."""
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["revenue"] = frame["revenue"].astype(np.float64)
    frame.insert(1, "order_id", [f"{i + 1:03d}" for i in range(len(frame))])
    return frame.sort_values(["order_date", "order_id"], kind="stable").reset_index(drop=True)


def article_tables() -> dict[str, pd.DataFrame]:
    """The articles' examples as data: formula inputs and tiny order tables that give exactly their numbers.

    Returns
    -------
    dict of DataFrames:

    ``"formula"``
        Inputs of :func:`clvlib.simple_clv` (``aov``, ``purchases_per_year``, ``years``), indexed by example: the
        formula article's $200 × 4 a year × 3 years = $2,400, the $50 basket ($600), $30 a month for a year
        ($360), James, who spends $300 once ($300 × 1 × 1), and Stacy, who buys a $100 pair of shoes three times a
        year for three years ($900).
    ``"james_stacy"``
        James's one $300 order and Stacy's nine $100 orders (three a year, 2022 to 2024): both first orders, and
        what each has brought by the end.
    ``"customer_a"``
        Five customers won by a gift-card giveaway in January 2024 (``channel`` "giveaway", with ``cost``).
        Customer A's first order makes $29 of gross margin ($100 − $71) and their three orders $304 ($29 + $125 +
        $150); the four others ordered once.
    ``"giveaway_spend"``
        The giveaway's marketing spend (``month``, ``channel``, ``spend``, ``item``): the $400 gift card and the
        giveaway app at $99 a year. Over its five new customers, CAC = $499 ÷ 5 = $99.80; customer A's $304
        less that CAC leaves about $204 (LTV:CAC about 3:1).
    ``"top_51_67"``
        Ten customers spending $510, $160, $60, $50, four × $40 and two × $30 ($1,000): the top 10 % (one
        customer) bring 51 %, the top 20 % (two) 67 %.
    ``"repeat_12_36"``
        25 customers: 22 order once for $40 ($880); 3 order three times for $55 ($165 each, $495): repeat
        customers are 12 % of customers and bring 36 % of the $1,375.
    ``"aov_60"``
        Six orders of $15, $35, $45, $55, $60 and $150 by six customers: the store AOV is $60, so the bands of
        half and twice the AOV start at $30 and $120.

    Examples
    --------
    >>> import clvlib
    >>> tables = article_tables()
    >>> clvlib.top_share(clvlib.customer_summary(tables["top_51_67"]), fractions=[0.1, 0.2])["share"].tolist()
    [0.51, 0.67]
    """
    formula = pd.DataFrame(
        {"aov": [200.0, 50.0, 30.0, 300.0, 100.0], "purchases_per_year": [4.0, 4.0, 12.0, 1.0, 3.0],
         "years": [3.0, 3.0, 1.0, 1.0, 3.0]},
        index=pd.Index(["worked example", "cheaper basket", "monthly subscription", "James", "Stacy"],
                       name="example"),
    )
    stacy = [("Stacy", f"{year}-{month:02d}-10", 100.0) for year in (2022, 2023, 2024) for month in (2, 6, 10)]
    james_stacy = _orders([("James", "2022-02-10", 300.0), *stacy])
    customer_a = _orders(
        [("A", "2024-01-05", 100.0, 71.0, "giveaway"), ("A", "2024-04-12", 250.0, 125.0, "giveaway"),
         ("A", "2024-09-20", 300.0, 150.0, "giveaway")]
        + [(c, f"2024-01-{d:02d}", 60.0, 42.0, "giveaway") for c, d in zip("BCDE", (8, 11, 15, 22))],
        columns=("customer_id", "order_date", "revenue", "cost", "channel"),
    )
    customer_a["gross_margin"] = customer_a["revenue"] - customer_a["cost"]
    giveaway_spend = pd.DataFrame({"month": ["2024-01", "2024-01"], "channel": ["giveaway", "giveaway"],
                                   "spend": [400.0, 99.0], "item": ["gift card (the prize)", "giveaway app (a year)"]})
    top = [510.0, 160.0, 60.0, 50.0, 40.0, 40.0, 40.0, 40.0, 30.0, 30.0]
    top_51_67 = _orders([(f"c{i + 1:02d}", f"2024-{i + 1:02d}-01", value) for i, value in enumerate(top)])
    one_time = [(f"o{i + 1:02d}", f"2024-01-{i + 1:02d}", 40.0) for i in range(22)]
    repeat = [(f"r{c}", f"2024-{month:02d}-15", 55.0) for c in (1, 2, 3) for month in (2, 5, 8)]
    repeat_12_36 = _orders(one_time + repeat)
    aov_60 = _orders([(f"c{i + 1}", f"2024-03-{i + 1:02d}", value)
                      for i, value in enumerate([15.0, 35.0, 45.0, 55.0, 60.0, 150.0])])
    return {"formula": formula, "james_stacy": james_stacy, "customer_a": customer_a,
            "giveaway_spend": giveaway_spend, "top_51_67": top_51_67, "repeat_12_36": repeat_12_36,
            "aov_60": aov_60}


def article_examples() -> pd.DataFrame:
    """Every number of the articles' examples beside what clvlib computes from :func:`article_tables`.

    Returns
    -------
    DataFrame indexed by ``article`` (a key of :data:`ARTICLES`) and ``example`` with ``article_value`` (the
    article's figure, worked by hand), ``clvlib_value`` (the same through clvlib), ``kind`` (as in
    :data:`ARTICLE_MEASURES`), ``call`` (the clvlib call that computed it) and ``measure`` (the key of
    :data:`ARTICLE_MEASURES` measured on real stores, where there is one).

    Examples
    --------
    >>> table = article_examples()
    >>> bool((table["clvlib_value"] - table["article_value"]).abs().max() < 1e-9)
    True
    >>> table.loc[("cac", "CLV less CAC"), ["article_value", "clvlib_value"]].round(2).tolist()
    [204.2, 204.2]
    """
    t = article_tables()
    f = t["formula"]
    clv = simple_clv(aov=f["aov"], purchases_per_year=f["purchases_per_year"], years=f["years"])
    js = customer_summary(t["james_stacy"], warn=False)
    profits = profit_clv(t["customer_a"])
    first, life = profits.loc["A", "first_order_profit"], profits.loc["A", "lifetime_profit"]
    cac = cac_by_channel(t["giveaway_spend"], first_order_attributes(t["customer_a"])).loc["giveaway", "cac"]
    top = top_share(customer_summary(t["top_51_67"], warn=False), fractions=[0.1, 0.2])["share"]
    split = repeat_split(customer_summary(t["repeat_12_36"], warn=False))
    bands = aov_bands(t["aov_60"])
    simple = "simple_clv(aov=, purchases_per_year=, years=)"
    rows = [
        ("formula", "worked example: 200 × 4 a year × 3 years", 2400.0, clv.iloc[0], "money", simple, None),
        ("formula", "cheaper basket: 50 × 4 a year × 3 years", 600.0, clv.iloc[1], "money", simple, None),
        ("formula", "monthly subscription: 30 × 12 a year × 1 year", 360.0, clv.iloc[2], "money", simple, None),
        ("formula", "James: 300 once", 300.0, clv.loc["James"], "money", simple, None),
        ("formula", "Stacy: three pairs at 100 a year for 3 years", 900.0, clv.loc["Stacy"], "money", simple, None),
        ("formula", "Stacy's order value (AOV)", 100.0, js.loc["Stacy", "total_revenue"] / js.loc["Stacy", "n_orders"],
         "money", "customer_summary(...).aov", None),
        ("formula", "Stacy ÷ James", 900.0 / 300.0,
         js.loc["Stacy", "total_revenue"] / js.loc["James", "total_revenue"], "ratio",
         "customer_summary(...).total_revenue", "repeat_to_one_time_revenue"),
        ("cac", "customer A's first-order profit", 29.0, first, "money", "profit_clv(orders)", None),
        ("cac", "customer A's CLV (profit to date)", 304.0, life, "money", "profit_clv(orders)", None),
        ("cac", "CLV ÷ first-order profit", 304.0 / 29.0, profits.loc["A", "profit_multiple"], "ratio",
         "profit_clv(orders)", "lifetime_to_first_profit"),
        ("cac", "CAC: (gift card 400 + app 99 a year) ÷ 5 customers", 499.0 / 5, cac, "money",
         "cac_by_channel(spend, first_order_attributes(orders))", "cac"),
        ("cac", "CLV less CAC", 304.0 - 99.8, life - cac, "money", "profit_clv − cac_by_channel", None),
        ("cac", "LTV:CAC", 304.0 / 99.8, life / cac, "to_one", "profit_clv ÷ cac_by_channel", "ltv_cac"),
        ("pareto", "top 10 % of customers: share of revenue", 0.51, top.loc[0.1], "share",
         "top_share(customers, fractions=[0.1, 0.2])", "top10_share"),
        ("pareto", "top 20 % of customers: share of revenue", 0.67, top.loc[0.2], "share",
         "top_share(customers, fractions=[0.1, 0.2])", "top20_share"),
        ("pareto", "repeat customers: share of customers", 0.12, split.loc["repeat", "customer_share"], "share",
         "repeat_split(customers)", "repeat_customer_share"),
        ("pareto", "repeat customers: share of revenue", 0.36, split.loc["repeat", "revenue_share"], "share",
         "repeat_split(customers)", "repeat_revenue_share"),
        ("pareto", "store AOV", 60.0, bands.attrs["store_aov"], "money", "aov_bands(orders)", "store_aov"),
        ("pareto", "lower band edge (½ × AOV)", 30.0, bands["upper"].iloc[0], "money", "aov_bands(orders)",
         "band_low"),
        ("pareto", "upper band edge (2 × AOV)", 120.0, bands["lower"].iloc[-1], "money", "aov_bands(orders)",
         "band_high"),
    ]
    table = pd.DataFrame(rows, columns=["article", "example", "article_value", "clvlib_value", "kind", "call",
                                        "measure"])
    table["clvlib_value"] = table["clvlib_value"].astype(np.float64)
    return table.set_index(["article", "example"])


def store_measures(orders: pd.DataFrame, *, marketing_spend: pd.DataFrame | None = None, as_of=None) -> pd.Series:
    """The measures the articles quote (:data:`ARTICLE_MEASURES`), computed for one store with the usual calls.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders table (:func:`clvlib.load_orders`). Guest orders count towards the store AOV only.
    marketing_spend : DataFrame, optional
        ``month``, ``channel``, ``spend``; without it CAC and LTV:CAC are NaN.
    as_of : date-like, optional
        Orders and spend after it are ignored. None: the last order date.

    Returns
    -------
    Series indexed by the keys of :data:`ARTICLE_MEASURES`. Profit is gross margin when the orders carry a cost,
    else revenue (the ratios do not depend on a constant margin). NaN where the store cannot say: no repeat or no
    one-time customer, no spend.

    Examples
    --------
    >>> s = store_measures(article_tables()["repeat_12_36"])
    >>> s[["repeat_customer_share", "repeat_revenue_share", "repeat_to_one_time_revenue"]].round(3).tolist()
    [0.12, 0.36, 4.125]
    """
    as_of = orders["order_date"].max() if as_of is None else pd.Timestamp(as_of)
    orders = orders[orders["order_date"] <= as_of]
    customers = customer_summary(orders, as_of=as_of, warn=False)
    split = repeat_split(customers)
    per_head = split["revenue"] / split["customers"].where(split["customers"] > 0)
    top = top_share(customers, fractions=[0.1, 0.2])["share"]
    bands = aov_bands(orders)
    profits = profit_clv(orders, as_of=as_of)
    gap = profit_gap_table(profits)
    first = gap.loc["repeat buyers", "first_order_profit"]
    measures = {
        "repeat_to_one_time_revenue": per_head["repeat"] / per_head["one-time"],
        "lifetime_to_first_profit": gap.loc["repeat buyers", "lifetime_profit"] / first if first > 0 else np.nan,
        "cac": np.nan, "ltv_cac": np.nan,
        "top10_share": top.loc[0.1], "top20_share": top.loc[0.2],
        "repeat_customer_share": split.loc["repeat", "customer_share"],
        "repeat_revenue_share": split.loc["repeat", "revenue_share"],
        "store_aov": store_aov(orders), "band_low": bands["upper"].iloc[0], "band_high": bands["lower"].iloc[-1],
        "high_band_customer_share": bands["customer_share"].iloc[-1],
        "high_band_revenue_share": bands["revenue_share"].iloc[-1],
    }
    if marketing_spend is not None and "channel" in orders.columns:
        acquired = first_order_attributes(orders, as_of=as_of).join(profits["lifetime_profit"])
        by_channel = ltv_cac(acquired, marketing_spend, ltv_column="lifetime_profit", as_of=as_of)
        new = by_channel["new_customers"].sum()
        if new > 0 and by_channel["spend"].sum() > 0:
            cac = by_channel["spend"].sum() / new
            ltv = (by_channel["ltv"].fillna(0.0) * by_channel["new_customers"]).sum() / new
            measures.update(cac=cac, ltv_cac=ltv / cac)
    return pd.Series(measures, dtype="float64")


def article_comparison(stores: Mapping[str, pd.DataFrame], *,
                       marketing_spend: Mapping[str, pd.DataFrame | None] | None = None) -> pd.DataFrame:
    """The articles' measures beside the same measures on each store.

    Parameters
    ----------
    stores : mapping of str to DataFrame
        Orders tables by the name to show, e.g. ``{"demo store": orders, "CDNOW": clvlib.load_cdnow()}``.
    marketing_spend : mapping of str to DataFrame or None, optional
        Spend tables by store name, for CAC and LTV:CAC.

    Returns
    -------
    DataFrame indexed by ``example`` and ``measure`` (the keys of :data:`ARTICLE_MEASURES`) with ``label``,
    ``kind``, ``article`` (from :func:`article_examples`; the customer share and revenue share of the article's
    high band from its $60 store) and one column per store.
    """
    examples = article_examples()
    article = examples.dropna(subset=["measure"]).set_index("measure")["clvlib_value"]
    article = article.reindex(list(ARTICLE_MEASURES))
    high = aov_bands(article_tables()["aov_60"]).iloc[-1]
    article[["high_band_customer_share", "high_band_revenue_share"]] = [high["customer_share"],
                                                                         high["revenue_share"]]
    spend = dict(marketing_spend or {})
    table = pd.DataFrame({
        "example": [ARTICLE_MEASURES[m][0] for m in ARTICLE_MEASURES],
        "measure": list(ARTICLE_MEASURES),
        "label": [ARTICLE_MEASURES[m][1] for m in ARTICLE_MEASURES],
        "kind": [ARTICLE_MEASURES[m][2] for m in ARTICLE_MEASURES],
        "article": article.to_numpy(),
    })
    for name, orders in stores.items():
        table[name] = store_measures(orders, marketing_spend=spend.get(name)).reindex(table["measure"]).to_numpy()
    return table.set_index(["example", "measure"])


def _cell(value: float, kind: str, currency: str, article: float | None = None) -> str:
    """One value for a Markdown table; a share with its gap to the article's, in percentage points, when given."""
    if value is None or not np.isfinite(value):
        return "–"
    if kind == "money":
        return markdown_money(value, currency)
    if kind == "ratio":
        return f"{value:.1f}×"
    if kind == "to_one":
        return f"{value:.1f}\\:1"
    text = format_pct(value)
    if article is not None and np.isfinite(article):
        gap = round(100 * (value - article))
        sign, plural = "+" if gap > 0 else "−", "s" if abs(gap) > 1 else ""
        text += " (same)" if gap == 0 else f" ({sign}{abs(gap)} point{plural})"
    return text


def describe_article_comparison(comparison: pd.DataFrame, *, example: str,
                                currencies: Mapping[str, str] | None = None) -> str:
    """One example's measures as a Markdown table: the article, then each store with its gap to the article.

    Parameters
    ----------
    comparison : DataFrame
        Output of :func:`article_comparison`.
    example : str
        One of the examples of :data:`ARTICLE_MEASURES` ("James and Stacy", "Customer A", "Top customers",
        "Repeat customers", "AOV bands").
    currencies : mapping of str to str, optional
        Currency of each store's money (default USD, the articles' and CDNOW's).

    Returns
    -------
    str
        Markdown (names and money escaped). Shares carry their gap to the article in percentage points; money
        and ratios are shown as they are (stores differ in size and currency). "–": the store cannot say (no
        spend, no repeat or no one-time customer).

    Examples
    --------
    >>> table = article_comparison({"store": article_tables()["top_51_67"]})
    >>> print(describe_article_comparison(table, example="Top customers"))
    | measure | article | store |
    |---|---|---|
    | revenue share of the top 10 % of customers | 51 % | 51 % (same) |
    | revenue share of the top 20 % of customers | 67 % | 67 % (same) |
    """
    check_argument("example", EXAMPLES, example)
    currencies = dict(currencies or {})
    rows = comparison.xs(example, level="example")
    stores = [c for c in comparison.columns if c not in ("label", "kind", "article")]
    lines = ["| measure | article | " + " | ".join(escape_markdown(s) for s in stores) + " |",
             "|---" * (2 + len(stores)) + "|"]
    for _, row in rows.iterrows():
        cells = [escape_markdown(row["label"]), _cell(row["article"], row["kind"], "USD")]
        cells += [_cell(row[s], row["kind"], currencies.get(s, "USD"),
                        None if row["kind"] == "money" else row["article"]) for s in stores]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
