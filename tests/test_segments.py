"""Segment schemes as data: coverage, precedence, the classic grid, tiers, one-to-one types and user schemes."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlib
from clvlib import (
    DataError, load_scheme, rfm_segments, scheme_grid, scheme_table, segment_headlines, segment_playbook,
    segment_summary, validate_scheme,
)

# The classic R × FM grid, written out by hand from the rules (rows R 5 → 1, columns FM 1 → 5).
CH, LC, PL, NC, PR = "Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Promising"
NA, AS, AR, CL, HI, LO = "Need Attention", "About to Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost"
CLASSIC_GRID = {
    5: [NC, PL, PL, CH, CH],
    4: [PR, PL, PL, CH, CH],
    3: [AS, AS, NA, LC, LC],
    2: [HI, HI, AR, AR, AR],
    1: [LO, HI, AR, CL, CL],
}


def expected_classic(r: int, f: int, m: int) -> str:
    fm = -(-(f + m) // 2)  # FM = ceil((F + M) / 2)
    return CLASSIC_GRID[r][fm - 1]


def score_table(codes) -> pd.DataFrame:
    arr = np.array(codes, dtype=np.int64).reshape(-1, 3)
    frame = pd.DataFrame(arr, columns=["r_score", "f_score", "m_score"],
                         index=pd.Index([f"c{i}" for i in range(len(arr))], name="customer_id"))
    frame.attrs["bins"] = 5
    return frame


score = st.integers(min_value=1, max_value=5)


@settings(max_examples=30, deadline=None)
@given(codes=st.lists(st.tuples(score, score, score), min_size=1, max_size=40))
def test_classic_gives_every_customer_the_grid_segment(codes):
    segments = rfm_segments(score_table(codes), scheme="classic")["segment"]
    assert segments.notna().all()
    assert segments.tolist() == [expected_classic(*c) for c in codes]


@settings(max_examples=30, deadline=None)
@given(codes=st.lists(st.tuples(score, score, score), min_size=1, max_size=40))
def test_tiers_give_every_customer_one_tier_by_score_sum(codes):
    segments = rfm_segments(score_table(codes), scheme="tiers")["segment"]
    bands = {15: "Diamond", **dict.fromkeys(range(12, 15), "Platinum"), **dict.fromkeys(range(9, 12), "Gold"),
             **dict.fromkeys(range(6, 9), "Silver"), **dict.fromkeys(range(3, 6), "Bronze")}
    assert segments.tolist() == [bands[sum(c)] for c in codes]


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 6), st.floats(0, 1000, allow_nan=False)),
                  min_size=1, max_size=40),
    threshold=st.floats(0, 1000, allow_nan=False),
    active_days=st.integers(0, 400),
)
def test_one_to_one_gives_every_customer_one_type(rows, threshold, active_days):
    table = pd.DataFrame(rows, columns=["recency", "frequency", "monetary"])
    out = rfm_segments(table, scheme="one_to_one", value_threshold=threshold, active_days=active_days)
    expected = [
        ("Loyal" if active else "At risk") if value >= threshold else
        ("High frequency, low AOV" if active and orders >= 2 else "Non-target")
        for recency, orders, value in rows for active in [recency <= active_days]
    ]
    assert out["segment"].tolist() == expected
    frequent = out[out["segment"] == "High frequency, low AOV"]
    assert (frequent["frequency"] >= 2).all()  # "high frequency" is at least two orders, always


def test_one_to_one_types_by_hand():
    # Threshold $100, active = last order within 90 days, high frequency = 2 orders or more.
    scores = pd.DataFrame(
        {"recency": [10, 10, 200, 200, 10, 10, 200, 90, 91, 30],
         "frequency": [5, 1, 4, 1, 3, 1, 2, 2, 2, 2],
         "monetary": [500.0, 150.0, 800.0, 120.0, 60.0, 40.0, 30.0, 99.99, 99.99, 100.0]},
        index=pd.Index([f"C{i}" for i in range(10)], name="customer_id"),
    )
    events = pd.DataFrame({"customer_id": [None, None, "C1"],
                           "email": ["news@x.org", "cart@x.org", "c1@x.org"],
                           "event": ["newsletter_signup", "abandoned_cart", "abandoned_cart"]})
    out = rfm_segments(scores, scheme="one_to_one", value_threshold=100, active_days=90, events=events)
    assert out["segment"].to_dict() == {
        "C0": "Loyal",                    # high value, active, repeat
        "C1": "Loyal",                    # high value, active (one big order); a cart event does not make a prospect
        "C2": "At risk",                  # high value, inactive
        "C3": "At risk",                  # high value, inactive, one order
        "C4": "High frequency, low AOV",  # low value, active, 3 orders
        "C5": "Non-target",               # low value, active, but a single order: not "high frequency"
        "C6": "Non-target",               # low value, inactive
        "C7": "High frequency, low AOV",  # 90 days is still active; $99.99 is below $100
        "C8": "Non-target",               # 91 days: inactive
        "C9": "Loyal",                    # exactly $100 is high value
        "news@x.org": "Newsletter, never bought",
        "cart@x.org": "Abandoned cart",
    }
    frequent = out[out["segment"] == "High frequency, low AOV"]
    assert (frequent["frequency"] >= 2).all() and out.attrs["repeat_orders"] == 2
    assert out["frequency"].dtype == "Int64" and out["recency"].dtype == "Int64"  # counts stay integers


def test_one_to_one_on_the_demo_store_has_no_single_order_frequent_buyers():
    orders = clvlib.load_orders(None)
    customers = clvlib.customer_summary(orders, warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = clvlib.rfm_scores(clvlib.rfm_table(customers))
    events = clvlib.load_demo_store(tables=["events"], as_of=customers.attrs["as_of"])["events"]
    out = rfm_segments(scores, scheme="one_to_one", events=events)
    counts = out["segment"].value_counts()
    assert (counts[out.attrs["segments"]] > 0).all()  # all six types are there
    frequent = out[out["segment"] == "High frequency, low AOV"]
    assert frequent["frequency"].min() >= 2
    assert (frequent["monetary"] < out.attrs["value_threshold"]).all()


def test_one_to_one_rule_table_states_thresholds_in_money_and_days():
    scores = pd.DataFrame({"recency": [10, 200], "frequency": [3, 1], "monetary": [2500.0, 40.0]},
                          index=pd.Index(["a", "b"], name="customer_id"))
    scores.attrs["monetary"] = "total"
    segments = rfm_segments(scores, scheme="one_to_one", value_threshold=1234.5, active_days=60)
    table = scheme_table("one_to_one", segments=segments, currency="USD")
    text = table.to_string()
    assert "nan" not in text.lower() and "USD" not in text and "<NA>" not in text
    assert not table.isna().any().any()
    rules = table.groupby("segment", sort=False)["rule"].agg(" or ".join)
    assert rules["Loyal"] == "customer with total revenue ≥ $1,234.50 and last order within 60 days"
    assert rules["High frequency, low AOV"] == ("customer with total revenue < $1,234.50, last order within 60 days "
                                                "and 2 or more orders")
    assert rules["At risk"] == "customer with total revenue ≥ $1,234.50 and last order more than 60 days ago"
    assert rules["Non-target"] == ("customer with total revenue < $1,234.50 and last order more than 60 days ago or "
                                   "customer with total revenue < $1,234.50 and a single order")
    assert rules["Newsletter, never bought"] == "signed up for the newsletter, never ordered"
    euro = scheme_table("one_to_one", segments=segments.assign(x=1), currency="EUR")["rule"]
    assert "€1,234.50" in euro.iloc[2]
    # The summary's rule column says the same, from the segments' attrs.
    summary = segment_summary(segments, revenue_column="monetary", currency="USD")
    assert summary.loc["Loyal", "rule"] == rules["Loyal"]
    # Without the segments the rules name the thresholds in words, still without any missing value.
    plain = scheme_table("one_to_one")
    assert not plain.isna().any().any() and "value_threshold" in plain["rule"].iloc[2]


def test_every_possible_code_gets_exactly_one_segment_in_every_builtin_scheme():
    all_codes = score_table(list(itertools.product(range(1, 6), repeat=3)))
    for name in ("classic", "tiers"):
        segments = rfm_segments(all_codes, scheme=name)["segment"]
        assert len(segments) == 125 and segments.notna().all()
    classic = rfm_segments(all_codes, scheme="classic")["segment"]
    assert set(classic) == {CH, LC, PL, NC, PR, NA, AS, AR, CL, HI, LO}  # every named segment is reachable


def test_555_is_the_top_segment():
    assert rfm_segments(score_table([5, 5, 5]), scheme="classic")["segment"].iloc[0] == "Champions"
    tiers = rfm_segments(score_table([5, 5, 5]), scheme="tiers")
    assert tiers["segment"].iloc[0] == "Diamond" == tiers["segment"].cat.categories[0]
    # Other scales are mapped onto the 5-level rules: 333 on 3 bins and 999 on 9 bins are still the top.
    three = score_table([3, 3, 3])
    assert rfm_segments(three, scheme="classic", bins=3)["segment"].iloc[0] == "Champions"
    assert rfm_segments(three, scheme="tiers", bins=3)["segment"].iloc[0] == "Diamond"
    nine = score_table([9, 9, 9])
    assert rfm_segments(nine, scheme="tiers", bins=9)["segment"].iloc[0] == "Diamond"


def test_scheme_grid_matches_hand_grid():
    grid = scheme_grid("classic")
    for r, names in CLASSIC_GRID.items():
        assert grid.loc[r].tolist() == names


def test_validator_names_uncovered_codes():
    scheme = {"name": "gap", "rules": [{"segment": "Recent", "priority": 1, "r": "4-5"},
                                       {"segment": "Old", "priority": 1, "r": "1-2"}]}
    with pytest.raises(DataError, match=r"scheme 'gap' for bins=5: 25 code\(s\) match no rule: 311, 312") as err:
        validate_scheme(scheme)
    assert "..." in str(err.value)  # long lists are cut
    # On 3 bins, scores map to ceil(s * 5 / 3) = 2, 4, 5: every one falls in R 1-2 or 4-5.
    assert validate_scheme(scheme, bins=3)["name"] == "gap"


def test_validator_names_overlaps_without_precedence():
    scheme = {"name": "overlap", "rules": [
        {"segment": "Best", "r": "5", "f": "5"},
        {"segment": "Recent", "r": "4-5"},
        {"segment": "Rest", "r": "1-3"},
    ]}
    with pytest.raises(DataError, match=r"5 code\(s\) are claimed by several segments") as err:
        validate_scheme(scheme)
    assert "551 (Best / Recent)" in str(err.value) and "555 (Best / Recent)" in str(err.value)
    # The same rules with explicit precedence are valid, and the higher priority wins.
    scheme["rules"][0]["priority"], scheme["rules"][1]["priority"], scheme["rules"][2]["priority"] = 1, 2, 2
    out = rfm_segments(score_table([5, 5, 1, 5, 4, 1, 2, 5, 5]), scheme=scheme)["segment"].tolist()
    assert out == ["Best", "Recent", "Rest"]
    # Equal priorities are no precedence either.
    scheme["rules"][0]["priority"] = 2
    with pytest.raises(DataError, match="without explicit precedence"):
        validate_scheme(scheme)


def test_validator_rejects_bad_rules():
    with pytest.raises(DataError, match=r"unknown key `recency` \(did you mean `r`\?\)|unknown key `recency`"):
        load_scheme({"rules": [{"segment": "X", "recency": "5"}]})
    with pytest.raises(DataError, match=r"\[6\] lie outside the possible values 1…5"):
        validate_scheme({"rules": [{"segment": "X", "r": "1-6"}]})
    with pytest.raises(DataError, match="needs a `segment`"):
        load_scheme({"rules": [{"r": "1-5"}]})
    with pytest.raises(ValueError, match=r"The value for `scheme` must be one of \['classic', 'one_to_one', 'tiers'\]"):
        load_scheme("clasic")


def test_user_scheme_from_yaml_dict_and_dataframe(tmp_path):
    path = tmp_path / "vip.yaml"
    path.write_text(
        "name: vip\n"
        "rules:\n"
        "  - {segment: VIP, priority: 1, code: '555,554'}\n"
        "  - {segment: Regular, priority: 2}\n",
        encoding="utf-8",
    )
    scores = score_table([5, 5, 5, 5, 5, 4, 5, 4, 5, 1, 1, 1])
    from_yaml = rfm_segments(scores, scheme=path)
    assert from_yaml["segment"].tolist() == ["VIP", "VIP", "Regular", "Regular"]
    assert from_yaml.attrs["scheme"] == "vip"
    rules = pd.DataFrame({"segment": ["VIP", "Regular"], "priority": [1, 2], "code": ["555,554", None]})
    assert rfm_segments(scores, scheme=rules)["segment"].tolist() == from_yaml["segment"].tolist()
    assert rfm_segments(scores, scheme=load_scheme(path))["segment"].tolist() == from_yaml["segment"].tolist()


def test_builtin_schemes_are_not_modified_by_callers():
    scheme = load_scheme("classic")
    scheme["rules"].clear()
    assert len(load_scheme("classic")["rules"]) == 11


def test_scheme_table_states_each_rule():
    table = scheme_table("classic").set_index("segment")
    assert not table.isna().any().any() and table["priority"].dtype == "Int64"
    assert table.loc["Champions", "rule"] == "R 4–5 and FM 4–5"
    assert table.loc["Can't Lose Them", "priority"] < table.loc["At Risk", "priority"]
    assert table.loc["Lost", "priority"] < table.loc["Hibernating", "priority"]


def test_one_to_one_with_events_adds_prospects():
    scores = pd.DataFrame(
        {"recency": [10, 200, 5, 300], "frequency": [3, 2, 2, 1], "monetary": [500.0, 800.0, 20.0, 10.0]},
        index=pd.Index(["C1", "C2", "C3", "C4"], name="customer_id"),
    )
    events = pd.DataFrame({
        "customer_id": [None, None, None, "C1", None],
        "email": ["p1@x.org", "P2@x.org ", "p2@x.org", "c1@x.org", "p3@x.org"],
        "event": ["newsletter_signup", "newsletter_signup", "abandoned_cart", "abandoned_cart", "page_view"],
    })
    out = rfm_segments(scores, scheme="one_to_one", value_threshold=100, active_days=90, events=events)
    assert out["segment"].to_dict() == {
        "C1": "Loyal", "C2": "At risk", "C3": "High frequency, low AOV", "C4": "Non-target",
        "p1@x.org": "Newsletter, never bought",
        "p2@x.org": "Abandoned cart",  # both events: the furthest step towards a purchase
    }
    assert out.loc["p2@x.org", "email"] == "p2@x.org" and np.isnan(out.loc["p1@x.org", "monetary"])
    assert out.attrs["value_threshold"] == 100 and out.attrs["active_days"] == 90
    assert len(scores) == 4  # input untouched


def test_one_to_one_default_threshold_is_the_median():
    scores = pd.DataFrame({"recency": [1, 1, 1, 1], "frequency": [2, 2, 2, 2], "monetary": [1.0, 2.0, 3.0, 4.0]})
    out = rfm_segments(scores, scheme="one_to_one")
    assert out.attrs["value_threshold"] == 2.5
    assert out["segment"].tolist() == ["High frequency, low AOV"] * 2 + ["Loyal"] * 2
    # A median between two cents is rounded up to the cent, so the rule can state it exactly; amounts in cents
    # fall on the same side of either.
    halves = pd.DataFrame({"recency": [1] * 4, "frequency": [2] * 4, "monetary": [97.76, 97.77, 97.78, 97.79]})
    out = rfm_segments(halves, scheme="one_to_one")
    assert out.attrs["value_threshold"] == 97.78
    assert out["segment"].tolist() == ["High frequency, low AOV"] * 2 + ["Loyal"] * 2
    assert "≥ $97.78" in scheme_table("one_to_one", segments=out)["rule"].iloc[2]
    assert np.isnan(rfm_segments(halves.iloc[:0], scheme="one_to_one").attrs["value_threshold"])


def test_scores_outside_the_scale_are_refused():
    with pytest.raises(DataError, match="scores must lie in 1–5"):
        rfm_segments(score_table([6, 1, 1]), scheme="classic")


def test_segment_summary_by_hand():
    frame = pd.DataFrame(
        {"segment": pd.Categorical(["Champions", "Champions", "Lost", "At Risk"], categories=[CH, AR, LO, NC]),
         "total_revenue": [600.0, 200.0, 50.0, 150.0], "clv": [900.0, 300.0, 0.0, 100.0]},
        index=["a", "b", "c", "d"],
    )
    frame.attrs["scheme"] = "classic"
    summary = segment_summary(frame, clv_column="clv")
    assert summary.index.tolist() == [CH, AR, LO, NC]  # scheme order, empty segment kept
    assert summary["customers"].tolist() == [2, 1, 1, 0]
    assert summary["share"].tolist() == [0.5, 0.25, 0.25, 0.0]
    assert summary["revenue"].tolist() == [800.0, 150.0, 50.0, 0.0]
    assert summary["revenue_share"].tolist() == [0.8, 0.15, 0.05, 0.0]
    assert summary.loc[CH, "mean_clv"] == 600.0 and np.isnan(summary.loc[NC, "mean_clv"])
    assert summary.loc[CH, "rule"] == "R 4–5 and FM 4–5"
    assert "win-back" in summary.loc[AR, "actions"]


def test_playbook_covers_every_segment_with_the_issue_actions():
    for name in ("classic", "one_to_one", "tiers"):
        book = segment_playbook(name)
        assert (book["description"] != "").all() and (book["actions"] != "").all(), name
    one = segment_playbook("one_to_one")["actions"]
    assert "first-order discount" in one["Newsletter, never bought"] and "welcome flow" in one.iloc[0]
    assert "abandoned-cart follow-ups" in one["Abandoned cart"] and "pay-later" in one["Abandoned cart"]
    for action in ("loyalty", "subscription", "referral", "cross-sell"):
        assert action in one["Loyal"]
    for action in ("upsell", "bundles", "prepaid cards"):
        assert action in one["High frequency, low AOV"]
    assert "win-back" in one["At risk"] and "personalised new products" in one["At risk"]
    for action in ("suppress from paid audiences and lookalike", "review request", "last offer"):
        assert action in one["Non-target"]


def test_user_scheme_carries_its_own_playbook():
    scheme = {"name": "mine", "rules": [
        {"segment": "Top", "priority": 1, "r": "5", "description": "Bought this month.", "actions": ["thank"]},
        {"segment": "Others", "priority": 2}]}
    book = segment_playbook(scheme)
    assert book.loc["Top", "description"] == "Bought this month." and book.loc["Top", "actions"] == "thank"
    assert book.loc["Others", "rule"] == "everyone else"


def test_one_to_one_ignores_events_after_the_scores_as_of():
    scores = pd.DataFrame({"recency": [10], "frequency": [1], "monetary": [50.0]},
                          index=pd.Index(["C1"], name="customer_id"))
    scores.attrs["as_of"] = "2024-03-31"
    events = pd.DataFrame({
        "customer_id": [None, None, None, None],
        "email": ["early@x.org", "sameday@x.org", "late@x.org", "early@x.org"],
        "event": ["newsletter_signup", "newsletter_signup", "newsletter_signup", "abandoned_cart"],
        "event_date": pd.to_datetime(["2024-01-05 09:00", "2024-03-31 18:00", "2024-04-01 00:00", "2024-04-02 12:00"]),
    })
    out = rfm_segments(scores, scheme="one_to_one", events=events)
    assert out["segment"].to_dict() == {"C1": "Loyal", "early@x.org": "Newsletter, never bought",
                                        "sameday@x.org": "Newsletter, never bought"}  # the later cart is unknown
    assert out.attrs["events_after_as_of"] == 2
    assert len(events) == 4  # input untouched
    # Without a date column, or without an as_of, nothing is cut.
    no_dates = rfm_segments(scores, scheme="one_to_one", events=events.drop(columns="event_date"))
    assert no_dates.loc["early@x.org", "segment"] == "Abandoned cart" and no_dates.attrs["events_after_as_of"] == 0
    undated = scores.copy()
    undated.attrs = {}
    assert "late@x.org" in rfm_segments(undated, scheme="one_to_one", events=events).index


# --- small stores: empty segments, missing CLV ----------------------------------------------------------------------

def _small_segments(kind: str, scheme: str = "classic", n: int = 30) -> pd.DataFrame:
    """Segments of ``n`` customers: "mixed" orders, "one_order" each (frequency tied) or "identical" (all tied)."""
    rng = np.random.default_rng(3)
    rows = []
    for c in range(n):
        for _ in range(1 if kind in ("one_order", "identical") else int(rng.integers(1, 4))):
            day = (pd.Timestamp("2024-03-01") if kind == "identical"
                   else pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 180))))
            revenue = 50.0 if kind == "identical" else float(rng.integers(10, 99))
            rows.append((f"c{c:02d}", f"o{len(rows)}", day, revenue))
    orders = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "revenue"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = clvlib.rfm_scores(clvlib.rfm_table(clvlib.customer_summary(orders)))
    return rfm_segments(scores, scheme=scheme)


@pytest.mark.parametrize("scheme", ["classic", "tiers", "one_to_one"])
@pytest.mark.parametrize("kind", ["mixed", "one_order", "identical"])
def test_summary_of_a_small_store_adds_up_with_empty_segments_at_zero(kind, scheme):
    segments = _small_segments(kind, scheme)
    summary = segment_summary(segments)
    assert summary.index.tolist() == segments.attrs["segments"]  # every segment, empty ones included
    assert summary["customers"].sum() == 30
    assert summary["share"].sum() == pytest.approx(1.0) and summary["revenue_share"].sum() == pytest.approx(1.0)
    assert summary["revenue"].sum() == pytest.approx(segments["total_revenue"].sum())
    assert not summary[["customers", "share", "revenue", "revenue_share"]].isna().any().any()
    empty = summary[summary["customers"] == 0]
    assert (empty[["share", "revenue", "revenue_share"]] == 0).all().all()
    assert summary.attrs["empty_segments"] == empty.index.tolist()


def test_all_tied_store_is_one_segment_and_the_headlines_say_so():
    summary = segment_summary(_small_segments("identical").assign(clv=np.nan), clv_column="clv")
    assert summary.loc["About to Sleep", "customers"] == 30 and summary["customers"].sum() == 30
    assert summary["mean_clv"].isna().all() and summary.attrs["clv_missing"] == 30
    assert segment_headlines(summary) == [
        "About to Sleep bring the most revenue: 100 % of it from 100 % of customers.",
        "All 30 customers are in one segment, About to Sleep.",
        "No customer has a predicted 12-month CLV, so the segments are not ranked by it.",
        "10 of 11 segments have no customer: Champions, Loyal Customers, Potential Loyalists, New Customers, "
        "Promising, Need Attention, At Risk, Can't Lose Them, Hibernating, Lost.",
    ]


def test_mean_clv_is_missing_only_where_a_segment_has_no_value():
    frame = pd.DataFrame(
        {"segment": pd.Categorical(["Champions", "Champions", "Lost", "At Risk"], categories=[CH, AR, LO, NC]),
         "total_revenue": [600.0, 200.0, 50.0, 150.0], "clv": [900.0, np.nan, np.nan, 100.0]},
        index=["a", "b", "c", "d"],
    )
    summary = segment_summary(frame, clv_column="clv", scheme="classic")
    assert summary.loc[CH, "mean_clv"] == 900.0  # over the customers with a value
    assert summary.loc[AR, "mean_clv"] == 100.0
    assert np.isnan(summary.loc[LO, "mean_clv"]) and np.isnan(summary.loc[NC, "mean_clv"])
    assert summary.attrs == {"empty_segments": [NC], "clv_missing": 2}
    # A CLV column covering only some customers: the others are missing, not an error.
    partial = segment_summary(frame.assign(clv=pd.Series({"a": 10.0, "d": 30.0})), clv_column="clv", scheme="classic")
    assert partial["mean_clv"].tolist()[:2] == [10.0, 30.0] and partial["mean_clv"].isna().sum() == 2
    lines = segment_headlines(summary, currency="EUR", clv_label="CLV")
    assert lines[0] == "Champions bring the most revenue: 80 % of it from 50 % of customers."
    assert lines[1] == "The largest segment is Champions: 2 customers (50 %) bringing 80 % of revenue."
    assert lines[2] == "The highest CLV per customer is in Champions (€900)."
    assert lines[3] == "1 of 4 segments have no customer: New Customers."


def test_headlines_of_ties_and_of_no_customers():
    frame = pd.DataFrame({"segment": pd.Categorical(["At Risk", "Champions"], categories=[CH, AR]),
                          "total_revenue": [100.0, 100.0], "clv": [5.0, 5.0]})
    lines = segment_headlines(segment_summary(frame, clv_column="clv"))
    assert lines[0].startswith("Champions bring the most revenue")  # ties: the scheme's first segment
    assert lines[2] == "The highest predicted 12-month CLV per customer is in Champions (\\$5)."  # Markdown: $ escaped
    empty = segment_summary(frame.iloc[:0], clv_column="clv")
    assert empty["customers"].tolist() == [0, 0] and not empty[["share", "revenue_share"]].isna().any().any()
    assert segment_headlines(empty) == ["No customer to segment: all 2 segments are empty."]


def test_a_user_scheme_with_empty_segments_summarises_them_at_zero():
    scheme = {"name": "two", "rules": [{"segment": "Recent", "priority": 1, "r": "5"},
                                       {"segment": "Never", "priority": 1, "r": "1-4", "f": "5"},
                                       {"segment": "Other", "priority": 2}]}
    segments = rfm_segments(_small_segments("one_order").drop(columns="segment"), scheme=scheme, bins=5)
    summary = segment_summary(segments, scheme=scheme)
    assert summary.loc["Never", "customers"] == 0 and summary["customers"].sum() == 30
    assert summary.attrs["empty_segments"] == ["Never"]
