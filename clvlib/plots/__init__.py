"""Figures: one function per figure, each drawing a table that a public clvlib function computed.

Every function takes ``ax=None`` (the current Axes when omitted), draws only through the Axes, labels its axes
with units and currency, and returns the Axes. Saving is the caller's business.
"""

from __future__ import annotations

from . import clv, models, pareto, rfm, store
from ._style import money_formatter, percent_formatter
from .clv import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .pareto import *  # noqa: F401,F403
from .rfm import *  # noqa: F401,F403
from .store import *  # noqa: F401,F403

__all__ = ["money_formatter", "percent_formatter", *clv.__all__, *models.__all__, *pareto.__all__, *rfm.__all__, *store.__all__]
