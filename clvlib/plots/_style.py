"""Shared look: tick formatters for money and shares, and the Axes lookup every plot uses."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, PercentFormatter

from ..formatting import CURRENCY_SYMBOLS

__all__ = ["money_formatter", "percent_formatter", "get_ax", "plain_text", "CURRENCY_SYMBOLS"]


def plain_text(label) -> str:
    """``label`` as text matplotlib draws literally: every ``$`` escaped as ``\\$``, so no mathtext is parsed.

    matplotlib typesets the part of a string between two unescaped dollars as maths: a product called
    ``T-shirt $$`` fails to draw, ``$\\href{x}$`` is an error, and an AOV band ``$25 - $50`` is silently set in
    italics. Escaped dollars are drawn as ``$`` (and ``Text.get_text()`` keeps the escapes). Apply it once, to
    every string holding data (category, segment, channel or product names) or a caller's label.

    >>> plain_text("$25 - $50")
    '\\\\$25 - \\\\$50'
    """
    return str(label).replace("$", r"\$")


def money_formatter(*, currency: str = "USD") -> FuncFormatter:
    """Tick labels such as ``$1.2k`` or ``€350``; unknown currencies are written as a prefix code."""
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")

    def fmt(x, _pos=None):
        for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= size:
                return f"{symbol}{x / size:,.1f}{suffix}".replace(".0" + suffix, suffix)
        return f"{symbol}{x:,.0f}"

    return FuncFormatter(fmt)


def percent_formatter(*, xmax: float = 1.0, decimals: int = 0) -> PercentFormatter:
    """Tick labels for shares stored as fractions (0.25 → 25 %)."""
    return PercentFormatter(xmax=xmax, decimals=decimals)


def get_ax(ax: Axes | None) -> Axes:
    """The Axes to draw on: the one given, or the current one."""
    return ax if ax is not None else plt.gca()
