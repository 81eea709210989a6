"""The reader's fast paths give exactly what the plain paths give: Arrow's CSV parser and pandas' C parser, parsing
distinct values and every value, grouping by codes and by the ids, skipping a sort the data does not need."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvlib.errors import DataError
from clvlib.ingest import cleaning, read, readers
from clvlib.ingest.cleaning import Ledger, net_amount

TRICKY_CSV = {
    "plain": "a,b\n1,2\n",
    "quoted header": '"a","b"\n1,2\n',
    "blank and quoted blank": 'a,b\n1,\n,""\n',
    "quoted separator and quote": 'a,b\n1,"x,""y"""\n',
    "quoted newline": 'a,b\n1,"x\ny"\n2,3\n',
    "space after separator": "a,b\n1, x\n2,   \n",
    "quoted cell after a space": 'a,b\n1, "x,y"\n',
    "quoted cell starting with a space": 'a,b\n1," x"\n2, y\n',
    "header with a space": "a, b\n1,2\n",
    "tab and trailing space": "a,b\n1,\tx \n",
    "control characters": "a,b\n1,x\x00y\x01\n",
    "blank lines": "a,b\n\n1,2\n\n",
    "only separators": "a,b\n,\n1,2\n",
    "CRLF": "a,b\r\n1,2\r\n",
    "no final newline": "a,b\n1,2",
    "open quote at the end": 'a,b\n1,"x\n',
    "open quote, no final newline": 'a,b\n1,"x',
    "closed quote, no final newline": 'a,b\n1,"x"',
    "more cells than names": "a,b\n1,2,3\n",
    "fewer cells than names": "a,b\n1\n2,3\n",
    "blank name": "a,\n1,2\n",
    "repeated name": "a,a\n1,2\n",
    "line of spaces": "a,b\n1,2\n   \n3,4\n",
    "BOM": "\ufeffa,b\n1,2\n",
    "header only": "a,b\n",
    "not UTF-8": "a,b\n1,caf\xe9\n",
}


def _read(path, arrow: bool, monkeypatch):
    with monkeypatch.context() as patch:
        if not arrow:
            patch.setattr(readers, "_read_csv_arrow", lambda *args, **kwargs: None)
        try:
            return readers.read_raw(path)
        except DataError as err:
            return str(err)


@pytest.mark.parametrize("case", list(TRICKY_CSV))
def test_arrow_csv_reads_like_the_c_parser(case, tmp_path, monkeypatch):
    path = tmp_path / "orders.csv"
    text = TRICKY_CSV[case]
    path.write_bytes(text.encode("latin-1") if case == "not UTF-8" else text.encode())
    fast, plain = _read(path, True, monkeypatch), _read(path, False, monkeypatch)
    if isinstance(plain, str):
        assert fast == plain
        return
    pd.testing.assert_frame_equal(fast[0], plain[0], check_exact=True)
    assert fast[1] == plain[1]


def test_arrow_csv_is_used_for_a_plain_file(tmp_path, monkeypatch):
    path = tmp_path / "orders.csv"
    path.write_text("a,b\n1, x\n2,y\n")
    used = []
    original = readers._read_csv_arrow
    monkeypatch.setattr(readers, "_read_csv_arrow", lambda *a, **k: used.append(original(*a, **k)) or used[-1])
    readers.read_raw(path)
    assert used and used[0] is not None


def test_distinct_values_parse_like_every_value(rng):
    n = 20_000
    amounts = pd.Series(rng.choice(["1.5", " 2", "", "$3.00", "1,234.5", None], n), dtype="str")
    fast = readers.to_number(amounts, column="revenue", source="x.csv")
    plain = readers._to_number(amounts, column="revenue", source="x.csv", decimal=".", thousands=None)
    pd.testing.assert_series_equal(fast, plain, check_exact=True)
    with pytest.raises(DataError, match="row 3:"):
        readers.to_number(pd.Series(["1"] * 2 + ["x"] + ["2"] * n, dtype="str"), column="revenue", source="x.csv")

    ids = pd.Series(rng.choice(["C1", " C2 ", "7.0", "NULL", "", "C\x013", None], n), dtype="str")
    stats_fast, stats_plain = {}, {}
    fast = read._id_text(ids, "customer_id", stats_fast)
    plain, changes = read._id_changes(ids, "customer_id")
    stats_plain.update({what: (int(hit.sum()), int(shown.nunique())) for what, (hit, shown) in changes.items()})
    pd.testing.assert_series_equal(fast, plain, check_exact=True)
    assert stats_fast == stats_plain and len(stats_fast) == 3

    days = pd.Series(pd.to_datetime(rng.choice(["2024-01-02", "2023-12-31"], n)).date)
    pd.testing.assert_series_equal(readers.to_dates(days, column="d", source="x"),
                                   readers._to_dates(pd.Series(pd.to_datetime(days)), column="d", source="x",
                                                     timezone=None, date_format=None, dayfirst=None),
                                   check_exact=True, check_names=False)


def _grouped_by_ids(lines, ledger, keep_zero):
    """aggregate_orders as it was: grouped by the order id text itself."""
    kept = lines[ledger.kept]
    grouped = kept.assign(_net=net_amount(kept), _gross=kept["revenue"].fillna(0.0).clip(lower=0.0)).groupby(
        kept["order_id"], sort=False)
    totals = grouped[["_net", "_gross"]].sum()
    refunded = (totals["_gross"] > 0) & (totals["_net"] < totals["_gross"] - 1e-9)
    bad = totals["_net"] < 0 if keep_zero else totals["_net"] <= 1e-9
    if bad.any():
        in_bad = lines["order_id"].isin(totals.index[bad]).to_numpy() & ledger.kept
        by_refund = lines["order_id"].isin(totals.index[bad & refunded]).to_numpy()
        ledger.exclude(in_bad & by_refund, "fully refunded")
        ledger.exclude(in_bad, "zero or negative amount")
        kept = lines[ledger.kept]
        grouped = kept.assign(_net=net_amount(kept)).groupby(kept["order_id"], sort=False)
    orders = grouped[[c for c in ("customer_id", "order_date") if c in kept]].first()
    orders["revenue"] = grouped["_net"].sum()
    for c in [c for c in ("quantity", "cost") if c in kept]:
        orders[c] = grouped[c].sum(min_count=1)
    return orders.reset_index()


@pytest.mark.parametrize("seed", range(4))
def test_orders_grouped_by_codes_are_the_orders_grouped_by_ids(seed):
    rng = np.random.default_rng(seed)
    for trial in range(60):
        n = int(rng.integers(0, 30))
        layout = trial % 4
        ids = np.array([f"O{i:03d}" for i in (range(n) if layout in (0, 1) else rng.integers(0, 10, n))], dtype=object)
        ids = ids[::-1] if layout == 1 else np.sort(ids) if layout == 2 else ids
        if n and trial % 3 == 0:
            ids[rng.random(n) < 0.1] = None
        lines = pd.DataFrame({
            "order_id": pd.Series(ids, dtype="str"),
            "customer_id": pd.Series([f"C{i}" for i in rng.integers(0, 5, n)], dtype="str"),
            "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 5, n), unit="D"),
            "revenue": np.where(rng.random(n) < 0.1, np.nan, np.round(rng.normal(10, 15, n), 1)),
            "quantity": np.where(rng.random(n) < 0.2, -0.0, rng.integers(-1, 3, n).astype(float)),
        })
        if trial % 2:
            lines["refunded"] = np.where(rng.random(n) < 0.7, np.nan, np.round(rng.uniform(0, 20, n), 1))
        if trial % 5 == 0:
            lines.loc[rng.random(n) < 0.3, "revenue"] = -0.0
        reasons = pd.Series(np.where(rng.random(n) < 0.2, "duplicate", None), dtype=object)
        keep_zero = trial % 3 == 1
        before, after = Ledger(n, reasons), Ledger(n, reasons)
        expected = _grouped_by_ids(lines, before, keep_zero)
        got = cleaning.aggregate_orders(lines, after, keep_zero=keep_zero)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        for c in ("revenue", "quantity"):  # the same zeros too: -0.0 where a sum keeps it
            assert np.signbit(got[c].to_numpy()).tolist() == np.signbit(expected[c].to_numpy()).tolist()
        assert after.reason.fillna("").tolist() == before.reason.fillna("").tolist()
        assert after.kept.tolist() == before.kept.tolist() and after.notes == before.notes


@pytest.mark.parametrize("layout", ["sorted", "newest first", "shuffled", "missing ids"])
def test_orders_sorted_as_a_stable_sort_sorts_them(layout, rng):
    for _ in range(30):
        n = int(rng.integers(0, 40))
        orders = pd.DataFrame({
            "customer_id": pd.Series([f"C{i}" for i in range(n)], dtype="str"),
            "order_id": pd.Series([f"O{i}" for i in rng.integers(0, 30, n)], dtype="str"),
            "order_date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 4, n), unit="D")).astype(
                "datetime64[ns]"),
            "revenue": rng.random(n),
        })
        stable = orders.sort_values(["order_date", "order_id"], kind="stable", ignore_index=True)
        if layout == "sorted":
            orders = stable
        elif layout == "newest first":
            orders = stable.iloc[::-1].reset_index(drop=True)
        elif layout == "missing ids" and n:
            orders.loc[rng.random(n) < 0.2, "order_id"] = np.nan
        expected = orders.sort_values(["order_date", "order_id"], kind="stable", ignore_index=True)
        got = read._finalise(orders.copy(), "x.csv", None)
        got.attrs = {}
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("days", [["2024-01-02", None, "2023-12-31"], ["2024-01-02", "2300-01-01", "0024-05-01"]])
def test_parquet_dates_as_datetimes_read_like_python_dates(days, tmp_path, monkeypatch):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    dates = [dt.date.fromisoformat(d) if d else None for d in days]
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"customer_id": ["a", "b", "a"], "order_id": ["1", "2", "3"],
                             "order_date": pa.array(dates, pa.date32()), "revenue": [1.0, 2.0, 3.0]}), path)

    def result():
        try:
            return read.read_transactions(path)
        except DataError as err:
            return str(err)

    fast = result()
    with monkeypatch.context() as patch:
        plain_read_raw = readers.read_raw
        patch.setattr(readers, "read_raw", lambda *a, **k: plain_read_raw(*a, **{**k, "datetime_dates": False}))
        plain = result()
    if isinstance(plain, str):
        assert fast == plain and "outside the years" in plain
    else:
        pd.testing.assert_frame_equal(fast, plain, check_exact=True)
        assert fast.attrs["cleaning"].excluded.equals(plain.attrs["cleaning"].excluded)
