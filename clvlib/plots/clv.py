"""CLV figures: the CLV distribution, CLV beside CAC, LTV:CAC, cohort and payback curves, what-if levers, CLV by group.

Each function draws a table computed by :mod:`clvlib.clv` or :mod:`clvlib.cohorts` and returns the Axes.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes

from .._validation import customer_indexed, validate_columns
from ..formatting import format_money, format_pct
from ._style import get_ax, money_formatter, plain_text

__all__ = [
    "plot_clv_vs_cac", "plot_ltv_cac", "plot_cohort_curves", "plot_payback_curves", "plot_what_if",
    "plot_clv_by_group", "plot_clv_distribution",
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
    currency: str = "USD", ax: Axes | None = None,
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
    """
    validate_columns(table, (clv_column, cac_column), source="table", what="LTV:CAC table")
    ax = get_ax(ax)
    positions = np.arange(len(table))
    width = 0.4
    for offset, column, color, label in ((-width / 2, clv_column, _CLV, clv_label),
                                         (width / 2, cac_column, _CAC, "CAC")):
        values = table[column].to_numpy(dtype=float)
        bars = ax.bar(positions + offset, np.nan_to_num(values), width, color=color, label=plain_text(label))
        ax.bar_label(bars, labels=_money_labels(values, currency), padding=2, fontsize=8)
    ax.set_xticks(positions, _labels(table.index), rotation=20 if len(table) > 4 else 0)
    ax.yaxis.set_major_formatter(money_formatter(currency=currency))
    ax.set(xlabel=_group_name(table.index), ylabel=plain_text(f"Money per customer ({currency})"),
           title="What a customer is worth vs what one costs to acquire")
    # Below the axes: the CLV label names the pipeline's decision and is long, so inside it would cover bars.
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=9)
    return ax


def plot_ltv_cac(
    table: pd.DataFrame, *, column: str = "ltv_cac", target: float = 3.0, ax: Axes | None = None,
) -> Axes:
    """Bars of LTV:CAC per group with the 3:1 rule-of-thumb target and the 1:1 break-even line.

    Bars below break-even are red, between break-even and the target orange, at or above the target green.

    Parameters
    ----------
    table : DataFrame
        :func:`clvlib.ltv_cac` output (one row per group).
    column : str, default "ltv_cac"
        The ratio column to draw.
    target : float
        The healthy ratio to mark (3 by the common rule of thumb).
    """
    validate_columns(table, (column,), source="table", what="LTV:CAC table")
    ax = get_ax(ax)
    values = table[column].to_numpy(dtype=float)
    colors = [_GREY if not np.isfinite(v) else _BAD if v < 1 else _CAC if v < target else _GOOD for v in values]
    positions = np.arange(len(table))
    bars = ax.bar(positions, np.nan_to_num(values), color=colors)
    ax.bar_label(bars, labels=["n/a" if not np.isfinite(v) else f"{v:.1f}:1" for v in values], padding=2)
    ax.axhline(target, color=_GOOD, linestyle="--", label=f"target {target:g}:1")
    ax.axhline(1.0, color=_BAD, linestyle=":", label="break-even 1:1")
    ax.set_xticks(positions, _labels(table.index), rotation=20 if len(table) > 4 else 0)
    top = np.nanmax(np.r_[values[np.isfinite(values)], target])
    ax.set(ylim=(0, top * 1.15), xlabel=_group_name(table.index), ylabel="LTV : CAC (times)",
           title="LTV:CAC — value per unit of acquisition spend")
    ax.legend(frameon=False)
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


def plot_payback_curves(
    curves: pd.DataFrame, *, max_legend: int = 8, currency: str = "USD", ax: Axes | None = None,
) -> Axes:
    """Cumulative gross margin per customer against CAC: each group's line crosses its dashed CAC at payback.

    Parameters
    ----------
    curves : DataFrame
        :func:`clvlib.payback_curves` output (group column first, ``months_since_first_order``,
        ``cumulative_per_customer``, ``cac``).
    """
    validate_columns(curves, ("months_since_first_order", "cumulative_per_customer", "cac"), source="curves",
                     what="payback curves")
    ax = get_ax(ax)
    group = curves.columns[0]
    colors = _curve_lines(ax, curves, "cumulative_per_customer", max_legend)
    cac = curves.groupby(group, sort=False)["cac"].first()
    for g, value in cac.items():
        if np.isfinite(value):
            ax.axhline(value, color=colors[g], linestyle="--", linewidth=1, alpha=0.8)
    ax.plot([], [], color=_GREY, linestyle="--", label="CAC (dashed, same colour)")
    ax.yaxis.set_major_formatter(money_formatter(currency=currency))
    ax.set(xlabel="Months since first order (0 = month of the first order)",
           ylabel=plain_text(f"Cumulative gross margin per customer ({currency})"),
           title=plain_text(f"CAC payback by {group}: margin per customer vs acquisition cost"))
    ax.legend(title=plain_text(group), frameon=False, fontsize=8)
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
    ax.set(xlabel=plain_text(group), ylabel=plain_text(f"{value_label[0].upper()}{value_label[1:]} ({currency})"),
           title=plain_text(f"{value_label[0].upper()}{value_label[1:]} by {group}"))
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
    ax.set(xlabel=plain_text(f"{label[0].upper()}{label[1:]} per customer ({currency}{', log scale' if log else ''})"),
           ylabel="Customers", title=plain_text(title))
    # Framed: on a skewed histogram the legend often sits over the tallest bars.
    ax.legend(frameon=True, framealpha=0.85, edgecolor="none")
    return ax
