"""RFM figures: drawn values equal the tables clvlib computes (checked against plain pandas), labels carry units."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib.plots import plot_migration_heatmap, plot_rfm_heatmap, plot_score_distributions, plot_segment_sizes


@pytest.fixture(scope="module")
def scored(cdnow_sample_orders) -> pd.DataFrame:
    customers = clvlib.customer_summary(cdnow_sample_orders)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return clvlib.rfm_scores(clvlib.rfm_table(customers))


def test_rfm_heatmap_of_customers(scored):
    ax = plot_rfm_heatmap(scored)
    image = ax.get_images()[0].get_array()
    expected = pd.crosstab(scored["r_score"], scored["f_score"]).reindex(
        index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5], fill_value=0)
    np.testing.assert_array_equal(np.ma.filled(image, 0), expected.to_numpy())
    assert int(np.ma.filled(image, 0).sum()) == len(scored)
    texts = [t.get_text() for t in ax.texts]
    assert texts[0] == f"{expected.iloc[0, 0]:,}"
    assert "days" in ax.get_ylabel() and "orders" in ax.get_xlabel()
    assert ax.get_yticklabels()[0].get_text().startswith("5\n≤")  # most recent at the top, with its day range
    assert ax.figure.axes[-1].get_ylabel() == "Customers"  # colour bar


def test_rfm_heatmap_of_mean_monetary(scored):
    ax = plot_rfm_heatmap(scored, value="monetary", currency="EUR")
    image = ax.get_images()[0].get_array()
    expected = scored.groupby(["r_score", "f_score"])["monetary"].mean()
    row = {5: 0, 4: 1, 3: 2, 2: 3, 1: 4}
    for (r, f), mean in expected.items():
        assert image[row[r], f - 1] == pytest.approx(mean)
    assert "EUR" in ax.get_title() and "EUR" in ax.figure.axes[-1].get_ylabel()
    assert all(t.get_text().startswith("€") for t in ax.texts)


def test_segment_sizes_bars_equal_the_summary(scored):
    summary = clvlib.segment_summary(clvlib.rfm_segments(scored))
    ax = plot_segment_sizes(summary)
    customers, revenue = ax.containers
    assert [b.get_width() for b in customers] == pytest.approx(summary["share"].tolist())
    assert [b.get_width() for b in revenue] == pytest.approx(summary["revenue_share"].tolist())
    # Independent check of the shares: plain value counts.
    counts = clvlib.rfm_segments(scored)["segment"].value_counts(normalize=True)
    assert customers[0].get_width() == pytest.approx(counts.get("Champions", 0.0))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(summary.index)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Share of customers", "Share of revenue (USD)"]
    assert "%" in ax.get_xlabel()


def test_score_distributions_bars_are_counts(scored):
    ax = plot_score_distributions(scored, currency="GBP")
    assert len(ax.containers) == 3
    for container, col in zip(ax.containers, ["r_score", "f_score", "m_score"]):
        counts = scored[col].value_counts().reindex(range(1, 6), fill_value=0)
        assert [b.get_height() for b in container] == counts.tolist()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Recency (days) score", "Frequency (orders) score", "Monetary (GBP) score"]
    assert ax.get_ylabel() == "Customers"


def test_migration_heatmap_counts_and_shares():
    before = pd.Series({"a": "Champions", "b": "Champions", "c": "Lost", "d": "Lost"})
    after = pd.Series({"a": "Champions", "b": "At Risk", "c": "Lost", "e": "Champions"})
    migration = clvlib.segment_migration(before, after)
    fig, (left, right) = plt.subplots(1, 2)
    plot_migration_heatmap(migration, ax=left)
    np.testing.assert_array_equal(left.get_images()[0].get_array(), migration.matrix.to_numpy())
    assert [t.get_text() for t in left.get_xticklabels()] == ["Champions", "Lost", "At Risk", "(gone)"]
    assert [t.get_text() for t in left.get_yticklabels()][-1] == "(new)"
    assert left.get_xlabel() == "Segment at the later date"
    plot_migration_heatmap(migration.matrix, share=True, ax=right)
    shares = np.ma.filled(right.get_images()[0].get_array(), np.nan)
    assert np.nansum(shares, axis=1)[[0, 1, 3]] == pytest.approx([1.0, 1.0, 1.0])  # rows with customers
    assert "50 %" in [t.get_text() for t in right.texts]  # the kit's one percentage style


# --- small stores: every value tied, empty levels and segments -------------------------------------------------------

def _tied_scores(n: int = 30) -> pd.DataFrame:
    """``n`` customers who each bought once, on one day, for $50: every R, F and M value tied."""
    orders = pd.DataFrame({"customer_id": [f"c{i:02d}" for i in range(n)], "order_id": [f"o{i}" for i in range(n)],
                           "order_date": pd.Timestamp("2024-03-01"), "revenue": 50.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return clvlib.rfm_scores(clvlib.rfm_table(clvlib.customer_summary(orders)))


def test_heatmaps_of_all_tied_data_label_the_one_level_with_its_value():
    scores = _tied_scores()
    ax = plot_rfm_heatmap(scores)
    image = np.ma.filled(ax.get_images()[0].get_array(), 0)
    assert image[2, 0] == 30 and image.sum() == 30  # recency ranks no one: R 3 (third row); one order: F 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1\n1 order"] + [f"{k}\n(empty)" for k in (2, 3, 4, 5)]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "5\n(empty)", "4\n(empty)", "3\n≤ 0 d", "2\n(empty)", "1\n(empty)"]
    assert not any("inf" in t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels())
    money = plot_rfm_heatmap(scores, value="monetary", ax=plt.subplots()[1])
    assert [t.get_text() for t in money.texts] == ["$50"]  # empty cells stay blank
    money.figure.canvas.draw()


def test_score_distributions_of_all_tied_data_name_the_empty_levels():
    ax = plot_score_distributions(_tied_scores())
    heights = [p.get_height() for p in ax.patches]
    assert sorted(heights, reverse=True)[:3] == [30, 30, 30] and sum(heights) == 90
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2\n(empty)", "3", "4\n(empty)", "5\n(empty)"]
    ax.figure.canvas.draw()


def test_segment_sizes_and_migration_of_a_one_segment_store():
    scores = _tied_scores()
    segments = clvlib.rfm_segments(scores)
    summary = clvlib.segment_summary(segments.assign(clv=np.nan), clv_column="clv")
    ax = plot_segment_sizes(summary)
    widths = [p.get_width() for p in ax.patches]
    assert widths.count(1.0) == 2 and sum(widths) == 2.0  # Lost: all customers, all revenue; the rest at 0
    assert len(ax.get_yticklabels()) == 11
    ax.figure.canvas.draw()
    migration = clvlib.segment_migration(segments.iloc[:0], segments)
    shares = plot_migration_heatmap(migration, share=True, ax=plt.subplots()[1])
    assert [t.get_text() for t in shares.texts] == ["100 %"]  # empty earlier rows stay blank, no NaN text
    shares.figure.canvas.draw()


# --- segment names from a user's scheme are drawn as text, never as mathtext ------------------------------------------

_PAYLOADS = ["T-shirt $$", "$\\href{x}$", "$25 - $50"]


def _drawn(text) -> str:
    """What matplotlib draws for a Text: no mathtext, and escaped dollars shown as dollars."""
    shown, math = text._preprocess_math(text.get_text())
    assert not math, text.get_text()
    return shown


def test_segment_names_with_dollars_draw_as_plain_text():
    summary = pd.DataFrame({"share": [0.2, 0.3, 0.5], "revenue_share": [0.1, 0.3, 0.6]}, index=_PAYLOADS)
    fig, ax = plt.subplots()
    plot_segment_sizes(summary, currency="$$", ax=ax)
    fig.canvas.draw()
    assert [_drawn(t) for t in ax.get_yticklabels()] == _PAYLOADS
    assert [_drawn(t) for t in ax.get_legend().get_texts()][1] == "Share of revenue ($$)"
    plt.close(fig)
    before = pd.Series({"a": _PAYLOADS[0], "b": _PAYLOADS[1], "c": _PAYLOADS[2]})
    after = pd.Series({"a": _PAYLOADS[1], "b": _PAYLOADS[2], "c": _PAYLOADS[2]})
    fig, ax = plt.subplots()
    plot_migration_heatmap(clvlib.segment_migration(before, after), ax=ax)
    fig.canvas.draw()
    assert set(_PAYLOADS) <= {_drawn(t) for t in ax.get_xticklabels()}
    assert set(_PAYLOADS) <= {_drawn(t) for t in ax.get_yticklabels()}
    plt.close(fig)
