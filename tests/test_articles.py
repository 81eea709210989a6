"""The articles the kit began from: every example's number through clvlib, CDNOW beside them, and the reading aids.

Each article number is worked by hand in the test and computed by the ordinary clvlib calls on the tiny stores of
``clvlib.article_tables``; the notebooks must show every one of them, link the glossary, and the glossary must
define every term the pages use.
"""

from __future__ import annotations

import math
import re

import nbformat
import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib.config import NOTEBOOKS_DIR, PROJ_ROOT
from clvlib.formatting import format_money

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
GLOSSARY = PROJ_ROOT / "docs" / "glossary.md"
GLOSSARY_LINK = "](../docs/glossary.md)"


@pytest.fixture(scope="module")
def tables():
    return clvlib.article_tables()


def _markdown(path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


# --- the article numbers, by hand and through clvlib -------------------------------------------------------------


def test_formula_examples_and_james_against_stacy(tables):
    f = tables["formula"]
    clv = clvlib.simple_clv(aov=f["aov"], purchases_per_year=f["purchases_per_year"], years=f["years"])
    # 200 × 4 × 3, 50 × 4 × 3, 30 × 12 × 1; James 300 × 1 × 1, Stacy 100 × 3 × 3.
    assert clv.to_dict() == {"worked example": 2400.0, "cheaper basket": 600.0, "monthly subscription": 360.0,
                             "James": 300.0, "Stacy": 900.0}
    customers = clvlib.customer_summary(tables["james_stacy"], warn=False)
    first = clvlib.first_order_attributes(tables["james_stacy"])["first_order_revenue"]
    # James's first order is three times Stacy's; what Stacy brings is three times James's.
    assert first.to_dict() == {"James": 300.0, "Stacy": 100.0}
    assert customers["total_revenue"].to_dict() == {"James": 300.0, "Stacy": 900.0}
    assert customers.loc["Stacy", "n_orders"] == 9 and customers.loc["James", "frequency"] == 0


def test_customer_a_first_order_clv_and_the_gift_card_arithmetic(tables):
    profits = clvlib.profit_clv(tables["customer_a"])
    a = profits.loc["A"]
    # 100 − 71 = 29 on the first order; 29 + (250 − 125) + (300 − 150) = 304 over the three.
    assert (a["first_order_profit"], a["lifetime_profit"]) == (29.0, 304.0)
    assert a["profit_multiple"] == pytest.approx(304 / 29)
    acquired = clvlib.first_order_attributes(tables["customer_a"])
    cac = clvlib.cac_by_channel(tables["giveaway_spend"], acquired).loc["giveaway"]
    # ($400 gift card + $99 for a year of the app) ÷ 5 new customers = $99.80; $304 − $99.80 = $204.20.
    assert (cac["spend"], cac["new_customers"]) == (499.0, 5)
    assert cac["cac"] == pytest.approx(99.8)
    assert format_money(a["lifetime_profit"] - cac["cac"]) == "$204"
    assert a["lifetime_profit"] / cac["cac"] == pytest.approx(3.046, abs=0.001)  # about 3:1


def test_top_ten_and_twenty_percent_bring_51_and_67_percent(tables):
    customers = clvlib.customer_summary(tables["top_51_67"], warn=False)
    top = clvlib.top_share(customers, fractions=[0.1, 0.2])
    # Ten customers, $1,000: the best one brings $510, the best two $510 + $160.
    assert top["k"].tolist() == [1, 2]
    assert top["share"].tolist() == pytest.approx([0.51, 0.67])


def test_repeat_customers_are_12_percent_and_bring_36_percent(tables):
    split = clvlib.repeat_split(clvlib.customer_summary(tables["repeat_12_36"], warn=False))
    # 3 of 25 customers; 3 × 3 × $55 = $495 of 22 × $40 + $495 = $1,375.
    assert split.loc["repeat", ["customers", "orders", "revenue"]].tolist() == [3, 9, 495.0]
    assert split.loc["repeat", "customer_share"] == pytest.approx(0.12)
    assert split.loc["repeat", "revenue_share"] == pytest.approx(0.36)


def test_a_60_dollar_store_has_bands_at_30_and_120(tables):
    bands = clvlib.aov_bands(tables["aov_60"])
    # $360 over six orders; half and twice $60.
    assert clvlib.store_aov(tables["aov_60"]) == 60.0 and bands.attrs["store_aov"] == 60.0
    assert bands["upper"].iloc[0] == 30.0 and bands["lower"].iloc[-1] == 120.0
    assert bands["customers"].tolist() == [1, 4, 1]
    assert bands["revenue_share"].iloc[-1] == pytest.approx(150 / 360)


def test_article_examples_agree_with_the_articles_for_every_article_with_an_example():
    table = clvlib.article_examples()
    assert np.allclose(table["clvlib_value"], table["article_value"], rtol=1e-12, atol=1e-12)
    assert set(table.index.get_level_values("article")) == {"formula", "cac", "pareto"}
    assert set(table.index.get_level_values("article")) <= set(clvlib.ARTICLES)
    # Every measure the stores are compared on has the article's figure.
    assert set(table["measure"].dropna()) <= set(clvlib.ARTICLE_MEASURES)
    values = dict(zip(table.index.get_level_values("example"), table["article_value"]))
    for example, figure in {"worked example: 200 × 4 a year × 3 years": 2400, "CLV less CAC": 204.2,
                            "top 10 % of customers: share of revenue": 0.51, "upper band edge (2 × AOV)": 120}.items():
        assert values[example] == pytest.approx(figure)


# --- the same measures on CDNOW and the demo store ----------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison():
    orders = clvlib.load_orders(None)
    spend = clvlib.load_marketing_spend(None, data=None, as_of=orders["order_date"].max())
    return clvlib.article_comparison({"demo store": orders, "CDNOW": clvlib.load_cdnow()},
                                     marketing_spend={"demo store": spend})


def test_cdnow_top_ten_and_twenty_percent_are_50_9_and_67_8(comparison):
    cdnow = comparison["CDNOW"].droplevel("example")
    assert round(cdnow["top10_share"], 3) == 0.509 and round(cdnow["top20_share"], 3) == 0.678
    # The articles' figures, within a point.
    assert abs(cdnow["top10_share"] - 0.51) < 0.01 and abs(cdnow["top20_share"] - 0.67) < 0.01


def test_store_measures_are_the_library_figures(comparison):
    orders = clvlib.load_cdnow()
    customers = clvlib.customer_summary(orders, warn=False)
    cdnow = comparison["CDNOW"].droplevel("example")
    split = clvlib.repeat_split(customers)
    assert cdnow["repeat_customer_share"] == split.loc["repeat", "customer_share"]
    assert cdnow["store_aov"] == pytest.approx(orders["revenue"].mean())
    assert cdnow["band_high"] == pytest.approx(2 * orders["revenue"].mean())
    per_head = split["revenue"] / split["customers"]
    assert cdnow["repeat_to_one_time_revenue"] == pytest.approx(per_head["repeat"] / per_head["one-time"])
    assert math.isnan(cdnow["cac"]) and math.isnan(cdnow["ltv_cac"])  # CDNOW published no spend
    demo = comparison["demo store"].droplevel("example")
    assert demo.notna().all(), demo[demo.isna()]
    assert comparison["article"].notna().all()
    assert list(comparison.index.get_level_values("measure")) == list(clvlib.ARTICLE_MEASURES)


def test_the_demo_store_figures_are_the_ones_every_page_quotes(comparison):
    orders = clvlib.load_orders(None)
    figures = clvlib.store_figures(orders)
    demo = comparison["demo store"].droplevel("example")
    for measure, figure in (("store_aov", "aov"), ("repeat_customer_share", "repeat_rate"),
                            ("top20_share", "top20_share")):
        assert demo[measure] == pytest.approx(figures[figure], rel=1e-12), measure


def test_store_measures_of_the_articles_stores_give_the_articles_numbers(tables):
    repeat = clvlib.store_measures(tables["repeat_12_36"])
    assert repeat[["repeat_customer_share", "repeat_revenue_share"]].tolist() == pytest.approx([0.12, 0.36])
    assert repeat["repeat_to_one_time_revenue"] == pytest.approx(165 / 40)
    james_stacy = clvlib.store_measures(tables["james_stacy"])
    assert james_stacy["repeat_to_one_time_revenue"] == pytest.approx(3.0)
    a = clvlib.store_measures(tables["customer_a"], marketing_spend=tables["giveaway_spend"])
    assert a["lifetime_to_first_profit"] == pytest.approx(304 / 29) and a["cac"] == pytest.approx(99.8)
    # A store without a repeat customer cannot say what a repeat customer brings: NaN, shown as "–".
    none_repeat = clvlib.store_measures(tables["top_51_67"])
    assert math.isnan(none_repeat["repeat_to_one_time_revenue"]) and math.isnan(none_repeat["lifetime_to_first_profit"])


def test_describe_article_comparison_writes_escaped_markdown(comparison):
    text = clvlib.describe_article_comparison(comparison, example="Customer A", currencies={"demo store": "USD"})
    lines = text.splitlines()
    assert lines[0] == "| measure | article | demo store | CDNOW |" and len(lines) == 2 + 3
    assert "\\$99.80" in text and "3.0\\:1" in text and "| – |" in text
    assert "$" not in text.replace("\\$", "")  # no bare dollar: JupyterLab would read two as maths
    top = clvlib.describe_article_comparison(comparison, example="Top customers")
    assert "| 51 % | 53 % (+2 points) | 51 % (same) |" in top  # the demo store, then CDNOW
    with pytest.raises(ValueError, match="`example`"):
        clvlib.describe_article_comparison(comparison, example="Stacy")


# --- the pages: every article number shown, the glossary linked and complete -------------------------------------


def test_the_articles_notebook_shows_every_article_number():
    text = _markdown(NOTEBOOKS_DIR / "00_from_the_articles.ipynb")
    figures = ["\\$2,400", "\\$600", "\\$360", "James", "\\$300", "Stacy", "\\$900", "\\$29", "\\$304", "\\$400",
               "\\$99", "\\$99.80", "\\$204", "3:1", "51 %", "67 %", "12 %", "36 %", "\\$60", "\\$30", "\\$120",
               "50.9 %", "67.8 %"]
    assert [f for f in figures if f not in text] == []
    # Every article is introduced, and each tiny store is called through clvlib in the page.
    nb = nbformat.read(NOTEBOOKS_DIR / "00_from_the_articles.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for call in ("simple_clv", "profit_clv", "cac_by_channel", "top_share", "repeat_split", "aov_bands",
                 "article_comparison", "article_examples", "load_cdnow"):
        assert f"clvlib.{call}(" in code, call


def test_notebook_titles_are_numbered_and_cross_references_point_at_sections():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].source.startswith(f"# {path.stem[:2]} · "), path.name
        headings = {m.group(1) for c in nb.cells if c.cell_type == "markdown"
                    for m in re.finditer(r"^## (\d+)\. ", c.source, re.M)}
        cited = {m.group(1) for c in nb.cells for m in re.finditer(r"\bsection (\d+)\b", c.source)}
        assert cited <= headings, f"{path.name}: sections {sorted(cited - headings)} do not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_links_the_glossary_and_spells_out_bgnbd(path):
    text = _markdown(path)
    first = text.split("\n## ")[0]  # the link is in the opening cell, before the first section
    assert GLOSSARY_LINK in first and GLOSSARY.is_file()
    if "BG/NBD" in text:
        assert "beta-geometric/negative binomial" in text


def test_the_readme_links_the_glossary():
    assert "(docs/glossary.md)" in (PROJ_ROOT / "README.md").read_text(encoding="utf-8")


# Glossary entry (as bold in docs/glossary.md) -> how the pages write it (a regular expression).
TERMS = {
    "Customer lifetime value (CLV)": r"CLV", "LTV": r"\bLTV\b", "AOV": r"\bAOV\b", "store AOV": r"store AOV",
    "Purchases per year": r"purchases per year", "Retention rate": r"retention", "Churn rate": r"churn",
    "Gross margin": r"gross margin", "Discount rate": r"discount", "Simple CLV": r"simple CLV",
    "What-if table": r"what-if|What if", "Historical CLV": r"historical CLV", "Predicted CLV": r"predicted CLV",
    "First-order profit": r"first.order", "Mean and median": r"median",
    "CAC": r"\bCAC\b", "LTV:CAC": r"LTV:CAC", "Payback": r"payback", "Channel": r"channel", "Cohort": r"cohort",
    "First product": r"first product", "One-to-one marketing types": r"one-to-one",
    "Pareto principle": r"Pareto principle", "Top share": r"top.share|top 20 %", "Lorenz curve": r"Lorenz",
    "Gini coefficient": r"Gini", "Repeat customer": r"repeat customer", "One-time customer": r"one-time",
    "AOV bands": r"AOV bands|bands", "Skewness": r"Skewness", "Robust z-score": r"robust z-score", "MAD": r"\bMAD\b",
    "Likely business buyers": r"business buyers",
    "RFM": r"\bRFM\b", "RFM recency": r"Recency", "RFM frequency": r"Frequency", "RFM code": r"RFM code",
    "RFM scores": r"score", "Thresholds": r"threshold", "Segment": r"segment", "Scheme": r"scheme",
    "Segment migration": r"moved|migration", "Pseudonym": r"pseudonym",
    "Order": r"order", "Guest order": r"guest", "Cleaning report": r"cleaning report", "as_of": r"as_of|as-of",
    "Time unit": r"time unit", "Customer table": r"customer table",
    "Frequency (models)": r"frequency", "Recency (models)": r"recency", "T": r"\bT\b", "Two recencies": r"recency",
    "Horizon": r"horizon", "Alive": r"alive", "BG/NBD": r"BG/NBD", "Pareto/NBD": r"Pareto/NBD",
    "Gamma-Gamma": r"Gamma-Gamma", "Why two purchase models": r"Why two purchase models|fits both",
    "r": r"`r\b|\br /", "alpha": r"alpha", "a": r"`a, b`|\ba /", "b": r"`a, b`", "s": r"`s, beta`|\bs /",
    "beta": r"`s, beta`", "p": r"`p, q, v`", "q": r"`p, q, v`", "v": r"`p, q, v`|`v`",
    "P(alive)": r"P\(alive\)", "Calibration period": r"calibration", "Holdout period": r"holdout",
    "Naive baselines": r"naive baselines", "MAE": r"\bMAE\b", "RMSE": r"\bRMSE\b", "Spearman": r"Spearman",
    "Top-decile capture": r"top-decile capture", "Purchases error": r"purchases error|error on total",
    "Scorecard": r"holdout", "Sound fit": r"sound", "Sufficiency check": r"sufficiency",
    "Intervals": r"interval", "Tracking plot": r"cumulative repeat purchases",
}


def test_the_glossary_defines_every_term_the_pages_use():
    glossary = GLOSSARY.read_text(encoding="utf-8")
    defined = {b.strip().lower() for b in re.findall(r"\*\*(.+?)\*\*", glossary)}
    missing = [t for t in TERMS if t.lower() not in defined]
    assert missing == [], f"not defined (as a bold entry) in {GLOSSARY.name}: {missing}"
    pages = "\n".join(_markdown(p) for p in NOTEBOOKS)
    unused = [t for t, pattern in TERMS.items() if not re.search(pattern, pages, re.I)]
    assert unused == [], f"terms no page uses (drop them or fix the pattern): {unused}"
    # The words the issue names as stumbling blocks are spelled out, and both recencies contrasted.
    for words in ("beta-geometric/negative binomial", "RFM recency = `T` − models' recency", "lower is better",
                  "higher is better", "P(alive)", "Spearman", "top-decile capture", "\"–\""):
        assert words in glossary, words
    assert "$" not in glossary.replace("\\$", "")  # GitHub would typeset two dollars as maths


def test_pages_that_show_both_recencies_contrast_them():
    for path in NOTEBOOKS:
        text = _markdown(path)
        models = re.search(r"first to (?:the |their )?last purchase", text)
        rfm = re.search(r"days (?:since|from) the last (?:purchase|order)", text)
        if path.stem in ("02_clv", "04_rfm") or (models and "RFM" in text):
            assert models and rfm, f"{path.name}: the models' recency and RFM's recency are not both described"
