"""sBG: Fader & Hardie's (2007) published fits, the closed forms against direct sums and Monte Carlo, interval
coverage on simulated cohorts, and input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib.errors import DataError, NotFittedError
from clvlib.models import ShiftedBetaGeometric, sbg_derl, sbg_log_likelihood, sbg_survival, simulate_sbg

# Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1): survivors of a
# 1,000-customer cohort at the end of years 0–7, and the sBG fit to them (α, β to 3 decimals).
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
PUBLISHED = {"regular": (REGULAR, 0.704, 1.182), "high end": (HIGH_END, 0.668, 3.806)}


@pytest.fixture(scope="module")
def regular() -> ShiftedBetaGeometric:
    return ShiftedBetaGeometric().fit(REGULAR)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_reproduces_fader_hardie_2007_fits(name):
    survivors, alpha, beta = PUBLISHED[name]
    model = ShiftedBetaGeometric().fit(pd.Series(survivors))
    assert model.params_["alpha"] == pytest.approx(alpha, abs=5e-4)
    assert model.params_["beta"] == pytest.approx(beta, abs=5e-4)
    assert model.diagnosis_.ok and not model.diagnosis_.at_boundary
    assert model.log_likelihood_ == pytest.approx(sbg_log_likelihood(model.params_, survivors), rel=1e-12)
    # The optimum: a step in any direction lowers the likelihood.
    for step in ([1e-3, 0], [0, 1e-3], [-1e-3, 0], [0, -1e-3]):
        assert sbg_log_likelihood(model.params_ + step, survivors) < model.log_likelihood_


def test_standard_errors_match_numeric_hessian(regular):
    p0 = regular.params_.to_numpy()
    h = 1e-4 * p0
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            hess[i, j] = (sbg_log_likelihood(p0 + ei + ej, REGULAR) - sbg_log_likelihood(p0 + ei - ej, REGULAR)
                          - sbg_log_likelihood(p0 - ei + ej, REGULAR)
                          + sbg_log_likelihood(p0 - ei - ej, REGULAR)) / (4 * h[i] * h[j])
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    np.testing.assert_allclose(regular.standard_errors_, se, rtol=1e-3)
    table = regular.summary()
    assert list(table.columns) == ["coef", "se", "lower_95", "upper_95"]
    assert (table["lower_95"] < table["coef"]).all() and (table["coef"] < table["upper_95"]).all()
    assert table.attrs["cohort_size"] == 1000 and table.attrs["n_periods"] == 7
    # Log-scale intervals: exp(log θ ± 1.96 se/θ).
    se_log = regular.standard_errors_ / regular.params_
    np.testing.assert_allclose(table["upper_95"], regular.params_ * np.exp(1.959964 * se_log), rtol=1e-6)


def test_survival_is_on_the_scale_of_the_data(regular):
    curve = regular.survival(12)
    assert list(curve.index) == list(range(13)) and curve.iloc[0] == 1000
    assert np.max(np.abs(curve.iloc[:8].to_numpy() - REGULAR)) < 10  # the fit tracks the data (within 1 %)
    np.testing.assert_allclose(regular.survival(12, cohort_size=1), curve / 1000)
    alpha, beta = regular.params_
    # S(t) = B(α, β+t)/B(α, β) as the product of the retention rates, and P(T=t) = S(t−1) − S(t).
    rates = regular.retention_rates(12)
    np.testing.assert_allclose(np.cumprod(rates), curve.iloc[1:] / 1000, rtol=1e-12)
    assert np.all(np.diff(rates) > 0)  # heterogeneity: the survivors are ever more loyal
    assert rates.iloc[0] == pytest.approx(beta / (alpha + beta))


def test_expected_lifetime_is_infinite_below_alpha_one_and_matches_sums_above(regular):
    assert regular.params_["alpha"] < 1 and regular.expected_lifetime() == float("inf")
    model = ShiftedBetaGeometric().fit(simulate_sbg(3.0, 4.0, cohort_size=200_000, n_periods=6, seed=1))
    alpha, beta = model.params_
    by_sum = sbg_survival(model.params_, np.arange(200_000)).sum()  # E[T] = Σ_{t≥0} S(t)
    assert model.expected_lifetime() == pytest.approx((alpha + beta - 1) / (alpha - 1))
    assert model.expected_lifetime() == pytest.approx(by_sum, rel=1e-4)
    # Monte Carlo at (α, β) = (3, 4): E[T] = 3, finite variance as α > 2.
    rng = np.random.default_rng(2)
    lifetimes = rng.geometric(rng.beta(3.0, 4.0, size=400_000))
    assert abs(lifetimes.mean() - 3.0) < 4 * lifetimes.std() / np.sqrt(lifetimes.size)


def _derl_by_series(alpha, beta, d, n, terms=20_000):
    """Σ_{k≥0} E[(1−θ)^(k+1)] / (1+d)^k over θ ~ Beta(α, β+n), summed term by term."""
    b = beta + n
    k = np.arange(terms)
    log_moments = np.cumsum(np.log((b + k) / (alpha + b + k)))  # log E[(1−θ)^(k+1)]
    return float(np.sum(np.exp(log_moments - k * np.log1p(d))))


@pytest.mark.parametrize("params", [(0.704, 1.182), (0.668, 3.806), (3.0, 15.0), (0.3, 40.0)])
def test_derl_closed_form_equals_direct_summation(params):
    alpha, beta = params
    for d in (0.01, 0.1, 0.5):
        for n in (0, 1, 4, 25):
            assert sbg_derl(params, d, n) == pytest.approx(_derl_by_series(alpha, beta, d, n), rel=1e-10), (d, n)
    # A new customer's discounted expected lifetime, first payment at acquisition: DEL = 1 + DERL(0) / (1+d),
    # with DEL = ₂F₁(1, β; α+β; 1/(1+d)) (Fader & Hardie 2010, eq. 4) summed directly.
    d = 0.1
    t = np.arange(20_000)
    delta = np.sum(sbg_survival(params, t) * np.exp(-t * np.log1p(d)))
    assert 1 + sbg_derl(params, d, 0) / (1 + d) == pytest.approx(delta, rel=1e-10)


def test_derl_matches_monte_carlo_of_renewing_customers(regular):
    # Customers who have made n renewals have T > n (T: the period at whose end they cancel); their remaining
    # payments come at renewals n+1, …, T−1, the first undiscounted: Σ_{j=0}^{T−n−2} (1+d)^−j.
    alpha, beta = regular.params_
    rng = np.random.default_rng(7)
    lifetimes = rng.geometric(rng.beta(alpha, beta, size=400_000))
    z = 1 / 1.1
    for n in (0, 3):
        still = lifetimes[lifetimes > n]
        payments = -np.expm1((still - n - 1) * np.log(z)) / (1 - z)
        se = payments.std() / np.sqrt(payments.size)
        assert abs(payments.mean() - regular.derl(0.1, renewals=n)) < 4 * se, n
    values = regular.derl(0.1, renewals=[0, 1, 5])
    assert np.all(np.diff(values) > 0)  # customers who have renewed more are worth more


def test_derl_at_zero_discount_is_the_expected_residual_lifetime(regular):
    assert regular.derl(0.0) == float("inf")  # α < 1
    assert sbg_derl([3.0, 4.0], 0.0, 2) == pytest.approx((4.0 + 2) / (3.0 - 1))
    assert sbg_derl([3.0, 4.0], 1e-9, 2) == pytest.approx(3.0, rel=1e-6)
    with pytest.raises(ValueError, match="discount_rate"):
        regular.derl(-0.1)
    with pytest.raises(ValueError, match="renewals"):
        regular.derl(0.1, renewals=1.5)


def test_intervals_cover_the_truth_at_about_the_nominal_rate():
    # 150 simulated cohorts of 1,000 over 7 periods at the "regular" truth: each 95 % interval should cover the
    # true value in 95 % of cohorts; the bound allows 3 binomial standard errors below.
    truth = np.array([0.704, 1.182])
    covered = []
    for seed in range(150):
        model = ShiftedBetaGeometric().fit(simulate_sbg(*truth, cohort_size=1000, n_periods=7, seed=seed))
        ci = model.confidence_intervals_.to_numpy()
        covered.append((ci[:, 0] < truth) & (truth < ci[:, 1]))
    rate = np.mean(covered, axis=0)
    floor = 0.95 - 3 * np.sqrt(0.95 * 0.05 / len(covered))
    assert np.all(rate > floor), rate


def test_large_cohort_recovers_the_parameters():
    truth = pd.Series([0.668, 3.806], index=["alpha", "beta"])
    model = ShiftedBetaGeometric().fit(simulate_sbg(*truth, cohort_size=500_000, n_periods=10, seed=3))
    z = (model.params_ - truth) / model.standard_errors_
    assert np.all(np.abs(z) < 4), z
    assert np.all(model.standard_errors_ / truth < 0.05)


def test_homogeneous_cohort_is_the_geometric_limit():
    model = ShiftedBetaGeometric().fit([1000, 500, 250, 125, 62, 31])
    d = model.diagnosis_
    assert d.at_boundary and d.harmless_boundary and d.ok and "α + β → ∞" in d.limit
    np.testing.assert_allclose(model.retention_rates(5), 0.5, atol=2e-3)
    quiet = ShiftedBetaGeometric().fit([100, 100, 100]).diagnosis_
    assert not quiet.identified and "no sign of cancellations" in quiet.limit


@pytest.mark.parametrize("survivors, message", [
    ([1000, 900], "at least two periods"),
    ([0, 0, 0], "cohort size .* must be positive"),
    ([1000, 900, 950], r"must not increase.*period\(s\) \[2\]"),
    ([1000, -1, -2], "must not be negative"),
    ([1000, 900.5, 800], "whole numbers"),
    ([1000, np.nan, 3], "missing"),
    ([[1, 2], [3, 4]], "1-D"),
    (["a", "b", "c"], "must be a number"),
])
def test_bad_survivors_raise_a_value_error_naming_the_rule(survivors, message):
    with pytest.raises(DataError, match=message) as info:
        ShiftedBetaGeometric().fit(survivors)
    assert isinstance(info.value, ValueError)


def test_not_fitted_json_and_exports(regular):
    with pytest.raises(NotFittedError, match=r"call \.fit\(\) first"):
        ShiftedBetaGeometric().survival(3)
    restored = ShiftedBetaGeometric.from_json(regular.to_json())
    pd.testing.assert_series_equal(restored.survival(10), regular.survival(10))
    assert restored.derl(0.1) == regular.derl(0.1)
    assert clvlib.ShiftedBetaGeometric is ShiftedBetaGeometric
    assert "alpha=0.704" in repr(regular) and "cohort of 1,000" in repr(regular)
    with pytest.raises(ValueError, match="n_periods"):
        regular.retention_rates(-1)
