"""The emulator's WSGI app: route table, parsing, auth, and the one place errors become JSON.

Platform routes (``/rest/...``) check the signing headers with :func:`toolkit.auth.verify` (both
generations), read parameters from the JSON body (POST/PUT) or the query string (GET/DELETE),
call the backend and answer its JSON envelope. Control routes live under ``/_emulator/`` and need
no signature: health, reset, apps, bindings, calls, deliveries, placing calls, simulating traffic,
SMS, number status and the recording files behind the record API's 301.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, quote

from ..auth import NonceCache, verify, wsgi_headers
from . import errors as e
from .backend import Backend
from .delivery import Deliverer
from .params import Params
from .wav import recording

MAX_BODY = 64 * 1024
# Calls one POST /_emulator/simulate may place. Each call is a few kilobytes until it leaves the
# emulator's window of remembered calls, and the request holds its answer (one entry per call)
# in memory: a typo such as 10000000 must be refused, not served. In-process simulate() allows
# more (backend.MAX_SIMULATE).
MAX_SIMULATE_HTTP = 10_000
JSON_TYPE = "application/json;charset=UTF-8"
CONTROL = "/_emulator"
StartResponse = Callable[..., Any]

PN_AXB = "/rest/caas/relationnumber/partners/v1.0"
PN_AX = "/rest/provision/caas/privatenumber/v1.0"
PN_AXE = "/rest/caas/extendnumber/v1.0"
PN_AXYB = "/rest/omp/xyrelationnumber/v1.0"
RECORD = "/rest/provision/voice/record/v1.0"
CALL_STOP = "/rest/httpsessions/callStop/v2.0"

# (method, path) -> backend operation (see backend.OPERATIONS)
ROUTES: dict[tuple[str, str], str] = {
    ("POST", PN_AXB): "axb.bind",
    ("DELETE", PN_AXB): "axb.unbind",
    ("PUT", PN_AXB): "axb.modify",
    ("GET", PN_AXB): "axb.query",
    ("POST", PN_AX): "ax.bind",
    ("DELETE", PN_AX): "ax.unbind",
    ("PUT", PN_AX): "ax.modify",
    ("GET", PN_AX): "ax.query",
    ("PUT", "/rest/caas/privatenumber/calleenumber/v1.0"): "ax.set_callee",
    ("POST", PN_AXE): "axe.bind",
    ("DELETE", PN_AXE): "axe.unbind",
    ("PUT", PN_AXE): "axe.modify",
    ("GET", PN_AXE): "axe.query",
    ("GET", "/rest/caas/extendnumber/v2.0"): "axe.query_v2",
    ("POST", PN_AXYB): "axyb.bind",
    ("DELETE", PN_AXYB): "axyb.unbind",
    ("GET", PN_AXYB): "axyb.query",
    ("POST", "/rest/httpsessions/click2Call/v2.0"): "voice.click2call",
    ("POST", "/rest/httpsessions/callnotify/v2.0"): "voice.notify",
    ("POST", "/rest/httpsessions/callnotify/v1.0"): "voice.notify",
    ("POST", "/rest/httpsessions/callVerify/v1.0"): "voice.verify",
    ("GET", RECORD): "record",
    ("POST", CALL_STOP): "stop_call",
}
_PATHS = {path for _, path in ROUTES}


class Reply:
    """A response before it is written: status, headers, body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None
    ):
        self.status, self.body, self.headers = status, body, headers or []

    @classmethod
    def json(cls, status: int, payload: Any) -> Reply:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, body, [("Content-Type", JSON_TYPE)])


_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


def error_response(exc: BaseException) -> Reply:
    """The one place an exception becomes an HTTP answer: the platform's JSON envelope."""
    if isinstance(exc, e.PlatformError):
        return Reply.json(exc.status, exc.body())
    if isinstance(exc, e.EmulatorError):
        return Reply.json(400, {"resultcode": "1010002", "resultdesc": str(exc)})
    # Never a traceback on the wire: a bug answers the platform's internal-error code.
    return Reply.json(500, {"resultcode": "1010001", "resultdesc": "Internal system error."})


class EmulatorApp:
    """WSGI callable over one platform: its :class:`~toolkit.emulator.backend.Backend` (rules and
    state) and the :class:`~toolkit.emulator.delivery.Deliverer` that pushes what it sends.

    ``latency`` (seconds, default 0) delays every platform API answer, refusals included, as a
    platform across a WAN does: half before the request is acted on (its way there) and half
    after (the answer's way back), so that a client deadline shorter than the latency can end
    either before or after the platform acted. Control routes (``/_emulator/``) are not delayed.
    """

    def __init__(self, backend: Backend, deliverer: Deliverer, latency: float = 0.0) -> None:
        self.backend = backend
        self.deliverer = deliverer
        self.nonces = NonceCache()
        self.latency = latency

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        latency = self.latency
        if latency and _is_control(environ.get("PATH_INFO", "")):
            latency = 0.0
        if latency:  # the request's way to the platform
            time.sleep(latency / 2)
        try:
            reply = self.dispatch(environ)
        except Exception as exc:
            reply = error_response(exc)
        if latency:  # the answer's way back
            time.sleep(latency / 2)
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Unknown')}", headers)
        return [reply.body]

    # ---- parsing ---------------------------------------------------------------------------------

    @staticmethod
    def query(environ: dict[str, Any]) -> dict[str, str]:
        return dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))

    @staticmethod
    def body(environ: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
        """The JSON object in the request body (size-checked)."""
        raw_length = environ.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            raise e.bad_body("Content-Length is not a number.") from None
        if length > MAX_BODY or length < 0:
            raise e.bad_body(f"body larger than {MAX_BODY} bytes.", 413)
        data = environ["wsgi.input"].read(length) if length else b""
        if not data.strip():
            if required:
                raise e.bad_body("body must be a JSON object.")
            return {}
        try:
            payload = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise e.bad_body("body is not valid JSON.") from None
        if not isinstance(payload, dict):
            raise e.bad_body("body must be a JSON object.")
        return payload

    @staticmethod
    def base_url(environ: dict[str, Any]) -> str:
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"

    # ---- dispatch --------------------------------------------------------------------------------

    def dispatch(self, environ: dict[str, Any]) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        if path.startswith("/sandbox/rest/"):
            path = path[len("/sandbox") :]  # legacy debugging prefix (VoiceCall §1)
        if _is_control(path):
            return self.control(method, path[len(CONTROL) :] or "/", environ)
        operation = ROUTES.get((method, path))
        if operation is None:
            raise e.unknown_api(405 if path in _PATHS else 404)
        declared = environ.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > MAX_BODY:  # refused before reading or auth
            raise e.bad_body(f"body larger than {MAX_BODY} bytes.", 413)
        app_key = self.authenticate(environ)
        if method in ("POST", "PUT"):
            data = self.body(environ)
            if operation.startswith("axyb."):
                data = {**self.query(environ), **data}  # app_key travels in the query string
            params = Params(data)
        else:
            params = Params(self.query(environ), from_query=True)
        if operation == "record":
            name = self.backend.record_location(app_key, params)
            location = f"{self.base_url(environ)}{CONTROL}/recordings/{quote(name)}"
            return Reply(301, b"", [("Location", location)])
        if operation == "stop_call":
            return Reply.json(200, self.backend.stop_call(app_key, params))
        return Reply.json(200, self.backend.handle(app_key, operation, params))

    def authenticate(self, environ: dict[str, Any]) -> str:
        headers = wsgi_headers(environ)
        verdict = verify(headers, self.backend.secret_for, nonces=self.nonces)
        if not verdict.ok:
            raise e.PlatformError(verdict.resultcode, verdict.message, verdict.status)
        assert verdict.app_key is not None  # verify() names the app of every passing request
        return verdict.app_key

    # ---- control endpoints -----------------------------------------------------------------------

    def control(self, method: str, path: str, environ: dict[str, Any]) -> Reply:
        backend, deliverer = self.backend, self.deliverer
        q = self.query(environ)
        if path.startswith("/recordings/") and method == "GET":
            if not backend.has_recording(path[len("/recordings/") :]):
                raise e.not_found(404)
            return Reply(200, recording(), [("Content-Type", "audio/wav")])
        key = (method, path.rstrip("/") or "/")
        if key == ("GET", "/health"):
            with backend.lock:
                return Reply.json(
                    200,
                    {
                        "status": "ok",
                        "apps": len(backend.apps),
                        "bindings": len(backend.store.by_id),
                        "calls": len(backend.calls),
                    },
                )
        if key == ("POST", "/reset"):
            backend.reset()
            return Reply.json(200, {"status": "ok"})
        if key == ("GET", "/apps"):
            return Reply.json(200, {"apps": [a.describe() for a in list(backend.apps.values())]})
        if key == ("GET", "/bindings"):
            return Reply.json(200, {"bindings": backend.bindings(q.get("app_key"))})
        if key == ("GET", "/calls"):
            return Reply.json(200, {"calls": backend.call_summaries(q.get("app_key"))})
        if key == ("GET", "/deliveries"):
            rows = deliverer.attempts(
                kind=q.get("kind"),
                session_id=q.get("session_id"),
                with_body=q.get("body") in ("1", "true"),
            )
            return Reply.json(200, {"deliveries": rows})
        if key == ("POST", "/deliveries/flush"):
            idle = deliverer.wait_idle(_number(q.get("timeout"), 10.0))
            return Reply.json(200, {"idle": idle})
        if method == "POST" and key[1] in ("/calls", "/simulate", "/sms", "/numbers/status"):
            return self.control_post(key[1], self.body(environ, required=False))
        raise e.unknown_api()

    def control_post(self, path: str, body: dict[str, Any]) -> Reply:
        backend = self.backend
        if path == "/calls":
            unknown = set(body) - {"caller", "called", "extension", "outcome", "talk_seconds"}
            if unknown:
                raise e.EmulatorError(f"unknown fields: {', '.join(sorted(unknown))}")
            for name in ("caller", "called"):
                if name not in body:
                    raise e.EmulatorError(f"{name} is required")
            call = backend.place_call(
                body["caller"],
                body["called"],
                body.get("extension"),
                body.get("outcome"),
                body.get("talk_seconds"),
            )
            return Reply.json(200, call.receipt())
        if path == "/simulate":
            n, seed, days = body.get("calls", 0), body.get("seed"), body.get("days", 0)
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_SIMULATE_HTTP:
                raise e.EmulatorError(
                    f"calls must be an integer from 0 to {MAX_SIMULATE_HTTP} per request"
                )
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise e.EmulatorError("seed must be an integer")
            if isinstance(days, bool) or not isinstance(days, int | float):
                raise e.EmulatorError("days must be a number")
            calls = backend.simulate(n, seed=seed, span=days * 86_400)
            return Reply.json(200, {"calls": [c.receipt() for c in calls]})
        if path == "/sms":
            args = [_string(body, k) for k in ("sender", "to", "text")]
            return Reply.json(200, backend.send_sms(*args))
        # A status or cause may come as a JSON number; set_number_status checks the text of it.
        status = body.get("status")
        return Reply.json(
            200,
            backend.set_number_status(
                _string(body, "number"),
                "" if status is None else str(status),
                body.get("cause"),
            ),
        )


def _is_control(path: str) -> bool:
    """Whether ``path`` is one of the emulator's own control routes (not the platform's)."""
    return path == CONTROL or path.startswith(CONTROL + "/")


def _string(body: dict[str, Any], name: str) -> str:
    """Field ``name`` of a control request's body, which must be a string."""
    value = body.get(name)
    if not isinstance(value, str):
        raise e.EmulatorError(f"{name} must be a string")
    return value


def _number(text: str | None, default: float) -> float:
    try:
        return min(60.0, max(0.0, float(text))) if text else default
    except ValueError:
        return default
