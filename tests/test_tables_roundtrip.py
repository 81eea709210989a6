"""The kit's tables survive what analysts do with them next: sort and pick, combine, save to Parquet.

pandas compares and serialises ``attrs`` along the way (pandas 3 writes them as JSON with ``to_parquet``), so the
metadata the kit keeps there must be JSON-safe and must compare without ambiguity.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

import clvlib


@pytest.fixture(scope="module")
def tables(cdnow_sample_orders):
    orders = clvlib.read_transactions(cdnow_sample_orders)
    customers = clvlib.customer_summary(orders, time_unit="W")
    cal = clvlib.calibration_holdout(orders, calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="W")
    with pytest.warns(UserWarning, match="f_score"):  # half of CDNOW buys once: expected, and said so
        scores = clvlib.rfm_scores(clvlib.rfm_table(customers))
    clv = clvlib.predictive_clv(clvlib.BetaGeo().fit(cal), clvlib.GammaGamma().fit(cal), cal, n_draws=10, seed=1)
    return {"orders": orders, "customers": customers, "calibration": cal, "rfm scores": scores, "clv": clv}


@pytest.mark.parametrize("name", ["orders", "customers", "calibration", "rfm scores", "clv"])
def test_sort_pick_and_combine(tables, name):
    table = tables[name]
    column = table.select_dtypes("number").columns[0]
    top = table.nlargest(5, column)
    assert top[column].is_monotonic_decreasing and len(top) == 5
    assert len(pd.concat([table, table])) == 2 * len(table)


@pytest.mark.parametrize("name", ["customers", "calibration", "rfm scores", "clv"])
def test_customer_tables_round_trip_through_parquet(tables, name):
    table = tables[name]
    buffer = io.BytesIO()
    table.to_parquet(buffer)
    back = pd.read_parquet(buffer)
    pd.testing.assert_frame_equal(back, table, check_freq=False)
    assert back.attrs.keys() == table.attrs.keys()
