"""Retries with exponential backoff and jitter, and the rule that keeps a bind from doubling.

Every request of the clients goes through :func:`run`, which sends it, logs one line per attempt
on the ``toolkit.client`` logger, and sends it again when that is both useful and safe.

**What is retried.** A failure is sorted into one of three kinds:

* *refused*: a throttling refusal (:class:`~toolkit.errors.ThrottledError`, the codes the
  result-code table files under flow control, such as ``1010010`` without HTTP 401). The platform
  said no and did nothing, so the request may be sent again, whatever it is;
* *unsent*: a connection that could not be made (refused, no route, name not found, connect
  timeout; :attr:`TransportError.sent <toolkit.errors.TransportError>` is ``False``). The request
  never left this machine;
* *ambiguous*: the request may have reached the platform and been acted on, but no answer says
  so: a timeout or a connection cut after sending, or an HTTP 5xx answer (``1010001 Internal
  system error``, ``1023002 Response timeout``, a gateway's 502/503 page). The platform may have
  failed after doing the work.

Everything else (a 4xx refusal such as "already bound", a bad answer, a validation error) is
final and raised at once.

**Idempotency.** Queries, unbinds, modifications, the temporary callee, stopping a call and the
recording URL (``safe`` requests) are retried after any of the three kinds: sending them twice
leaves the platform as sending them once. (An unbind retried after an ambiguous failure may
answer "does not exist" because the first attempt removed it; that ``NotFoundError`` is raised as
is: the binding is gone either way.)

A bind, or a VoiceCall call (``POST`` requests that create something), is retried after *refused*
and *unsent* failures only. After an *ambiguous* failure it is never simply sent again: the
client first **reconciles**, querying whether the binding exists, and returns it if it does. Only
when the query says it does not is the bind sent again. That needs a query that can recognise the
binding, so it is done for the binds that name their privacy number: AXB with ``relation_num``,
AX with ``private_num``, AXE with ``virtual_num`` and ``extend_num``. Other binds (the platform
picks the number from ``area_code``; AXYB; VoiceCall calls) are not resent after an ambiguous
failure: the error is raised, and the caller decides.

Why this never creates a second binding: a bind that names its number is keyed by it on the
platform (the pair on an AXB number, the number of an AX binding, the extension on an AXE number),
and the platform refuses a duplicate (``1012010``, ``1011005``, ``1016002``). So even when the
first attempt is still being processed while the query runs, the resent bind cannot bind again:
it is refused as "already bound", and the client then reconciles once more and returns the
binding it finds. A bind whose number the platform picks has no such key, which is why it is not
resent.

**Time.** :attr:`Settings.total_deadline <toolkit.config.Settings.total_deadline>` bounds the
whole call: every attempt, every wait and every reconciling query. Each attempt gets
``settings.timeout`` or what is left, whichever is less; a wait that would end past the deadline
is not started, and the last error is raised instead.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Literal, TypeVar

from .config import Settings
from .errors import ApiError, ResponseError, ThrottledError, ToolkitError, TransportError
from .numbers import mask_text

__all__ = ["Kind", "backoff_delay", "failure_kind", "log", "log_body", "run"]

log = logging.getLogger("toolkit.client")

Kind = Literal["refused", "unsent", "ambiguous"]
T = TypeVar("T")
# The end (time.monotonic) of the call running in this thread: a reconciling query made inside a
# call shares its deadline instead of starting a new one.
_outer = threading.local()
_random = random.Random()


def failure_kind(exc: BaseException) -> Kind | None:
    """Sort a failed attempt: ``"refused"``, ``"unsent"``, ``"ambiguous"``, or ``None`` (final)."""
    if isinstance(exc, ThrottledError):
        return "refused"
    if isinstance(exc, TransportError):
        return "ambiguous" if exc.sent else "unsent"
    if isinstance(exc, ApiError | ResponseError) and (exc.status or 0) >= 500:
        return "ambiguous"
    return None


def backoff_delay(settings: Settings, retry: int, rng: random.Random = _random) -> float:
    """Seconds to wait before retry number ``retry`` (1, 2, ...): exponential, capped, jittered.

    The jitter (a factor from 0.5 to 1) spreads the retries of many clients refused at the same
    moment, so they do not come back together.
    """
    base = min(settings.backoff_max, settings.backoff * 2 ** (retry - 1))
    return base * rng.uniform(0.5, 1.0)


def run(
    settings: Settings,
    method: str,
    path: str,
    send: Callable[[float, int], tuple[int, T]],
    *,
    safe: bool,
    reconcile: Callable[[], T | None] | None = None,
) -> T:
    """Send a request with ``send(seconds, attempt)`` until it succeeds or may not be retried.

    ``safe`` requests are retried after any retryable failure; the others after refused and
    unsent ones only, or, with ``reconcile``, after an ambiguous one once ``reconcile()`` (a
    query) has found nothing; when it finds the binding, that is returned. See the module
    docstring for the rule and why it is safe.
    """
    now = time.monotonic()
    end = now + settings.total_deadline
    outer: float | None = getattr(_outer, "end", None)
    if outer is not None:
        end = min(end, outer)
    _outer.end = end
    try:
        return _loop(settings, method, path, send, end, safe=safe, reconcile=reconcile)
    finally:
        _outer.end = outer


def _loop(
    settings: Settings,
    method: str,
    path: str,
    send: Callable[[float, int], tuple[int, T]],
    end: float,
    *,
    safe: bool,
    reconcile: Callable[[], T | None] | None,
) -> T:
    attempt, unsure = 0, False  # unsure: an earlier attempt may have been acted on
    last: ToolkitError | None = None
    while True:
        attempt += 1
        started = time.monotonic()
        seconds = min(settings.timeout, end - started)
        if seconds <= 0:  # a reconciling query used up the time: the last error stands
            if last is not None:
                raise last
            cause = TimeoutError(f"the {settings.total_deadline:g} s deadline had passed")
            raise TransportError(settings.base_url + path, cause, sent=False)
        try:
            status, value = send(seconds, attempt)
        except ToolkitError as exc:
            last = exc
            _log_attempt(method, path, attempt, started, exc)
            kind = failure_kind(exc)
            if unsure and reconcile is not None and _already_bound(exc):
                # The earlier attempt did bind after all: the platform refuses the duplicate.
                return _reconciled(reconcile, exc, method, path)
            if kind is None or attempt > settings.retries:
                raise
            if kind == "ambiguous" and not safe:
                if reconcile is None:
                    log.info(
                        "%s %s not resent: it may have been acted on and cannot be reconciled",
                        method,
                        path,
                    )
                    raise
                unsure = True
            delay = backoff_delay(settings, attempt)
            if time.monotonic() + delay >= end:
                raise
            log.info("%s %s: %s failure, retrying in %.0f ms", method, path, kind, delay * 1000)
            time.sleep(delay)
            if unsure and reconcile is not None:
                found = _find(reconcile, exc)
                if found is not None:
                    log.info("%s %s: the earlier attempt was acted on; reconciled", method, path)
                    return found
            continue
        _log_attempt(method, path, attempt, started, None, status)
        return value


def _already_bound(exc: BaseException) -> bool:
    from .errors import AlreadyBoundError

    return isinstance(exc, AlreadyBoundError)


def _find(reconcile: Callable[[], T | None], original: BaseException) -> T | None:
    """Run the reconciling query; if it fails, the original error is what the caller sees."""
    try:
        return reconcile()
    except ToolkitError:
        raise original from None


def _reconciled(
    reconcile: Callable[[], T | None], refusal: BaseException, method: str, path: str
) -> T:
    found = _find(reconcile, refusal)
    if found is None:
        raise refusal
    log.info("%s %s: the earlier attempt was acted on; reconciled", method, path)
    return found


def _log_attempt(
    method: str,
    path: str,
    attempt: int,
    started: float,
    exc: BaseException | None,
    status: int | None = None,
) -> None:
    """One line per request: method, path, HTTP status, resultcode, elapsed ms, attempt."""
    elapsed = (time.monotonic() - started) * 1000
    code = "0"
    if exc is not None:
        status = getattr(exc, "status", None)
        code = getattr(exc, "resultcode", "-")
    # INFO even for a failure: the caller gets the exception, and a library must not print to
    # stderr through logging's last-resort handler when the application configured no logging.
    level = logging.INFO
    if not log.isEnabledFor(level):
        return
    line = (
        f"{method} {path} status={status if status is not None else '-'} resultcode={code} "
        f"elapsed_ms={elapsed:.1f} attempt={attempt}"
    )
    if exc is not None:
        line += f" error={type(exc).__name__}"
        if isinstance(exc, TransportError):
            line += f" ({'not sent' if not exc.sent else 'may have been sent'})"
    # Paths carry no numbers today; masked all the same, so a future path parameter cannot leak.
    log.log(level, mask_text(line))


# A page of 100 bindings is about 30 KB; the log keeps the start of a body, enough to debug.
_BODY_LOG_CHARS = 4000


def log_body(direction: str, method: str, path: str, payload: object) -> None:
    """At DEBUG, the request's query and body or the answer's body, with numbers masked.

    Only bodies are logged, never headers: the signing headers (``Authorization``, ``X-AKSK``,
    ``X-WSSE``) are built by :class:`~toolkit.auth.UsernameTokenAuth` and never pass here, and
    the secret is in no body.
    """
    if not log.isEnabledFor(logging.DEBUG):
        return
    # Masked first and cut after, with room to spare, so no number is cut in half and shown.
    if isinstance(payload, bytes):
        text = payload[: 2 * _BODY_LOG_CHARS].decode("utf-8", "replace")
    else:
        text = json.dumps(payload, ensure_ascii=False, default=str)[: 2 * _BODY_LOG_CHARS]
    log.debug("%s %s %s: %s", method, path, direction, mask_text(text)[:_BODY_LOG_CHARS])
