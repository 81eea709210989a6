"""The customer summary as SQL: the same table as :func:`clvlib.customer_summary`, computed by a database engine.

Two uses:

- :func:`summary_sql` writes the query for a table and its column names, to run where the orders live (Spark SQL,
  Databricks, Snowflake, DuckDB); the kit then consumes the resulting customer table (see ``docs/scaling.md``).
- :func:`customer_summary_sql` runs that query with DuckDB on a DataFrame, or on a Parquet/CSV file, glob or
  partitioned folder *without loading it into pandas*: DuckDB streams the file and spills its grouping to disk past
  ``memory_limit``, so order files larger than memory summarise on a laptop. Only the customer table, one row per
  customer, comes back into memory.

The query groups twice: orders into purchase days (several orders on one day are one purchase, their amounts summed),
then purchase days into customers. ``MIN_BY(day_revenue, order_day)`` picks the first day's revenue, which the
lifetimes convention leaves out of ``monetary_value``.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ._validation import check_argument, check_time_unit, validate_columns
from .config import TIME_UNIT_NAMES
from .errors import DataError
from .summary import SUMMARY_COLUMNS

__all__ = ["summary_sql", "customer_summary_sql", "SQL_DIALECTS"]

log = logging.getLogger(__name__)

# Dialects differ only in identifier quoting and the day difference; MIN_BY, FILTER-free aggregates, DATE literals
# and CASE are common to all of them.
SQL_DIALECTS = {
    "duckdb": ('"{}"', "date_diff('day', {start}, {end})"),
    "spark": ("`{}`", "datediff({end}, {start})"),
    "snowflake": ('"{}"', "DATEDIFF(day, {start}, {end})"),
}

_TEMPLATE = """\
WITH known_orders AS (  -- guest orders (no customer id) are not a customer's
    SELECT {cid} AS customer_id, CAST({date} AS DATE) AS order_day, CAST({rev} AS DOUBLE) AS revenue
    FROM {source}
    WHERE {cid} IS NOT NULL
),
purchase_days AS (  -- several orders on one day are one purchase
    SELECT customer_id, order_day, SUM(revenue) AS day_revenue, COUNT(*) AS day_orders
    FROM known_orders
    WHERE order_day <= {as_of}
    GROUP BY customer_id, order_day
),
customers AS (
    SELECT customer_id,
           COUNT(*) AS purchase_days,
           SUM(day_orders) AS n_orders,
           SUM(day_revenue) AS total_revenue,
           MIN_BY(day_revenue, order_day) AS first_day_revenue,
           MIN(order_day) AS first_order,
           MAX(order_day) AS last_order
    FROM purchase_days
    GROUP BY customer_id
)
SELECT customer_id,
       CAST(purchase_days - 1 AS DOUBLE) AS frequency,
       CAST({recency} AS DOUBLE) / {unit_days} AS recency,
       CAST({age} AS DOUBLE) / {unit_days} AS {T},
       CASE WHEN purchase_days > 1
            THEN (total_revenue - first_day_revenue) / (purchase_days - 1) ELSE 0.0 END AS monetary_value,
       CAST(n_orders AS BIGINT) AS n_orders,
       total_revenue,
       total_revenue / n_orders AS aov,
       first_order,
       last_order
FROM customers
ORDER BY customer_id"""


def _date_literal(value) -> str:
    stamp = pd.Timestamp(value)
    return f"DATE '{stamp.date().isoformat()}'"


def summary_sql(
    source: str = "orders",
    *,
    customer_id_column: str = "customer_id",
    order_date_column: str = "order_date",
    revenue_column: str = "revenue",
    as_of=None,
    time_unit: str = "D",
    dialect: str = "duckdb",
) -> str:
    """SQL text computing the customer summary of an orders table.

    Parameters
    ----------
    source : str
        What follows ``FROM``: a table name (``sales.orders``) or a table function
        (``read_parquet('orders/*/*.parquet')``). Inserted as written; it is SQL, not a value.
    customer_id_column, order_date_column, revenue_column : str
        Column names in ``source``. Rows without a customer id (guest orders) are left out.
    as_of : date-like, optional
        End of the observation period; orders after it are ignored. Defaults to the last order date.
    time_unit : {"D", "W", "M"}
        Unit of ``recency`` and ``T``, as in :func:`clvlib.customer_summary`.
    dialect : {"duckdb", "spark", "snowflake"}
        Identifier quoting and the day-difference function. Spark SQL covers Databricks.

    Returns
    -------
    str
        A query returning ``customer_id, frequency, recency, T, monetary_value, n_orders, total_revenue, aov,
        first_order, last_order``, one row per customer, ordered by ``customer_id``.

    Examples
    --------
    >>> print(summary_sql("shop.orders", customer_id_column="email", dialect="spark").splitlines()[1])
        SELECT `email` AS customer_id, CAST(`order_date` AS DATE) AS order_day, CAST(`revenue` AS DOUBLE) AS revenue
    """
    unit_days = check_time_unit(time_unit)
    check_argument("dialect", list(SQL_DIALECTS), dialect)
    quote, diff = SQL_DIALECTS[dialect]
    end = "(SELECT MAX(order_day) FROM known_orders)" if as_of is None else _date_literal(as_of)
    return _TEMPLATE.format(
        source=source,
        cid=quote.format(customer_id_column),
        date=quote.format(order_date_column),
        rev=quote.format(revenue_column),
        as_of=end,
        recency=diff.format(start="first_order", end="last_order"),
        age=diff.format(start="first_order", end=end),
        unit_days=repr(float(unit_days)),
        T=quote.format("T"),
    )


def _quote_path(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _relation(source, customer_id: str) -> tuple[str, pd.DataFrame | None]:
    """The FROM clause reading ``source`` in DuckDB, and the DataFrame to register (when it is one)."""
    if isinstance(source, pd.DataFrame):
        return "orders_frame", source
    text = str(source)
    path = Path(text)
    if path.is_dir():
        text, path = str(path / "**" / "*.parquet"), path / "x.parquet"
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return f"read_parquet({_quote_path(text)}, hive_partitioning = true, union_by_name = true)", None
    if {".csv", ".txt", ".tsv"} & set(suffixes):
        # Ids are text even when they look like numbers: leading zeros are part of the id.
        return f"read_csv({_quote_path(text)}, types = {{{_quote_path(customer_id)}: 'VARCHAR'}})", None
    raise DataError(f"{text}: expected a Parquet or CSV file, glob or a folder of Parquet files.")


def _run(con, sql: str, progress: Callable[[float], None] | None, interval: float = 0.25) -> pd.DataFrame:
    """Run ``sql``; while it runs, report DuckDB's progress (a fraction) to ``progress`` from this thread."""
    if progress is None:
        return con.execute(sql).df()
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["result"] = con.execute(sql).df()
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="clvlib-sql", daemon=True)
    worker.start()
    reported = 0.0
    try:
        while worker.is_alive():
            worker.join(interval)
            done = con.query_progress() / 100.0
            if done > reported:
                reported = done
                progress(min(done, 1.0))
    except BaseException:  # Ctrl-C, or the callback failed: stop the query before the connection closes
        con.interrupt()
        worker.join()
        raise
    if "error" in outcome:
        raise outcome["error"]
    progress(1.0)
    return outcome["result"]


def _log_progress(step: float = 0.1) -> Callable[[float], None]:
    """A progress callback that logs at INFO each time another ``step`` of the work is done, and at the end."""
    last = [-1]
    started = time.perf_counter()

    def report(done: float) -> None:
        notch = int(done / step + 1e-9)
        if notch > last[0]:
            last[0] = notch
            log.info("customer summary: %d%% done (%.1f s)", int(100 * done), time.perf_counter() - started)

    return report


def customer_summary_sql(
    source,
    *,
    as_of=None,
    time_unit: str = "D",
    customer_id_column: str = "customer_id",
    order_date_column: str = "order_date",
    revenue_column: str = "revenue",
    memory_limit: str | None = None,
    threads: int | None = None,
    progress: bool | Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """The customer summary computed by DuckDB, from a DataFrame or straight from Parquet/CSV files.

    Parameters
    ----------
    source : DataFrame, str or Path
        An orders table (as for :func:`clvlib.customer_summary`), or a Parquet/CSV file, a glob
        (``"orders/*.parquet"``) or a folder of (hive-partitioned) Parquet files. Files are streamed, never loaded
        into pandas; CSV files are read twice (a bookkeeping pass, then the summary), Parquet files read only the
        three columns.
    as_of, time_unit
        As for :func:`clvlib.customer_summary`.
    customer_id_column, order_date_column, revenue_column : str
        Source column names of the three columns used (files keep their own names).
    memory_limit : str, optional
        DuckDB's memory cap, e.g. ``"2GB"``; past it the grouping spills to a temporary folder.
    threads : int, optional
        DuckDB's worker threads (default: all cores).
    progress : bool or callable, optional
        ``True`` logs progress at INFO on the ``clvlib.sql`` logger; a callable receives the fraction done (0-1)
        as the summary query advances, and 1.0 at the end.

    Returns
    -------
    DataFrame indexed by ``customer_id``, the same columns, dtypes and ``attrs`` as
    :func:`clvlib.customer_summary`.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-10"]),
    ...     "revenue": [10.0, 5.0, 30.0, 20.0],
    ... })
    >>> customer_summary_sql(orders, as_of="2024-01-31")[["frequency", "recency", "T", "monetary_value"]]
                 frequency  recency     T  monetary_value
    customer_id
    a                  1.0     14.0  30.0            30.0
    b                  0.0      0.0  21.0             0.0
    """
    import duckdb  # the SQL route only: `import clvlib` does not need DuckDB

    check_time_unit(time_unit)
    if isinstance(source, pd.DataFrame):
        validate_columns(source, (customer_id_column, order_date_column, revenue_column), source="orders",
                         what="orders table")
        dates = source[order_date_column]
        if not pd.api.types.is_datetime64_any_dtype(dates):
            raise DataError(
                f"orders: column `{order_date_column}` must hold dates (datetime64), but has dtype {dates.dtype}; "
                "convert with pd.to_datetime."
            )
        if isinstance(dates.dtype, pd.DatetimeTZDtype):  # the store's own calendar dates, as customer_summary
            source = source.assign(**{order_date_column: dates.dt.tz_localize(None)})
    relation, frame = _relation(source, customer_id_column)
    report = _log_progress() if progress is True else (progress or None)
    with tempfile.TemporaryDirectory(prefix="clvlib-duckdb-") as spill, duckdb.connect() as con:
        con.execute(f"SET temp_directory = {_quote_path(spill)}")
        con.execute("SET preserve_insertion_order = false")
        if memory_limit is not None:
            con.execute(f"SET memory_limit = {_quote_path(memory_limit)}")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        # DuckDB draws a progress bar on stdout for long queries; a library must not print, so progress goes
        # through the callback (DuckDB only tracks it while the bar is enabled).
        con.execute(f"SET enable_progress_bar = {str(report is not None).lower()}")
        con.execute("SET enable_progress_bar_print = false")
        if frame is not None:
            con.register("orders_frame", frame[[customer_id_column, order_date_column, revenue_column]])
        as_of_day, guests, after = _bookkeeping(con, relation, customer_id_column, order_date_column, as_of)
        sql = summary_sql(
            relation, customer_id_column=customer_id_column, order_date_column=order_date_column,
            revenue_column=revenue_column,
            as_of=as_of_day, time_unit=time_unit,
        )
        result = _run(con, sql, report)
    id_dtype = frame[customer_id_column].dtype if frame is not None else "str"
    if isinstance(id_dtype, pd.CategoricalDtype):
        id_dtype = id_dtype.categories.dtype
    result = _to_customer_table(result, id_dtype)
    result.attrs.update(
        time_unit=time_unit,
        time_unit_name=TIME_UNIT_NAMES[time_unit],
        as_of=as_of_day.date().isoformat(),  # JSON-safe, as customer_summary stores it
        guest_orders=guests,
        orders_after_as_of=after,
    )
    return result


def _bookkeeping(con, relation: str, customer_id: str, order_date: str, as_of) -> tuple[pd.Timestamp, int, int]:
    """The as-of date (default: the last order date), guest orders, and customer orders after as-of."""
    cid, date = f'"{customer_id}"', f'CAST("{order_date}" AS DATE)'
    cut = "NULL" if as_of is None else _date_literal(as_of)
    guests, last, after = con.execute(
        f"SELECT COUNT(*) FILTER (WHERE {cid} IS NULL), MAX({date}) FILTER (WHERE {cid} IS NOT NULL), "
        f"COUNT(*) FILTER (WHERE {cid} IS NOT NULL AND {date} > {cut}) FROM {relation}"
    ).fetchone()
    if as_of is None and last is None:
        raise DataError("orders: no orders to summarise, so `as_of` cannot default to the last order date.")
    stamp = pd.Timestamp(last if as_of is None else as_of)
    return (stamp.tz_localize(None) if stamp.tzinfo else stamp).normalize(), int(guests), int(after or 0)


def _to_customer_table(result: pd.DataFrame, id_dtype) -> pd.DataFrame:
    """DuckDB's result with the dtypes of :func:`clvlib.customer_summary`."""
    index = pd.Index(result["customer_id"].astype(id_dtype), name="customer_id")
    columns = {c: result[c].to_numpy() for c in SUMMARY_COLUMNS}
    for c in ("first_order", "last_order"):
        columns[c] = columns[c].astype("datetime64[ns]")
    columns["n_orders"] = columns["n_orders"].astype(np.int64)
    return pd.DataFrame(columns, index=index)
