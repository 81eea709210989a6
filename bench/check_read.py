"""Check that a change to the reader leaves its output unchanged: the orders table and the cleaning report.

    python bench/check_read.py --save     # before the change: write bench/out/read-reference-<size>-<kind>.pkl
    python bench/check_read.py            # after it: read again and compare (assert_frame_equal, every field)

``--sizes 1M`` (default) and ``--kinds csv,parquet,messy-csv,messy-parquet`` choose the files: those of
bench/generate.py, and the same orders made messy (:func:`messy`: every cleaning rule has rows to act on); a
missing file is written first. The comparison is exact: same columns, dtypes, values and order, the same report
(every field: rows, money, excluded table, notes, ...) and the same ``attrs["source"]``.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402


def messy(size: int) -> dict[str, Path]:
    """The generated orders of a size made messy, as CSV and Parquet (written once; the same bytes every time).

    Rows shuffled (the output must be sorted); a quantity column (line items: order ids repeat); exact duplicate
    rows; ids with spaces, control characters, ``12345.0`` and placeholders (``NULL``, ``n/a``, blank); emails
    in mixed case; blank, zero, negative, huge and ``inf`` amounts; blank dates; statuses (kept, cancelled,
    pending, unknown); a second currency.
    """
    import numpy as np

    stem = generate.DATA_DIR / f"messy_{generate.size_label(size)}"
    target = {"csv": stem.with_suffix(".csv"), "parquet": stem.with_suffix(".parquet")}
    if all(p.exists() for p in target.values()):
        return target
    rng = np.random.default_rng(17)
    frame = pd.read_parquet(generate.ensure(size)["parquet"])
    frame["order_date"] = frame["order_date"].astype("str")
    frame["revenue"] = frame["revenue"].map(repr)
    n = len(frame)

    def some(share: float) -> np.ndarray:
        return rng.random(n) < share

    lines = some(0.05)  # a second line item of the previous row's order
    frame.loc[lines, "order_id"] = frame["order_id"].shift(1)[lines]
    frame["quantity"] = rng.integers(1, 4, n).astype(str)
    cid = frame["customer_id"].to_numpy(object)
    for mask, value in ((some(0.01), ""), (some(0.003), "NULL"), (some(0.002), " n/a ")):
        cid[mask] = value
    spaced = some(0.01)
    cid[spaced] = [f"  {c} " for c in cid[spaced]]
    control = some(0.001)
    cid[control] = [f"{c}\x01" for c in cid[control]]
    numeric = some(0.01)
    cid[numeric] = [f"{i}.0" for i in rng.integers(1000, 5000, int(numeric.sum()))]
    frame["customer_id"] = cid
    frame["email"] = [f"{c}@Shop.COM" if i % 3 else "" for i, c in enumerate(frame["customer_id"].str.strip())]
    revenue = frame["revenue"].to_numpy(object)
    for mask, value in ((some(0.005), ""), (some(0.005), "0"), (some(0.005), "-12.5"), (some(0.0005), "2e12"),
                        (some(0.0005), "inf")):
        revenue[mask] = value
    frame["revenue"] = revenue
    frame.loc[some(0.002), "order_date"] = ""
    frame["status"] = rng.choice(["paid", "paid", "paid", "completed", "cancelled", "pending", "Weird"], n)
    frame["currency"] = np.where(some(0.01), "EUR", "USD")
    frame = pd.concat([frame, frame.sample(frac=0.01, random_state=1)]).sample(frac=1.0, random_state=2)
    frame = frame.reset_index(drop=True)
    frame.to_csv(target["csv"], index=False)
    frame.to_parquet(target["parquet"], index=False)
    return target


def _reference(size: int, kind: str) -> Path:
    return HERE / "out" / f"read-reference-{generate.size_label(size)}-{kind}.pkl"


def _read(path: Path) -> pd.DataFrame:
    import clvlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the messy files' unknown statuses
        return clvlib.read_transactions(str(path))


def compare(orders: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Raise AssertionError unless the two results of read_transactions are the same."""
    pd.testing.assert_frame_equal(orders, expected, check_exact=True)
    mine, theirs = orders.attrs["cleaning"], expected.attrs["cleaning"]
    # Every field of the report (a field the reference predates is skipped: it was saved by older code).
    for name, value in vars(theirs).items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(getattr(mine, name), value, check_exact=True)
        else:
            assert getattr(mine, name) == value, (name, getattr(mine, name), value)
    assert orders.attrs["source"] == expected.attrs["source"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M")
    parser.add_argument("--kinds", default="csv,parquet,messy-csv,messy-parquet")
    parser.add_argument("--save", action="store_true", help="write the reference instead of comparing with it")
    args = parser.parse_args(argv)
    for size in map(generate.parse_size, args.sizes.split(",")):
        files = {**generate.ensure(size), **{"messy-" + k: p for k, p in messy(size).items()}}
        for kind in args.kinds.split(","):
            started = time.perf_counter()
            orders = _read(files[kind])
            seconds = time.perf_counter() - started
            path = _reference(size, kind)
            if args.save:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(pickle.dumps(orders))
                print(f"saved {path.name} ({len(orders):,} orders, {seconds:.2f} s)")
                continue
            compare(orders, pickle.loads(path.read_bytes()))
            print(f"{generate.size_label(size)} {kind}: same orders and report ({len(orders):,} orders, {seconds:.2f} s)")


if __name__ == "__main__":
    main()
