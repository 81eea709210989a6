"""Figures for the CLV models: holdout check by frequency, tracking, P(alive) map.

Each function draws a table computed by a public :mod:`clvlib.models` function and does no modelling:
:func:`~clvlib.holdout_scorecard`, :func:`~clvlib.tracking_table` and
:func:`~clvlib.p_alive_grid`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from .._validation import validate_columns
from ..config import TIME_UNIT_NAMES
from ._style import get_ax, percent_formatter, place_legend, plain_text
from ..formatting import format_pct

__all__ = ["plot_calibration_vs_holdout", "plot_tracking", "plot_p_alive_heatmap", "plot_model_tracking",
           "plot_retention"]

_ACTUAL, _MODEL, _BASELINE = "#1f4e79", "#d9822b", "#8c8c8c"


def _unit_name(unit: str | None) -> str:
    return TIME_UNIT_NAMES.get(unit, "time units") if unit else "time units"


def plot_calibration_vs_holdout(
    scorecard,
    *,
    baselines: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Mean holdout repeat purchases by calibration frequency: actual vs model (and the naive baselines).

    Parameters
    ----------
    scorecard : HoldoutScorecard or DataFrame
        Output of :func:`clvlib.holdout_scorecard`, or its ``by_frequency`` table.
    baselines : bool
        Also draw the historical-rate and store-average baselines.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    table = getattr(scorecard, "by_frequency", scorecard)
    attrs = getattr(scorecard, "attrs", {}) if not isinstance(scorecard, pd.DataFrame) else {}
    ax = get_ax(ax)
    positions = np.arange(len(table))
    ax.plot(positions, table["actual"], marker="o", color=_ACTUAL, linewidth=2, label="actual")
    ax.plot(positions, table["model"], marker="s", color=_MODEL, linewidth=2, label="model")
    if baselines:
        for name, style in (("historical rate", ":"), ("store average", "--")):
            column = name.replace(" ", "_")  # column names have no spaces; the legend reads as words
            if column in table:
                ax.plot(positions, table[column], linestyle=style, color=_BASELINE, label=f"naive: {name}")
    ax.set_xticks(positions, list(table.index))
    unit = _unit_name(attrs.get("time_unit"))
    duration = attrs.get("duration_holdout")
    period = f"the {duration:.0f}-{unit[:-1]} holdout" if duration else "the holdout period"
    ax.set(
        title="Holdout check: repeat purchases by calibration frequency",
        xlabel="Repeat purchases in the calibration period",
        ylabel=f"Mean repeat purchases per customer\nin {period} ({unit})",
    )
    ax.legend(frameon=False)
    return ax


def plot_tracking(tracking: pd.DataFrame, *, cumulative: bool = True, ax: Axes | None = None) -> Axes:
    """Repeat purchases over calendar time, actual vs model, with the end of calibration marked.

    Parameters
    ----------
    tracking : DataFrame
        Output of :func:`clvlib.tracking_table`.
    cumulative : bool
        Cumulative curves (the classic tracking plot) or purchases per period.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    kind = "cumulative" if cumulative else "repeat_purchases"
    actual = tracking["actual_cumulative" if cumulative else "actual_repeat_purchases"]
    expected = tracking["expected_cumulative" if cumulative else "expected_repeat_purchases"]
    ax = get_ax(ax)
    ax.plot(tracking.index, actual, color=_ACTUAL, linewidth=2, label="actual")
    ax.plot(tracking.index, expected, color=_MODEL, linewidth=2, linestyle="--", label="model")
    cal_end = tracking.attrs.get("calibration_end")
    if cal_end is not None:
        ax.axvline(cal_end, color=_BASELINE, linestyle=":", label=f"end of calibration ({cal_end:%Y-%m-%d})")
    step = str(tracking.attrs.get("freq", "")).split("-")[0].upper()
    per = {"W": "week", "D": "day", "ME": "month", "M": "month", "MS": "month"}.get(step, "period")
    ylabel = "Cumulative repeat purchases" if kind == "cumulative" else f"Repeat purchases per {per}"
    ax.set(
        title="Tracking: repeat purchases, actual vs model",
        xlabel="Order date (calendar time)",
        ylabel=ylabel,
    )
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(frameon=False)
    return ax


def plot_p_alive_heatmap(
    grid: pd.DataFrame,
    *,
    customers: pd.DataFrame | None = None,
    max_frequency: int | None = None,
    quantile: float = 0.99,
    cmap: str = "RdYlGn",
    ax: Axes | None = None,
) -> Axes:
    """P(alive) by repeat purchases and recency, for customers of one age, over the frequencies customers have.

    The grid of :func:`clvlib.p_alive_grid` runs to 30 repeat purchases by default, which almost no customer
    reaches: the map is then mostly the red corner of impossible customers. Given the customer table, the rows
    stop at the ``quantile`` of the customers' repeat purchases, so the picture is of the customers there are.

    Parameters
    ----------
    grid : DataFrame
        Output of :func:`clvlib.p_alive_grid` (rows frequency, columns recency).
    customers : DataFrame, optional
        The customer table with a ``frequency`` column (:func:`clvlib.customer_summary`): the rows drawn stop at
        its ``quantile`` of repeat purchases (at least 1).
    max_frequency : int, optional
        The last row drawn, instead of the one ``customers`` gives. Without either, the whole grid is drawn.
    quantile : float
        Share of the customers whose repeat purchases the rows cover (0.99: all but the top 1 %).
    cmap : str
        Matplotlib colour map; green = likely active. The scale runs over the full 0–1 whatever the rows.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    if not 0 < quantile <= 1:
        raise ValueError(f"`quantile` must be in (0, 1], but {quantile!r} was passed.")
    shown_note = ""
    if max_frequency is None and customers is not None:
        validate_columns(customers, ("frequency",), source="customers", what="customer table")
        frequency = customers["frequency"].to_numpy(dtype=np.float64)
        frequency = frequency[np.isfinite(frequency)]
        if frequency.size:
            max_frequency = max(1, int(np.ceil(np.quantile(frequency, quantile))))
            shown_note = (f"rows: up to {max_frequency} repeat purchases, where {format_pct(quantile)} of customers are"
                          if quantile < 1 else "")
    if max_frequency is not None:
        if max_frequency < 1:
            raise ValueError(f"`max_frequency` must be at least 1, but {max_frequency!r} was passed.")
        grid = grid.loc[grid.index <= max_frequency]
    ax = get_ax(ax)
    recency = grid.columns.to_numpy(dtype=np.float64)
    freq = grid.index.to_numpy(dtype=np.float64)
    half = (recency[1] - recency[0]) / 2 if len(recency) > 1 else 0.5
    image = ax.imshow(
        grid.to_numpy(dtype=np.float64), origin="lower", aspect="auto", cmap=cmap, vmin=0, vmax=1,
        extent=(recency[0] - half, recency[-1] + half, freq[0] - 0.5, freq[-1] + 0.5), interpolation="nearest",
    )
    colorbar = ax.figure.colorbar(image, ax=ax)
    colorbar.set_label("P(alive): probability the customer\nis still active")
    colorbar.ax.yaxis.set_major_formatter(percent_formatter())
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(10, len(freq))))
    unit = _unit_name(grid.attrs.get("time_unit"))
    T = grid.attrs.get("T")
    age = f"{T:,.1f} {unit}" if T is not None else "the same age"
    title = f"Who is still active? Customers first seen {age} ago"
    ax.set(
        title=f"{title}\n({shown_note})" if shown_note else title,
        xlabel=f"Recency: time of the last purchase ({unit} after the first)",
        ylabel="Repeat purchases (frequency)",
    )
    return ax


# Distinct, colour-blind-safe hues for the models of one comparison (Okabe-Ito), in the comparison's order.
_MODEL_COLOURS = ("#d9822b", "#009e73", "#cc79a7", "#56b4e9")
_MODEL_STYLES = ("--", "-.", ":", (0, (5, 1)))


def plot_model_tracking(tracking: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Cumulative repeat purchases over calendar time: actual and every model of a comparison, on one plot.

    Parameters
    ----------
    tracking : DataFrame
        ``ModelComparison.tracking`` (:func:`clvlib.compare_models`): ``actual`` and one column per model, with
        ``attrs["models"]`` naming them and ``attrs["calibration_end"]``. Without a model (no comparison was
        possible) the Axes says so instead of drawing an empty plot.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    validate_columns(tracking, ("actual",), source="tracking", what="tracking table")
    names = tracking.attrs.get("models") or {c: c for c in tracking.columns if c != "actual"}
    ax = get_ax(ax)
    if tracking.empty or not names:
        ax.text(0.5, 0.5, "No model could be fitted on these data:\nnothing to track (see the comparison).",
                ha="center", va="center", transform=ax.transAxes)
        ax.set(title="Tracking: cumulative repeat purchases, actual vs each model", xticks=[], yticks=[])
        return ax
    ax.plot(tracking.index, tracking["actual"], color=_ACTUAL, linewidth=2.5, label="actual")
    for i, (column, name) in enumerate(names.items()):
        ax.plot(tracking.index, tracking[column], color=_MODEL_COLOURS[i % len(_MODEL_COLOURS)], linewidth=1.8,
                linestyle=_MODEL_STYLES[i % len(_MODEL_STYLES)], label=plain_text(name))
    cal_end = tracking.attrs.get("calibration_end")
    if cal_end is not None:
        ax.axvline(cal_end, color=_BASELINE, linestyle=":", label=f"end of calibration ({cal_end:%Y-%m-%d})")
    ax.set(
        title="Tracking: cumulative repeat purchases, actual vs each model",
        xlabel="Order date (calendar time)",
        ylabel="Cumulative repeat purchases\n(customers of the calibration period)",
    )
    ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", labelrotation=30)
    place_legend(ax, avoid=ax.get_lines(), locs=("upper left", "lower right", "center left"), fallback="below",
                 frameon=False)
    return ax


def plot_retention(survivors: pd.Series, *, model=None, n_periods: int | None = None,
                   ax: Axes | None = None) -> Axes:
    """Share of a subscription cohort still subscribed after each period: observed, and the fitted sBG curve.

    Parameters
    ----------
    survivors : Series
        Survivors per period, starting with the cohort size (:func:`clvlib.pooled_survivors`, or a row of
        :func:`clvlib.subscription_cohorts`); ``attrs["period"]`` ("M" or "Y") names the period on the axis.
    model : ShiftedBetaGeometric, optional
        Fitted sBG model: its expected share S(t) is drawn, solid over the periods observed and dashed beyond
        (a projection).
    n_periods : int, optional
        How many periods to draw (default: the observed ones, or twice as many with a model, for the projection).
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    observed = pd.Series(survivors, dtype=np.float64).dropna()
    if len(observed) == 0 or observed.iloc[0] <= 0:
        raise ValueError("`survivors` must start with the cohort size (a positive number of subscribers).")
    last = int(observed.index.max())
    if n_periods is None:
        n_periods = 2 * last if model is not None else last
    if isinstance(n_periods, bool) or int(n_periods) != n_periods or n_periods < 1:
        raise ValueError(f"`n_periods` must be a whole number >= 1, but {n_periods!r} was passed.")
    n_periods = int(n_periods)
    unit = {"M": "months", "Y": "years"}.get(survivors.attrs.get("period", "M"), "periods")
    ax = get_ax(ax)
    shown = observed[observed.index <= n_periods]
    size = observed.iloc[0]
    ax.plot(shown.index, shown / size, color=_ACTUAL, marker="o", linewidth=0, markersize=5,
            label=f"observed ({int(size):,} subscribers)")
    if model is not None:
        fitted = model.survival(n_periods, cohort_size=1)
        inside = fitted[fitted.index <= last]
        ax.plot(inside.index, inside, color=_MODEL, linewidth=2, label="sBG model (fitted)")
        if n_periods > last:
            beyond = fitted[fitted.index >= last]
            ax.plot(beyond.index, beyond, color=_MODEL, linewidth=2, linestyle="--", label="sBG model (projected)")
    ax.set(
        title="Retention: subscribers still subscribed, observed vs sBG model",
        xlabel=f"{unit.capitalize()} since subscribing (renewals)",
        ylabel="Still subscribed (% of the cohort)",
        ylim=(0, 1.05), xlim=(-0.5, n_periods + 0.5),
    )
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    place_legend(ax, avoid=ax.get_lines(), locs=("upper right", "lower left", "center right"), fallback="below",
                 frameon=False)
    return ax
