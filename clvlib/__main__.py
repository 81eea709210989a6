"""``python -m clvlib report ...``: see :mod:`clvlib.reporting.cli`."""

from __future__ import annotations

from .reporting.cli import run

if __name__ == "__main__":
    run()
