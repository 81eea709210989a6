"""Is there enough data to trust a purchase model? A check to run before any prediction.

BG/NBD and Pareto/NBD learn how often customers come back and when they stop; with few repeat buyers, a short
history or a stale export they fit noise (or fail to fit). When a check fails, a notebook should say why in plain
words and fall back to historical CLV. Thresholds are defaults an analyst can change, not laws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_time_unit, customer_indexed, validate_columns
from .._results import result_html
from ..errors import DataError
from ..formatting import format_pct

__all__ = ["SufficiencyReport", "check_data_sufficiency"]


@dataclass(frozen=True)
class SufficiencyReport:
    """Result of :func:`check_data_sufficiency`.

    Attributes
    ----------
    table : DataFrame indexed by check (``customers``, ``repeat buyers``, ``repeat share``, ``history``,
        ``recent orders``) with ``value``, ``threshold``, ``unit``, ``passed`` (True, False, or None when the check
        could not run) and ``reason`` (a plain-language sentence).
    passed : bool
        True when no check failed.
    verdict : str
        Go ahead, or why not and what to do instead (also :attr:`summary`).
    """

    table: pd.DataFrame
    passed: bool

    @property
    def reasons(self) -> list[str]:
        """The plain-language reasons of the failed checks."""
        return self.table.loc[self.table["passed"].eq(False), "reason"].tolist()

    @property
    def summary(self) -> str:
        """One paragraph for a report: go ahead, or why not and what to do instead."""
        if self.passed:
            return "The data pass every sufficiency check: the purchase models can be fitted and used."
        return (
            "The data are not sufficient for a purchase model: " + " ".join(self.reasons)
            + " Use historical CLV (what customers have spent so far) until more data accumulate."
        )

    @property
    def verdict(self) -> str:
        """The plain-language verdict (the same as :attr:`summary`)."""
        return self.summary

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.summary

    def _repr_html_(self) -> str:
        return result_html(self.verdict, self.table, title="Data sufficiency")


def _row(value, threshold, unit, passed, good: str, bad: str) -> dict:
    return {"value": value, "threshold": threshold, "unit": unit, "passed": passed, "reason": good if passed else bad}


def check_data_sufficiency(
    customers: pd.DataFrame,
    *,
    min_customers: int = 200,
    min_repeat_buyers: int = 50,
    min_repeat_share: float = 0.05,
    min_history_days: float = 180,
    max_days_since_last_order: float = 31,
    time_unit: str | None = None,
) -> SufficiencyReport:
    """Check that a customer table can support BG/NBD / Pareto/NBD predictions.

    Parameters
    ----------
    customers : DataFrame
        Output of :func:`clvlib.customer_summary` (``frequency``, ``T``; ``last_order`` and ``attrs["as_of"]`` for
        the recency check); indexed by customer id, or with a ``customer_id`` column.
    min_customers, min_repeat_buyers : int
        Smallest acceptable number of customers, and of customers with at least one repeat purchase.
    min_repeat_share : float
        Smallest acceptable share of customers with a repeat purchase.
    min_history_days : float
        The oldest customer's age ``T`` (the span of history) must reach this many days.
    max_days_since_last_order : float
        The latest order must be at most this many days before ``as_of`` (else the export may be stale or cut).
    time_unit : str, optional
        Unit of ``T``; defaults to ``customers.attrs["time_unit"]``.

    Returns
    -------
    SufficiencyReport with a per-check ``table`` and an overall ``passed``.

    Examples
    --------
    >>> customers = pd.DataFrame({"frequency": [0.0, 1.0, 3.0], "T": [10.0, 40.0, 52.0]})
    >>> report = check_data_sufficiency(customers, time_unit="W")
    >>> report.passed, report.table.loc["history", "passed"]
    (False, True)
    """
    customers = customer_indexed(customers)
    validate_columns(customers, ["frequency", "T"], source="customers", what="customer table")
    unit = time_unit or customers.attrs.get("time_unit")
    if unit is None:
        raise DataError("customers: the time unit of `T` is unknown; pass `time_unit=` ('D', 'W' or 'M').")
    unit_days = check_time_unit(unit)
    n = len(customers)
    repeaters = int((customers["frequency"] > 0).sum())
    share = repeaters / n if n else 0.0
    history_days = float(customers["T"].max() * unit_days) if n else 0.0

    rows = {
        "customers": _row(
            n, min_customers, "customers", n >= min_customers,
            f"{n:,} customers is enough to estimate how customers differ.",
            f"Only {n:,} customers: the models need at least {min_customers:,} to tell customers apart.",
        ),
        "repeat buyers": _row(
            repeaters, min_repeat_buyers, "customers", repeaters >= min_repeat_buyers,
            f"{repeaters:,} customers have bought again.",
            f"Only {repeaters:,} customers have bought more than once (at least {min_repeat_buyers:,} are needed "
            "to learn how often customers return).",
        ),
        "repeat share": _row(
            round(share, 4), min_repeat_share, "share of customers", share >= min_repeat_share,
            f"{format_pct(share)} of customers have bought again.",
            f"Only {format_pct(share)} of customers have bought again (at least {format_pct(min_repeat_share)} are needed); "
            "the store may be too new, or mostly sell one-off purchases.",
        ),
        "history": _row(
            round(history_days, 1), min_history_days, "days", history_days >= min_history_days,
            f"The history spans {history_days:,.0f} days.",
            f"The history spans only {history_days:,.0f} days (at least {min_history_days:,.0f} are needed to see "
            "customers come back and go quiet).",
        ),
    }
    as_of = customers.attrs.get("as_of")
    if "last_order" in customers.columns and as_of is not None and n:
        gap = float((pd.Timestamp(as_of) - customers["last_order"].max()) / pd.Timedelta(days=1))
        rows["recent orders"] = _row(
            gap, max_days_since_last_order, "days", gap <= max_days_since_last_order,
            f"The latest order is {gap:,.0f} days before the as-of date.",
            f"The latest order is {gap:,.0f} days before the as-of date ({pd.Timestamp(as_of):%Y-%m-%d}): the "
            "export may be stale or cut short, and every customer would look lapsed. Check the data or move as_of.",
        )
    else:
        rows["recent orders"] = {
            "value": np.nan, "threshold": max_days_since_last_order, "unit": "days", "passed": None,
            "reason": "Not checked: the table has no `last_order` column or no `attrs['as_of']`.",
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "check"
    table["passed"] = table["passed"].astype(object)
    passed = not table["passed"].eq(False).any()
    return SufficiencyReport(table, passed)
