"""The one read-since loop (toolkit.follower.Follower): resume, other writers, stop, faults."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from builders import event_body, fee_body, fee_info

from toolkit.follower import Follower, follow_rows
from toolkit.store import Store


def until(condition: Callable[[], bool], rounds: int = 250) -> bool:
    """Wait for another thread, bounded in count (not a timing assertion)."""
    for _ in range(rounds):
        if condition():
            return True
        threading.Event().wait(0.02)
    return condition()


def test_a_new_follower_resumes_after_the_cursor_of_the_last(store: Store) -> None:
    store.add(fee_body(fee_info(1)))
    store.add(event_body("disconnect", stateCode=0))
    first = Follower(store)
    assert [t for t, _ in first.read()] == ["cdrs", "events"]
    store.add(fee_body(fee_info(2)))
    resumed = Follower(store, first.cursor)
    rows = resumed.read()
    assert [(t, r["icid"]) for t, r in rows] == [("cdrs", fee_info(2)["icid"])]
    assert resumed.read() == []  # the cursor moved past what was read
    assert list(follow_rows(store, first.cursor, stop=lambda: True)) == rows


def test_since_none_starts_at_the_first_read(store: Store) -> None:
    store.add(fee_body(fee_info(1)))
    follower = Follower(store, None)
    assert follower.read() == []
    store.add(fee_body(fee_info(2)))
    assert [r["icid"] for _, r in follower.read()] == [fee_info(2)["icid"]]


def test_a_thread_sees_rows_another_store_object_commits_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with Store(path) as writer, Store(path, readonly=True) as reader:
        seen: list[int] = []
        follower = Follower(reader, 0, poll=0.05, name="test-follower")
        follower.start(lambda table, row: seen.append(row["seq"]))
        try:
            writer.add(fee_body(fee_info(1), fee_info(2)))
            assert until(lambda: len(seen) == 2)  # another object: no wake-up, the poll finds it
            writer.add(fee_body(fee_info(3)))
            assert until(lambda: len(seen) == 3)
        finally:
            follower.stop()
        assert seen == sorted(seen) and len(set(seen)) == 3
        assert not follower.running


def test_stop_ends_the_thread_even_with_a_long_poll(store: Store) -> None:
    follower = Follower(store, poll=3600).start(lambda table, row: None)
    assert until(lambda: follower.running)
    follower.stop(timeout=5)
    assert not follower.running  # a wait of `poll` seconds would still be sleeping


def test_a_failing_read_is_logged_once_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "fault.db"
    with Store(path) as store:
        # A real fault of the database, not a mock: the events table disappears for a while.
        raw = sqlite3.connect(path, isolation_level=None)
        try:
            raw.execute("ALTER TABLE events RENAME TO events_away")
            failures: list[Exception] = []
            seen: list[str] = []
            follower = Follower(store, poll=0.02, name="test-follower")

            def failed(exc: Exception) -> bool:
                failures.append(exc)
                return False  # keep going

            with caplog.at_level(logging.INFO, logger="toolkit.follower"):
                follower.start(
                    lambda table, row: seen.append(row["icid"]),
                    on_error=failed,
                )
                try:
                    assert until(lambda: len(failures) >= 3)
                    raw.execute("ALTER TABLE events_away RENAME TO events")
                    store.add(fee_body(fee_info(1)))
                    assert until(lambda: seen == [fee_info(1)["icid"]])
                finally:
                    follower.stop()
        finally:
            raw.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "cannot read the store" in warnings[0].getMessage()
    assert "events" in warnings[0].getMessage()
    assert any("reading the store again" in r.getMessage() for r in caplog.records)


def test_a_failing_callback_does_not_stop_delivery(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    delivered: list[int] = []

    def each(table: str, row: dict[str, Any]) -> None:
        delivered.append(row["seq"])
        if len(delivered) == 1:
            raise RuntimeError("a notebook callback's bug")

    store.add(fee_body(fee_info(1), fee_info(2)))
    follower = Follower(store, poll=0.02)
    with caplog.at_level(logging.ERROR, logger="toolkit.follower"):
        follower.start(each)
        try:
            assert until(lambda: len(delivered) == 2)
            store.add(fee_body(fee_info(3)))
            assert until(lambda: len(delivered) == 3)  # and the thread is still delivering
        finally:
            follower.stop()
    assert delivered == sorted(delivered)
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [RuntimeError]


def test_drain_delivers_everything_committed_beyond_one_page(store: Store) -> None:
    for start in range(0, 1200, 50):
        store.add(fee_body(*(fee_info(n) for n in range(start, start + 50))))
    seen: list[int] = []
    Follower(store, tables=("cdrs",)).drain(lambda table, row: seen.append(row["seq"]))
    assert len(seen) == 1200 and seen == sorted(seen)


def test_unknown_tables_are_refused(store: Store) -> None:
    from toolkit.errors import ValidationError

    with pytest.raises(ValidationError):
        Follower(store, tables=("cdrs", "nonces"))  # type: ignore[arg-type]
