"""The hard-case store simulators: determinism, the property each regime promises, and every layout's round trip."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib import read_transactions
from clvlib.datasets.stores import (STORE_CHANNELS, STORE_END, STORE_LAYOUTS, STORE_PRODUCTS, STORE_REGIMES,
                           simulate_marketing_spend, simulate_store, store_email, write_store)

REGIMES = list(STORE_REGIMES)


@pytest.fixture(scope="module")
def stores() -> dict[str, pd.DataFrame]:
    return {regime: simulate_store(regime) for regime in REGIMES}


def _purchase_days(orders: pd.DataFrame) -> pd.Series:
    return orders.assign(day=orders["order_date"].dt.normalize()).groupby("customer_id")["day"].nunique()


def _span_days(orders: pd.DataFrame) -> int:
    days = orders["order_date"].dt.normalize()
    return (days.max() - days.min()).days


def test_regimes_are_the_ten_named_ones_in_order():
    assert REGIMES == ["no_dropout", "all_dropout", "wholesalers", "one_time", "short_history", "long_history",
                       "one_day", "heavy_tail", "single_b2b", "tiny"]
    assert all(isinstance(v, str) and v.endswith(".") for v in STORE_REGIMES.values())


def test_unknown_regime_and_layout_are_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="`regime` must be one of"):
        simulate_store("huge")
    with pytest.raises(ValueError, match="`layout` must be one of"):
        write_store("tiny", tmp_path, layout="magento")


@pytest.mark.parametrize("regime", REGIMES)
def test_canonical_columns_and_small_sizes(stores, regime):
    orders = stores[regime]
    assert list(orders.columns) == ["customer_id", "order_id", "order_date", "revenue", "channel", "product"]
    assert orders["order_date"].dtype == "datetime64[ns]"
    assert orders["revenue"].dtype == "float64"
    for col in ("customer_id", "order_id", "channel", "product"):
        assert pd.api.types.is_string_dtype(orders[col]), col
    assert orders["order_id"].is_unique
    assert orders["order_date"].is_monotonic_increasing
    assert np.allclose(orders["revenue"], orders["revenue"].round(2), rtol=0, atol=1e-9)
    assert (orders["revenue"] >= 0).all()
    assert set(orders["channel"]) <= set(STORE_CHANNELS) and set(orders["product"]) <= set(STORE_PRODUCTS)
    assert 100 <= len(orders) <= 1_500 or regime == "tiny"
    assert orders["order_date"].max().normalize() == STORE_END  # fixed end date, never today's


@pytest.mark.parametrize("regime", REGIMES)
def test_deterministic_per_seed(stores, regime):
    pd.testing.assert_frame_equal(simulate_store(regime, seed=0), stores[regime])
    other = simulate_store(regime, seed=1)
    assert not (len(other) == len(stores[regime]) and np.array_equal(other["revenue"], stores[regime]["revenue"]))


def test_as_of_moves_the_whole_history():
    base = simulate_store("tiny", seed=3)
    moved = simulate_store("tiny", seed=3, as_of="2024-12-31")
    assert moved["order_date"].max().normalize() == pd.Timestamp("2024-12-31")
    shift = pd.Timestamp("2024-12-31") - STORE_END
    pd.testing.assert_series_equal(moved["order_date"], base["order_date"] + shift)
    pd.testing.assert_frame_equal(moved.drop(columns="order_date"), base.drop(columns="order_date"))


def test_no_dropout_everyone_exposed_long_keeps_buying(stores):
    orders = stores["no_dropout"]
    days = _purchase_days(orders)
    first = orders.groupby("customer_id")["order_date"].min()
    # With no dropout, customers who have had a year keep buying: nearly all of them have come back.
    old = first < STORE_END - pd.Timedelta(days=365)
    assert (days[old] > 1).mean() > 0.9
    assert orders.groupby("customer_id").size().max() > 5


def test_all_dropout_has_a_handful_of_repeaters(stores):
    days = _purchase_days(stores["all_dropout"])
    assert 1 <= (days > 1).sum() <= 10
    assert len(days) >= 300


def test_wholesalers_order_about_weekly_for_a_year_with_large_orders(stores):
    orders = stores["wholesalers"]
    counts = orders.groupby("customer_id").size()
    wholesale = counts.index[counts >= 30]
    assert 20 <= len(wholesale) <= 40
    mine = orders[orders["customer_id"].isin(wholesale)]
    gaps = mine.assign(day=mine["order_date"].dt.normalize()).groupby("customer_id")["day"].diff().dt.days.dropna()
    assert 6 <= gaps.median() <= 8
    life = mine.groupby("customer_id")["order_date"].agg(lambda d: (d.max() - d.min()).days)
    assert life.between(330, 366).all()
    retail = orders[~orders["customer_id"].isin(wholesale)]
    assert len(retail) > 50 and mine["revenue"].median() > 10 * retail["revenue"].median()


def test_one_time_95_percent_buy_once(stores):
    days = _purchase_days(stores["one_time"])
    assert (days == 1).mean() == pytest.approx(0.95, abs=0.03)


def test_short_history_is_three_months(stores):
    assert _span_days(stores["short_history"]) <= 92


def test_long_history_is_ten_years_of_cohorts(stores):
    orders = stores["long_history"]
    assert _span_days(orders) >= 9.5 * 365.25
    cohorts = orders.groupby("customer_id")["order_date"].min().dt.year
    assert cohorts.nunique() >= 10 and 100 <= len(cohorts) <= 600


def test_one_day_has_one_date_and_some_same_day_repeats(stores):
    orders = stores["one_day"]
    assert orders["order_date"].dt.normalize().nunique() == 1
    assert (_purchase_days(orders) == 1).all()
    assert (orders.groupby("customer_id").size() > 1).any()
    assert orders["order_date"].dt.hour.nunique() > 5  # times of day differ


def test_heavy_tail_values_and_zero_spend_repeats(stores):
    orders = stores["heavy_tail"]
    paid = orders.loc[orders["revenue"] > 0, "revenue"]
    assert paid.max() > 50 * paid.median()  # heavy tail
    assert (orders["revenue"] == 0.01).sum() >= 20  # token repeat purchases
    assert (orders["revenue"] == 0).sum() >= 10  # genuine zero orders, for the cleaning to exclude
    repeats = orders[orders["customer_id"].duplicated()]
    assert (repeats["revenue"] < 1).mean() > 0.2


def test_single_b2b_one_customer_brings_40_percent(stores):
    revenue = stores["single_b2b"].groupby("customer_id")["revenue"].sum().sort_values()
    assert revenue.iloc[-1] / revenue.sum() >= 0.3
    assert revenue.iloc[-2] / revenue.sum() < 0.05
    assert stores["single_b2b"]["customer_id"].value_counts().iloc[0] >= 30


def test_tiny_has_30_customers(stores):
    assert stores["tiny"]["customer_id"].nunique() == 30


def test_marketing_spend_covers_months_and_channels(stores):
    orders = stores["long_history"]
    spend = simulate_marketing_spend(orders, seed=0)
    assert list(spend.columns) == ["month", "channel", "spend"]
    months = pd.period_range(orders["order_date"].min(), orders["order_date"].max(), freq="M")
    assert len(spend) == len(months) * len(STORE_CHANNELS)
    read = clvlib.read_marketing_spend(spend)
    assert set(read["month"]) == set(months) and set(read["channel"]) == set(STORE_CHANNELS)
    assert (read["spend"] >= 0).all() and read["spend"].sum() > 0
    pd.testing.assert_frame_equal(simulate_marketing_spend(orders, seed=0), spend)


def _expected(orders: pd.DataFrame, layout: str) -> pd.Series:
    """Revenue per customer under the key the layout's reader uses (emails for the shop exports)."""
    per = orders[orders["revenue"] > 0].groupby("customer_id")["revenue"].sum()
    if layout in ("shopify", "woocommerce", "stripe"):
        per.index = store_email(pd.Series(per.index)).to_numpy()
    return per


@pytest.mark.parametrize("layout", list(STORE_LAYOUTS))
@pytest.mark.parametrize("regime", REGIMES)
def test_every_layout_reads_back_to_the_cent(stores, tmp_path, regime, layout):
    path = write_store(regime, tmp_path, layout=layout)
    assert path.name == STORE_LAYOUTS[layout] and (tmp_path / "marketing_spend.csv").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a status the reader does not know
        orders = read_transactions(path, preset=None if layout == "generic" else layout)
    truth = stores[regime]
    expected = _expected(truth, layout)
    got = orders.groupby("customer_id")["revenue"].sum()
    assert orders["customer_id"].notna().all()
    assert sorted(got.index) == sorted(expected.index)
    assert (got.reindex(expected.index) - expected).abs().max() < 0.005
    assert (orders["revenue"] > 0).all()
    # Every row is accounted for. Excluded are the genuine zero orders and the rows the layout adds that are not
    # purchases, counted here from the file itself.
    report = orders.attrs["cleaning"]
    assert report.rows_read == report.rows_kept + report.excluded["rows"].sum()
    excluded = report.excluded[report.excluded["rows"] > 0]
    zeros = int((truth["revenue"] == 0).sum())
    assert report.orders == len(truth) - zeros == len(orders)
    expected_rows = {"zero or negative amount": zeros} if zeros else {}
    raw = pd.read_csv(path, dtype="str", keep_default_na=False)
    if layout == "woocommerce":
        expected_rows["test order"] = int(raw["Order ID"].str.startswith("T").sum())
        assert expected_rows["test order"] == 3
    if layout == "stripe":
        expected_rows["test order"] = int(raw["Mode"].eq("Test").sum())
        expected_rows["pending or unpaid"] = int((raw["Status"].isin(["Failed", "Uncaptured"])
                                                  & raw["Mode"].eq("Live")).sum())
        zero_charges = raw["Amount"].astype(float).eq(0) & raw["Status"].eq("Paid") & raw["Mode"].eq("Live")
        assert int(zero_charges.sum()) == zeros
    assert excluded["rows"].to_dict() == expected_rows
    if zeros:
        assert excluded.loc["zero or negative amount", "revenue"] == 0.0
    # First order date per customer, as the simulator drew it.
    first = orders.groupby("customer_id")["order_date"].min()
    truth_first = truth[truth["revenue"] > 0].groupby("customer_id")["order_date"].min().dt.normalize()
    if layout in ("shopify", "woocommerce", "stripe"):
        truth_first.index = store_email(pd.Series(truth_first.index)).to_numpy()
    assert first.reindex(truth_first.index).equals(truth_first.rename(first.name).astype(first.dtype))
    assert orders["order_date"].max() == STORE_END
    # Order by order: the same ids (Shopify prefixes "#", Stripe "ch_"), calendar dates, first products and channels.
    merged = orders.assign(order_id=orders["order_id"].str.lstrip("#").str.removeprefix("ch_")).merge(
        truth, on="order_id", suffixes=("", "_truth"), validate="one_to_one")
    assert len(merged) == len(orders)
    assert (merged["order_date"] == merged["order_date_truth"].dt.normalize()).all()
    assert (merged["product"] == merged["product_truth"]).all()
    if "channel" in orders:
        assert (merged["channel"] == merged["channel_truth"]).all()
