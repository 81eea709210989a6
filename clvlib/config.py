"""Project paths and shared constants, derived from the package location (never from the working directory)."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "PROJ_ROOT", "FROM_CLONE", "NOT_A_CLONE", "DATA_DIR", "NOTEBOOKS_DIR", "REPORTS_DIR",
    "TIME_UNITS", "DAYS_PER_UNIT", "TIME_UNIT_NAMES", "DAYS_PER_MONTH", "DAYS_PER_YEAR",
]

PROJ_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJ_ROOT / "data"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
REPORTS_DIR = PROJ_ROOT / "reports"
# The kit runs from a clone of its repository: notebooks and bundled data sit beside the package. An installed copy
# (`pip install .` into site-packages) has the library alone; what needs the rest says so in this sentence.
FROM_CLONE = NOTEBOOKS_DIR.is_dir() and DATA_DIR.is_dir()
NOT_A_CLONE = (f"clvlib at {PROJ_ROOT} has no notebooks/ and data/ beside it: the library works from any install, "
               "but the notebooks, the bundled data and `clv report` run from a clone of the kit's repository "
               "(see the README's quick start).")

# A month is a mean Gregorian month, so "12 months" is exactly one mean year whatever the time unit.
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12  # 30.4375
DAYS_PER_UNIT = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}
TIME_UNITS = tuple(DAYS_PER_UNIT)
TIME_UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}
