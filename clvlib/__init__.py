"""clvlib: the library behind the CLV notebook kit.

The package follows the data: ``ingest`` (orders from an export) → ``summary``/``sql`` (one row per customer) →
the analyses (``clv``, ``profit``, ``cohorts``, ``pareto``, ``aov``, ``rfm``) and ``models`` (BG/NBD, Pareto/NBD,
Gamma-Gamma, and :func:`predict_clv`, the one CLV decision) → ``plots`` → the notebooks → ``reporting``.
``datasets`` holds the bundled data and the simulated stores.

Every public name is importable from here. ``clvlib.models`` (and scipy with it) loads on first use of a model
name, and ``clvlib.plots`` (matplotlib) and ``clvlib.reporting`` (papermill, nbconvert) only when imported, so
ingestion, Pareto and RFM users pay for none of them.
"""

from __future__ import annotations

import importlib

from .aov import (aov_bands, business_buyers, describe_large_orders, describe_order_values, high_aov_customers,
                  large_orders, order_value_stats, pareto_headlines, store_aov, store_figures, revenue_by_month)
from .clv import (describe_historical_clv, describe_store_inputs, historical_clv, retention_clv, simple_clv,
                  store_clv_inputs, what_if_table)
from .cohorts import (acquisition_table, cac_by_channel, cac_payback, channel_ltv_cac, channel_payback,
                      clv_by_group, cohort_economics, cohort_revenue_table, cumulative_value_curves,
                      describe_acquisition, describe_first_products, describe_ltv_cac, first_order_attributes,
                      ltv_cac, payback_curves, product_clv, read_marketing_spend)
from .datasets import (DEMO_STORE_DIR, DEMO_STORE_SEED, demo_store_true_params, load_cdnow, load_demo_store,
                       load_marketing_spend, load_orders, make_demo_store)
from .errors import ConvergenceError, DataError, NotFittedError
from .ingest import ORDER_COLUMNS, PRESETS, REASONS, CleaningReport, read_transactions, store_currency
from .pareto import (customer_shares, describe_concentration, describe_repeat_split, describe_top_share, gini, lorenz_curve,
                     repeat_buyers, repeat_split, repeat_split_by_period, share_for_value, top_customers, top_share,
                     top_share_by_period)
from .profit import describe_profit_gap, margin_rate, order_profit, profit_clv, profit_gap_table
from .rfm import (GONE, NEW, PLAYBOOK, RFM_VALUES, SCHEMES, SCORE_COLUMNS, SegmentMigration, export_segments,
                  export_tables, latest_emails, load_scheme, migration_headlines, segments_between, neutralise_formulas,
                  project_key, pseudonymise_ids, pseudonymise_table, rfm_grid, rfm_scores, rfm_segments, rfm_table,
                  scheme_grid, scheme_table, score_thresholds, segment_headlines, segment_migration, segment_playbook,
                  segment_summary, validate_scheme)
from .sql import SQL_DIALECTS, customer_summary_sql, summary_sql
from .summary import SUMMARY_COLUMNS, calibration_holdout, customer_summary, describe_orders
from .subscriptions import (DEMO_SUBSCRIPTION_PARAMS, describe_retention, load_subscriptions,
                            make_demo_subscriptions, pooled_survivors, subscription_cohorts)
from .teaching import (ARTICLE_MEASURES, ARTICLES, article_comparison, article_examples, article_tables,
                       describe_article_comparison, store_measures)

__version__ = "0.1.0"

# The models' public names, served from clvlib.models when first asked for (it imports scipy).
_MODEL_NAMES = (
    "predict_clv", "CLVPrediction", "CANDIDATE_MODELS", "BetaGeo", "ParetoNBD", "GammaGamma", "FitDiagnosis",
    "IndependenceCheck", "predictive_clv", "clv_totals", "p_alive_grid", "holdout_scorecard", "HoldoutScorecard",
    "top_decile_capture", "tracking_table", "check_data_sufficiency", "SufficiencyReport",
    "bgnbd_log_likelihood", "bgnbd_expected_purchases", "bgnbd_expected_purchases_new_customer", "bgnbd_p_alive",
    "pareto_nbd_log_likelihood", "pareto_nbd_expected_purchases", "pareto_nbd_expected_purchases_new_customer",
    "pareto_nbd_p_alive", "gamma_gamma_log_likelihood", "gamma_gamma_expected_spend", "simulate_bgnbd",
    "simulate_pareto_nbd", "simulate_gamma_gamma",
    "bgnbd_purchase_count_pmf", "pareto_nbd_purchase_count_pmf", "ModifiedBetaGeo", "mbgnbd_log_likelihood",
    "mbgnbd_expected_purchases", "mbgnbd_expected_purchases_new_customer", "mbgnbd_p_alive",
    "mbgnbd_purchase_count_pmf", "simulate_mbgnbd", "ShiftedBetaGeometric", "sbg_log_likelihood", "sbg_survival",
    "sbg_derl", "simulate_sbg",
    "customer_outlook", "contact_list", "describe_outlook", "p_purchase",
    "day1_clv", "new_customer_value", "new_customer_curve", "describe_day1_clv",
    "project_cohorts", "cohort_projection_check", "ProjectionCheck", "describe_projection",
    "compare_models", "ModelComparison",
    "BetaGeoCovariates", "ParetoNBDCovariates", "LikelihoodRatioTest", "covariate_model", "covariate_table",
    "simulate_with_covariates",
)
_LAZY_MODULES = ("models", "plots", "reporting")

__all__ = [
    # errors
    "DataError", "NotFittedError", "ConvergenceError",
    # ingestion and data
    "read_transactions", "store_currency", "CleaningReport", "PRESETS", "REASONS", "ORDER_COLUMNS",
    "load_orders", "load_marketing_spend", "load_demo_store", "load_cdnow", "make_demo_store", "demo_store_true_params", "DEMO_STORE_DIR",
    "DEMO_STORE_SEED",
    # the customer table
    "customer_summary", "calibration_holdout", "SUMMARY_COLUMNS", "describe_orders", "customer_summary_sql", "summary_sql",
    "SQL_DIALECTS",
    # CLV, profit, cohorts
    "simple_clv", "retention_clv", "what_if_table", "store_clv_inputs", "describe_store_inputs", "historical_clv",
    "describe_historical_clv",
    "order_profit", "margin_rate", "profit_clv", "profit_gap_table", "describe_profit_gap",
    "first_order_attributes", "cac_by_channel", "ltv_cac", "cumulative_value_curves", "cohort_revenue_table",
    "payback_curves", "cac_payback", "clv_by_group", "read_marketing_spend", "acquisition_table", "channel_ltv_cac",
    "channel_payback", "cohort_economics", "product_clv", "describe_acquisition", "describe_ltv_cac",
    "describe_first_products",
    # models (loaded on first use)
    *_MODEL_NAMES,
    # Pareto and AOV
    "top_share", "lorenz_curve", "gini", "share_for_value", "repeat_split", "top_share_by_period",
    "repeat_split_by_period", "top_customers", "repeat_buyers", "customer_shares", "describe_repeat_split",
    "describe_concentration", "describe_top_share",
    "store_aov", "store_figures", "revenue_by_month", "describe_large_orders", "aov_bands", "order_value_stats", "describe_order_values", "high_aov_customers", "large_orders",
    "business_buyers", "pareto_headlines",
    # RFM
    "RFM_VALUES", "rfm_table", "rfm_scores", "score_thresholds", "rfm_grid", "SCORE_COLUMNS", "SCHEMES",
    "load_scheme", "validate_scheme", "rfm_segments", "PLAYBOOK", "scheme_table", "scheme_grid", "segment_playbook",
    "segment_summary", "segment_headlines", "NEW", "GONE", "SegmentMigration", "segment_migration",
    "migration_headlines", "segments_between", "export_segments", "export_tables", "neutralise_formulas", "pseudonymise_ids",
    "pseudonymise_table", "project_key", "latest_emails",
    # the articles the kit began from
    "ARTICLES", "ARTICLE_MEASURES", "article_tables", "article_examples", "store_measures", "article_comparison",
    "describe_article_comparison",
    # subscriptions (contractual cohorts)
    "load_subscriptions", "subscription_cohorts", "pooled_survivors", "describe_retention", "make_demo_subscriptions",
    "DEMO_SUBSCRIPTION_PARAMS",
]


def __getattr__(name: str):
    if name in _MODEL_NAMES:
        value = getattr(importlib.import_module(".models", __name__), name)
        globals()[name] = value  # once loaded, an ordinary attribute
        return value
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'clvlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_LAZY_MODULES))
