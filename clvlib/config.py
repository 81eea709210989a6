"""Project paths and shared constants, derived from the package location (never from the working directory)."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "PROJ_ROOT", "DATA_DIR", "NOTEBOOKS_DIR", "REPORTS_DIR",
    "TIME_UNITS", "DAYS_PER_UNIT", "TIME_UNIT_NAMES", "DAYS_PER_MONTH", "DAYS_PER_YEAR",
]

PROJ_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJ_ROOT / "data"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
REPORTS_DIR = PROJ_ROOT / "reports"

# A month is a mean Gregorian month, so "12 months" is exactly one mean year whatever the time unit.
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12  # 30.4375
DAYS_PER_UNIT = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}
TIME_UNITS = tuple(DAYS_PER_UNIT)
TIME_UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}
