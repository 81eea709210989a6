"""RFM values, quantile and fixed scores, threshold tables and the R × F grid."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlib
from clvlib import DataError, rfm_grid, rfm_scores, rfm_table, score_thresholds

IDS = list("abcdefghij")


@pytest.fixture
def small_rfm() -> pd.DataFrame:
    """Ten customers whose 5-bin scores are worked out by hand below."""
    return pd.DataFrame(
        {
            "recency": [0, 3, 3, 10, 20, 45, 60, 90, 200, 365],
            "frequency": [1, 1, 1, 1, 1, 1, 2, 2, 3, 8],
            "monetary": [10.0, 20.0, 20.0, 40.0, 50.0, 80.0, 100.0, 100.0, 100.0, 300.0],
        },
        index=pd.Index(IDS, name="customer_id"),
    )


# Score = 1 + floor(5 * below / 10), "below" = customers with a strictly worse value (n = 10).
# Recency (worse = larger):  365: 0 → 1 | 200: 1 → 1 | 90: 2 → 2 | 60: 3 → 2 | 45: 4 → 3 | 20: 5 → 3 | 10: 6 → 4
#                            3 (two customers): 7 → 1 + floor(3.5) = 4 | 0: 9 → 5
# Frequency (worse = smaller): 1 (six customers): 0 → 1 | 2: 6 → 4 | 3: 8 → 5 | 8: 9 → 5   (scores 2, 3 empty)
# Monetary: 10: 0 → 1 | 20 (two): 1 → 1 | 40: 3 → 2 | 50: 4 → 3 | 80: 5 → 3 | 100 (three): 6 → 4 | 300: 9 → 5
HAND_R = [5, 4, 4, 4, 3, 3, 2, 2, 1, 1]
HAND_F = [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
HAND_M = [1, 1, 1, 2, 3, 3, 4, 4, 4, 5]


def loop_score(values, bins, higher_is_better=True):
    """Independent plain-Python version of the documented rule (one value for all: the middle score)."""
    if len(values) > 1 and len(set(values)) == 1 and not higher_is_better:  # recency, as monetary
        return [(bins + 1) // 2] * len(values)
    out = []
    for v in values:
        below = sum((x < v) if higher_is_better else (x > v) for x in values)
        out.append(1 + math.floor(bins * below / len(values)))
    return out


def test_rfm_table_values_by_hand():
    customers = pd.DataFrame(
        {"n_orders": [3, 1, 2], "total_revenue": [90.0, 20.0, 50.0], "aov": [30.0, 20.0, 25.0],
         "last_order": pd.to_datetime(["2024-01-25", "2024-01-01", "2023-12-31"])},
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    before = customers.copy()
    table = rfm_table(customers, as_of="2024-01-31")
    assert table["recency"].tolist() == [6, 30, 31]
    assert table["frequency"].tolist() == [3, 1, 2]
    assert table["monetary"].tolist() == [90.0, 20.0, 50.0]
    assert rfm_table(customers, as_of="2024-01-31", monetary="average")["monetary"].tolist() == [30.0, 20.0, 25.0]
    pd.testing.assert_frame_equal(customers, before)
    with pytest.raises(DataError, match="after as_of"):
        rfm_table(customers, as_of="2024-01-10")
    with pytest.raises(ValueError, match="`monetary` must be one of"):
        rfm_table(customers, as_of="2024-01-31", monetary="mean")


def test_rfm_table_from_customer_summary_uses_its_as_of():
    orders = pd.DataFrame({
        "customer_id": ["a", "a", "b"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-15"]),
        "revenue": [10.0, 30.0, 5.0],
    })
    customers = clvlib.customer_summary(orders, as_of="2024-03-31")
    table = rfm_table(customers)
    assert table.loc["a", "recency"] == 30 and table.loc["b", "recency"] == 45
    assert table.loc["a", "frequency"] == 2 and table.loc["a", "monetary"] == 40.0
    assert table.attrs["as_of"] == "2024-03-31"


def test_hand_worked_scores(small_rfm):
    with pytest.warns(UserWarning, match=r"`f_score` uses 3 of 5 levels \(score\(s\) \[2, 3\] empty\).*60 %"):
        scores = rfm_scores(small_rfm)
    assert scores["r_score"].tolist() == HAND_R
    assert scores["f_score"].tolist() == HAND_F
    assert scores["m_score"].tolist() == HAND_M
    assert scores["rfm_code"].tolist()[:4] == ["511", "411", "411", "412"]
    assert scores.loc["j", "rfm_code"] == "155"
    assert scores.attrs["empty_scores"] == {"f_score": [2, 3]}
    assert len(scores.attrs["score_notes"]) == 1
    # The scores agree with the independent loop.
    assert HAND_R == loop_score(small_rfm["recency"].tolist(), 5, higher_is_better=False)
    assert HAND_M == loop_score(small_rfm["monetary"].tolist(), 5)


def test_scores_do_not_mutate_and_keep_values(small_rfm):
    before = small_rfm.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = rfm_scores(small_rfm)
    pd.testing.assert_frame_equal(small_rfm, before)
    pd.testing.assert_frame_equal(scores[list(before.columns)], before)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=60),
    bins=st.integers(min_value=2, max_value=9),
)
def test_quantile_scores_match_loop_and_ties_share_a_score(values, bins):
    rfm = pd.DataFrame({"recency": values, "frequency": values, "monetary": [float(v) for v in values]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = rfm_scores(rfm, bins=bins)
    assert scores["f_score"].tolist() == loop_score(values, bins)
    assert scores["r_score"].tolist() == loop_score(values, bins, higher_is_better=False)
    assert (scores.groupby("monetary")["m_score"].nunique() == 1).all()
    assert scores["f_score"].between(1, bins).all() and scores["r_score"].between(1, bins).all()


def test_distinct_values_fill_every_bin_equally():
    rfm = pd.DataFrame({"recency": np.arange(20), "frequency": np.arange(20) + 1, "monetary": np.arange(20.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no levels missing, so no warning
        scores = rfm_scores(rfm)
    for col in ("r_score", "f_score", "m_score"):
        assert scores[col].value_counts().sort_index().tolist() == [4] * 5
    assert scores.loc[0, "r_score"] == 5 and scores.loc[19, "f_score"] == 5  # most recent / most orders → 5


def test_all_equal_values_score_the_middle_and_warn_for_each_metric():
    rfm = pd.DataFrame({"recency": [7] * 6, "frequency": [1] * 6, "monetary": [25.0] * 6})
    with pytest.warns(UserWarning) as record:
        scores = rfm_scores(rfm)
    assert set(scores["rfm_code"]) == {"313"}  # frequency keeps 1: one order each, the lowest there is
    messages = " ".join(str(w.message) for w in record)
    for col in ("r_score", "f_score", "m_score"):
        assert f"`{col}` uses 1 of 5 levels" in messages
    assert "recency (7), which ranks no one, so all get the middle score 3" in messages
    assert "100 % of customers share frequency = 1" in messages


def test_one_customer():
    rfm = pd.DataFrame({"recency": [3], "frequency": [2], "monetary": [10.0]}, index=pd.Index(["x"]))
    with pytest.warns(UserWarning, match="only one customer"):
        scores = rfm_scores(rfm)
    assert scores.loc["x", "rfm_code"] == "111"


def test_heavy_ties_seventy_percent_one_order():
    frequency = [1] * 70 + [2] * 15 + [3] * 10 + [6] * 5
    rfm = pd.DataFrame({"recency": range(100), "frequency": frequency, "monetary": np.linspace(1, 100, 100)})
    with pytest.warns(UserWarning, match=r"`f_score`.*70 % of customers share frequency = 1") as record:
        scores = rfm_scores(rfm)
    assert len(record) == 1  # recency and monetary are distinct: no warning for them
    # below = 0 → 1; twos: below 70 → 1 + floor(3.5) = 4; threes: 85 → 5; sixes: 95 → 5.
    assert scores.groupby("frequency")["f_score"].first().to_dict() == {1: 1, 2: 4, 3: 5, 6: 5}
    assert scores.attrs["empty_scores"] == {"f_score": [2, 3]}


def test_fixed_thresholds_by_hand():
    rfm = pd.DataFrame({"recency": [0, 30, 31, 365, 366], "frequency": [1, 2, 4, 10, 11],
                        "monetary": [0.0, 50.0, 99.99, 100.0, 1000.0]})
    cuts = {"recency": [30, 90, 180, 365], "frequency": [2, 3, 5, 10], "monetary": [50, 100, 200, 500]}
    with pytest.warns(UserWarning, match="no customer falls between those fixed thresholds"):
        scores = rfm_scores(rfm, method="fixed", thresholds=cuts)
    assert scores["r_score"].tolist() == [5, 5, 4, 2, 1]  # ≤ 30 days → 5; 365 is in (180, 365] → 2
    assert scores["f_score"].tolist() == [1, 2, 3, 5, 5]  # 4 orders: ≥ 3 and < 5 → 3
    assert scores["m_score"].tolist() == [1, 2, 2, 3, 5]
    assert scores.attrs["method"] == "fixed"


def test_partial_fixed_thresholds_override_one_metric(small_rfm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = rfm_scores(small_rfm, thresholds={"recency": [7, 30, 90, 180]})
    assert scores["r_score"].tolist() == [5, 5, 5, 4, 4, 3, 3, 3, 1, 1]  # 200 days > 180 → 1
    assert scores["m_score"].tolist() == HAND_M


def test_threshold_table_round_trip_reproduces_scores(rng):
    rfm = pd.DataFrame({"recency": rng.integers(0, 400, 300), "frequency": rng.geometric(0.5, 300),
                        "monetary": rng.gamma(2.0, 50.0, 300).round(2)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = rfm_scores(rfm)
        table = score_thresholds(scores)
        again = rfm_scores(rfm, method="fixed", thresholds=table)
        from_attrs = rfm_scores(rfm, method="fixed", thresholds=scores.attrs["rfm_thresholds"])
    for col in ("r_score", "f_score", "m_score"):
        assert again[col].tolist() == scores[col].tolist()
        assert from_attrs[col].tolist() == scores[col].tolist()
    # Every customer lies in exactly one interval, and the counts match the scores.
    for metric, col in (("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        rows = table[table["metric"] == metric].set_index("score")
        assert rows["customers"].sum() == len(rfm)
        assert rows["customers"].to_dict() == scores[col].value_counts().reindex(rows.index, fill_value=0).to_dict()
        for score, row in rows.iterrows():
            inside = (rfm[metric] > row["lower"]) & (rfm[metric] <= row["upper"]) if metric == "recency" else \
                (rfm[metric] >= row["lower"]) & (rfm[metric] < row["upper"])
            assert (scores.loc[inside, col] == score).all()


def test_threshold_rules_are_readable():
    rfm = pd.DataFrame({"recency": [5, 50], "frequency": [2, 1], "monetary": [40.0, 10.0]})
    table = score_thresholds(rfm, bins=2).set_index(["metric", "score"])
    assert table.loc[("recency", 2), "rule"] == "recency ≤ 5 days"
    assert table.loc[("frequency", 2), "rule"] == "frequency ≥ 2 orders"
    assert table.loc[("monetary", 1), "rule"] == "monetary < 40.00"


@pytest.mark.parametrize("bins", [1, 10, 2.5, True])
def test_bad_bins(small_rfm, bins):
    with pytest.raises(ValueError, match="`bins`"):
        rfm_scores(small_rfm, bins=bins)


def test_bad_arguments(small_rfm):
    with pytest.raises(ValueError, match="The value for `method` must be one of"):
        rfm_scores(small_rfm, method="kmeans")
    with pytest.raises(ValueError, match="4 ascending cut points"):
        rfm_scores(small_rfm, thresholds={"recency": [90, 30, 180, 365]})
    with pytest.raises(ValueError, match="needs `thresholds`"):
        rfm_scores(small_rfm, method="fixed", thresholds={"recency": [30, 90, 180, 365]})
    with pytest.raises(DataError, match="missing value"):
        rfm_scores(small_rfm.assign(monetary=np.nan))
    with pytest.raises(DataError, match="missing required column"):
        rfm_scores(small_rfm.drop(columns="recency"))


def test_rfm_grid_counts_and_means(small_rfm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = rfm_scores(small_rfm)
    counts = rfm_grid(scores)
    assert counts.index.tolist() == [5, 4, 3, 2, 1] and counts.columns.tolist() == [1, 2, 3, 4, 5]
    assert counts.to_numpy().sum() == 10
    for (r, f), n in scores.groupby(["r_score", "f_score"]).size().items():
        assert counts.loc[r, f] == n
    means = rfm_grid(scores, value="monetary")
    # R 2 × F 4 holds g and h (100 and 100); R 4 × F 1 holds b, c, d (20, 20, 40).
    assert means.loc[2, 4] == 100.0 and means.loc[4, 1] == pytest.approx(80 / 3)
    assert np.isnan(means.loc[5, 5])


# --- small stores: ties, one order each, one day ----------------------------------------------------------------------

def _small_store(kind: str, n: int = 30) -> pd.DataFrame:
    """``n`` customers' orders: "mixed" (1-3 orders over half a year), "one_order" (frequency all tied), "one_day"
    (every order on one day: recency all tied) or "identical" (one $50 order each, all on one day)."""
    rng = np.random.default_rng(7)
    rows = []
    for c in range(n):
        k = 1 if kind in ("one_order", "identical") else int(rng.integers(1, 4))
        for _ in range(k):
            day = (pd.Timestamp("2024-03-01") if kind in ("one_day", "identical")
                   else pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 180))))
            revenue = 50.0 if kind == "identical" else float(rng.integers(10, 100))
            rows.append((f"c{c:02d}", f"o{len(rows)}", day, revenue))
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "revenue"])


def _scored(kind: str, n: int = 30) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return rfm_scores(rfm_table(clvlib.customer_summary(_small_store(kind, n))))


def test_all_tied_frequency_gives_every_customer_the_same_f_score_and_says_so():
    rfm = rfm_table(clvlib.customer_summary(_small_store("one_order")))
    with pytest.warns(UserWarning, match=r"`f_score` uses 1 of 5 levels \(score\(s\) \[2, 3, 4, 5\] empty\)"):
        scores = rfm_scores(rfm)
    assert scores["f_score"].tolist() == [1] * 30
    assert scores.attrs["empty_scores"] == {"f_score": [2, 3, 4, 5]}
    assert scores["r_score"].nunique() == 5 and scores["m_score"].nunique() == 5  # the others are unaffected
    table = score_thresholds(scores).set_index(["metric", "score"])
    assert table.loc[("frequency", 1), "rule"] == "any frequency"
    assert table.loc[("frequency", 1), "customers"] == 30
    assert table.loc["frequency", "customers"].tolist() == [30, 0, 0, 0, 0]
    assert table.groupby("metric")["customers"].sum().tolist() == [30, 30, 30]
    assert not table[["customers", "share"]].isna().any().any()
    grid = rfm_grid(scores)
    assert grid.to_numpy().sum() == 30 and grid[1].sum() == 30 and grid[[2, 3, 4, 5]].to_numpy().sum() == 0


def test_all_orders_on_one_day_tie_recency_and_identical_customers_share_one_code():
    one_day = _scored("one_day")
    assert one_day["recency"].tolist() == [0] * 30
    assert one_day["r_score"].tolist() == [3] * 30  # one value for everyone ranks no one: the middle score
    recency = score_thresholds(one_day).query("metric == 'recency'").set_index("score")
    assert recency["customers"].to_dict() == {5: 0, 4: 0, 3: 30, 2: 0, 1: 0}
    assert recency.loc[3, "rule"] == "recency ≤ 0 days"
    identical = _scored("identical")
    assert identical["rfm_code"].tolist() == ["313"] * 30
    assert len(identical.attrs["score_notes"]) == 3
    monetary = rfm_grid(identical, value="monetary")
    assert monetary.loc[3, 1] == 50.0 and monetary.isna().to_numpy().sum() == 24


def test_tied_values_get_identical_scores_in_a_small_mixed_store():
    scores = _scored("mixed")
    for metric, column in [("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")]:
        assert (scores.groupby(metric)[column].nunique() == 1).all()
    assert score_thresholds(scores).groupby("metric")["customers"].sum().tolist() == [30, 30, 30]


def test_a_value_everyone_shares_gets_the_middle_score():
    # All orders today: recency ranks no one, and the quantile rule would call every customer "lost" (score 1).
    orders = pd.DataFrame({"customer_id": list("abcdef"), "order_id": list("123456"),
                           "order_date": pd.Timestamp("2024-05-01"), "revenue": [1, 2, 3, 4, 5, 6.0]})
    rfm = rfm_table(clvlib.customer_summary(orders), as_of=pd.Timestamp("2024-05-01"))
    with pytest.warns(UserWarning) as record:
        scores = rfm_scores(rfm, bins=5)
    messages = [str(w.message) for w in record]
    assert any("same recency (0), which ranks no one" in m for m in messages)
    assert any("frequency = 1" in m for m in messages)  # one order each keeps score 1
    assert scores["r_score"].eq(3).all() and scores["f_score"].eq(1).all()
    assert scores["m_score"].tolist() == [1, 1, 2, 3, 4, 5]  # distinct values are still ranked
    # The cut points reproduce the scores when applied to the same values as fixed thresholds.
    with pytest.warns(UserWarning, match="no customer falls between those fixed thresholds"):
        again = rfm_scores(rfm, bins=5, method="fixed", thresholds=scores.attrs["rfm_thresholds"])
    assert again["rfm_code"].tolist() == scores["rfm_code"].tolist()
