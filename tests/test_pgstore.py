"""The PostgreSQL store against a real server (tests/pgcluster.py or $TOOLKIT_TEST_POSTGRES_URL):
the same behaviour as the SQLite store, across several stores sharing one database."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from builders import event_body, fee_body, fee_info, num_body, sms_body

from toolkit.auth import sign_headers
from toolkit.batches import quarantine_row
from toolkit.engine import Engine
from toolkit.errors import StoreError
from toolkit.follower import Follower
from toolkit.frame import cdr_frame
from toolkit.pgstore import PgStore
from toolkit.receiver import Receiver
from toolkit.store import Store, prepare
from toolkit.stores import mask_url

KEY, SECRET = "AbCdEf0123456789", "s3cr3t-app-secret"


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user, host = parts.netloc.split("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def nonced(body: dict, nonce: str, verified: bool = True):
    batch = prepare(body, verified=verified)
    batch.nonce = (KEY, nonce, time.time() + 300)
    return batch


def test_store_url_opens_postgres_with_the_same_engine(postgres_url: str) -> None:
    with Store(postgres_url) as store:
        assert isinstance(store, PgStore) and isinstance(store, Engine)
        assert store.write([prepare(fee_body(fee_info(1), fee_info(2)))]) == [2]
        assert store.counts() == {"cdrs": 2, "events": 0, "sms": 0, "num_status": 0}
        assert [r["icid"] for r in store.cdrs()] == [fee_info(1)["icid"], fee_info(2)["icid"]]


def test_dedupe_nonce_and_change_log_across_two_stores(postgres_url: str) -> None:
    """Two stores on one database stand for two receivers behind a load balancer."""
    with PgStore(postgres_url) as a, Store(postgres_url) as b:
        body = fee_body(fee_info(1), fee_info(2))
        assert a.write([nonced(body, "n-1")]) == [2]
        # The same nonce at the other receiver is a replay: nothing stored, reported as None.
        assert b.write([nonced(fee_body(fee_info(3)), "n-1")]) == [None]
        # The same CDRs under a new nonce (a platform retry) are duplicates: stored once.
        assert b.write([nonced(body, "n-2")]) == [0]
        # Within one group commit: a repeated nonce and a repeated CDR.
        assert b.write([nonced(fee_body(fee_info(4)), "n-3"), nonced(body, "n-3")]) == [1, None]
        assert a.write([prepare(fee_body(fee_info(5))), prepare(fee_body(fee_info(5)))]) == [1, 0]
        # Unverified rows are keyed apart: they never make a verified row a duplicate.
        assert a.write([prepare(body, verified=False)]) == [2]
        status = num_body(("+8617000000003", "1", None))
        assert a.write([prepare(status)]) == [1]
        assert b.write([prepare(status)]) == [0]  # the current status is not logged again
        assert b.write([prepare(num_body(("+8617000000003", "2", None)))]) == [1]
        assert a.write([prepare(event_body()), prepare(sms_body())]) == [1, 1]
        assert a.counts() == {"cdrs": 6, "events": 1, "sms": 1, "num_status": 2}
        seqs = [r["seq"] for _, r in b.changes(0, tables=("cdrs", "events", "sms", "num_status"))]
        assert seqs == sorted(seqs) and len(set(seqs)) == 10
        assert b.last_seq() == seqs[-1]


def test_several_number_statuses_in_one_transaction(postgres_url: str, tmp_path: Path) -> None:
    """A status push may list several numbers, and group commit puts several pushes in one
    transaction: every status gets its own seq, the repeats within the group are not logged
    twice, and the log is the SQLite store's."""
    two = num_body(("+8617000000003", "1", None), ("+8617000000004", "2", None))
    group = [
        prepare(two),
        prepare(num_body(("+8617000000003", "1", None), ("+8617000000003", "2", "x"))),
        prepare(fee_body(fee_info(1))),
    ]
    with PgStore(postgres_url) as pg, Store(tmp_path / "s.db") as lite:
        assert pg.write(group) == lite.write(group) == [2, 1, 1]
        assert contents(pg) == contents(lite)
        assert [r["seq"] for r in pg.rows("num_status")] == [2, 3, 4]


def test_records_quarantine_and_text_postgres_cannot_hold(postgres_url: str) -> None:
    with PgStore(postgres_url) as store:
        batch = prepare(fee_body(fee_info(1, userData="a\x00b")), verified=True)
        batch.quarantine.append(quarantine_row(b'{"x": 1}', product="voicecall", reason="bad"))
        assert store.write([batch]) == [1]
        (row,) = store.cdrs()
        assert row["user_data"] == "a\ufffdb"  # the column cannot hold NUL ...
        record = store.record("cdrs", row)
        assert record.user_data == "a\x00b"  # ... the raw JSON keeps it exactly
        assert record.verified is True and record.seq == row["seq"]
        (kept,) = store.quarantine()
        assert kept["reason"] == "bad" and kept["body"] == '{"x": 1}'


def test_password_never_shown(postgres_url: str) -> None:
    url = with_password(postgres_url, "pa55-word")  # the test cluster trusts loopback
    with PgStore(url) as store:
        assert "pa55-word" not in repr(store) and "pa55-word" not in store.path
        assert "***" in store.path
    assert (
        mask_url("postgresql://u:p%40ss@h/db?password=x") == "postgresql://u:***@h/db?password=***"
    )
    port = urlsplit(postgres_url).port
    dead = url.replace(f":{port}/", ":1/")
    with pytest.raises(StoreError) as caught:
        PgStore(dead, timeout=2)
    assert "pa55-word" not in str(caught.value) and "***" in str(caught.value)


def test_closed_readonly_and_foreign(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="no push tables"):
        PgStore(postgres_url, readonly=True)
    with PgStore(postgres_url) as store:
        store.write([prepare(fee_body(fee_info(1)))])
    with PgStore(postgres_url, readonly=True) as reader:
        assert reader.count() == 1
        with pytest.raises(StoreError, match="read-only"):
            reader.write([prepare(fee_body(fee_info(2)))])
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count()


def test_follower_never_skips_rows_of_concurrent_writers(postgres_url: str) -> None:
    """Writers on two stores commit concurrently; a follower on a third store, reading all the
    while, must see every row exactly once. With seqs taken from a plain sequence a writer that
    commits after a later seq became visible would be skipped for good."""
    writers = [PgStore(postgres_url) for _ in range(2)]
    reader = PgStore(postgres_url)
    try:
        follower = Follower(reader, 0, tables=("cdrs",), poll=0.01)
        seen: list[int] = []
        done = threading.Event()

        def write(store: PgStore, base: int) -> None:
            for k in range(40):
                infos = [fee_info(base + 10 * k + j) for j in range(10)]
                store.write([prepare(fee_body(*infos))])

        threads = [
            threading.Thread(target=write, args=(w, 10_000 * (i + 1)))
            for i, w in enumerate(writers)
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            seen += [r["seq"] for _, r in follower.read()]
            if not any(t.is_alive() for t in threads):
                done.set()
        for t in threads:
            t.join()
        seen += [r["seq"] for _, r in follower.read()]
        assert len(seen) == len(set(seen)) == 800 == reader.count()
    finally:
        for s in (*writers, reader):
            s.close()


def test_frame_from_postgres_equals_frame_from_sqlite(postgres_url: str, tmp_path: Path) -> None:
    from builders import busy_info, voice_fee_info

    bodies = [
        fee_body(fee_info(1), busy_info(2), fee_info(3, userData="a\x1fb")),
        fee_body(fee_info(4, fwdAnswerTime=None)),
        {"eventType": "fee", "feeLst": [voice_fee_info(5)]},
    ]
    with Store(tmp_path / "s.db") as lite, PgStore(postgres_url) as pg:
        for body in bodies:
            lite.write([prepare(body)])
            pg.write([prepare(body)])
        for options in ({}, {"columns": "all", "raw_numbers": True, "app_modes": {KEY: "AXB"}}):
            expected = cdr_frame(lite, **options)
            for source in (pg, postgres_url):
                got = cdr_frame(source, **options)
                assert got.equals(expected), (got.compare(expected), options)
        start = cdr_frame(lite)["start_time"].min()
        for options in (
            {"start": start, "outcome": "answered"},
            {"bind_num": fee_info(1)["bindNum"], "end": "2100-01-01"},
            {"outcome": []},
        ):
            assert cdr_frame(pg, **options).equals(cdr_frame(lite, **options)), options


def test_frame_is_in_seq_order_whatever_the_table_order(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frame reads the table in block order, a chunk per block here: rows an UPDATE moved
    (a new version placed after later rows) must still come out in seq order, as from SQLite."""
    import psycopg

    from toolkit import pgframe

    monkeypatch.setattr(pgframe, "CHUNK_BLOCKS", 1)
    bodies = [fee_body(*(fee_info(10 * k + j) for j in range(10))) for k in range(6)]
    with Store(tmp_path / "s.db") as lite, PgStore(postgres_url) as pg:
        for body in bodies:
            lite.write([prepare(body)])
            pg.write([prepare(body)])
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE cdrs SET verified = verified WHERE seq % 7 = 1")
        by_place = [r[0] for r in conn.execute("SELECT seq FROM cdrs ORDER BY ctid")]
        blocks = conn.execute("SELECT count(DISTINCT (ctid::text::point)[0]) FROM cdrs").fetchone()
    assert by_place != sorted(by_place) and blocks[0] > 1  # the case under test is there
    options = {"columns": "all", "raw_numbers": True}
    got = cdr_frame(postgres_url, **options)
    assert got.equals(cdr_frame(tmp_path / "s.db", **options)), got["seq"].tolist()


def test_receiver_on_postgres_acks_after_commit_and_refuses_replays(postgres_url: str) -> None:
    body = json.dumps(fee_body(fee_info(1), fee_info(2))).encode()
    headers = {"Content-Type": "application/json", **sign_headers(KEY, SECRET)}
    with (
        Receiver(postgres_url, app_key=KEY, app_secret=SECRET).start() as one,
        Receiver(postgres_url, app_key=KEY, app_secret=SECRET).start() as two,
    ):
        assert requests.post(f"{one.url}/fee", data=body, headers=headers, timeout=10).ok
        assert one.store.count() == 2  # stored when the 200 came
        # The same signed request at the other receiver: its nonce is in the shared database.
        again = requests.post(f"{two.url}/fee", data=body, headers=headers, timeout=10)
        assert again.status_code == 401
        fresh = {"Content-Type": "application/json", **sign_headers(KEY, SECRET)}
        assert requests.post(f"{two.url}/fee", data=body, headers=fresh, timeout=10).ok
        assert two.store.count() == 2


def test_tail_cli_follows_a_postgres_store(postgres_url: str) -> None:
    url = with_password(postgres_url, "tail-secret")
    with PgStore(url) as store:
        store.write([prepare(fee_body(fee_info(1)))])
        tail = subprocess.Popen(
            [sys.executable, "-m", "toolkit", "tail", "--db", url, "--follow", "--poll", "0.1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert tail.stdout is not None
            first = tail.stdout.readline()
            store.write([prepare(fee_body(fee_info(2, callEndTime="2024-03-01 03:04:05")))])
            second = tail.stdout.readline()
        finally:
            tail.kill()
            _, err = tail.communicate(timeout=10)
    assert "02:17:40" in first and "03:04:05" in second and "tail-secret" not in err
    with pytest.raises(StoreError):
        Store(url.replace("/toolkit_test", "/no_such_db_"), readonly=True)


def test_missing_driver_says_what_to_install(postgres_url: str) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from toolkit.store import Store\n"
        "from toolkit.errors import StoreError\n"
        f"try:\n    Store({postgres_url!r})\nexcept StoreError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert 'pip install -e ".[postgres]"' in out.stdout, out.stderr


def store_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", "store", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def contents(store: Engine) -> dict[str, list[tuple]]:
    """Every row but its seq, per table, in seq order; and the quarantine without its id."""
    found = {t: [tuple(r.values())[1:] for r in store.rows(t)] for t in ("cdrs", "events", "sms")}
    found["num_status"] = [tuple(r.values())[1:] for r in store.rows("num_status")]
    found["quarantine"] = [tuple(r.values())[1:] for r in store.quarantine()]
    return found


def test_store_copy_sqlite_to_postgres_and_back_idempotently(
    postgres_url: str, tmp_path: Path
) -> None:
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    with Store(source) as lite:
        verified = prepare(fee_body(fee_info(1), fee_info(2)), verified=True)
        verified.quarantine.append(quarantine_row(b"{}", product="voicecall", reason="bad-digest"))
        lite.write([verified, prepare(fee_body(fee_info(1)))])  # the same CDR, unverified too
        lite.write([prepare(event_body()), prepare(sms_body(), verified=True)])
        for status in ("1", "2", "1"):
            lite.write([prepare(num_body(("+8617000000003", status, None)))])
        expected = contents(lite)
    url = with_password(postgres_url, "copy-secret")
    first = store_cli("copy", str(source), url)
    assert first.returncode == 0, first.stderr
    assert "copied 3 cdrs, 1 events, 1 sms, 3 num_status, 1 quarantine" in first.stdout
    assert "copy-secret" not in first.stdout + first.stderr
    again = store_cli("copy", str(source), url)
    assert "copied 0 cdrs, 0 events, 0 sms, 0 num_status, 0 quarantine" in again.stdout
    with PgStore(postgres_url) as pg:
        assert contents(pg) == expected
        assert [r["verified"] for r in pg.cdrs()] == [1, 1, 0]
        # A receiver keeps writing to PostgreSQL; copying back brings that too, once.
        pg.write([prepare(fee_body(fee_info(9)))])
        expected = contents(pg)
    for _ in range(2):
        result = store_cli("copy", url, str(back))
        assert result.returncode == 0, result.stderr
    assert "copied 0 cdrs" in result.stdout
    with Store(back, readonly=True) as lite:
        assert contents(lite) == expected


def test_store_copy_reports_a_source_it_cannot_open(tmp_path: Path) -> None:
    result = store_cli("copy", str(tmp_path / "missing.db"), str(tmp_path / "new.db"))
    assert result.returncode == 1 and "cannot copy" in result.stderr


def test_the_widgets_read_a_postgres_store(postgres_url: str) -> None:
    # CdrTail and OutcomeDashboard take any engine, not only the SQLite Store.
    from toolkit.widgets import CdrTail, OutcomeDashboard

    busy = fee_info(2, fwdAnswerTime="", ulFailReason=8102, fwdUnaswRsn=17)
    with PgStore(postgres_url) as store:
        store.write([prepare(fee_body(fee_info(1), busy))])
        tail = CdrTail(store)
        assert tail.receiver is None and tail.poll_once() == 2
        assert sorted(row["outcome"] for row in tail.rows) == ["answered", "busy"]
        board = OutcomeDashboard(store, draw=False)
        assert board.redraw() and board.summary_frame["calls"].sum() == 2
