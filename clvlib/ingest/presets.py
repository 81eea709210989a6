"""Presets: how :func:`clvlib.read_transactions` reads real export formats.

A preset names the columns of one export (matched case-insensitively, ignoring spaces and punctuation, against a
short list of aliases because exports vary by version and plugin), says which fields are written once per order,
how customers are keyed, and adds the export's own rules. ``None`` is generic input: canonical column names as
they are in the file, or mapped with ``columns={canonical: source}``.

=================  ==============================================================================================
``shopify``        Orders export, one row per line item; order-level fields only on the order's first row.
                   Revenue = ``Total`` − ``Refunded Amount`` (``Total`` because Shopify's refunds are amounts of
                   the total, shipping and tax included: subtracting them from ``Subtotal`` would mix bases).
                   ``Cancelled at`` set → cancelled; ``Payment Method`` "bogus" (Shopify's test gateway) → test.
``woocommerce``    Orders export (one row per order or per line item; the export plugins' column names and the
                   REST API's flattened fields); statuses ``wc-completed`` etc.; refunds from the order's refunded
                   total (``Order Refund Amount``, ``refunded_total``) or else the sum of its line items' refunds;
                   test orders by a customer note saying so, a test or staff address or a customer named Test
                   (:func:`marked_test_orders`); ``Customer User ID`` 0 is a guest checkout, keyed by its email.
``stripe``         Payments export (``unified_payments.csv``), one row per charge: ``Status`` failed or
                   ``Captured`` false are not orders ("pending or unpaid"), ``Mode`` Test is a test order,
                   ``Amount Refunded`` and lost disputes (``Disputed Amount``) are subtracted, ``Currency`` is
                   lower case, ``Created (UTC)`` is UTC (``timezone=`` converts). Customers by normalised
                   ``Customer Email``, else ``Customer ID`` (Stripe gives some people two ids). For settlement
                   amounts map ``revenue``/``refunded``/``currency`` to the ``Converted ...`` columns.
``online_retail``  UCI Online Retail (2010–11 and "II" layouts); see :func:`online_retail_returns`.
``cdnow``          CDNOW master file or 1/10 sample, whitespace-separated; each row is an order; the 80 $0 rows
                   are kept as purchases, as in the literature (Fader, Hardie & Lee 2005).
=================  ==============================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .cleaning import Ledger, truthy

__all__ = ["Preset", "PRESETS", "CANONICAL", "NON_PRODUCT_CODES", "marked_test_orders", "column_key"]

# Canonical fields a source can map, in output order; fields starting with "_" are preset-internal.
CANONICAL = ("customer_id", "order_id", "order_date", "revenue", "quantity", "unit_price", "cost", "channel",
             "product", "email", "currency", "status", "refunded", "is_test")


@dataclass(frozen=True)
class Preset:
    """How to read one export format (see the module docstring)."""

    name: str
    aliases: dict[str, tuple[str, ...]]
    key: str = "id"  # "email": the normalised email where present, else the platform's customer id
    guest_ids: tuple[str, ...] = ()
    order_level: tuple[str, ...] = ()  # written on the order's first row only
    keep_zero: bool = False
    dedupe: bool = True
    whitespace: bool = False
    header: bool | None = True
    currency: str | None = None
    dayfirst: bool | None = None  # numeric dates: None reads them as a person would (see readers.to_dates)
    rename: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    # prepare(lines, notes) -> (lines, preset reasons): the export's own rules on parsed lines; what it decides
    # goes to the cleaning notes.
    prepare: Callable[[pd.DataFrame, list], tuple[pd.DataFrame, pd.Series]] | None = None
    finish: Callable[[pd.DataFrame, Ledger, list], pd.DataFrame] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def column_key(name) -> str:
    """A column name compared as the presets compare them: lower case, punctuation and spaces as one ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def no_reasons(lines: pd.DataFrame) -> pd.Series:
    return pd.Series(pd.NA, index=lines.index, dtype="object")


# -- Shopify ------------------------------------------------------------------------------------------------------

def _shopify_prepare(lines: pd.DataFrame, notes: list) -> tuple[pd.DataFrame, pd.Series]:
    extra = {}
    if "_cancelled_at" in lines:
        cancelled = lines["_cancelled_at"].notna() & lines["_cancelled_at"].astype("str").str.strip().ne("")
        status = lines["status"] if "status" in lines else pd.Series(np.nan, index=lines.index, dtype="str")
        extra["status"] = status.where(~cancelled, "cancelled")
    test = truthy(lines["is_test"]) if "is_test" in lines else pd.Series(False, index=lines.index)
    if "_gateway" in lines:
        test = test | lines["_gateway"].astype("str").str.lower().str.contains("bogus", regex=False)
    extra["is_test"] = test
    return lines.assign(**extra), no_reasons(lines)


SHOPIFY = Preset(
    name="shopify",
    aliases={
        "order_id": ("Name",), "email": ("Email",), "status": ("Financial Status",),
        "order_date": ("Created at",), "revenue": ("Total",), "refunded": ("Refunded Amount",),
        "currency": ("Currency",), "quantity": ("Lineitem quantity",), "product": ("Lineitem name", "Lineitem sku"),
        "channel": ("Source",), "customer_id": ("Customer ID", "Customer Id"), "is_test": ("Test",),
        "_cancelled_at": ("Cancelled at",), "_gateway": ("Payment Method", "Gateway"),
    },
    key="email",
    guest_ids=("0",),
    order_level=("email", "status", "order_date", "revenue", "refunded", "currency", "channel", "customer_id",
                 "is_test", "_cancelled_at", "_gateway"),
    prepare=_shopify_prepare,
)

# -- Test orders --------------------------------------------------------------------------------------------------

#: Customer notes that mark a test order ("test order", "this is a test", "do not ship", a note that is only "test").
TEST_NOTE = re.compile(r"(?i)^\s*test(?:ing)?\s*[.!]*\s*$|\btest(?:ing)?\s+(?:order|purchase|payment|checkout)\b"
                       r"|\bthis\s+is\s+(?:just\s+|only\s+)?a\s+test\b|\bdo\s+not\s+(?:ship|fulfil+)\b")
#: Addresses of test and staff accounts: a local part ``test``/``tester``/``testing``/``admin`` (also with a
#: ``+tag`` or a digit suffix), or a top-level domain reserved for tests that no mailbox can have (RFC 2606:
#: ``.test``, ``.invalid``, ``.localhost``). ``example.com`` is not one of them: simulated and anonymised data
#: use it for every customer.
TEST_EMAIL = re.compile(r"(?i)^\s*(?:(?:test|tester|testing|admin)(?:\d*|[+._-][^@]*)@[^@]+"
                        r"|[^@]+@[^@]+\.(?:test|invalid|localhost))\s*$")
#: Names of test accounts: "Test", "Test Test", "Test Customer", "Test User" (first and last name together).
TEST_NAME = re.compile(r"(?i)^\s*test(?:\s+(?:test|customer|user|order|account))?\s*$")


def marked_test_orders(lines: pd.DataFrame) -> dict[str, pd.Series]:
    """Rows marked as test orders by a customer note, a test or staff address, or a customer named Test.

    Returns ``{marker: boolean Series}`` for the markers the table has columns for (``_note``, ``email``,
    ``_first_name``/``_last_name``); each is counted in the cleaning notes by :func:`mark_tests`.

    Examples
    --------
    >>> lines = pd.DataFrame({"email": ["ann@shop.com", "test+1@shop.com", "bo@shop.test"],
    ...                       "_note": ["Gift wrap please", "", "TEST ORDER - do not ship"]})
    >>> {k: v.tolist() for k, v in marked_test_orders(lines).items()}
    {'a customer note saying so': [False, False, True], 'a test or staff address': [False, True, True]}
    """
    def matches(column: str, pattern: re.Pattern) -> pd.Series:
        text = lines[column].astype("str")
        return text.str.contains(pattern, regex=True).fillna(False).astype(bool) & lines[column].notna()

    found = {}
    if "_note" in lines:
        found["a customer note saying so"] = matches("_note", TEST_NOTE)
    if "email" in lines:
        found["a test or staff address"] = matches("email", TEST_EMAIL)
    names = [c for c in ("_first_name", "_last_name") if c in lines]
    if names:
        full = lines[names].fillna("").astype("str").agg(" ".join, axis=1).str.strip()
        found["a customer named Test"] = full.str.fullmatch(TEST_NAME).fillna(False).astype(bool)
    return found


def mark_tests(lines: pd.DataFrame, notes: list) -> pd.Series:
    """``is_test`` (the file's own flag, if any) or any marker of :func:`marked_test_orders`; counted in ``notes``."""
    test = truthy(lines["is_test"]) if "is_test" in lines else pd.Series(False, index=lines.index)
    for marker, hit in marked_test_orders(lines).items():
        new = hit & ~test
        if new.any():
            orders = lines.loc[new, "order_id"].nunique() if "order_id" in lines else int(new.sum())
            notes.append(f"test orders recognised by {marker}: {orders:,}")
        test = test | hit
    return test


# -- WooCommerce --------------------------------------------------------------------------------------------------

def _woocommerce_prepare(lines: pd.DataFrame, notes: list) -> tuple[pd.DataFrame, pd.Series]:
    extra = {}
    if "refunded" not in lines and "_item_refunded" in lines:
        # Refunds per line item (as the export plugins write them, positive or negative): the order's refund is
        # their sum, carried like an order-level field on the order's first row.
        per_line = lines["_item_refunded"].abs().fillna(0.0)
        extra["refunded"] = per_line.groupby(lines["order_id"], sort=False).transform("sum")
    extra["is_test"] = mark_tests(lines, notes)
    return lines.assign(**extra), no_reasons(lines)


WOOCOMMERCE = Preset(
    name="woocommerce",
    aliases={
        "order_id": ("Order ID", "Order Number", "Order #", "order_id", "order_number", "ID"),
        "order_date": ("Order Date", "Date Created", "Order Created", "Date", "order_date", "date_created"),
        "status": ("Order Status", "Status"),
        "revenue": ("Order Total", "Order Total Amount", "Total", "order_total"),
        "refunded": ("Order Refund Amount", "refunded_total", "Refunded Total", "Total Refunded", "Order Refunded",
                     "Refund Amount", "Refund", "Refunded", "order_refund"),
        "_item_refunded": ("Item Refunded", "Item Refund Amount", "Refunded Amount (item)", "item_refunded",
                           "Line Refunded", "Order Item Refunded"),
        "email": ("Billing Email", "Email (Billing)", "Billing Email Address", "billing_email", "Customer Email",
                  "customer_email", "Email"),
        "customer_id": ("Customer User ID", "Customer ID", "Customer User", "customer_user", "customer_id"),
        "currency": ("Order Currency", "Currency", "order_currency"),
        "quantity": ("Quantity", "Item Quantity", "Qty", "item_quantity"),
        "product": ("Product Name", "Item Name", "Product Name (main)", "Product", "item_name"),
        "channel": ("Created Via", "Order Source", "Channel", "created_via"),
        "_note": ("Customer Note", "Customer Provided Note", "customer_note", "Order Notes (customer)"),
        "_first_name": ("Billing First Name", "First Name (Billing)", "billing_first_name"),
        "_last_name": ("Billing Last Name", "Last Name (Billing)", "billing_last_name"),
    },
    key="email",
    guest_ids=("0",),
    order_level=("order_date", "status", "revenue", "refunded", "email", "customer_id", "currency", "channel",
                 "is_test", "_note", "_first_name", "_last_name"),
    prepare=_woocommerce_prepare,
    notes=("WooCommerce user id 0 is a guest checkout: keyed by billing email where there is one",),
)

# -- Stripe -------------------------------------------------------------------------------------------------------

def _stripe_rename(raw: pd.DataFrame) -> pd.DataFrame:
    # "Created (UTC)" holds UTC times without an offset: written with one, the reader keeps the UTC date, or converts
    # to the store's time zone when `timezone` is given.
    for col in raw.columns:
        if column_key(col) in ("created_utc", "created_date_utc") and raw[col].dtype in ("str", object):
            text = raw[col].astype("str").str.strip()
            stamped = raw[col].notna() & text.ne("") & ~text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)
            raw = raw.assign(**{col: text.where(~stamped, text + " +00:00").where(raw[col].notna())})
    return raw


def _stripe_prepare(lines: pd.DataFrame, notes: list) -> tuple[pd.DataFrame, pd.Series]:
    extra = {}
    status = lines["status"].astype("str").str.strip().str.lower() if "status" in lines else None
    if "_captured" in lines:
        # An authorisation that was never captured took no money.
        uncaptured = lines["_captured"].notna() & ~truthy(lines["_captured"])
        if status is not None:
            uncaptured &= ~status.isin(["failed"])
        base = lines["status"] if "status" in lines else pd.Series(np.nan, index=lines.index, dtype="object")
        extra["status"] = base.where(~uncaptured, "authorized")
    if "_mode" in lines:
        extra["is_test"] = lines["_mode"].astype("str").str.strip().str.lower().eq("test")
    if "_dispute_status" in lines and "_disputed" in lines:
        # A dispute the store lost takes the money back like a refund.
        lost = lines["_dispute_status"].astype("str").str.strip().str.lower().isin(["lost", "charge_refunded"])
        refunded = lines["refunded"].fillna(0.0) if "refunded" in lines else 0.0
        extra["refunded"] = (refunded + lines["_disputed"].fillna(0.0).where(lost, 0.0)).clip(
            upper=lines["revenue"])
    # Stripe writes currencies in lower case ("usd"); the row rules compare codes in upper case.
    return lines.assign(**extra), no_reasons(lines)


STRIPE = Preset(
    name="stripe",
    aliases={
        "order_id": ("id", "Charge ID", "Payment ID"), "order_date": ("Created (UTC)", "Created date (UTC)", "Created"),
        "revenue": ("Amount",), "refunded": ("Amount Refunded",), "currency": ("Currency",),
        "status": ("Status",), "email": ("Customer Email",), "customer_id": ("Customer ID",),
        "product": ("Description",), "_captured": ("Captured",), "_mode": ("Mode",),
        "_disputed": ("Disputed Amount",), "_dispute_status": ("Dispute Status",),
    },
    key="email",
    prepare=_stripe_prepare,
    rename=_stripe_rename,
    notes=("Stripe payments export: one row per charge; failed and uncaptured charges are not orders, test-mode "
           "charges are test orders, refunds and lost disputes are subtracted",
           "times are UTC (`Created (UTC)`): dates are UTC dates unless a time zone is given"),
)

# -- UCI Online Retail --------------------------------------------------------------------------------------------

#: Stock codes of the UCI Online Retail data that are not goods: postage (POST, DOT, C2), manual adjustments
#: (M, ADJUST*, D discount, S samples, B bad debt), fees (BANK CHARGES, AMAZONFEE), charity (CRUK), packing (PADS),
#: gift vouchers (gift_0001_*) and test lines (TEST*).
NON_PRODUCT_CODES = re.compile(
    r"(?i)(POST|DOT|C2|C3|M|D|S|B|BANK CHARGES|AMAZONFEE|CRUK|PADS|ADJUST\d*|TEST\d*|GIFT_0001_\d+)"
)


def _uci_prepare(lines: pd.DataFrame, notes: list) -> tuple[pd.DataFrame, pd.Series]:
    reasons = no_reasons(lines)
    code = lines["_stock"].astype("str").str.strip()
    non_product = code.str.fullmatch(NON_PRODUCT_CODES).fillna(False).astype(bool)
    reasons[non_product] = "non-product line"
    price = lines["unit_price"]
    reasons[reasons.isna() & price.notna() & (price <= 0)] = "zero or negative amount"
    is_return = lines["order_id"].astype("str").str.upper().str.startswith("C") | (lines["quantity"] < 0)
    return lines.assign(_return=is_return.fillna(False).astype(bool)), reasons


def online_retail_returns(lines: pd.DataFrame, ledger: Ledger, notes: list) -> pd.DataFrame:
    """Attach each kept UCI return line to the customer's order it most likely returns.

    Policy: a return (invoice starting "C", negative quantity) is a negative amount subtracted from the customer's
    latest kept order on or before the return date that contains the same stock code, else from their latest
    earlier order. An order brought to zero or below is "fully refunded". A return without a customer is
    "missing customer" (nobody's revenue can be reduced); one with no earlier order is "return without
    matching order" (the sale predates the data).
    """
    ret = lines["_return"].to_numpy() & ledger.kept
    ledger.exclude(ret & lines["customer_id"].isna().to_numpy(), "missing customer")
    ret = lines["_return"].to_numpy() & ledger.kept
    sale = ~lines["_return"].to_numpy() & ledger.kept
    if not ret.any():
        return lines
    cols = ["customer_id", "order_date", "order_id", "_stock"]
    sales = lines.loc[sale, cols].assign(_sale_date=lines.loc[sale, "order_date"])
    returns = lines.loc[ret, cols].reset_index()
    matched = {}
    for by in (["customer_id", "_stock"], ["customer_id"]):
        left = returns[~returns["index"].isin(matched)].sort_values("order_date")
        right = sales.drop_duplicates(["order_id", *by[1:]]).sort_values("order_date")
        hit = pd.merge_asof(left, right[[*by, "order_date", "order_id", "_sale_date"]], on="order_date", by=by,
                            direction="backward", suffixes=("", "_sale"))
        hit = hit[hit["order_id_sale"].notna()]
        matched.update(zip(hit["index"], zip(hit["order_id_sale"], hit["_sale_date"])))
    unmatched = ret & ~lines.index.isin(list(matched))
    ledger.exclude(unmatched, "return without matching order")
    rows = np.fromiter(matched, dtype=np.int64, count=len(matched))
    order_ids = pd.Series([matched[i][0] for i in rows], index=rows, dtype="str")
    dates = pd.Series([matched[i][1] for i in rows], index=rows, dtype="datetime64[ns]")
    lines = lines.assign(order_id=order_ids.combine_first(lines["order_id"]),
                         order_date=dates.combine_first(lines["order_date"]))
    credit = -float(lines.loc[rows, "revenue"].sum()) if len(rows) else 0.0
    notes.append(f"returns subtracted from the customer's earlier orders: {len(rows):,} lines, {credit:,.2f}")
    return lines


def _uci_rename(raw: pd.DataFrame) -> pd.DataFrame:
    # Excel stores CustomerID as a float (17850.0); as text it is "17850".
    for col in ("CustomerID", "Customer ID"):
        if col in raw and pd.api.types.is_float_dtype(raw[col]):
            raw = raw.assign(**{col: raw[col].astype("Int64").astype("str")})
    return raw


ONLINE_RETAIL = Preset(
    name="online_retail",
    aliases={
        "order_id": ("InvoiceNo", "Invoice"), "_stock": ("StockCode",), "product": ("Description",),
        "quantity": ("Quantity",), "order_date": ("InvoiceDate",), "unit_price": ("UnitPrice", "Price"),
        "customer_id": ("CustomerID", "Customer ID"),
    },
    currency="GBP",
    dayfirst=False,  # the UCI CSV writes 12/1/2010 8:26 for 1 December 2010
    rename=_uci_rename,
    prepare=_uci_prepare,
    finish=online_retail_returns,
    notes=("amounts are pounds sterling; invoice date is UK time",),
)

# -- CDNOW --------------------------------------------------------------------------------------------------------

_CDNOW_SAMPLE = ["master_id", "customer_id", "date", "number_of_cds", "dollar_value"]
_CDNOW_MASTER = ["customer_id", "date", "number_of_cds", "dollar_value"]


def _cdnow_rename(raw: pd.DataFrame) -> pd.DataFrame:
    """Name the header-less layouts: 5 columns is the 1/10 sample (master id first), 4 the master file."""
    if all(str(c).isdigit() for c in raw.columns):
        names = {5: _CDNOW_SAMPLE, 4: _CDNOW_MASTER}.get(raw.shape[1])
        if names is not None:
            raw = raw.set_axis(names, axis=1)
    return raw


def _cdnow_prepare(lines: pd.DataFrame, notes: list) -> tuple[pd.DataFrame, pd.Series]:
    # A stable order id: customer, day and the transaction's position among that customer's rows of the day.
    day = lines["order_date"].dt.strftime("%Y%m%d")
    seq = lines.groupby([lines["customer_id"], day]).cumcount().astype("str")
    return lines.assign(order_id=lines["customer_id"] + "-" + day + "-" + seq), no_reasons(lines)


CDNOW = Preset(
    name="cdnow",
    aliases={"customer_id": ("customer_id",), "order_date": ("date",), "quantity": ("number_of_cds",),
             "revenue": ("dollar_value",), "master_id": ("master_id",)},
    keep_zero=True,
    dedupe=False,
    whitespace=True,
    header=None,
    currency="USD",
    rename=_cdnow_rename,
    prepare=_cdnow_prepare,
    notes=("$0 transactions kept as purchases, as in the literature (Fader, Hardie & Lee 2005)",
           "each row is one order; identical rows are separate transactions, not duplicates"),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (SHOPIFY, WOOCOMMERCE, STRIPE, ONLINE_RETAIL, CDNOW)}
