"""CdrTail: a live table of the newest CDRs and call events, with outcomes and running counters.

Rows are read from a :class:`toolkit.store.Store` with its read-since cursor; ring and talk seconds
come from :mod:`toolkit.schema` and the outcome and cause from :func:`toolkit.codes.explain`, as in
every other view. The panel adds no rules of its own.

Two ways to update it:

- ``tail.start()`` runs a background thread that polls the store and redraws by setting widget
  traits (``HTML.value``), which ipywidgets sends from any thread; ``tail.stop()`` joins it.
  The thread never uses ``with output:``, which is not thread-safe.
- ``tail.poll_once()`` (alias ``refresh()``) reads and redraws synchronously, for notebooks that
  run headless and for tests.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .. import schema
from ..batches import record
from ..codes import OUTCOMES, explain
from ..engine import Engine
from ..errors import StoreError, ToolkitError
from ..follower import Follower
from ..numbers import normalize
from ..tail import readable_row
from ._common import MessageArea, describe_error, html_table, outcome_label

if TYPE_CHECKING:
    from ..receiver import Receiver

log = logging.getLogger("toolkit.widgets")

ALL = "all"
_COLUMNS = (
    ("time", "time (UTC)"),
    ("kind", "record"),
    ("caller", "caller"),
    ("x", "X"),
    ("callee", "callee"),
    ("outcome", "outcome"),
    ("cause", "cause"),
    ("ring", "ring s"),
    ("talk", "talk s"),
)
_NUMBER_COLUMNS = ("caller", "x", "callee")


class CdrTail(widgets.VBox):
    """The newest CDRs and call events of a store, newest first by their own times, with filters
    and counters.

    ``source`` is a store (SQLite or PostgreSQL) or a :class:`~toolkit.receiver.Receiver` (its
    store is read, and a stopped receiver is reported). ``since`` is the store cursor to start
    after (0: everything already stored; ``None``: only what arrives from now on). ``max_rows``
    bounds the table; counters cover every CDR read.

    Public children: ``table`` (HTML), ``counters`` (HTML), ``pause`` (ToggleButton),
    ``outcome`` (Dropdown: ``"all"`` or one of :data:`~toolkit.codes.OUTCOMES`), ``x_number``
    (Text, any typing of an X number), ``show_events`` (Checkbox), ``message``. Methods:
    :meth:`poll_once`/:meth:`refresh`, :meth:`start`, :meth:`stop`; properties ``calls``,
    ``answered``, ``answer_rate``, ``rows`` (the displayed rows) and ``running``.
    """

    def __init__(
        self,
        source: Engine | Receiver,
        *,
        since: int | None = 0,
        max_rows: int = 50,
        interval: float = 0.5,
    ) -> None:
        # Any engine (a SQLite Store, a PgStore) is read directly; a receiver through its store.
        self.receiver = None if isinstance(source, Engine) else source
        self.store: Engine = source if isinstance(source, Engine) else source.store
        self.max_rows = max_rows
        self.interval = interval
        self._lock = threading.RLock()
        # The cursor: `since=None` means what arrives after the first read.
        self._follower = Follower(
            self.store, since, tables=("cdrs", "events"), poll=interval, name="cdr-tail"
        )
        # Kept beyond max_rows so that a filter still finds rows; bounded all the same.
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(10 * max_rows, 500))
        self._by_outcome_x: Counter[tuple[str, str]] = Counter()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._shown_problem = False

        self.table = widgets.HTML()
        self.counters = widgets.HTML()
        self.message = MessageArea()
        self.pause = widgets.ToggleButton(description="Pause", icon="pause", value=False)
        self.outcome = widgets.Dropdown(
            options=[("all outcomes", ALL)] + [(outcome_label(o), o) for o in OUTCOMES],
            value=ALL,
            description="outcome",
        )
        self.x_number = widgets.Text(description="X number", placeholder="any")
        self.show_events = widgets.Checkbox(value=True, description="call events")
        self.pause.observe(self._on_pause, names="value")
        for control in (self.outcome, self.x_number, self.show_events):
            control.observe(lambda _: self._redraw(), names="value")
        self._redraw()
        super().__init__(
            [
                widgets.HBox([self.pause, self.outcome, self.x_number, self.show_events]),
                self.counters,
                self.message,
                self.table,
            ]
        )

    # -- reading -------------------------------------------------------------------------------

    def poll_once(self) -> int:
        """Read what the store committed since the last read and redraw; returns the new rows.

        Paused: nothing is read (the cursor stays, so nothing is lost on resume). Problems
        (closed store, stopped receiver) become a message, never an exception.
        """
        if self.pause.value:
            return 0
        with self._lock:
            try:
                changes = self._follower.read()
            except ToolkitError as exc:
                self._problem(_store_problem(exc))
                return 0
            for table, row in changes:
                self._add(table, row)
        self._check_receiver()
        if changes:
            self._redraw()
        return len(changes)

    refresh = poll_once

    def start(self) -> CdrTail:
        """Poll in a background thread until :meth:`stop`; returns self. Idempotent."""
        if self.running:
            return self
        self._stop.clear()
        self._follower.start(
            self._add_row,
            stop=self._stop,
            after=self._after_read,
            on_error=self._read_failed,
            paused=lambda: bool(self.pause.value),
        )
        self._thread = self._follower.thread
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread and wait for it to end."""
        self._stop.set()
        self._thread = None
        self._follower.stop(timeout)

    @property
    def running(self) -> bool:
        """True while the background thread is polling."""
        return self._thread is not None and self._thread.is_alive()

    # The background thread: the follower reads, these take what it read.

    def _add_row(self, table: str, row: dict[str, Any]) -> None:
        try:
            with self._lock:
                self._add(table, row)
        except Exception as exc:  # a broken row must not kill the tail silently
            self.message.error(exc)

    def _after_read(self, page: list[tuple[str, dict[str, Any]]]) -> None:
        self._check_receiver()
        if page:
            self._redraw()

    def _read_failed(self, exc: Exception) -> bool:
        # Shown, and retried by the follower; a closed store ends the thread (nothing can come).
        self._problem(_store_problem(exc) if isinstance(exc, ToolkitError) else describe_error(exc))
        if self.store_closed:
            self._problem(_CLOSED)
            return True
        return False

    @property
    def store_closed(self) -> bool:
        """True once the store was closed (no more rows can arrive)."""
        try:
            self.store.last_seq()
        except StoreError:
            return True
        return False

    # -- counters ------------------------------------------------------------------------------

    @property
    def calls(self) -> int:
        """CDRs read that match the current filters."""
        return sum(self._matching_counts().values())

    @property
    def answered(self) -> int:
        """Answered CDRs among :attr:`calls`."""
        return self._matching_counts()["answered"]

    @property
    def answer_rate(self) -> float | None:
        """answered / calls, or ``None`` before the first CDR."""
        calls = self.calls
        return self.answered / calls if calls else None

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows on display (newest first), raw numbers included: do not print them."""
        return self._visible()[: self.max_rows]

    # -- internals -----------------------------------------------------------------------------

    def _add(self, table: str, row: dict[str, Any]) -> None:
        entry = _cdr_entry(row) if table == "cdrs" else _event_entry(row)
        self._entries.append(entry)
        if table == "cdrs":
            self._by_outcome_x[(entry["outcome"], entry["x"] or "")] += 1

    def _x_filter(self) -> str | None:
        """The X number to filter on, normalised like the platform writes it; '' if invalid."""
        typed = self.x_number.value.strip()
        if not typed:
            return None
        try:
            return normalize(typed, param="x_number")
        except ToolkitError as exc:
            self.message.error(exc)
            return ""

    def _matching_counts(self) -> Counter[str]:
        wanted_x = self._x_filter()
        wanted_outcome = self.outcome.value
        counts: Counter[str] = Counter()
        with self._lock:
            for (outcome, x), n in self._by_outcome_x.items():
                if wanted_x is not None and x != wanted_x:
                    continue
                if wanted_outcome != ALL and outcome != wanted_outcome:
                    continue
                counts[outcome] += n
        return counts

    def _visible(self) -> list[dict[str, Any]]:
        wanted_x = self._x_filter()
        wanted_outcome = self.outcome.value
        with self._lock:
            entries = list(self._entries)
        # Newest first by the record's own time (then by arrival): a CDR is written when its
        # call ends, after events of calls that started later, so arrival order is not time order.
        entries.sort(key=lambda e: (e["epoch"], e["seq"]), reverse=True)
        shown = []
        for entry in entries:
            if entry["kind"] != "CDR" and not self.show_events.value:
                continue
            if wanted_outcome != ALL and entry["outcome"] != wanted_outcome:
                continue
            if wanted_x is not None and wanted_x not in (entry["x"], entry["callee"]):
                continue
            shown.append(entry)
        return shown

    def _redraw(self) -> None:
        calls, answered = self.calls, self.answered
        rate = f"{answered / calls:.0%}" if calls else "n/a"
        state = " · paused" if self.pause.value else ""
        self.counters.value = (
            f"<b>{calls}</b> calls · <b>{answered}</b> answered · answer rate <b>{rate}</b>{state}"
        )
        self.table.value = html_table(
            self.rows,
            _COLUMNS,
            numbers=_NUMBER_COLUMNS,
            outcome="outcome",
            empty="no CDRs or events yet" if not self._entries else "nothing matches the filters",
        )

    def _on_pause(self, change: dict[str, Any]) -> None:
        self.pause.description = "Resume" if change["new"] else "Pause"
        self.pause.icon = "play" if change["new"] else "pause"
        if change["new"]:
            self._redraw()
        else:
            self.poll_once()
            self._redraw()

    def _check_receiver(self) -> None:
        receiver = self.receiver
        if receiver is None:
            return
        if not receiver.running:
            self._problem(
                "The receiver is stopped: no new CDRs will arrive. Start it with receiver.start()."
            )
        elif self._shown_problem:
            self._shown_problem = False
            self.message.clear()

    def _problem(self, text: str) -> None:
        self._shown_problem = True
        self.message.error(text)


_CLOSED = "The store is closed (was the receiver stopped?): no new CDRs will arrive."


def _store_problem(exc: BaseException) -> str:
    if isinstance(exc, StoreError) and "closed" in str(exc):
        return _CLOSED
    return describe_error(exc)


def _time(epoch: Any) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(float(epoch), timezone.utc).strftime("%m-%d %H:%M:%S")


def _epoch(value: Any) -> float:
    """A sort key for a record's time; records without one sort as the oldest."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("-inf")


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _marked(text: str | None, unreadable: tuple[str, ...]) -> str | None:
    """Name the values a badly written row could not show (:func:`toolkit.tail.readable_row`)."""
    if not unreadable:
        return text
    return f"{text or ''} [unreadable: {', '.join(unreadable)}]".lstrip()


def _cdr_entry(stored: dict[str, Any]) -> dict[str, Any]:
    """A display row for one stored CDR (raw numbers; the table masks them)."""
    row, unreadable = readable_row(stored)
    cdr = record("cdrs", stored)  # never raises: a bad row gives a record with gaps
    # The durations come from the row's columns, like the tail line's and cdr_frame's.
    ring, talk = _seconds(schema.ring_seconds(row)), _seconds(schema.talk_seconds(row))
    verdict = explain(row)
    when = row.get("call_end_time") or row.get("fail_time") or row.get("call_in_time")
    return {
        "seq": row["seq"],
        "epoch": _epoch(when),
        "time": _time(when),
        "kind": "CDR",
        "caller": row.get("caller_num"),
        "x": row.get("bind_num"),
        "callee": row.get("fwd_dst_num") or row.get("callee_num"),
        "outcome": verdict.outcome,
        "cause": _marked(verdict.text, unreadable + cdr.unreadable),
        "ring": ring,
        "talk": talk,
    }


def _event_entry(stored: dict[str, Any]) -> dict[str, Any]:
    """A display row for one call event; only a disconnect carries an outcome and a cause."""
    row, unreadable = readable_row(stored)
    outcome = cause = None
    if row.get("state_code") is not None:
        verdict = explain(row)
        outcome, cause = verdict.outcome, verdict.text
    elif row.get("state_desc"):
        cause = row["state_desc"]
    cause = _marked(cause, unreadable)
    return {
        "seq": row["seq"],
        "epoch": _epoch(row.get("timestamp")),
        "time": _time(row.get("timestamp")),
        "kind": str(row.get("event_type") or "event"),
        "caller": row.get("caller"),
        "x": None,
        "callee": row.get("called"),
        "outcome": outcome,
        "cause": cause,
        "ring": "",
        "talk": "",
    }
