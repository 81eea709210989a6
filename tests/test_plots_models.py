"""Model figures: they draw the tables the library computed, with titles, units and the right data."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib.plots import (
    plot_calibration_vs_holdout, plot_p_alive_heatmap, plot_tracking,
)

CAL_END = "1997-09-30"


@pytest.fixture(scope="module")
def fitted(cdnow_sample_orders):
    cal = clvlib.calibration_holdout(cdnow_sample_orders, calibration_end=CAL_END, observation_end="1998-06-30",
                                     time_unit="W")
    return cal, clvlib.BetaGeo().fit(cal), clvlib.GammaGamma().fit(cal)


def test_calibration_vs_holdout_plots_scorecard_rows(fitted):
    cal, purchases, spend = fitted
    card = clvlib.holdout_scorecard(purchases, spend, cal)
    fig, ax = plt.subplots()
    out = plot_calibration_vs_holdout(card, ax=ax)
    assert out is ax
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"actual", "model", "naive: historical rate", "naive: store average"}
    np.testing.assert_allclose(lines["actual"].get_ydata(), card.by_frequency["actual"])
    np.testing.assert_allclose(lines["model"].get_ydata(), card.by_frequency["model"])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(card.by_frequency.index)
    assert "39-week holdout" in ax.get_ylabel() and "(weeks)" in ax.get_ylabel()
    plain = plot_calibration_vs_holdout(card.by_frequency, baselines=False, ax=plt.subplots()[1])
    assert len(plain.get_lines()) == 2


def test_tracking_marks_calibration_end(fitted, cdnow_sample_orders):
    _, purchases, _ = fitted
    table = clvlib.tracking_table(cdnow_sample_orders, purchases, calibration_end=CAL_END)
    ax = plot_tracking(table)
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["actual"].get_ydata(), table["actual_cumulative"])
    boundary = lines["end of calibration (1997-09-30)"]
    assert pd.Timestamp(boundary.get_xdata()[0]) == pd.Timestamp(CAL_END)
    assert ax.get_ylabel() == "Cumulative repeat purchases"
    per_week = plot_tracking(table, cumulative=False, ax=plt.subplots()[1])
    assert per_week.get_ylabel() == "Repeat purchases per week"


def test_p_alive_heatmap_shows_the_grid(fitted):
    _, purchases, _ = fitted
    grid = clvlib.p_alive_grid(purchases, T=39.0, max_frequency=10, n_recency=20)
    ax = plot_p_alive_heatmap(grid)
    image = ax.get_images()[0]
    np.testing.assert_allclose(np.ma.filled(image.get_array(), np.nan), grid.to_numpy(), equal_nan=True)
    assert image.get_clim() == (0, 1)
    assert "weeks" in ax.get_xlabel() and "39.0 weeks" in ax.get_title()
    assert ax.get_ylabel() == "Repeat purchases (frequency)"
    assert len(ax.figure.axes) == 2  # the colour bar


def test_p_alive_heatmap_stops_at_the_frequencies_customers_have(fitted):
    cal, purchases, _ = fitted
    grid = clvlib.p_alive_grid(purchases, T=39.0)  # rows 0 … 30 repeat purchases
    expected = int(np.ceil(cal["frequency"].quantile(0.99)))
    assert expected < 30
    ax = plot_p_alive_heatmap(grid, customers=cal)
    image = ax.get_images()[0]
    assert image.get_array().shape[0] == expected + 1
    assert ax.get_ylim() == (-0.5, expected + 0.5)
    np.testing.assert_allclose(np.ma.filled(image.get_array(), np.nan), grid.loc[:expected].to_numpy(),
                               equal_nan=True)
    assert image.get_clim() == (0, 1) and f"up to {expected} repeat purchases" in ax.get_title()
    assert all(float(t).is_integer() for t in ax.get_yticks())
    shown = plot_p_alive_heatmap(grid, max_frequency=5, ax=plt.subplots()[1])
    assert shown.get_ylim() == (-0.5, 5.5)
    assert plot_p_alive_heatmap(grid, ax=plt.subplots()[1]).get_ylim() == (-0.5, 30.5)  # no customers: all rows
    with pytest.raises(ValueError, match="`quantile`"):
        plot_p_alive_heatmap(grid, customers=cal, quantile=0)
