"""Flow control: an app's rate limit, refused as the platform refuses it.

Off unless asked for, per app (``Emulator.add_app(mode, rate_limit=5)``,
:meth:`Emulator.rate_limit <toolkit.emulator.Emulator.rate_limit>`, or the CLI's
``--rate-limit``). A token bucket: ``rate`` requests per second on average, ``burst`` at once.
A request over the limit is answered ``1010010`` "The flow control upper limit is reached on the
platform." and changes nothing, so clients can rehearse their retries against it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from . import errors as e

FLOW_CONTROL_CODE = "1010010"
FLOW_CONTROL_DESC = "The flow control upper limit is reached on the platform."
# The platform's HTTP status for flow control is not documented ("?" in the spec's table); 1010010
# also means "invalid digest" with HTTP 401, so the emulator answers 403, the status of the other
# business refusals, which clients read as throttling (toolkit.errors.api_error). Unconfirmed.
FLOW_CONTROL_STATUS = 403


class RateLimit:
    """A token bucket: ``rate`` requests per second, up to ``burst`` at once (default: ``rate``
    rounded up, at least 1). ``clock`` is monotonic seconds (injectable for tests)."""

    def __init__(
        self, rate: float, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise e.EmulatorError("rate_limit must be a number of requests per second")
        if not 0 < rate <= 1_000_000 or math.isnan(rate):
            raise e.EmulatorError("rate_limit must be more than 0 and at most 1000000 per second")
        if burst is None:
            burst = max(1, math.ceil(rate))
        if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= 1_000_000:
            raise e.EmulatorError("burst must be a whole number from 1 to 1000000")
        self.rate, self.burst, self.clock = float(rate), burst, clock
        self.refused = 0  # requests answered with flow control, for inspection
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Let one request through, or raise the platform's flow-control refusal."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            self.refused += 1
        raise e.PlatformError(FLOW_CONTROL_CODE, FLOW_CONTROL_DESC, FLOW_CONTROL_STATUS)

    def __repr__(self) -> str:
        return f"RateLimit(rate={self.rate:g}/s, burst={self.burst}, refused={self.refused})"
