"""Store-level figures: revenue by month, the first chart of a run's summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from .._validation import validate_columns
from ._style import get_ax, money_formatter

__all__ = ["plot_revenue_by_month"]

_BAR, _PARTIAL = "#4c72b0", "#c6d3e8"


def plot_revenue_by_month(monthly: pd.DataFrame, *, currency: str = "USD", months: int = 24,
                          ax: Axes | None = None) -> Axes:
    """Revenue per calendar month as bars, the last ``months`` months; a month not yet complete is drawn pale.

    Parameters
    ----------
    monthly : DataFrame
        :func:`clvlib.revenue_by_month` output (``revenue``, ``complete``, indexed by month).
    currency : str
        Currency of the revenue.
    months : int
        How many of the latest months to show.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    validate_columns(monthly, ("revenue", "complete"), source="monthly", what="monthly revenue table")
    ax = get_ax(ax)
    shown = monthly.tail(months)
    x = np.arange(len(shown))
    colours = np.where(shown["complete"].to_numpy(bool), _BAR, _PARTIAL)
    ax.bar(x, shown["revenue"].to_numpy(float), color=colours, width=0.8)
    # A label every few months, so they never overlap at summary size.
    step = max(1, int(np.ceil(len(shown) / 8)))
    labels = [f"{p:%b}\n{p:%Y}" if (i == 0 or p.month == 1) else f"{p:%b}" for i, p in enumerate(shown.index)]
    ax.set_xticks(x[::step], labels[::step], fontsize=8)
    ax.yaxis.set_major_formatter(money_formatter(currency=currency))
    ax.set_ylabel(f"revenue ({currency})")
    ax.set_xlabel("month")
    ax.set_title("Revenue by month")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if not shown["complete"].all():
        ax.legend(handles=[Patch(color=_BAR, label="complete month"), Patch(color=_PARTIAL, label="month to date")],
                  fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(0, -0.22), ncol=2)
    return ax
