"""Traffic to watch: calls placed in the background at a visible pace, on a clock that agrees.

Notebooks that show a live view (the CDR tail) need calls that keep arriving for a while, without
blocking the kernel: :class:`BackgroundTraffic` places one simulated call every ``every`` seconds
in a daemon thread until it has placed ``calls`` or :meth:`~BackgroundTraffic.stop` is called.

The emulator plays calls ``1 / time_scale`` times faster than real time, but by default writes
wall-clock times into events and CDRs: a five-minute call at ``time_scale=0.001`` ends 0.3 s later
with an end time five minutes ahead. :class:`SimulatedClock` runs at the same speed as the
playback, so every time written is the simulated "now" at which it is delivered::

    scale = 0.01
    emu = Emulator("axb", time_scale=scale, clock=SimulatedClock(scale), fee_url=...)
    traffic = BackgroundTraffic(emu, calls=60, every=1.0, seed=3).start()
    traffic.stop()      # or the Stop button of toolkit.widgets.TrafficControl
"""

from __future__ import annotations

import atexit
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import ToolkitError, ValidationError

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger("toolkit.traffic")

MAX_CALLS = 100_000


class SimulatedClock:
    """Epoch seconds that advance ``1 / time_scale`` simulated seconds per real second.

    Give it to an :class:`~toolkit.emulator.Emulator` with the same ``time_scale``: a call placed
    at simulated time ``t`` then has its events and CDR delivered when this clock reads their
    own times, so no time shown is ahead of the clock and arrival order is time order.
    ``start`` is the simulated epoch at creation (default: now).
    """

    def __init__(self, time_scale: float, start: float | None = None) -> None:
        if (
            isinstance(time_scale, bool)
            or not isinstance(time_scale, int | float)
            or not math.isfinite(time_scale)
            or time_scale <= 0
        ):
            raise ValidationError("time_scale", "must be a number > 0 (real s per simulated s)")
        self.time_scale = float(time_scale)
        self._start = time.time() if start is None else float(start)
        self._origin = time.monotonic()

    def __call__(self) -> float:
        return self._start + (time.monotonic() - self._origin) / self.time_scale

    def __repr__(self) -> str:
        return f"SimulatedClock(time_scale={self.time_scale})"


class BackgroundTraffic:
    """Place ``calls`` simulated calls, one every ``every`` real seconds, in a daemon thread.

    Calls go over the emulator's current bindings, as :meth:`Emulator.simulate` places them
    (``seed`` makes the sequence reproducible). The thread never blocks the caller: :meth:`start`
    returns at once, :meth:`stop` ends it early, and it is stopped when the interpreter exits
    (a notebook kernel shutting down does not wait for it). ``on_change`` is called from the
    thread after each call and once at the end, e.g. to update a widget.
    """

    def __init__(
        self,
        emulator: Emulator,
        *,
        calls: int = 60,
        every: float = 1.0,
        seed: int | None = None,
        on_change: Callable[[BackgroundTraffic], None] | None = None,
    ) -> None:
        if isinstance(calls, bool) or not isinstance(calls, int) or not 1 <= calls <= MAX_CALLS:
            raise ValidationError("calls", f"must be an integer from 1 to {MAX_CALLS}")
        if (
            isinstance(every, bool)
            or not isinstance(every, int | float)
            or not math.isfinite(every)
            or every < 0
        ):
            raise ValidationError("every", "must be a number of seconds >= 0")
        self.emulator = emulator
        self.calls = calls
        self.every = float(every)
        self.on_change = on_change
        self.placed = 0
        self.error: str | None = None
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundTraffic:
        """Start placing calls; returns self at once. Idempotent while running."""
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="background-traffic", daemon=True)
        # At interpreter exit the thread is told to stop before the modules it uses go away.
        atexit.register(self._stop.set)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop placing calls and wait (up to ``timeout`` s) for the thread to end."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        atexit.unregister(self._stop.set)

    def wait(self, timeout: float) -> bool:
        """Wait until every call was placed or the traffic stopped; True if it has ended."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        """True while the thread is placing calls."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> str:
        """One line for a person: how many calls were placed and whether it goes on."""
        state = "running" if self.running else "stopped"
        if self.error:
            state = f"stopped: {self.error}"
        elif not self.running and self.placed == self.calls:
            state = "done"
        return f"{self.placed} of {self.calls} calls placed, one every {self.every:g} s · {state}"

    def _run(self) -> None:
        try:
            for index in range(self.calls):
                if self._stop.wait(self.every if index else 0):
                    break
                try:
                    self.emulator.simulate(1, seed=self._rng.randrange(2**32))
                except ToolkitError as exc:  # e.g. every binding was removed meanwhile
                    self.error = str(exc)
                    break
                self.placed += 1
                self._changed()
        except Exception:  # a background thread has nobody to raise to: log it and end
            log.exception("background traffic failed")
            self.error = "unexpected error, see the 'toolkit.traffic' log"
        finally:
            self._thread_done()

    def _thread_done(self) -> None:
        # Seen as stopped by on_change: the thread is about to end.
        self._stop.set()
        self._changed(final=True)

    def _changed(self, *, final: bool = False) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(self)
        except Exception:
            log.exception("on_change of background traffic failed%s", " (final)" if final else "")

    def __repr__(self) -> str:
        return f"BackgroundTraffic({self.status})"
