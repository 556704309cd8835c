"""The push receiver: a WSGI app that stores what the platform pushes, and a server to run it.

In a notebook::

    rx = Receiver(db="calls.db", app_key=KEY, app_secret=SECRET).start()  # 127.0.0.1, free port
    rx.url                                    # give this to the console
    rx.stop()

or, against the emulator, ``Receiver.for_emulator(emu, db="calls.db")``: started, verifying
the emulator's signatures, and the emulator's pushes pointed at it.

In production, serve ``Receiver(...).wsgi_app`` with any WSGI server behind HTTPS, or run
``python -m toolkit receiver --db calls.db --app-key K`` with the secret in
``PRIVATENUMBER_APP_SECRET`` (or ``.env``, or ``--app-secret-file``).

Every push type is accepted at any path and routed by the shape of its body (``/status``,
``/fee``, ``/sms`` and ``/numstatus`` are the conventional paths). The answer is HTTP 200 only once
the push is committed to the store; malformed pushes get a 4xx with a JSON reason, a store that
cannot commit gets 503 so the platform retries, and nothing ever gets a 500.

Throughput comes from *group commit* (:mod:`toolkit.commit`): many pushes waiting at one moment
share one transaction.

Trust: a verified push's rows are stored with ``verified=1`` and its nonce in the same
transaction (a replay, even to another receiver on the same store or after a restart, stores
nothing); unverified rows are keyed apart and cannot shadow verified ones; VoiceCall pushes that
fail verification are kept in a quarantine table instead (see :class:`Receiver`).
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import urlsplit
from wsgiref.util import request_uri

from . import events as ev
from . import rawjson, xmode
from .auth import DEFAULT_WINDOW, NonceCache, Verdict, verify, wsgi_headers
from .batches import quarantine_row
from .commit import COMMIT_TIMEOUT, GroupCommitter  # noqa: F401 (COMMIT_TIMEOUT: its old home)
from .engine import Engine
from .errors import ConfigError, ValidationError
from .follower import Follower
from .httpserver import ThreadedWSGIServer
from .store import Batch, Store, StoreError
from .terminal import printable
from .tls import server_context

log = logging.getLogger(__name__)


class _PrintableLog(logging.Filter):
    """Push fields and parser errors quoted in log lines are client-supplied: a log line shows
    their control characters escaped, so a push can neither forge a log line nor drive a terminal
    showing it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to the handler's own error report
            return True
        record.msg, record.args = printable(message), ()
        return True


log.addFilter(_PrintableLog())

MAX_BODY = 1 << 20  # 1 MiB: 50 CDRs are about 50 KiB

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
# The WSGI application


class _Reject(Exception):
    def __init__(self, status: str, error: str, reason: str, headers: list | None = None):
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason
        self.headers = headers or []


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


_SUCCESS_BODY = _json(SUCCESS)  # the answer to almost every push, encoded once


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

    ``db`` is a :class:`~toolkit.store.Store` (or any :class:`~toolkit.engine.Engine`), a path, a
    ``postgresql://`` URL (:mod:`toolkit.pgstore`: several receivers share one database), or
    ``None`` (a temporary store).

    Trust. Each product is verified with its own app: ``app_key``/``app_secret`` for
    PrivateNumber, ``voice_app_key``/``voice_app_secret`` for VoiceCall. A push verifies when it
    carries a valid signature (X-AKSK or X-WSSE; for VoiceCall also the §2.4 digest over the push
    URL), a ``Created`` (UTC) within ``window`` seconds of ``clock()`` (epoch seconds, default
    :func:`time.time`) and a nonce never seen before, by this receiver or any other on the same
    store. Its rows are stored with ``verified=1`` under the product of the app that signed it.
    Once a secret is given, a push that does not verify never reaches the main tables:

    * a PrivateNumber push gets 401;
    * a VoiceCall push is not refused (VoiceCall §2.4: never refuse a push for its signature)
      but kept in the store's quarantine table (:meth:`~toolkit.store.Store.quarantine`), which
      no reader shows, and a warning is logged once per reason. A call event whose shape fits
      both products counts as a possible VoiceCall push. ``lenient_voicecall=False`` refuses
      these too (401), for apps that do not use VoiceCall;
    * except that ``allow_unsigned=True`` stores pushes that carry no signing headers at all,
      unverified (a bad signature is still refused or quarantined).

    With no secret at all nothing could be verified, so the receiver refuses to start
    (:class:`~toolkit.errors.ConfigError`) unless ``allow_unsigned=True`` says that storing every
    push unverified (``verified=0``) is what you want, as the command line does.
    :meth:`for_emulator` wires a receiver to an :class:`~toolkit.emulator.Emulator` with the
    emulator's own keys and secrets, and :meth:`trust` adds another app's.

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

    ``tls_cert``/``tls_key`` (PEM files) make :meth:`start` serve HTTPS itself, for when no TLS
    proxy stands in front; :attr:`url` is then ``https://``.
    """

    def __init__(
        self,
        db: Engine | str | os.PathLike[str] | None = None,
        *,
        app_key: str | None = None,
        app_secret: str | None = None,
        voice_app_key: str | None = None,
        voice_app_secret: str | None = None,
        allow_unsigned: bool = False,
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
        tls_cert: str | os.PathLike[str] | None = None,
        tls_key: str | os.PathLike[str] | None = None,
    ) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise ValidationError("tls_key", "give both tls_cert and tls_key, or neither")
        # Loaded now, so a wrong file is reported before anything else is opened.
        self._ssl_context = None if tls_cert is None else server_context(tls_cert, tls_key or "")
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
        if not self._credentials and not allow_unsigned:
            # The command line's rule: storing every push unverified must be asked for.
            raise ConfigError(
                "no app_key and app_secret to verify pushes with: give them (for an emulator, "
                "Receiver.for_emulator(emulator) uses its own), or pass allow_unsigned=True to "
                "store every push unverified",
                "app_secret",
            )
        # Any engine: a SQLite Store, a PgStore, or a path or postgresql:// URL that Store opens.
        self._owns_store = not isinstance(db, Engine)
        self.store: Store = (
            cast(Store, db) if isinstance(db, Engine) else Store(db, synchronous=synchronous)
        )
        self.app_key = app_key
        self.voice_app_key = voice_app_key
        self.allow_unsigned = allow_unsigned
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
        self.on_cdr = on_cdr
        self.on_event = on_event
        # Callbacks run on committed rows in a thread of their own: they cannot slow or fail an
        # acknowledgement, and an exception in one is logged and the next record delivered.
        self._callbacks: Follower | None = None
        if on_cdr or on_event:
            self._callbacks = Follower(
                self.store, self.store.last_seq(), poll=1.0, name="receiver-callbacks"
            ).start(self._callback)
        self._committer = GroupCommitter(self.store, max_batch, self._wake_callbacks)
        self._server: ThreadedWSGIServer | None = None
        self.url: str | None = None

    @classmethod
    def for_emulator(
        cls,
        emulator: Any,
        db: Store | str | os.PathLike[str] | None = None,
        *,
        pushes: Sequence[str] = ("status", "fee", "sms", "numstatus"),
        **options: Any,
    ) -> Receiver:
        """A started receiver that stores ``emulator``'s pushes and verifies their signatures.

        One call instead of a circle (the emulator needs the receiver's URL, the receiver the
        emulator's secrets): the receiver is given the key and secret of each of the emulator's
        apps, apps added later included, and each app's push URLs (``pushes``: call events to
        ``/status``, CDRs to ``/fee``, SMS to ``/sms``, number status to ``/numstatus``) point
        at it. ``options`` are those of :class:`Receiver` (``on_cdr``, ``x_router``...). Use it
        as ``with Receiver.for_emulator(emu) as rx:`` or call :meth:`stop`.
        """
        app = emulator.default_app
        keys = "voice_app_key" if app.mode == "voice" else "app_key"
        options[keys], options[keys.replace("key", "secret")] = app.app_key, app.app_secret
        receiver = cls(db, **options).start()
        try:
            emulator.push_to(receiver, pushes=pushes)
        except BaseException:
            receiver.stop()
            raise
        return receiver

    def trust(self, app_key: str, app_secret: str, product: ev.Product = "privatenumber") -> None:
        """Also verify pushes signed by this app (``product``: ``"privatenumber"`` or
        ``"voicecall"``), e.g. a second app of the same account."""
        if product not in ("privatenumber", "voicecall"):
            raise ValidationError("product", "must be 'privatenumber' or 'voicecall'")
        for name, value in (("app_key", app_key), ("app_secret", app_secret)):
            if not isinstance(value, str) or not value:
                raise ValidationError(name, "must be a non-empty string")
        added = _Credentials(product, app_key, app_secret)
        if added not in self._credentials:
            # A new list, swapped in whole: request threads may be iterating the old one.
            self._credentials = [*self._credentials, added]

    def _wake_callbacks(self) -> None:
        if self._callbacks is not None:
            self._callbacks.wake()

    def _callback(self, table: str, row: dict[str, Any]) -> None:
        callback = self.on_cdr if table == "cdrs" else self.on_event
        if callback is not None:
            callback(self.store.record(table, row))

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
            # Decoded once; the store keeps each object's text as received (toolkit.rawjson).
            decoded = rawjson.loads(body)
        except (ValueError, RecursionError) as exc:
            raise _Reject("400 Bad Request", "bad-json", f"body is not JSON: {exc}") from None
        data = decoded.body
        try:
            kind = ev.push_kind(data)
            guess = ev.detect_product(data)
            trust = self._authorise(environ, guess)
            batch = Store.prepare(decoded, product=trust.product, verified=trust.verified)
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
        """Commit through the group committer; a store that cannot commit becomes a 503."""
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
        return "200 OK", _SUCCESS_BODY, []

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
            self.wsgi_app,
            self.host,
            self.port,
            max_body=self.max_body,
            name="receiver",
            ssl_context=self._ssl_context,
            **limits,
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
        if self._callbacks is not None:
            self._callbacks.stop()
            self._callbacks.drain(self._callback)  # what committed before stop() still reaches them
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
        # getattr: a traceback may show a receiver whose __init__ refused its arguments.
        products = "+".join(c.product for c in getattr(self, "_credentials", ()))
        signed = f"verifying {products}" if products else "unverified"
        url, store = getattr(self, "url", None), getattr(self, "store", None)
        return f"Receiver(url={url!r}, {signed}, store={store!r})"


def make_app(store: Store | str | None = None, **options: Any) -> Callable[..., list[bytes]]:
    """A WSGI application for ``store`` (same options as :class:`Receiver`)."""
    return Receiver(store, **options).wsgi_app
