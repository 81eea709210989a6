"""RFM values, 1–N scores and the threshold table behind every score.

RFM describes each customer by three raw **values**: *recency* (days from the last order to ``as_of``), *frequency*
(number of orders) and *monetary* (total or average order value). Each value becomes a **score** from 1 to ``bins``
(5 = best: most recent, most orders, most money), and the three scores written together form the **RFM code**: a
customer coded ``555`` is among the most recent, most frequent and biggest spenders, the ideal customer.

How quantile scores are computed
-------------------------------
For each *distinct* value ``v`` of a metric, let ``below(v)`` be the share of customers with a strictly smaller
value. Its score is ``1 + floor(bins * below(v))``: the number of whole ``1/bins`` slices of customers it beats,
plus one. Recency is scored on ``-recency``, so that 5 means most recent. Consequences, all deliberate:

- identical values always get identical scores (a score is a function of the value, never of row order), and a
  group of tied customers gets the score of its lowest member: ties never promote anyone;
- with distinct values, each score holds ``n / bins`` customers (10 customers, 5 bins: two per score);
- heavy ties leave some scores empty instead of splitting tied customers: if 70 % of customers have one order,
  they all score F = 1, two-order customers start at ``below = 0.7`` and score 4, and scores 2 and 3 are empty.
  :func:`rfm_scores` then warns, naming the score and the tie, and records it in ``attrs["score_notes"]``;
- a recency or monetary value that every customer shares ranks no one and gets the middle score (the rule would
  give 1, calling customers who all bought today "lost"); an equal frequency keeps 1 (in practice one order each,
  the lowest there is), and a single customer scores 1.

Every scoring, quantile or fixed, is a set of ``bins - 1`` ascending cut points per metric, kept in
``attrs["rfm_thresholds"]`` and laid out as intervals by :func:`score_thresholds`; passing those cut points back as
``thresholds=`` scores another period on the same scale.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._validation import check_argument, validate_columns, customer_indexed
from ..errors import DataError
from ..formatting import format_pct
from .segments import SCORE_COLUMNS

__all__ = [
    "RFM_VALUES", "rfm_table", "rfm_scores", "score_thresholds", "rfm_grid",
]

#: The value columns of an RFM table, in R, F, M order, and the score column each one feeds.
RFM_VALUES = ("recency", "frequency", "monetary")
_SCORE_OF = dict(zip(RFM_VALUES, SCORE_COLUMNS))
_UNITS = {"recency": "days", "frequency": "orders", "monetary": ""}


def rfm_table(customers: pd.DataFrame, *, as_of=None, monetary: str = "total") -> pd.DataFrame:
    """RFM values of each customer from the customer table.

    Parameters
    ----------
    customers : DataFrame
        Output of :func:`clvlib.customer_summary` with ``n_orders``, ``total_revenue``, ``aov`` and
        ``last_order``; indexed by customer id, or with a ``customer_id`` column. Never modified.
    as_of : date-like, optional
        Date recency is measured to. Defaults to ``customers.attrs["as_of"]``, else the latest ``last_order``.
    monetary : {"total", "average"}
        ``"total"``: all revenue of the customer; ``"average"``: average order value.

    Returns
    -------
    DataFrame indexed by customer id with columns ``recency`` (whole days since the last order, int),
    ``frequency`` (orders, int), ``monetary`` (float) and ``total_revenue`` (kept for revenue shares whichever
    ``monetary`` is chosen). ``attrs``: ``as_of``, ``monetary``.

    Note that these are RFM's own definitions: lifetimes' ``recency`` (first to last purchase) and ``frequency``
    (repeat purchases) in the customer table mean something else.

    Examples
    --------
    >>> customers = pd.DataFrame(
    ...     {"n_orders": [3, 1], "total_revenue": [90.0, 20.0], "aov": [30.0, 20.0],
    ...      "last_order": pd.to_datetime(["2024-01-25", "2024-01-01"])},
    ...     index=pd.Index(["a", "b"], name="customer_id"))
    >>> rfm_table(customers, as_of="2024-01-31")
                 recency  frequency  monetary  total_revenue
    customer_id
    a                  6          3      90.0           90.0
    b                 30          1      20.0           20.0
    """
    check_argument("monetary", ["total", "average"], monetary)
    customers = customer_indexed(customers)
    validate_columns(customers, ["n_orders", "total_revenue", "aov", "last_order"], what="customer table")
    last = pd.to_datetime(customers["last_order"])
    if as_of is None:
        as_of = customers.attrs.get("as_of")
    if as_of is None:
        if last.isna().all():
            raise DataError("customer table: no `last_order` dates, so `as_of` cannot default to the latest one.")
        as_of = last.max()
    as_of = pd.Timestamp(as_of).normalize()
    days = (as_of - last.dt.normalize()).dt.days
    late = days < 0
    if late.any():
        raise DataError(
            f"customer table: {int(late.sum())} customer(s) have `last_order` after as_of {as_of.date()}, "
            f"e.g. {list(customers.index[late][:3])}; summarise the orders with the same as_of."
        )
    value = customers["total_revenue"] if monetary == "total" else customers["aov"]
    table = pd.DataFrame(
        {
            "recency": days.astype("int64"),
            "frequency": customers["n_orders"].astype("int64"),
            "monetary": value.astype("float64"),
            "total_revenue": customers["total_revenue"].astype("float64"),
        },
        index=customers.index.copy(),
    )
    table.attrs = {"as_of": as_of.date().isoformat(), "monetary": monetary}  # JSON-safe: see customer_summary
    return table


def _check_bins(bins: int) -> None:
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or not 2 <= bins <= 9:
        raise ValueError(f"The value for `bins` must be an integer from 2 to 9 (one digit per score), but {bins!r} "
                         "was passed.")


def _rank_scores(values: np.ndarray, bins: int) -> np.ndarray:
    """``1 + floor(bins * share of customers with a strictly smaller value)``, in exact integer arithmetic."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    return (1 + below * bins // values.size)[inverse].astype(np.int64)


def _quantile_cuts(values: np.ndarray, metric: str, bins: int) -> list[float]:
    """The ``bins - 1`` ascending cut points that reproduce the quantile scores of ``values``."""
    if values.size == 0:
        return [math.nan] * (bins - 1)
    if metric != "frequency" and values.size > 1 and np.all(values == values[0]):
        # One value for everyone ranks no one: the quantile rule would score it 1 (nobody is worse), which calls
        # customers who all bought today "lost". They all get the middle score instead. Frequency keeps the rule:
        # when everyone has the same number of orders it is, in practice, one order, the lowest there is.
        middle = (bins + 1) // 2
        v = float(values[0])
        if metric == "recency":  # score = bins − #(cuts < v)
            return [-math.inf] * (bins - middle) + [v] * (middle - 1)
        return [v] * (middle - 1) + [math.inf] * (bins - middle)  # score = 1 + #(cuts <= v)
    if metric == "recency":
        scores = _rank_scores(-values, bins)
        # Score >= bins + 1 - k  <=>  recency <= cut_k: the largest recency scoring that high.
        return [float(values[scores >= bins + 1 - k].max()) if (scores >= bins + 1 - k).any() else -math.inf
                for k in range(1, bins)]
    scores = _rank_scores(values, bins)
    # Score >= k + 1  <=>  value >= cut_k: the smallest value scoring that high.
    return [float(values[scores >= k + 1].min()) if (scores >= k + 1).any() else math.inf for k in range(1, bins)]


def _apply_cuts(values: np.ndarray, metric: str, cuts: list[float], bins: int) -> np.ndarray:
    edges = np.asarray(cuts, dtype=np.float64)
    if metric == "recency":
        # Recency at or below a cut belongs to the more recent (higher) score.
        return bins - np.searchsorted(edges, values, side="left")
    return 1 + np.searchsorted(edges, values, side="right")


def _cuts_from(thresholds, bins: int) -> dict[str, list[float]]:
    """Normalise ``thresholds`` (dict of cut lists, or a :func:`score_thresholds` table) to cut lists."""
    if isinstance(thresholds, pd.DataFrame):
        validate_columns(thresholds, ["metric", "score", "lower", "upper"], what="threshold table")
        cuts = {}
        for metric, rows in thresholds.groupby("metric", sort=False):
            rows = rows.set_index("score").sort_index()
            cuts[metric] = (list(rows["upper"].iloc[::-1].iloc[:-1]) if metric == "recency"
                            else list(rows["lower"].iloc[1:]))
        thresholds = cuts
    if not isinstance(thresholds, Mapping):
        raise TypeError(f"`thresholds` must be a dict of cut points or a score_thresholds() table, not "
                        f"{type(thresholds).__name__}.")
    result = {}
    for metric, values in thresholds.items():
        check_argument("thresholds key", list(RFM_VALUES), metric)
        cuts = [float(v) for v in values]
        if len(cuts) != bins - 1 or any(b < a for a, b in zip(cuts, cuts[1:])):
            raise ValueError(f"`thresholds[{metric!r}]` must hold {bins - 1} ascending cut points for bins={bins}, "
                             f"but {list(values)!r} was passed.")
        result[metric] = cuts
    return result


def _values(rfm: pd.DataFrame) -> dict[str, np.ndarray]:
    validate_columns(rfm, RFM_VALUES, what="RFM table")
    arrays = {}
    for metric in RFM_VALUES:
        arr = pd.to_numeric(rfm[metric]).to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isnan(arr).any():
            raise DataError(f"RFM table: column `{metric}` has {int(np.isnan(arr).sum())} missing value(s), e.g. "
                            f"customers {list(rfm.index[np.isnan(arr)][:3])}.")
        arrays[metric] = arr
    return arrays


def _level_note(metric: str, values: np.ndarray, scores: np.ndarray, bins: int, fixed: bool) -> str | None:
    """Why a score uses fewer than ``bins`` levels, or None when it uses them all."""
    empty = sorted(set(range(1, bins + 1)) - set(np.unique(scores).tolist()))
    if not empty or values.size == 0:
        return None
    column = _SCORE_OF[metric]
    if fixed:
        why = "no customer falls between those fixed thresholds"
    elif values.size == 1:
        why = "there is only one customer"
    elif metric != "frequency" and np.all(values == values[0]):
        why = (f"every customer has the same {metric} ({values[0]:g}), which ranks no one, so all get the middle "
               f"score {(bins + 1) // 2}")
    else:
        uniq, counts = np.unique(values, return_counts=True)
        top = int(counts.argmax())
        why = (f"{metric} has only {uniq.size} distinct value(s) and {format_pct(counts[top] / values.size)} of customers "
               f"share {metric} = {uniq[top]:g}; identical values get identical scores, so ties are not split")
    return f"`{column}` uses {bins - len(empty)} of {bins} levels (score(s) {empty} empty): {why}."


def rfm_scores(rfm: pd.DataFrame, *, bins: int = 5, method: str = "quantile", thresholds=None) -> pd.DataFrame:
    """Score recency, frequency and monetary value from 1 to ``bins`` (``bins`` = best) and form the RFM code.

    Parameters
    ----------
    rfm : DataFrame
        Output of :func:`rfm_table` (columns ``recency``, ``frequency``, ``monetary``); indexed by customer id, or
        with a ``customer_id`` column. Never modified.
    bins : int
        Number of score levels, 2 to 9 (5 is the convention).
    method : {"quantile", "fixed"}
        ``"quantile"``: quantile scores of this table (module docstring); cut points in ``thresholds`` override
        the metrics they name. ``"fixed"``: ``thresholds`` must give cut points for all three metrics.
    thresholds : dict or DataFrame, optional
        ``{"recency": [...], "frequency": [...], "monetary": [...]}``, each ``bins - 1`` ascending cut points in the
        metric's units, or a :func:`score_thresholds` table (e.g. an earlier period's, to keep the scale). A
        frequency or monetary value at or above the k-th cut scores at least k + 1; a recency at or below the k-th
        cut scores at least ``bins + 1 - k``.

    Returns
    -------
    DataFrame: a copy of ``rfm``, indexed by customer id, plus ``r_score``, ``f_score``, ``m_score`` (int) and ``rfm_code`` (str, e.g.
    ``"555"``). ``attrs``: ``bins``, ``method``, ``rfm_thresholds`` (the cut points used), ``score_notes`` (why
    any score has fewer than ``bins`` levels) and ``empty_scores`` (``{score column: [empty levels]}``).

    Warns
    -----
    UserWarning
        When a score uses fewer than ``bins`` levels (heavy ties, one customer, or unused fixed thresholds).

    Examples
    --------
    >>> rfm = pd.DataFrame({"recency": [1, 10, 40, 90, 300], "frequency": [6, 4, 3, 2, 1],
    ...                     "monetary": [500.0, 300.0, 120.0, 80.0, 20.0]})
    >>> rfm_scores(rfm)["rfm_code"].tolist()
    ['555', '444', '333', '222', '111']
    """
    _check_bins(bins)
    check_argument("method", ["quantile", "fixed"], method)
    rfm = customer_indexed(rfm, "RFM table")
    cuts_given = {} if thresholds is None else _cuts_from(thresholds, bins)
    if method == "fixed" and set(cuts_given) != set(RFM_VALUES):
        raise ValueError(f"method='fixed' needs `thresholds` for {list(RFM_VALUES)}, but got {sorted(cuts_given)}.")
    values = _values(rfm)
    result = rfm.copy()
    cuts, notes, empty = {}, [], {}
    for metric in RFM_VALUES:
        fixed = metric in cuts_given
        cuts[metric] = cuts_given[metric] if fixed else _quantile_cuts(values[metric], metric, bins)
        scores = _apply_cuts(values[metric], metric, cuts[metric], bins).astype(np.int64)
        result[_SCORE_OF[metric]] = scores
        note = _level_note(metric, values[metric], scores, bins, fixed)
        if note:
            notes.append(note)
            empty[_SCORE_OF[metric]] = sorted(set(range(1, bins + 1)) - set(np.unique(scores).tolist()))
    result["rfm_code"] = (result["r_score"].astype(str) + result["f_score"].astype(str)
                          + result["m_score"].astype(str))
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    result.attrs = {**rfm.attrs, "bins": int(bins), "method": "fixed" if method == "fixed" else
                    ("quantile" if not cuts_given else "quantile+fixed"),
                    "rfm_thresholds": cuts, "score_notes": notes, "empty_scores": empty}
    return result


def _fmt(value: float, metric: str) -> str:
    return f"{value:,.2f}" if metric == "monetary" else f"{value:g}"


def _rule_text(metric: str, lower: float, upper: float) -> str:
    unit = f" {_UNITS[metric]}" if _UNITS[metric] else ""
    lo, hi = _fmt(lower, metric), _fmt(upper, metric)
    if lower == upper:
        return "empty: no value falls here"
    if math.isinf(lower) and math.isinf(upper):  # every customer ties on one value: one level holds them all
        return f"any {metric}"
    if metric == "recency":  # intervals (lower, upper]
        if math.isinf(lower):
            return f"recency ≤ {hi}{unit}"
        if math.isinf(upper):
            return f"recency > {lo}{unit}"
        return f"{lo} < recency ≤ {hi}{unit}"
    if math.isinf(lower):  # intervals [lower, upper)
        return f"{metric} < {hi}{unit}"
    if math.isinf(upper):
        return f"{metric} ≥ {lo}{unit}"
    return f"{lo} ≤ {metric} < {hi}{unit}"


def score_thresholds(rfm: pd.DataFrame, *, bins: int | None = None, thresholds=None) -> pd.DataFrame:
    """The value interval behind every score of every metric, with a readable rule and the customers in it.

    Parameters
    ----------
    rfm : DataFrame
        An :func:`rfm_table` or :func:`rfm_scores` output (indexed by customer id, or with a ``customer_id``
        column). For a scored table the cut points it was scored with (``attrs["rfm_thresholds"]``) are used, else
        they are computed as :func:`rfm_scores` would.
    bins : int, optional
        Number of levels; defaults to ``attrs["bins"]``, else 5.
    thresholds : dict or DataFrame, optional
        Fixed cut points, as in :func:`rfm_scores`.

    Returns
    -------
    DataFrame with one row per (metric, score): ``metric``, ``score``, ``lower``, ``upper`` (interval bounds in
    the metric's units, ±inf at the ends; recency intervals are ``(lower, upper]``, the others ``[lower, upper)``),
    ``rule`` (e.g. ``"recency ≤ 30 days"``), ``customers`` and ``share``. It can be passed back to
    :func:`rfm_scores` as ``thresholds=``.

    Examples
    --------
    >>> rfm = pd.DataFrame({"recency": [5, 50], "frequency": [2, 1], "monetary": [40.0, 10.0]})
    >>> score_thresholds(rfm, bins=2)[["metric", "score", "rule", "customers"]]
          metric  score                  rule  customers
    0    recency      2     recency ≤ 5 days          1
    1    recency      1     recency > 5 days          1
    2  frequency      1  frequency < 2 orders          1
    3  frequency      2  frequency ≥ 2 orders          1
    4   monetary      1      monetary < 40.00          1
    5   monetary      2      monetary ≥ 40.00          1
    """
    rfm = customer_indexed(rfm, "RFM table")
    bins = int(rfm.attrs.get("bins", 5)) if bins is None else bins
    _check_bins(bins)
    values = _values(rfm)
    # The cut points a scored table was scored with, unless the caller asks for another scale.
    same_scale = thresholds is None and rfm.attrs.get("bins") == bins
    cuts = dict(rfm.attrs.get("rfm_thresholds") or {}) if same_scale else {}
    cuts.update({} if thresholds is None else _cuts_from(thresholds, bins))
    rows = []
    n = max(len(rfm), 1)
    for metric in RFM_VALUES:
        c = cuts.get(metric) or _quantile_cuts(values[metric], metric, bins)
        edges = [-math.inf, *c, math.inf]
        scores = _apply_cuts(values[metric], metric, c, bins)
        counts = np.bincount(scores, minlength=bins + 1)
        order = range(bins, 0, -1) if metric == "recency" else range(1, bins + 1)
        for i, score in enumerate(order):
            lower, upper = edges[i], edges[i + 1]
            rows.append({"metric": metric, "score": score, "lower": lower, "upper": upper,
                         "rule": _rule_text(metric, lower, upper), "customers": int(counts[score]),
                         "share": counts[score] / n})
    return pd.DataFrame(rows)


def rfm_grid(scores: pd.DataFrame, *, value: str = "customers") -> pd.DataFrame:
    """Recency score × frequency score table: customers per cell, or their mean monetary value.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`rfm_scores`; indexed by customer id, or with a ``customer_id`` column.
    value : {"customers", "monetary"}
        Cell content: number of customers, or mean ``monetary`` of the cell's customers (NaN when empty).

    Returns
    -------
    DataFrame indexed by ``r_score`` (``bins`` first, i.e. most recent at the top) with one column per
    ``f_score`` (1 to ``bins``); every level appears even when empty.

    Examples
    --------
    >>> scores = pd.DataFrame({"r_score": [2, 2, 1], "f_score": [1, 2, 2], "monetary": [10.0, 30.0, 50.0]})
    >>> scores.attrs["bins"] = 2
    >>> rfm_grid(scores)
    f_score  1  2
    r_score
    2        1  1
    1        0  1
    """
    check_argument("value", ["customers", "monetary"], value)
    scores = customer_indexed(scores, "RFM scores table")
    validate_columns(scores, ["r_score", "f_score"] + (["monetary"] if value == "monetary" else []),
                     what="RFM scores table")
    bins = int(scores.attrs.get("bins", max(int(scores[["r_score", "f_score"]].to_numpy().max(initial=1)), 1)))
    levels = range(1, bins + 1)
    if value == "customers":
        grid = pd.crosstab(scores["r_score"], scores["f_score"])
        grid = grid.reindex(index=levels, columns=levels, fill_value=0).astype("int64")
    else:
        grid = scores.pivot_table(index="r_score", columns="f_score", values="monetary", aggfunc="mean",
                                  observed=False)
        grid = grid.reindex(index=levels, columns=levels)
    grid = grid.iloc[::-1]
    grid.index.name, grid.columns.name = "r_score", "f_score"
    return grid
