"""Request plumbing shared by the PrivateNumber and VoiceCall clients.

:class:`Transport` sends one signed request and turns the answer into a
:class:`~toolkit.record.Record` or the right exception; :class:`BaseClient` holds the settings,
the session and the operations both products share (recording URL, stop call). :func:`wire` turns
a method's snake_case keyword arguments into the platform's camelCase fields, checking each value
by its parameter name, so that a rule such as "max_duration is 0-1440 minutes" is written once
for every operation that takes it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from requests.hooks import dispatch_hook

from . import retry
from .auth import UsernameTokenAuth
from .codes import decode, result_hint
from .config import Settings
from .deadline import Deadline, DeadlineAdapter
from .errors import (
    ApiError,
    Product,
    ResponseError,
    TransportError,
    ValidationError,
    api_error,
)
from .numbers import kind, mask_text, normalize
from .prepare import RequestPreparer
from .record import Record, camel
from .retry import log, log_body

__all__ = ["BaseClient", "Transport", "one_of", "wire"]

RECORD_PATH = "/rest/provision/voice/record/v1.0"
CALL_STOP_PATH = "/rest/httpsessions/callStop/v2.0"
_HEADERS = {"Content-Type": "application/json;charset=UTF-8", "Accept": "application/json"}
_QUERY_IN_TEXT = re.compile(r"\?[^\s'\")]*")
# Small reads keep memory flat and let the deadline be checked often.
_CHUNK = 16 * 1024
# The platform's answers nest 3-4 levels (a page of bindings with a preVoice object each).
_MAX_DEPTH = 32
# What a network failure can raise below requests: requests wraps most of it, not all (a
# streamed body read, a socket shut down by the deadline).
_NETWORK_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


class Transport:
    """Sends signed JSON requests to one platform and maps the answers.

    Signing happens in exactly one place: the :class:`~toolkit.auth.UsernameTokenAuth` object passed
    with every request (a fresh nonce and ``Created`` each time), bound to the base URL's origin.
    ``session`` may be any ``requests.Session``; tests and the emulator mount adapters on it.

    What holds for every call, whatever the server does:

    * redirects are never followed, so neither the signing headers nor the body (phone numbers)
      ever go to another host. The recording API's 3xx is read by :meth:`location`; a 3xx from
      any other API is a :class:`ResponseError`;
    * ``settings.timeout`` bounds the whole call, answer included (:mod:`toolkit.deadline`); past
      it, :class:`TransportError`;
    * an answer larger than ``settings.max_response_bytes`` once decompressed, or nested deeper
      than 32 levels, is a :class:`ResponseError`; it is read in small chunks and dropped as soon
      as it is over the limit, so a huge or gzip-bomb answer costs no more memory than the limit.

    The request goes straight to the session's adapter for the base URL (``Session.send`` would
    read the whole body of a 3xx while looking for the next hop). Session and request hooks still
    run, and the session's cookies are still sent; cookies set by an answer are not stored in the
    session's jar (the APIs set none).
    """

    def __init__(
        self, settings: Settings, *, product: Product, session: requests.Session | None = None
    ) -> None:
        self.settings = settings
        self.product: Product = product
        self.owns_session = session is None
        if session is None:
            session = requests.Session()
            adapter = DeadlineAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session
        self.auth = UsernameTokenAuth(
            settings.app_key, settings.app_secret, settings.auth_scheme, origin=settings.base_url
        )
        self._environment: dict[str, Any] | None = None
        self._preparer = RequestPreparer(_HEADERS)

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        expect: tuple[str, ...] = (),
        safe: bool | None = None,
        reconcile: Callable[[], Record | None] | None = None,
    ) -> Record:
        """Send one request and return the JSON answer; raise for ``resultcode != "0"``.

        ``expect`` names fields a success answer must carry (those the calling method promises);
        one missing or empty raises :class:`ResponseError`. Failed attempts are retried as
        :mod:`toolkit.retry` rules: ``safe`` (default: every method but ``POST``) says sending
        the request twice does no harm; ``reconcile`` is the query that finds what an unsafe
        request created, run before it is sent again after an ambiguous failure.
        """

        def send(seconds: float, attempt: int) -> tuple[int, Record]:
            with Deadline(seconds) as deadline:
                response = self._send(method, path, query, body, deadline)
                try:
                    status = response.status_code
                    if 300 <= status < 400:
                        where = _redirect_target(response.headers.get("Location"))
                        raise ResponseError(
                            status, self._url(path), f"redirect not followed{where}"
                        )
                    raw = self._read(response, deadline, path)
                    log_body("answer", method, path, raw)
                    payload = self._decode(status, response, raw, path)
                finally:
                    _close(response)
            for name in expect:
                if payload.get(name) in (None, ""):
                    raise ResponseError(status, self._url(path), f"missing field {name}")
            return status, Record(payload)

        if safe is None:
            safe = method.upper() != "POST"
        return retry.run(self.settings, method, path, send, safe=safe, reconcile=reconcile)

    def location(self, path: str, query: Mapping[str, Any]) -> str:
        """GET ``path`` without following redirects and return the 3xx ``Location`` header.

        The record-download API answers 301 (some texts say 302: any 3xx counts) and following it
        would download the file itself instead of telling us where it is.
        """

        def send(seconds: float, attempt: int) -> tuple[int, str]:
            with Deadline(seconds) as deadline:
                response = self._send("GET", path, query, None, deadline)
                try:
                    status = response.status_code
                    if 300 <= status < 400:
                        target = response.headers.get("Location")
                        if not target:
                            raise ResponseError(
                                status, self._url(path), "redirect without Location"
                            )
                        return status, target
                    # Not a redirect: read the answer for the platform's error, if it is one.
                    raw = self._read(response, deadline, path)
                    log_body("answer", "GET", path, raw)
                    self._decode(status, response, raw, path)
                finally:
                    _close(response)
            raise ResponseError(status, self._url(path), "expected a redirect (3xx)")

        return retry.run(self.settings, "GET", path, send, safe=True)

    def bad_answer(self, path: str, detail: str) -> ResponseError:
        """The error for a success answer (HTTP 200) whose content is not as documented."""
        return ResponseError(200, self._url(path), detail)

    def _url(self, path: str) -> str:
        # Error messages name base URL and path only: the query string holds phone numbers.
        return self.settings.base_url + path

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        deadline: Deadline,
    ) -> requests.Response:
        """Send the request and return the answer with its headers read and its body not."""
        data = None
        if log.isEnabledFor(logging.DEBUG):
            log_body("request", method, path, {"query": dict(query or {}), "body": body})
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            # As session.prepare_request, for less CPU; signs it: a fresh nonce and Created.
            # requests encodes query values with quote_plus, so "+86..." goes out as "%2B86...".
            prepared = self._preparer.prepare(
                self.session, self.auth, method, self._url(path), query, data
            )
            options = {
                **self._environment_settings(),
                "stream": True,  # the body is read by _read, in chunks, within the limits
                "timeout": self.settings.timeout,  # per connect and per read; see Deadline
            }
            adapter = self.session.get_adapter(prepared.url or "")
            response = adapter.send(prepared, **options)
            deadline.attach_response(response)
            hooked = dispatch_hook("response", prepared.hooks, response, **options)
            return hooked if isinstance(hooked, requests.Response) else response
        except _NETWORK_ERRORS as exc:
            raise self._unreachable(path, exc, deadline) from None

    def _read(self, response: requests.Response, deadline: Deadline, path: str) -> bytes:
        """The body, decompressed, of at most ``max_response_bytes``, read within the deadline."""
        limit = self.settings.max_response_bytes
        status = response.status_code
        too_large = f"answer larger than {limit} bytes (max_response_bytes); not read"
        declared = (response.headers.get("Content-Length") or "").strip()
        # isascii: str.isdigit() accepts digits int() refuses, such as "\xb2" (superscript two).
        if (
            declared.isascii()
            and declared.isdigit()
            and (len(declared) > 15 or int(declared) > limit)
        ):
            raise ResponseError(status, self._url(path), too_large)
        if response.raw is None:  # an adapter that built the answer in memory
            body = response.content or b""
            if len(body) > limit:
                raise ResponseError(status, self._url(path), too_large)
            return body
        chunks: list[bytes] = []
        size = 0
        try:
            # decode_content: a gzip answer is counted as it unpacks, chunk by chunk, so a small
            # bomb is refused after `limit` bytes instead of being inflated whole.
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ResponseError(status, self._url(path), too_large)
                if deadline.passed():
                    break
                chunks.append(chunk)
        except requests.exceptions.ContentDecodingError:
            if deadline.passed():
                raise self._unreachable(path, None, deadline) from None
            raise ResponseError(
                status, self._url(path), "the answer's Content-Encoding does not decode"
            ) from None
        except _NETWORK_ERRORS as exc:
            raise self._unreachable(path, exc, deadline) from None
        # A cut close-delimited answer just ends early: only the deadline tells it apart.
        if deadline.passed():
            raise self._unreachable(path, None, deadline)
        deadline.finish()
        return b"".join(chunks)

    def _unreachable(
        self, path: str, exc: BaseException | None, deadline: Deadline
    ) -> TransportError:
        sent = not _connect_failure(exc)
        if deadline.passed() or exc is None:
            cause: BaseException = TimeoutError(
                f"no complete answer within {round(deadline.seconds, 2):g} s (the timeout bounds "
                "the whole call, answer included)"
            )
        elif isinstance(exc, requests.RequestException):
            cause = _scrubbed(exc)
        else:  # urllib3 or socket errors that requests did not wrap
            text = _QUERY_IN_TEXT.sub("?…", str(exc))
            cause = requests.ConnectionError(f"{type(exc).__name__}: {text}")
        return TransportError(self._url(path), cause, sent=sent)

    def _environment_settings(self) -> dict[str, Any]:
        """Proxies, CA bundle and client certificate for the base URL, resolved once.

        ``Session.request`` re-reads every environment variable on each call to find proxy
        settings, which costs more than the rest of a local round trip; every request here goes
        to the same base URL, so the answer is looked up on the first request and kept.
        """
        if self._environment is None:
            merged = self.session.merge_environment_settings(
                self.settings.base_url, {}, None, None, None
            )
            self._environment = {k: merged[k] for k in ("proxies", "verify", "cert")}
            if self.settings.ca_cert is not None:  # the CA named in the settings wins
                self._environment["verify"] = self.settings.ca_cert
        return self._environment

    def _decode(
        self, status: int, response: requests.Response, body: bytes, path: str
    ) -> dict[str, Any]:
        try:
            payload = json.loads(body)
        except RecursionError:
            raise ResponseError(status, self._url(path), "JSON nested too deeply") from None
        except ValueError:  # also UnicodeDecodeError
            kind_ = (response.headers.get("Content-Type") or "no content type")[:60]
            preview = re.sub(r"\d{5,}", "…", body[:60].decode("utf-8", "replace")).strip()
            detail = f"expected JSON, got {kind_} ({len(body)} bytes): {preview!r}"
            raise ResponseError(status, self._url(path), detail) from None
        if _deeper_than(payload, _MAX_DEPTH):
            detail = f"JSON nested more than {_MAX_DEPTH} levels deep"
            raise ResponseError(status, self._url(path), detail)
        if not isinstance(payload, dict) or "resultcode" not in payload:
            raise ResponseError(status, self._url(path), "JSON without a resultcode field")
        # resultcode is documented as a string; some samples compare with 0, so accept both.
        code = str(payload["resultcode"])
        if code != "0":
            desc = str(payload.get("resultdesc", ""))
            if not desc and not _platform_code(code, self.product):
                # The platform describes every refusal: a code in none of its tables with no
                # description ({"resultcode": "1"} from a receiver, a proxy, a test server) is
                # another server's answer, which the base URL points at by mistake.
                detail = (
                    f"the answer (resultcode {code!r}, no resultdesc) is not the platform's: "
                    "check that base_url is the platform's address, scheme://host[:port]"
                )
                raise ResponseError(status, self._url(path), detail)
            hint = result_hint(code, self.product, status)
            raise api_error(code, desc, status, product=self.product, hint=hint)
        return payload


def _platform_code(code: str, product: str) -> bool:
    """Whether ``code`` is in the product's result-code table."""
    return decode(code, "vc_result" if product == "voicecall" else "pn_result").known


def _connect_failure(exc: BaseException | None) -> bool:
    """True when ``exc`` says no connection could be made, so the request was never sent.

    urllib3 raises NewConnectionError (refused, unreachable, name not found; a subclass of
    ConnectTimeoutError) or ConnectTimeoutError before writing a byte; requests wraps them in
    ConnectTimeout or in a ConnectionError around MaxRetryError. A failure on a reused
    connection (reset, closed by the server) is not one of them: the request may have gone out.
    """
    if isinstance(exc, requests.ConnectTimeout | urllib3.exceptions.ConnectTimeoutError):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])
        return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)
    return False


def _close(response: requests.Response) -> None:
    """Close an answer: an unread body closes its connection, a read one goes back to the pool."""
    # An adapter that answers from memory may leave ``raw`` unset, which close() trips on.
    if response.raw is not None:
        response.close()


def _deeper_than(value: Any, limit: int) -> bool:
    """True when containers nest more than ``limit`` levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _redirect_target(location: str | None) -> str:
    """`` (Location: <where>)`` for a redirect's error message: scheme, host and path only
    (the query string is left out), numbers in the path masked."""
    if not location:
        return ""
    try:
        parts = urlsplit(location)
    except ValueError:  # an unclosed IPv6 bracket
        return " (Location: not a valid URL)"
    host = parts.hostname or ""
    with contextlib.suppress(ValueError):  # a port out of range or not a number: left out
        host += f":{parts.port}" if parts.port else ""
    return f" (Location: {parts.scheme}://{host}{mask_text(parts.path)[:100]})"


def _scrubbed(exc: requests.RequestException) -> Exception:
    """The same error with any query string in its text hidden.

    requests quotes the full URL in its messages, and our query strings hold phone numbers.
    """
    text = _QUERY_IN_TEXT.sub("?…", str(exc))
    try:
        return type(exc)(text)
    except TypeError:  # an exception class with a different constructor
        return requests.RequestException(f"{type(exc).__name__}: {text}")


_C = TypeVar("_C", bound="BaseClient")


class BaseClient:
    """Settings, session and the operations common to both products.

    ``settings`` wins; without it the other arguments, the environment and ``.env`` are read by
    :meth:`Settings.load <toolkit.config.Settings.load>` for ``product``. Use as a context manager
    to close a session the client created itself (an injected session is left open).

    ``timeout`` bounds each call as a whole (connecting, sending, waiting and reading the answer;
    :class:`~toolkit.errors.TransportError` past it); answers larger than ``max_response_bytes``
    (default 1 MiB, counted after decompression) raise :class:`~toolkit.errors.ResponseError`;
    redirects are never followed. With a ``session`` of your own, the wait for an answer's
    headers is bounded per socket read only (see :mod:`toolkit.deadline`). ``retries``,
    ``backoff``, ``backoff_max`` and ``deadline`` set the retries (:mod:`toolkit.retry`).
    """

    product: Product = "privatenumber"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        base_url: str | None = None,
        app_key: str | None = None,
        app_secret: str | None = None,
        auth_scheme: str | None = None,
        session: requests.Session | None = None,
        timeout: float | None = None,
        max_response_bytes: int | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        backoff_max: float | None = None,
        deadline: float | None = None,
    ) -> None:
        if settings is None:
            settings = Settings.load(
                base_url=base_url,
                app_key=app_key,
                app_secret=app_secret,
                auth_scheme=auth_scheme,
                timeout=timeout,
                max_response_bytes=max_response_bytes,
                retries=retries,
                backoff=backoff,
                backoff_max=backoff_max,
                deadline=deadline,
                product=self.product,
            )
        self.settings = settings
        self._transport = Transport(settings, product=self.product, session=session)

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` used for every call (mount adapters on it)."""
        return self._transport.session

    def record_url(self, record_domain: str, file_name: str) -> str:
        """Return the download URL of a recording (valid 3 days; files are kept 7 days).

        ``record_domain`` and ``file_name`` are the CDR's ``recordDomain`` and
        ``recordObjectName``. The platform's 3xx is not followed; its ``Location`` is returned.
        """
        query = wire({"record_domain": record_domain, "file_name": file_name})
        return self._transport.location(RECORD_PATH, query)

    def _call_stop(self, session_id: str) -> Record:
        # Every Huawei sample and the VoiceCall table spell the field "sessionid" (lower-case i);
        # the PrivateNumber text says "sessionId". Unconfirmed which the server requires: we send
        # the samples' spelling, and the emulator accepts both.
        text("session_id", session_id, 256)
        try:
            # Stopping a call twice leaves it stopped: safe to resend after any failure.
            return self._transport.call(
                "POST",
                CALL_STOP_PATH,
                body={"sessionid": session_id, "signal": "call_stop"},
                safe=True,
            )
        except ApiError as exc:
            if exc.resultcode != "1012007":
                raise
            # The table's hint for 1012007 speaks of bindings and recordings; here it is the call.
            raise type(exc)(
                exc.resultcode,
                exc.resultdesc,
                exc.status,
                product=exc.product,
                hint="No live call has this session_id: check it is the sessionId of the call's "
                "event or CDR, and that the call has not ended already",
            ) from None

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._transport.owns_session:
            self._transport.session.close()

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.settings
        return f"{type(self).__name__}(base_url={s.base_url!r}, app_key={s.app_key!r})"


# --------------------------------------------------------------------------------------------
# Parameter checks. Each takes the parameter name (for the error) and the value, and returns the
# value as it goes on the wire. They run before any HTTP call.

Check = Callable[[str, Any], Any]


def text(name: str, value: Any, max_len: int = 256, min_len: int = 1) -> str:
    """A string of ``min_len``-``max_len`` characters."""
    if not isinstance(value, str):
        raise ValidationError(name, f"expected a string, got {type(value).__name__}")
    if not min_len <= len(value) <= max_len:
        raise ValidationError(name, f"must be {min_len}-{max_len} characters long")
    return value


def integer(low: int, high: int) -> Check:
    """An ``int`` within ``low``-``high`` (inclusive); ``bool`` is refused."""

    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(name, f"expected an integer, got {value!r}")
        if not low <= value <= high:
            raise ValidationError(name, f"must be between {low} and {high}, got {value}")
        return value

    return check


def choice(*allowed: str, as_int: bool = False) -> Check:
    """One of ``allowed`` (given as str or int); sent as str, or as int with ``as_int``."""

    def check(name: str, value: Any) -> str | int:
        key = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
        if key not in allowed:
            raise ValidationError(name, f"must be one of {', '.join(allowed)}; got {value!r}")
        return int(key) if as_int else key

    return check


def flag(name: str, value: Any) -> str:
    """A boolean option, sent as the string ``"true"``/``"false"`` as the platform documents."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value in ("true", "false"):
        return value
    raise ValidationError(name, f"expected True or False, got {value!r}")


def number(name: str, value: Any) -> str:
    """A phone number in any common spelling, normalised to global format."""
    return normalize(value, param=name)


def service_number(name: str, value: Any) -> str:
    """Like :func:`number`, but 400/95 service numbers are allowed too (AX temporary callee)."""
    return normalize(value, param=name, allow_service=True)


def fixed_number(name: str, value: Any) -> str:
    """A fixed-line number (VoiceCall display numbers may not be mobiles)."""
    normalized = normalize(value, param=name)
    if kind(normalized) != "fixed":
        raise ValidationError(name, "must be a fixed-line number issued to your app (not a mobile)")
    return normalized


_CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def user_data(name: str, value: Any) -> str:
    """Opaque text echoed in pushes: at most 256 characters, no braces, no Chinese."""
    text(name, value, 256, 0)
    if "{" in value or "}" in value:
        raise ValidationError(name, "may not contain '{' or '}'")
    if _CHINESE.search(value):
        raise ValidationError(name, "may not contain Chinese characters (Base64-encode them)")
    return value


def tone(name: str, value: Any) -> str:
    """An audited audio file name (1-128 characters)."""
    return text(name, value, 128)


_EXTENSION = re.compile(r"\d{1,4}")


def extension(name: str, value: Any) -> str:
    """An AXE extension: 1-4 digits (an int is accepted; leading zeros need a string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _EXTENSION.fullmatch(value):
        raise ValidationError(name, f"must be 1-4 digits, got {value!r}")
    return value


_CURSOR = re.compile(r"\d{13}_\d{1,20}")


def cursor(name: str, value: Any) -> str:
    """An AXE v2 paging cursor such as ``0000000000000_0``."""
    if not isinstance(value, str) or not _CURSOR.fullmatch(value):
        raise ValidationError(name, f"must look like '0000000000000_0', got {value!r}")
    return value


def area_code(name: str, value: Any) -> str:
    """A city code such as ``0755`` or ``010`` (digits, leading 0 optional)."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{2,6}", value):
        raise ValidationError(name, f"must be a city code of digits such as '0755', got {value!r}")
    return value


_URL = re.compile(r"https?://[A-Za-z0-9\-:./_#?&]+")


def push_url(name: str, value: Any) -> str:
    """A push URL given in plain text, sent Base64-encoded as VoiceCall requires."""
    if not isinstance(value, str) or not _URL.fullmatch(value):
        raise ValidationError(
            name,
            "must be a plain http(s) URL using only letters, digits and - : . / _ # ? &",
        )
    encoded = base64.b64encode(value.encode()).decode()
    if len(encoded) > 128:
        raise ValidationError(name, "is too long: its Base64 form must fit in 128 characters")
    return encoded


def duration_axyb(name: str, value: Any) -> int:
    """AXYB binding lifetime: 0 (never expires) or 60-7776000 seconds."""
    seconds = integer(0, 7_776_000)(name, value)
    if 0 < seconds < 60:
        raise ValidationError(name, "must be 0 (never expires) or 60-7776000 seconds")
    return seconds


# The rule for each parameter name, shared by every operation that takes it. Names not listed
# are plain strings of 1-256 characters.
# fmt: off
_NUMBERS = ("caller_num", "callee_num", "relation_num", "orig_num", "private_num", "bind_num",
            "virtual_num", "callback_num", "y_num", "b_num", "caller_nbr", "callee_nbr")
_FLAGS = ("record_flag", "private_sms", "play_pre_voice", "return_idle_port",
          "party_type_required_in_disconnect", "replay_after_collection")
_TONES = ("record_hint_tone", "last_min_voice", "caller_hint_tone", "callee_hint_tone",
          "callback_tone", "pre_voice", "wait_voice", "pre_tone", "pos_tone", "notify_voice")
# fmt: on
RULES: dict[str, Check] = {
    **dict.fromkeys(_NUMBERS, number),
    **dict.fromkeys(("display_nbr", "display_callee_nbr"), fixed_number),
    **dict.fromkeys(_FLAGS, flag),
    **dict.fromkeys(_TONES, tone),
    "area_code": area_code,
    "area_match_mode": choice("0", "1"),
    "call_direction": choice("0", "1", "2", as_int=True),
    "callee_num_display": choice("0", "1"),
    "display_num_mode": choice("0", "1"),
    "time_unit": choice("0", "1"),
    "turn_flag": choice("on", "off"),
    "duration": integer(0, 7_776_000),
    "yb_duration": integer(0, 7_776_000),
    "max_duration": integer(0, 1440),
    # AXE expiry values are in hours or minutes (time_unit); the range is unconfirmed, so we only
    # refuse negatives and absurd values (over 90 days counted in minutes).
    "bind_expired_time": integer(0, 129_600),
    "callback_expired_time": integer(0, 129_600),
    "page_index": integer(1, 1_000_000),
    "page_size": integer(10, 100),
    # The v2 page size range is unconfirmed; we refuse only nonsense.
    "limit": integer(1, 1000),
    "cursor": cursor,
    "extend_num": extension,
    "user_data": user_data,
    "subscription_id": lambda n, v: text(n, v, 64),
    "record_domain": lambda n, v: text(n, v, 128),
    "file_name": lambda n, v: text(n, v, 256),
    "status_url": push_url,
    "fee_url": push_url,
    "last_min_to_ue": choice("toa", "tob", "both"),
    "callee_media": choice("all", "none", "fail"),
    "collect_ind": integer(0, 32),
    "template_id": lambda n, v: text(n, v, 32),
    "times": integer(0, 9),
    "language_type": integer(1, 99),
}
# Where snake_case -> camelCase does not give the platform's spelling.
WIRE_NAMES = {"last_min_to_ue": "lastMinToUE"}
# Pre-connect tones travel in a nested object.
_PRE_VOICE = ("caller_hint_tone", "callee_hint_tone")


def wire(args: Mapping[str, Any], **rules: Check) -> dict[str, Any]:
    """Check ``args`` (a method's keyword arguments) and return them as platform fields.

    ``None`` means "not given" and is left out; ``self`` is ignored; ``rules`` override
    :data:`RULES` for this call. ``caller_hint_tone``/``callee_hint_tone`` become ``preVoice``.
    """
    out: dict[str, Any] = {}
    pre_voice: dict[str, str] = {}
    for name, value in args.items():
        if value is None or name == "self":
            continue
        check = rules.get(name) or RULES.get(name) or text
        checked = check(name, value)
        if name in _PRE_VOICE:
            pre_voice[camel(name)] = checked
        else:
            out[WIRE_NAMES.get(name, camel(name))] = checked
    if pre_voice:
        out["preVoice"] = pre_voice
    return out


def one_of(*, both: bool = False, **given: Any) -> None:
    """Require at least one of the given parameters (all of them with ``both``)."""
    names = " and ".join(given) if both else " or ".join(given)
    present = [v is not None for v in given.values()]
    if not (all(present) if both else any(present)):
        raise ValidationError(next(iter(given)), f"give {names}")


def exclusive(**given: Any) -> None:
    """Refuse mutually exclusive parameters given together."""
    present = [k for k, v in given.items() if v is not None]
    if len(present) > 1:
        raise ValidationError(present[1], f"{' and '.join(present)} are mutually exclusive")
