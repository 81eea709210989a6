"""clvlib.plots.clv: each figure draws the numbers of its table, with labelled axes and reference lines."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib import DataError
from clvlib.plots import (
    plot_clv_by_group, plot_clv_distribution, plot_clv_vs_cac, plot_cohort_curves, plot_ltv_cac, plot_payback_curves,
    plot_what_if,
)


@pytest.fixture
def ratios() -> pd.DataFrame:
    table = pd.DataFrame({"cac": [10.0, 40.0, 0.0], "ltv": [50.0, 30.0, 20.0]},
                         index=pd.Index(["email", "paid_social", "organic"], name="channel"))
    return table.assign(ltv_cac=(table["ltv"] / table["cac"]).where(table["cac"] > 0))


@pytest.fixture
def orders() -> pd.DataFrame:
    df = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "c"],
        "order_id": list("12345"),
        "order_date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-01-20", "2024-02-02", "2024-03-25"]),
        "revenue": [100.0, 50.0, 40.0, 80.0, 20.0],
        "cost": [60.0, 30.0, 30.0, 40.0, 10.0],
        "channel": ["ads", "ads", "email", "ads", "email"],
    })
    return df


def _bar_heights(ax) -> list[float]:
    return [p.get_height() for p in ax.patches]


def test_clv_vs_cac_pairs_bars_per_group(ratios):
    ax = plot_clv_vs_cac(ratios, currency="EUR")
    assert _bar_heights(ax) == [50.0, 30.0, 20.0, 10.0, 40.0, 0.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["email", "paid_social", "organic"]
    assert "EUR" in ax.get_ylabel() and ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["CLV per customer", "CAC"]
    assert ax.yaxis.get_major_formatter()(1500) == "€1.5k"


def test_ltv_cac_bars_with_target_and_break_even(ratios):
    ax = plot_ltv_cac(ratios)
    assert _bar_heights(ax) == pytest.approx([5.0, 0.75, 0.0])
    lines = {line.get_label(): line.get_ydata()[0] for line in ax.get_lines()}
    assert lines == {"target 3:1": 3.0, "break-even 1:1": 1.0}
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["5.0:1", "0.8:1", "n/a"]
    # below break-even is drawn in a different colour from above the target
    assert ax.patches[0].get_facecolor() != ax.patches[1].get_facecolor()


def test_cohort_curves_draw_one_line_per_cohort(orders):
    curves = clvlib.cumulative_value_curves(orders)
    ax = plot_cohort_curves(curves)
    assert len(ax.get_lines()) == curves["cohort"].nunique() == 2
    jan = curves[curves["cohort"] == pd.Period("2024-01", "M")]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), jan["cumulative_per_customer"])
    assert "Months since first order" in ax.get_xlabel() and "USD" in ax.get_ylabel()
    assert "revenue" in ax.get_ylabel()


def test_payback_curves_draw_cac_lines(orders):
    spend = pd.DataFrame({"month": ["2024-01", "2024-02"], "channel": ["ads", "email"], "spend": [50.0, 20.0]})
    curves = clvlib.payback_curves(orders, spend)
    ax = plot_payback_curves(curves)
    horizontal = sorted(line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"
                        and len(line.get_ydata()) == 2)
    assert horizontal == pytest.approx(sorted(curves.groupby("channel")["cac"].first().dropna()))
    assert "gross margin" in ax.get_ylabel()


def test_what_if_bars_and_labels():
    table = clvlib.what_if_table(aov=200, purchases_per_year=4, years=3)
    ax = plot_what_if(table)
    assert [p.get_width() for p in ax.patches] == pytest.approx(table["clv"].tolist())
    labels = [t.get_text() for t in ax.texts]
    assert labels[0] == "$2,400" and labels[1] == "$2,640  (+10 %)"
    # baseline on top: scenarios read from the top down in the table's order
    by_height = sorted(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())), reverse=True)
    assert [label for _, label in by_height] == list(table.index)


def test_clv_by_group_bars():
    table = clvlib.clv_by_group(pd.DataFrame({"product": ["mug", "tea", "tea"], "clv": [10.0, 30.0, 50.0]}))
    ax = plot_clv_by_group(table)
    assert _bar_heights(ax) == [40.0, 10.0]
    assert ax.get_xlabel() == "product" and "USD" in ax.get_ylabel()


def test_clv_distribution_counts_customers_and_marks_mean_and_median():
    values = pd.DataFrame({"historical_clv": [0.0, 10.0, 20.0, 30.0, 40.0, 5000.0]})
    ax = plot_clv_distribution(values)  # 5000 > 20 x median (25): log axis, the 0 is counted but not drawn
    assert ax.get_xscale() == "log"
    assert sum(_bar_heights(ax)) == 5
    marks = {line.get_label(): line.get_xdata()[0] for line in ax.get_lines()}
    assert marks == {"median $25": 25.0, "mean $850": pytest.approx(5100 / 6)}
    assert "1 at or below 0" in ax.get_legend().get_texts()[0].get_text()
    tiny = plot_clv_distribution(pd.DataFrame({"historical_clv": [0.01, 0.5, 5.0, 20.0, 900.0]}), ax=plt.figure().gca())
    assert tiny.get_xlim()[0] >= 0.5 and sum(_bar_heights(tiny)) == 5   # under $1 pooled in the first bar
    assert "under $1 in the first bar" in tiny.get_legend().get_texts()[0].get_text()
    linear = plot_clv_distribution(values.iloc[:5], log=None, ax=plt.figure().gca())
    assert linear.get_xscale() == "linear" and sum(_bar_heights(linear)) == 5


def test_clv_distribution_defaults_to_the_predicted_column_and_pools_the_tail():
    # 100 customers at 1..100 plus one at 10,000: the 99th percentile caps the drawn values, all are counted.
    clv = pd.DataFrame({"historical_clv": 1.0, "predicted_clv_12m": [*range(1, 101), 10_000.0]})
    clv.attrs["horizon_months"] = 12
    ax = plot_clv_distribution(clv, log=False, clip_quantile=0.99, currency="EUR")
    assert sum(_bar_heights(ax)) == 101
    marks = {line.get_label(): line.get_xdata()[0] for line in ax.get_lines()}
    assert marks["mean €149"] == pytest.approx((5050 + 10_000) / 101)
    assert "12 months" in ax.get_title() and "pooled" in ax.get_title()
    assert ax.get_xlabel() == "Predicted CLV over the next 12 months per customer (EUR)"
    with pytest.raises(DataError, match="`nope`"):
        plot_clv_distribution(clv, column="nope")


def test_plots_draw_on_the_given_axes_only(ratios):
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_ltv_cac(ratios, ax=right) is right
    assert not left.patches and not left.get_lines()


# --- labels from the data are drawn as text, never as mathtext --------------------------------------------------------

_PAYLOADS = ["T-shirt $$", "$\\href{x}$", "$25 - $50"]


def _drawn(text) -> str:
    """What matplotlib draws for a Text: no mathtext, and escaped dollars shown as dollars."""
    shown, math = text._preprocess_math(text.get_text())
    assert not math, text.get_text()
    return shown


def test_group_names_with_dollars_draw_as_plain_text():
    index = pd.Index(_PAYLOADS, name="product $x$")
    table = pd.DataFrame({"ltv": [50.0, 30.0, 20.0], "cac": [10.0, 40.0, 5.0], "clv_mean": [5.0, 6.0, 7.0],
                          "customers": [1, 2, 3], "clv": [10.0, 11.0, 12.0], "change_pct": [0.0, 0.1, 0.2]},
                         index=index).assign(ltv_cac=[5.0, 0.75, 4.0])
    curves = pd.DataFrame({"product": np.repeat(_PAYLOADS, 2), "months_since_first_order": [0, 1] * 3,
                           "cumulative_per_customer": [1.0, 2.0] * 3, "cac": [1.5] * 6})
    draws = [
        (lambda ax: plot_clv_vs_cac(table, clv_label="CLV $$", ax=ax), "x"),
        (lambda ax: plot_ltv_cac(table, ax=ax), "x"),
        (lambda ax: plot_clv_by_group(table, value_label="mean $ CLV $", ax=ax), "x"),
        (lambda ax: plot_what_if(table, ax=ax), "y"),
        (lambda ax: plot_cohort_curves(curves, ax=ax), "legend"),
        (lambda ax: plot_payback_curves(curves, ax=ax), "legend"),
    ]
    for draw, where in draws:
        fig, ax = plt.subplots()
        draw(ax)
        fig.canvas.draw()  # mathtext errors surface when the text is laid out
        if where == "legend":
            shown = [_drawn(t) for t in ax.get_legend().get_texts()][:3]
            assert _drawn(ax.get_legend().get_title()) == "product"
        else:
            ticks = ax.get_xticklabels() if where == "x" else ax.get_yticklabels()
            shown = [_drawn(t) for t in ticks]
            assert "product $x$" in _drawn(ax.xaxis.label) + _drawn(ax.title) or where == "y"
        assert shown == _PAYLOADS
        for text in [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]:
            _drawn(text)
        plt.close(fig)
