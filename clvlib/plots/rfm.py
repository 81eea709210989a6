"""RFM figures: the recency × frequency heatmap, segment size against revenue share, score distributions, and the
segment migration heatmap. Each draws a table computed by a public clvlib function."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from .._validation import check_argument, customer_indexed, validate_columns
from ..rfm.migration import SegmentMigration
from ..rfm.scores import rfm_grid, score_thresholds
from ._style import get_ax, money_formatter, percent_formatter, place_legend, plain_text
from ..formatting import format_pct

__all__ = ["plot_rfm_heatmap", "plot_segment_sizes", "plot_score_distributions", "plot_migration_heatmap"]


def _tick_labels(scores: pd.DataFrame, metric: str, levels) -> list[str]:
    """Tick labels such as "5" over "≤ 30 d": each score with the range of whole days or orders behind it."""
    table = score_thresholds(scores).query("metric == @metric").set_index("score")
    unit = {"recency": "d", "frequency": "orders"}[metric]
    score_col = {"recency": "r_score", "frequency": "f_score"}[metric]
    labels = []
    for level in levels:
        lo, hi = table.loc[level, "lower"], table.loc[level, "upper"]
        # Recency intervals are (lo, hi], frequency ones [lo, hi): as whole numbers, first..last.
        first, last = (lo + 1, hi) if metric == "recency" else (lo, hi - 1)
        if lo == hi or not (scores[score_col] == level).any():  # a level nobody reaches reads as empty
            labels.append(f"{level}\n(empty)")
            continue
        if math.isinf(lo) and math.isinf(hi):
            # One level holds every customer (all values tied): the values seen there say more than "≤ inf".
            seen = scores.loc[scores[score_col] == level, metric]
            if seen.empty:
                labels.append(f"{level}\n(empty)")
                continue
            first, last = float(seen.min()), float(seen.max())
            lo, hi = first - (metric == "recency"), last + (metric != "recency")
        if math.isinf(lo) and metric == "frequency" and last == 1:
            span = "1"
        elif math.isinf(lo):
            span = f"≤ {last:,.0f}"
        elif math.isinf(hi):
            span = f"≥ {first:,.0f}"
        elif first >= last:
            span = f"{last:,.0f}"
        else:
            span = f"{first:,.0f}–{last:,.0f}"
        labels.append(f"{level}\n{span} {'order' if span == '1' and metric == 'frequency' else unit}")
    return labels


def _heatmap(ax: Axes, table: pd.DataFrame, labels: list[str], cbar_label: str, cmap: str) -> None:
    values = table.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto")
    ax.figure.colorbar(image, ax=ax, label=plain_text(cbar_label))
    finite = values[np.isfinite(values)]
    middle = (finite.min() + finite.max()) / 2 if finite.size else 0
    for (i, j), text in np.ndenumerate(np.array(labels, dtype=object).reshape(values.shape)):
        if text:
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if values[i, j] > middle else "black")


def plot_rfm_heatmap(
    scores: pd.DataFrame, *, value: str = "customers", currency: str = "USD", ax: Axes | None = None
) -> Axes:
    """Recency score × frequency score heatmap of customers, or of their mean monetary value.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`clvlib.rfm_scores`, indexed by customer id or with a ``customer_id`` column; drawn through
        :func:`clvlib.rfm_grid`.
    value : {"customers", "monetary"}
        What each cell shows.
    currency : str
        Currency of the monetary values.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    check_argument("value", ["customers", "monetary"], value)
    scores = customer_indexed(scores, "RFM scores table")
    ax = get_ax(ax)
    grid = rfm_grid(scores, value=value)
    if value == "customers":
        texts = [f"{v:,.0f}" for v in grid.to_numpy().ravel()]
        label, title = "Customers", "Customers by recency and frequency score"
    else:
        fmt = money_formatter(currency=currency)
        texts = ["" if np.isnan(v) else fmt(v) for v in grid.to_numpy(dtype=float).ravel()]
        label = f"Mean monetary value ({currency})"
        title = f"Mean monetary value ({currency}) by recency and frequency score"
    _heatmap(ax, grid, texts, label, "Blues" if value == "customers" else "Greens")
    ax.set_xticks(range(grid.shape[1]), _tick_labels(scores, "frequency", grid.columns))
    ax.set_yticks(range(grid.shape[0]), _tick_labels(scores, "recency", grid.index))
    ax.set(title=plain_text(title), xlabel="Frequency score (orders; 5 = most orders)",
           ylabel="Recency score (days since last order; 5 = most recent)")
    return ax


def plot_segment_sizes(summary: pd.DataFrame, *, currency: str = "USD", ax: Axes | None = None) -> Axes:
    """Each segment's share of customers beside its share of revenue (horizontal paired bars).

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`clvlib.segment_summary` (``share``, ``revenue_share``, indexed by segment).
    currency : str
        Currency of the revenue.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    validate_columns(summary, ["share", "revenue_share"], what="segment summary")
    ax = get_ax(ax)
    y = np.arange(len(summary))
    height = 0.4
    ax.barh(y - height / 2, summary["share"], height, label="Share of customers", color="tab:blue")
    ax.barh(y + height / 2, summary["revenue_share"], height, label=plain_text(f"Share of revenue ({currency})"),
            color="tab:orange")
    ax.set_yticks(y, [plain_text(s) for s in summary.index])  # segment names come from the user's scheme
    ax.invert_yaxis()  # first segment of the scheme at the top
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.set(title="Segment size vs revenue share", xlabel="Share of all customers / of all revenue (%)",
           ylabel="Segment")
    ax.legend(loc="best")  # a segment holding everyone fills the bottom right
    return ax


def plot_score_distributions(scores: pd.DataFrame, *, currency: str = "USD", ax: Axes | None = None) -> Axes:
    """Customers per score level for R, F and M, side by side (empty levels show as missing bars).

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`clvlib.rfm_scores`; indexed by customer id, or with a ``customer_id`` column.
    currency : str
        Currency of the monetary values (legend).
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    scores = customer_indexed(scores, "RFM scores table")
    validate_columns(scores, ["r_score", "f_score", "m_score"], what="RFM scores table")
    ax = get_ax(ax)
    table = score_thresholds(scores).pivot(index="score", columns="metric", values="customers")
    names = {"recency": "Recency (days)", "frequency": "Frequency (orders)", "monetary": f"Monetary ({currency})"}
    width = 0.27
    for k, metric in enumerate(["recency", "frequency", "monetary"]):
        ax.bar(table.index + (k - 1) * width, table[metric], width, label=plain_text(f"{names[metric]} score"))
    # A level no customer reaches on any metric (heavy ties) is named, so the gap reads as empty, not as missing.
    empty = table.sum(axis=1) == 0
    ax.set_xticks(table.index, [f"{s}\n(empty)" if empty.loc[s] else str(s) for s in table.index])
    ax.set(title="How customers spread over the score levels", xlabel="Score (1 = lowest, highest = best)",
           ylabel="Customers")
    place_legend(ax, title="Score of", avoid=ax.patches)
    return ax


def plot_migration_heatmap(
    migration: SegmentMigration | pd.DataFrame, *, share: bool = False, ax: Axes | None = None
) -> Axes:
    """Customers moving from each earlier segment (rows) to each later segment (columns).

    Parameters
    ----------
    migration : SegmentMigration or DataFrame
        Output of :func:`clvlib.segment_migration`, or its ``matrix``.
    share : bool
        Colour and label each row as shares of its earlier segment instead of counts.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    matrix = migration.matrix if isinstance(migration, SegmentMigration) else migration
    ax = get_ax(ax)
    shown = matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0) if share else matrix
    texts = [("" if not np.isfinite(v) or v == 0 else format_pct(v, decimals=0)) if share else ("" if v == 0 else f"{v:,.0f}")
             for v in shown.to_numpy(dtype=float).ravel()]
    _heatmap(ax, shown, texts, "Share of the earlier segment" if share else "Customers", "Purples")
    ax.set_xticks(range(shown.shape[1]), [plain_text(c) for c in shown.columns], rotation=45, ha="right")
    ax.set_yticks(range(shown.shape[0]), [plain_text(r) for r in shown.index])
    ax.set(title="Segment migration between the two dates" + (" (row shares)" if share else " (customers)"),
           xlabel="Segment at the later date", ylabel="Segment at the earlier date")
    return ax

