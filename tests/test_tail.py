"""Following the store: the ``follow`` generator, the CDR line and ``python -m toolkit tail``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from builders import CALLEE, CALLER, busy_info, event_body, fee_body, fee_info, sms_body

from toolkit import events as ev
from toolkit import tail
from toolkit.store import Store


def test_follow_yields_stored_records_then_stops(store: Store) -> None:
    store.add(fee_body(fee_info(1)))
    store.add(event_body("disconnect", stateCode=0))
    store.add(sms_body())
    records = list(tail.follow(store, stop=lambda: True))
    assert [type(r) for r in records] == [ev.Cdr, ev.Disconnect]  # cdrs and events by default
    assert records[0].seq < records[1].seq
    everything = list(tail.follow(store, stop=lambda: True, tables=("cdrs", "events", "sms")))
    assert len(everything) == 3
    assert list(tail.follow(store, since=records[0].seq, stop=lambda: True)) == records[1:]


def test_follow_sees_new_commits_from_another_thread(store: Store) -> None:
    stop = threading.Event()
    seen: list[ev.Cdr] = []

    store.add(fee_body(fee_info(0)))  # before follow() is called: not seen with since=None
    records = tail.follow(store, since=None, poll=0.05, stop=stop, tables=("cdrs",))

    def consume() -> None:
        for cdr in records:
            seen.append(cdr)
            if len(seen) == 3:
                stop.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    for n in (1, 2, 3):
        store.add(fee_body(fee_info(n)))
    consumer.join(timeout=30)
    assert not consumer.is_alive()
    assert [c.icid[-1] for c in seen] == ["1", "2", "3"]


def test_follow_rejects_unknown_tables(store: Store) -> None:
    with pytest.raises(ValueError, match="tables"):
        tail.follow(store, tables=("calls",))


def test_cdr_line_masks_numbers_and_shows_outcome_and_codes(store: Store) -> None:
    store.add(fee_body(fee_info(1), busy_info(2)))
    answered, busy = store.cdrs()
    line = tail.format_cdr(busy)
    assert CALLER not in line and CALLEE not in line
    assert "+86138****0001 → +86170****0003 → +86139****0002" in line
    assert line.startswith("2024-03-01 02:15:12Z")
    assert "busy" in line and "Callee busy" in line and "ring    7s" in line
    assert "talk      -" in line and "(release 8102, Q.850 17 user busy, SIP 486)" in line
    answered_line = tail.format_cdr(answered)
    assert "answered" in answered_line and "talk   151s" in answered_line
    assert CALLER in tail.format_cdr(busy, raw_numbers=True)


def test_cdr_line_survives_a_decoder_failure(store: Store, monkeypatch) -> None:
    store.add(fee_body(busy_info(2)))
    (busy,) = store.cdrs()

    def broken(row):
        raise RuntimeError("decoder bug")

    monkeypatch.setattr("toolkit.codes.explain", broken)
    line = tail.format_cdr(busy)
    assert " ? " in line and line.endswith("release 8102, Q.850 17, SIP 486")


def test_cli_prints_stored_cdrs_newest_last(store: Store, capsys) -> None:
    store.add(fee_body(fee_info(1)))
    store.add(fee_body(busy_info(2)))
    assert tail.main(["--db", store.path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "busy" in lines[1]
    assert tail.main(["--db", store.path, "-n", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_cli_reports_a_missing_store(tmp_path: Path, capsys) -> None:
    assert tail.main(["--db", str(tmp_path / "nope.db")]) == 1
    assert "no store" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


def test_cli_follow_shows_new_cdrs_and_ctrl_c_exits_cleanly(store: Store) -> None:
    store.add(fee_body(fee_info(1)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "tail", "--db", store.path, "--follow", "--poll", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = proc.stdout.readline()
        store.add(fee_body(busy_info(2)))  # committed by another process while it follows
        second = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert "answered" in first and "busy" in second
    assert proc.returncode == 0 and "Traceback" not in err
