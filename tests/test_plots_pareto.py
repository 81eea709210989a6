"""Pareto/AOV figures: artists and labels, and the drawn numbers against plain pandas on the demo store."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib import DataError
from clvlib.plots import (
    plot_aov_bands, plot_lorenz_curve, plot_order_values, plot_repeat_split, plot_top_share,
    plot_top_share_over_time,
)


@pytest.fixture(scope="module")
def demo():
    orders = clvlib.load_demo_store()["orders"]
    return orders, clvlib.customer_summary(orders)


def _heights(container) -> list[float]:
    return [patch.get_height() for patch in container]


def test_lorenz_curve_draws_the_curve_equality_line_gini_and_the_80_mark(demo):
    orders, customers = demo
    _, ax = plt.subplots()
    assert plot_lorenz_curve(clvlib.lorenz_curve(customers), ax=ax) is ax
    # Independent: the bottom 80 % of customers by plain pandas (10,100 customers, so 8,080 exactly).
    spend = orders.dropna(subset=["customer_id"]).groupby("customer_id")["revenue"].sum().sort_values()
    n = len(spend)
    bottom = spend.iloc[: round(0.8 * n)].sum() / spend.sum()
    lines = {line.get_label(): line for line in ax.get_lines()}
    equal = lines["equal spend (Gini 0)"]
    assert list(equal.get_xdata()) == [0, 1] and list(equal.get_ydata()) == [0, 1]
    curve = next(line for label, line in lines.items() if label.startswith("Lorenz curve"))
    assert curve.get_label() == f"Lorenz curve (Gini {clvlib.gini(customers):.2f})"
    np.testing.assert_allclose(np.interp(0.8, curve.get_xdata(), curve.get_ydata()), bottom)
    text = ax.texts[0].get_text()
    assert f"bottom 80 %: {100 * bottom:.0f} % of revenue" in text and f"top 20 %: {100 * (1 - bottom):.0f} %" in text
    assert ax.get_xlabel() == "Share of customers, smallest spenders first" and "Lorenz" in ax.get_title()
    assert ax.xaxis.get_major_formatter()(0.2, 0) == "20 %"


def test_top_share_bars_match_plain_pandas(demo):
    orders, customers = demo
    ax = plot_top_share(clvlib.top_share(customers))
    spend = orders.dropna(subset=["customer_id"]).groupby("customer_id")["revenue"].sum().sort_values(ascending=False)
    expected = [spend.iloc[: math.ceil(round(f * len(spend), 9))].sum() / spend.sum()
                for f in (0.01, 0.05, 0.1, 0.2, 0.5)]
    np.testing.assert_allclose(_heights(ax.containers[0]), expected)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[3] == f"top 20 %\n({math.ceil(0.2 * len(spend)):,})"
    assert [t.get_text() for t in ax.texts][3] == f"{100 * expected[3]:.0f} %"
    assert ax.get_ylabel() == "Share of revenue"
    # The equal-spend ticks: k / n for each bar.
    n = len(spend)
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1],
                               [math.ceil(round(f * n, 9)) / n for f in (0.01, 0.05, 0.1, 0.2, 0.5)])


def test_aov_bands_pair_customer_and_revenue_shares_like_plain_pandas(demo):
    orders, _ = demo
    ax = plot_aov_bands(clvlib.aov_bands(orders), currency="EUR")
    aov = orders["revenue"].mean()  # guest orders included
    per = orders.dropna(subset=["customer_id"]).groupby("customer_id")["revenue"].agg(["sum", "size"])
    cust_aov = per["sum"] / per["size"]
    masks = [cust_aov <= 0.5 * aov, (cust_aov > 0.5 * aov) & (cust_aov <= 2 * aov), cust_aov > 2 * aov]
    np.testing.assert_allclose(_heights(ax.containers[0]), [m.mean() for m in masks])
    np.testing.assert_allclose(_heights(ax.containers[1]), [per["sum"][m].sum() / per["sum"].sum() for m in masks])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["up to 0.5× AOV", "0.5×–2× AOV", "over 2× AOV"]
    assert ax.get_xlabel() == f"Customer AOV (store AOV €{aov:,.0f})"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["share of customers", "share of revenue"]
    by_order = plot_aov_bands(clvlib.aov_bands(orders, by="order"), ax=plt.figure().gca())
    assert by_order.get_legend().get_texts()[0].get_text() == "share of orders"
    np.testing.assert_allclose(sum(_heights(by_order.containers[0])), 1.0)


def test_repeat_split_bars(demo):
    orders, customers = demo
    ax = plot_repeat_split(clvlib.repeat_split(customers))
    n_orders = orders.dropna(subset=["customer_id"]).groupby("customer_id").size()
    assert _heights(ax.containers[0])[1] == pytest.approx((n_orders > 1).mean())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["one-time customers", "repeat customers"]


@pytest.mark.parametrize("log", [False, True])
def test_order_value_histogram_marks_mean_and_median(demo, log):
    orders, _ = demo
    ax = plot_order_values(orders, log=log, bins=40)
    values = orders["revenue"]
    assert sum(_heights(ax.patches)) == ((values > 0).sum() if log else len(values))
    lines = {line.get_label().split(" ")[0]: line.get_xdata()[0] for line in ax.get_lines()}
    assert lines["AOV"] == pytest.approx(values.mean()) and lines["median"] == pytest.approx(values.median())
    assert ax.get_xscale() == ("log" if log else "linear")
    assert ax.get_ylabel() == "Orders" and ax.get_xlabel().startswith("Order value (USD")


def test_top_share_over_time_draws_each_period(demo):
    orders, _ = demo
    table = clvlib.top_share_by_period(orders, freq="Y", fraction=0.2)
    ax = plot_top_share_over_time(table)
    known = orders.dropna(subset=["customer_id"])
    years = known["order_date"].dt.year
    expected = []
    for _, chunk in known.groupby(years):
        spend = chunk.groupby("customer_id")["revenue"].sum().sort_values(ascending=False)
        expected.append(spend.iloc[: math.ceil(round(0.2 * len(spend), 9))].sum() / spend.sum())
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(y) for y in sorted(years.unique())]
    assert ax.get_title() == "Share of revenue from the top 20 % of customers, by year"


def test_plots_reject_the_wrong_table(demo):
    _, customers = demo
    with pytest.raises(DataError, match="`value_share`"):
        plot_lorenz_curve(clvlib.top_share(customers))
    with pytest.raises(DataError, match="`revenue_share`"):
        plot_aov_bands(pd.DataFrame({"customer_share": [1.0]}))


def _pct(share: float) -> str:
    percent = 100 * share
    return f"{percent:.0f} %" if percent >= 9.95 else f"{percent:.1f} %".replace(".0 %", " %")


@pytest.mark.slow
def test_notebook_on_cdnow_writes_headlines_that_plain_pandas_confirms(tmp_path):
    import nbformat
    import papermill

    from clvlib.config import DATA_DIR, NOTEBOOKS_DIR

    out = tmp_path / "03.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS_DIR / "03_pareto_aov.ipynb"), str(out), cwd=str(NOTEBOOKS_DIR), progress_bar=False,
        parameters={"data": "data/cdnow/CDNOW_master.txt", "preset": "cdnow", "currency": "EUR"},
    )
    markdown = "\n".join(
        output["data"]["text/markdown"] for cell in nbformat.read(out, 4).cells
        for output in cell.get("outputs", []) if "text/markdown" in output.get("data", {})
    )
    raw = pd.read_csv(DATA_DIR / "cdnow" / "CDNOW_master.txt", sep=r"\s+", header=0,
                      names=["customer_id", "date", "quantity", "revenue"], dtype={"customer_id": str})
    per = raw.groupby("customer_id")["revenue"].agg(["sum", "size"])
    spend = per["sum"].sort_values(ascending=False)
    k = math.ceil(0.2 * len(spend))
    assert f"Your top 20 % of customers ({k:,} people) bring {_pct(spend.iloc[:k].sum() / spend.sum())} of revenue." \
        in markdown
    aov = raw["revenue"].mean()
    cust_aov = per["sum"] / per["size"]
    high, low = cust_aov > 2 * aov, cust_aov <= 0.5 * aov
    total = per["sum"].sum()
    assert (f"Customers spending more than twice the store AOV (€{aov:.2f}) are {_pct(high.mean())} of customers "
            f"and make {_pct(per['sum'][high].sum() / total)} of revenue; those spending up to half of it "
            f"are {_pct(low.mean())} of customers and make {_pct(per['sum'][low].sum() / total)}.") in markdown
    repeat = per["size"] > 1
    assert f"Repeat customers are {_pct(repeat.mean())} of customers ({repeat.sum():,})" in markdown
    assert f"the median order is €{raw['revenue'].median():.2f}" in markdown


# --- labels from the data are drawn as text, never as mathtext --------------------------------------------------------

_PAYLOADS = ["T-shirt $$", "$\\href{x}$", "$25 - $50"]


def _drawn(text) -> str:
    """What matplotlib draws for a Text: no mathtext, and escaped dollars shown as dollars."""
    shown, math = text._preprocess_math(text.get_text())
    assert not math, text.get_text()
    return shown


def test_band_and_period_names_with_dollars_draw_as_plain_text():
    shares = {"customer_share": [0.2, 0.3, 0.5], "order_share": [0.2, 0.3, 0.5], "revenue_share": [0.1, 0.3, 0.6]}
    bands = pd.DataFrame(shares, index=pd.Index(_PAYLOADS, name="band"))
    bands.attrs["store_aov"] = 30.0
    split = pd.DataFrame(shares, index=pd.Index(_PAYLOADS))
    by_period = pd.DataFrame({"share": [0.5, 0.6, 0.7], "customers": [3, 4, 5]}, index=pd.Index(_PAYLOADS))
    lorenz = pd.DataFrame({"customer_share": [0.0, 0.5, 1.0], "value_share": [0.0, 0.2, 1.0]})
    draws = [
        (lambda ax: plot_aov_bands(bands, ax=ax), _PAYLOADS),
        (lambda ax: plot_repeat_split(split, ax=ax), [f"{p} customers" for p in _PAYLOADS]),
        (lambda ax: plot_top_share_over_time(by_period, value_label="$ $", ax=ax), _PAYLOADS),
        (lambda ax: plot_lorenz_curve(lorenz, value_label="revenue in $ (and $)", ax=ax), None),
    ]
    for draw, expected in draws:
        fig, ax = plt.subplots()
        draw(ax)
        fig.canvas.draw()  # mathtext errors surface when the text is laid out
        if expected is not None:
            assert [_drawn(t) for t in ax.get_xticklabels()] == expected
        for text in [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts, *ax.get_legend().get_texts()]:
            _drawn(text)
        plt.close(fig)


def test_order_values_of_a_one_order_store_draw_one_bar():
    orders = pd.DataFrame({"revenue": [42.5]})
    for log in (False, True):
        ax = plot_order_values(orders, log=log, ax=plt.subplots()[1])
        heights = [p.get_height() for p in ax.patches]
        assert sum(heights) == 1 and max(heights) == 1
        ax.figure.canvas.draw()


def test_order_values_legend_does_not_cover_bars(demo):
    orders, _ = demo
    for log in (False, True):
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        plot_order_values(orders, log=log, ax=ax)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legend = ax.get_legend().get_window_extent(renderer)
        assert not [p for p in ax.patches if p.get_height() > 0 and legend.overlaps(p.get_window_extent(renderer))]


def test_top_share_over_a_long_history_thins_its_labels():
    periods = pd.period_range("2015Q1", "2025Q2", freq="Q").astype(str)
    table = pd.DataFrame({"share": np.linspace(0.4, 0.8, len(periods)), "customers": 50},
                         index=pd.Index(periods, name="period"))
    table.attrs.update(freq="Q", fraction=0.2)
    fig, ax = plt.subplots(figsize=(9, 4))
    plot_top_share_over_time(table, ax=ax)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), table["share"])  # every period is drawn
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for texts in (ax.get_xticklabels(), ax.texts):
        boxes = [t.get_window_extent(renderer) for t in texts if t.get_text()]
        assert boxes and not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    assert len(ax.texts) == 2  # the first and the last (here also the lowest and the highest)
