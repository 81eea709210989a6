"""The Spark route (clvlib.spark, on a real local Spark) against the pandas route, on CDNOW and the demo store.

Spark runs in local mode (``local[2]``), one session for the module. The two routes share definitions but no
code for the summary (Spark SQL vs numpy bincounts), so their agreement checks both: integer-valued columns and
dates exactly, money columns to float rounding (the two routes add a customer's amounts in different orders). The
fits use the kit's own fitters on the compressed input, so BG/NBD's parameters agree bit for bit; the scores run in
mapInPandas on the executors.

Without Java or PySpark the module is skipped, with the reason; with CI=true it fails instead, so CI always runs it
(``.ci/install_java.sh`` installs Java, ``requirements.txt`` PySpark).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib.config import DATA_DIR

pytestmark = [
    pytest.mark.spark,
    # PySpark 4.3 warns that it does not fully support pandas 3 (it works here: these tests are the proof), and its
    # toPandas passes pandas 3's deprecated `copy` keyword.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: CI must run the Spark tests (.ci/run installs Java, make setup PySpark).",
                    pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


try:
    import pyspark  # noqa: F401
except ImportError:
    _unavailable("PySpark is not installed (pip install 'clvlib[spark]')")
if _java() is None:
    _unavailable("no Java runtime (java on PATH or JAVA_HOME) for Spark's local mode; apt-get install "
                 "openjdk-17-jre-headless")

from pyspark.sql import SparkSession  # noqa: E402

from clvlib import spark as cs  # noqa: E402
from clvlib.errors import DataError  # noqa: E402
from clvlib.sql import summary_sql  # noqa: E402

MONEY = ["monetary_value", "total_revenue", "aov"]


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    # One session for the module, stopped when it ends (the rest of the suite gets its memory back). Workers run
    # this interpreter (the venv's clvlib, scipy, pandas); the JVM's quick-start options save ~10 s of start-up.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]").appName("clvlib-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def cdnow_orders() -> pd.DataFrame:
    """All 69,659 CDNOW transactions (23,570 customers), read with pandas alone."""
    raw = pd.read_csv(DATA_DIR / "cdnow" / "CDNOW_master.txt", sep=r"\s+",
                      dtype={"customer_id": str, "date": str})
    return pd.DataFrame({
        "customer_id": raw["customer_id"],
        "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "revenue": raw["dollar_value"].astype(float),
    })


@pytest.fixture(scope="module")
def cdnow_spark(spark, cdnow_orders):
    return spark.createDataFrame(cdnow_orders).cache()


@pytest.fixture(scope="module")
def cdnow_weekly(cdnow_spark):
    """The Spark summary of CDNOW in weeks, computed once (cached)."""
    return cs.customer_summary_spark(cdnow_spark, time_unit="W").cache()


@pytest.fixture(scope="module")
def cdnow_customers(cdnow_orders) -> pd.DataFrame:
    return clvlib.customer_summary(cdnow_orders, time_unit="W")


def assert_same_summary(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same customers, columns, dtypes and attrs; counts, times and dates exactly, money to float rounding."""
    assert list(got.columns) == list(expected.columns)
    assert got.index.equals(expected.index) and got.index.dtype == expected.index.dtype
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()
    assert got.attrs == expected.attrs
    for column in got.columns:
        if column in MONEY or column == "revenue_holdout":
            np.testing.assert_allclose(got[column], expected[column], rtol=1e-13, atol=0, err_msg=column)
        else:
            assert (got[column].to_numpy() == expected[column].to_numpy()).all(), column


def test_the_core_never_imports_pyspark():
    code = ("import sys, clvlib, clvlib.models, clvlib.sql; "
            "print(sorted(m for m in sys.modules if m == 'clvlib.spark' or m.split('.')[0] in ('pyspark', 'py4j')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"


# -- the summary ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("time_unit", "as_of"), [("W", None), ("D", "1997-09-30"), ("M", "1998-01-31")])
def test_summary_equals_the_pandas_route_on_cdnow(cdnow_spark, cdnow_orders, time_unit, as_of):
    expected = clvlib.customer_summary(cdnow_orders, time_unit=time_unit, as_of=as_of, warn=False)
    got = cs.to_customer_table(cs.customer_summary_spark(cdnow_spark, time_unit=time_unit, as_of=as_of))
    assert len(got) == (23_570 if as_of is None else len(expected))
    assert_same_summary(got, expected)


def test_the_spark_sql_text_of_summary_sql_runs_on_spark(spark, cdnow_spark, cdnow_orders):
    # The text users paste into Databricks: with its own column names, with and without an as-of date.
    cdnow_spark.withColumnsRenamed({"customer_id": "email", "order_date": "placed at", "revenue": "net"}) \
        .createOrReplaceTempView("shop_orders")
    for as_of in (None, "1997-12-31"):
        sql = summary_sql("shop_orders", customer_id_column="email", order_date_column="placed at",
                          revenue_column="net", as_of=as_of, time_unit="W", dialect="spark")
        got = spark.sql(sql).toPandas().set_index("customer_id")
        expected = clvlib.customer_summary(cdnow_orders, as_of=as_of, time_unit="W", warn=False)
        assert list(got.index) == list(expected.index)
        for column in ["frequency", "recency", "T", "n_orders"]:
            assert (got[column].to_numpy(float) == expected[column].to_numpy(float)).all(), column
        for column in MONEY:
            np.testing.assert_allclose(got[column].to_numpy(float), expected[column], rtol=1e-13, err_msg=column)


def test_calibration_holdout_equals_the_pandas_route(cdnow_spark, cdnow_orders):
    expected = clvlib.calibration_holdout(cdnow_orders, calibration_end="1997-09-30", time_unit="W")
    got = cs.to_customer_table(cs.calibration_holdout_spark(cdnow_spark, calibration_end="1997-09-30",
                                                            time_unit="W"))
    assert_same_summary(got, expected)
    with pytest.raises(ValueError, match="must be after `calibration_end`"):
        cs.calibration_holdout_spark(cdnow_spark, calibration_end="1998-06-30", observation_end="1998-01-01")


def test_one_shuffle_and_no_python_on_the_executors(cdnow_weekly):
    # Pandas-free executors: the plan has no Python node; the orders cross the network once (by customer).
    plan = cdnow_weekly._jdf.queryExecution().executedPlan().toString()
    assert "Python" not in plan and "ArrowEval" not in plan
    assert plan.count("Exchange hashpartitioning") == 1, plan


def test_guests_timestamps_and_other_column_names(spark):
    orders = pd.DataFrame({
        "email": ["a", "a", None, "b", "c", "a", "b"],
        "created_at": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 18:30", "2024-01-02 00:00", "2024-01-05 12:00",
                                      "2024-03-01 08:00", "2024-02-10 10:10", "2024-01-20 23:59"]),
        "net revenue": [10.0, 5.0, 7.0, 20.0, 9.0, 4.0, 6.0],
    })
    got = cs.to_customer_table(cs.customer_summary_spark(
        spark.createDataFrame(orders), as_of="2024-01-31", customer_id_column="email",
        order_date_column="created_at", revenue_column="net revenue"))
    canonical = orders.set_axis(["customer_id", "order_date", "revenue"], axis=1)
    expected = clvlib.customer_summary(canonical, as_of="2024-01-31", warn=False)
    assert_same_summary(got, expected)
    assert got.attrs["guest_orders"] == 1 and got.attrs["orders_after_as_of"] == 2
    assert got.loc["a", "frequency"] == 0 and got.loc["a", "n_orders"] == 2  # same day: one purchase


def test_errors_name_the_column_and_the_problem(spark):
    frame = spark.createDataFrame(pd.DataFrame({"customer": ["a"], "order_date": pd.to_datetime(["2024-01-01"]),
                                                "revenue": [1.0]}))
    with pytest.raises(DataError, match=r"`customer_id` \(closest match: `customer`\)"):
        cs.customer_summary_spark(frame)
    missing = spark.createDataFrame(pd.DataFrame({"customer_id": ["a", "b"], "revenue": [1.0, None],
                                                  "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"])}))
    with pytest.raises(DataError, match="`revenue` has 1 missing"):
        cs.customer_summary_spark(missing)
    with pytest.raises(ValueError, match="The value for `time_unit` must be one of"):
        cs.customer_summary_spark(frame, time_unit="Y")


# -- tables by name and Parquet paths ------------------------------------------------------------------------
def test_a_table_name_and_a_parquet_folder_work_unchanged(spark, cdnow_spark, cdnow_orders, tmp_path):
    expected = clvlib.customer_summary(cdnow_orders, time_unit="W")
    folder = tmp_path / "orders"
    cdnow_spark.coalesce(1).withColumn("month", cdnow_spark.order_date.cast("date").substr(1, 7)) \
        .write.partitionBy("month").parquet(str(folder))  # hive partitions: month=1997-01/part-....parquet
    cdnow_spark.createOrReplaceTempView("cdnow_orders")
    for source in (str(folder), folder, "cdnow_orders"):
        assert_same_summary(cs.to_customer_table(cs.customer_summary_spark(source, time_unit="W", spark=spark)),
                            expected)
    # The summary written to Parquet keeps its attrs (column metadata): the next steps read it by path.
    summary_path = str(tmp_path / "customers")
    cs.customer_summary_spark(str(folder), time_unit="W", spark=spark).write.parquet(summary_path)
    assert cs.table_attrs(spark.read.parquet(summary_path))["time_unit"] == "W"
    spark.read.parquet(summary_path).write.mode("overwrite").saveAsTable("clvlib_test_customers")  # and tables
    assert cs.table_attrs(spark.table("clvlib_test_customers")) == expected.attrs
    table = cs.fit_input(summary_path, spark=spark)
    assert table.attrs["time_unit"] == "W" and table.attrs["n_customers"] == 23_570


# -- fitting from the compressed input -----------------------------------------------------------------------
def test_fit_input_keeps_one_time_buyers_and_counts_every_customer(cdnow_weekly, cdnow_customers):
    table = cs.fit_input(cdnow_weekly)
    assert table["customers"].sum() == len(cdnow_customers) == table.attrs["n_customers"]
    one_time = (cdnow_customers["frequency"] == 0).sum()
    assert table.loc[table["frequency"] == 0, "customers"].sum() == one_time  # 12,054: half the base
    assert len(table) == len(cdnow_customers[["frequency", "recency", "T"]].drop_duplicates())


@pytest.mark.parametrize("model_class", [clvlib.BetaGeo, clvlib.ParetoNBD])
def test_purchase_model_fit_equals_the_pandas_fit(cdnow_weekly, cdnow_customers, model_class):
    expected = model_class().fit(cdnow_customers)
    got = cs.fit_compressed(model_class(), cs.fit_input(cdnow_weekly))
    np.testing.assert_allclose(got.params_, expected.params_, rtol=1e-8, atol=0)
    assert got.params_.equals(expected.params_)  # the rows arrive in the same order: bit for bit
    assert got.n_customers_ == expected.n_customers_ and got.time_unit_ == "W"
    assert got.log_likelihood_ == pytest.approx(expected.log_likelihood_, rel=1e-12)
    assert got.diagnosis_ == expected.diagnosis_
    np.testing.assert_allclose(got.standard_errors_, expected.standard_errors_, rtol=1e-8)


def test_gamma_gamma_fit_equals_the_pandas_fit(cdnow_weekly, cdnow_customers):
    expected = clvlib.GammaGamma().fit(cdnow_customers)
    table = cs.spend_fit_input(cdnow_weekly)
    assert table.attrs["sample_fraction"] == 1.0
    got = cs.fit_compressed(clvlib.GammaGamma(), table)
    np.testing.assert_allclose(got.params_, expected.params_, rtol=1e-8, atol=0)
    assert got.excluded_.equals(expected.excluded_) and got.n_customers_ == expected.n_customers_
    assert got.diagnosis_.notes == expected.diagnosis_.notes  # the zero-value repeat buyer is named


def test_spend_fit_input_samples_above_max_rows(cdnow_weekly):
    table = cs.spend_fit_input(cdnow_weekly, max_rows=2_000, seed=3)
    assert table.attrs["sample_fraction"] == pytest.approx(2_000 / 11_515)
    assert 1_700 < table["customers"].sum() < 2_300
    model = cs.fit_compressed(clvlib.GammaGamma(), table)
    full = clvlib.GammaGamma().fit(cs.to_customer_table(cdnow_weekly))
    # The sample's estimate lies within its own sampling error of the full fit's.
    assert abs(model.population_mean_spend() - full.population_mean_spend()) < 0.1 * full.population_mean_spend()


def test_fit_compressed_refuses_the_wrong_table():
    with pytest.raises(DataError, match="missing column"):
        cs.fit_compressed(clvlib.BetaGeo(), pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0]}))
    with pytest.raises(DataError, match="positive whole counts"):
        cs.fit_compressed(clvlib.BetaGeo(), pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0],
                                                          "customers": [0.5]}))


# -- scores on the executors ---------------------------------------------------------------------------------
def test_scores_equal_predictive_clv(cdnow_weekly, cdnow_customers):
    bg, gg = clvlib.BetaGeo().fit(cdnow_customers), clvlib.GammaGamma().fit(cdnow_customers)
    scored = cs.score_spark(bg, gg, cdnow_weekly, horizons=(12, 6.5), annual_discount_rate=0.08, margin=0.3)
    got = cs.to_customer_table(scored)
    assert got.attrs == cdnow_customers.attrs
    for horizon in (12, 6.5):
        expected = clvlib.predictive_clv(bg, gg, cdnow_customers, horizon_months=horizon, annual_discount_rate=0.08,
                                         margin=0.3, intervals=False)
        for column in expected.columns:
            np.testing.assert_allclose(got[column], expected[column], rtol=1e-10, atol=0, err_msg=column)


def test_scores_check_the_time_unit_and_the_arguments(cdnow_weekly, cdnow_customers):
    daily = cdnow_customers.copy()
    daily[["recency", "T"]] *= 7
    daily.attrs["time_unit"] = "D"
    bg, gg = clvlib.BetaGeo().fit(daily), clvlib.GammaGamma().fit(daily)
    with pytest.raises(DataError, match="time unit"):
        cs.score_spark(bg, gg, cdnow_weekly)
    with pytest.raises(ValueError, match="`margin` must be in"):
        cs.score_spark(clvlib.BetaGeo().fit(cdnow_customers), gg, cdnow_weekly, margin=2)


# -- RFM ------------------------------------------------------------------------------------------------------
def test_rfm_scores_and_segments_equal_the_pandas_route(cdnow_weekly, cdnow_customers):
    with warnings.catch_warnings(record=True) as pandas_warnings:
        warnings.simplefilter("always")
        expected = clvlib.rfm_scores(clvlib.rfm_table(cdnow_customers))
    with pytest.warns(UserWarning, match="`f_score` uses 4 of 5 levels") as spark_warnings:
        scores = cs.rfm_scores_spark(cdnow_weekly)
    assert [str(w.message) for w in spark_warnings if w.category is UserWarning] == \
        [str(w.message) for w in pandas_warnings if w.category is UserWarning]
    got = cs.to_customer_table(scores)
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs == expected.attrs
    segments = cs.to_customer_table(cs.rfm_segments_spark(scores))
    expected_segments = clvlib.rfm_segments(expected)
    assert (segments["segment"] == expected_segments["segment"].astype(str)).all()
    assert segments.attrs["segments"] == expected_segments.attrs["segments"]


def test_rfm_ties_are_never_split(spark):
    # 70 % of customers share one value: they share one score, and the scores above them start where the rule says.
    customers = pd.DataFrame({
        "customer_id": [f"c{i:02d}" for i in range(20)],
        "n_orders": [1] * 14 + [2, 2, 3, 4, 5, 9],
        "total_revenue": [50.0] * 20,  # one value for everyone: the middle score
        "aov": np.linspace(10, 30, 20),
        "last_order": pd.to_datetime("2024-06-30") - pd.to_timedelta(np.arange(20) % 4 * 10, unit="D"),
    })
    customers_pd = customers.set_index("customer_id")
    customers_pd.attrs["as_of"] = "2024-06-30"
    for monetary in ("total", "average"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            expected = clvlib.rfm_scores(clvlib.rfm_table(customers_pd, monetary=monetary), bins=4)
            got = cs.to_customer_table(cs.rfm_scores_spark(spark.createDataFrame(customers), as_of="2024-06-30",
                                                           monetary=monetary, bins=4))
        pd.testing.assert_frame_equal(got, expected)
        assert got.attrs == expected.attrs
        assert got.groupby("frequency")["f_score"].nunique().max() == 1
    # Cut points of another period (a score_thresholds table) score on the same scale.
    fixed = clvlib.score_thresholds(expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        again = cs.to_customer_table(cs.rfm_scores_spark(spark.createDataFrame(customers), as_of="2024-06-30",
                                                         monetary="average", bins=4, thresholds=fixed,
                                                         method="fixed"))
    pd.testing.assert_frame_equal(again[["r_score", "f_score", "m_score"]], expected[["r_score", "f_score", "m_score"]])


# -- the demo store, end to end ------------------------------------------------------------------------------
def test_demo_store_end_to_end(spark):
    orders = clvlib.load_demo_store(tables=["orders"])["orders"]
    columns = orders[["customer_id", "order_id", "order_date", "revenue", "channel"]].copy()
    columns.attrs = {}  # the cleaning report is for pandas' eyes: Arrow cannot carry it to Spark
    frame = spark.createDataFrame(columns)
    expected = clvlib.customer_summary(orders, time_unit="W", warn=False)
    summary = cs.customer_summary_spark(frame, time_unit="W").cache()
    got = cs.to_customer_table(summary)
    assert_same_summary(got, expected)
    assert got.attrs["guest_orders"] == 650

    bg_expected, gg_expected = clvlib.BetaGeo().fit(expected), clvlib.GammaGamma().fit(expected)
    bg = cs.fit_compressed(clvlib.BetaGeo(), cs.fit_input(summary))
    gg = cs.fit_compressed(clvlib.GammaGamma(), cs.spend_fit_input(summary))
    np.testing.assert_allclose(bg.params_, bg_expected.params_, rtol=1e-8, atol=0)
    np.testing.assert_allclose(gg.params_, gg_expected.params_, rtol=1e-8, atol=0)

    clv = cs.to_customer_table(cs.score_spark(bg, gg, summary, horizons=(12,)))
    reference = clvlib.predictive_clv(bg, gg, expected, horizon_months=12, intervals=False)
    for column in reference.columns:
        np.testing.assert_allclose(clv[column], reference[column], rtol=1e-10, atol=0, err_msg=column)
    summary.unpersist()
