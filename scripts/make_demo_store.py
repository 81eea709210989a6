"""Regenerate the demo store's CSV files in data/demo_store/ from the seeded simulation.

Usage: python scripts/make_demo_store.py [--seed N] [--out DIR]

The files are a pure function of the seed: running this twice gives byte-identical files, and
tests/test_datasets.py checks that the committed files equal the simulation at the README's seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clvlib.datasets import demo_store as _demo_store
from clvlib.datasets import DEMO_STORE_DIR, DEMO_STORE_SEED, make_demo_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEMO_STORE_SEED, help=f"default {DEMO_STORE_SEED}")
    parser.add_argument("--out", type=Path, default=DEMO_STORE_DIR, help="output folder (default data/demo_store)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in make_demo_store(seed=args.seed).items():
        path = args.out / _demo_store.FILES[name][0]
        path.write_bytes(_demo_store.csv_text(name, frame).encode("utf-8"))
        print(f"{path}: {len(frame):,} rows, {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
