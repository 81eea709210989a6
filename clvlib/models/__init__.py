"""Probabilistic CLV models: BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma and sBG, predictive CLV, diagnostics, simulators.

* ``bgnbd``, ``mbgnbd``, ``paretonbd``, ``gamma_gamma``: the fitters (``BetaGeo``, ``ModifiedBetaGeo``,
  ``ParetoNBD``, ``GammaGamma``) and their vectorised module functions (per-customer log-likelihoods and
  predictions, natural parameters);
* ``sbg``: ``ShiftedBetaGeometric``, retention of a contractual (subscription) cohort;
* ``predict``: ``predictive_clv`` (per customer and totals, with intervals) and ``p_alive_grid``;
* ``scorecard``: ``holdout_scorecard`` (model vs naive baselines) and ``tracking_table``;
* ``compare``: ``compare_models`` (likelihood, AIC/BIC, drop-out test, holdout and the pipeline's gate, per model);
* ``checks``: ``check_data_sufficiency`` (run it before predicting);
* ``outlook``: ``customer_outlook`` (per customer: chance of buying, churn risk, next purchase, CLV),
  ``contact_list`` and ``describe_outlook``;
* ``simulate``: draw customer tables from each model (parameter recovery, Monte Carlo checks, benchmarks);
* ``covariates``: ``BetaGeoCovariates`` and ``ParetoNBDCovariates`` (time-invariant covariates such as the
  acquisition channel in the purchase and drop-out processes), ``covariate_model``, ``covariate_table`` and
  ``simulate_with_covariates``.
"""

from __future__ import annotations

from .bgnbd import (
    BetaGeo,
    bgnbd_expected_purchases,
    bgnbd_expected_purchases_new_customer,
    bgnbd_log_likelihood,
    bgnbd_p_alive,
    bgnbd_purchase_count_pmf,
)
from .paretonbd import (
    ParetoNBD,
    pareto_nbd_expected_purchases,
    pareto_nbd_expected_purchases_new_customer,
    pareto_nbd_log_likelihood,
    pareto_nbd_p_alive,
    pareto_nbd_purchase_count_pmf,
)
from ._base import FitDiagnosis
from .gamma_gamma import GammaGamma, IndependenceCheck, gamma_gamma_expected_spend, gamma_gamma_log_likelihood
from .checks import SufficiencyReport, check_data_sufficiency
from .predict import clv_totals, p_alive_grid, predictive_clv
from .scorecard import HoldoutScorecard, holdout_scorecard, top_decile_capture, tracking_table
from .simulate import simulate_bgnbd, simulate_gamma_gamma, simulate_pareto_nbd
from .pipeline import CANDIDATE_MODELS, CLVPrediction, predict_clv
from .mbgnbd import (
    ModifiedBetaGeo,
    mbgnbd_expected_purchases,
    mbgnbd_expected_purchases_new_customer,
    mbgnbd_log_likelihood,
    mbgnbd_p_alive,
    mbgnbd_purchase_count_pmf,
    simulate_mbgnbd,
)
from .sbg import ShiftedBetaGeometric, sbg_derl, sbg_log_likelihood, sbg_survival, simulate_sbg
from .covariates import (BetaGeoCovariates, LikelihoodRatioTest, ParetoNBDCovariates, covariate_model,
                         covariate_table, simulate_with_covariates)
from .outlook import RISK_THRESHOLDS, contact_list, customer_outlook, describe_outlook, p_purchase
from .compare import ModelComparison, compare_models
from .newcustomer import day1_clv, describe_day1_clv, new_customer_curve, new_customer_value
from .projection import ProjectionCheck, cohort_projection_check, describe_projection, project_cohorts

__all__ = [
    "predict_clv",
    "CLVPrediction",
    "CANDIDATE_MODELS",
    "BetaGeo",
    "ParetoNBD",
    "GammaGamma",
    "IndependenceCheck",
    "FitDiagnosis",
    "predictive_clv",
    "clv_totals",
    "p_alive_grid",
    "holdout_scorecard",
    "HoldoutScorecard",
    "top_decile_capture",
    "tracking_table",
    "check_data_sufficiency",
    "SufficiencyReport",
    "bgnbd_log_likelihood",
    "bgnbd_expected_purchases",
    "bgnbd_expected_purchases_new_customer",
    "bgnbd_p_alive",
    "pareto_nbd_log_likelihood",
    "pareto_nbd_expected_purchases",
    "pareto_nbd_expected_purchases_new_customer",
    "pareto_nbd_p_alive",
    "gamma_gamma_log_likelihood",
    "gamma_gamma_expected_spend",
    "simulate_bgnbd",
    "simulate_pareto_nbd",
    "simulate_gamma_gamma",
    "bgnbd_purchase_count_pmf",
    "pareto_nbd_purchase_count_pmf",
    "ModifiedBetaGeo",
    "mbgnbd_log_likelihood",
    "mbgnbd_expected_purchases",
    "mbgnbd_expected_purchases_new_customer",
    "mbgnbd_p_alive",
    "mbgnbd_purchase_count_pmf",
    "simulate_mbgnbd",
    "ShiftedBetaGeometric",
    "sbg_log_likelihood",
    "sbg_survival",
    "sbg_derl",
    "simulate_sbg",
    "customer_outlook",
    "contact_list",
    "describe_outlook",
    "p_purchase",
    "RISK_THRESHOLDS",
    "day1_clv",
    "new_customer_value",
    "new_customer_curve",
    "describe_day1_clv",
    "project_cohorts",
    "cohort_projection_check",
    "ProjectionCheck",
    "describe_projection",
    "compare_models",
    "ModelComparison",
    "BetaGeoCovariates",
    "ParetoNBDCovariates",
    "LikelihoodRatioTest",
    "covariate_model",
    "covariate_table",
    "simulate_with_covariates",
]
