"""clvlib.formatting: money and shares for people, and data values made literal in Markdown sentences."""

from __future__ import annotations

import pandas as pd
import pytest

from clvlib.formatting import escape_markdown, markdown_money

PAYLOADS = ["**x**", "<img src=x onerror=alert(1)>", "$\\href{x}$", "[a](javascript:alert(1))", "`code`", "a | b",
            "# Heading", "- item", "1. first", "~~gone~~", "&lt;b&gt;", "_under_", "![i](x)", "https://x.y/z",
            "<script>document.title='pwned'</script>", "T-shirt $$", "$25 - $50", "line\r\n= two\rthree"]


def _html(markdown: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


@pytest.mark.parametrize("value", PAYLOADS)
def test_escaped_values_render_as_their_own_text(value):
    import html

    rendered = _html(f"Segment **{escape_markdown(value)}** brings {markdown_money(25)} and {markdown_money(50)}.")
    # One paragraph, one bold run, no other element: no link, image, code, heading, list or raw HTML.
    tags = sorted(set(pd.Series(__import__("re").findall(r"</?([a-z0-9]+)", rendered))))
    assert tags == ["p", "strong"], rendered
    text = html.unescape(__import__("re").sub(r"<[^>]+>", "", rendered)).strip()
    expected = " ".join(value.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    assert " ".join(text.split("\n")) == f"Segment {expected} brings $25 and $50."


def test_every_markdown_special_is_escaped():
    out = escape_markdown("\\`*_{}[]()<>#|$~!&^:")
    assert out == "".join("\\" + c for c in "\\`*_{}[]()<>#|$~!&^:")
    assert escape_markdown("# a\n- b\n+ c\n= d\n12. e") == "\\# a\n\\- b\n\\+ c\n\\= d\n12\\. e"
    assert escape_markdown("plain text, 3.5 % - ok") == "plain text, 3.5 % - ok"  # nothing else changes
    assert escape_markdown(12) == "12" and escape_markdown(None) == "None"


def test_money_dollars_are_escaped_so_two_amounts_are_not_maths():
    assert markdown_money(1234, "USD") == "\\$1,234"
    assert markdown_money(35.257, "EUR") == "€35.26"
    assert markdown_money(5, "<b>") == "5 \\<b\\>"  # a currency code from the data is escaped too


def test_sentences_escape_segment_names_and_money():
    import clvlib

    frame = pd.DataFrame({"segment": ["<img src=x onerror=alert(1)>", "**bold**", "**bold**"],
                          "total_revenue": [300.0, 100.0, 100.0], "clv": [900.0, 1.0, 2.0]})
    lines = clvlib.segment_headlines(clvlib.segment_summary(frame, clv_column="clv"), clv_label="CLV $x$")
    joined = " ".join(lines)
    assert "<img" not in joined.replace("\\<img", "")
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in joined and "\\*\\*bold\\*\\*" in joined
    assert "(\\$900)" in joined and "CLV \\$x\\$" in joined
    before = pd.DataFrame({"segment": ["[a](javascript:x)"] * 2}, index=["a", "b"])
    after = pd.DataFrame({"segment": ["$\\href{x}$"] * 2, "total_revenue": [30.0, 20.0]}, index=["a", "b"])
    moved = clvlib.migration_headlines(clvlib.segment_migration(before, after))[1]
    assert "\\[a\\]\\(javascript\\:x\\)" in moved and "\\$\\\\href\\{x\\}\\$" in moved and "\\$50" in moved
    stats = pd.Series({"mean": 40.0, "median": 20.0, "skewness": 2.1, "share_below_mean": 0.8})
    sentence = clvlib.describe_order_values(stats)
    assert sentence.startswith("The average order (AOV) is \\$40 but the median order is \\$20")


# --- every Markdown sentence the notebooks show: no bare "$" (JupyterLab would typeset two of them as maths) -------

UNESCAPED_DOLLAR = __import__("re").compile(r"(?<!\\)\$")


def _markdown_outputs(orders: pd.DataFrame, spend: pd.DataFrame, currency: str = "USD") -> dict[str, str]:
    """Each kit function whose text a notebook passes to ``Markdown(...)``, rendered on ``orders``."""
    import warnings

    import clvlib

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        customers = clvlib.customer_summary(orders, warn=False)
        as_of = pd.Timestamp(customers.attrs["as_of"])
        out["describe_orders"] = clvlib.describe_orders(orders, as_of=as_of, currency=currency, time_unit="W",
                                                        margin=0.4)
        out["describe_store_inputs"] = clvlib.describe_store_inputs(clvlib.store_clv_inputs(orders), currency=currency)
        history = clvlib.historical_clv(customers)
        out["describe_historical_clv"] = clvlib.describe_historical_clv(history, currency=currency,
                                                                        label="revenue $ to date")
        profits = clvlib.profit_clv(orders, margin=None if "gross_margin" in orders.columns else 0.3)
        out["describe_profit_gap"] = clvlib.describe_profit_gap(clvlib.profit_gap_table(profits), currency=currency)
        split = clvlib.repeat_split(customers)
        out["describe_repeat_split"] = clvlib.describe_repeat_split(split, currency=currency)
        out["describe_concentration"] = clvlib.describe_concentration(customers)
        out["describe_order_values"] = clvlib.describe_order_values(clvlib.order_value_stats(orders),
                                                                    currency=currency)
        out["describe_large_orders"] = clvlib.describe_large_orders(clvlib.large_orders(orders),
                                                                    clvlib.business_buyers(orders), orders)
        out["pareto_headlines"] = "\n".join(clvlib.pareto_headlines(customers, orders, currency=currency))
        result = clvlib.predict_clv(orders, as_of=as_of, intervals=False)
        out["CLVPrediction.describe"] = result.describe(currency=currency)
        out["CLVPrediction.label, reason, notes"] = "\n".join([result.label, result.reason, *result.notes])
        out["describe_top_share"] = clvlib.describe_top_share(result.table, column=result.value_column)
        acquired = clvlib.acquisition_table(orders, result.table[[result.ltv_column]], as_of=as_of)
        out["describe_acquisition"] = clvlib.describe_acquisition(
            acquired, spend, ltv_column=result.ltv_column, ltv_label=result.ltv_label, currency=currency, as_of=as_of)
        by_channel = clvlib.channel_ltv_cac(acquired, spend, ltv_column=result.ltv_column, as_of=as_of)
        out["describe_ltv_cac"] = clvlib.describe_ltv_cac(by_channel)
        by_product = clvlib.product_clv(acquired, clv_column=result.ltv_column)
        out["describe_first_products"] = clvlib.describe_first_products(by_product, currency=currency)
        scores = clvlib.rfm_scores(clvlib.rfm_table(customers))
        out["rfm score_notes"] = "\n".join(scores.attrs["score_notes"])
        segments = clvlib.rfm_segments(scores)
        summary = clvlib.segment_summary(segments.assign(clv=result.table[result.value_column]), clv_column="clv")
        out["segment_headlines"] = "\n".join(clvlib.segment_headlines(summary, currency=currency,
                                                                      clv_label=result.label))
        since = as_of - pd.Timedelta(days=91)
        earlier = clvlib.rfm_table(clvlib.customer_summary(orders, as_of=since, warn=False), as_of=since)
        earlier = clvlib.rfm_scores(earlier, method="fixed", thresholds=scores.attrs["rfm_thresholds"])
        migration = clvlib.segment_migration(clvlib.rfm_segments(earlier), segments)
        out["migration_headlines"] = "\n".join(clvlib.migration_headlines(migration, since=since, currency=currency))
    return out


@pytest.fixture(scope="module")
def demo_store():
    import clvlib

    orders = clvlib.load_orders(None)
    return orders, clvlib.load_marketing_spend(None, as_of=orders["order_date"].max())


def test_every_markdown_sentence_of_the_demo_store_escapes_its_dollars(demo_store):
    orders, spend = demo_store
    texts = _markdown_outputs(orders, spend)
    assert len(texts) == 18 and all(texts.values())
    bare = {name: text for name, text in texts.items() if UNESCAPED_DOLLAR.search(text)}
    assert not bare, bare
    assert "\\$" in texts["CLVPrediction.describe"] and "\\$" in texts["describe_historical_clv"]  # money is there


def test_names_from_the_data_are_escaped_in_every_sentence(demo_store):
    orders, spend = demo_store
    hostile = {c: f"{c} $5 *x* _y_ `z` <b>" for c in orders["channel"].dropna().unique()}
    orders = orders.assign(channel=orders["channel"].map(hostile),
                           product=orders["product"].astype("str") + " $ <i>*")
    spend = spend.assign(channel=spend["channel"].map(hostile))
    texts = _markdown_outputs(orders, spend)
    bare = {name: text for name, text in texts.items() if UNESCAPED_DOLLAR.search(text)}
    assert not bare, bare
    joined = "\n".join(texts.values())
    assert "\\$5 \\*x\\* \\_y\\_ \\`z\\` \\<b\\>" in texts["describe_ltv_cac"]
    assert "\\$ \\<i\\>\\*" in texts["describe_first_products"]
    assert "<b>" not in joined and "<i>" not in joined


def test_one_percentage_style_and_whole_numbers_as_integers():
    from clvlib.formatting import format_pct, styled

    assert format_pct(0.0183) == "1.8 %" and format_pct(0.0183, decimals=1) == "1.8 %"
    assert format_pct(0.6712, decimals=1) == "67.1 %" and format_pct(float("nan")) == "–"
    table = pd.DataFrame({"customers": [10100, 5], "rows": [10100.0, 3.0], "mean": [2.5, 1.25],
                          "share": [0.0183, 0.5], "name": ["a", "b"]})
    html = styled(table, percent=["share"]).to_html()
    assert ">10,100<" in html and "10,100.00" not in html and ">3<" in html  # integers, also in a float column
    assert ">2.50<" in html and ">1.8 %<" in html and ">50.0 %<" in html
    assert 'class="tex2jax_ignore"' in html  # "$25 … $50" in a table is not maths either
    explicit = styled(table, formats={"share": "{:.2f}"}, percent=["share"]).to_html()
    assert ">0.50<" in explicit and ">10,100<" in explicit  # explicit formats win, the defaults stay elsewhere
    mixed = styled(table, formats={"mean": "{:.1f}"}, percent=["share"]).to_html()
    assert ">2.5<" in mixed and ">1.8 %<" in mixed and ">10,100<" in mixed
