"""Pushes to the customer's servers: signed JSON POSTs, retried on the documented schedule.

One scheduler thread plays calls back (each step at ``offset * time_scale`` real seconds), batches
CDRs (at most 50 per ``fee`` push) and schedules retries; a few worker threads do the HTTP, with
timeouts, so a customer server that hangs never stalls the emulator or the request path.
Every attempt is recorded for the inspection endpoint. PrivateNumber pushes are signed like API
requests, VoiceCall pushes with the §2.4 digest, which also covers the push URL.

Success is HTTP 200; a JSON reply whose ``resultcode`` is not ``"0"`` is a failure too (VoiceCall
documents this for fee pushes; we apply it to all pushes). Retry schedules (spec §10 / VoiceCall
§7): PrivateNumber events, CDRs, SMS and number status after 1, 4, 9, 106, 203 and 300 minutes
(SMS intervals are unpublished: we use the same); VoiceCall CDRs six times an hour apart;
VoiceCall status pushes never.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ..auth import sign_headers, sign_push_headers
from ..errors import ValidationError
from .calls import Call
from .model import App
from .pushconn import PushConnections, PushResponse, _PushFailed

PN_RETRY_MINUTES: tuple[int, ...] = (1, 4, 9, 106, 203, 300)
VOICE_FEE_RETRY_MINUTES: tuple[int, ...] = (60,) * 6
BATCH_SIZE = 50
LINGER = 0.02  # real seconds a CDR waits for others ending at the same time, to share a push
_HEADERS = {"Content-Type": "application/json;charset=UTF-8"}


@dataclass
class Attempt:
    """One delivery attempt, as ``GET /_emulator/deliveries`` lists it."""

    id: int
    kind: str
    url: str
    app_key: str
    attempt: int
    ok: bool
    status: int | None
    error: str | None
    at: float
    event_type: str
    session_ids: list[str]
    count: int
    next_retry_in: float | None = None  # simulated seconds; None when final
    body: dict[str, Any] | None = field(default=None, repr=False)

    def to_json(self, with_body: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not with_body:
            out.pop("body")
        return {_camel(k): v for k, v in out.items()}


class AttemptLog:
    """The newest attempts, as many as hold at most ``size`` pushed items in all.

    An attempt weighs what it carries (a ``fee`` push of 50 CDRs weighs 50, an event 1): each
    attempt keeps its body, so counting attempts alone would let a log of CDR batches hold fifty
    times more than its size says. The newest attempt is always kept.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: deque[Attempt] = deque()
        self._weight = 0
        self._lock = threading.Lock()  # appended to from every push worker

    def append(self, attempt: Attempt) -> None:
        with self._lock:
            self._items.append(attempt)
            self._weight += attempt.count
            while self._weight > self.size and len(self._items) > 1:
                self._weight -= self._items.popleft().count

    def __iter__(self) -> Iterator[Attempt]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@dataclass
class _Push:
    app: App
    kind: str
    url: str
    body: dict[str, Any]
    schedule: tuple[int, ...]
    session_ids: list[str]
    lane: int
    attempt: int = 1


class Deliverer:
    """Background delivery of pushes and playback of calls. Threads start on first use.

    The newest attempts are kept for inspection, as many as carry ``log_size`` pushed items (see
    :class:`AttemptLog`; older ones are dropped, so a long-running emulator's memory stays
    bounded); ``on_call_end`` is told of each call whose last step was played. Pushes to
    ``https://`` URLs verify the server's certificate against ``ca_cert`` (a PEM file) when given,
    else against the system's CAs or ``REQUESTS_CA_BUNDLE``; verification is never turned off.
    """

    def __init__(
        self,
        *,
        time_scale: float = 0.01,
        on_call_end: Callable[[Call], None] | None = None,
        timeout: float = 5.0,
        workers: int = 4,
        log_size: int = 100_000,
        ca_cert: str | None = None,
    ) -> None:
        if time_scale < 0 or math.isnan(time_scale):
            raise ValidationError("time_scale", "must be >= 0 (0 = everything at once)")
        self.on_call_end = on_call_end
        self.time_scale = time_scale
        self.timeout = timeout
        self.ca_cert = ca_cert
        self.log = AttemptLog(log_size)
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, Callable[[], None], str | None]] = []
        self._buffers: dict[tuple[str, str, str], list[tuple[float, Call]]] = {}
        self._cond = threading.Condition()
        self._lanes = [queue.SimpleQueue[_Push | None]() for _ in range(max(1, workers))]
        self._rr = itertools.count()
        self._busy = 0
        self._retrying = 0
        self._threads: list[threading.Thread] = []
        self._stopping = False

    # ---- lifecycle -----------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._threads or self._stopping:
            return
        self._threads = [
            threading.Thread(target=self._schedule_loop, name="emulator-scheduler", daemon=True)
        ]
        self._threads += [
            threading.Thread(
                target=self._work, args=(lane,), daemon=True, name=f"emulator-push-{i}"
            )
            for i, lane in enumerate(self._lanes)
        ]
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the threads; pending pushes and retries are dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for lane in self._lanes:
            lane.put(None)
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    def wait_idle(self, timeout: float = 10.0, *, retries: bool = False) -> bool:
        """Wait until every call has played and every first push attempt is done (with
        ``retries=True`` also every retry). True when idle, False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or (retries and self._retrying):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # ---- the Pushes protocol used by the backend -----------------------------------------------

    def play(self, call: Call) -> None:
        """Schedule the call's remaining steps; its CDR is buffered when it ends."""
        now = time.monotonic()
        t0 = call.meta.setdefault("t0", now)
        done = call.meta.setdefault("emitted", 0)
        if call.meta.get("callin_sent") and done == 0 and call.steps[0].event == "callin":
            done = call.meta["emitted"] = 1
        gen = call.generation
        with self._cond:
            self._ensure_started()
            if gen:  # a stop-call rewrite: drop the steps scheduled for the old timeline
                kept = [job for job in self._heap if job[3] != call.session_id]
                self._busy -= len(self._heap) - len(kept)
                self._heap = kept
                heapq.heapify(self._heap)
            for index in range(done, len(call.steps)):
                due = max(now, t0 + call.steps[index].offset * self.time_scale)
                self._at(due, functools.partial(self._step, call, gen, index), call.session_id)
            self._cond.notify_all()

    def push(
        self,
        app: App,
        kind: str,
        url: str,
        body: dict[str, Any],
        *,
        schedule: tuple[int, ...] = PN_RETRY_MINUTES,
        session_ids: list[str] | None = None,
        lane: int | None = None,
    ) -> None:
        """Queue one signed push (first attempt now)."""
        job = _Push(
            app,
            kind,
            url,
            body,
            schedule,
            session_ids or [],
            next(self._rr) if lane is None else lane,
        )
        with self._cond:
            self._ensure_started()
            self._busy += 1
        self._lanes[job.lane % len(self._lanes)].put(job)

    def ask(self, app: App, kind: str, url: str, body: dict[str, Any]) -> Any:
        """A synchronous Block-mode push: the parsed JSON reply, or None on any failure."""
        sid = body.get("statusInfo", {}).get("sessionId")
        job = _Push(app, kind, url, body, (), [sid] if sid else [], 0)
        connections = PushConnections(min(3.0, self.timeout), self.timeout, self.ca_cert)
        try:  # from a request thread, not a worker: nothing to keep the connection for
            response, _ = self._send(job, connections)
        finally:
            connections.close()
        if response is None or response.status_code != 200:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def elapsed(self, call: Call) -> float:
        """Simulated seconds since the call started playing."""
        t0 = call.meta.get("t0")
        if t0 is None:
            return 0.0
        if self.time_scale == 0:
            return math.inf
        return (time.monotonic() - t0) / self.time_scale

    # ---- scheduler -----------------------------------------------------------------------------

    def _at(self, due: float, fn: Callable[[], None], owner: str | None = None) -> None:
        # caller holds self._cond
        self._busy += 1
        heapq.heappush(self._heap, (due, next(self._seq), fn, owner))

    def _step(self, call: Call, gen: int, index: int) -> None:
        if call.generation != gen or index != call.meta["emitted"]:
            return  # superseded by a stop-call rewrite
        call.meta["emitted"] = index + 1
        step = call.steps[index]
        app = call.meta.get("app_obj")
        if call.status_url and app is not None:
            retry = () if call.product == "voicecall" else PN_RETRY_MINUTES
            self.push(
                app,
                "status",
                call.status_url,
                {"eventType": step.event, "statusInfo": step.info},
                schedule=retry,
                session_ids=[call.session_id],
                lane=hash(call.session_id),
            )
        if index == len(call.steps) - 1:
            call.ended = True
            if self.on_call_end is not None:
                self.on_call_end(call)
            if call.fee_url and app is not None:
                with self._cond:
                    self._busy += 1
                    key = (call.app_key, call.fee_url, call.product)
                    self._buffers.setdefault(key, []).append((time.monotonic(), call))

    def _schedule_loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    wake = self._heap[0][0] if self._heap else math.inf
                    for items in self._buffers.values():
                        if items:
                            wake = min(
                                wake, now if len(items) >= BATCH_SIZE else items[0][0] + LINGER
                            )
                    if wake <= now:
                        break
                    self._cond.wait(None if wake == math.inf else wake - now)
                if self._stopping:
                    return
                due: list[Callable[[], None]] = []
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
            for fn in due:
                try:
                    fn()
                finally:
                    self._done(1)
            self._flush(time.monotonic())

    def _flush(self, now: float) -> None:
        batches: list[tuple[App, str, str, list[Call]]] = []
        with self._cond:
            for (_, url, product), items in self._buffers.items():
                while items and (len(items) >= BATCH_SIZE or items[0][0] + LINGER <= now):
                    chunk = [c for _, c in items[:BATCH_SIZE]]
                    del items[:BATCH_SIZE]
                    batches.append((chunk[0].meta["app_obj"], url, product, chunk))
        for app, url, product, chunk in batches:
            schedule = VOICE_FEE_RETRY_MINUTES if product == "voicecall" else PN_RETRY_MINUTES
            self.push(
                app,
                "fee",
                url,
                {"eventType": "fee", "feeLst": [c.cdr for c in chunk]},
                schedule=schedule,
                session_ids=[c.session_id for c in chunk],
            )
            self._done(len(chunk))

    def _done(self, count: int) -> None:
        """``count`` pieces of work are finished. Only wait_idle() waits for that, and only for
        none left: waking the scheduler after every push would cost a thread switch each."""
        with self._cond:
            self._busy -= count
            if not self._busy:
                self._cond.notify_all()

    # ---- workers -------------------------------------------------------------------------------

    def _work(self, lane: queue.SimpleQueue[_Push | None]) -> None:
        connections = PushConnections(min(3.0, self.timeout), self.timeout, self.ca_cert)
        try:
            self._serve(lane, connections)
        finally:
            connections.close()

    def _serve(self, lane: queue.SimpleQueue[_Push | None], connections: PushConnections) -> None:
        while True:
            job = lane.get()
            if job is None:
                return
            try:
                _, ok = self._send(job, connections)
                if not ok and job.attempt <= len(job.schedule):
                    delay = job.schedule[job.attempt - 1] * 60 * self.time_scale
                    job.attempt += 1
                    with self._cond:
                        # A waiting retry counts in _retrying, not _busy, so wait_idle() can
                        # ignore it; _retry() moves it back.
                        self._retrying += 1
                        retry: Callable[[], None] = functools.partial(self._retry, job)
                        heapq.heappush(
                            self._heap, (time.monotonic() + delay, next(self._seq), retry, None)
                        )
                        self._cond.notify_all()
            finally:
                self._done(1)

    def _retry(self, job: _Push) -> None:
        with self._cond:
            self._retrying -= 1
            self._busy += 2  # one for the queued job, one for the scheduler's decrement
        self._lanes[job.lane % len(self._lanes)].put(job)

    def _send(self, job: _Push, connections: PushConnections) -> tuple[PushResponse | None, bool]:
        """One attempt, recorded in the log: the response (None on a network error) and
        whether the customer acknowledged it."""
        data = json.dumps(job.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if job.app.mode == "voice":
            # VoiceCall pushes sign the push URL too (VoiceCall §2.4, 2026 revision).
            signing = sign_push_headers(job.app.app_key, job.app.app_secret, job.url)
        else:
            # Each app signs with its own generation: X-AKSK, or X-WSSE for a legacy app.
            signing = sign_headers(job.app.app_key, job.app.app_secret, job.app.auth_scheme)
        headers = {**_HEADERS, **signing}
        status: int | None = None
        error: str | None = None
        response = None
        try:
            response = connections.post(job.url, data, headers)
            status = response.status_code
        except _PushFailed as exc:
            error = exc.name
        ok = response is not None and _acknowledged(response)
        final = ok or job.attempt > len(job.schedule)
        self.log.append(
            Attempt(
                next(self._ids),
                job.kind,
                job.url,
                job.app.app_key,
                job.attempt,
                ok,
                status,
                error,
                time.time(),
                str(job.body.get("eventType", "sms")),
                job.session_ids,
                len(job.body.get("feeLst", ())) or 1,
                None if final else job.schedule[job.attempt - 1] * 60.0,
                job.body,
            )
        )
        return response, ok

    def attempts(
        self, *, kind: str | None = None, session_id: str | None = None, with_body: bool = False
    ) -> list[dict[str, Any]]:
        """The recorded attempts, oldest first, optionally filtered."""
        rows = list(self.log)
        return [
            a.to_json(with_body)
            for a in rows
            if (kind is None or a.kind == kind)
            and (session_id is None or session_id in a.session_ids)
        ]


def _acknowledged(response: PushResponse) -> bool:
    if response.status_code != 200:
        return False
    if len(response.content) <= 256:  # a receiver answers every push with the same few bodies
        return _acknowledging_cached(response.content)
    return _acknowledging(response.content)


def _acknowledging(content: bytes) -> bool:
    """Whether a 200 with this body acknowledges the push."""
    if not content:
        return True
    try:
        body = json.loads(content)
    except ValueError:
        return True
    return not (isinstance(body, dict) and "resultcode" in body and str(body["resultcode"]) != "0")


# Parsing the answer as JSON cost more than reading it off the socket; short bodies only, so the
# cache stays a few KiB whatever a customer's server answers.
_acknowledging_cached = functools.lru_cache(maxsize=64)(_acknowledging)
