"""The cleaning rules that turn parsed input rows into orders, and the report that accounts for every row.

Rows flow through the rules in a fixed order; the first rule that applies to a row gives its reason, so each
excluded row is counted exactly once (:data:`REASONS` lists them in that order). Money policy: an order's revenue
is the sum of its kept rows' amounts minus any refunded amount; fully refunded, cancelled, unpaid and test orders
are not purchases; an order whose net revenue is zero or negative is dropped (except in presets that document
otherwise, such as CDNOW). Every input row ends up either in an order (``rows_kept``) or under a reason, and the
money reconciles: ``input revenue == kept revenue + refunds applied + excluded revenue``.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._results import result_html
from .._validation import is_currency_code
from ..errors import DataError
from ..formatting import format_money
from .readers import AMOUNT_CEILING

__all__ = ["CleaningReport", "REASONS", "MISSING_IDS", "normalise_status", "normalise_email", "is_placeholder"]

#: Text that means "no value" in a customer id or email column (compared trimmed and case-insensitively): such
#: an order is a guest order, never a customer called "NULL".
MISSING_IDS = frozenset({"", "nan", "na", "n/a", "none", "null", "-", "#n/a"})

REASONS: dict[str, str] = {
    "non-product line": "postage, fees and adjustments, not goods",
    "absurd amount": "amount not finite (inf, 1e309) or above 1e12 in absolute value; left out of the revenue "
                     "accounting",
    "duplicate": "exact repeat of an earlier row",
    "test order": "flagged as a test",
    "cancelled": "status cancelled or voided",
    "fully refunded": "refunded in full (status refunded, or refunds and returns ≥ the order total)",
    "pending or unpaid": "status pending, on hold, failed, unpaid or authorised only",
    "unparseable value": "blank date, order id or amount",
    "other currency": "not in the store currency and no rate given",
    "after as_of": "order date after as_of",
    "missing customer": "a return without a customer, so it cannot reduce anyone's revenue",
    "return without matching order": "a return with no earlier kept order of the same customer",
    "zero or negative amount": "net revenue ≤ 0 (or a line priced ≤ 0)",
}

KEPT_STATUSES = {"paid", "completed", "complete", "processing", "fulfilled", "shipped", "delivered",
                 "partially_refunded", "partially_fulfilled", "succeeded", "disputed"}
STATUS_REASONS = {
    "cancelled": "cancelled", "canceled": "cancelled", "voided": "cancelled", "void": "cancelled",
    "refunded": "fully refunded",
    **{s: "pending or unpaid" for s in ("pending", "on_hold", "failed", "unpaid", "authorized", "authorised",
                                        "partially_paid", "pending_payment", "expired", "draft", "checkout_draft",
                                        "uncaptured", "incomplete", "requires_payment_method", "requires_action",
                                        "requires_confirmation", "requires_capture", "blocked")},
}
_TRUE = {"1", "true", "yes", "y", "t", "x", "test"}


def on_distinct(values: pd.Series, function) -> pd.Series:
    """``function(values)`` for a function of each text value alone, computed once per distinct value.

    Statuses, currencies and flags repeat over millions of rows; text kernels (or Python regexes, which pandas
    uses for ``\\s``) then run on a handful of values. Only for text columns with few distinct values; anything
    else is passed to ``function`` as it is.
    """
    if len(values) < 10_000 or not isinstance(values.dtype, pd.StringDtype):
        return function(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if len(uniques) > len(values) // 4:
        return function(values)
    done = function(pd.Series(uniques, dtype=values.dtype))
    return pd.Series(done.array.take(codes), index=values.index, name=values.name)


def normalise_status(status: pd.Series) -> pd.Series:
    """Lower-case statuses with WooCommerce's ``wc-`` prefix dropped and spaces/dashes as underscores.

    Examples
    --------
    >>> normalise_status(pd.Series(["wc-on-hold", " Partially Refunded", "PAID"])).tolist()
    ['on_hold', 'partially_refunded', 'paid']
    """
    return on_distinct(status, _normalise_status)


def _normalise_status(status: pd.Series) -> pd.Series:
    text = status.astype("str").str.strip().str.lower()
    return text.str.removeprefix("wc-").str.replace(r"[\s\-]+", "_", regex=True).replace({"": np.nan, "nan": np.nan})


def is_placeholder(text: pd.Series) -> pd.Series:
    """Whether each (text) value is blank or a placeholder of :data:`MISSING_IDS` ("NULL", "n/a", "-", ...)."""
    return text.isna() | text.str.strip().str.lower().isin(MISSING_IDS)


def normalise_email(email: pd.Series) -> pd.Series:
    """Trimmed, lower-cased emails; blanks and placeholders (:data:`MISSING_IDS`) become missing.

    Examples
    --------
    >>> normalise_email(pd.Series([" Ann@Example.COM ", "", "NULL"])).tolist()
    ['ann@example.com', nan, nan]
    """
    text = email.astype("str").str.strip().str.lower()
    return text.where(~text.isin(MISSING_IDS) & email.notna())


def truthy(values: pd.Series) -> pd.Series:
    """Boolean flags from booleans, numbers or words (1/true/yes/y/t)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.fillna(False).astype(bool)
    return on_distinct(values, lambda flags: flags.astype("str").str.strip().str.lower().isin(_TRUE))


# eq=False: pandas compares attrs when it derives frames (nlargest, concat), and a generated __eq__ would compare
# the `excluded` DataFrame, which has no single truth value.
@dataclass(eq=False)
class CleaningReport:
    """Row accounting of :func:`clvlib.read_transactions`: rows read, kept, and excluded by reason.

    Attributes
    ----------
    source : str
        File name, or "DataFrame".
    rows_read, rows_kept : int
        Input rows, and input rows that made it into an order. ``rows_read == rows_kept + excluded.rows.sum()``.
    excluded : DataFrame
        Indexed by ``reason`` (every reason in :data:`REASONS`, zero where none), columns ``rows``, ``revenue``
        (the amount those rows carried) and ``note``.
    orders, guest_orders, customers : int
        Orders kept; of which without a customer key; distinct customers.
    revenue, input_revenue, refunds_applied : float
        Net revenue of the kept orders; the amount all rows carried; partial refunds subtracted from kept orders.
    currency : str or None
        The store currency of the table.
    unmatched_returns : DataFrame
        Returns that no kept order of their customer could take (reasons "missing customer" and "return without
        matching order"): ``order_date``, ``order_id``, ``customer_id``, ``revenue`` (negative). They reduce no
        customer's revenue, but they are money the store paid back: :attr:`store_revenue` subtracts them.
    notes : list of str
        What else was done (refunds applied, emails normalised, currency conversions, statuses not recognised).
    table : DataFrame
        The accounting as one table (:meth:`to_frame`).
    verdict : str
        Rows kept of rows read, and the main reason for the exclusions, in one sentence.
    """

    source: str
    rows_read: int
    rows_kept: int
    excluded: pd.DataFrame
    orders: int
    guest_orders: int
    customers: int
    revenue: float
    input_revenue: float
    refunds_applied: float = 0.0
    currency: str | None = None
    notes: list[str] = field(default_factory=list)
    unmatched_returns: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"order_date": pd.Series(dtype="datetime64[ns]"), "order_id": pd.Series(dtype="str"),
         "customer_id": pd.Series(dtype="str"), "revenue": pd.Series(dtype="float64")}))

    def __post_init__(self):
        # A raise, not an assert: the check must hold under `python -O` too. Rows that vanish are a bug of the
        # cleaning rules, not of the data, hence RuntimeError rather than DataError.
        excluded = int(self.excluded["rows"].sum())
        if self.rows_read != self.rows_kept + excluded:
            raise RuntimeError(
                f"{self.source}: row accounting broken: {self.rows_read:,} rows read, but {self.rows_kept:,} kept "
                f"+ {excluded:,} excluded = {self.rows_kept + excluded:,}")

    @property
    def store_revenue(self) -> float:
        """The store's net revenue: kept orders' revenue less the returns no order could take (all refunds out)."""
        return self.revenue + float(self.unmatched_returns["revenue"].sum())

    def to_frame(self) -> pd.DataFrame:
        """The accounting as one table: rows read, each reason with rows excluded, and rows kept."""
        excluded = self.excluded[self.excluded["rows"] > 0]
        head = pd.DataFrame({"rows": [self.rows_read], "revenue": [self.input_revenue], "note": [self.source]},
                            index=["rows read"])
        tail = pd.DataFrame(
            {"rows": [self.rows_kept], "revenue": [self.revenue],
             "note": [f"{self.orders:,} orders ({self.guest_orders:,} guest), {self.customers:,} customers"]},
            index=["kept"],
        )
        body = excluded.rename(index=lambda r: f"excluded: {r}")
        parts = [head, body]
        if self.refunds_applied:
            parts.append(pd.DataFrame({"rows": [0], "revenue": [self.refunds_applied],
                                       "note": ["partial refunds subtracted from kept orders"]},
                                      index=["refunds subtracted"]))
        if len(self.unmatched_returns):
            tail = pd.concat([tail, pd.DataFrame(
                {"rows": [0], "revenue": [self.store_revenue],
                 "note": [f"kept revenue less {len(self.unmatched_returns):,} returns no order could take "
                          "(guest returns, returns of sales before the data)"]}, index=["store revenue"])])
        frame = pd.concat([*parts, tail])
        frame.index.name = "step"
        return frame.astype({"rows": "int64", "revenue": "float64"})

    @property
    def table(self) -> pd.DataFrame:
        """The main table: :meth:`to_frame`."""
        return self.to_frame()

    @property
    def verdict(self) -> str:
        """One plain sentence: rows kept of rows read, what they make, and the main reason for exclusions."""
        excluded = self.excluded[self.excluded["rows"] > 0]
        text = (f"{self.rows_kept:,} of {self.rows_read:,} rows kept: {self.orders:,} orders "
                f"({self.guest_orders:,} guest) from {self.customers:,} customers, revenue "
                f"{self._money(self.revenue)}")
        if excluded.empty:
            return text + "; nothing excluded."
        top = excluded["rows"].idxmax()
        n_excluded = int(excluded["rows"].sum())
        return text + (f"; {n_excluded:,} excluded, most as \"{top}\" ({int(excluded.loc[top, 'rows']):,} rows).")

    def _money(self, amount: float) -> str:
        # format_money needs a currency; a table read without one shows plain amounts (2 decimals).
        return format_money(amount, self.currency) if self.currency else f"{amount:,.2f}"

    def __str__(self) -> str:
        frame = self.to_frame()
        width = max(len(i) for i in frame.index)
        money = [self._money(v) for v in frame["revenue"]]
        money_width = max(len(m) for m in money)
        lines = [f"Cleaning report for {self.source}" + (f" (currency {self.currency})" if self.currency else "")]
        for (step, row), amount in zip(frame.iterrows(), money):
            lines.append(f"  {step:<{width}}  {row['rows']:>10,}  {amount:>{money_width}}  {row['note']}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        # Everything from the data (the file name, notes quoting statuses or currencies) is escaped: the report
        # shows what a shop export holds, and a notebook page must show it as text, never run it.
        # A formatter's output is not escaped by Styler: the money (with its currency) is escaped here.
        styled = (self.to_frame().style.format({"rows": "{:,}", "revenue": lambda v: html.escape(self._money(v))},
                                               escape="html")
                  .format_index(escape="html", axis=0).format_index(escape="html", axis=1))
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<p><b>Cleaning report for {html.escape(self.source)}</b></p><p>{html.escape(self.verdict)}</p>"
                f"{styled.to_html()}" + (f"<ul>{notes}</ul>" if notes else ""))


class Ledger:
    """The reason each row is excluded for, set once by the first rule that applies.

    ``reason`` is missing for rows still kept; set it through :meth:`exclude` only, which also keeps the kept rows
    as a boolean array (looking for missing values in a million-row object column, at every rule, is slow).
    """

    def __init__(self, n: int, preset_reasons: pd.Series | None = None):
        self.reason = pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="object")
        if preset_reasons is None:
            self._kept = np.ones(n, dtype=bool)
        else:
            self.reason[:] = preset_reasons.to_numpy()
            self._kept = self.reason.isna().to_numpy(copy=True)
        self.notes: dict[str, str] = {}

    def exclude(self, mask, reason: str, note: str | None = None) -> None:
        mask = np.asarray(mask, dtype=bool) & self._kept
        if mask.any():
            self.reason[mask] = reason
            self._kept &= ~mask
        # A specific note describes rows it excluded; with none, the reason's general description stands. So a
        # rule that excludes nothing leaves no trace (loading up to the last order date is the same table, report
        # and all, as loading with no date: report runs rely on it).
        if note and mask.any():
            self.notes[reason] = note

    @property
    def kept(self) -> np.ndarray:
        return self._kept.copy()


def apply_row_rules(lines: pd.DataFrame, ledger: Ledger, *, source: str, as_of=None, strict: bool = False,
                    currency: str | None = None, rates: dict | None = None, dedupe: bool = True,
                    notes: list[str]) -> tuple[pd.DataFrame, str | None]:
    """Apply the row rules in order; return the lines (amounts converted where rates apply) and the currency.

    ``lines`` holds parsed canonical columns (``order_date`` datetime, ``revenue`` float, ...) and ``_dup`` (True
    for a row repeating an earlier one).
    """
    money = [c for c in ("revenue", "refunded", "cost") if c in lines]
    absurd = {c: (lines[c].notna() & ~(lines[c].abs() <= AMOUNT_CEILING)).to_numpy() for c in money}
    if any(a.any() for a in absurd.values()):
        rows = np.logical_or.reduce(list(absurd.values()))
        shown = [f"row {i + 1}: " + ", ".join(f"{c}={lines[c].iloc[i]:g}" for c in money if absurd[c][i])
                 for i in np.flatnonzero(rows)[:3]]
        ledger.exclude(rows, "absurd amount",
                       f"amount not finite or above {AMOUNT_CEILING:g} in absolute value ({'; '.join(shown)}); "
                       "those amounts are left out of the revenue accounting")
        # The absurd amounts themselves carry no money into the accounting (inf cannot be added up).
        lines = lines.assign(**{c: lines[c].where(~absurd[c]) for c in money if absurd[c].any()})
    if dedupe and "_dup" in lines:
        ledger.exclude(lines["_dup"], "duplicate")
    if "is_test" in lines:
        ledger.exclude(truthy(lines["is_test"]), "test order")
    if "status" in lines:
        status = normalise_status(lines["status"])
        reasons = on_distinct(status, lambda s: s.map(STATUS_REASONS))
        for reason in ("cancelled", "fully refunded", "pending or unpaid"):
            ledger.exclude(reasons.eq(reason).fillna(False), reason)
        unknown = status.notna() & ~status.isin(KEPT_STATUSES) & ~status.isin(STATUS_REASONS)
        if unknown.any():
            counts = status[unknown].value_counts()
            message = ", ".join(f"{s!r} ({n:,} rows)" for s, n in counts.items())
            notes.append(f"statuses not recognised, kept as purchases: {message}")
            warnings.warn(f"{source}: statuses not recognised, kept as purchases: {message}", UserWarning,
                          stacklevel=4)
    blank = lines["order_date"].isna() | lines["revenue"].isna()
    if "order_id" in lines:
        blank |= lines["order_id"].isna()
    ledger.exclude(blank, "unparseable value")

    store = currency
    if "currency" in lines:
        codes = on_distinct(lines["currency"], lambda c: c.astype("str").str.strip().str.upper().where(c.notna()))
        seen = codes[ledger.kept].dropna()
        if store is None and len(seen):
            store = seen.mode().sort_values().iloc[0]
        if store is not None:
            store = store.upper()
            if not is_currency_code(store):  # it labels every page: nothing else may pass
                example = lines.loc[codes.eq(store), "currency"].head(3).tolist()
                raise DataError(
                    f"{source}: column `currency`: the store currency would be {store!r}, which is not a three-letter "
                    f"ISO 4217 code (first rows: {example}). Fix the column, or pass the store currency "
                    "(`currency=`, `--currency`).")
            rates = {k.upper(): float(v) for k, v in (rates or {}).items()}
            other = codes.notna() & codes.ne(store)
            convert = other & codes.isin(list(rates))
            if convert.any():
                factor = codes.map(rates).where(convert, 1.0).astype("float64")
                lines = lines.assign(**{c: lines[c] * factor for c in ("revenue", "refunded", "cost") if c in lines})
                done = ", ".join(f"{c} at {rates[c]:g}" for c in sorted(codes[convert].unique()))
                notes.append(f"converted {int(convert.sum()):,} rows to {store}: {done}")
            ledger.exclude(other & ~convert, "other currency", f"not {store} and no rate given in `rates`")
            lines = lines.assign(currency=store)

    if as_of is not None:
        cutoff = pd.Timestamp(as_of)
        cutoff = (cutoff.tz_localize(None) if cutoff.tzinfo else cutoff).normalize()
        late = (lines["order_date"] > cutoff).to_numpy()
        if strict and late.any():
            first = np.flatnonzero(late)[:3]
            raise DataError(f"{source}: column `order_date` has dates after as_of={cutoff.date()}: "
                            + ", ".join(f"row {i + 1}: {lines['order_date'].iloc[i].date()}" for i in first))
        ledger.exclude(late, "after as_of", f"order date after {cutoff.date()}")
    return lines, store


def _strictly_monotonic(values: pd.Series) -> bool:
    """Whether the values (none missing) strictly increase or strictly decrease: then no two are equal."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        text = pa.array(values.array)
        return any(pc.all(compare(text[:-1], text[1:])).as_py() for compare in (pc.less, pc.greater))
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy()
        return bool((numbers[:-1] < numbers[1:]).all() or (numbers[:-1] > numbers[1:]).all())
    return False


def repeats(values: pd.Series) -> np.ndarray:
    """Whether each value occurs more than once (missing values equal): ``values.duplicated(keep=False)``.

    Ids that strictly increase or decrease down the table (an export sorted by order number) are all distinct
    without hashing them.
    """
    if len(values) < 2 or values.notna().all() and _strictly_monotonic(values):
        return np.zeros(len(values), dtype=bool)
    return values.duplicated(keep=False).to_numpy()


def net_amount(lines: pd.DataFrame) -> pd.Series:
    """Each row's amount net of its refunded amount (blank amounts count as 0)."""
    net = lines["revenue"].fillna(0.0)
    if "refunded" in lines:
        net = net - lines["refunded"].fillna(0.0)
    return net


def aggregate_orders(lines: pd.DataFrame, ledger: Ledger, *, keep_zero: bool = False,
                     first_fields=("customer_id", "email", "order_date", "currency", "channel", "product",
                                   "master_id"),
                     sum_fields=("quantity", "cost")) -> pd.DataFrame:
    """One row per order from the kept rows; orders with net revenue ≤ 0 go to the ledger instead.

    An order whose refunds or returns (negative rows) bring it to zero or below is "fully refunded"; other
    non-positive orders are
    "zero or negative amount" (kept when ``keep_zero`` and exactly zero).
    """
    firsts = [c for c in first_fields if c in lines]
    sums = [c for c in sum_fields if c in lines]
    # Only the columns an order is made of are carried (a copy of every column costs time and memory).
    wanted = list(dict.fromkeys(["order_id", "revenue", *(["refunded"] if "refunded" in lines else []), *firsts,
                                 *sums]))
    rows = np.flatnonzero(ledger.kept)
    kept = lines[wanted] if len(rows) == len(lines) else lines[wanted].iloc[rows]
    key = kept["order_id"]
    if key.notna().all() and (len(key) < 2 or _strictly_monotonic(key)):
        return _single_row_orders(lines, kept, ledger, keep_zero=keep_zero, first_fields=firsts, sum_fields=sums)
    # Order ids as codes in order of first appearance, hashed once for every step below. The group-by runs on them
    # as floats, missing ids as NaN: the same groups, in the same order, as grouping by the ids themselves, so the
    # same summation (pandas adds sorted groups with ``np.add.reduceat``, others with compensated sums).
    codes, ids = pd.factorize(key)
    if not (codes < 0).any() and np.bincount(codes, minlength=len(ids)).max(initial=0) <= 1:
        return _single_row_orders(lines, kept, ledger, keep_zero=keep_zero, first_fields=firsts, sum_fields=sums)
    group = np.where(codes >= 0, codes, np.nan)
    kept = kept.assign(_net=net_amount(kept), _gross=kept["revenue"].fillna(0.0).clip(lower=0.0))
    grouped = kept.groupby(group, sort=False)
    totals = grouped[["_net", "_gross"]].sum()
    refunded = ((totals["_gross"] > 0) & (totals["_net"] < totals["_gross"] - 1e-9)).to_numpy()
    bad = (totals["_net"] < 0 if keep_zero else totals["_net"] <= 1e-9).to_numpy()
    if bad.any():
        order = totals.index.to_numpy().astype(np.intp)
        bad_order, refunded_order = np.zeros(len(ids) + 1, dtype=bool), np.zeros(len(ids) + 1, dtype=bool)
        bad_order[order[bad]] = True  # (the extra last entry, False, is for rows without an order id)
        refunded_order[order[bad & refunded]] = True
        in_bad, by_refund = np.zeros(len(lines), dtype=bool), np.zeros(len(lines), dtype=bool)
        in_bad[rows] = bad_order[codes]
        by_refund[rows] = refunded_order[codes]
        ledger.exclude(in_bad & by_refund, "fully refunded")
        ledger.exclude(in_bad, "zero or negative amount")
        still = ~bad_order[codes]
        kept, group = kept[still], group[still]
        grouped = kept.groupby(group, sort=False)
    orders = grouped[firsts].first()
    orders["revenue"] = grouped["_net"].sum()
    for c in sums:
        orders[c] = grouped[c].sum(min_count=1)
    orders.index = pd.Index(ids.take(orders.index.to_numpy().astype(np.intp)), name="order_id")
    return orders.reset_index()


def _single_row_orders(lines: pd.DataFrame, kept: pd.DataFrame, ledger: Ledger, *, keep_zero: bool, first_fields,
                       sum_fields) -> pd.DataFrame:
    """:func:`aggregate_orders` when every kept row is an order of its own (no order id repeats): no grouping.

    The same table, row for row: a group's first value is the row's, and so is its sum (pandas adds one-row groups,
    sorted, with ``np.add.reduceat``; a column with a missing value takes compensated sums, which start at 0.0 and
    so turn -0.0 into 0.0), orders in the order of the rows.
    """
    net = net_amount(kept)
    bad = (net < 0 if keep_zero else net <= 1e-9).to_numpy()
    if bad.any():
        gross = kept["revenue"].fillna(0.0).clip(lower=0.0)
        refunded = ((gross > 0) & (net < gross - 1e-9)).to_numpy()
        rows = np.flatnonzero(ledger.kept)
        in_bad, by_refund = np.zeros(len(lines), dtype=bool), np.zeros(len(lines), dtype=bool)
        in_bad[rows[bad]] = True
        by_refund[rows[bad & refunded]] = True
        ledger.exclude(in_bad & by_refund, "fully refunded")
        ledger.exclude(in_bad, "zero or negative amount")
        kept, net = kept[~bad], net[~bad]
    columns = {"order_id": kept["order_id"]}
    columns.update({c: kept[c] for c in first_fields if c in kept})
    columns["revenue"] = net
    columns.update({c: kept[c] + 0.0 if kept[c].isna().any() else kept[c] for c in sum_fields if c in kept})
    return pd.DataFrame(columns, copy=False).reset_index(drop=True)


def excluded_table(lines: pd.DataFrame, ledger: Ledger) -> pd.DataFrame:
    """Rows and revenue excluded per reason (every reason listed, zero where none)."""
    excluded = ~ledger.kept
    amount = lines["revenue"].fillna(0.0).to_numpy()
    frame = pd.DataFrame({"reason": ledger.reason.to_numpy()[excluded], "revenue": amount[excluded]})
    counts = frame.groupby("reason").agg(rows=("revenue", "size"), revenue=("revenue", "sum"))
    extra = [r for r in counts.index if r not in REASONS]
    table = counts.reindex(list(REASONS) + extra).fillna({"rows": 0, "revenue": 0.0})
    table["note"] = [ledger.notes.get(r, REASONS.get(r, "")) for r in table.index]
    table.index.name = "reason"
    return table.astype({"rows": "int64", "revenue": "float64", "note": "str"})


#: Reasons under which a return is left out of every customer's revenue although the store paid it back.
UNMATCHED_RETURN_REASONS = ("missing customer", "return without matching order")


def _unmatched_returns(lines: pd.DataFrame, ledger: Ledger) -> pd.DataFrame:
    hit = ~ledger.kept  # (pd.NA, the reason of kept rows, is slow to look up: only excluded rows are)
    hit[hit] = ledger.reason[hit].isin(UNMATCHED_RETURN_REASONS).to_numpy()
    cols = [c for c in ("order_date", "order_id", "customer_id", "revenue") if c in lines]
    # (Selecting no rows by a mask still copies text columns: none selected is the empty slice.)
    table = (lines.loc[hit, cols] if hit.any() else lines[cols].iloc[:0]).reset_index(drop=True)
    return table.astype({c: "str" for c in ("order_id", "customer_id") if c in table})


def build_report(lines: pd.DataFrame, ledger: Ledger, orders: pd.DataFrame, *, source: str, currency,
                 notes: list[str]) -> CleaningReport:
    """Assemble the report and check that rows and money reconcile."""
    excluded = excluded_table(lines, ledger)
    kept_rows = ledger.kept
    money = [c for c in ("revenue", "refunded") if c in lines]
    kept = lines[money] if kept_rows.all() else lines.loc[kept_rows, money]
    gross_kept = float(kept["revenue"].fillna(0.0).sum())
    # (Without refunds the net amounts are the amounts: the same sum, so nothing is subtracted.)
    refunds = gross_kept - float(net_amount(kept).sum()) if "refunded" in kept else 0.0
    if refunds > 0:
        amount = format_money(refunds, currency, cents=True) if currency else f"{refunds:,.2f}"
        notes.insert(0, f"partial refunds subtracted from kept orders: {amount}")
    report = CleaningReport(
        source=source,
        rows_read=len(lines),
        rows_kept=int(ledger.kept.sum()),
        excluded=excluded,
        orders=len(orders),
        guest_orders=int(orders["customer_id"].isna().sum()),
        customers=int(orders["customer_id"].nunique()),
        revenue=float(orders["revenue"].sum()),
        input_revenue=float(lines["revenue"].fillna(0.0).sum()),
        refunds_applied=refunds,
        currency=currency,
        notes=notes,
        unmatched_returns=_unmatched_returns(lines, ledger),
    )
    excluded_revenue = float(excluded["revenue"].sum())
    balance = report.revenue + report.refunds_applied + excluded_revenue
    if not np.isclose(balance, report.input_revenue, rtol=1e-9, atol=1e-6):
        raise RuntimeError(
            f"{source}: revenue accounting broken: input revenue {report.input_revenue:,.2f}, but kept "
            f"{report.revenue:,.2f} + refunds subtracted {report.refunds_applied:,.2f} + excluded "
            f"{excluded_revenue:,.2f} = {balance:,.2f}")
    return report
