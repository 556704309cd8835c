"""``python -m toolkit receiver`` as a process: start-up line, clean stop, and crash safety.

The crash test is the store's promise end to end: SIGKILL the receiver in the middle of a burst,
restart it, let the sender retry what was not acknowledged, and the store must hold exactly the
CDRs sent, each once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from builders import fee_body, fee_info, voice_fee_info

from toolkit.auth import sign_headers, sign_push_headers

PUSHES, SENDERS, PER_PUSH = 60, 4, 50
# No credentials from the environment of whoever runs the tests (each test runs in its own
# directory, so no .env is read either unless the test writes one).
CLEAN_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("PRIVATENUMBER_", "VOICECALL_"))
}
APP_KEY, APP_SECRET = "CliApp0123456789", "cli-s3cret-Zq9xW"


def start(db: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "receiver", "--port", "0", "--db", str(db), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**CLEAN_ENV, **(env or {})},
        cwd=db.parent,
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
        env=CLEAN_ENV,
        cwd=tmp_path,
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


# -- where the secret comes from ----------------------------------------------------------------


def check_verifying(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the receiver, check that it verifies with APP_SECRET, stop it; return its stderr."""
    proc, url = start(tmp_path / "v.db", *args, env=env)
    try:
        signed = sign_headers(APP_KEY, APP_SECRET)
        assert requests.post(url, json=push(0), headers=signed, timeout=10).status_code == 200
        wrong = sign_headers(APP_KEY, "not-the-secret")
        assert requests.post(url, json=push(1), headers=wrong, timeout=10).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert APP_SECRET not in out + err
    return err


def test_secret_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(APP_SECRET + "\n")  # the trailing newline an editor leaves
    err = check_verifying(tmp_path, "--app-key", APP_KEY, "--app-secret-file", str(secret_file))
    assert "warning" not in err


def test_secret_from_the_environment(tmp_path: Path) -> None:
    env = {"PRIVATENUMBER_APP_KEY": APP_KEY, "PRIVATENUMBER_APP_SECRET": APP_SECRET}
    assert "warning" not in check_verifying(tmp_path, env=env)


def test_secret_from_dot_env_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"PRIVATENUMBER_APP_KEY={APP_KEY}\nPRIVATENUMBER_APP_SECRET={APP_SECRET}\n"
    )
    assert "warning" not in check_verifying(tmp_path)


def test_secret_on_the_command_line_works_with_a_warning(tmp_path: Path) -> None:
    err = check_verifying(tmp_path, "--app-key", APP_KEY, "--app-secret", APP_SECRET)
    (warning,) = [line for line in err.splitlines() if "warning" in line]
    assert "--app-secret" in warning and "PRIVATENUMBER_APP_SECRET" in warning


def test_voicecall_secret_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "voice-secret"
    secret_file.write_text(APP_SECRET + "\n")
    args = ("--voice-app-key", APP_KEY, "--voice-app-secret-file", str(secret_file))
    proc, url = start(tmp_path / "vc.db", *args)
    try:
        headers = sign_push_headers(APP_KEY, APP_SECRET, url + "/fee")
        body = fee_body(voice_fee_info(1))
        assert requests.post(url + "/fee", json=body, headers=headers, timeout=10).ok
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert APP_SECRET not in out + err
    with contextlib.closing(sqlite3.connect(tmp_path / "vc.db")) as conn:
        rows = conn.execute("SELECT product, verified FROM cdrs").fetchall()
    assert rows == [("voicecall", 1)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--app-key", APP_KEY), "give both"),
        (("--app-key", APP_KEY, "--app-secret-file", "/nonexistent/secret"), "cannot read"),
    ],
    ids=["key-without-secret", "missing-file"],
)
def test_bad_credentials_are_a_clear_error(tmp_path: Path, args: tuple, message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "receiver", "--db", str(tmp_path / "x.db"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=CLEAN_ENV,
        cwd=tmp_path,
    )
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_request_deadline_and_connection_cap_are_command_line_options(tmp_path: Path) -> None:
    # A client that sends half a request is answered 408 at the deadline given on the command
    # line (the default is 10 s), and the cap admits the real push by dropping the slow client.
    proc, url = start(
        tmp_path / "a.db", "--allow-unsigned", "--request-timeout", "1", "--max-connections", "2"
    )
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=10) as slow:
            slow.sendall(b"POST /fee HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            answer = slow.recv(4096)
            waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert waited < 8  # the 1 s deadline, not the 10 s default
        held = [socket.create_connection((host, int(port)), timeout=10) for _ in range(2)]
        try:
            for conn in held:
                conn.sendall(b"POST /fee HTTP/1.1\r\n")
            assert requests.post(url + "/fee", json=push(0), timeout=10).status_code == 200
        finally:
            for conn in held:
                conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "soon"])
def test_a_bad_request_timeout_is_refused_by_the_parser(tmp_path: Path, value: str) -> None:
    command = [sys.executable, "-m", "toolkit", "receiver", "--allow-unsigned"]
    result = subprocess.run(
        [*command, "--db", "a.db", "--request-timeout", value],
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--request-timeout" in result.stderr and "Traceback" not in result.stderr


def test_a_secret_file_that_is_not_utf8_is_refused_without_quoting_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from toolkit.receiver_cli import main

    secret_file = tmp_path / "secret"
    secret_file.write_bytes(b"s3cr\xe9t-value\n")  # a Latin-1 secret
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(tmp_path / "x.db"), "--app-key", APP_KEY, "--app-secret-file",
              str(secret_file)])  # fmt: skip
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "not UTF-8" in err
    # Neither the byte nor where it sits in the secret reaches the message.
    assert "0xe9" not in err and "position" not in err
