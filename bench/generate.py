"""Deterministic synthetic transactions for the benchmarks: 100k, 1M and 10M rows, as Parquet and CSV.

Customers follow a BG/NBD process (Fader, Hardie & Lee 2005) with Gamma-Gamma spend (Fader, Hardie & Lee 2005b), so
repeat patterns look like a real store's: most customers buy once or a few times, a long tail buys often, buyers drop
out. The store runs for three years (2023-01-01 .. 2025-12-31); customers are acquired uniformly over the first two.
Per customer, with ``T`` days from the first order to the end of the data:

- purchase rate ``lambda ~ Gamma(r, 1/alpha)`` per day, dropout ``p ~ Beta(a, b)`` after each repeat purchase;
- ``J ~ Geometric(p)`` repeat purchases before dropping out, ``N ~ Poisson(lambda T)`` events of the rate process in
  ``(0, T]``; the customer makes ``K = min(J, N)`` repeat purchases at the first ``K`` of the ``N`` uniform event
  times, drawn without the other ``N - K`` through the spacings ``U_(j) = S_j / S_(N+1)`` (``S_j`` sums of unit
  exponentials, ``S_(N+1) - S_K ~ Gamma(N + 1 - K)``);
- about 3% of purchases are split into two orders on the same day (a frequent quirk of exports).

Rows are cut to exactly the requested count (the last customer may lose trailing orders) and sorted by date, as a
store export is. The ids are strings in a shuffled order, so nothing downstream can lean on sorted ids. The same size
always gives the same bytes (a fixed seed per size).

Usage: ``python bench/generate.py --sizes 100k,1M,10M`` (files that already exist are kept).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

log = logging.getLogger("bench.generate")

DATA_DIR = Path(__file__).resolve().parent / "data"
START = np.datetime64("2023-01-01", "D")
DAYS = 3 * 365 + 1          # 2023-01-01 .. 2025-12-31
ACQUISITION_DAYS = 2 * 365  # first orders in the first two years
# BG/NBD and Gamma-Gamma parameters (daily rate): about 10 orders per customer, a quarter of them one-time buyers.
R, ALPHA, A, B = 0.3, 5.0, 0.8, 4.0
P_SPEND, Q_SPEND, GAMMA_SPEND = 6.0, 4.0, 25.0
SAME_DAY_SPLIT = 0.03
ROWS_PER_CUSTOMER_GUESS = 9.0


def parse_size(text: str) -> int:
    """``"100k"`` -> 100_000, ``"1M"`` -> 1_000_000, ``"2500"`` -> 2500."""
    text = text.strip()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def size_label(n_rows: int) -> str:
    """The inverse of :func:`parse_size` for round sizes: 1_000_000 -> ``"1M"``."""
    if n_rows % 1_000_000 == 0:
        return f"{n_rows // 1_000_000}M"
    if n_rows % 1_000 == 0:
        return f"{n_rows // 1_000}k"
    return str(n_rows)


def paths(n_rows: int, data_dir: Path = DATA_DIR) -> dict[str, Path]:
    """Where the Parquet and CSV files of a size live."""
    stem = data_dir / f"orders_{size_label(n_rows)}"
    return {"parquet": stem.with_suffix(".parquet"), "csv": stem.with_suffix(".csv")}


def _customers(n_customers: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order day of each customer; owner and day offset (from the first order) of every repeat purchase."""
    first = rng.integers(0, ACQUISITION_DAYS, n_customers)
    horizon = (DAYS - 1 - first).astype(np.float64)
    lam = rng.gamma(R, 1.0 / ALPHA, n_customers)
    p = rng.beta(A, B, n_customers)
    n_events = rng.poisson(lam * horizon)
    k = np.minimum(rng.geometric(p), n_events)
    # Spacings: the first k of n sorted uniforms on (0, 1) without drawing the other n - k.
    owner = np.repeat(np.arange(n_customers), k)
    cum = np.r_[0.0, np.cumsum(rng.standard_exponential(owner.size))]
    ends = np.cumsum(k)
    base = cum[ends - k]  # the running sum before each customer's first step
    s_j = cum[1:] - np.repeat(base, k)
    s_k = cum[ends] - base
    total = s_k + rng.gamma((n_events + 1 - k).astype(np.float64))  # S_(N+1); the shape is at least 1
    offsets = np.ceil(s_j / total[owner] * horizon[owner]).astype(np.int64)
    return first, owner, offsets


def generate(n_rows: int, seed: int | None = None) -> pa.Table:
    """Exactly ``n_rows`` synthetic orders: ``customer_id, order_id, order_date, revenue``, sorted by date."""
    rng = np.random.default_rng(20261123 + n_rows if seed is None else seed)
    n_customers = int(n_rows / ROWS_PER_CUSTOMER_GUESS * 1.3) + 10
    first, repeat_owner, offsets = _customers(n_customers, rng)
    owner = np.r_[np.arange(n_customers), repeat_owner]
    day = np.r_[first, first[repeat_owner] + offsets]
    # Same-day split orders: a purchase becomes two orders.
    split = rng.random(owner.size) < SAME_DAY_SPLIT
    owner, day = np.r_[owner, owner[split]], np.r_[day, day[split]]
    by_customer = np.lexsort((day, owner))
    owner, day = owner[by_customer], day[by_customer]
    if owner.size < n_rows:
        raise RuntimeError(f"generated only {owner.size} rows for {n_rows}; raise ROWS_PER_CUSTOMER_GUESS headroom")
    owner, day = owner[:n_rows], day[:n_rows]
    # Gamma-Gamma spend: a customer-level mean, order values around it (rounded to cents, at least $1).
    nu = rng.gamma(Q_SPEND, 1.0 / GAMMA_SPEND, n_customers)
    revenue = np.maximum(np.round(rng.gamma(P_SPEND, 1.0, n_rows) / nu[owner], 2), 1.0)
    # Shuffled string ids, zero-padded like a shop's customer numbers.
    label = rng.permutation(n_customers) + 100_001
    by_date = np.lexsort((owner, day))
    owner, day, revenue = owner[by_date], day[by_date], revenue[by_date]
    width = len(str(int(label.max())))
    customer_id = np.char.add("C", np.char.zfill(label[owner].astype(str), width))
    order_id = np.char.add("O", np.char.zfill((np.arange(n_rows) + 1).astype(str), len(str(n_rows))))
    return pa.table({
        "customer_id": pa.array(customer_id.astype(object), pa.string()),
        "order_id": pa.array(order_id.astype(object), pa.string()),
        "order_date": pa.array((START + day).astype("datetime64[D]"), pa.date32()),
        "revenue": pa.array(revenue, pa.float64()),
    })


def ensure(n_rows: int, data_dir: Path = DATA_DIR, *, force: bool = False) -> dict[str, Path]:
    """Write the Parquet and CSV files of a size unless they exist; return their paths."""
    target = paths(n_rows, data_dir)
    if not force and all(p.exists() for p in target.values()):
        return target
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    table = generate(n_rows)
    for kind, path in target.items():
        tmp = path.with_name(path.name + ".tmp")
        if kind == "parquet":
            pq.write_table(table, tmp, row_group_size=1_000_000)
        else:
            pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="none"))
        tmp.replace(path)
    log.info("wrote %s rows to %s (%.1f s)", f"{n_rows:,}", data_dir, time.perf_counter() - started)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M,10M", help="comma-separated row counts, e.g. 100k,1M,10M")
    parser.add_argument("--force", action="store_true", help="rewrite files that already exist")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for size in args.sizes.split(","):
        for path in ensure(parse_size(size), force=args.force).values():
            log.info("%s  %.1f MB", path, path.stat().st_size / 1e6)


if __name__ == "__main__":
    main()
