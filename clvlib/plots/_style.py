"""Shared look: tick formatters for money and shares, the Axes lookup every plot uses, and the layout helpers that
keep legends and labels off the data."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.ticker import Formatter, PercentFormatter
from matplotlib.transforms import Bbox

from ..formatting import CURRENCY_SYMBOLS

__all__ = ["money_formatter", "percent_formatter", "get_ax", "plain_text", "CURRENCY_SYMBOLS", "wrap",
           "place_legend", "legend_below", "label_lines_right", "renderer_of", "log_money_ticks"]

_SIZES = ((1e9, "bn"), (1e6, "M"), (1e3, "k"))


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


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters, of about equal length (no one-word last line),
    so that long titles and axis labels stay in the figure.

    >>> wrap("Mean CLV to date + 12-month CLV by product", 30)
    'Mean CLV to date + 12-month\\nCLV by product'
    """
    text = str(text)
    lines = max(1, -(-len(text) // width))
    balanced = min(width, -(-len(text) // lines) + 6)
    return "\n".join(textwrap.wrap(text, balanced, break_long_words=False)) or text


class MoneyFormatter(Formatter):
    """Money as ``$1.2k`` or ``€350``; unknown currencies are written as a prefix code.

    A single value (``formatter(x)``, e.g. a bar label) is rounded: whole units below a thousand, one decimal with a
    k/M/bn suffix above. Tick labels (:meth:`format_ticks`) get as many decimals as their values need, so that two
    ticks never read the same (``$2.10M``, ``$2.12M``) and small ticks on a log axis read ``$0.01``, not ``$0``.
    """

    def __init__(self, currency: str = "USD"):
        self.currency = currency
        self.symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")

    def _parts(self, x: float) -> tuple[float, str]:
        for size, suffix in _SIZES:
            if abs(x) >= size:
                return x / size, suffix
        return x, ""

    def _text(self, x: float, decimals: int) -> str:
        scaled, suffix = self._parts(x)
        return f"{self.symbol}{scaled:,.{decimals}f}{suffix}"

    def __call__(self, x, pos=None) -> str:
        scaled, suffix = self._parts(x)
        if suffix:
            return f"{self.symbol}{scaled:,.1f}{suffix}".replace(".0" + suffix, suffix)
        return f"{self.symbol}{x:,.0f}"

    def format_ticks(self, values) -> list[str]:
        values = [float(v) for v in values]

        def exact(v: float) -> int:  # fewest decimals that write the tick's value exactly
            scaled, _ = self._parts(v)
            for d in range(4):
                if abs(round(scaled, d) - scaled) <= 1e-9 * max(1.0, abs(scaled)):
                    return d
            return 3

        decimals = [exact(v) for v in values]
        steps = np.diff(values)
        if len(values) > 2 and np.allclose(steps, steps[0]):  # a linear axis: one precision per suffix
            most = {}
            for v, d in zip(values, decimals):
                most[self._parts(v)[1]] = max(most.get(self._parts(v)[1], 0), d)
            decimals = [most[self._parts(v)[1]] for v in values]
        labels = [self._text(v, d) for v, d in zip(values, decimals)]
        extra = 0
        while len(set(labels)) < len(labels) and extra < 4:  # ticks between round numbers: one more decimal each
            extra += 1
            labels = [self._text(v, d + extra) for v, d in zip(values, decimals)]
        return labels


def money_formatter(*, currency: str = "USD") -> MoneyFormatter:
    """Tick labels such as ``$1.2k`` or ``€350``, distinct on every axis; unknown currencies as a prefix code."""
    return MoneyFormatter(currency)


def percent_formatter(*, xmax: float = 1.0, decimals: int = 0) -> PercentFormatter:
    """Tick labels for shares stored as fractions (0.25 → 25 %)."""
    return PercentFormatter(xmax=xmax, decimals=decimals, symbol=" %")  # the kit's one style: "25 %"


def get_ax(ax: Axes | None) -> Axes:
    """The Axes to draw on: the one given, or the current one."""
    return ax if ax is not None else plt.gca()


def renderer_of(ax: Axes):
    """The figure's renderer, to measure text before the figure is shown (None when the backend has none)."""
    figure = ax.figure
    for get in (getattr(figure.canvas, "get_renderer", None), getattr(figure, "_get_renderer", None)):
        if get is not None:
            try:
                return get()
            except Exception:  # pragma: no cover - backends without a renderer: no measuring
                continue
    return None


def _obstacles(artists, renderer) -> np.ndarray:
    """Display-space boxes (x0, y0, x1, y1) of what a legend must not cover: each bar or text, and for a line
    small boxes along its drawn path (a line's own bounding box would cover everything under a rising curve)."""
    rows = []
    for artist in artists:
        if not artist.get_visible():
            continue
        if isinstance(artist, Line2D):
            xy = artist.get_transform().transform(artist.get_xydata())
            xy = xy[np.isfinite(xy).all(axis=1)]
            if len(xy) > 1:  # densify: a point every 2 pixels along each segment
                steps = np.maximum(1, (np.hypot(*np.diff(xy, axis=0).T) / 2).astype(int))
                xy = np.vstack([np.linspace(a, b, n, endpoint=False) for a, b, n in zip(xy[:-1], xy[1:], steps)]
                               + [xy[-1:]])
            rows.extend(np.column_stack([xy - 1, xy + 1]))
            continue
        box = artist.get_window_extent(renderer)
        if box.width > 0 and box.height > 0 and np.isfinite(box.bounds).all():
            rows.append([box.x0, box.y0, box.x1, box.y1])
    return np.asarray(rows, dtype=float).reshape(-1, 4)


def _covered(frame: Bbox, boxes: np.ndarray, pad: float = 5.0) -> np.ndarray:
    """Which boxes come within ``pad`` pixels of the legend's frame."""
    return ((boxes[:, 2] > frame.x0 - pad) & (boxes[:, 0] < frame.x1 + pad) & (boxes[:, 3] > frame.y0 - pad)
            & (boxes[:, 1] < frame.y1 + pad))


def legend_below(ax: Axes, **kwargs) -> Legend:
    """A legend centred under the Axes, below the x tick labels and the x-axis label (measured, not guessed)."""
    kwargs.setdefault("ncols", 4)
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), **kwargs)
    _move_below(ax, legend)
    return legend


def _move_below(ax: Axes, legend: Legend) -> None:
    renderer = renderer_of(ax)
    if renderer is None:
        return
    legend.set_visible(False)  # the axis alone: its tick labels and label
    axis_box = ax.xaxis.get_tightbbox(renderer)
    legend.set_visible(True)
    axes_box = ax.get_window_extent(renderer)
    if axis_box is None or axes_box.height <= 0:
        return
    below = (axis_box.y0 - axes_box.y0) / axes_box.height - 4 / axes_box.height * ax.figure.dpi / 72
    legend.set_loc("upper center")
    legend.set_bbox_to_anchor((0.5, min(0.0, below)), transform=ax.transAxes)


def place_legend(ax: Axes, *, avoid=None, locs=("upper right", "upper left", "upper center", "center right",
                                                  "center left"), fallback: str = "headroom", **kwargs) -> Legend:
    """A legend that does not cover the data in ``avoid`` (by default the Axes' bars and text labels).

    Tries each corner in ``locs``. When every one covers some bar, label or line: with ``fallback="headroom"``
    raises the top of the y-axis just enough for the data to fit under the legend at the upper corner that needs
    the least room; with ``fallback="below"`` puts the legend under the Axes (:func:`legend_below`).
    ``loc="best"`` cannot do this: it only picks among the corners, and on a histogram peaking at the left it
    still covers bars. Returns the legend; other keyword arguments go to :meth:`Axes.legend`.
    """
    renderer = renderer_of(ax)
    legend = ax.legend(loc=locs[0], **kwargs)
    if renderer is None:
        return legend
    boxes = _obstacles([*ax.patches, *ax.texts] if avoid is None else list(avoid), renderer)
    for loc in locs:
        legend.set_loc(loc)
        if not _covered(legend.get_window_extent(renderer), boxes).any():
            return legend
    if fallback == "below":
        legend.remove()
        kwargs.setdefault("ncols", 4)
        return legend_below(ax, **kwargs)
    # No free corner: make room above the data, under the upper corner that needs the least of it.
    scale = ax.yaxis.get_transform()
    bottom, top = ax.get_ylim()
    f_bottom, f_top = scale.transform(np.array([[bottom], [top]])).ravel()  # in scale space (log10 for log)
    axes_box = ax.get_window_extent(renderer)
    best = None
    for loc in [loc for loc in locs if loc.startswith("upper")]:
        legend.set_loc(loc)
        frame = legend.get_window_extent(renderer)
        under = boxes[(boxes[:, 2] > frame.x0) & (boxes[:, 0] < frame.x1)]
        free = (frame.y0 - axes_box.y0) / axes_box.height - 0.03  # axes fraction left under the legend
        if not len(under) or free <= 0.25:
            continue
        highest = (under[:, 3].max() - axes_box.y0) / axes_box.height
        new_top = f_bottom + (f_top - f_bottom) * highest / free
        if best is None or new_top < best[0]:
            best = (new_top, loc)
    legend.set_loc(locs[0])
    if best is not None and best[0] > f_top:
        ax.set_ylim(bottom, float(scale.inverted().transform(np.array([[best[0]]])).ravel()[0]))
        legend.set_loc(best[1])
    return legend


def label_lines_right(ax: Axes, ys, texts, colors, *, fontsize: float = 8, gap_points: float | None = None) -> list:
    """Labels just right of the Axes at data heights ``ys``, pushed apart so that none overlaps another.

    For horizontal reference lines (one CAC per channel): each label sits at its line's height unless that would
    touch its neighbour, in which case the neighbours are spread evenly around their heights. Heights are
    computed for the current y-limits, so set them first. Returns the Text artists (in the order given).
    """
    ys = np.asarray(ys, dtype=float)
    if ys.size == 0:
        return []
    gap = (gap_points or fontsize * 1.35) * ax.figure.dpi / 72  # pixels between two label centres
    to_pixels = ax.transData
    pixels = to_pixels.transform(np.column_stack([np.zeros_like(ys), ys]))[:, 1]
    axes_box = ax.get_window_extent(renderer_of(ax)) if renderer_of(ax) is not None else None
    order = np.argsort(pixels)
    placed = pixels[order].copy()
    # Classic de-overlap: sweep up, then down, then centre clusters, until every gap is wide enough.
    for _ in range(50):
        moved = False
        for i in range(1, len(placed)):
            if placed[i] - placed[i - 1] < gap - 1e-6:
                middle = (placed[i] + placed[i - 1]) / 2
                placed[i - 1], placed[i] = middle - gap / 2, middle + gap / 2
                moved = True
        if not moved:
            break
    for i in range(1, len(placed)):  # guarantee the spacing after the relaxation
        placed[i] = max(placed[i], placed[i - 1] + gap)
    if axes_box is not None and len(placed):
        low = axes_box.y0 + gap / 2
        if placed[0] < low:  # nothing below the Axes' bottom edge
            shift = low - placed[0]
            placed += shift
    back = to_pixels.inverted()
    y_data = back.transform(np.column_stack([np.zeros_like(placed), placed]))[:, 1]
    result = [None] * len(ys)
    transform = ax.get_yaxis_transform()  # x in axes fraction, y in data
    for k, idx in enumerate(order):
        result[idx] = ax.text(1.01, y_data[k], texts[idx], transform=transform, ha="left", va="center",
                              fontsize=fontsize, color=colors[idx], clip_on=False)
    return result


def log_money_ticks(axis) -> None:
    """Readable major ticks on a log money axis, for its current limits: 1, 2 and 5 times each power of ten
    (``$10, $20, $50``) over up to three decades, 1 and 3 times up to five, powers of ten beyond; no minor ticks."""
    from matplotlib.ticker import LogLocator, NullLocator

    low, high = sorted(axis.get_view_interval())
    decades = np.log10(high / low) if low > 0 and high > 0 else 1.0
    subs = (1.0, 2.0, 5.0) if decades <= 3 else (1.0, 3.0) if decades <= 5 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=99))
    axis.set_minor_locator(NullLocator())
