"""Pareto/NBD: the published CDNOW fit, BTYD's worked numbers, Monte Carlo checks, recovery, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

import clvlib
from clvlib.errors import DataError
from clvlib.models import ParetoNBD, pareto_nbd_log_likelihood, simulate_pareto_nbd
from clvlib.models._base import compress_rows

# Fader, Hardie & Lee (2005), "A Note on Implementing the Pareto/NBD Model in MATLAB" (brucehardie.com/notes/008):
# CDNOW sample, 39-week calibration: r = 0.553, α = 10.578, s = 0.606, β = 11.669, LL = −9595.0.
# (The BTYD R package walkthrough reports the same fit as r = 0.5534, α = 10.5802, s = 0.6061, β = 11.6562.)
PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PUBLISHED_LL = -9595.0
BTYD_PARAMS = [0.5534, 10.5802, 0.6061, 11.6562]


@pytest.fixture(scope="module")
def cdnow(cdnow_sample_orders) -> pd.DataFrame:
    return clvlib.calibration_holdout(cdnow_sample_orders, calibration_end="1997-09-30", observation_end="1998-06-30",
                                      time_unit="W")


@pytest.fixture(scope="module")
def fitted(cdnow) -> ParetoNBD:
    return ParetoNBD().fit(cdnow)


def _with_params(params, unit="W") -> ParetoNBD:
    model = ParetoNBD()
    model.params_ = pd.Series(params, index=["r", "alpha", "s", "beta"])
    model.time_unit_ = unit
    return model


def test_reproduces_published_cdnow_fit(fitted):
    # The β estimate is flat in the likelihood (its SE is about 6), so the note's 3 decimals are matched to ±0.01.
    tolerance = {"r": 5e-4, "alpha": 5e-3, "s": 5e-4, "beta": 1e-2}
    for name, value in PUBLISHED.items():
        assert fitted.params_[name] == pytest.approx(value, abs=tolerance[name]), name
    assert fitted.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.05)


def test_btyd_worked_examples():
    # BTYD walkthrough (Dziurzynski, Wadsworth & McCarthy), p. 8: the customer with x = 26, t_x = 30.86, T = 31.
    model = _with_params(BTYD_PARAMS)
    one = pd.DataFrame({"frequency": [26.0], "recency": [30.86], "T": [31.0]})
    assert model.p_alive(one).iloc[0] == pytest.approx(0.9979, abs=1e-3)
    assert model.expected_purchases(one, t=52).iloc[0] == pytest.approx(25.46, abs=0.01)


def test_likelihood_matches_direct_numerical_integration():
    # Schmittlein et al. (1987): L = Γ(r+x)α^rβ^s/Γ(r) [(α+T)^-(r+x) (β+T)^-s
    #                                                   + s ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ]
    from scipy.special import gammaln

    for params in (BTYD_PARAMS, [2.0, 3.0, 1.5, 30.0]):
        r, alpha, s, beta = params
        for x, t_x, T in [(0, 0.0, 30.0), (3, 12.5, 38.0), (26, 30.86, 31.0), (60, 50.0, 70.0)]:
            integral, _ = integrate.quad(
                lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), t_x, T, epsabs=0, epsrel=1e-12
            )
            bracket = (alpha + T) ** -(r + x) * (beta + T) ** -s + s * integral
            by_quad = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.log(bracket)
            ours = pareto_nbd_log_likelihood(params, [x], [t_x], [T])[0]
            assert ours == pytest.approx(by_quad, rel=1e-9, abs=1e-9), (params, x)


def test_new_customer_expectation_close_to_btyd(fitted):
    # BTYD's pnbd.Expectation at its own CDNOW fit for t = 0..9 weeks (as tested in lifetimes, atol 0.01).
    expected = [0.0, 0.05077821, 0.09916088, 0.14542507, 0.18979930,
                0.23247466, 0.27361274, 0.31335159, 0.35181024, 0.38909211]
    np.testing.assert_allclose(fitted.expected_purchases_new_customer(t=np.arange(10.0)), expected, atol=0.01)


@settings(max_examples=50, deadline=None)
@given(
    x=st.integers(0, 150),
    t_x_share=st.floats(0, 1),
    T=st.floats(0.5, 400),
    params=st.tuples(st.floats(0.1, 10), st.floats(0.5, 50), st.floats(0.1, 10), st.floats(0.5, 50)),
)
def test_p_alive_is_a_probability_and_likelihood_finite(x, t_x_share, T, params):
    t_x = 0.0 if x == 0 else t_x_share * T
    p = clvlib.pareto_nbd_p_alive(params, [x], [t_x], [T])[0]
    assert 0.0 <= p <= 1.0
    assert np.isfinite(pareto_nbd_log_likelihood(params, [x], [t_x], [T])[0])


def test_compressed_weighted_likelihood_equals_plain_sum(cdnow):
    x, t_x, T = (cdnow[c].to_numpy() for c in ["frequency", "recency", "T"])
    data, weights, _ = compress_rows(x, t_x, T)
    total = ParetoNBD._total(np.log(BTYD_PARAMS), ParetoNBD._prepare(data, weights), weights)
    assert -total == pytest.approx(pareto_nbd_log_likelihood(BTYD_PARAMS, x, t_x, T).sum(), rel=1e-12)


@pytest.mark.parametrize("params", [BTYD_PARAMS, [0.55, 12.0, 0.61, 8.0], [1.2, 3.0, 0.4, 3.0000001]])
def test_p_alive_on_prepared_rows_equals_the_plain_formula(cdnow, params):
    # CLV intervals evaluate P(alive) per parameter draw on rows prepared once (each 2F1 per distinct pair).
    data = tuple(cdnow[c].to_numpy(dtype=float) for c in ["frequency", "recency", "T"])
    prepared = ParetoNBD._prepare_rows(data)
    assert len(prepared.T) + len(prepared.t_x) < 2 * len(data[0])
    np.testing.assert_allclose(ParetoNBD._p_alive_prepared_fn(params, prepared),
                               clvlib.models.pareto_nbd_p_alive(params, *data), rtol=1e-12, atol=0)


@pytest.mark.parametrize("params", [BTYD_PARAMS, [0.55, 12.0, 0.61, 8.0], [1.2, 3.0, 0.4, 3.0000001]])
def test_gradient_matches_finite_differences_of_the_plain_sum(cdnow, params):
    # α ≥ β and α < β take different ₂F₁ branches; the α, β derivatives are analytic, r and s numeric.
    x, t_x, T = (cdnow[c].to_numpy() for c in ["frequency", "recency", "T"])
    data, weights, _ = compress_rows(x, t_x, T)
    theta = np.log(params)
    _, grad = ParetoNBD._negative_log_likelihood(theta, ParetoNBD._prepare(data, weights), weights)
    h = 1e-6
    numeric = [
        -(pareto_nbd_log_likelihood(np.exp(theta + h * e), x, t_x, T).sum()
          - pareto_nbd_log_likelihood(np.exp(theta - h * e), x, t_x, T).sum()) / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def test_monte_carlo_agrees_with_closed_forms():
    params = [0.8, 8.0, 0.9, 20.0]
    sim = simulate_pareto_nbd(params, n_customers=40_000, T=(10.0, 52.0), holdout=26.0, seed=21)
    model = _with_params(params)
    diff = sim["frequency_holdout"] - model.expected_purchases(sim, t=26.0)
    assert abs(diff.sum()) < 4 * diff.std() * np.sqrt(len(sim))
    alive_gap = sim["alive"].astype(float) - model.p_alive(sim)
    assert abs(alive_gap.sum()) < 4 * alive_gap.std() * np.sqrt(len(sim))
    fresh = simulate_pareto_nbd(params, n_customers=40_000, T=20.0, seed=22)["frequency"]
    assert abs(fresh.mean() - model.expected_purchases_new_customer(t=20.0)) < 4 * fresh.std() / np.sqrt(len(fresh))


def test_recovers_simulated_parameters_within_confidence_intervals():
    true = pd.Series([0.55, 10.6, 0.61, 11.7], index=["r", "alpha", "s", "beta"])
    sim = simulate_pareto_nbd(true, n_customers=8_000, T=(26.0, 52.0), seed=5)
    intervals = ParetoNBD().fit(sim).confidence_intervals_
    assert ((intervals["lower_95"] < true) & (true < intervals["upper_95"])).all(), intervals


def test_pareto_nbd_works_with_predictive_clv(fitted, cdnow):
    spend = clvlib.GammaGamma().fit(cdnow)
    table = clvlib.predictive_clv(fitted, spend, cdnow, annual_discount_rate=0.0, intervals=False)
    year = 365.25 / 7
    expected = fitted.expected_purchases(cdnow, t=year) * spend.expected_spend(cdnow)
    np.testing.assert_allclose(table["predicted_clv_12m"], expected, rtol=1e-9)


def test_errors(cdnow):
    one_timers = pd.DataFrame({"frequency": [0.0, 0.0], "recency": [0.0, 0.0], "T": [5.0, 9.0]})
    with pytest.raises(DataError, match="Pareto/NBD model cannot tell"):
        ParetoNBD().fit(one_timers)
    with pytest.raises(clvlib.NotFittedError, match=r"call \.fit\(\) first"):
        ParetoNBD().expected_purchases(cdnow, t=1)


def test_cdnow_fit_is_an_interior_identified_optimum(fitted):
    d = fitted.diagnosis_
    assert d.ok and not d.at_boundary and d.limit is None and np.isfinite(d.condition_number)
