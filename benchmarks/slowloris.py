"""Push receiver under a slowloris attack: do real pushes still get through?

Starts ``python -m toolkit receiver --allow-unsigned`` with its RLIMIT_NOFILE soft limit at 1024
(a common default), opens 1,100 slow clients from this process that each send a request line and
then one header byte every ~2 s (a dropped one reconnects on its next turn, as attack tools do),
then sends 20 real pushes one by one, each with a 5 s timeout. Prints how many were stored, their
latencies (p50/max), the receiver's CPU use during the attack (from /proc/PID/stat: a receiver
spinning on EMFILE shows ~100%), and how many times the slow clients were dropped.

    python benchmarks/slowloris.py [--clients 1100] [--pushes 20] [--nofile 1024]

The receiver runs whichever ``toolkit`` this interpreter imports (set PYTHONPATH to compare
trees). Traffic goes to 127.0.0.1 only; the whole run is bounded by a 60 s deadline.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

DEADLINE = 60.0  # seconds for the whole run
ROUND = 2.0  # seconds between two bytes of one slow client
PUSH_TIMEOUT = 5.0
SETTLE = 4.0  # seconds of attack before the first real push
SPACING = 0.6  # seconds between two real pushes, so they span the receiver's request deadline


class SlowClients:
    """``count`` non-blocking sockets, each fed one header byte per ``ROUND``, from one thread."""

    def __init__(self, address: tuple[str, int], count: int) -> None:
        self.address, self.count = address, count
        self.socks: list[socket.socket | None] = [None] * count
        self.drops = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self, i: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex(self.address)
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            return
        self.socks[i] = sock
        self._send(i, b"POST /fee HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")

    def _send(self, i: int, data: bytes) -> None:
        sock = self.socks[i]
        if sock is None:
            return
        try:
            sock.recv(1, socket.MSG_PEEK)  # returns once the server answered (408) or closed
        except BlockingIOError:  # nothing from the server: still waiting for us, or connecting
            dropped = False
        except OSError:
            dropped = True
        else:
            dropped = True
        if dropped:
            sock.close()
            self.socks[i] = None
            self.drops += 1
            return
        with contextlib.suppress(BlockingIOError):  # still connecting: next round
            sock.send(data)

    def _run(self) -> None:
        slices = 20
        while not self.stop.is_set():
            for part in range(slices):
                t0 = time.monotonic()
                for i in range(part, self.count, slices):
                    if self.socks[i] is None:
                        self._connect(i)
                    else:
                        self._send(i, b"a")
                if self.stop.wait(max(0.0, ROUND / slices - (time.monotonic() - t0))):
                    return

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.socks:
            if sock is not None:
                sock.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def push(host: str, port: int, n: int) -> tuple[bool, float]:
    body = json.dumps(
        {
            "eventType": "fee",
            "feeLst": [
                {
                    "direction": 1,
                    "icid": f"slowloris-{n}",
                    "sessionId": f"slowloris-{n}@bench",
                    "callerNum": "+8613800000001",
                    "calleeNum": "+8617000000003",
                    "callInTime": "2024-03-01 02:15:02",
                    "callEndTime": "2024-03-01 02:17:40",
                }
            ],
        }
    ).encode()
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=PUSH_TIMEOUT)
    try:
        conn.request("POST", "/fee", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        ok = response.status == 200
    except OSError:
        ok = False
    finally:
        conn.close()
    return ok, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1100)
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--nofile", type=int, default=1024, help="the receiver's soft fd limit")
    args = parser.parse_args()
    began = time.monotonic()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # room for our own slow clients

    def limit_receiver() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, hard))

    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "receiver.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "toolkit", "receiver", "--allow-unsigned"),
                    *("--db", os.path.join(tmp, "rx.db"), "--port", "0"),
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                preexec_fn=limit_receiver,
                cwd=tmp,  # not this directory: PYTHONPATH (or the install) picks the toolkit
            )
        try:
            url = proc.stdout.readline().strip()  # type: ignore[union-attr]
            parts = urlsplit(url)
            host, port = parts.hostname or "127.0.0.1", parts.port or 80
            attack = SlowClients((host, port), args.clients)
            attack.thread.start()
            try:
                time.sleep(SETTLE)
                cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
                results = []
                for n in range(args.pushes):
                    if time.monotonic() - began > DEADLINE - PUSH_TIMEOUT - SPACING - 8:
                        break
                    results.append(push(host, port, n))
                    time.sleep(SPACING)
                cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - wall0)
                connected = sum(s is not None for s in attack.socks)
            finally:
                attack.close()
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
        with open(log_path) as f:
            lines = f.read().splitlines()
    latencies = sorted(t * 1000 for ok, t in results if ok)
    succeeded = len(latencies)
    tracebacks = sum(line.startswith("Traceback") for line in lines)
    dropped = sum("dropped" in line for line in lines)
    print(
        f"{succeeded}/{args.pushes} pushes stored within {PUSH_TIMEOUT:g} s during a "
        f"{args.clients}-client slowloris (receiver RLIMIT_NOFILE {args.nofile}; "
        f"{len(results)} attempted)"
    )
    if latencies:
        print(f"push latency p50 {statistics.median(latencies):.1f} ms, max {latencies[-1]:.1f} ms")
    print(f"receiver CPU during the attack: {cpu * 100:.0f}% of one core")
    print(
        f"slow clients: {connected} connected at the end, {attack.drops} drops seen by them; "
        f"receiver log: {dropped} 'dropped' lines, {tracebacks} tracebacks, {len(lines)} lines"
    )
    print(f"(run took {time.monotonic() - began:.1f} s; this process's soft limit was {soft})")
    return 0 if succeeded >= args.pushes * 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
