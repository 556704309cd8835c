"""Keep-alive connections for pushes to the customer's servers.

The short-connection rule of the platform's documents is about its *API* (the emulator's server
closes after each answer, see :mod:`.server`); nothing says the platform's pushes to the customer
open a connection each, and a receiver taking thousands of status pushes a second should not pay
a TCP handshake and a requests call (proxy lookup in the environment, hooks, adapters) for each.
So each push worker keeps one plain socket per customer origin and reuses it while the customer
keeps it open (an answer with ``Connection: close`` closes it); :mod:`.pushwire` writes each push
and reads its answer on it.

``https://`` URLs still go through a requests session, verified against ``ca_cert`` when given,
else the system's CAs or ``REQUESTS_CA_BUNDLE``, as before; verification is never turned off.

Errors are named as requests names them (``ConnectionError``, ``ConnectTimeout``,
``ReadTimeout``), since the delivery log (``GET /_emulator/deliveries``) has always shown those.
"""

from __future__ import annotations

import json
import select
import socket
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from .pushwire import AnswerReader, _BadAnswer, _BadHeader, _NoAnswer, request_bytes

MAX_ORIGINS = 8  # connections one worker keeps open (one per customer origin), oldest closed first


@dataclass(frozen=True)
class PushResponse:
    """What the customer's server answered to one push."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.content)


class _Reused(Exception):
    """A reused connection ended before answering: the server closed it while it was idle."""


class _PushFailed(Exception):
    """No answer: ``name`` is the requests-style name of what went wrong."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _dropped(conn: _Connection) -> bool:
    """True when the server closed (or wrote unasked on) an idle connection: readable means
    EOF or garbage, either way the connection cannot carry the next request."""
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _Connection:
    """One kept-alive connection: its socket and the reader of its answers."""

    __slots__ = ("answers", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.answers = AnswerReader(sock)

    def close(self) -> None:
        self.sock.close()


class PushConnections:
    """One worker thread's connections: at most one per origin, reused while the server allows.

    ``connect_timeout`` bounds the TCP connect and ``timeout`` each read and write after it;
    ``ca_cert`` (a PEM file) is what https pushes verify against. Not thread-safe: each push
    worker owns one. :meth:`close` closes them all.
    """

    def __init__(self, connect_timeout: float, timeout: float, ca_cert: str | None = None) -> None:
        self.connect_timeout, self.timeout, self.ca_cert = connect_timeout, timeout, ca_cert
        self._open: OrderedDict[tuple[str, int], _Connection] = OrderedDict()
        self._session: requests.Session | None = None

    def post(self, url: str, data: bytes, headers: dict[str, str]) -> PushResponse:
        """POST ``data`` to ``url``; the answer, or :class:`_PushFailed` when there is none."""
        parts = urlsplit(url)
        if parts.scheme != "http":
            return self._post_requests(url, data, headers)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            origin = (parts.hostname or "", parts.port or 80)
            request = request_bytes(target, *origin, data, headers)
        except _BadHeader:
            raise _PushFailed("InvalidHeader") from None
        except (ValueError, UnicodeError):  # a bad port, a control character, a non-ASCII host
            raise _PushFailed("InvalidURL") from None
        conn = self._open.pop(origin, None)
        if conn is not None and _dropped(conn):
            conn.close()
            conn = None
        if conn is not None:
            try:
                return self._exchange(origin, conn, request)
            except _Reused:
                # The server closed this idle connection as we reused it (its idle timeout):
                # once on a new connection, as any HTTP client does. A push is delivered at
                # least once anyway (the platform retries), and receivers deduplicate.
                conn.close()
        conn = self._connect(origin)
        return self._exchange(origin, conn, request, fresh=True)

    def _connect(self, origin: tuple[str, int]) -> _Connection:
        try:
            sock = socket.create_connection(origin, timeout=self.connect_timeout)
        except TimeoutError:
            raise _PushFailed("ConnectTimeout") from None
        except OSError:
            raise _PushFailed("ConnectionError") from None
        try:
            # An answer is not held for a delayed ACK (http.client sets this too).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.timeout)
        except OSError:
            sock.close()
            raise _PushFailed("ConnectionError") from None
        return _Connection(sock)

    def _exchange(
        self,
        origin: tuple[str, int],
        conn: _Connection,
        request: bytes,
        *,
        fresh: bool = False,
    ) -> PushResponse:
        try:
            conn.sock.sendall(request)
            status, content, close = conn.answers.read()
        except (_NoAnswer, ConnectionResetError, BrokenPipeError):
            if fresh:
                conn.close()
                raise _PushFailed("ConnectionError") from None
            raise _Reused from None  # the caller tries once more on a new connection
        except TimeoutError:
            conn.close()
            raise _PushFailed("ReadTimeout") from None
        except (OSError, _BadAnswer):
            conn.close()
            raise _PushFailed("ConnectionError") from None
        if close or conn.answers.buf:  # bytes past the answer: nothing we can pair them with
            conn.close()
        else:
            self._keep(origin, conn)
        return PushResponse(status, content)

    def _keep(self, origin: tuple[str, int], conn: _Connection) -> None:
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
