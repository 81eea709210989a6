"""P(X(t) = k) and E[X(t)] for a new customer, and the BTYD walkthrough's figures: published values, independent
closed forms, the pmf's own identities, and Monte Carlo of each model at its fitted CDNOW parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, gammaln, hyp2f1

import clvlib
from clvlib.models import (BetaGeo, ModifiedBetaGeo, ParetoNBD, bgnbd, paretonbd, simulate_bgnbd, simulate_mbgnbd,
                           simulate_pareto_nbd)
from clvlib.models.mbgnbd import mbgnbd_purchase_count_pmf

MODELS = {"BG/NBD": (BetaGeo, simulate_bgnbd), "MBG/NBD": (ModifiedBetaGeo, simulate_mbgnbd),
          "Pareto/NBD": (ParetoNBD, simulate_pareto_nbd)}

# BTYD's BG/NBD CDNOW fit as printed in its walkthrough (Dziurzynski, Wadsworth & McCarthy, "BTYD: Implementing
# Buy 'Til You Die Models", section 4.2): 0.2425982 4.4136842 0.7929899 2.4261667. Printed to 7 digits, these
# parameters reproduce BTYD's 7-digit outputs to about 1e-6 (relative): that is the tolerance used with them.
BTYD_BGNBD = [0.2425982, 4.4136842, 0.7929899, 2.4261667]
RTOL_PRINTED = 1e-5


def _btyd_bgnbd() -> BetaGeo:
    model = BetaGeo()
    model.params_ = pd.Series(BTYD_BGNBD, index=["r", "alpha", "a", "b"])
    model.time_unit_ = "W"
    return model


@pytest.fixture(scope="module")
def cdnow(cdnow_sample_orders) -> pd.DataFrame:
    return clvlib.calibration_holdout(cdnow_sample_orders, calibration_end="1997-09-30", observation_end="1998-06-30",
                                      time_unit="W")


@pytest.fixture(scope="module")
def fitted(cdnow) -> dict:
    return {name: cls().fit(cdnow) for name, (cls, _) in MODELS.items()}


# -- published values ------------------------------------------------------------------------------------------
def test_bgnbd_pmf_matches_btyd_bgnbd_pmf_outputs():
    # BTYD's `bgnbd.pmf` examples (man/bgnbd.pmf.Rd: params 0.243, 4.414, 0.793, 2.426) and the outputs R prints
    # for them, as recorded in lifetimes' and PyMC-Marketing's tests (10 decimals).
    model = BetaGeo()
    model.params_ = pd.Series([0.243, 4.414, 0.793, 2.426], index=["r", "alpha", "a", "b"])
    assert model.purchase_count_pmf(2, 10) == pytest.approx(1.07869e-07, rel=1e-5)
    assert model.purchase_count_pmf(39, 0) == pytest.approx(0.5737864, abs=5e-8)
    expected = [0.0019995214, 0.0015170236, 0.0011633150, 0.0009003148, 0.0007023638,
                0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.0002222260]
    np.testing.assert_allclose(model.purchase_count_pmf(30, np.arange(11, 21)), expected, rtol=0, atol=5e-11)


def _hardie_pareto_pmf(params, t, x):
    """Fader & Hardie, note 012 ("Deriving an expression for P(X(t) = x) under the Pareto/NBD model") in closed
    form, as BTYD's `pnbd.pmf.General` (t.start = 0) evaluates it: ₂F₁ terms B1 − Σ_{i≤x} (…) B2_i."""
    r, alpha, s, beta = params
    top, gap = max(alpha, beta), abs(alpha - beta)
    second = s + 1 if alpha >= beta else r + x
    nb = np.exp(gammaln(r + x) - gammaln(r) - gammaln(x + 1) + r * np.log(alpha / (alpha + t))
                + x * np.log(t / (alpha + t)))
    part1 = nb * (beta / (beta + t)) ** s
    front = np.exp(r * np.log(alpha) + s * np.log(beta) + betaln(r + x, s + 1) - betaln(r, s))
    b1 = hyp2f1(r + s, second, r + s + x + 1, gap / top) / top ** (r + s)
    b2 = sum(np.exp(gammaln(r + s + i) - gammaln(r + s) - gammaln(i + 1)) * t**i
             * hyp2f1(r + s + i, second, r + s + x + 1, gap / (top + t)) / (top + t) ** (r + s + i)
             for i in range(x + 1))
    return part1 + front * (b1 - b2)


@pytest.mark.parametrize("params", [[0.5533, 10.5777, 0.6062, 11.6687], [0.8, 20.0, 1.5, 6.0]])
def test_pareto_nbd_pmf_equals_hardies_closed_form(params):
    # α < β and α > β take the two ₂F₁ branches. The closed form subtracts nearly equal terms as k grows, so it
    # is compared where it still keeps 8 digits.
    for t in (2.0, 39.0, 78.0):
        ours = paretonbd.pareto_nbd_purchase_count_pmf(params, t, np.arange(12))
        theirs = [_hardie_pareto_pmf(params, t, x) for x in range(12)]
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12)


def _btydplus_mbg_pmf(params, t, x):
    """BTYDplus `xbgcnbd_pmf_cpp` (src/slice-sampling.cpp) with k = 1 and dropout_at_zero = TRUE, transcribed."""
    r, alpha, a, b = params
    survivals = x
    p1 = np.exp(gammaln(b + survivals + 1) + gammaln(a + b) - gammaln(b) - gammaln(a + b + survivals + 1))

    def nb(i):
        return np.exp(gammaln(r + i) + r * np.log(alpha) + i * np.log(t) - gammaln(i + 1) - gammaln(r)
                      - (r + i) * np.log(alpha + t))

    p2b = a / (b + survivals) * (1 - sum(nb(i) for i in range(x)))
    return p1 * (nb(x) + p2b)


def test_mbgnbd_pmf_equals_btydplus_expression():
    params = [0.525, 6.183, 0.891, 1.614]
    for t in (2.0, 39.0, 78.0):
        theirs = [_btydplus_mbg_pmf(params, t, x) for x in range(15)]
        # (BTYDplus takes the tail as 1 minus a partial sum, which loses digits for large x: hence the atol.)
        np.testing.assert_allclose(mbgnbd_purchase_count_pmf(params, t, np.arange(15)), theirs, rtol=1e-9,
                                   atol=1e-16)


def test_btyd_walkthrough_new_customer_expectations(fitted, cdnow):
    # BTYD walkthrough: `bgnbd.Expectation(params, t=52)` = 1.444004 at its BG/NBD fit, and
    # `pnbd.Expectation(params, t=52)` = 1.473434 at its Pareto/NBD fit (LL −9594.976; ours is the same optimum).
    assert bgnbd.bgnbd_expected_purchases_new_customer(BTYD_BGNBD, 52) == pytest.approx(1.444004, rel=RTOL_PRINTED)
    assert fitted["Pareto/NBD"].log_likelihood_ == pytest.approx(-9594.976, abs=5e-4)
    assert fitted["Pareto/NBD"].expected_purchases_new_customer(t=52) == pytest.approx(1.473434, abs=5e-7)
    # Cumulative tracking (`*.PlotTrackingCum`, weeks 20–25): the sum of E[X(week − birth)] over the customers born
    # by then, birth = max(T) − T.
    T = cdnow["T"].to_numpy()
    birth = T.max() - T

    def cumulative(model):
        return [model.expected_purchases_new_customer(t=w - birth[birth <= w]).sum() for w in range(20, 26)]

    bg = _btyd_bgnbd()
    np.testing.assert_allclose(cumulative(bg), [1312.458, 1387.346, 1460.392, 1531.713, 1601.418, 1669.6],
                               rtol=RTOL_PRINTED)
    # Pareto/NBD's β is barely determined (se ≈ 6), so BTYD's optimum and ours differ in the 5th digit.
    np.testing.assert_allclose(cumulative(fitted["Pareto/NBD"]),
                               [1308.856, 1385.275, 1459.923, 1532.906, 1604.32, 1674.253], rtol=1e-4)


def test_btyd_walkthrough_conditional_expectations(fitted, cdnow):
    bg = _btyd_bgnbd()
    pnbd = fitted["Pareto/NBD"]
    # Customer "1516": x = 26, t_x = 30.85714, T = 31; 52 weeks ahead.
    one = pd.DataFrame({"frequency": [26.0], "recency": [30.85714], "T": [31.0]})
    assert bg.expected_purchases(one, t=52).iloc[0] == pytest.approx(25.75659, rel=RTOL_PRINTED)
    assert bg.p_alive(one).iloc[0] == pytest.approx(0.9688523, rel=RTOL_PRINTED)
    assert pnbd.expected_purchases(one, t=52).iloc[0] == pytest.approx(25.45647, rel=1e-4)
    assert pnbd.p_alive(one).iloc[0] == pytest.approx(0.997874, rel=1e-6)
    # The "increasing frequency paradox": x = 10, 15, 20, 25 with t_x = 20, T = 39.
    paradox = pd.DataFrame({"frequency": [10.0, 15, 20, 25], "recency": [20.0] * 4, "T": [39.0] * 4})
    np.testing.assert_allclose(bg.expected_purchases(paradox, t=52),
                               [0.3474606, 0.04283391, 0.004158973, 0.0003583685], rtol=RTOL_PRINTED)
    np.testing.assert_allclose(pnbd.expected_purchases(paradox, t=52),
                               [0.7062289, 0.1442396, 0.02250658, 0.00309267], rtol=1e-3)
    # `*.PlotFreqVsConditionalExpectedFrequency(T.star = 39, censor = 7)`: mean expectation per frequency bin.
    bins = cdnow["frequency"].clip(upper=7)
    np.testing.assert_allclose(
        bg.expected_purchases(cdnow, t=39).groupby(bins).mean(),
        [0.2250893, 0.5231364, 1.044126, 1.520256, 2.163824, 2.653789, 3.503957, 6.157036], rtol=RTOL_PRINTED)
    np.testing.assert_allclose(pnbd.expected_purchases(cdnow, t=39).groupby(bins).mean(),
                               [0.138, 0.600, 1.196, 1.714, 2.399, 2.907, 3.819, 6.403], atol=1.5e-3)


# -- the pmf's identities ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_pmf_sums_to_one_and_its_mean_is_the_expectation(fitted, name):
    model = fitted[name]
    k = np.arange(3000)  # enough: at t = 520 weeks the mass beyond 3,000 purchases is ~1e-15 for all three
    for t in (1.0, 39.0, 78.0, 520.0):
        pmf = model.purchase_count_pmf(t, k)
        assert np.all(pmf >= 0)
        assert pmf.sum() == pytest.approx(1.0, abs=1e-8), t
        assert k @ pmf == pytest.approx(model.expected_purchases_new_customer(t=t), rel=1e-8), t
    np.testing.assert_allclose(model.purchase_count_pmf(0, [0, 1, 2]), [1.0, 0.0, 0.0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", list(MODELS))
def test_pmf_matches_monte_carlo_at_the_fitted_cdnow_parameters(fitted, name):
    model = fitted[name]
    _, simulate = MODELS[name]
    n, t = 100_000, 39.0
    counts = simulate(model.params_, n_customers=n, T=t, seed=20261123)["frequency"].to_numpy().astype(int)
    pmf = model.purchase_count_pmf(t, np.arange(8))
    observed = np.bincount(np.minimum(counts, 8), minlength=9) / n
    expected = np.append(pmf, 1 - pmf.sum())  # the last cell: 8 or more
    se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(observed - expected) < 4.5 * se), (observed, expected)
    assert abs(counts.mean() - model.expected_purchases_new_customer(t=t)) < 4.5 * counts.std() / np.sqrt(n)


def test_pmf_is_vectorised_and_checks_its_arguments(fitted):
    model = fitted["BG/NBD"]
    grid = model.purchase_count_pmf(np.array([[10.0], [39.0]]), np.arange(5))
    assert grid.shape == (2, 5)
    np.testing.assert_allclose(grid[1], model.purchase_count_pmf(39.0, np.arange(5)))
    assert isinstance(model.purchase_count_pmf(39, 2), float)
    pareto = fitted["Pareto/NBD"]
    mixed = pareto.purchase_count_pmf(np.array([5.0, 39.0, 5.0]), np.array([1, 1, 2]))
    np.testing.assert_allclose(mixed, [pareto.purchase_count_pmf(5.0, 1), pareto.purchase_count_pmf(39.0, 1),
                                       pareto.purchase_count_pmf(5.0, 2)])
    for bad_k in (-1, 1.5):
        with pytest.raises(ValueError, match="`k` must be non-negative integers"):
            model.purchase_count_pmf(39, bad_k)
    with pytest.raises(ValueError, match="`t` must be finite and non-negative"):
        pareto.purchase_count_pmf(-1.0, 0)
    with pytest.raises(clvlib.NotFittedError):
        ModifiedBetaGeo().purchase_count_pmf(39, 0)
