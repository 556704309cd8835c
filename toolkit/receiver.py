"""The push receiver: a WSGI app that stores what the platform pushes, and a server to run it.

In a notebook::

    rx = Receiver(db="calls.db").start()      # a thread on 127.0.0.1, a free port
    rx.url                                    # give this to the emulator / the console
    rx.stop()

In production, serve ``Receiver(...).wsgi_app`` with any WSGI server behind HTTPS, or run
``python -m toolkit receiver --db calls.db --app-key K`` with the secret in
``PRIVATENUMBER_APP_SECRET`` (or ``.env``, or ``--app-secret-file``).

Every push type is accepted at any path and routed by the shape of its body (``/status``,
``/fee``, ``/sms`` and ``/numstatus`` are the conventional paths). The answer is HTTP 200 only once
the push is committed to the store; malformed pushes get a 4xx with a JSON reason, a store that
cannot commit gets 503 so the platform retries, and nothing ever gets a 500.

Throughput comes from *group commit*: request threads validate and map their push to rows, hand
the rows to one writer thread and wait; the writer takes every push waiting at that moment, writes
them in one transaction and wakes their requests. Under load many pushes share one commit; when
idle a push is committed alone at once.

Trust: a verified push's rows are stored with ``verified=1`` and its nonce in the same
transaction (a replay, even to another receiver on the same store or after a restart, stores
nothing); unverified rows are keyed apart and cannot shadow verified ones; VoiceCall pushes that
fail verification are kept in a quarantine table instead (see :class:`Receiver`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from wsgiref.util import request_uri

from . import events as ev
from . import xmode
from .auth import DEFAULT_WINDOW, NonceCache, Verdict, verify, wsgi_headers
from .config import lookup
from .errors import ValidationError
from .httpserver import ThreadedWSGIServer
from .store import Batch, Store, StoreError, quarantine_row
from .terminal import printable

log = logging.getLogger(__name__)


class _PrintableLog(logging.Filter):
    """Request lines and push fields are client-supplied: a log line shows their control
    characters escaped, so a push can neither forge a log line nor drive a terminal showing it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to the handler's own error report
            return True
        record.msg, record.args = printable(message), ()
        return True


log.addFilter(_PrintableLog())

MAX_BODY = 1 << 20  # 1 MiB: 50 CDRs are about 50 KiB
COMMIT_TIMEOUT = 30.0  # seconds a request waits for its commit before answering 503

SUCCESS = {"resultcode": "0", "resultdesc": "Success"}

Router = Callable[[Any], "Mapping[str, Any] | None"]
StartResponse = Callable[..., Any]


# ---------------------------------------------------------------------------------------------
# X-mode answers live in toolkit.xmode; the old names here warn for one release.

_MOVED_TO_XMODE = {
    "connect": "connect",
    "close": "release",
    "route_sms": "route_sms",
    "discard_sms": "discard_sms",
}


def __getattr__(name: str) -> Any:
    new = _MOVED_TO_XMODE.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"toolkit.receiver.{name} is deprecated and will be removed in the next release; "
        f"use toolkit.xmode.{new}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(xmode, new)


# ---------------------------------------------------------------------------------------------
# Group commit


@dataclass
class _Job:
    batch: Batch
    done: threading.Event = field(default_factory=threading.Event)
    result: int | Exception | None = None


class _GroupCommitter:
    """One writer thread that commits every waiting push in a single transaction."""

    def __init__(self, store: Store, max_batch: int, on_commit: Callable[[], None]) -> None:
        self.store = store
        self.max_batch = max_batch
        self.on_commit = on_commit
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def submit(self, batch: Batch, timeout: float = COMMIT_TIMEOUT) -> int | None:
        """Commit ``batch``; return its new rows, or ``None`` if the store refused it as a replay
        (its nonce is held). Raises StoreError if it could not commit."""
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
                self._thread = threading.Thread(
                    target=self._run, name="receiver-writer", daemon=True
                )
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
                results = self.store.write_each([j.batch for j in jobs])
            except Exception as exc:  # write_each only raises for a lone batch
                results = [exc]
            for j, result in zip(jobs, results, strict=True):
                j.result = result
                j.done.set()
            self.on_commit()
            if stop:
                return

    def stop(self) -> None:
        """Finish the pushes already queued, then end the writer thread."""
        self._stopped = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=COMMIT_TIMEOUT)


class _Dispatcher:
    """Runs the notebook callbacks on committed rows, in a thread of its own.

    Callbacks see only committed data and cannot slow or fail an acknowledgement; an exception in
    a callback is logged and the next record is delivered.
    """

    def __init__(self, store: Store, on_cdr: Callable | None, on_event: Callable | None) -> None:
        self.store = store
        self.on_cdr = on_cdr
        self.on_event = on_event
        self.cursor = store.last_seq()
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="receiver-callbacks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.wake.clear()
            try:
                self.deliver()
            except StoreError:
                log.exception("callbacks: cannot read the store")
            self.wake.wait(1.0)

    def deliver(self) -> None:
        for table, row in self.store.changes(self.cursor):
            self.cursor = row["seq"]
            callback = self.on_cdr if table == "cdrs" else self.on_event
            if callback is None:
                continue
            try:
                callback(Store.record(table, row))
            except Exception:
                log.exception("%s callback failed for row seq=%s", table, row["seq"])

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout=5)
        self.deliver()  # whatever committed before stop() still reaches the callbacks


# ---------------------------------------------------------------------------------------------
# The WSGI application


class _Reject(Exception):
    def __init__(self, status: str, error: str, reason: str, headers: list | None = None):
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason
        self.headers = headers or []


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(frozen=True)
class _Credentials:
    product: ev.Product
    app_key: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class _Trust:
    """Where one push goes: the main tables (``verified`` or not) or the quarantine."""

    product: ev.Product | None
    guess: ev.Product | None  # the product its shape suggests
    verified: bool = False
    nonce: tuple[str, str, float] | None = None  # (app_key, nonce, expires_at) when verified
    quarantine: str | None = None  # why it is kept apart, when it is


class Receiver:
    """Receives platform pushes, stores them, answers X-mode routing questions.

    ``db`` is a :class:`~toolkit.store.Store`, a path, or ``None`` (a temporary store).

    Trust. Each product is verified with its own app: ``app_key``/``app_secret`` for
    PrivateNumber, ``voice_app_key``/``voice_app_secret`` for VoiceCall. A push verifies when it
    carries a valid signature (X-AKSK or X-WSSE; for VoiceCall also the §2.4 digest over the push
    URL), a ``Created`` (UTC) within ``window`` seconds of ``clock()`` (epoch seconds, default
    :func:`time.time`) and a nonce never seen before, by this receiver or any other on the same
    store. Its rows are stored with ``verified=1`` under the product of the app that signed it.
    Without any secret nothing can be verified and every push is stored unverified
    (``verified=0``). Once a secret is given, a push that does not verify never reaches the main
    tables:

    * a PrivateNumber push gets 401;
    * a VoiceCall push is not refused (VoiceCall §2.4: never refuse a push for its signature)
      but kept in the store's quarantine table (:meth:`~toolkit.store.Store.quarantine`), which
      no reader shows, and a warning is logged once per reason. A call event whose shape fits
      both products counts as a possible VoiceCall push. ``lenient_voicecall=False`` refuses
      these too (401), for apps that do not use VoiceCall;
    * except that ``allow_unsigned=True`` stores pushes that carry no signing headers at all,
      unverified (a bad signature is still refused or quarantined).

    Unverified rows are keyed apart from verified ones (the dedupe key holds product and trust),
    so they can never hide, replace or pre-empt them.

    The VoiceCall digest covers the push URL, which a receiver behind a proxy cannot see: give
    ``public_url`` (the URL, or URLs, configured on the platform; the request path is appended
    too), else the URL is rebuilt from the request.

    ``x_router(push)`` answers X-mode Block pushes: given a :class:`~toolkit.events.CallIn` it
    returns :func:`toolkit.xmode.connect` or :func:`toolkit.xmode.release`; given an
    :class:`~toolkit.events.SmsBlock` it returns :func:`toolkit.xmode.route_sms` or
    :func:`toolkit.xmode.discard_sms`. Without a router, or if it fails, calls are released and
    messages discarded. ``on_cdr(cdr)`` and ``on_event(record)`` are called from a background
    thread for each newly stored CDR and for every other new record.
    """

    def __init__(
        self,
        db: Store | str | os.PathLike[str] | None = None,
        *,
        app_key: str | None = None,
        app_secret: str | None = None,
        voice_app_key: str | None = None,
        voice_app_secret: str | None = None,
        allow_unsigned: bool | None = None,
        public_url: str | Sequence[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        on_cdr: Callable[[ev.Cdr], Any] | None = None,
        on_event: Callable[[Any], Any] | None = None,
        x_router: Router | None = None,
        lenient_voicecall: bool = True,
        max_body: int = MAX_BODY,
        window: float = DEFAULT_WINDOW,
        max_batch: int = 64,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (app_key is None) != (app_secret is None):
            raise ValidationError("app_secret", "give both app_key and app_secret, or neither")
        if (voice_app_key is None) != (voice_app_secret is None):
            raise ValidationError(
                "voice_app_secret", "give both voice_app_key and voice_app_secret, or neither"
            )
        given: tuple[tuple[ev.Product, str | None, str | None], ...] = (
            ("privatenumber", app_key, app_secret),
            ("voicecall", voice_app_key, voice_app_secret),
        )
        self._credentials = [
            _Credentials(product, key, secret)
            for product, key, secret in given
            if key is not None and secret is not None
        ]
        self._owns_store = not isinstance(db, Store)
        self.store = db if isinstance(db, Store) else Store(db, synchronous=synchronous)
        self.app_key = app_key
        self.voice_app_key = voice_app_key
        self.allow_unsigned = not self._credentials if allow_unsigned is None else allow_unsigned
        self.public_url = [public_url] if isinstance(public_url, str) else list(public_url or ())
        self.lenient_voicecall = lenient_voicecall
        self.clock = clock
        self.host = host
        self.port = port
        self.max_body = max_body
        self.window = window
        self.x_router = x_router
        self._nonces = NonceCache(window)  # a fast first check; the store's table decides
        self._warned: set[str] = set()
        self._dispatcher = (
            _Dispatcher(self.store, on_cdr, on_event) if (on_cdr or on_event) else None
        )
        self._committer = _GroupCommitter(self.store, max_batch, self._committed)
        self._server: ThreadedWSGIServer | None = None
        self.url: str | None = None

    def _committed(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.wake.set()

    # -- WSGI ------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        """The WSGI callable: serve it with any WSGI server."""
        try:
            status, payload, headers = self._handle(environ)
        except _Reject as rej:
            status, headers = rej.status, rej.headers
            payload = _json({"resultcode": "1", "error": rej.error, "reason": rej.reason})
        except Exception:  # a bug of ours: log it, answer 503 so the platform retries
            log.exception("unexpected error while handling a push")
            status, headers = "503 Service Unavailable", []
            payload = _json({"resultcode": "1", "error": "internal", "reason": "internal error"})
        content_type = "application/json;charset=UTF-8" if payload else "text/plain"
        start_response(
            status,
            [("Content-Type", content_type), ("Content-Length", str(len(payload))), *headers],
        )
        return [payload]

    __call__ = wsgi_app

    def _handle(self, environ: dict[str, Any]) -> tuple[str, bytes, list[tuple[str, str]]]:
        method = environ.get("REQUEST_METHOD", "")
        if method in ("GET", "HEAD"):
            return "200 OK", _json({"receiver": "ok"}), []
        if method != "POST":
            raise _Reject(
                "405 Method Not Allowed",
                "method",
                "pushes are POST",
                [("Allow", "GET, HEAD, POST")],
            )
        self._check_content_type(environ.get("CONTENT_TYPE", ""))
        body = self._read_body(environ)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise _Reject("400 Bad Request", "bad-json", f"body is not JSON: {exc}") from None
        try:
            kind = ev.push_kind(data)
            guess = ev.detect_product(data)
            trust = self._authorise(environ, guess)
            batch = Store.prepare(data, product=trust.product, verified=trust.verified)
        except ev.PushFormatError as exc:
            raise _Reject("400 Bad Request", "bad-push", str(exc)) from None
        if trust.quarantine is not None:
            batch = self._quarantined(environ, body, trust)
        batch.nonce = trust.nonce
        if self._commit(batch) is None:
            # The store holds this nonce already: another request (here, before a restart or
            # in another receiver on the same store) used these signing headers. None of this
            # batch's rows were written; the push is treated like any other failed signature.
            trust = self._unverified(guess, "replayed-nonce", "Invalid digest. (nonce replayed)")
            self._commit(self._quarantined(environ, body, trust))
        elif trust.nonce is not None:
            app_key, nonce, expires_at = trust.nonce
            self._nonces.add(app_key, nonce, self.clock(), expires_at)
        return self._reply(kind, data, trust.product)

    def _commit(self, batch: Batch) -> int | None:
        """Commit through the writer thread; a store that cannot commit becomes a 503."""
        try:
            return self._committer.submit(batch)
        except StoreError as exc:
            log.warning("push not stored: %s", exc)
            raise _Reject(
                "503 Service Unavailable", "store", str(exc), [("Retry-After", "1")]
            ) from None
        except Exception as exc:  # content SQLite refused: nothing was stored
            log.warning("push refused by the store: %s", exc)
            raise _Reject("400 Bad Request", "bad-push", f"cannot store: {exc}") from None

    def _check_content_type(self, content_type: str) -> None:
        media, _, params = content_type.partition(";")
        media = media.strip().lower()
        # A missing Content-Type is accepted (tolerant choice); a declared non-JSON type is not.
        if media and media != "application/json" and not media.endswith("+json"):
            raise _Reject(
                "415 Unsupported Media Type",
                "content-type",
                f"expected application/json, got {media!r}",
            )
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
                "utf-8",
                "utf8",
            ):
                raise _Reject(
                    "415 Unsupported Media Type",
                    "charset",
                    f"expected charset UTF-8, got {value.strip()!r}",
                )

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        raw_length = environ.get("CONTENT_LENGTH") or ""
        if not raw_length:
            if environ.get("HTTP_TRANSFER_ENCODING"):
                raise _Reject("411 Length Required", "length", "chunked bodies are not accepted")
            raise _Reject("400 Bad Request", "empty", "empty body")
        try:
            length = int(raw_length)
        except ValueError:
            raise _Reject("400 Bad Request", "length", "bad Content-Length") from None
        if length < 0:
            raise _Reject("400 Bad Request", "length", "bad Content-Length")
        if length > self.max_body:
            raise _Reject(
                "413 Content Too Large",
                "too-large",
                f"body of {length} bytes is over the {self.max_body}-byte cap",
            )
        if length == 0:
            raise _Reject("400 Bad Request", "empty", "empty body")
        stream = environ["wsgi.input"]
        chunks, remaining = [], length
        try:
            while remaining > 0:
                chunk = stream.read(remaining)
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
        except (OSError, ValueError):  # timeout or reset while reading
            raise _Reject("408 Request Timeout", "truncated", "body not received") from None
        if remaining > 0:
            raise _Reject(
                "400 Bad Request",
                "truncated",
                f"body truncated: {length - remaining} of {length} bytes",
            )
        return b"".join(chunks)

    def _authorise(self, environ: Mapping[str, Any], guess: ev.Product | None) -> _Trust:
        """Check the signature: where the push goes, or raise a 401."""
        if not self._credentials:
            return _Trust(guess, guess)  # nothing to verify with: the user chose unverified
        headers = wsgi_headers(environ)
        if "Authorization" not in headers:
            if self.allow_unsigned:
                return _Trust(guess, guess)
            return self._unverified(guess, "unsigned", "push carries no signature")
        verdict, product = self._verify(headers, environ, guess)
        if not verdict.ok or product is None:
            return self._unverified(guess, verdict.reason, verdict.message)
        app_key, nonce = verdict.app_key or "", verdict.nonce or ""
        if self._nonces.seen(app_key, nonce, self.clock()):
            return self._unverified(guess, "replayed-nonce", "Invalid digest. (nonce replayed)")
        expires_at = verdict.expires_at or self.clock() + 2 * self.window
        return _Trust(product, guess, verified=True, nonce=(app_key, nonce, expires_at))

    def _verify(
        self, headers: Mapping[str, str], environ: Mapping[str, Any], guess: ev.Product | None
    ) -> tuple[Verdict, ev.Product | None]:
        """Try each product's credentials, the one the shape suggests first.

        A verified push belongs to the product whose app signed it, whatever its shape says.
        """
        first = guess or "privatenumber"
        failures = []
        for cred in sorted(self._credentials, key=lambda c: c.product != first):
            verdict = verify(
                headers,
                {cred.app_key: cred.secret}.get,
                now=self.clock,
                window=self.window,
                # Pushes come from the platform, which documents UTC: one reading of Created,
                # so one header is valid in one window only (not again 8 hours later).
                utc_only=True,
                urls=self._push_urls(environ) if cred.product == "voicecall" else (),
            )
            if verdict.ok:
                return verdict, cred.product
            failures.append(verdict)
        # The telling failure is the one from an app key we know (bad digest, stale...).
        known = [v for v in failures if v.reason != "unknown-app-key"]
        return (known or failures)[0], None

    def _push_urls(self, environ: Mapping[str, Any]) -> list[str]:
        """The URLs a VoiceCall push to this request may have been signed over (§2.4).

        Unconfirmed which URL the platform signs (and one page says "the fee push URL" even for
        status pushes), so this is tolerant: with ``public_url`` we try each configured URL as
        given, with the request path appended, and its origin with the request path (a proxy
        may or may not strip a prefix); without it, the URL rebuilt from the request, with and
        without its query string.
        """
        try:
            full = request_uri(dict(environ), include_query=True)
            bare = request_uri(dict(environ), include_query=False)
        except (KeyError, TypeError):  # an environ without the standard keys
            return list(self.public_url)
        if not self.public_url:
            return list(dict.fromkeys((full, bare)))
        parts = urlsplit(full)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        candidates = []
        for base in self.public_url:
            origin = urlsplit(base)
            candidates += [
                base,
                base.rstrip("/") + path,
                f"{origin.scheme}://{origin.netloc}{path}",
            ]
        return list(dict.fromkeys(candidates))

    def _unverified(self, guess: ev.Product | None, reason: str, message: str) -> _Trust:
        """A push that did not verify although the receiver holds a secret: refuse it (401),
        keep it apart, or store it unverified."""
        if self.lenient_voicecall and guess in ("voicecall", None):
            # VoiceCall §2.4: a push must never be refused for a missing or failed signature.
            # It is acknowledged, but kept where no reader looks.
            self._warn_once(reason)
            return _Trust("voicecall", guess, quarantine=reason)
        raise _Reject("401 Unauthorized", reason, message)

    def _warn_once(self, reason: str) -> None:
        if reason in self._warned:
            return
        self._warned.add(reason)
        log.warning(
            "a push that may be VoiceCall's failed verification (%s): kept in quarantine, apart "
            "from your data (Store.quarantine() lists them). If genuine VoiceCall pushes land "
            "there, give the receiver the VoiceCall app's key and secret (voice_app_key, "
            "VOICECALL_APP_SECRET) and check public_url",
            reason,
        )

    def _quarantined(self, environ: Mapping[str, Any], body: bytes, trust: _Trust) -> Batch:
        row = quarantine_row(
            body,
            product=trust.guess or "voicecall",
            reason=trust.quarantine or "",
            remote_addr=environ.get("REMOTE_ADDR"),
        )
        return Batch(quarantine=[row])

    def _reply(
        self, kind: str, data: Mapping[str, Any], product: ev.Product | None
    ) -> tuple[str, bytes, list[tuple[str, str]]]:
        if kind == "event" and data.get("eventType") == "callin":
            push = ev.parse_event(data, product)
            if push.is_block:
                return "200 OK", _json(self._route(push)), []
        elif kind == "sms":
            sms = ev.parse_sms(data)
            if sms.is_block:
                return "200 OK", _json(self._route(sms)), []
            return "200 OK", b"", []  # SMS Notify: the documented answer is an empty body
        return "200 OK", _json(SUCCESS), []

    def _route(self, push: Any) -> dict[str, Any]:
        reply = None
        if self.x_router is not None:
            try:
                reply = self.x_router(push)
            except Exception:
                log.exception("x_router failed; answering with the safe default")
        return xmode.checked_reply(reply, sms=isinstance(push, ev.SmsEvent))

    # -- threaded server -------------------------------------------------------------------

    def start(self, **limits: Any) -> Receiver:
        """Serve in background threads; ``self.url`` is then the base URL. Returns self.

        ``limits`` go to :class:`~toolkit.httpserver.ThreadedWSGIServer` (``request_timeout``,
        ``max_connections``, ``workers``...); its body cap is this receiver's ``max_body``.
        """
        if self._server is not None:
            return self
        self._server = ThreadedWSGIServer(
            self.wsgi_app, self.host, self.port, max_body=self.max_body, name="receiver", **limits
        ).start()
        self.port = self._server.port
        self.url = self._server.url
        return self

    def stop(self) -> None:
        """Stop serving, commit what is queued, run pending callbacks, close an owned store."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._committer.stop()
        if self._dispatcher is not None:
            self._dispatcher.stop()
        if self._owns_store:
            self.store.close()

    @property
    def running(self) -> bool:
        """True while the threaded server is serving (between :meth:`start` and :meth:`stop`)."""
        return self._server is not None and self._server.running

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:  # never a secret
        products = "+".join(c.product for c in self._credentials)
        signed = f"verifying {products}" if products else "unverified"
        return f"Receiver(url={self.url!r}, {signed}, store={self.store!r})"


def make_app(store: Store | str | None = None, **options: Any) -> Callable[..., list[bytes]]:
    """A WSGI application for ``store`` (same options as :class:`Receiver`)."""
    return Receiver(store, **options).wsgi_app


# ---------------------------------------------------------------------------------------------
# Command line


def _add_credential_options(parser: argparse.ArgumentParser, flag: str, env: str, app: str) -> None:
    parser.add_argument(
        f"--{flag}-key",
        metavar="KEY",
        help=f"APP_Key of the {app} app (default: env {env}_APP_KEY or .env)",
    )
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument(
        f"--{flag}-secret-file",
        metavar="PATH",
        help=f"file holding the {app} APP_Secret (default: env {env}_APP_SECRET or .env)",
    )
    secret.add_argument(
        f"--{flag}-secret",
        metavar="SECRET",
        help="the APP_Secret itself: other users can read it in the process list; avoid",
    )


def _credential(
    parser: argparse.ArgumentParser, args: argparse.Namespace, flag: str, env: str
) -> tuple[str | None, str | None]:
    """APP_Key and APP_Secret from the flags, a secret file, the environment or ``.env``."""
    name = flag.replace("-", "_")
    key = getattr(args, f"{name}_key") or lookup(f"{env}_APP_KEY")
    secret = getattr(args, f"{name}_secret")
    path = getattr(args, f"{name}_secret_file")
    if secret:
        print(
            f"warning: --{flag}-secret shows the secret to every user of this machine (ps, "
            f"/proc); use {env}_APP_SECRET, a .env file or --{flag}-secret-file instead",
            file=sys.stderr,
        )
    elif path:
        try:
            secret = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            parser.error(
                f"cannot read --{flag}-secret-file {path}: {getattr(exc, 'strerror', exc)}"
            )
        if not secret:
            parser.error(f"--{flag}-secret-file {path} is empty")
    else:
        secret = lookup(f"{env}_APP_SECRET")
    if bool(key) != bool(secret):
        parser.error(
            f"give both an APP_Key (--{flag}-key or {env}_APP_KEY) and an APP_Secret "
            f"({env}_APP_SECRET, .env or --{flag}-secret-file), or neither"
        )
    return key or None, secret or None


def main(argv: list[str] | None = None) -> int:
    """``python -m toolkit receiver``: run the receiver until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit receiver",
        description="Receive platform pushes (CDRs, call events, SMS, X-number status) into a "
        "SQLite store. Prints the base URL on the first line of standard output. Secrets are "
        "read from the environment, a .env file in the working directory, or a file.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--db", default="pushes.db", help="SQLite file (default pushes.db)")
    _add_credential_options(parser, "app", "PRIVATENUMBER", "PrivateNumber")
    _add_credential_options(parser, "voice-app", "VOICECALL", "VoiceCall")
    parser.add_argument(
        "--public-url",
        action="append",
        metavar="URL",
        help="the push URL configured on the platform, which VoiceCall signatures cover "
        "(repeatable; default: the URL of each request)",
    )
    parser.add_argument(
        "--allow-unsigned", action="store_true", help="accept pushes that carry no signature"
    )
    parser.add_argument(
        "--strict-voicecall",
        action="store_true",
        help="refuse VoiceCall pushes that do not verify instead of keeping them apart",
    )
    parser.add_argument(
        "--synchronous",
        choices=("NORMAL", "FULL"),
        default="NORMAL",
        help="FULL also survives power loss (slower); NORMAL survives crashes",
    )
    parser.add_argument("--max-body", type=int, default=MAX_BODY, help="body size cap in bytes")
    parser.add_argument(
        "--request-timeout",
        type=_positive,
        default=10.0,
        metavar="SECONDS",
        help="total time a client gets to send one request, head and body (default 10)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help="open connections at most; at the cap the slowest waiting client is dropped "
        "(default: what the descriptor limit leaves, at most 1000)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    app_key, app_secret = _credential(parser, args, "app", "PRIVATENUMBER")
    voice_key, voice_secret = _credential(parser, args, "voice-app", "VOICECALL")
    if not app_secret and not voice_secret and not args.allow_unsigned:
        parser.error(
            "no secret to verify pushes with: set PRIVATENUMBER_APP_KEY and "
            "PRIVATENUMBER_APP_SECRET (environment, .env or --app-secret-file) and/or their "
            "VOICECALL_ counterparts, or pass --allow-unsigned to accept pushes unverified"
        )
    try:
        receiver = Receiver(
            args.db,
            app_key=app_key,
            app_secret=app_secret,
            voice_app_key=voice_key,
            voice_app_secret=voice_secret,
            allow_unsigned=args.allow_unsigned,
            public_url=args.public_url,
            host=args.host,
            port=args.port,
            lenient_voicecall=not args.strict_voicecall,
            max_body=args.max_body,
            synchronous=args.synchronous,
        ).start(request_timeout=args.request_timeout, max_connections=args.max_connections)
    except (OSError, StoreError) as exc:
        print(f"cannot start the receiver: {exc}", file=sys.stderr)
        return 1
    stopping: list[int] = []

    def _on_signal(signum: int, frame: Any) -> None:
        # Only record the signal: taking a lock here (e.g. Event.set) can deadlock with the main
        # thread if the signal lands while it holds that same lock.
        stopping.append(signum)

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(receiver.url, flush=True)
    verified = [n for n, on in (("PrivateNumber", app_secret), ("VoiceCall", voice_secret)) if on]
    mode = (
        f"verifying {' and '.join(verified)} signatures"
        if verified
        else "accepting unsigned pushes"
    )
    log.info("receiving pushes at %s into %s, %s", receiver.url, args.db, mode)
    while not stopping:
        time.sleep(0.2)
    receiver.stop()
    log.info("stopped; the store holds %s", _summary(args.db))
    return 0


def _positive(text: str) -> float:
    """An argparse type: a finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _summary(path: str) -> str:
    try:
        with Store(path, readonly=True) as store:
            counts = [f"{n} {t}" for t, n in store.counts().items()]
            quarantined = store.query("SELECT count(*) AS n FROM quarantine")[0]["n"]
            if quarantined:
                counts.append(f"{quarantined} pushes in quarantine")
            return ", ".join(counts)
    except StoreError:
        return "an unreadable store"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
