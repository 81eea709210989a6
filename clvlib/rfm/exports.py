"""Segment files for email and ads tools: one CSV per segment plus a combined one, safe to open in a spreadsheet.

Spreadsheet formula injection: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
run as a formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` in a customer id or name is the classic
attack), also behind leading spaces or control characters (``" =1+1"``, ``"\\x00=cmd"``). Such text cells get a
leading apostrophe, which spreadsheets read as "this is text". Numeric columns are left alone, so a legitimate
negative number stays a number. Every text cell is quoted, so a carriage return or line feed inside a value cannot
start a new row (whose first cell would escape the check).

Personal data: :func:`pseudonymise_ids` replaces customer ids (with the shop presets the id *is* the email) by keyed
HMAC-SHA256 pseudonyms; :func:`project_key` keeps the project's key in ``data/local/pseudonym.key`` (git-ignored),
so the same customer has the same pseudonym in every report of the project, and nobody without the key can recompute
it from a list of emails. :func:`pseudonymise_table` does the same for any table a notebook shows.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import re
import secrets
import stat
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import validate_columns, customer_indexed
from ..config import DATA_DIR

__all__ = ["export_segments", "export_tables", "neutralise_formulas", "pseudonymise_ids", "pseudonymise_table",
           "project_key", "latest_emails"]

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
# A formula prefix, possibly behind whitespace or control characters that a spreadsheet skips or strips.
_RISKY = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]*[=+\-@\t\r]")
MIN_KEY_BYTES = 16
_SCORES = ["r_score", "f_score", "m_score", "rfm_code"]
_VALUES = ["recency", "frequency", "monetary", "total_revenue"]
# Columns holding money, by name (``total_revenue``, ``aov``, ``predicted_clv_12m``, ``cac``, ``spend``, ...), unless
# the name says it is a share, rate or ratio of money (``revenue_share``, ``ltv_cac``, ``gross_margin_rate``).
_MONEY_WORDS = ("revenue", "monetary", "aov", "clv", "ltv", "cac", "spend", "profit", "margin", "cost", "price",
                "amount", "largest_order")
_NOT_MONEY_WORDS = ("share", "rate", "ratio", "ltv_cac", "multiple", "pct", "_z")
_DECIMALS = 6  # other non-integer numbers (shares, ratios, probabilities): enough digits, no float noise


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas.

    Text cells (string, object or categorical columns) starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
    return, also after leading whitespace or control characters (``" =1+1"``, ``"\\x00=cmd"``), get a leading
    apostrophe; numeric, boolean and date columns are untouched.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": ['=HYPERLINK("http://x")', "-2", "ok"], "delta": [-2.5, 1.0, 0.0]})
    >>> neutralise_formulas(frame)
                            id  delta
    0  '=HYPERLINK("http://x")   -2.5
    1                      '-2    1.0
    2                       ok    0.0
    """
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if not (pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)
                or isinstance(series.dtype, pd.CategoricalDtype)):
            continue
        text = series.astype("object") if isinstance(series.dtype, pd.CategoricalDtype) else series
        risky = text.map(lambda v: isinstance(v, str) and _RISKY.match(v) is not None).astype(bool)
        if risky.any():
            out[col] = text.where(~risky, "'" + text[risky].astype(str))
    return out


def _key_bytes(key) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"`key` must be bytes or str (e.g. clvlib.project_key()), but {type(key).__name__} was passed.")
    if len(key) < MIN_KEY_BYTES:
        problem = "is empty" if not key else f"has only {len(key)} bytes"
        raise ValueError(f"The pseudonym `key` {problem}: it must be a secret of at least {MIN_KEY_BYTES} bytes, or "
                         "anyone can recompute the pseudonyms from a list of emails. Use clvlib.project_key().")
    return bytes(key)


def pseudonymise_ids(ids, *, key: bytes | str) -> pd.Index:
    """Keyed pseudonyms of customer ids: HMAC-SHA256 with a secret ``key``, as 16 hex digits; missing ids stay missing.

    The same key gives the same pseudonyms (keep :func:`project_key` to link reports); without the key they cannot
    be recomputed from a list of emails, as a plain or salted hash can.

    Parameters
    ----------
    ids : iterable
        Customer ids (any values; compared as text).
    key : bytes or str
        Secret of at least 16 bytes, e.g. :func:`project_key`. An empty or short key is refused (ValueError).

    Examples
    --------
    >>> key = bytes(range(32))
    >>> list(pseudonymise_ids(["C001", "C001", "C002"], key=key).str.len())
    [16, 16, 16]
    >>> pseudonymise_ids(["C001"], key="")
    Traceback (most recent call last):
    ...
    ValueError: The pseudonym `key` is empty: it must be a secret of at least 16 bytes, or anyone can recompute ...
    """
    secret = _key_bytes(key)
    return pd.Index([None if pd.isna(i) else hmac.new(secret, str(i).encode("utf-8"), hashlib.sha256).hexdigest()[:16]
                     for i in ids], dtype="object", name="customer_id")


def pseudonymise_table(table: pd.DataFrame, *, key: bytes | str, id_columns: Sequence[str] = ("customer_id",),
                       drop: Sequence[str] = ("email",)) -> pd.DataFrame:
    """A copy of ``table`` for people who should not see who the customers are: ids pseudonymised, emails dropped.

    Parameters
    ----------
    table : DataFrame
        Any table a notebook shows or exports (top customers, repeat buyers, orders, ...). Never modified.
    key : bytes or str
        Secret of :func:`pseudonymise_ids`, e.g. :func:`project_key`.
    id_columns : sequence of str
        Columns, and index levels, holding customer ids; each value becomes its pseudonym.
    drop : sequence of str
        Columns (and index levels) left out, e.g. emails.

    Returns
    -------
    DataFrame with the same rows and order, ``attrs`` kept.

    Examples
    --------
    >>> table = pd.DataFrame({"email": ["a@x.org"], "revenue": [5.0]}, index=pd.Index(["a@x.org"], name="customer_id"))
    >>> out = pseudonymise_table(table, key=bytes(32))
    >>> out.columns.tolist(), len(out.index[0]), out.index.name
    (['revenue'], 16, 'customer_id')
    """
    _key_bytes(key)
    out = table.drop(columns=[c for c in drop if c in table.columns])
    levels = [name for name in out.index.names if name in drop]
    if levels:
        out = out.reset_index(level=levels, drop=True) if out.index.nlevels > len(levels) else \
            out.reset_index(drop=True)
    for column in id_columns:
        if column in out.columns:
            pseudonyms = pd.Series(pseudonymise_ids(out[column], key=key).to_numpy(), index=out.index, name=column)
            if pd.api.types.is_string_dtype(out[column].dtype) and out[column].dtype != object:
                pseudonyms = pseudonyms.astype(out[column].dtype)  # a string column stays one (missing as NA)
            out[column] = pseudonyms
    if any(name in id_columns for name in out.index.names):
        if out.index.nlevels == 1:
            out.index = pseudonymise_ids(out.index, key=key).rename(out.index.name)
        else:
            arrays = [pseudonymise_ids(out.index.get_level_values(i), key=key) if name in id_columns
                      else out.index.get_level_values(i) for i, name in enumerate(out.index.names)]
            out.index = pd.MultiIndex.from_arrays(arrays, names=out.index.names)
    out.attrs = dict(table.attrs)
    return out


def project_key(path: str | os.PathLike | None = None) -> bytes:
    """The project's secret pseudonym key: read from ``path``, created on first use (32 random bytes, mode 0600).

    Parameters
    ----------
    path : path, optional
        Key file; default ``<project>/data/local/pseudonym.key`` (``data/local/`` is git-ignored). Keep it: the same
        key gives the same pseudonyms in every report; deleting it makes new pseudonyms that match no earlier export.

    Returns
    -------
    bytes (at least 16). A file holding fewer bytes is refused (ValueError).
    """
    file = Path(path) if path is not None else DATA_DIR / "local" / "pseudonym.key"
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        # Written to a private temporary file, then linked into place: a report's parallel notebooks creating the
        # key at once agree on one key, and nobody reads a half-written file.
        temporary = file.with_name(f".{file.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
            try:
                os.link(temporary, file)
            except FileExistsError:
                pass  # another process made it first: use theirs
            except OSError:  # a file system without hard links
                try:
                    descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    pass
                else:
                    with os.fdopen(descriptor, "wb") as handle:
                        handle.write(temporary.read_bytes())
        finally:
            temporary.unlink(missing_ok=True)
    key = file.read_bytes()
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"The pseudonym key file {file} holds {len(key)} bytes, fewer than {MIN_KEY_BYTES}: delete it "
                         "to create a new key (earlier pseudonyms will not match the new ones).")
    if os.name == "posix" and stat.S_IMODE(file.stat().st_mode) & 0o077:
        warnings.warn(f"The pseudonym key file {file} is readable by other users; `chmod 600` it.", UserWarning,
                      stacklevel=2)
    return key


def latest_emails(contacts: pd.DataFrame) -> pd.Series:
    """Each customer's last known email from a table with ``customer_id`` and ``email`` (e.g. the orders table).

    Parameters
    ----------
    contacts : DataFrame
        Rows with ``email``, the id as a ``customer_id`` column or as the index (e.g. a customer table); several
        rows per customer are allowed.

    Returns
    -------
    Series indexed by ``customer_id``: the email of the customer's last row that has one (rows in table order).
    """
    validate_columns(contacts, ["customer_id", "email"], what="contacts table")
    # Only the two columns are indexed by id: the contacts are often the whole orders table.
    frame = customer_indexed(contacts[[c for c in ("customer_id", "email") if c in contacts.columns]],
                             "contacts table")
    known = frame[frame.index.notna() & frame["email"].notna()]
    return known.groupby(level=0, sort=False)["email"].last().rename_axis("customer_id")


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_") or "segment"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def export_segments(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    segment_column: str = "segment",
    pseudonymise: bool = False,
    key: bytes | str | None = None,
    contacts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Write one CSV per segment and one combined CSV, ready to upload to an email or ads tool.

    Parameters
    ----------
    frame : DataFrame
        Customer-level table indexed by customer id with ``segment_column`` (e.g. :func:`clvlib.rfm_segments`'s
        output, possibly joined with a CLV column). Never modified.
    path : str or Path
        Folder to write into (created if needed); refused inside the bundled ``data/`` folder.
    segment_column : str
        Column holding the segment.
    pseudonymise : bool
        Replace customer ids with keyed pseudonyms (:func:`pseudonymise_ids`) and leave emails out (for reports
        shared widely). Default False: analysts' own exports keep ids and emails.
    key : bytes or str, optional
        Secret key of the pseudonyms, at least 16 bytes: :func:`project_key` gives the same pseudonyms in every
        report of the project; None draws a random key, so pseudonyms cannot be linked across runs. Only with
        ``pseudonymise=True``.
    contacts : DataFrame, optional
        A table with ``customer_id`` and ``email`` (e.g. the orders table) to add each customer's last email.

    Returns
    -------
    DataFrame (the manifest), one row per file: ``segment`` ("all" for the combined file), ``customers``,
    ``path``. Columns written: ``customer_id``, ``email`` (when known), ``segment``, the scores, the RFM values and
    any column whose name contains ``clv``, in that order; money in cents and counts as integers; text cells are
    neutralised (:func:`neutralise_formulas`).
    """
    frame = customer_indexed(frame, "segmented customer table")
    validate_columns(frame, [segment_column], what="segmented customer table")
    if key is not None and not pseudonymise:
        raise ValueError("`key` was passed but `pseudonymise` is False: pass pseudonymise=True to use it.")
    folder = Path(path)
    if folder.resolve().is_relative_to(DATA_DIR.resolve()):
        raise ValueError(f"`path` must not be inside the bundled data folder {DATA_DIR}; pick a reports folder.")
    table = frame.copy()
    table.index = table.index.rename("customer_id")
    table = table.reset_index()
    if contacts is not None:
        emails = latest_emails(contacts)
        known = table["email"] if "email" in table else pd.Series(pd.NA, index=table.index, dtype="object")
        table["email"] = known.fillna(table["customer_id"].map(emails))
    if pseudonymise:
        secret = secrets.token_bytes(32) if key is None else key
        table["customer_id"] = pseudonymise_ids(table["customer_id"], key=secret).to_numpy()
        table = table.drop(columns=["email"], errors="ignore")
    columns = ["customer_id", "email", segment_column, *_SCORES, *_VALUES]
    columns = [c for c in dict.fromkeys(columns) if c in table]
    columns += [c for c in table.columns if "clv" in str(c).lower() and c not in columns]
    segments = table[segment_column]  # before neutralising, so names match the categories
    table = neutralise_formulas(table[columns])
    folder.mkdir(parents=True, exist_ok=True)
    order = list(segments.cat.categories) if isinstance(segments.dtype, pd.CategoricalDtype) else \
        list(pd.unique(segments.dropna()))
    rows, taken = [], {"all_segments"}
    for segment in order:
        part = table[segments.astype("object") == segment]
        if part.empty:
            continue
        file = folder / f"{_slug(segment, taken)}.csv"
        _write_csv(part, file)
        rows.append({"segment": segment, "customers": len(part), "path": file})
    combined = folder / "all_segments.csv"
    _write_csv(table, combined)
    rows.append({"segment": "all", "customers": len(table), "path": combined})
    return pd.DataFrame(rows)


def _is_money(column) -> bool:
    name = str(column).lower()
    return any(w in name for w in _MONEY_WORDS) and not any(w in name for w in _NOT_MONEY_WORDS)


def _tidy_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose numbers read as people write them: money in cents, counts as integers.

    Float columns holding money (by name: ``revenue``, ``aov``, ``clv``, ``cac``, ``spend``, ... but not a
    ``*_share``, ``*_rate`` or ``ltv_cac`` ratio) are rounded to 2 decimals; other float columns whose values are all
    whole numbers (counts such as ``frequency``, missing values allowed) become integers (``Int64``); the rest
    (shares, ratios, probabilities) are rounded to 6 decimals. No cell is left with float noise such as
    ``278778.01999999996``.

    Examples
    --------
    >>> _tidy_numbers(pd.DataFrame({"total_revenue": [278778.01999999996], "frequency": [3.0], "share": [1 / 3]}))
       total_revenue  frequency     share
    0      278778.02          3  0.333333
    """
    out = frame.copy()
    for i, column in enumerate(out.columns):
        values = out.iloc[:, i]
        if not pd.api.types.is_float_dtype(values.dtype):
            continue
        numbers = values.astype("float64")
        finite = numbers[np.isfinite(numbers)]
        if _is_money(column):
            out.isetitem(i, numbers.round(2))
        elif len(finite) == numbers.notna().sum() and (finite == finite.round()).all() and (finite.abs() < 2**53).all():
            out.isetitem(i, numbers.astype("Int64"))
        else:
            out.isetitem(i, numbers.round(_DECIMALS))
    out.attrs = dict(frame.attrs)
    return out


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    # Every text cell quoted (numbers stay bare, so a spreadsheet reads them as numbers): a CR or LF inside a value
    # stays inside its quotes and cannot start a row of its own. Money in cents, counts as integers.
    _tidy_numbers(table).to_csv(path, index=False, encoding="utf-8", lineterminator="\n",
                                quoting=csv.QUOTE_NONNUMERIC)


def export_tables(tables: dict[str, pd.DataFrame | None], folder: str | os.PathLike | None, *,
                  key: bytes | str | None = None) -> pd.DataFrame:
    """Write each table as ``<folder>/<name>.csv`` for spreadsheets (formulas neutralised, every cell quoted, money
    in cents and counts as integers: :func:`_tidy_numbers`).

    Parameters
    ----------
    tables : dict of name → DataFrame or None
        Tables to write, by file name without the extension; None entries and tables whose ``attrs["skipped"]``
        says why they are empty (a view that was skipped) are left out.
    folder : path or None
        Created if missing. None writes nothing: a notebook run on its own need not leave files behind.
    key : bytes or str, optional
        When given, customer ids are replaced by their pseudonyms and emails left out (:func:`pseudonymise_table`
        with this key, e.g. :func:`project_key`); None writes the tables as they are.

    Returns
    -------
    DataFrame with one row per file written: ``table``, ``rows``, ``path``.

    Examples
    --------
    >>> export_tables({"x": pd.DataFrame({"a": [1]})}, None).empty
    True
    """
    rows = []
    if key is not None:
        _key_bytes(key)
    if folder is not None:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            if table is None or table.attrs.get("skipped") and table.empty:
                continue
            path = target / f"{name}.csv"
            if key is not None:
                table = pseudonymise_table(table, key=key)
            # Quoting every cell keeps a CR or LF inside a value from starting a new row a spreadsheet would read.
            _write_csv(neutralise_formulas(table.reset_index()), path)
            rows.append({"table": name, "rows": len(table), "path": path})
    return pd.DataFrame(rows, columns=["table", "rows", "path"])
