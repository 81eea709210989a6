"""clvlib.clv: the teaching formula, retention CLV, what-if, store inputs, historical and profit CLV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlib import (
    DataError, historical_clv, margin_rate, order_profit, profit_clv, profit_gap_table, retention_clv, simple_clv,
    describe_store_inputs, store_clv_inputs, what_if_table,
)


def _orders(rows, columns=("customer_id", "order_date", "revenue")):
    df = pd.DataFrame(rows, columns=list(columns))
    df["order_date"] = pd.to_datetime(df["order_date"])
    df.insert(1, "order_id", [str(i) for i in range(len(df))])
    return df


# --- simple_clv ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("aov", "per_year", "years", "expected"), [
    (200, 4, 3, 2400.0),    # the seed examples of issue 4
    (50, 4, 3, 600.0),
    (30, 12, 1, 360.0),     # $30 a month for 12 months
])
def test_simple_clv_seed_examples(aov, per_year, years, expected):
    assert simple_clv(aov=aov, purchases_per_year=per_year, years=years) == pytest.approx(expected)


def test_simple_clv_margin_and_discounting_by_hand():
    # Yearly value 200 × 4 × 0.3 = 240, received at the end of years 1, 2, 3, discounted at 10 %.
    expected = 240 / 1.1 + 240 / 1.1**2 + 240 / 1.1**3
    assert simple_clv(aov=200, purchases_per_year=4, years=3, margin=0.3,
                      annual_discount_rate=0.1) == pytest.approx(expected)
    assert expected == pytest.approx(596.84, abs=0.005)


def test_simple_clv_fractional_years_pay_the_last_part_when_the_customer_leaves():
    # 2.5 years: full years at t = 1, 2, then half a year's value at t = 2.5.
    v = 100 * 2
    expected = v / 1.08 + v / 1.08**2 + 0.5 * v / 1.08**2.5
    assert simple_clv(aov=100, purchases_per_year=2, years=2.5, annual_discount_rate=0.08) == pytest.approx(expected)
    assert simple_clv(aov=100, purchases_per_year=2, years=2.5) == pytest.approx(500.0)
    assert simple_clv(aov=100, purchases_per_year=2, years=0) == 0.0


def test_simple_clv_is_vectorised_and_keeps_a_series_index():
    aov = pd.Series([200.0, 50.0], index=["store A", "store B"])
    got = simple_clv(aov=aov, purchases_per_year=4, years=3)
    assert isinstance(got, pd.Series) and list(got.index) == ["store A", "store B"]
    np.testing.assert_allclose(got.to_numpy(), [2400.0, 600.0])
    arr = simple_clv(aov=np.array([100.0, 100.0]), purchases_per_year=1, years=np.array([1.0, 2.0]),
                     annual_discount_rate=np.array([0.0, 0.1]))
    np.testing.assert_allclose(arr, [100.0, 100 / 1.1 + 100 / 1.21])


@settings(max_examples=60, deadline=None)
@given(
    aov=st.floats(1, 500), per_year=st.floats(0.1, 20), years=st.floats(0, 10), rate=st.floats(0.001, 0.5),
)
def test_simple_clv_discounting_matches_a_cash_flow_loop(aov, per_year, years, rate):
    v = aov * per_year
    n = int(np.floor(years))
    loop = sum(v / (1 + rate) ** k for k in range(1, n + 1)) + (years - n) * v / (1 + rate) ** years
    got = simple_clv(aov=aov, purchases_per_year=per_year, years=years, annual_discount_rate=rate)
    assert got == pytest.approx(loop, rel=1e-9, abs=1e-9)
    assert got <= simple_clv(aov=aov, purchases_per_year=per_year, years=years) + 1e-9


def test_simple_clv_rejects_impossible_arguments():
    with pytest.raises(ValueError, match="`years`"):
        simple_clv(aov=100, purchases_per_year=2, years=-1)
    with pytest.raises(ValueError, match="`annual_discount_rate`"):
        simple_clv(aov=100, purchases_per_year=2, years=1, annual_discount_rate=-1.0)


# --- retention_clv -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("m", "r", "d"), [(100.0, 0.8, 0.1), (35.0, 0.6, 0.0), (12.5, 0.95, 0.01)])
def test_retention_clv_equals_the_truncated_infinite_sum(m, r, d):
    t = np.arange(1, 5001)
    explicit = float(np.sum(m * r**t / (1 + d) ** t))
    assert retention_clv(margin_per_period=m, retention_rate=r, discount_rate=d) == pytest.approx(explicit, rel=1e-9)


def test_retention_clv_by_hand_and_vectorised():
    assert retention_clv(margin_per_period=100, retention_rate=0.8, discount_rate=0.1) == pytest.approx(80 / 0.3)
    got = retention_clv(margin_per_period=pd.Series([100.0, 50.0], index=["x", "y"]), retention_rate=0.5,
                        discount_rate=0.0)
    assert list(got.index) == ["x", "y"] and got.tolist() == pytest.approx([100.0, 50.0])
    with pytest.raises(ValueError, match="`retention_rate`"):
        retention_clv(margin_per_period=100, retention_rate=1.0, discount_rate=0.1)


# --- what_if_table ------------------------------------------------------------------------------------------------

def test_what_if_table_by_hand():
    got = what_if_table(aov=200, purchases_per_year=4, years=3)
    assert list(got.index) == ["baseline", "+10 % AOV", "+1 purchase a year", "+1 year of life", "all three"]
    assert got["clv"].tolist() == pytest.approx([2400, 2640, 3000, 3200, 220 * 5 * 4])
    assert got["change"].tolist() == pytest.approx([0, 240, 600, 800, 2000])
    assert got["change_pct"].tolist() == pytest.approx([0, 0.1, 0.25, 1 / 3, 2000 / 2400])


def test_what_if_table_with_margin_discount_and_other_levers():
    got = what_if_table(aov=50, purchases_per_year=2, years=1.5, margin=0.4, annual_discount_rate=0.1, aov_uplift=0.2,
                        extra_purchases=2,
                        extra_years=0.5)
    assert "+2 purchases a year" in got.index and "+0.5 years of life" in got.index
    assert got.loc["all three", "clv"] == pytest.approx(simple_clv(aov=60, purchases_per_year=4, years=2, margin=0.4,
                                                                   annual_discount_rate=0.1))
    assert got.loc["+20 % AOV", "change_pct"] == pytest.approx(0.2)


# --- store_clv_inputs -----------------------------------------------------------------------------------------------

def test_store_clv_inputs_by_hand():
    # Previous year (2023-01-01 .. 2023-12-31): a, b, c active. Last year (2024-01-01 .. 2024-12-31): a, c, d.
    orders = _orders([
        ("a", "2023-02-01", 50.0), ("b", "2023-03-01", 20.0), ("c", "2023-01-01", 30.0),
        ("a", "2024-01-10", 100.0), ("a", "2024-06-10", 60.0), ("c", "2024-03-03", 40.0),
        ("d", "2024-12-31", 100.0), (None, "2024-05-05", 999.0),
    ])
    got = store_clv_inputs(orders, as_of="2024-12-31")
    assert got.attrs["period_months"] == 12
    v = got["value"]
    assert v["aov"] == pytest.approx(300 / 4)                # guests left out
    assert v["purchases_per_year"] == pytest.approx(4 / 3)   # 4 orders / 3 active customers
    assert v["retention_rate"] == pytest.approx(2 / 3)       # a and c of {a, b, c}
    assert v["churn_rate"] == pytest.approx(1 / 3)
    assert v["lifespan_years"] == pytest.approx(3.0)
    assert v["simple_clv"] == pytest.approx(75 * 4 / 3 * 3)
    assert "gross_margin_rate" not in got.index
    assert got.loc["aov", "computation"] == "300.00 / 4"
    assert set(got.columns) == {"value", "unit", "formula", "computation"}


def test_store_clv_inputs_short_history_uses_shorter_periods_and_annualises():
    # 4 months of orders -> two 2-month periods: Mar-Apr (last) and Jan-Feb (previous).
    orders = _orders([
        ("a", "2024-01-01", 10.0, 4.0), ("b", "2024-02-01", 10.0, 4.0), ("a", "2024-03-05", 30.0, 12.0),
        ("c", "2024-04-30", 10.0, 4.0),
    ], columns=("customer_id", "order_date", "revenue", "cost"))
    got = store_clv_inputs(orders)
    assert got.attrs["period_months"] == 2
    assert got.loc["purchases_per_year", "value"] == pytest.approx(2 / 2 * 6)
    assert got.loc["retention_rate", "value"] == pytest.approx(0.5**6)
    assert got.loc["gross_margin_rate", "value"] == pytest.approx(24 / 40)
    with pytest.raises(DataError, match="two periods"):
        store_clv_inputs(orders, period_months=3)


# --- historical and profit CLV --------------------------------------------------------------------------------------

def test_historical_clv_revenue_margin_and_column():
    customers = pd.DataFrame({"n_orders": [2, 1], "total_revenue": [100.0, 30.0], "profit": [41.0, 9.0]},
                             index=pd.Index(["a", "b"], name="customer_id"))
    before = customers.copy()
    assert historical_clv(customers)["historical_clv"].tolist() == [100.0, 30.0]
    assert historical_clv(customers, margin=0.3)["historical_clv"].tolist() == pytest.approx([30.0, 9.0])
    assert historical_clv(customers, margin="profit")["historical_clv"].tolist() == [41.0, 9.0]
    pd.testing.assert_frame_equal(customers, before)
    with pytest.raises(DataError, match="`gross`"):
        historical_clv(customers, margin="gross")


def test_order_profit_prefers_gross_margin_then_cost_then_margin():
    orders = pd.DataFrame({"revenue": [10.0, 20.0], "cost": [4.0, 5.0]})
    assert order_profit(orders).tolist() == [6.0, 15.0]
    assert order_profit(orders.assign(gross_margin=[1.0, 2.0])).tolist() == [1.0, 2.0]
    assert order_profit(orders, margin=0.5).tolist() == [5.0, 10.0]
    assert order_profit(orders.drop(columns="cost")).tolist() == [10.0, 20.0]


def test_profit_clv_shows_the_first_order_gap():
    # The example: a first order worth $29 of profit, then $275 more over the customer's life -> $304.
    orders = _orders([
        ("x", "2024-01-01", 100.0, 71.0), ("x", "2024-03-01", 250.0, 125.0), ("x", "2024-06-01", 300.0, 150.0),
        ("y", "2024-02-01", 40.0, 50.0), ("y", "2024-02-01", 60.0, 30.0), (None, "2024-02-02", 9.0, 1.0),
    ], columns=("customer_id", "order_date", "revenue", "cost"))
    before = orders.copy()
    got = profit_clv(orders, predicted=pd.Series({"x": 100.0}))
    pd.testing.assert_frame_equal(orders, before)
    x, y = got.loc["x"], got.loc["y"]
    assert (x.first_order_profit, x.lifetime_profit) == (29.0, 304.0)
    assert x.profit_multiple == pytest.approx(304 / 29)
    # Two orders on y's first day: the first by order_id is the first order; it lost money -> no multiple.
    assert y.first_order_profit == -10.0 and y.lifetime_profit == 20.0 and np.isnan(y.profit_multiple)
    assert (x.predicted_profit, x.total_profit, y.predicted_profit) == (100.0, 404.0, 0.0)
    assert got.loc["x", "n_orders"] == 3 and list(got.index) == ["x", "y"]
    assert profit_clv(orders, as_of="2024-03-31").loc["x", "lifetime_profit"] == 29.0 + 125.0


def test_profit_clv_matches_a_loop(rng):
    n = 200
    orders = pd.DataFrame({
        "customer_id": rng.choice(list("abcdefghij"), n),
        "order_id": [f"{i:04d}" for i in range(n)],
        "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D"),
        "revenue": rng.uniform(5, 100, n).round(2),
    })
    got = profit_clv(orders, margin=0.4)
    for cid in got.index:
        rows = sorted((r.order_date, r.order_id, r.revenue) for r in orders.itertuples() if r.customer_id == cid)
        assert got.loc[cid, "first_order_profit"] == pytest.approx(rows[0][2] * 0.4)
        assert got.loc[cid, "lifetime_profit"] == pytest.approx(sum(r[2] for r in rows) * 0.4)
        assert got.loc[cid, "n_orders"] == len(rows)


def test_profit_gap_table_by_hand():
    profits = pd.DataFrame({
        "n_orders": [1, 3, 2, 1], "first_order_profit": [10.0, 29.0, 20.0, 5.0],
        "lifetime_profit": [10.0, 304.0, 60.0, 5.0],
    }, index=pd.Index(list("abcd"), name="customer_id"))
    got = profit_gap_table(profits, top_share=0.25)
    assert list(got.index) == ["all customers", "one-time buyers", "repeat buyers", "top 25 %"]
    assert got["customers"].tolist() == [4, 2, 2, 1]
    assert got.loc["all customers", "first_order_profit"] == pytest.approx(16.0)
    assert got.loc["repeat buyers", "lifetime_profit"] == pytest.approx(182.0)
    assert got.loc["top 25 %", "multiple"] == pytest.approx(304 / 29)
    assert got.loc["one-time buyers", "multiple"] == pytest.approx(1.0)


def test_margin_rate_from_cost_from_argument_or_revenue():
    orders = pd.DataFrame({"revenue": [100.0, 300.0], "cost": [70.0, 150.0]})
    assert margin_rate(orders) == pytest.approx(180 / 400)
    assert margin_rate(orders.assign(gross_margin=[10.0, 30.0])) == pytest.approx(0.1)
    assert margin_rate(orders, margin=0.25) == 0.25
    assert margin_rate(orders.drop(columns="cost")) == 1.0
    with pytest.raises(ValueError, match="`margin`"):
        margin_rate(orders, margin=1.5)


def test_store_clv_inputs_absent_with_a_reason_when_history_is_too_short():
    one_day = _orders([("a", "2024-03-01", 10.0), ("b", "2024-03-01", 30.0)],
                      columns=("customer_id", "order_date", "revenue"))
    got = store_clv_inputs(one_day)
    assert got.empty and "shorter than two whole months" in got.attrs["unavailable"]
    assert describe_store_inputs(got).startswith("The simple formula's inputs cannot be estimated")


def test_describe_store_inputs_matches_the_table_and_says_when_nobody_churned():
    orders = _orders([
        ("a", "2024-01-01", 10.0), ("b", "2024-02-01", 10.0), ("a", "2024-03-05", 30.0), ("b", "2024-04-30", 10.0),
    ], columns=("customer_id", "order_date", "revenue"))
    got = store_clv_inputs(orders)
    assert got.loc["churn_rate", "value"] == 0  # both customers came back
    text = describe_store_inputs(got, currency="USD")
    assert "100 %" in text and "unbounded" in text and "inf" not in text


def test_describe_historical_clv_hand_worked():
    import clvlib

    history = clvlib.historical_clv(pd.DataFrame({"n_orders": [1, 1, 1, 3, 2],
                                                  "total_revenue": [10.0, 20, 30, 60, 80]}), margin=0.5)
    # CLV 5, 10, 15, 30, 40: total 100, mean 20, median 15; top 1 of 5 brings 80 of 200 revenue; 3 of 5 once.
    assert clvlib.describe_historical_clv(history, currency="EUR", label="margin") == (
        "5 customers have brought **€100** of margin in all: a mean of **€20** but a median of **€15**; the top "
        "20 % of customers brought **40 %** of revenue, and **60 %** bought only once.")


def test_profit_gap_sentence_without_repeat_buyers_says_so():
    from clvlib import describe_profit_gap, profit_clv, profit_gap_table

    orders = pd.DataFrame({"customer_id": ["a"], "order_id": ["1"], "order_date": pd.to_datetime(["2025-01-15"]),
                           "revenue": [42.5]})
    gap = profit_gap_table(profit_clv(orders, margin=0.4))
    assert gap.loc["repeat buyers", "customers"] == 0
    assert describe_profit_gap(gap).startswith("No customer has ordered twice yet")
