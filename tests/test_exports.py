"""Segment exports: one file per segment plus a combined one, formula injection neutralised, pseudonyms."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from clvlib import export_segments, neutralise_formulas, pseudonymise_ids
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


def test_pseudonymised_ids_are_salted_hashes_and_emails_dropped(segmented, tmp_path):
    with_email = segmented.assign(email=["a@x.org", "b@x.org", "c@x.org", "d@x.org"])
    export_segments(with_email, tmp_path / "one", pseudonymise=True, salt="pepper")
    export_segments(with_email, tmp_path / "two", pseudonymise=True, salt="pepper")
    export_segments(with_email, tmp_path / "three", pseudonymise=True, salt="salt")
    one = pd.read_csv(tmp_path / "one" / "all_segments.csv")
    two = pd.read_csv(tmp_path / "two" / "all_segments.csv")
    three = pd.read_csv(tmp_path / "three" / "all_segments.csv")
    assert "email" not in one.columns
    assert one["customer_id"].tolist() == two["customer_id"].tolist()  # same salt, same pseudonyms
    assert not set(one["customer_id"]) & set(three["customer_id"])
    assert not set(one["customer_id"]) & set(segmented.index)
    import hashlib

    expected = hashlib.sha256(f"pepper\x1f{INJECTION}".encode()).hexdigest()[:16]
    assert one["customer_id"].iloc[0] == expected
    assert pseudonymise_ids(["C2"], "pepper")[0] == one["customer_id"].iloc[1]


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
    assert clvlib.segment_summary(frame, clv="clv")["customers"].sum() == 3
