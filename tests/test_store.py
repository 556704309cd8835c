"""The push store: schema contract, idempotence, atomic batches, cursor, readers and errors."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sqlite3
import threading
import time

import pytest
from builders import (
    CALLER,
    X,
    busy_info,
    event_body,
    fee_body,
    fee_info,
    num_body,
    sms_body,
    voice_fee_info,
)

from toolkit import events as ev
from toolkit import store as store_module
from toolkit.batches import quarantine_row
from toolkit.store import _SCHEMA, CDR_COLUMNS, Batch, Store, StoreError, prepare


def test_cdrs_schema_is_the_frame_contract(store: Store) -> None:
    conn = sqlite3.connect(store.path)
    columns = [(name, kind) for _, name, kind, *_ in conn.execute("PRAGMA table_info(cdrs)")]
    integers = {
        "seq",
        "direction",
        "call_in_time",
        "fwd_start_time",
        "fwd_alerting_time",
        "fwd_answer_time",
        "call_end_time",
        "fail_time",
        "ul_fail_reason",
        "fwd_unasw_rsn",
        "sip_status_code",
        "record_flag",
        "verified",
        "call_out_alerting_time",
        "call_out_answer_time",
    }
    expected = [
        (c, "INTEGER" if c in integers else "REAL" if c == "received_at" else "TEXT")
        for c in CDR_COLUMNS
    ]
    assert columns == expected
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_same_fee_push_three_times_gives_one_row_per_cdr(store: Store) -> None:
    body = fee_body(*[fee_info(i) for i in range(50)])
    assert [store.add(body) for _ in range(3)] == [50, 0, 0]
    assert store.count("cdrs") == 50
    keys = {r["dedupe_key"] for r in store.cdrs()}
    assert len(keys) == 50


def test_cdr_row_holds_typed_columns_and_raw_json(store: Store) -> None:
    store.add(fee_body(busy_info(7)))
    (row,) = store.cdrs()
    assert row["caller_num"] == CALLER and row["bind_num"] == X
    assert row["ul_fail_reason"] == 8102 and row["sip_status_code"] == 486
    assert row["fwd_answer_time"] is None
    assert row["fail_time"] == 1709259312  # 2024-03-01 02:15:12 UTC
    assert row["product"] == "privatenumber"
    assert row["dedupe_key"] == "pn:u:icid:ba171f34e6953fcd751edc77127748f4.7"
    assert row["verified"] == 0
    cdr = Store.record("cdrs", row)
    assert cdr.seq == row["seq"] and cdr.raw == busy_info(7)


def test_without_icid_the_session_is_the_key(store: Store) -> None:
    store.add(fee_body(fee_info(1, icid=None)))
    store.add(fee_body(fee_info(1, icid=None)))
    assert store.count() == 1
    assert store.cdrs()[0]["dedupe_key"].startswith("pn:u:session:")


@pytest.mark.parametrize(
    "body",
    [
        fee_body(fee_info(2)),
        fee_body(fee_info(2, icid=None)),
        event_body("answer"),
        event_body("answer", timestamp=1709259309123),  # epoch milliseconds
        event_body("callout", timestamp=None, caller=None),
        sms_body("Block"),
        sms_body("Notify", smsIdentifier=None),
        fee_body(voice_fee_info(2)),
        event_body("answer", subscriptionId=None, partyType="1"),  # a VoiceCall event
    ],
)
@pytest.mark.parametrize("verified", [False, True])
def test_stored_key_is_the_typed_records_key(store: Store, body, verified: bool) -> None:
    store.add(body, verified=verified)
    ((table, row),) = store.changes()
    record = Store.record(table, row)
    assert row["dedupe_key"] == record.dedupe_key
    assert row["verified"] == int(verified) and record.verified is verified


def test_voicecall_cdrs_are_labelled(store: Store) -> None:
    store.add(fee_body(voice_fee_info(1)))
    assert store.cdrs()[0]["product"] == "voicecall"


def test_a_push_with_one_bad_cdr_stores_nothing(store: Store) -> None:
    body = fee_body(fee_info(1), fee_info(2, ulFailReason="busy"))
    with pytest.raises(ev.PushFormatError, match=r"feeLst\[1\]\.ulFailReason"):
        store.add(body)
    assert store.count() == 0


def test_a_cdr_without_session_is_refused(store: Store) -> None:
    with pytest.raises(ev.PushFormatError, match="sessionId"):
        store.add(fee_body(fee_info(1, sessionId=None)))


def test_events_sms_and_status_are_stored_once(store: Store) -> None:
    for _ in range(2):
        store.add(event_body("answer"))
        store.add(event_body("disconnect", stateCode=0, timestamp="2024-03-01 02:17:40"))
        store.add(sms_body("Block"))
        store.add(sms_body("Notify"))
    assert store.counts() == {"cdrs": 0, "events": 2, "sms": 2, "num_status": 0}
    disconnect = store.events()[1]
    assert disconnect["event_type"] == "disconnect" and disconnect["state_code"] == 0
    assert disconnect["timestamp"] == 1709259460
    assert store.sms()[0]["time_stamp"] == pytest.approx(1709259616.45)


def test_number_status_is_a_change_log(store: Store) -> None:
    store.add(num_body((X, "5", None)))
    store.add(num_body((X, "5", None)))  # a repeat of the current status
    store.add(num_body((X, "10", "2")))
    store.add(num_body((X, "5", None)))  # back to normal: a change, kept
    assert [(r["status"], r["cause"]) for r in store.num_status()] == [
        ("5", None),
        ("10", "2"),
        ("5", None),
    ]


def test_seq_is_one_cursor_across_tables(store: Store) -> None:
    store.add(event_body("answer"))
    store.add(fee_body(fee_info(1)))
    store.add(sms_body())
    seen = store.last_seq()
    assert [t for t, _ in store.changes(0)] == ["events", "cdrs", "sms"]
    assert store.changes(seen) == []
    store.add(fee_body(fee_info(2)))
    assert [(t, r["icid"]) for t, r in store.changes(seen)] == [
        ("cdrs", "ba171f34e6953fcd751edc77127748f4.2")
    ]
    assert store.last_seq() > seen


def test_write_groups_batches_in_one_transaction(store: Store) -> None:
    batches = [prepare(fee_body(*[fee_info(10 * b + i) for i in range(10)])) for b in range(3)]
    assert store.write(batches) == [10, 10, 10]
    assert store.write(batches[:1]) == [0]


def test_one_unstorable_batch_does_not_fail_the_others(store: Store) -> None:
    good = prepare(fee_body(fee_info(1)))
    bad = prepare(fee_body(fee_info(2)))
    bad.cdrs[0] = (*bad.cdrs[0][:-1], object())  # SQLite cannot bind an arbitrary object
    results = store.write_each([good, bad])
    assert results[0] == 1 and isinstance(results[1], Exception)
    assert store.count() == 1


def test_locked_database_raises_store_error(tmp_path) -> None:
    path = tmp_path / "locked.db"
    with Store(path, timeout=0.05) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreError, match="locked"):
                store.add(fee_body(fee_info(1)))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.add(fee_body(fee_info(1))) == 1


def test_readers_in_other_threads_see_only_committed_pushes(store: Store) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                n = store.count()
                assert n % 50 == 0, n  # a push of 50 is never seen half-written
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for b in range(20):
        store.add(fee_body(*[fee_info(100 * b + i) for i in range(50)]))
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 1000


def test_temporary_store_is_removed_on_close() -> None:
    store = Store()
    store.add(fee_body(fee_info()))
    path = store.path
    assert os.path.exists(path) and "temporary" in repr(store)
    store.close()
    assert not os.path.exists(path)
    with pytest.raises(StoreError):
        store.count()


def test_data_persists_across_reopen_and_full_sync_is_offered(tmp_path) -> None:
    path = tmp_path / "keep.db"
    with Store(path, synchronous="FULL") as store:
        store.add(fee_body(fee_info(1)))
    with Store(path) as store:
        assert store.count() == 1
    with pytest.raises(ValueError):
        Store(path, synchronous="OFF")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Store(path, synchronous=None)  # type: ignore[arg-type]


def _rows_in_database_file(path) -> int:
    """Events in the database file itself, ignoring what is still only in the WAL."""
    uri = f"file:{path}?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True)
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.DatabaseError:  # the table is still only in the WAL, or a checkpoint is
        return 0  # writing the pages this read, which bypasses all locking, is looking at
    finally:
        conn.close()


def _checkpointers() -> int:
    return sum(t.name == "store-checkpointer" for t in threading.enumerate())


def test_commits_are_checkpointed_in_the_background(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY", 0.01)
    path = tmp_path / "pushes.db"
    with Store(path) as store:
        for i in range(20):  # a few dozen WAL pages: far below any checkpoint at commit
            store.add(event_body("callout", sessionId=f"s-{i}"))
        deadline = time.monotonic() + 5
        seen = 0
        while seen < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
            seen = _rows_in_database_file(path)
        assert seen == 20


def test_a_steady_stream_of_commits_keeps_the_wal_bounded(tmp_path, monkeypatch) -> None:
    path = tmp_path / "pushes.db"
    with Store(path) as store:
        # After opening, so SQLite's own checkpoints stay at their usual (far) mark.
        monkeypatch.setattr(store_module, "CHECKPOINT_EVERY", 0.005)
        monkeypatch.setattr(store_module, "WAL_FRAMES_CAP", 50)
        for i in range(3000):  # one commit each, with no pause for a passive checkpoint to finish
            store.add(event_body("callout", sessionId=f"s-{i}"))
        assert store.count("events") == 3000
        # Never rewound, the WAL would hold every commit's pages: 10,000 and more (40 MB).
        pages = os.path.getsize(f"{path}-wal") / (4096 + 24)
        assert pages < 2000


def test_the_checkpointer_ends_with_its_store() -> None:
    before = _checkpointers()
    store = Store()
    assert _checkpointers() == before  # none until something is written
    store.add(event_body())
    assert _checkpointers() == before + 1
    store.close()
    assert _checkpointers() == before
    forgotten = Store()
    forgotten.add(event_body())
    del forgotten  # never closed: the thread must not keep the store, nor itself, alive
    gc.collect()
    deadline = time.monotonic() + 5
    while _checkpointers() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _checkpointers() == before


def test_typed_push_objects_can_be_added(store: Store) -> None:
    store.add(ev.parse_push(fee_body(fee_info(1))))
    store.add(ev.parse_push(event_body("disconnect", stateCode=0)))
    store.add(ev.parse_push(num_body((X, "9", None))))
    assert store.counts() == {"cdrs": 1, "events": 1, "sms": 0, "num_status": 1}
    records = [Store.record(t, r) for t, r in store.changes(0)]
    assert [type(r).__name__ for r in records] == ["Cdr", "Disconnect", "NumberStatus"]


def test_rows_last_and_limit(store: Store) -> None:
    for i in range(5):
        store.add(fee_body(fee_info(i)))
    assert [r["icid"][-1] for r in store.cdrs(last=2)] == ["3", "4"]
    assert [r["icid"][-1] for r in store.cdrs(limit=2)] == ["0", "1"]
    with pytest.raises(ValueError):
        store.rows("nope")  # type: ignore[arg-type]


def test_changes_reads_every_table_from_one_snapshot(store: Store, monkeypatch) -> None:
    # A commit that lands between reading "cdrs" and reading "events" must not move a reader's
    # cursor past a CDR it never saw (the tail and the receiver's callbacks both rely on this).
    read_rows = Store.rows

    def rows_then_commit(self, table, since=0, limit=None, *, last=None):
        found = read_rows(self, table, since, limit, last=last)
        if table == "cdrs" and not self.count("events"):
            self.add(fee_body(fee_info(1)))  # seq 1: a CDR
            self.add(event_body("answer"))  # seq 2: an event
        return found

    monkeypatch.setattr(Store, "rows", rows_then_commit)
    first = store.changes(0, tables=("cdrs", "events"))
    cursor = max((row["seq"] for _, row in first), default=0)
    second = store.changes(cursor, tables=("cdrs", "events"))
    assert [table for table, _ in first + second] == ["cdrs", "events"]


# -- trust: verified rows, replayed nonces, quarantine ------------------------------------------


def test_an_unverified_push_cannot_shadow_the_verified_one(store: Store) -> None:
    # A forged push with the icid of a real call, first, then the platform's real CDR: both are
    # kept (apart), so the forged one cannot make the real one a duplicate.
    forged = fee_body(busy_info(1))
    assert store.add(forged, product="voicecall") == 1
    assert store.add(forged) == 1  # unverified PrivateNumber: still apart from the verified row
    assert store.add(fee_body(fee_info(1)), verified=True) == 1
    assert store.add(fee_body(fee_info(1)), verified=True) == 0  # a redelivery is still one row
    verified = [r for r in store.cdrs() if r["verified"]]
    assert len(verified) == 1 and verified[0]["ul_fail_reason"] == 0
    assert len({r["dedupe_key"] for r in store.cdrs()}) == 3
    store.add(event_body("disconnect", stateCode=17), product="voicecall")
    assert store.add(event_body("disconnect", stateCode=0), verified=True) == 1


def test_an_unverified_status_cannot_hide_a_verified_change(store: Store) -> None:
    store.add(num_body((X, "5", None)), verified=True)
    store.add(num_body((X, "9", None)))  # forged: X suspended
    assert store.add(num_body((X, "9", None)), verified=True) == 1  # the real change is kept
    verified = [(r["status"], r["verified"]) for r in store.num_status() if r["verified"]]
    assert verified == [("5", 1), ("9", 1)]


def nonce_batch(n: int, nonce: str = "N0NCE1") -> Batch:
    batch = prepare(fee_body(fee_info(n)), verified=True)
    batch.nonce = ("AbCdEf0123456789", nonce, 4_102_444_800.0)  # expires in 2100
    return batch


def test_a_held_nonce_refuses_its_batch_whole(store: Store) -> None:
    assert store.write([nonce_batch(1), nonce_batch(2), nonce_batch(3, "OTHER")]) == [1, None, 1]
    assert store.write([nonce_batch(4)]) == [None]
    assert sorted(r["icid"][-1] for r in store.cdrs()) == ["1", "3"]


def test_nonces_are_shared_by_every_store_on_the_file(tmp_path) -> None:
    path = tmp_path / "shared.db"
    with Store(path) as first, Store(path) as second:
        assert first.write([nonce_batch(1)]) == [1]
        assert second.write([nonce_batch(2)]) == [None]
    with Store(path) as reopened:
        assert reopened.write([nonce_batch(3)]) == [None]
        assert reopened.count() == 1


def test_expired_nonces_are_purged(tmp_path) -> None:
    old = nonce_batch(1, "OLD")
    old.nonce = ("k", "OLD", 1.0)  # its window ended long ago
    with Store(tmp_path / "n.db") as store:
        store.write([old])
    with Store(tmp_path / "n.db") as store:  # purged at the first write (then once a minute)
        store.write([nonce_batch(2, "NEW")])
        held = [r["nonce"] for r in store.query("SELECT nonce FROM nonces")]
    assert held == ["NEW"]


def test_quarantine_is_apart_and_bounded(store: Store, monkeypatch) -> None:
    monkeypatch.setattr("toolkit.store.QUARANTINE_SIZE", 3)
    for i in range(5):
        row = quarantine_row(b'{"feeLst":[]}', product="voicecall", reason=f"r{i}")
        assert store.write([Batch(quarantine=[row])]) == [0]
    assert [r["reason"] for r in store.quarantine()] == ["r2", "r3", "r4"]
    assert [r["reason"] for r in store.quarantine(limit=1)] == ["r4"]
    assert store.counts() == {"cdrs": 0, "events": 0, "sms": 0, "num_status": 0}
    assert store.changes() == []


# The schema as it was before rows carried their trust.
OLD_SCHEMA = re.sub(r",\s*verified INTEGER NOT NULL DEFAULT 0", "", _SCHEMA)
OLD_ROWS = """
INSERT INTO cdrs (seq, dedupe_key, product, icid, received_at, raw) VALUES
    (1, 'icid:ba171f34e6953fcd751edc77127748f4.1', 'privatenumber',
    'ba171f34e6953fcd751edc77127748f4.1', {now}, '{{}}'),
    (2, 'icid:ba171f34e6953fcd751edc77127748f4.2', 'privatenumber',
    'ba171f34e6953fcd751edc77127748f4.2', 1709259312, '{{}}');
INSERT INTO sms (seq, dedupe_key, received_at, raw) VALUES (3, 'a1b2c3d4e5|Notify', {now}, '{{}}');
"""


def test_a_store_from_before_trust_is_migrated(tmp_path) -> None:
    path = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(OLD_SCHEMA + OLD_ROWS.format(now=time.time()))
        assert "verified" not in str(conn.execute("PRAGMA table_info(cdrs)").fetchall())
    with Store(path) as store:
        recent, old = store.cdrs()
        # rows stored by older versions count as unverified: they were never all checked
        assert recent["verified"] == old["verified"] == 0
        # keys of recent rows take the new form, so a late redelivery is still a duplicate
        assert recent["dedupe_key"] == "pn:u:icid:ba171f34e6953fcd751edc77127748f4.1"
        assert store.sms()[0]["dedupe_key"] == "pn:u:a1b2c3d4e5|Notify"
        assert store.add(fee_body(fee_info(1))) == 0
        # rows older than any retry keep their key (rewriting every key of a big store is slow)
        assert old["dedupe_key"] == "icid:ba171f34e6953fcd751edc77127748f4.2"
    with Store(path) as store:  # opening again changes nothing
        assert store.cdrs()[0]["dedupe_key"] == "pn:u:icid:ba171f34e6953fcd751edc77127748f4.1"
