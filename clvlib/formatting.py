"""Numbers written for people: money with its currency symbol and shares as percentages; data as Markdown text.

Shared by headline sentences, report tables and plot labels; free of matplotlib so ``import clvlib`` stays light.
"""

from __future__ import annotations

import re

__all__ = ["styled", "CURRENCY_SYMBOLS", "format_money", "format_pct", "escape_markdown", "markdown_money"]

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def format_money(amount: float, currency: str = "USD") -> str:
    """``$1,234`` from 100 up and for whole amounts, ``$35.26`` otherwise; other currencies as ``1,234 CHF``.

    >>> format_money(2400, "USD"), format_money(35.257, "EUR"), format_money(1234.5, "CHF")
    ('$2,400', '€35.26', '1,234 CHF')
    >>> format_money(float("nan"))  # a mean over no customers: missing, shown as such
    '–'
    """
    if amount is None or amount != amount:
        return "–"
    whole = abs(amount) >= 100 or abs(amount - round(amount)) < 0.005
    text = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def format_pct(share: float) -> str:
    """A share as a sentence-ready percentage: ``67 %``, ``4.5 %``, ``0.3 %``.

    >>> format_pct(0.6712), format_pct(0.045), format_pct(0.003)
    ('67 %', '4.5 %', '0.3 %')
    """
    percent = 100 * share
    text = f"{percent:.0f}" if percent >= 9.95 else f"{percent:.1f}".removesuffix(".0")
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


def styled(frame, *, formats=None, hide_index: bool = False):
    """A pandas Styler for a table shown to people: every cell and label HTML-escaped, missing values as "–".

    Data reach tables: a segment name from a user's scheme or a product name must show as text, never run as
    HTML. ``formats`` maps columns to format strings or functions (as :meth:`pandas.io.formats.style.Styler.format`).

    Examples
    --------
    >>> import pandas as pd
    >>> html = styled(pd.DataFrame({"name": ["<b>x</b>"]}, index=["<i>"])).to_html()
    >>> "&lt;b&gt;x&lt;/b&gt;" in html and "&lt;i&gt;" in html and "<b>x</b>" not in html
    True
    """
    style = frame.style.format(formats, na_rep="–", escape="html")
    style = style.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    return style.hide(axis="index") if hide_index else style
