"""Exceptions raised by clvlib.

Every error a user can cause with their data is a :class:`DataError` (a ``ValueError``), so a notebook or the
report CLI can catch one type and show the message, which names the file, the column and the problem.
"""

from __future__ import annotations

__all__ = ["DataError", "NotFittedError", "ConvergenceError"]


class DataError(ValueError):
    """Input data that the kit cannot use as given.

    The message names the source (file or "DataFrame"), the column, the problem and, where useful, the first
    offending rows, and says how to fix it.
    """


class NotFittedError(ValueError):
    """A model's prediction was asked for before ``fit``: call ``.fit()`` first."""


class ConvergenceError(ValueError):
    """The maximum-likelihood optimiser did not converge.

    Carries the optimiser's own message; try more data, a different ``time_unit`` or ``penalizer_coef``.
    """
