"""Real exports, exactly: each awkward file ends in a correct read, a stated guess, or a DataError naming the file,
column and problem. Every file is built here, byte for byte where the bytes matter."""

from __future__ import annotations

import codecs
import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

from clvlib import DataError, read_transactions


def _csv(tmp_path, text: str, name: str = "orders.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _report(orders):
    return orders.attrs["cleaning"]


def _excluded(orders) -> dict:
    ex = _report(orders).excluded
    return {r: (int(ex.loc[r, "rows"]), round(float(ex.loc[r, "revenue"]), 2)) for r in ex.index if ex.loc[r, "rows"]}


def _reconciles(orders) -> None:
    report = _report(orders)
    assert report.rows_read == report.rows_kept + int(report.excluded["rows"].sum())
    assert np.isclose(report.revenue + report.refunds_applied + report.excluded["revenue"].sum(), report.input_revenue)


# -- 1. missing means missing --------------------------------------------------------------------------------------

def test_placeholder_customer_ids_are_guest_orders(tmp_path):
    placeholders = ["", "  ", "NaN", "NA", "N/A", "n/a", "None", "NULL", "null", "-", "#N/A", "nan"]
    rows = [f"{p},2024-01-{i % 28 + 1:02d},10" for i, p in enumerate(placeholders * 5)]
    path = _csv(tmp_path, "customer_id,order_date,revenue\n" + "\n".join(rows) + "\nc1,2024-02-01,5.25\nc1,2024-02-03,4\n")
    orders = read_transactions(path)
    report = _report(orders)
    assert report.orders == 62 and report.guest_orders == 60 and report.customers == 1
    assert orders["customer_id"].dropna().unique().tolist() == ["c1"]
    assert round(report.revenue, 2) == 609.25
    assert "NULL" not in set(orders["customer_id"].dropna())
    # "" and "  " are blanks already; the other 10 spellings × 5 rows are placeholders, counted in the notes.
    assert report.notes == ["`customer_id`: placeholders read as missing, so guest orders ('#N/A', '-', 'N/A', 'NA', "
                            "'NULL', 'NaN', ...): 50 rows (10 distinct values)"]
    _reconciles(orders)


def test_placeholder_emails_are_missing_and_fall_back_to_nothing(tmp_path):
    path = _csv(tmp_path, "email,order_date,revenue\nNULL,2024-01-01,10\nn/a,2024-01-02,20\n A@x.com,2024-01-03,5\n"
                          "a@x.com,2024-01-04,7.5\n")
    orders = read_transactions(path)
    assert orders["customer_id"].isna().tolist() == [True, True, False, False]
    assert orders["customer_id"].dropna().tolist() == ["a@x.com", "a@x.com"]
    assert (_report(orders).guest_orders, _report(orders).customers) == (2, 1)
    assert "`email`: placeholders read as missing, so guest orders ('NULL', 'n/a'): 2 rows (2 distinct values)" \
        in _report(orders).notes


def test_numeric_ids_with_zero_decimals_are_one_customer(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\n12345.0,2024-01-01,10\n12345,2024-01-02,20\n"
                          "12345.5,2024-01-03,5\n0042.00,2024-01-04,1\n")
    orders = read_transactions(path)
    assert orders["customer_id"].tolist() == ["12345", "12345", "12345.5", "0042"]
    assert _report(orders).customers == 3
    assert _report(orders).notes == ["`customer_id`: numbers with a zero decimal part read as whole numbers "
                                     "(12345.0 is 12345): 2 rows (2 distinct values)"]


def test_numeric_ids_as_floats_in_a_dataframe():
    frame = pd.DataFrame({"customer_id": [12345.0, 12345.0, 12345.5, np.nan], "order_date": ["2024-01-01"] * 4,
                          "revenue": [1.0, 2.0, 3.0, 4.0]})
    orders = read_transactions(frame)
    assert orders["customer_id"].tolist()[:3] == ["12345", "12345", "12345.5"]
    assert orders["customer_id"].isna().tolist() == [False, False, False, True]


def test_control_characters_in_ids_are_stripped_and_counted(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"customer_id,order_id,order_date,revenue\na\x00b,o1,2024-01-01,10\nab,o2,2024-01-02,20\n"
                     b"c\x07,o\x1f3,2024-01-03,5\n")
    orders = read_transactions(path)
    assert orders["customer_id"].tolist() == ["ab", "ab", "c"]
    assert orders["order_id"].tolist() == ["o1", "o2", "o3"]
    assert _report(orders).customers == 2
    assert _report(orders).notes == ["`customer_id`: control characters stripped: 2 rows (2 distinct values)",
                                     "`order_id`: control characters stripped: 1 rows (1 distinct values)"]


# -- 2. dates read as a person would ------------------------------------------------------------------------------

def test_german_excel_export_day_first_with_time_and_decimal_comma(tmp_path):
    path = _csv(tmp_path, "Kunde;Datum;Betrag\nk1;03.01.2024 14:05;1.234,56\nk2;25.12.2023 09:00;12,50\n"
                          "k1;04.01.2024 23:59;7,00\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        orders = read_transactions(path, columns={"customer_id": "Kunde", "order_date": "Datum", "revenue": "Betrag"})
    assert orders["order_date"].tolist() == list(pd.to_datetime(["2023-12-25", "2024-01-03", "2024-01-04"]))
    assert orders["revenue"].tolist() == [12.5, 1234.56, 7.0]
    assert (_report(orders).customers, round(_report(orders).revenue, 2)) == (2, 1254.06)
    assert _report(orders).notes == ["amounts read with a decimal comma (European dialect detected)",
                                     "dates in `Datum` read day first: a first field exceeds 12 (e.g. "
                                     "'25.12.2023')"]


def test_dotted_dates_are_day_first_even_when_every_value_is_ambiguous(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\na,03.01.2024,10\nb,04.02.2024,20\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        orders = read_transactions(path)
    assert orders["order_date"].tolist() == list(pd.to_datetime(["2024-01-03", "2024-02-04"]))
    assert _report(orders).notes == ["dates in `order_date` read day first: dates written dd.mm.yyyy (dots) are "
                                     "day first"]


def test_slash_dates_with_a_first_field_above_12_are_day_first(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\na,03/01/2024,10\nb,25/12/2023,20\n")
    orders = read_transactions(path)
    assert orders["order_date"].min() == pd.Timestamp("2023-12-25")
    assert orders["order_date"].tolist() == list(pd.to_datetime(["2023-12-25", "2024-01-03"]))
    assert _report(orders).notes == ["dates in `order_date` read day first: a first field exceeds 12 (e.g. "
                                     "'25/12/2023')"]


def test_slash_dates_with_a_second_field_above_12_are_month_first_silently(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\na,03/01/2024,10\nb,12/25/2023,20\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        orders = read_transactions(path)
    assert orders["order_date"].tolist() == list(pd.to_datetime(["2023-12-25", "2024-03-01"]))
    assert _report(orders).notes == []


def test_all_ambiguous_dates_read_month_first_with_a_warning(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\na,03/01/2024,10\nb,04/02/2024,20\n")
    note = ("dates in `order_date` are ambiguous (every day and month is 12 or less): read month first, so "
            "'03/01/2024' is 2024-03-01; if they are written day first, pass dayfirst=True (or date_format=, "
            "e.g. '%d/%m/%Y')")
    with pytest.warns(UserWarning) as caught:
        orders = read_transactions(path)
    assert [str(w.message) for w in caught] == [f"orders.csv: {note}"]
    assert caught[0].filename == __file__  # stacklevel points at the caller
    assert orders["order_date"].tolist() == list(pd.to_datetime(["2024-03-01", "2024-04-02"]))
    assert _report(orders).notes == [note]
    # The documented way out: dayfirst=True (or False to confirm), without a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        day_first = read_transactions(path, dayfirst=True)
        month_first = read_transactions(path, dayfirst=False)
        formatted = read_transactions(path, date_format="%d/%m/%Y")
    assert day_first["order_date"].tolist() == list(pd.to_datetime(["2024-01-03", "2024-02-04"]))
    assert formatted["order_date"].tolist() == day_first["order_date"].tolist()
    assert month_first["order_date"].tolist() == orders["order_date"].tolist()
    assert _report(day_first).notes == [] and _report(month_first).notes == []


@pytest.mark.parametrize("bad", ["2300-01-01", "0024-01-01", "01/01/2300"])
def test_out_of_range_years_are_a_data_error_naming_the_rows(tmp_path, bad):
    path = _csv(tmp_path, f"customer_id,order_date,revenue\na,2024-01-01,10\nb,{bad},20\nc,2024-01-03,5\n"
                          f"d,{bad},1\n")
    if "/" in bad:
        path = _csv(tmp_path, f"customer_id,order_date,revenue\na,01/02/2024,10\nb,{bad},20\nc,01/03/2024,5\n"
                              f"d,{bad},1\n")
    with pytest.raises(DataError) as err:
        read_transactions(path)
    assert str(err.value) == (f"orders.csv: column `order_date` has dates outside the years 1900–2100: row 2: "
                              f"'{bad}', row 4: '{bad}'. Correct the year in the file (a typo?), or drop those rows.")


def test_out_of_range_years_in_a_dataframe_of_timestamps():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "revenue": [1.0, 2.0],
                          "order_date": pd.to_datetime(["2024-01-01", "2300-01-01"]).as_unit("us")})
    with pytest.raises(DataError, match=r"DataFrame: column `order_date` has dates outside the years 1900–2100: row 2"):
        read_transactions(frame)


# -- 3. numbers ---------------------------------------------------------------------------------------------------

def test_semicolon_file_with_dot_grouped_amounts_reads_thousands(tmp_path):
    path = _csv(tmp_path, "customer_id;order_date;revenue\na;2024-01-01;1.234\nb;2024-01-02;2.500\n")
    orders = read_transactions(path)
    assert orders["revenue"].tolist() == [1234.0, 2500.0]
    assert round(_report(orders).revenue, 2) == 3734.0
    assert _report(orders).notes == [
        "amounts read with '.' as the thousands separator ('1.234' is 1,234): the file is ';'-separated (a European "
        "export) and no amount has a decimal point; pass decimal='.' if '1.234' means 1.234"]
    assert read_transactions(path, decimal=".")["revenue"].tolist() == [1.234, 2.5]


def test_semicolon_file_with_decimal_points_stays_decimal(tmp_path):
    path = _csv(tmp_path, "customer_id;order_date;revenue\na;2024-01-01;1.234\nb;2024-01-02;12.50\n")
    orders = read_transactions(path)
    assert orders["revenue"].tolist() == [1.234, 12.5]
    assert _report(orders).notes == []


def test_comma_file_with_dot_grouped_amounts_is_not_guessed(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue\na,2024-01-01,1.234\nb,2024-01-02,2.500\n")
    assert read_transactions(path)["revenue"].tolist() == [1.234, 2.5]


def test_non_finite_and_absurd_amounts_are_excluded_with_their_own_reason(tmp_path):
    path = _csv(tmp_path, "order_id,customer_id,order_date,revenue,status\n1,a,2024-01-01,10.25,paid\n"
                          "2,b,2024-01-02,inf,paid\n3,c,2024-01-03,1e309,paid\n4,d,2024-01-04,5e12,paid\n"
                          "5,e,2024-01-05,-inf,cancelled\n6,a,2024-01-06,999999999999,paid\n")
    orders = read_transactions(path)
    report = _report(orders)
    assert orders["order_id"].tolist() == ["1", "6"]
    assert (report.orders, report.customers, round(report.revenue, 2)) == (2, 1, 1000000000009.25)
    # Row 5 is cancelled too; its -inf carries no money either.
    assert _excluded(orders) == {"absurd amount": (4, 0.0)}
    assert report.excluded.loc["absurd amount", "note"] == (
        "amount not finite or above 1e+12 in absolute value (row 2: revenue=inf; row 3: revenue=inf; row 4: "
        "revenue=5e+12); those amounts are left out of the revenue accounting")
    assert report.rows_read == 6 and round(report.input_revenue, 2) == 1000000000009.25
    _reconciles(orders)


def test_absurd_refund_is_excluded_and_its_order_amount_accounted(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue,refunded\na,2024-01-01,10,0\nb,2024-01-02,20,inf\n")
    orders = read_transactions(path)
    assert orders["revenue"].tolist() == [10.0]
    assert _excluded(orders) == {"absurd amount": (1, 20.0)}
    _reconciles(orders)


def test_duplicate_header_is_a_data_error(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue,revenue\na,2024-01-01,10,11\n")
    with pytest.raises(DataError) as err:
        read_transactions(path)
    assert str(err.value) == ("orders.csv: the header names the same column more than once: `revenue` (column 3) "
                              "and `revenue` (column 4). Rename or delete the duplicate so it is clear which one "
                              "holds the data.")


def test_duplicate_header_in_a_column_the_kit_does_not_read_is_harmless(tmp_path):
    path = _csv(tmp_path, "customer_id,order_date,revenue,note,note\na,2024-01-01,10,x,y\n")
    assert read_transactions(path)["revenue"].tolist() == [10.0]


def test_duplicate_header_in_a_workbook(tmp_path):
    path = tmp_path / "book.xlsx"
    pd.DataFrame([["a", "2024-01-01", 10, 11]], columns=["customer_id", "order_date", "Total", "Total "]).to_excel(
        path, index=False)
    with pytest.raises(DataError, match=r"book\.xlsx: the header names the same column more than once: `Total` "
                                         r"\(column 3\) and `Total` \(column 4\)"):
        read_transactions(path, columns={"revenue": "Total"})


# -- 4. files -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows", [10, 20000])  # cut inside the sniffed head, and after it
def test_truncated_gzip_is_a_data_error(tmp_path, rows):
    body = "customer_id,order_date,revenue\n" + "".join(f"c{i},2024-01-01,{i}.5\n" for i in range(rows))
    data = gzip.compress(body.encode())
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(data[: len(data) - 12])
    with pytest.raises(DataError, match=r"^orders\.csv\.gz: the file is truncated or corrupt \("):
        read_transactions(path)


@pytest.mark.parametrize("codec, bom, label", [
    ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16"), ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16"),
    ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32"), ("utf-32-be", codecs.BOM_UTF32_BE, "UTF-32"),
])
def test_utf16_and_utf32_files_are_read_by_their_bom(tmp_path, codec, bom, label):
    text = "customer_id,order_date,revenue\nJosé,2024-01-02,10.5\nZoë,2024-01-01,3\nJosé,2024-02-01,1.25\n"
    path = tmp_path / "export.csv"
    path.write_bytes(bom + text.encode(codec))
    orders = read_transactions(path)
    assert orders["customer_id"].tolist() == ["Zoë", "José", "José"]
    assert orders["revenue"].tolist() == [3.0, 10.5, 1.25]
    assert orders["order_date"].iloc[0] == pd.Timestamp("2024-01-01")
    assert _report(orders).notes == [f"text read as {label} (the file starts with its byte-order mark)"]


def test_missing_sheet_names_the_available_ones(tmp_path):
    path = tmp_path / "book.xlsx"
    frame = pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"], "revenue": [1.0]})
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="Orders", index=False)
        frame.to_excel(writer, sheet_name="Archive", index=False)
    with pytest.raises(DataError) as err:
        read_transactions(path, sheet_name="Bestellungen")
    assert str(err.value) == ("book.xlsx: the workbook has no sheet 'Bestellungen'; its sheets are ['Orders', "
                              "'Archive']. Pass sheet_name= one of them.")
    with pytest.raises(DataError, match=r"no sheet 5; its sheets are \['Orders', 'Archive'\]"):
        read_transactions(path, sheet_name=5)
    assert read_transactions(path, sheet_name="Archive")["revenue"].tolist() == [1.0]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_and_said(tmp_path, codec):
    # Some Windows tools write UTF-16 with no BOM; read as UTF-8 its header would be "c\x00u\x00s\x00...".
    path = tmp_path / "export.csv"
    path.write_bytes("customer_id,order_date,revenue\nRenée,2024-01-01,10.5\nBo,2024-01-02,20\n".encode(codec))
    orders = read_transactions(path)
    assert orders["customer_id"].tolist() == ["Renée", "Bo"] and orders["revenue"].tolist() == [10.5, 20.0]
    assert any(codec.upper() in n and "no byte-order mark" in n for n in orders.attrs["cleaning"].notes)


def test_a_nul_inside_one_id_is_not_mistaken_for_utf16(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"customer_id,order_date,revenue\na\x00b,2024-01-01,10\nc,2024-01-02,20\n")
    orders = read_transactions(path)
    assert sorted(orders["customer_id"]) == ["ab", "c"]
