"""The manager's summary that opens a run's index: its sentences against the figures they state, its changes
against the previous run, and its place on the page."""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest

import clvlib
from clvlib.reporting.html import format_figure
from clvlib.reporting.index import headline_figures
from clvlib.reporting.summary import headline_changes, manager_summary, previous_run


@pytest.fixture(scope="module")
def demo():
    orders = clvlib.load_orders(None)
    headline, _ = headline_figures(orders)
    spend = clvlib.load_marketing_spend(None, data=None, as_of=orders["order_date"].max())
    summary = manager_summary(orders, as_of="2025-06-30", currency="USD", headline=headline, since="2025-03-31",
                              marketing_spend=spend, margin=clvlib.margin_rate(orders))
    return orders, headline, spend, summary


def test_each_sentence_states_the_figure_it_comes_from(demo):
    orders, headline, spend, summary = demo
    sentences = summary["sentences"]
    assert len(sentences) == 5 and summary["since"] == "2025-03-31"
    customers = clvlib.customer_summary(orders, warn=False)
    # Independent: the top fifth of customers by revenue, and the customers with two orders or more.
    revenue = customers["total_revenue"].sort_values(ascending=False)
    k = int(round(0.2 * len(revenue)))
    top = revenue.iloc[:k].sum() / revenue.sum()
    repeat = customers["n_orders"] > 1
    assert f"top 20 % of customers bring {format_figure(top, 'share')} of revenue" in sentences[0]
    assert sentences[1].startswith(f"{format_figure(repeat.mean(), 'share')} of customers have ordered more than once")
    assert f"bring {format_figure(customers.loc[repeat, 'total_revenue'].sum() / revenue.sum(), 'share')}" in sentences[1]
    assert clvlib.formatting.format_money(headline["clv_per_customer"], "USD") in sentences[2]
    assert headline["clv_label"] in sentences[2]
    # The largest slip since the earlier date, as segments_between counts it.
    flows = clvlib.segments_between(orders, since="2025-03-31").flows
    champions_to_loyal = flows[(flows["from"] == "Champions") & (flows["to"] == "Loyal Customers")]
    assert f"{int(champions_to_loyal['customers'].iloc[0]):,} Champions slipped to Loyal Customers" in sentences[3]
    payback = clvlib.cac_payback(clvlib.channel_payback(orders, spend, margin=clvlib.margin_rate(orders),
                                                        as_of=orders["order_date"].max()))
    slowest = payback["payback_months"].idxmax()
    assert f"in {int(payback.loc[slowest, 'payback_months'])} months for {slowest.replace('_', ' ')}" in sentences[4]
    assert all("nan" not in s.lower() for s in sentences)


def test_three_charts_as_png(demo):
    charts = demo[3]["charts"]
    assert [title for title, _ in charts] == ["Revenue by month", "Revenue concentration", "RFM segments"]
    assert all(uri.startswith("data:image/png;base64,") and len(uri) > 5_000 for _, uri in charts)


def test_without_spend_the_last_sentence_is_last_month_revenue(demo):
    orders, headline, _, _ = demo
    summary = manager_summary(orders, as_of="2025-06-30", currency="USD", headline=headline, charts=False)
    monthly = clvlib.revenue_by_month(orders, as_of="2025-06-30")
    june, may = monthly.loc["2025-06", "revenue"], monthly.loc["2025-05", "revenue"]
    expected = f"Revenue in June 2025: {clvlib.formatting.format_money(june, 'USD')}, {'up' if june >= may else 'down'}"
    assert summary["sentences"][-1].startswith(expected)
    # Default comparison date: a quarter before.
    assert summary["since"] == (pd.Timestamp("2025-06-30") - pd.Timedelta(days=91)).date().isoformat()


@pytest.mark.parametrize("regime", ["one_day", "tiny", "all_dropout", "no_dropout"])
def test_hard_stores_give_a_summary_without_nan(regime):
    from clvlib.datasets.stores import simulate_store

    orders = simulate_store(regime)
    as_of = orders["order_date"].max().date().isoformat()
    headline, _ = headline_figures(orders, as_of=as_of)
    summary = manager_summary(orders, as_of=as_of, currency="USD", headline=headline)
    assert 2 <= len(summary["sentences"]) <= 5
    assert all("nan" not in s.lower() and "inf" not in s.lower() for s in summary["sentences"])
    assert len(summary["charts"]) == 3


def test_previous_run_is_the_latest_earlier_complete_run_of_the_same_data(tmp_path):
    def write(folder, as_of, label="orders.csv", status="complete", revenue=100.0):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "run.json").write_text(json.dumps(
            {"as_of": as_of, "status": status, "data": {"label": label}, "headline": {"revenue": revenue,
                                                                                    "repeat_rate": 0.30}}))

    write("2025-01-31", "2025-01-31", revenue=80.0)
    write("2025-02-28", "2025-02-28", revenue=90.0)
    write("2025-03-31.failed", "2025-03-31", status="failed")
    write("other", "2025-03-15", label="another.csv")
    write("2025-04-30", "2025-04-30")  # later than the run: not a previous one
    previous = previous_run(tmp_path, "2025-03-31", "orders.csv")
    assert previous["as_of"] == "2025-02-28" and previous["folder"] == "2025-02-28"
    assert previous_run(tmp_path, "2025-01-31", "orders.csv") is None
    changes = headline_changes({"revenue": 99.0, "repeat_rate": 0.35, "clv_label": "x"}, previous)
    assert changes["revenue"] == pytest.approx(0.1) and changes["repeat_rate"] == pytest.approx(0.05)
    assert "clv_label" not in changes


def test_history_run_index_shows_changes_and_sentences(tmp_path):
    from test_cli import COLUMN_ARGS
    from test_reports import RECORD_PARAMETERS, make_notebook, make_orders

    from clvlib.reporting.cli import main

    make_orders(tmp_path / "orders.csv")
    make_notebook(tmp_path / "nb" / "01_params.ipynb", RECORD_PARAMETERS, title="Parameters report")
    root = tmp_path / "reports"
    code = main(["report", "--data", str(tmp_path / "orders.csv"), *COLUMN_ARGS, "--as-of", "2024-02-29",
                 "--as-of", "2024-03-31", "--out", str(root), "--notebooks-dir", str(tmp_path / "nb"), "-q"])
    assert code == 0
    later = (root / "2024-03-31" / "index.html").read_text()
    record = json.loads((root / "2024-03-31" / "run.json").read_text())
    assert record["previous"]["as_of"] == "2024-02-29" and record["summary"]["since"] == "2024-02-29"
    # Customers grew from 3 (a, b, c by 29 February) to 5 (d and e in March): +66.7 %.
    assert '<div class="label">Customers</div><div class="value">5</div><div class="change">+66.7 % since 2024-02-29' \
        in later
    assert re.search(r'<div class="change">[+−]\d+\.\d points since 2024-02-29</div>', later)
    assert "<h2>Summary</h2>" in later and later.index("<h2>Summary</h2>") < later.index("<h2>Reports</h2>")
    assert len(record["summary"]["sentences"]) >= 2
    for sentence in record["summary"]["sentences"]:
        assert html.escape(sentence) in later
    assert later.count('<img class="chart"') == 3
    earlier = json.loads((root / "2024-02-29" / "run.json").read_text())
    assert earlier["previous"] is None


def test_history_money_ticks_are_distinct():
    from clvlib.reporting.index import _distinct_money

    labels = _distinct_money("USD").format_ticks([2.10e6, 2.12e6, 2.14e6, 2.16e6])
    assert labels == ["$2.10M", "$2.12M", "$2.14M", "$2.16M"]
    assert _distinct_money("EUR").format_ticks([0, 20_000, 40_000]) == ["€0k", "€20k", "€40k"]


def test_the_run_folder_carries_the_glossary_the_pages_link(tmp_path):
    from test_cli import COLUMN_ARGS
    from test_reports import make_notebook, make_orders

    from clvlib.config import PROJ_ROOT
    from clvlib.reporting.cli import main

    make_orders(tmp_path / "orders.csv")
    make_notebook(tmp_path / "nb" / "01_words.ipynb", "print('see the glossary')", title="Words")
    nb = (tmp_path / "nb" / "01_words.ipynb")
    nb.write_text(nb.read_text().replace("What this report is for.",
                                         "New words are in the [glossary](../docs/glossary.md)."))
    out = tmp_path / "run"
    assert main(["report", "--data", str(tmp_path / "orders.csv"), *COLUMN_ARGS, "--out", str(out),
                 "--notebooks-dir", str(tmp_path / "nb"), "-q"]) == 0
    page = (out / "01_words.html").read_text()
    assert 'href="glossary.html"' in page and "../docs/glossary.md" not in page
    glossary = (out / "glossary.html").read_text()
    # Every term of the Markdown glossary is on the page, as a heading or a bold term.
    terms = re.findall(r"^\*\*([^*]+)\*\*", (PROJ_ROOT / "docs" / "glossary.md").read_text(), re.M)
    assert len(terms) > 30 and all(f"<strong>{html.escape(t, quote=False)}</strong>" in glossary for t in terms)
    assert 'href="glossary.html"' in (out / "index.html").read_text()
