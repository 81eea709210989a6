"""The one CLV pipeline (clvlib.predict_clv): its decision, its gate, its tie rule and its numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib.models.pipeline import _TIE


@pytest.fixture(scope="module")
def demo_orders() -> pd.DataFrame:
    return clvlib.load_orders()


@pytest.fixture(scope="module")
def demo(demo_orders):
    return clvlib.predict_clv(demo_orders, n_draws=50)


def test_demo_store_uses_a_model_and_labels_it(demo):
    assert demo.decision == "model" and demo.uses_model
    assert demo.label == f"12-month gross-margin CLV, {demo.model}, discounted 10 %/year"
    assert demo.value_column == "predicted_clv_12m" and demo.ltv_column == "total_clv_12m"
    assert demo.reason.startswith(f"{demo.model} is used")


def test_headline_is_the_table_it_summarises(demo, demo_orders):
    table = demo.table
    assert demo.headline["clv_per_customer"] == pytest.approx(table["predicted_clv_12m"].mean(), rel=1e-12)
    assert demo.headline["predicted_total"] == pytest.approx(table["predicted_clv_12m"].sum(), rel=1e-12)
    # Historical CLV is revenue to date times the margin the orders' costs give, computed here independently.
    rate = (demo_orders["revenue"].sum() - demo_orders["cost"].sum()) / demo_orders["revenue"].sum()
    known = demo_orders[demo_orders["customer_id"].notna()]
    assert demo.headline["historical_total"] == pytest.approx(known["revenue"].sum() * rate, rel=1e-9)
    assert np.isfinite(table.select_dtypes("number").to_numpy()).all()
    assert (table["predicted_clv_12m_lower"] <= table["predicted_clv_12m"] + 1e-9).all()
    assert (table["predicted_clv_12m"] <= table["predicted_clv_12m_upper"] + 1e-9).all()


def test_point_figures_do_not_depend_on_intervals(demo, demo_orders):
    # The index and 04_rfm call the pipeline without intervals; they must show 02_clv's figure.
    quick = clvlib.predict_clv(demo_orders, intervals=False)
    assert quick.model == demo.model and quick.label == demo.label
    pd.testing.assert_series_equal(quick.table["predicted_clv_12m"], demo.table["predicted_clv_12m"])
    assert quick.headline["clv_per_customer"] == demo.headline["clv_per_customer"]


def test_choice_follows_the_tie_rule(demo):
    maes = {name: card.metrics.loc["model", "mae"] for name, card in demo.scorecards.items()}
    passed = [name for name in clvlib.CANDIDATE_MODELS if demo.comparison.loc[name, "passed"]]
    best = min(maes[name] for name in passed)
    within = [name for name in passed if maes[name] <= best * (1 + _TIE)]
    assert demo.model == within[0]  # the simplest of those within 1 % of the best
    assert demo.comparison["chosen"].sum() == 1 and demo.comparison.loc[demo.model, "chosen"]


def test_verdict_printed_is_the_one_used(demo):
    for name, card in demo.scorecards.items():
        assert ("prefer historical CLV" in card.verdict) == (not card.beats_baselines)
        assert demo.comparison.loc[name, "beats_baselines"] == card.beats_baselines
    assert demo.scorecards[demo.model].beats_baselines


def test_a_tiny_store_gets_historical_clv_with_the_reason():
    orders = pd.DataFrame({
        "customer_id": [f"c{i % 30}" for i in range(60)],
        "order_id": [str(i) for i in range(60)],
        "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(60) * 6, unit="D"),
        "revenue": np.linspace(10, 70, 60),
    })
    result = clvlib.predict_clv(orders)
    assert result.decision == "historical" and result.model is None
    assert "Only 30 customers" in result.reason
    assert result.value_column == result.ltv_column == "historical_clv"
    assert result.label == "Historical revenue CLV to date (no model)"
    by_customer = orders.groupby("customer_id")["revenue"].sum()
    assert result.headline["clv_per_customer"] == pytest.approx(by_customer.mean())
    assert result.headline["predicted_total"] is None
    assert result.top_customers(n=3).index.tolist() == by_customer.nlargest(3).index.tolist()


def test_a_customer_table_alone_cannot_be_scored(demo_orders):
    customers = clvlib.customer_summary(demo_orders, time_unit="W")
    result = clvlib.predict_clv(customers)
    assert result.decision == "historical"
    assert "no model could be scored on a holdout period" in result.reason


def test_a_model_that_loses_to_the_baselines_is_not_used(demo_orders, monkeypatch):
    # The gate itself: whatever the data, a scorecard that says "prefer historical CLV" keeps the model out.
    from clvlib.models import pipeline

    original = pipeline.holdout_scorecard

    def losing(*args, **kwargs):
        card = original(*args, **kwargs)
        card.beats_baselines = False
        return card

    monkeypatch.setattr(pipeline, "holdout_scorecard", losing)
    result = clvlib.predict_clv(demo_orders, intervals=False)
    assert result.decision == "historical"
    assert "does not beat the naive baselines" in result.reason
    assert not result.comparison["chosen"].any()


def test_arguments_are_checked(demo_orders):
    with pytest.raises(ValueError, match="horizon_months"):
        clvlib.predict_clv(demo_orders, horizon_months=0)
    with pytest.raises(ValueError, match="time_unit"):
        clvlib.predict_clv(demo_orders, time_unit="Y")
