"""Group commit on a real store: pushes waiting together share a transaction, an idle push is
committed on its own request's thread, and a request that waits too long is answered without
blocking the others.

``GatedStore`` is the SQLite store itself; it only records which thread wrote each group and can
hold a write back, so that batches queue up behind it the way they do under load.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from builders import fee_body, fee_info

from toolkit.commit import GroupCommitter
from toolkit.engine import Batch
from toolkit.errors import StoreError
from toolkit.store import Store, prepare


class GatedStore(Store):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups: list[tuple[int, int]] = []  # (writing thread, batches)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def write_each(self, batches: Sequence[Batch]) -> list[int | Exception | None]:
        self.groups.append((threading.get_ident(), len(batches)))
        self.entered.set()
        assert self.gate.wait(30)
        return super().write_each(batches)


def batch(n: int) -> Batch:
    return prepare(fee_body(fee_info(n)), verified=False)


def test_an_idle_push_is_committed_on_its_own_thread() -> None:
    with GatedStore() as store:
        committer = GroupCommitter(store)
        assert committer.submit(batch(1)) == 1
        committer.stop()
        assert store.groups == [(threading.get_ident(), 1)]


def test_pushes_waiting_together_share_one_transaction() -> None:
    with GatedStore() as store:
        committer = GroupCommitter(store, max_batch=8)
        store.gate.clear()  # the first push holds the store while the others queue up
        results: dict[int, int | None] = {}

        def push(n: int) -> None:
            results[n] = committer.submit(batch(n))

        first = threading.Thread(target=push, args=(0,))
        first.start()
        assert store.entered.wait(30)
        others = [threading.Thread(target=push, args=(n,)) for n in range(1, 20)]
        for t in others:
            t.start()
        for _ in range(200):  # bounded: until all 19 are queued
            with committer._lock:
                if len(committer._queue) == 19:
                    break
            threading.Event().wait(0.01)
        store.gate.set()
        for t in [first, *others]:
            t.join(30)
        committer.stop()
        assert results == {n: 1 for n in range(20)}
        assert store.count("cdrs") == 20
        # The first alone, then the 19 that waited, 8 at most per transaction: 1 + 8 + 8 + 3.
        assert [size for _, size in store.groups] == [1, 8, 8, 3]
        # Each group was written by a thread of a request in it, never by a thread of our own.
        assert {ident for ident, _ in store.groups} <= {t.ident for t in [first, *others]}


def test_a_request_that_waits_too_long_gets_an_error_and_the_others_go_on() -> None:
    with GatedStore() as store:
        committer = GroupCommitter(store)
        store.gate.clear()
        leader = threading.Thread(target=committer.submit, args=(batch(1),))
        leader.start()
        assert store.entered.wait(30)
        with pytest.raises(StoreError, match="timed out"):
            committer.submit(batch(2), timeout=0.05)  # queued behind the held write
        store.gate.set()
        leader.join(30)
        # The late batch was dropped, not written behind the error; the committer still works.
        assert committer.submit(batch(3)) == 1
        committer.stop()
        assert sorted(r["icid"].rsplit(".", 1)[-1] for r in store.cdrs()) == ["1", "3"]


def test_a_failing_engine_fails_its_group_and_the_next_group_still_commits() -> None:
    class Broken(GatedStore):
        fail = True

        def write_each(self, batches: Sequence[Batch]) -> list[int | Exception | None]:
            if self.fail:
                self.fail = False
                raise RuntimeError("engine failed")
            return super().write_each(batches)

    with Broken() as store:
        committer = GroupCommitter(store)
        with pytest.raises(RuntimeError):
            committer.submit(batch(1))
        assert committer.submit(batch(2)) == 1
        committer.stop()
        with pytest.raises(StoreError, match="stopping"):
            committer.submit(batch(3))
