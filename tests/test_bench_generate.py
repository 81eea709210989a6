"""bench/generate.py: the benchmark data are reproducible, exactly sized, and look like a store's orders."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from clvlib import customer_summary
from clvlib.config import PROJ_ROOT

sys.path.insert(0, str(PROJ_ROOT / "bench"))
import generate  # noqa: E402


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    frame = generate.generate(60_000).to_pandas()
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


def test_same_size_gives_the_same_rows_and_exactly_that_many(orders):
    again = generate.generate(60_000).to_pandas()
    again["order_date"] = pd.to_datetime(again["order_date"])
    pd.testing.assert_frame_equal(orders, again)
    assert len(orders) == 60_000 and orders["order_id"].is_unique
    assert not generate.generate(60_001).to_pandas()["customer_id"].head(50).equals(orders["customer_id"].head(50))


def test_rows_are_a_three_year_export_sorted_by_date(orders):
    assert orders["order_date"].is_monotonic_increasing
    assert orders["order_date"].min() >= pd.Timestamp("2023-01-01")
    assert orders["order_date"].max() <= pd.Timestamp("2025-12-31")
    assert (orders["revenue"] >= 1.0).all()


def test_repeat_patterns_look_like_a_store(orders):
    customers = customer_summary(orders)
    per_customer = customers["n_orders"].mean()
    assert 8 <= per_customer <= 12  # "about 10 rows per customer"
    one_time = (customers["frequency"] == 0).mean()
    assert 0.1 <= one_time <= 0.4
    assert customers["n_orders"].max() > 20 * per_customer  # a long tail of frequent buyers
    # Same-day split orders exist (orders > purchase days for some customers).
    assert (customers["n_orders"] > customers["frequency"] + 1).mean() > 0.05
    # First orders only in the first two years (acquisition window).
    assert customers["first_order"].max() < pd.Timestamp("2025-01-01")


@pytest.mark.parametrize("text, rows", [("100k", 100_000), ("1M", 1_000_000), ("2.5M", 2_500_000), ("800", 800)])
def test_sizes_parse_and_label_round_trip(text, rows):
    assert generate.parse_size(text) == rows
    assert generate.parse_size(generate.size_label(rows)) == rows


def test_spacings_give_sorted_repeat_days_within_the_window():
    rng = np.random.default_rng(5)
    first, owner, offsets = generate._customers(2_000, rng)
    assert (offsets >= 1).all() and (first[owner] + offsets <= generate.DAYS - 1).all()
    # Within each customer the spacings construction yields increasing purchase days.
    same = owner[1:] == owner[:-1]
    assert (np.diff(offsets)[same] >= 0).all()
