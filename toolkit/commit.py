"""Group commit: one writer thread puts every push waiting at that moment in one transaction.

Request threads validate and map their push to a :class:`~toolkit.engine.Batch`, hand it to
:meth:`GroupCommitter.submit` and wait; the writer takes every batch queued at that moment, writes
them with one :meth:`~toolkit.engine.Engine.write_each` and wakes their requests with their own
result. Under load many pushes share one commit; when idle a push is committed alone at once.
It works with any :class:`~toolkit.engine.Engine`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .engine import Batch, Engine
from .errors import StoreError

__all__ = ["COMMIT_TIMEOUT", "GroupCommitter"]

COMMIT_TIMEOUT = 30.0  # seconds a request waits for its commit before answering 503


@dataclass
class _Job:
    batch: Batch
    done: threading.Event = field(default_factory=threading.Event)
    result: int | Exception | None = None


class GroupCommitter:
    """One writer thread that commits every waiting batch in a single transaction.

    ``max_batch`` caps the batches of one transaction; ``on_commit`` runs on the writer thread
    after each transaction (the receiver wakes its callbacks with it). The thread starts with
    the first :meth:`submit`; :meth:`stop` commits what is queued, then ends it.
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
        self.max_batch = max_batch
        self.on_commit = on_commit
        self.name = name
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def submit(self, batch: Batch, timeout: float = COMMIT_TIMEOUT) -> int | None:
        """Commit ``batch``; return its new rows, or ``None`` if the store refused it as a replay
        (its nonce is held). Raises StoreError if it could not commit, or the exception the
        engine gave for this batch alone."""
        if self._thread is None:
            self._start()
        if self._stopped:
            raise StoreError("the receiver is stopping")
        job = _Job(batch)
        self._queue.put(job)
        if not job.done.wait(timeout):
            # It may still commit later; the platform's retry is then deduplicated.
            raise StoreError("commit timed out")
        if isinstance(job.result, Exception):
            raise job.result
        return job.result

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            stop = False
            while len(jobs) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                jobs.append(more)
            try:
                results = self.engine.write_each([j.batch for j in jobs])
            except Exception as exc:  # the Store raises only for a lone batch; any engine may not
                results = [exc] * len(jobs)
            for j, result in zip(jobs, results, strict=True):
                j.result = result
                j.done.set()
            if self.on_commit is not None:
                self.on_commit()
            if stop:
                return

    def stop(self) -> None:
        """Finish the batches already queued, then end the writer thread."""
        self._stopped = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=COMMIT_TIMEOUT)
