"""The playbook: each scheme's rules in words, what each segment means and what to do about it, and the
per-segment summary for reports.

Descriptions and actions are data (``PLAYBOOK[scheme][segment]``). A user scheme can carry its own by giving its
rules ``description`` and ``actions`` keys; those win over the built-in text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import customer_indexed, validate_columns
from ..errors import DataError
from ..formatting import escape_markdown, format_money, format_pct, markdown_money
from .segments import REPEAT_ORDERS, SCHEMES, _allowed, _assign, _domains, _score_features, load_scheme, validate_scheme

__all__ = ["PLAYBOOK", "scheme_table", "scheme_grid", "segment_playbook", "segment_summary", "segment_headlines"]

_FEATURE_LABELS = {"r": "R", "f": "F", "m": "M", "fm": "FM", "total": "R+F+M", "code": "code"}

_WIN_BACK = "win-back offer"
_SUPPRESS = "suppress from paid audiences and lookalike seeds"

#: scheme name → segment → {"description": str, "actions": [str, ...]}
PLAYBOOK: dict[str, dict[str, dict]] = {
    "classic": {
        "Champions": {
            "description": "Bought recently, buy often and spend the most: the store's best customers.",
            "actions": ["reward them (VIP tier, early access to new products)", "ask for reviews and referrals",
                        "no discounts needed: protect the margin"]},
        "Loyal Customers": {
            "description": "Buy often and spend well, though not in the last few weeks.",
            "actions": ["loyalty programme", "subscription offer", "referral programme", "cross-sell"]},
        "Potential Loyalists": {
            "description": "Recent customers with average frequency and spend, who could become loyal.",
            "actions": ["membership or loyalty programme", "recommend related products",
                        "second-order incentive"]},
        "New Customers": {
            "description": "Bought very recently, for the first time and little: just acquired.",
            "actions": ["welcome flow and onboarding", "first-repeat-order discount"]},
        "Promising": {
            "description": "Recent buyers with few orders and little spend, a little past their first weeks.",
            "actions": ["build awareness of the range", "free shipping or a trial on a second order"]},
        "Need Attention": {
            "description": "Average recency, frequency and spend: drifting, not yet gone.",
            "actions": ["limited-time offer", "recommendations from their past purchases"]},
        "About to Sleep": {
            "description": "Below-average recency, few orders, little spend: about to lapse.",
            "actions": ["share bestsellers and news", "discount on categories they bought", "reconnect by email"]},
        "At Risk": {
            "description": "Bought often and spent well, but a long time ago.",
            "actions": [_WIN_BACK, "personalised new products", "renewal or replenishment reminder"]},
        "Can't Lose Them": {
            "description": "Among the biggest and most frequent buyers, yet gone quiet for a long time.",
            "actions": [f"personal {_WIN_BACK}", "personalised new products", "ask what went wrong (survey or call)"]},
        "Hibernating": {
            "description": "Last bought long ago, few orders and low spend.",
            "actions": ["relevant products and a special offer", "low-cost channels only"]},
        "Lost": {
            "description": "Lowest recency, frequency and spend: most likely gone for good.",
            "actions": [_SUPPRESS, "a review request", "a last offer, then stop spending on them"]},
    },
    "one_to_one": {
        "Newsletter, never bought": {
            "description": "Subscribed to the newsletter but never ordered.",
            "actions": ["first-order discount", "welcome flow"]},
        "Abandoned cart": {
            "description": "Put products in a cart but never completed an order.",
            "actions": ["abandoned-cart follow-ups", "pay-later reminders"]},
        "Loyal": {
            "description": "High value and active: the customers to keep.",
            "actions": ["loyalty programme", "subscription", "referral programme", "cross-sell"]},
        "High frequency, low AOV": {
            "description": "Active repeat buyers (two orders or more) of low value: they come back, with small "
                           "baskets.",
            "actions": ["upsell", "bundles", "prepaid cards"]},
        "At risk": {
            "description": "High value but inactive: valuable customers slipping away.",
            "actions": [_WIN_BACK, "personalised new products"]},
        "Non-target": {
            "description": "Low value, and inactive or with a single order: not worth paid reach.",
            "actions": [_SUPPRESS, "a review request", "a last offer"]},
    },
    "tiers": {
        "Diamond": {
            "description": "Code 555: the most recent, most frequent and biggest spenders, the ideal customer.",
            "actions": ["VIP treatment and personal thanks", "early access", "referral programme"]},
        "Platinum": {
            "description": "Near the top on all three scores.",
            "actions": ["loyalty rewards", "cross-sell", "referral programme"]},
        "Gold": {
            "description": "Solid customers, average or better overall.",
            "actions": ["upsell and bundles", "a nudge towards the next tier"]},
        "Silver": {
            "description": "Below average overall: occasional, small or lapsing.",
            "actions": ["reactivation offer", "personalised recommendations"]},
        "Bronze": {
            "description": "Lowest scores: old, rare and small buyers.",
            "actions": [_SUPPRESS, "a last offer"]},
    },
}


_STATUS_WORDS = {"customer": "customer", "newsletter_signup": "signed up for the newsletter, never ordered",
                 "abandoned_cart": "abandoned a cart, never ordered"}


def _value_label(context: dict) -> str:
    column = context.get("value_column", "monetary")
    if column != "monetary":
        return str(column)
    return {"total": "total revenue", "average": "average order value"}.get(context.get("monetary"), "monetary value")


def _describe_activity(rule: dict, domains: dict, context: dict, currency: str) -> str:
    """A value-activity rule in words, with its thresholds in money and days when ``context`` holds them."""
    where = f"rule {rule['segment']!r}"
    allowed = {f: _allowed(rule.get(f), domains[f], f"{where}, `{f}`") for f in domains}
    threshold, days = context.get("value_threshold"), context.get("active_days")
    label = _value_label(context)
    money = (format_money(float(threshold), currency, cents=True) if threshold is not None and np.isfinite(threshold)
             else "value_threshold (default: the median)")
    days = f"{int(days):,} days" if days is not None else "active_days days (default: 90)"
    parts = []
    if allowed["value"] == {"high"}:
        parts.append(f"{label} ≥ {money}")
    elif allowed["value"] == {"low"}:
        parts.append(f"{label} < {money}")
    if allowed["active"] == {"yes"}:
        parts.append(f"last order within {days}")
    elif allowed["active"] == {"no"}:
        parts.append(f"last order more than {days} ago")
    if allowed["repeat"] == {"yes"}:
        parts.append(f"{REPEAT_ORDERS} or more orders")
    elif allowed["repeat"] == {"no"}:
        parts.append(f"fewer than {REPEAT_ORDERS} orders" if REPEAT_ORDERS != 2 else "a single order")
    status = allowed["status"]
    if status == set(domains["status"]):
        who = "anyone" if parts else "everyone else"
    else:
        who = " or ".join(_STATUS_WORDS[s] for s in domains["status"] if s in status)
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)
    return who + (f" with {listed}" if parts else "")


def _describe(rule: dict, domains: dict) -> str:
    parts = []
    for feature in domains:
        if feature in rule:
            label = _FEATURE_LABELS.get(feature, feature)
            spec = rule[feature]
            text = ", ".join(map(str, spec)) if isinstance(spec, (list, tuple)) else str(spec)
            parts.append(f"{label} {text.replace('-', '–')}" if feature in _FEATURE_LABELS
                         else f"{label} = {text}")
    return " and ".join(parts) or "everyone else"


def scheme_table(scheme, *, segments: pd.DataFrame | None = None, currency: str = "USD") -> pd.DataFrame:
    """The rules of a scheme as a table a reader can check.

    Parameters
    ----------
    scheme : str, Path, dict or DataFrame
        Anything :func:`clvlib.load_scheme` accepts.
    segments : DataFrame, optional
        Value-activity schemes: the :func:`clvlib.rfm_segments` output these rules produced; its ``attrs``
        (``value_threshold``, ``active_days``, ``value_column``, ``monetary``) put the thresholds in the rules, in
        money and days. Without it the rules name the thresholds in words.
    currency : str, default "USD"
        ISO code used to write the value threshold.

    Returns
    -------
    DataFrame, one row per rule: ``segment``, ``priority`` (lower wins where rules overlap), ``rule`` (readable,
    e.g. ``"R 4–5 and FM 4–5"``, or ``"customer with total revenue ≥ $97.78 and last order within 90 days"``) and
    one column per feature the scheme uses (its spec, ``"any"`` where the rule leaves it open). Only a priority a
    user scheme leaves unset is missing.

    Examples
    --------
    >>> scheme_table("tiers")[["segment", "rule"]].head(2)
        segment         rule
    0   Diamond    R+F+M 15
    1  Platinum  R+F+M 12–14
    """
    scheme = load_scheme(scheme)
    domains = _domains(scheme["kind"], scheme["scale"])
    used = [f for f in domains if any(f in r for r in scheme["rules"])]
    context = dict(segments.attrs) if segments is not None else {}
    describe = ((lambda r: _describe_activity(r, domains, context, currency)) if scheme["kind"] == "value_activity"
                else (lambda r: _describe(r, domains)))
    rows = [{"segment": r["segment"], "priority": r.get("priority"), "rule": describe(r),
             **{f: _spec_text(r.get(f)) for f in used}} for r in scheme["rules"]]
    table = pd.DataFrame(rows, columns=["segment", "priority", "rule", *used])
    priority = pd.to_numeric(table["priority"], errors="coerce")
    if (priority.dropna() % 1 == 0).all():  # whole priorities print as integers (unset ones as missing)
        table["priority"] = priority.astype("Int64")
    return table


def _spec_text(spec) -> str:
    if spec is None or (isinstance(spec, str) and spec.strip() in ("", "*", "any")):
        return "any"
    return ", ".join(map(str, spec)) if isinstance(spec, (list, tuple)) else str(spec)


def scheme_grid(scheme="classic", *, bins: int = 5) -> pd.DataFrame:
    """The segment of every R score × FM score cell of a scores scheme (rows: R from ``bins`` down to 1).

    Only meaningful for schemes whose rules use ``r`` and ``fm`` alone (such as ``"classic"``); F = M = FM is
    assumed in each cell.

    Examples
    --------
    >>> scheme_grid("classic").loc[5, 5]
    'Champions'
    """
    scheme = validate_scheme(scheme, bins=bins)
    levels = np.arange(1, bins + 1)
    r, fm = np.meshgrid(levels, levels, indexing="ij")
    features = _score_features(r.ravel(), fm.ravel(), fm.ravel(), bins, scheme["scale"])
    names = _assign(scheme, features)
    grid = pd.DataFrame(names.reshape(bins, bins), index=pd.Index(levels, name="r_score"),
                        columns=pd.Index(levels, name="fm_score"))
    return grid.iloc[::-1]


def _texts(scheme: dict) -> dict[str, dict]:
    """Segment → description and actions: the scheme's own text first, then the built-in playbook."""
    texts = {name: dict(entry) for name, entry in PLAYBOOK.get(scheme["name"], {}).items()}
    for rule in scheme["rules"]:
        own = {k: rule[k] for k in ("description", "actions") if rule.get(k)}
        texts.setdefault(rule["segment"], {}).update(own)
    return texts


def segment_playbook(scheme="classic", *, segments: pd.DataFrame | None = None, currency: str = "USD") -> pd.DataFrame:
    """Each segment of a scheme with its rule, description and recommended actions.

    ``segments`` and ``currency`` write value-activity thresholds into the rules, as in :func:`scheme_table`.

    Returns
    -------
    DataFrame indexed by ``segment`` (display order) with ``rule`` (rules of one segment joined by " or "),
    ``description`` and ``actions`` (joined by "; ").

    Examples
    --------
    >>> segment_playbook("one_to_one").loc["High frequency, low AOV", "actions"]
    'upsell; bundles; prepaid cards'
    """
    scheme = load_scheme(scheme)
    rules = scheme_table(scheme, segments=segments, currency=currency).groupby("segment", sort=False)["rule"].agg(
        " or ".join)
    texts = _texts(scheme)
    rows = []
    for segment, rule in rules.items():
        entry = texts.get(segment, {})
        actions = entry.get("actions", [])
        rows.append({"segment": segment, "rule": rule, "description": entry.get("description", ""),
                     "actions": "; ".join(actions) if isinstance(actions, (list, tuple)) else str(actions)})
    return pd.DataFrame(rows).set_index("segment")


def segment_summary(
    customers_with_segments: pd.DataFrame,
    *,
    clv_column: str | None = None,
    scheme=None,
    segment_column: str = "segment",
    revenue_column: str = "total_revenue",
    currency: str = "USD",
) -> pd.DataFrame:
    """Per-segment size, revenue, CLV and the playbook, ready for a report.

    Parameters
    ----------
    customers_with_segments : DataFrame
        One row per customer with ``segment_column`` and ``revenue_column``, e.g. the output of
        :func:`clvlib.rfm_segments`; indexed by customer id, or with a ``customer_id`` column.
    clv_column : str, optional
        The column holding each customer's CLV (missing values allowed); adds ``mean_clv``.
    scheme : str, Path, dict or DataFrame, optional
        The scheme the segments come from (for order, rules and playbook); default the built-in scheme named in
        ``attrs["scheme"]``.
    segment_column : str, default "segment"
        The column holding each customer's segment.
    revenue_column : str, default "total_revenue"
        The column holding each customer's revenue.
    currency : str, default "USD"
        ISO code of the value threshold written in value-activity rules (taken, with the activity window, from
        the table's ``attrs`` as :func:`clvlib.rfm_segments` sets them).

    Returns
    -------
    DataFrame indexed by ``segment`` (scheme order, empty segments included) with ``customers``, ``share`` (of
    customers), ``revenue``, ``revenue_share``, ``mean_clv`` (when ``clv_column`` is given), ``rule``, ``description``
    and ``actions``. An empty segment has 0 customers, 0 revenue and shares of 0 (never NaN); ``mean_clv`` is
    the mean over the segment's customers that have a CLV value, and missing (NaN) where none has one (an empty
    segment, or a model that gave no value): show it as missing, e.g. ``Styler.format(na_rep="–")``.
    ``attrs["empty_segments"]`` lists the segments with no customer; ``attrs["clv_missing"]`` counts the
    customers without a CLV value.

    Examples
    --------
    >>> frame = pd.DataFrame({"segment": ["Loyal", "Loyal", "Non-target"], "total_revenue": [300.0, 100.0, 100.0]})
    >>> segment_summary(frame, scheme="one_to_one")[["customers", "revenue", "revenue_share"]].iloc[2:]
                             customers  revenue  revenue_share
    segment
    Loyal                            2    400.0            0.8
    High frequency, low AOV          0      0.0            0.0
    At risk                          0      0.0            0.0
    Non-target                       1    100.0            0.2
    """
    frame = customer_indexed(customers_with_segments, "segmented customer table")
    validate_columns(frame, [segment_column, revenue_column], what="segmented customer table")
    if scheme is not None:
        playbook = segment_playbook(scheme, segments=frame, currency=currency)
    else:  # only the name travels in attrs: a built-in scheme can be looked up, a user's cannot
        playbook = (segment_playbook(frame.attrs["scheme"], segments=frame, currency=currency)
                    if frame.attrs.get("scheme") in SCHEMES else None)
    segments = frame[segment_column]
    if isinstance(segments.dtype, pd.CategoricalDtype):
        order = list(segments.cat.categories)
    else:
        order = list(playbook.index) if playbook is not None else []
        order += [s for s in pd.unique(segments.dropna()) if s not in order]
    revenue = frame[revenue_column].astype("float64")
    grouped = pd.DataFrame({"segment": segments.astype("object"), "revenue": revenue}).groupby("segment")
    table = pd.DataFrame({"customers": grouped.size(), "revenue": grouped["revenue"].sum()})
    table = table.reindex(order).fillna({"customers": 0, "revenue": 0.0})
    table["customers"] = table["customers"].astype("int64")
    total_rev = revenue.sum()
    table.insert(1, "share", table["customers"] / max(len(frame), 1))
    table["revenue_share"] = table["revenue"] / total_rev if total_rev else 0.0
    if clv_column is not None:
        if clv_column not in frame:
            raise DataError(f"segmented customer table: no CLV column `{clv_column}`; columns: "
                            f"{list(frame.columns)}.")
        values = pd.to_numeric(frame[clv_column], errors="coerce").astype("float64")
        # mean() skips missing values and gives NaN for a group with none; never an exception.
        table["mean_clv"] = values.groupby(segments.astype("object")).mean().reindex(order).astype("float64")
    for col in ("rule", "description", "actions"):
        table[col] = playbook[col].reindex(order).fillna("") if playbook is not None else ""
    table.index.name = "segment"
    table.attrs = {"empty_segments": [s for s, n in table["customers"].items() if n == 0]}
    if clv_column is not None:
        table.attrs["clv_missing"] = int(values.isna().sum())
    return table


def _first_max(values: pd.Series):
    """Label of the largest value, first in scheme order on ties; None when every value is missing."""
    values = values.dropna()
    return None if values.empty else values.index[int(np.argmax(values.to_numpy()))]


def segment_headlines(summary: pd.DataFrame, *, currency: str = "USD",
                      clv_label: str = "predicted 12-month CLV") -> list[str]:
    """The findings of a :func:`segment_summary` as sentences, for any store: ties, empty segments and missing CLV
    are said in words, never an error.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`segment_summary` (``customers``, ``share``, ``revenue_share``; ``mean_clv`` optional).
    currency : str
        ISO code used to write money.
    clv_label : str
        What ``mean_clv`` measures, in words.

    Returns
    -------
    list of str: the segment bringing the most revenue, the largest segment, the highest mean CLV (or why there
    is none), and the empty segments. Ties go to the segment listed first in the scheme. Markdown sentences: segment
    names (a user's scheme may name them anything) and ``clv_label`` are escaped, and money too (``\\$900``).

    Examples
    --------
    >>> frame = pd.DataFrame({"segment": ["Loyal", "Loyal", "Non-target"], "total_revenue": [300.0, 100.0, 100.0],
    ...                       "clv": [float("nan")] * 3})
    >>> for line in segment_headlines(segment_summary(frame, clv_column="clv", scheme="one_to_one")):
    ...     print(line)
    Loyal bring the most revenue: 80 % of it from 67 % of customers.
    The largest segment is Loyal: 2 customers (67 %) bringing 80 % of revenue.
    No customer has a predicted 12-month CLV, so the segments are not ranked by it.
    4 of 6 segments have no customer: Newsletter, never bought, Abandoned cart, High frequency, low AOV, At risk.
    """
    validate_columns(summary, ["customers", "share", "revenue_share"], what="segment summary")
    total = int(summary["customers"].sum())
    if total == 0:
        return [f"No customer to segment: all {len(summary)} segments are empty."]
    lines = []
    name = escape_markdown
    clv_label = escape_markdown(clv_label)
    top = _first_max(summary["revenue_share"].where(summary["customers"] > 0))
    if top is not None and summary.loc[top, "revenue_share"] > 0:
        lines.append(f"{name(top)} bring the most revenue: {format_pct(summary.loc[top, 'revenue_share'])} of it from "
                     f"{format_pct(summary.loc[top, 'share'])} of customers.")
    big = _first_max(summary["customers"])
    n = int(summary.loc[big, "customers"])
    lines.append(f"The largest segment is {name(big)}: {n:,} customer{'s' if n != 1 else ''} "
                 f"({format_pct(summary.loc[big, 'share'])}) bringing {format_pct(summary.loc[big, 'revenue_share'])}"
                 " of revenue." if n < total else f"All {n:,} customers are in one segment, {name(big)}.")
    if "mean_clv" in summary.columns:
        best = _first_max(summary["mean_clv"])
        if best is None:
            lines.append(f"No customer has a {clv_label}, so the segments are not ranked by it.")
        else:
            lines.append(f"The highest {clv_label} per customer is in {name(best)} "
                         f"({markdown_money(float(summary.loc[best, 'mean_clv']), currency)}).")
    empty = [name(s) for s, k in summary["customers"].items() if k == 0]
    if empty:
        lines.append(f"{len(empty)} of {len(summary)} segments have no customer: {', '.join(empty)}.")
    return lines
