"""Shared test setup: a non-interactive backend, closed figures, fixed seeds, and small canonical tables."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from clvlib.config import DATA_DIR  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng() -> np.random.Generator:
    # A fixed seed per test: failures reproduce.
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def cdnow_sample_orders() -> pd.DataFrame:
    """The 2,357-customer CDNOW sample as a canonical orders table, read independently of clvlib.ingest.read."""
    df = pd.read_csv(
        DATA_DIR / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
        names=["master_id", "customer_id", "date", "quantity", "revenue"],
        dtype={"master_id": str, "customer_id": str, "date": str},
    )
    df["order_date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    df["order_id"] = [f"{i}" for i in range(len(df))]
    return df[["customer_id", "order_id", "order_date", "revenue", "quantity"]]


@pytest.fixture(autouse=True, scope="session")
def formula_cache(tmp_path_factory):
    # Typeset formulas are cached between runs (clvlib.reporting.html.formula_cache_dir): the tests use a cache of
    # their own, which starts empty, rather than the user's.
    folder = tmp_path_factory.mktemp("clvlib-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLVLIB_CACHE_DIR", str(folder))
        yield folder
