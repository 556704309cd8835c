"""Keep-alive connections for pushes to the customer's servers.

The short-connection rule of the platform's documents is about its *API* (the emulator's server
closes after each answer, see :mod:`.server`); nothing says the platform's pushes to the customer
open a connection each, and a receiver taking thousands of status pushes a second should not pay
a TCP handshake and a requests call (proxy lookup in the environment, hooks, adapters) for each.
So each push worker keeps one plain ``http.client`` connection per customer origin and reuses it
while the customer keeps it open (an answer with ``Connection: close`` closes it).

``https://`` URLs still go through a requests session, verified against ``ca_cert`` when given,
else the system's CAs or ``REQUESTS_CA_BUNDLE``, as before; verification is never turned off.

Errors are named as requests names them (``ConnectionError``, ``ConnectTimeout``,
``ReadTimeout``), since the delivery log (``GET /_emulator/deliveries``) has always shown those.
"""

from __future__ import annotations

import http.client
import json
import select
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

MAX_ORIGINS = 8  # connections one worker keeps open (one per customer origin), oldest closed first


@dataclass(frozen=True)
class PushResponse:
    """What the customer's server answered to one push."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.content)


class _PushFailed(Exception):
    """No answer: ``name`` is the requests-style name of what went wrong."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when the server closed (or wrote unasked on) an idle connection: readable means
    EOF or garbage, either way the connection cannot carry the next request."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class PushConnections:
    """One worker thread's connections: at most one per origin, reused while the server allows.

    ``connect_timeout`` bounds the TCP connect and ``timeout`` each read and write after it;
    ``ca_cert`` (a PEM file) is what https pushes verify against. Not thread-safe: each push
    worker owns one. :meth:`close` closes them all.
    """

    def __init__(self, connect_timeout: float, timeout: float, ca_cert: str | None = None) -> None:
        self.connect_timeout, self.timeout, self.ca_cert = connect_timeout, timeout, ca_cert
        self._open: OrderedDict[tuple[str, int], http.client.HTTPConnection] = OrderedDict()
        self._session: requests.Session | None = None

    def post(self, url: str, data: bytes, headers: dict[str, str]) -> PushResponse:
        """POST ``data`` to ``url``; the answer, or :class:`_PushFailed` when there is none."""
        parts = urlsplit(url)
        if parts.scheme != "http":
            return self._post_requests(url, data, headers)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        origin = (parts.hostname or "", parts.port or 80)
        conn = self._open.pop(origin, None)
        if conn is not None and _dropped(conn):
            conn.close()
            conn = None
        if conn is not None:
            try:
                return self._exchange(origin, conn, target, data, headers)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed this idle connection as we reused it (its idle timeout):
                # once on a new connection, as any HTTP client does. A push is delivered at
                # least once anyway (the platform retries), and receivers deduplicate.
                conn.close()
        conn = self._connect(origin)
        return self._exchange(origin, conn, target, data, headers, fresh=True)

    def _connect(self, origin: tuple[str, int]) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(*origin, timeout=self.connect_timeout)
        try:
            conn.connect()  # also sets TCP_NODELAY: an answer is not held for a delayed ACK
        except TimeoutError:
            conn.close()
            raise _PushFailed("ConnectTimeout") from None
        except (OSError, http.client.HTTPException):
            conn.close()
            raise _PushFailed("ConnectionError") from None
        if conn.sock is not None:
            conn.sock.settimeout(self.timeout)
        return conn

    def _exchange(
        self,
        origin: tuple[str, int],
        conn: http.client.HTTPConnection,
        target: str,
        data: bytes,
        headers: dict[str, str],
        *,
        fresh: bool = False,
    ) -> PushResponse:
        reused_errors: tuple[type[BaseException], ...] = (
            () if fresh else (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
        )
        try:
            conn.request("POST", target, body=data, headers=headers)
            response = conn.getresponse()
            content = response.read()
        except reused_errors:
            raise  # the caller tries once more on a new connection
        except TimeoutError:
            conn.close()
            raise _PushFailed("ReadTimeout") from None
        except (OSError, http.client.HTTPException):
            conn.close()
            raise _PushFailed("ConnectionError") from None
        if response.will_close:
            conn.close()
        else:
            self._keep(origin, conn)
        return PushResponse(response.status, content)

    def _keep(self, origin: tuple[str, int], conn: http.client.HTTPConnection) -> None:
        self._open[origin] = conn
        while len(self._open) > MAX_ORIGINS:
            self._open.popitem(last=False)[1].close()

    def _post_requests(self, url: str, data: bytes, headers: dict[str, str]) -> PushResponse:
        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.post(
                url,
                data=data,
                headers=headers,
                timeout=(self.connect_timeout, self.timeout),
                # Per request: a session's own verify loses to REQUESTS_CA_BUNDLE in requests.
                verify=self.ca_cert or True,
            )
        except requests.RequestException as exc:
            raise _PushFailed(type(exc).__name__) from None
        return PushResponse(response.status_code, response.content)

    def close(self) -> None:
        """Close every connection (and the requests session, if one was made)."""
        while self._open:
            self._open.popitem()[1].close()
        if self._session is not None:
            self._session.close()
            self._session = None
