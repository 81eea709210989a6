"""Reading raw tables from files or DataFrames, and parsing their text cells into numbers and dates.

Text formats are read with every cell as a string, so that parsing (decimal commas, thousands separators, UTC
offsets, mixed date formats) happens here under our rules, and a bad cell can be reported with its row. Files
are only ever opened for reading.
"""

from __future__ import annotations

import codecs
import contextvars
import csv
import gzip
import re
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["read_raw", "to_number", "to_dates", "looks_european", "looks_dot_thousands", "source_name",
           "row_examples", "AMOUNT_CEILING", "DATE_YEARS", "HINT_STYLES", "option_hint", "hint_style"]

#: How messages name a reading option: as Python keywords (``encoding='latin-1'``) or as ``clv report`` options.
HINT_STYLES = ("python", "cli")
_HINT_STYLE: contextvars.ContextVar[str] = contextvars.ContextVar("clvlib_hint_style", default="python")
_CLI_OPTIONS = {"sheet_name": "--sheet"}


class hint_style:
    """``with hint_style("cli"):`` messages raised inside name options as ``clv report`` does (see :func:`option_hint`)."""

    def __init__(self, style: str):
        if style not in HINT_STYLES:
            raise ValueError(f"The value for `hint_style` must be one of {list(HINT_STYLES)}, but {style!r} was passed.")
        self.style = style

    def __enter__(self):
        self._token = _HINT_STYLE.set(self.style)
        return self

    def __exit__(self, *exc):
        _HINT_STYLE.reset(self._token)


def option_hint(name: str, value=None) -> str:
    """How the caller passes reading option ``name`` (with ``value``): ``encoding='latin-1'`` for Python callers,
    ``--encoding latin-1`` for the command line. ``columns`` takes ``{canonical: source}``; ``dayfirst`` a bool.
    No value gives the bare option (``date_format=`` / ``--date-format``).

    Examples
    --------
    >>> option_hint("columns", {"revenue": "Total"})
    "columns={'revenue': 'Total'}"
    >>> with hint_style("cli"):
    ...     option_hint("columns", {"revenue": "Total"}), option_hint("dayfirst", True), option_hint("decimal", ",")
    ('--column revenue=Total', '--dayfirst', "--decimal ','")
    """
    if _HINT_STYLE.get() == "python":
        if value is None:
            return f"{name}="
        return f"{name}={value!r}"
    if name == "columns":
        return " ".join(f"--column {k}={v if ' ' not in str(v) else repr(str(v))}" for k, v in value.items())
    if name == "dayfirst":
        return "--dayfirst" if value else "--monthfirst"
    flag = _CLI_OPTIONS.get(name, "--" + name.replace("_", "-"))
    if value is None:
        return flag
    text = str(value)
    return f"{flag} {text!r}" if not text or any(ch in text for ch in " ,;%'\"|&") else f"{flag} {text}"

#: The largest absolute amount a row may carry; larger ones (and inf) are excluded as "absurd amount".
AMOUNT_CEILING = 1e12
#: Order dates must fall in these years (inclusive); others are a DataError (a typo such as 2300 or 0024).
DATE_YEARS = (1900, 2100)
# Byte-order marks of the UTF-16 and UTF-32 encodings (UTF-32 first: its LE mark starts with UTF-16's).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_CORRUPT = (EOFError, zlib.error, gzip.BadGzipFile)

_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024
_EXCEL = (".xlsx", ".xlsm", ".xls")
_PARQUET = (".parquet", ".pq")


def source_name(source) -> str:
    """The name a report and an error use for ``source``: the file name, or "DataFrame"."""
    if isinstance(source, pd.DataFrame):
        return "DataFrame"
    return Path(source).name


def row_examples(values: pd.Series, mask, n: int = 3) -> str:
    """``row 4: 'abc', row 9: 'x'`` for the first ``n`` rows where ``mask`` holds (1-based data rows)."""
    hits = np.flatnonzero(np.asarray(mask))[:n]
    return ", ".join(f"row {i + 1}: {values.iloc[i]!r}" for i in hits)


def text_bytes(values) -> list[np.ndarray] | None:
    """The bytes of an Arrow-backed text column, without a copy: one array per chunk; None for other storage.

    ``values`` is a pandas ``str`` Series or an Arrow (chunked) string array; each array holds exactly the bytes
    of the chunk's values (those of missing values too, which are normally none). So "no such byte here" proves no
    value contains it: a pre-filter that spares a per-value text kernel when, as usual, nothing would match.
    """
    import pyarrow as pa

    if isinstance(values, pd.Series):
        if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
            return None
        values = pa.array(values.array)
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    blocks = []
    for chunk in chunks:
        if pa.types.is_large_string(chunk.type) or pa.types.is_string(chunk.type):
            offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        else:
            return None
        _, offsets, data = chunk.buffers()
        if data is None or not len(chunk):
            continue
        # The chunk's values span data[offsets[first]:offsets[last + 1]] (a buffer may be larger, or shared).
        bounds = np.frombuffer(offsets, dtype=offset_type)[[chunk.offset, chunk.offset + len(chunk)]]
        blocks.append(np.frombuffer(data, dtype=np.uint8)[bounds[0]:bounds[1]])
    return blocks


def _suffixes(path: Path) -> list[str]:
    return [s.lower() for s in path.suffixes]


def _head_text(path: Path, encoding: str) -> str:
    """The first few kilobytes of a (possibly gzipped) text file, decoded; a clear error if not decodable."""
    head = _head_bytes(path)
    try:
        return head.decode(encoding)
    except UnicodeDecodeError as err:
        # A multi-byte character cut at the block end is not an encoding problem.
        if err.start >= len(head) - 4 and len(head) == _SNIFF_BYTES:
            return head[: err.start].decode(encoding)
        raise _encoding_error(path, encoding, err) from None


def _head_bytes(path: Path, size: int = _SNIFF_BYTES) -> bytes:
    opener = gzip.open if _suffixes(path)[-1:] == [".gz"] else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(size)
    except _CORRUPT as err:
        raise _corrupt_error(path, err) from None


def _corrupt_error(path: Path, err: Exception) -> DataError:
    return DataError(f"{path.name}: the file is truncated or corrupt ({type(err).__name__}: {err}); "
                     "download or export it again.")


def _bom_encoding(path: Path) -> str | None:
    """UTF-16 or UTF-32 when the file starts with that encoding's byte-order mark, or, without one, when its bytes
    are text with a NUL beside every character (``c\x00u\x00s\x00``: UTF-16 little-endian, as some Windows tools
    write it; ``\x00c\x00u``: big-endian). Text files never hold NUL bytes otherwise."""
    head = _head_bytes(path, 4)
    found = next((enc for bom, enc in _BOMS if head.startswith(bom)), None)
    if found:
        return found
    sample = _head_bytes(path, 4096)
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


def _encoding_error(path: Path, encoding: str, err: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{path.name}: the file is not {encoding.upper().replace('-SIG', '')} text (byte {err.object[err.start:err.start + 1]!r} "
        f"at position {err.start} cannot be decoded). Pass {option_hint('encoding', 'latin-1')} (or "
        f"{option_hint('encoding', 'cp1252')}) if it was saved by Excel on Windows or an older system."
    )


def sniff_delimiter(text: str) -> str | None:
    """The delimiter of a CSV sample among comma, semicolon, tab and pipe; None if none of them is used."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return None
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else None


def read_raw(
    source,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    sheet_name=0,
    header: bool | None = True,
    whitespace: bool = False,
    datetime_dates: bool = False,
) -> tuple[pd.DataFrame, dict]:
    """Read ``source`` into a raw table (text cells as strings) and describe how it was read.

    Parameters
    ----------
    source : path-like or DataFrame
        CSV (optionally ``.gz``), whitespace-separated ``.txt``, Parquet, Excel, or a DataFrame (copied).
    sep : str, optional
        Delimiter; sniffed among ``, ; TAB |`` when omitted (a ``.txt`` file without any of them is split on
        whitespace).
    encoding : str, optional
        Text encoding; by default UTF-8 with or without a byte-order mark, or UTF-16 / UTF-32 when the file
        starts with their byte-order mark.
    sheet_name : int or str
        Excel sheet.
    header : bool or None
        Whether the first line names the columns; None: guess (a first line made only of numbers is data).
    whitespace : bool
        Split on runs of whitespace (CDNOW-style files).
    datetime_dates : bool
        Parquet ``date`` columns as ``datetime64`` (midnight) rather than Python dates: the same days, without a
        Python object per cell (a tenth of the time and memory on a big file).

    Returns
    -------
    (DataFrame, dict)
        The raw table with a RangeIndex, and ``{"sep": ..., "format": ..., "header": [names as in the file]}``
        (plus ``"encoding"`` when a UTF-16/UTF-32 byte-order mark chose it).
    """
    name = source_name(source)
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True).copy(), {"sep": None, "format": "DataFrame",
                                                      "header": [str(c) for c in source.columns]}
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{name}: no such file ({path}).")
    suffixes = _suffixes(path)
    if suffixes and suffixes[-1] in _PARQUET:
        options = {"to_pandas_kwargs": {"date_as_object": False}} if datetime_dates else {}
        frame = pd.read_parquet(path, **options).reset_index(drop=True)
        return frame, {"sep": None, "format": "parquet", "header": [str(c) for c in frame.columns]}
    if suffixes and suffixes[-1] in _EXCEL:
        frame = _read_excel(path, sheet_name)
        if frame.empty and len(frame.columns) == 0:
            raise DataError(f"{name}: the sheet {sheet_name!r} is empty.")
        names = [str(c).strip() for c in frame.columns]
        if any(re.fullmatch(r"(.+)\.\d+", c) and re.fullmatch(r"(.+)\.\d+", c).group(1) in names for c in names):
            # pandas renamed a repeated name: read the header row as written (only then: a workbook is slow)
            header_row = pd.read_excel(path, sheet_name=sheet_name, header=None, nrows=1, dtype=object)
            names = [str(c).strip() for c in header_row.iloc[0]]
        return frame, {"sep": None, "format": "excel", "header": names}

    meta = {}
    if encoding is None:
        encoding = _bom_encoding(path)
        if encoding:
            meta["encoding"] = encoding.upper()
            meta["bom"] = encoding in ("utf-16", "utf-32")
    encoding = encoding or "utf-8-sig"
    text = _head_text(path, encoding)
    if not text.strip():
        raise DataError(f"{name}: the file is empty.")
    if sep is None and not whitespace:
        sep = sniff_delimiter(text)
        if sep is None:
            whitespace = True
    if header is None:
        first = text.lstrip("\ufeff").splitlines()[0].split() if whitespace else text.splitlines()[0].split(sep)
        header = not all(re.fullmatch(r"[-+]?[\d.,]+", tok.strip()) for tok in first if tok.strip())
    options = dict(
        sep=r"\s+" if whitespace else sep,
        header=0 if header else None,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        encoding=encoding,
        compression="infer",
        skipinitialspace=not whitespace,
    )
    if not whitespace:
        options["engine"] = "c"
    frame = _read_csv_arrow(path, sep=sep, encoding=encoding, head=text) if header and not whitespace else None
    try:
        frame = pd.read_csv(path, **options) if frame is None else frame
    except UnicodeDecodeError as err:
        raise _encoding_error(path, encoding, err) from None
    except _CORRUPT as err:
        raise _corrupt_error(path, err) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{name}: the file is empty.") from None
    except pd.errors.ParserError as err:
        raise DataError(f"{name}: the file cannot be read as a table with delimiter {sep!r}: {err}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    names = list(frame.columns)
    if header:
        # pandas renames a repeated name ("revenue" twice becomes "revenue", "revenue.1"): keep the file's own.
        first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
        cells = first.split() if whitespace else next(csv.reader([first], delimiter=sep), [])
        if len(cells) == len(names):
            names = [c.strip() for c in cells]
    return frame, {"sep": "whitespace" if whitespace else sep, "format": "text", "header": names, **meta}


# Extensions pandas decompresses (compression="infer"): such files are left to its C parser.
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar", ".tgz")


def _read_csv_arrow(path: Path, *, sep: str, encoding: str, head: str) -> pd.DataFrame | None:
    """The table the C parser reads (every cell as text, blanks missing), read by Arrow's multi-threaded parser.

    Only where the two parsers agree: an uncompressed UTF-8 file with a one-character delimiter, a header of
    distinct, non-blank names without leading spaces, and no quote left open at the end (the C parser raises "EOF
    inside string"). Spaces starting a cell are dropped, as the C parser's ``skipinitialspace`` does, unless the
    file has a quote next to a space (a quoted cell after spaces, or quoted text starting with one, which only
    the C parser tells apart). Anything else, and any error (ragged rows, text that is not UTF-8), gives None: the
    C parser then reads the file, and raises its errors, as before. ``tests/test_read_fast_paths.py`` holds the
    cases.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pandas without pyarrow
        return None
    name = path.name.lower()
    if (len(sep or "") != 1 or sep in "\"\r\n " or name.endswith(_COMPRESSED)
            or codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig")
            or codecs.lookup(encoding).name == "utf-8" and _head_bytes(path, 3) == codecs.BOM_UTF8):
        return None
    lines = head.splitlines()
    names = next(csv.reader(lines[:1], delimiter=sep), [])
    if not names or len(set(names)) < len(names) or any(not n or n.startswith(" ") for n in names):
        return None  # pandas names blank columns "Unnamed: 1" and repeated ones "revenue.1"
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                                 null_values=[""], strings_can_be_null=True,
                                                 quoted_strings_can_be_null=True),
        )
    except Exception:  # the C parser raises the error that names the problem (or reads what Arrow cannot)
        return None
    if table.schema.names != names or any(t != pa.large_string() for t in table.schema.types):
        return None
    spaced = [i for i, column in enumerate(table.columns)
              if any((b == 0x20).any() for b in text_bytes(column)) and pc.any(pc.starts_with(column, " ")).as_py()]
    if spaced and _file_contains(path, b'" '):
        return None  # a quoted cell may start with a space, which the C parser keeps: only it can tell
    for i in spaced:
        # Unquoted cells: the spaces the C parser skips; a cell of spaces only is blank.
        trimmed = pc.utf8_ltrim(table.column(i), characters=" ")
        if pc.any(pc.starts_with(trimmed, '"')).as_py():
            return None  # a quoted cell after a space: the C parser reads it as quoted
        table = table.set_column(i, table.field(i), pc.if_else(pc.equal(trimmed, ""), None, trimmed))
    if table.num_rows:
        # An open quote swallows the rest of the file into the last cell: the C parser raises instead.
        last = table.column(table.num_columns - 1)[-1].as_py()
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - _SNIFF_BYTES))
            tail = fh.read()
        ends_open = not tail.endswith((b"\n", b"\r")) and b'"' in tail.splitlines()[-1]
        if ends_open or last is not None and ("\n" in last or "\r" in last):
            return None
    return table.to_pandas()


def _file_contains(path: Path, needle: bytes, block: int = 1 << 23) -> bool:
    """Whether the bytes of a file contain ``needle`` (read in blocks, so a big file is never held whole)."""
    with open(path, "rb") as fh:
        carry = b""
        while chunk := fh.read(block):
            if needle in carry + chunk[: len(needle) - 1] or needle in chunk:
                return True
            carry = chunk[-(len(needle) - 1):] if len(needle) > 1 else b""
    return False


def _read_excel(path: Path, sheet_name) -> pd.DataFrame:
    try:
        return pd.read_excel(path, sheet_name=sheet_name, dtype=object)
    except (ValueError, IndexError) as err:
        try:
            sheets = pd.ExcelFile(path).sheet_names
        except Exception:  # the workbook itself cannot be opened: report pandas' own words
            raise DataError(f"{path.name}: the workbook cannot be read: {err}") from None
        if isinstance(sheet_name, str) and sheet_name in sheets or isinstance(sheet_name, int) and \
                -len(sheets) <= sheet_name < len(sheets):
            raise
        raise DataError(f"{path.name}: the workbook has no sheet {sheet_name!r}; its sheets are {sheets}. "
                        f"Pass sheet_name= one of them.") from None


# -- cells to numbers ---------------------------------------------------------------------------------------------

# Columns at least this long are parsed on their distinct values when those are few.
_DISTINCT_FROM = 10_000
_MONEY_JUNK = re.compile(r"[\s\u00a0$€£¥]|^(?:USD|EUR|GBP|CHF|CAD|AUD)|(?:USD|EUR|GBP|CHF|CAD|AUD)$")
_EURO = re.compile(r"[-+]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")
_US_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def looks_dot_thousands(values: pd.Series) -> bool:
    """Whether text amounts could all be European without decimals, some grouped by dots (``2.500``, ``1.234``)."""
    text = values.dropna().astype(str).str.replace(_MONEY_JUNK, "", regex=True)
    text = text[text != ""]
    return (bool(len(text)) and not text.str.contains(",").any() and text.str.fullmatch(_EURO).all()
            and text.str.contains(".", regex=False).any())


def european_compatible(values: pd.Series) -> bool:
    """Whether every text amount reads as ``1.234,56`` / ``2.500`` / ``12,5`` / ``7`` (blanks allowed)."""
    text = values.dropna().astype(str).str.replace(_MONEY_JUNK, "", regex=True)
    text = text[text != ""]
    return bool(text.str.fullmatch(_EURO).all())


def looks_european(values: pd.Series) -> bool:
    """Whether text amounts are written like ``1.234,56`` (and at least one has a decimal comma)."""
    text = values.dropna().astype(str).str.replace(_MONEY_JUNK, "", regex=True)
    text = text[text != ""]
    return bool(len(text)) and text.str.contains(",").any() and text.str.fullmatch(_EURO).all()


def to_number(
    values: pd.Series,
    *,
    column: str,
    source: str,
    decimal: str = ".",
    thousands: str | None = None,
) -> pd.Series:
    """Parse a column of amounts into float64; blanks become NaN, anything else non-numeric is a DataError.

    Currency symbols and spaces are ignored; with ``decimal="."`` a comma is accepted only as a thousands
    separator in groups of three (``1,234.50``).

    Examples
    --------
    >>> to_number(pd.Series(["$1,234.50", "", "7"]), column="Total", source="x.csv").tolist()
    [1234.5, nan, 7.0]
    >>> to_number(pd.Series(["1.234,56"]), column="Betrag", source="x.csv", decimal=",", thousands=".").tolist()
    [1234.56]
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    if values.dtype == object:  # Excel cells: numbers and text mixed
        values = values.map(lambda v: v if isinstance(v, str) else repr(float(v)), na_action="ignore")
    elif len(values) >= _DISTINCT_FROM:
        codes, uniques = pd.factorize(values)
        if len(uniques) <= len(values) // 4:
            # Amounts repeat (prices): parse every distinct text once.
            try:
                parsed = _to_number(pd.Series(uniques, dtype=values.dtype), column=column, source=source,
                                    decimal=decimal, thousands=thousands).to_numpy()
            except DataError:
                pass  # the full pass below raises the same error with the real row numbers
            else:
                # Missing values (code -1) take the NaN appended last.
                return pd.Series(np.append(parsed, np.nan)[codes], index=values.index, name=values.name,
                                 dtype="float64", copy=False)
    return _to_number(values, column=column, source=source, decimal=decimal, thousands=thousands)


def _to_number(values: pd.Series, *, column: str, source: str, decimal: str, thousands: str | None) -> pd.Series:
    """:func:`to_number` on every text value: the reference path, whose errors name the offending rows."""
    text = values.astype("str").str.strip()
    if decimal == "." and not thousands:
        # Plain numbers need no clean-up; only the rest goes through the (slower) text rules below.
        plain = pd.to_numeric(text, errors="coerce")
        if plain.notna().sum() == (text.notna() & text.ne("")).sum():
            return plain.astype("float64")
    text = text.str.replace(_MONEY_JUNK, "", regex=True)
    if thousands:
        text = text.str.replace(thousands, "", regex=False)
    elif decimal == ".":
        grouped = text.str.fullmatch(_US_THOUSANDS).fillna(False).astype(bool)
        text = text.where(~grouped, text.str.replace(",", "", regex=False))
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    number = pd.to_numeric(text.replace("", np.nan), errors="coerce").astype("float64")
    bad = number.isna() & text.notna() & (text != "")
    if bad.any():
        hint = (f" (a decimal comma? pass {option_hint('decimal', ',')} and {option_hint('thousands', '.')})"
                if text[bad].str.contains(",").any() else "")
        raise DataError(
            f"{source}: column `{column}` has non-numeric amounts{hint}: {row_examples(values, bad)}"
            f"{' and more' if bad.sum() > 3 else ''}."
        )
    return number


# -- cells to calendar dates --------------------------------------------------------------------------------------

_OFFSET = re.compile(r"\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})$")


def to_dates(
    values: pd.Series,
    *,
    column: str,
    source: str,
    timezone: str | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    info: dict | None = None,
) -> pd.Series:
    """Parse order dates into naive midnight ``datetime64[ns]``: the calendar date in the store's time zone.

    A value with a UTC offset (``2024-03-01 23:10:00 -0500``) keeps the date as written, which is the store's
    local date; with ``timezone`` it is first converted to that zone. All values must share one format:
    a column mixing formats, or holding text that is no date, is a DataError showing examples; so are dates
    outside the years :data:`DATE_YEARS`.

    Numeric dates such as ``03.01.2024`` or ``25/12/2023 09:00`` are read as a person would (``dayfirst=None``):
    day first when a first field exceeds 12 or the fields are separated by dots (``dd.mm.yyyy``, the German and
    Central European convention), month first when a second field exceeds 12, and month first when every value
    is ambiguous (both fields ≤ 12). ``dayfirst=True/False`` or ``date_format`` decide instead. ``info``, when
    given, receives ``{"order": "day first" | "month first", "why": ..., "example": ...}`` for numeric dates.

    Examples
    --------
    >>> stamps = pd.Series(["2024-03-01 23:10:05 -0500", "2024-03-02 08:00:00 -0500"])
    >>> to_dates(stamps, column="Created at", source="x.csv").dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-01', '2024-03-02']
    >>> to_dates(stamps, column="Created at", source="x.csv", timezone="UTC").dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-02', '2024-03-02']
    """
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind == "date" and len(values) >= _DISTINCT_FROM:
            # Python dates (Parquet's date32): converted once per distinct day.
            codes, uniques = pd.factorize(values)
            if len(uniques) <= len(values) // 4:
                try:
                    parsed = _to_dates(pd.Series(pd.to_datetime(uniques)), column=column, source=source,
                                       timezone=timezone, date_format=date_format, dayfirst=dayfirst,
                                       info=info).to_numpy()
                except DataError:
                    pass  # the full pass below raises the same error with the real row numbers
                else:
                    out = np.append(parsed.astype("datetime64[ns]"), np.datetime64("NaT", "ns"))[codes]
                    return pd.Series(out, index=values.index, name=values.name, copy=False)
        if kind in ("date", "datetime"):
            # Python date/datetime objects (Parquet's date32, Excel cells): no text round trip needed.
            values = pd.Series(pd.to_datetime(values), index=values.index)
        else:
            codes, uniques = pd.factorize(values)
            if len(uniques) <= len(values) // 4:
                # An export repeats each date many times: parse every distinct value once.
                try:
                    parsed = _to_dates(pd.Series(uniques), column=column, source=source, timezone=timezone,
                                       date_format=date_format, dayfirst=dayfirst, info=info).to_numpy()
                except DataError:
                    pass  # the full pass below raises the same error with the real row numbers
                else:
                    # Missing values (code -1) take the NaT appended last.
                    out = np.append(parsed.astype("datetime64[ns]"), np.datetime64("NaT", "ns"))[codes]
                    return pd.Series(out, index=values.index, name=values.name, copy=False)
    return _to_dates(values, column=column, source=source, timezone=timezone, date_format=date_format,
                     dayfirst=dayfirst, info=info)


def _check_years(parsed: pd.Series, shown: pd.Series, *, column: str, source: str) -> None:
    """Dates outside :data:`DATE_YEARS` are typos (2300, 0024), not orders: a DataError naming the rows."""
    low, high = DATE_YEARS
    if isinstance(parsed.dtype, np.dtype) and parsed.dtype.kind == "M":
        # Naive datetimes: comparing with the first and last moments allowed is the year test, without the years.
        bad = ((parsed < pd.Timestamp(year=low, month=1, day=1))
               | (parsed >= pd.Timestamp(year=high + 1, month=1, day=1))).to_numpy()
    else:
        years = parsed.dt.year
        bad = (parsed.notna() & ((years < low) | (years > high))).to_numpy()
    if bad.any():
        raise DataError(
            f"{source}: column `{column}` has dates outside the years {low}–{high}: {row_examples(shown, bad)}"
            f"{' and more' if bad.sum() > 3 else ''}. Correct the year in the file (a typo?), or drop those rows.")


def _to_dates(values: pd.Series, *, column, source, timezone, date_format, dayfirst, info=None) -> pd.Series:
    """:func:`to_dates` on every value: the reference path, whose errors name the offending rows."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values
        if isinstance(values.dtype, pd.DatetimeTZDtype) and timezone:
            parsed = values.dt.tz_convert(timezone)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        _check_years(parsed, values, column=column, source=source)
        return parsed.dt.normalize().astype("datetime64[ns]")
    blank = values.isna() | values.astype("str").str.strip().eq("")
    text = values.astype("str").str.strip()
    if pd.api.types.is_numeric_dtype(values.dtype):
        # e.g. CDNOW's 19970101 read from Parquet as an integer
        text = values.astype("Int64").astype("str")
    has_offset = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
    if timezone and has_offset.any():
        parsed = _parse(text, date_format, dayfirst, utc=True, info=info)
        local = parsed.dt.tz_convert(timezone).dt.tz_localize(None)
    else:
        local = _parse(text.str.replace(_OFFSET, "", regex=True) if has_offset.any() else text, date_format, dayfirst,
                       info=info)
    failed = local.isna() & ~blank
    if failed.any():
        mixed = pd.to_datetime(text[failed].str.replace(_OFFSET, "", regex=True), format="mixed", errors="coerce")
        good = ~failed & ~blank
        seen = f" (the other rows look like {text[good].iloc[0]!r})" if good.any() else ""
        problem = "mixes date formats" if mixed.notna().any() and good.any() else "has values that are not dates"
        raise DataError(
            f"{source}: column `{column}` {problem}{seen}: {row_examples(text, failed)}"
            f"{' and more' if failed.sum() > 3 else ''}. Pass {option_hint('date_format', '%d/%m/%Y')} "
            f"or {option_hint('dayfirst', True)} if the dates are written day first."
        )
    _check_years(local, text, column=column, source=source)
    return local.dt.normalize().astype("datetime64[ns]")


_NUMERIC_DATE = r"^\s*(?P<first>\d{1,2})[./-](?P<second>\d{1,2})[./-]\d{2,4}(?:$|[^\d./-])"


def _date_fields(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The first and second fields of numeric dates (``25/12/2023`` gives 25 and 12); None unless all are such.

    Arrow's regex kernel (RE2) on the distinct values: a million distinct timestamps take a fraction of a second.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        fields = pc.extract_regex(pa.array(values.array, type=pa.string()), _NUMERIC_DATE)
        if fields.null_count:
            return None
        return (pc.cast(pc.struct_field(fields, [0]), pa.int64()).to_numpy(),
                pc.cast(pc.struct_field(fields, [1]), pa.int64()).to_numpy())
    except ImportError:  # pragma: no cover - pandas without pyarrow
        parts = values.str.extract(_NUMERIC_DATE)
        if parts.isna().any().any():
            return None
        return parts["first"].astype("int64").to_numpy(), parts["second"].astype("int64").to_numpy()


def _day_order(text: pd.Series, dayfirst: bool | None, info: dict | None) -> bool:
    """Whether numeric dates (``03.01.2024``, ``25/12/2023``) are day first: see :func:`to_dates`."""
    # The day and month are in the first 10 characters: distinct dates, not distinct timestamps, are checked.
    values = pd.Series(text[text.notna() & text.ne("")].str.strip().str.slice(0, 10).unique(), dtype="str")
    fields = _date_fields(values) if len(values) else None
    if fields is None:
        return bool(dayfirst)  # not (only) numeric day/month dates: pandas infers the format
    first, second = fields

    def shown(mask) -> str:  # the date part of the first such value, as written
        return re.match(r"\s*\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", values[mask].iloc[0]).group(0)

    if dayfirst is not None:
        order, why = bool(dayfirst), "as given (dayfirst=%s)" % bool(dayfirst)
    elif (first > 12).any() and not (second > 12).any():
        order, why = True, f"a first field exceeds 12 (e.g. {shown(first > 12)!r})"
    elif (second > 12).any() and not (first > 12).any():
        order, why = False, f"a second field exceeds 12 (e.g. {shown(second > 12)!r})"
    elif (first > 12).any():
        return False  # both fields exceed 12 somewhere: the parse fails and names the rows
    elif not values.str.contains(r"^\s*\d{1,2}[/-]", regex=True).fillna(False).any():
        order, why = True, "dates written dd.mm.yyyy (dots) are day first"
    else:
        order, why = False, "ambiguous"
    if info is not None:
        info.update(order="day first" if order else "month first", why=why, example=shown(slice(None)))
    return order


def _parse(text: pd.Series, date_format, dayfirst: bool | None, utc: bool = False, info: dict | None = None
           ) -> pd.Series:
    """Parse with one format: the given one, ISO 8601, or the format pandas infers from the first value."""
    if date_format:
        return pd.to_datetime(text, format=date_format, errors="coerce", utc=utc)
    iso = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    if iso.notna().sum() == text.notna().sum() - text.eq("").sum():
        return iso
    compact = text.str.fullmatch(r"\d{8}").fillna(False).astype(bool)
    if compact[text.notna() & text.ne("")].all():
        return pd.to_datetime(text, format="%Y%m%d", errors="coerce", utc=utc)
    dayfirst = _day_order(text, dayfirst, info)
    with warnings.catch_warnings():
        # pandas warns when it infers a day-first format; the caller's `dayfirst` is the documented control.
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(text, dayfirst=dayfirst, errors="coerce", utc=utc)
