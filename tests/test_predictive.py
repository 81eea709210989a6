"""predictive_clv: month-by-month discounting, time-unit invariance, intervals, totals per group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib.errors import DataError
from clvlib.models import BetaGeo, GammaGamma, clv_totals, predictive_clv


@pytest.fixture(scope="module")
def cdnow_orders(cdnow_sample_orders) -> pd.DataFrame:
    return cdnow_sample_orders[cdnow_sample_orders["order_date"] <= "1997-09-30"]


@pytest.fixture(scope="module")
def weekly(cdnow_orders) -> pd.DataFrame:
    customers = clvlib.customer_summary(cdnow_orders, as_of="1997-09-30", time_unit="W")
    return customers.assign(segment=np.where(customers["frequency"] > 0, "repeat", "one-time"))


@pytest.fixture(scope="module")
def models(weekly):
    return BetaGeo().fit(weekly), GammaGamma().fit(weekly)


@pytest.fixture(scope="module")
def clv(models, weekly) -> pd.DataFrame:
    return predictive_clv(*models, weekly, horizon_months=12, annual_discount_rate=0.10, margin=0.3,
                          n_draws=100, by="segment", seed=3)


def test_month_by_month_discounting_by_hand(models, weekly, clv):
    purchases, spend = models
    sample = weekly.iloc[[0, 5, 17, 400]]
    month = 30.4375 / 7
    d = 1.10 ** (1 / 12) - 1
    expected = np.zeros(len(sample))
    for k in range(1, 13):  # purchases in month k, discounted at its end
        in_month = purchases.expected_purchases(sample, t=k * month) - purchases.expected_purchases(
            sample, t=(k - 1) * month)
        expected += in_month.to_numpy() / (1 + d) ** k
    expected *= 0.3 * spend.expected_spend(sample).to_numpy()
    np.testing.assert_allclose(clv.loc[sample.index, "predicted_clv_12m"], expected, rtol=1e-10)
    np.testing.assert_allclose(clv["historical_clv"], 0.3 * weekly["total_revenue"])
    np.testing.assert_allclose(clv["total_clv_12m"], clv["historical_clv"] + clv["predicted_clv_12m"])


def test_without_discounting_equals_purchases_times_spend(models, weekly):
    purchases, spend = models
    plain = predictive_clv(purchases, spend, weekly, annual_discount_rate=0.0, intervals=False)
    year = 365.25 / 7
    expected = purchases.expected_purchases(weekly, t=year) * spend.expected_spend(weekly)
    np.testing.assert_allclose(plain["predicted_clv_12m"], expected, rtol=1e-9)
    np.testing.assert_allclose(plain["expected_purchases_12m"], purchases.expected_purchases(weekly, t=year))
    assert plain.attrs["horizon"] == pytest.approx(year)
    assert "predicted_clv_12m_lower" not in plain.columns


def test_same_answer_in_days_and_weeks(models, weekly, cdnow_orders):
    # The time unit must travel: a daily model and a weekly model of the same orders give the same 12-month CLV.
    daily = clvlib.customer_summary(cdnow_orders, as_of="1997-09-30", time_unit="D")
    by_day = predictive_clv(BetaGeo().fit(daily), GammaGamma().fit(daily), daily, intervals=False)
    by_week = predictive_clv(*models, weekly, intervals=False)
    np.testing.assert_allclose(by_day["predicted_clv_12m"], by_week["predicted_clv_12m"], rtol=2e-3)
    assert by_day.attrs["time_unit"] == "D" and by_day.attrs["horizon"] == pytest.approx(365.25)


def test_intervals_bracket_point_estimates(clv):
    assert (clv["predicted_clv_12m_lower"] <= clv["predicted_clv_12m"] + 1e-9).all()
    assert (clv["predicted_clv_12m"] <= clv["predicted_clv_12m_upper"] + 1e-9).all()
    assert (clv["predicted_clv_12m_upper"] > clv["predicted_clv_12m_lower"]).all()
    np.testing.assert_allclose(clv["total_clv_12m_lower"], clv["historical_clv"] + clv["predicted_clv_12m_lower"])


def test_totals_sum_customers_and_sum_draws_before_percentiles(clv, weekly):
    totals = clv_totals(clv)
    assert list(totals.index) == ["all customers", "one-time", "repeat"]
    assert totals.loc["all customers", "customers"] == len(weekly)
    for group, rows in clv.groupby("segment"):
        assert totals.loc[group, "predicted_clv_12m"] == pytest.approx(rows["predicted_clv_12m"].sum())
        assert totals.loc[group, "customers"] == len(rows)
    assert totals.loc["all customers", "predicted_clv_12m"] == pytest.approx(clv["predicted_clv_12m"].sum())
    whole = totals.loc["all customers"]
    assert whole["predicted_clv_12m_lower"] < whole["predicted_clv_12m"] < whole["predicted_clv_12m_upper"]
    # Percentiles of per-draw sums are narrower than sums of per-customer percentiles.
    assert whole["predicted_clv_12m_lower"] > clv["predicted_clv_12m_lower"].sum()
    assert whole["predicted_clv_12m_upper"] < clv["predicted_clv_12m_upper"].sum()


def test_does_not_mutate_and_is_reproducible(models, weekly):
    before = weekly.copy()
    a = predictive_clv(*models, weekly, n_draws=30, seed=9)
    b = predictive_clv(*models, weekly, n_draws=30, seed=9)
    pd.testing.assert_frame_equal(weekly, before)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["annual_discount_rate"] == 0.10 and a.attrs["level"] == 0.95


def test_fractional_horizon_and_by_series(models, weekly):
    half = predictive_clv(*models, weekly, horizon_months=1.5, intervals=False, by=weekly["segment"].rename("seg"))
    one = predictive_clv(*models, weekly, horizon_months=1, intervals=False)
    two = predictive_clv(*models, weekly, horizon_months=2, intervals=False)
    assert (one["predicted_clv_1m"] < half["predicted_clv_1.5m"]).all()
    assert (half["predicted_clv_1.5m"] < two["predicted_clv_2m"]).all()
    assert "seg" in half.columns and list(clv_totals(half).index) == ["all customers", "one-time", "repeat"]


def test_errors(models, weekly):
    daily = weekly.copy()
    daily.attrs["time_unit"] = "D"
    with pytest.raises(DataError, match="time units disagree"):
        predictive_clv(*models, daily)
    with pytest.raises(ValueError, match="`margin` must be in"):
        predictive_clv(*models, weekly, margin=30)
    with pytest.raises(DataError, match="total_revenue"):
        predictive_clv(*models, weekly.drop(columns="total_revenue"))
    with pytest.raises(clvlib.NotFittedError):
        predictive_clv(BetaGeo(), models[1], weekly)


def test_p_alive_grid_matches_model_p_alive(models):
    purchases, _ = models
    grid = clvlib.p_alive_grid(purchases, max_frequency=5, n_recency=7)
    assert grid.attrs["T"] == pytest.approx(purchases.max_T_) and grid.attrs["time_unit"] == "W"
    x, t_x = 3, grid.columns[4]
    one = pd.DataFrame({"frequency": [float(x)], "recency": [t_x], "T": [grid.attrs["T"]]})
    assert grid.loc[x, t_x] == pytest.approx(purchases.p_alive(one).iloc[0])
    assert grid.loc[0, grid.columns[0]] == 1.0 and grid.loc[0, grid.columns[1:]].isna().all()


def test_models_round_trip_through_json(models, weekly):
    purchases, spend = models
    restored = BetaGeo.from_json(purchases.to_json()), GammaGamma.from_json(spend.to_json())
    pd.testing.assert_series_equal(restored[0].params_, purchases.params_)
    pd.testing.assert_frame_equal(restored[1].summary(), spend.summary())
    pd.testing.assert_frame_equal(
        predictive_clv(*restored, weekly, n_draws=20, seed=1), predictive_clv(*models, weekly, n_draws=20, seed=1)
    )
    with pytest.raises(ValueError, match="holds a 'BetaGeo' model, not a GammaGamma"):
        GammaGamma.from_json(purchases.to_json())


def test_clv_table_survives_everyday_pandas_operations(cdnow_sample_orders):
    # A DataFrame inside attrs made nlargest raise "truth value of a DataFrame is ambiguous" under pandas 3.
    customers = clvlib.customer_summary(cdnow_sample_orders, time_unit="W")
    clv = predictive_clv(BetaGeo().fit(customers), GammaGamma().fit(customers), customers, n_draws=20, seed=3)
    top = clv.nlargest(5, "predicted_clv_12m")
    assert top["predicted_clv_12m"].is_monotonic_decreasing
    assert len(pd.concat([clv, clv])) == 2 * len(clv)
    assert clv_totals(top).loc["all customers", "customers"] == len(clv)  # totals describe the whole base


def test_pareto_nbd_closed_form_route_equals_the_generic_route(cdnow_sample_orders):
    # predictive_clv uses E[Y(t) | alive] in closed form for Pareto/NBD; removing it must not change a figure.
    customers = clvlib.customer_summary(cdnow_sample_orders, time_unit="W")
    model, spend = clvlib.ParetoNBD().fit(customers), GammaGamma().fit(customers)
    fast = predictive_clv(model, spend, customers, intervals=False)
    generic = clvlib.ParetoNBD().fit(customers)
    generic._expected_if_alive_fn = None
    slow = predictive_clv(generic, spend, customers, intervals=False)
    np.testing.assert_allclose(fast["predicted_clv_12m"], slow["predicted_clv_12m"], rtol=1e-9)
    np.testing.assert_allclose(fast["expected_purchases_12m"], slow["expected_purchases_12m"], rtol=1e-9)


@pytest.mark.filterwarnings("error")
def test_no_intervals_but_a_note_when_uncertainty_is_unavailable(models, weekly):
    purchase, spend = models
    broken = BetaGeo.from_json(purchase.to_json())
    broken._log_covariance = np.full((4, 4), np.nan)  # as after a singular Hessian
    clv = predictive_clv(broken, spend, weekly, n_draws=20)
    assert not any(c.endswith(("_lower", "_upper")) for c in clv.columns)
    assert clv.attrs["level"] is None and "no usable standard errors" in clv.attrs["interval_note"]
    assert np.isfinite(clv.select_dtypes("number").to_numpy()).all()
    full = predictive_clv(purchase, spend, weekly, n_draws=20)
    assert full.attrs["interval_note"] is None and full.attrs["level"] == 0.95
