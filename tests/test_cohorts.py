"""clvlib.cohorts: first-order attributes, CAC, LTV:CAC, cumulative curves, cohort table, payback, CLV by group."""

from __future__ import annotations

import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlib import (
    DataError, cac_by_channel, cac_payback, clv_by_group, cohort_revenue_table, cumulative_value_curves,
    first_order_attributes, ltv_cac, payback_curves, read_marketing_spend,
)


@pytest.fixture
def orders() -> pd.DataFrame:
    """Four customers over Jan-Apr 2024 (margin = revenue - cost), one guest order."""
    rows = [
        # customer, date, revenue, cost, channel, product
        ("a", "2024-01-05", 100.0, 60.0, "ads", "mug"),
        ("a", "2024-03-01", 50.0, 30.0, "email", "tea"),
        ("b", "2024-01-20", 40.0, 30.0, "email", "tea"),
        ("c", "2024-02-02", 80.0, 40.0, "ads", "mug"),
        ("c", "2024-02-25", 20.0, 10.0, "ads", "mug"),
        ("c", "2024-04-01", 60.0, 30.0, "email", "tea"),
        ("d", "2024-03-15", 30.0, 20.0, "email", "tea"),
        (None, "2024-01-01", 10.0, 5.0, "ads", "mug"),
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue", "cost", "channel", "product"])
    df["order_date"] = pd.to_datetime(df["order_date"])
    df.insert(1, "order_id", [f"o{i}" for i in range(len(df))])
    return df


@pytest.fixture
def spend() -> pd.DataFrame:
    return pd.DataFrame({
        "month": ["2024-01", "2024-01", "2024-02", "2024-03"],
        "channel": ["ads", "email", "ads", "email"],
        "spend": [100.0, 20.0, 60.0, 10.0],
    })


def test_first_order_attributes_by_hand(orders):
    before = orders.copy()
    got = first_order_attributes(orders)
    pd.testing.assert_frame_equal(orders, before)
    assert list(got.index) == ["a", "b", "c", "d"]
    assert got["channel"].tolist() == ["ads", "email", "ads", "email"]  # the first order's channel, not the last
    assert got["product"].tolist() == ["mug", "tea", "mug", "tea"]
    assert [str(c) for c in got["cohort"]] == ["2024-01", "2024-01", "2024-02", "2024-03"]
    assert got.loc["c", "first_order"] == pd.Timestamp("2024-02-02")
    assert got.loc["c", "first_order_id"] == "o3" and got.loc["a", "first_order_revenue"] == 100.0
    assert list(first_order_attributes(orders, as_of="2024-01-31").index) == ["a", "b"]


def test_cac_by_channel_by_hand(orders, spend):
    attrs = first_order_attributes(orders)
    got = cac_by_channel(spend, attrs)
    assert got.loc["ads", "spend"] == 160.0 and got.loc["ads", "new_customers"] == 2  # a, c
    assert got.loc["email", "cac"] == pytest.approx(30 / 2)                          # b, d
    by_cohort = cac_by_channel(spend, attrs, by="cohort")
    assert by_cohort["cac"].tolist() == pytest.approx([120 / 2, 60 / 1, 10 / 1])
    both = cac_by_channel(spend, attrs, by=("channel", "cohort"))
    assert both.loc[("ads", pd.Period("2024-02", "M")), "cac"] == 60.0
    assert len(both) == 4


def test_cac_counts_only_months_with_spend_and_handles_organic_and_empty_months():
    spend = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01"]), "channel": ["ads", "ads"],
                          "spend": [90.0, 30.0]})
    customers = pd.DataFrame({
        "channel": ["ads", "ads", "ads", "organic", "ads"],
        "first_order": pd.to_datetime(["2024-01-02", "2024-01-09", "2024-01-30", "2024-01-15", "2024-05-01"]),
    }, index=pd.Index(list("abcde"), name="customer_id"))
    got = cac_by_channel(spend, customers)
    assert got.loc["ads", "new_customers"] == 3           # e (May) is outside the spend months
    assert got.loc["ads", "cac"] == pytest.approx(120 / 3)
    assert got.loc["organic", "cac"] == 0.0               # customers, no spend
    monthly = cac_by_channel(spend, customers.drop(columns="channel"), by="cohort")  # no channel needed
    assert monthly["new_customers"].tolist() == [4, 0] and monthly["cac"].iloc[0] == pytest.approx(90 / 4)
    both = cac_by_channel(spend, customers, by=["channel", "cohort"])
    assert np.isnan(both.loc[("ads", pd.Period("2024-02", "M")), "cac"])   # spend, nobody acquired
    with pytest.raises(ValueError, match="The value for `by` must be one of"):
        cac_by_channel(spend, customers, by="region")
    with pytest.raises(DataError, match="`spend`"):
        cac_by_channel(spend.drop(columns="spend"), customers)


def test_ltv_cac_by_hand(orders, spend):
    customers = first_order_attributes(orders).assign(clv=[400.0, 20.0, 80.0, 40.0])
    got = ltv_cac(customers, spend)
    assert got.loc["ads", "ltv"] == pytest.approx(240.0)
    assert got.loc["ads", "ltv_cac"] == pytest.approx(240 / 80)
    assert got.loc["email", "ltv_cac"] == pytest.approx(30 / 15)
    monthly = ltv_cac(customers, spend, by="cohort")
    assert monthly["ltv_cac"].tolist() == pytest.approx([210 / 60, 80 / 60, 40 / 10])


def _loop_curves(orders, by, value, as_of_month):
    """Cumulative value and its development estimate per customer, written as plain loops over orders."""
    first = {}
    for r in orders.sort_values(["order_date", "order_id"]).itertuples():
        if isinstance(r.customer_id, str) and r.customer_id not in first:
            first[r.customer_id] = r
    month = {c: r.order_date.year * 12 + r.order_date.month for c, r in first.items()}
    group = {c: getattr(r, by) if by != "cohort" else r.order_date.to_period("M") for c, r in first.items()}
    result = {}
    for g in set(group.values()):
        members = [c for c in first if group[c] == g]
        per_customer = 0.0
        for m in range(as_of_month - min(month[c] for c in members) + 1):
            seen = [c for c in members if month[c] + m <= as_of_month]
            if not seen:
                continue
            total = in_month = 0.0
            for r in orders.itertuples():
                offset = r.order_date.year * 12 + r.order_date.month - month.get(r.customer_id, 0)
                amount = r.revenue if value == "revenue" else r.revenue - r.cost
                if r.customer_id in seen and offset <= m:
                    total += amount
                if r.customer_id in seen and offset == m:
                    in_month += amount
            per_customer += in_month / len(seen)
            result[(g, m)] = (len(seen), total, per_customer)
    return result


@pytest.mark.parametrize(("by", "value"), [("cohort", "revenue"), ("channel", "gross_margin"), ("product", "revenue")])
def test_cumulative_value_curves_match_a_loop(rng, by, value):
    n = 120
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    revenue = rng.uniform(10, 100, n).round(2)
    orders = pd.DataFrame({
        "customer_id": rng.choice([f"c{i}" for i in range(25)], n), "order_id": [f"{i:03d}" for i in range(n)],
        "order_date": dates, "revenue": revenue, "cost": (revenue * rng.uniform(0.3, 0.8, n)).round(2),
        "channel": rng.choice(["ads", "email", "search"], n), "product": rng.choice(["mug", "tea"], n),
    })
    got = cumulative_value_curves(orders, by=by, value=value)
    last = dates.max()
    expected = _loop_curves(orders, by, value, last.year * 12 + last.month)
    assert len(got) == len(expected)
    for row in got.itertuples():
        customers, total, per_customer = expected[(getattr(row, by), row.months_since_first_order)]
        assert row.customers == customers
        assert row.cumulative_total == pytest.approx(total)
        assert row.cumulative_per_customer == pytest.approx(per_customer)
    assert got.attrs["value"] == value
    if value == "revenue":  # the development estimate never falls for any grouping, not only per cohort
        assert (got.groupby(by, observed=True)["cumulative_per_customer"].diff().dropna() >= -1e-9).all()


def test_cohort_revenue_table_by_hand(orders):
    got = cohort_revenue_table(orders)
    assert got["customers"].tolist() == [2, 1, 1]
    jan, feb, mar = (got.loc[pd.Period(m, "M")] for m in ("2024-01", "2024-02", "2024-03"))
    # January: a (100, then 50 in March) and b (40): 70 per customer in month 0, 95 from month 2.
    assert [jan[m] for m in range(4)] == pytest.approx([70.0, 70.0, 95.0, 95.0])
    assert [feb[m] for m in range(3)] == pytest.approx([100.0, 100.0, 160.0]) and np.isnan(feb[3])
    assert mar[0] == 30.0 and np.isnan(mar[2])


def test_payback_by_hand(orders, spend):
    curves = payback_curves(orders, spend)
    ads = curves[curves["channel"] == "ads"].set_index("months_since_first_order")
    # ads: a (margin 40, +20 in month 2) and c (40 + 10 in month 0, +30 in month 2); only a is 3 months old.
    # Monthly means 90/2, 0/2, 50/2, then 0/1 (a bought nothing in month 3): 45, 45, 70, 70. Dividing the
    # cumulative total by whoever is observed would give 60 in month 3, a "cumulative" margin that falls.
    assert ads["cumulative_per_customer"].tolist() == pytest.approx([45.0, 45.0, 70.0, 70.0])
    assert (ads["cac"] == 80.0).all()
    table = cac_payback(curves)
    assert table.loc["ads", "payback"] == "not yet (after 3 months)" and np.isnan(table.loc["ads", "payback_months"])
    by_cohort = cac_payback(payback_curves(orders, spend, by="cohort"))
    assert by_cohort["payback_months"].tolist()[1:] == [2.0, 0.0]
    assert by_cohort["payback"].tolist() == ["not yet (after 3 months)", "2 months", "0 months"]
    cheap = cac_payback(payback_curves(orders, spend.assign(spend=spend["spend"] / 10), by="cohort"))
    assert cheap["payback"].tolist() == ["0 months", "0 months", "0 months"]


def test_payback_matches_a_loop(orders, spend):
    margin = defaultdict(float)  # (channel of the first order, months since first order) -> margin
    attrs = first_order_attributes(orders)
    for r in orders.dropna(subset=["customer_id"]).itertuples():
        a = attrs.loc[r.customer_id]
        m = (r.order_date.year - a.first_order.year) * 12 + r.order_date.month - a.first_order.month
        margin[(a.channel, m)] += r.revenue - r.cost
    table = cac_payback(payback_curves(orders, spend))
    for channel in ("ads", "email"):
        members = attrs[attrs["channel"] == channel]
        cac = table.loc[channel, "cac"]
        paid = None
        for m in range(4):
            # only customers observed m months (cohort month + m <= April) count at month m
            seen = members[[c.month + m <= 4 for c in members["first_order"]]]
            total = 0.0
            for cid in seen.index:
                for r in orders[orders["customer_id"] == cid].itertuples():
                    k = r.order_date.month - seen.loc[cid, "first_order"].month
                    total += (r.revenue - r.cost) if k <= m else 0.0
            if len(seen) and total / len(seen) >= cac and paid is None:
                paid = m
        expected = np.nan if paid is None else float(paid)
        assert table.loc[channel, "payback_months"] == pytest.approx(expected, nan_ok=True)


def test_clv_by_group_by_hand(orders):
    customers = first_order_attributes(orders).assign(clv=[90.0, 10.0, 160.0, 30.0], n_orders=[2, 1, 3, 1])
    got = clv_by_group(customers, by="product")
    assert list(got.index) == ["mug", "tea"]
    assert got.loc["mug", "clv_total"] == 250.0 and got.loc["tea", "clv_median"] == 20.0
    assert got["clv_share"].sum() == pytest.approx(1.0) and got.loc["mug", "repeat_rate"] == 1.0
    by_cohort = clv_by_group(customers.drop(columns="cohort"), by="cohort")
    assert by_cohort.loc[pd.Period("2024-01", "M"), "customers"] == 2
    with pytest.raises(DataError, match="`clv`"):
        clv_by_group(customers.drop(columns="clv"), by="channel")


def test_read_marketing_spend_parses_and_sums(tmp_path):
    path = tmp_path / "spend.csv"
    path.write_text("month,channel,spend\n2024-01,ads,10.5\n2024-01,ads,4.5\n2024-02,email,3\n")
    got = read_marketing_spend(path)
    assert got["spend"].tolist() == [15.0, 3.0]
    assert got["month"].tolist() == [pd.Period("2024-01", "M"), pd.Period("2024-02", "M")]
    path.write_text("month,channel,spend\n2024-01,ads,-1\n")
    with pytest.raises(DataError, match="`spend`"):
        read_marketing_spend(path)
    demo = read_marketing_spend()
    assert set(demo.columns) == {"month", "channel", "spend"} and (demo["spend"] >= 0).all() and len(demo) > 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 150), st.floats(1, 500)), min_size=1, max_size=25))
def test_cohort_curves_rise_to_each_cohorts_revenue_per_customer(rows):
    # Within a cohort every customer is observed equally long, so the curve never falls and ends at the cohort's
    # total revenue divided by its size.
    orders = pd.DataFrame(rows, columns=["customer_id", "day", "revenue"])
    orders["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(orders["day"], unit="D")
    before = orders.copy()
    curves = cumulative_value_curves(orders)
    pd.testing.assert_frame_equal(orders, before)
    first = orders.groupby("customer_id")["order_date"].transform("min").dt.to_period("M")
    for cohort, part in curves.groupby("cohort"):
        values = part.sort_values("months_since_first_order")["cumulative_per_customer"].to_numpy()
        assert np.all(np.diff(values) >= -1e-9)
        members = orders[first == cohort]
        assert values[-1] == pytest.approx(members["revenue"].sum() / members["customer_id"].nunique())


# --- as_of cuts the spend as well as the orders ---------------------------------------------------------------------

def test_read_marketing_spend_keeps_the_months_that_start_by_as_of(spend):
    whole = read_marketing_spend(spend)
    assert whole.attrs == {"as_of": None, "months_after_as_of": 0}
    mid = read_marketing_spend(spend, as_of="2024-02-10")  # February started: kept whole
    assert [str(m) for m in mid["month"]] == ["2024-01", "2024-01", "2024-02"]
    assert mid["spend"].sum() == 180.0
    assert mid.attrs == {"as_of": "2024-02-10", "months_after_as_of": 1}
    assert [str(m) for m in read_marketing_spend(spend, as_of="2024-02-01")["month"].unique()] == ["2024-01",
                                                                                                      "2024-02"]
    assert [str(m) for m in read_marketing_spend(spend, as_of="2024-01-31")["month"].unique()] == ["2024-01"]
    assert read_marketing_spend(spend, as_of="2023-12-31").empty


def test_cac_as_of_counts_spend_and_customers_up_to_that_date(orders, spend):
    first = first_order_attributes(orders)
    jan = cac_by_channel(spend, first, as_of="2024-01-31")
    # January: ads 100 for a (Jan 5), email 20 for b (Jan 20); later months' spend and customers left out.
    assert jan["spend"].to_dict() == {"ads": 100.0, "email": 20.0}
    assert jan["new_customers"].to_dict() == {"ads": 1, "email": 1}
    assert jan["cac"].to_dict() == {"ads": 100.0, "email": 20.0}
    assert jan.attrs["as_of"] == "2024-01-31"
    # Mid-March: March spend counts whole, d (Mar 15) counts as acquired on the as_of day.
    mar = cac_by_channel(spend, first, as_of="2024-03-15")
    assert mar.loc["email", "spend"] == 30.0 and mar.loc["email", "new_customers"] == 2
    assert mar.loc["email", "cac"] == 15.0
    assert cac_by_channel(spend, first, as_of="2024-03-14").loc["email", "new_customers"] == 1
    # Customers known only by their cohort month follow the spend's month rule.
    by_cohort = first[["channel", "cohort"]]
    assert cac_by_channel(spend, by_cohort, as_of="2024-03-14").loc["email", "new_customers"] == 2
    # The same cut through ltv_cac and payback_curves.
    ratio = ltv_cac(first.assign(clv=[200.0, 40.0, 160.0, 30.0]), spend, as_of="2024-01-31")
    assert ratio["ltv"].to_dict() == {"ads": 200.0, "email": 40.0}
    assert ratio["ltv_cac"].to_dict() == {"ads": 2.0, "email": 2.0}
    curves = payback_curves(orders, spend, margin=0.5, as_of="2024-01-31")
    assert curves.groupby("channel")["cac"].first().to_dict() == {"ads": 100.0, "email": 20.0}


def test_spend_past_the_last_acquisition_warns_without_as_of(orders, spend):
    jan_customers = first_order_attributes(orders, as_of="2024-01-31")
    with pytest.warns(UserWarning, match=r"2 month\(s\) after the last acquisition \(2024-01\), up to 2024-03"):
        cac_by_channel(spend, jan_customers)
    with pytest.warns(UserWarning, match="pass the same `as_of`") as record:
        ltv_cac(jan_customers.assign(clv=1.0), spend)
    assert len(record) == 1  # said once, not once per inner call
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cac_by_channel(spend, jan_customers, as_of="2024-01-31")
        cac_by_channel(spend, first_order_attributes(orders))  # the spend ends with the acquisitions


@pytest.fixture(scope="module")
def demo_history():
    """The demo store's cleaned orders and its spend file as written, read once."""
    import clvlib
    from clvlib.datasets import DEMO_STORE_DIR

    orders = clvlib.load_demo_store(tables=["orders"])["orders"]
    raw_spend = pd.read_csv(DEMO_STORE_DIR / "marketing_spend.csv", dtype={"month": "str"})
    return orders, raw_spend


@pytest.mark.parametrize("month_end", ["2023-03-31", "2023-10-31", "2024-02-29", "2024-09-30", "2025-06-30"])
def test_history_cac_at_each_month_end_equals_spend_to_date_over_customers_to_date(demo_history, month_end):
    """A periodic report as of a month end: CAC = spend of the months up to it / customers acquired up to it."""
    import clvlib

    orders, raw_spend = demo_history
    end = pd.Timestamp(month_end)
    # Independently, with plain pandas: the spend file's months up to the month end, and each customer's first
    # order (by date, then order id) in the full history.
    spend_to_date = raw_spend[raw_spend["month"] <= end.strftime("%Y-%m")].groupby("channel")["spend"].sum()
    known = orders[orders["customer_id"].notna()].sort_values(["order_date", "order_id"])
    first = known.drop_duplicates("customer_id")
    acquired = first[first["order_date"] <= end].groupby("channel").size()
    expected = spend_to_date / acquired

    # The report's way: the store as known at the month end, the full spend file cut by as_of.
    store = clvlib.load_demo_store(tables=["orders", "marketing_spend"], as_of=month_end)
    attrs = first_order_attributes(store["orders"])
    got = cac_by_channel(read_marketing_spend(), attrs, as_of=month_end)
    pd.testing.assert_series_equal(got["cac"], expected, check_names=False, rtol=1e-12)
    assert got["new_customers"].to_dict() == acquired.to_dict()
    # The same figure from the store's own (already cut) spend table, from ltv_cac and from payback_curves.
    same = cac_by_channel(store["marketing_spend"], attrs, as_of=month_end)
    pd.testing.assert_series_equal(same["cac"], expected, check_names=False, rtol=1e-12)
    ratio = ltv_cac(attrs.assign(clv=attrs["first_order_revenue"]), read_marketing_spend(), as_of=month_end)
    pd.testing.assert_series_equal(ratio["cac"], expected, check_names=False, rtol=1e-12)
    curves = payback_curves(store["orders"], read_marketing_spend(), margin=0.5, as_of=month_end)
    payback_cac = curves.groupby("channel")["cac"].first()
    pd.testing.assert_series_equal(payback_cac, expected.reindex(payback_cac.index), check_names=False, rtol=1e-12)


# --- The acquisition page's views and sentences (notebooks/05_acquisition.ipynb), on hand-worked examples. ---

def _acquisition_orders() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "b", "a", "c", None], "order_id": ["1", "2", "3", "4", "5"],
        "order_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-10", "2024-02-15", "2024-02-16"]),
        "revenue": [40.0, 60.0, 20.0, 100.0, 9.0], "channel": ["ads", "email", "ads", "ads", "ads"],
        "product": ["mug", "tea", "tea", "tea", "mug"],
    })


def test_acquisition_table_joins_first_order_facts_orders_and_values():
    import clvlib

    clv = pd.DataFrame({"ltv": [90.0, 60.0, 100.0]}, index=pd.Index(["a", "b", "c"], name="customer_id"))
    got = clvlib.acquisition_table(_acquisition_orders(), clv, as_of="2024-02-12")
    # c's first order (15 Feb) is after as_of: not acquired yet; a has two orders by then, b one.
    assert got.index.tolist() == ["a", "b"]
    assert got["n_orders"].tolist() == [2, 1] and got["channel"].tolist() == ["ads", "email"]
    assert got["product"].tolist() == ["mug", "tea"] and got["ltv"].tolist() == [90.0, 60.0]


def test_channel_views_say_why_they_are_skipped_and_export_leaves_them_out(tmp_path):
    import clvlib

    orders = _acquisition_orders()
    acquired = clvlib.acquisition_table(orders, as_of="2024-02-29").assign(ltv=1.0)
    skipped = clvlib.channel_ltv_cac(acquired, None, ltv_column="ltv")
    assert skipped.empty and "marketing spend file" in skipped.attrs["skipped"]
    assert clvlib.describe_ltv_cac(skipped) == skipped.attrs["skipped"]
    no_channel = clvlib.channel_payback(orders.drop(columns="channel"), pd.DataFrame(
        {"month": ["2024-01"], "channel": ["ads"], "spend": [10.0]}))
    assert no_channel.attrs["skipped"] == "Skipped: payback needs a `channel` column in the orders."
    no_product = clvlib.product_clv(acquired.drop(columns="product"), clv_column="ltv")
    assert "no `product` column" in clvlib.describe_first_products(no_product)
    written = clvlib.export_tables({"ltv_cac_by_channel": skipped, "x": pd.DataFrame({"a": [1]})}, tmp_path)
    assert written["table"].tolist() == ["x"]


def test_channel_ltv_cac_and_cohort_economics_hand_worked():
    import clvlib

    orders = _acquisition_orders()
    spend = pd.DataFrame({"month": ["2024-01", "2024-01", "2024-02"], "channel": ["ads", "email", "ads"],
                          "spend": [100.0, 30.0, 50.0]})
    clv = pd.DataFrame({"ltv": [90.0, 60.0, 100.0]}, index=pd.Index(["a", "b", "c"], name="customer_id"))
    acquired = clvlib.acquisition_table(orders, clv, as_of="2024-02-29")
    table = clvlib.channel_ltv_cac(acquired, spend, ltv_column="ltv", as_of="2024-02-29")
    # ads: 150 spent, a and c acquired -> CAC 75, mean LTV 95, 95/75; email: 30 for b -> CAC 30, LTV 60, 2:1.
    assert table.loc["ads", "cac"] == 75.0 and table.loc["ads", "ltv_cac"] == pytest.approx(95 / 75)
    assert table.loc["email", "ltv_cac"] == 2.0
    assert clvlib.describe_ltv_cac(table) == ("**email** returns the most per unit of spend (**2.0:1**), **ads** "
                                              "the least (**1.3:1**). Channels below the 3:1 target: ads, email.")
    cohorts = clvlib.cohort_economics(acquired, orders, spend, ltv_column="ltv", margin=0.5, as_of="2024-02-29")
    # January: a and b, 130 spent -> CAC 65, mean LTV 75; February: c, 50 spent -> LTV:CAC 2.
    assert cohorts["customers"].tolist() == [2, 1] and cohorts["cac"].tolist() == [65.0, 50.0]
    assert cohorts["ltv_cac"].tolist() == pytest.approx([75 / 65, 2.0])
    # Margin 0.5: January's customers make 25 each in month 0 and 30 by month 1 (< CAC 65); c makes 50 = CAC at once.
    assert cohorts["payback"].tolist() == ["not yet (after 1 months)", "0 months"]
    without = clvlib.cohort_economics(acquired, orders, None, ltv_column="ltv")
    assert "cac" not in without.columns and "left out" in without.attrs["skipped"]


def test_describe_acquisition_and_first_products_hand_worked():
    import clvlib

    spend = pd.DataFrame({"month": ["2024-01", "2024-02"], "channel": ["ads", "ads"], "spend": [300.0, 100.0]})
    customers = pd.DataFrame({"clv": [1.0]})
    text = clvlib.describe_acquisition(customers, spend, ltv_column="clv", ltv_label="CLV $", currency="USD")
    assert text == ("LTV is the CLV \\$ (`clv`). Marketing spend: \\$400 over 2 months. The orders have no `channel` "
                    "column: the channel views are skipped.")
    assert "No marketing spend file" in clvlib.describe_acquisition(customers, None, ltv_column="clv",
                                                                     ltv_label="CLV")
    by_product = clvlib.product_clv(pd.DataFrame({"product": ["*mug*", "*mug*", "tea"], "clv": [10.0, 30.0, 60.0],
                                                  "n_orders": [1, 3, 2]}))
    # tea: one customer worth 60, who came back; *mug*: mean (10 + 30) / 2 = 20.
    assert clvlib.describe_first_products(by_product, currency="EUR") == (
        "Customers whose first purchase was **tea** are worth the most on average (**€60**, 100 % came back); "
        "**\\*mug\\*** starters the least (**€20**).")
