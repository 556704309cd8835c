"""The push workers' own HTTP/1.1 exchange, over real loopback sockets against a scripted raw
server: each way of framing an answer reads as http.client reads it, connections are kept or
closed as the answer says, and failures get the names the delivery log has always shown."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator

import pytest

from toolkit.emulator.pushconn import PushConnections, _PushFailed

HEADERS = {"Content-Type": "application/json;charset=UTF-8", "Authorization": "WSSE x"}


class Scripted:
    """A raw server: for each request it reads (head and Content-Length body) it sends the next
    scripted answer; ``None`` closes the connection without answering. It notes the requests
    and how many connections it accepted."""

    def __init__(self, answers: list[bytes | None], *, close_after: bool = False) -> None:
        self.answers, self.close_after = list(answers), close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with sock:
                sock.settimeout(5)
                buf = b""
                while self.answers:
                    while b"\r\n\r\n" not in buf:
                        data = sock.recv(65536)
                        if not data:
                            break
                        buf += data
                    if b"\r\n\r\n" not in buf:
                        break  # the client closed this one
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                    while len(buf) < length:
                        buf += sock.recv(65536)
                    self.requests.append(head + b"\r\n\r\n" + buf[:length])
                    buf = buf[length:]
                    answer = self.answers.pop(0)
                    if answer is None:
                        break
                    sock.sendall(answer)
                    if self.close_after:
                        break

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


@contextlib.contextmanager
def scripted(answers: list[bytes | None], **kw: bool) -> Iterator[Scripted]:
    server = Scripted(answers, **kw)
    try:
        yield server
    finally:
        server.close()


ANSWERS = {
    "content-length": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n"
    ),
    "interim 100 first": (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"
    ),
    "bare line feeds": b"HTTP/1.1 503 Busy\nContent-Length: 3\n\nbad",
    "no reason phrase": b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    "204 without body": b"HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.0 keep-alive": (
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n1"
    ),
    "resultcode body": b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"resultcode":1}',
}
CLOSING = {
    "until the connection ends": b"HTTP/1.1 200 OK\r\n\r\nuntil close",
    "Connection: close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.0": b"HTTP/1.0 202 Accepted\r\nContent-Length: 2\r\n\r\nok",
    "two lengths, read to the end": b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab",
    "a length that is no number": b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nab",
}


def with_http_client(port: int, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", "/status?x=1", body=body, headers=HEADERS)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("name", [*ANSWERS, *CLOSING])
def test_each_answer_reads_as_http_client_reads_it(name: str) -> None:
    raw = {**ANSWERS, **CLOSING}[name]
    with scripted([raw], close_after=True) as server:
        expected = with_http_client(server.port, b'{"a":1}')
    with scripted([raw], close_after=True) as server:
        connections = PushConnections(1.0, 5.0)
        try:
            url = f"http://127.0.0.1:{server.port}/status?x=1"
            got = connections.post(url, b'{"a":1}', HEADERS)
        finally:
            connections.close()
        assert (got.status_code, got.content) == expected
        request = server.requests[0]
        assert request.startswith(b"POST /status?x=1 HTTP/1.1\r\n")
        assert f"\r\nHost: 127.0.0.1:{server.port}\r\n".encode() in request
        assert b"\r\nAuthorization: WSSE x\r\n" in request
        assert request.endswith(b'\r\nContent-Length: 7\r\n\r\n{"a":1}') or request.endswith(
            b'\r\n\r\n{"a":1}'
        )


def test_kept_answers_share_one_connection_closing_ones_do_not() -> None:
    kept = [ANSWERS["content-length"], ANSWERS["chunked"], ANSWERS["interim 100 first"]]
    with scripted([*kept, CLOSING["Connection: close"], ANSWERS["content-length"]]) as server:
        connections = PushConnections(1.0, 5.0)
        try:
            url = f"http://127.0.0.1:{server.port}/fee"
            bodies = [connections.post(url, b"{}", HEADERS).content for _ in range(5)]
        finally:
            connections.close()
        assert bodies == [b"ok", b"abcde", b"done", b"ok", b"ok"]
        assert server.connections == 2  # a new one only after "Connection: close"


def test_a_reused_connection_closed_unanswered_is_tried_once_more_on_a_new_one() -> None:
    # The server reads the second push and closes without a word (its idle timeout racing
    # the push): the push goes again on a new connection and is answered there.
    answers = [ANSWERS["content-length"], None, ANSWERS["content-length"]]
    with scripted(answers) as server:
        connections = PushConnections(1.0, 5.0)
        try:
            url = f"http://127.0.0.1:{server.port}/status"
            assert connections.post(url, b"{}", HEADERS).status_code == 200
            assert connections.post(url, b"{}", HEADERS).status_code == 200
        finally:
            connections.close()
        assert server.connections == 2 and len(server.requests) == 3


@pytest.mark.parametrize(
    "answers",
    [
        [None],  # a new connection closed unanswered: not tried again
        [b"NOT HTTP AT ALL\r\n\r\n"],
        [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"],  # then the server closes
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    ],
    ids=["unanswered", "garbage", "truncated body", "bad chunk"],
)
def test_broken_answers_are_connection_errors(answers: list[bytes | None]) -> None:
    with scripted(answers, close_after=True) as server:
        connections = PushConnections(1.0, 5.0)
        try:
            with pytest.raises(_PushFailed) as failed:
                connections.post(f"http://127.0.0.1:{server.port}/status", b"{}", HEADERS)
        finally:
            connections.close()
        assert failed.value.name == "ConnectionError"
        assert len(server.requests) == 1


def test_a_silent_server_is_a_read_timeout_and_a_closed_port_a_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog), never answers
        connections = PushConnections(1.0, 0.3)
        try:
            with pytest.raises(_PushFailed) as failed:
                connections.post(f"http://127.0.0.1:{silent.getsockname()[1]}/", b"{}", HEADERS)
            assert failed.value.name == "ReadTimeout"
        finally:
            connections.close()
    with socket.create_server(("127.0.0.1", 0)) as gone:
        port = gone.getsockname()[1]
    connections = PushConnections(1.0, 1.0)
    with pytest.raises(_PushFailed) as failed:
        connections.post(f"http://127.0.0.1:{port}/", b"{}", HEADERS)
    assert failed.value.name == "ConnectionError"


@pytest.mark.parametrize(
    ("url", "headers", "error"),
    [
        ("http://127.0.0.1:9/a b", HEADERS, "InvalidURL"),
        ("http://127.0.0.1:9/\x01", HEADERS, "InvalidURL"),
        ("http://127.0.0.1:99999/", HEADERS, "InvalidURL"),
        ("http://127.0.0.1:9/", {"X-Evil": "a\r\nInjected: 1"}, "InvalidHeader"),
    ],
)
def test_a_push_that_cannot_be_one_well_formed_request_is_refused_unsent(
    url: str, headers: dict[str, str], error: str
) -> None:
    connections = PushConnections(1.0, 1.0)
    with pytest.raises(_PushFailed) as failed:  # port 9 (discard) is never reached
        connections.post(url, b"{}", headers)
    assert failed.value.name == error
