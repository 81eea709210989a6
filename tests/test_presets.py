"""Presets on small exports built here, with expected orders and revenues worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlib
from clvlib import read_transactions
from clvlib.config import DATA_DIR

SHOPIFY_CSV = """\
Name,Email,Financial Status,Created at,Currency,Subtotal,Total,Refunded Amount,Cancelled at,Payment Method,Lineitem quantity,Lineitem name,Lineitem price,Source
#1001,Ann@Example.com ,paid,2024-03-01 23:10:05 -0500,USD,90.00,100.00,0.00,,Shopify Payments,2,Mug,30.00,web
#1001,,,,,,,,,,1,Plate,30.00,
#1002, ann@example.com,partially_refunded,2024-03-05 10:00:00 -0500,USD,45.00,50.00,20.00,,Shopify Payments,1,Bowl,45.00,web
#1003,bob@example.com,refunded,2024-03-06 09:00:00 -0500,USD,30.00,30.00,30.00,,Shopify Payments,1,Cup,30.00,web
#1004,bob@example.com,voided,2024-03-07 09:00:00 -0500,USD,40.00,40.00,0.00,,Shopify Payments,1,Jug,40.00,web
#1004,,,,,,,,,,2,Spoon,0.00,
#1005,carl@example.com,paid,2024-03-08 09:00:00 -0500,USD,60.00,60.00,0.00,2024-03-08 12:00:00 -0500,Shopify Payments,1,Pot,60.00,pos
#1006,,paid,2024-03-09 09:00:00 -0500,USD,25.00,25.00,0.00,,Shopify Payments,1,Cup,25.00,web
#1007,dan@example.com,pending,2024-03-10 09:00:00 -0500,USD,15.00,15.00,0.00,,Manual,1,Cup,15.00,web
#1008,eve@example.com,paid,2024-03-11 09:00:00 -0500,USD,35.00,35.00,0.00,,bogus,1,Cup,35.00,web
#1009,fay@example.com,paid,2024-03-12 09:00:00 -0500,EUR,20.00,20.00,0.00,,Shopify Payments,1,Cup,20.00,web
"""


@pytest.fixture
def shopify_file(tmp_path):
    path = tmp_path / "orders_export.csv"
    path.write_text(SHOPIFY_CSV, encoding="utf-8")
    return path


def test_shopify_orders_worked_by_hand(shopify_file):
    orders = read_transactions(shopify_file, preset="shopify")
    assert orders["order_id"].tolist() == ["#1001", "#1002", "#1006"]
    # Mixed-case email with spaces is the same customer; the guest has no key.
    assert orders["customer_id"].tolist()[:2] == ["ann@example.com", "ann@example.com"]
    assert orders["customer_id"].isna().tolist() == [False, False, True]
    # Total minus Refunded Amount; line rows carry no order amounts of their own.
    assert orders["revenue"].tolist() == [100.0, 30.0, 25.0]
    assert orders["quantity"].tolist() == [3.0, 1.0, 1.0]
    assert orders["product"].tolist() == ["Mug", "Bowl", "Cup"]
    # 23:10 at -05:00 is 1 March in the store, though 2 March in UTC.
    assert orders["order_date"].tolist() == list(pd.to_datetime(["2024-03-01", "2024-03-05", "2024-03-09"]))
    assert (orders["currency"] == "USD").all()

    report = orders.attrs["cleaning"]
    ex = report.excluded
    assert ex.loc["fully refunded", ["rows", "revenue"]].tolist() == [1, 30.0]
    assert ex.loc["cancelled", ["rows", "revenue"]].tolist() == [3, 100.0]  # #1004's two rows + #1005
    assert ex.loc["pending or unpaid", "rows"] == 1
    assert ex.loc["test order", ["rows", "revenue"]].tolist() == [1, 35.0]
    assert ex.loc["other currency", ["rows", "revenue"]].tolist() == [1, 20.0]
    assert report.rows_read == 11 and report.rows_kept == 4
    assert report.guest_orders == 1 and report.customers == 1
    assert report.refunds_applied == pytest.approx(20.0)


def test_shopify_timezone_converts_before_taking_the_date(shopify_file):
    orders = read_transactions(shopify_file, preset="shopify", timezone="UTC")
    assert orders.loc[orders["order_id"] == "#1001", "order_date"].iloc[0] == pd.Timestamp("2024-03-02")


def test_shopify_rates_convert_other_currency(shopify_file):
    orders = read_transactions(shopify_file, preset="shopify", rates={"EUR": 1.5})
    assert orders.set_index("order_id").loc["#1009", "revenue"] == pytest.approx(30.0)
    assert orders.attrs["cleaning"].excluded.loc["other currency", "rows"] == 0
    assert any("EUR at 1.5" in n for n in orders.attrs["cleaning"].notes)


WOO_CSV = """\
Order ID,Order Date,Order Status,Order Total,Order Refund Amount,Billing Email,Customer User ID,Order Currency
101,2024-02-01 10:00,wc-completed,120.00,0,Zoe@Shop.com,12,EUR
102,2024-02-03 11:00,wc-processing,80.00,20.00, zoe@shop.com ,12,EUR
103,2024-02-04 12:00,wc-refunded,50.00,50.00,yan@shop.com,13,EUR
104,2024-02-05 12:00,wc-cancelled,40.00,0,xi@shop.com,0,EUR
105,2024-02-06 12:00,wc-on-hold,30.00,0,wu@shop.com,0,EUR
106,2024-02-07 12:00,wc-completed,25.00,0,,0,EUR
107,2024-02-08 12:00,wc-completed,70.00,0,,15,EUR
108,2024-02-09 12:00,wc-completed,10.00,0,vi@shop.com,16,USD
"""


@pytest.mark.parametrize("aliases", [False, True])
def test_woocommerce_orders_worked_by_hand(tmp_path, aliases):
    text = WOO_CSV
    if aliases:  # another export plugin's column names
        for a, b in [("Order ID", "Order Number"), ("Order Total", "Order Total Amount"),
                     ("Order Refund Amount", "Refund"), ("Billing Email", "Email (Billing)"),
                     ("Customer User ID", "Customer ID")]:
            text = text.replace(a, b, 1)
    path = tmp_path / "woo.csv"
    path.write_text(text)
    orders = read_transactions(path, preset="woocommerce")
    assert orders["order_id"].tolist() == ["101", "102", "106", "107"]
    assert orders["revenue"].tolist() == [120.0, 60.0, 25.0, 70.0]
    # Email first, then the platform id; user id 0 is a guest.
    assert orders["customer_id"].tolist()[:2] == ["zoe@shop.com", "zoe@shop.com"]
    assert pd.isna(orders["customer_id"].iloc[2]) and orders["customer_id"].iloc[3] == "15"
    ex = orders.attrs["cleaning"].excluded
    assert ex.loc[["fully refunded", "cancelled", "pending or unpaid", "other currency"], "rows"].tolist() == [1] * 4
    assert orders.attrs["cleaning"].currency == "EUR"


UCI_ROWS = [
    # invoice, stock code, description, quantity, date, price, customer
    ("536365", "85123A", "WHITE HANGING HEART", 6, "12/1/2010 8:26", 2.55, "17850"),
    ("536365", "71053", "WHITE METAL LANTERN", 6, "12/1/2010 8:26", 3.39, "17850"),
    ("536365", "POST", "POSTAGE", 1, "12/1/2010 8:26", 18.00, "17850"),
    ("536365", "71053", "WHITE METAL LANTERN", 6, "12/1/2010 8:26", 3.39, "17850"),  # duplicate
    ("536366", "22633", "HAND WARMER", 6, "12/1/2010 8:28", 1.85, "17850"),
    ("C536379", "71053", "WHITE METAL LANTERN", -2, "12/2/2010 9:41", 3.39, "17850"),  # return: to 536365
    ("536370", "22728", "ALARM CLOCK", 24, "12/1/2010 8:45", 3.75, "12583"),
    ("536371", "22086", "PAPER CHAIN", 10, "12/1/2010 9:00", 2.55, None),  # guest
    ("536372", "22752", "SET 7 BABUSHKA", 2, "12/1/2010 9:01", 0.0, None),  # zero price
    ("C536380", "22086", "PAPER CHAIN", -1, "12/2/2010 10:00", 2.55, None),  # guest return
    ("C536381", "22728", "ALARM CLOCK", -24, "12/3/2010 10:00", 3.75, "12583"),  # returns 536370 in full
    ("C536382", "21000", "X", -1, "12/3/2010 10:00", 5.00, "99999"),  # sale predates the data
    ("536383", "M", "Manual", 1, "12/3/2010 11:00", 7.00, "17850"),
]


def _uci_frame(layout: str) -> pd.DataFrame:
    names = {"2010": ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"],
             "II": ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID"]}[layout]
    frame = pd.DataFrame(UCI_ROWS, columns=names)
    return frame.assign(Country="United Kingdom")


def _check_uci(orders):
    assert orders["order_id"].tolist() == ["536365", "536366", "536371"]
    assert orders["revenue"].tolist() == pytest.approx([6 * 2.55 + 6 * 3.39 - 2 * 3.39, 6 * 1.85, 10 * 2.55])
    assert orders["quantity"].tolist() == [10.0, 6.0, 10.0]
    assert orders["product"].iloc[0] == "WHITE HANGING HEART"
    assert orders["customer_id"].iloc[0] == "17850" and pd.isna(orders["customer_id"].iloc[2])
    ex = orders.attrs["cleaning"].excluded
    expected = {"non-product line": (2, 25.0), "duplicate": (1, 20.34), "zero or negative amount": (1, 0.0),
                "missing customer": (1, -2.55), "fully refunded": (2, 0.0),
                "return without matching order": (1, -5.0)}
    for reason, (rows, revenue) in expected.items():
        assert ex.loc[reason, "rows"] == rows, reason
        assert ex.loc[reason, "revenue"] == pytest.approx(revenue, abs=1e-9), reason
    assert ex["rows"].sum() == 8 and orders.attrs["cleaning"].rows_kept == 5


def test_online_retail_2010_layout_csv(tmp_path):
    path = tmp_path / "Online Retail.csv"
    _uci_frame("2010").to_csv(path, index=False)
    _check_uci(read_transactions(path, preset="online_retail"))


def test_online_retail_ii_layout_xlsx(tmp_path):
    frame = _uci_frame("II")
    # As the UCI workbook stores them: real datetimes and float customer ids.
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"], format="%m/%d/%Y %H:%M")
    frame["Customer ID"] = pd.to_numeric(frame["Customer ID"]).astype("float64")
    path = tmp_path / "online_retail_II.xlsx"
    frame.to_excel(path, index=False)
    orders = read_transactions(path, preset="online_retail")
    _check_uci(orders)
    assert orders["order_date"].iloc[0] == pd.Timestamp("2010-12-01")


def test_cdnow_master_matches_published_counts():
    orders = read_transactions(DATA_DIR / "cdnow" / "CDNOW_master.txt", preset="cdnow")
    assert len(clvlib.customer_summary(orders)) == 23_570
    assert orders["revenue"].sum() == pytest.approx(2_500_315.63, abs=1e-6)
    assert len(orders) == 69_659 and (orders["revenue"] == 0).sum() == 80
    assert orders["order_id"].is_unique


def test_cdnow_sample_uses_sample_ids(cdnow_sample_orders):
    orders = read_transactions(DATA_DIR / "cdnow" / "CDNOW_sample.txt", preset="cdnow")
    assert orders["customer_id"].nunique() == 2_357 and len(orders) == 6_919
    assert set(orders["customer_id"]) == set(cdnow_sample_orders["customer_id"])
    assert orders["master_id"].str.len().eq(5).all()
    # Same revenue per customer as the independent reading in conftest.
    mine = orders.groupby("customer_id")["revenue"].sum()
    theirs = cdnow_sample_orders.groupby("customer_id")["revenue"].sum()
    pd.testing.assert_series_equal(mine.sort_index(), theirs.sort_index(), check_names=False)


def test_woocommerce_line_item_export_counts_the_order_total_once(tmp_path):
    path = tmp_path / "woo_items.csv"
    path.write_text("Order Number,Order Date,Order Status,Order Total,Billing Email,Customer User ID,Product Name,"
                    "Quantity\n200,2024-02-01,wc-completed,50.00,a@x.com,1,Tea,2\n200,2024-02-01,wc-completed,50.00,"
                    "a@x.com,1,Cup,1\n201,2024-02-02,wc-completed,9.00,b@x.com,2,Cup,1\n")
    orders = read_transactions(path, preset="woocommerce")
    assert orders["revenue"].tolist() == [50.0, 9.0]
    assert orders["quantity"].tolist() == [3.0, 1.0] and orders["product"].tolist() == ["Tea", "Cup"]
    assert orders.attrs["cleaning"].rows_kept == 3
