"""The seam between the platform's rules and the delivery of what it pushes.

The backend, the VoiceCall rules and the SMS rules hand calls and pushes to a :class:`Pushes`
object; the delivery worker (:class:`~toolkit.emulator.delivery.Deliverer`) is the real one and
:class:`NullPushes` (calls end at once, nothing is sent) serves a bare backend. Keeping the
protocol here lets the rules depend on it without importing the backend or the delivery worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .calls import Call
from .model import App


class Pushes(Protocol):
    """Where the platform's rules send what the platform pushes."""

    def play(self, call: Call) -> None:
        """Play a call's steps back in (scaled) real time, pushing events and its CDR; once the
        last step is played, set ``call.ended`` and report the call to the ``on_call_end`` hook
        the implementation was built with (the backend's call history)."""

    def push(self, app: App, kind: str, url: str, body: dict[str, Any]) -> None:
        """Deliver one signed push with retries."""

    def ask(self, app: App, kind: str, url: str, body: dict[str, Any]) -> Any:
        """Deliver one Block-mode push synchronously and return the parsed JSON reply (or None)."""

    def elapsed(self, call: Call) -> float:
        """Simulated seconds since the call reached X."""


class NullPushes:
    """Pushes that go nowhere: calls end at once. Used by a bare backend."""

    def __init__(self, on_call_end: Callable[[Call], None] | None = None) -> None:
        self.on_call_end = on_call_end

    def play(self, call: Call) -> None:
        call.ended = True
        if self.on_call_end is not None:
            self.on_call_end(call)

    def push(self, app: App, kind: str, url: str, body: dict[str, Any]) -> None:
        return None

    def ask(self, app: App, kind: str, url: str, body: dict[str, Any]) -> Any:
        return None

    def elapsed(self, call: Call) -> float:
        return call.end_offset
