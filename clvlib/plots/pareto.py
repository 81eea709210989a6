"""Pareto and AOV figures: Lorenz curve, top-share bars, AOV bands, order values, top share over time.

Each function draws a table from :mod:`clvlib.pareto` or :mod:`clvlib.aov` (the order-value histogram draws the
orders table itself, with :func:`clvlib.order_value_stats` for its marks) and returns the Axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from .._validation import validate_columns
from ..aov import order_value_stats
from ..formatting import format_money, format_pct
from ..pareto import PERIODS
from ._style import get_ax, money_formatter, percent_formatter, place_legend, plain_text

__all__ = [
    "plot_lorenz_curve", "plot_top_share", "plot_aov_bands", "plot_repeat_split", "plot_order_values",
    "plot_top_share_over_time",
]

_CUSTOMERS, _VALUE, _EQUAL = "#4c72b0", "#dd8452", "#8c8c8c"


def plot_lorenz_curve(
    lorenz: pd.DataFrame, *, value_label: str = "revenue", mark: float = 0.8, ax: Axes | None = None,
) -> Axes:
    """Lorenz curve with the line of equal spend, its Gini in the legend and the top-20 % mark.

    Parameters
    ----------
    lorenz : DataFrame
        :func:`clvlib.lorenz_curve` output (``customer_share``, ``value_share``).
    value_label : str
        What the shares are of, for the labels.
    mark : float
        Customer share at which to mark the curve: at 0.8 the bottom 80 %, so the gap above is the top 20 %.

    Returns
    -------
    Axes. The Gini in the legend is 1 − 2 × the area under the drawn curve, which is :func:`clvlib.gini`.
    """
    validate_columns(lorenz, ["customer_share", "value_share"], what="Lorenz table")
    ax = get_ax(ax)
    x, y = lorenz["customer_share"].to_numpy(), lorenz["value_share"].to_numpy()
    g = 1 - 2 * np.sum((y[1:] + y[:-1]) / 2 * np.diff(x))
    ax.fill_between(x, y, x, color=_VALUE, alpha=0.15, linewidth=0)
    ax.plot([0, 1], [0, 1], linestyle="--", color=_EQUAL, label="equal spend (Gini 0)")
    ax.plot(x, y, color=_VALUE, linewidth=2, label=f"Lorenz curve (Gini {g:.2f})")
    at = float(np.interp(mark, x, y))
    ax.plot([mark, mark], [0, at], color=_CUSTOMERS, linestyle=":")
    ax.plot([0, mark], [at, at], color=_CUSTOMERS, linestyle=":")
    ax.annotate(
        plain_text(f"bottom {format_pct(mark)}: {format_pct(at)} of {value_label}\ntop {format_pct(1 - mark)}: "
                   f"{format_pct(1 - at)}"),
        xy=(mark, at), xytext=(0.05, 0.75), textcoords="axes fraction",
        arrowprops={"arrowstyle": "->", "color": _CUSTOMERS}, color=_CUSTOMERS,
    )
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="Share of customers, smallest spenders first",
           ylabel=plain_text(f"Cumulative share of {value_label}"),
           title=plain_text(f"How concentrated is {value_label}? (Lorenz curve)"))
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.legend(loc="upper left", frameon=False, bbox_to_anchor=(0, 0.98))
    return ax


def plot_top_share(top: pd.DataFrame, *, value_label: str = "revenue", ax: Axes | None = None) -> Axes:
    """Bars: the share of ``value_label`` brought by the top 1 %, 5 %, ... of customers (:func:`clvlib.top_share`).

    A grey tick on each bar marks what that group would bring if everybody spent the same.
    """
    validate_columns(top, ["share", "k", "customer_share"], what="top-share table")
    ax = get_ax(ax)
    labels = [f"top {format_pct(f)}\n({k:,})" for f, k in zip(top.index, top["k"])]
    positions = np.arange(len(top))
    bars = ax.bar(positions, top["share"], color=_VALUE, label=plain_text(f"share of {value_label}"))
    # Under equal spend the top k of n customers bring k / n, a little more than the fraction when f × n is not whole.
    ax.scatter(positions, top["customer_share"], marker="_", s=900, linewidths=3, color="black", zorder=3,
               label="if all spent the same")
    ax.bar_label(bars, labels=[format_pct(s) for s in top["share"]], padding=2)
    ax.set_xticks(positions, labels)
    ax.set(ylim=(0, 1.08), xlabel="Best customers (number of customers)", ylabel=plain_text(f"Share of {value_label}"),
           title=plain_text(f"Share of {value_label} from the best customers"))
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.legend(loc="upper left", frameon=False)
    return ax


def _paired_bars(ax: Axes, groups, left, right, labels: tuple[str, str]) -> None:
    positions = np.arange(len(groups))
    width = 0.4
    for offset, values, color, label in ((-width / 2, left, _CUSTOMERS, labels[0]),
                                         (width / 2, right, _VALUE, labels[1])):
        bars = ax.bar(positions + offset, values, width, color=color, label=plain_text(label))
        ax.bar_label(bars, labels=[format_pct(v) for v in values], padding=2)
    ax.set_xticks(positions, [plain_text(g) for g in groups])  # e.g. bands "$25 – $50": text, not maths
    ax.set_ylim(0, min(1.1, max(max(left), max(right)) * 1.15 + 0.02))
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.legend(frameon=False)


def plot_aov_bands(bands: pd.DataFrame, *, currency: str = "USD", ax: Axes | None = None) -> Axes:
    """Paired bars per AOV band: share of customers beside share of revenue (:func:`clvlib.aov_bands`).

    With ``by="order"`` tables the left bars are the share of orders instead, as orders are what was banded.
    """
    validate_columns(bands, ["customer_share", "order_share", "revenue_share"], what="AOV band table")
    ax = get_ax(ax)
    by_order = bands.attrs.get("by") == "order"
    left = bands["order_share" if by_order else "customer_share"]
    _paired_bars(ax, bands.index, left, bands["revenue_share"],
                 ("share of orders" if by_order else "share of customers", "share of revenue"))
    aov = bands.attrs.get("store_aov")
    suffix = f" (store AOV {money_formatter(currency=currency)(aov)})" if aov is not None else ""
    ax.set(xlabel=plain_text(("Order value" if by_order else "Customer AOV") + suffix), ylabel="Share",
           title=f"{'Orders' if by_order else 'Customers'} and revenue by AOV band")
    return ax


def plot_repeat_split(split: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Paired bars: one-time vs repeat customers' share of customers and of revenue (:func:`clvlib.repeat_split`)."""
    validate_columns(split, ["customer_share", "revenue_share"], what="repeat-split table")
    ax = get_ax(ax)
    _paired_bars(ax, [f"{g} customers" for g in split.index], split["customer_share"], split["revenue_share"],
                 ("share of customers", "share of revenue"))
    ax.set(xlabel="", ylabel="Share", title="One-time and repeat customers")
    return ax


def plot_order_values(
    orders: pd.DataFrame, *, log: bool = False, bins: int = 50, currency: str = "USD", ax: Axes | None = None,
) -> Axes:
    """Histogram of order values (guest orders included) with the AOV (mean) and the median marked.

    ``log=True`` draws log-spaced bins on a log money axis, where a right-skewed distribution becomes readable;
    orders of value 0 cannot be placed on it and are left out of that histogram (not of the marks).
    """
    stats = order_value_stats(orders)
    ax = get_ax(ax)
    values = orders["revenue"].to_numpy(dtype=np.float64)
    if log:
        positive = values[values > 0]
        low, high = float(positive.min()), float(positive.max())
        # One order value (a one-order store) still gets a bar: a span around it instead of zero-width bins.
        edges = np.geomspace(low, high, bins + 1) if high > low else np.geomspace(low / 1.5, low * 1.5, bins + 1)
        ax.hist(positive, bins=edges, color=_CUSTOMERS, alpha=0.8)
        ax.set_xscale("log")
    else:
        ax.hist(values, bins=bins, color=_CUSTOMERS, alpha=0.8)
    fmt = money_formatter(currency=currency)
    # format_money in the legend: "$1,660" and "$1,720" stay apart where "$1.7k" twice would not.
    ax.axvline(stats["mean"], color=_VALUE, linewidth=2,
               label=plain_text(f"AOV (mean) {format_money(stats['mean'], currency)}"))
    ax.axvline(stats["median"], color="black", linestyle="--", linewidth=2,
               label=plain_text(f"median {format_money(stats['median'], currency)}"))
    ax.xaxis.set_major_formatter(fmt)
    ax.set(xlabel=plain_text(f"Order value ({currency}{', log scale' if log else ''})"), ylabel="Orders",
           title=f"Order values: {len(values):,} orders, skewness {stats['skewness']:.1f}")
    # In a corner no bar reaches, else above the bars: the legend never covers the peak.
    place_legend(ax, avoid=ax.patches, frameon=True, framealpha=0.85, edgecolor="none")
    return ax


def plot_top_share_over_time(
    by_period: pd.DataFrame, *, value_label: str = "revenue", ax: Axes | None = None,
) -> Axes:
    """Line: the top customers' share of each period's ``value_label`` (:func:`clvlib.top_share_by_period`)."""
    validate_columns(by_period, ["share", "customers"], what="per-period top-share table")
    ax = get_ax(ax)
    fraction = by_period.attrs.get("fraction", 0.2)
    period = PERIODS.get(by_period.attrs.get("freq"), "period")
    positions = np.arange(len(by_period))
    ax.plot(positions, by_period["share"], marker="o" if len(by_period) <= 40 else None, color=_VALUE,
            label=f"top {format_pct(fraction)} of each {period}'s customers")
    ax.axhline(fraction, color=_EQUAL, linestyle="--", label="if all spent the same")
    # Every point is written in while the labels fit (about 45 pixels each); beyond that only the first, the last,
    # the lowest and the highest, and the period names thin out to every k-th.
    width = ax.get_window_extent().width
    fits = len(by_period) * 45 * ax.figure.dpi / 100 <= width
    shares = by_period["share"].to_numpy(dtype=float)
    marked = (set(range(len(by_period))) if fits else
              {0, len(shares) - 1, int(np.nanargmin(shares)), int(np.nanargmax(shares))} if len(shares) else set())
    for x in sorted(marked):
        ax.annotate(format_pct(shares[x]), (x, shares[x]), textcoords="offset points", xytext=(0, 6), ha="center")
    step = max(1, int(np.ceil(len(by_period) * 60 * ax.figure.dpi / 100 / max(width, 1.0))))
    shown = positions[::step]
    ax.set_xticks(shown, [plain_text(by_period.index[i]) for i in shown])
    ax.set(ylim=(0, 1), xlabel=period.capitalize(), ylabel=plain_text(f"Share of the {period}'s {value_label}"),
           title=plain_text(f"Share of {value_label} from the top {format_pct(fraction)} of customers, by {period}"))
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.legend(frameon=False, loc="lower right")
    return ax
