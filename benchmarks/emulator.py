"""Emulator figures, one line each:

* bind+unbind round trips per second through the toolkit's client: in-process, over HTTP to an
  emulator serving from a thread of the same process (client and server share one GIL), and over
  HTTP to ``python -m toolkit emulator`` in a process of its own, as it runs for scripts and CI;
* the same over HTTP with keep-alive (``Emulator(keep_alive=True)``): by default the emulator
  closes the connection after each answer, as the platform does, so each call pays a connect;
* seconds from placing N simulated calls to the last CDR stored (acknowledged) by a local
  receiver, with only the fee URL set (no status pushes) and with status pushes on, the receiver
  served from a thread of this process (one GIL for both) and from ``python -m toolkit
  receiver`` in a process of its own, as a customer's service runs;
* the process's resident memory before and after a default emulator simulates 50,000 calls (its
  CDRs pushed to a local receiver): the emulator keeps a window of the newest finished calls and
  push attempts, so memory must stop growing with traffic.

Run: ``python benchmarks/emulator.py [--calls N] [--status-calls N] [--memory-calls N]``
(defaults 10000, 10000, 50000; 0 skips a figure). ``--compare-with DIR`` first runs the
status-push figures with the toolkit found in DIR (an older tree, e.g. from ``git archive main |
tar -x -C DIR``), so a change is measured before and after in one run; ``--pushes-only`` prints
the status-push figures alone.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from toolkit.client import PrivateNumberClient
from toolkit.emulator import Emulator
from toolkit.receiver import Receiver
from toolkit.store import Store

A, B = "+8613800000001", "+8613900000002"


def _rate(client: PrivateNumberClient, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        client.axb.unbind(client.axb.bind(A, B).subscription_id)
        done += 1
    return done / (time.perf_counter() - start)


def round_trips(server: bool, seconds: float = 3.0, *, keep_alive: bool = False) -> float:
    """Round trips/s against an emulator in this process (in-process, or served from a thread)."""
    emu = Emulator("axb", time_scale=0, seed=1, **({"keep_alive": True} if keep_alive else {}))
    if server:
        emu.start()
    try:
        return _rate(emu.client(), seconds)
    finally:
        emu.stop()


def round_trips_separate_process(seconds: float = 3.0) -> float:
    """Round trips/s against ``python -m toolkit emulator`` running in its own process."""
    command = [sys.executable, "-m", "toolkit", "emulator", "--time-scale", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url, key, secret = (proc.stdout.readline().strip() for _ in range(3))  # type: ignore[union-attr]
        client = PrivateNumberClient(
            base_url=url, app_key=key.partition("=")[2], app_secret=secret.partition("=")[2]
        )
        return _rate(client, seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def _receiver(own_process: bool) -> Iterator[tuple[str, Store, int | None]]:
    """A receiver accepting unsigned pushes (``allow_unsigned``): its URL, a store to count in
    and its process id (None: this process). From a thread of this process, or ``python -m
    toolkit receiver`` in its own."""
    if not own_process:
        receiver = Receiver(allow_unsigned=True).start()
        try:
            yield receiver.url or "", receiver.store, None
        finally:
            receiver.stop()
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "pushes.db")
        env = {k: v for k, v in os.environ.items() if not k.endswith("_APP_SECRET")}
        command = [sys.executable, "-m", "toolkit", "receiver", "--db", db, "--allow-unsigned"]
        proc = subprocess.Popen(
            command, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            url = proc.stdout.readline().strip()  # type: ignore[union-attr]
            with Store(db) as store:
                yield url, store, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            proc.stdout.close()  # type: ignore[union-attr]


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds used so far by process ``pid`` (None: this one)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:  # Linux: utime and stime, fields 14 and 15 of /proc/PID/stat, in clock ticks
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def calls_to_cdrs(
    n: int, *, status: bool, receiver_process: bool = False
) -> tuple[float, int, int, float, float]:
    """(seconds, CDRs stored, pushes attempted, CPU seconds of this process, CPU seconds of the
    receiver's process (0 when it is this one)) for n simulated calls."""
    with _receiver(receiver_process) as (url, store, pid):
        emu = Emulator(
            "axb",
            time_scale=0,
            seed=1,
            fee_url=url + "/fee",
            status_url=url + "/status" if status else None,
        )
        try:
            client = emu.client()
            for i in range(200):
                client.axb.bind(f"+86135{i:08d}", f"+86136{i:08d}")
            cpu = _cpu_seconds(None), _cpu_seconds(pid) if pid else 0.0
            start = time.perf_counter()
            emu.simulate(n, seed=2)
            deadline = start + 600
            while store.count("cdrs") < n and time.perf_counter() < deadline:
                time.sleep(0.005)
            elapsed = time.perf_counter() - start
            own_cpu = _cpu_seconds(None) - cpu[0]
            receiver_cpu = _cpu_seconds(pid) - cpu[1] if pid else 0.0
            emu.wait_idle(60)
            # Attempt ids count up from 1: the newest is the number made (the log keeps a
            # window).
            attempts = max((d["id"] for d in emu.deliveries()), default=0)
            return elapsed, store.count("cdrs"), attempts, own_cpu, receiver_cpu
        finally:
            emu.stop()


def _rss_mb() -> float:
    """Resident set size of this process now (Linux), else its peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(n: int) -> tuple[float, float, int, int, int]:
    """(RSS MB before, RSS MB after, CDRs stored, calls kept, push attempts kept) for ``n``
    calls simulated by an emulator with default settings, CDRs pushed to a local receiver."""
    with tempfile.TemporaryDirectory() as tmp:
        receiver = Receiver(db=str(Path(tmp) / "pushes.db"), allow_unsigned=True).start()
        emu = Emulator("axb", time_scale=0, seed=1, fee_url=receiver.url + "/fee")
        try:
            client = emu.client()
            for i in range(200):
                client.axb.bind(f"+86135{i:08d}", f"+86136{i:08d}")
            gc.collect()
            before = _rss_mb()
            deadline = time.perf_counter() + 600
            # In requests of at most 10,000 calls, as POST /_emulator/simulate takes them.
            for start in range(0, n, 10_000):
                emu.simulate(min(10_000, n - start), seed=start)
                while receiver.store.count("cdrs") < start and time.perf_counter() < deadline:
                    time.sleep(0.05)
            while receiver.store.count("cdrs") < n and time.perf_counter() < deadline:
                time.sleep(0.05)
            emu.wait_idle(60)
            gc.collect()
            after = _rss_mb()
            stored = receiver.store.count("cdrs")
            return before, after, stored, len(emu.calls()), len(emu.deliveries())
        finally:
            emu.stop()
            receiver.stop()


def status_pushes(n: int, label: str = "") -> None:
    """Print the status-push figures: receiver in this process, then in its own."""
    for own_process, where in ((False, "receiver thread"), (True, "receiver process")):
        secs, stored, pushes, cpu, receiver_cpu = calls_to_cdrs(
            n, status=True, receiver_process=own_process
        )
        per_push = (
            f"CPU per push: emulator {1000 * cpu / pushes:.3f} ms, "
            f"receiver {1000 * receiver_cpu / pushes:.3f} ms"
            if own_process
            else f"CPU per push, both in this process: {1000 * cpu / pushes:.3f} ms"
        )
        print(
            f"{label}{n} calls -> last CDR stored, status pushes on, {where}: {secs:6.2f} s "
            f"({stored} CDRs, {pushes} pushes, {pushes / secs:.0f} pushes/s; target <= 30 s; "
            f"{per_push}; load {os.getloadavg()[0]:.2f})",
            flush=True,
        )


def compare_with(tree: str, n: int) -> None:
    """Run the status-push figures with the toolkit of ``tree`` (this script, in a child)."""
    env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
    command = [sys.executable, __file__, "--pushes-only", "--status-calls", str(n)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        print(f"before ({tree}): {line}", flush=True)
    if done.returncode:
        print(f"before ({tree}): failed: {done.stderr.strip()[-500:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--status-calls", type=int, default=10_000)
    parser.add_argument("--memory-calls", type=int, default=50_000)
    parser.add_argument("--compare-with", metavar="DIR", help="an older tree to measure too")
    parser.add_argument("--pushes-only", action="store_true", help="status-push figures alone")
    args = parser.parse_args()
    if args.pushes_only:
        if args.compare_with:
            compare_with(args.compare_with, args.status_calls)
        status_pushes(args.status_calls, "after: " if args.compare_with else "")
        return
    if args.compare_with and args.status_calls:
        compare_with(args.compare_with, args.status_calls)
    # Measured first, while this process has done nothing else, and printed last.
    mem = memory(args.memory_calls) if args.memory_calls else None
    rates = {
        "in-process": round_trips(False),
        "HTTP, emulator in its own process": round_trips_separate_process(),
        "HTTP, emulator thread in this process": round_trips(True),
        "HTTP, emulator thread, keep-alive": round_trips(True, keep_alive=True),
    }
    for label, rate in rates.items():
        print(f"bind+unbind round trips/s, {label + ':':<39}{rate:7.0f}  (target >= 500)")
    secs, stored, pushes, _, _ = calls_to_cdrs(args.calls, status=False)
    print(
        f"{args.calls} calls -> last CDR stored, fee pushes only: {secs:6.2f} s "
        f"({stored} CDRs, {pushes} pushes; target <= 10 s)"
    )
    if args.status_calls:
        status_pushes(args.status_calls, "after: " if args.compare_with else "")
    if mem is not None:
        before, after, stored, kept, attempts = mem
        print(
            f"{args.memory_calls} calls simulated, RSS {before:.0f} -> {after:.0f} MB "
            f"(+{after - before:.0f} MB; {stored} CDRs stored, {kept} calls and {attempts} "
            "push attempts kept)"
        )


if __name__ == "__main__":
    main()
