"""Segment exports: one file per segment plus a combined one, formula injection neutralised, pseudonyms."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from clvlib import (export_segments, export_tables, neutralise_formulas, project_key, pseudonymise_ids,
                    pseudonymise_table)
from clvlib.config import DATA_DIR

INJECTION = '=HYPERLINK("http://x")'


@pytest.fixture
def segmented() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "r_score": [5, 1, 3, 5],
            "f_score": [5, 2, 1, 4],
            "m_score": [5, 1, 2, 5],
            "rfm_code": ["555", "121", "312", "545"],
            "recency": [2, 400, 90, 5],
            "frequency": [9, 2, 1, 6],
            "monetary": [900.0, 40.0, 25.0, 700.0],
            "clv_12m": [-12.5, 3.0, 8.0, 500.0],  # a negative number must stay a number
            "note": ["+1 vip", "x", "@me", "\tweird"],  # not exported: not a known column
            "segment": pd.Categorical(["Champions", "Hibernating", "About to Sleep", "Champions"],
                                      categories=["Champions", "Lost", "About to Sleep", "Hibernating"]),
        },
        index=pd.Index([INJECTION, "C2", "-C3", "@C4"], name="customer_id"),
    )
    return frame


def read_cells(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_one_file_per_segment_and_a_combined_file(segmented, tmp_path):
    before = segmented.copy()
    manifest = export_segments(segmented, tmp_path / "out")
    pd.testing.assert_frame_equal(segmented, before)  # the input is untouched
    assert manifest["segment"].tolist() == ["Champions", "About to Sleep", "Hibernating", "all"]
    assert manifest["customers"].tolist() == [2, 1, 1, 4]
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["about_to_sleep.csv", "all_segments.csv", "champions.csv", "hibernating.csv"]
    combined = pd.read_csv(tmp_path / "out" / "all_segments.csv", dtype={"rfm_code": str})
    assert combined.columns.tolist() == ["customer_id", "segment", "r_score", "f_score", "m_score", "rfm_code",
                                         "recency", "frequency", "monetary", "clv_12m"]
    champions = pd.read_csv(tmp_path / "out" / "champions.csv")
    assert set(champions["segment"]) == {"Champions"} and len(champions) == 2
    # Per-segment files add up to the combined file.
    assert sum(len(pd.read_csv(p)) for p in manifest["path"][:-1]) == len(combined)


def test_formula_injection_comes_out_inert(segmented, tmp_path):
    export_segments(segmented, tmp_path)
    rows = read_cells(tmp_path / "all_segments.csv")
    header, data = rows[0], rows[1:]
    ids = [r[header.index("customer_id")] for r in data]
    assert ids == ["'" + INJECTION, "C2", "'-C3", "'@C4"]
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    text_cols = [header.index(c) for c in ("customer_id", "segment", "rfm_code")]
    assert not any(r[i].startswith(dangerous) for r in data for i in text_cols)
    # Numeric columns keep their sign: -12.5 is still a number when read back.
    clv = pd.read_csv(tmp_path / "all_segments.csv")["clv_12m"]
    assert clv.dtype == "float64" and clv.iloc[0] == -12.5


def test_neutralise_formulas_only_touches_text_cells():
    frame = pd.DataFrame({"text": ["=1+1", "+33 6", "-", "\rx", "plain", None], "num": [-1.0, 2, 3, 4, 5, 6]})
    out = neutralise_formulas(frame)
    assert out["text"].tolist()[:5] == ["'=1+1", "'+33 6", "'-", "'\rx", "plain"]
    assert out["text"].isna().iloc[5]
    assert out["num"].tolist() == frame["num"].tolist()
    assert frame["text"].iloc[0] == "=1+1"  # copy, not in place


def test_emails_from_contacts(segmented, tmp_path):
    orders = pd.DataFrame({"customer_id": ["C2", "C2", "-C3", None],
                           "email": ["old@x.org", "new@x.org", None, "guest@x.org"]})
    export_segments(segmented, tmp_path, contacts=orders)
    combined = pd.read_csv(tmp_path / "all_segments.csv", keep_default_na=False)
    assert combined.columns[1] == "email"
    assert combined.set_index("segment").loc["Hibernating", "email"] == "new@x.org"  # the last known email
    assert (combined["email"] == "").sum() == 3


PEPPER, SALT = b"pepper" * 4, b"salt" * 8  # keys of at least 16 bytes


def test_pseudonymised_ids_are_keyed_hashes_and_emails_dropped(segmented, tmp_path):
    with_email = segmented.assign(email=["a@x.org", "b@x.org", "c@x.org", "d@x.org"])
    export_segments(with_email, tmp_path / "one", pseudonymise=True, key=PEPPER)
    export_segments(with_email, tmp_path / "two", pseudonymise=True, key=PEPPER)
    export_segments(with_email, tmp_path / "three", pseudonymise=True, key=SALT)
    one = pd.read_csv(tmp_path / "one" / "all_segments.csv")
    two = pd.read_csv(tmp_path / "two" / "all_segments.csv")
    three = pd.read_csv(tmp_path / "three" / "all_segments.csv")
    assert "email" not in one.columns
    assert one["customer_id"].tolist() == two["customer_id"].tolist()  # same salt, same pseudonyms
    assert not set(one["customer_id"]) & set(three["customer_id"])
    assert not set(one["customer_id"]) & set(segmented.index)
    import hashlib
    import hmac

    expected = hmac.new(PEPPER, INJECTION.encode(), hashlib.sha256).hexdigest()[:16]  # HMAC, not a salted hash
    assert one["customer_id"].iloc[0] == expected
    assert pseudonymise_ids(["C2"], key=PEPPER)[0] == one["customer_id"].iloc[1]
    random_key = export_segments(with_email, tmp_path / "four", pseudonymise=True)  # a key of its own per run
    assert not set(pd.read_csv(random_key["path"].iloc[-1])["customer_id"]) & set(one["customer_id"])


def test_refuses_to_write_into_bundled_data(segmented):
    with pytest.raises(ValueError, match="bundled data folder"):
        export_segments(segmented, DATA_DIR / "exports")


def test_a_small_store_with_empty_segments_writes_only_the_non_empty_ones(tmp_path):
    import numpy as np

    import clvlib

    frame = pd.DataFrame(
        {"segment": pd.Categorical(["Lost"] * 3, categories=["Champions", "Lost", "At Risk"]),
         "total_revenue": [10.0, 20.0, 30.0], "clv": [np.nan, np.nan, np.nan]},
        index=pd.Index(["a", "b", "c"], name="customer_id"))
    manifest = export_segments(frame, tmp_path)
    assert manifest[["segment", "customers"]].values.tolist() == [["Lost", 3], ["all", 3]]
    cells = read_cells(tmp_path / "lost.csv")
    assert cells[0] == ["customer_id", "segment", "total_revenue", "clv"]
    assert [row[3] for row in cells[1:]] == ["", "", ""]  # missing CLV stays blank, not "nan"
    assert clvlib.segment_summary(frame, clv_column="clv")["customers"].sum() == 3


# --- CSV injection past the neutraliser: CR and LF inside cells, prefixes behind whitespace and control characters ----

SNEAKY = ["x\r=1+1", "y\n+2+3", "z\r\n@SUM(A1)", " =1+1", "\t=1+1", "\x00=cmd", "\u00a0-2+3", "\u200b=1", "ok"]
PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_cells(path) -> list[list[str]]:
    """Cells as a spreadsheet splits the file: rows end at CR, LF or CRLF outside quotes; quotes delimit cells."""
    text = open(path, "rb").read().decode("utf-8")
    rows, row, cell, quoted, i = [], [], "", False, 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == '"' and text[i + 1:i + 2] == '"':
                cell, i = cell + '"', i + 1
            elif c == '"':
                quoted = False
            else:
                cell += c
        elif c == '"':
            quoted = True
        elif c == ",":
            row, cell = row + [cell], ""
        elif c in "\r\n":
            rows.append(row + [cell])
            row, cell = [], ""
            if c == "\r" and text[i + 1:i + 2] == "\n":
                i += 1
        else:
            cell += c
        i += 1
    if cell or row:
        rows.append(row + [cell])
    return rows


def _live_formulas(rows: list[list[str]]) -> list[str]:
    live = []
    for row in rows:
        for cell in row:
            stripped = cell.lstrip("".join(map(chr, range(33))) + "\x7f\u00a0\u200b\ufeff")
            if cell.startswith("'"):
                continue
            try:
                float(cell)  # a number (a negative one starts with "-") is not a formula
                continue
            except ValueError:
                pass
            if stripped.startswith(PREFIXES) or cell.startswith(PREFIXES):
                live.append(cell)
    return live


def test_no_cell_starts_a_formula_as_a_spreadsheet_splits_the_file(tmp_path):
    frame = pd.DataFrame({"segment": ["A"] * len(SNEAKY), "total_revenue": [-1.5] + [2.0] * (len(SNEAKY) - 1),
                          "email": SNEAKY}, index=pd.Index(SNEAKY, name="customer_id"))
    manifest = export_segments(frame, tmp_path / "segments")
    written = export_tables({"sneaky": frame.rename(columns={"segment": "group"})}, tmp_path / "tables")
    for path in [*manifest["path"], *written["path"]]:
        rows = _spreadsheet_cells(path)
        assert len(rows) == 1 + len(SNEAKY), f"{path.name}: a CR or LF inside a cell started a row"
        assert _live_formulas(rows) == [], path.name
        with open(path, newline="", encoding="utf-8") as fh:
            parsed = list(csv.reader(fh))
        assert len(parsed) == 1 + len(SNEAKY)
        ids = [r[parsed[0].index("customer_id")] for r in parsed[1:]]
        # Every id survives whole, neutralised where it could start a formula.
        assert [i.removeprefix("'") for i in ids] == SNEAKY
        # Quoted whole, "x\r=1+1" is one text cell, not a formula; a prefix behind blanks or controls is one.
        assert [i.startswith("'") for i in ids] == [False] * 3 + [True] * 5 + [False]


def test_neutralise_formulas_sees_prefixes_behind_whitespace_and_control_characters():
    out = neutralise_formulas(pd.DataFrame({"t": [" =1+1", "\t=1", "\x00=cmd", "  -x", "a=b", " plain"]}))
    assert out["t"].tolist() == ["' =1+1", "'\t=1", "'\x00=cmd", "'  -x", "a=b", " plain"]


# --- personal data: keyed pseudonyms, the project key, tables shown in notebooks --------------------------------------

@pytest.mark.parametrize("key", ["", b"", "short", b"x" * 15])
def test_empty_or_short_keys_are_refused(key):
    with pytest.raises(ValueError, match="pseudonym `key` (is empty|has only)"):
        pseudonymise_ids(["a"], key=key)
    with pytest.raises(ValueError, match="pseudonym `key`"):
        pseudonymise_table(pd.DataFrame({"customer_id": ["a"]}), key=key)


def test_pseudonyms_keep_missing_ids_missing_and_differ_by_key():
    one = pseudonymise_ids(["a", None, "a", "b"], key=PEPPER)
    assert one[0] == one[2] and one[0] != one[3] and one[1] is None
    assert not set(one.dropna()) & set(pseudonymise_ids(["a", "b"], key=SALT))


def test_project_key_is_created_once_private_and_reused(tmp_path):
    import os
    import stat

    path = tmp_path / "local" / "pseudonym.key"
    key = project_key(path)
    assert len(key) == 32 and path.read_bytes() == key
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert project_key(path) == key  # the same key on every later use
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym.key"]  # no temporary file left behind
    path.write_bytes(b"tiny")
    with pytest.raises(ValueError, match="holds 4 bytes"):
        project_key(path)


def test_the_default_key_lives_in_a_git_ignored_folder():
    from pathlib import Path

    import clvlib.rfm.exports as exports

    gitignore = Path(exports.DATA_DIR).parent / ".gitignore"
    assert "data/local/" in gitignore.read_text().split()


def test_pseudonymise_table_replaces_ids_in_columns_and_index_and_drops_emails():
    table = pd.DataFrame({"customer_id": ["a", "b", None], "email": ["a@x", "b@x", None], "revenue": [1.0, 2, 3]})
    table.attrs["as_of"] = "2024-01-31"
    out = pseudonymise_table(table, key=PEPPER)
    assert out.columns.tolist() == ["customer_id", "revenue"] and out.attrs == table.attrs
    assert out["customer_id"].tolist()[:2] == pseudonymise_ids(["a", "b"], key=PEPPER).tolist()
    assert out["customer_id"].isna().iloc[2] and table["customer_id"].iloc[0] == "a"  # a copy
    indexed = pseudonymise_table(table.set_index("customer_id"), key=PEPPER)
    assert indexed.index.name == "customer_id" and indexed.index[0] == out["customer_id"].iloc[0]
    assert "email" not in indexed.columns
    written = export_tables({"top": table.set_index("customer_id")}, None, key=PEPPER)
    assert written.empty


def test_export_tables_with_a_key_writes_pseudonyms(tmp_path):
    table = pd.DataFrame({"email": ["a@x.org"], "revenue": [1.0]}, index=pd.Index(["a@x.org"], name="customer_id"))
    written = export_tables({"top": table}, tmp_path, key=PEPPER)
    text = written["path"].iloc[0].read_text()
    assert "a@x.org" not in text and pseudonymise_ids(["a@x.org"], key=PEPPER)[0] in text


def test_a_key_without_pseudonymise_is_refused(segmented, tmp_path):
    with pytest.raises(ValueError, match="`pseudonymise` is False"):
        export_segments(segmented, tmp_path, key=PEPPER)


def test_the_customer_id_may_be_a_column(segmented, tmp_path):
    by_index = export_segments(segmented, tmp_path / "index")
    by_column = export_segments(segmented.reset_index(), tmp_path / "column")
    assert by_column["customers"].tolist() == by_index["customers"].tolist()
    assert (tmp_path / "column" / "all_segments.csv").read_bytes() == (tmp_path / "index" / "all_segments.csv").read_bytes()


def test_exports_write_money_in_cents_and_counts_as_integers(tmp_path):
    noisy = 278778.01999999996
    segmented = pd.DataFrame(
        {"recency": [3.0, float("nan")], "frequency": [2.0, float("nan")], "monetary": [noisy, 0.1 + 0.2],
         "total_revenue": [noisy, 12.0], "predicted_clv_12m": [1 / 3, 2 / 3], "p_alive": [1 / 3, 0.5],
         "segment": ["Loyal", "Newsletter, never bought"]},
        index=pd.Index(["a", "p@x.org"], name="customer_id"),
    )
    export_segments(segmented, tmp_path / "seg")
    top = pd.DataFrame({"n_orders": [3, 1], "total_revenue": [noisy, 0.1 + 0.2], "aov": [noisy / 3, 0.3],
                        "share": [0.1 + 0.2, 2 / 3], "ltv_cac": [10 / 3, 1.0], "frequency": [2.0, 0.0]},
                       index=pd.Index(["a", "b"], name="customer_id"))
    export_tables({"top_customers": top}, tmp_path / "tables")
    combined = (tmp_path / "seg" / "all_segments.csv").read_text(encoding="utf-8")
    tables = (tmp_path / "tables" / "top_customers.csv").read_text(encoding="utf-8")
    for text in (combined, tables):
        assert "278778.02" in text and "0.30000000000000004" not in text and "9999" not in text
        numbers = [cell for row in csv.reader(text.splitlines()) for cell in row if cell[:1].isdigit()]
        assert all(len(n.partition(".")[2]) <= 6 for n in numbers), numbers  # no float noise anywhere
    rows = read_cells(tmp_path / "seg" / "all_segments.csv")
    header = rows[0]
    assert rows[1][header.index("recency")] == "3" and rows[1][header.index("frequency")] == "2"  # counts
    assert rows[1][header.index("predicted_clv_12m")] == "0.33"  # money in cents
    assert rows[2][header.index("frequency")] == ""  # a prospect has no orders: missing, not 0.00
    top_rows = read_cells(tmp_path / "tables" / "top_customers.csv")
    header = top_rows[0]
    assert top_rows[1][header.index("n_orders")] == "3" and top_rows[1][header.index("frequency")] == "2"
    assert top_rows[1][header.index("aov")] == "92926.01"
    assert top_rows[1][header.index("share")] == "0.3" and top_rows[1][header.index("ltv_cac")] == "3.333333"
