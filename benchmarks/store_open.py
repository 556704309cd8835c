"""Benchmark: opening a store of a million CDRs, as the receiver and the tail do.

    python benchmarks/store_open.py [--n 1000000] [--seed 7] [--cache DIR]

The receiver checks a store's integrity when it opens it (``PRAGMA quick_check``), which reads the
whole file; :class:`toolkit.store.Store` bounds that check with ``check_seconds``. Prints one line
per figure: the size of the file, the unbounded check, ``Store(path)`` (the receiver's opening,
check bounded by the default budget), ``Store(path, readonly=True)`` (the tail's opening) and the
machine's load. The store is the one ``benchmarks/frame.py`` seeds and caches (a few minutes the
first time). The page cache matters: the first run after seeding reads from disk, later runs from
memory; the figures are those of this run. A store seeded before rows carried their trust is
migrated by its first ``Store(path)`` (tens of seconds for a million CDRs): run twice to measure
the opening alone.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="CDRs in the store (default 1M)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "toolkit-bench")
    args = parser.parse_args(argv)

    from frame import seed_store

    from toolkit.store import Store

    db, _ = seed_store(args.n, args.seed, args.cache)
    print(f"store: {args.n:,} CDRs, {os.path.getsize(db) / 1e9:.2f} GB")

    conn = sqlite3.connect(db)
    began = time.perf_counter()
    result = conn.execute("PRAGMA quick_check").fetchall()
    conn.close()
    print(f"PRAGMA quick_check, whole file: {time.perf_counter() - began:.2f} s ({result[0][0]})")

    for label, options in (
        ("Store(path), the receiver (check bounded)", {}),
        ("Store(path, readonly=True), the tail", {"readonly": True}),
    ):
        began = time.perf_counter()
        Store(db, **options).close()
        print(f"{label}: {time.perf_counter() - began:.2f} s")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} during the run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
