"""clvlib.plots.clv: each figure draws the numbers of its table, with labelled axes and reference lines."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib import DataError
from clvlib.plots import (
    money_formatter, plot_clv_by_group, plot_clv_distribution, plot_clv_vs_cac, plot_cohort_curves,
    plot_cohort_heatmap, plot_ltv_cac, plot_payback_curves, plot_what_if,
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


# --- figures that read at a glance (issue 16, item 5) ----------------------------------------------------------------

def _pixels(ax, boxes_of):
    """Draw the figure at its size and return the display boxes of ``boxes_of(ax)``."""
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    return [artist.get_window_extent(renderer) for artist in boxes_of(ax)]


@pytest.fixture
def long_orders() -> pd.DataFrame:
    """Three monthly cohorts of two customers each, buying every month until 2024-06."""
    rows = []
    for c, start in enumerate(["2024-01", "2024-02", "2024-03"]):
        for k in range(2):
            for m in pd.period_range(start, "2024-06", freq="M"):
                rows.append({"customer_id": f"{c}{k}", "order_date": m.to_timestamp() + pd.Timedelta(days=3),
                             "revenue": 10.0 * (c + 1) + k})
    df = pd.DataFrame(rows)
    return df.assign(order_id=[str(i) for i in range(len(df))])


def test_cohort_heatmap_cells_are_the_cohort_table(long_orders):
    curves = clvlib.cumulative_value_curves(long_orders)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    assert plot_cohort_heatmap(curves, currency="EUR", ax=ax) is ax
    table = clvlib.cohort_revenue_table(long_orders).drop(columns="customers")
    drawn = np.ma.filled(ax.get_images()[0].get_array().astype(float), np.nan)
    np.testing.assert_allclose(drawn, table.to_numpy(dtype=float), equal_nan=True)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2024-01", "2024-02", "2024-03"]
    assert "EUR" in fig.axes[1].get_ylabel() and "Months since first order" in ax.get_xlabel()
    assert ax.get_title() == "Cumulative revenue per customer by monthly cohort"
    assert not [p for p in ax.patches if p.get_hatch()]  # nothing projected, nothing hatched
    # Large cells are written in; the wide cohort table draws the same picture.
    fmt = money_formatter(currency="EUR")
    assert [t.get_text() for t in ax.texts] == [fmt(v) for v in table.to_numpy().ravel() if np.isfinite(v)]
    wide = plot_cohort_heatmap(clvlib.cohort_revenue_table(long_orders), ax=plt.subplots()[1])
    np.testing.assert_allclose(np.ma.filled(wide.get_images()[0].get_array().astype(float), np.nan), drawn,
                               equal_nan=True)


def test_cohort_heatmap_marks_projected_cells_and_only_those(long_orders):
    curves = clvlib.cumulative_value_curves(long_orders)
    actual = clvlib.cohort_revenue_table(long_orders).drop(columns="customers")
    projection = actual.ffill(axis=1) * 1.5  # a stand-in projection for every cell
    ax = plot_cohort_heatmap(curves, projected=projection)
    drawn = np.ma.filled(ax.get_images()[0].get_array().astype(float), np.nan)
    future = actual.isna().to_numpy()
    np.testing.assert_allclose(drawn[~future], actual.to_numpy()[~future])  # actuals stay actual
    np.testing.assert_allclose(drawn[future], projection.to_numpy()[future])
    covered = np.zeros_like(future)
    for patch in ax.patches:
        assert patch.get_hatch()
        x0, y0 = patch.get_x() + 0.5, patch.get_y() + 0.5
        covered[int(round(y0)), int(round(x0)):int(round(x0 + patch.get_width()))] = True
    assert (covered == future).all()
    assert "projected" in ax.get_title()
    # A boolean column of the long table marks cells too.
    flagged = curves.assign(projected=curves["months_since_first_order"] >= 2)
    ax = plot_cohort_heatmap(flagged, projected="projected", ax=plt.subplots()[1])
    assert sum(p.get_width() for p in ax.patches) == (flagged["projected"]).sum()


def test_cohort_heatmap_turns_logarithmic_when_cohorts_differ_by_orders_of_magnitude(long_orders):
    curves = clvlib.cumulative_value_curves(long_orders)
    curves.loc[curves["cohort"] == curves["cohort"].min(), "cumulative_per_customer"] *= 1000
    ax = plot_cohort_heatmap(curves)
    assert type(ax.get_images()[0].norm).__name__ == "LogNorm" and "log scale" in ax.figure.axes[1].get_ylabel()


def test_ltv_cac_labels_stay_clear_of_the_target_and_break_even_lines():
    # The demo store's shape: one channel at 1.8:1 beside channels far above the target.
    table = pd.DataFrame({"ltv_cac": [16.4, 4.9, 42.8, 1.8, 11.3]},
                         index=pd.Index(["email", "marketplace", "organic", "paid_social", "referral"], name="channel"))
    for log in (False, None):
        fig, ax = plt.subplots(figsize=(7, 4.2))
        plot_ltv_cac(table, log=log, ax=ax)
        labels = _pixels(ax, lambda ax: ax.texts)
        assert [t.get_text() for t in ax.texts] == ["16.4:1", "4.9:1", "42.8:1", "1.8:1", "11.3:1"]
        for level in (3.0, 1.0):
            y = ax.transData.transform((0, level))[1]
            assert not [b for b in labels if b.y0 - 1 <= y <= b.y1 + 1], (log, level)
        legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
        assert not [b for b in _pixels(ax, lambda ax: [*ax.patches, *ax.texts]) if legend.overlaps(b)]
    assert ax.get_yscale() == "log"  # 42.8 > 10 x the target: the ratios are read on a log axis
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1:1", "3:1", "10:1", "30:1", "100:1"]


def test_payback_cac_lines_are_named_at_the_right_without_overlapping():
    months = np.arange(12)
    curves = pd.concat([
        pd.DataFrame({"channel": ch, "months_since_first_order": months,
                      "cumulative_per_customer": start + 25.0 * months, "cac": cac})
        for ch, start, cac in (("email", 40.0, 9.0), ("organic", 60.0, 4.0), ("paid", 30.0, 42.0),
                               ("referral", 50.0, 8.0))
    ], ignore_index=True)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    plot_payback_curves(curves, ax=ax)
    names = [t for t in ax.texts if "CAC" in t.get_text()]
    assert sorted(_drawn(t) for t in names) == ["email CAC $9", "organic CAC $4", "paid CAC $42",
                                                "referral CAC $8"]
    boxes = _pixels(ax, lambda ax: names)
    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    axes_box = ax.get_window_extent()
    assert all(b.x0 >= axes_box.x1 for b in boxes)  # beside the Axes, not over the curves
    assert ax.get_yscale() == "log"  # margins up to $325 against a $4 CAC: the CACs would bunch at $0
    # The payback dots: paid reaches its $42 CAC in month 1, the others in month 0.
    dots = {(line.get_xdata()[0], line.get_ydata()[0]) for line in ax.get_lines() if line.get_marker() == "o"
            and len(line.get_xdata())}
    assert dots == {(0, 40.0), (0, 60.0), (1, 55.0), (0, 50.0)}
    legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    for line in ax.get_lines()[:4]:
        xy = line.get_transform().transform(line.get_xydata())
        assert not legend.count_contains(xy)


def test_histogram_legend_does_not_cover_the_peak():
    # Bars near the top of the Axes everywhere: every corner has bars under it, so no corner is free.
    rng = np.random.default_rng(3)
    values = pd.DataFrame({"historical_clv": rng.uniform(0, 100, 4000)})
    fig, ax = plt.subplots(figsize=(8, 3.8))
    plot_clv_distribution(values, log=False, ax=ax)
    legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    bars = _pixels(ax, lambda ax: [p for p in ax.patches if p.get_height() > 0])
    assert not [b for b in bars if legend.overlaps(b)]
    tallest = max(ax.patches, key=lambda p: p.get_height())
    assert not legend.overlaps(tallest.get_window_extent(fig.canvas.get_renderer()))


def test_clv_vs_cac_legend_sits_inside_clear_of_bars_and_labels(ratios):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    plot_clv_vs_cac(ratios, clv_label="CLV to date + 12-month gross-margin CLV, BG/NBD, discounted 10 %/year", ax=ax)
    legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert not [b for b in _pixels(ax, lambda ax: [*ax.patches, *ax.texts]) if legend.overlaps(b)]
    assert legend.y0 >= ax.get_window_extent().y0  # inside: clear of the x-axis label, which it used to cover
    huge = pd.DataFrame({"ltv": [26_000.0, 100.0], "cac": [3.0, 67.0]}, index=pd.Index(["a", "b"], name="channel"))
    assert plot_clv_vs_cac(huge, ax=plt.subplots()[1]).get_yscale() == "log"


def test_money_ticks_are_distinct_and_small_ticks_keep_their_cents():
    fmt = money_formatter()
    assert fmt.format_ticks([2.10e6, 2.12e6, 2.14e6, 2.16e6]) == ["$2.10M", "$2.12M", "$2.14M", "$2.16M"]
    assert fmt.format_ticks([0.01, 0.1, 1, 10, 1000]) == ["$0.01", "$0.1", "$1", "$10", "$1k"]
    assert fmt.format_ticks([0, 500, 1000, 1500]) == ["$0", "$500", "$1.0k", "$1.5k"]  # one precision per unit
    assert fmt(148.57) == "$149" and fmt(1500) == "$1.5k"  # a single value (a bar label) stays rounded


def test_clv_by_group_keeps_a_long_label_inside_the_figure():
    table = clvlib.clv_by_group(pd.DataFrame({"product": ["mug", "tea", "tea"], "clv": [10.0, 30.0, 50.0]}))
    label = "mean CLV to date + 12-month gross-margin CLV, BG/NBD, discounted 10 %/year"
    fig, ax = plt.subplots(figsize=(9, 4))
    plot_clv_by_group(table, value_label=label, ax=ax)
    title, ylabel = _pixels(ax, lambda ax: [ax.title, ax.yaxis.label])
    assert title.width <= fig.bbox.width and ylabel.height <= ax.get_window_extent().height
