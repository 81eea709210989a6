"""Numbers written for people: money with its currency symbol and shares as percentages; data as Markdown text.

Shared by headline sentences, report tables and plot labels; free of matplotlib so ``import clvlib`` stays light.
"""

from __future__ import annotations

import re

__all__ = ["styled", "CURRENCY_SYMBOLS", "format_money", "format_pct", "escape_markdown", "markdown_money"]

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def format_money(amount: float, currency: str = "USD", *, cents: bool = False) -> str:
    """``$1,234`` from 100 up and for whole amounts, ``$35.26`` otherwise; other currencies as ``1,234 CHF``.

    ``cents=True`` keeps the cents of any amount that has them (``$1,234.50``), for thresholds that must be exact.

    >>> format_money(2400, "USD"), format_money(35.257, "EUR"), format_money(1234.5, "CHF")
    ('$2,400', '€35.26', '1,234 CHF')
    >>> format_money(1234.5, cents=True), format_money(1200, cents=True)
    ('$1,234.50', '$1,200')
    >>> format_money(float("nan"))  # a mean over no customers: missing, shown as such
    '–'
    >>> format_money(float("inf"))  # an open-ended band's upper bound
    '$∞'
    """
    if amount is None or amount != amount:
        return "–"
    if amount in (float("inf"), float("-inf")):
        symbol = CURRENCY_SYMBOLS.get(currency)
        text = "∞" if amount > 0 else "−∞"
        return f"{symbol}{text}" if symbol else f"{text} {currency}"
    whole = (abs(amount) >= 100 and not cents) or abs(amount - round(amount)) < 0.005
    text = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def format_pct(share: float, decimals: int | None = None) -> str:
    """A share as a percentage, the kit's one style (a space before ``%``): ``67 %``, ``4.5 %``, ``0.3 %``.

    Sentences round to what matters (whole percents from 10 %, one decimal below); tables pass ``decimals`` to
    give every row the same precision (``partial(format_pct, decimals=1)`` as a Styler format): ``67.1 %``.

    >>> format_pct(0.6712), format_pct(0.045), format_pct(0.003), format_pct(0.6712, decimals=1)
    ('67 %', '4.5 %', '0.3 %', '67.1 %')
    >>> format_pct(float("nan"))
    '–'
    """
    if share is None or share != share:
        return "–"
    percent = 100 * share
    if decimals is not None:
        return f"{percent:,.{decimals}f} %"
    text = f"{percent:.0f}" if abs(percent) >= 9.95 else f"{percent:.1f}".removesuffix(".0")
    return f"{text} %"


# Characters Markdown (CommonMark, mistune, JupyterLab's marked) gives a meaning anywhere in a line: emphasis, code,
# links and images (":" stops bare URLs being linked), raw HTML and entities, tables, strike-through, and the
# dollars of maths. Each ASCII punctuation
# character may be backslash-escaped in CommonMark, and the escape is shown as the character itself.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#|$~!&^:])")
# At the start of a line: headings, quotes, list items ("-", "+", "1." or "1)") and setext underlines ("=").
_MARKDOWN_LINE_START = re.compile(r"^([ \t]*)([-+=]|\d{1,9}(?=[.)]))", re.M)


def escape_markdown(text) -> str:
    """``text`` (any value: a segment, product or channel name, a customer id) as Markdown that shows it literally.

    Backslash-escapes what Markdown would read as formatting, a link (also a bare ``https://`` one), raw HTML or
    maths: ``\\ ` * _ { } [ ] ( ) < > # | $ ~ ! & ^ :``, and a ``-``, ``+``, ``=`` or ``1.`` that starts a line.
    Use it on every data value put into a Markdown sentence; the sentence's own formatting stays outside it.

    Examples
    --------
    >>> print(escape_markdown("**x** <img src=x onerror=alert(1)> [a](javascript:b) $25 - $50"))
    \\*\\*x\\*\\* \\<img src=x onerror=alert\\(1\\)\\> \\[a\\]\\(javascript\\:b\\) \\$25 - \\$50
    >>> print(escape_markdown("# Top\\n1. first"))
    \\# Top
    1\\. first
    """
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _MARKDOWN_SPECIALS.sub(r"\\\1", text)
    return _MARKDOWN_LINE_START.sub(lambda m: m.group(1) + ("\\" + m.group(2) if not m.group(2)[0].isdigit()
                                                             else m.group(2) + "\\"), text)


def markdown_money(amount: float, currency: str = "USD") -> str:
    """:func:`format_money` for a Markdown sentence: ``\\$1,234``, so that two amounts are not read as maths.

    >>> print(markdown_money(1234, "USD"), markdown_money(5, "EUR"))
    \\$1,234 €5
    """
    return escape_markdown(format_money(amount, currency))


def _number_formats(frame) -> dict:
    """Default cell formats by column: counts and other whole numbers as ``10,100``, other numbers as ``1,234.57``."""
    import numpy as np
    import pandas as pd

    formats = {}
    for i, column in enumerate(frame.columns):
        values = frame.iloc[:, i]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            # Dates at midnight (the orders table's) as dates; real times keep them.
            has_time = bool((values.dropna() != values.dropna().dt.normalize()).any())
            formats[column] = (lambda v: f"{v:%Y-%m-%d %H:%M}") if has_time else (lambda v: f"{v:%Y-%m-%d}")
            continue
        if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
            continue
        numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
        finite = numbers[np.isfinite(numbers)]
        whole = pd.api.types.is_integer_dtype(values.dtype) or bool(np.all(finite == np.round(finite)))
        formats[column] = "{:,.0f}" if whole else "{:,.2f}"
    return formats


def styled(frame, *, formats=None, percent=(), hide_index: bool = False):
    """A pandas Styler for a table shown to people: every cell and label HTML-escaped, missing values as "–".

    Data reach tables: a segment name from a user's scheme or a product name must show as text, never run as
    HTML. Numbers get a default format: integer columns (and float columns holding only whole numbers) as
    ``10,100``, other numbers with two decimals. ``percent`` names share columns, written in the kit's one
    percentage style (:func:`format_pct`, one decimal: ``67.1 %``); ``formats`` maps columns to format strings or
    functions (as :meth:`pandas.io.formats.style.Styler.format`) and wins over both. The table is marked
    ``tex2jax_ignore``, so that money (``$25 … $50``) is never typeset as maths in JupyterLab or the HTML report.

    Examples
    --------
    >>> import pandas as pd
    >>> html = styled(pd.DataFrame({"name": ["<b>x</b>"]}, index=["<i>"])).to_html()
    >>> "&lt;b&gt;x&lt;/b&gt;" in html and "&lt;i&gt;" in html and "<b>x</b>" not in html
    True
    >>> table = pd.DataFrame({"customers": [10100], "rows": [3.0], "mean": [2.5], "share": [0.018]})
    >>> styled(table, percent=["share"]).to_html().count("10,100"), "1.8 %" in styled(table, percent=["share"]).to_html()
    (1, True)
    """
    from functools import partial

    # One call: Styler.format resets every column a dict leaves out to pandas' default format.
    chosen = _number_formats(frame)
    chosen.update({column: partial(format_pct, decimals=1) for column in percent})
    if isinstance(formats, dict):
        chosen.update(formats)
    elif formats is not None:  # one format for every cell
        chosen = formats
    style = frame.style.format(chosen, na_rep="–", escape="html")
    style = style.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    style = style.set_table_attributes('class="tex2jax_ignore"')
    # Text reads from the left, numbers from the right; a figure such as "16.2 %" never breaks across lines.
    text = [c for c in frame.columns if c not in chosen or c in percent]
    numbers = [c for c in frame.columns if c in chosen]
    if text:
        style = style.set_properties(subset=[c for c in text if c not in percent], **{"text-align": "left"})
    if numbers:
        style = style.set_properties(subset=numbers, **{"white-space": "nowrap"})
    return style.hide(axis="index") if hide_index else style
