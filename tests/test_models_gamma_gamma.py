"""Gamma-Gamma: the published CDNOW fit, hand-worked expected spend, gradient, recovery, independence check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import clvlib
from clvlib.errors import DataError, NotFittedError
from clvlib.models import GammaGamma, gamma_gamma_log_likelihood, simulate_gamma_gamma

# Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves", JMR 42(4), and Fader & Hardie (2013),
# "The Gamma-Gamma Model of Monetary Value" (note 025): CDNOW sample, the 946 customers with repeat purchases in
# the 39-week calibration period, m̄ = mean value of their calibration-period repeat transactions.
PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def cdnow(cdnow_sample_orders) -> pd.DataFrame:
    return clvlib.calibration_holdout(cdnow_sample_orders, calibration_end="1997-09-30", observation_end="1998-06-30",
                                      time_unit="W")


@pytest.fixture(scope="module")
def fitted(cdnow) -> GammaGamma:
    return GammaGamma().fit(cdnow)


def test_reproduces_published_cdnow_fit(fitted, cdnow):
    for name, value in PUBLISHED.items():
        assert fitted.params_[name] == pytest.approx(value, abs=0.005), name
    assert fitted.n_customers_ == 946 == int((cdnow["frequency"] > 0).sum())
    assert fitted.excluded_["no repeat purchase"] == int((cdnow["frequency"] == 0).sum())
    assert fitted.excluded_["non-positive monetary_value"] == 0


def test_log_likelihood_is_the_sum_of_densities(fitted, cdnow):
    repeat = cdnow[cdnow["frequency"] > 0]
    # The density of the mean of x Gamma(p, ν) values with ν ~ Gamma(q, γ), written out with scipy's gamma functions.
    from scipy.special import gammaln

    p, q, v = fitted.params_
    x, m = repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy()
    by_hand = (
        gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(v + m * x)
    ).sum()
    assert fitted.log_likelihood_ == pytest.approx(by_hand, rel=1e-10)


def test_expected_spend_hand_worked(fitted):
    model = _with_params([6.25, 3.74, 15.44])
    customers = pd.DataFrame({"frequency": [0.0, 2.0], "monetary_value": [0.0, 100.0]})
    # Population mean pγ/(q−1) = 6.25·15.44/2.74 = 35.22; two $100 orders shrink to (15.44+200)·6.25/(12.5+2.74).
    np.testing.assert_allclose(model.expected_spend(customers), [35.2190, 88.3540], atol=1e-3)
    assert model.population_mean_spend() == pytest.approx(35.2190, abs=1e-3)


def _with_params(params) -> GammaGamma:
    model = GammaGamma()
    model.params_ = pd.Series(params, index=["p", "q", "v"])
    model.time_unit_ = None
    return model


def test_expected_spend_lies_between_own_mean_and_population_mean(fitted, cdnow):
    spend = fitted.expected_spend(cdnow)
    repeat = cdnow["frequency"] > 0
    own, pop = cdnow.loc[repeat, "monetary_value"], fitted.population_mean_spend()
    low, high = np.minimum(own, pop), np.maximum(own, pop)
    assert ((spend[repeat] >= low - 1e-9) & (spend[repeat] <= high + 1e-9)).all()
    assert np.allclose(spend[~repeat], pop)


def test_analytic_gradient_matches_finite_differences(cdnow):
    repeat = cdnow[cdnow["frequency"] > 0]
    x, m = repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy()
    theta = np.log([6.0, 3.5, 14.0])
    ones = np.ones_like(x)
    _, grad = GammaGamma._negative_log_likelihood(theta, GammaGamma._prepare((x, m), ones), ones)
    h = 1e-5
    numeric = [
        -(gamma_gamma_log_likelihood(np.exp(theta + h * e), x, m).sum()
          - gamma_gamma_log_likelihood(np.exp(theta - h * e), x, m).sum()) / (2 * h)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5)


def test_recovers_simulated_parameters_within_confidence_intervals(rng):
    true = pd.Series([6.0, 4.0, 15.0], index=["p", "q", "v"])
    frequency = rng.integers(1, 8, size=8000)
    sim = simulate_gamma_gamma(true, frequency, seed=7)
    intervals = GammaGamma().fit(sim).confidence_intervals_
    assert ((intervals["lower_95"] < true) & (true < intervals["upper_95"])).all(), intervals


def test_check_independence_reports_pearson_correlation(cdnow):
    check = GammaGamma.check_independence(cdnow)
    repeat = cdnow[cdnow["frequency"] > 0]
    assert check.correlation == pytest.approx(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1])
    assert check.n_customers == len(repeat)
    assert "reasonable" in check.verdict
    # The p-value is computed without scipy.stats (a second of import time); scipy's own test agrees.
    reference = stats.pearsonr(repeat["frequency"], repeat["monetary_value"])
    assert check.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
    tied = pd.DataFrame({"frequency": [1.0, 2, 3, 4, 5, 6], "monetary_value": [10.0, 20, 30, 40, 50, 61]})
    assert "doubtful" in GammaGamma.check_independence(tied).verdict
    assert "more" in str(GammaGamma.check_independence(tied))


def test_excludes_non_positive_spend_and_counts_it(cdnow):
    data = cdnow[["frequency", "monetary_value"]].copy()
    first_repeat = data.index[data["frequency"] > 0][0]
    data.loc[first_repeat, "monetary_value"] = 0.0
    model = GammaGamma().fit(data)
    assert model.excluded_["non-positive monetary_value"] == 1
    assert model.n_customers_ == 945


def test_errors(cdnow):
    with pytest.raises(NotFittedError, match=r"call \.fit\(\) first"):
        GammaGamma().expected_spend(cdnow)
    one_timers = pd.DataFrame({"frequency": [0.0, 0.0], "monetary_value": [0.0, 0.0]})
    with pytest.raises(DataError, match="repeat buyers with positive `monetary_value`"):
        GammaGamma().fit(one_timers)
    with pytest.raises(DataError, match="`monetary_value`"):
        GammaGamma().fit(cdnow.drop(columns="monetary_value"))


@pytest.mark.filterwarnings("error")
def test_infinite_mean_spend_is_recorded_not_warned(rng):
    # q < 1: the customer-level scale ν has so much mass near 0 that mean spend p·v/(q−1) does not exist; the fit
    # holds q at its bound 1.01 and says so in the diagnosis (a property of the data, not a caller's mistake).
    sim = simulate_gamma_gamma([2.0, 0.7, 10.0], rng.integers(1, 6, size=3000), seed=3)
    model = GammaGamma().fit(sim)
    assert model.params_["q"] == pytest.approx(1.01)
    assert model.diagnosis_.at_boundary and not model.diagnosis_.ok
    assert "infinite" in model.diagnosis_.summary


def test_cdnow_fit_is_an_interior_optimum(fitted):
    d = fitted.diagnosis_
    assert d.ok and not d.at_boundary and d.limit is None and 1 < d.condition_number < 1e4
