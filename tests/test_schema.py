"""One CDR, one set of facts: every view agrees on ring and talk seconds, billed minutes, answered
and outcome; the store's tables, DDL and migrations come from toolkit.schema."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolkit import events as ev
from toolkit import schema, tail
from toolkit.codes import classify, classify_frame
from toolkit.frame import cdr_frame
from toolkit.store import CDR_COLUMNS, Store
from toolkit.widgets import CdrTail

BASE = datetime(2024, 3, 1, 2, 0, 0, tzinfo=timezone.utc)
X, A, B = "+8617000000003", "+8613800000001", "+8613900000002"


def at(seconds: int) -> str:
    """A CDR time ``seconds`` after BASE, in the platform's UTC format."""
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


# Which time fields each kind of CDR may carry: PrivateNumber (callOut* is reserved, but a CDR
# carrying it must not change anything), VoiceCall click-to-call (A's callOut leg, then B's fwd
# leg) and VoiceCall notification/verification (one callOut leg only).
SHAPES: dict[str, tuple[str, ...]] = {
    "privatenumber": (
        "callInTime",
        "fwdStartTime",
        "fwdAlertingTime",
        "fwdAnswerTime",
        "callEndTime",
        "failTime",
        "callOutAnswerTime",
    ),
    "click2call": (
        "callOutStartTime",
        "callOutAlertingTime",
        "callOutAnswerTime",
        "fwdStartTime",
        "fwdAlertingTime",
        "fwdAnswerTime",
        "callEndTime",
        "failTime",
    ),
    "notify": (
        "callOutStartTime",
        "callOutAlertingTime",
        "callOutAnswerTime",
        "callEndTime",
        "failTime",
    ),
}
# answered, 8010 cut at the maximum duration, busy, no-answer, rejected, unreachable (8104, 8105),
# not bound, throttled, platform error, VoiceCall's deferring 8001/518, unknown, missing
RELEASE = [0, 8010, 8102, 8101, 7503, 8104, 8105, 8014, 8047, 7508, 8001, 518, 515, 99999, None]
Q850 = [0, 16, 17, 19, 20, 21, 127, None]
SIP = [0, 480, 486, 487, 603, None]


@st.composite
def fee_infos(draw: st.DrawFn, n: int) -> dict[str, Any]:
    """A FeeInfo of either product and any outcome, each time present or not, in any order."""
    shape = draw(st.sampled_from(sorted(SHAPES)))
    info: dict[str, Any] = {
        "direction": 0,
        "spId": "sp",
        "appKey": "app",
        "icid": f"icid-{n}",
        "bindNum": X,
        "sessionId": f"session-{n}",
        "subscriptionId": draw(st.sampled_from(["sub-1", None])),
        "callerNum": A,
        "calleeNum": X,
    }
    if shape == "privatenumber":
        info["serviceType"] = draw(st.sampled_from(["004", None]))
        info["fwdDstNum"] = B
    elif shape == "click2call":
        # serviceType is optional; a forward destination or a VoiceCall-only field still shows
        # the product and the second leg.
        info["serviceType"] = draw(st.sampled_from(["002", None]))
        info["fwdDstNum"] = B
        info["recordFileDownloadUrl"] = "https://example.invalid/r.wav"
    else:
        info["serviceType"] = draw(st.sampled_from(["001", None]))
        info["dynIVRPath"] = "1-2"
    for name in SHAPES[shape]:
        offset = draw(st.one_of(st.none(), st.integers(0, 400)))
        if offset is not None:
            info[name] = at(offset)
    info["ulFailReason"] = draw(st.sampled_from(RELEASE))
    info["fwdUnaswRsn"] = draw(st.sampled_from(Q850))
    info["sipStatusCode"] = draw(st.sampled_from(SIP))
    return {k: v for k, v in info.items() if v is not None}


def voice_notify() -> dict[str, Any]:
    """A voice notification CDR: one callOut leg, answered after 5 s, 8 s of playback."""
    return {
        "direction": 0,
        "spId": "sp",
        "appKey": "app",
        "bindNum": X,
        "sessionId": "notify-1",
        "callerNum": X,
        "calleeNum": A,
        "callOutStartTime": at(0),
        "callOutAlertingTime": at(3),
        "callOutAnswerTime": at(5),
        "callEndTime": at(13),
        "ulFailReason": 0,
        "sipStatusCode": 0,
        "callOutUnaswRsn": 0,
        "serviceType": "001",
    }


def cut_at_max_duration() -> dict[str, Any]:
    """A PrivateNumber call answered, then cut at maxDuration (ulFailReason 8010)."""
    return {
        "direction": 1,
        "bindNum": X,
        "sessionId": "maxdur-1",
        "callerNum": A,
        "calleeNum": X,
        "fwdDstNum": B,
        "callInTime": at(0),
        "fwdStartTime": at(1),
        "fwdAlertingTime": at(2),
        "fwdAnswerTime": at(6),
        "callEndTime": at(66),
        "ulFailReason": 8010,
        "fwdUnaswRsn": 0,
        "sipStatusCode": 0,
    }


Facts = dict[str, Any]  # ring, talk, billed, answered, outcome (a view omits what it does not show)


def _seconds(text: str) -> int | None:
    return None if text in ("", "-") else int(text.rstrip("s"))


def _na(value: Any) -> Any:
    return None if pd.isna(value) else int(value)


def _facts(record: Any) -> Facts:
    return {
        "ring": record.ring_seconds,
        "talk": record.talk_seconds,
        "billed": record.billed_minutes,
        "answered": record.answered,
        "outcome": record.outcome,
    }


def every_view(store: Store, infos: list[dict[str, Any]]) -> dict[str, list[Facts]]:
    """The facts of each stored CDR as each view shows them, in the order of ``infos``."""
    rows = store.cdrs()
    assert len(rows) == len(infos)
    views: dict[str, list[Facts]] = {
        "Cdr.from_json": [_facts(ev.Cdr.from_json(info)) for info in infos],
        "parse_push": [_facts(ev.parse_push({"feeLst": [i]}).cdrs[0]) for i in infos],
        "Store.record": [_facts(Store.record("cdrs", row)) for row in rows],
    }
    views["tail line"] = []
    for row in rows:
        line = tail.format_cdr(row)
        found = re.search(r"  (\S+) +ring +(\S+)  talk +(\S+)  ", line)
        assert found, line
        outcome, ring, talk = found.groups()
        views["tail line"].append(
            {"ring": _seconds(ring), "talk": _seconds(talk), "outcome": outcome}
        )
    widget = CdrTail(store, max_rows=len(rows))
    widget.poll_once()
    shown = {r["seq"]: r for r in widget.rows}
    views["tail widget"] = [
        {
            "ring": _seconds(shown[row["seq"]]["ring"]),
            "talk": _seconds(shown[row["seq"]]["talk"]),
            "outcome": shown[row["seq"]]["outcome"],
        }
        for row in rows
    ]
    frame = cdr_frame(store).set_index("seq")
    views["cdr_frame"] = [
        {
            "ring": _na(frame.loc[row["seq"], "ring_seconds"]),
            "talk": _na(frame.loc[row["seq"], "talk_seconds"]),
            "billed": _na(frame.loc[row["seq"], "billed_minutes"]),
            "outcome": frame.loc[row["seq"], "outcome"],
            "answered": frame.loc[row["seq"], "outcome"] == "answered",
        }
        for row in rows
    ]
    views["codes.classify"] = [{"outcome": classify(row)} for row in rows]
    # The widget's counter counts the same answered calls.
    answered = sum(f["answered"] for f in views["Cdr.from_json"])
    views["tail widget counter"] = [{"answered_calls": widget.answered}]
    views["reference counter"] = [{"answered_calls": answered}]
    return views


def assert_views_agree(views: dict[str, list[Facts]]) -> None:
    reference = views["Cdr.from_json"]
    for name, shown in views.items():
        if name.endswith("counter"):
            continue
        for i, (facts, expected) in enumerate(zip(shown, reference, strict=True)):
            assert facts == {k: expected[k] for k in facts}, f"{name} disagrees on CDR {i}"
    assert views["tail widget counter"] == views["reference counter"]
    for facts in reference:
        assert facts["answered"] == (facts["outcome"] == "answered")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True).flatmap(
        lambda ids: st.tuples(*(fee_infos(n) for n in ids))
    )
)
@example((voice_notify(),))
@example((cut_at_max_duration(),))
def test_every_view_agrees_on_every_derived_fact(infos: tuple[dict[str, Any], ...]) -> None:
    with Store() as store:
        for info in infos:  # one push each: the product is guessed per CDR, as Cdr.from_json does
            store.add({"eventType": "fee", "feeLst": [info]})
        assert_views_agree(every_view(store, list(infos)))


# -- the rules, on hand-made CDRs ------------------------------------------------------------


def test_voice_notification_talks_from_the_callout_answer() -> None:
    cdr = ev.Cdr.from_json(voice_notify())
    assert cdr.product == "voicecall"
    assert (cdr.ring_seconds, cdr.talk_seconds, cdr.billed_minutes) == (2, 8, 1)
    assert cdr.answered and cdr.outcome == "answered"


def test_click_to_call_is_not_answered_when_only_a_answered() -> None:
    # A picked up (callOutAnswerTime) but B was busy: the call was not answered and costs nothing.
    info = {
        **voice_notify(),
        "serviceType": "002",
        "fwdDstNum": B,
        "fwdStartTime": at(7),
        "fwdAlertingTime": at(8),
        "failTime": at(20),
        "callEndTime": at(20),
        "ulFailReason": 8102,
        "fwdUnaswRsn": 17,
        "sipStatusCode": 486,
    }
    cdr = ev.Cdr.from_json(info)
    assert (cdr.ring_seconds, cdr.talk_seconds, cdr.billed_minutes) == (12, None, 0)
    assert cdr.outcome == "busy" and not cdr.answered
    assert classify(info, "voicecall") == "busy"


def test_cut_at_the_maximum_duration_is_answered() -> None:
    cdr = ev.Cdr.from_json(cut_at_max_duration())
    assert cdr.answered and cdr.outcome == "answered"
    assert (cdr.ring_seconds, cdr.talk_seconds, cdr.billed_minutes) == (4, 60, 1)


def test_unknown_durations_are_none_not_zero() -> None:
    no_end = {**cut_at_max_duration(), "callEndTime": None}
    backwards = {**cut_at_max_duration(), "callEndTime": at(3)}  # ends before the answer
    for info in (no_end, backwards):
        cdr = ev.Cdr.from_json(info)
        assert (cdr.talk_seconds, cdr.billed_minutes, cdr.outcome) == (None, None, "answered")


def test_codes_read_a_one_leg_answer_time_scalar_and_vectorised() -> None:
    # The callee picked up the notification, then hung up (VoiceCall 515 "remote side cancelled"):
    # answered, as the talk time says; without the answer time 515 would mean rejected.
    info = {**voice_notify(), "ulFailReason": 515}
    with Store() as store:
        store.add({"eventType": "fee", "feeLst": [info]})
        (row,) = store.cdrs()
    assert classify(info, "voicecall") == classify(row) == "answered"
    as_pushed = pd.DataFrame([{**info, "product": "voicecall"}])
    assert (
        list(classify_frame(pd.DataFrame([row]))) == list(classify_frame(as_pushed)) == ["answered"]
    )
    unanswered = {k: v for k, v in info.items() if k != "callOutAnswerTime"}
    assert classify(unanswered, "voicecall") == "rejected"


def test_sql_and_python_renderings_agree_on_a_row() -> None:
    with Store() as store:
        for info in (voice_notify(), cut_at_max_duration()):
            store.add({"eventType": "fee", "feeLst": [info]})
        conn = sqlite3.connect(store.path)
        for name in ("ALERTING_TIME", "ANSWER_TIME", "RING_SECONDS", "TALK_SECONDS"):
            rule = getattr(schema, name)
            in_sql = [v for (v,) in conn.execute(f"SELECT {rule.sql()} FROM cdrs ORDER BY seq")]
            assert in_sql == [rule.value(row.get) for row in store.cdrs()], name
        conn.close()


# -- tables and migration --------------------------------------------------------------------


def test_store_columns_and_ddl_come_from_the_schema() -> None:
    assert schema.CDRS.names == CDR_COLUMNS
    with Store() as store:
        conn = sqlite3.connect(store.path)
        for table in schema.TABLES.values():
            declared = [(n, t) for _, n, t, *_ in conn.execute(f"PRAGMA table_info({table.name})")]
            assert declared == [(c.name, c.sql) for c in table.columns]
        conn.close()
    # the store keeps every column a derived fact reads, and the typed record has each of them
    assert set(CDR_COLUMNS) >= schema.FACT_COLUMNS
    assert set(ev.Cdr.__dataclass_fields__) >= schema.FACT_COLUMNS


# The cdrs table as the first release created it; the next one added `verified`.
FIRST_CDRS = """
CREATE TABLE cdrs (
    seq INTEGER PRIMARY KEY, dedupe_key TEXT UNIQUE, product TEXT, session_id TEXT, icid TEXT,
    app_key TEXT, direction INTEGER, bind_num TEXT, subscription_id TEXT, caller_num TEXT,
    callee_num TEXT, fwd_display_num TEXT, fwd_dst_num TEXT, call_in_time INTEGER,
    fwd_start_time INTEGER, fwd_alerting_time INTEGER, fwd_answer_time INTEGER,
    call_end_time INTEGER, fail_time INTEGER, ul_fail_reason INTEGER, fwd_unasw_rsn INTEGER,
    sip_status_code INTEGER, record_flag INTEGER, service_type TEXT, extend_num TEXT,
    notify_mode TEXT, user_data TEXT, received_at REAL, raw TEXT
);
"""
WITH_VERIFIED = "ALTER TABLE cdrs ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;"


def _old_store(path: Any, infos: list[dict[str, Any]], *, verified_column: bool = True) -> None:
    """A store file as an earlier version wrote it: no callOut columns, the JSON in raw."""
    conn = sqlite3.connect(path)
    conn.executescript(FIRST_CDRS + (WITH_VERIFIED if verified_column else ""))
    new = ("call_out_alerting_time", "call_out_answer_time")
    old = [c for c in CDR_COLUMNS if c not in new and (verified_column or c != "verified")]
    rows = [Store.prepare({"eventType": "fee", "feeLst": [i]}).cdrs[0] for i in infos]
    for seq, row in enumerate(rows, 1):
        values = dict(zip(CDR_COLUMNS[1:], row, strict=True))
        values["seq"] = seq
        conn.execute(
            f"INSERT INTO cdrs ({', '.join(old)}) VALUES ({', '.join('?' * len(old))})",
            [values[c] for c in old],
        )
    conn.execute("INSERT INTO cdrs (seq, raw) VALUES (99, 'not json')")  # another tool's row
    conn.commit()
    conn.close()


def test_an_old_store_is_read_the_same_before_and_after_migration(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    _old_store(path, [voice_notify(), cut_at_max_duration()])
    # Read as it is (a reader never writes): the callOut times come from raw.
    before = cdr_frame(path)
    assert list(before["talk_seconds"].iloc[:2]) == [8, 60]
    with Store(path) as store:  # opening it adds and fills the columns
        rows = store.cdrs()
        assert [r["call_out_answer_time"] for r in rows] == [
            int((BASE + timedelta(seconds=5)).timestamp()),
            None,
            None,
        ]
        assert tail.format_cdr(rows[0]).count("talk     8s") == 1
        after = cdr_frame(store)
    pd.testing.assert_frame_equal(before, after)
    with Store(path) as again:  # nothing left to add
        assert schema.missing_columns(again._writer) == []


def test_migration_adds_any_missing_column_generically(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    _old_store(path, [voice_notify()], verified_column=False)
    conn = sqlite3.connect(path)
    assert schema.missing_columns(conn) == [
        "cdrs.verified",
        "cdrs.call_out_alerting_time",
        "cdrs.call_out_answer_time",
        *(
            f"{t}.{c.name}"
            for t in ("events", "sms", "num_status")
            for c in schema.TABLES[t].columns
        ),
    ]
    conn.executescript(schema.ddl())
    assert schema.migrate(conn) == [
        "cdrs.verified",
        "cdrs.call_out_alerting_time",
        "cdrs.call_out_answer_time",
    ]
    # in the order a new store has them, and filled from raw where they hold a pushed field
    declared = [r[1] for r in conn.execute("PRAGMA table_info(cdrs)")]
    assert declared == list(CDR_COLUMNS)
    assert conn.execute("SELECT verified FROM cdrs WHERE seq = 1").fetchone() == (0,)
    alerting = conn.execute("SELECT call_out_alerting_time FROM cdrs WHERE seq = 1").fetchone()
    assert alerting == (int((BASE + timedelta(seconds=3)).timestamp()),)
    conn.close()


@pytest.mark.parametrize("table", sorted(schema.TABLES))
def test_backfill_reads_each_column_from_raw_as_the_store_would(table: str) -> None:
    samples = {
        "cdrs": {"eventType": "fee", "feeLst": [voice_notify()]},
        "events": {
            "eventType": "disconnect",
            "statusInfo": {"sessionId": "s", "timestamp": at(9), "stateCode": 0, "partyType": 1},
        },
        "sms": {
            "appKey": "k",
            "smsEvent": {"smsIdentifier": "i", "timeStamp": "2024-03-01T02:20:16.450Z"},
        },
        "num_status": {"eventType": "numStatus", "numInfo": [{"number": X, "status": "10"}]},
    }
    with Store() as store:
        store.add(samples[table])
        (row,) = store.rows(table)  # type: ignore[arg-type]
        conn = sqlite3.connect(store.path)
        spec = schema.TABLES[table]
        for column in spec.columns:
            fill = spec.backfill_sql(column.name)
            if fill is None:
                continue
            (value,) = conn.execute(f"SELECT {fill} FROM {table}").fetchone()
            if isinstance(value, float):
                assert value == pytest.approx(row[column.name]), column.name
            else:
                assert value == row[column.name], column.name
        conn.close()
