"""The measured steps: what each one loads (untimed), the clvlib call, its baselines and its target.

A step's ``setup(size)`` returns the inputs; each variant is ``(label, function(inputs))``, the first being clvlib's.
``check(outputs)`` may add facts to the table (e.g. how far the fitted parameters are from the baseline's).
Targets are ``(kind, bound)``: ``"ratio"`` (clvlib ÷ that baseline ≤ bound), ``"seconds"`` (clvlib median ≤ bound),
``"speedup"`` (baseline ÷ clvlib ≥ bound), ``"memory"`` (clvlib peak ÷ input columns ≤ bound), ``"peak"`` (clvlib
peak ÷ the first baseline's peak ≤ bound).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

import baselines as base
import generate

CALIBRATION_END, OBSERVATION_END = "2025-06-30", "2025-12-31"


@dataclass
class Step:
    name: str
    setup: Callable[[int | None], dict]
    variants: list[tuple[str, Callable[[dict], object]]]
    sizes: str = "all"  # "all": every transaction size; "largest": the largest one; "fixed": no size (CDNOW)
    # baseline label (or "clvlib", "input columns", "parameters", "peak") -> (kind, bound)
    targets: dict[str, tuple[str, float]] = field(default_factory=dict)
    check: Callable[[dict], dict] | None = None
    once: tuple[str, ...] = ()  # variants too slow to repeat: measured once
    max_size: int | None = None  # sizes above this are not run (noted in the table)
    note: str = ""


# -- inputs ----------------------------------------------------------------------------------------------------
def _orders(size: int) -> pd.DataFrame:
    """The canonical orders table of a size (as read_transactions returns it), straight from the Parquet file."""
    frame = pd.read_parquet(generate.paths(size)["parquet"])
    frame["order_date"] = frame["order_date"].astype("datetime64[ns]")
    return frame


def _input_bytes(frame: pd.DataFrame, columns=("customer_id", "order_date", "revenue")) -> int:
    return int(frame[list(columns)].memory_usage(deep=True, index=False).sum())


def _orders_inputs(size: int) -> dict:
    orders = _orders(size)
    return {"orders": orders, "as_of": orders["order_date"].max(), "input_bytes": _input_bytes(orders)}


def _customers_inputs(size: int) -> dict:
    import clvlib

    inputs = _orders_inputs(size)
    inputs["customers"] = clvlib.customer_summary(inputs["orders"])
    return inputs


def _cdnow_customers() -> pd.DataFrame:
    import clvlib

    return clvlib.customer_summary(clvlib.load_cdnow(), time_unit="W")


def _fit_inputs(customers: pd.DataFrame) -> dict:
    x, t_x, T, m = (customers[c].to_numpy(np.float64) for c in ("frequency", "recency", "T", "monetary_value"))
    spenders = (x > 0) & (m > 0)  # the Gamma-Gamma fit's rows, as clvlib.GammaGamma selects them
    return {"customers": customers, "xtT": (x, t_x, T), "xm": (x[spenders], m[spenders]),
            "n_customers": len(customers)}


# -- model variants --------------------------------------------------------------------------------------------
def _fit_bgnbd(inputs):
    import clvlib

    return clvlib.BetaGeo().fit(inputs["customers"]).params_.to_numpy()


def _fit_pareto(inputs):
    import clvlib

    return clvlib.ParetoNBD().fit(inputs["customers"]).params_.to_numpy()


def _fit_gg(inputs):
    import clvlib

    return clvlib.GammaGamma().fit(inputs["customers"]).params_.to_numpy()


def _naive(name: str):
    from clvlib import models

    likelihoods = {
        "bgnbd": (models.bgnbd_log_likelihood, "xtT", 4),
        "pareto": (models.pareto_nbd_log_likelihood, "xtT", 4),
        "gg": (models.gamma_gamma_log_likelihood, "xm", 3),
    }
    function, columns, k = likelihoods[name]
    return lambda inputs: base.naive_fit(function, inputs[columns], k)


def _both(first, second):
    return lambda inputs: np.r_[first(inputs), second(inputs)]


def _same_parameters(outputs: dict) -> dict:
    """Largest relative difference between clvlib's fitted parameters and the naive baseline's."""
    mine, naive = list(outputs.values())[:2]
    return {"max relative parameter difference": float(np.max(np.abs(np.asarray(mine) / np.asarray(naive) - 1)))}


def _predict(inputs):
    import clvlib

    customers = inputs["customers"]
    bg, gg = inputs["models"]
    return clvlib.predictive_clv(bg, gg, customers, horizon_months=12, intervals=False)


def _predict_formula(inputs):
    from clvlib import models

    bg, gg = inputs["models"]
    x, t_x, T = inputs["xtT"]
    m = inputs["customers"]["monetary_value"].to_numpy(np.float64)
    weeks = 12 * 30.4375 / 7
    return (models.bgnbd_expected_purchases(bg.params_.to_numpy(), weeks, x, t_x, T)
            * models.gamma_gamma_expected_spend(gg.params_.to_numpy(), x, m))


def _million_inputs(size: int) -> dict:
    import clvlib

    inputs = _fit_inputs(clvlib.customer_summary(_orders(size), time_unit="W"))
    inputs["models"] = (clvlib.BetaGeo().fit(inputs["customers"]), clvlib.GammaGamma().fit(inputs["customers"]))
    return inputs


# -- reports -----------------------------------------------------------------------------------------------------
def _report_on(size: int):
    def run(inputs):
        with tempfile.TemporaryDirectory(prefix="clv-bench-report-") as out:
            command = [sys.executable, "-m", "clvlib", "report", "--data", str(generate.paths(size)["parquet"]),
                       "--out", out, "--jobs", "2", "-q"]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-2000:])
    return run


def _report_floor(inputs):
    import bench_reports

    with tempfile.TemporaryDirectory(prefix="clv-bench-floor-") as folder:
        subprocess.run([sys.executable, "-c", bench_reports._FLOOR_SCRIPT, folder], check=True, capture_output=True)


def _lazy(name: str, *args, **kwargs):
    """``clvlib.<name>(inputs[args...])``, looked up when called: if the name is missing, only that step fails
    (and shows as skipped, with the error, in the table)."""
    def call(inputs):
        import clvlib

        return getattr(clvlib, name)(*(inputs[a] for a in args), **kwargs)
    return call


def _rfm(inputs):
    import clvlib

    return clvlib.rfm_segments(clvlib.rfm_scores(clvlib.rfm_table(inputs["customers"])))


def steps(largest: int) -> list[Step]:
    """Every step, in the order of the results table."""
    import clvlib
    from clvlib.sql import customer_summary_sql

    def read(kind: str):
        return lambda inputs: clvlib.read_transactions(str(generate.paths(inputs["size"])[kind]))

    def read_csv(inputs):
        return pd.read_csv(generate.paths(inputs["size"])["csv"], engine="pyarrow")

    def read_parquet(inputs):
        return pd.read_parquet(generate.paths(inputs["size"])["parquet"])

    def policy_minimum(frame: pd.DataFrame) -> pd.DataFrame:
        """The least any reader of this policy must do after parsing, written as tightly as plain pandas and numpy
        allow (each distinct date parsed once, integer codes instead of text keys): dates as days, exact repeats
        out, one row per order with positive revenue, distinct customers counted, sorted by date."""
        codes, distinct = pd.factorize(frame["order_date"])
        days = pd.to_datetime(pd.Series(distinct)).dt.normalize().to_numpy()[codes]
        order, order_ids = pd.factorize(frame["order_id"])
        repeated = np.bincount(order)[order] > 1  # only rows whose order id repeats can be exact repeats
        keep = np.ones(len(frame), dtype=bool)
        keep[repeated] = ~frame[repeated].duplicated().to_numpy()
        revenue = np.bincount(order[keep], weights=frame["revenue"].to_numpy(float)[keep], minlength=len(order_ids))
        first = np.full(len(order_ids), len(frame))
        np.minimum.at(first, order, np.arange(len(frame)))
        positive = revenue > 0
        rows = first[positive]
        by_date = np.argsort(days[rows], kind="stable")
        orders = pd.DataFrame({"order_id": order_ids[positive][by_date],
                               "customer_id": frame["customer_id"].to_numpy()[rows][by_date],
                               "order_date": days[rows][by_date], "revenue": revenue[positive][by_date]})
        orders.attrs["customers"] = int(orders["customer_id"].nunique())
        return orders

    def warmed(*variants):
        """Inputs of a read step, after each variant has read the 100k file once: the first call's imports and
        caches (some 50 MB for read_transactions) are not part of any measured peak."""
        def setup(size):
            generate.ensure(100_000)
            for variant in variants:
                variant({"size": 100_000})
            return {"size": size}
        return setup

    return [
        Step("read CSV (read_transactions)", warmed(read("csv"), read_csv),
             [("clvlib", read("csv")),
              ("read_csv (pyarrow) + policy minimum", lambda i: policy_minimum(read_csv(i))),
              ("pandas read_csv (pyarrow)", read_csv)],
             targets={"read_csv (pyarrow) + policy minimum": ("ratio", 2.0), "peak": ("peak", 1.5)},
             note="read_transactions also validates, cleans and accounts for every row, and returns one row per "
                  "order sorted by date; the baselines only parse"),
        Step("read Parquet (read_transactions)", warmed(read("parquet"), read_parquet),
             [("clvlib", read("parquet")),
              ("read_parquet + policy minimum", lambda i: policy_minimum(read_parquet(i))),
              ("pandas read_parquet", read_parquet)],
             targets={"read_parquet + policy minimum": ("ratio", 2.0), "peak": ("peak", 1.5)}),
        Step("customer_summary", _orders_inputs,
             [("clvlib", lambda i: clvlib.customer_summary(i["orders"])),
              ("pandas group-by", lambda i: base.pandas_summary(i["orders"], i["as_of"])),
              ("DuckDB SQL", lambda i: base.duckdb_summary(i["orders"], i["as_of"]))],
             targets={"DuckDB SQL": ("ratio", 1.5), "input columns": ("memory", 3.0)}),
        Step("calibration_holdout", _orders_inputs,
             [("clvlib", lambda i: clvlib.calibration_holdout(i["orders"], calibration_end=CALIBRATION_END,
                                                              observation_end=OBSERVATION_END)),
              ("customer_summary", lambda i: clvlib.customer_summary(i["orders"])),
              ("pandas group-by", lambda i: base.pandas_calibration_holdout(i["orders"], CALIBRATION_END,
                                                                            OBSERVATION_END))],
             targets={"customer_summary": ("ratio", 1.3)}, once=("pandas group-by",)),
        Step("customer_summary_sql (Parquet file)", lambda n: {"size": n},
             [("clvlib", lambda i: customer_summary_sql(str(generate.paths(i["size"])["parquet"]))),
              ("read_parquet + customer_summary", lambda i: clvlib.customer_summary(_orders(i["size"])))],
             note="DuckDB streams the file; the baseline loads it into pandas first"),
        Step("RFM table + scores + segments", _customers_inputs,
             [("clvlib", _rfm), ("pandas qcut", lambda i: base.pandas_rfm(i["customers"], i["as_of"]))]),
        Step("Pareto top shares", _customers_inputs,
             [("clvlib", _lazy("top_share", "customers")),
              ("pandas sort + cumsum", lambda i: base.pandas_top_share(i["customers"]))]),
        Step("AOV bands", _orders_inputs,
             [("clvlib", _lazy("aov_bands", "orders")),
              ("pandas group-by + cut", lambda i: base.pandas_aov_bands(i["orders"]))]),
        Step("BG/NBD fit, CDNOW (weeks)", lambda n: _fit_inputs(_cdnow_customers()),
             [("clvlib", _fit_bgnbd), ("naive BFGS", _naive("bgnbd"))], sizes="fixed",
             targets={"clvlib": ("seconds", 0.1), "parameters": ("params", 1e-6)}, check=_same_parameters,
             note="naive BFGS: every customer's row at every step, central-difference gradients, flat start"),
        Step("Pareto/NBD fit, CDNOW (weeks)", lambda n: _fit_inputs(_cdnow_customers()),
             [("clvlib", _fit_pareto), ("naive BFGS", _naive("pareto"))], sizes="fixed",
             targets={"clvlib": ("seconds", 1.0), "parameters": ("params", 1e-6)}, check=_same_parameters,
             once=("naive BFGS",)),
        Step("Gamma-Gamma fit, CDNOW", lambda n: _fit_inputs(_cdnow_customers()),
             [("clvlib", _fit_gg), ("naive BFGS", _naive("gg"))], sizes="fixed",
             targets={"parameters": ("params", 1e-6)}, check=_same_parameters),
        Step("BG/NBD + Gamma-Gamma fit, customers of the largest file (weeks)", _million_inputs,
             [("clvlib", _both(_fit_bgnbd, _fit_gg)), ("naive BFGS", _both(_naive("bgnbd"), _naive("gg")))],
             sizes="largest",
             targets={"clvlib": ("seconds", 5.0), "naive BFGS": ("speedup", 10.0), "parameters": ("params", 1e-6)},
             check=_same_parameters, once=("naive BFGS",)),
        Step("predictive_clv 12 months, customers of the largest file", _million_inputs,
             [("clvlib", _predict), ("closed-form product", _predict_formula)], sizes="largest",
             note="baseline: E[purchases] × E[spend] per customer, no discounting, no table"),
        Step("full report (`clv report --jobs 2`), 1M rows", lambda n: {},
             [("clvlib", _report_on(1_000_000)), ("floor: one empty notebook", _report_floor)], sizes="fixed",
             once=("clvlib", "floor: one empty notebook")),
    ]
