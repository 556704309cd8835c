"""Several receiver processes, one PostgreSQL database, exactly once.

Three ``python -m toolkit receiver --db postgresql://...`` processes share a database. Senders
that behave like the platform spread 20,000 signed CDRs over them (50 per push, the platform's
maximum), each push sent twice, and one receiver is SIGKILLed mid-burst: every push it did not
acknowledge is signed again (a fresh nonce, as a platform retry is) and sent to another receiver.
The database must end with exactly the 20,000 CDRs: none lost (a 200 means committed), none
twice (the dedupe keys hold across receivers).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

from builders import fee_info

from toolkit.auth import sign_headers
from toolkit.pgstore import PgStore

KEY, SECRET = "AbCdEf0123456789", "s3cr3t-app-secret"
CDRS, PER_PUSH, SENDERS = 20_000, 50, 6
KILL_AFTER = 150  # acknowledged pushes before one receiver is killed
DEADLINE = 120.0  # seconds: the senders give up after this (the test then fails)


def start_receiver(url: str) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    env = {**os.environ, "PRIVATENUMBER_APP_KEY": KEY, "PRIVATENUMBER_APP_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "receiver", "--db", url, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()  # the receiver prints its base URL first
    assert first.startswith("http://127.0.0.1:"), first
    parts = urlsplit(first)
    assert parts.hostname is not None and parts.port is not None
    return proc, (parts.hostname, parts.port)


def post(address: tuple[str, int], body: bytes) -> int:
    headers = {"Content-Type": "application/json;charset=UTF-8", **sign_headers(KEY, SECRET)}
    conn = http.client.HTTPConnection(*address, timeout=30)
    try:
        conn.request("POST", "/fee", body, headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_three_receivers_one_database_exactly_once(postgres_url: str) -> None:
    with PgStore(postgres_url):  # create the tables once, before the receivers race to
        pass
    started = [start_receiver(postgres_url) for _ in range(3)]
    procs = [p for p, _ in started]
    addresses = [a for _, a in started]
    try:
        pushes = [
            json.dumps(
                {
                    "eventType": "fee",
                    "feeLst": [fee_info(p * PER_PUSH + k) for k in range(PER_PUSH)],
                }
            ).encode()
            for p in range(CDRS // PER_PUSH)
        ]
        sends = [(p, copy) for p in range(len(pushes)) for copy in range(2)]
        random.Random(14).shuffle(sends)
        jobs: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
        for k, (p, _) in enumerate(sends):
            jobs.put((p, k % 3))  # spread over the receivers, as a load balancer would
        dead: set[int] = set()
        acked: list[int] = []
        retried: list[int] = []
        lock = threading.Lock()
        began = time.monotonic()

        def send() -> None:
            while time.monotonic() - began < DEADLINE:
                try:
                    job = jobs.get(timeout=1.0)
                except queue.Empty:
                    continue
                if job is None:
                    return
                push, target = job
                with lock:
                    while target in dead:
                        target = (target + 1) % 3
                try:
                    ok = post(addresses[target], pushes[push]) == 200
                except OSError:
                    ok = False
                with lock:
                    if ok:
                        acked.append(push)
                        if len(acked) == KILL_AFTER:
                            procs[0].send_signal(signal.SIGKILL)
                            dead.add(0)
                    else:
                        # Not acknowledged: the platform retries, and the balancer routes the
                        # retry to a receiver that answers.
                        retried.append(push)
                        jobs.put((push, (target + 1) % 3))
                        continue
                if len(acked) == len(sends):
                    for _ in range(SENDERS):
                        jobs.put(None)

        threads = [threading.Thread(target=send, daemon=True) for _ in range(SENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DEADLINE + 40)
        assert len(acked) == len(sends), f"{len(acked)} of {len(sends)} pushes acknowledged"
        assert procs[0].poll() == -signal.SIGKILL
        assert retried, "no push needed a retry: the kill did not land mid-burst"
        with PgStore(postgres_url, readonly=True) as store:
            (row,) = store.query("SELECT count(*) AS n, count(DISTINCT icid) AS d FROM cdrs")
        assert (row["n"], row["d"]) == (CDRS, CDRS)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
