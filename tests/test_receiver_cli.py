"""``python -m toolkit receiver`` as a process: start-up line, clean stop, and crash safety.

The crash test is the store's promise end to end: SIGKILL the receiver in the middle of a burst,
restart it, let the sender retry what was not acknowledged, and the store must hold exactly the
CDRs sent, each once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from test_events import fee_body, fee_info

PUSHES, SENDERS, PER_PUSH = 60, 4, 50


def start(db: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "receiver", "--port", "0", "--db", str(db), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PRIVATENUMBER_APP_KEY": "", "PRIVATENUMBER_APP_SECRET": ""},
    )
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), (url, proc.stderr.read() if proc.poll() else "")
    return proc, url


def stored_icids(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [row[0] for row in conn.execute("SELECT icid FROM cdrs")]


def push(n: int) -> dict:
    return fee_body(*[fee_info(n * PER_PUSH + i) for i in range(PER_PUSH)])


def test_first_line_is_the_url_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    proc, url = start(tmp_path / "a.db", "--allow-unsigned")
    try:
        assert requests.post(url + "/fee", json=push(0), timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "Traceback" not in err and "50 cdrs" in err
    assert len(stored_icids(tmp_path / "a.db")) == 50


def test_sigint_stops_cleanly_too(tmp_path: Path) -> None:
    proc, _ = start(tmp_path / "b.db", "--allow-unsigned")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err


def test_refuses_to_run_unverified_unless_asked(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "receiver", "--db", str(tmp_path / "c.db")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PRIVATENUMBER_APP_KEY": "", "PRIVATENUMBER_APP_SECRET": ""},
    )
    assert result.returncode == 2 and "--allow-unsigned" in result.stderr
    assert result.stdout == ""


def test_sigkill_mid_burst_then_retry_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    proc, url = start(db, "--allow-unsigned")
    target = {"url": url}
    acked: set[int] = set()
    lock = threading.Lock()

    def sender(share: list[int]) -> None:
        for n in share:
            try:
                ok = requests.post(target["url"] + "/fee", json=push(n), timeout=10).status_code
            except requests.RequestException:
                ok = 0
            if ok == 200:
                with lock:
                    acked.add(n)

    shares = [list(range(s, PUSHES, SENDERS)) for s in range(SENDERS)]
    threads = [threading.Thread(target=sender, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < PUSHES // 4 and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)  # while the other senders are mid-request
    proc.wait(timeout=10)
    for t in threads:
        t.join()
    proc.stdout.close()
    proc.stderr.close()

    # Everything acknowledged before the kill survived it.
    survived = set(stored_icids(db))
    for n in acked:
        assert all(fee_info(n * PER_PUSH + i)["icid"] in survived for i in range(PER_PUSH))
    assert len(acked) < PUSHES, "the kill came too late to interrupt the burst"

    # Restart on the same file; the platform retries everything it has no 200 for.
    proc, url = start(db, "--allow-unsigned")
    try:
        for n in range(PUSHES):
            if n not in acked:
                assert requests.post(url + "/fee", json=push(n), timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)

    icids = stored_icids(db)
    expected = {fee_info(n)["icid"] for n in range(PUSHES * PER_PUSH)}
    assert len(icids) == len(expected) and set(icids) == expected
