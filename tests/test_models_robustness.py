"""Every regime a shop can be in: the fits end with a diagnosis, every prediction and bound is finite, no warnings.

The regimes are drawn with the simulators (and two hand-made tables: wholesalers who order every week, and spend
that is all one value). Tables are small (a few hundred customers) to keep the module fast; the Pareto/NBD fits
in boundary regimes are the slow part (scipy's ₂F₁ with large parameters).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clvlib.models import (
    BetaGeo,
    FitDiagnosis,
    GammaGamma,
    ParetoNBD,
    clv_totals,
    p_alive_grid,
    predictive_clv,
    simulate_bgnbd,
    simulate_gamma_gamma,
)

CDNOW_LIKE = [0.25, 4.0, 0.8, 2.5]


def _weekly_wholesalers(n: int, seed: int) -> pd.DataFrame:
    # An order nearly every week for about a year: high, regular (under-dispersed) frequency, no drop-out.
    rng = np.random.default_rng(seed)
    T = rng.uniform(40.0, 52.0, n)
    x = np.floor(T) - rng.integers(0, 3, n)
    t_x = np.minimum(np.floor(T) - rng.uniform(0.0, 1.0, n), T)
    table = pd.DataFrame({"frequency": x, "recency": t_x, "T": T}, index=pd.RangeIndex(n, name="customer_id"))
    table.attrs["time_unit"] = "W"
    return table


def _with_spend(customers: pd.DataFrame, kind: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = customers["frequency"].to_numpy()
    if kind == "gamma":
        m = simulate_gamma_gamma([6.0, 4.0, 15.0], x, seed=seed)["monetary_value"].to_numpy()
    elif kind == "heavy":  # Pareto-like: a few enormous orders
        m = np.where(x > 0, 10.0 * (1.0 + rng.pareto(1.1, len(x))), 0.0)
    elif kind == "near-constant":
        m = np.where(x > 0, 20.0 + rng.normal(0.0, 0.01, len(x)).round(2), 0.0)
    else:  # "one value": every repeat customer's mean is exactly the same
        m = np.where(x > 0, 20.0, 0.0)
    out = customers.assign(monetary_value=m, total_revenue=m * x + 25.0)
    out.attrs = dict(customers.attrs)
    return out


REGIMES = {
    # The likelihood-ratio check is a 5 % test: seed 1 is one of the 1 in 20 samples where it sees drop-out.
    "no drop-out": lambda: simulate_bgnbd([0.8, 5.0, 1.0, 1.0], n_customers=400, T=(20.0, 52.0), dropout=False, seed=2),
    "everyone drops out after one order": lambda: simulate_bgnbd([0.3, 3.0, 50.0, 0.5], n_customers=400, T=(20.0,
                                                                                                            52.0), seed=2),
    "weekly wholesalers": lambda: _weekly_wholesalers(120, 3),
    "95 % one-time buyers": lambda: simulate_bgnbd([0.02, 20.0, 0.8, 2.5], n_customers=600, T=(20.0, 52.0), seed=4),
    "three months of history": lambda: simulate_bgnbd(CDNOW_LIKE, n_customers=300, T=(1.0, 13.0), seed=5),
    "ten years of history": lambda: simulate_bgnbd(CDNOW_LIKE, n_customers=300, T=(52.0, 520.0), seed=6),
    "all the same T": lambda: simulate_bgnbd(CDNOW_LIKE, n_customers=300, T=39.0, seed=7),
    "30 customers": lambda: simulate_bgnbd(CDNOW_LIKE, n_customers=30, T=(20.0, 52.0), seed=8),
}
SPEND = {name: "gamma" for name in REGIMES}
SPEND.update({"all the same T": "heavy", "ten years of history": "near-constant", "30 customers": "one value"})


def _check_diagnosis(model) -> FitDiagnosis:
    d = model.diagnosis_
    assert isinstance(d, FitDiagnosis)
    assert d.converged
    assert d.at_boundary == bool(d.bounded)
    assert d.ok == (d.converged and d.identified and (not d.at_boundary or d.harmless_boundary)
                    and np.isfinite(d.condition_number) and d.condition_number < FitDiagnosis.CONDITION_LIMIT)
    assert (d.limit is None) or d.notes, "a limit is always explained"
    assert isinstance(d.summary, str) and d.summary.endswith(".")
    state = json.loads(json.dumps(d.to_dict()))
    assert state["ok"] == d.ok and state["summary"] == d.summary
    assert FitDiagnosis.from_dict(state) == d
    for name in d.bounded:  # held parameters have no standard error of their own, but a finite value
        assert np.isnan(model.standard_errors_[name]) and np.isfinite(model.params_[name])
    assert model.summary().attrs["diagnosis"] == d.to_dict()
    return d


def _check_purchase_predictions(model, customers):
    assert np.isfinite(model.expected_purchases(customers, t=52.0)).all()
    p = model.p_alive(customers)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    assert np.isfinite(model.expected_purchases_new_customer(t=np.array([1.0, 52.0, 520.0]))).all()
    grid = p_alive_grid(model, max_frequency=60, n_recency=8)
    assert np.isfinite(grid.to_numpy()[1:]).all() and np.isfinite(grid.to_numpy()[0, 0])


def _check_clv(clv: pd.DataFrame):
    assert np.isfinite(clv.select_dtypes("number").to_numpy()).all()
    assert np.isfinite(clv_totals(clv).to_numpy(dtype=np.float64)).all()
    has_bounds = "predicted_clv_12m_lower" in clv.columns
    if has_bounds:
        assert clv.attrs["interval_note"] is None and clv.attrs["level"] == 0.95
        assert (clv["predicted_clv_12m_lower"] <= clv["predicted_clv_12m"] * (1 + 1e-9) + 1e-9).all()
    else:
        assert isinstance(clv.attrs["interval_note"], str) and clv.attrs["level"] is None
        assert not any(c.endswith(("_lower", "_upper")) for c in clv_totals(clv).columns)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("regime", list(REGIMES))
@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_every_regime_fits_with_a_diagnosis_and_finite_predictions(regime, model_class):
    customers = _with_spend(REGIMES[regime](), SPEND[regime], seed=11)
    model = model_class().fit(customers)
    diagnosis = _check_diagnosis(model)
    _check_purchase_predictions(model, customers)
    spend = GammaGamma().fit(customers)
    _check_diagnosis(spend)
    assert np.isfinite(spend.expected_spend(customers)).all()
    clv = predictive_clv(model, spend, customers, n_draws=40, seed=1)
    _check_clv(clv)
    if not diagnosis.identified:
        assert "predicted_clv_12m_lower" not in clv.columns
    if regime in ("no drop-out", "weekly wholesalers"):
        # The regime that must be detected: customers who never drop out.
        assert not diagnosis.identified and "drop-out" in diagnosis.limit
        assert not diagnosis.ok and "dropping out" in diagnosis.summary


@pytest.mark.filterwarnings("error")
def test_bgnbd_homogeneous_dropout_is_its_limiting_form_with_intervals():
    # Everyone leaves after about one repeat order, with the same probability: a + b → ∞ in the unbounded MLE.
    customers = _with_spend(REGIMES["everyone drops out after one order"](), "gamma", seed=2)
    model = BetaGeo().fit(customers)
    d = model.diagnosis_
    assert d.at_boundary and d.harmless_boundary and d.identified and d.ok
    assert d.limit.startswith("homogeneous drop-out probability")
    assert "one drop-out probability for everyone" in d.summary
    a, b = model.params_[["a", "b"]]
    assert max(a, b) == pytest.approx(1e3) and a / (a + b) > 0.9
    clv = predictive_clv(model, GammaGamma().fit(customers), customers, n_draws=40, seed=1)
    assert "predicted_clv_12m_lower" in clv.columns  # conditional on the limit
    _check_clv(clv)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("kind", ["near-constant", "one value"])
def test_gamma_gamma_near_constant_spend_is_a_harmless_limit(kind):
    customers = _with_spend(simulate_bgnbd(CDNOW_LIKE, n_customers=400, T=39.0, seed=3), kind, seed=3)
    spend = GammaGamma().fit(customers)
    d = _check_diagnosis(spend)
    assert d.at_boundary and d.harmless_boundary and d.limit.startswith("near-constant spend")
    expected = spend.expected_spend(customers)
    assert np.allclose(expected, 20.0, rtol=2e-3)


@pytest.mark.filterwarnings("error")
def test_gamma_gamma_infinite_mean_is_held_at_the_bound_and_flagged(rng):
    sim = simulate_gamma_gamma([2.0, 0.7, 10.0], rng.integers(1, 6, size=3000), seed=3)
    spend = GammaGamma().fit(sim)
    d = _check_diagnosis(spend)
    assert spend.params_["q"] == pytest.approx(1.01) and "q" in d.bounded
    assert not d.ok and not d.harmless_boundary and "infinite" in d.summary
    assert np.isfinite(spend.population_mean_spend())
    assert np.isfinite(spend.expected_spend(sim.assign(frequency=0.0))).all()


@pytest.mark.filterwarnings("error")
def test_zero_value_repeat_customers_are_excluded_and_counted():
    customers = _with_spend(simulate_bgnbd(CDNOW_LIKE, n_customers=400, T=39.0, seed=4), "gamma", seed=4)
    repeaters = customers.index[customers["frequency"] > 0][:5]
    customers.loc[repeaters, "monetary_value"] = 0.0
    customers.loc[repeaters[:1], "monetary_value"] = np.nan
    spend = GammaGamma().fit(customers)
    assert spend.excluded_["non-positive monetary_value"] == 5
    assert any("5 repeat customer(s)" in note for note in spend.diagnosis_.notes)
    assert np.isfinite(spend.expected_spend(customers)).all()


def test_recovers_parameters_in_a_well_identified_regime():
    # Interior optimum: no bound, identified, well conditioned; truth within 3 standard errors (log scale).
    true = pd.Series([0.5, 6.0, 0.9, 3.0], index=["r", "alpha", "a", "b"])
    sim = simulate_bgnbd(true, n_customers=6000, T=(26.0, 78.0), seed=12)
    model = BetaGeo().fit(sim)
    d = model.diagnosis_
    assert d.ok and not d.at_boundary and d.limit is None and d.summary.startswith("The fit converged")
    se_log = np.sqrt(np.diag(model._log_covariance))
    z = (np.log(model.params_) - np.log(true)) / se_log
    assert (np.abs(z) < 3).all(), z


def test_hessian_trouble_is_recorded_not_warned(recwarn):
    # Pareto/NBD on weekly wholesalers: drop-out runs to its limit; nothing may reach the notebook as a warning.
    customers = _with_spend(_weekly_wholesalers(120, 5), "gamma", seed=5)
    model = ParetoNBD().fit(customers)
    assert not recwarn.list
    assert model.diagnosis_.limit.startswith("no drop-out") and not model.diagnosis_.identified
    clv = predictive_clv(model, GammaGamma().fit(customers), customers, n_draws=20)
    assert "not identify" in clv.attrs["interval_note"] and not recwarn.list


def test_bgnbd_expectation_is_finite_where_scipy_hyp2f1_fails():
    from clvlib.models.bgnbd import _if_alive, _if_alive_quadrature

    r, alpha, T, t = 0.3, 3.0, 52.0, 104.0
    x = np.array([0.0, 1.0, 3.0, 10.0, 50.0, 200.0])
    z = t / (alpha + T + t)
    # Moderate parameters: the closed form and the quadrature agree.
    np.testing.assert_allclose(_if_alive_quadrature(r, 0.8, 2.5, x, np.full(6, z)), _if_alive(r, 0.8, 2.5, x, z),
                               rtol=1e-5)
    # a + b = 1e3 at mean 0.9 (scipy's ₂F₁ overflows): close to the homogeneous limit, with the posterior mean of p.
    a, b = 900.0, 100.0
    value = _if_alive(r, a, b, x, z)
    p = a / (a + b + x)
    limit = -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p
    assert np.isfinite(value).all()
    np.testing.assert_allclose(value, limit, rtol=2e-2)
    # a at its floor, a heavy buyer, a horizon 100 times the history: within the bounds g(1) <= E <= g(0).
    c = 99.0
    value = _if_alive(r, 1e-4, 0.5, x, c / (1 + c))
    assert np.isfinite(value).all() and (value <= (r + x) * c * (1 + 1e-9)).all()
    assert (value >= -np.expm1(-(r + x) * np.log1p(c)) * (1 - 1e-9)).all()
