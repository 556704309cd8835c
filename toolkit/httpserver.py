"""A threaded HTTP/1.1 server for WSGI apps that holds up against slow and malformed clients.

The push receiver and the emulator both serve through :class:`ThreadedWSGIServer`. One selector
thread accepts connections and reads requests on non-blocking sockets; only a *complete* request
(head and Content-Length body) goes to a fixed pool of worker threads, which run the app and send
the answer. A slow client therefore costs a buffer, not a thread, and:

* a request has one total deadline for its head and body (``request_timeout``), not a timeout
  per ``recv``: a client dripping a byte every few seconds is dropped when the deadline passes;
* connections are capped (``max_connections``, by default what RLIMIT_NOFILE leaves). At the cap
  a new connection evicts the one that has waited longest for a complete request, never one being
  served, so slow clients cannot starve real ones;
* when ``accept()`` runs out of descriptors anyway, the cap drops to what fits, the oldest
  waiting connection is evicted and the listener rests a moment (no busy loop);
* a dropped client costs one log line, never a traceback.

The server answers framing errors itself, with a JSON body shaped like the receiver's
(``{"resultcode": "1", "error": ..., "reason": ...}``): 400 (request line, header or
Content-Length), 408 (deadline), 413 (Content-Length over ``max_body``, decided before any of the
body is read), 431 (head over ``max_header_bytes``) and 505. A ``Transfer-Encoding`` body is not
decoded: the app sees the request without a body or CONTENT_LENGTH (the receiver answers 411) and
the connection closes after it. Connections the server closes first drain the client's unread
input for a moment, so the client reads the answer instead of a reset.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import queue
import re
import select
import selectors
import socket
import ssl
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from email.utils import formatdate
from io import BytesIO
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from . import tls

log = logging.getLogger(__name__)
_Server = TypeVar("_Server", bound="ThreadedWSGIServer")

LINGER = 2.0  # seconds a connection we close keeps draining input, so the client reads our answer
ACCEPT_PAUSE = 0.25  # seconds the listener rests after accept() ran out of descriptors
FD_RESERVE = 128  # descriptors left to the rest of the process (SQLite files, pushes, logs)
_OUT_OF_FDS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rb"(%s) ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])" % _TOKEN)
# A header line: a token, a colon, a value without CR or NUL (so no obsolete line folding), then
# any CRs before the line's end. The block form checks every line at once, the field form splits
# them; the value's surrounding blanks are stripped after. No part of either can match the same
# characters two ways, so they run in linear time (a lazy value followed by optional blanks took
# seconds for a value of a few thousand spaces).
_TOKEN_TEXT = _TOKEN.decode()
_HEADER_FIELD = re.compile(rf"({_TOKEN_TEXT}):([^\r\n\0]*)\r*\n")
_HEADER_BLOCK = re.compile(rf"(?:{_TOKEN_TEXT}:[^\r\n\0]*\r*\n)+")
# The fields that frame a request or choose how it is served: the only ones read here.
_FRAMING = {"host", "content-type", "connection", "transfer-encoding", "expect", "content-length"}
_FIRST_BYTE = re.compile(_TOKEN)
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding"}
_PHRASES = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    505: "HTTP Version Not Supported",
}


def make_environ(
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: Any,
    content_length: str,
    *,
    server_name: str,
    server_port: str,
    protocol: str = "HTTP/1.1",
    scheme: str = "http",
    **extra: str,
) -> dict[str, Any]:
    """The PEP 3333 environ of one request; ``body`` is the readable ``wsgi.input`` stream and
    ``extra`` adds keys such as ``REMOTE_ADDR``.

    Request headers become ``HTTP_*`` keys (repeated ones joined with ", "), except Content-Type
    (``CONTENT_TYPE``, absent when the request has none) and Content-Length, which is the
    ``content_length`` given.
    """
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path or "/"),
        "QUERY_STRING": query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": protocol,
        "CONTENT_LENGTH": content_length,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **extra,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            key = "HTTP_" + key
            environ[key] = f"{environ[key]}, {value}" if key in environ else value
    return environ


def call(app: Any, environ: dict[str, Any]) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """Run ``app`` on ``environ``: status code, reason phrase, headers and the whole body."""
    captured: dict[str, Any] = {}
    parts: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        # Nothing is sent before the app returns, so a later call (with exc_info) just replaces.
        captured["status"], captured["headers"] = status, headers
        return parts.append

    chunks = app(environ, start_response)
    try:
        parts.extend(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    code, _, reason = captured["status"].partition(" ")
    return int(code), reason, captured["headers"], b"".join(parts)


_date: list[Any] = [0, ""]  # the Date header of the current second


def _http_date() -> str:
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, formatdate(now, usegmt=True)]
    return _date[1]


def _readable_within(sock: socket.socket, timeout: float) -> bool:
    """True once ``sock`` has input (or EOF) within ``timeout`` seconds."""
    if hasattr(select, "poll"):  # no cap on descriptor numbers, unlike select()
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    return bool(select.select([sock], [], [], timeout)[0])


def default_max_connections() -> int:
    """What RLIMIT_NOFILE leaves after ``FD_RESERVE`` descriptors, between 8 and 1000."""
    try:
        import resource
    except ImportError:  # Windows: select() there watches at most 512 sockets
        return 500
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(8, min(1000, soft - FD_RESERVE))


class _Refused(Exception):
    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason


class _Request:
    """The parsed head of one request (``head`` without its blank line), checked for framing."""

    def __init__(self, head: bytes, max_body: int) -> None:
        lines = head.split(b"\n")
        match = _REQUEST_LINE.fullmatch(lines[0].rstrip(b"\r"))
        if match is None:
            raise _Refused(400, "request-line", "malformed request line")
        if match[3] != b"1":
            raise _Refused(505, "version", "only HTTP/1.x is served")
        self.method, target = match[1].decode(), match[2].decode("latin-1")
        self.path: str
        self.query: str
        if target.startswith("/"):
            self.path, _, self.query = target.partition("?")
        else:  # absolute form ("http://host/path?query") or "*"
            try:
                url = urlsplit(target)
            except ValueError:  # e.g. an unclosed IPv6 bracket
                raise _Refused(400, "request-line", "malformed request target") from None
            self.path, self.query = url.path, url.query
        http10 = match[4] == b"0"
        self.version = "HTTP/1." + match[4].decode()
        # All header lines checked by one regex and split by another, both in C: per line in
        # Python this was the selector thread's largest cost for a small push.
        block = head[len(lines[0]) + 1 :].decode("latin-1") + "\n" if len(lines) > 1 else ""
        if block and _HEADER_BLOCK.fullmatch(block) is None:
            raise _Refused(400, "header", "malformed header line")  # also obsolete folding
        self.headers: list[tuple[str, str]] = []
        fields: dict[str, list[str]] = {}
        for name, raw in _HEADER_FIELD.findall(block):
            value = raw.strip(" \t")
            self.headers.append((name, value))
            lowered = name.lower()
            if lowered in _FRAMING:
                fields.setdefault(lowered, []).append(value)
        for name in ("host", "content-type"):  # one value each (RFC 9110); repeats must agree
            if len(set(fields.get(name, ()))) > 1:
                raise _Refused(400, "header", f"conflicting {name} headers")
        tokens = {t.strip().lower() for v in fields.get("connection", ()) for t in v.split(",")}
        self.keep = "keep-alive" in tokens if http10 else "close" not in tokens
        self.chunked = "transfer-encoding" in fields
        self.continue_ = not http10 and "100-continue" in {
            v.strip().lower() for v in fields.get("expect", ())
        }
        self.length, self.body = 0, b""
        if self.chunked:  # never decoded: the app sees no body, the connection closes after
            self.keep = False
            return
        values = {v.strip() for v in fields.get("content-length", ()) for v in v.split(",")}
        if len(values) > 1:
            raise _Refused(400, "length", "conflicting Content-Length headers")
        text = values.pop() if values else "0"
        if not text.isascii() or not text.isdigit():
            raise _Refused(400, "length", "bad Content-Length")
        digits = text.lstrip("0") or "0"
        if len(digits) > 18 or int(digits) > max_body:
            size = digits if len(digits) <= 18 else "over 10**18"  # the reason stays one short line
            raise _Refused(
                413, "too-large", f"body of {size} bytes is over the {max_body}-byte cap"
            )
        self.length = int(digits)

    @property
    def length_text(self) -> str:
        return "" if self.chunked else str(self.length)


class _Conn:
    __slots__ = ("addr", "buf", "handshaking", "request", "scanned", "since", "sock")

    def __init__(self, sock: socket.socket, addr: Any, since: float) -> None:
        self.sock, self.addr, self.since = sock, addr, since
        self.handshaking = isinstance(sock, ssl.SSLSocket)  # TLS: no request before the handshake
        self.buf = bytearray()
        self.request: _Request | None = None
        self.scanned = 0  # bytes of buf already searched for the end of the head

    def __str__(self) -> str:
        host, port = self.addr[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ThreadedWSGIServer:
    """Serve a WSGI ``app`` on ``host``:``port`` (0 picks a free port) from background threads.

    Limits: ``request_timeout`` seconds for the head and body of one request together;
    ``idle_timeout`` seconds a keep-alive connection may wait for its next request;
    ``write_timeout`` seconds to send one answer; ``max_header_bytes`` for the request line and
    headers (else 431); ``max_body`` bytes of Content-Length (else 413, before reading the body);
    ``max_connections`` open at once (default :func:`default_max_connections`); ``workers``
    threads running the app. ``keep_alive=False`` answers every request with
    ``Connection: close`` and closes, as a server that allows no persistent connections.
    ``next_request_wait`` is how long (seconds; 0: not at all) a worker that answered on a
    kept-alive connection waits for the client's next request to serve it too, when no other
    request waits for a worker. The socket is bound on construction; :meth:`start` serves and
    :meth:`stop` closes everything.

    With ``ssl_context`` (see :func:`toolkit.tls.server_context`) it serves HTTPS. The handshake
    runs on the selector thread, step by step on the non-blocking socket, within the request
    deadline: a client that connects and sends nothing costs a buffer, as over plain HTTP.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        request_timeout: float = 10.0,
        idle_timeout: float = 30.0,
        write_timeout: float = 10.0,
        max_header_bytes: int = 64 * 1024,
        max_body: int = 1 << 20,
        max_connections: int | None = None,
        workers: int = 16,
        name: str = "http",
        ssl_context: ssl.SSLContext | None = None,
        keep_alive: bool = True,
        next_request_wait: float = 0.005,
    ) -> None:
        self.app, self.name, self.ssl_context = app, name, ssl_context
        self.keep_alive, self.next_request_wait = keep_alive, next_request_wait
        self.request_timeout, self.idle_timeout = request_timeout, idle_timeout
        self.write_timeout, self.max_header_bytes = write_timeout, max_header_bytes
        self.max_body, self.workers = max_body, workers
        self.max_connections = max_connections or default_max_connections()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # A burst of short connections overflows a small backlog, and a dropped SYN costs the
        # sender a one-second retransmit.
        self._listener = socket.create_server((host, port), family=family, backlog=1024)
        self._listener.setblocking(False)
        self.server_address = self._listener.getsockname()
        self.host, self.port = self.server_address[:2]
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._conns: set[_Conn] = set()
        self._idle: OrderedDict[_Conn, None] = OrderedDict()  # keep-alive, by since
        self._reading: OrderedDict[_Conn, None] = OrderedDict()  # partial request, by since
        self._closing: OrderedDict[_Conn, float] = OrderedDict()  # draining, by deadline
        self._jobs: queue.SimpleQueue[tuple[_Conn, _Request] | None] = queue.SimpleQueue()
        self._returns: deque[tuple[_Conn, bool]] = deque()
        self._threads: list[threading.Thread] = []
        self._listening = False
        self._resume_at: float | None = None  # when a paused listener listens again
        self._fd_warned = float("-inf")  # when running out of descriptors was last logged
        self._stopping = False

    @property
    def url(self) -> str:
        """The base URL, ``http://host:port`` or ``https://...`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in str(self.host) else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def scheme(self) -> str:
        """``https`` with an ``ssl_context``, else ``http``."""
        return "http" if self.ssl_context is None else "https"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return bool(self._threads) and self._threads[0].is_alive() and not self._stopping

    def start(self: _Server) -> _Server:
        """Serve from a selector thread and ``workers`` worker threads; returns self."""
        if self._threads or self._stopping:
            return self
        self._sel.register(self._wake_r, selectors.EVENT_READ, self)
        self._listen()
        self._threads = [threading.Thread(target=self._loop, name=self.name, daemon=True)]
        self._threads += [
            threading.Thread(target=self._work, name=f"{self.name}-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let requests being served finish (up to ``grace`` seconds), close
        every socket and join the threads. Idempotent."""
        if self._stopping:
            return
        self._stopping = True
        if self._threads:
            self._wake()
            self._threads[0].join()
            for _ in range(self.workers):
                self._jobs.put(None)
            deadline = time.monotonic() + grace
            for thread in self._threads[1:]:
                thread.join(max(0.0, deadline - time.monotonic()))
        for conn in self._conns:  # only ones a worker still held: the loop closed the rest
            conn.sock.close()
        self._conns.clear()
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()
        self._sel.close()

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- selector thread -------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping:
            for key, _ in self._sel.select(self._timeout()):
                try:
                    if key.data is None:
                        self._accept()
                    elif key.data is self:
                        self._returned()
                    elif key.data.sock.fileno() >= 0:  # not closed earlier in this batch
                        self._readable(key.data)
                except Exception:  # a bug of ours: lose that connection, not the server
                    log.exception("%s: internal error", self.name)
                    if isinstance(key.data, _Conn):
                        self._close(key.data)
            self._expire(time.monotonic())
        for conn in [*self._idle, *self._reading, *self._closing]:
            self._close(conn)
        if self._listening:
            self._sel.unregister(self._listener)

    def _timeout(self) -> float:
        due = [1.0 + time.monotonic()]
        if self._reading:
            due.append(next(iter(self._reading)).since + self.request_timeout)
        if self._idle:
            due.append(next(iter(self._idle)).since + self.idle_timeout)
        if self._closing:
            due.append(next(iter(self._closing.values())))
        if self._resume_at is not None:
            due.append(self._resume_at)
        return max(0.0, min(due) - time.monotonic())

    def _listen(self) -> None:
        self._sel.register(self._listener, selectors.EVENT_READ, None)
        self._listening, self._resume_at = True, None

    def _pause(self, until: float | None) -> None:
        """Stop watching the listener until ``until`` (None: until a connection closes)."""
        if self._listening:
            self._sel.unregister(self._listener)
            self._listening = False
        self._resume_at = until

    def _accept(self) -> None:
        for _ in range(64):  # then let the other sockets have a turn
            try:
                sock, addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_FDS:
                    continue  # e.g. ECONNABORTED: that client is already gone
                # The process has fewer descriptors than the cap assumed: lower the cap to what
                # fits, so from now on new connections evict old ones instead of failing here.
                self.max_connections = max(1, min(self.max_connections, len(self._conns) - 8))
                now = time.monotonic()
                if now - self._fd_warned > 10.0:  # one line per burst, not one per attempt
                    log.warning(
                        "%s: cannot accept connections (%s); serving at most %d from now on",
                        self.name,
                        exc.strerror or exc,
                        self.max_connections,
                    )
                    self._fd_warned = now
                self._evict(None)
                self._pause(now + ACCEPT_PAUSE)
                return
            sock.setblocking(False)
            # Answers go out as one write, but without TCP_NODELAY a keep-alive client's delayed
            # ACK can still hold the next small answer back ~40 ms.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                try:
                    sock = tls.wrap(sock, self.ssl_context)
                except OSError:  # that client is already gone
                    sock.close()
                    continue
            conn = _Conn(sock, addr, time.monotonic())
            self._conns.add(conn)
            self._reading[conn] = None
            self._sel.register(sock, selectors.EVENT_READ, conn)
            if len(self._conns) > self.max_connections and not self._evict(conn):
                self._pause(None)  # every other connection is being served
                return

    def _evict(self, spare: _Conn | None) -> bool:
        """Close the connection waiting longest for a complete request (not ``spare``)."""
        if self._closing:
            self._close(next(iter(self._closing)))
            return True
        fronts = [c for c in (next(iter(d), None) for d in (self._idle, self._reading)) if c]
        fronts = [c for c in fronts if c is not spare]
        if not fronts:
            return False
        victim = min(fronts, key=lambda c: c.since)
        level = logging.INFO if victim in self._reading else logging.DEBUG
        log.log(
            level, "%s: dropped %s: evicted (%d bytes received)", self.name, victim, len(victim.buf)
        )
        self._close(victim)
        return True

    def _readable(self, conn: _Conn) -> None:
        if conn.handshaking:
            done = tls.handshake(conn.sock)
            if done is None:
                log.debug("%s: dropped %s: TLS handshake failed", self.name, conn)
                conn.handshaking = False  # what it sends from now on is drained unread
                self._linger(conn)  # so a plain-HTTP client reads the 400 sent to it
            if not done:
                return
            conn.handshaking = False
        try:
            data = conn.sock.recv(65536)
            if self.ssl_context is not None and data:
                data += tls.drain(conn.sock)
        except (BlockingIOError, InterruptedError, *tls.WOULD_BLOCK):
            return
        except OSError:
            data = b""  # a reset: the client is gone, as after an orderly close
        if conn in self._closing:
            if not data:
                self._close(conn)
            return  # unread input of a refused request: discarded
        if not data:
            request = conn.request
            if request is not None:
                got = len(conn.buf) - conn.scanned
                self._refuse(
                    conn, 400, "truncated", f"body truncated: {got} of {request.length} bytes"
                )
            elif conn.buf:
                self._refuse(conn, 400, "truncated", "connection closed inside the request head")
            else:
                self._close(conn)
            return
        if conn in self._idle:
            del self._idle[conn]
            conn.since = time.monotonic()
            self._reading[conn] = None
        conn.buf += data
        self._advance(conn)

    def _advance(self, conn: _Conn) -> None:
        """Parse what ``conn`` has received; hand a complete request to a worker."""
        buf = conn.buf
        try:
            if conn.request is None:
                if conn.scanned == 0:
                    while buf[:1] in (b"\r", b"\n"):  # blank lines before a request are allowed
                        del buf[:1]
                    if buf and not _FIRST_BYTE.match(buf, 0, 1):  # e.g. a TLS handshake
                        raise _Refused(400, "request-line", "malformed request line")
                end = _HEAD_END.search(buf, max(0, conn.scanned - 3))
                if end is None:
                    line_end = buf.find(b"\n", 0, 8192)
                    if line_end > 0 and not _REQUEST_LINE.fullmatch(buf[:line_end].rstrip(b"\r")):
                        raise _Refused(400, "request-line", "malformed request line")
                    conn.scanned = len(buf)
                if end is None or end.start() > self.max_header_bytes:
                    if len(buf) > self.max_header_bytes:
                        raise _Refused(431, "headers-too-large", "request head is too large")
                    return
                conn.request = _Request(bytes(buf[: end.start()]), self.max_body)
                conn.scanned = end.end()  # from here on: where the body starts
                if conn.request.continue_ and len(buf) < conn.scanned + conn.request.length:
                    conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        except _Refused as exc:
            self._refuse(conn, exc.status, exc.error, exc.reason)
            return
        except OSError:
            self._close(conn)
            return
        request, start = conn.request, conn.scanned
        if len(buf) < start + request.length:
            return
        request.body = bytes(buf[start : start + request.length])
        del buf[: start + request.length]
        conn.request, conn.scanned = None, 0
        del self._reading[conn]
        self._sel.unregister(conn.sock)
        self._jobs.put((conn, request))

    def _refuse(self, conn: _Conn, status: int, error: str, reason: str) -> None:
        """Answer a request the server will not pass on, then close (non-blocking, best effort)."""
        body = json.dumps({"resultcode": "1", "error": error, "reason": reason}).encode()
        head = (
            f"HTTP/1.1 {status} {_PHRASES[status]}\r\nContent-Type: application/json;charset=UTF-8"
            f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            conn.sock.send(head.encode() + body)
        log.debug("%s: refused %s: %d %s", self.name, conn, status, reason)
        self._linger(conn)

    def _linger(self, conn: _Conn) -> None:
        """Close our side; drain the client's unread input a moment so it reads our answer."""
        self._idle.pop(conn, None)
        self._reading.pop(conn, None)
        conn.buf.clear()
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        self._closing[conn] = time.monotonic() + LINGER

    def _close(self, conn: _Conn) -> None:
        for waiting in (self._idle, self._reading, self._closing):
            waiting.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):  # being served, or already closed
            self._sel.unregister(conn.sock)
        conn.sock.close()
        self._conns.discard(conn)
        self._relisten()

    def _relisten(self) -> None:
        """Watch the listener again if it was paused for want of a connection to evict."""
        if not self._listening and self._resume_at is None and not self._stopping:
            self._listen()

    def _expire(self, now: float) -> None:
        while self._reading:
            conn = next(iter(self._reading))
            if conn.since + self.request_timeout > now:
                break
            log.info(
                "%s: dropped %s: request deadline (%d bytes received)",
                self.name,
                conn,
                len(conn.buf),
            )
            if conn.buf:
                self._refuse(
                    conn, 408, "timeout", f"request not complete within {self.request_timeout:g} s"
                )
            else:
                self._close(conn)
        while self._idle and next(iter(self._idle)).since + self.idle_timeout <= now:
            conn = next(iter(self._idle))
            log.debug("%s: closed %s: idle", self.name, conn)
            self._close(conn)
        while self._closing and next(iter(self._closing.values())) <= now:
            self._close(next(iter(self._closing)))
        if self._resume_at is not None and now >= self._resume_at:
            self._listen()

    def _returned(self) -> None:
        """Take back the connections workers have answered on."""
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        while self._returns:
            conn, keep = self._returns.popleft()
            if conn.sock.fileno() < 0:
                self._conns.discard(conn)
                continue
            if conn.sock.gettimeout() != 0.0:  # a worker waited in sendall
                conn.sock.setblocking(False)
            self._sel.register(conn.sock, selectors.EVENT_READ, conn)
            conn.since = time.monotonic()
            if not keep:
                self._linger(conn)
            elif conn.buf:  # the client sent its next request already
                self._reading[conn] = None
                self._advance(conn)
            else:
                self._idle[conn] = None
        self._relisten()  # an idle connection can be evicted again

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # already awake (buffer full) or stopping
            self._wake_w.send(b"\0")

    # -- worker threads --------------------------------------------------------------------

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            conn, first = job
            request: _Request | None = first
            keep = False
            while request is not None:
                keep = False
                try:
                    keep = self._respond(conn, request)
                except OSError as exc:
                    log.info(
                        "%s: dropped %s: answer not sent (%s)", self.name, conn, exc.strerror or exc
                    )
                except Exception:  # a bug of ours: the worker must survive it
                    log.exception("%s: cannot answer %s", self.name, conn)
                request = self._next_request(conn) if keep else None
            self._returns.append((conn, keep and not self._stopping))
            self._wake()

    def _next_request(self, conn: _Conn) -> _Request | None:
        """The client's next request, when it comes complete within ``next_request_wait`` and
        no other request waits for a worker; else None (the selector takes the connection back).

        A client that sends its next request as soon as it has the answer (the emulator's push
        workers do) is served by the same worker, without the two thread handoffs through the
        selector a request otherwise costs. Anything unusual (a partial or malformed request,
        TLS, the client closing) goes back to the selector, which handles it as always, so a
        slow client still holds no worker for longer than the wait.
        """
        if (
            self.next_request_wait <= 0
            or self._stopping
            or conn.buf
            or self.ssl_context is not None
            or not self._jobs.empty()
        ):
            return None
        sock = conn.sock
        try:
            if not _readable_within(sock, self.next_request_wait):
                return None
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError, ValueError):  # ValueError: select()'s fd cap
            return None
        except OSError:
            data = b""
        conn.buf += data
        end = _HEAD_END.search(conn.buf) if data[:1] not in (b"", b"\r", b"\n") else None
        if end is None or end.start() > self.max_header_bytes:
            return None  # the selector reads the rest, refuses, or sees the close
        try:
            request = _Request(bytes(conn.buf[: end.start()]), self.max_body)
        except _Refused:
            return None  # the selector parses it again and answers the refusal
        stop = end.end() + request.length
        if len(conn.buf) < stop:
            return None  # the body is still coming (or the client waits for 100 Continue)
        request.body = bytes(conn.buf[end.end() : stop])
        del conn.buf[:stop]
        return request

    def _respond(self, conn: _Conn, request: _Request) -> bool:
        """Run the app on ``request`` and send its answer; True to keep the connection."""
        host, port = conn.addr[:2]
        environ = make_environ(
            request.method,
            request.path,
            request.query,
            request.headers,
            BytesIO(request.body),
            request.length_text,
            server_name=str(self.host),
            server_port=str(self.port),
            protocol=request.version,
            scheme=self.scheme,
            REMOTE_ADDR=host,
            REMOTE_PORT=str(port),
        )
        keep = request.keep and self.keep_alive
        try:
            code, reason, headers, payload = call(self.app, environ)
            lines = [f"HTTP/1.1 {code} {reason}"]
            for name, value in headers:
                if "\n" in name + value or "\r" in name + value:
                    raise ValueError(f"header {name!r} spans lines")
                lowered = name.lower()
                if lowered == "connection" and "close" in value.lower():
                    keep = False
                if lowered not in _HOP_BY_HOP:
                    lines.append(f"{name}: {value}")
        except Exception:  # a bug in the app: its traceback is worth logging
            log.exception("%s: the application failed", self.name)
            payload = json.dumps(
                {"resultcode": "1", "error": "internal", "reason": "internal error"}
            ).encode()
            lines = [
                "HTTP/1.1 500 Internal Server Error",
                "Content-Type: application/json;charset=UTF-8",
            ]
            keep = False
        lines.append(f"Content-Length: {len(payload)}")
        lines.append(f"Date: {_http_date()}")
        lines.append("Connection: keep-alive" if keep else "Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # Method and status only: request targets carry phone numbers in query strings.
        log.debug("%s: %s %s -> %s", self.name, conn, request.method, lines[0][9:])
        out = data if request.method == "HEAD" else data + payload
        sent = 0
        if self.ssl_context is None:  # a small answer fits the socket's buffer: one send
            with contextlib.suppress(BlockingIOError, InterruptedError):
                sent = conn.sock.send(out)
        if sent < len(out):
            conn.sock.settimeout(self.write_timeout)  # a total deadline for sendall
            conn.sock.sendall(memoryview(out)[sent:])
        return keep
