"""clvlib.pareto: a 10-customer store worked on paper, independent loop computations, properties, CDNOW."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlib import (
    DataError, customer_summary, gini, load_cdnow, lorenz_curve, repeat_buyers, repeat_split, repeat_split_by_period,
    share_for_value, top_customers, top_share, top_share_by_period,
)
from clvlib.config import DATA_DIR

# Ten customers, total revenue 1,000. Sorted descending: a 400, b 200, c 100, d 80, e 60, f/g/h 40, i/j 20.
# Repeat customers (more than one order): a (4 orders), b (2), d (2).
TEN = pd.DataFrame(
    {
        "total_revenue": [400.0, 200, 100, 80, 60, 40, 40, 40, 20, 20],
        "n_orders": [4, 2, 1, 2, 1, 1, 1, 1, 1, 1],
    },
    index=pd.Index(list("abcdefghij"), name="customer_id"),
)


def _customers(values) -> pd.DataFrame:
    values = np.asarray(values, dtype=float)
    return pd.DataFrame({"total_revenue": values}, index=pd.Index([f"c{i:03d}" for i in range(len(values))],
                                                                  name="customer_id"))


def test_top_share_worked_by_hand():
    got = top_share(TEN, fractions=[0.01, 0.1, 0.2, 0.3, 0.5, 1.0])
    # k = ceil(f × 10): 1% -> 1 (400), 10% -> 1 (400), 20% -> 2 (600), 30% -> 3 (700; 0.3 × 10 is
    # 3.0000000000000004 in floating point, which must not become 4), 50% -> 5 (840), 100% -> 10 (1000).
    assert got["k"].tolist() == [1, 1, 2, 3, 5, 10]
    assert got["value"].tolist() == [400, 400, 600, 700, 840, 1000]
    np.testing.assert_allclose(got["share"], [0.4, 0.4, 0.6, 0.7, 0.84, 1.0])
    np.testing.assert_allclose(got["customer_share"], [0.1, 0.1, 0.2, 0.3, 0.5, 1.0])
    assert got.index.name == "fraction"


def test_share_for_value_lorenz_and_gini_worked_by_hand():
    # Running top shares 0.4, 0.6, 0.7, 0.78, 0.84: 80 % needs 5 customers (50 %), 70 % exactly 3 (30 %).
    assert share_for_value(TEN, target=0.8) == pytest.approx(0.5)
    assert share_for_value(TEN, target=0.7) == pytest.approx(0.3)
    assert share_for_value(TEN, target=1.0) == pytest.approx(1.0)
    lorenz = lorenz_curve(TEN)
    # The bottom 80 % (8 smallest) make 1000 - 600 = 400, i.e. 40 %; the bottom 20 % make 40 (4 %).
    assert lorenz.loc[8, "customer_share"] == pytest.approx(0.8)
    assert lorenz.loc[8, "value_share"] == pytest.approx(0.4)
    assert lorenz.loc[2, "value_share"] == pytest.approx(0.04)
    # Ascending 20,20,40,40,40,60,80,100,200,400 with weights 2i - 11 = -9,-7,...,9:
    # -180 -140 -200 -120 -40 +60 +240 +500 +1400 +3600 = 5120, over n × total = 10,000 -> 0.512.
    assert gini(TEN) == pytest.approx(0.512)


def test_repeat_split_worked_by_hand():
    got = repeat_split(TEN)
    # repeat: a, b, d -> 3 customers, 8 orders, 680 revenue, AOV 85; one-time: 7 customers, 7 orders, 320.
    assert got.loc["repeat", ["customers", "orders", "revenue"]].tolist() == [3, 8, 680]
    assert got.loc["one-time", ["customers", "orders", "revenue"]].tolist() == [7, 7, 320]
    assert got.loc["repeat", "customer_share"] == pytest.approx(0.3)
    assert got.loc["repeat", "revenue_share"] == pytest.approx(0.68)
    assert got.loc["repeat", "order_share"] == pytest.approx(8 / 15)
    assert got.loc["repeat", "aov"] == pytest.approx(85)
    assert got.loc["one-time", "aov"] == pytest.approx(320 / 7)


def test_lists_break_ties_by_id_whatever_the_row_order():
    # f, g, h all spent 40: the 6th and 7th places go to f and g (by id), in any input order.
    shuffled = TEN.sample(frac=1.0, random_state=3)
    for table in (TEN, shuffled):
        got = top_customers(table, n=7)
        assert got.index.tolist() == list("abcdefg")
        assert got["rank"].tolist() == list(range(1, 8))
        assert got["cumulative_share"].iloc[-1] == pytest.approx(0.92)
    buyers = repeat_buyers(shuffled)
    assert buyers.index.tolist() == ["a", "b", "d"]
    assert buyers["cumulative_share"].tolist() == pytest.approx([0.4, 0.6, 0.68])


def test_tiny_stores():
    one = _customers([25.0])
    got = top_share(one)
    assert (got["k"] == 1).all() and np.allclose(got["share"], 1.0)
    assert gini(one) == 0.0
    assert lorenz_curve(one).to_numpy().tolist() == [[0.0, 0.0], [1.0, 1.0]]
    # Three customers, n < 1/fraction: the top 20 % is the single best customer.
    three = _customers([10.0, 30.0, 60.0])
    assert top_share(three, fractions=[0.2]).loc[0.2, ["k", "share"]].tolist() == [1, 0.6]


def test_bad_inputs():
    with pytest.raises(DataError, match="`revenue_total`"):
        top_share(TEN, column="revenue_total")
    with pytest.raises(DataError, match="negative"):
        gini(_customers([10.0, -1.0]))
    with pytest.raises(DataError, match="sums to 0"):
        lorenz_curve(_customers([0.0, 0.0]))
    with pytest.raises(DataError, match="empty"):
        top_share(_customers([]))
    with pytest.raises(DataError, match="missing values"):
        gini(_customers([1.0, np.nan]))
    with pytest.raises(ValueError, match="`fractions`"):
        top_share(TEN, fractions=[0.0])
    with pytest.raises(ValueError, match=r"The value for `freq` must be one of \['Y', 'Q', 'M'\], but 'W'"):
        top_share_by_period(_random_orders(np.random.default_rng(0), 20), freq="W")


def test_inputs_are_not_mutated():
    before = TEN.copy()
    top_share(TEN), lorenz_curve(TEN), gini(TEN), repeat_split(TEN), top_customers(TEN), repeat_buyers(TEN)
    pd.testing.assert_frame_equal(TEN, before)


# --- properties ---------------------------------------------------------------------------------------------

spends = st.lists(st.floats(0, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=60).filter(
    lambda v: sum(v) > 0)


@settings(max_examples=60, deadline=None)
@given(spends, st.lists(st.floats(0.001, 1.0), min_size=1, max_size=8))
def test_top_share_is_non_decreasing_and_ends_at_one(values, fractions):
    fractions = sorted(set(fractions)) + [1.0]
    got = top_share(_customers(values), fractions=fractions)
    assert (np.diff(got["share"].to_numpy()) >= -1e-12).all()
    assert got["share"].iloc[-1] == pytest.approx(1.0)
    # Independent: the top ceil(f n) values summed by a plain sort.
    desc = sorted(values, reverse=True)
    for f, row in got.iterrows():
        k = max(1, math.ceil(round(f * len(values), 9)))
        assert row["share"] == pytest.approx(sum(desc[:k]) / sum(values), rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(spends)
def test_lorenz_runs_corner_to_corner_convex_below_diagonal(values):
    curve = lorenz_curve(_customers(values))
    x, y = curve["customer_share"].to_numpy(), curve["value_share"].to_numpy()
    assert (x[0], y[0]) == (0.0, 0.0) and x[-1] == 1.0 and y[-1] == pytest.approx(1.0)
    assert (y <= x + 1e-12).all()
    slopes = np.diff(y) / np.diff(x)
    assert (np.diff(slopes) >= -1e-9 * max(1.0, slopes.max())).all()
    # Gini = 1 - 2 × area under the Lorenz curve (trapezoids), and = mean absolute difference / (2 × mean).
    area = np.sum((y[1:] + y[:-1]) / 2 * np.diff(x))
    g = gini(_customers(values))
    assert g == pytest.approx(1 - 2 * area, abs=1e-9)
    v = np.asarray(values)
    assert g == pytest.approx(np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) ** 2 * v.mean()), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 200), st.floats(0.01, 1e5))
def test_gini_extremes(n, amount):
    assert gini(_customers([amount] * n)) == pytest.approx(0.0, abs=1e-12)
    # One customer holds everything: (n - 1) / n, which tends to 1 as the store grows.
    assert gini(_customers([0.0] * (n - 1) + [amount])) == pytest.approx((n - 1) / n)


@settings(max_examples=60, deadline=None)
@given(spends, st.floats(0.01, 1.0))
def test_share_for_value_is_the_smallest_sufficient_share(values, target):
    desc = np.sort(np.asarray(values))[::-1]
    running = np.cumsum(desc) / desc.sum()
    k = next(i + 1 for i, s in enumerate(running) if s >= target - 1e-12)
    assert share_for_value(_customers(values), target=target) == pytest.approx(k / len(values))


# --- per period, against a loop over periods ----------------------------------------------------------------

def _random_orders(rng, n) -> pd.DataFrame:
    days = rng.integers(0, 900, n)
    ids = rng.integers(0, max(3, n // 4), n).astype(str).astype(object)
    ids[rng.random(n) < 0.1] = None  # guests
    return pd.DataFrame({
        "customer_id": pd.array(ids, dtype="str"),
        "order_id": [str(i) for i in range(n)],
        "order_date": pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D"),
        "revenue": np.round(rng.lognormal(3.5, 1.0, n), 2),
    })


def _loop_gini(x):
    x = np.sort(np.asarray(x, dtype=float))
    return np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())


@pytest.mark.parametrize("freq", ["Y", "Q"])
def test_by_period_tables_match_a_loop(rng, freq):
    orders = _random_orders(rng, 400)
    got = top_share_by_period(orders, freq=freq, fraction=0.2)
    split = repeat_split_by_period(orders, freq=freq)
    known = orders[orders["customer_id"].notna()]
    periods = known["order_date"].dt.to_period(freq)
    assert got.index.tolist() == sorted(periods.unique().tolist())
    for period, chunk in known.groupby(periods):
        per = chunk.groupby("customer_id")["revenue"].agg(["sum", "size"])
        desc = sorted(per["sum"], reverse=True)
        k = math.ceil(round(0.2 * len(per), 9))
        row = got.loc[period]
        assert (row["customers"], row["k"]) == (len(per), k)
        assert row["share"] == pytest.approx(sum(desc[:k]) / sum(desc))
        assert row["gini"] == pytest.approx(_loop_gini(per["sum"]))
        rep = per[per["size"] > 1]
        one = per[per["size"] == 1]
        srow = split.loc[period]
        assert srow["repeat_customers"] == len(rep)
        assert srow["repeat_revenue_share"] == pytest.approx(rep["sum"].sum() / per["sum"].sum())
        assert srow["one_time_aov"] == pytest.approx(one["sum"].sum() / len(one))
        if len(rep):
            assert srow["repeat_aov"] == pytest.approx(rep["sum"].sum() / rep["size"].sum())


# --- CDNOW: the notebook's figures against plain pandas --------------------------------------------------------

@pytest.fixture(scope="module")
def cdnow_orders() -> pd.DataFrame:
    df = pd.read_csv(DATA_DIR / "cdnow" / "CDNOW_master.txt", sep=r"\s+", header=0,
                     names=["customer_id", "date", "quantity", "revenue"], dtype={"customer_id": str, "date": str})
    df["order_date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    df["order_id"] = df.index.astype(str)
    return df[["customer_id", "order_id", "order_date", "revenue", "quantity"]]


def test_cdnow_concentration_matches_plain_pandas(cdnow_orders):
    # clvlib's side goes through the notebook's loader; the independent side reads the raw file with pandas.
    loaded = load_cdnow()
    customers = customer_summary(loaded)
    per = cdnow_orders.groupby("customer_id")["revenue"].agg(["sum", "size"])
    desc = per["sum"].sort_values(ascending=False).to_numpy()
    n, total = len(desc), desc.sum()
    assert n == 23570
    table = top_share(customers)
    for f in (0.01, 0.05, 0.1, 0.2, 0.5):
        assert table.loc[f, "share"] == pytest.approx(desc[: math.ceil(round(f * n, 9))].sum() / total)
    # The reference store: the top 10 % bring about half, the top 20 % about two thirds.
    assert table.loc[0.1, "share"] == pytest.approx(0.509, abs=0.001)
    assert table.loc[0.2, "share"] == pytest.approx(0.678, abs=0.001)
    asc = desc[::-1]
    assert gini(customers) == pytest.approx(((2 * np.arange(1, n + 1) - n - 1) * asc).sum() / (n * total))
    split = repeat_split(customers)
    repeat = per[per["size"] > 1]
    assert split.loc["repeat", "customers"] == len(repeat)
    assert split.loc["repeat", "revenue_share"] == pytest.approx(repeat["sum"].sum() / total)
    yearly = top_share_by_period(loaded, freq="Y")
    y98 = cdnow_orders[cdnow_orders["order_date"].dt.year == 1998].groupby("customer_id")["revenue"].sum()
    top98 = y98.sort_values(ascending=False).iloc[: math.ceil(0.2 * len(y98))].sum() / y98.sum()
    assert yearly.loc[pd.Period("1998", "Y"), "share"] == pytest.approx(top98)


def test_customer_shares_and_sentences_hand_worked():
    import clvlib

    customers = pd.DataFrame({"n_orders": [1, 1, 1, 3, 2], "total_revenue": [10.0, 20, 30, 60, 80]})
    shares = clvlib.customer_shares(customers)
    # 2 of 5 came back; the top ceil(0.2 × 5) = 1 customer brings 80 of 200.
    assert shares.to_dict() == {"customers": 5.0, "repeat_rate": 0.4, "one_time_share": 0.6, "top_share": 0.4}
    split = clvlib.repeat_split(customers)
    # One-time: 3 customers, 60 of 200 revenue (30 %); repeat: 140 / 2 = 70 a head; 10 % of 3 × (70 − 20) = 15.
    assert clvlib.describe_repeat_split(split) == (
        "60 % of customers bought once and made 30 % of revenue. Turning 10 % of them into repeat customers at the "
        "repeat customers' revenue per head (\\$70) would add about \\$15 of revenue.")
    assert clvlib.describe_concentration(customers, column="total_revenue").startswith("Gini coefficient: **0.36**")
    assert clvlib.describe_top_share(customers, column="total_revenue", fraction=0.2, label="revenue") == (
        "The 20 % of customers with the highest revenue hold **40 %** of it.")
