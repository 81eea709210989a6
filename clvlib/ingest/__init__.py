"""Ingestion: read an export (CSV, Excel, Parquet, text), map it to the canonical columns, clean it, account for it.

* ``read``: :func:`read_transactions` (the one way in) and :func:`store_currency`;
* ``readers``: file dialects (encodings, separators, decimal commas, dates);
* ``presets``: the export layouts the kit knows (Shopify, WooCommerce, UCI Online Retail, CDNOW);
* ``cleaning``: the row rules and the :class:`CleaningReport` that accounts for every input row.
"""

from __future__ import annotations

from .cleaning import REASONS, CleaningReport
from .presets import PRESETS
from .read import ORDER_COLUMNS, read_transactions, store_currency

__all__ = ["read_transactions", "store_currency", "CleaningReport", "PRESETS", "REASONS", "ORDER_COLUMNS"]
