"""Read an order export into the canonical orders table, accounting for every input row.

:func:`read_transactions` is the kit's single entry point for data: it reads a file or DataFrame, maps its
columns (a preset or ``columns=``), parses amounts and dates, applies the cleaning rules of
:mod:`clvlib.cleaning` and returns one row per order with a :class:`~clvlib.cleaning.CleaningReport` in
``attrs["cleaning"]``. Input files are opened read-only and a DataFrame passed in is never changed.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from . import readers as _readers
from .._validation import check_argument, closest, is_currency_code
from .cleaning import MISSING_IDS, REASONS, CleaningReport, Ledger, aggregate_orders, apply_row_rules, \
    build_report, normalise_email, repeats
from ..errors import DataError
from .presets import CANONICAL, PRESETS, Preset, no_reasons, column_key as _norm

__all__ = ["read_transactions", "store_currency", "CleaningReport", "PRESETS", "REASONS", "ORDER_COLUMNS"]

#: Output columns in order; the optional ones appear when the source has them.
ORDER_COLUMNS = ("customer_id", "order_id", "order_date", "revenue", "quantity", "cost", "gross_margin",
                 "channel", "product", "email", "currency", "master_id")
_NUMERIC = ("revenue", "quantity", "unit_price", "cost", "refunded", "_item_refunded", "_disputed")
_TEXT = ("customer_id", "order_id", "email", "channel", "product", "currency", "master_id")
_GENERIC = Preset(name="generic", aliases={c: (c,) for c in CANONICAL})


def _resolve(found, preset: Preset, columns: dict | None, source: str) -> dict[str, str]:
    """``{field: source column}`` from the preset's aliases, overridden by the user's ``columns``."""
    by_norm = {}
    for c in found:
        by_norm.setdefault(_norm(c), c)
    mapping = {}
    for fld, aliases in preset.aliases.items():
        for alias in aliases:
            if _norm(alias) in by_norm:
                mapping[fld] = by_norm[_norm(alias)]
                break
    for fld, col in (columns or {}).items():
        check_argument("columns", [*CANONICAL, *preset.aliases], fld)
        if col in found:
            mapping[fld] = col
        elif _norm(col) in by_norm:
            mapping[fld] = by_norm[_norm(col)]
        else:
            _missing(col, found, source, f"column `{col}` (given for `{fld}`) is not in the file", field=fld)
    if "order_date" not in mapping:
        _missing("order_date", found, source, "the required column `order_date` is missing", preset)
    if "revenue" not in mapping and not {"quantity", "unit_price"} <= set(mapping):
        _missing("revenue", found, source, "the required column `revenue` (or `quantity` and `unit_price`) is missing",
                 preset)
    if "customer_id" not in mapping and "email" not in mapping:
        _missing("customer_id", found, source, "the required column `customer_id` (or `email`) is missing", preset)
    return mapping


def _check_duplicate_header(header: list, preset: Preset, columns: dict | None, mapping: dict, source: str) -> None:
    """A column name written twice (``revenue,revenue``), where it matters, is a DataError naming it.

    pandas renames the second ``revenue`` to ``revenue.1``, so the file's own header is checked: a name the kit
    reads (a mapped column, a canonical name or a preset alias) that appears more than once, also differing only
    in case or punctuation, would silently pick one of them.
    """
    groups = {}
    for position, col in enumerate(header, start=1):
        groups.setdefault(_norm(col), []).append((position, str(col)))
    wanted = {_norm(c) for c in CANONICAL} | {_norm(a) for aliases in preset.aliases.values() for a in aliases}
    wanted |= {_norm(c) for c in mapping.values()} | {_norm(c) for c in (columns or {}).values()}
    repeated = {key: cols for key, cols in groups.items() if len(cols) > 1 and key in wanted}
    if repeated:
        described = "; ".join(" and ".join(f"`{c}` (column {i})" for i, c in cols) for cols in repeated.values())
        raise DataError(f"{source}: the header names the same column more than once: {described}. Rename or "
                        "delete the duplicate so it is clear which one holds the data.")


def _missing(name: str, found, source: str, problem: str, preset: Preset | None = None, *, field: str | None = None):
    # `name` is the column looked for; `field` the canonical field it was given for (default: `name` itself).
    candidates = [name, *(preset.aliases.get(name, ()) if preset else ())]
    near = next((m for m in (closest(c, [str(f) for f in found]) for c in candidates) if m), None)
    hint = (f" The closest match is `{near}`: pass {_readers.option_hint('columns', {field or name: near})}."
            if near else "")
    raise DataError(f"{source}: {problem}. Columns found: {[str(f) for f in found]}.{hint}")


_CONTROL = r"[\x00-\x1f\x7f-\x9f]"
_ZERO_DECIMAL = r"[-+]?\d+\.0+"
_IDS = ("customer_id", "order_id", "email")  # identifiers: control characters stripped
_NUMBERED = ("customer_id", "order_id")  # numbers written 12345.0 are 12345
_MAY_BE_MISSING = ("customer_id", "email")  # placeholders (MISSING_IDS) are missing: a guest order


def _has_space(b: np.ndarray) -> bool:
    r"""Whether bytes include any that can be part of whitespace ``str.strip`` removes: ASCII ``\t\n\v\f\r``,
    ``\x1c``-``\x1f`` and space, or the lead byte of another Unicode space (U+0085, U+00A0, U+1680, U+2000-U+205F,
    U+3000)."""
    if b.min() > 0x20 and b.max() < 0xC2:  # printable ASCII (and other scripts' letters below U+0080): none
        return False
    return bool((((b >= 0x09) & (b <= 0x0D)) | ((b >= 0x1C) & (b <= 0x20)) | (b == 0xC2)
                 | ((b >= 0xE1) & (b <= 0xE3))).any())


def _has_control(b: np.ndarray) -> bool:
    """Whether bytes include a control character's: C0, DEL, or the lead byte of C1 (U+0080-U+009F)."""
    if b.min() >= 0x20 and b.max() < 0x7F:  # printable ASCII only: none
        return False
    return bool(((b < 0x20) | (b == 0x7F) | (b == 0xC2)).any())


def _has_dot(b: np.ndarray) -> bool:
    return bool((b == 0x2E).any())


def _may_contain(text: pd.Series, test) -> bool:
    """False when no block of the text column's bytes passes ``test`` (uint8 array -> bool), so no value can
    match; True when one does, or when the column is not Arrow-backed (the exact per-value check then decides)."""
    blocks = _readers.text_bytes(text)
    return blocks is None or any(test(b) for b in blocks if len(b))


def _id_text(values: pd.Series, field: str = "", stats: dict | None = None) -> pd.Series:
    """Identifiers as trimmed text; blanks become missing. See the orders table in ARCHITECTURE.md.

    Integral numbers lose their zero decimals (``12345.0`` is ``12345``; ``12345.5`` stays), ids lose control
    characters (NUL included), and in customer id and email columns the placeholders of
    :data:`~clvlib.ingest.cleaning.MISSING_IDS` are missing. All vectorised (Arrow string kernels, cheap
    pre-filters), no Python per row; when there are control characters or decimals to look at, on the distinct
    values of a column that repeats them. ``stats`` receives ``{change: (rows, distinct values)}`` for what
    changed.
    """
    if (len(values) >= 10_000 and isinstance(values.dtype, pd.StringDtype)
            and (field in _IDS and _may_contain(values, _has_control)
                 or field in _NUMBERED and _may_contain(values, _has_dot))):
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        if len(uniques) <= len(values) // 4:
            text, changes = _id_changes(pd.Series(uniques, dtype=values.dtype), field)
            if stats is not None:
                counts = np.bincount(codes, minlength=len(uniques))
                stats.update({what: (int(counts[hit.to_numpy()].sum()), int(shown.nunique()))
                              for what, (hit, shown) in changes.items()})
            return pd.Series(text.array.take(codes), index=values.index, name=values.name)
    text, changes = _id_changes(values, field)
    if stats is not None:
        stats.update({what: (int(hit.sum()), int(shown.nunique())) for what, (hit, shown) in changes.items()})
    return text


def _id_changes(values: pd.Series, field: str) -> tuple[pd.Series, dict]:
    """:func:`_id_text` on every value: the text, and ``{change: (rows hit, their values as shown)}``."""
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.mod(1).eq(0) & values.abs().lt(2 ** 63)
        text = values.astype("str").where(~whole, values.where(whole, 0).astype("int64").astype("str"))
    else:
        text = values.astype("str")
    if _may_contain(text, _has_space):  # (stripping ids without spaces would only copy them)
        text = text.str.strip()
    changes = {}
    if field in _IDS and _may_contain(text, _has_control):
        control = text.str.contains(_CONTROL, regex=True).fillna(False).astype(bool)
        if control.any():
            changes["control characters stripped"] = (control, text[control])
            text = text.where(~control, text.str.replace(_CONTROL, "", regex=True).str.strip())
    if field in _NUMBERED and not pd.api.types.is_float_dtype(values.dtype) and _may_contain(text, _has_dot):
        dotted = text.str.contains(".", regex=False).fillna(False).astype(bool)
        if dotted.any():
            zero = dotted & text.where(dotted).str.fullmatch(_ZERO_DECIMAL).fillna(False).astype(bool)
            if zero.any():
                changes["numbers with a zero decimal part read as whole numbers (12345.0 is 12345)"] = (
                    zero, text[zero])
                text = text.where(~zero, text.str.replace(r"\.0+$", "", regex=True))
    missing = values.isna() | text.eq("").fillna(True)
    if field in _MAY_BE_MISSING:
        short = ~missing & text.str.len().le(max(map(len, MISSING_IDS))).fillna(False).astype(bool)
        if short.any():
            placeholder = short & text.where(short).str.lower().isin(MISSING_IDS)
            if placeholder.any():
                found = sorted(set(text[placeholder]))
                changes["placeholders read as missing, so guest orders ("
                        + ", ".join(repr(v) for v in found[:6]) + (", ..." if len(found) > 6 else "") + ")"] = (
                    placeholder, text[placeholder])
                missing |= placeholder
    return (text.where(~missing) if missing.any() else text).astype("str"), changes


def _amounts_dialect(lines: pd.DataFrame, *, sep, date_hint: bool) -> tuple[str, str | None, str | None]:
    """(decimal, thousands, note) for amounts written as text when the caller gave no ``decimal``.

    European (``1.234,56``) when the file is ``;``-separated or its dates are written ``dd.mm.yyyy``, and every
    amount column reads that way: with a decimal comma somewhere, or with dot-grouped thousands only
    (``2.500`` is 2500, a guess the note states).
    """
    money = [lines[c] for c in ("revenue", "unit_price", "cost", "refunded") if c in lines and lines[c].dtype == "str"]
    if not money or not (sep == ";" or date_hint) or not all(_readers.european_compatible(a) for a in money):
        return ".", None, None
    if any(_readers.looks_european(a) for a in money):
        return ",", ".", "amounts read with a decimal comma (European dialect detected)"
    dotted = [a for a in money if _readers.looks_dot_thousands(a)]
    if dotted:
        why = "the file is ';'-separated" if sep == ";" else "its dates are written dd.mm.yyyy"
        example = dotted[0][dotted[0].str.contains(".", regex=False).fillna(False).astype(bool)].iloc[0].strip()
        value = _readers.to_number(pd.Series([example]), column="", source="", decimal=",", thousands=".").iloc[0]
        return ",", ".", (f"amounts read with '.' as the thousands separator ({example!r} is {value:,.0f}): {why} "
                          f"(a European export) and no amount has a decimal point; pass {_readers.option_hint('decimal', '.')} if "
                          f"{example!r} means {example.replace(' ', '')}")
    return ".", None, None


def _parse(lines: pd.DataFrame, *, source, mapping, decimal, thousands, sep, timezone, date_format, dayfirst,
           notes: list):
    """Amounts to float, dates to calendar days, identifiers to trimmed text; what was guessed goes to ``notes``."""
    if decimal is None:
        dates = lines["order_date"]
        head = dates.dropna().head(50).astype("str") if dates.dtype in ("str", object) else None
        date_hint = head is not None and bool(len(head)) and bool(
            head.str.match(r"\s*\d{1,2}\.\d{1,2}\.\d{2,4}").all())
        decimal, found_thousands, note = _amounts_dialect(lines, sep=sep, date_hint=date_hint)
        thousands = thousands or found_thousands
        if note:
            notes.append(note)
    parsed = {c: _readers.to_number(lines[c], column=mapping[c], source=source, decimal=decimal,
                                    thousands=thousands) for c in _NUMERIC if c in lines}
    info = {}
    parsed["order_date"] = _readers.to_dates(lines["order_date"], column=mapping["order_date"], source=source,
                                             timezone=timezone, date_format=date_format, dayfirst=dayfirst,
                                             info=info)
    if info.get("why") == "ambiguous":
        example = info["example"]
        as_read = parsed["order_date"][lines["order_date"].astype("str").str.strip().str.startswith(example)
                                       .fillna(False).to_numpy(bool)]
        message = (f"dates in `{mapping['order_date']}` are ambiguous (every day and month is 12 or less): read "
                   f"month first, so {example!r} is {as_read.iloc[0]:%Y-%m-%d}; if they are written day first, pass "
                   f"{_readers.option_hint('dayfirst', True)} (or {_readers.option_hint('date_format')}, e.g. '%d/%m/%Y')")
        notes.append(message)
        warnings.warn(f"{source}: {message}", UserWarning, stacklevel=4)
    elif info.get("order") == "day first" and dayfirst is None:
        notes.append(f"dates in `{mapping['order_date']}` read day first: {info['why']}")
    for c in _TEXT:
        if c in lines:
            stats = {}
            parsed[c] = _id_text(lines[c], c, stats)
            notes.extend(f"`{mapping.get(c, c)}`: {what}: {rows:,} rows ({n:,} distinct values)"
                         for what, (rows, n) in stats.items())
    return lines.assign(**parsed), decimal


#: An email address as a customer key: normalised (trimmed, lower-cased) wherever the key comes from.
_EMAIL_LIKE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _customer_key(lines: pd.DataFrame, preset: Preset, *, explicit: set, mapping: dict, notes: list) -> pd.DataFrame:
    """The customer key (see the orders table in ARCHITECTURE.md); what was decided goes to ``notes``.

    Email-keyed presets (Shopify, WooCommerce, Stripe) key by the normalised email, else the platform's id; other
    input by ``customer_id``, else the email. A column the caller mapped beats one found by name: mapping only
    ``email`` keys by email even when the file also has a ``Customer ID`` column (which then fills the gaps), and
    mapping only ``customer_id`` keys by that column. Keys that are email addresses are normalised like emails
    however they were mapped, so ``Ann@Shop.com`` and ``ann@shop.com`` are one customer.
    """
    email = normalise_email(lines["email"]) if "email" in lines else None
    ids = lines["customer_id"] if "customer_id" in lines else None
    if ids is not None and preset.guest_ids:
        ids = ids.where(~ids.isin(preset.guest_ids))
    by_email = preset.key == "email"
    if "email" in explicit and "customer_id" not in explicit:
        by_email = True
    elif "customer_id" in explicit and "email" not in explicit:
        by_email = False
    if email is not None and (by_email or ids is None):
        key, primary = (email, "email") if ids is None else (email.fillna(ids), "email")
    else:
        key, primary = ids, "customer_id"
    if email is not None:
        notes.append("emails normalised (trimmed, lower-cased)" + (
            f" and used as the customer key (`{mapping['email']}`" + (
                f", else `{mapping['customer_id']}`)" if ids is not None else ")") if primary == "email" else ""))
    # The email pattern needs Python's regex engine (pandas runs `\s` row by row): only when an "@" is there at all.
    if primary == "customer_id" and _may_contain(key, lambda b: bool((b == 0x40).any())):
        looks = key.str.contains(_EMAIL_LIKE, regex=True).fillna(False).astype(bool)
        if looks.any():
            before = key[looks].nunique()
            key = key.where(~looks, normalise_email(key[looks]))
            merged = before - key[looks].nunique()
            notes.append(f"`{mapping['customer_id']}`: {int(looks.sum()):,} customer ids are email addresses, "
                         f"normalised like emails (trimmed, lower-cased)"
                         + (f": {merged:,} ids differed only in case and are merged" if merged else ""))
    out = lines.assign(customer_id=key.astype("str"))
    return out.assign(email=email) if email is not None else out


def _duplicate_rows(raw: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    """``raw.duplicated()``: rows repeating an earlier row, compared among the rows whose order id repeats only
    (a repeated row repeats its id)."""
    maybe = repeats(ids)
    if maybe.all():
        return raw.duplicated().to_numpy()
    duplicate = np.zeros(len(raw), dtype=bool)
    if maybe.any():
        duplicate[maybe] = raw[maybe].duplicated().to_numpy()
    return duplicate


def _check_conflicts(lines: pd.DataFrame, source: str, mapping: dict, line_level: bool) -> None:
    """Single-row-per-order data whose order ids repeat with different amounts cannot be trusted."""
    if line_level or "order_id" not in lines:
        return
    many = repeats(lines["order_id"])  # a repeated id among the distinct rows repeats among all rows
    if not many.any():
        return
    distinct = lines[many & ~lines["_dup"].to_numpy(dtype=bool)]
    repeated = distinct[distinct["order_id"].duplicated(keep=False) & distinct["order_id"].notna()]
    if len(repeated):
        first = repeated["order_id"].iloc[0]
        rows = repeated.index[repeated["order_id"] == first][:3] + 1
        raise DataError(
            f"{source}: column `{mapping['order_id']}` has duplicate order ids with conflicting amounts "
            f"({repeated['order_id'].nunique():,} ids), e.g. {first!r} in rows {list(rows)} with "
            f"`{mapping.get('revenue', 'revenue')}` = {list(repeated.loc[rows - 1, 'revenue'])}. "
            "If the rows are line items of one order, map a line-level column such as `product` or `quantity`."
        )


def _finalise(orders: pd.DataFrame, source: str, report: CleaningReport) -> pd.DataFrame:
    if "cost" in orders:
        orders["gross_margin"] = orders["revenue"] - orders["cost"]
    cols = [c for c in ORDER_COLUMNS if c in orders]
    orders = orders[cols].astype({c: "str" for c in _TEXT if c in orders})
    orders = orders.astype({c: "float64" for c in ("revenue", "quantity", "cost", "gross_margin") if c in orders})
    orders["order_date"] = orders["order_date"].astype("datetime64[ns]")
    # Sorted by date and order id, stably: an export already in that order (or in the reverse) needs no sort.
    direction = _direction(orders["order_date"], orders["order_id"])
    if direction == "ascending":
        orders = orders.reset_index(drop=True)
    elif direction == "descending":  # newest first, no two orders alike: the stable sort reverses it
        orders = orders.iloc[::-1].reset_index(drop=True)
    elif direction == "unsorted":  # Arrow's stable sort: the order pandas gives, in half the time
        import pyarrow as pa
        import pyarrow.compute as pc

        keys = pa.table({"date": pa.array(orders["order_date"].to_numpy().view("int64")),
                         "id": pa.array(orders["order_id"].array)})
        order = pc.sort_indices(keys, sort_keys=[("date", "ascending"), ("id", "ascending")])
        orders = orders.take(order.to_numpy()).reset_index(drop=True)
    else:
        orders = orders.sort_values(["order_date", "order_id"], kind="stable", ignore_index=True)
    orders.attrs.update(cleaning=report, source=source)
    return orders


def _direction(dates: pd.Series, ids: pd.Series) -> str | None:
    """"ascending" when (date, id) never decreases down the table, "descending" when it always decreases, else
    "unsorted"; None when a value is missing or the ids are not Arrow-backed text."""
    if len(dates) < 2 or not (isinstance(ids.dtype, pd.StringDtype) and ids.dtype.storage == "pyarrow"
                              and dates.notna().all() and ids.notna().all()):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    day = dates.to_numpy().view("int64")
    before, after = day[:-1], day[1:]
    text = pa.array(ids.array)
    same = before == after
    if ((before < after) | same).all():
        if (~same).all() or pc.all(pc.less_equal(text[:-1], text[1:])
                                   .filter(pa.array(same))).as_py() is not False:
            return "ascending"
        return "unsorted"
    if ((before > after) | same).all() and (
            (~same).all() or pc.all(pc.greater(text[:-1], text[1:]).filter(pa.array(same))).as_py() is not False):
        return "descending"
    return "unsorted"


def read_transactions(
    source,
    *,
    preset: str | None = None,
    columns: dict | None = None,
    as_of=None,
    currency: str | None = None,
    rates: dict | None = None,
    timezone: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    sheet_name=0,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    strict: bool = False,
    hint_style: str = "python",
) -> pd.DataFrame:
    """Read an order export into the canonical orders table, one row per order.

    Parameters
    ----------
    source : str, Path or DataFrame
        CSV (delimiter sniffed, ``.gz`` allowed, UTF-8 with or without BOM), whitespace-separated ``.txt``,
        Parquet, Excel ``.xlsx``, or a DataFrame (never modified).
    preset : {"shopify", "woocommerce", "stripe", "online_retail", "cdnow"}, optional
        A known export format (see :mod:`clvlib.presets`). None: generic input with canonical column names.
    columns : dict, optional
        ``{canonical: source column}``, overriding the preset (or naming generic columns). Canonical fields:
        ``customer_id, order_id, order_date, revenue, quantity, unit_price, cost, channel, product, email,
        currency, status, refunded, is_test``. Unmapped canonical names found in the file are used as they are.
    as_of : date-like, optional
        Orders after this date are excluded ("after as_of"), or raise with ``strict=True``.
    currency : str, optional
        The store currency; default the most common one. Rows in other currencies are excluded ("other
        currency") unless ``rates`` converts them.
    rates : dict, optional
        ``{"EUR": 1.08}``: store-currency units per unit of another currency.
    timezone : str, optional
        Store time zone (e.g. "Europe/Berlin"). Timestamps with a UTC offset are converted to it before the
        date is taken; without it the date is the one written (the shop's local date).
    sep, decimal, thousands, encoding, sheet_name, date_format, dayfirst
        File dialect: delimiter (sniffed), decimal mark ("," detected in ";" files written like ``1.234,56``),
        thousands separator, text encoding, Excel sheet, date format (``strftime`` codes), day-first dates.
        Without ``decimal``, a ``;``-separated file (or one with ``dd.mm.yyyy`` dates) whose amounts read as
        ``1.234,56`` or only as ``2.500`` is European: ``2.500`` is 2500, a guess stated in the cleaning notes.
        Without ``encoding``, UTF-8 (with or without BOM), or UTF-16/UTF-32 by their byte-order mark.
        ``dayfirst=None`` reads numeric dates as a person would (day first when a first field exceeds 12 or
        for ``dd.mm.yyyy``; month first otherwise, with a warning when every date is ambiguous); True or False
        decides instead.
    strict : bool
        Raise :class:`~clvlib.DataError` for dates after ``as_of`` instead of excluding them.
    hint_style : {"python", "cli"}, default "python"
        How messages suggest an option: ``columns={'revenue': 'Total'}``, ``encoding='latin-1'`` for Python
        callers; ``--column revenue=Total``, ``--encoding latin-1`` for ``clv report``, which passes "cli".

    Returns
    -------
    DataFrame
        ``customer_id`` (str, missing for guest orders), ``order_id`` (str), ``order_date`` (datetime64[ns],
        midnight), ``revenue`` (float64, net of refunds and returns) and, when the source has them,
        ``quantity``, ``cost``, ``gross_margin``, ``channel``, ``product`` (first line item), ``email``,
        ``currency`` (and ``master_id`` for the CDNOW sample). Sorted by ``order_date``, ``order_id``.
        ``attrs["cleaning"]`` is the :class:`CleaningReport`; ``attrs["source"]`` the file name or "DataFrame".

    Raises
    ------
    DataError
        Missing required column, a column named twice in the header, empty file or header only, truncated or
        corrupt file, unknown Excel sheet, unparseable or mixed date formats, dates outside the years 1900–2100,
        non-numeric amounts, repeated order ids with conflicting amounts, text that is not UTF-8 (pass
        ``encoding=``).

    Notes
    -----
    In customer id and email columns blanks and placeholders (``NULL``, ``n/a``, ``-``, ``#N/A``, ...:
    :data:`~clvlib.ingest.cleaning.MISSING_IDS`) are missing, so the order is a guest order. Ids written
    ``12345.0`` are ``12345``; control characters in ids are removed. Amounts that are not finite or exceed 1e12
    are excluded as "absurd amount". Each of these steps is counted in the cleaning notes.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_date": ["2024-01-02", "2024-02-01", "2024-01-05"],
    ...                     "revenue": [20.0, 0.0, 35.5]})
    >>> orders = read_transactions(raw)
    >>> orders[["customer_id", "order_date", "revenue"]]
      customer_id order_date  revenue
    0           a 2024-01-02     20.0
    1           b 2024-01-05     35.5
    >>> orders.attrs["cleaning"].excluded.loc["zero or negative amount", "rows"]
    np.int64(1)
    """
    with _readers.hint_style(hint_style):
        return _read_transactions(source, preset=preset, columns=columns, as_of=as_of, currency=currency,
                                  rates=rates, timezone=timezone, sep=sep, decimal=decimal, thousands=thousands,
                                  encoding=encoding, sheet_name=sheet_name, date_format=date_format,
                                  dayfirst=dayfirst, strict=strict)


def _read_transactions(source, *, preset, columns, as_of, currency, rates, timezone, sep, decimal, thousands,
                       encoding, sheet_name, date_format, dayfirst, strict) -> pd.DataFrame:
    if preset is not None:
        check_argument("preset", list(PRESETS), preset)
    spec = PRESETS[preset] if preset else _GENERIC
    name = _readers.source_name(source)
    # Parquet dates as datetime64 unless a preset's own renaming looks at the raw columns as the file has them.
    raw, meta = _readers.read_raw(source, sep=sep, encoding=encoding, sheet_name=sheet_name, header=spec.header,
                                  whitespace=spec.whitespace and sep is None, datetime_dates=spec.rename is None)
    if spec.rename is not None:
        raw = spec.rename(raw)
    if raw.empty:
        found = [str(c) for c in raw.columns]
        raise DataError(f"{name}: the file has a header ({found}) but no rows." if found else f"{name}: the file is empty.")
    mapping = _resolve(list(raw.columns), spec, columns, name)
    _check_duplicate_header(meta.get("header", []), spec, columns, mapping, name)
    lines = pd.DataFrame({fld: raw[col] for fld, col in mapping.items()}, copy=False)
    order_keyed = "order_id" in lines
    lines["_dup"] = _duplicate_rows(raw, lines["order_id"]) if (spec.dedupe and order_keyed) else False
    del raw  # its text columns are freed as they are parsed

    notes = list(spec.notes)
    if meta.get("encoding"):
        notes.append(f"text read as {meta['encoding']} " + (
            "(the file starts with its byte-order mark)" if meta.get("bom") else
            "(no byte-order mark, but a NUL byte beside every character: pass `encoding=` if that is wrong)"))
    lines, used_decimal = _parse(lines, source=name, mapping=mapping, decimal=decimal, thousands=thousands,
                                 sep=meta["sep"], timezone=timezone, date_format=date_format,
                                 dayfirst=spec.dayfirst if dayfirst is None else dayfirst, notes=notes)
    _release_memory()  # the file's text columns, parsed
    if "revenue" not in lines:
        lines["revenue"] = lines["quantity"] * lines["unit_price"]
    if not order_keyed:
        lines["order_id"] = pd.Series(np.arange(1, len(lines) + 1), dtype="int64").astype("str")
    reasons = None  # (no reasons yet: the ledger starts with every row kept)
    if spec.prepare is not None:
        lines, reasons = spec.prepare(lines, notes)
    if spec.order_level:
        # Order-level fields are written on an order's first row; later line rows carry no amounts of their own.
        first = ~lines["order_id"].duplicated() | lines["order_id"].isna()
        fill = [c for c in spec.order_level if c in lines and c not in ("revenue", "refunded")]
        lines[fill] = lines.groupby("order_id", sort=False)[fill].transform("first").where(lines["order_id"].notna(),
                                                                                            lines[fill])
        for c in ("revenue", "refunded"):
            if c in lines:
                lines[c] = lines[c].where(first, 0.0)
    lines = _customer_key(lines, spec, explicit=set(columns or {}), mapping=mapping, notes=notes)
    line_level = bool(spec.order_level) or any(c in mapping for c in ("product", "quantity", "unit_price"))
    _check_conflicts(lines, name, mapping, line_level)
    if (spec.currency or currency) and "currency" not in lines:
        lines["currency"] = (currency or spec.currency).upper()

    ledger = Ledger(len(lines), reasons)
    lines, store = apply_row_rules(lines, ledger, source=name, as_of=as_of, strict=strict, currency=currency,
                                   rates=rates, dedupe=spec.dedupe, notes=notes)
    if spec.finish is not None:
        lines = spec.finish(lines, ledger, notes)
    orders = aggregate_orders(lines, ledger, keep_zero=spec.keep_zero)
    report = build_report(lines, ledger, orders, source=name, currency=store, notes=notes)
    return _finalise(orders, name, report)


def _release_memory() -> None:
    """Hand the memory Arrow has freed back to the system: its allocator keeps freed buffers for reuse, and the
    text of a big file would otherwise stay in the process until it ends."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pandas without pyarrow
        return
    pa.default_memory_pool().release_unused()


def store_currency(orders: pd.DataFrame, *, currency: str | None = None) -> str:
    """The currency to label money in: ``currency`` when given, else the orders' own, else USD.

    The orders' own currency is the one their cleaning report states: a preset's (``online_retail`` is GBP), or the
    store currency read from the file's currency column. Every page and the cleaning report then agree.

    Examples
    --------
    >>> orders = pd.DataFrame({"revenue": [1.0]})
    >>> store_currency(orders), store_currency(orders, currency="EUR")
    ('USD', 'EUR')
    """
    if currency:
        if not is_currency_code(currency):
            raise ValueError(f"The value for `currency` must be a three-letter ISO 4217 code (e.g. 'EUR'), but "
                             f"{currency!r} was passed.")
        return str(currency).upper()
    report = orders.attrs.get("cleaning")
    own = getattr(report, "currency", None) or (
        orders["currency"].dropna().iloc[0] if "currency" in orders.columns and orders["currency"].notna().any()
        else None)
    return str(own).upper() if own else "USD"
