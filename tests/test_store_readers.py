"""No stored row breaks a reader, and no stored text drives a terminal.

The receiver refuses times no reader can show (a 400 naming the field). Rows that a store written
by an older version or another program may hold anyway (``store_helpers.BAD_CDRS``: year 1, year
31 million, text in integer columns, ``raw`` that is not a JSON object, escape sequences) are shown
degraded by every reader: ``Store.record``, ``follow``, the tail line and command (also
``--follow``), ``cdr_frame`` and the ``CdrTail`` widget.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pandas as pd
import pytest
import requests
from builders import busy_info, fee_body, fee_info, post
from store_helpers import BAD_CDRS, ESCAPE, bad_cdr_rows, insert_rows

from toolkit import events as ev
from toolkit import tail
from toolkit.codes import cli
from toolkit.frame import cdr_frame
from toolkit.receiver import Receiver
from toolkit.store import Store
from toolkit.terminal import printable
from toolkit.widgets.tail import CdrTail

NAMES = list(BAD_CDRS)
# What Store.record names as unreadable: only rows whose raw JSON is bad (it reads raw).
RECORD_UNREADABLE = {
    "raw not JSON": ("raw",),
    "raw not an object": ("raw",),
    "raw NULL": ("raw",),
    "raw with a time out of range": ("callInTime", "recordFlag"),
}
# What the tail line names as unreadable: the columns it reads.
LINE_UNREADABLE = {
    "year 1": "call_in_time, call_end_time",
    "year 31 million": "fwd_answer_time, call_end_time",
    "text in integer columns": "call_end_time, ul_fail_reason",
    "huge real in an integer column": "fwd_alerting_time",
    "blob in a number column": "caller_num",
}


@pytest.fixture
def bad_store(tmp_path: Path):
    """A store holding a good CDR, one row per kind of bad row, then another good CDR."""
    with Store(tmp_path / "bad.db") as store:
        store.add(fee_body(fee_info(1)))
        insert_rows(store.path, "cdrs", bad_cdr_rows())
        store.add(fee_body(busy_info(2)))
        yield store


# -- ingest ----------------------------------------------------------------------------------


def test_the_receiver_refuses_a_time_no_reader_could_show(tmp_path: Path) -> None:
    rx = Receiver(tmp_path / "rx.db", allow_unsigned=True).start()
    try:
        bad = fee_body(fee_info(1), fee_info(2, callInTime="0001-01-01 00:00:00+14:00"))
        status, payload, _ = post(rx.wsgi_app, bad)
        assert status == 400
        assert json.loads(payload)["reason"].startswith("feeLst[1].callInTime: time outside")
        over_socket = requests.post(rx.url + "/fee", json=bad, timeout=10)
        assert over_socket.status_code == 400 and "feeLst[1].callInTime" in over_socket.text
        event = {"eventType": "answer", "statusInfo": {"sessionId": "s", "timestamp": 1e300}}
        assert requests.post(rx.url + "/status", json=event, timeout=10).status_code == 400
        assert rx.store.counts() == {"cdrs": 0, "events": 0, "sms": 0, "num_status": 0}
    finally:
        rx.stop()


# -- typed records -------------------------------------------------------------------------


def test_store_record_reads_every_bad_row_degraded(bad_store: Store) -> None:
    rows = bad_store.cdrs()
    assert len(rows) == len(NAMES) + 2
    for name, row in zip(NAMES, rows[1:-1], strict=True):
        cdr = Store.record("cdrs", row)
        assert isinstance(cdr, ev.Cdr) and cdr.seq == row["seq"], name
        assert cdr.unreadable == RECORD_UNREADABLE.get(name, ()), name
        if "raw" in cdr.unreadable:  # rebuilt from the columns
            assert cdr.session_id == row["session_id"] and cdr.call_in_time is not None
        text = repr(cdr)
        assert "\x1b" not in text and "+8613800000001" not in text
        if cdr.unreadable:
            assert f"unreadable={cdr.unreadable!r}" in text
    lost = Store.record("cdrs", rows[1 + NAMES.index("raw NULL")])
    assert lost.call_end_time is not None and lost.talk_seconds == 151


def test_store_record_reads_bad_event_sms_and_status_rows(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        insert_rows(
            store.path,
            "events",
            [{"seq": 1, "event_type": None, "timestamp": 10**15, "session_id": "s1", "raw": None}],
        )
        insert_rows(store.path, "sms", [{"seq": 2, "raw": json.dumps({"smsEvent": 5})}])
        insert_rows(store.path, "num_status", [{"seq": 3, "number": b"\x00", "raw": "[]"}])
        store.add(fee_body(fee_info(4)))  # a good row after them
        records = list(tail.follow(store, stop=lambda: True, tables=tail.TABLES))
    assert [type(r).__name__ for r in records] == ["CallEvent", "SmsEvent", "NumberStatus", "Cdr"]
    event, sms, status, cdr = records
    assert event.unreadable == ("raw", "timestamp", "eventType") and event.timestamp is None
    assert event.session_id == "s1"
    assert sms.unreadable == ("smsEvent",) and status.unreadable == ("raw", "number")
    assert cdr.unreadable == () and [r.seq for r in records] == [1, 2, 3, 4]
    assert all(isinstance(repr(r), str) for r in records)


def test_follow_yields_every_row_of_a_badly_written_store(bad_store: Store) -> None:
    records = list(tail.follow(bad_store, stop=lambda: True))
    assert len(records) == len(NAMES) + 2
    assert all(isinstance(r, ev.Cdr) for r in records)


# -- the tail ----------------------------------------------------------------------------------


def test_tail_lines_show_bad_rows_with_gaps_and_a_marker(bad_store: Store) -> None:
    rows = bad_store.cdrs()
    for name, row in zip(NAMES, rows[1:-1], strict=True):
        for raw_numbers in (False, True):
            line = tail.format_cdr(row, raw_numbers=raw_numbers)
            assert "\x1b" not in line and "\n" not in line, name
            if name in LINE_UNREADABLE:
                assert line.endswith(f"[unreadable: {LINE_UNREADABLE[name]}]"), (name, line)
            else:
                assert "unreadable" not in line, name
    year_1 = tail.format_cdr(rows[1 + NAMES.index("year 1")])
    assert year_1.startswith("????-??-?? ??:??:??Z") and "talk      -" in year_1
    escaped = tail.format_cdr(rows[1 + NAMES.index("escapes in text")], raw_numbers=True)
    assert escaped.startswith("2024-03-01 02:17:40Z  +8613800\\x1b[2J → ")


def test_tail_command_prints_every_row_of_a_badly_written_store(bad_store: Store, capsys) -> None:
    assert tail.main(["--db", bad_store.path, "--raw-numbers"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == len(NAMES) + 2 and "\x1b" not in out
    assert "answered" in lines[0] and "busy" in lines[-1]
    assert "+8613800\\x1b[2J" in out


def test_tail_follow_keeps_running_past_a_bad_row(tmp_path: Path) -> None:
    with Store(tmp_path / "f.db") as store:
        store.add(fee_body(fee_info(1)))
        proc = subprocess.Popen(
            [sys.executable, "-m", "toolkit", "tail", "--db", store.path, "-f", "--poll", "0.05"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        watchdog = threading.Timer(60, proc.kill)  # a hung read must not hang the suite
        watchdog.start()
        try:
            first = proc.stdout.readline()
            insert_rows(store.path, "cdrs", bad_cdr_rows())  # another program writes them
            store.add(fee_body(busy_info(2)))
            later = [proc.stdout.readline() for _ in range(len(NAMES) + 1)]
            alive = proc.poll() is None
        finally:
            watchdog.cancel()
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
    assert "answered" in first and alive, err
    assert "[unreadable: call_in_time, call_end_time]" in later[0]
    assert "busy" in later[-1] and "\x1b" not in "".join(later)
    assert proc.returncode == 0 and "Traceback" not in err


# -- frames and widgets ------------------------------------------------------------------------


def test_cdr_frame_reads_a_badly_written_store(bad_store: Store) -> None:
    frame = cdr_frame(bad_store, columns="all")
    assert len(frame) == len(NAMES) + 2
    by_name = {name: frame.iloc[1 + i] for i, name in enumerate(NAMES)}
    assert by_name["year 1"]["call_in_time"] is pd.NaT
    assert by_name["year 1"]["start_time"] is pd.NaT
    assert by_name["year 31 million"]["call_end_time"] is pd.NaT
    assert by_name["year 31 million"]["talk_seconds"] is pd.NA
    assert by_name["year 31 million"]["billed_minutes"] is pd.NA or (
        by_name["year 31 million"]["billed_minutes"] == 0
    )
    text = by_name["text in integer columns"]
    assert text["ul_fail_reason"] is pd.NA and text["call_end_time"] is pd.NaT  # not 0, not 1970
    assert by_name["huge real in an integer column"]["fwd_alerting_time"] is pd.NaT
    assert by_name["huge real in an integer column"]["ring_seconds"] is pd.NA
    good = frame.iloc[0]
    assert good["talk_seconds"] == 151 and good["call_end_time"].year == 2024


def test_cdr_tail_widget_shows_bad_rows(bad_store: Store) -> None:
    panel = CdrTail(bad_store)
    assert panel.poll_once() == len(NAMES) + 2
    shown = {row["seq"]: row for row in panel.rows}
    rows = bad_store.cdrs()
    year_1 = shown[rows[1 + NAMES.index("year 1")]["seq"]]
    assert year_1["time"] == "" and "[unreadable: call_in_time, call_end_time]" in year_1["cause"]
    lost = shown[rows[1 + NAMES.index("raw NULL")]["seq"]]
    assert lost["talk"] == "151" and "[unreadable: raw]" in lost["cause"]
    assert panel.calls == len(NAMES) + 2


# -- log lines -------------------------------------------------------------------------------


def test_printable_escapes_control_characters_only() -> None:
    text = "a\tb\nc\x00\x1b[2J\x7f\x85\x9b31m\u202eevil\u2028é 中文 +8613800000001 \\x1b"
    assert printable(text) == (
        "a\\x09b\\x0ac\\x00\\x1b[2J\\x7f\\x85\\x9b31m\\u202eevil\\u2028é 中文 +8613800000001 \\x1b"
    )
    assert printable(17) == "17"


def test_decode_command_escapes_pushed_text(tmp_path: Path, capsys) -> None:
    path = tmp_path / "fee.json"
    hostile = fee_info(1, sessionId="s" + ESCAPE, callerNum="+8613800" + ESCAPE)
    hostile.update(ulFailReason="\x1b[31m", fwdUnaswRsn="17\x9b0m")  # unknown codes are echoed
    path.write_text(json.dumps(fee_body(hostile)), encoding="utf-8")
    for extra in ([], ["--show-numbers"]):
        assert cli.main(["--cdr", str(path), *extra]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x9b" not in out
        assert "[1] s\\x1b[2J  " in out and "\\x1b[31m" in out and "17\\x9b0m" in out
    assert cli.main([ESCAPE]) == 1  # a code typed (or pasted) on the command line: unknown
    assert capsys.readouterr().out.startswith("\\x1b[2J: unknown code")


def test_receiver_log_lines_never_carry_client_control_characters(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="toolkit")
    rx = Receiver(tmp_path / "rx.db", allow_unsigned=True).start()
    answer = b""
    try:
        with socket.create_connection((rx.host, rx.port), timeout=10) as conn:
            conn.sendall(f"GET /{ESCAPE}\x85 HTTP/1.0\r\n\r\n".encode("latin-1"))
            while chunk := conn.recv(4096):
                answer += chunk
    finally:
        rx.stop()
    assert answer.startswith(b"HTTP/1.1 400 ")  # the server refuses such a request line
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("toolkit")]
    assert messages  # the refusal is logged, without the client's text
    assert not any("\x1b" in m or "\x85" in m for m in messages)


def test_a_snapshot_left_open_by_ctrl_c_is_quiet_after_the_store_closes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A KeyboardInterrupt between entering a read snapshot and its `with` block can leave the
    # snapshot open until garbage collection, after `tail` has closed the store: ending it then
    # printed "Exception ignored ... Cannot operate on a closed database" on the user's terminal.
    store = Store(tmp_path / "s.db")
    snapshot = store._snapshot()
    snapshot.__enter__()
    store.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unraisable: list[object] = []
        hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
        try:
            del snapshot
            gc.collect()
        finally:
            sys.unraisablehook = hook
    assert unraisable == []
