"""customer_summary and calibration_holdout: hand-worked examples, the published CDNOW summary, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlib import DataError, calibration_holdout, customer_summary


def _orders(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"])
    df["order_date"] = pd.to_datetime(df["order_date"])
    return df


def test_summary_worked_by_hand():
    # a: orders on Jan 1 (10 + 5, one purchase day), Jan 8 (30) and Jan 22 (20) -> 2 repeat days.
    # b: a single order. c: an order after as_of only -> not a customer yet. Guest order: not a customer.
    orders = _orders([
        ("a", "2024-01-01", 10.0), ("a", "2024-01-01", 5.0), ("a", "2024-01-08", 30.0), ("a", "2024-01-22", 20.0),
        ("b", "2024-01-15", 40.0), ("c", "2024-02-10", 99.0), (None, "2024-01-03", 7.0),
    ])
    got = customer_summary(orders, as_of="2024-01-29", time_unit="W")
    assert list(got.index) == ["a", "b"]
    a, b = got.loc["a"], got.loc["b"]
    assert a.frequency == 2 and a.n_orders == 4
    assert a.recency == pytest.approx(21 / 7) and a["T"] == pytest.approx(28 / 7)
    assert a.monetary_value == pytest.approx((30 + 20) / 2)
    assert a.total_revenue == pytest.approx(65.0) and a.aov == pytest.approx(65 / 4)
    assert a.first_order == pd.Timestamp("2024-01-01") and a.last_order == pd.Timestamp("2024-01-22")
    assert (b.frequency, b.recency, b.monetary_value) == (0, 0, 0)
    assert b["T"] == pytest.approx(14 / 7)
    assert got.attrs["guest_orders"] == 1 and got.attrs["time_unit"] == "W"
    assert got.attrs["orders_after_as_of"] == 1


def test_as_of_defaults_to_last_order_and_months_use_mean_month():
    orders = _orders([("a", "2024-01-01", 10.0), ("a", "2024-03-01", 10.0)])
    got = customer_summary(orders, time_unit="M")
    assert got.loc["a", "T"] == pytest.approx(60 / 30.4375)
    assert got.attrs["as_of"] == "2024-03-01"


def test_bad_inputs_name_the_column():
    with pytest.raises(DataError, match="`revenue`"):
        customer_summary(pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2024-01-01"])}))
    with pytest.raises(DataError, match="`order_date`"):
        customer_summary(pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"], "revenue": [1.0]}))
    with pytest.raises(ValueError, match="`time_unit`"):
        customer_summary(_orders([("a", "2024-01-01", 1.0)]), time_unit="Y")


def test_cdnow_sample_calibration_summary_matches_published(cdnow_sample_orders):
    # Fader, Hardie & Lee (2005) summarise the 2,357-customer sample over a 39-week calibration period
    # (1997-01-01 .. 1997-09-30): 1,411 customers made no repeat purchase, 2,457 repeat transactions in all.
    # Customer 0001 ("ID 1" in the paper's data sheet): x = 2, t_x = 30.43, T = 38.86 weeks.
    cal = calibration_holdout(cdnow_sample_orders, calibration_end="1997-09-30", observation_end="1998-06-30",
                              time_unit="W")
    assert len(cal) == 2357
    assert (cal.frequency == 0).sum() == 1411
    assert cal.frequency.sum() == 2457
    first = cal.loc["0001"]
    assert (first.frequency, round(first.recency, 2), round(first["T"], 2)) == (2, 30.43, 38.86)
    assert cal.duration_holdout.iloc[0] == pytest.approx(39.0)


def test_holdout_counts_distinct_purchase_days_after_calibration():
    orders = _orders([
        ("a", "2024-01-01", 10.0), ("a", "2024-02-05", 3.0), ("a", "2024-02-05", 4.0), ("a", "2024-02-20", 1.0),
        ("b", "2024-02-02", 5.0),  # first order in the holdout: not in the calibration cohort
    ])
    got = calibration_holdout(orders, calibration_end="2024-01-31", observation_end="2024-02-29", time_unit="D")
    assert list(got.index) == ["a"]
    assert got.loc["a", "frequency_holdout"] == 2
    assert got.loc["a", "revenue_holdout"] == pytest.approx(8.0)
    assert got.loc["a", "duration_holdout"] == 29


def _naive_summary(orders, as_of):
    rows = {}
    for cid, g in orders.groupby("customer_id"):
        daily = g.groupby("order_date")["revenue"].sum().sort_index()
        freq = len(daily) - 1
        rows[cid] = dict(
            frequency=float(freq),
            recency=float((daily.index[-1] - daily.index[0]).days),
            T=float((as_of - daily.index[0]).days),
            monetary_value=float(daily.iloc[1:].mean()) if freq else 0.0,
            n_orders=len(g), total_revenue=float(g.revenue.sum()),
        )
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


@settings(max_examples=60, deadline=None)
@given(st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 60), st.floats(0.01, 500, allow_nan=False)),
    min_size=1, max_size=40,
))
def test_properties_against_a_naive_groupby(rows):
    orders = pd.DataFrame(rows, columns=["customer_id", "day", "revenue"])
    orders["customer_id"] = "c" + orders["customer_id"].astype(str)
    orders["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(orders.pop("day"), unit="D")
    as_of = orders.order_date.max()
    got = customer_summary(orders)
    assert ((got.recency >= 0) & (got.recency <= got["T"])).all()
    assert (got.frequency <= got.n_orders - 1).all()
    assert got.total_revenue.sum() == pytest.approx(orders.revenue.sum())
    expected = _naive_summary(orders, as_of)
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_names=False, check_dtype=False)


@pytest.mark.parametrize("storage", ["str", "object", "category", "arrow", "int"])
def test_every_id_storage_gives_the_same_summary(storage):
    # Each storage has its own encoder (Arrow dictionary encoding, categorical codes, pd.factorize); labels must come
    # out sorted and guests (missing ids) left out whichever is used.
    orders = _orders([
        ("30", "2024-01-03", 5.0), ("4", "2024-01-01", 10.0), ("30", "2024-01-03", 2.0), (None, "2024-01-02", 1.0),
        ("4", "2024-01-09", 6.0), ("200", "2024-01-05", 3.0), ("30", "2024-01-10", 8.0),
    ])
    expected = customer_summary(orders.assign(customer_id=orders.customer_id.astype(object)))
    ids = orders.customer_id
    if storage == "int":
        converted = ids.astype("Int64")
        expected.index = expected.index.astype("int64")
        expected = expected.sort_index()
    elif storage == "category":  # unsorted categories, one of them unused
        converted = ids.astype(pd.CategoricalDtype(["4", "zz", "30", "200"]))
    elif storage == "arrow":
        converted = ids.astype("string[pyarrow]")
    else:
        converted = ids.astype(storage)
    got = customer_summary(orders.assign(customer_id=converted))
    assert list(got.index) == list(expected.index)
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)
    assert got.attrs["guest_orders"] == 1
    thirty = 30 if storage == "int" else "30"  # orders on Jan 3 (two), Jan 10: one repeat day
    assert got.loc[thirty, "frequency"] == 1 and got.loc[thirty, "n_orders"] == 3


def test_two_thread_encoding_matches_the_single_thread_one(monkeypatch, rng):
    # Large id columns are encoded in two halves whose dictionaries are merged; force that path on a small table
    # where ids appear in one half only, in both halves, and missing.
    import clvlib.summary as summary

    n = 400
    ids = pd.Series(rng.choice([f"c{i:03d}" for i in range(120)], n), dtype="str")
    ids[:100] = ids[:100].str.replace("c", "early")  # ids only in the first half
    ids[rng.choice(n, 10, replace=False)] = None
    orders = pd.DataFrame({
        "customer_id": ids,
        "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
        "revenue": rng.uniform(5, 50, n).round(2),
    })
    expected = customer_summary(orders.assign(customer_id=ids.astype(object)))
    monkeypatch.setattr(summary, "_PARALLEL_ROWS", 10)
    got = customer_summary(orders)
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)
    assert got.attrs["guest_orders"] == 10


# Rows of the published 39-week calibration summary of the 2,357-customer CDNOW sample (ID, x, t_x, T, zbar), as
# distributed with Fader & Hardie's BG/NBD and Gamma-Gamma notes and in lifetimes
# (lifetimes/datasets/cdnow_customers_summary_with_transactions.csv, MIT licence). zbar is the mean value of the
# repeat transactions. A spread of customers: heavy and one-time buyers, early and late first purchases, extremes.
PUBLISHED_CDNOW_ROWS = [
    (1, 2, 30.43, 38.86, 22.35), (6, 7, 29.43, 38.86, 73.74), (17, 10, 34.14, 38.86, 24.24),
    (26, 1, 1.57, 38.71, 227.14), (46, 12, 34.43, 38.57, 29.54), (59, 1, 38.43, 38.43, 6.49),
    (157, 29, 37.71, 38.00, 26.26), (244, 5, 5.14, 37.29, 194.86), (325, 25, 27.29, 36.86, 37.21),
    (357, 1, 2.57, 36.71, 242.98), (509, 18, 35.14, 35.86, 78.63), (720, 7, 34.86, 34.86, 14.60),
    (841, 19, 34.00, 34.14, 29.49), (1017, 12, 32.43, 33.43, 12.86), (1136, 12, 17.71, 32.86, 51.97),
    (1310, 2, 8.00, 32.00, 173.04), (1516, 26, 30.86, 31.00, 39.97), (1539, 14, 29.86, 30.86, 18.13),
    (1580, 9, 12.00, 30.71, 24.46), (1696, 2, 17.71, 30.14, 245.21), (1863, 1, 28.57, 29.43, 2.99),
    (1887, 15, 23.86, 29.29, 19.83), (1901, 21, 4.71, 29.29, 299.63), (1981, 17, 28.43, 28.86, 48.23),
    (2089, 1, 28.29, 28.29, 12.99), (2220, 9, 25.29, 27.71, 15.81), (2332, 5, 13.00, 27.00, 146.96),
    (2356, 4, 26.57, 27.00, 33.32), (2357, 0, 0.00, 27.00, 0.00), (3, 0, 0.00, 38.86, 0.00),
]


@pytest.mark.parametrize("row", PUBLISHED_CDNOW_ROWS, ids=lambda r: f"ID{r[0]}")
def test_cdnow_sample_customers_match_the_published_summary(cdnow_sample_orders, row):
    cid, x, t_x, T, zbar = row
    cal = calibration_holdout(cdnow_sample_orders, calibration_end="1997-09-30", observation_end="1998-06-30",
                              time_unit="W")
    got = cal.loc[f"{cid:04d}"]
    assert got.frequency == x
    assert (round(got.recency, 2), round(got["T"], 2)) == (t_x, T)
    # Published to two decimals, rounded half up (ID 1310: (246.51 + 99.56) / 2 = 173.035 -> 173.04).
    assert got.monetary_value == pytest.approx(zbar, abs=0.005 + 1e-9)


def test_describe_orders_hand_worked():
    import clvlib

    orders = pd.DataFrame({"customer_id": ["a", "a", "b", None, None],
                           "order_date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-01", "2024-03-31",
                                                         "2024-03-31"])})
    assert clvlib.describe_orders(orders, as_of="2024-04-01", currency="USD", margin=1.0) == (
        "**5 orders** from 05 Jan 2024 to 31 Mar 2024, analysed as of **01 Apr 2024**, from **2 customers** "
        "(2 guest orders count towards store totals but not towards any customer). Money is in USD. CLV is "
        "**revenue** (margin rate 100 %).")


def test_customer_summary_warns_naming_the_orders_it_leaves_out():
    orders = pd.DataFrame({"customer_id": ["a", None, "a", "b"],
                           "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01", "2024-01-05"]),
                           "revenue": [10.0, 5.0, 30.0, 20.0]})
    with pytest.warns(UserWarning, match=r"1 order\(s\) after as_of 2024-01-31 and 1 guest order") as record:
        customer_summary(orders, as_of="2024-01-31")
    assert record[0].filename == __file__  # stacklevel: the caller's line
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = customer_summary(orders, as_of="2024-01-31", warn=False)
        customer_summary(orders.dropna())  # nothing left out: no warning
    assert (got.attrs["orders_after_as_of"], got.attrs["guest_orders"]) == (1, 1)
