"""Day-1 CLV: the quadrature against closed forms and a hand computation, a Monte Carlo of new customers drawn from
the fitted models, per-channel fits with the pooled fallback, CAC, payback, and the reasons for absent values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

import clvlib
from clvlib.config import DAYS_PER_MONTH
from clvlib.models import BetaGeo, GammaGamma, day1_clv, new_customer_curve, new_customer_value, simulate_bgnbd
from clvlib.models.newcustomer import _discounted_purchases

CDNOW_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7


def _model(cls, params: dict, time_unit: str = "W"):
    model = cls()
    model.params_ = pd.Series(params, name="coef")
    model.time_unit_ = time_unit
    return model


class _ConstantRate:
    """A purchase model without drop-out and one rate c: E[X(t)] = c·t, so the discounted integral is closed-form."""

    time_unit_ = "W"

    def __init__(self, c: float):
        self.c = c

    def _check_fitted(self):
        pass

    def expected_purchases_new_customer(self, *, t):
        return self.c * np.asarray(t, dtype=np.float64)


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return clvlib.load_orders(None)


@pytest.fixture(scope="module")
def spend() -> pd.DataFrame:
    return clvlib.load_marketing_spend(None, as_of="2025-06-30")


@pytest.fixture(scope="module")
def prediction(orders):
    return clvlib.predict_clv(orders, intervals=False)


@pytest.fixture(scope="module")
def by_channel(orders, spend, prediction) -> pd.DataFrame:
    return day1_clv(orders, model=prediction, marketing_spend=spend)


@pytest.mark.parametrize("rate", [0.0, 0.10, 0.35])
def test_discounted_purchases_equal_the_closed_form_for_a_constant_rate(rate):
    # ∫₀ᴴ c·e^(−κt) dt = c (1 − e^(−κH)) / κ, κ = ln(1 + rate) per year in weeks.
    model, horizon_months = _ConstantRate(0.3), 12
    expected, discounted = _discounted_purchases(model, horizon_months, rate)
    horizon = horizon_months * WEEKS_PER_MONTH
    kappa = np.log1p(rate) / (12 * WEEKS_PER_MONTH)
    exact = 0.3 * horizon if rate == 0 else 0.3 * (1 - np.exp(-kappa * horizon)) / kappa
    assert expected == pytest.approx(0.3 * horizon, rel=1e-12)
    assert discounted == pytest.approx(exact, rel=1e-12)


def test_day1_value_matches_a_hand_computation_with_cdnow_parameters():
    bg, gg = _model(BetaGeo, CDNOW_BG), _model(GammaGamma, CDNOW_GG)
    r, alpha, a, b = CDNOW_BG.values()

    def expected(t):  # Fader, Hardie & Lee (2005) eq. (7), written out here
        z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))

    horizon = 12 * WEEKS_PER_MONTH
    spend = 6.25 * 15.44 / (3.74 - 1)  # pγ/(q − 1)
    # Undiscounted: margin · (first order + spend · E[X(H)]).
    value = new_customer_value(bg, gg, annual_discount_rate=0.0, margin=0.4, first_order_value=30.0)
    assert value["expected_spend"] == pytest.approx(spend, rel=1e-12)
    assert value["expected_purchases"] == pytest.approx(expected(horizon), rel=1e-10)
    assert value["day1_clv"] == pytest.approx(0.4 * (30.0 + spend * expected(horizon)), rel=1e-10)
    # Discounted: the purchases of each small step of time, discounted at its midpoint (a Riemann-Stieltjes sum).
    grid = np.linspace(0.0, horizon, 200_001)
    kappa = np.log(1.10) / (12 * WEEKS_PER_MONTH)
    by_steps = float(np.diff(expected(grid)) @ np.exp(-kappa * (grid[:-1] + grid[1:]) / 2))
    value = new_customer_value(bg, gg, annual_discount_rate=0.10, margin=0.4, first_order_value=30.0)
    assert value["discounted_purchases"] == pytest.approx(by_steps, rel=1e-8)
    assert value["day1_clv"] == pytest.approx(0.4 * (30.0 + spend * by_steps), rel=1e-8)
    assert value["discounted_purchases"] < value["expected_purchases"]


def _simulate_new_customers(purchase_params, spend_params, *, n: int, horizon: float, kappa: float, seed: int):
    """Repeat purchases of just-acquired customers, event by event: BG/NBD timing (drop-out after each repeat
    purchase with probability p) and Gamma-Gamma values. Returns the count and the discounted value per customer."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = purchase_params
    p_gg, q, v = spend_params
    lam, p = rng.gamma(r, 1.0 / alpha, n), rng.beta(a, b, n)
    nu = rng.gamma(q, 1.0 / v, n)
    clock, count, value = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1.0 / lam[active])
        active = active[clock[active] <= horizon]
        count[active] += 1
        value[active] += rng.gamma(p_gg, 1.0 / nu[active]) * np.exp(-kappa * clock[active])
        active = active[rng.random(active.size) >= p[active]]
    return count, value


def test_day1_clv_matches_a_monte_carlo_of_new_customers_from_the_fitted_models(prediction):
    bg, gg = prediction.purchase_model, prediction.spend_model
    value = new_customer_value(bg, gg, horizon_months=12, annual_discount_rate=0.10, margin=0.5,
                               first_order_value=40.0)
    horizon = 12 * WEEKS_PER_MONTH
    kappa = np.log(1.10) / (12 * WEEKS_PER_MONTH)
    n = 200_000
    count, discounted_value = _simulate_new_customers(bg.params_.to_numpy(), gg.params_.to_numpy(), n=n,
                                                      horizon=horizon, kappa=kappa, seed=7)
    simulated_clv = 0.5 * (40.0 + discounted_value)
    se = simulated_clv.std() / np.sqrt(n)
    assert abs(simulated_clv.mean() - value["day1_clv"]) < 4 * se
    assert se < 0.01 * value["day1_clv"]  # the test can tell a 4 % error apart
    assert abs(count.mean() - value["expected_purchases"]) < 4 * count.std() / np.sqrt(n)
    # The kit's own simulator agrees on the undiscounted count.
    table = simulate_bgnbd(bg.params_.to_numpy(), n_customers=n, T=horizon, seed=8)
    frequency = table["frequency"].to_numpy()
    assert abs(frequency.mean() - value["expected_purchases"]) < 4 * frequency.std() / np.sqrt(n)


def test_new_customer_curve_starts_at_the_first_order_and_gives_the_payback_month():
    bg, gg = _model(BetaGeo, CDNOW_BG), _model(GammaGamma, CDNOW_GG)
    curve = new_customer_curve(bg, gg, months=24, margin=0.5, first_order_value=20.0)
    assert curve["months_since_first_order"].tolist() == list(range(25))
    assert curve["cumulative_value"].iloc[0] == pytest.approx(10.0)
    assert (np.diff(curve["cumulative_value"]) > 0).all()
    month_12 = new_customer_value(bg, gg, annual_discount_rate=0.0, margin=0.5, first_order_value=20.0)
    assert curve["cumulative_value"].iloc[12] == pytest.approx(month_12["day1_clv"], rel=1e-12)


def test_day1_clv_by_channel_on_the_demo_store(orders, spend, by_channel, prediction):
    table = by_channel
    facts = clvlib.first_order_attributes(orders)
    assert table.index.tolist() == sorted(facts["channel"].dropna().unique())
    assert table["customers"].sum() == facts["channel"].notna().sum()
    assert table["sufficient"].all() and (table["basis"] == "own fit").all()
    numeric = table.drop(columns=["sufficient", "basis", "spend_basis", "note"]).to_numpy(dtype=float)
    assert np.isfinite(numeric).all() and (table["note"] == "").all()
    cac = clvlib.cac_by_channel(spend, facts, as_of="2025-06-30")["cac"]
    pd.testing.assert_series_equal(table["cac"], cac.reindex(table.index), check_names=False)
    assert np.allclose(table["max_affordable_cac"], table["day1_clv"] / 3.0)
    assert np.allclose(table["ltv_cac"], table["day1_clv"] / table["cac"])
    assert table.attrs["label"] == "12-month gross-margin day-1 CLV, BG/NBD, discounted 10 %/year"
    # A channel's figures are those of a BG/NBD and a Gamma-Gamma fitted on its customers alone.
    customers = clvlib.customer_summary(orders, time_unit="W", warn=False)
    email = customers[facts["channel"].reindex(customers.index).eq("email").to_numpy()]
    own = new_customer_value(BetaGeo().fit(email), GammaGamma().fit(email), margin=table.loc["email", "margin"],
                             first_order_value=facts.loc[email.index, "first_order_revenue"].mean())
    assert table.loc["email", "day1_clv"] == pytest.approx(own["day1_clv"], rel=1e-9)
    # Payback: the first month whose expected cumulative margin reaches CAC, on that channel's curve.
    row = table.loc["paid_social"]
    members = customers[facts["channel"].reindex(customers.index).eq("paid_social").to_numpy()]
    curve = new_customer_curve(BetaGeo().fit(members), GammaGamma().fit(members), months=60, margin=row["margin"],
                               first_order_value=row["first_order_value"])
    first = curve.loc[curve["cumulative_value"] >= row["cac"], "months_since_first_order"].iloc[0]
    assert row["payback_months"] == first > 0
    text = clvlib.describe_day1_clv(table)
    assert "paid\\_social" in text and "Payback" in text


def test_a_channel_too_small_for_its_own_fit_uses_the_pooled_fit_and_says_why(orders, prediction):
    facts = clvlib.first_order_attributes(orders)
    small = facts.index[facts["channel"].eq("email")][:60]
    relabelled = orders.assign(channel=orders["channel"].where(~orders["customer_id"].isin(small), "podcast"))
    table = day1_clv(relabelled, model=prediction)
    row = table.loc["podcast"]
    assert row["customers"] == 60 and not row["sufficient"]
    assert row["basis"].startswith("pooled fit: only 60 customers (at least 200 needed)")
    assert row["spend_basis"] == row["basis"]
    pooled = new_customer_value(prediction.purchase_model, prediction.spend_model, margin=row["margin"],
                                first_order_value=row["first_order_value"])
    assert row["day1_clv"] == pytest.approx(pooled["day1_clv"], rel=1e-12)
    assert (table.drop(index="podcast")["basis"] == "own fit").all()
    assert "pooled fit stands in for 1 of 6 channels" in clvlib.describe_day1_clv(table)
    # No spend given: CAC and what follows from it are absent, each row saying why.
    assert table["cac"].isna().all() and table["payback_months"].isna().all()
    assert (table["note"] == "No CAC: no marketing spend was given.").all()


def test_by_first_product_has_no_cac_and_says_why(orders, spend, prediction):
    table = day1_clv(orders, by="product", model=prediction, marketing_spend=spend)
    assert table.index.name == "product" and len(table) == 5
    assert np.isfinite(table["day1_clv"]).all() and table["cac"].isna().all()
    assert table["note"].str.contains("recorded per channel").all()
    # First products differ in margin: each group's rate comes from its customers' own orders.
    assert table["margin"].max() - table["margin"].min() > 0.1


def test_views_the_data_cannot_support_are_skipped_with_a_reason(orders, prediction):
    table = day1_clv(orders.drop(columns="channel"), model=prediction)
    assert table.empty
    assert table.attrs["skipped"] == "Skipped: day-1 CLV by channel needs a `channel` column in the orders."
    from clvlib.datasets.stores import simulate_store

    tiny = day1_clv(simulate_store("tiny", seed=1))
    assert tiny.empty and tiny.attrs["skipped"].startswith("Skipped: day-1 CLV needs a purchase model")
    assert clvlib.describe_day1_clv(tiny) == tiny.attrs["skipped"]


def test_arguments_are_checked(orders, prediction):
    with pytest.raises(ValueError, match="`by`"):
        day1_clv(orders, by="cohort", model=prediction)
    with pytest.raises(ValueError, match="`target_ratio`"):
        day1_clv(orders, model=prediction, target_ratio=0)
    with pytest.raises(ValueError, match="differs from the prediction"):
        day1_clv(orders, model=prediction, as_of="2025-01-31")
    with pytest.raises(TypeError, match="CLVPrediction"):
        day1_clv(orders, model=BetaGeo())
    with pytest.raises(ValueError, match="`margin`"):
        new_customer_value(_model(BetaGeo, CDNOW_BG), _model(GammaGamma, CDNOW_GG), margin=1.5)
