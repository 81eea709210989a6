"""Segment migration between two as-of dates: who moved where, and how much revenue moved with them."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from .._results import result_html
from .._validation import customer_indexed
from ..errors import DataError
from ..formatting import escape_markdown, markdown_money

__all__ = ["NEW", "GONE", "SegmentMigration", "segment_migration", "migration_headlines", "segments_between"]

#: Row label of customers who did not exist at the earlier date; column label of those absent at the later one.
NEW = "(new)"
GONE = "(gone)"


class SegmentMigration(NamedTuple):
    """Result of :func:`segment_migration`: ``table`` is the ``matrix``, ``verdict`` one plain sentence."""

    #: Customers by earlier segment (rows, plus ``NEW``) and later segment (columns, plus ``GONE`` if any).
    matrix: pd.DataFrame
    #: One row per non-empty (``from``, ``to``) pair: ``from``, ``to``, ``customers``, ``share_of_from``,
    #: ``revenue``, ``moved``; largest first.
    flows: pd.DataFrame

    @property
    def table(self) -> pd.DataFrame:
        """The main table: :attr:`matrix`."""
        return self.matrix

    @property
    def verdict(self) -> str:
        """One plain sentence: new customers, earlier customers who kept their segment, and the largest move."""
        flows = self.flows
        new = int(flows.loc[flows["from"] == NEW, "customers"].sum())
        earlier = flows[flows["from"] != NEW]
        n_earlier = int(earlier["customers"].sum())
        stayed = int(earlier.loc[~earlier["moved"], "customers"].sum())
        text = f"{new:,} new customer{'s' if new != 1 else ''}; "
        if n_earlier == 0:
            return text + "there were no earlier customers to compare with."
        text += f"{stayed:,} of the {n_earlier:,} earlier customers kept their segment"
        moves = self.largest_flows(n=1, include_new=False)
        if moves.empty:
            return text + "."
        move = moves.iloc[0]
        return text + f"; the largest move: {int(move['customers']):,} from {move['from']} to {move['to']}."

    def _repr_html_(self) -> str:
        return result_html(self.verdict, self.table, title="Segment migration")

    def largest_flows(self, *, n: int = 5, include_new: bool = True) -> pd.DataFrame:
        """The ``n`` largest movements between different segments (of newcomers too, unless ``include_new``
        is False)."""
        keep = self.flows["moved"] & (include_new | (self.flows["from"] != NEW))
        return self.flows[keep].head(n).reset_index(drop=True)


def _segments(table, segment_column: str, which: str) -> pd.Series:
    if isinstance(table, pd.Series):
        segments = table
    elif isinstance(table, pd.DataFrame):
        if segment_column not in table:
            raise DataError(f"{which} table: no `{segment_column}` column; columns: {list(table.columns)}.")
        segments = table[segment_column]
    else:
        raise TypeError(f"`{which}` must be a Series or DataFrame of segments, not {type(table).__name__}.")
    if segments.index.has_duplicates:
        dup = segments.index[segments.index.duplicated()]
        raise DataError(f"{which} table: customer ids repeat, e.g. {list(dup[:3])}; one row per customer.")
    return segments


def _order(segments: pd.Series) -> list:
    if isinstance(segments.dtype, pd.CategoricalDtype):
        return list(segments.cat.categories)
    return list(pd.unique(segments.dropna()))


def segment_migration(
    before: pd.Series | pd.DataFrame,
    after: pd.Series | pd.DataFrame,
    *,
    segment_column: str = "segment",
    revenue_column: str = "total_revenue",
) -> SegmentMigration:
    """Transition matrix and flows of customers between the segments of two dates.

    Parameters
    ----------
    before, after : Series or DataFrame
        Segments per customer at an earlier and a later as-of date, e.g. two :func:`clvlib.rfm_segments`
        outputs: Series indexed by customer id; DataFrames indexed by customer id, or with a ``customer_id`` column.
        Never modified.
    segment_column : str
        The segment column when frames are given.
    revenue_column : str
        Revenue behind each flow: taken from ``after`` (the later table), and from ``before`` for customers gone
        from ``after``; flows get 0 when neither table has the column.

    Returns
    -------
    SegmentMigration
        ``matrix`` (counts; rows: earlier segments + ``"(new)"``, columns: later segments + ``"(gone)"`` when any
        customer disappeared; it adds up to the customers of both dates) and ``flows`` (see the class);
        ``largest_flows(n=n)`` lists the biggest moves.

    Examples
    --------
    >>> before = pd.Series({"a": "Champions", "b": "Champions", "c": "Lost"})
    >>> after = pd.Series({"a": "Champions", "b": "At Risk", "c": "Lost", "d": "New Customers"})
    >>> segment_migration(before, after).matrix
    to             Champions  Lost  At Risk  New Customers
    from
    Champions              1     0        1              0
    Lost                   0     1        0              0
    At Risk                0     0        0              0
    New Customers          0     0        0              0
    (new)                  0     0        0              1
    """
    # Customers are matched across the two dates by id, so a `customer_id` column must become the index first.
    if isinstance(before, pd.DataFrame):
        before = customer_indexed(before, "before table")
    if isinstance(after, pd.DataFrame):
        after = customer_indexed(after, "after table")
    old, new = _segments(before, segment_column, "before"), _segments(after, segment_column, "after")
    customers = old.index.union(new.index, sort=False)
    frm = old.astype("object").reindex(customers).fillna(NEW)
    to = new.astype("object").reindex(customers).fillna(GONE)
    revenue = pd.Series(0.0, index=customers)
    for table in (before, after):  # later values overwrite earlier ones
        if isinstance(table, pd.DataFrame) and revenue_column in table:
            values = table[revenue_column].astype("float64").reindex(customers)
            revenue = values.where(values.notna(), revenue)
    # One list of segments for rows and columns, so stays sit on the diagonal.
    labels = list(dict.fromkeys([*_order(old), *_order(new)]))
    rows = [*labels, NEW]
    cols = [*labels, GONE] if (to == GONE).any() else labels
    matrix = pd.crosstab(frm, to).reindex(index=rows, columns=cols, fill_value=0).astype("int64")
    matrix.index.name, matrix.columns.name = "from", "to"
    flows = (pd.DataFrame({"from": frm, "to": to, "revenue": revenue})
             .groupby(["from", "to"], sort=False).agg(customers=("revenue", "size"), revenue=("revenue", "sum"))
             .reset_index())
    flows["share_of_from"] = flows["customers"] / flows.groupby("from")["customers"].transform("sum")
    flows["moved"] = flows["from"] != flows["to"]
    flows = flows.sort_values(["customers", "revenue"], ascending=False, kind="stable").reset_index(drop=True)
    return SegmentMigration(matrix, flows[["from", "to", "customers", "share_of_from", "revenue", "moved"]])


def migration_headlines(migration: SegmentMigration, *, since=None, currency: str = "USD") -> list[str]:
    """What moved between the two dates, as sentences that hold for any store (no earlier customers, nobody
    moving, everyone new).

    Parameters
    ----------
    migration : SegmentMigration
        Output of :func:`segment_migration`.
    since : date-like, optional
        The earlier date, named in the first sentence.
    currency : str
        ISO code used to write money.

    Returns
    -------
    list of str: new customers and how many earlier customers kept their segment; the largest move of earlier
    customers (or that none moved). Markdown sentences: segment names are escaped, and money too (``\\$120``).

    Examples
    --------
    >>> before = pd.DataFrame({"segment": ["Champions", "Champions"]}, index=["a", "b"])
    >>> after = pd.DataFrame({"segment": ["Champions", "At Risk", "New Customers"],
    ...                       "total_revenue": [300.0, 120.0, 40.0]}, index=["a", "b", "c"])
    >>> for line in migration_headlines(segment_migration(before, after), since="2024-03-31"):
    ...     print(line)
    Since 31 Mar 2024: 1 new customer; 1 of the 2 earlier customers kept their segment.
    The largest move of earlier customers: 1 customer from Champions to At Risk, who brought \\$120.
    """
    matrix, flows = migration.matrix, migration.flows
    new = int(matrix.loc[NEW].sum()) if NEW in matrix.index else 0
    earlier = flows[flows["from"] != NEW]
    n_earlier = int(earlier["customers"].sum())
    stayed = int(earlier.loc[~earlier["moved"], "customers"].sum())
    start = f"Since {pd.Timestamp(since):%d %b %Y}: " if since is not None else ""
    first = f"{start}{new:,} new customer{'s' if new != 1 else ''}; "
    if n_earlier == 0:
        return [first + "there were no earlier customers to compare with."]
    lines = [first + f"{stayed:,} of the {n_earlier:,} earlier customer{'s' if n_earlier != 1 else ''} kept "
             "their segment."]
    moves = migration.largest_flows(n=1, include_new=False)
    if moves.empty:
        lines.append("No earlier customer changed segment.")
    else:
        move = moves.iloc[0]
        k = int(move["customers"])
        lines.append(f"The largest move of earlier customers: {k:,} customer{'s' if k != 1 else ''} from "
                     f"{escape_markdown(move['from'])} to {escape_markdown(move['to'])}, who brought "
                     f"{markdown_money(float(move['revenue']), currency)}.")
    return lines


def segments_between(orders: pd.DataFrame, *, since, as_of=None, scheme="classic", bins: int = 5,
                     monetary: str = "total") -> SegmentMigration:
    """RFM segments of the same customers at ``since`` and at ``as_of``, and the movement between them.

    Both dates are scored on today's scale: the later date's score cut points are applied to the earlier
    values (``method="fixed"``), so a customer who keeps buying as before keeps their segment. Score schemes
    only (``classic`` and user score schemes); the value-activity ``one_to_one`` scheme needs events.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (:func:`clvlib.read_transactions`).
    since, as_of : date-like
        The earlier and the later date (``as_of`` defaults to the last order date).
    scheme, bins, monetary
        As in :func:`clvlib.rfm_segments`, :func:`clvlib.rfm_scores` and :func:`clvlib.rfm_table`.

    Returns
    -------
    SegmentMigration
        Its flows' ``revenue`` is each customer's revenue to ``as_of``.
    """
    import warnings

    from ..summary import customer_summary
    from .scores import rfm_scores, rfm_table
    from .segments import rfm_segments

    customers = customer_summary(orders, as_of=as_of, warn=False)
    later = pd.Timestamp(customers.attrs["as_of"])
    earlier = pd.Timestamp(since)
    if earlier >= later:
        raise ValueError(f"`since` ({earlier.date()}) must be before `as_of` ({later.date()}).")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the RFM page states the score notes; here only segments
        scores = rfm_scores(rfm_table(customers, as_of=later, monetary=monetary), bins=bins)
    after = rfm_segments(scores, scheme=scheme, bins=bins)
    after = after.assign(total_revenue=customers["total_revenue"].reindex(after.index))
    before_customers = customer_summary(orders, as_of=earlier, warn=False)
    if before_customers.empty:
        before = pd.Series(dtype="object", name="segment")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # today's scale may leave earlier levels empty
            before_scores = rfm_scores(rfm_table(before_customers, as_of=earlier, monetary=monetary), bins=bins,
                                       method="fixed", thresholds=scores.attrs["rfm_thresholds"])
        before = rfm_segments(before_scores, scheme=scheme, bins=bins)
    return segment_migration(before, after)
