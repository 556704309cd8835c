"""The threaded WSGI server's fast paths, over real loopback sockets: a worker that answered on a
kept-alive connection serves the client's next request itself when it comes at once, and hands
anything unusual (a partial request, a slow client, a close) back to the selector; header lines
are parsed in linear time and exactly as before (checked against the previous parser)."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.httpserver import ThreadedWSGIServer, _Refused, _Request


def whoami(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with the worker thread that ran it and the body it got (``/big``: 4 MiB)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode()
    if environ["PATH_INFO"] == "/big":
        payload = b"x" * (4 << 20)
    else:
        payload = json.dumps({"thread": threading.get_ident(), "body": body}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [payload]


@contextlib.contextmanager
def connect(port: int) -> Iterator[tuple[socket.socket, BinaryIO]]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        sock.makefile("rb") as stream,
    ):
        yield sock, stream


def post(body: str, path: str = "/") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()


def answer(stream: BinaryIO) -> tuple[int, bytes, str]:
    status = int(stream.readline().split()[1])
    headers = http.client.parse_headers(stream)  # type: ignore[arg-type]
    return status, stream.read(int(headers["Content-Length"])), headers.get("Connection", "")


def test_next_request_on_a_kept_alive_connection_is_served_by_the_same_worker() -> None:
    with (
        ThreadedWSGIServer(whoami, next_request_wait=2.0) as srv,
        connect(srv.port) as (sock, stream),
    ):
        threads = set()
        for i in range(30):
            sock.sendall(post(f"push {i}"))
            status, body, connection = answer(stream)
            assert (status, connection) == (200, "keep-alive")
            seen = json.loads(body)
            assert seen["body"] == f"push {i}"
            threads.add(seen["thread"])
        assert len(threads) == 1  # no handoff through the selector between the requests


def test_a_request_split_across_the_wait_goes_back_to_the_selector_and_is_served() -> None:
    with (
        ThreadedWSGIServer(whoami, next_request_wait=0.5) as srv,
        connect(srv.port) as (sock, stream),
    ):
        sock.sendall(post("first"))
        assert answer(stream)[0] == 200
        whole = post("second, sent in pieces")
        sock.sendall(whole[:20])  # the waiting worker sees a partial head
        threading.Event().wait(0.8)  # longer than the wait: the selector has it by now
        sock.sendall(whole[20:-5])
        threading.Event().wait(0.1)
        sock.sendall(whole[-5:])
        status, body, _ = answer(stream)
        assert status == 200 and json.loads(body)["body"] == "second, sent in pieces"


def test_a_client_that_stalls_after_an_answer_still_gets_the_request_deadline() -> None:
    with (
        ThreadedWSGIServer(whoami, request_timeout=0.5, next_request_wait=0.2) as srv,
        connect(srv.port) as (sock, stream),
    ):
        sock.sendall(post("first"))
        assert answer(stream)[0] == 200
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        status, body, connection = answer(stream)
        assert (status, connection) == (408, "close")
        assert json.loads(body)["error"] == "timeout"


def test_pipelined_and_malformed_requests_after_an_answer_are_handled_as_before() -> None:
    with (
        ThreadedWSGIServer(whoami, next_request_wait=1.0) as srv,
        connect(srv.port) as (sock, stream),
    ):
        sock.sendall(post("one") + post("two") + post("three"))
        assert [json.loads(answer(stream)[1])["body"] for _ in range(3)] == ["one", "two", "three"]
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n")
        status, body, connection = answer(stream)
        assert (status, connection) == (400, "close") and json.loads(body)["error"] == "header"


def test_a_client_that_closes_after_an_answer_frees_its_connection() -> None:
    with ThreadedWSGIServer(whoami, next_request_wait=1.0) as srv:
        for _ in range(5):
            with connect(srv.port) as (sock, stream):
                sock.sendall(post("bye"))
                assert answer(stream)[0] == 200
        with connect(srv.port) as (sock, stream):  # still serving, nothing leaked
            sock.sendall(post("still here"))
            assert json.loads(answer(stream)[1])["body"] == "still here"


def test_an_answer_larger_than_the_socket_buffer_is_sent_whole_then_the_next() -> None:
    with (
        ThreadedWSGIServer(whoami, next_request_wait=1.0) as srv,
        connect(srv.port) as (sock, stream),
    ):
        sock.sendall(post("", "/big"))
        status, body, connection = answer(stream)
        assert (status, len(body), connection) == (200, 4 << 20, "keep-alive")
        sock.sendall(post("after"))
        assert json.loads(answer(stream)[1])["body"] == "after"


def test_a_header_value_of_many_blanks_does_not_stall_the_server() -> None:
    """The header parser used to backtrack quadratically over blanks inside a value: a head of
    60 KB of spaces held the selector thread (and every other client) for most of a minute."""
    with (
        ThreadedWSGIServer(whoami, request_timeout=60) as srv,
        connect(srv.port) as (evil, evil_stream),
    ):
        evil.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-A: a" + b" " * 60_000 + b"b\r\n\r\n")
        with connect(srv.port) as (sock, stream):
            sock.settimeout(10)  # far more than a linear parse takes, far less than before
            sock.sendall(post("another client"))
            assert json.loads(answer(stream)[1])["body"] == "another client"
        assert answer(evil_stream)[0] == 200  # its value is legal, only long


# ---- the header parser against the previous one ------------------------------------------------

_OLD_HEADER = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*")


def old_headers(head: bytes) -> list[tuple[str, str]] | None:
    """The header lines as the previous parser read them (one regex per line); None where it
    refused the head."""
    headers = []
    for raw in head.split(b"\n")[1:]:
        header = _OLD_HEADER.fullmatch(raw.rstrip(b"\r"))
        if header is None or b"\r" in header[2] or b"\0" in header[2]:
            return None
        headers.append((header[1].decode("latin-1"), header[2].decode("latin-1")))
    return headers


_NAMES = st.sampled_from(["Host", "X-Tag", "content-type", "Accept", "X:Y", "", "X Y", "Ä"])
_VALUES = st.text(alphabet=" \t\r\0abc,;=\x01\x7fé:", max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_NAMES, _VALUES, st.sampled_from(["\r\n", "\n", "\r\r\n"])), max_size=5))
def test_header_lines_parse_as_the_previous_parser_did(lines: list[tuple[str, str, str]]) -> None:
    raw = ("POST / HTTP/1.1" + "".join(f"{end}{n}:{v}" for n, v, end in lines)).encode("latin-1")
    expected = old_headers(raw)
    try:
        request = _Request(raw, 1000)
    except _Refused as exc:
        if exc.error == "header" and "conflicting" not in exc.reason:
            assert expected is None
        return
    assert request.headers == expected


@pytest.mark.parametrize(
    "line",
    [b"X-A: a \r", b"X-A: a\r b", b"X-A:\t\tb\t", b"X-A: a\0", b" X-A: a", b"X-A : a", b"X-A:"],
)
def test_edge_header_lines_parse_as_the_previous_parser_did(line: bytes) -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\n" + line
    expected = old_headers(head)
    try:
        assert _Request(head, 1000).headers == expected
    except _Refused:
        assert expected is None
