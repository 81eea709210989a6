"""``python -m clvlib report ...``: see :mod:`clvlib.cli`."""

from __future__ import annotations

from .cli import run

if __name__ == "__main__":
    run()
