"""Segment migration: the transition matrix adds up, new and gone customers, flows carry the later revenue."""

from __future__ import annotations

import warnings
from collections import Counter

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlib
from clvlib import DataError, migration_headlines, segment_migration
from clvlib.rfm.migration import GONE, NEW

SEGMENTS = ["Champions", "At Risk", "Lost"]


@settings(max_examples=40, deadline=None)
@given(
    before=st.dictionaries(st.integers(0, 30), st.sampled_from(SEGMENTS), max_size=25),
    after=st.dictionaries(st.integers(0, 30), st.sampled_from(SEGMENTS), min_size=1, max_size=25),
)
def test_matrix_counts_add_up(before, after):
    result = segment_migration(pd.Series(before, dtype="object"), pd.Series(after, dtype="object"))
    matrix = result.matrix
    assert matrix.to_numpy().sum() == len(set(before) | set(after))
    # Rows add up to the earlier segments (plus newcomers), columns to the later ones (plus the gone).
    rows = matrix.sum(axis=1)
    cols = matrix.sum(axis=0)
    for segment, n in Counter(before.values()).items():
        assert rows[segment] == n
    assert rows[NEW] == len(set(after) - set(before))
    for segment, n in Counter(after.values()).items():
        assert cols[segment] == n
    assert cols.get(GONE, 0) == len(set(before) - set(after))
    # Each cell equals a plain count over customers.
    pairs = Counter((before.get(c, NEW), after.get(c, GONE)) for c in set(before) | set(after))
    for (frm, to), n in pairs.items():
        assert matrix.loc[frm, to] == n
    assert result.flows["customers"].sum() == matrix.to_numpy().sum()


def test_flows_new_gone_and_later_revenue():
    before = pd.DataFrame({"segment": ["Champions", "Champions", "Champions", "Lost", "Lost"],
                           "total_revenue": [500.0, 400.0, 300.0, 10.0, 20.0]},
                          index=["a", "b", "c", "d", "e"])
    after = pd.DataFrame({"segment": ["At Risk", "At Risk", "Champions", "Lost", "Champions"],
                          "total_revenue": [520.0, 400.0, 650.0, 10.0, 90.0]},
                         index=["a", "b", "c", "d", "f"])
    result = segment_migration(before, after)
    assert GONE in result.matrix.columns and result.matrix.loc["Lost", GONE] == 1  # e disappeared
    assert result.matrix.loc[NEW, "Champions"] == 1  # f is new
    top = result.largest_flows(n=1).iloc[0]
    assert (top["from"], top["to"], top["customers"]) == ("Champions", "At Risk", 2)
    assert top["revenue"] == 920.0  # the later table's revenue of a and b
    assert top["share_of_from"] == pytest.approx(2 / 3)
    # Ties in customers are ordered by revenue: f (new, 90) before e (gone, 20).
    assert result.largest_flows(n=10)["from"].tolist() == ["Champions", NEW, "Lost"]
    assert NEW not in result.largest_flows(n=10, include_new=False)["from"].tolist()
    flows = result.flows.set_index(["from", "to"])
    assert flows.loc[("Lost", GONE), "revenue"] == 20.0  # gone: the earlier revenue
    assert not flows.loc[("Champions", "Champions"), "moved"]


def test_migration_between_two_as_of_dates_on_real_orders(cdnow_sample_orders):
    def segments_at(as_of):
        customers = clvlib.customer_summary(cdnow_sample_orders, as_of=as_of)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return clvlib.rfm_segments(clvlib.rfm_scores(clvlib.rfm_table(customers)))

    before, after = segments_at("1997-12-31"), segments_at("1998-03-31")
    result = segment_migration(before, after)
    # Customers only accumulate: nobody is gone, and every newcomer first bought after the earlier date.
    assert GONE not in result.matrix.columns
    assert result.matrix.loc[NEW].sum() == len(after) - len(before)
    assert result.matrix.sum(axis=0).tolist() == \
        after["segment"].value_counts().reindex(result.matrix.columns).tolist()


def test_bad_inputs():
    with pytest.raises(DataError, match="no `segment` column"):
        segment_migration(pd.DataFrame({"x": [1]}), pd.Series(["a"]))
    with pytest.raises(DataError, match="customer ids repeat"):
        segment_migration(pd.Series(["a", "b"], index=["x", "x"]), pd.Series(["a"], index=["x"]))


@pytest.mark.slow
def test_rfm_notebook_on_cdnow_headlines_and_files(tmp_path):
    import nbformat
    import papermill

    from clvlib.config import DATA_DIR, NOTEBOOKS_DIR
    from clvlib.formatting import format_pct

    out, exports = tmp_path / "04.ipynb", tmp_path / "segments"
    papermill.execute_notebook(
        str(NOTEBOOKS_DIR / "04_rfm.ipynb"), str(out), cwd=str(NOTEBOOKS_DIR), progress_bar=False,
        parameters={"data": "data/cdnow/CDNOW_master.txt", "preset": "cdnow", "export_dir": str(exports),
                    "with_emails": True},  # the real ids, to compare with the file
    )
    markdown = "\n".join(
        output["data"]["text/markdown"] for cell in nbformat.read(out, 4).cells
        for output in cell.get("outputs", []) if "text/markdown" in output.get("data", {})
    )
    raw = pd.read_csv(DATA_DIR / "cdnow" / "CDNOW_master.txt", sep=r"\s+", header=0,
                      names=["customer_id", "date", "quantity", "revenue"], dtype={"customer_id": str})
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    first = raw.groupby("customer_id")["date"].min()
    # CDNOW is one cohort (first purchases in Q1 1997): nobody is new since 31 Mar 1998.
    assert (f"analysed as of **30 Jun 1998**, from **{first.size:,} customers**" in markdown
            and "Compared with **31 Mar 1998**" in markdown)
    assert f"Since 31 Mar 1998: {int((first > '1998-03-31').sum()):,} new customers" in markdown
    # The combined file holds every customer once; the per-segment files add up to it.
    combined = pd.read_csv(exports / "all_segments.csv", dtype={"customer_id": str})
    assert sorted(combined["customer_id"]) == sorted(first.index)
    parts = [p for p in exports.glob("*.csv") if p.name != "all_segments.csv"]
    assert sum(len(pd.read_csv(p)) for p in parts) == first.size
    # The headline's top-revenue segment and its revenue share, recomputed from the file with plain pandas.
    totals = combined.groupby("segment")["total_revenue"].sum()
    top = totals.idxmax()
    share = totals.max() / totals.sum()
    assert f"{top} bring the most revenue: {format_pct(share)} of it" in markdown


# --- small stores: nobody earlier, nobody moving ---------------------------------------------------------------------

def _one_day_segments(as_of: str, n: int = 30) -> pd.DataFrame:
    """Segments of ``n`` customers who each bought once, on 2024-03-01, as of ``as_of`` (every value tied)."""
    orders = pd.DataFrame({"customer_id": [f"c{i:02d}" for i in range(n)], "order_id": [f"o{i}" for i in range(n)],
                           "order_date": pd.Timestamp("2024-03-01"), "revenue": 40.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        customers = clvlib.customer_summary(orders[orders["order_date"] <= as_of], as_of=as_of)
        return clvlib.rfm_segments(clvlib.rfm_scores(clvlib.rfm_table(customers, as_of=as_of)))


def test_migration_from_a_date_before_the_first_order_is_all_new():
    before, after = _one_day_segments("2024-01-31"), _one_day_segments("2024-03-31")
    assert len(before) == 0 and after["segment"].astype(str).tolist() == ["About to Sleep"] * 30
    result = segment_migration(before, after)
    assert result.matrix.to_numpy().sum() == 30
    assert result.matrix.loc[NEW, "About to Sleep"] == 30 and result.matrix.drop(index=NEW).to_numpy().sum() == 0
    assert GONE not in result.matrix.columns
    assert result.flows[["from", "to", "customers", "revenue"]].values.tolist() == [[NEW, "About to Sleep", 30, 1200.0]]
    assert result.largest_flows(n=1, include_new=False).empty
    assert migration_headlines(result, since="2024-01-31") == [
        "Since 31 Jan 2024: 30 new customers; there were no earlier customers to compare with."]


def test_migration_where_nobody_moves():
    before, after = _one_day_segments("2024-03-31"), _one_day_segments("2024-04-30")
    result = segment_migration(before, after)
    assert result.matrix.loc["About to Sleep", "About to Sleep"] == 30 and result.matrix.to_numpy().sum() == 30
    assert result.flows["share_of_from"].tolist() == [1.0]
    assert migration_headlines(result, currency="EUR") == [
        "0 new customers; 30 of the 30 earlier customers kept their segment.",
        "No earlier customer changed segment.",
    ]


def test_migration_headline_names_the_largest_move_with_its_revenue():
    before = pd.DataFrame({"segment": ["Champions", "Champions", "Lost"], "total_revenue": [10.0, 20.0, 5.0]},
                          index=["a", "b", "c"])
    after = pd.DataFrame({"segment": ["At Risk", "At Risk", "Lost", "Champions"],
                          "total_revenue": [100.0, 150.0, 5.0, 60.0]}, index=["a", "b", "c", "d"])
    assert migration_headlines(segment_migration(before, after), since="2024-03-31") == [
        "Since 31 Mar 2024: 1 new customer; 1 of the 3 earlier customers kept their segment.",
        "The largest move of earlier customers: 2 customers from Champions to At Risk, who brought \\$250.",
    ]
