"""The emulated platform's state and rules. No HTTP here: the WSGI app and the notebook API both
call :class:`Backend`, so the rules live in one place.

Operations take the platform's own field names in a :class:`~toolkit.emulator.params.Params`
and return the response fields; refusals are :class:`~toolkit.emulator.errors.PlatformError`.
Time comes from an injectable clock (epoch seconds), so expiry is testable without sleeping.
Pushes leave through a :class:`~toolkit.emulator.pushes.Pushes` object (the delivery worker, or
nothing). Calls are remembered in a :class:`~toolkit.emulator.history.CallHistory`: live calls
always, finished calls in a window of the newest ``max_calls``.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ..auth import SCHEMES
from ..errors import InvalidNumberError
from ..numbers import normalize
from . import errors as e
from .bindings import BindingStore
from .calls import Call, build_call, profile_for, session_id, stop
from .flow import RateLimit
from .history import DEFAULT_MAX_CALLS, CallHistory
from .messaging import Messaging
from .model import AREAS, MODES, STATUS_NORMAL, App, Route, XNumber
from .modes import AxbRules, AxeRules, AxRules, AxybRules
from .modes.x import block_route
from .params import Params
from .pushes import NullPushes, Pushes
from .voice import VoiceRules

Clock = Callable[[], float]
MAX_SIMULATE = 100_000  # per call of simulate(): a typo must not queue a billion calls
MAX_SPAN = 31 * 86_400  # the console keeps 31 days of records; older traffic is not interesting
# Relative call volume per Beijing hour (00-23): quiet nights, busy mornings and evenings.
_HOURLY = (2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 10, 11, 12, 12, 11, 11, 12, 13, 12, 9, 6, 3)
_BEIJING = 8 * 3600


def _daytime(rng: random.Random, end: float, span: float) -> float:
    """A start time in ``(end - span, end]`` drawn with the :data:`_HOURLY` weights."""
    peak = max(_HOURLY)
    while True:
        t = end - rng.random() * span
        if rng.random() * peak < _HOURLY[int((t + _BEIJING) // 3600) % 24]:
            return t


# operation name -> (mode of the app allowed to call it, rules attribute, method)
OPERATIONS: dict[str, tuple[str, str, str]] = {
    **{f"axb.{op}": ("axb", "axb", op) for op in ("bind", "unbind", "modify", "query")},
    **{f"ax.{op}": ("ax", "ax", op) for op in ("bind", "unbind", "modify", "query", "set_callee")},
    **{f"axe.{op}": ("axe", "axe", op) for op in ("bind", "unbind", "modify", "query", "query_v2")},
    **{f"axyb.{op}": ("axyb", "axyb", op) for op in ("bind", "unbind", "query")},
    **{f"voice.{op}": ("voice", "voice", op) for op in ("click2call", "notify", "verify")},
}


class Backend:
    """Apps, numbers, bindings, calls and recordings of one emulated platform.

    ``max_calls`` bounds the finished calls remembered (oldest dropped first; live calls are
    always kept), so a long-running emulator's memory stays bounded.
    """

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        seed: int | None = None,
        max_calls: int = DEFAULT_MAX_CALLS,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.limits: dict[str, RateLimit] = {}  # app_key -> flow control, for the apps that have it
        self.store = BindingStore(self._new_id)
        self.axb, self.ax = AxbRules(self.store), AxRules(self.store)
        self.axe, self.axyb = AxeRules(self.store), AxybRules(self.store)
        self.voice = VoiceRules(self)
        self.messaging = Messaging(self)
        self.calls = CallHistory(max_calls)
        self.pushes: Pushes = NullPushes(self.calls.finished)
        self.scripted: deque[str] = deque()
        self._seq = 0
        self._taken: set[str] = set()

    # ---- apps and numbers ------------------------------------------------------------------

    def add_app(
        self,
        mode: str = "axb",
        *,
        app_key: str | None = None,
        app_secret: str | None = None,
        numbers: int | Iterable[str] = 10,
        extension_length: int = 4,
        status_url: str | None = None,
        fee_url: str | None = None,
        sms_url: str | None = None,
        sms_block_url: str | None = None,
        numstatus_url: str | None = None,
        record_enabled: bool = True,
        auth_scheme: str = "aksk",
        rate_limit: float | None = None,
        burst: int | None = None,
    ) -> App:
        """Create an app of ``mode`` with its own number pool (random credentials unless given);
        its pushes are signed with ``auth_scheme`` (``aksk``: X-AKSK, ``wsse``: X-WSSE).

        ``rate_limit`` (requests per second, ``burst`` at once) turns on flow control for the
        app's API calls (:mod:`toolkit.emulator.flow`); off by default.
        """
        limit = None if rate_limit is None else RateLimit(rate_limit, burst)
        mode = mode.lower()
        if mode not in MODES:
            raise e.EmulatorError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if auth_scheme not in SCHEMES:
            raise e.EmulatorError(f"auth_scheme must be one of {', '.join(SCHEMES)}")
        if not 1 <= extension_length <= 4:
            raise e.EmulatorError("extension_length must be 1-4 digits")
        with self.lock:
            key = app_key or secrets.token_hex(12)
            if key in self.apps:
                raise e.EmulatorError("an app with this app_key exists already")
            pool = (
                self._new_numbers(numbers, fixed=mode == "voice")
                if isinstance(numbers, int)
                else _pool(numbers)
            )
            app = App(
                key,
                app_secret or secrets.token_urlsafe(24),
                mode,
                {n: XNumber(n, AREAS[i % len(AREAS)]) for i, n in enumerate(pool)},
                extension_length,
                status_url,
                fee_url,
                sms_url,
                sms_block_url,
                numstatus_url,
                record_enabled,
                auth_scheme=auth_scheme,  # narrowed to a Scheme by the check above
            )
            self._taken.update(pool)
            self.apps[key] = app
            if limit is not None:
                self.limits[key] = limit
            return app

    def set_rate_limit(self, app_key: str, rate: float | None, burst: int | None = None) -> None:
        """Turn flow control on for an app (``rate`` requests per second), or off (``None``)."""
        limit = None if rate is None else RateLimit(rate, burst)
        with self.lock:
            if app_key not in self.apps:
                raise e.EmulatorError("no app with this app_key in this emulator")
            if limit is None:
                self.limits.pop(app_key, None)
            else:
                self.limits[app_key] = limit

    def _new_numbers(self, count: int, *, fixed: bool) -> list[str]:
        out: list[str] = []
        while len(out) < count:
            # X: virtual-operator 170 range; VoiceCall display numbers: Shenzhen fixed lines.
            n = (
                f"+86755{self.rng.randrange(10**8):08d}"
                if fixed
                else f"+86170{self.rng.randrange(10**8):08d}"
            )
            if n not in self._taken and n not in out:
                out.append(n)
        return out

    def secret_for(self, app_key: str) -> str | None:
        """The APP_Secret of a key (``None`` if unknown), for signature checks."""
        app = self.apps.get(app_key)
        return app.app_secret if app else None

    def owner_of(self, number: str) -> App | None:
        return next((a for a in self.apps.values() if number in a.numbers), None)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def now(self) -> float:
        return self.clock()

    # ---- API operations ----------------------------------------------------------------------

    def handle(self, app_key: str, operation: str, params: Params) -> dict[str, Any]:
        """Run one API operation for an authenticated app; return the success envelope."""
        mode, rules, method = OPERATIONS[operation]
        limit = self.limits.get(app_key)
        if limit is not None:
            limit.take()  # refused before anything changes, as a throttled request must be
        with self.lock:
            app = self.apps[app_key]
            if app.mode != mode:
                raise e.wrong_mode()
            now = self.clock()
            self.store.sweep(now)
            out = getattr(getattr(self, rules), method)(app, params, now)
        return {"resultcode": "0", "resultdesc": "Success", **out}

    def record_location(self, app_key: str, params: Params) -> str:
        """Check a recording exists for this app; return its file name (for the 301 Location)."""
        name = params.text("fileName", required=True, max_len=256)
        domain = params.text("recordDomain", required=True, max_len=128)
        if self.calls.recording_domain(app_key, name) != domain:
            raise e.not_found()
        return name

    def has_recording(self, name: str) -> bool:
        """Whether a remembered call has a recording file of this name."""
        return self.calls.has_recording(name)

    def call(self, session_id: str) -> Call:
        """The remembered call with this session id (live, or among the newest finished)."""
        call = self.calls.get(session_id)
        if call is None:
            raise e.EmulatorError(
                f"no call with sessionId {session_id!r} in this emulator (unknown, or older "
                f"than the newest {self.calls.max_finished} finished calls it keeps)"
            )
        return call

    def stop_call(self, app_key: str, params: Params) -> dict[str, Any]:
        """End a live call (both parties released)."""
        # Samples send "sessionid", the PN text says "sessionId": unconfirmed, we accept both.
        name = "sessionid" if params.has("sessionid") else "sessionId"
        sid = params.text(name, required=True, max_len=256)
        signal = params.text("signal", required=True, max_len=128)
        if signal != "call_stop":
            raise e.invalid("signal", "must be call_stop.")
        with self.lock:
            call = self.calls.get(sid)
            if call is None or call.app_key != app_key or call.ended:
                # The code for an already ended call is undocumented: "record does not exist".
                raise e.not_found()
            stop(call, max(0.0, min(self.pushes.elapsed(call), call.end_offset)))
            call.generation += 1
            self.pushes.play(call)
        return {"resultcode": "0", "resultdesc": "Success"}

    # ---- calls -------------------------------------------------------------------------------

    def script(self, *outcomes: str) -> None:
        """Queue outcomes for the next calls that do not name one (VoiceCall calls included)."""
        for outcome in outcomes:
            profile_for(outcome, self.rng)  # refuse unknown names now
        with self.lock:
            self.scripted.extend(outcomes)

    def next_outcome(self, outcome: str | None) -> str | None:
        if outcome is None and self.scripted:
            return self.scripted.popleft()
        return outcome

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def place_call(
        self,
        caller: str,
        called: str,
        extension: str | None = None,
        outcome: str | None = None,
        talk_seconds: int | None = None,
        at: float | None = None,
    ) -> Call:
        """A caller dials X (``called``); the call is routed through the bindings and played.

        ``at`` backdates the call to that epoch (default: the clock's now), so that simulated
        traffic can fill a past day or week; bindings are still resolved as they are now.
        """
        # Any spelling the client accepts ("138 0000 0001", "0755-28000001", tel: URIs).
        caller, called = _number(caller, "caller"), _number(called, "called")
        if extension is not None and (not isinstance(extension, str) or not extension.isdigit()):
            raise e.EmulatorError("extension must be a string of digits")
        if talk_seconds is not None and (
            isinstance(talk_seconds, bool) or not isinstance(talk_seconds, int) or talk_seconds < 0
        ):
            raise e.EmulatorError("talk_seconds must be a non-negative integer")
        with self.lock:
            app = self.owner_of(called)
            if app is None or app.mode == "voice":
                raise e.EmulatorError("called is not a privacy number of this emulator")
            profile = profile_for(self.next_outcome(outcome), self.rng)
            now = self.clock() if at is None else at
            seq = self.next_seq()
            sid = session_id(self.rng, now, seq)
        # X mode asks the customer's server (Block callin) outside the lock: it may be slow.
        route = block_route(app, caller, called, sid, now, self.pushes) if app.mode == "x" else None
        with self.lock:
            self.store.sweep(now)
            if route is None:
                route = self._route(app, caller, called, extension, now)
            if route.release is None and route.party_fixed_line:
                route.release = 8023  # fixed lines may only receive calls from X
            call = build_call(
                route, profile, talk_seconds=talk_seconds, start=now, rng=self.rng, seq=seq, sid=sid
            )
            if app.mode == "x":
                call.meta["callin_sent"] = True  # the Block callin was answered synchronously
            self.register_call(call)
        return call

    def _route(
        self, app: App, caller: str, called: str, extension: str | None, now: float
    ) -> Route:
        if not app.numbers[called].usable:
            return Route(app, caller, called, release=8055)
        if app.mode == "axb":
            return self.axb.route(app, caller, called, now)
        if app.mode == "ax":
            return self.ax.route(app, caller, called, now)
        if app.mode == "axe":
            return self.axe.route(app, caller, called, extension, now)
        return self.axyb.route(app, caller, called, now)

    def register_call(self, call: Call) -> None:
        """Remember a newly built call (PrivateNumber or VoiceCall) and start playing it."""
        call.meta["app_obj"] = self.apps[call.app_key]
        self.calls.add(call)
        self.pushes.play(call)

    def simulate(
        self,
        n: int,
        seed: int | None = None,
        app_key: str | None = None,
        span: float = 0.0,
    ) -> list[Call]:
        """Place ``n`` realistic calls over the current bindings (seeded: same seed, same calls).

        With ``span`` (seconds) the calls start over the ``span`` before now, more of them in
        the Beijing daytime and evening than at night, instead of all at the current time.
        """
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_SIMULATE:
            raise e.EmulatorError(f"calls must be an integer from 0 to {MAX_SIMULATE}")
        if isinstance(span, bool) or not isinstance(span, int | float) or not 0 <= span <= MAX_SPAN:
            raise e.EmulatorError(f"span must be a number of seconds from 0 to {MAX_SPAN}")
        with self.lock:
            rng = random.Random(seed) if seed is not None else self.rng
            bindings = [
                b
                for b in self.store.by_id.values()
                if (app_key is None or b.app_key == app_key) and b.mode != "x"
            ]
            if not bindings and n:
                raise e.EmulatorError("no bindings to call through: bind some numbers first")
            bindings.sort(key=lambda b: b.subscription_id)
            plans = [self._traffic(rng, rng.choice(bindings)) for _ in range(n)]
            end = self.clock()
            starts = sorted(_daytime(rng, end, span) for _ in plans) if span else [None] * n
        return [self.place_call(*plan, at=at) for plan, at in zip(plans, starts, strict=True)]

    def _traffic(self, rng: random.Random, b: Any) -> tuple[str, str, str | None, str | None]:
        """Who calls whom for one simulated call through binding ``b`` (mostly valid calls)."""
        stranger = f"+86139{rng.randrange(10**8):08d}"
        if rng.random() < 0.03:  # someone dials a number that is no longer bound
            spare = [n for n in self.apps[b.app_key].numbers if n not in (b.x, b.y)]
            if spare and b.mode in ("axb", "ax"):
                return stranger, rng.choice(spare), None, None
        if b.mode == "axb":
            return (b.a, b.x, None, None) if rng.random() < 0.6 else (b.b, b.x, None, None)
        if b.mode == "ax":
            if b.temp_callee and rng.random() < 0.3:
                return b.a, b.x, None, None
            return stranger, b.x, None, None
        if b.mode == "axe":
            return stranger, b.x, b.extension, None
        if b.b and rng.random() < 0.5:
            return b.a, b.y, None, None
        return (b.b or stranger), b.x, None, None

    # ---- messaging, number status, inspection ---------------------------------------------------

    def send_sms(self, sender: str, to: str, text: str) -> dict[str, Any]:
        """An SMS from ``sender`` to privacy number ``to``, forwarded and pushed per the mode."""
        return self.messaging.send_sms(sender, to, text)

    def set_number_status(
        self, number: str, status: str, cause: str | None = None
    ) -> dict[str, Any]:
        """Change an X number's status and push ``numStatus`` (spec §10.4)."""
        return self.messaging.set_number_status(number, status, cause)

    def bindings(self, app_key: str | None = None) -> list[dict[str, Any]]:
        """Every live binding, as its mode's query API shows it, plus ``mode``/``appKey``."""
        with self.lock:
            self.store.sweep(self.clock())
            rules: dict[str, AxbRules | AxRules | AxeRules | AxybRules] = {
                "axb": self.axb,
                "ax": self.ax,
                "axe": self.axe,
                "axyb": self.axyb,
            }
            return [
                {"mode": b.mode, "appKey": b.app_key, **rules[b.mode].item(b)}
                for b in self.store.by_id.values()
                if app_key in (None, b.app_key)
            ]

    def call_summaries(self, app_key: str | None = None) -> list[dict[str, Any]]:
        """The remembered calls (all apps unless one is named), as the control API lists them:
        every live call and the newest finished ones, oldest placed first."""
        with self.lock:  # not while a stop-call is rewriting a call
            return [c.summary() for c in self.calls.snapshot() if app_key in (None, c.app_key)]

    def reset(self) -> None:
        """Forget bindings, calls, recordings and number statuses; apps and keys stay."""
        with self.lock:
            self.store.clear()
            for rules in (self.axb, self.ax, self.axe, self.axyb):
                rules.clear()
            self.calls.clear()
            self.scripted.clear()
            for app in self.apps.values():
                for number in app.numbers.values():
                    number.status, number.cause = STATUS_NORMAL, None


def _number(value: object, name: str) -> str:
    """``value`` in the platform's global format, read as the client reads numbers; the
    international numbers the client passes through are accepted too."""
    try:
        return normalize(value, param=name)
    except InvalidNumberError as exc:
        raise e.EmulatorError(str(exc)) from None


def _pool(numbers: Iterable[str]) -> list[str]:
    """The privacy numbers an app is given, normalised and without repeats."""
    if isinstance(numbers, str):
        raise e.EmulatorError("numbers must be a count or a list of number strings")
    pool = [_number(n, "numbers") for n in numbers]
    if not pool or len(set(pool)) != len(pool):
        raise e.EmulatorError("numbers must be a non-empty list of distinct numbers")
    return pool
