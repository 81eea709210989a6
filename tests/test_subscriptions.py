"""Subscriptions: survivors per cohort by hand, pooling, the demo store's subscription fixture and its known sBG
parameters, the retention sentence and figure."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import clvlib
import clvlib.plots as clvplots
from clvlib.errors import DataError
from clvlib.subscriptions import DEMO_SUBSCRIPTION_FEE, DEMO_SUBSCRIPTIONS

README = (clvlib.DEMO_STORE_DIR / "README.md").read_text(encoding="utf-8")


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "start", "end"])


def test_survivors_by_hand():
    subscriptions = _table([
        ("a", "2024-01-05", "2024-02-10"),  # renewed on 5 Feb, cancelled before 5 Mar: survived period 1
        ("b", "2024-01-20", None),          # still subscribed
        ("c", "2024-01-31", "2024-02-29"),  # ended on its first renewal date (31 Jan + 1 month = 29 Feb): none
        ("d", "2024-02-01", "2024-03-01"),  # the same: ended on its first renewal date
        ("e", "2024-02-15", "2024-05-14"),  # renewed 15 Mar and 15 Apr, ended before 15 May: periods 1 and 2
    ])
    table = clvlib.subscription_cohorts(subscriptions, as_of="2024-05-31")
    # Cohort 2024-01: every member has reached period 4 by 31 May (31 Jan + 4 months = 31 May).
    # Cohort 2024-02: 15 Feb + 3 months = 15 May <= 31 May < 15 Jun, so periods 0…3.
    expected = pd.DataFrame([[3, 2, 1, 1, 1], [2, 1, 1, 0, np.nan]], dtype=float,
                            index=pd.Index(["2024-01", "2024-02"], name="cohort"),
                            columns=pd.Index(range(5), name="period"))
    pd.testing.assert_frame_equal(table, expected)
    assert table.attrs["subscriptions"] == 5 and table.attrs["active"] == 1 and table.attrs["as_of"] == "2024-05-31"


def test_an_end_after_as_of_is_still_a_subscriber():
    subscriptions = _table([("a", "2024-01-10", "2024-03-20"), ("b", "2024-01-10", "2024-12-01")])
    table = clvlib.subscription_cohorts(subscriptions, as_of="2024-04-10")
    assert table.loc["2024-01"].tolist() == [2.0, 2.0, 2.0, 1.0]
    assert table.attrs["active"] == 1


def test_renewal_payments_give_the_same_survivors_as_spans():
    payments = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "c"],
        "order_date": pd.to_datetime(["2024-01-05", "2024-02-05", "2024-03-05", "2024-01-20", "2024-02-20",
                                      "2024-02-01"]),
    })
    # a paid 3 months (ends 5 Apr), b 2 months (ends 20 Mar), c 1 month (ends 1 Mar); as_of 30 Apr.
    spans = _table([("a", "2024-01-05", "2024-04-05"), ("b", "2024-01-20", "2024-03-20"),
                    ("c", "2024-02-01", "2024-03-01")])
    from_payments = clvlib.subscription_cohorts(payments, as_of="2024-04-30")
    pd.testing.assert_frame_equal(from_payments, clvlib.subscription_cohorts(spans, as_of="2024-04-30"))
    assert from_payments.loc["2024-01"].tolist() == [2.0, 2.0, 1.0, 0.0]


def test_yearly_plans_and_quarterly_cohorts():
    subscriptions = _table([("a", "2021-03-01", "2023-03-01"), ("b", "2021-06-30", None), ("c", "2022-02-01", None)])
    yearly = clvlib.subscription_cohorts(subscriptions, period="Y", as_of="2024-06-30")
    assert yearly.loc["2021"].tolist() == [2.0, 2.0, 1.0, 1.0]
    assert yearly.loc["2022"].iloc[:3].tolist() == [1.0, 1.0, 1.0] and np.isnan(yearly.loc["2022", 3])
    quarterly = clvlib.subscription_cohorts(subscriptions.iloc[:2], cohort="Q", as_of="2021-09-30")
    assert quarterly.index.tolist() == ["2021Q1", "2021Q2"]


def test_pooled_survivors_add_the_cohorts_observed_long_enough():
    cohorts = pd.DataFrame([[10, 8, 6, 5], [20, 15, 12, np.nan], [30, 20, np.nan, np.nan]], dtype=float,
                           index=pd.Index(["a", "b", "c"], name="cohort"), columns=pd.Index(range(4), name="period"))
    assert clvlib.pooled_survivors(cohorts, n_periods=2).tolist() == [30.0, 23.0, 18.0]
    # Default: the most periods whose cohorts still hold half the 60 subscribers (2 periods: a and b, 30).
    pooled = clvlib.pooled_survivors(cohorts)
    assert pooled.index.tolist() == [0, 1, 2] and pooled.attrs["cohorts"] == ["a", "b"]
    assert pooled.attrs["share"] == 0.5
    too_long = clvlib.pooled_survivors(cohorts, n_periods=5)
    assert too_long.empty and "no cohort has been followed for 5 months" in too_long.attrs["skipped"]
    with pytest.raises(ValueError, match="n_periods"):
        clvlib.pooled_survivors(cohorts, n_periods=1)


def test_without_a_subscription_table_or_before_any_start_the_views_say_why():
    none = clvlib.subscription_cohorts(None)
    assert none.empty and none.attrs["skipped"].startswith("**No subscriptions in these data:**")
    pooled = clvlib.pooled_survivors(none)
    assert pooled.empty and pooled.attrs["skipped"] == none.attrs["skipped"]
    early = clvlib.subscription_cohorts(_table([("a", "2024-02-01", None)]), as_of="2024-01-01")
    assert early.empty and "none of the 1 subscriptions started by 2024-01-01" in early.attrs["skipped"]
    young = clvlib.subscription_cohorts(_table([("a", "2024-02-01", None)]), as_of="2024-03-15")
    assert "Too early" in clvlib.pooled_survivors(young).attrs["skipped"]


def test_subscriptions_after_as_of_are_left_out_and_counted():
    subscriptions = _table([("a", "2024-01-10", None), ("b", "2024-03-01", None)])
    table = clvlib.subscription_cohorts(subscriptions, as_of="2024-02-20")
    assert table.index.tolist() == ["2024-01"] and table.attrs["after_as_of"] == 1
    payments = pd.DataFrame({"customer_id": ["a", "a", "a"],
                             "order_date": pd.to_datetime(["2024-01-10", "2024-02-10", "2024-03-10"])})
    cut = clvlib.subscription_cohorts(payments, as_of="2024-02-20")
    assert cut.loc["2024-01"].tolist() == [1.0, 1.0] and cut.attrs["after_as_of"] == 1


def test_bad_tables_are_named():
    with pytest.raises(DataError, match="`end` must be after `start`"):
        clvlib.subscription_cohorts(_table([("a", "2024-02-01", "2024-01-01")]))
    with pytest.raises(DataError, match="order_date"):
        clvlib.subscription_cohorts(pd.DataFrame({"customer_id": ["a"], "begin": ["2024-01-01"]}))
    with pytest.raises(ValueError, match="`period` must be one of"):
        clvlib.subscription_cohorts(_table([("a", "2024-02-01", None)]), period="W")


@pytest.fixture(scope="module")
def demo():
    return clvlib.load_subscriptions()


def test_fixture_is_the_documented_derivation(demo):
    regenerated = clvlib.make_demo_subscriptions()
    pd.testing.assert_frame_equal(demo, regenerated, check_dtype=False)
    assert DEMO_SUBSCRIPTIONS.read_text(encoding="utf-8") == regenerated.to_csv(
        index=False, lineterminator="\n", date_format="%Y-%m-%d")
    # The subscribers are the customers whose first order is in the subscriptions category, from that day on.
    orders = clvlib.load_orders()
    first = orders.dropna(subset=["customer_id"]).sort_values(["order_date", "order_id"]).drop_duplicates("customer_id")
    starters = first[first["product"] == "subscriptions"]
    assert sorted(demo["customer_id"]) == sorted(starters["customer_id"])
    assert (demo["fee"] == DEMO_SUBSCRIPTION_FEE).all() and demo["end"].max() <= pd.Timestamp("2025-06-30")
    assert "subscriptions/subscriptions.csv" in README and "make_demo_subscriptions" in README
    documented = re.search(r"α = ([\d.]+), β = ([\d.]+)", README[README.index("subscriptions.csv"):])
    assert {"alpha": float(documented.group(1)), "beta": float(documented.group(2))} == clvlib.DEMO_SUBSCRIPTION_PARAMS


def test_fixture_reproduces_its_alpha_and_beta_within_the_confidence_intervals(demo):
    cohorts = clvlib.subscription_cohorts(demo, period="M", as_of="2025-06-30")
    assert cohorts.attrs["subscriptions"] == 1298 and cohorts.shape == (30, 30)
    survivors = clvlib.pooled_survivors(cohorts)
    assert len(survivors) - 1 == 12 and survivors.iloc[0] == 662
    model = clvlib.ShiftedBetaGeometric().fit(survivors)
    assert model.diagnosis_.ok
    intervals = model.confidence_intervals_
    for name, truth in clvlib.DEMO_SUBSCRIPTION_PARAMS.items():
        assert intervals.loc[name, "lower_95"] < truth < intervals.loc[name, "upper_95"], name


def test_describe_retention_quotes_the_model():
    model = clvlib.ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])  # Fader & Hardie's
    model_text = clvlib.describe_retention(model, period="Y", fee=100.0, margin=0.5, annual_discount_rate=0.10)
    derl = model.derl(0.10)
    assert f"**{derl:.1f}** further payments" in model_text  # 2.965 (Fader & Hardie 2010)
    assert "average lifetime is not finite" in model_text  # α = 0.704 < 1
    assert f"\\${(1 + derl) * 50:,.0f}" in model_text and "What to do" in model_text
    as_series = clvlib.describe_retention(model, period="Y", fee=pd.Series([90.0, 100.0, 120.0]), margin=0.5)
    assert as_series == model_text  # a fee column: its median
    monthly = clvlib.ShiftedBetaGeometric().fit(clvlib.simulate_sbg(1.6, 9.0, cohort_size=5000, n_periods=12, seed=1))
    text = clvlib.describe_retention(monthly)
    assert f"**{monthly.expected_lifetime():.1f} months** on average" in text


def test_plot_retention_shows_observed_fitted_and_projection():
    survivors = pd.Series([1000, 631, 468, 382, 326, 289, 262, 241], index=pd.Index(range(8), name="period"))
    survivors.attrs["period"] = "Y"
    model = clvlib.ShiftedBetaGeometric().fit(survivors)
    fig, ax = plt.subplots()
    assert clvplots.plot_retention(survivors, model=model, ax=ax) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["observed (1,000 subscribers)", "sBG model (fitted)", "sBG model (projected)"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), survivors / 1000)
    assert ax.get_lines()[2].get_xdata()[-1] == 14
    assert "Years since subscribing" in ax.get_xlabel() and "%" in ax.get_ylabel() and ax.get_title()
    with pytest.raises(ValueError, match="n_periods"):
        clvplots.plot_retention(survivors, n_periods=0)


def test_load_subscriptions_only_for_the_demo_store():
    assert clvlib.load_subscriptions(data="my_orders.csv") is None
    assert len(clvlib.load_subscriptions(DEMO_SUBSCRIPTIONS)) == 1298
