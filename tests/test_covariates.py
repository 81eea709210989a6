"""Time-invariant covariates in BG/NBD and Pareto/NBD: exact reduction to the plain models, recovery of known
effects with nominal interval coverage, the likelihood-ratio test, the sentences and the covariate table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib.errors import DataError, NotFittedError
from clvlib.models import (BetaGeo, BetaGeoCovariates, ParetoNBD, ParetoNBDCovariates, bgnbd_expected_purchases,
                           bgnbd_log_likelihood, covariate_table, pareto_nbd_expected_purchases,
                           pareto_nbd_log_likelihood, simulate_with_covariates)
from clvlib.models.covariates import _bgnbd_rows, _pnbd_rows

BGNBD = [0.5, 8.0, 0.8, 2.5]
PARETO = [0.55, 10.6, 0.61, 11.7]
N_SEEDS = 10
# Known effects of a binary covariate (40 % of customers have it): they buy less often and drop out sooner.
TRUTH = {
    "bgnbd": {"purchase[paid_social]": -0.4, "dropout_a[paid_social]": 0.5, "dropout_b[paid_social]": -0.3},
    "paretonbd": {"purchase[paid_social]": -0.4, "dropout[paid_social]": 0.6},
}
MODELS = {"bgnbd": (BetaGeoCovariates, BetaGeo, BGNBD), "paretonbd": (ParetoNBDCovariates, ParetoNBD, PARETO)}


def _population(seed: int, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A binary covariate (40 % ones) and ages in whole weeks (26 to 78), as a weekly customer summary has them."""
    rng = np.random.default_rng(1000 + seed)
    z = pd.DataFrame({"paid_social": (rng.random(n) < 0.4).astype(float)},
                     index=pd.RangeIndex(n, name="customer_id"))
    return z, rng.integers(26, 79, n).astype(float)


def _simulate(model: str, seed: int, n: int, effects: bool = True):
    z, ages = _population(seed, n)
    truth = TRUTH[model]
    purchase = {"paid_social": truth["purchase[paid_social]"]} if effects else None
    if not effects:
        dropout = None
    elif model == "bgnbd":
        dropout = {"paid_social": (truth["dropout_a[paid_social]"], truth["dropout_b[paid_social]"])}
    else:
        dropout = {"paid_social": truth["dropout[paid_social]"]}
    customers = simulate_with_covariates(model, MODELS[model][2], z, purchase=purchase, dropout=dropout, T=ages,
                                         seed=seed)
    return customers, z


@pytest.fixture(scope="module")
def recovery_fits():
    """Ten seeds of 3,000 customers per model, simulated with the known effects and fitted."""
    fits = {}
    for model, (cls, _, _) in MODELS.items():
        fits[model] = [cls().fit(*_simulate(model, seed, 3000)) for seed in range(N_SEEDS)]
    return fits


@pytest.fixture(scope="module")
def null_fits():
    """Ten seeds of 1,000 customers per model with the covariate but no effect."""
    return {model: [cls().fit(*_simulate(model, seed, 1000, effects=False)) for seed in range(N_SEEDS)]
            for model, (cls, _, _) in MODELS.items()}


# -- the likelihood ----------------------------------------------------------------------------------------------
def test_per_customer_likelihood_equals_the_plain_model_evaluated_customer_by_customer(rng):
    customers, _ = _simulate("paretonbd", 0, 200)
    x, t_x, T = (customers[c].to_numpy() for c in ("frequency", "recency", "T"))
    alpha, beta = rng.uniform(2, 20, 200), rng.uniform(2, 20, 200)
    a, b = rng.uniform(0.2, 3, 200), rng.uniform(0.5, 5, 200)
    one = [slice(i, i + 1) for i in range(200)]
    bg = [bgnbd_log_likelihood([0.6, alpha[i], a[i], b[i]], x[c], t_x[c], T[c])[0] for i, c in enumerate(one)]
    pnbd = [pareto_nbd_log_likelihood([0.6, alpha[i], 0.8, beta[i]], x[c], t_x[c], T[c])[0] for i, c in enumerate(one)]
    np.testing.assert_allclose(_bgnbd_rows(0.6, alpha, a, b, x, t_x, T), bg, rtol=1e-10)
    np.testing.assert_allclose(_pnbd_rows(0.6, alpha, 0.8, beta, x, t_x, T), pnbd, rtol=1e-10)


@pytest.mark.parametrize("model", list(MODELS))
def test_gradient_of_the_likelihood_matches_finite_differences(model, rng):
    customers, z = _simulate(model, 1, 500)
    z["score"] = rng.normal(size=len(z))  # a numeric covariate beside the binary one
    fitted = MODELS[model][0]().fit(customers, z)
    theta = fitted._theta + rng.normal(scale=0.05, size=len(fitted._theta))
    _, grad = fitted._objective(theta, fitted._rows)
    h = 1e-6
    numeric = [(fitted._objective(theta + h * e, fitted._rows)[0] - fitted._objective(theta - h * e, fitted._rows)[0])
               / (2 * h) for e in np.eye(len(theta))]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("model", list(MODELS))
def test_constant_covariates_reduce_exactly_to_the_plain_model(model):
    cls, plain_cls, params = MODELS[model]
    n = 1500
    z = pd.DataFrame({"zero": np.zeros(n), "one": np.ones(n)}, index=pd.RangeIndex(n, name="customer_id"))
    customers = simulate_with_covariates(model, params, z, T=_population(0, n)[1], seed=2)
    fitted, plain = cls().fit(customers, z), plain_cls().fit(customers)
    np.testing.assert_allclose(fitted.log_likelihood_, plain.log_likelihood_, rtol=1e-6)
    np.testing.assert_allclose(fitted.params_.iloc[:4].to_numpy(), plain.params_.to_numpy(), rtol=1e-6)
    assert (fitted.params_.iloc[4:] == 0).all()
    assert fitted.standard_errors_.iloc[4:].isna().all()  # held at 0, not estimated
    test = fitted.lr_test()
    assert (test.df, test.statistic, test.p_value) == (0, 0.0, 1.0)
    assert any("`one` is the same for every customer" in note for note in fitted.diagnosis_.notes)
    assert fitted.effects()["sentence"].str.contains("not measurable").all()
    # ... and so do its predictions.
    predict = bgnbd_expected_purchases if model == "bgnbd" else pareto_nbd_expected_purchases
    head = customers.head(50)
    expected = predict(plain.params_.to_numpy(), 10, head["frequency"], head["recency"], head["T"])
    np.testing.assert_allclose(fitted.expected_purchases(head, z, t=10), expected, rtol=1e-6)
    np.testing.assert_allclose(fitted.p_alive(head, z), plain.p_alive(head), rtol=1e-6)
    np.testing.assert_allclose(fitted.expected_purchases_new_customer(t=[10, 52]),
                               plain.expected_purchases_new_customer(t=np.array([10, 52])), rtol=1e-6)


def test_a_store_with_one_channel_gives_no_covariate_and_the_plain_model():
    orders = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "c", "c"], "order_id": list("123456"),
        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05", "2024-01-09", "2024-03-01",
                                      "2024-05-01"]),
        "revenue": [10.0, 20, 30, 40, 50, 60], "channel": ["email"] * 6, "product": ["home"] * 6,
    })
    table = covariate_table(orders)
    assert table.shape == (3, 0) and table.attrs["baselines"] == {"channel": "email", "product": "home"}
    customers = clvlib.customer_summary(orders, time_unit="W", warn=False)
    fitted = clvlib.covariate_model(None).fit(customers, table)
    assert isinstance(fitted, BetaGeoCovariates) and list(fitted.params_.index) == ["r", "alpha", "a", "b"]
    assert fitted.describe_effects().startswith("No covariate varies between customers")
    assert isinstance(clvlib.covariate_model(ParetoNBD()), ParetoNBDCovariates)
    assert fitted.log_likelihood_ == pytest.approx(BetaGeo().fit(customers).log_likelihood_, rel=1e-6)


# -- recovery of known effects -----------------------------------------------------------------------------------
@pytest.mark.parametrize("model", list(MODELS))
def test_known_effects_lie_inside_the_95_percent_intervals_at_the_nominal_rate(model, recovery_fits):
    covered = {name: 0 for name in TRUTH[model]}
    for fitted in recovery_fits[model]:
        intervals = fitted.confidence_intervals_
        for name, true in TRUTH[model].items():
            covered[name] += intervals.loc[name, "lower_95"] <= true <= intervals.loc[name, "upper_95"]
    # Nominal 9.5 of 10; 8 or more for every coefficient.
    assert all(count >= 8 for count in covered.values()), covered
    assert all(f.diagnosis_.ok for f in recovery_fits[model])


@pytest.mark.parametrize("model", list(MODELS))
def test_the_likelihood_ratio_test_rejects_real_effects_and_keeps_absent_ones(model, recovery_fits, null_fits):
    assert max(f.lr_test().p_value for f in recovery_fits[model]) < 1e-3
    tests = [f.lr_test() for f in null_fits[model]]
    assert all(t.df == len(TRUTH[model]) for t in tests)
    assert sum(t.p_value > 0.05 for t in tests) >= 8


@pytest.mark.parametrize("model", list(MODELS))
def test_effects_read_as_the_simulated_behaviour(model, recovery_fits, null_fits):
    effects = recovery_fits[model][0].effects()
    purchase, dropout = effects.loc[("paid_social", "purchase")], effects.loc[("paid_social", "dropout")]
    assert purchase["effect"] == pytest.approx(np.exp(recovery_fits[model][0].params_["purchase[paid_social]"]))
    assert purchase["upper_95"] < 1 < dropout["lower_95"]
    assert "buy" in purchase["sentence"] and "less often than those with `paid_social` = 0" in purchase["sentence"]
    assert "drop out sooner" in dropout["sentence"]
    # "No evidence" exactly when the interval holds 1: with no effect, in most seeds.
    quiet = pd.concat([f.effects() for f in null_fits[model]])
    holds_one = (quiet["lower_95"] <= 1) & (quiet["upper_95"] >= 1)
    assert (quiet["sentence"].str.contains("no evidence") == holds_one).all()
    assert holds_one.mean() >= 0.8
    text = recovery_fits[model][0].describe_effects()  # Markdown, data values escaped
    assert text.startswith("- Customers with \\`paid\\_social\\` = 1 buy") and "; drop out sooner" in text
    assert "likelihood-ratio statistic" in text


def test_bgnbd_dropout_effect_is_the_ratio_of_mean_dropout_probabilities(recovery_fits):
    fitted = recovery_fits["bgnbd"][0]
    params = fitted.individual_params(pd.DataFrame({"paid_social": [0.0, 1.0]}))
    mean_p = params["a"] / (params["a"] + params["b"])
    assert fitted.effects().loc[("paid_social", "dropout"), "effect"] == pytest.approx(mean_p[1] / mean_p[0])


def test_predictions_use_each_customers_own_parameters(recovery_fits):
    fitted = recovery_fits["paretonbd"][0]
    profiles = fitted.profiles()
    assert list(profiles.index) == ["baseline", "paid_social"]
    by_group = fitted.expected_purchases_new_customer(profiles, t=52)
    assert by_group["paid_social"] < by_group["baseline"]  # buys less, leaves sooner
    assert fitted.expected_purchases_new_customer("paid_social", t=52) == pytest.approx(by_group["paid_social"])
    assert fitted.expected_purchases_new_customer({"paid_social": 1}, t=52) == pytest.approx(by_group["paid_social"])
    curve = fitted.expected_purchases_new_customer(profiles, t=[13, 26, 52])
    assert curve.shape == (2, 3) and curve[52].tolist() == pytest.approx(by_group.tolist())
    # The covariates may also sit in the customer table itself.
    customers, z = _simulate("paretonbd", 0, 3000)
    joined = customers.join(z)
    pd.testing.assert_series_equal(fitted.p_alive(joined), fitted.p_alive(customers, z))
    with pytest.raises(ValueError, match="must be one of"):
        fitted.expected_purchases_new_customer("organic", t=52)


# -- inputs ------------------------------------------------------------------------------------------------------
def test_bad_covariates_are_named_in_the_error():
    customers, z = _simulate("bgnbd", 0, 300)
    with pytest.raises(DataError, match="`channel` is not numeric"):
        BetaGeoCovariates(purchase_covariates=["channel"]).fit(customers, z.assign(channel="email"))
    with pytest.raises(DataError, match="no row in the covariate table"):
        BetaGeoCovariates().fit(customers, z.iloc[:-2])
    with pytest.raises(DataError, match="collinear"):
        BetaGeoCovariates().fit(customers, z.assign(other=1 - z["paid_social"]))
    with pytest.raises(DataError, match="missing or infinite"):
        BetaGeoCovariates().fit(customers, z.assign(paid_social=np.where(z.index == 3, np.nan, z["paid_social"])))
    with pytest.raises(ValueError, match="list of column names"):
        BetaGeoCovariates(purchase_covariates="paid_social")
    with pytest.raises(NotFittedError):
        ParetoNBDCovariates().effects()


def test_covariate_table_one_hot_encodes_the_first_order_with_a_named_baseline():
    orders = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "a", "e"], "order_id": list("123456"),
        "order_date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-02-01",
                                      "2024-02-02"]),
        "revenue": [10.0, 20, 30, 40, 50, 60],
        "channel": ["paid_social", "organic_search", "organic_search", "email", "email", "organic_search"],
        "product": ["home", "home", "apparel", "home", "apparel", "home"],
        "discount": [5.0, 0.0, np.nan, 10.0, 0.0, 0.0],
    })
    table = covariate_table(orders, discount="discount")
    assert list(table.columns) == ["channel=email", "channel=paid_social", "product=apparel", "discount"]
    assert table.loc["a"].tolist() == [0.0, 1.0, 0.0, 5.0]  # the first order's channel, product and discount
    assert table.loc["c", "discount"] == 0.0  # missing: no discount
    assert table.attrs["baselines"] == {"channel": "organic_search", "product": "home"}  # the most common
    assert table.attrs["labels"]["channel=paid_social"] == "customers from paid social"
    assert table.attrs["references"]["channel=paid_social"] == "those from organic search"
    chosen = covariate_table(orders, first_product=False, baseline={"channel": "email"},
                             discount="discount").assign(discount=lambda t: (t["discount"] > 0).astype(float))
    assert list(chosen.columns) == ["channel=organic_search", "channel=paid_social", "discount"]
    flags = covariate_table(orders.assign(discount=orders["discount"].fillna(0) > 0), channel=False,
                            first_product=False, discount="discount")
    assert flags.attrs["labels"]["discount"] == "customers whose first order had a discount"
    with pytest.raises(ValueError, match="does not occur"):
        covariate_table(orders, baseline={"channel": "tv"})


def test_paid_social_customers_of_the_demo_store_buy_less_often_and_leave_sooner():
    # The demo store draws each customer's channel from their latent traits: paid social favours slow buyers who
    # drop out sooner (clvlib.datasets.demo_store._CHANNEL_LOGIT).
    orders = clvlib.load_orders(None)
    customers = clvlib.customer_summary(orders, time_unit="W", warn=False)
    table = covariate_table(orders, first_product=False, baseline={"channel": "organic_search"})
    fitted = BetaGeoCovariates().fit(customers, table)
    paid = fitted.effects().loc["channel=paid_social"]
    assert paid.loc["purchase", "upper_95"] < 1 < paid.loc["dropout", "lower_95"]
    assert paid.loc["purchase", "sentence"].startswith("Customers from paid social buy")
    assert "than those from organic search" in paid.loc["purchase", "sentence"]
    assert fitted.lr_test().p_value < 1e-3
