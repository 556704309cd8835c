"""The bytes of one push over plain HTTP/1.1: the request written in one piece, the answer read
straight off the socket.

Why not :mod:`http.client`: a status push is a 250-byte body answered by a 30-byte one, and
profiling the emulator's push workers showed ``http.client`` spending most of the emulator's CPU
per push on that, the answer's headers going through the :mod:`email` package's parser
(``parse_headers``) and each request header through ``putheader``. The emulator sends tens of
thousands of these a run, so the wire work is done here with only what a push needs: one
``sendall`` of head and body, and an answer framed by Content-Length, chunked, or the
connection's end, as RFC 9112 §6.3 orders them. Interim 1xx answers are skipped, as
``http.client`` does.

A malformed answer raises :class:`_BadAnswer`; an end of stream before the first byte of an answer
raises :class:`_NoAnswer` (on a reused connection: the server closed it while idle, and the caller
tries once more on a new one). Socket errors (``TimeoutError``, ``OSError``) pass through.
"""

from __future__ import annotations

import re
import socket

MAX_HEAD = 64 * 1024  # bytes of status line and headers, as http.client's line and header caps
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/1\.([0-9]) ([0-9]{3})(?:[ \t][^\r\n]*)?\r?")
_LINE_END = re.compile(rb"\r?\n")
_FIELDS = re.compile(rb"(?:[^:\n]*:[^\n]*\n)*")  # every header line has a colon
_FRAMING = re.compile(
    rb"^[ \t]*(content-length|transfer-encoding|connection)[ \t]*:([^\n]*)", re.I | re.M
)
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # what http.client refuses in a request target
_FIELD_UNSAFE = re.compile(r"[\r\n\0]")  # what would split a header field


class _BadHeader(ValueError):
    """A request header that would not make one header field (a line break, a colon in its
    name)."""


class _BadAnswer(Exception):
    """The server's answer is not HTTP/1.x as RFC 9112 frames it."""


class _NoAnswer(_BadAnswer):
    """The connection ended before the first byte of an answer."""


def request_bytes(target: str, host: str, port: int, data: bytes, headers: dict[str, str]) -> bytes:
    """The whole POST of ``data`` to ``target`` (path and query) on ``host``:``port``.

    Raises ValueError for a target that would not make one well-formed request line (a space or
    control character), :class:`_BadHeader` for a header that would not make one field (a line
    break), as http.client refuses both.
    """
    if not target.startswith("/") or _UNSAFE.search(target):
        raise ValueError("request target has a space or control character")
    name = f"[{host}]" if ":" in host else host
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {name}" if port == 80 else f"Host: {name}:{port}",
        "Accept-Encoding: identity",
        f"Content-Length: {len(data)}",
    ]
    lines += [f"{field}: {value}" for field, value in headers.items()]
    if _FIELD_UNSAFE.search("".join(lines)) or any(":" in field for field in headers):
        raise _BadHeader("a header would not be one field")
    lines.append("\r\n")
    # IDNA-free on purpose: push URLs name 127.0.0.1 or an ASCII host; anything else is refused.
    return "\r\n".join(lines).encode("ascii") + data


class AnswerReader:
    """Reads answers from one connection's socket, keeping what arrived past the last one."""

    __slots__ = ("buf", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def read(self) -> tuple[int, bytes, bool]:
        """The next answer: status code, body, and whether the connection must close after it."""
        while True:
            try:
                head = self._head()
            except EOFError:
                raise _NoAnswer("connection closed before an answer") from None
            status, close, length, chunked = _parse_head(head)
            if 100 <= status < 200:
                continue  # e.g. 100 Continue: the final answer follows
            try:
                if status in (204, 304):
                    body = b""
                elif chunked:
                    body = self._chunked()
                elif length is not None:
                    body = self._exactly(length)
                else:  # framed by the end of the connection
                    body, close = self._to_end(), True
            except EOFError:
                raise _BadAnswer("connection closed inside the answer's body") from None
            return status, body, close

    def _head(self) -> bytes:
        scanned = 0
        while True:
            end = _HEAD_END.search(self.buf, max(0, scanned - 3))
            if end is not None:
                head = bytes(self.buf[: end.start()])
                del self.buf[: end.end()]
                return head
            if len(self.buf) > MAX_HEAD:
                raise _BadAnswer("answer head is too large")
            scanned = len(self.buf)
            if scanned == 0:
                self._fill()
                continue
            try:
                self._fill()
            except EOFError:
                raise _BadAnswer("connection closed inside the answer's head") from None

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        body = bytes(self.buf[:n])
        del self.buf[:n]
        return body

    def _line(self) -> bytes:
        while (end := _LINE_END.search(self.buf)) is None:
            if len(self.buf) > MAX_HEAD:
                raise _BadAnswer("chunk line is too long")
            self._fill()
        line = bytes(self.buf[: end.start()])
        del self.buf[: end.end()]
        return line

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_text = self._line().partition(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadAnswer("bad chunk size") from None
            if size < 0 or not size_text.isalnum():
                raise _BadAnswer("bad chunk size")
            if size == 0:
                while self._line():  # trailer fields, up to the blank line
                    pass
                return b"".join(parts)
            parts.append(self._exactly(size))
            if self._line():
                raise _BadAnswer("chunk not followed by a line end")

    def _to_end(self) -> bytes:
        while True:
            try:
                self._fill()
            except EOFError:
                body = bytes(self.buf)
                self.buf.clear()
                return body


def _parse_head(head: bytes) -> tuple[int, bool, int | None, bool]:
    """Status code, must-close, Content-Length (None: none) and chunked, from one answer head."""
    status_line, _, fields = head.partition(b"\n")
    match = _STATUS_LINE.fullmatch(status_line)
    if match is None:
        raise _BadAnswer("malformed status line")
    status = int(match[2])
    if status < 100:
        raise _BadAnswer("malformed status line")
    if fields and _FIELDS.fullmatch(fields + b"\n") is None:
        raise _BadAnswer("malformed header line")
    connection: set[bytes] = set()
    lengths: set[bytes] = set()
    chunked = False
    # Only the three fields that frame the answer are looked at, found by one regex in C.
    for name, value in _FRAMING.findall(fields):
        name = name.lower()
        if name == b"content-length":
            lengths.update(v.strip() for v in value.split(b","))
        elif name == b"transfer-encoding":
            chunked = chunked or b"chunked" in value.lower()
        else:
            connection.update(t.strip() for t in value.lower().split(b","))
    close = b"close" in connection or (match[1] == b"0" and b"keep-alive" not in connection)
    length = None
    if chunked:
        pass  # Transfer-Encoding overrides Content-Length (RFC 9112 §6.3)
    elif len(lengths) == 1 and (text := lengths.pop()).isdigit():
        length = int(text)
    # Else no usable length: RFC 9112 §6.3 calls a bad one an error, but http.client, which
    # pushes went through before, reads such an answer up to the connection's end: so do we.
    return status, close, length, chunked
