"""Numbers written for people: money with its currency symbol and shares as percentages.

Shared by headline sentences, report tables and plot labels; free of matplotlib so ``import clvlib`` stays light.
"""

from __future__ import annotations

__all__ = ["CURRENCY_SYMBOLS", "format_money", "format_pct"]

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def format_money(amount: float, currency: str = "USD") -> str:
    """``$1,234`` from 100 up and for whole amounts, ``$35.26`` otherwise; other currencies as ``1,234 CHF``.

    >>> format_money(2400, "USD"), format_money(35.257, "EUR"), format_money(1234.5, "CHF")
    ('$2,400', '€35.26', '1,234 CHF')
    """
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
