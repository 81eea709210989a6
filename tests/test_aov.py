"""clvlib.aov: AOV bands, order-value statistics, large orders and headline sentences, worked by hand and checked
against independent pandas/scipy computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from clvlib import (
    DataError, aov_bands, business_buyers, customer_summary, describe_order_values, high_aov_customers,
    large_orders, order_value_stats, pareto_headlines, store_aov,
)


def _orders(rows, quantity=None) -> pd.DataFrame:
    ids, values = zip(*rows)
    frame = pd.DataFrame({
        "customer_id": pd.array(list(ids), dtype="str"),
        "order_id": [f"o{i}" for i in range(len(rows))],
        "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(rows)), unit="D"),
        "revenue": np.asarray(values, dtype=float),
    })
    if quantity is not None:
        frame["quantity"] = np.asarray(quantity, dtype=float)
    return frame


# a: 10 + 20 (AOV 15); b: 100; c: 300 + 500 (AOV 400); d: 60 + 40 (AOV 50); a guest order of 70.
# Store: 1,100 over 8 orders -> AOV 137.5; band edges 0.5× = 68.75 and 2× = 275.
HAND = _orders([("a", 10), ("a", 20), ("b", 100), ("c", 300), ("c", 500), ("d", 60), ("d", 40), (None, 70)])


def test_store_aov_counts_guest_orders():
    assert store_aov(HAND) == pytest.approx(137.5)


def test_bands_by_customer_worked_by_hand():
    got = aov_bands(HAND)
    # low: a (15), d (50) -> 4 orders, 130; middle: b (100) -> 1 order, 100; high: c (400) -> 2 orders, 800.
    # Customers' revenue 1,030 over 7 orders; the guest is not a customer.
    assert got.index.tolist() == ["up to 0.5× AOV", "0.5×–2× AOV", "over 2× AOV"]
    assert got["customers"].tolist() == [2, 1, 1]
    assert got["orders"].tolist() == [4, 1, 2]
    assert got["revenue"].tolist() == [130, 100, 800]
    np.testing.assert_allclose(got["customer_share"], [0.5, 0.25, 0.25])
    np.testing.assert_allclose(got["order_share"], [4 / 7, 1 / 7, 2 / 7])
    np.testing.assert_allclose(got["revenue_share"], [130 / 1030, 100 / 1030, 800 / 1030])
    np.testing.assert_allclose(got["lower"], [0, 68.75, 275])
    assert got.attrs["store_aov"] == pytest.approx(137.5)


def test_bands_by_order_worked_by_hand():
    got = aov_bands(HAND, by="order")
    # low (≤ 68.75): 10, 20, 60, 40 from a and d; middle: 100 (b) and 70 (guest); high: 300, 500 (c).
    assert got["orders"].tolist() == [4, 2, 2]
    assert got["revenue"].tolist() == [130, 170, 800]
    assert got["customers"].tolist() == [2, 1, 1]
    np.testing.assert_allclose(got["order_share"], [0.5, 0.25, 0.25])
    np.testing.assert_allclose(got["revenue_share"], [130 / 1100, 170 / 1100, 800 / 1100])
    np.testing.assert_allclose(got["customer_share"], [0.5, 0.25, 0.25])


def test_thresholds_and_multipliers_put_edge_values_in_the_lower_band():
    # Absolute edges 50 and 100: d's AOV of exactly 50 is "up to 50"; b's 100 is in "50–100".
    got = aov_bands(HAND, thresholds=[50, 100])
    assert got.index.tolist() == ["up to 50", "50–100", "over 100"]
    assert got["customers"].tolist() == [2, 1, 1]
    # Four bands from three multipliers: edges 68.75, 137.5, 412.5 -> a, d | b | c (400) | nobody.
    four = aov_bands(HAND, multipliers=[0.5, 1, 3])
    assert four["customers"].tolist() == [2, 1, 1, 0]
    assert four["revenue_share"].sum() == pytest.approx(1.0)


def test_band_argument_errors():
    with pytest.raises(ValueError, match=r"The value for `by` must be one of \['customer', 'order'\], but 'x'"):
        aov_bands(HAND, by="x")
    with pytest.raises(ValueError, match="strictly increasing"):
        aov_bands(HAND, multipliers=[2, 0.5])
    with pytest.raises(ValueError, match="not both"):
        aov_bands(HAND, multipliers=[1], thresholds=[10])
    with pytest.raises(DataError, match="`customer_id`"):
        aov_bands(HAND.drop(columns="customer_id"))
    with pytest.raises(DataError, match="empty"):
        aov_bands(HAND.iloc[:0])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "e", None]), st.floats(0.01, 1e4)), min_size=1,
             max_size=40).filter(lambda rows: any(r[0] is not None for r in rows)),
    st.lists(st.floats(0.1, 5), min_size=1, max_size=4, unique=True),
)
def test_band_shares_sum_to_one(rows, multipliers):
    orders = _orders(rows)
    multipliers = sorted(multipliers)
    by_customer = aov_bands(orders, multipliers=multipliers)
    for column in ("customer_share", "order_share", "revenue_share"):
        assert by_customer[column].sum() == pytest.approx(1.0)
    by_order = aov_bands(orders, by="order", multipliers=multipliers)
    assert by_order["orders"].sum() == len(orders)
    assert by_order["order_share"].sum() == pytest.approx(1.0)
    assert by_order["revenue_share"].sum() == pytest.approx(1.0)
    assert by_order["customer_share"].sum() >= 1.0 - 1e-12


def test_order_value_stats_against_numpy_and_scipy(rng):
    values = np.round(rng.lognormal(3.5, 0.9, 500), 2)
    orders = _orders([(None if i % 10 == 0 else f"c{i % 37}", v) for i, v in enumerate(values)])
    got = order_value_stats(orders)
    assert got["orders"] == 500 and got["revenue"] == pytest.approx(values.sum())
    assert got["mean"] == pytest.approx(values.mean()) and got["median"] == pytest.approx(np.median(values))
    for q in (10, 25, 75, 90, 99):
        assert got[f"p{q}"] == pytest.approx(np.percentile(values, q))
    assert got["skewness"] == pytest.approx(sps.skew(values, bias=False))
    assert got["share_below_mean"] == pytest.approx((values < values.mean()).mean())
    assert got["mean_to_median"] == pytest.approx(values.mean() / np.median(values))


def test_describe_order_values_says_why_the_mean_misleads():
    skewed = describe_order_values(
        pd.Series({"mean": 52.3, "median": 35.0, "skewness": 4.2, "share_below_mean": 0.68}), currency="EUR")
    assert skewed.startswith("The average order (AOV) is €52.30 but the median order is €35: 68 % of orders")
    assert "skewness 4.2" in skewed
    even = describe_order_values(pd.Series({"mean": 50.0, "median": 49.0, "skewness": 0.1, "share_below_mean": 0.5}))
    assert "fair picture" in even and "$50" in even


def _independent_flags(values, k):
    logs = np.log(values[values > 0])
    center = np.median(logs)
    mad = 1.4826 * np.median(np.abs(logs - center))
    with np.errstate(divide="ignore"):
        z = (np.log(values) - center) / mad
    return z > k


def test_large_orders_match_an_independent_median_mad_rule(rng):
    n = 600
    revenue = np.round(rng.lognormal(3.5, 0.6, n), 2)
    quantity = rng.integers(1, 5, n).astype(float)
    revenue[[5, 50, 500]] = [4000.0, 2500.0, 0.0]  # two big orders and a free one (never flagged)
    quantity[[7, 50]] = [60.0, 80.0]  # bulk buys
    orders = _orders([(f"c{i % 90}", v) for i, v in enumerate(revenue)], quantity=quantity)
    got = large_orders(orders, k=3.5)
    by_value, by_quantity = _independent_flags(revenue, 3.5), _independent_flags(quantity, 3.5)
    expected = set(orders["order_id"][by_value | by_quantity])
    assert set(got["order_id"]) == expected and {"o5", "o7", "o50"} <= expected and "o500" not in expected
    assert got.set_index("order_id").loc["o50", "large_by"] == "revenue and quantity"
    assert got.set_index("order_id").loc["o7", "large_by"] == "quantity"
    assert got["revenue"].is_monotonic_decreasing
    logs = np.log(revenue[revenue > 0])
    mad = 1.4826 * np.median(np.abs(logs - np.median(logs)))
    assert got.attrs["thresholds"]["revenue"] == pytest.approx(np.exp(np.median(logs) + 3.5 * mad))
    # Value only, and a stricter k flags a subset.
    value_only = large_orders(orders, on=["revenue"], k=6)
    assert set(value_only["order_id"]) == set(orders["order_id"][_independent_flags(revenue, 6)])
    assert "quantity_z" not in value_only.columns


def test_large_orders_when_most_orders_share_one_value():
    # Seven orders of 20 make the MAD 0; the mean absolute deviation stands in, so 500 is flagged and 25 is not.
    orders = _orders([("a", 20)] * 7 + [("b", 25), ("c", 500)])
    assert large_orders(orders)["revenue"].tolist() == [500]
    assert large_orders(_orders([("a", 20)] * 5)).empty


def test_business_buyers_and_high_aov_customers_worked_by_hand():
    # Twenty ordinary orders of 30-49; x has one order of 5,000 plus one of 40; a guest spends 6,000.
    rows = [(f"n{i}", 30 + i) for i in range(20)] + [("x", 5000), ("x", 40), (None, 6000)]
    orders = _orders(rows)
    buyers = business_buyers(orders)
    assert buyers.index.tolist() == ["x"]
    assert buyers.loc["x"].tolist() == [1, 5000, 2, 5040, 5000]
    customers = customer_summary(orders)
    # Store AOV with the guest: (sum 30..49 = 790, + 5,040 + 6,000) / 23 = 514.3; only x (2,520) is above 2×.
    high = high_aov_customers(customers, store_aov=store_aov(orders))
    assert high.index.tolist() == ["x"]
    assert high.loc["x", "aov_multiple"] == pytest.approx(2520 / (11830 / 23))
    # Without the store AOV, the customers' own: 5,830 / 22 = 265 -> x's 2,520 is 9.5×.
    assert high_aov_customers(customers).loc["x", "aov_multiple"] == pytest.approx(2520 / (5830 / 22))


def test_headlines_worked_by_hand():
    # a: 350 + 100 (AOV 225); b 50; c 30; d 20. Store: 550 over 5 orders, AOV 110, band edges 55 and 220.
    orders = _orders([("a", 350), ("a", 100), ("b", 50), ("c", 30), ("d", 20)])
    customers = customer_summary(orders)
    lines = pareto_headlines(customers, orders, currency="EUR")
    skew = sps.skew([350, 100, 50, 30, 20], bias=False)
    assert lines[0] == "Your top 20 % of customers (1 person) bring 82 % of revenue."  # ceil(0.8) = 1: 450 / 550
    assert lines[1] == "25 % of customers make 80 % of revenue."
    assert lines[2] == ("Repeat customers are 25 % of customers (1) and make 82 % of revenue; one-time buyers are "
                        "75 % and make 18 %.")
    assert lines[3] == ("Customers spending more than twice the store AOV (€110) are 25 % of customers and make 82 % "
                        "of revenue; those spending up to half of it are 75 % of customers and make 18 %.")
    # Mean 110, median 50; 100, 50, 30, 20 are below the mean.
    assert lines[4].startswith(f"The average order (AOV) is €110 but the median order is €50: 80 % of orders are "
                               f"below the average, because a few large orders (skewness {skew:.1f})")
    # Ascending 20, 30, 50, 450 weighted -3, -1, 1, 3: 1,310 / (4 × 550) = 0.595.
    assert lines[5].startswith("The Gini coefficient of revenue across customers is 0.60 ")


def test_inputs_are_not_mutated():
    before = HAND.copy()
    aov_bands(HAND), aov_bands(HAND, by="order"), order_value_stats(HAND), large_orders(HAND), business_buyers(HAND)
    pd.testing.assert_frame_equal(HAND, before)


def test_store_figures_and_large_order_sentence_hand_worked():
    import clvlib

    orders = pd.DataFrame({"customer_id": ["a", "a", "b", None], "order_id": ["1", "2", "3", "4"],
                           "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01", "2024-02-02"]),
                           "revenue": [30.0, 50.0, 20.0, 100.0]})
    figures = clvlib.store_figures(orders)
    # Store AOV: 200 over 4 orders, the guest's included; a repeats, b does not; the top customer has 80 of 100.
    assert figures[["aov", "repeat_rate", "one_time_share", "top20_share", "guest_orders"]].tolist() == [
        50.0, 0.5, 0.5, 0.8, 1.0]
    many = pd.DataFrame({"customer_id": list("abcdefgh"), "revenue": [20.0, 22, 25, 21, 23, 24, 20, 900]})
    text = clvlib.describe_large_orders(clvlib.large_orders(many), clvlib.business_buyers(many), many)
    assert text.startswith("1 order flagged (revenue above ") and text.endswith("1 customer placed them (85.3 % of all revenue).")
