"""Bulk binding figures: ``bind_many`` with a thread pool against a sequential loop of ``bind``.

Both run in the same process, one after the other, over HTTP against ``python -m toolkit
emulator`` running in a process of its own (as scripts and CI run it), each binding its own
distinct A/B pairs. Prints rows per second for each and the ratio, twice:

1. **no added latency**: the emulator answers as fast as it can, on this machine. Client and
   emulator are then both busy with CPU the whole time (the loopback network waits for nothing),
   and threads overlap waiting, not CPU: with ``c`` and ``e`` the CPU milliseconds one row costs
   the client and the emulator (each a single Python process, so one core at most), no number
   of threads makes a row take less than ``max(c, e, (c + e) / cores)``. The script prints that
   bound from the CPU the ``bind_many`` run cost, and what it allows against the loop;
2. **with latency** (``--latency``, default 20 ms): the emulator holds each API answer that long
   (``python -m toolkit emulator --latency``), as the real platform's answers take a round trip
   across a WAN plus the platform's own time. That waiting is what a thread pool overlaps.

Also printed: the CPU time each run cost the client process and the emulator process (read from
``/proc``, Linux only), per row, and the load average, since other processes share the machine.
``--compare-with DIR`` runs the first part with the toolkit in ``DIR`` as well (an old tree, from
``git archive main | tar -x -C DIR``), in the same run, for the client's and emulator's CPU per
row old and new.

Run: ``python benchmarks/bulk.py [--rows N] [--workers N] [--latency MS] [--latency-rows N]
[--compare-with DIR]`` (defaults 1000, 8, 20 and 200; ``--latency 0`` skips the second part).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

from toolkit.client import PrivateNumberClient


class Run(NamedTuple):
    seconds: float
    client_user: float  # CPU seconds of this process, all threads
    client_system: float
    emulator: float  # CPU seconds of the emulator's process


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


def timed(pid: int, work: object) -> Run:
    """Run ``work()`` and measure its wall time and the CPU both processes spent meanwhile."""
    before, emulator = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds(pid)
    start = time.perf_counter()
    work()  # type: ignore[operator]
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return Run(
        seconds,
        after.ru_utime - before.ru_utime,
        after.ru_stime - before.ru_stime,
        cpu_seconds(pid) - emulator,
    )


def measure(latency_ms: float, n: int, workers: int, first: int) -> tuple[Run, Run]:
    """A sequential loop, then ``bind_many``, of ``n`` rows each, against a fresh emulator."""
    command = [sys.executable, "-m", "toolkit", "emulator", "--time-scale", "0", "--seed", "1"]
    if latency_ms:
        command += ["--latency", f"{latency_ms:g}ms"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url, key, secret = (proc.stdout.readline().strip() for _ in range(3))
        settings = {"base_url": url, "app_key": key.partition("=")[2]}
        with PrivateNumberClient(**settings, app_secret=secret.partition("=")[2]) as client:
            client.axb.bind("+8613700000000", "+8613700000001")  # warm up before timing

            def loop() -> None:
                for row in rows(first, n):
                    client.axb.bind(**row)

            def bulk() -> None:
                result = client.axb.bind_many(rows(first + n, n), workers=workers, progress=False)
                if result.ok != n:
                    raise SystemExit(
                        f"bind_many: {len(result.failed)} rows failed, first: "
                        f"{result.failed[0].error}"
                    )

            return timed(proc.pid, loop), timed(proc.pid, bulk)
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def show(name: str, run: Run, n: int) -> str:
    per_row = 1000 / n
    return (
        f"{name:<24} {run.seconds:7.2f} s  {n / run.seconds:8.1f} rows/s  CPU per row: client "
        f"{(run.client_user + run.client_system) * per_row:.2f} ms (user "
        f"{run.client_user * per_row:.2f}, system {run.client_system * per_row:.2f}), "
        f"emulator {run.emulator * per_row:.2f} ms"
    )


def report(runs: tuple[Run, Run], n: int, workers: int, cpu_bound: bool) -> None:
    sequential, bulk = runs
    print(show("sequential bind loop:", sequential, n))
    print(show(f"bind_many, {workers} workers:", bulk, n))
    speed_up = sequential.seconds / bulk.seconds
    if not cpu_bound:
        print(f"speed-up: {speed_up:.2f}x (target >= 3x)")
        return
    cores = os.cpu_count() or 1
    c = (bulk.client_user + bulk.client_system) / n * 1000
    e = bulk.emulator / n * 1000
    per_row = max(c, e, (c + e) / cores)
    print(
        f"speed-up: {speed_up:.2f}x (target >= 3x); the most threads can give here: the "
        f"bind_many run cost c = {c:.2f} ms of client and e = {e:.2f} ms of emulator CPU per "
        f"row, so on {cores} cores with nothing else running a row takes at least max(c, e, "
        f"(c + e) / {cores}) = {per_row:.2f} ms: at most {1000 / per_row:.0f} rows/s, "
        f"{sequential.seconds / n * 1000 / per_row:.2f}x the loop"
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows per run, no latency")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--latency", type=float, default=20.0, help="ms the emulator holds each answer (0: skip)"
    )
    parser.add_argument("--latency-rows", type=int, default=200, help="rows per run, latency")
    parser.add_argument("--compare-with", metavar="DIR", help="also run part 1 with this tree")
    parser.add_argument("--label", default="this tree", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    print(
        f"load average at start: {load()}; {os.cpu_count()} CPU cores; emulator: python -m "
        "toolkit emulator (own process)"
    )
    if args.compare_with:
        old = Path(args.compare_with).resolve()
        env = {**os.environ, "PYTHONPATH": str(old)}
        command = [sys.executable, __file__, "--rows", str(args.rows), "--latency", "0"]
        command += ["--workers", str(args.workers), "--label", f"old tree {old}"]
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        print(*output.stdout.splitlines()[1:], sep="\n")
    print(
        f"1) {args.label}, no added latency: CPU-bound, client and emulator share this "
        f"machine's cores ({args.rows} rows per run)"
    )
    report(measure(0, args.rows, args.workers, 0), args.rows, args.workers, cpu_bound=True)
    if args.latency:
        print(
            f"2) {args.label}, emulator --latency {args.latency:g}ms: each API answer held "
            f"{args.latency:g} ms, as across a WAN to the platform ({args.latency_rows} rows "
            "per run)"
        )
        runs = measure(args.latency, args.latency_rows, args.workers, 0)
        report(runs, args.latency_rows, args.workers, cpu_bound=False)
    print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
