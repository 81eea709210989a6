"""Shared argument and column checks, so every public entry point words its errors the same way."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import pandas as pd

from .config import DAYS_PER_UNIT
from .errors import DataError

__all__ = ["check_argument", "validate_columns", "check_time_unit", "closest", "is_currency_code"]


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate that looks most like ``name`` (case-insensitive), or None."""
    candidates = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[match[0]] if match else None


def check_argument(param: str, options: Sequence, value) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``options`` (seaborn's wording)."""
    if value not in options:
        raise ValueError(f"The value for `{param}` must be one of {list(options)}, but {value!r} was passed.")


def is_currency_code(value) -> bool:
    """Whether ``value`` has the shape of an ISO 4217 code (three letters): what may label money on any page.

    >>> is_currency_code("eur"), is_currency_code("EUR "), is_currency_code("<b>")
    (True, False, False)
    """
    return isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()


def check_time_unit(time_unit: str) -> float:
    """Validate ``time_unit`` and return the number of days in one unit."""
    check_argument("time_unit", list(DAYS_PER_UNIT), time_unit)
    return DAYS_PER_UNIT[time_unit]


def validate_columns(
    df: pd.DataFrame,
    required: Iterable[str],
    *,
    unique: Iterable[str] = (),
    source: str = "DataFrame",
    what: str = "table",
) -> None:
    """Raise :class:`DataError` naming every missing required column (and its closest match).

    ``unique`` columns must not repeat; the index counts as a column under its name.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"Expected a pandas DataFrame as the {what}, but got {type(df).__name__}.")
    available = list(df.columns) + [n for n in df.index.names if n is not None]
    missing = [c for c in required if c not in available]
    if missing:
        hints = []
        for c in missing:
            near = closest(c, available)
            hints.append(f"`{c}`" + (f" (closest match: `{near}`)" if near else ""))
        raise DataError(
            f"{source}: the {what} is missing required column(s) {', '.join(hints)}. "
            f"Columns found: {available}."
        )
    for c in unique:
        values = df[c] if c in df.columns else df.index.get_level_values(c)
        dup = values[values.duplicated()]
        if len(dup):
            raise DataError(
                f"{source}: column `{c}` of the {what} must be unique, but {dup.nunique()} value(s) repeat, "
                f"e.g. {list(dup.unique()[:3])}."
            )


def customer_indexed(table, what: str = "customer table"):
    """``table`` indexed by customer id: a ``customer_id`` column becomes the index (a copy; the table is not
    changed); a table already indexed by id is returned as it is. Both, with different values, is a ValueError.
    """
    if "customer_id" not in getattr(table, "columns", ()):
        return table
    if table.index.name == "customer_id":
        if (table.index.astype("str") == table["customer_id"].astype("str")).all():
            return table.drop(columns="customer_id")
        raise ValueError(f"{what}: both the index and the `customer_id` column hold customer ids, and they differ; "
                         "keep one of them.")
    return table.set_index("customer_id")
