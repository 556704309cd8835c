"""The hardened threaded WSGI server on its own, over real loopback sockets: HTTP/1.1 framing
(keep-alive, pipelining, 100-continue, HEAD), what reaches the environ, an app that fails, and a
process that runs out of file descriptors."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from toolkit.httpserver import ThreadedWSGIServer

ROOT = Path(__file__).resolve().parents[1]


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with what it saw; ``/fail`` raises, ``/write`` uses the legacy write()."""
    if environ["PATH_INFO"] == "/fail":
        raise RuntimeError("a bug in the app")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ["QUERY_STRING"],
        "protocol": environ["SERVER_PROTOCOL"],
        "content_type": environ.get("CONTENT_TYPE"),
        "body": environ["wsgi.input"].read(length).decode(),
        "x_tag": environ.get("HTTP_X_TAG"),
        "remote": environ["REMOTE_ADDR"],
    }
    payload = json.dumps(seen).encode()
    write = start_response("200 OK", [("Content-Type", "application/json")])
    if environ["PATH_INFO"] == "/write":
        write(payload[:5])
        return [payload[5:]]
    return [payload]


@pytest.fixture
def server() -> Iterator[ThreadedWSGIServer]:
    with ThreadedWSGIServer(echo, request_timeout=5.0, max_body=1000) as srv:
        yield srv


@contextlib.contextmanager
def connect(port: int) -> Iterator[tuple[socket.socket, BinaryIO]]:
    """A raw connection and one buffered reader for it (a second reader would miss what the
    first read ahead)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        sock.makefile("rb") as stream,
    ):
        yield sock, stream


def answer_json(stream: BinaryIO) -> tuple[int, dict[str, Any], str]:
    """Read one answer: status, JSON body, Connection header."""
    status = int(stream.readline().split()[1])
    headers = http.client.parse_headers(stream)  # type: ignore[arg-type]
    body = stream.read(int(headers["Content-Length"]))
    return status, json.loads(body), headers.get("Connection", "")


def test_environ_keeps_query_repeats_and_a_missing_content_type(server) -> None:
    with connect(server.port) as (sock, stream):
        sock.sendall(
            b"POST /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nX-Tag: one\r\nX-Tag: two\r\n"
            b"Content-Length: 5\r\n\r\nhello"
        )
        status, seen, _ = answer_json(stream)
    assert status == 200
    assert seen["path"] == "/a b" and seen["query"] == "x=1" and seen["body"] == "hello"
    assert seen["content_type"] is None and seen["x_tag"] == "one, two"
    assert seen["remote"] == "127.0.0.1" and seen["protocol"] == "HTTP/1.1"


def test_pipelined_requests_are_answered_in_order_on_one_connection(server) -> None:
    with connect(server.port) as (sock, stream):
        sock.sendall(
            b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
            b"POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
            b"GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        )
        answers = [answer_json(stream) for _ in range(3)]
        assert stream.read(1) == b""  # closed after the one that asked
    assert [a[1]["path"] for a in answers] == ["/one", "/two", "/three"]
    assert answers[1][1]["body"] == "hi"
    assert [a[2] for a in answers] == ["keep-alive", "keep-alive", "close"]


def test_http_1_0_closes_unless_asked_to_keep_alive(server) -> None:
    with connect(server.port) as (sock, stream):
        sock.sendall(b"GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        status, seen, connection = answer_json(stream)
        assert (status, seen["protocol"], connection) == (200, "HTTP/1.0", "keep-alive")
        sock.sendall(b"GET /c HTTP/1.0\r\n\r\n")
        assert answer_json(stream)[2] == "close"
        assert stream.read(1) == b""


def test_expect_100_continue_then_body(server) -> None:
    with connect(server.port) as (sock, stream):
        sock.sendall(
            b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
        )
        assert stream.readline() == b"HTTP/1.1 100 Continue\r\n" and stream.readline() == b"\r\n"
        sock.sendall(b"data")
        status, seen, _ = answer_json(stream)
    assert status == 200 and seen["body"] == "data"


def test_expect_100_continue_over_the_cap_gets_413_without_sending_the_body(server) -> None:
    with connect(server.port) as (sock, stream):
        sock.sendall(
            b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"
        )
        status, reply, connection = answer_json(stream)
    assert (status, reply["error"], connection) == (413, "too-large", "close")


def test_head_has_a_length_but_no_body_and_write_callable_works(server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("HEAD", "/h")
        head = conn.getresponse()
        assert head.status == 200 and int(head.getheader("Content-Length")) > 0
        assert head.read() == b""
        conn.request("GET", "/write")  # the same connection is still in step
        response = conn.getresponse()
        assert json.loads(response.read())["path"] == "/write"
    finally:
        conn.close()


def test_a_failing_app_gets_500_json_and_the_server_goes_on(server, caplog) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/fail")
        response = conn.getresponse()
        assert response.status == 500 and json.loads(response.read())["error"] == "internal"
        conn.request("GET", "/after")
        assert json.loads(conn.getresponse().read())["path"] == "/after"
    finally:
        conn.close()
    assert any("application failed" in r.getMessage() for r in caplog.records)


def test_idle_keep_alive_connection_is_closed_after_idle_timeout() -> None:
    with ThreadedWSGIServer(echo, idle_timeout=0.3) as srv, connect(srv.port) as (sock, stream):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert answer_json(stream)[0] == 200
        assert stream.read(1) == b""  # closed by the server after 0.3 s


def test_stop_without_start_closes_the_socket_and_is_idempotent() -> None:
    srv = ThreadedWSGIServer(echo)
    assert not srv.running
    srv.stop()
    srv.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


EMFILE_SERVER = textwrap.dedent(
    """
    import logging, resource, sys
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    from toolkit.httpserver import ThreadedWSGIServer

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    # A cap the process cannot hold: accept() runs out of descriptors first.
    server = ThreadedWSGIServer(app, max_connections=1000, request_timeout=60).start()
    print(server.port, flush=True)
    sys.stdin.read()
    server.stop()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")
def test_out_of_descriptors_a_real_request_is_still_served_and_logged_once() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", EMFILE_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    slow: list[socket.socket] = []
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        for _ in range(100):  # more than the 64 descriptors the server may open
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET / HTTP/1.1\r\n")
            slow.append(sock)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"ok")
        finally:
            conn.close()
    finally:
        for sock in slow:
            sock.close()
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert err.count("cannot accept connections") == 1, err
