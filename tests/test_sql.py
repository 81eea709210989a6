"""The SQL route (clvlib.sql, run by DuckDB) against the pandas route (clvlib.customer_summary).

Both routes are independent implementations of the same summary (numpy bincounts over integer codes vs. two SQL
GROUP BYs), so agreement on the full CDNOW data, in every time unit, files and partitions included, checks each.
The larger-than-memory test caps DuckDB's memory below the data's size and checks the process never held it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import duckdb
import numpy as np
import pandas as pd
import pytest

from clvlib import DataError, customer_summary
from clvlib.config import DATA_DIR
from clvlib.sql import customer_summary_sql, summary_sql


@pytest.fixture(scope="module")
def cdnow_orders() -> pd.DataFrame:
    """All 69,659 CDNOW transactions (23,570 customers), read with pandas alone."""
    raw = pd.read_csv(
        DATA_DIR / "cdnow" / "CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str, "date": str}
    )
    return pd.DataFrame({
        "customer_id": raw["customer_id"],
        "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "revenue": raw["dollar_value"].astype(float),
    })


@pytest.mark.parametrize("time_unit", ["D", "W", "M"])
@pytest.mark.parametrize("as_of", [None, "1997-09-30"])
def test_sql_and_pandas_routes_agree_on_cdnow(cdnow_orders, time_unit, as_of):
    expected = customer_summary(cdnow_orders, as_of=as_of, time_unit=time_unit)
    got = customer_summary_sql(cdnow_orders, as_of=as_of, time_unit=time_unit)
    assert len(got) == (23_570 if as_of is None else len(expected))
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert got.attrs == expected.attrs


def test_files_and_hive_partitions_read_without_pandas(cdnow_orders, tmp_path):
    expected = customer_summary(cdnow_orders, time_unit="W")
    csv = tmp_path / "orders.csv"
    cdnow_orders.to_csv(csv, index=False)  # ids like "00001": read as text, leading zeros kept
    parts = tmp_path / "by_month"
    cdnow_orders.assign(month=cdnow_orders.order_date.dt.strftime("%Y-%m")).to_parquet(
        parts, partition_cols=["month"], index=False
    )
    for source in (csv, parts, str(parts / "*" / "*.parquet")):
        got = customer_summary_sql(source, time_unit="W")
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert got.index[0] == "00001"


@pytest.mark.parametrize("as_of", [None, "1998-01-31"])
def test_summary_sql_text_runs_with_other_column_names(cdnow_orders, as_of):
    # A warehouse table with its own names: the text alone (no clvlib at run time) gives the pandas figures; without
    # as_of the query finds the last order date itself.
    shop = cdnow_orders.rename(columns={"customer_id": "email", "order_date": "placed at", "revenue": "net"})
    sql = summary_sql("shop", customer_id_column="email", order_date_column="placed at", revenue_column="net",
                      as_of=as_of, time_unit="M")
    with duckdb.connect() as con:
        con.register("shop", shop)
        got = con.execute(sql).df().set_index("customer_id")
    expected = customer_summary(cdnow_orders, as_of=as_of, time_unit="M")
    assert list(got.index) == list(expected.index)
    for column in ["frequency", "recency", "T", "monetary_value", "n_orders", "total_revenue", "aov"]:
        np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-12)


def test_dialects_differ_only_in_quoting_and_day_difference():
    duck = summary_sql("t", as_of="2024-01-31", dialect="duckdb")
    spark = summary_sql("t", as_of="2024-01-31", dialect="spark")
    assert "datediff(last_order, first_order)" in spark and "`customer_id`" in spark
    assert "date_diff('day', first_order, last_order)" in duck
    assert spark.replace("`", '"').replace("datediff(last_order, first_order)", "X").replace(
        "datediff(DATE '2024-01-31', first_order)", "Y"
    ) == duck.replace("date_diff('day', first_order, last_order)", "X").replace(
        "date_diff('day', first_order, DATE '2024-01-31')", "Y"
    )
    with pytest.raises(ValueError, match="The value for `dialect` must be one of"):
        summary_sql(dialect="oracle")


def test_guests_and_orders_after_as_of_are_accounted_like_pandas():
    orders = pd.DataFrame({
        "customer_id": ["a", "a", None, "b", "c", "a"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-05", "2024-03-01",
                                      "2024-02-10"]),
        "revenue": [10.0, 5.0, 7.0, 20.0, 9.0, 4.0],
    })
    got = customer_summary_sql(orders, as_of="2024-01-31")
    assert list(got.index) == ["a", "b"]
    assert got.attrs["guest_orders"] == 1 and got.attrs["orders_after_as_of"] == 2
    assert got.loc["a", "n_orders"] == 2 and got.loc["a", "frequency"] == 0
    pd.testing.assert_frame_equal(got, customer_summary(orders, as_of="2024-01-31"))


def test_progress_reports_growing_fractions_and_finishes(cdnow_orders):
    seen: list[float] = []
    customer_summary_sql(cdnow_orders, progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert all(0.0 <= a <= b <= 1.0 for a, b in zip(seen, seen[1:]))


def test_bad_sources_are_named():
    with pytest.raises(DataError, match="orders.xlsx"):
        customer_summary_sql("orders.xlsx")
    with pytest.raises(DataError, match="`order_date`"):
        customer_summary_sql(pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"], "revenue": [1.0]}))


_CAPPED = textwrap.dedent("""
    import json, resource, sys
    import duckdb
    from clvlib.sql import customer_summary_sql
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = customer_summary_sql(sys.argv[1], memory_limit="64MB", threads=1, time_unit="W")
    result.to_pickle(sys.argv[2])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rss_growth": (peak - before) * 1024}))
""")


def test_file_larger_than_the_memory_cap_is_summarised(tmp_path):
    # 5 million orders of 50,000 customers: ~155 MB as pandas columns, ~140 MB in DuckDB's. DuckDB gets 64 MB, so
    # it must stream the file and spill its grouping (~4.5 million purchase days); the process never holds the data.
    source, out = tmp_path / "orders.parquet", tmp_path / "customers.pkl"
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"""
            COPY (SELECT 'c' || lpad(CAST(hash(i) % 50000 AS VARCHAR), 6, '0') AS customer_id,
                         DATE '2023-01-01' + CAST(hash(i * 7 + 1) % 1000 AS INTEGER) AS order_date,
                         CAST(hash(i * 13 + 5) % 20000 AS DOUBLE) / 100 AS revenue
                  FROM range(5000000) t(i)) TO '{source}' (FORMAT parquet)""")
    run = subprocess.run([sys.executable, "-c", _CAPPED, str(source), str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    growth = json.loads(run.stdout.strip().splitlines()[-1])["rss_growth"]

    orders = pd.read_parquet(source)
    orders["order_date"] = orders["order_date"].astype("datetime64[ns]")
    in_memory = orders.memory_usage(deep=True).sum()
    assert in_memory > 2 * 64 * 2**20
    assert growth < 0.8 * in_memory
    expected = customer_summary(orders, time_unit="W")
    got = pd.read_pickle(out)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert got.attrs == expected.attrs


def test_a_failing_progress_callback_stops_the_query(cdnow_orders):
    class Stop(Exception):
        pass

    def stop(done: float) -> None:
        raise Stop

    with pytest.raises(Stop):
        customer_summary_sql(pd.concat([cdnow_orders] * 20, ignore_index=True), progress=stop)
