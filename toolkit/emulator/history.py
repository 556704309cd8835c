"""The calls the emulator remembers: every live call, and a window of the newest finished ones.

An emulator left running (a notebook kernel, ``python -m toolkit emulator`` under load) places
calls without end, and each finished call kept costs a few kilobytes (its events, its CDR, its
route). :class:`CallHistory` keeps at most ``max_finished`` finished calls, dropping the oldest
finished first, so memory stays bounded however long it runs. A live call is never dropped: its
remaining events are still to be pushed and the stop-call API must still find it. A recording is
forgotten with its call (its download link then answers "record does not exist").
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .calls import Call
from .errors import EmulatorError

DEFAULT_MAX_CALLS = 10_000


class CallHistory:
    """Calls by session id, with at most ``max_finished`` finished calls kept.

    Thread-safe: calls are added on request threads and finish on the delivery worker's thread.
    """

    def __init__(self, max_finished: int = DEFAULT_MAX_CALLS) -> None:
        if isinstance(max_finished, bool) or not isinstance(max_finished, int) or max_finished < 1:
            raise EmulatorError("max_calls must be an integer >= 1")
        self.max_finished = max_finished
        self._lock = threading.Lock()
        self._calls: dict[str, Call] = {}  # insertion order = order placed
        self._finished: OrderedDict[str, None] = OrderedDict()  # order finished
        self._recordings: dict[tuple[str, str], str] = {}  # (app_key, file name) -> domain

    def add(self, call: Call) -> None:
        """Remember a newly placed call (and its recording, if it has one)."""
        with self._lock:
            self._calls[call.session_id] = call
            name = call.cdr.get("recordObjectName")
            if name:
                self._recordings[(call.app_key, name)] = call.cdr["recordDomain"]
                call.meta["recording"] = name  # the CDR loses the name if the call is stopped

    def finished(self, call: Call) -> None:
        """Note that ``call`` has ended; drop the oldest finished calls beyond the window.

        Idempotent, and a call not (or no longer) remembered, e.g. after :meth:`clear`, is
        ignored."""
        with self._lock:
            sid = call.session_id
            if self._calls.get(sid) is not call or sid in self._finished:
                return
            self._finished[sid] = None
            while len(self._finished) > self.max_finished:
                old, _ = self._finished.popitem(last=False)
                dropped = self._calls.pop(old)
                name = dropped.meta.get("recording")
                if name:
                    self._recordings.pop((dropped.app_key, name), None)

    def get(self, session_id: str) -> Call | None:
        """The call with this session id, or None if unknown or dropped from the window."""
        with self._lock:
            return self._calls.get(session_id)

    def snapshot(self) -> list[Call]:
        """The remembered calls, oldest placed first."""
        with self._lock:
            return list(self._calls.values())

    def finished_count(self) -> int:
        with self._lock:
            return len(self._finished)

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def recording_domain(self, app_key: str, name: str) -> str | None:
        """The domain of ``app_key``'s recording file ``name``, or None if there is none."""
        with self._lock:
            return self._recordings.get((app_key, name))

    def has_recording(self, name: str) -> bool:
        with self._lock:
            return any(file == name for _, file in self._recordings)

    def clear(self) -> None:
        """Forget every call and recording."""
        with self._lock:
            self._calls.clear()
            self._finished.clear()
            self._recordings.clear()
