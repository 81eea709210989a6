"""read_transactions on generic input: file formats, dialects, the orders contract, and every DataError."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pandas as pd
import pytest

from clvlib import DataError, read_transactions

GENERIC = pd.DataFrame({
    "customer_id": [" a ", "b", "a", "c"],
    "order_id": ["o1", "o2", "o3", "o4"],
    "order_date": ["2024-01-03", "2024-01-02", "2024-02-10", "2024-01-02"],
    "revenue": ["10.50", "20", "5.25", "7"],
})
EXPECTED = pd.DataFrame({
    "customer_id": pd.array(["b", "c", "a", "a"], dtype="str"),
    "order_id": pd.array(["o2", "o4", "o1", "o3"], dtype="str"),
    "order_date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03", "2024-02-10"]).astype("datetime64[ns]"),
    "revenue": [20.0, 7.0, 10.5, 5.25],
})


def _write(frame: pd.DataFrame, path, **kwargs):
    suffix = "".join(path.suffixes)
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".xlsx":
        frame.to_excel(path, index=False)
    elif suffix == ".csv.gz":
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            frame.to_csv(fh, index=False)
    else:
        frame.to_csv(path, index=False, **kwargs)
    return path


@pytest.mark.parametrize("name, kwargs", [
    ("orders.csv", {}), ("orders.csv.gz", {}), ("orders.parquet", {}), ("orders.xlsx", {}),
    ("orders_semicolon.csv", {"sep": ";"}), ("orders_tab.tsv", {"sep": "\t"}), ("orders_pipe.csv", {"sep": "|"}),
])
def test_formats_give_the_same_orders(tmp_path, name, kwargs):
    path = _write(GENERIC, tmp_path / name, **kwargs)
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    orders = read_transactions(path)
    pd.testing.assert_frame_equal(orders, EXPECTED)
    assert isinstance(orders.index, pd.RangeIndex)
    assert orders.attrs["source"] == name
    # The input file is never modified.
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


def test_dataframe_input_is_not_mutated():
    frame = GENERIC.copy()
    orders = read_transactions(frame)
    pd.testing.assert_frame_equal(frame, GENERIC)
    pd.testing.assert_frame_equal(orders, EXPECTED)
    assert orders.attrs["source"] == "DataFrame"


def test_whitespace_text_file(tmp_path):
    path = tmp_path / "orders.txt"
    path.write_text("customer_id order_id order_date revenue\n a o1 20240103 10.50\n b o2 20240102 20\n")
    orders = read_transactions(path)
    assert orders["order_id"].tolist() == ["o2", "o1"]
    assert orders["order_date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]


def test_european_dialect_with_bom(tmp_path):
    path = tmp_path / "export.csv"
    text = "Kunde;Datum;Betrag\nk1;03.01.2024;1.234,56\nk2;04.01.2024;12,50\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    orders = read_transactions(path, columns={"customer_id": "Kunde", "order_date": "Datum", "revenue": "Betrag"},
                               dayfirst=True)
    assert orders["revenue"].tolist() == [1234.56, 12.5]
    assert orders["order_date"].tolist() == [pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-04")]
    assert any("decimal comma" in n for n in orders.attrs["cleaning"].notes)


def test_us_thousands_separator_and_currency_symbol(tmp_path):
    path = tmp_path / "us.csv"
    path.write_text('customer_id,order_date,revenue\na,2024-01-01,"$1,234.50"\nb,2024-01-02,$99\n')
    assert read_transactions(path)["revenue"].tolist() == [1234.5, 99.0]


def test_revenue_from_quantity_times_unit_price_and_optional_columns():
    frame = pd.DataFrame({"cust": ["a", "a", "b"], "day": ["2024-01-01", "2024-01-01", "2024-01-05"],
                          "order": ["x", "x", "y"], "qty": [2, 1, 3], "price": [5.0, 4.0, 2.5],
                          "cogs": [3.0, 2.0, 4.0], "channel": ["ads", "ads", "seo"], "product": ["p", "q", "r"]})
    orders = read_transactions(frame, columns={"customer_id": "cust", "order_date": "day", "order_id": "order",
                                               "quantity": "qty", "unit_price": "price", "cost": "cogs"})
    assert orders["revenue"].tolist() == [14.0, 7.5]  # 2*5 + 1*4; 3*2.5
    assert orders["quantity"].tolist() == [3.0, 3.0]
    assert orders["gross_margin"].tolist() == [9.0, 3.5]
    assert orders["product"].tolist() == ["p", "r"] and orders["channel"].tolist() == ["ads", "seo"]


def test_email_only_key_is_normalised():
    frame = pd.DataFrame({"email": [" A@x.com", "a@X.com ", ""], "order_date": ["2024-01-01"] * 3,
                          "revenue": [1.0, 2.0, 3.0]})
    orders = read_transactions(frame)
    assert orders["customer_id"].tolist()[:2] == ["a@x.com", "a@x.com"]
    assert orders["customer_id"].isna().sum() == 1
    assert orders.attrs["cleaning"].guest_orders == 1


def test_as_of_excludes_later_orders_and_strict_raises():
    orders = read_transactions(GENERIC, as_of="2024-01-31")
    report = orders.attrs["cleaning"]
    assert orders["order_id"].tolist() == ["o2", "o4", "o1"]
    assert report.excluded.loc["after as_of", ["rows", "revenue"]].tolist() == [1, 5.25]
    with pytest.raises(DataError, match="`order_date`.*after as_of"):
        read_transactions(GENERIC, as_of="2024-01-31", strict=True)


def test_other_currency_excluded_or_converted():
    frame = GENERIC.assign(currency=["USD", "USD", "EUR", "usd"])
    orders = read_transactions(frame)
    assert orders.attrs["cleaning"].excluded.loc["other currency", ["rows", "revenue"]].tolist() == [1, 5.25]
    assert (orders["currency"] == "USD").all()
    converted = read_transactions(frame, rates={"EUR": 2.0})
    assert converted.set_index("order_id").loc["o3", "revenue"] == 10.5


# -- errors: each names the column (or the problem where there is none) ------------------------------------------

def _csv(tmp_path, text: str, name: str = "bad.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_error_missing_required_column_names_closest(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenu\na,2024-01-01,3\n")
    with pytest.raises(DataError, match=r"bad\.csv.*`revenue`.*Columns found.*closest match is `revenu`"):
        read_transactions(path)


def test_error_missing_mapped_column(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\na,2024-01-01,3\n")
    with pytest.raises(DataError, match="`amount`"):
        read_transactions(path, columns={"revenue": "amount"})


def test_error_empty_file(tmp_path):
    with pytest.raises(DataError, match=r"bad\.csv: the file is empty"):
        read_transactions(_csv(tmp_path, ""))


def test_error_header_only(tmp_path):
    with pytest.raises(DataError, match=r"header \(\['customer_id', 'order_date', 'revenue'\]\) but no rows"):
        read_transactions(_csv(tmp_path, "customer_id,order_date,revenue\n"))


def test_error_unparseable_dates(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\na,2024-01-01,3\nb,yesterday,4\n")
    with pytest.raises(DataError, match=r"`order_date`.*not dates.*row 2: 'yesterday'"):
        read_transactions(path)


def test_error_mixed_date_formats(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\na,2024-01-01,3\nb,13/01/2024,4\n")
    with pytest.raises(DataError, match=r"`order_date` mixes date formats.*'2024-01-01'.*row 2: '13/01/2024'"):
        read_transactions(path)


def test_error_non_numeric_amounts(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\na,2024-01-01,3\nb,2024-01-02,n/a\n")
    with pytest.raises(DataError, match=r"`revenue` has non-numeric amounts.*row 2: 'n/a'"):
        read_transactions(path)


def test_error_conflicting_duplicate_order_ids(tmp_path):
    path = _csv(tmp_path, "order_id,customer_id,order_date,revenue\n7,a,2024-01-01,3\n7,a,2024-01-01,4\n")
    with pytest.raises(DataError, match=r"`order_id` has duplicate order ids with conflicting amounts.*'7'"):
        read_transactions(path)


def test_exact_duplicate_order_rows_are_excluded_not_an_error(tmp_path):
    path = _csv(tmp_path, "order_id,customer_id,order_date,revenue\n7,a,2024-01-01,3\n7,a,2024-01-01,3\n")
    orders = read_transactions(path)
    assert orders["revenue"].tolist() == [3.0]
    assert orders.attrs["cleaning"].excluded.loc["duplicate", "rows"] == 1


def test_error_not_utf8_suggests_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("customer_id,order_date,revenue\nJosé,2024-01-01,3\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv.*not UTF-8.*encoding='latin-1'"):
        read_transactions(path)
    assert read_transactions(path, encoding="latin-1")["customer_id"].tolist() == ["José"]


def test_error_unknown_preset():
    with pytest.raises(ValueError, match=r"The value for `preset` must be one of \[.*'shopify'.*\], but 'shop'"):
        read_transactions(GENERIC, preset="shop")


def test_blank_values_are_counted_not_fatal():
    frame = GENERIC.assign(revenue=["10.50", "", "5.25", "7"], order_date=["2024-01-03", "2024-01-02", None,
                                                                           "2024-01-02"])
    orders = read_transactions(frame)
    assert orders["order_id"].tolist() == ["o4", "o1"]
    assert orders.attrs["cleaning"].excluded.loc["unparseable value", "rows"] == 2
    assert np.isclose(orders.attrs["cleaning"].excluded.loc["unparseable value", "revenue"], 5.25)


def test_repeated_dates_parse_once_with_the_same_result_and_errors_name_the_real_row():
    from clvlib.ingest import readers as _readers

    stamps = pd.Series(["2024-03-01 23:10:05 -0500", "2024-03-02 08:00:00 -0500", ""] * 40)
    fast = _readers.to_dates(stamps, column="Created at", source="x.csv", timezone="UTC")
    reference = _readers._to_dates(stamps, column="Created at", source="x.csv", timezone="UTC", date_format=None,
                                   dayfirst=False)
    pd.testing.assert_series_equal(fast, reference)
    as_objects = _readers.to_dates(pd.Series(pd.to_datetime(["2024-01-05", "2024-01-06"]).date), column="d",
                                   source="x.parquet")
    assert as_objects.tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-06")]
    broken = pd.Series(["2024-03-01"] * 30 + ["not a date"] + ["2024-03-02"] * 30)
    with pytest.raises(DataError, match=r"`Created at`.*row 31: .not a date."):  # data rows count from 1
        _readers.to_dates(broken, column="Created at", source="x.csv")
