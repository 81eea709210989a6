"""The customer outlook (clvlib.customer_outlook): exact purchase probabilities, dates, gaps, bands, CLV, export."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

import clvlib
from clvlib.models import BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD, p_purchase
from clvlib.models.mbgnbd import simulate_mbgnbd
from clvlib.models.outlook import NEXT_PURCHASE_MAX_DAYS, _pareto_buy_if_alive
from clvlib.models.simulate import simulate_bgnbd, simulate_gamma_gamma, simulate_pareto_nbd

BG = [0.243, 4.414, 0.793, 2.426]  # CDNOW, Fader, Hardie & Lee (2005)
MBG = [0.525, 6.183, 0.891, 1.614]  # CDNOW, BTYDplus
PARETO = [0.5534, 10.5802, 0.6061, 11.6562]  # CDNOW, Fader, Hardie & Lee note 008


def _model(cls, params, unit="W"):
    model = cls()
    model.params_ = pd.Series(params, index=list(cls._param_names))
    model.time_unit_ = unit
    return model


def _table(rows, as_of="2025-06-30"):
    table = pd.DataFrame(rows, columns=["frequency", "recency", "T"],
                         index=pd.Index([f"c{i}" for i in range(len(rows))], name="customer_id")).astype(float)
    table.attrs.update(time_unit="W", as_of=as_of)
    return table


@pytest.fixture(scope="module")
def fitted():
    """BG/NBD and Gamma-Gamma fitted on a simulated weekly base with spend (a second or so)."""
    customers = simulate_bgnbd([0.25, 4.0, 0.8, 2.5], n_customers=2000, T=(20, 78), seed=3)
    customers["monetary_value"] = simulate_gamma_gamma([6, 4, 15], customers["frequency"], seed=3)["monetary_value"]
    customers["total_revenue"] = customers["monetary_value"] * customers["frequency"] + 20.0
    customers.index = pd.Index([f"C{i:04d}" for i in range(len(customers))], name="customer_id")
    customers.attrs.update(time_unit="W", as_of="2025-06-30")
    return BetaGeo().fit(customers), GammaGamma().fit(customers), customers


# --- the probability of buying, by hand and against independent computations ---------------------------------------

def test_bgnbd_probability_matches_the_hand_worked_closed_form():
    r, alpha, a, b = BG
    rows = [(2, 30.43, 38.86), (0, 0, 38.86), (7, 35.0, 38.86)]
    got = p_purchase(_model(BetaGeo, BG), _table(rows), t=4).to_numpy()
    for (x, t_x, T), value in zip(rows, got):
        alive = 1.0 if x == 0 else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
        assert value == pytest.approx(alive * (1 - ((alpha + T) / (alpha + T + 4)) ** (r + x)), rel=1e-12)
    assert got[0] == pytest.approx(0.1307, abs=5e-5)  # the docstring's example


def test_mbgnbd_probability_is_bgnbd_form_with_its_own_p_alive():
    r, alpha, a, b = MBG
    x, t_x, T = 3, 20.0, 38.86
    alive = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))  # b + x: the extra opportunity at 0
    got = p_purchase(_model(ModifiedBetaGeo, MBG), _table([(x, t_x, T)]), t=10).iloc[0]
    assert got == pytest.approx(alive * (1 - ((alpha + T) / (alpha + T + 10)) ** (r + x)), rel=1e-12)


def test_pareto_probability_matches_a_two_dimensional_integral_over_the_posterior():
    # Independent of the one-dimensional reduction: E[λ/(λ+μ) · (1 − e^−(λ+μ)t)] over λ ~ Gamma(r+x, α+T) and
    # μ ~ Gamma(s, β+T) by a product rule (generalised Gauss-Laguerre in each rate), times the model's P(alive).
    r, alpha, s, beta = PARETO
    model = _model(ParetoNBD, PARETO)
    for x, t_x, T, t in [(3, 30.0, 38.86, 6.0), (0, 0.0, 20.0, 52.0), (12, 38.0, 38.86, 1.0)]:
        nodes_l, weights_l = special.roots_genlaguerre(100, r + x - 1)
        nodes_m, weights_m = special.roots_genlaguerre(100, s - 1)
        lam, mu = nodes_l[:, None] / (alpha + T), nodes_m[None, :] / (beta + T)
        if_alive = (weights_l / special.gamma(r + x)) @ (lam / (lam + mu) * -np.expm1(-(lam + mu) * t)) @ (
            weights_m / special.gamma(s))
        table = _table([(x, t_x, T)])
        want = model.p_alive(table).iloc[0] * if_alive
        assert p_purchase(model, table, t=t).iloc[0] == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("params", [PARETO, [1000.0, 2000.0, 0.6, 11.0], [0.3, 5.0, 1000.0, 2e4],
                                    [1e-4, 1.0, 1e-4, 1.0], [5.0, 0.5, 0.2, 1e6], [0.5, 100.0, 2.0, 0.01]])
def test_pareto_quadrature_is_exact_at_the_edges_of_the_parameter_box(params):
    r, alpha, s, beta = params
    for x, T, t in [(0, 0.0, 3.0), (4, 30.0, 52.0), (40, 52.0, 260.0)]:
        rx, A, B = r + x, alpha + T, beta + T

        def density(v):  # in v = ln(1 + u), the first-purchase density of an alive customer
            u = math.expm1(v)
            return (1 + u) * rx / (A + u) * math.exp(-rx * math.log1p(u / A) - s * math.log1p(u / B))

        want, _ = integrate.quad(density, 0, math.log1p(t), epsabs=1e-15, epsrel=1e-12, limit=2000)
        assert _pareto_buy_if_alive(params, t, x, T) == pytest.approx(want, rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("cls, params", [(BetaGeo, BG), (ModifiedBetaGeo, MBG), (ParetoNBD, PARETO)])
def test_a_new_customer_buys_nothing_with_the_models_own_pmf_at_zero(cls, params):
    model = _model(cls, params)
    new = _table([(0, 0.0, 0.0)])
    for t in (0.5, 4.0, 39.0, 500.0):
        assert 1 - p_purchase(model, new, t=t).iloc[0] == pytest.approx(model.purchase_count_pmf(t, 0), rel=1e-10)


# --- Monte Carlo: the model's own customers, buying or not in a holdout period ---------------------------------------

@pytest.mark.parametrize("cls, params, simulate", [
    (BetaGeo, BG, simulate_bgnbd), (ModifiedBetaGeo, MBG, simulate_mbgnbd), (ParetoNBD, PARETO, simulate_pareto_nbd)])
def test_probability_is_calibrated_on_simulated_customers(cls, params, simulate):
    # For customers simulated from the model, P(buy in the holdout | history) is exactly what the formula gives,
    # so within any group defined by the history, Σ(bought − p) has mean 0 and variance Σ p(1 − p): each group's
    # standardised error must be small (|z| < 4, fixed seed).
    customers = simulate(params, n_customers=60_000, T=(5, 60), holdout=8.0, seed=11)
    p = p_purchase(_model(cls, params), customers, t=8.0).to_numpy()
    bought = (customers["frequency_holdout"] > 0).to_numpy()
    x, ratio = customers["frequency"].to_numpy(), (customers["recency"] / customers["T"]).to_numpy()
    groups = {"all": np.ones_like(bought), "one-time": x == 0, "1-3 repeats, late": (x >= 1) & (x <= 3) & (ratio > .7),
              "1-3 repeats, early": (x >= 1) & (x <= 3) & (ratio <= .7), "4+ repeats, late": (x >= 4) & (ratio > .7),
              "4+ repeats, early": (x >= 4) & (ratio <= .7)}
    deciles = np.searchsorted(np.quantile(p, np.linspace(0, 1, 11)[1:-1]), p)
    groups.update({f"p decile {d}": deciles == d for d in range(10)})
    for name, members in groups.items():
        members = members.astype(bool)
        z = (bought[members] - p[members]).sum() / np.sqrt((p[members] * (1 - p[members])).sum())
        assert abs(z) < 4, (name, members.sum(), z)


# --- the outlook table ------------------------------------------------------------------------------------------------

def test_outlook_columns_are_finite_monotone_and_consistent(fitted):
    model, spend, customers = fitted
    out = clvlib.customer_outlook(model, spend, customers, horizons_days=(7, 30, 90, 365), n_draws=30)
    assert out.index.equals(customers.index)
    p = out[["p_purchase_7d", "p_purchase_30d", "p_purchase_90d", "p_purchase_365d"]].to_numpy()
    e = out[["expected_purchases_7d", "expected_purchases_30d", "expected_purchases_90d",
             "expected_purchases_365d"]].to_numpy()
    assert np.isfinite(p).all() and np.isfinite(e).all()
    assert (np.diff(p, axis=1) >= 0).all() and (np.diff(e, axis=1) >= 0).all()
    assert (p[:, -1] <= out["p_alive"] + 1e-12).all() and (p <= e + 1e-12).all()  # P(N ≥ 1) ≤ E[N]
    money = ["historical_clv", "predicted_clv_12m", "predicted_clv_12m_lower", "predicted_clv_12m_upper",
             "total_clv_12m", "total_clv_12m_lower", "total_clv_12m_upper", "expected_spend", "typical_gap_days"]
    assert np.isfinite(out[money].to_numpy()).all()
    assert np.allclose(out["total_clv_12m"], out["historical_clv"] + out["predicted_clv_12m"])
    assert out.attrs["interval_note"] is None and out.attrs["level"] == 0.9
    # The dates: the median wait, exactly where P(at least one purchase) crosses 1/2; missing where it never does.
    dated = out["next_purchase_in_days"].notna()
    assert dated.any() and (~dated).any()
    waits = out.loc[dated, "next_purchase_in_days"].to_numpy() / 7
    back = np.array([p_purchase(model, customers[dated].iloc[[i]], t=w).iloc[0] for i, w in enumerate(waits[:50])])
    assert np.allclose(back, 0.5, atol=1e-9)
    days = (out.loc[dated, "expected_next_purchase"] - pd.Timestamp("2025-06-30")).dt.days
    assert (days == np.round(out.loc[dated, "next_purchase_in_days"])).all()
    assert out.loc[dated, "next_purchase_note"].isna().all()
    undated = customers[~dated]
    assert (p_purchase(model, undated, t=NEXT_PURCHASE_MAX_DAYS / 7) < 0.5).all()
    assert out.loc[~dated, "next_purchase_note"].str.contains("less likely than not").all()
    assert out.loc[~dated, "expected_next_purchase"].isna().all()


def test_one_time_buyers_get_the_model_gap_and_no_bgnbd_churn_band(fitted):
    model, spend, customers = fitted
    out = clvlib.customer_outlook(model, spend, customers, intervals=False)
    once = customers["frequency"] == 0
    r, alpha = model.params_["r"], model.params_["alpha"]
    assert np.allclose(out.loc[once, "typical_gap_days"], 7 * (alpha + customers.loc[once, "T"]) / r)
    assert (out.loc[once, "typical_gap_source"] == "model: one-time buyer").all()
    repeat = ~once
    assert np.allclose(out.loc[repeat, "typical_gap_days"],
                       7 * customers.loc[repeat, "recency"] / customers.loc[repeat, "frequency"])
    assert out.loc[once, "churn_risk"].isna().all() and out.loc[repeat, "churn_risk"].notna().all()
    assert f"{once.sum():,} customers without repeat purchases" in out.attrs["churn_risk_note"]
    assert "predicted_clv_12m_lower" not in out.columns
    # MBG/NBD measures one-time buyers' drop-out (the opportunity at time 0): they get a band.
    mbg = clvlib.customer_outlook(_model(ModifiedBetaGeo, MBG), spend, customers, intervals=False)
    assert mbg["churn_risk"].notna().all() and mbg.attrs["churn_risk_note"] is None


def test_risk_bands_follow_the_documented_thresholds():
    table = _table([(20, 1.0, 52.0), (5, 40.0, 52.0), (5, 51.5, 52.0), (3, 30.0, 52.0)])
    model = _model(ParetoNBD, PARETO)
    alive = model.p_alive(table).to_numpy()
    table["monetary_value"], table["total_revenue"] = 20.0, 100.0
    spend = _spend_model()
    out = clvlib.customer_outlook(model, spend, table, intervals=False)
    want = np.where(alive >= 0.7, "low", np.where(alive >= 0.3, "medium", "high"))
    assert out["churn_risk"].astype(str).tolist() == want.tolist()
    assert set(want) >= {"low", "high"}


@pytest.mark.parametrize("cls, params", [(ParetoNBD, PARETO), (ModifiedBetaGeo, MBG)])
def test_the_median_wait_is_where_the_probability_crosses_one_half(cls, params):
    table = _table([(0, 0.0, 2.0), (1, 5.0, 10.0), (6, 30.0, 38.86), (15, 38.0, 39.0), (2, 3.0, 39.0)])
    table["monetary_value"], table["total_revenue"] = 25.0, 100.0
    model = _model(cls, params)
    out = clvlib.customer_outlook(model, _spend_model(), table, intervals=False)
    dated = out["next_purchase_in_days"].notna()
    assert 0 < dated.sum() < len(table)
    for customer, days in out.loc[dated, "next_purchase_in_days"].items():
        assert p_purchase(model, table.loc[[customer]], t=days / 7).iloc[0] == pytest.approx(0.5, abs=1e-9)
    assert (p_purchase(model, table[~dated], t=NEXT_PURCHASE_MAX_DAYS / 7) < 0.5).all()


def _spend_model():
    spend = GammaGamma()
    spend.params_ = pd.Series([6.25, 3.74, 15.44], index=["p", "q", "v"])
    spend.time_unit_ = "W"
    return spend


def test_a_customer_who_is_almost_surely_gone():
    # 20 repeat purchases in the first week, then a year of silence: P(alive) ≈ 0.
    table = _table([(20, 1.0, 52.0)])
    table["monetary_value"], table["total_revenue"] = 30.0, 630.0
    out = clvlib.customer_outlook(_model(BetaGeo, BG), _spend_model(), table, intervals=False).iloc[0]
    assert out["p_alive"] < 1e-6 and 0 <= out["p_purchase_365d"] < 1e-6
    assert out["churn_risk"] == "high" and pd.isna(out["expected_next_purchase"])
    assert out["next_purchase_note"].startswith("no date")
    assert out["typical_gap_days"] == pytest.approx(7 / 20)
    assert out["predicted_clv_12m"] == pytest.approx(0.0, abs=1e-3) and out["historical_clv"] == 630.0


def test_customer_id_as_a_column_gives_the_same_table_and_emails_come_from_contacts():
    table = _table([(2, 30.43, 38.86), (0, 0.0, 20.0)])
    table["monetary_value"], table["total_revenue"] = [25.0, 0.0], [75.0, 40.0]
    model, spend = _model(BetaGeo, BG), _spend_model()
    by_index = clvlib.customer_outlook(model, spend, table, intervals=False)
    by_column = clvlib.customer_outlook(model, spend, table.reset_index(), intervals=False)
    pd.testing.assert_frame_equal(by_index, by_column)
    contacts = pd.DataFrame({"customer_id": ["c0", "c0", "c1"], "email": ["old@x.org", "new@x.org", None]})
    with_email = clvlib.customer_outlook(model, spend, table, intervals=False, contacts=contacts)
    assert with_email["email"].tolist()[0] == "new@x.org" and pd.isna(with_email["email"].iloc[1])


def test_a_given_clv_table_is_used_as_it_is(fitted):
    model, spend, customers = fitted
    clv = clvlib.predictive_clv(model, spend, customers, horizon_months=6, margin=0.4, intervals=False)
    out = clvlib.customer_outlook(model, spend, customers.iloc[::-1], clv=clv)
    assert np.allclose(out["predicted_clv_6m"], clv.loc[out.index, "predicted_clv_6m"])
    assert np.allclose(out["historical_clv"], 0.4 * customers.loc[out.index, "total_revenue"])
    assert out.attrs["horizon_months"] == 6
    with pytest.raises(clvlib.DataError, match="have no CLV"):
        clvlib.customer_outlook(model, spend, customers, clv=clv.iloc[:10])


def test_bad_arguments_are_refused(fitted):
    model, spend, customers = fitted
    with pytest.raises(ValueError, match="horizons_days"):
        clvlib.customer_outlook(model, spend, customers, horizons_days=(30, -1), intervals=False)
    with pytest.raises(ValueError, match="risk_thresholds"):
        clvlib.customer_outlook(model, spend, customers, risk_thresholds=(0.8, 0.2), intervals=False)
    with pytest.raises(TypeError, match="supports BetaGeo"):
        clvlib.customer_outlook(spend, spend, customers)
    no_date = customers.copy()
    no_date.attrs.pop("as_of")
    with pytest.raises(clvlib.DataError, match="as_of"):
        clvlib.customer_outlook(model, spend, no_date, intervals=False)


# --- who to contact, in words, and the export for email tools ---------------------------------------------------------

def test_contact_list_ranks_ready_buyers_and_slipping_valuable_customers(fitted):
    model, spend, customers = fitted
    out = clvlib.customer_outlook(model, spend, customers, intervals=False)
    contacts = clvlib.contact_list(out, n=5)
    ready = contacts[contacts["reason"] == "ready to buy"]
    score = out["p_purchase_30d"] * out["predicted_clv_12m"]
    assert ready.index.tolist() == score.nlargest(5).index.tolist()
    slipping = contacts[contacts["reason"] == "slipping away"]
    assert (slipping["churn_risk"] == "medium").all() and not set(slipping.index) & set(ready.index)
    assert slipping["historical_clv"].is_monotonic_decreasing
    assert contacts.columns[:2].tolist() == ["reason", "contact_clv"]
    text = clvlib.describe_outlook(out, currency="EUR")
    assert "**30 days**" in text and "high** churn risk" in text and "$" not in text


def test_export_pseudonymises_ids_drops_emails_and_rounds_money_to_cents(fitted, tmp_path):
    model, spend, customers = fitted
    contacts = pd.DataFrame({"customer_id": customers.index, "email": [f"{i}@x.org" for i in customers.index]})
    out = clvlib.customer_outlook(model, spend, customers.iloc[:200], n_draws=20, contacts=contacts)
    key = bytes(range(32))
    written = clvlib.export_tables({"customer_outlook": out}, tmp_path, key=key)
    text = (tmp_path / "customer_outlook.csv").read_text()
    table = pd.read_csv(tmp_path / "customer_outlook.csv", dtype={"customer_id": str})
    assert written["rows"].tolist() == [200] and "email" not in table.columns and "@x.org" not in text
    assert table["customer_id"].tolist() == clvlib.pseudonymise_ids(out.index, key=key).tolist()
    for column in ["historical_clv", "predicted_clv_12m", "predicted_clv_12m_lower", "total_clv_12m_upper",
                   "expected_spend"]:
        assert np.allclose(table[column], out[column].round(2).to_numpy()), column
        assert (table[column] * 100 - np.round(table[column] * 100)).abs().max() < 1e-6, column
    assert table["churn_risk"].isin(["low", "medium", "high"]).all() or table["churn_risk"].isna().any()
    assert pd.to_datetime(table["expected_next_purchase"]).notna().sum() == out["expected_next_purchase"].notna().sum()
