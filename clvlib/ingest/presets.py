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
``woocommerce``    Orders export (one row per order or per line item); statuses ``wc-completed`` etc.;
                   ``Customer User ID`` 0 is a guest.
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

__all__ = ["Preset", "PRESETS", "CANONICAL", "NON_PRODUCT_CODES"]

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
    prepare: Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.Series]] | None = None
    finish: Callable[[pd.DataFrame, Ledger, list], pd.DataFrame] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def no_reasons(lines: pd.DataFrame) -> pd.Series:
    return pd.Series(pd.NA, index=lines.index, dtype="object")


# -- Shopify ------------------------------------------------------------------------------------------------------

def _shopify_prepare(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
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

# -- WooCommerce --------------------------------------------------------------------------------------------------

WOOCOMMERCE = Preset(
    name="woocommerce",
    aliases={
        "order_id": ("Order ID", "Order Number", "Order #", "order_id", "ID"),
        "order_date": ("Order Date", "Date Created", "Order Created", "Date", "order_date"),
        "status": ("Order Status", "Status"),
        "revenue": ("Order Total", "Order Total Amount", "Total", "order_total"),
        "refunded": ("Order Refund Amount", "Refund", "Refund Amount", "Total Refunded", "Refunded"),
        "email": ("Billing Email", "Email (Billing)", "Billing Email Address", "Customer Email", "Email"),
        "customer_id": ("Customer User ID", "Customer ID", "Customer User", "customer_id"),
        "currency": ("Order Currency", "Currency"),
        "quantity": ("Quantity", "Item Quantity", "Qty"),
        "product": ("Product Name", "Item Name", "Product Name (main)", "Product"),
        "channel": ("Created Via", "Order Source", "Channel"),
    },
    key="email",
    guest_ids=("0",),
    order_level=("order_date", "status", "revenue", "refunded", "email", "customer_id", "currency", "channel"),
)

# -- UCI Online Retail --------------------------------------------------------------------------------------------

#: Stock codes of the UCI Online Retail data that are not goods: postage (POST, DOT, C2), manual adjustments
#: (M, ADJUST*, D discount, S samples, B bad debt), fees (BANK CHARGES, AMAZONFEE), charity (CRUK), packing (PADS),
#: gift vouchers (gift_0001_*) and test lines (TEST*).
NON_PRODUCT_CODES = re.compile(
    r"(?i)(POST|DOT|C2|C3|M|D|S|B|BANK CHARGES|AMAZONFEE|CRUK|PADS|ADJUST\d*|TEST\d*|GIFT_0001_\d+)"
)


def _uci_prepare(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
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


def _cdnow_prepare(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
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

PRESETS: dict[str, Preset] = {p.name: p for p in (SHOPIFY, WOOCOMMERCE, ONLINE_RETAIL, CDNOW)}
