"""Subscriptions: contractual cohorts, their survivors per period, and the demo store's subscribers.

A subscription business sees each subscriber renew or cancel once per period, so a cohort (the subscribers who
started in the same month or year) is described by how many of its members are still subscribed after 0, 1, 2, …
periods: the input of the shifted-beta-geometric model (:class:`clvlib.ShiftedBetaGeometric`).

* :func:`load_subscriptions`: the subscription table that goes with the orders (the demo store's, or a file);
* :func:`subscription_cohorts`: a subscription table (or the renewal payments) → survivors per cohort and period;
* :func:`pooled_survivors`: the cohorts observed for at least n periods, added up (one survivors curve to fit);
* :func:`describe_retention`: a fitted sBG model in words, with expected lifetime, DERL and what to do;
* :func:`make_demo_subscriptions`: how the demo store's subscription table was made.

Periods are calendar periods: the t-th renewal of a subscription that started on 31 January is due on 31 March
(28 February, 31 March, … for a start on the 31st, as pandas' ``DateOffset`` counts). A subscriber has *survived*
period t when the subscription ends after its t-th renewal date (or has not ended). A cohort is counted up to the
last period that every member has reached by ``as_of``, so no survivor count mixes observed and unobserved
members.

This module imports pandas and numpy only (the model lives in :mod:`clvlib.models.sbg`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._validation import check_argument, validate_columns
from .errors import DataError

__all__ = ["load_subscriptions", "subscription_cohorts", "pooled_survivors", "describe_retention",
           "make_demo_subscriptions", "DEMO_SUBSCRIPTIONS", "DEMO_SUBSCRIPTION_PARAMS", "DEMO_SUBSCRIPTION_FEE"]

PERIODS = {"M": "months", "Y": "years"}
_COHORTS = ("M", "Q", "Y")

#: The demo store's subscription table (see :func:`make_demo_subscriptions`).
DEMO_SUBSCRIPTIONS = Path(__file__).resolve().parent.parent / "data" / "demo_store" / "subscriptions" / \
    "subscriptions.csv"
#: True sBG parameters of the demo subscribers' monthly cancellation probability θ ~ Beta(α, β).
DEMO_SUBSCRIPTION_PARAMS = {"alpha": 1.6, "beta": 9.0}
#: The demo store's monthly subscription fee (USD); the category's gross margin is 70 %.
DEMO_SUBSCRIPTION_FEE = 19.0
_DEMO_END = pd.Timestamp("2025-06-30")  # the demo store's last day (its observation ends 2025-07-01 00:00)
_DEMO_STREAM = 18  # the random stream of the subscriptions: default_rng([seed, 18]), apart from the store's draws


def _read(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"customer_id": "str"}, parse_dates=["start", "end"])
    table.attrs["source"] = path.name
    return table


def load_subscriptions(source: str | Path | pd.DataFrame | None = None, *,
                       data: str | Path | pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The subscription table that goes with the orders of :func:`clvlib.load_orders`: the notebooks' one way in.

    Parameters
    ----------
    source : str, Path, DataFrame or None
        A subscription file (CSV with ``customer_id``, ``start`` and ``end``, the end empty while the subscription
        runs; a relative path is taken relative to the project folder) or table.
    data : str, Path, DataFrame or None
        The ``data`` the orders were loaded with. When ``source`` is None: None (the demo store) reads the demo
        store's subscription table; an export of your own has none, and None is returned.

    Returns
    -------
    DataFrame (``customer_id``, ``start``, ``end`` and any other columns of the file) or None.

    Examples
    --------
    >>> load_subscriptions(data="my_orders.csv") is None
    True
    >>> load_subscriptions().columns.tolist()
    ['customer_id', 'plan', 'start', 'end', 'fee']
    """
    from .config import NOT_A_CLONE, project_path

    if source is None:
        if data is not None:
            return None
        if not DEMO_SUBSCRIPTIONS.is_file():
            raise FileNotFoundError(NOT_A_CLONE)
        return _read(DEMO_SUBSCRIPTIONS)
    if isinstance(source, (str, os.PathLike)):
        return _read(project_path(source))
    return source.copy()


def _dates(table: pd.DataFrame, column: str, source: str) -> pd.Series:
    values = pd.to_datetime(table[column], errors="coerce")
    bad = values.isna() & table[column].notna()
    if bad.any():
        raise DataError(f"{source}: column `{column}` has values that are not dates, e.g. "
                        f"{table.loc[bad, column].head(3).tolist()}.")
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values.dt.normalize()


def _spans(table: pd.DataFrame, period: str, source: str) -> tuple[pd.Series, pd.Series]:
    """(start, end) per subscription, from start/end columns or from renewal payments (``order_date``)."""
    if "start" in table.columns:
        validate_columns(table, ["customer_id", "start"], source=source, what="subscription table")
        start = _dates(table, "start", source)
        end = _dates(table, "end", source) if "end" in table.columns else pd.Series(pd.NaT, index=table.index)
        if start.isna().any():
            raise DataError(f"{source}: {int(start.isna().sum())} subscription(s) have no `start` date, e.g. "
                            f"customers {table.loc[start.isna(), 'customer_id'].head(3).tolist()}.")
        bad = end.notna() & (end <= start)
        if bad.any():
            raise DataError(f"{source}: `end` must be after `start`, but {int(bad.sum())} subscription(s) end on or "
                            f"before they start:\n{table.loc[bad, ['customer_id', 'start', 'end']].head(3)}")
        return start, end
    validate_columns(table, ["customer_id", "order_date"], source=source,
                     what="subscription table (customer_id, start, end) or renewal payments (customer_id, order_date)")
    paid = _dates(table, "order_date", source).groupby(table["customer_id"])
    start, last = paid.min(), paid.max()
    return start, _add_periods(last, 1, period)


def _add_periods(dates: pd.Series, n, period: str) -> pd.Series:
    """``dates`` plus ``n`` calendar months or years (the day clipped to the month's length, as DateOffset does)."""
    months = np.asarray(n, dtype=np.int64) * (12 if period == "Y" else 1)
    months = np.broadcast_to(months, dates.shape)
    index = dates.dt.year.to_numpy() * 12 + dates.dt.month.to_numpy() - 1 + months
    first = pd.to_datetime({"year": index // 12, "month": index % 12 + 1, "day": 1})
    last_day = first.dt.days_in_month.to_numpy()
    day = np.minimum(dates.dt.day.to_numpy(), last_day)
    return pd.Series(first.to_numpy() + (day - 1).astype("timedelta64[D]"), index=dates.index)


def _periods_before(start: pd.Series, moment: pd.Series, period: str, *, strict: bool) -> np.ndarray:
    """The largest t with start + t periods < moment (``strict``) or <= moment; -1 when there is none."""
    step = 12 if period == "Y" else 1
    gap = (moment.dt.year - start.dt.year).to_numpy() * 12 + (moment.dt.month - start.dt.month).to_numpy()
    t = gap // step
    reached = _add_periods(start, t, period)
    after = (reached >= moment) if strict else (reached > moment)
    return t - after.to_numpy().astype(np.int64)


NO_SUBSCRIPTIONS = ("**No subscriptions in these data:** there is no subscription table (customer, start and end "
                    "of each plan), so there are no contractual cohorts to follow.")


def _skipped(reason: str, period: str, cohort: str) -> pd.DataFrame:
    table = pd.DataFrame(index=pd.Index([], name="cohort", dtype="str"), columns=pd.Index([], name="period"),
                         dtype=np.float64)
    table.attrs.update(period=period, cohort=cohort, skipped=reason)
    return table


def subscription_cohorts(subscriptions: pd.DataFrame | None, *, period: str = "M", cohort: str | None = None,
                         as_of=None) -> pd.DataFrame:
    """Survivors per cohort and period: how many subscribers of each start cohort are still there after t periods.

    Parameters
    ----------
    subscriptions : DataFrame or None
        Either one row per subscription, with ``customer_id``, ``start`` and ``end`` (the end missing while it
        runs; without an ``end`` column every subscription runs), or the renewal payments, one row per payment
        with ``customer_id`` and ``order_date`` (e.g. the orders of a subscription product). From payments, a
        subscription starts at the first payment and ends one period after the last, or runs when that is after
        ``as_of`` (a gap in the payments is not a cancellation). None (no subscription table, as
        :func:`load_subscriptions` returns for an export of your own) gives an empty table whose
        ``attrs["skipped"]`` says so.
    period : {"M", "Y"}
        The renewal period: monthly or yearly plans.
    cohort : {"M", "Q", "Y"}, optional
        Subscribers are grouped by the calendar month, quarter or year they started in; by default ``period``.
    as_of : date-like, optional
        The end of the observation; by default the latest start, end or payment date in the table. Subscriptions
        (payments) after it are left out and counted in ``attrs["after_as_of"]``; an end after it is not known yet
        at ``as_of``, so the subscription counts as running.

    Returns
    -------
    DataFrame indexed by ``cohort`` (e.g. "2024-01"), one column per period 0, 1, … (``columns.name`` is
    ``period``): the survivors, period 0 being the cohort's size; missing where not every member has reached the
    period by ``as_of``. ``attrs``: ``period``, ``cohort``, ``as_of``, ``subscriptions``, ``active`` (still
    running at ``as_of``), ``after_as_of``; or an empty table with ``attrs["skipped"]`` (why) when there is no
    subscription table or no subscription started by ``as_of``.

    Examples
    --------
    >>> table = pd.DataFrame({"customer_id": ["a", "b", "c"], "start": ["2024-01-05", "2024-01-20", "2024-02-01"],
    ...                       "end": ["2024-02-10", None, "2024-03-01"]})
    >>> subscription_cohorts(table, as_of="2024-04-30")
    period     0    1    2    3
    cohort
    2024-01  2.0  2.0  1.0  1.0
    2024-02  1.0  0.0  0.0  NaN
    """
    check_argument("period", list(PERIODS), period)
    cohort = period if cohort is None else cohort
    check_argument("cohort", list(_COHORTS), cohort)
    if period == "Y" and cohort != "Y":
        raise ValueError("Yearly plans are grouped by the year they started in: pass `cohort='Y'` (or leave it out).")
    if subscriptions is None:
        return _skipped(NO_SUBSCRIPTIONS, period, cohort)
    source = subscriptions.attrs.get("source", "subscriptions")
    rows = len(subscriptions)
    if as_of is not None and "start" not in subscriptions.columns and "order_date" in subscriptions.columns:
        # Renewal payments after as_of are not known at as_of.
        subscriptions = subscriptions[_dates(subscriptions, "order_date", source) <= pd.Timestamp(as_of).normalize()]
    start, end = _spans(subscriptions, period, source)
    if as_of is not None:
        as_of_day = pd.Timestamp(as_of).normalize()
    elif "start" in subscriptions.columns:
        as_of_day = max(start.max(), end.max()) if end.notna().any() else start.max()
    else:  # renewal payments: the last payment
        as_of_day = _dates(subscriptions, "order_date", source).max()
    later = (start > as_of_day).to_numpy()
    after = int(later.sum()) if "start" in subscriptions.columns else rows - len(subscriptions)
    start, end = start[~later], end[~later]
    if len(start) == 0:
        return _skipped(f"**No subscriptions yet:** none of the {rows:,} subscriptions started by "
                        f"{as_of_day:%Y-%m-%d}, so there are no cohorts to follow.", period, cohort)
    ended = end.notna() & (end <= as_of_day)
    # k: renewals survived (periods completed before the end); a subscription still running survives them all.
    k = np.where(ended, _periods_before(start, end.where(ended, start + pd.Timedelta(days=1)), period, strict=True),
                 np.iinfo(np.int64).max)
    reached = _periods_before(start, pd.Series(as_of_day, index=start.index), period, strict=False)
    labels = start.dt.to_period(cohort).astype("str").to_numpy()
    frame = pd.DataFrame({"cohort": labels, "k": k, "reached": reached})
    observed = frame.groupby("cohort")["reached"].min()
    n_periods = int(observed.max())
    periods = np.arange(n_periods + 1)
    survivors = frame.groupby("cohort")["k"].apply(lambda ks: (ks.to_numpy()[:, None] >= periods).sum(axis=0))
    table = pd.DataFrame(np.vstack(survivors.to_numpy()).astype(np.float64), index=survivors.index,
                         columns=pd.Index(periods, name="period"))
    table = table.where(periods[None, :] <= observed.reindex(table.index).to_numpy()[:, None])
    table.index.name = "cohort"
    table.attrs.update(period=period, cohort=cohort, as_of=as_of_day.date().isoformat(),
                       subscriptions=int(len(start)), active=int((~ended).sum()), after_as_of=after)
    return table


def pooled_survivors(cohorts: pd.DataFrame, *, n_periods: int | None = None) -> pd.Series:
    """One survivors curve: the cohorts observed for at least ``n_periods`` periods, added up period by period.

    Cohorts share one sBG model when subscribers do not change with the start date, and the sum of cohorts is then
    a cohort of the model too. Only cohorts observed for the whole ``n_periods`` are added (a cohort observed for
    fewer would lower the later survivors), so the choice trades periods for subscribers.

    Parameters
    ----------
    cohorts : DataFrame
        Output of :func:`subscription_cohorts`.
    n_periods : int, optional
        How many periods after the start to follow; by default the most periods for which the cohorts observed
        that long still hold at least half the subscribers (and at least 2).

    Returns
    -------
    Series ``survivors`` indexed by ``period`` 0…n_periods, for :meth:`clvlib.ShiftedBetaGeometric.fit`;
    ``attrs``: ``period``, ``cohorts`` (the cohorts added), ``subscribers``, ``share`` (of all subscribers). An
    empty Series whose ``attrs["skipped"]`` says why when the cohorts table was skipped or no cohort has been
    observed for ``n_periods`` (by default 2) periods.

    Examples
    --------
    >>> table = pd.DataFrame({"customer_id": list("abcd"), "start": ["2024-01-05", "2024-01-20", "2024-02-01",
    ...                       "2024-03-02"], "end": ["2024-02-10", None, "2024-03-01", None]})
    >>> pooled_survivors(subscription_cohorts(table, as_of="2024-06-30"), n_periods=3).tolist()
    [4.0, 3.0, 2.0, 2.0]
    """
    period = cohorts.attrs.get("period", "M")
    if n_periods is not None and (isinstance(n_periods, bool) or int(n_periods) != n_periods or n_periods < 2):
        raise ValueError(f"`n_periods` must be a whole number >= 2, but {n_periods!r} was passed.")

    def skipped(reason: str) -> pd.Series:
        empty = pd.Series([], index=pd.Index([], name="period", dtype=np.int64), name="survivors", dtype=np.float64)
        empty.attrs.update(period=period, skipped=reason)
        return empty

    if cohorts.attrs.get("skipped"):
        return skipped(cohorts.attrs["skipped"])
    if cohorts.empty or 0 not in cohorts.columns:
        raise DataError("cohorts: the table has no cohorts; build it with clvlib.subscription_cohorts.")
    observed = cohorts.notna().sum(axis=1) - 1  # periods observed after period 0
    sizes = cohorts[0]
    total = float(sizes.sum())
    if n_periods is None:
        held = np.array([sizes[observed >= n].sum() for n in range(int(observed.max()) + 1)]) / total
        n_periods = max(2, int(np.flatnonzero(held >= 0.5).max()))
    n_periods = int(n_periods)
    chosen = observed.index[observed >= n_periods]
    if len(chosen) == 0:
        return skipped(f"**Too early for a retention model:** no cohort has been followed for {n_periods} "
                       f"{PERIODS[period]} yet (the longest: {int(observed.max())}); the sBG model needs at least "
                       "two renewals.")
    survivors = cohorts.loc[chosen, list(range(n_periods + 1))].sum(axis=0)
    survivors = pd.Series(survivors.to_numpy(), index=pd.Index(range(n_periods + 1), name="period"),
                          name="survivors")
    survivors.attrs.update(period=cohorts.attrs.get("period", "M"), cohorts=[str(c) for c in chosen],
                           subscribers=int(survivors.iloc[0]), share=float(survivors.iloc[0] / total))
    return survivors


def describe_retention(model, *, period: str = "M", fee: float | pd.Series | None = None, margin: float = 1.0,
                       annual_discount_rate: float = 0.10, currency: str = "USD") -> str:
    """A fitted :class:`~clvlib.ShiftedBetaGeometric` in words: retention, expected lifetime, DERL, what to do.

    Parameters
    ----------
    model : ShiftedBetaGeometric
        Fitted on survivors per ``period``.
    period : {"M", "Y"}
        The renewal period the model was fitted in.
    fee : float or Series, optional
        The fee per period (a Series, e.g. the subscription table's ``fee`` column: its median); with it, DERL is
        also given as money (× ``margin``).
    margin : float
        Gross margin rate of the fee.
    annual_discount_rate : float
        Yearly rate at which future payments are discounted (per period: (1 + rate)^(1/12) − 1 for months).
    currency : str

    Returns
    -------
    str
        One Markdown paragraph (money escaped).
    """
    from .formatting import format_pct, markdown_money

    check_argument("period", list(PERIODS), period)
    if isinstance(fee, pd.Series):
        fee = float(fee.median()) if fee.notna().any() else None
    unit = PERIODS[period]
    one = unit[:-1]
    alpha, beta = model.params_.to_numpy()
    year = 12 if period == "M" else 1  # renewals in a year
    rates = model.retention_rates(max(year, 5))
    rate = (1 + annual_discount_rate) ** (1 / year) - 1
    derl_new, derl_kept = model.derl(rate), model.derl(rate, renewals=year)
    life = model.expected_lifetime()
    lifetime = (f"a new subscriber stays **{life:.1f} {unit}** on average" if np.isfinite(life) else
                "the average lifetime is not finite (a few subscribers practically never cancel), so count on the "
                "discounted figures below")
    text = (f"Retention (sBG, α = {alpha:.2f}, β = {beta:.2f}): {lifetime}. **{format_pct(rates.iloc[0])}** renew "
            f"at their first renewal and **{format_pct(rates.iloc[-1])}** at the {len(rates)}th, because the "
            f"subscribers most likely to cancel leave first. Discounted at {format_pct(annual_discount_rate)} a "
            f"year, a new subscriber is expected to make **{derl_new:.1f}** further payments after the first "
            f"(DERL), and one who has renewed {year} time{'s' if year > 1 else ''} **{derl_kept:.1f}**")
    if fee is not None:
        value = fee * margin
        text += (f"; at {markdown_money(fee, currency)} a {one} and a {format_pct(margin)} margin, a new subscriber "
                 f"is worth **{markdown_money((1 + derl_new) * value, currency)}** of margin (the first payment "
                 f"included) and the one who stayed **{markdown_money(derl_kept * value, currency)}** more")
    return (text + ". **What to do:** spend less than a new subscriber is worth to win one, and put retention "
            "effort into the first renewals, where most cancellations happen; subscribers who have stayed are "
            "the most valuable, so keep them without discounts they do not need.")


def make_demo_subscriptions(orders: pd.DataFrame | None = None, *, seed: int | None = None) -> pd.DataFrame:
    """The demo store's subscription table: its subscription customers, with sBG lifetimes of known α and β.

    Derivation (deterministic): every customer whose first order (in the cleaned orders, by date then order id) is
    in the ``subscriptions`` category starts a monthly plan on that day, at a fee of ``DEMO_SUBSCRIPTION_FEE``.
    Each subscriber draws a monthly cancellation probability θ ~ Beta(α, β) with ``DEMO_SUBSCRIPTION_PARAMS``
    (α = 1.6, β = 9.0) and cancels at the end of month T ~ Geometric(θ) (T = 1, 2, …): the subscription ends on its
    T-th renewal date, or runs if that is after the store's last day (2025-06-30). The draws come from
    ``numpy.random.default_rng([seed, 18])``, a stream apart from the store's own simulation, so the orders are
    unchanged. The lifetimes follow the sBG model exactly; they are not tied to the subscribers' orders.

    Parameters
    ----------
    orders : DataFrame, optional
        The demo store's cleaned orders (:func:`clvlib.load_orders`); read when omitted.
    seed : int, optional
        The demo store's seed (``DEMO_STORE_SEED``) by default.

    Returns
    -------
    DataFrame with ``customer_id``, ``plan`` ("monthly"), ``start``, ``end`` (NaT while the plan runs) and
    ``fee``, sorted by start and customer: the table in ``data/demo_store/subscriptions/subscriptions.csv``.
    """
    from .datasets import DEMO_STORE_SEED, load_orders

    orders = load_orders() if orders is None else orders
    seed = DEMO_STORE_SEED if seed is None else int(seed)
    known = orders[orders["customer_id"].notna()].sort_values(["order_date", "order_id"], kind="stable")
    first = known.drop_duplicates("customer_id")
    first = first[first["product"] == "subscriptions"]
    start = first["order_date"].dt.normalize().reset_index(drop=True)
    rng = np.random.default_rng([seed, _DEMO_STREAM])
    theta = rng.beta(DEMO_SUBSCRIPTION_PARAMS["alpha"], DEMO_SUBSCRIPTION_PARAMS["beta"], len(start))
    months = rng.geometric(np.clip(theta, 1e-300, 1.0))
    end = _add_periods(start, np.minimum(months, 12 * 200), "M")
    table = pd.DataFrame({
        "customer_id": first["customer_id"].astype("str").to_numpy(),
        "plan": "monthly",
        "start": start,
        "end": end.where(end <= _DEMO_END),
        "fee": DEMO_SUBSCRIPTION_FEE,
    })
    return table.sort_values(["start", "customer_id"], kind="stable", ignore_index=True)
