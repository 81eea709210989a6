"""Segment schemes as data: tables of rules over RFM scores (or value and activity), a validator, and assignment.

A scheme is a plain dict, the same shape whether built in, written by hand or read from YAML::

    name: my_scheme
    kind: scores          # rules over scores: r, f, m, fm = ceil((f + m) / 2), total = r + f + m, code ("555")
    scale: 5              # the score scale the rules are written for
    rules:
      - {segment: Best, priority: 1, r: "4-5", fm: "4-5"}
      - {segment: Rest, priority: 2}            # a feature left out matches anything

A feature's allowed values are written ``"4-5"``, ``"1,3"``, ``4`` or a list. ``priority`` (lower wins) decides
which rule applies where two rules of different segments match the same customer; :func:`validate_scheme` refuses
any scheme with a score code that no rule covers or that two segments claim at the same (or an unset) priority,
so precedence is always explicit, never an accident of order. The segments' display order is their first
appearance in ``rules``; :func:`clvlib.scheme_table` and :func:`clvlib.scheme_grid` show a scheme's rules.

Kind ``"value_activity"`` (the one-to-one marketing types) has rules over ``status`` (``customer``, or for people
who never bought, ``abandoned_cart`` / ``newsletter_signup``: the furthest step they took towards a purchase),
``value`` (``high`` when the value column ≥ ``value_threshold``), ``active`` (``yes`` when the last order is at
most ``active_days`` old) and ``repeat`` (``yes`` when the customer placed at least :data:`REPEAT_ORDERS` = 2
orders up to ``as_of``: ``frequency`` ≥ 2). Prospects have value ``low``, active ``no`` and repeat ``no``. Scores on ``bins`` levels are mapped onto a scheme's ``scale`` by
``ceil(score * scale / bins)``, so the built-in 5-level schemes also read 3- or 10-level scores.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_argument, closest, customer_indexed, validate_columns
from ..config import project_path
from ..errors import DataError

__all__ = ["SCORE_COLUMNS", "REPEAT_ORDERS", "SCHEMES", "load_scheme", "validate_scheme", "rfm_segments"]

SCORE_COLUMNS = ("r_score", "f_score", "m_score")
#: Orders (up to ``as_of``) from which a customer counts as a repeat, "high frequency" buyer in value-activity schemes.
REPEAT_ORDERS = 2

CLASSIC = {
    "name": "classic",
    "kind": "scores",
    "scale": 5,
    "description": "The widely used R-score × FM-score grid (FM = ceil((F + M) / 2)), eleven named segments.",
    "rules": [
        {"segment": "Champions", "priority": 1, "r": "4-5", "fm": "4-5"},
        {"segment": "Loyal Customers", "priority": 1, "r": "3", "fm": "4-5"},
        {"segment": "Potential Loyalists", "priority": 1, "r": "4-5", "fm": "2-3"},
        {"segment": "New Customers", "priority": 1, "r": "5", "fm": "1"},
        {"segment": "Promising", "priority": 1, "r": "4", "fm": "1"},
        {"segment": "Need Attention", "priority": 1, "r": "3", "fm": "3"},
        {"segment": "About to Sleep", "priority": 1, "r": "3", "fm": "1-2"},
        # At Risk's rectangle contains Can't Lose Them's; the more valuable customers win.
        {"segment": "At Risk", "priority": 2, "r": "1-2", "fm": "3-5"},
        {"segment": "Can't Lose Them", "priority": 1, "r": "1", "fm": "4-5"},
        # Hibernating's rectangle contains Lost's single cell (R 1, FM 1).
        {"segment": "Hibernating", "priority": 2, "r": "1-2", "fm": "1-2"},
        {"segment": "Lost", "priority": 1, "r": "1", "fm": "1"},
    ],
}

ONE_TO_ONE = {
    "name": "one_to_one",
    "kind": "value_activity",
    "description": "The six one-to-one marketing types: two kinds of prospects, then customers by value, activity "
                   "and repeat orders.",
    "rules": [
        {"segment": "Newsletter, never bought", "priority": 1, "status": "newsletter_signup"},
        {"segment": "Abandoned cart", "priority": 1, "status": "abandoned_cart"},
        {"segment": "Loyal", "priority": 1, "status": "customer", "value": "high", "active": "yes"},
        # "High frequency" is a fact, not a hope: at least two orders. Low-value active one-order buyers are
        # Non-target (the second Non-target rule), never counted as frequent.
        {"segment": "High frequency, low AOV", "priority": 1, "status": "customer", "value": "low",
         "active": "yes", "repeat": "yes"},
        {"segment": "At risk", "priority": 1, "status": "customer", "value": "high", "active": "no"},
        {"segment": "Non-target", "priority": 1, "status": "customer", "value": "low", "active": "no"},
        {"segment": "Non-target", "priority": 1, "status": "customer", "value": "low", "repeat": "no"},
    ],
}

TIERS = {
    "name": "tiers",
    "kind": "scores",
    "scale": 5,
    "description": "Named tiers by the sum of the three scores; Diamond is exactly 555, the ideal customer.",
    "rules": [
        {"segment": "Diamond", "priority": 1, "total": "15"},
        {"segment": "Platinum", "priority": 1, "total": "12-14"},
        {"segment": "Gold", "priority": 1, "total": "9-11"},
        {"segment": "Silver", "priority": 1, "total": "6-8"},
        {"segment": "Bronze", "priority": 1, "total": "3-5"},
    ],
}

#: The built-in schemes by name (plain data; :func:`load_scheme` returns deep copies).
SCHEMES = {s["name"]: s for s in (CLASSIC, ONE_TO_ONE, TIERS)}

_KINDS = ("scores", "value_activity")
_STATUSES = ["customer", "abandoned_cart", "newsletter_signup"]
_RULE_KEYS = {"segment", "priority", "description", "actions"}


def _domains(kind: str, scale: int) -> dict[str, list]:
    if kind == "value_activity":
        return {"status": _STATUSES, "value": ["high", "low"], "active": ["yes", "no"], "repeat": ["yes", "no"]}
    levels = list(range(1, scale + 1))
    codes = ["".join(map(str, c)) for c in itertools.product(levels, repeat=3)]
    return {"r": levels, "f": levels, "m": levels, "fm": levels, "total": list(range(3, 3 * scale + 1)),
            "code": codes}


def load_scheme(scheme) -> dict:
    """A scheme as a checked, independent dict: a built-in name, a dict, a rules DataFrame or a YAML file.

    Parameters
    ----------
    scheme : str, Path, dict or DataFrame
        ``"classic"``, ``"one_to_one"``, ``"tiers"``; a path to a ``.yaml``/``.yml`` file (relative: to the project folder); a dict shaped as in
        the module docstring; or a DataFrame of rules (one row per rule, kind ``"scores"``, scale 5).

    Returns
    -------
    dict with ``name``, ``kind``, ``scale``, ``description`` and ``rules`` (list of dicts).

    Examples
    --------
    >>> load_scheme({"name": "two", "rules": [{"segment": "Top", "priority": 1, "r": "2"},
    ...                                       {"segment": "Other", "priority": 2}]})["scale"]
    5
    """
    if isinstance(scheme, pd.DataFrame):
        rules = [{k: v for k, v in row.items() if not (np.isscalar(v) and pd.isna(v))}
                 for row in scheme.to_dict("records")]
        scheme = {"name": "custom", "rules": rules}
    elif isinstance(scheme, (str, Path)) and str(scheme) in SCHEMES:
        scheme = SCHEMES[str(scheme)]
    elif isinstance(scheme, (str, Path)):
        path = project_path(scheme)  # relative to the project folder, as the notebooks' `scheme` parameter says
        if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
            raise ValueError(f"The value for `scheme` must be one of {list(SCHEMES)} or a path to a YAML file, but "
                             f"{str(scheme)!r} was passed.")
        import yaml  # only needed for user files

        with path.open(encoding="utf-8") as fh:
            scheme = yaml.safe_load(fh)
        scheme = {"name": path.stem, **(scheme or {})}
    if not isinstance(scheme, Mapping):
        raise TypeError(f"A scheme must be a name, dict, DataFrame or YAML path, not {type(scheme).__name__}.")
    scheme = copy.deepcopy(dict(scheme))
    scheme.setdefault("name", "custom")
    scheme.setdefault("kind", "scores")
    scheme.setdefault("scale", 5)
    scheme.setdefault("description", "")
    check_argument("kind", list(_KINDS), scheme["kind"])
    if not isinstance(scheme["scale"], int) or not 2 <= scheme["scale"] <= 9:
        raise DataError(f"scheme {scheme['name']!r}: `scale` must be an integer from 2 to 9, not {scheme['scale']!r}.")
    rules = scheme.get("rules")
    if not isinstance(rules, list) or not rules:
        raise DataError(f"scheme {scheme['name']!r}: `rules` must be a non-empty list of rules.")
    features = _domains(scheme["kind"], scheme["scale"])
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping) or not rule.get("segment"):
            raise DataError(f"scheme {scheme['name']!r}: rule {i} needs a `segment` name, but is {rule!r}.")
        for key in rule:
            if key not in _RULE_KEYS and key not in features:
                near = closest(key, [*features, *_RULE_KEYS])
                raise DataError(f"scheme {scheme['name']!r}: rule {rule['segment']!r} uses unknown key `{key}`"
                                + (f" (did you mean `{near}`?)" if near else "") + f"; features of a "
                                f"{scheme['kind']!r} scheme: {list(features)}.")
    return scheme


def _allowed(spec, domain: list, where: str) -> set:
    """The set of domain values a rule's spec allows (``None``/``"*"``: all)."""
    if spec is None or (isinstance(spec, str) and spec.strip() in ("", "*", "any")):
        return set(domain)
    parts = spec if isinstance(spec, (list, tuple)) else str(spec).split(",")
    allowed = set()
    numeric = isinstance(domain[0], int) and not isinstance(domain[0], bool)
    for part in parts:
        text = str(part).strip()
        if numeric:
            lo, _, hi = text.partition("-")
            try:
                lo, hi = int(lo), int(hi or lo)
            except ValueError:
                raise DataError(f"{where}: {text!r} is not a score or a range such as '4-5'.") from None
            values = set(range(lo, hi + 1))
        else:
            values = {text}
        outside = sorted(values - set(domain), key=str)
        if outside:
            raise DataError(f"{where}: {outside} lie outside the possible values {domain[0]}…{domain[-1]}."
                            if numeric else f"{where}: {outside} are not among {domain}.")
        allowed |= values
    return allowed


def _masks(scheme: dict, features: pd.DataFrame) -> np.ndarray:
    """Boolean matrix (rows × rules): which rule matches which row."""
    domains = _domains(scheme["kind"], scheme["scale"])
    out = np.ones((len(features), len(scheme["rules"])), dtype=bool)
    for j, rule in enumerate(scheme["rules"]):
        for feature in domains:
            if feature in rule:
                where = f"scheme {scheme['name']!r}, rule {rule['segment']!r}, `{feature}`"
                out[:, j] &= features[feature].isin(_allowed(rule[feature], domains[feature], where)).to_numpy()
    return out


def _rescale(scores: np.ndarray, bins: int, scale: int) -> np.ndarray:
    return scores if bins == scale else -(-scores * scale // bins)


def _score_features(r, f, m, bins: int, scale: int) -> pd.DataFrame:
    r, f, m = (_rescale(np.asarray(s, dtype=np.int64), bins, scale) for s in (r, f, m))
    code = pd.Series(r).astype(str) + pd.Series(f).astype(str) + pd.Series(m).astype(str)
    return pd.DataFrame({"r": r, "f": f, "m": m, "fm": (f + m + 1) // 2, "total": r + f + m,
                         "code": code.to_numpy()})


def _domain_points(scheme: dict, bins: int) -> tuple[list[str], pd.DataFrame]:
    """Every possible input (labelled) and its features, for coverage checks."""
    if scheme["kind"] == "scores":
        combos = np.array(list(itertools.product(range(1, bins + 1), repeat=3)), dtype=np.int64)
        labels = ["".join(map(str, c)) for c in combos]
        return labels, _score_features(combos[:, 0], combos[:, 1], combos[:, 2], bins, scheme["scale"])
    domains = _domains(scheme["kind"], scheme["scale"])
    points = pd.DataFrame(list(itertools.product(*domains.values())), columns=list(domains))
    labels = [", ".join(f"{k}={v}" for k, v in row.items()) for row in points.to_dict("records")]
    return labels, points


def validate_scheme(scheme, *, bins: int = 5) -> dict:
    """Check that a scheme gives every possible score code exactly one segment, with explicit precedence.

    Parameters
    ----------
    scheme : str, Path, dict or DataFrame
        Anything :func:`load_scheme` accepts.
    bins : int
        Number of score levels the scheme will be applied to (codes ``111`` to ``{bins}{bins}{bins}``).

    Returns
    -------
    dict: the loaded scheme, when valid.

    Raises
    ------
    DataError
        Naming the codes no segment covers and the codes two segments claim without explicit precedence (same or
        unset ``priority``), with the segments involved.

    Examples
    --------
    >>> validate_scheme({"name": "gap", "rules": [{"segment": "Recent", "priority": 1, "r": "4-5"}]}, bins=5)
    Traceback (most recent call last):
    ...
    clvlib.errors.DataError: scheme 'gap' for bins=5: 75 code(s) match no rule: 111, 112, 113, ...
    """
    scheme = load_scheme(scheme)
    labels, points = _domain_points(scheme, bins)
    matches = _masks(scheme, points)
    segments = np.array([r["segment"] for r in scheme["rules"]], dtype=object)
    priority = np.array([r.get("priority") if r.get("priority") is not None else np.nan for r in scheme["rules"]],
                        dtype=np.float64)
    uncovered, conflicts = [], []
    for i, label in enumerate(labels):
        hit = np.flatnonzero(matches[i])
        if hit.size == 0:
            uncovered.append(label)
            continue
        if len(set(segments[hit])) == 1:
            continue
        p = priority[hit]
        top = hit[p == np.nanmin(p)] if not np.isnan(p).all() else hit
        if np.isnan(p).any() or len(set(segments[top])) > 1:
            claim = hit if np.isnan(p).any() else top
            conflicts.append(f"{label} ({' / '.join(dict.fromkeys(segments[claim]))})")
    problems = []
    if uncovered:
        shown = ", ".join(uncovered[:12]) + (", ..." if len(uncovered) > 12 else "")
        problems.append(f"{len(uncovered)} code(s) match no rule: {shown}")
    if conflicts:
        shown = "; ".join(conflicts[:12]) + ("; ..." if len(conflicts) > 12 else "")
        problems.append(f"{len(conflicts)} code(s) are claimed by several segments without explicit precedence "
                        f"(give the rules different `priority`, lower wins): {shown}")
    if problems:
        raise DataError(f"scheme {scheme['name']!r} for bins={bins}: " + ". ".join(problems))
    return scheme


def _assign(scheme: dict, features: pd.DataFrame) -> np.ndarray:
    """Each row's segment: the matching rule with the lowest priority (validated to be unambiguous)."""
    matches = _masks(scheme, features)
    priority = np.array([r.get("priority") if r.get("priority") is not None else np.inf for r in scheme["rules"]])
    order = np.argsort(priority, kind="stable")
    segments = np.array([scheme["rules"][j]["segment"] for j in order], dtype=object)
    first = matches[:, order].argmax(axis=1)
    found = matches.any(axis=1)
    return np.where(found, segments[first], None)


def _prospects(events: pd.DataFrame, known: pd.Index) -> pd.DataFrame:
    """People in an events table who never bought, with their furthest step towards a purchase."""
    validate_columns(events, ["event"], what="events table")
    if "customer_id" not in events and "email" not in events:
        raise DataError("events table: needs a `customer_id` or an `email` column to identify people.")
    ids = events["customer_id"] if "customer_id" in events else pd.Series(pd.NA, index=events.index)
    email = (events["email"].astype("string").str.strip().str.lower() if "email" in events
             else pd.Series(pd.NA, index=events.index, dtype="string"))
    ids = ids.astype("string").str.strip().replace("", pd.NA).fillna(email)
    kept = events["event"].isin(_STATUSES[1:]) & ids.notna() & ~ids.isin(known.astype("string"))
    people = pd.DataFrame({"customer_id": ids[kept], "email": email[kept],
                           "cart": events["event"][kept].eq("abandoned_cart")})
    people = people.groupby("customer_id", sort=True).agg(email=("email", "first"), cart=("cart", "any"))
    status = np.where(people["cart"], "abandoned_cart", "newsletter_signup")
    return pd.DataFrame({"email": people["email"], "status": status}, index=people.index.astype(known.dtype))


def _events_up_to(events: pd.DataFrame, as_of) -> tuple[pd.DataFrame, int]:
    """The events dated on or before ``as_of`` (calendar days, as order dates), and how many rows were later."""
    if as_of is None or "event_date" not in events:
        return events, 0
    dates = pd.to_datetime(events["event_date"]).dt.normalize()
    later = (dates > pd.Timestamp(as_of).normalize()).to_numpy(dtype=bool)
    return events[~later], int(later.sum())


def rfm_segments(
    scores: pd.DataFrame,
    *,
    scheme="classic",
    bins: int | None = None,
    value_threshold: float | None = None,
    active_days: int = 90,
    events: pd.DataFrame | None = None,
    value_column: str = "monetary",
) -> pd.DataFrame:
    """Each customer's segment under a scheme (validated first).

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`clvlib.rfm_scores` (score schemes need ``r_score``, ``f_score``, ``m_score``;
        ``"value_activity"`` schemes need ``recency`` and ``value_column``, and ``frequency`` (orders) when their
        rules use ``repeat``, as the built-in ``one_to_one`` does); indexed by customer id, or with a
        ``customer_id`` column. Never modified.
    scheme : str, Path, dict or DataFrame
        A built-in name (``"classic"``, ``"one_to_one"``, ``"tiers"``) or a user scheme (see :func:`load_scheme`).
    bins : int, optional
        Score levels; defaults to ``scores.attrs["bins"]``, else 5.
    value_threshold : float, optional
        Value-activity schemes: a customer is high value when ``value_column`` ≥ this; default the median (of the
        customers' values, rounded up to the cent, so that the rules can state it exactly).
    active_days : int
        Value-activity schemes: active when ``recency`` (days since the last order) ≤ this. A repeat ("high
        frequency") customer has at least :data:`REPEAT_ORDERS` (2) orders (``frequency``); that rule is fixed.
    events : DataFrame, optional
        Value-activity schemes: events with ``event`` in {newsletter_signup, abandoned_cart} and ``customer_id``
        and/or ``email``; people in it who never bought are added as prospects (rows with missing values). Events
        dated (``event_date``, by calendar day) after the scores' ``attrs["as_of"]`` are ignored: the segments
        describe the store as known on that day.
    value_column : str
        Column measuring value for value-activity schemes (e.g. a CLV column instead of ``monetary``).

    Returns
    -------
    DataFrame: a copy of ``scores`` indexed by customer id (plus prospects, with an ``email`` column, for value-activity schemes with
    events) with ``segment``, a categorical in the scheme's display order. ``attrs``: ``scheme`` (name),
    ``segments`` (display order) and, for value-activity schemes, ``value_threshold``, ``active_days``,
    ``repeat_orders``, ``value_column`` and, with events, ``events_after_as_of`` (event rows ignored as dated after
    ``as_of``): :func:`clvlib.scheme_table` writes the rules with these numbers.

    Examples
    --------
    >>> scores = pd.DataFrame({"r_score": [5, 1, 3], "f_score": [5, 5, 1], "m_score": [5, 4, 2]},
    ...                       index=pd.Index(["a", "b", "c"], name="customer_id"))
    >>> rfm_segments(scores)["segment"].tolist()
    ['Champions', "Can't Lose Them", 'About to Sleep']
    """
    scores = customer_indexed(scores, "RFM scores table")  # prospects are told apart from customers by id
    scheme = load_scheme(scheme)
    bins = int(scores.attrs.get("bins", 5)) if bins is None else bins
    scheme = validate_scheme(scheme, bins=bins)
    result = scores.copy()
    extra = {}
    if scheme["kind"] == "scores":
        validate_columns(scores, SCORE_COLUMNS, what="RFM scores table")
        raw = scores[list(SCORE_COLUMNS)].to_numpy()
        if raw.size and (raw.min() < 1 or raw.max() > bins):
            raise DataError(f"RFM scores table: scores must lie in 1–{bins} for bins={bins}, but range from "
                            f"{raw.min()} to {raw.max()}; pass the `bins` they were computed with.")
        features = _score_features(raw[:, 0], raw[:, 1], raw[:, 2], bins, scheme["scale"])
    else:
        repeat = any("repeat" in rule for rule in scheme["rules"])
        validate_columns(scores, ["recency", value_column, *(["frequency"] if repeat else [])], what="RFM table")
        value = scores[value_column].astype("float64")
        # The median, rounded up to the cent, so the rule can state it exactly: for amounts in cents, "≥ $97.78"
        # then means the same as "≥ the median $97.775".
        median = float(value.median())  # NaN for a table without customers
        threshold = ((math.ceil(round(median * 100, 6)) / 100 if math.isfinite(median) else median)
                     if value_threshold is None else float(value_threshold))
        orders = scores["frequency"] if repeat else pd.Series(0, index=scores.index)
        features = pd.DataFrame({
            "status": "customer",
            "value": np.where(value >= threshold, "high", "low"),
            "active": np.where(scores["recency"] <= active_days, "yes", "no"),
            "repeat": np.where(orders.to_numpy() >= REPEAT_ORDERS, "yes", "no"),
        })
        if events is not None:
            events, extra["events_after_as_of"] = _events_up_to(events, scores.attrs.get("as_of"))
            prospects = _prospects(events, scores.index)
            result = pd.concat([result, prospects.drop(columns="status")]) if len(prospects) else result
            features = pd.concat([features, pd.DataFrame(
                {"status": prospects["status"].to_numpy(), "value": "low", "active": "no", "repeat": "no"})],
                ignore_index=True)
            for col in (*SCORE_COLUMNS, "recency", "frequency"):  # counts stay integers (missing for prospects)
                if col in result and len(prospects) and pd.api.types.is_integer_dtype(scores[col].dtype):
                    result[col] = result[col].astype("Int64")
        extra = {"value_threshold": threshold, "active_days": active_days, "repeat_orders": REPEAT_ORDERS,
                 "value_column": value_column, **extra}
    names = _assign(scheme, features)
    order = list(dict.fromkeys(r["segment"] for r in scheme["rules"]))
    result["segment"] = pd.Categorical(names, categories=order)
    result.attrs = {**scores.attrs, "scheme": scheme["name"], "segments": order, **extra}
    return result
