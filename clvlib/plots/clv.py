"""CLV figures: the CLV distribution, CLV beside CAC, LTV:CAC, cohort and payback curves, what-if levers, CLV by group.

Each function draws a table computed by :mod:`clvlib.clv` or :mod:`clvlib.cohorts` and returns the Axes.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from .._validation import customer_indexed, validate_columns
from ..formatting import format_money, format_pct
from ._style import (get_ax, label_lines_right, log_money_ticks, money_formatter, place_legend, plain_text,
                     renderer_of, wrap)

__all__ = [
    "plot_clv_vs_cac", "plot_ltv_cac", "plot_cohort_curves", "plot_cohort_heatmap", "plot_payback_curves",
    "plot_what_if", "plot_clv_by_group", "plot_clv_distribution", "plot_projected_payback",
]

_CLV, _CAC, _GOOD, _BAD, _GREY = "#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8c8c8c"
_VALUE_NAMES = {"revenue": "revenue", "gross_margin": "gross margin"}


def _labels(index: pd.Index) -> list[str]:
    """Tick labels for a (possibly multi-level) group index, drawn as plain text (no mathtext)."""
    return [plain_text(" · ".join(map(str, k)) if isinstance(k, tuple) else k) for k in index]


def _group_name(index: pd.Index) -> str:
    return plain_text(index.name or "group")


def _money_labels(values, currency: str) -> list[str]:
    fmt = money_formatter(currency=currency)
    return ["" if not np.isfinite(v) else fmt(v) for v in values]


def plot_clv_vs_cac(
    table: pd.DataFrame, *, clv_column: str = "ltv", cac_column: str = "cac", clv_label: str = "CLV per customer",
    currency: str = "USD", log: bool | None = None, ax: Axes | None = None,
) -> Axes:
    """Paired bars per group: what a customer is worth beside what one costs to acquire.

    Parameters
    ----------
    table : DataFrame
        One row per group (e.g. channel), such as :func:`clvlib.ltv_cac` output, with the ``clv_column`` and
        ``cac_column`` columns.
    clv_column, cac_column : str, default "ltv" and "cac"
        Columns to draw (money).
    clv_label : str
        Legend label of the CLV bars, e.g. "predicted 12-month CLV".
    log : bool, optional
        Logarithmic money axis. None chooses it when the largest value is more than 1,000 times the smallest
        positive one (a CAC of $3 beside a CLV of $26k would otherwise be an invisible bar).
    """
    validate_columns(table, (clv_column, cac_column), source="table", what="LTV:CAC table")
    ax = get_ax(ax)
    both = table[[clv_column, cac_column]].to_numpy(dtype=float).ravel()
    positive = both[np.isfinite(both) & (both > 0)]
    if log is None:
        log = positive.size > 1 and positive.max() > 1000 * positive.min()
    positions = np.arange(len(table))
    width = 0.4
    for offset, column, color, label in ((-width / 2, clv_column, _CLV, clv_label),
                                         (width / 2, cac_column, _CAC, "CAC")):
        values = table[column].to_numpy(dtype=float)
        bars = ax.bar(positions + offset, np.nan_to_num(values), width, color=color, label=plain_text(wrap(label, 50)))
        ax.bar_label(bars, labels=_money_labels(values, currency), padding=2, fontsize=8)
    ax.set_xticks(positions, _labels(table.index), rotation=20 if len(table) > 4 else 0)
    if log and positive.size:
        ax.set_yscale("log")
        ax.set_ylim(positive.min() / 2, positive.max() * 2)
        log_money_ticks(ax.yaxis)
    else:
        ax.set_ylim(0, (positive.max() if positive.size else 1.0) * 1.12)
    ax.yaxis.set_major_formatter(money_formatter(currency=currency))
    ax.set(xlabel=_group_name(table.index),
           ylabel=plain_text(f"Money per customer ({currency}{', log scale' if log else ''})"),
           title="What a customer is worth vs what one costs to acquire")
    # Inside, over no bar or bar label: the axis grows a little headroom when every corner is taken.
    place_legend(ax, frameon=False, fontsize=9, locs=("upper left", "upper right", "upper center"))
    return ax


def _ratio_ticks(ax: Axes) -> None:
    """Ticks 1:1, 3:1, 10:1, 30:1 … on a log ratio axis."""
    low, high = ax.get_ylim()
    ticks = [m * 10.0 ** k for k in range(-3, 7) for m in (1, 3) if low <= m * 10.0 ** k <= high]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _pos=None: f"{x:,.0f}:1" if x >= 1 else f"{x:g}:1"))


def _clear_of_lines(ax: Axes, texts, levels, renderer) -> None:
    """Move each bar label whose box touches a horizontal reference line to just above the highest one it touches."""
    if renderer is None:
        return
    line_pixels = [ax.transData.transform((0, y))[1] for y in levels]
    for text in texts:
        for _ in range(len(levels) + 1):
            box = text.get_window_extent(renderer)
            crossing = [y for y, px in zip(levels, line_pixels) if box.y0 - 2 <= px <= box.y1 + 2]
            if not crossing:
                break
            text.xy = (text.xy[0], max(crossing))  # the label's anchor: its padding now counts from the line
            text.xyann = (0, 4)


def plot_ltv_cac(
    table: pd.DataFrame, *, column: str = "ltv_cac", target: float = 3.0, log: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Bars of LTV:CAC per group with the 3:1 rule-of-thumb target and the 1:1 break-even line.

    Bars below break-even are red, between break-even and the target orange, at or above the target green. Each
    bar is labelled with its ratio; a label that would sit on the target or break-even line is lifted above it.

    Parameters
    ----------
    table : DataFrame
        :func:`clvlib.ltv_cac` output (one row per group).
    column : str, default "ltv_cac"
        The ratio column to draw.
    target : float
        The healthy ratio to mark (3 by the common rule of thumb).
    log : bool, optional
        Logarithmic ratio axis (ticks 1:1, 3:1, 10:1 …). None chooses it when the largest ratio is over ten
        times the target, where a linear axis squeezes the 1:1 and 3:1 lines and the small bars together.
    """
    validate_columns(table, (column,), source="table", what="LTV:CAC table")
    ax = get_ax(ax)
    values = table[column].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if log is None:
        log = finite.size > 0 and finite.max() > 10 * target
    colors = [_GREY if not np.isfinite(v) else _BAD if v < 1 else _CAC if v < target else _GOOD for v in values]
    positions = np.arange(len(table))
    bars = ax.bar(positions, np.nan_to_num(values), color=colors)
    texts = ax.bar_label(bars, labels=["n/a" if not np.isfinite(v) else f"{v:.1f}:1" for v in values], padding=2)
    ax.axhline(target, color=_GOOD, linestyle="--", label=f"target {target:g}:1")
    ax.axhline(1.0, color=_BAD, linestyle=":", label="break-even 1:1")
    ax.set_xticks(positions, _labels(table.index), rotation=20 if len(table) > 4 else 0)
    top = np.nanmax(np.r_[finite, target])
    if log:
        positive = finite[finite > 0]
        low = min(0.5, positive.min() / 2) if positive.size else 0.5
        ax.set_yscale("log")
        ax.set_ylim(low, top * 2.5)
        _ratio_ticks(ax)
    else:
        ax.set_ylim(0, top * 1.15)
    ax.set(xlabel=_group_name(table.index), ylabel=f"LTV : CAC (times{', log scale' if log else ''})",
           title="LTV:CAC — value per unit of acquisition spend")
    _clear_of_lines(ax, texts, [target, 1.0], renderer_of(ax))
    place_legend(ax, frameon=False, locs=("upper right", "upper left", "upper center"))
    return ax


def _curve_lines(ax: Axes, curves: pd.DataFrame, y: str, max_legend: int) -> dict:
    """One line per group (first column of ``curves``), coloured along a sequential map; returns group→colour."""
    group = curves.columns[0]
    groups = list(dict.fromkeys(curves[group]))
    cmap = colormaps["viridis" if group == "cohort" else "tab10"]
    step = max(1, int(np.ceil(len(groups) / max_legend)))
    colors = {}
    for i, g in enumerate(groups):
        part = curves[curves[group] == g].sort_values("months_since_first_order")
        color = cmap(i / max(1, len(groups) - 1)) if group == "cohort" else cmap(i % 10)
        label = plain_text(g) if i % step == 0 or i == len(groups) - 1 else None
        ax.plot(part["months_since_first_order"], part[y], color=color, label=label,
                marker="o" if len(part) < 4 else None, linewidth=1.5)
        colors[g] = color
    return colors


def plot_cohort_curves(
    curves: pd.DataFrame, *, max_legend: int = 8, currency: str = "USD", ax: Axes | None = None,
) -> Axes:
    """Cumulative revenue (or margin) per customer by months since the first order, one line per cohort or group.

    Parameters
    ----------
    curves : DataFrame
        :func:`clvlib.cumulative_value_curves` output (group column first, ``months_since_first_order``,
        ``cumulative_per_customer``). Older cohorts have longer lines; a line that rises steeply and keeps rising
        is a cohort that keeps buying.
    max_legend : int
        Most groups named in the legend (every k-th cohort beyond that).
    """
    validate_columns(curves, ("months_since_first_order", "cumulative_per_customer"), source="curves",
                     what="cumulative value curves")
    ax = get_ax(ax)
    group = curves.columns[0]
    _curve_lines(ax, curves, "cumulative_per_customer", max_legend)
    value = _VALUE_NAMES.get(curves.attrs.get("value", "revenue"), "value")
    ax.yaxis.set_major_formatter(money_formatter(currency=currency))
    ax.set(xlabel="Months since first order (0 = month of the first order)",
           ylabel=plain_text(f"Cumulative {value} per customer ({currency})"),
           title=plain_text(f"Cumulative {value} per customer by {'monthly cohort' if group == 'cohort' else group}"))
    ax.legend(title="cohort (first order)" if group == "cohort" else plain_text(group), frameon=False, fontsize=8,
              ncols=2 if len(ax.get_legend_handles_labels()[1]) > 5 else 1)
    return ax


def _cohort_grid(table: pd.DataFrame, value: str) -> pd.DataFrame:
    """Groups × months since the first order, from a long curves table or a wide cohort triangle."""
    if "months_since_first_order" in table.columns:
        group = table.columns[0]
        validate_columns(table, (group, value), source="table", what="cumulative value curves")
        grid = table.pivot(index=group, columns="months_since_first_order", values=value)
    else:
        grid = table.drop(columns=[c for c in table.columns if not isinstance(c, (int, np.integer))])
        grid.columns = grid.columns.astype(int)
    grid = grid.sort_index(axis=0).sort_index(axis=1).astype(np.float64)
    # Months no cohort has reached yet (a wide table cut to its latest cohorts) are left out: trailing columns only,
    # so that the month numbers stay those of the columns.
    reached = np.flatnonzero(grid.notna().any(axis=0).to_numpy())
    return grid.iloc[:, : reached[-1] + 1] if reached.size else grid


def _projected_mask(projected, table: pd.DataFrame, actual: pd.DataFrame,
                    value: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The values to draw and the mask of projected cells, from the ``projected`` argument."""
    none = pd.DataFrame(False, index=actual.index, columns=actual.columns)
    if projected is None:
        return actual, none
    if isinstance(projected, str):
        validate_columns(table, (projected,), source="table", what="cumulative value curves")
        group = table.columns[0]
        mask = table.pivot(index=group, columns="months_since_first_order", values=projected)
        mask = mask.reindex_like(actual).eq(True)
        return actual, mask & actual.notna()
    if not isinstance(projected, pd.DataFrame):
        raise TypeError("`projected` must be None, a column name or a DataFrame, "
                        f"but {type(projected).__name__!r} was passed.")
    if "months_since_first_order" in projected.columns:
        projected = _cohort_grid(projected, value)
    if all(dtype == bool for dtype in projected.dtypes):
        mask = projected.reindex(index=actual.index, columns=actual.columns).eq(True)
        return actual, mask & actual.notna()
    # A table of projected values: they fill the cells the actuals do not reach (the cohorts' future months).
    values = _cohort_grid(projected, value)
    index = actual.index.union(values.index)
    columns = actual.columns.union(values.columns)
    actual = actual.reindex(index=index, columns=columns)
    values = values.reindex(index=index, columns=columns)
    mask = actual.isna() & values.notna()
    return actual.where(~mask, values), mask


def plot_cohort_heatmap(
    table: pd.DataFrame, *, value: str = "cumulative_per_customer", projected=None, annotate: bool | None = None,
    log: bool | None = None, currency: str = "USD", cmap: str = "Blues", ax: Axes | None = None,
) -> Axes:
    """Cohort heatmap: one row per monthly cohort, one column per month since the first order.

    Each cell is the cohort's cumulative revenue (or margin) per customer by that month, so a column compares
    cohorts at the same age and a row shows one cohort growing. The colour scale stops at the 99th percentile
    of the cells, so one exceptional cohort does not wash out the rest (the colour bar's arrow marks the cells
    above it), and turns logarithmic when cohorts differ by orders of magnitude. Cells are written in when they
    are large enough to read.

    Parameters
    ----------
    table : DataFrame
        :func:`clvlib.cumulative_value_curves` output (the same table :func:`plot_cohort_curves` draws; group
        column first, ``months_since_first_order``, the ``value`` column), or the wide
        :func:`clvlib.cohort_revenue_table` (cohorts × months, its ``customers`` column is left out).
    value : str, default "cumulative_per_customer"
        The column of a long table to draw: money, except ``customers`` (counts).
    projected : str or DataFrame, optional
        Cells that are projections rather than actuals, drawn hatched and lighter and named in the title: the name
        of a boolean column of ``table``, a boolean cohorts × months mask, or a table of projected values (long or
        wide, as ``table``) whose cells fill the months the actuals do not reach yet.
    annotate : bool, optional
        Write each cell's value; None writes them when the cells are large enough at the figure's size.
    log : bool, optional
        Logarithmic colour scale (over the positive cells; cells at 0 or below are left blank). None chooses it
        when the 99th percentile of the cells is over ten times their median (a few wholesale cohorts beside
        retail ones).
    cmap : str
        Sequential colour map; darker is more value.

    Returns
    -------
    Axes. ``ax.images[0]`` holds the drawn values (NaN where a cohort is not that old and nothing is projected).
    """
    grid = _cohort_grid(table, value)
    grid, mask = _projected_mask(projected, table, grid, value)
    ax = get_ax(ax)
    values = grid.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    positive = finite[finite > 0]
    if log is None:
        log = positive.size > 0 and np.quantile(positive, 0.99) > 10 * np.median(positive)
    if log and positive.size:
        low, high = float(np.quantile(positive, 0.01)), float(positive.max())
        high = high if high > low else low * 10
        clipped = False
        norm = LogNorm(vmin=low, vmax=high)
        values = np.where(values > 0, values, np.nan)
    else:
        log = False
        low = min(0.0, float(finite.min())) if finite.size else 0.0
        high = float(np.quantile(finite, 0.99)) if finite.size else 1.0
        clipped = finite.size > 0 and finite.max() > high * 1.05
        high = high if high > low else low + 1.0
        norm = Normalize(vmin=low, vmax=high)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    money = value != "customers"
    fmt = money_formatter(currency=currency)
    # A long table from cumulative_value_curves names its value; a wide one may have lost the name on the way.
    long = "months_since_first_order" in table.columns
    name = _VALUE_NAMES.get(table.attrs.get("value", "revenue" if long else None), "value")
    label = {"customers": "Customers observed", "cumulative_total": f"Cumulative {name} of the cohort",
             }.get(value, f"Cumulative {name} per customer")
    colorbar = ax.figure.colorbar(image, ax=ax, extend="max" if clipped else "neither", pad=0.02)
    colorbar.set_label(plain_text(f"{label} ({currency}{', log scale' if log else ''})" if money
                                  else f"{label}{' (log scale)' if log else ''}"))
    if log:
        log_money_ticks(colorbar.ax.yaxis)
    if money:
        colorbar.ax.yaxis.set_major_formatter(fmt)
    # Projected cells: lighter and hatched, one rectangle per run of projected cells in a row.
    marked = mask.to_numpy()
    for i, row in enumerate(marked):
        j = 0
        while j < len(row):
            if row[j]:
                k = j
                while k < len(row) and row[k]:
                    k += 1
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), k - j, 1, facecolor=(1, 1, 1, 0.35), hatch="///",
                                       edgecolor=(1, 1, 1, 0.9), linewidth=0, label="_projected"))
                j = k
            else:
                j += 1
    n_rows, n_cols = values.shape
    renderer = renderer_of(ax)
    box = ax.get_window_extent(renderer) if renderer is not None else None
    dpi = ax.figure.dpi
    cell_w = box.width / max(n_cols, 1) if box is not None else 0.0
    cell_h = box.height / max(n_rows, 1) if box is not None else 0.0
    if annotate is None:
        annotate = cell_w >= 34 * dpi / 100 and cell_h >= 13 * dpi / 100
    if annotate:
        cmap_ = image.get_cmap()
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                r, g, b, _ = cmap_(image.norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                text = fmt(v) if money else f"{v:,.0f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "black",
                        style="italic" if marked[i, j] else "normal")
    # Ticks: every k-th cohort and month, so labels never overlap at the figure's size.
    row_step = max(1, int(np.ceil(n_rows / max(1.0, (box.height if box is not None else 300) / (14 * dpi / 100)))))
    label_px = (7 * len(str(grid.columns.max() if n_cols else 0)) + 14) * dpi / 100  # a month number and a gap
    col_step = max(1, int(np.ceil(n_cols / max(1.0, (box.width if box is not None else 600) / label_px))))
    col_step = next((s for s in (1, 2, 3, 6, 12, 24, 60) if s >= col_step), col_step)
    rows = np.arange(0, n_rows, row_step)
    ax.set_yticks(rows, [plain_text(grid.index[i]) for i in rows])
    cols = np.arange(0, n_cols, col_step)
    ax.set_xticks(cols, [str(grid.columns[j]) for j in cols])
    group = table.columns[0] if long else (grid.index.name or "cohort")
    what = f"{label[0].lower()}{label[1:]}"
    title = f"{what[0].upper()}{what[1:]} by {'monthly cohort' if group == 'cohort' else group}"
    if marked.any():
        title += "\n(hatched cells: projected; the others are actual)"
    ax.set(xlabel="Months since first order (0 = month of the first order)",
           ylabel="Cohort (month of the first order)" if group == "cohort" else plain_text(group),
           title=plain_text(title))
    return ax


def plot_payback_curves(
    curves: pd.DataFrame, *, max_legend: int = 8, currency: str = "USD", log: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Cumulative gross margin per customer against CAC: each group's line crosses its dashed CAC at payback.

    Each CAC is a dashed line in its group's colour, named at the right edge ("email CAC $9"; the names are
    spread apart when CACs are close), and a dot marks the month a group's margin first covers its CAC.

    Parameters
    ----------
    curves : DataFrame
        :func:`clvlib.payback_curves` output (group column first, ``months_since_first_order``,
        ``cumulative_per_customer``, ``cac``).
    max_legend : int
        Most groups named in the legend and at the right edge (more groups, e.g. monthly cohorts, draw their CAC
        lines unnamed).
    log : bool, optional
        Logarithmic money axis. None chooses it when the largest margin is more than 20 times the smallest
        positive CAC: on a linear axis those CAC lines would bunch at $0.
    """
    validate_columns(curves, ("months_since_first_order", "cumulative_per_customer", "cac"), source="curves",
                     what="payback curves")
    ax = get_ax(ax)
    group = curves.columns[0]
    colors = _curve_lines(ax, curves, "cumulative_per_customer", max_legend)
    cac = curves.groupby(group, sort=False)["cac"].first()
    cac = cac[np.isfinite(cac.to_numpy(dtype=float))]
    margin = curves["cumulative_per_customer"].to_numpy(dtype=float)
    margin = margin[np.isfinite(margin)]
    positive_cac = cac[cac > 0]
    if log is None:
        log = bool(len(positive_cac)) and margin.size > 0 and margin.max() > 20 * positive_cac.min()
    for g, value in cac.items():
        ax.axhline(value, color=colors[g], linestyle="--", linewidth=1, alpha=0.8)
    # The payback month of each group: the first month its cumulative margin covers its CAC.
    paid_back = False
    for g, value in cac.items():
        part = curves[curves[group] == g].sort_values("months_since_first_order")
        reached = part[part["cumulative_per_customer"] >= value]
        if len(reached):
            paid_back = True
            ax.plot(reached["months_since_first_order"].iloc[0], reached["cumulative_per_customer"].iloc[0], "o",
                    color=colors[g], markeredgecolor="white", markersize=7, zorder=3)
    ax.plot([], [], color=_GREY, linestyle="--", label="CAC (dashed, same colour)")
    if paid_back:
        ax.plot([], [], "o", color=_GREY, markeredgecolor="white", markersize=7, label="paid back (first month)")
    values = np.r_[margin, cac.to_numpy(dtype=float)]
    if log:
        low = min(positive_cac.min(), margin[margin > 0].min() if (margin > 0).any() else np.inf) / 1.5
        ax.set_yscale("log")
        ax.set_ylim(low, values.max() * 1.5)
        log_money_ticks(ax.yaxis)
    else:
        ax.set_ylim(min(0.0, values.min() * 1.05), values.max() * 1.08)
    ax.yaxis.set_major_formatter(money_formatter(currency=currency))
    ax.set(xlabel="Months since first order (0 = month of the first order)",
           ylabel=plain_text(f"Cumulative gross margin per customer ({currency}{', log scale' if log else ''})"),
           title=plain_text(f"CAC payback by {group}: margin per customer vs acquisition cost"))
    if 0 < len(cac) <= max_legend:
        fmt = money_formatter(currency=currency)
        label_lines_right(ax, cac.to_numpy(dtype=float), [plain_text(f"{g} CAC {fmt(v)}") for g, v in cac.items()],
                          [colors[g] for g in cac.index])
    # Inside where no curve or CAC line passes, else under the Axes: never over the lines.
    place_legend(ax, title=plain_text(group), frameon=False, fontsize=8, avoid=ax.get_lines(),
                 locs=("upper left", "lower right", "upper right", "center right", "center left"), fallback="below")
    return ax


def plot_what_if(table: pd.DataFrame, *, currency: str = "USD", ax: Axes | None = None) -> Axes:
    """Horizontal bars: the simple CLV under each scenario of :func:`clvlib.what_if_table`, labelled with the change."""
    validate_columns(table, ("clv", "change_pct"), source="table", what="what-if table")
    ax = get_ax(ax)
    positions = np.arange(len(table))[::-1]
    colors = [_GREY if i == 0 else _CLV for i in range(len(table))]
    bars = ax.barh(positions, table["clv"], color=colors)
    changes = [f"  ({'+' if p >= 0 else '−'}{format_pct(abs(p))})" for p in table["change_pct"]]
    labels = [format_money(v, currency) + ("" if i == 0 else changes[i]) for i, v in enumerate(table["clv"])]
    ax.bar_label(bars, labels=labels, padding=3)
    ax.set_yticks(positions, _labels(table.index))
    ax.set_xlim(0, table["clv"].max() * 1.3)
    ax.xaxis.set_major_formatter(money_formatter(currency=currency))
    ax.set(xlabel=plain_text(f"CLV per customer ({currency})"), ylabel="",
           title="Which lever moves CLV most? (simple formula)")
    return ax


def plot_clv_by_group(
    table: pd.DataFrame, *, value_column: str = "clv_mean", value_label: str = "mean CLV per customer",
    currency: str = "USD", ax: Axes | None = None,
) -> Axes:
    """Bars of CLV per group (e.g. first product), labelled with each group's number of customers.

    Parameters
    ----------
    table : DataFrame
        :func:`clvlib.clv_by_group` output.
    value_column : str, default "clv_mean"
        Column to draw (money), e.g. ``clv_mean`` or ``clv_median``.
    """
    validate_columns(table, (value_column, "customers"), source="table", what="CLV by group table")
    ax = get_ax(ax)
    positions = np.arange(len(table))
    bars = ax.bar(positions, table[value_column], color=_CLV)
    ax.bar_label(bars, labels=[f"{money_formatter(currency=currency)(v)}\n{n:,} cust." for v, n in
                               zip(table[value_column], table["customers"])], padding=2, fontsize=8)
    ax.set_xticks(positions, _labels(table.index), rotation=20 if len(table) > 4 else 0)
    ax.set_ylim(0, float(table[value_column].max()) * 1.25)
    ax.yaxis.set_major_formatter(money_formatter(currency=currency))
    group = table.index.name or "group"
    label = f"{value_label[0].upper()}{value_label[1:]}"
    # A long label (the pipeline's CLV decision) is written once, in the wrapped title; the y-axis refers to it.
    ylabel = f"{label} ({currency})" if len(label) <= 40 else f"Value per customer ({currency}; see the title)"
    ax.set(xlabel=plain_text(group), ylabel=plain_text(ylabel), title=plain_text(wrap(f"{label} by {group}", 80)))
    return ax


def plot_clv_distribution(
    customers: pd.DataFrame, *, column: str | None = None, label: str | None = None, log: bool | None = None,
    clip_quantile: float | None = None, bins: int = 40, currency: str = "USD", ax: Axes | None = None,
) -> Axes:
    """Histogram of a per-customer CLV column with its mean and median marked: how skewed customer value is.

    Parameters
    ----------
    customers : DataFrame
        One row per customer with the ``column`` (money): :func:`clvlib.predictive_clv` or
        :func:`clvlib.historical_clv` output; indexed by customer id, or with a ``customer_id`` column.
    column : str, optional
        Column to draw; defaults to the table's ``predicted_clv_{H}m`` column, else ``historical_clv``.
    label : str, optional
        What the values are, for the labels; defaults to "predicted CLV over the next H months" or the column name.
    log : bool, optional
        Logarithmic money axis (log-spaced bins over the positive values). None chooses it when the largest value
        is more than 20 times the median. Customers at 0 or below are then counted in the legend, not drawn.
    clip_quantile : float, optional
        On a linear axis, values above this quantile are pooled in the last bar (the title says so), so that a few
        very large customers do not flatten the picture.
    """
    customers = customer_indexed(customers)
    if column is None:
        predicted = [c for c in customers.columns if re.fullmatch(r"predicted_clv_[\d.]+m", str(c))]
        column = predicted[0] if predicted else "historical_clv"
    validate_columns(customers, (column,), source="customers", what="customer table")
    if label is None:
        horizon = customers.attrs.get("horizon_months")
        label = (f"predicted CLV over the next {horizon:g} months" if column.startswith("predicted_clv_") and horizon
                 else column.replace("_", " ").replace("clv", "CLV"))
    ax = get_ax(ax)
    values = customers[column].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    median, mean = float(np.median(values)), float(values.mean())
    if log is None:
        log = median > 0 and values.max() > 20 * median
    drawn = values[values > 0] if log else values
    hidden = values.size - drawn.size
    label_hist = f"customers ({hidden:,} at or below 0 not shown)" if hidden else "customers"
    edges, title = bins, f"Distribution of {label}"
    if log and drawn.size:
        # Values under one money unit would need ticks like $0.001; they are pooled into the first bar instead.
        floor = max(float(drawn.min()), min(1.0, median))
        if (drawn < floor).any():
            label_hist += f"; under {format_money(floor, currency)} in the first bar"
        drawn = np.clip(drawn, floor, None)
        edges = np.geomspace(floor, max(float(drawn.max()), floor * 1.01), bins + 1)
    elif clip_quantile is not None and 0 < clip_quantile < 1 and drawn.size:
        cap = float(np.quantile(drawn, clip_quantile))
        if cap < drawn.max():
            drawn = np.minimum(drawn, cap)
            title += f"\n(top {format_pct(1 - clip_quantile)} pooled at {format_money(cap, currency)})"
    ax.hist(drawn, bins=edges, color=_CLV, alpha=0.85, label=label_hist)
    ax.axvline(median, color=_CAC, linestyle="--", label=f"median {format_money(median, currency)}")
    ax.axvline(mean, color=_BAD, linestyle=":", label=f"mean {format_money(mean, currency)}")
    if log:
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(money_formatter(currency=currency))
    xlabel = f"{label[0].upper()}{label[1:]} per customer ({currency}{', log scale' if log else ''})"
    ax.set(xlabel=plain_text(wrap(xlabel, 90)), ylabel="Customers", title=plain_text(title))
    # In a corner no bar reaches, else above the bars (the y-axis grows the room): never over the peak.
    place_legend(ax, avoid=ax.patches, frameon=True, framealpha=0.85, edgecolor="none", fontsize=9)
    return ax


def plot_projected_payback(
    table: pd.DataFrame, *, cac=None, max_legend: int = 8, currency: str = "USD", ax: Axes | None = None,
) -> Axes:
    """Each cohort's cumulative value per customer, actual (solid) then projected (dashed), against CAC lines.

    A cohort's line crossing a CAC line is the month an average customer of that cohort has brought (or is
    projected to bring) back what acquiring them cost. Milestone months are marked with faint vertical lines.

    Parameters
    ----------
    table : DataFrame
        :func:`clvlib.project_cohorts` output (``cohort``, ``months_since_first_order``,
        ``cumulative_per_customer``, ``projected``).
    cac : float, dict or Series, optional
        Acquisition costs to draw as horizontal reference lines, labelled at the right edge: one number (named
        "CAC"), or labels → amounts (e.g. :func:`clvlib.cac_by_channel`'s ``cac`` column: "paid_social CAC $42").
        Missing amounts are left out.
    max_legend : int
        Most cohorts named in the legend (every k-th beyond that).
    """
    validate_columns(table, ("months_since_first_order", "cumulative_per_customer", "projected"), source="table",
                     what="cohort projection")
    ax = get_ax(ax)
    group = table.columns[0]
    groups = list(dict.fromkeys(table.sort_values(group, kind="stable")[group]))
    cmap = colormaps["viridis"]
    step = max(1, int(np.ceil(len(groups) / max_legend)))
    for i, g in enumerate(groups):
        part = table[table[group] == g].sort_values("months_since_first_order")
        color = cmap(i / max(1, len(groups) - 1))
        actual = part[~part["projected"].astype(bool)]
        # The projection starts from the last actual month, so the dashed line continues the solid one.
        future = part[part["months_since_first_order"] >= (actual["months_since_first_order"].max()
                                                           if len(actual) else -1)]
        label = plain_text(g) if i % step == 0 or i == len(groups) - 1 else None
        ax.plot(actual["months_since_first_order"], actual["cumulative_per_customer"], color=color, linewidth=1.4,
                label=label)
        ax.plot(future["months_since_first_order"], future["cumulative_per_customer"], color=color, linewidth=1.2,
                linestyle="--", label=None if len(actual) else label)
    if cac is None:
        cac = pd.Series(dtype=float)
    elif np.isscalar(cac):
        cac = pd.Series({"CAC": float(cac)})
    else:
        cac = pd.Series(cac, dtype=float)
        cac.index = [f"{name} CAC" for name in cac.index]
    cac = cac[np.isfinite(cac.to_numpy(dtype=float))]
    values = np.r_[table["cumulative_per_customer"].to_numpy(dtype=float), cac.to_numpy(dtype=float)]
    values = values[np.isfinite(values)]
    for value in cac:
        ax.axhline(value, color=_CAC, linestyle=":", linewidth=1.2)
    for month in table.attrs.get("milestones", []):
        ax.axvline(month, color=_GREY, linewidth=0.6, alpha=0.5, zorder=0)
    if values.size:
        ax.set_ylim(min(0.0, values.min() * 1.05), values.max() * 1.08)
    ax.yaxis.set_major_formatter(money_formatter(currency=currency))
    value_name = _VALUE_NAMES.get(table.attrs.get("value", "revenue"), "value")
    ax.set(xlabel="Months since first order (0 = month of the first order)",
           ylabel=plain_text(f"Cumulative {value_name} per customer ({currency})"),
           title=plain_text(f"Cumulative {value_name} per customer by monthly cohort:\nactual (solid) and "
                            "projected (dashed)" + (" against CAC (dotted)" if len(cac) else "")))
    if len(cac):
        fmt = money_formatter(currency=currency)
        label_lines_right(ax, cac.to_numpy(dtype=float), [plain_text(f"{k} {fmt(v)}") for k, v in cac.items()],
                          [_CAC] * len(cac))
    ax.plot([], [], color=_GREY, linestyle="--", label="projected")
    place_legend(ax, title="cohort (first order)", frameon=False, fontsize=8, avoid=ax.get_lines(),
                 ncols=2 if len(groups) > 5 else 1,
                 locs=("upper left", "lower right", "upper right", "center right", "center left"), fallback="below")
    return ax
