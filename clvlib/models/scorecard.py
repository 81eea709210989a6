"""Does the model earn its place? Holdout predictions against what happened, beside two naive baselines.

The baselines are what an analyst would do without a model:

* **historical rate**: each customer keeps buying at their own past rate, ``frequency / T`` repeat purchases per
  time unit, at their own average order value;
* **store average**: every customer buys at the store's average rate (total repeat purchases over total customer
  time) and spends the store's average order value — the simple CLV formula's assumption.

Also here: the tracking table (cumulative repeat purchases over calendar time, actual vs model), the classic
BTYD diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import customer_indexed, validate_columns
from ..config import DAYS_PER_UNIT
from .._results import result_html
from ..errors import DataError

__all__ = ["HoldoutScorecard", "holdout_scorecard", "top_decile_capture", "tracking_table"]

METHODS = ("model", "historical rate", "store average")


def _key(method: str) -> str:
    """A method as a column-name prefix: index labels may have spaces, column names never do."""
    return method.replace(" ", "_")


def top_decile_capture(predicted, actual, *, share: float = 0.1) -> float:
    """Share of the total ``actual`` held by the ``share`` of customers with the highest ``predicted``.

    Ties at the cut-off are split in proportion (the expectation under random tie-breaking), so a constant
    prediction captures exactly ``share`` of the total on average.

    Examples
    --------
    >>> top_decile_capture([5, 1, 1, 1], [10, 0, 5, 5], share=0.25)
    0.5
    >>> top_decile_capture([1, 1, 1, 1], [10, 0, 5, 5], share=0.25)
    0.25
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    total = actual.sum()
    if total == 0:
        return float("nan")
    slots = share * len(predicted)
    order = np.argsort(-predicted, kind="stable")
    values, starts = np.unique(-predicted[order], return_index=True)
    sums = np.add.reduceat(actual[order], starts)
    sizes = np.diff(np.r_[starts, len(predicted)])
    before = np.r_[0, np.cumsum(sizes)[:-1]]
    taken = np.clip(slots - before, 0, sizes) / sizes
    return float((taken * sums).sum() / total)


@dataclass
class HoldoutScorecard:
    """Result of :func:`holdout_scorecard`; every table compares ``model`` with the two baselines.

    Attributes
    ----------
    totals : DataFrame indexed by ``actual`` and the methods: ``repeat_purchases``, ``revenue`` and their errors
        in % of actual.
    metrics : DataFrame indexed by method: ``mae``, ``rmse`` (purchases per customer), ``spearman`` (rank
        correlation of predicted and actual purchases), ``top_decile_capture`` (share of holdout revenue held by the
        10 % of customers ranked highest).
    by_frequency : mean holdout purchases per customer by calibration frequency (0 … ``max_frequency``+):
        ``customers``, ``actual``, ``model``, ``historical_rate``, ``store_average``.
    by_decile : customers grouped by the model's predicted purchases (decile 1 = highest).
    per_customer : the predictions per customer: ``actual_purchases``, ``actual_revenue``, and
        ``<method>_purchases``, ``<method>_revenue`` for ``model``, ``historical_rate`` and ``store_average``.
    verdict : a plain-language sentence.
    table : DataFrame
        The main table, ``metrics`` (the model against the baselines on each measure).
    beats_baselines : bool
        The decision the verdict states: the model is at least as good as the best naive baseline on more of the
        four measures (total holdout purchases, MAE, Spearman, top-decile capture) than it is worse on. Measures
        that cannot be computed (e.g. a rank correlation when a prediction is constant) count for neither side.
    """

    totals: pd.DataFrame
    metrics: pd.DataFrame
    by_frequency: pd.DataFrame
    by_decile: pd.DataFrame
    per_customer: pd.DataFrame
    verdict: str
    attrs: dict = field(default_factory=dict)
    beats_baselines: bool = False

    @property
    def table(self) -> pd.DataFrame:
        """The main table: :attr:`metrics`."""
        return self.metrics

    def __str__(self) -> str:
        return self.verdict

    def _repr_html_(self) -> str:
        return result_html(self.verdict, self.table, title="Holdout scorecard")


def _predictions(purchase_model, spend_model, cal: pd.DataFrame, duration: float) -> pd.DataFrame:
    x, T = cal["frequency"].to_numpy(dtype=np.float64), cal["T"].to_numpy(dtype=np.float64)
    own_rate = np.divide(x, T, out=np.zeros_like(x), where=T > 0)
    store_rate = x.sum() / T.sum()
    own_value = np.where(x > 0, cal["monetary_value"], cal["aov"]) if "aov" in cal else cal["monetary_value"]
    store_value = cal["total_revenue"].sum() / cal["n_orders"].sum() if "n_orders" in cal else np.nan
    table = pd.DataFrame(
        {
            "actual_purchases": cal["frequency_holdout"].to_numpy(dtype=np.float64),
            "actual_revenue": cal["revenue_holdout"].to_numpy(dtype=np.float64),
            "model_purchases": purchase_model.expected_purchases(cal, t=duration).to_numpy(),
            "historical_rate_purchases": own_rate * duration,
            "store_average_purchases": np.full(len(cal), store_rate * duration),
        },
        index=cal.index,
    )
    spend = spend_model.expected_spend(cal).to_numpy() if spend_model is not None else np.nan
    table["model_revenue"] = table["model_purchases"] * spend
    table["historical_rate_revenue"] = table["historical_rate_purchases"] * np.asarray(own_value, dtype=np.float64)
    table["store_average_revenue"] = table["store_average_purchases"] * store_value
    return table


def holdout_scorecard(
    purchase_model,
    spend_model,
    cal_holdout: pd.DataFrame,
    *,
    max_frequency: int = 7,
) -> HoldoutScorecard:
    """Score a fitted purchase (and spend) model on the holdout period of :func:`clvlib.calibration_holdout`.

    Parameters
    ----------
    purchase_model : BetaGeo or ParetoNBD
        Fitted on the calibration columns of ``cal_holdout``.
    spend_model : GammaGamma or None
        Fitted spend model; None scores purchases only (revenue columns are NaN for the model).
    cal_holdout : DataFrame
        Output of :func:`clvlib.calibration_holdout` (``frequency_holdout``, ``revenue_holdout``,
        ``duration_holdout``); indexed by customer id, or with a ``customer_id`` column.
    max_frequency : int
        Calibration frequencies above this are pooled in the last row of ``by_frequency``.

    Returns
    -------
    HoldoutScorecard (see its attributes).
    """
    # The per-customer predictions are indexed like the table: by customer id.
    cal_holdout = customer_indexed(cal_holdout, "calibration/holdout table")
    validate_columns(
        cal_holdout,
        ["frequency", "recency", "T", "monetary_value", "total_revenue", "frequency_holdout", "revenue_holdout",
         "duration_holdout"],
        source="cal_holdout", what="calibration/holdout table",
    )
    if len(cal_holdout) == 0:
        raise DataError("cal_holdout: the table has no customers to score.")
    duration = float(cal_holdout["duration_holdout"].iloc[0])
    pred = _predictions(purchase_model, spend_model, cal_holdout, duration)
    actual_p, actual_r = pred["actual_purchases"], pred["actual_revenue"]

    totals = pd.DataFrame(
        {
            "repeat_purchases": [actual_p.sum()] + [pred[f"{_key(m)}_purchases"].sum() for m in METHODS],
            "revenue": [actual_r.sum()] + [pred[f"{_key(m)}_revenue"].sum(min_count=1) for m in METHODS],
        },
        index=pd.Index(["actual", *METHODS], name="method"),
    )
    totals["purchases_error_pct"] = 100 * (totals["repeat_purchases"] / actual_p.sum() - 1)
    totals["revenue_error_pct"] = 100 * (totals["revenue"] / actual_r.sum() - 1)

    rows = {}
    for m in METHODS:
        err = pred[f"{_key(m)}_purchases"] - actual_p
        constant = pred[f"{_key(m)}_purchases"].nunique() < 2
        rows[m] = {
            "mae": err.abs().mean(),
            "rmse": np.sqrt((err**2).mean()),
            # A constant prediction cannot rank anyone: its rank correlation is undefined, not zero. Spearman's rho
            # is Pearson's r of the average ranks; pandas' method="spearman" would import scipy.stats (1 s of CPU).
            "spearman": np.nan if constant else pred[f"{_key(m)}_purchases"].rank().corr(actual_p.rank()),
            "top_decile_capture": top_decile_capture(
                pred[f"{_key(m)}_revenue"].fillna(pred[f"{_key(m)}_purchases"]), actual_r),
        }
    metrics = pd.DataFrame.from_dict(rows, orient="index")
    metrics.index.name = "method"

    bucket = np.minimum(cal_holdout["frequency"].to_numpy(), max_frequency).astype(int)
    labels = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
    grouped = pred[["actual_purchases", *[f"{_key(m)}_purchases" for m in METHODS]]].groupby(bucket)
    by_frequency = grouped.mean().rename(columns=lambda c: c.replace("_purchases", ""))
    by_frequency.insert(0, "customers", grouped.size())
    by_frequency.index = pd.Index([labels[i] for i in by_frequency.index], name="calibration_frequency")

    ranks = pred["model_purchases"].rank(method="first", ascending=False)
    decile = np.ceil(ranks / len(pred) * 10).astype(int).clip(1, 10)
    by_decile = pred.groupby(decile.to_numpy()).agg(
        customers=("actual_purchases", "size"),
        predicted_purchases=("model_purchases", "mean"),
        actual_purchases=("actual_purchases", "mean"),
        predicted_revenue=("model_revenue", "sum"),
        actual_revenue=("actual_revenue", "sum"),
    )
    by_decile.index.name = "predicted_decile"

    verdict, beats = _verdict(totals, metrics)
    unit = cal_holdout.attrs.get("time_unit")
    return HoldoutScorecard(
        totals, metrics, by_frequency, by_decile, pred, verdict,
        attrs={"time_unit": unit, "duration_holdout": duration}, beats_baselines=beats,
    )


def _verdict(totals: pd.DataFrame, metrics: pd.DataFrame) -> tuple[str, bool]:
    baselines = ["historical rate", "store average"]
    error = totals["purchases_error_pct"].abs()
    # (model's value, best baseline value, higher is better) per measure; a NaN on either side cannot be compared.
    measures = {
        "total holdout purchases": (error["model"], error[baselines].min(), False),
        "per-customer error (MAE)": (metrics.loc["model", "mae"], metrics.loc[baselines, "mae"].min(), False),
        "ranking (Spearman)": (metrics.loc["model", "spearman"], metrics.loc[baselines, "spearman"].max(), True),
        "top-decile capture": (metrics.loc["model", "top_decile_capture"],
                               metrics.loc[baselines, "top_decile_capture"].max(), True),
    }
    wins, losses, undefined = [], [], []
    for name, (model, best, higher) in measures.items():
        if not (np.isfinite(model) and np.isfinite(best)):
            undefined.append(name)
        elif (model >= best) if higher else (model <= best):
            wins.append(name)
        else:
            losses.append(name)
    head = (
        f"The model predicts {totals.loc['model', 'repeat_purchases']:,.0f} holdout repeat purchases against "
        f"{totals.loc['actual', 'repeat_purchases']:,.0f} actual ({totals.loc['model', 'purchases_error_pct']:+.1f} %; "
        f"the best naive baseline is {error[baselines].min():.1f} % off)."
    )
    tail = f" ({', '.join(undefined)}: cannot be measured on this holdout.)" if undefined else ""
    if wins and not losses:
        return head + f" It is at least as good as both naive baselines on {_listed(wins)}: use it." + tail, True
    if len(wins) > len(losses):
        return (
            head + f" It beats the naive baselines on {_listed(wins)}, but not on {_listed(losses)}: use it, and "
            "read its predictions for individual customers with care." + tail, True
        )
    if not wins:
        return (head + " It does not beat the naive baselines on any measure: prefer historical CLV for this "
                "data." + tail, False)
    return (
        head + f" It beats the naive baselines only on {_listed(wins)} and loses on {_listed(losses)}: prefer "
        "historical CLV for this data." + tail, False
    )


def _listed(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def tracking_table(orders: pd.DataFrame, purchase_model, *, calibration_end, freq: str = "W") -> pd.DataFrame:
    """Cumulative repeat purchases over calendar time, actual vs expected, for the calibration-period cohort.

    The expected curve sums each customer's :meth:`expected_purchases_new_customer` over the time since their first
    purchase: E[repeat purchases by date d] = Σ_i E[X(d − first_i)] (customers are grouped by first purchase day,
    so the cost does not grow with the number of customers). Same-day orders count as one purchase, as in
    :func:`clvlib.customer_summary`.

    Parameters
    ----------
    orders : DataFrame
        Orders with ``customer_id`` and ``order_date``.
    purchase_model : BetaGeo or ParetoNBD
        Fitted on the calibration period, with a known ``time_unit_``.
    calibration_end : date-like
        End of calibration; only customers with a first order on or before it are tracked.
    freq : str
        Calendar step of the table (pandas offset alias, e.g. ``"W"`` or ``"D"``).

    Returns
    -------
    DataFrame indexed by ``date`` (period ends) with ``actual_repeat_purchases``, ``expected_repeat_purchases``
    (in the period), ``actual_cumulative`` and ``expected_cumulative``; ``attrs`` has ``calibration_end``,
    ``time_unit`` and ``freq``.
    """
    validate_columns(orders, ["customer_id", "order_date"], source="orders", what="orders table")
    unit = purchase_model.time_unit_
    if unit is None:
        raise DataError("tracking_table: the model has no time unit; fit it with `time_unit=`.")
    cal_end = pd.Timestamp(calibration_end).normalize()
    known = orders[orders["customer_id"].notna()]
    days = known["order_date"].dt.normalize()
    first = days.groupby(known["customer_id"]).transform("min")
    cohort = first <= cal_end
    visits = pd.DataFrame({"customer": known["customer_id"][cohort], "day": days[cohort], "first": first[cohort]})
    visits = visits.drop_duplicates(["customer", "day"])
    repeats = visits.loc[visits["day"] > visits["first"], "day"]
    end = days.max()
    grid = pd.date_range(days[cohort].min(), end, freq=freq)
    if len(grid) == 0 or grid[-1] < end:
        grid = grid.append(pd.DatetimeIndex([end]))
    actual_cum = np.searchsorted(np.sort(repeats.to_numpy()), grid.to_numpy(), side="right")

    firsts = visits.drop_duplicates("customer")["first"].value_counts()
    age_days = (grid.to_numpy()[:, None] - firsts.index.to_numpy()[None, :]) / np.timedelta64(1, "D")
    ages = np.clip(age_days, 0, None) / DAYS_PER_UNIT[unit]
    expected_cum = np.asarray(purchase_model.expected_purchases_new_customer(t=ages)) @ firsts.to_numpy()

    table = pd.DataFrame(
        {
            "actual_repeat_purchases": np.diff(actual_cum, prepend=0).astype(np.float64),
            "expected_repeat_purchases": np.diff(expected_cum, prepend=0.0),
            "actual_cumulative": actual_cum.astype(np.float64),
            "expected_cumulative": expected_cum,
        },
        index=pd.DatetimeIndex(grid, name="date"),
    )
    table.attrs.update(calibration_end=cal_end, time_unit=unit, freq=freq)
    return table
