"""Project paths and shared constants, derived from the package location (never from the working directory)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PROJ_ROOT", "project_path", "FROM_CLONE", "NOT_A_CLONE", "DATA_DIR", "NOTEBOOKS_DIR", "REPORTS_DIR",
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



def project_path(path: str | os.PathLike) -> Path:
    """A path as the notebooks' parameters take it: an absolute path stays; a relative one is taken relative to
    the project folder (:data:`PROJ_ROOT`), whatever the working folder (a notebook's working folder is
    ``notebooks/``, a report run's the report folder; the report runner passes absolute paths).

    Examples
    --------
    >>> project_path("data/demo_store/orders.csv") == PROJ_ROOT / "data" / "demo_store" / "orders.csv"
    True
    >>> str(project_path("/tmp/orders.csv"))
    '/tmp/orders.csv'
    """
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJ_ROOT / path


# A month is a mean Gregorian month, so "12 months" is exactly one mean year whatever the time unit.
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12  # 30.4375
DAYS_PER_UNIT = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}
TIME_UNITS = tuple(DAYS_PER_UNIT)
TIME_UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}
