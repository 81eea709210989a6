"""Cohort projection: each monthly cohort's cumulative value per customer, actual to date and projected by the model.

A cohort's cumulative value per customer by month m since the first order (calendar months, as in
:func:`~clvlib.cumulative_value_curves`: 0 is the month of the first order) is known up to ``as_of``. Beyond it,

    value(c, m) = value to date(c) + margin · Σ_{i ∈ c} E[Y_i(t_cm) | x_i, t_x,i, T_i] · E[M_i | x_i, m̄_i] / n_c,

where t_cm is the time from ``as_of`` to the last day of calendar month c + m, E[Y_i(t)] the purchase model's
conditional expected purchases in the next t time units given customer i's history, E[M_i] the Gamma-Gamma
conditional expected value of each (both as :func:`~clvlib.predictive_clv` uses them, undiscounted, as a cohort
curve is) and n_c the cohort's size. A cell counts as actual when its month ended on or before ``as_of``; a cell
whose month is still running at ``as_of`` is projected (to date plus the rest of the month).

:func:`cohort_projection_check` tests the projection by cutting history: fit on the orders up to a date, project
to a later date, and compare with what the cohorts actually brought by then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import result_html
from .._validation import check_time_unit
from ..config import DAYS_PER_UNIT
from ..errors import DataError

__all__ = ["project_cohorts", "cohort_projection_check", "ProjectionCheck", "describe_projection"]

_LONG = ["cohort", "months_since_first_order", "customers", "cumulative_total", "cumulative_per_customer",
         "projected"]


def _skipped(reason: str, columns=_LONG) -> pd.DataFrame:
    table = pd.DataFrame(columns=columns)
    table.attrs["skipped"] = reason
    return table


def _resolve(orders: pd.DataFrame, model, *, as_of, margin, time_unit):
    """(purchase model, spend model, model name, margin rate, margin for the actuals, as_of) or a reason why none.

    ``model`` is None (run :func:`~clvlib.predict_clv`), a CLVPrediction, or a fitted (purchase, spend) pair.
    """
    from .pipeline import CLVPrediction, _margin, predict_clv

    if model is None:
        model = predict_clv(orders, as_of=as_of, margin=margin, time_unit=time_unit, intervals=False)
    if isinstance(model, CLVPrediction):
        if not model.uses_model:
            return None, f"no purchase model is used. {model.reason}"
        if as_of is not None and pd.Timestamp(as_of).date().isoformat() != model.settings["as_of"]:
            raise ValueError(f"`as_of` ({pd.Timestamp(as_of).date()}) differs from the prediction's "
                             f"({model.settings['as_of']}): pass the same date, or leave `as_of` out.")
        rate, source = model.settings["margin"], model.settings["margin_source"]
        purchase, spend, name = model.purchase_model, model.spend_model, model.model
        as_of = model.settings["as_of"]
    elif isinstance(model, tuple) and len(model) == 2:
        purchase, spend = model
        purchase._check_fitted()
        spend._check_fitted()
        if purchase.time_unit_ is None:
            raise DataError(f"The {type(purchase).__name__} was fitted without a time unit, so the months ahead "
                            "cannot be converted: fit it with `time_unit=`.")
        rate, source, _ = _margin(orders, margin)
        name = type(purchase).__name__
        as_of = orders["order_date"].max() if as_of is None else as_of
    else:
        raise TypeError("`model` must be None, a CLVPrediction or a fitted (purchase model, Gamma-Gamma) pair, but "
                        f"{type(model).__name__!r} was passed.")
    # The actuals use the orders' own costs exactly when the projection's rate came from them.
    actual_margin = None if source == "from the order costs" else rate
    return (purchase, spend, name, float(rate), actual_margin, pd.Timestamp(as_of).normalize()), None


def _future_value(purchase, spend, customers: pd.DataFrame, cohort: pd.Series, as_of: pd.Timestamp,
                  ends: pd.DatetimeIndex) -> pd.DataFrame:
    """Σ over each cohort's customers of E[Y_i(as_of → end)] · E[M_i]: cohorts × ``ends`` (money, before
    margin)."""
    unit_days = DAYS_PER_UNIT[purchase.time_unit_]
    expected_spend = spend.expected_spend(customers).to_numpy(dtype=np.float64)
    columns = {}
    for end in ends:
        t = max((end - as_of).days, 0) / unit_days
        purchases = purchase.expected_purchases(customers, t=t).to_numpy(dtype=np.float64) if t > 0 else 0.0
        columns[end] = purchases * expected_spend
    values = pd.DataFrame(columns, index=customers.index)
    return values.groupby(cohort.reindex(customers.index).to_numpy()).sum()


def _value_to_date(orders: pd.DataFrame, facts: pd.DataFrame, date, margin) -> pd.Series:
    """Value per customer of each cohort's customers (those of ``facts``) from their orders up to ``date``."""
    from ..profit import order_profit

    data = orders[orders["customer_id"].isin(facts.index) & (orders["order_date"] <= pd.Timestamp(date))]
    value = order_profit(data, margin=margin).groupby(data["customer_id"].to_numpy()).sum()
    value = value.reindex(facts.index, fill_value=0.0)
    return value.groupby(facts["cohort"].to_numpy()).sum() / facts.groupby("cohort").size()


def project_cohorts(
    orders: pd.DataFrame,
    *,
    model=None,
    months=(6, 12, 24),
    as_of=None,
    margin: float | None = None,
    time_unit: str = "W",
) -> pd.DataFrame:
    """Cumulative value per customer of each monthly cohort: actual to date, projected by the model beyond it.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders.
    model : CLVPrediction or (purchase model, GammaGamma), optional
        The fitted models to project with. None runs :func:`clvlib.predict_clv` with these arguments (without
        intervals) and uses its decision; when that is historical CLV, there is nothing to project with and the
        table is skipped. A CLVPrediction's ``as_of`` and margin are used.
    months : int or sequence of int, default (6, 12, 24)
        Milestones (months since the first order); the table runs to the largest, every month.
    as_of : date-like, optional
        End of the observation; the last order date by default.
    margin : float, optional
        Gross margin rate in (0, 1]; None takes the actuals from the orders' costs and projects with the store's
        rate, or uses revenue when there are no costs.
    time_unit : {"D", "W", "M"}
        Time unit of the fits.

    Returns
    -------
    DataFrame in :func:`clvlib.cumulative_value_curves`'s layout, one row per cohort and month 0 …
    max(``months``): ``cohort`` (monthly Period), ``months_since_first_order``, ``customers`` (the cohort's size),
    ``cumulative_total``, ``cumulative_per_customer`` (money) and ``projected`` (bool: the month had not ended by
    ``as_of``). ``plot_cohort_heatmap(table, projected="projected")`` draws it. ``attrs``: ``value``
    ("gross_margin" or "revenue"), ``as_of``, ``model``, ``margin``, ``time_unit`` and ``milestones``; an empty
    table with ``attrs["skipped"]`` when no model can project.

    Examples
    --------
    >>> import clvlib
    >>> table = clvlib.project_cohorts(clvlib.load_orders())
    >>> table.columns.tolist()
    ['cohort', 'months_since_first_order', 'customers', 'cumulative_total', 'cumulative_per_customer', 'projected']
    >>> int(table["months_since_first_order"].max()), bool(table["projected"].any())
    (24, True)
    """
    from ..cohorts import cumulative_value_curves, first_order_attributes
    from ..summary import customer_summary

    check_time_unit(time_unit)
    milestones = tuple(sorted({int(m) for m in np.atleast_1d(months)}))
    if not milestones or milestones[0] < 0:
        raise ValueError(f"`months` must be non-negative whole months, but {months!r} was passed.")
    resolved, why = _resolve(orders, model, as_of=as_of, margin=margin, time_unit=time_unit)
    if resolved is None:
        return _skipped(f"Skipped: the cohort projection needs a purchase model: {why}")
    purchase, spend, name, rate, actual_margin, as_of = resolved
    last = milestones[-1]

    facts = first_order_attributes(orders, as_of=as_of)
    customers = customer_summary(orders, as_of=as_of, time_unit=purchase.time_unit_, warn=False)
    curves = cumulative_value_curves(orders, by="cohort", value="gross_margin", margin=actual_margin, as_of=as_of)
    as_of_month = as_of.to_period("M")
    complete = as_of == as_of_month.end_time.normalize()  # the as_of month has ended
    cohorts = np.sort(facts["cohort"].unique())
    sizes = facts.groupby("cohort").size()
    # Month ends from the as_of month to the newest cohort's last month (the newest cohort is at most that young).
    ends = pd.DatetimeIndex([(as_of_month + k).end_time.normalize() for k in range(last + 1)])
    future = _future_value(purchase, spend, customers, facts["cohort"], as_of, ends)
    actual = curves.set_index(["cohort", "months_since_first_order"])["cumulative_per_customer"]

    rows = []
    for cohort in cohorts:
        age = (as_of_month - cohort).n  # months since the first order of the as_of month
        observed = age if complete else age - 1
        to_date = actual.get((cohort, age), 0.0)
        for m in range(last + 1):
            if m <= observed:
                value, projected = actual.get((cohort, m), np.nan), False
            else:
                end = (cohort + m).end_time.normalize()
                value, projected = to_date + rate * future.loc[cohort, end] / sizes[cohort], True
            rows.append((cohort, m, int(sizes[cohort]), value * sizes[cohort], value, projected))
    table = pd.DataFrame(rows, columns=_LONG)
    table["cohort"] = table["cohort"].astype(facts["cohort"].dtype)
    table.attrs.update(value="gross_margin" if actual_margin is None or rate < 1 else "revenue",
                       as_of=as_of.date().isoformat(), model=name, margin=rate, time_unit=purchase.time_unit_,
                       milestones=list(milestones))
    return table


@dataclass(frozen=True)
class ProjectionCheck:
    """Result of :func:`cohort_projection_check`: projected against actual cumulative value per cohort.

    Attributes
    ----------
    table : DataFrame indexed by ``cohort`` with ``customers``, ``value_at_cut`` (cumulative value per customer at
        the cut), ``projected`` and ``actual`` (at ``as_of``), ``error`` (projected − actual, money per customer),
        ``error_pct`` (of the actual cumulative value) and ``increment_error_pct`` (of the value added after the
        cut, the part the model had to predict; NaN for a cohort that added nothing).
    overall : Series: ``cohorts``, ``customers``, ``mae`` (mean absolute error per customer over cohorts),
        ``weighted_mae`` (over customers), ``error_pct`` and ``increment_error_pct`` of the totals, ``cut``,
        ``as_of``, ``months`` (between them), ``model`` and ``currency``.
    verdict : str
        The error in one or two sentences.
    """

    table: pd.DataFrame
    overall: pd.Series
    reason: str | None = None

    @property
    def verdict(self) -> str:
        from ..formatting import format_money

        if self.reason:
            return self.reason
        o = self.overall
        worst = self.table["error_pct"].abs().idxmax()
        return (f"Fitted on the orders up to {o['cut']} ({o['model']}) and projected {o['months']:.0f} months ahead "
                f"to {o['as_of']}, the cumulative value per customer of the {o['cohorts']:.0f} cohorts acquired by "
                f"the cut is off by {o['error_pct']:+.1%} in total ({o['increment_error_pct']:+.1%} of the value "
                f"they added after the cut); the mean absolute error is {format_money(o['mae'], o['currency'])} per "
                "customer per cohort "
                f"(largest: {worst}, {self.table.loc[worst, 'error_pct']:+.1%}).").replace("%", " %")

    def __str__(self) -> str:
        return self.verdict

    def _repr_html_(self) -> str:
        return result_html(self.verdict, self.table, title="Cohort projection against what happened")


def cohort_projection_check(
    orders: pd.DataFrame,
    *,
    cut=None,
    as_of=None,
    model=None,
    margin: float | None = None,
    time_unit: str = "W",
) -> ProjectionCheck:
    """Fit on the orders up to ``cut``, project each cohort to ``as_of``, and compare with what it really brought.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders, including those after ``cut``.
    cut : date-like, optional
        Last day the fit sees; cohorts acquired by then are projected (from their customers' histories at the cut).
        None: the end of the month 12 months before ``as_of``'s, or halfway back when the history is shorter than
        two years (a history under two months cannot be cut: the result says so).
    as_of : date-like, optional
        The date compared at; the last order date by default.
    model : (purchase model, GammaGamma), optional
        Fitted models to project with (e.g. the true parameters of a simulated store). None runs
        :func:`clvlib.predict_clv` on the orders up to ``cut`` (as the report would have done on that day).
    margin, time_unit
        As in :func:`project_cohorts`.

    Returns
    -------
    ProjectionCheck
    """
    from ..cohorts import first_order_attributes
    from ..ingest import store_currency
    from ..summary import customer_summary

    check_time_unit(time_unit)
    as_of = pd.Timestamp(orders["order_date"].max() if as_of is None else as_of).normalize()
    first = orders["order_date"].min().normalize()
    columns = ["customers", "value_at_cut", "projected", "actual", "error", "error_pct", "increment_error_pct"]
    if cut is None:
        back = min(12, int((as_of - first).days / 30.4375 / 2))
        cut = (as_of.to_period("M") - back).end_time.normalize()
        if back < 1 or not first < cut < as_of:
            days = (as_of - first).days + 1
            return ProjectionCheck(pd.DataFrame(columns=columns), pd.Series(dtype=object),
                                   f"No projection to check: the history ({days:,} day{'' if days == 1 else 's'}) "
                                   "is too short to cut into a period to fit on and a later one to compare with.")
    cut = pd.Timestamp(cut).normalize()
    if not first <= cut < as_of:
        raise ValueError(f"`cut` must fall inside the history, before `as_of` ({as_of.date()}), but {cut.date()} "
                         "was passed.")
    before = orders[orders["order_date"] <= cut]
    if model is not None and not isinstance(model, tuple):
        raise TypeError("`model` must be None or a fitted (purchase model, Gamma-Gamma) pair: a prediction made on "
                        f"all the data has seen the period it would be checked on; {type(model).__name__!r} was "
                        "passed.")
    resolved, why = _resolve(before, model, as_of=cut, margin=margin, time_unit=time_unit)
    if resolved is None:
        return ProjectionCheck(pd.DataFrame(columns=columns), pd.Series(dtype=object),
                               f"No projection to check: at the cut ({cut.date()}) {why}")
    purchase, spend, name, rate, actual_margin, _ = resolved
    facts = first_order_attributes(before, as_of=cut)
    customers = customer_summary(before, as_of=cut, time_unit=purchase.time_unit_, warn=False)
    sizes = facts.groupby("cohort").size()
    at_cut = _value_to_date(orders, facts, cut, actual_margin)
    future = _future_value(purchase, spend, customers, facts["cohort"], cut, pd.DatetimeIndex([as_of]))
    projected = at_cut + rate * future[as_of] / sizes
    actual = _value_to_date(orders, facts, as_of, actual_margin)
    table = pd.DataFrame({"customers": sizes, "value_at_cut": at_cut, "projected": projected, "actual": actual})
    table.index.name = "cohort"
    table["error"] = table["projected"] - table["actual"]
    table["error_pct"] = (table["error"] / table["actual"]).where(table["actual"] > 0)
    added = table["actual"] - table["value_at_cut"]
    table["increment_error_pct"] = (table["error"] / added).where(added > 0)  # NaN: nothing was added after the cut
    totals = table[["value_at_cut", "projected", "actual"]].mul(table["customers"], axis=0).sum()
    overall = pd.Series({
        "cohorts": len(table), "customers": int(sizes.sum()), "mae": float(table["error"].abs().mean()),
        "weighted_mae": float(np.average(table["error"].abs(), weights=table["customers"])),
        "error_pct": float(totals["projected"] / totals["actual"] - 1),
        "increment_error_pct": float((totals["projected"] - totals["actual"])
                                     / (totals["actual"] - totals["value_at_cut"])),
        "cut": cut.date().isoformat(), "as_of": as_of.date().isoformat(),
        "months": (as_of - cut).days / 30.4375, "model": name, "currency": store_currency(orders),
    }, dtype=object)
    return ProjectionCheck(table, overall)


def describe_projection(table: pd.DataFrame, *, currency: str = "USD") -> str:
    """Where the newest cohort with a full month behind it stands, and where the model projects it at each
    milestone (Markdown).

    Examples
    --------
    >>> table = pd.DataFrame({"cohort": pd.PeriodIndex(["2025-05"] * 3, freq="M"),
    ...     "months_since_first_order": [0, 6, 12], "customers": 10, "cumulative_total": 0.0,
    ...     "cumulative_per_customer": [30.0, 48.0, 60.0], "projected": [False, True, True]})
    >>> table.attrs["milestones"] = [6, 12]
    >>> print(describe_projection(table))
    The 2025-05 cohort (10 customers) has brought **\\$30** per customer so far; the model projects **\\$48** by
    month 6 and **\\$60** by month 12.
    """
    from ..formatting import markdown_money

    if table.attrs.get("skipped"):
        return table.attrs["skipped"]
    actual = table[~table["projected"]]
    if actual.empty:
        return "No cohort has a complete month yet."
    cohort = actual["cohort"].max()
    rows = table[table["cohort"] == cohort].set_index("months_since_first_order")
    to_date = rows.loc[~rows["projected"], "cumulative_per_customer"].iloc[-1]
    marks = [m for m in table.attrs.get("milestones", []) if m in rows.index and rows.loc[m, "projected"]]
    said = [f"**{markdown_money(rows.loc[m, 'cumulative_per_customer'], currency)}** by month {m}" for m in marks]
    text = (f"The {cohort} cohort ({rows['customers'].iloc[0]:,} customers) has brought "
            f"**{markdown_money(to_date, currency)}** per customer so far")
    if not said:
        return text + "."
    return text + "; the model projects " + (", ".join(said[:-1]) + " and " + said[-1] if len(said) > 1
                                             else said[0]) + "."
