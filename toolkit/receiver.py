"""The push receiver: a WSGI app that stores what the platform pushes, and a server to run it.

In a notebook::

    rx = Receiver(db="calls.db").start()      # a thread on 127.0.0.1, a free port
    rx.url                                    # give this to the emulator / the console
    rx.stop()

In production, serve ``Receiver(...).wsgi_app`` with any WSGI server behind HTTPS, or run
``python -m toolkit receiver --db calls.db --app-key K --app-secret S``.

Every push type is accepted at any path and routed by the shape of its body (``/status``,
``/fee``, ``/sms`` and ``/numstatus`` are the conventional paths). The answer is HTTP 200 only once
the push is committed to the store; malformed pushes get a 4xx with a JSON reason, a store that
cannot commit gets 503 so the platform retries, and nothing ever gets a 500.

Throughput comes from *group commit*: request threads validate and map their push to rows, hand
the rows to one writer thread and wait; the writer takes every push waiting at that moment, writes
them in one transaction and wakes their requests. Under load many pushes share one commit; when
idle a push is committed alone at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import signal
import socket
import socketserver
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from . import events as ev
from . import xmode
from .auth import DEFAULT_WINDOW, NonceCache, verify, wsgi_headers
from .errors import ValidationError
from .store import Batch, Store, StoreError

log = logging.getLogger(__name__)

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

    def submit(self, batch: Batch, timeout: float = COMMIT_TIMEOUT) -> int:
        """Commit ``batch``; return its new rows. Raises StoreError if it could not commit."""
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
        return int(job.result or 0)

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


class Receiver:
    """Receives platform pushes, stores them, answers X-mode routing questions.

    ``db`` is a :class:`~toolkit.store.Store`, a path, or ``None`` (a temporary store). With
    ``app_key``/``app_secret`` every PrivateNumber push must carry a valid signature (X-AKSK or
    X-WSSE, fresh ``Created``, unseen nonce) or gets 401; ``allow_unsigned=True`` still accepts
    pushes without signing headers (a bad signature is always refused). Without a secret nothing
    can be verified, so unsigned pushes are accepted (``allow_unsigned`` defaults to that).

    VoiceCall pushes are treated by the documented rule (VoiceCall §2.4: never reject a push for a
    missing or failed signature; its digest also covers the push URL, which a receiver behind a
    proxy cannot know). So a push that fails PrivateNumber verification is still accepted when its
    shape allows it to be a VoiceCall push, and is then stored with ``product='voicecall'``: the
    leniency can never put an unverified row under PrivateNumber. ``lenient_voicecall=False`` holds
    VoiceCall pushes to the same rule, for apps that do not use VoiceCall.

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
        allow_unsigned: bool | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        on_cdr: Callable[[ev.Cdr], Any] | None = None,
        on_event: Callable[[Any], Any] | None = None,
        x_router: Router | None = None,
        lenient_voicecall: bool = True,
        max_body: int = MAX_BODY,
        window: float = DEFAULT_WINDOW,
        max_batch: int = 64,
        synchronous: str = "NORMAL",
    ) -> None:
        if (app_key is None) != (app_secret is None):
            raise ValidationError("app_secret", "give both app_key and app_secret, or neither")
        self._owns_store = not isinstance(db, Store)
        self.store = db if isinstance(db, Store) else Store(db, synchronous=synchronous)  # type: ignore[arg-type]
        self.app_key = app_key
        self._app_secret = app_secret
        self.allow_unsigned = app_secret is None if allow_unsigned is None else allow_unsigned
        self.lenient_voicecall = lenient_voicecall
        self.host = host
        self.port = port
        self.max_body = max_body
        self.window = window
        self.x_router = x_router
        self._nonces = NonceCache(window)
        self._dispatcher = (
            _Dispatcher(self.store, on_cdr, on_event) if (on_cdr or on_event) else None
        )
        self._committer = _GroupCommitter(self.store, max_batch, self._committed)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
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
            product = self._authorise(environ, data)
            batch = Store.prepare(data, product=product)
        except ev.PushFormatError as exc:
            raise _Reject("400 Bad Request", "bad-push", str(exc)) from None
        try:
            self._committer.submit(batch)
        except StoreError as exc:
            log.warning("push not stored: %s", exc)
            raise _Reject(
                "503 Service Unavailable", "store", str(exc), [("Retry-After", "1")]
            ) from None
        except Exception as exc:  # content SQLite refused: nothing was stored
            log.warning("push refused by the store: %s", exc)
            raise _Reject("400 Bad Request", "bad-push", f"cannot store: {exc}") from None
        return self._reply(kind, data, product)

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

    def _authorise(self, environ: Mapping[str, Any], data: Any) -> ev.Product | None:
        """Check the signature; return the product to store the push under, or raise 401."""
        guess = ev.detect_product(data)
        if self._app_secret is None:
            return guess
        headers = wsgi_headers(environ)
        could_be_voice = self.lenient_voicecall and guess in ("voicecall", None)
        if "Authorization" not in headers:
            if self.allow_unsigned:
                return guess
            if could_be_voice:
                return "voicecall"
            raise _Reject("401 Unauthorized", "unsigned", "push carries no signature")
        verdict = verify(
            headers,
            lambda key: self._app_secret if key == self.app_key else None,
            window=self.window,
            nonces=self._nonces,
        )
        if verdict.ok:
            return guess or "privatenumber"
        if could_be_voice:
            log.info(
                "accepting a VoiceCall push whose signature did not verify (%s)", verdict.reason
            )
            return "voicecall"
        raise _Reject("401 Unauthorized", verdict.reason, verdict.message)

    def _reply(
        self, kind: str, data: Mapping[str, Any], product: ev.Product | None
    ) -> tuple[str, bytes, list[tuple[str, str]]]:
        if kind == "event" and data.get("eventType") == "callin":
            push = ev.parse_event(data, product)
            if push.is_block:
                return "200 OK", _json(self._route(push)), []
        elif kind == "sms":
            push = ev.parse_sms(data)
            if push.is_block:
                return "200 OK", _json(self._route(push)), []
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

    def start(self) -> Receiver:
        """Serve in a background thread; ``self.url`` is then the base URL. Returns self."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _Handler)
        self._server.set_app(self.wsgi_app)
        host, port = self._server.server_address[:2]
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="receiver-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, commit what is queued, run pending callbacks, close an owned store."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._committer.stop()
        if self._dispatcher is not None:
            self._dispatcher.stop()
        if self._owns_store:
            self.store.close()

    @property
    def running(self) -> bool:
        """True while the threaded server is serving (between :meth:`start` and :meth:`stop`)."""
        return self._server is not None and self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        signed = "verifying" if self._app_secret else "unverified"
        return f"Receiver(url={self.url!r}, {signed}, store={self.store!r})"


def make_app(store: Store | str | None = None, **options: Any) -> Callable[..., list[bytes]]:
    """A WSGI application for ``store`` (same options as :class:`Receiver`)."""
    return Receiver(store, **options).wsgi_app


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Bursts of short connections overflow a small listen backlog; a dropped SYN costs the
    # sender a one-second retransmit, which would dominate the acknowledgement latency.
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)


class _Handler(WSGIRequestHandler):
    timeout = 30  # a client that stops sending mid-body must not hold a thread for ever

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """``python -m toolkit receiver``: run the receiver until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit receiver",
        description="Receive platform pushes (CDRs, call events, SMS, X-number status) into a "
        "SQLite store. Prints the base URL on the first line of standard output.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--db", default="pushes.db", help="SQLite file (default pushes.db)")
    parser.add_argument(
        "--app-key",
        default=os.environ.get("PRIVATENUMBER_APP_KEY"),
        help="APP_Key pushes are signed with (env PRIVATENUMBER_APP_KEY)",
    )
    parser.add_argument(
        "--app-secret",
        default=os.environ.get("PRIVATENUMBER_APP_SECRET"),
        help="APP_Secret to verify pushes (env PRIVATENUMBER_APP_SECRET)",
    )
    parser.add_argument(
        "--allow-unsigned", action="store_true", help="accept pushes that carry no signature"
    )
    parser.add_argument(
        "--strict-voicecall",
        action="store_true",
        help="hold VoiceCall pushes to the same signature rule",
    )
    parser.add_argument(
        "--synchronous",
        choices=("NORMAL", "FULL"),
        default="NORMAL",
        help="FULL also survives power loss (slower); NORMAL survives crashes",
    )
    parser.add_argument("--max-body", type=int, default=MAX_BODY, help="body size cap in bytes")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    if bool(args.app_key) != bool(args.app_secret):
        parser.error("give both --app-key and --app-secret")
    if not args.app_secret and not args.allow_unsigned:
        parser.error(
            "no secret to verify pushes with: pass --app-key and --app-secret, "
            "or --allow-unsigned to accept pushes unverified"
        )
    try:
        receiver = Receiver(
            args.db,
            app_key=args.app_key or None,
            app_secret=args.app_secret or None,
            allow_unsigned=args.allow_unsigned,
            host=args.host,
            port=args.port,
            lenient_voicecall=not args.strict_voicecall,
            max_body=args.max_body,
            synchronous=args.synchronous,
        ).start()
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
    mode = "verifying signatures" if args.app_secret else "accepting unsigned pushes"
    log.info("receiving pushes at %s into %s, %s", receiver.url, args.db, mode)
    while not stopping:
        time.sleep(0.2)
    receiver.stop()
    log.info("stopped; the store holds %s", _summary(args.db))
    return 0


def _summary(path: str) -> str:
    try:
        with Store(path) as store:
            return ", ".join(f"{n} {t}" for t, n in store.counts().items())
    except StoreError:
        return "an unreadable store"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
