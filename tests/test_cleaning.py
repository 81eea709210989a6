"""Cleaning rules and the CleaningReport: row and money accounting, status rules, the printed report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clvlib import CleaningReport, read_transactions

KEPT = ["paid", "completed", "processing", "fulfilled", "partially_refunded"]
EXCLUDED = {"cancelled": "cancelled", "voided": "cancelled", "refunded": "fully refunded",
            "pending": "pending or unpaid", "on-hold": "pending or unpaid", "failed": "pending or unpaid",
            "unpaid": "pending or unpaid", "authorized": "pending or unpaid"}

rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", " A ", ""]),
        st.integers(0, 60),
        st.floats(-20, 200, allow_nan=False).map(lambda x: round(x, 2)),
        st.sampled_from(KEPT + list(EXCLUDED)),
        st.floats(0, 60, allow_nan=False).map(lambda x: round(x, 2)),
        st.booleans(),
    ),
    min_size=1, max_size=40,
)


def _expected(frame: pd.DataFrame) -> tuple[float, dict]:
    """Kept revenue and excluded rows per reason, by a plain loop over rows (first rule wins)."""
    kept, excluded = 0.0, {}
    for r in frame.itertuples():
        net = r.revenue - r.refunded
        if r.is_test:
            reason = "test order"
        elif r.status in EXCLUDED:
            reason = EXCLUDED[r.status]
        elif net <= 0:
            reason = "fully refunded" if r.refunded > 0 and r.revenue > 0 else "zero or negative amount"
        else:
            kept += net
            continue
        excluded[reason] = excluded.get(reason, 0) + 1
    return kept, excluded


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_rows_and_money_reconcile_on_random_orders(data):
    frame = pd.DataFrame(data, columns=["customer_id", "day", "revenue", "status", "refunded", "is_test"])
    frame = frame.assign(order_id=[f"o{i}" for i in range(len(frame))],
                         order_date=pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["day"], unit="D"))
    orders = read_transactions(frame.drop(columns="day"))
    report = orders.attrs["cleaning"]
    assert report.rows_read == len(frame) == report.rows_kept + report.excluded["rows"].sum()
    assert np.isclose(orders["revenue"].sum() + report.refunds_applied + report.excluded["revenue"].sum(),
                      frame["revenue"].sum())
    kept, excluded = _expected(frame)
    assert np.isclose(orders["revenue"].sum(), kept)
    assert report.excluded["rows"][report.excluded["rows"] > 0].to_dict() == excluded
    assert (orders["revenue"] > 0).all()
    # " A " and "a" differ (generic keys are only trimmed); "" is a guest.
    assert set(orders["customer_id"].dropna()) <= {"a", "b", "c", "A"}
    assert report.guest_orders == orders["customer_id"].isna().sum()


def test_report_table_text_and_html():
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "order_date": ["2024-01-01"] * 3,
                          "revenue": [1500.0, 20.0, 30.0], "status": ["paid", "cancelled", "partially_refunded"],
                          "refunded": [0.0, 0.0, 10.0]})
    report = read_transactions(frame).attrs["cleaning"]
    assert isinstance(report, CleaningReport)
    table = report.to_frame()
    assert table.index.tolist() == ["rows read", "excluded: cancelled", "refunds subtracted", "kept"]
    assert table["revenue"].tolist() == [1550.0, 20.0, 10.0, 1520.0]
    text = str(report)
    assert "excluded: cancelled" in text and "1,550.00" in text and "2 orders (0 guest), 2 customers" in text
    html = report._repr_html_()
    assert "<table" in html and "1,520.00" in html and "Cleaning report for DataFrame" in html
    # Every reason is listed, zero where nothing was excluded.
    assert report.excluded.loc["duplicate", "rows"] == 0 and report.excluded.index.name == "reason"


def test_report_html_shows_file_name_notes_and_statuses_as_text(tmp_path):
    # A shop export is untrusted: its file name, unrecognised statuses and currencies reach the HTML as text only.
    payloads = ["<script>document.title='pwned'</script>", "<svg/onload=document.title='pwned'>"]
    path = tmp_path / "orders<img src=x onerror=alert(1)>.csv"
    pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "order_date": ["2024-01-01"] * 4,
                  "revenue": [5.0, 6.0, 7.0, 8.0], "status": ["paid", *payloads, "paid"],
                  "currency": ["USD", "USD", "USD", "<b onmouseover=alert(1)>X</b>"]}).to_csv(path, index=False)
    with pytest.warns(UserWarning, match="not recognised"):
        report = read_transactions(path).attrs["cleaning"]
    page = report._repr_html_()
    for raw in ["<script", "<svg", "<img", "<b onmouseover"]:
        assert raw not in page, raw
    assert "orders&lt;img src=x onerror=alert(1)&gt;.csv" in page
    assert "&lt;svg/onload=document.title=" in page and "&lt;script&gt;document.title=" in page


def test_report_refuses_broken_accounting():
    excluded = pd.DataFrame({"rows": [1], "revenue": [0.0], "note": [""]}, index=pd.Index(["duplicate"]))
    with pytest.raises(RuntimeError, match=r"x: row accounting broken: 5 rows read, but 3 kept \+ 1 excluded = 4"):
        CleaningReport(source="x", rows_read=5, rows_kept=3, excluded=excluded, orders=3, guest_orders=0,
                       customers=3, revenue=0.0, input_revenue=0.0)


_BROKEN_ACCOUNTING = """
import pandas as pd
import clvlib.ingest.read as read
from clvlib import CleaningReport, read_transactions

excluded = pd.DataFrame({"rows": [1], "revenue": [0.0], "note": [""]}, index=pd.Index(["duplicate"]))
try:
    CleaningReport(source="x", rows_read=5, rows_kept=3, excluded=excluded, orders=3, guest_orders=0,
                   customers=3, revenue=0.0, input_revenue=0.0)
except RuntimeError as error:
    print("rows:", error)

aggregate = read.aggregate_orders
def losing_money(*args, **kwargs):  # a cleaning rule that drops a dollar from every order
    orders = aggregate(*args, **kwargs)
    return orders.assign(revenue=orders["revenue"] - 1.0)
read.aggregate_orders = losing_money
frame = pd.DataFrame({"customer_id": ["a", "b"], "order_date": ["2024-01-01"] * 2, "revenue": [5.0, 6.0]})
try:
    read_transactions(frame)
except RuntimeError as error:
    print("revenue:", error)
"""


def test_accounting_checks_fire_under_python_O():
    # The checks are raises, not asserts: `python -O` strips asserts and must not strip these.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-O", "-c", _BROKEN_ACCOUNTING], capture_output=True, text=True,
                          check=True)
    lines = done.stdout.splitlines()
    assert lines[0] == "rows: x: row accounting broken: 5 rows read, but 3 kept + 1 excluded = 4"
    assert lines[1].startswith("revenue: DataFrame: revenue accounting broken: input revenue 11.00, but kept 9.00")


def test_unknown_status_is_kept_and_reported():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "order_date": ["2024-01-01"] * 2, "revenue": [5.0, 6.0],
                          "status": ["paid", "shipped-to-moon"]})
    with pytest.warns(UserWarning, match="shipped_to_moon"):
        orders = read_transactions(frame)
    assert len(orders) == 2
    assert any("shipped_to_moon" in n for n in orders.attrs["cleaning"].notes)


def test_woocommerce_style_status_prefix_in_generic_input():
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "order_date": ["2024-01-01"] * 3,
                          "revenue": [5.0, 6.0, 7.0], "status": ["wc-completed", "wc-on-hold", "WC-Cancelled"]})
    report = read_transactions(frame).attrs["cleaning"]
    assert report.rows_kept == 1
    assert report.excluded.loc[["pending or unpaid", "cancelled"], "rows"].tolist() == [1, 1]
