"""clvlib: the library behind the CLV notebook kit.

orders (``read_transactions``) → customers (``customer_summary``) → CLV models, Pareto/AOV and RFM analyses →
plots (``clvlib.plots``, imported on demand so that ``import clvlib`` stays light) → notebooks and reports.
"""

from __future__ import annotations

from . import aov, clv, cohorts, datasets, io, models, pareto, profit, rfm, sql, summary
from .aov import *  # noqa: F401,F403
from .clv import *  # noqa: F401,F403
from .cohorts import *  # noqa: F401,F403
from .datasets import *  # noqa: F401,F403
from .errors import ConvergenceError, DataError, NotFittedError
from .io import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .models.pipeline import CANDIDATE_MODELS, CLVPrediction, predict_clv
from .pareto import *  # noqa: F401,F403
from .profit import *  # noqa: F401,F403
from .rfm import *  # noqa: F401,F403
from .sql import customer_summary_sql, summary_sql
from .summary import calibration_holdout, customer_summary

__version__ = "0.1.0"

__all__ = [
    "DataError", "NotFittedError", "ConvergenceError",
    "customer_summary", "calibration_holdout", "predict_clv", "CLVPrediction", "CANDIDATE_MODELS", "customer_summary_sql", "summary_sql",
    *io.__all__, *datasets.__all__, *models.__all__, *clv.__all__, *profit.__all__, *cohorts.__all__,
    *pareto.__all__, *aov.__all__, *rfm.__all__,
]
