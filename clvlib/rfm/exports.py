"""Segment files for email and ads tools: one CSV per segment plus a combined one, safe to open in a spreadsheet.

Spreadsheet formula injection: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
run as a formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` in a customer id or name is the classic
attack). Such text cells get a leading apostrophe, which spreadsheets read as "this is text". Numeric columns are
left alone, so a legitimate negative number stays a number.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from .._validation import validate_columns
from ..config import DATA_DIR

__all__ = ["export_segments", "export_tables", "neutralise_formulas", "pseudonymise_ids", "latest_emails"]

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_SCORES = ["r_score", "f_score", "m_score", "rfm_code"]
_VALUES = ["recency", "frequency", "monetary", "total_revenue"]


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas.

    Text cells (string, object or categorical columns) starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
    return get a leading apostrophe; numeric, boolean and date columns are untouched.

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
        risky = text.map(lambda v: isinstance(v, str) and v.startswith(_DANGEROUS)).astype(bool)
        if risky.any():
            out[col] = text.where(~risky, "'" + text[risky].astype(str))
    return out


def pseudonymise_ids(ids, salt: str) -> pd.Index:
    """Salted SHA-256 pseudonyms (16 hex digits) of customer ids; the same salt gives the same pseudonyms.

    Examples
    --------
    >>> list(pseudonymise_ids(["C001", "C001", "C002"], salt="s3cret").str.len())
    [16, 16, 16]
    """
    return pd.Index([hashlib.sha256(f"{salt}\x1f{i}".encode()).hexdigest()[:16] for i in ids], name="customer_id")


def latest_emails(contacts: pd.DataFrame) -> pd.Series:
    """Each customer's last known email from a table with ``customer_id`` and ``email`` (e.g. the orders table).

    Returns
    -------
    Series indexed by ``customer_id``: the email of the customer's last row that has one (rows in table order).
    """
    validate_columns(contacts, ["customer_id", "email"], what="contacts table")
    known = contacts.loc[contacts["customer_id"].notna() & contacts["email"].notna(), ["customer_id", "email"]]
    return known.groupby("customer_id", sort=False)["email"].last()


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
    segment_col: str = "segment",
    pseudonymise: bool = False,
    salt: str | None = None,
    contacts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Write one CSV per segment and one combined CSV, ready to upload to an email or ads tool.

    Parameters
    ----------
    frame : DataFrame
        Customer-level table indexed by customer id with ``segment_col`` (e.g. :func:`clvlib.rfm_segments`'s
        output, possibly joined with a CLV column). Never modified.
    path : str or Path
        Folder to write into (created if needed); refused inside the bundled ``data/`` folder.
    segment_col : str
        Column holding the segment.
    pseudonymise : bool
        Replace customer ids with salted SHA-256 pseudonyms and leave emails out (for reports shared widely).
    salt : str, optional
        Secret salt of the pseudonyms. Keep one salt to get the same pseudonyms in every report; None draws a
        random one, so pseudonyms cannot be linked across runs.
    contacts : DataFrame, optional
        A table with ``customer_id`` and ``email`` (e.g. the orders table) to add each customer's last email.

    Returns
    -------
    DataFrame (the manifest), one row per file: ``segment`` ("all" for the combined file), ``customers``,
    ``path``. Columns written (floats with two decimals): ``customer_id``, ``email`` (when known), ``segment``, the
    scores, the RFM values and any column whose name contains ``clv``, in that order; text cells are neutralised
    (:func:`neutralise_formulas`).
    """
    validate_columns(frame, [segment_col], what="segmented customer table")
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
        table["customer_id"] = pseudonymise_ids(table["customer_id"], secrets.token_hex(16) if salt is None else salt)
        table = table.drop(columns=["email"], errors="ignore")
    columns = ["customer_id", "email", segment_col, *_SCORES, *_VALUES]
    columns = [c for c in dict.fromkeys(columns) if c in table]
    columns += [c for c in table.columns if "clv" in str(c).lower() and c not in columns]
    segments = table[segment_col]  # before neutralising, so names match the categories
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
        part.to_csv(file, index=False, encoding="utf-8", lineterminator="\n", float_format="%.2f")
        rows.append({"segment": segment, "customers": len(part), "path": file})
    combined = folder / "all_segments.csv"
    table.to_csv(combined, index=False, encoding="utf-8", lineterminator="\n", float_format="%.2f")
    rows.append({"segment": "all", "customers": len(table), "path": combined})
    return pd.DataFrame(rows)


def export_tables(tables: dict[str, pd.DataFrame | None], folder: str | os.PathLike | None) -> pd.DataFrame:
    """Write each table as ``<folder>/<name>.csv`` for spreadsheets (formulas neutralised, every cell quoted).

    Parameters
    ----------
    tables : dict of name → DataFrame or None
        Tables to write, by file name without the extension; None entries (a view that was skipped) are left out.
    folder : path or None
        Created if missing. None writes nothing: a notebook run on its own need not leave files behind.

    Returns
    -------
    DataFrame with one row per file written: ``table``, ``rows``, ``path``.

    Examples
    --------
    >>> export_tables({"x": pd.DataFrame({"a": [1]})}, None).empty
    True
    """
    import csv

    rows = []
    if folder is not None:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            if table is None:
                continue
            path = target / f"{name}.csv"
            # Quoting every cell keeps a CR or LF inside a value from starting a new row a spreadsheet would read.
            neutralise_formulas(table.reset_index()).to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)
            rows.append({"table": name, "rows": len(table), "path": path})
    return pd.DataFrame(rows, columns=["table", "rows", "path"])
