"""The manager's summary that opens a run's index: headline changes, three charts and five plain sentences.

Everything here is computed from public clvlib calls on the run's orders (the same calls the pages make, so the
summary and the pages agree): :func:`clvlib.store_figures` through the headline, :func:`clvlib.repeat_split`,
:func:`clvlib.segments_between`, :func:`clvlib.channel_payback`. This module only words and draws them.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..formatting import format_money, format_pct

__all__ = ["previous_run", "manager_summary", "headline_changes", "COMPARE_DAYS"]

#: With no earlier run to compare with, segments are compared with this many days before the as-of date (the
#: RFM page's default too: a quarter).
COMPARE_DAYS = 91


def previous_run(root: str | os.PathLike, as_of: str, data_label: str) -> dict[str, Any] | None:
    """The latest complete run under ``root`` before ``as_of`` on the same data, as ``{"as_of", "folder",
    "headline"}``; None when there is none."""
    best = None
    for path in Path(root).glob("*/run.json"):
        if path.parent.name.startswith("."):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a folder that is not a readable run is no comparison
        if (record.get("status") == "failed" or record.get("data", {}).get("label") != data_label
                or not str(record.get("as_of", "")) < as_of):
            continue
        if best is None or record["as_of"] > best["as_of"]:
            best = {"as_of": record["as_of"], "folder": path.parent.name, "headline": record.get("headline", {})}
    return best


def headline_changes(headline: dict, previous: dict | None) -> dict[str, float]:
    """Relative change of each numeric headline figure since the previous run (shares: change in points)."""
    if not previous:
        return {}
    changes = {}
    for key, now in headline.items():
        before = previous.get("headline", {}).get(key)
        if not isinstance(now, (int, float)) or not isinstance(before, (int, float)) or isinstance(now, bool):
            continue
        if key in ("repeat_rate", "top20_share"):
            changes[key] = float(now) - float(before)  # points, not a ratio of ratios
        elif before:
            changes[key] = float(now) / float(before) - 1.0
    return changes


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _charts(orders: pd.DataFrame, customers: pd.DataFrame, segments: pd.DataFrame | None, *, currency: str,
            as_of) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    import clvlib
    from .. import plots

    charts = []
    fig = Figure(figsize=(5.6, 4.2), dpi=100, layout="constrained")
    plots.plot_revenue_by_month(clvlib.revenue_by_month(orders, as_of=as_of), currency=currency, ax=fig.subplots())
    charts.append(("Revenue by month", _png(fig)))
    if len(customers) and customers["total_revenue"].sum() > 0:
        fig = Figure(figsize=(5.6, 4.2), dpi=100, layout="constrained")
        plots.plot_lorenz_curve(clvlib.lorenz_curve(customers), ax=fig.subplots())
        charts.append(("Revenue concentration", _png(fig)))
    if segments is not None and len(segments):
        summary = clvlib.segment_summary(segments, scheme="classic")
        summary = summary[summary["customers"] > 0]
        fig = Figure(figsize=(5.6, 4.2), dpi=100, layout="constrained")
        plots.plot_segment_sizes(summary, currency=currency, ax=fig.subplots())
        charts.append(("RFM segments", _png(fig)))
    return charts


def _movement_sentence(migration, since: pd.Timestamp) -> str | None:
    order = list(migration.matrix.columns)
    flows = migration.flows
    earlier = flows[flows["moved"] & flows["from"].isin(order) & flows["to"].isin(order)]
    if earlier.empty:
        return None
    # Segments are listed best first: a move to a later one is a slip, and the largest slip is what to act on.
    down = earlier[[order.index(t) > order.index(f) for f, t in zip(earlier["from"], earlier["to"])]]
    move = (down if len(down) else earlier).iloc[0]
    k = int(move["customers"])
    verb = "slipped" if len(down) else "moved"
    return (f"Since {since:%d %b %Y}, {k:,} {move['from']} {verb} to {move['to']}: "
            + ("win them back before they drift further (04 · RFM lists them)." if len(down)
               else "see 04 · RFM for who moved where."))


def _payback_sentence(orders, spend, *, margin, as_of) -> str | None:
    import clvlib

    if spend is None or (hasattr(spend, "empty") and spend.empty):
        return None
    curves = clvlib.channel_payback(orders, spend, margin=margin, as_of=as_of)
    if curves.empty:
        return None
    table = clvlib.cac_payback(curves)
    table = table[table["payback"] != "no CAC"]
    if table.empty:
        return None
    def when(row) -> str:
        months = row["payback_months"]
        if pd.isna(months):
            return str(row["payback"])  # "not yet (after 5 months)"
        return "within the first month" if months == 0 else f"in {int(months)} month{'s' if months != 1 else ''}"

    table = table.sort_values("payback_months", na_position="last")
    phrases = {}
    for group, row in table.iterrows():  # channels with the same payback share one phrase
        phrases.setdefault(when(row), []).append(str(group).replace("_", " "))
    parts = []
    for phrase, names in phrases.items():
        if phrase.startswith("not yet"):  # "not yet for paid social (after 5 months)"
            parts.append(f"not yet for {_join(names)}{phrase[len('not yet'):]}")
        else:
            parts.append(f"{phrase} for {_join(names)}")
    return ("Acquisition spend pays back " + ", and ".join(parts)
            + ": shift budget towards the channels that pay back soonest (05 · Acquisition).")


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _revenue_sentence(orders, *, currency: str, as_of) -> str | None:
    import clvlib

    monthly = clvlib.revenue_by_month(orders, as_of=as_of)
    complete = monthly.loc[monthly["complete"], "revenue"]
    if len(complete) < 2:
        return None
    last, before = complete.iloc[-1], complete.iloc[-2]
    change = (last / before - 1.0) if before else None
    text = f"Revenue in {complete.index[-1]:%B %Y}: {format_money(last, currency)}"
    if change is not None:
        text += f", {'up' if change >= 0 else 'down'} {format_pct(abs(change))} on {complete.index[-2]:%B}"
    return text + "."


def manager_summary(orders: pd.DataFrame, *, as_of: str, currency: str, headline: dict, since=None,
                    marketing_spend: pd.DataFrame | None = None, margin: float | None = None,
                    charts: bool = True) -> dict[str, Any]:
    """The summary's sentences and charts for one run.

    Parameters
    ----------
    orders : DataFrame
        The run's orders.
    as_of : str
        The run's as-of date.
    currency : str
        The run's currency.
    headline : dict
        :func:`clvlib.reporting.index.headline_figures`'s figures (the CLV sentence quotes them).
    since : date-like, optional
        The date segments are compared with: the previous run's as-of date; default :data:`COMPARE_DAYS` before.
    marketing_spend : DataFrame, optional
        :func:`clvlib.load_marketing_spend`'s table; the payback sentence needs it.
    margin : float, optional
        Gross margin rate for payback (:func:`clvlib.margin_rate`'s default when None).
    charts : bool
        Draw the three charts (revenue by month, Lorenz curve, segments).

    Returns
    -------
    dict with ``since`` (ISO date), ``sentences`` (five at most, plain text, each from a figure) and
    ``charts`` (``[(title, PNG data URI)]``).
    """
    import clvlib

    from .html import format_figure

    def share(value: float) -> str:  # as the cards write it, so a figure reads the same in both
        return format_figure(value, "share")

    as_of_ts = pd.Timestamp(as_of)
    customers = clvlib.customer_summary(orders, as_of=as_of, warn=False)
    since_ts = pd.Timestamp(since) if since is not None else as_of_ts - pd.Timedelta(days=COMPARE_DAYS)
    sentences = []
    if len(customers):
        shares = clvlib.customer_shares(customers, fraction=0.2)
        split = clvlib.repeat_split(customers)
        repeat_revenue = float(split.loc["repeat", "revenue_share"]) if "repeat" in split.index else 0.0
        sentences.append(f"The top 20 % of customers bring {share(shares['top_share'])} of revenue: "
                         "they are the ones to keep (03 · Pareto).")
        sentences.append(f"{share(shares['repeat_rate'])} of customers have ordered more than once, and they "
                         f"bring {share(repeat_revenue)} of revenue.")
    if headline.get("clv_per_customer") is not None:
        sentences.append(f"A customer is worth {format_money(headline['clv_per_customer'], currency)} "
                         f"({headline.get('clv_label')}).")
    segments = _current_segments(customers) if len(customers) else None
    if len(customers) and since_ts > orders["order_date"].min():
        moved = _movement_sentence(clvlib.segments_between(orders, since=since_ts, as_of=as_of), since_ts)
        if moved:
            sentences.append(moved)
    money = _payback_sentence(orders, marketing_spend, margin=margin, as_of=as_of_ts) or _revenue_sentence(
        orders, currency=currency, as_of=as_of_ts)
    if money:
        sentences.append(money)
    return {"since": since_ts.date().isoformat(), "sentences": sentences[:5],
            "charts": _charts(orders, customers, segments, currency=currency, as_of=as_of_ts) if charts else []}


def _current_segments(customers: pd.DataFrame) -> pd.DataFrame:
    """Classic RFM segments at the run's date, with each customer's revenue (as 04 · RFM scores them)."""
    import warnings

    import clvlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # score notes are the RFM page's to state
        scores = clvlib.rfm_scores(clvlib.rfm_table(customers))
    segments = clvlib.rfm_segments(scores, scheme="classic")
    return segments.assign(total_revenue=customers["total_revenue"].reindex(segments.index))
