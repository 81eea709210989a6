"""The kit on Apache Spark: summary, fit input, scores and RFM for orders kept in a lakehouse or a warehouse.

The recipe, for any number of orders (``docs/scaling.md`` runs it end to end)::

    orders (table, Parquet folder or DataFrame)
       │ customer_summary_spark / calibration_holdout_spark        Spark SQL: one shuffle by customer
       ▼
    customers (Spark DataFrame, one row per customer; the time unit and as-of date ride in the column metadata)
       ├── fit_input / spend_fit_input   → small pandas tables of distinct rows and their counts (driver)
       │        fit_compressed(BetaGeo(), ...), fit_compressed(GammaGamma(), ...)   the kit's own fitters
       ├── score_spark(model, spend_model, customers)   P(alive), expected purchases, CLV: mapInPandas
       └── rfm_scores_spark / rfm_segments_spark         the kit's quantile scores, ties never split

Every function that reads a table takes a Spark DataFrame, a table name (``"sales.orders"``) or a path of Parquet
files (a folder, hive-partitioned or not, a file or a glob), and returns a Spark DataFrame (lazy: nothing runs
until it is written or collected) or, for the fit inputs, a small pandas table on the driver. The definitions are
the kit's, exactly (:func:`clvlib.customer_summary`): several orders on one day are one purchase, recency and
``T`` run from the first purchase, ``monetary_value`` is the mean of the *repeat* purchase days' revenue, guest
orders (no customer id) are left out. One-time buyers stay in the BG/NBD fit: they are most of the evidence about
drop-out.

Only Spark SQL runs on the executors, except inside ``mapInPandas`` (scores), where pandas, numpy, scipy and
clvlib must be installed on every worker (a Databricks cluster library or ``%pip install``; see
``docs/scaling.md``). Nothing else of the kit imports this module; it needs ``pyspark`` (``pip install
'clvlib[spark]'``).
"""

from __future__ import annotations

import functools
import importlib
import itertools
import json
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

try:
    from pyspark.sql import DataFrame, SparkSession, Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as st
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError(
        "clvlib.spark needs PySpark: pip install 'clvlib[spark]' (Databricks runtimes already have it)."
    ) from exc

from ._validation import check_argument, check_time_unit, closest
from .config import TIME_UNIT_NAMES
from .errors import DataError

__all__ = [
    "customer_summary_spark",
    "calibration_holdout_spark",
    "table_attrs",
    "to_customer_table",
    "fit_input",
    "spend_fit_input",
    "fit_compressed",
    "score_spark",
    "rfm_scores_spark",
    "rfm_segments_spark",
]

#: Key of the column metadata (on ``customer_id``) that carries a table's ``attrs`` (time unit, as-of date, ...).
META_KEY = "clvlib"
#: Repeat buyers above which :func:`spend_fit_input` samples (see there).
SPEND_FIT_MAX_ROWS = 5_000_000


# -- sources, sessions, metadata -----------------------------------------------------------------------------
def _is_frame(value) -> bool:
    # Classic and Spark Connect DataFrames alike (Databricks serverless runs Connect).
    return isinstance(value, DataFrame) or (hasattr(value, "sparkSession") and hasattr(value, "schema"))


def _session(spark: SparkSession | None) -> SparkSession:
    if spark is not None:
        return spark
    return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()


def _looks_like_path(text: str) -> bool:
    lowered = text.lower()
    return ("/" in text or "\\" in text or ":" in text or "*" in text
            or lowered.endswith((".parquet", ".pq")) or os.path.exists(text))


def _frame(source, spark: SparkSession | None, what: str) -> DataFrame:
    """``source`` as a Spark DataFrame: a DataFrame as it is, a path of Parquet files (or a Delta folder) read,
    anything else a table name."""
    if _is_frame(source):
        return source
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        session = _session(spark)
        if _looks_like_path(text):
            if Path(text).is_dir() and (Path(text) / "_delta_log").is_dir():
                return session.read.format("delta").load(text)
            return session.read.parquet(text)
        return session.table(text)
    raise TypeError(f"Expected the {what} as a Spark DataFrame, a table name or a path of Parquet files, but got "
                    f"{type(source).__name__}.")


def _quoted(name: str):
    """A column by its exact name (dots and spaces are part of the name, not struct access)."""
    return F.col("`" + name.replace("`", "``") + "`")


def _check_columns(df: DataFrame, required: Iterable[str], source: str, what: str) -> None:
    available = list(df.columns)
    missing = [c for c in required if c not in available]
    if missing:
        hints = []
        for c in missing:
            near = closest(c, available)
            hints.append(f"`{c}`" + (f" (closest match: `{near}`)" if near else ""))
        raise DataError(f"{source}: the {what} is missing required column(s) {', '.join(hints)}. "
                        f"Columns found: {available}.")


def table_attrs(df: DataFrame) -> dict:
    """The ``attrs`` a clvlib Spark table carries in the metadata of its ``customer_id`` column.

    The same keys as the pandas table's ``attrs`` (``time_unit``, ``as_of``, ``guest_orders``, ... for a
    customer summary; ``bins``, ``rfm_thresholds``, ... for RFM scores). Spark keeps column metadata through
    ``select``, joins and Parquet or Delta files; a table without it gives ``{}``.
    """
    for field in df.schema.fields:
        if field.name == "customer_id":
            text = (field.metadata or {}).get(META_KEY)
            return json.loads(text) if text else {}
    return {}


def _with_attrs(df: DataFrame, attrs: dict) -> DataFrame:
    # One JSON string: Spark's metadata parser refuses the infinities of open-ended RFM thresholds as numbers.
    meta = {META_KEY: json.dumps(attrs)}
    return df.withColumn("customer_id", F.col("customer_id").alias("customer_id", metadata=meta))


def _day(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize(None) if stamp.tzinfo is not None else stamp).normalize()


# -- the customer summary ------------------------------------------------------------------------------------
def _known_orders(df: DataFrame, customer_id: str, order_date: str, revenue: str) -> DataFrame:
    _check_columns(df, (customer_id, order_date, revenue), "orders", "orders table")
    return df.select(
        _quoted(customer_id).cast("string").alias("customer_id"),
        F.to_date(_quoted(order_date)).alias("order_day"),
        _quoted(revenue).cast("double").alias("revenue"),
    )


def _bookkeeping(orders: DataFrame, cut: pd.Timestamp | None) -> dict:
    """One pass over the orders: guest orders, the last customer order day, customer orders after ``cut`` and the
    customer orders a summary cannot use (missing date or revenue)."""
    known = F.col("customer_id").isNotNull()
    day, revenue = F.col("order_day"), F.col("revenue")
    after = F.count_if(known & (day > F.lit(cut.date()))) if cut is not None else F.lit(0)
    row = orders.agg(
        F.count_if(~known).alias("guests"),
        F.max(F.when(known, day)).alias("last"),
        after.alias("after"),
        F.count_if(known & day.isNull()).alias("no_date"),
        F.count_if(known & (revenue.isNull() | F.isnan(revenue))).alias("no_revenue"),
    ).first()
    if row["no_revenue"]:
        raise DataError(f"orders: column `revenue` has {row['no_revenue']:,} missing value(s) in customer orders; "
                        "clean them first (read_transactions does, for files).")
    if row["no_date"]:
        raise DataError(f"orders: column `order_date` has {row['no_date']:,} missing or unparseable date(s) in "
                        "customer orders.")
    return {"guests": int(row["guests"]), "last": row["last"], "after": int(row["after"] or 0)}


def _purchase_days(orders: DataFrame, last_day) -> DataFrame:
    """Customer orders up to ``last_day`` grouped into purchase days: one shuffle, by customer.

    Hash-partitioning by ``customer_id`` first satisfies both groupings (by customer and day, then by customer),
    so Spark moves each order across the network once, instead of once per ``GROUP BY``.
    """
    return (orders.where(F.col("customer_id").isNotNull() & (F.col("order_day") <= F.lit(last_day)))
            .repartition("customer_id")
            .groupBy("customer_id", "order_day")
            .agg(F.sum("revenue").alias("day_revenue"), F.count(F.lit(1)).alias("day_orders")))


def _summary_columns(customers: DataFrame, as_of, unit_days: float) -> list:
    """The summary's columns from per-customer ``purchase_days, n_orders, total_revenue, first_day_revenue,
    first_order, last_order``, with the arithmetic of :func:`clvlib.customer_summary`."""
    days, unit = F.col("purchase_days"), F.lit(float(unit_days))
    return [
        F.col("customer_id"),
        (days - 1).cast("double").alias("frequency"),
        (F.datediff("last_order", "first_order").cast("double") / unit).alias("recency"),
        (F.datediff(F.lit(as_of), F.col("first_order")).cast("double") / unit).alias("T"),
        F.when(days > 1, (F.col("total_revenue") - F.col("first_day_revenue")) / (days - 1).cast("double"))
         .otherwise(F.lit(0.0)).alias("monetary_value"),
        F.col("n_orders").cast("long").alias("n_orders"),
        F.col("total_revenue"),
        (F.col("total_revenue") / F.col("n_orders").cast("double")).alias("aov"),
        F.col("first_order"),
        F.col("last_order"),
    ]


def customer_summary_spark(
    orders,
    *,
    as_of=None,
    time_unit: str = "D",
    customer_id_column: str = "customer_id",
    order_date_column: str = "order_date",
    revenue_column: str = "revenue",
    spark: SparkSession | None = None,
) -> DataFrame:
    """The customer summary of :func:`clvlib.customer_summary`, computed by Spark.

    Parameters
    ----------
    orders : Spark DataFrame, table name or path
        One row per order; a path is a folder (hive-partitioned or not), file or glob of Parquet files.
    as_of, time_unit
        As for :func:`clvlib.customer_summary`: orders after ``as_of`` are ignored, ``T`` runs to it (default: the
        last customer order date); ``recency`` and ``T`` are in days, weeks or months of 30.4375 days.
    customer_id_column, order_date_column, revenue_column : str
        Source column names. Dates may be dates, timestamps (their calendar date in the session's time zone is
        used) or ISO strings; ids become strings.
    spark : SparkSession, optional
        For a table name or a path: defaults to the active session.

    Returns
    -------
    Spark DataFrame, one row per customer (in no particular order), with ``customer_id, frequency, recency, T,
    monetary_value, n_orders, total_revenue, aov, first_order, last_order`` (dates as ``DATE``). Its
    :func:`table_attrs` are those of :func:`clvlib.customer_summary`'s ``attrs``. One pass over the orders runs
    now (the as-of date and the counts of guest orders and orders after it); the summary itself runs when the
    result is written or collected (write it once: each action recomputes it).

    Examples
    --------
    >>> customers = customer_summary_spark("s3://shop/orders/", as_of="2025-12-31", time_unit="W")  # doctest: +SKIP
    >>> customers.write.mode("overwrite").saveAsTable("clv.customers_2025_12_31")  # doctest: +SKIP
    """
    unit_days = check_time_unit(time_unit)
    df = _frame(orders, spark, "orders table")
    known = _known_orders(df, customer_id_column, order_date_column, revenue_column)
    cut = None if as_of is None else _day(as_of)
    book = _bookkeeping(known, cut)
    if cut is None:
        if book["last"] is None:
            raise DataError("orders: no orders to summarise, so `as_of` cannot default to the last order date.")
        cut = pd.Timestamp(book["last"])
    as_of_day = cut.date()
    customers = _purchase_days(known, as_of_day).groupBy("customer_id").agg(
        F.count(F.lit(1)).alias("purchase_days"),
        F.sum("day_orders").alias("n_orders"),
        F.sum("day_revenue").alias("total_revenue"),
        F.min_by("day_revenue", "order_day").alias("first_day_revenue"),
        F.min("order_day").alias("first_order"),
        F.max("order_day").alias("last_order"),
    )
    result = customers.select(*_summary_columns(customers, as_of_day, unit_days))
    return _with_attrs(result, {
        "time_unit": time_unit, "time_unit_name": TIME_UNIT_NAMES[time_unit], "as_of": as_of_day.isoformat(),
        "guest_orders": book["guests"], "orders_after_as_of": book["after"],
    })


def calibration_holdout_spark(
    orders,
    *,
    calibration_end,
    observation_end=None,
    time_unit: str = "D",
    customer_id_column: str = "customer_id",
    order_date_column: str = "order_date",
    revenue_column: str = "revenue",
    spark: SparkSession | None = None,
) -> DataFrame:
    """:func:`clvlib.calibration_holdout` computed by Spark: the calibration summary plus the holdout period.

    Customers are those with a first order on or before ``calibration_end``. The result has the columns of
    :func:`customer_summary_spark` for the calibration period plus ``frequency_holdout`` (distinct purchase days
    after ``calibration_end`` up to ``observation_end``), ``revenue_holdout`` and ``duration_holdout`` (in
    ``time_unit``); its :func:`table_attrs` are :func:`clvlib.calibration_holdout`'s ``attrs``. Parameters as
    there, plus the source columns and ``spark`` of :func:`customer_summary_spark`.
    """
    unit_days = check_time_unit(time_unit)
    df = _frame(orders, spark, "orders table")
    known = _known_orders(df, customer_id_column, order_date_column, revenue_column)
    cal = _day(calibration_end)
    book = _bookkeeping(known, None)
    if book["last"] is None:
        raise DataError("orders: no orders to summarise.")
    obs = pd.Timestamp(book["last"]) if observation_end is None else _day(observation_end)
    if obs <= cal:
        raise ValueError(f"`observation_end` ({obs.date()}) must be after `calibration_end` ({cal.date()}).")
    in_cal = F.col("order_day") <= F.lit(cal.date())
    customers = _purchase_days(known, obs.date()).groupBy("customer_id").agg(
        F.count_if(in_cal).alias("purchase_days"),
        F.sum(F.when(in_cal, F.col("day_orders"))).alias("n_orders"),
        F.sum(F.when(in_cal, F.col("day_revenue"))).alias("total_revenue"),
        F.min_by("day_revenue", "order_day").alias("first_day_revenue"),
        F.min("order_day").alias("first_order"),
        F.max(F.when(in_cal, F.col("order_day"))).alias("last_order"),
        F.count_if(~in_cal).alias("frequency_holdout"),
        F.sum(F.when(~in_cal, F.col("day_revenue"))).alias("revenue_holdout"),
    ).where(F.col("first_order") <= F.lit(cal.date()))
    result = customers.select(
        *_summary_columns(customers, cal.date(), unit_days),
        F.col("frequency_holdout").cast("double").alias("frequency_holdout"),
        F.coalesce(F.col("revenue_holdout"), F.lit(0.0)).alias("revenue_holdout"),
        F.lit((obs - cal).days / unit_days).alias("duration_holdout"),
    )
    return _with_attrs(result, {
        "time_unit": time_unit, "time_unit_name": TIME_UNIT_NAMES[time_unit], "as_of": cal.date().isoformat(),
        "calibration_end": cal.date().isoformat(), "observation_end": obs.date().isoformat(),
        "guest_orders": book["guests"],
    })


def to_customer_table(summary, *, spark: SparkSession | None = None) -> pd.DataFrame:
    """A Spark customer table brought to the driver as the kit's pandas customer table.

    Indexed by ``customer_id`` (sorted), the dtypes of :func:`clvlib.customer_summary` (dates as
    ``datetime64[ns]``, ``n_orders`` as int64) and ``attrs`` from :func:`table_attrs`, so every pandas function of
    the kit takes it. About 100 bytes per customer: fine for millions of customers, not for a billion (then score
    on Spark with :func:`score_spark`).
    """
    df = _frame(summary, spark, "customer table")
    _check_columns(df, ["customer_id"], "customers", "customer table")
    table = df.toPandas()
    for name, kind in df.dtypes:
        if kind in ("date", "timestamp", "timestamp_ntz"):
            table[name] = pd.to_datetime(table[name]).astype("datetime64[ns]")
        elif kind in ("bigint", "int"):
            table[name] = table[name].astype(np.int64)
        elif kind == "string":
            table[name] = table[name].astype("str")
    table = table.set_index("customer_id").sort_index(kind="stable")
    table.attrs.update(table_attrs(df))
    return table


# -- fitting on the driver from compressed rows --------------------------------------------------------------
def _in_first_customer_order(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by their first customer id on the driver (a Spark sort of the ids costs a sampling job and a
    shuffle; code-point order of Python strings is Spark's byte order of UTF-8)."""
    return rows.sort_values("first_customer", kind="stable").reset_index(drop=True)


def fit_input(summary, *, spark: SparkSession | None = None) -> pd.DataFrame:
    """The purchase models' whole input: distinct ``(frequency, recency, T)`` rows and how many customers share each.

    BG/NBD and Pareto/NBD see a customer only through ``(frequency, recency, T)``, so the log-likelihood of all
    customers is the count-weighted sum over distinct rows: this table, fitted by :func:`fit_compressed`, gives
    the same parameters as a fit on every customer. Its size is bounded by the calendar (distinct first-purchase
    days × last-purchase days × frequencies seen), not by the number of customers; one-time buyers are in it:
    dropping them biases drop-out (and so P(alive) and CLV) upwards.

    Returns
    -------
    pandas DataFrame with ``frequency, recency, T, customers`` (int64 count), rows in the order the pandas route
    meets them (that of each row's first customer id), so a fit is reproducible bit for bit whatever the
    partitioning: the optimiser's path, so its last digits, depend on the order of the rows (up to 1e-6 relative
    for Pareto/NBD on CDNOW). ``attrs``: the summary's ``time_unit`` and ``as_of``, and ``n_customers``.
    """
    df = _frame(summary, spark, "customer table")
    _check_columns(df, ["customer_id", "frequency", "recency", "T"], "customers", "customer table")
    attrs = table_attrs(df)
    rows = (df.groupBy("frequency", "recency", "T")
            .agg(F.count(F.lit(1)).alias("customers"), F.min("customer_id").alias("first_customer"))
            .toPandas())
    rows = _in_first_customer_order(rows)
    table = pd.DataFrame({
        "frequency": rows["frequency"].to_numpy(np.float64),
        "recency": rows["recency"].to_numpy(np.float64),
        "T": rows["T"].to_numpy(np.float64),
        "customers": rows["customers"].to_numpy(np.int64),
    })
    table.attrs.update({k: attrs[k] for k in ("time_unit", "as_of") if k in attrs},
                       n_customers=int(table["customers"].sum()))
    return table


def spend_fit_input(summary, *, max_rows: int | None = SPEND_FIT_MAX_ROWS, seed: int = 0,
                    spark: SparkSession | None = None) -> pd.DataFrame:
    """The Gamma-Gamma model's input: distinct ``(frequency, monetary_value)`` rows of repeat buyers, with counts.

    The spend model's likelihood is a sum over repeat buyers with a positive ``monetary_value``; it has no
    sufficient statistics smaller than those pairs (``monetary_value`` is continuous), so the table holds one row
    per distinct pair: at most one per such buyer, fewer where amounts repeat. Above ``max_rows`` such buyers
    (5 million by default: about 120 MB on the driver, a fit of seconds), a uniform random sample of them, of
    expected size ``max_rows``, seeded with ``seed``, is used instead: the parameters then carry a sampling error
    of the order of their standard errors at ``max_rows`` customers (negligible for CLV; the fitted model's
    ``n_customers_`` and standard errors are those of the sample). ``max_rows=None`` never samples.

    Returns
    -------
    pandas DataFrame with ``frequency, monetary_value, customers`` (int64), in the pandas route's order.
    ``attrs``: ``time_unit``, ``n_customers`` (rows' customers), ``excluded`` (customers left out by the spend
    model: ``no repeat purchase``, ``non-positive monetary_value``) and ``sample_fraction`` (1.0: every repeat
    buyer).
    """
    df = _frame(summary, spark, "customer table")
    _check_columns(df, ["customer_id", "frequency", "monetary_value"], "customers", "customer table")
    repeat = F.col("frequency") > 0
    positive = repeat & (F.col("monetary_value") > 0)
    counts = df.agg(F.count_if(~repeat).alias("no_repeat"), F.count_if(repeat & ~positive).alias("non_positive"),
                    F.count_if(positive).alias("eligible")).first()
    eligible = int(counts["eligible"])
    spenders = df.where(positive)
    fraction = 1.0
    if max_rows is not None and eligible > max_rows:
        fraction = max_rows / eligible
        spenders = spenders.sample(withReplacement=False, fraction=fraction, seed=seed)
    rows = (spenders.groupBy("frequency", "monetary_value")
            .agg(F.count(F.lit(1)).alias("customers"), F.min("customer_id").alias("first_customer"))
            .toPandas())
    rows = _in_first_customer_order(rows)
    table = pd.DataFrame({
        "frequency": rows["frequency"].to_numpy(np.float64),
        "monetary_value": rows["monetary_value"].to_numpy(np.float64),
        "customers": rows["customers"].to_numpy(np.int64),
    })
    attrs = table_attrs(df)
    table.attrs.update(
        {k: attrs[k] for k in ("time_unit", "as_of") if k in attrs},
        n_customers=int(table["customers"].sum()),
        excluded={"no repeat purchase": int(counts["no_repeat"] or 0),
                  "non-positive monetary_value": int(counts["non_positive"] or 0)},
        sample_fraction=fraction,
    )
    return table


def _weights(table: pd.DataFrame) -> np.ndarray:
    w = table["customers"].to_numpy(dtype=np.float64, na_value=np.nan)
    if not (np.isfinite(w).all() and (w >= 1).all() and (w == np.round(w)).all()):
        raise DataError("fit input: column `customers` must hold positive whole counts; build the table with "
                        "clvlib.spark.fit_input or spend_fit_input.")
    return w


def fit_compressed(model, table: pd.DataFrame, *, time_unit: str | None = None, tol: float = 1e-8,
                   maxiter: int = 2000):
    """Fit a kit model on a compressed table (:func:`fit_input` or :func:`spend_fit_input`); returns the model.

    The same maximum-likelihood fit as ``model.fit(customers)`` on the customers behind the table (the fitters
    compress identical rows into weights themselves): same bounds, diagnosis, standard errors and, for
    BG/NBD and Pareto/NBD, the same drop-out evidence test; the same parameters, bit for bit, when the rows come
    in the same order (``fit_input`` keeps it). ``time_unit`` defaults to ``table.attrs["time_unit"]``; ``tol``
    and ``maxiter`` as for ``fit``.

    Examples
    --------
    >>> from clvlib.models import BetaGeo
    >>> table = pd.DataFrame({"frequency": [0.0, 2.0, 5.0, 1.0], "recency": [0.0, 20.0, 30.0, 4.0],
    ...                       "T": [40.0, 38.0, 35.0, 30.0], "customers": [600, 200, 80, 120]})
    >>> fit_compressed(BetaGeo(), table, time_unit="W").n_customers_
    1000
    """
    from .models import GammaGamma
    from .models._base import PurchaseModel, purchase_arrays

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"Expected the fit input as a pandas DataFrame (fit_input, spend_fit_input), but got "
                        f"{type(table).__name__}.")
    if isinstance(model, GammaGamma):
        missing = [c for c in ("frequency", "monetary_value", "customers") if c not in table.columns]
        if missing:
            raise DataError(f"fit input: the spend table is missing column(s) {missing}; build it with "
                            "clvlib.spark.spend_fit_input.")
        x = table["frequency"].to_numpy(np.float64, na_value=np.nan)
        m = table["monetary_value"].to_numpy(np.float64, na_value=np.nan)
        w = _weights(table)
        if not (np.isfinite(x).all() and (x > 0).all() and (x == np.round(x)).all() and (m > 0).all()):
            raise DataError("fit input: the spend table must hold repeat buyers only (whole `frequency` > 0, "
                            "`monetary_value` > 0); build it with clvlib.spark.spend_fit_input.")
        excluded = table.attrs.get("excluded", {})
        model.excluded_ = pd.Series({"no repeat purchase": int(excluded.get("no repeat purchase", 0)),
                                     "non-positive monetary_value": int(excluded.get("non-positive monetary_value",
                                                                                     0))}, name="customers")
        if w.sum() < 3:
            raise DataError(
                f"customers: the Gamma-Gamma model needs repeat buyers with positive `monetary_value`, but only "
                f"{int(w.sum())} customer(s) have one. Use the average order value instead."
            )
        model._record_time_unit(table, time_unit)
        model._optimise((x, m), w, tol, maxiter)
        dropped = int(model.excluded_["non-positive monetary_value"])
        if dropped:  # the note GammaGamma.fit adds
            note = (f"{dropped:,} repeat customer(s) with a zero or missing average repeat order value were left out "
                    "of the spend fit.")
            diagnosis = model.diagnosis_
            model.diagnosis_ = type(diagnosis)(**{**diagnosis.__dict__, "notes": diagnosis.notes + (note,)})
        return model
    if not isinstance(model, PurchaseModel):
        raise TypeError(f"Expected a BetaGeo, ParetoNBD or GammaGamma model, but got {type(model).__name__}.")
    missing = [c for c in ("frequency", "recency", "T", "customers") if c not in table.columns]
    if missing:
        raise DataError(f"fit input: the table is missing column(s) {missing}; build it with "
                        "clvlib.spark.fit_input.")
    x, t_x, T = purchase_arrays(table[["frequency", "recency", "T"]], source="fit input")
    w = _weights(table)
    if not (x > 0).any():  # PurchaseModel.fit's check
        raise DataError(
            f"customers: no customer has a repeat purchase (`frequency` is 0 for everyone), so the "
            f"{model._model_name} model cannot tell buying rates from drop-out. Use historical CLV, or a longer "
            "observation period."
        )
    model._record_time_unit(table, time_unit)
    model.max_T_ = float(T.max())
    data = (x, t_x, T)
    model._optimise(data, w, tol, maxiter)
    model._check_dropout_evidence(data, w)
    return model


# -- scores ---------------------------------------------------------------------------------------------------
_SCORE_INPUT = ["frequency", "recency", "T", "monetary_value", "total_revenue"]


def _model_state(model) -> dict:
    return {"module": type(model).__module__, "name": type(model).__qualname__, "json": model.to_json()}


def _restore(state: dict):
    return getattr(importlib.import_module(state["module"]), state["name"]).from_json(state["json"])


def _score_batches(batches: Iterator[pd.DataFrame], *, purchase: dict, spend: dict, time_unit: str,
                   horizons: Sequence[float], annual_discount_rate: float, margin: float,
                   columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    """The scores of each Arrow batch of customers (runs on the executors, inside ``mapInPandas``)."""
    from clvlib.models.predict import predictive_clv

    purchase_model, spend_model = _restore(purchase), _restore(spend)
    for batch in batches:
        if batch.empty:
            yield batch.assign(**{c: pd.Series(dtype=np.float64) for c in columns})
            continue
        table = pd.DataFrame({c: batch[c].to_numpy(np.float64) for c in _SCORE_INPUT})
        table.attrs["time_unit"] = time_unit
        new = {}
        for h in horizons:
            clv = predictive_clv(purchase_model, spend_model, table, horizon_months=h,
                                 annual_discount_rate=annual_discount_rate, margin=margin, intervals=False)
            if not new:
                new.update(p_alive=clv["p_alive"].to_numpy(), expected_spend=clv["expected_spend"].to_numpy(),
                           historical_clv=clv["historical_clv"].to_numpy())
            for stem in ("expected_purchases", "predicted_clv", "total_clv"):
                new[f"{stem}_{h:g}m"] = clv[f"{stem}_{h:g}m"].to_numpy()
        yield batch.assign(**{c: new[c] for c in columns})


def score_spark(
    purchase_model,
    spend_model,
    summary,
    *,
    horizons: Sequence[float] = (12,),
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    spark: SparkSession | None = None,
) -> DataFrame:
    """Expected purchases, P(alive), expected spend and CLV of every customer, computed on the executors.

    Each partition is scored in ``mapInPandas`` by :func:`clvlib.predictive_clv` (point figures, no intervals)
    with the fitted parameters, so the numbers are the pandas route's to rounding. The parameters travel with the
    function to every task (a few hundred bytes of JSON, as a broadcast would; no ``sparkContext`` is needed, so
    Spark Connect and Databricks serverless work too). Every worker needs clvlib, pandas and scipy installed.

    Parameters
    ----------
    purchase_model : BetaGeo or ParetoNBD
        Fitted, e.g. by :func:`fit_compressed`; its time unit must be the table's.
    spend_model : GammaGamma
        Fitted.
    summary : Spark DataFrame, table name or path
        A customer table (:func:`customer_summary_spark`), with at least ``customer_id, frequency, recency, T,
        monetary_value, total_revenue``; other columns pass through.
    horizons : sequence of float
        Horizons in months of 30.4375 days; each gives ``expected_purchases_{H}m``, ``predicted_clv_{H}m`` and
        ``total_clv_{H}m``.
    annual_discount_rate, margin
        As for :func:`clvlib.predictive_clv`.

    Returns
    -------
    Spark DataFrame: the input's columns plus ``p_alive``, ``expected_spend``, ``historical_clv`` and the
    per-horizon columns (doubles), and the input's :func:`table_attrs`.
    """
    from .models import GammaGamma
    from .models._base import PurchaseModel
    from .models.predict import predictive_clv

    if not isinstance(purchase_model, PurchaseModel):
        raise TypeError(f"`purchase_model` must be a fitted BetaGeo or ParetoNBD, not {type(purchase_model).__name__}.")
    if not isinstance(spend_model, GammaGamma):
        raise TypeError(f"`spend_model` must be a fitted GammaGamma, not {type(spend_model).__name__}.")
    purchase_model._check_fitted()
    spend_model._check_fitted()
    df = _frame(summary, spark, "customer table")
    _check_columns(df, ["customer_id", *_SCORE_INPUT], "customers", "customer table")
    attrs = table_attrs(df)
    unit = attrs.get("time_unit") or purchase_model.time_unit_
    horizons = [float(h) if float(h) != int(h) else int(h) for h in horizons]
    if not horizons or len({f"{h:g}" for h in horizons}) != len(horizons):
        raise ValueError(f"`horizons` must be distinct horizons in months, but {horizons!r} was passed.")
    # The driver checks the arguments and the time units on one made-up customer, with predictive_clv's messages.
    probe = pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0], "monetary_value": [1.0],
                          "total_revenue": [2.0]})
    if unit is not None:
        probe.attrs["time_unit"] = unit
    for h in horizons:
        predictive_clv(purchase_model, spend_model, probe, horizon_months=h, annual_discount_rate=annual_discount_rate,
                       margin=margin, intervals=False)
    unit = unit or purchase_model.time_unit_
    columns = ["p_alive", "expected_spend", "historical_clv"] + [
        f"{stem}_{h:g}m" for h in horizons for stem in ("expected_purchases", "predicted_clv", "total_clv")]
    clash = [c for c in columns if c in df.columns]
    if clash:
        raise DataError(f"customers: the table already has score column(s) {clash}; score the customer table, not "
                        "a scored one.")
    schema = st.StructType(list(df.schema.fields) + [st.StructField(c, st.DoubleType()) for c in columns])
    score = functools.partial(
        _score_batches, purchase=_model_state(purchase_model), spend=_model_state(spend_model), time_unit=unit,
        horizons=horizons, annual_discount_rate=float(annual_discount_rate), margin=float(margin), columns=columns,
    )
    return _with_attrs(df.mapInPandas(score, schema), attrs)


# -- RFM ------------------------------------------------------------------------------------------------------
def _rfm_stats(rfm: DataFrame, bins: int, fixed: dict) -> dict:
    """One job over the RFM values: per metric the count, distinct values, the most shared value, the smallest
    value reaching each quantile score, and the score levels in use."""
    from .rfm.scores import RFM_VALUES

    # v is the value ranked: -recency for recency (5 = most recent), the value itself otherwise.
    stacked = rfm.select(F.explode(F.array(*[
        F.struct(F.lit(m).alias("metric"), (-F.col(m) if m == "recency" else F.col(m)).cast("double").alias("v"))
        for m in RFM_VALUES])).alias("s")).select("s.metric", "s.v")
    per_metric = Window.partitionBy("metric")
    ranked = (stacked.groupBy("metric", "v").agg(F.count(F.lit(1)).alias("count"))
              .withColumn("below", F.coalesce(F.sum("count").over(
                  per_metric.orderBy("v").rowsBetween(Window.unboundedPreceding, -1)), F.lit(0)))
              .withColumn("n", F.sum("count").over(per_metric))
              .withColumn("top", F.max("count").over(per_metric))
              .withColumn("rank_score", F.expr(f"1 + (below * {int(bins)}) div n")))
    levels = F.col("rank_score")
    for metric, cuts in fixed.items():  # fixed cut points: the levels they give
        value = -F.col("v") if metric == "recency" else F.col("v")
        levels = F.when(F.col("metric") == metric, _score_expr(value, metric, cuts, bins)).otherwise(levels)
    rows = ranked.groupBy("metric").agg(
        F.max("n").alias("n"), F.count(F.lit(1)).alias("distinct"), F.min("v").alias("v_min"),
        F.max("top").alias("top_count"),
        F.min(F.when(F.col("count") == F.col("top"), F.col("v"))).alias("top_v_min"),
        F.max(F.when(F.col("count") == F.col("top"), F.col("v"))).alias("top_v_max"),
        F.sum(F.when(F.col("v") > 0, F.col("count")).otherwise(0)).alias("positive"),
        F.collect_set(levels).alias("levels"),
        *[F.min(F.when(F.col("rank_score") >= j, F.col("v"))).alias(f"reach_{j}") for j in range(2, bins + 1)],
    ).collect()
    return {row["metric"]: row.asDict() for row in rows}


def _score_expr(value, metric: str, cuts: Sequence[float], bins: int):
    """The score of ``value`` under ``cuts`` (as ``clvlib.rfm.scores``: recency at or below a cut scores higher)."""
    hits = [F.when(value > F.lit(float(c)) if metric == "recency" else value >= F.lit(float(c)), 1).otherwise(0)
            for c in cuts]
    total = functools.reduce(lambda a, b: a + b, hits, F.lit(0))
    return (F.lit(bins) - total if metric == "recency" else F.lit(1) + total).cast("long")


def _quantile_cuts(stats: dict, metric: str, bins: int) -> list[float]:
    """``clvlib.rfm.scores._quantile_cuts`` from the per-metric statistics of :func:`_rfm_stats`."""
    import math

    if not stats or not stats["n"]:
        return [math.nan] * (bins - 1)
    if metric != "frequency" and stats["n"] > 1 and stats["distinct"] == 1:
        middle = (bins + 1) // 2
        v = float(-stats["v_min"] if metric == "recency" else stats["v_min"]) + 0.0
        if metric == "recency":
            return [-math.inf] * (bins - middle) + [v] * (middle - 1)
        return [v] * (middle - 1) + [math.inf] * (bins - middle)
    if metric == "recency":  # the largest recency scoring at least bins + 1 - k
        return [(-stats[f"reach_{bins + 1 - k}"] + 0.0) if stats[f"reach_{bins + 1 - k}"] is not None else -math.inf
                for k in range(1, bins)]
    return [float(stats[f"reach_{k + 1}"]) if stats[f"reach_{k + 1}"] is not None else math.inf
            for k in range(1, bins)]


def _level_note(metric: str, stats: dict, levels: list[int], bins: int, fixed: bool) -> str | None:
    """``clvlib.rfm.scores._level_note`` from the per-metric statistics."""
    from .formatting import format_pct
    from .rfm.segments import SCORE_COLUMNS
    from .rfm.scores import RFM_VALUES

    n = stats["n"] if stats else 0
    empty = sorted(set(range(1, bins + 1)) - set(levels))
    if not empty or not n:
        return None
    column = dict(zip(RFM_VALUES, SCORE_COLUMNS))[metric]
    if fixed:
        why = "no customer falls between those fixed thresholds"
    elif n == 1:
        why = "there is only one customer"
    elif metric != "frequency" and stats["distinct"] == 1:
        value = -stats["v_min"] if metric == "recency" else stats["v_min"]
        why = (f"every customer has the same {metric} ({value + 0.0:g}), which ranks no one, so all "
               f"get the middle score {(bins + 1) // 2}")
    else:
        # np.unique's order: the smallest value among the most shared ones (for recency, v = -recency).
        top = -stats["top_v_max"] if metric == "recency" else stats["top_v_min"]
        why = (f"{metric} has only {stats['distinct']} distinct value(s) and {format_pct(stats['top_count'] / n)} of "
               f"customers share {metric} = {top + 0.0:g}; identical values get identical scores, so ties are not "
               "split")
    return f"`{column}` uses {bins - len(empty)} of {bins} levels (score(s) {empty} empty): {why}."


def rfm_scores_spark(
    summary,
    *,
    as_of=None,
    monetary: str = "total",
    bins: int = 5,
    method: str = "quantile",
    thresholds=None,
    spark: SparkSession | None = None,
) -> DataFrame:
    """RFM values and 1–``bins`` scores of every customer, by the kit's rule, computed by Spark.

    :func:`clvlib.rfm_table` followed by :func:`clvlib.rfm_scores`: recency is whole days since the last order,
    frequency the number of orders, monetary the total (or, ``monetary="average"``, the average order value).
    Quantile scores follow the kit's tie rule: a value's score is ``1 + floor(bins × share of customers with a
    strictly smaller value)``, so identical values always get identical scores, whatever the partitioning. The
    cut points come from one small job over the distinct values (a window per metric); the scores are then a
    projection, applied where the rows are.

    Parameters
    ----------
    summary : Spark DataFrame, table name or path
        A customer table with ``customer_id, n_orders, total_revenue, aov, last_order``.
    as_of : date-like, optional
        Defaults to the table's ``as_of`` (:func:`table_attrs`), else the latest ``last_order``.
    monetary, bins, method, thresholds
        As for :func:`clvlib.rfm_table` and :func:`clvlib.rfm_scores` (``thresholds`` as a dict of cut points or a
        :func:`clvlib.score_thresholds` table).

    Returns
    -------
    Spark DataFrame with ``customer_id, recency, frequency, monetary, total_revenue, r_score, f_score, m_score,
    rfm_code``; :func:`table_attrs` holds what ``rfm_scores`` keeps in ``attrs`` (``as_of``, ``monetary``,
    ``bins``, ``method``, ``rfm_thresholds``, ``score_notes``, ``empty_scores``). Warns as ``rfm_scores`` does
    when a score uses fewer than ``bins`` levels.
    """
    from .rfm.scores import RFM_VALUES, _check_bins, _cuts_from
    from .rfm.segments import SCORE_COLUMNS

    check_argument("monetary", ["total", "average"], monetary)
    _check_bins(bins)
    check_argument("method", ["quantile", "fixed"], method)
    cuts_given = {} if thresholds is None else _cuts_from(thresholds, bins)
    if method == "fixed" and set(cuts_given) != set(RFM_VALUES):
        raise ValueError(f"method='fixed' needs `thresholds` for {list(RFM_VALUES)}, but got {sorted(cuts_given)}.")
    df = _frame(summary, spark, "customer table")
    _check_columns(df, ["customer_id", "n_orders", "total_revenue", "aov", "last_order"], "customer table",
                   "customer table")
    if as_of is None:
        as_of = table_attrs(df).get("as_of")
    if as_of is None:
        last = df.agg(F.max(F.to_date("last_order"))).first()[0]
        if last is None:
            raise DataError("customer table: no `last_order` dates, so `as_of` cannot default to the latest one.")
        as_of = last
    day = _day(as_of).date()
    rfm = df.select(
        F.col("customer_id"),
        F.datediff(F.lit(day), F.to_date("last_order")).cast("long").alias("recency"),
        F.col("n_orders").cast("long").alias("frequency"),
        F.col("total_revenue" if monetary == "total" else "aov").cast("double").alias("monetary"),
        F.col("total_revenue").cast("double").alias("total_revenue"),
    )
    stats = _rfm_stats(rfm, bins, cuts_given)
    late = (stats.get("recency") or {}).get("positive") or 0
    if late:
        raise DataError(f"customer table: {late} customer(s) have `last_order` after as_of {day}; summarise the "
                        "orders with the same as_of.")
    cuts, notes, empty = {}, [], {}
    score_of = dict(zip(RFM_VALUES, SCORE_COLUMNS))
    for metric in RFM_VALUES:
        fixed = metric in cuts_given
        cuts[metric] = cuts_given[metric] if fixed else _quantile_cuts(stats.get(metric), metric, bins)
        got = stats.get(metric) or {"n": 0}
        if fixed or not got["n"]:
            levels = sorted(got.get("levels") or [])
        elif metric != "frequency" and got["n"] > 1 and got["distinct"] == 1:
            levels = [(bins + 1) // 2]
        else:
            levels = sorted(got["levels"])
        note = _level_note(metric, got, levels, bins, fixed)
        if note:
            notes.append(note)
            empty[score_of[metric]] = sorted(set(range(1, bins + 1)) - set(levels))
    scored = rfm.select(
        *rfm.columns,
        *[_score_expr(F.col(m), m, cuts[m], bins).alias(score_of[m]) for m in RFM_VALUES],
    )
    scored = scored.withColumn("rfm_code", F.concat(*[F.col(c).cast("string") for c in SCORE_COLUMNS]))
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return _with_attrs(scored, {
        "as_of": day.isoformat(), "monetary": monetary, "bins": int(bins),
        "method": "fixed" if method == "fixed" else ("quantile" if not cuts_given else "quantile+fixed"),
        "rfm_thresholds": cuts, "score_notes": notes, "empty_scores": empty,
    })


def rfm_segments_spark(scores, *, scheme="classic", bins: int | None = None,
                       spark: SparkSession | None = None) -> DataFrame:
    """Each customer's segment under a score scheme (:func:`clvlib.rfm_segments`), computed by Spark.

    A score scheme names a segment for each of the ``bins³`` score codes: the driver asks
    :func:`clvlib.rfm_segments` for all of them once, and the executors look each customer's code up. Value-activity
    schemes (``one_to_one``) need the pandas route.

    Returns
    -------
    Spark DataFrame: ``scores`` plus ``segment`` (string); :func:`table_attrs` adds ``scheme`` and ``segments``
    (the display order).
    """
    from .rfm.segments import SCORE_COLUMNS, load_scheme, rfm_segments

    df = _frame(scores, spark, "RFM scores table")
    _check_columns(df, ["customer_id", *SCORE_COLUMNS], "RFM scores table", "RFM scores table")
    attrs = table_attrs(df)
    bins = int(attrs.get("bins", 5)) if bins is None else int(bins)
    loaded = load_scheme(scheme)
    if loaded["kind"] != "scores":
        raise ValueError(f"rfm_segments_spark takes score schemes; {loaded['name']!r} is a {loaded['kind']!r} scheme: "
                         "use clvlib.rfm_segments on the pandas table.")
    combos = np.array(list(itertools.product(range(1, bins + 1), repeat=3)), dtype=np.int64)
    grid = pd.DataFrame(combos, columns=list(SCORE_COLUMNS),
                        index=pd.Index([f"c{i}" for i in range(len(combos))], name="customer_id"))
    named = rfm_segments(grid, scheme=loaded, bins=bins)
    codes = ["".join(map(str, row)) for row in combos]
    pairs = [F.lit(x) for code, seg in zip(codes, named["segment"].astype(str)) for x in (code, seg)]
    code = F.concat(*[F.col(c).cast("string") for c in SCORE_COLUMNS])
    result = df.withColumn("segment", F.create_map(*pairs)[code])
    return _with_attrs(result, {**attrs, "scheme": named.attrs["scheme"], "segments": list(named.attrs["segments"])})
