"""The read-since loop: deliver every row an engine commits, once, in ``seq`` order.

One cursor loop for every reader of new rows: :func:`toolkit.tail.follow` (a generator), the
receiver's ``on_cdr``/``on_event`` callbacks, the :class:`~toolkit.widgets.CdrTail` widget and the
demo. It reads :meth:`~toolkit.engine.Engine.changes` after its cursor, moves the cursor to the
last row read, and sleeps in :meth:`~toolkit.engine.Engine.wait` when nothing is new (woken at
once by a commit of this process; commits of other processes are seen within ``poll`` seconds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .engine import TABLES, Engine, Table
from .errors import ValidationError

__all__ = ["Follower", "Stop", "follow_rows"]

log = logging.getLogger(__name__)

Stop = threading.Event | Callable[[], bool] | None
Row = tuple[str, dict[str, Any]]

# The longest a wait lasts without looking at the stop flag: stop() is prompt whatever `poll` is.
_SLICE = 0.1


def _stopped(stop: Stop) -> bool:
    if stop is None:
        return False
    return stop.is_set() if isinstance(stop, threading.Event) else bool(stop())


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Follower:
    """A cursor over an engine's new rows, read as a generator or by a thread of its own.

    ``since`` is the ``seq`` to start after (``None``: what is committed after the first read);
    ``tables`` picks among ``"cdrs"``, ``"events"``, ``"sms"`` and ``"num_status"``; ``poll`` is
    how often other processes' commits are looked for. :attr:`cursor` is the last ``seq`` read,
    so a follower made with ``since=old.cursor`` resumes where ``old`` stopped.

    * :meth:`read` returns the next page of rows (raises what the engine raises);
    * :meth:`rows` yields rows for ever (until ``stop``), raising what the engine raises;
    * :meth:`run`/:meth:`start` call a function for each row: a failing read is logged once and
      retried every ``poll`` seconds, a failing callback is logged and the next row delivered.
    """

    def __init__(
        self,
        engine: Engine,
        since: int | None = 0,
        *,
        tables: Iterable[Table] = ("cdrs", "events"),
        poll: float = 0.5,
        name: str = "follower",
    ) -> None:
        wanted = tuple(tables)
        unknown = set(wanted) - set(TABLES)
        if unknown:
            raise ValidationError("tables", f"must be among {TABLES}, not {sorted(unknown)}")
        self.engine = engine
        self.tables: tuple[Table, ...] = wanted
        self.poll = poll
        self.name = name
        self.cursor = since
        self._lock = threading.Lock()  # a page goes to one reader, and the cursor moves once
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reading -------------------------------------------------------------------------------

    def read(self) -> list[Row]:
        """The rows committed after the cursor (one page, ``seq`` order); moves the cursor."""
        with self._lock:
            if self.cursor is None:
                self.cursor = self.engine.last_seq()
            rows = self.engine.changes(self.cursor, tables=self.tables)
            if rows:
                self.cursor = rows[-1][1]["seq"]
        return rows

    def rows(self, stop: Stop = None) -> Iterator[Row]:
        """Yield ``(table, row)`` for each row committed after the cursor, for ever.

        ``stop`` (an Event or a function returning True) ends the generator once the rows
        committed so far are yielded. Errors of the engine end it too (they are raised).
        """
        while True:
            page = self.read()
            yield from page
            if _stopped(stop):
                return
            if not page:
                self._pause(stop)

    def wake(self) -> None:
        """Read again now (a writer of this process calls it after a commit)."""
        self._wake.set()

    def _pause(self, stop: Stop) -> None:
        # Until a commit, wake(), stop or `poll` seconds, whichever comes first.
        deadline = time.monotonic() + self.poll
        while not (_stopped(stop) or self._stop.is_set() or self._wake.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                if self.engine.wait(min(left, _SLICE)):
                    return
            except Exception:  # an engine that cannot wait (closed): poll on the clock instead
                self._stop.wait(min(left, _SLICE))

    # -- delivering ----------------------------------------------------------------------------

    def deliver(self, page: Iterable[Row], each: Callable[[str, dict[str, Any]], Any]) -> None:
        """Call ``each(table, row)`` for every row; an exception is logged, the next row goes on."""
        for table, row in page:
            try:
                each(table, row)
            except Exception:
                log.exception("%s: callback failed for %s row seq=%s", self.name, table, row["seq"])

    def drain(self, each: Callable[[str, dict[str, Any]], Any]) -> None:
        """Deliver every row committed so far, then return (a failing read is logged)."""
        while True:
            try:
                page = self.read()
            except Exception as exc:
                log.warning("%s: cannot read the store: %s", self.name, _one_line(exc))
                return
            if not page:
                return
            self.deliver(page, each)

    def run(
        self,
        each: Callable[[str, dict[str, Any]], Any],
        *,
        stop: Stop = None,
        after: Callable[[list[Row]], Any] | None = None,
        on_error: Callable[[Exception], bool] | None = None,
        paused: Callable[[], bool] | None = None,
    ) -> None:
        """Deliver rows to ``each`` until ``stop`` (or :meth:`stop`); blocks the calling thread.

        ``after(page)`` runs after every read, even an empty one. A read that fails is logged
        (one line for a run of failures) and retried every ``poll`` seconds; ``on_error(exc)`` is
        told of each failure and ends the loop by returning True. While ``paused()`` is true
        nothing is read (the cursor stays, so nothing is lost).
        """
        failing = False
        while not (_stopped(stop) or self._stop.is_set()):
            self._wake.clear()
            if paused is not None and paused():
                self._pause(stop)
                continue
            try:
                page = self.read()
            except Exception as exc:
                if on_error is not None and on_error(exc):
                    return
                if not failing:
                    log.warning(
                        "%s: cannot read the store (%s); retrying every %gs",
                        self.name,
                        _one_line(exc),
                        self.poll,
                    )
                    failing = True
                self._stop.wait(self.poll)  # not the engine's wait: it may be what is failing
                continue
            if failing:
                log.info("%s: reading the store again", self.name)
                failing = False
            self.deliver(page, each)
            if after is not None:
                try:
                    after(page)
                except Exception:
                    log.exception("%s: failed after reading seq <= %s", self.name, self.cursor)
            if not page:
                self._pause(stop)

    def start(self, each: Callable[[str, dict[str, Any]], Any], **options: Any) -> Follower:
        """:meth:`run` in a daemon thread named after the follower; returns self."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.run, args=(each,), kwargs=options, name=self.name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End :meth:`run` (within about a tenth of a second) and join its thread."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def thread(self) -> threading.Thread | None:
        """The thread of the last :meth:`start`, if any."""
        return self._thread

    @property
    def running(self) -> bool:
        """True while the thread of :meth:`start` is delivering."""
        return self._thread is not None and self._thread.is_alive()


def follow_rows(
    engine: Engine,
    since: int | None = 0,
    *,
    poll: float = 0.5,
    stop: Stop = None,
    tables: Iterable[Table] = ("cdrs", "events"),
) -> Iterator[Row]:
    """Yield ``(table, row)`` for each row committed after ``seq == since``, for ever.

    ``since=None`` starts from now: when ``follow_rows`` is called, not when the caller first
    iterates (maybe much later). ``stop`` ends the generator once the rows committed so far have
    been yielded.
    """
    start = engine.last_seq() if since is None else since
    return Follower(engine, start, tables=tables, poll=poll).rows(stop)
