"""Group commit: the pushes waiting at one moment share one transaction.

Request threads validate and map their push to a :class:`~toolkit.engine.Batch` and hand it to
:meth:`GroupCommitter.submit`. The request that finds no commit running *leads*: on its own
thread it takes every batch queued at that moment (its own first), writes them with one
:meth:`~toolkit.engine.Engine.write_each`, and gives each waiting request its own result. If
batches queued up meanwhile, it hands the lead to the first of them, whose request commits the
next group. Under load many pushes share one commit; an idle receiver commits a push on the
thread that received it, without waking another thread and waiting for it to run (two thread
switches a push that a busy machine makes slow). It works with any
:class:`~toolkit.engine.Engine`.

Durability and fsyncs. The SQLite store runs WAL with ``synchronous=NORMAL`` by default: a
commit appends to the WAL and does not fsync, so it survives the process being killed (the
crash tests SIGKILL a receiver mid-burst) and only a power loss can take the last commits before
the next checkpoint, which fsyncs. ``synchronous=FULL`` fsyncs the WAL at every commit, once per
group here, which is what makes it affordable under load: the more pushes wait, the more share
an fsync. Checkpoints, which fsync too, run on a thread of the store's between commits rather
than in the commit that crosses SQLite's mark (:class:`toolkit.store._Checkpointer`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .engine import Batch, Engine
from .errors import StoreError

__all__ = ["COMMIT_TIMEOUT", "GroupCommitter"]

COMMIT_TIMEOUT = 30.0  # seconds a request waits for its commit before answering 503


@dataclass
class _Job:
    batch: Batch
    done: threading.Event = field(default_factory=threading.Event)  # a result, or the lead
    result: int | Exception | None = None
    lead: bool = False  # woken to commit the next group rather than with a result


class GroupCommitter:
    """Commits every waiting batch in a single transaction, on the thread of one of them.

    ``max_batch`` caps the batches of one transaction; ``on_commit`` runs after each
    transaction, on the thread that committed it (the receiver wakes its callbacks with it).
    :meth:`stop` refuses new batches and waits for those queued to be committed. ``name`` is
    kept for callers that named the writer thread of earlier versions.
    """

    def __init__(
        self,
        engine: Engine,
        max_batch: int = 64,
        on_commit: Callable[[], None] | None = None,
        *,
        name: str = "receiver-writer",
    ) -> None:
        self.engine = engine
        self.max_batch = max(1, max_batch)
        self.on_commit = on_commit
        self.name = name
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when no one leads any more
        self._queue: deque[_Job] = deque()
        self._leading = False  # a request is committing, or has been handed the lead
        self._stopped = False

    def submit(self, batch: Batch, timeout: float = COMMIT_TIMEOUT) -> int | None:
        """Commit ``batch``; return its new rows, or ``None`` if the store refused it as a replay
        (its nonce is held). Raises StoreError if it could not commit, or the exception the
        engine gave for this batch alone."""
        job = _Job(batch)
        with self._lock:
            if self._stopped:
                raise StoreError("the receiver is stopping")
            self._queue.append(job)
            lead = not self._leading
            self._leading = True
        deadline = time.monotonic() + timeout
        while not lead:
            if not job.done.wait(max(0.0, deadline - time.monotonic())):
                self._give_up(job)
            if not job.lead:
                break
            lead = True  # handed the lead: this job is first in the queue
        if lead:
            self._commit_group()
        if isinstance(job.result, Exception):
            raise job.result
        return job.result

    def _give_up(self, job: _Job) -> None:
        """The wait timed out: raise StoreError, unless the job was woken meanwhile."""
        with self._lock:
            if job.done.is_set():
                return  # a result or the lead came as the wait ended
            if job in self._queue:  # never taken: it will not be written at all
                self._queue.remove(job)
        # Else it is being written now and may still commit; the platform's retry is then
        # deduplicated.
        raise StoreError("commit timed out")

    def _commit_group(self) -> None:
        """Write the batches queued now as one transaction, then pass the lead on."""
        with self._lock:
            jobs = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
        try:
            try:
                results = self.engine.write_each([j.batch for j in jobs])
            except Exception as exc:  # the Store raises only for a lone batch; any engine may not
                results = [exc] * len(jobs)
            for j, result in zip(jobs, results, strict=True):
                j.result = result
                j.lead = False
                j.done.set()
            if self.on_commit is not None:
                self.on_commit()
        finally:
            with self._lock:
                for j in jobs:  # only if something above failed: no request waits for ever
                    if not j.done.is_set():
                        j.result = StoreError("commit failed")
                        j.done.set()
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._leading = False
                    self._idle.notify_all()

    def stop(self) -> None:
        """Refuse new batches and wait (up to ``COMMIT_TIMEOUT``) for the queued ones to commit."""
        with self._lock:
            self._stopped = True
            self._idle.wait_for(lambda: not self._leading, timeout=COMMIT_TIMEOUT)
