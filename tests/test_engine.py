"""The engine interface: the SQLite Store satisfies it, and the shared pieces run on it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from builders import event_body, fee_body, fee_info

from toolkit import events as ev
from toolkit.batches import quarantine_row
from toolkit.commit import GroupCommitter
from toolkit.engine import TABLES, Batch, Engine
from toolkit.errors import StoreError
from toolkit.store import Store, prepare


def test_store_is_an_engine() -> None:
    with Store() as store:
        assert isinstance(store, Engine)
    assert not isinstance(object(), Engine)


def exercise(engine: Engine) -> None:
    """Every method of the interface, called through the interface type only."""
    assert engine.path
    assert engine.last_seq() == 0
    batch = prepare(fee_body(fee_info(1)), verified=True)
    batch.nonce = ("app", "nonce-1", 4_102_444_800.0)
    assert engine.write([batch]) == [1]
    replay = prepare(fee_body(fee_info(2)), verified=True)
    replay.nonce = ("app", "nonce-1", 4_102_444_800.0)
    kept = Batch(quarantine=[quarantine_row(b"{}", product="voicecall", reason="bad-digest")])
    events = prepare(event_body("disconnect", stateCode=0))
    assert engine.write_each([replay, kept, events]) == [None, 0, 1]
    assert [r["icid"] for r in engine.rows("cdrs")] == [fee_info(1)["icid"]]
    changes = engine.changes(0, tables=("cdrs", "events"))
    assert [t for t, _ in changes] == ["cdrs", "events"]
    assert engine.last_seq() == changes[-1][1]["seq"]
    assert engine.count("cdrs") == 1 and engine.counts() == dict.fromkeys(TABLES, 0) | {
        "cdrs": 1,
        "events": 1,
    }
    assert isinstance(engine.record(*changes[0]), ev.Cdr)
    assert [q["reason"] for q in engine.quarantine()] == ["bad-digest"]
    assert not engine.wait(0.01)  # nothing committed meanwhile
    engine.close()
    with pytest.raises(StoreError):
        engine.rows("cdrs")


def test_every_method_of_the_interface_works_on_the_store(tmp_path: Path) -> None:
    exercise(Store(tmp_path / "engine.db"))


def test_wait_reports_a_commit_of_this_process() -> None:
    with Store() as store:
        woke: list[bool | None] = []
        waiter = threading.Thread(target=lambda: woke.append(store.wait(30)))
        waiter.start()
        for n in range(200):  # until the waiter is woken; bounded
            store.add(fee_body(fee_info(n)))
            waiter.join(0.02)
            if not waiter.is_alive():
                break
        waiter.join(5)
        assert woke == [True]


def test_group_commit_gives_each_batch_its_own_result() -> None:
    with Store() as store:
        done: list[int | None] = []
        committer = GroupCommitter(store, max_batch=8)
        first = prepare(fee_body(fee_info(1)), verified=True)
        first.nonce = ("app", "n", 4_102_444_800.0)
        again = prepare(fee_body(fee_info(2)), verified=True)
        again.nonce = ("app", "n", 4_102_444_800.0)
        done.append(committer.submit(first))
        done.append(committer.submit(again))  # a replay: nothing written
        done.append(committer.submit(prepare(fee_body(fee_info(3), fee_info(4)))))
        committer.stop()
        assert done == [1, None, 2]
        with pytest.raises(StoreError):
            committer.submit(prepare(fee_body(fee_info(5))))
        assert store.count("cdrs") == 3
