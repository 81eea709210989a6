"""The figures several pages quote (store AOV, one-time share, top-20 % share, repeat rate) agree across pages.

Runs the library calls the pages make on the demo store — 01_clv_basics and 02_clv (historical CLV sentence),
03_pareto_aov (headlines), the index (``headline_figures``) — and checks that each shared figure is the same number
everywhere, written the same way.
"""

from __future__ import annotations

import pytest

import clvlib
from clvlib.formatting import format_pct, markdown_money


@pytest.fixture(scope="module")
def demo():
    orders = clvlib.load_orders()
    return orders, clvlib.customer_summary(orders)


def test_shared_figures_agree_across_pages(demo):
    from clvlib.reporting.index import headline_figures

    orders, customers = demo
    figures = clvlib.store_figures(orders, customers=customers)
    index, _ = headline_figures(orders)
    for key in ("aov", "repeat_rate", "top20_share"):
        assert index[key] == pytest.approx(figures[key], rel=1e-12), key
    assert figures["one_time_share"] == pytest.approx(1 - index["repeat_rate"])

    top, once, aov = format_pct(figures["top20_share"]), format_pct(figures["one_time_share"]), figures["aov"]
    # 01 and 02: the historical CLV sentence (revenue in 01, gross margin in 02: the shares are the same).
    for margin, label in ((1.0, "revenue to date"), (clvlib.margin_rate(orders, margin=None), "historical CLV")):
        text = clvlib.describe_historical_clv(clvlib.historical_clv(customers, margin=margin), label=label)
        assert f"top 20 % of customers brought **{top}** of revenue" in text
        assert f"**{once}** bought only once" in text
    # 03: the headlines and the one-time sentence.
    headlines = "\n".join(clvlib.pareto_headlines(customers, orders))
    assert f"top 20 % of customers (" in headlines and f"bring {top} of revenue" in headlines
    assert f"one-time buyers are {once}" in headlines
    assert f"store AOV ({markdown_money(aov)})" in headlines
    assert clvlib.describe_repeat_split(clvlib.repeat_split(customers)).startswith(f"{once} of customers bought once")
    assert clvlib.aov_bands(orders).attrs["store_aov"] == pytest.approx(aov)


def test_the_last_period_aov_of_01_says_which_aov_it_is(demo):
    orders, _ = demo
    inputs = clvlib.store_clv_inputs(orders)
    text = clvlib.describe_store_inputs(inputs)
    # Not the store AOV (whole history, guests included): the sentence names the period and leaves guests out.
    assert inputs.loc["aov", "value"] != pytest.approx(clvlib.store_aov(orders))
    assert "(the last period) the average order of customers (guest orders left out)" in text
