"""Bulk binding figures: ``bind_many`` with a thread pool against a sequential loop of ``bind``.

Both run in the same process, one after the other, over HTTP against ``python -m toolkit
emulator`` running in a process of its own (as scripts and CI run it), each binding its own
``--rows`` distinct A/B pairs. Prints rows per second for each and the ratio (target: at least 3
times faster with 8 workers).

Also printed: the CPU time each run cost the client process and the emulator process (read from
``/proc``, Linux only), per row. Threads overlap waiting, not CPU: with both processes busy on a
machine of few cores, the ratio is bounded by the CPU each row costs.

Run: ``python benchmarks/bulk.py [--rows N] [--workers N]`` (defaults 1000 and 8).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from toolkit.client import PrivateNumberClient


def rows(start: int, n: int) -> list[dict[str, str]]:
    """``n`` distinct A/B pairs, numbered from ``start``."""
    return [
        {"caller_num": f"+86138{i:08d}", "callee_num": f"+86139{i:08d}"}
        for i in range(start, start + n)
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``nan`` where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", "toolkit", "emulator", "--time-scale", "0", "--seed", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url, key, secret = (proc.stdout.readline().strip() for _ in range(3))
        settings = {"base_url": url, "app_key": key.partition("=")[2]}
        with PrivateNumberClient(**settings, app_secret=secret.partition("=")[2]) as client:
            client.axb.bind("+8613700000000", "+8613700000001")  # connect once before timing
            cpu = (time.process_time(), cpu_seconds(proc.pid))
            start = time.perf_counter()
            for row in rows(0, args.rows):
                client.axb.bind(**row)
            sequential = time.perf_counter() - start
            cpu_sequential = (time.process_time() - cpu[0], cpu_seconds(proc.pid) - cpu[1])

            cpu = (time.process_time(), cpu_seconds(proc.pid))
            start = time.perf_counter()
            result = client.axb.bind_many(
                rows(args.rows, args.rows), workers=args.workers, progress=False
            )
            bulk = time.perf_counter() - start
            cpu_bulk = (time.process_time() - cpu[0], cpu_seconds(proc.pid) - cpu[1])
        if result.ok != args.rows:
            print(f"bind_many: {len(result.failed)} rows failed, first: {result.failed[0].error}")
            return 1
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    print(f"rows per run: {args.rows}, emulator: python -m toolkit emulator (own process)")
    for name, seconds, (client_cpu, server_cpu) in (
        ("sequential bind loop:", sequential, cpu_sequential),
        (f"bind_many, {args.workers} workers:", bulk, cpu_bulk),
    ):
        print(
            f"{name:<24} {seconds:7.2f} s  {args.rows / seconds:8.1f} rows/s  CPU per row: "
            f"client {client_cpu / args.rows * 1000:.2f} ms, "
            f"emulator {server_cpu / args.rows * 1000:.2f} ms"
        )
    print(f"speed-up: {sequential / bulk:.2f}x (target >= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
