"""The baselines each benchmark figure is divided by: what an analyst would write without clvlib.

- ``pandas_summary`` / ``pandas_calibration_holdout``: the straightforward pandas group-bys (orders into purchase
  days, days into customers) giving the same columns as :func:`clvlib.customer_summary`.
- ``duckdb_summary``: the same summary as SQL (:func:`clvlib.sql.summary_sql`) run by DuckDB on the DataFrame.
- ``naive_fit``: a model's per-row log-likelihood summed over every customer (no compression of identical rows),
  minimised by BFGS with finite-difference gradients from a flat start, as a first implementation would.
- ``pandas_rfm``, ``pandas_top_share``, ``pandas_aov_bands``: qcut scores, a sort and cumulative sum, a cut.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize

from clvlib.config import DAYS_PER_UNIT


def pandas_summary(orders: pd.DataFrame, as_of: pd.Timestamp, time_unit: str = "D") -> pd.DataFrame:
    """customer_summary's columns with pandas group-bys."""
    unit = DAYS_PER_UNIT[time_unit]
    known = orders[orders["customer_id"].notna() & (orders["order_date"] <= as_of)]
    days = known.groupby(["customer_id", "order_date"])["revenue"].agg(["sum", "size"]).reset_index()
    per = days.groupby("customer_id")  # days are sorted by (customer, date): first() is the first purchase day
    first, last = per["order_date"].min(), per["order_date"].max()
    frequency = per.size().astype(float) - 1
    total, n_orders = per["sum"].sum(), per["size"].sum()
    first_revenue = per["sum"].first()
    return pd.DataFrame({
        "frequency": frequency,
        "recency": (last - first).dt.days / unit,
        "T": (as_of - first).dt.days / unit,
        "monetary_value": ((total - first_revenue) / frequency.where(frequency > 0)).fillna(0.0),
        "n_orders": n_orders,
        "total_revenue": total,
        "aov": total / n_orders,
        "first_order": first,
        "last_order": last,
    })


def pandas_calibration_holdout(orders: pd.DataFrame, calibration_end, observation_end) -> pd.DataFrame:
    """calibration_holdout's columns with pandas: a calibration summary, then holdout group-bys joined on."""
    cal_end, obs_end = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    cal = pandas_summary(orders, cal_end)
    hold = orders[(orders["order_date"] > cal_end) & (orders["order_date"] <= obs_end)]
    per = hold.groupby("customer_id")
    return cal.assign(
        frequency_holdout=per["order_date"].nunique().reindex(cal.index, fill_value=0).astype(float),
        revenue_holdout=per["revenue"].sum().reindex(cal.index, fill_value=0.0),
        duration_holdout=float((obs_end - cal_end).days),
    )


def duckdb_summary(orders: pd.DataFrame, as_of: pd.Timestamp, time_unit: str = "D") -> pd.DataFrame:
    """The summary query run by DuckDB on the DataFrame (all cores), result fetched into pandas."""
    import duckdb

    from clvlib.sql import summary_sql

    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.register("orders", orders)
        return con.execute(summary_sql("orders", as_of=as_of, time_unit=time_unit)).df()


def naive_fit(log_likelihood, columns: tuple[np.ndarray, ...], n_params: int) -> np.ndarray:
    """Maximum likelihood by BFGS on the mean per-row log-likelihood with finite-difference gradients.

    Log-parameters from a flat start (all parameters 1, as lifetimes starts); every customer's row is evaluated at
    every step. Central differences and a tight tolerance, so that the optimum, not the stopping rule, decides the
    parameters: forward differences stop about 1e-6 (relative) short of the optimum on CDNOW.
    """

    def negative(theta: np.ndarray) -> float:
        return -float(np.mean(log_likelihood(np.exp(theta), *columns)))

    with np.errstate(all="ignore"):
        result = optimize.minimize(negative, np.zeros(n_params), method="BFGS", jac="3-point",
                                   options={"gtol": 1e-10})
    return np.exp(result.x)


def pandas_rfm(customers: pd.DataFrame, as_of: pd.Timestamp, bins: int = 5) -> pd.DataFrame:
    """Quintile R, F, M scores on ranks, their code, and a classic segment from the R and F scores."""
    recency = (as_of - customers["last_order"]).dt.days
    scores = pd.DataFrame({
        "r_score": pd.qcut(recency.rank(method="first", ascending=False), bins, labels=False) + 1,
        "f_score": pd.qcut(customers["n_orders"].rank(method="first"), bins, labels=False) + 1,
        "m_score": pd.qcut(customers["total_revenue"].rank(method="first"), bins, labels=False) + 1,
    })
    scores["rfm"] = scores["r_score"].astype(str) + scores["f_score"].astype(str) + scores["m_score"].astype(str)
    r, f = scores["r_score"], scores["f_score"]
    scores["segment"] = np.select(
        [(r >= 4) & (f >= 4), r >= 4, (r <= 2) & (f >= 4), r <= 2],
        ["Champions", "Recent", "At risk", "Hibernating"],
        "Needs attention",
    )
    return scores


def pandas_top_share(customers: pd.DataFrame, fractions=(0.01, 0.05, 0.1, 0.2, 0.5)) -> pd.DataFrame:
    """Share of revenue from the top fractions of customers: a descending sort and a cumulative sum."""
    ranked = customers["total_revenue"].sort_values(ascending=False).cumsum()
    total = ranked.iloc[-1]
    k = [max(1, int(np.ceil(f * len(ranked)))) for f in fractions]
    return pd.DataFrame({"k": k, "share": [ranked.iloc[i - 1] / total for i in k]}, index=list(fractions))


def pandas_aov_bands(orders: pd.DataFrame, multipliers=(0.5, 2.0)) -> pd.DataFrame:
    """Customers in bands of their AOV around the store AOV, with revenue shares."""
    known = orders[orders["customer_id"].notna()]
    per = known.groupby("customer_id")["revenue"].agg(["sum", "size"])
    store_aov = known["revenue"].sum() / len(known)
    edges = [-np.inf, *(m * store_aov for m in multipliers), np.inf]
    band = pd.cut(per["sum"] / per["size"], edges)
    table = per.groupby(band, observed=False).agg(customers=("size", "size"), orders=("size", "sum"),
                                                  revenue=("sum", "sum"))
    return table.assign(revenue_share=table["revenue"] / table["revenue"].sum())
