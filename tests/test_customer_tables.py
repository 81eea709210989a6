"""Every function taking a customer table accepts the id as the index or as a ``customer_id`` column, gives the same
result either way (indexed by customer id) and leaves the caller's table as it was."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

import clvlib
from clvlib.models import BetaGeo, GammaGamma, ParetoNBD
from clvlib.models._base import purchase_arrays
from clvlib.plots.clv import plot_clv_distribution
from clvlib.plots.rfm import plot_rfm_heatmap, plot_score_distributions

CHANNELS = np.array(["ads", "email", "social"])
PRODUCTS = np.array(["jazz", "rock", "pop", "classical"])
CAL_END, OBS_END = "1997-09-30", "1998-06-30"


# --- data: the CDNOW sample, with a channel and a product on every order ---------------------------------------

@pytest.fixture(scope="module")
def orders(cdnow_sample_orders) -> pd.DataFrame:
    n = len(cdnow_sample_orders)
    return cdnow_sample_orders.assign(channel=CHANNELS[np.arange(n) % 3], product=PRODUCTS[np.arange(n) % 4])


@pytest.fixture(scope="module")
def customers(orders) -> pd.DataFrame:
    return clvlib.customer_summary(orders, time_unit="W")


@pytest.fixture(scope="module")
def scores(customers) -> pd.DataFrame:
    with pytest.warns(UserWarning, match="f_score"):  # the sample's frequencies tie heavily: fewer levels
        return clvlib.rfm_scores(clvlib.rfm_table(customers))


@pytest.fixture(scope="module")
def history(customers) -> pd.DataFrame:
    return clvlib.historical_clv(customers, margin=0.3)


@pytest.fixture(scope="module")
def acquired(orders, history) -> pd.DataFrame:
    """The acquisition page's customer table: first-order facts, n_orders and a ``clv`` column."""
    return clvlib.acquisition_table(orders, history[["historical_clv"]].rename(columns={"historical_clv": "clv"}))


@pytest.fixture(scope="module")
def spend() -> pd.DataFrame:
    # The sample's customers were all acquired in the first quarter of 1997.
    return pd.DataFrame({"month": ["1997-01", "1997-01", "1997-02", "1997-02", "1997-03", "1997-03"],
                         "channel": ["ads", "email", "ads", "social", "email", "social"],
                         "spend": [900.0, 300.0, 800.0, 200.0, 250.0, 150.0]})


@pytest.fixture(scope="module")
def models(customers):
    return BetaGeo().fit(customers), GammaGamma().fit(customers)


@pytest.fixture(scope="module")
def cal(cdnow_sample_orders) -> pd.DataFrame:
    return clvlib.calibration_holdout(cdnow_sample_orders, calibration_end=CAL_END, observation_end=OBS_END,
                                      time_unit="W")


# --- helpers ---------------------------------------------------------------------------------------------------

def assert_same(a, b) -> None:
    """Equal results: frames and series with their index (names included), figures by their pixels."""
    assert type(a) is type(b)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float):
        assert a == b or (np.isnan(a) and np.isnan(b))
    elif hasattr(a, "figure"):  # Axes: the drawn pictures must be identical
        assert_same(_pixels(a.figure), _pixels(b.figure))
    else:
        assert a == b


def _pixels(figure: Figure) -> np.ndarray:
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba()).copy()


def both_ways(call, table: pd.DataFrame):
    """``call`` on the id-indexed table and on the same table with a ``customer_id`` column; neither modified."""
    assert table.index.name == "customer_id"
    flat = table.reset_index()
    assert "customer_id" in flat.columns
    kept, flat_kept = table.copy(), flat.copy()
    indexed_result, flat_result = call(table), call(flat)
    pd.testing.assert_frame_equal(table, kept)
    pd.testing.assert_frame_equal(flat, flat_kept)
    assert_same(indexed_result, flat_result)
    return indexed_result


def _per_customer(result: pd.DataFrame | pd.Series, table: pd.DataFrame) -> None:
    assert result.index.name == "customer_id"
    assert set(result.index) <= set(table.index)


# --- RFM -------------------------------------------------------------------------------------------------------

def test_rfm_functions(customers, scores):
    rfm = both_ways(clvlib.rfm_table, customers)
    _per_customer(rfm, customers)
    with pytest.warns(UserWarning):  # the sample's frequencies tie heavily: fewer levels, said in a warning
        scored = both_ways(clvlib.rfm_scores, rfm)
    _per_customer(scored, customers)
    both_ways(clvlib.score_thresholds, scores)
    both_ways(clvlib.rfm_grid, scores)
    both_ways(lambda t: clvlib.rfm_grid(t, value="monetary"), scores)


def test_rfm_segments_and_summary(scores, history):
    segmented = both_ways(clvlib.rfm_segments, scores)
    _per_customer(segmented, scores)
    events = pd.DataFrame({"customer_id": ["p1", "p2", scores.index[0]],
                           "event": ["newsletter_signup", "abandoned_cart", "abandoned_cart"]})
    # Prospects are added by id: customers already in the table are not counted twice, in either form.
    prospects = both_ways(lambda t: clvlib.rfm_segments(t, scheme="one_to_one", events=events), scores)
    assert len(prospects) == len(scores) + 2 and prospects.index.name == "customer_id"
    with_clv = segmented.join(history[["historical_clv"]]).join(scores[["total_revenue"]].rename(
        columns={"total_revenue": "revenue"}))
    both_ways(lambda t: clvlib.segment_summary(t, clv_column="historical_clv"), with_clv)


def test_segment_migration(orders):
    def segments(as_of):
        customers = clvlib.customer_summary(orders, as_of=as_of, warn=False)
        with pytest.warns(UserWarning):
            return clvlib.rfm_segments(clvlib.rfm_scores(clvlib.rfm_table(customers)))

    before, after = segments("1997-03-31"), segments("1997-12-31")
    indexed = clvlib.segment_migration(before, after)
    for old, new in [(before.reset_index(), after), (before, after.reset_index()),
                     (before.reset_index(), after.reset_index())]:
        kept = (old.copy(), new.copy())
        got = clvlib.segment_migration(old, new)
        pd.testing.assert_frame_equal(old, kept[0])
        pd.testing.assert_frame_equal(new, kept[1])
        assert_same(got.matrix, indexed.matrix)
        assert_same(got.flows, indexed.flows)
    # Matching by id, not by row: shuffling one table's rows changes nothing.
    shuffled = after.reset_index().sample(frac=1, random_state=1)
    assert_same(clvlib.segment_migration(before.reset_index(), shuffled).matrix, indexed.matrix)


def test_latest_emails_from_a_customer_table(customers):
    contacts = customers[["n_orders"]].assign(email=[f"{i}@example.org" for i in customers.index])
    emails = both_ways(clvlib.latest_emails, contacts)
    assert emails.index.name == "customer_id" and emails.name == "email"
    assert emails.loc[customers.index[0]] == f"{customers.index[0]}@example.org"


# --- CLV, profit, Pareto, AOV ----------------------------------------------------------------------------------

def test_historical_clv(customers, history):
    result = both_ways(lambda t: clvlib.historical_clv(t, margin=0.3), customers)
    _per_customer(result, customers)
    both_ways(lambda t: clvlib.historical_clv(t, margin="total_revenue"), customers)
    both_ways(clvlib.describe_historical_clv, history)


def test_profit_gap_table(orders):
    both_ways(clvlib.profit_gap_table, clvlib.profit_clv(orders))


def test_pareto_functions(customers, history):
    both_ways(lambda t: clvlib.top_share(t, fractions=[0.1, 0.2]), customers)
    both_ways(clvlib.lorenz_curve, customers)
    both_ways(clvlib.gini, customers)
    both_ways(clvlib.share_for_value, customers)
    both_ways(clvlib.repeat_split, customers)
    both_ways(clvlib.customer_shares, customers)
    both_ways(clvlib.describe_concentration, customers)
    both_ways(lambda t: clvlib.describe_top_share(t, column="historical_clv"), history)
    top = both_ways(lambda t: clvlib.top_customers(t, n=15), customers)
    _per_customer(top, customers)
    repeat = both_ways(clvlib.repeat_buyers, customers)
    _per_customer(repeat, customers)


def test_aov_functions(customers, orders):
    both_ways(lambda t: clvlib.store_figures(orders, customers=t), customers)
    high = both_ways(lambda t: clvlib.high_aov_customers(t, multiple=1.5), customers)
    assert len(high) > 0
    _per_customer(high, customers)
    both_ways(lambda t: clvlib.pareto_headlines(t, orders), customers)


# --- cohorts ---------------------------------------------------------------------------------------------------

def test_acquisition_table_joins_values_by_id(orders, history):
    values = history[["historical_clv"]]
    table = both_ways(lambda v: clvlib.acquisition_table(orders, v), values)
    assert table["historical_clv"].notna().all() and "customer_id" not in table.columns
    # A shuffled column form joins the same values: the join is on the id, not on the row.
    shuffled = values.reset_index().sample(frac=1, random_state=2)
    pd.testing.assert_frame_equal(clvlib.acquisition_table(orders, shuffled), table)


def test_cohort_functions(acquired, orders, spend):
    both_ways(lambda t: clvlib.cac_by_channel(spend, t), acquired)
    both_ways(lambda t: clvlib.cac_by_channel(spend, t, by="cohort", as_of="1997-02-28"), acquired)
    both_ways(lambda t: clvlib.ltv_cac(t, spend), acquired)
    both_ways(lambda t: clvlib.channel_ltv_cac(t, spend), acquired)
    both_ways(lambda t: clvlib.cohort_economics(t, orders, spend), acquired)
    for by in ("product", "channel", "cohort"):
        both_ways(lambda t: clvlib.clv_by_group(t, by=by), acquired)
    both_ways(clvlib.product_clv, acquired)
    both_ways(lambda t: clvlib.describe_acquisition(t, spend, ltv_column="clv", ltv_label="revenue to date"),
              acquired)


# --- models ----------------------------------------------------------------------------------------------------

def test_model_fits(customers):
    both_ways(purchase_arrays, customers)
    for model_class in (BetaGeo, ParetoNBD, GammaGamma):
        both_ways(lambda t: model_class().fit(t).params_, customers)
    both_ways(GammaGamma.check_independence, customers)
    both_ways(lambda t: clvlib.check_data_sufficiency(t, time_unit="W").table, customers)


def test_model_predictions(customers, models):
    bgnbd, spend = models
    for call in (lambda t: bgnbd.expected_purchases(t, t=10), bgnbd.p_alive, spend.expected_spend):
        result = both_ways(call, customers)
        pd.testing.assert_index_equal(result.index, customers.index)
    groups = pd.Series(CHANNELS[np.arange(len(customers)) % 3], index=customers.index[::-1])  # matched by id
    clv = both_ways(lambda t: clvlib.predictive_clv(bgnbd, spend, t, n_draws=20, by=groups), customers)
    pd.testing.assert_index_equal(clv.index, customers.index)
    assert_same(clvlib.clv_totals(clv), clvlib.clv_totals(
        clvlib.predictive_clv(bgnbd, spend, customers.reset_index(), n_draws=20, by=groups)))


def test_holdout_scorecard(cal):
    bgnbd, spend = BetaGeo().fit(cal), GammaGamma().fit(cal)
    card = both_ways(lambda t: clvlib.holdout_scorecard(bgnbd, spend, t).per_customer, cal)
    pd.testing.assert_index_equal(card.index, cal.index)
    both_ways(lambda t: clvlib.holdout_scorecard(bgnbd, spend, t).metrics, cal)


def test_predict_clv_from_a_customer_table(customers):
    def run(table):
        result = clvlib.predict_clv(table, intervals=False)
        return result.table, result.decision, result.reason

    table, decision, _ = both_ways(run, customers)
    assert decision == "historical"
    pd.testing.assert_index_equal(table.index, customers.index)


# --- plots -----------------------------------------------------------------------------------------------------

def test_plots(scores, history):
    both_ways(lambda t: plot_clv_distribution(t, ax=plt.subplots()[1]), history)
    both_ways(lambda t: plot_rfm_heatmap(t, ax=plt.subplots()[1]), scores)
    both_ways(lambda t: plot_rfm_heatmap(t, value="monetary", ax=plt.subplots()[1]), scores)
    both_ways(lambda t: plot_score_distributions(t, ax=plt.subplots()[1]), scores)


# --- ids in both places ----------------------------------------------------------------------------------------

def _contradicting(table: pd.DataFrame) -> pd.DataFrame:
    """Indexed by customer id, with a ``customer_id`` column holding other ids."""
    return table.assign(customer_id=table.index[::-1])


@pytest.mark.parametrize("call", [
    clvlib.rfm_table, clvlib.historical_clv, clvlib.top_customers, clvlib.repeat_split, clvlib.gini,
    clvlib.high_aov_customers, clvlib.check_data_sufficiency, lambda t: BetaGeo().fit(t),
    lambda t: clvlib.predict_clv(t, intervals=False), lambda t: plot_clv_distribution(t, column="total_revenue"),
], ids=["rfm_table", "historical_clv", "top_customers", "repeat_split", "gini", "high_aov_customers",
        "check_data_sufficiency", "BetaGeo.fit", "predict_clv", "plot_clv_distribution"])
def test_index_and_column_that_differ_are_refused(customers, call):
    table = _contradicting(customers)
    with pytest.raises(ValueError, match=r"both the index and the `customer_id` column hold customer ids, and "
                                         r"they differ; keep one of them"):
        call(table)


def test_differing_ids_refused_in_scores_segments_and_migration(scores):
    segmented = clvlib.rfm_segments(scores)
    for call, table in [(clvlib.rfm_scores, scores), (clvlib.rfm_segments, scores),
                        (clvlib.segment_summary, segmented),
                        (lambda t: clvlib.segment_migration(t, segmented), segmented)]:
        with pytest.raises(ValueError, match="they differ; keep one of them"):
            call(_contradicting(table))


def test_index_and_column_that_agree_are_accepted(customers):
    agreeing = customers.assign(customer_id=customers.index)
    pd.testing.assert_frame_equal(clvlib.historical_clv(agreeing), clvlib.historical_clv(customers))
    pd.testing.assert_frame_equal(clvlib.top_customers(agreeing), clvlib.top_customers(customers))
