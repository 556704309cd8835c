"""The receiver's bad-input handling over a real loopback socket, through its own server.

``tests/test_receiver.py`` calls the WSGI callable directly; these tests send raw bytes to a
started receiver, so they also cover what the server puts in the environ (a missing Content-Type
stays missing), how it frames bodies, and how it treats slow and malformed clients.
"""

from __future__ import annotations

import http.client
import json
import logging
import select
import socket
import threading
import time

import pytest
import requests
from builders import fee_body, fee_info

from toolkit.auth import sign_headers
from toolkit.receiver import Receiver

KEY, SECRET = "AbCdEf0123456789", "s3cr3t-app-secret"
PUSH = json.dumps(fee_body(fee_info(1))).encode()
BIG = json.dumps(fee_body(fee_info(2, userData="x" * (1 << 20)))).encode()
CT = "Content-Type: application/json;charset=UTF-8"
EMPTY = {"cdrs": 0, "events": 0, "sms": 0, "num_status": 0}


def raw(*headers: str, body: bytes = b"", line: str = "POST /fee HTTP/1.1") -> bytes:
    """The bytes of one request: request line, Host, the given header lines, body."""
    head = "".join(f"{h}\r\n" for h in (line, "Host: 127.0.0.1", *headers))
    return head.encode("latin-1") + b"\r\n" + body


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    response = http.client.HTTPResponse(sock, method="POST")
    try:
        response.begin()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        response.close()


def exchange(rx: Receiver, data: bytes, *, half_close: bool = False) -> tuple[int, dict, bytes]:
    """Send ``data`` on a fresh connection (then maybe close our side) and read one answer."""
    with socket.create_connection(("127.0.0.1", rx.port), timeout=10) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_answer(sock)


def assert_still_serving(rx: Receiver, icid: int = 900) -> None:
    before = rx.store.count("cdrs")
    response = requests.post(rx.url + "/fee", json=fee_body(fee_info(icid)), timeout=10)
    assert response.status_code == 200 and response.json()["resultcode"] == "0"
    assert rx.store.count("cdrs") == before + 1


@pytest.fixture
def rx(tmp_path):
    receiver = Receiver(tmp_path / "rx.db", allow_unsigned=True).start(request_timeout=2.0)
    yield receiver
    receiver.stop()


BAD_REQUESTS = {
    "length-shorter-than-body": (
        raw(CT, f"Content-Length: {len(PUSH) - 20}", "Connection: close", body=PUSH),
        False,
        400,
        "bad-json",
    ),
    "length-longer-then-eof": (raw(CT, "Content-Length: 500", body=b"{}"), True, 400, "truncated"),
    "length-negative": (raw(CT, "Content-Length: -5", body=PUSH), False, 400, "length"),
    "length-not-a-number": (raw(CT, "Content-Length: twelve", body=PUSH), False, 400, "length"),
    "length-unicode-digit": (raw(CT, "Content-Length: \xb2", body=PUSH), False, 400, "length"),
    "length-huge": (raw(CT, "Content-Length: " + "9" * 40), False, 413, "too-large"),
    "length-over-cap-body-sent": (
        raw(CT, f"Content-Length: {len(BIG)}", body=BIG),
        False,
        413,
        "too-large",
    ),
    "length-twice-different": (
        raw(CT, f"Content-Length: {len(PUSH)}", f"Content-Length: {len(PUSH) - 1}", body=PUSH),
        False,
        400,
        "length",
    ),
    "length-missing": (raw(CT), False, 400, "empty"),
    "chunked": (
        raw(CT, "Transfer-Encoding: chunked", body=b"2\r\n{}\r\n0\r\n\r\n"),
        False,
        411,
        "length",
    ),
    "chunked-and-length": (
        raw(CT, "Transfer-Encoding: chunked", f"Content-Length: {len(PUSH)}", body=PUSH),
        False,
        411,
        "length",
    ),
    "content-type-twice-different": (
        raw(CT, "Content-Type: text/plain", f"Content-Length: {len(PUSH)}", body=PUSH),
        False,
        400,
        "header",
    ),
    "content-type-text": (
        raw("Content-Type: text/plain", f"Content-Length: {len(PUSH)}", body=PUSH),
        False,
        415,
        "content-type",
    ),
    "header-without-colon": (raw(CT, "Content-Length 5", body=b"{}"), False, 400, "header"),
    "header-folded": (
        raw(CT, "X-Note: a", " b", "Content-Length: 2", body=b"{}"),
        False,
        400,
        "header",
    ),
    "head-too-large": (raw(CT, "X-Pad: " + "a" * 70_000), False, 431, "headers-too-large"),
    "tls-handshake": (
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),
        False,
        400,
        "request-line",
    ),
    "request-line-garbage": (b"HELLO THERE\r\n\r\n", False, 400, "request-line"),
    "request-line-no-version": (raw(line="POST /fee"), False, 400, "request-line"),
    "request-target-unparsable": (  # urlsplit raises ValueError on the unclosed bracket
        raw(CT, "Content-Length: 2", body=b"{}", line="POST http://[::1/fee HTTP/1.1"),
        False,
        400,
        "request-line",
    ),
    "http-2": (
        raw(CT, "Content-Length: 2", body=b"{}", line="POST /fee HTTP/2.0"),
        False,
        505,
        "version",
    ),
}


@pytest.mark.parametrize(
    ("data", "half_close", "status", "error"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys()
)
def test_bad_request_gets_its_4xx_with_a_json_reason_stores_nothing_and_server_goes_on(
    rx: Receiver, data: bytes, half_close: bool, status: int, error: str
) -> None:
    code, headers, payload = exchange(rx, data, half_close=half_close)
    reply = json.loads(payload)
    assert (code, reply["error"]) == (status, error)
    assert reply["reason"] and headers["Content-Type"].startswith("application/json")
    assert rx.store.counts() == EMPTY
    assert_still_serving(rx)


def test_push_without_content_type_is_stored(rx: Receiver) -> None:
    code, _, payload = exchange(rx, raw(f"Content-Length: {len(PUSH)}", body=PUSH))
    assert (code, json.loads(payload)["resultcode"]) == (200, "0")
    assert rx.store.count("cdrs") == 1


def test_repeated_identical_content_length_is_accepted(rx: Receiver) -> None:
    length = f"Content-Length: {len(PUSH)}"
    assert exchange(rx, raw(CT, length, length, body=PUSH))[0] == 200
    assert rx.store.count("cdrs") == 1


def test_unsigned_push_to_a_verifying_receiver_is_401_over_a_socket(tmp_path) -> None:
    with Receiver(tmp_path / "s.db", app_key=KEY, app_secret=SECRET) as signed:
        code, _, payload = exchange(signed, raw(CT, f"Content-Length: {len(PUSH)}", body=PUSH))
        assert (code, json.loads(payload)["error"]) == (401, "unsigned")
        headers = [f"{k}: {v}" for k, v in sign_headers(KEY, SECRET).items()]
        ok = exchange(signed, raw(CT, *headers, f"Content-Length: {len(PUSH)}", body=PUSH))
        assert ok[0] == 200 and signed.store.count("cdrs") == 1


def test_body_shorter_than_its_length_gets_408_at_the_request_deadline(tmp_path) -> None:
    with Receiver(tmp_path / "d.db", allow_unsigned=True).start(request_timeout=1.0) as rx:
        code, _, payload = exchange(rx, raw(CT, "Content-Length: 500", body=b"{}"))
        assert (code, json.loads(payload)["error"]) == (408, "timeout")
        assert rx.store.counts() == EMPTY
        assert_still_serving(rx)


def drip(port: int, data: bytes, interval: float, limit: int) -> tuple[int, bytes]:
    """Send ``data`` one byte every ``interval`` seconds until the server answers or closes, at
    most ``limit`` bytes; return how many bytes were sent and what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for sent in range(limit):
            try:
                sock.send(data[sent : sent + 1])
            except OSError:
                return sent, b""
            if select.select([sock], [], [], interval)[0]:
                try:
                    return sent + 1, sock.recv(65536)
                except OSError:
                    return sent + 1, b""
        return limit, b""


def test_slow_client_is_dropped_at_the_deadline_with_one_log_line(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="toolkit.httpserver")
    with Receiver(tmp_path / "slow.db", allow_unsigned=True).start(request_timeout=1.0) as rx:
        outcome: list[tuple[int, bytes]] = []
        dripper = threading.Thread(
            target=lambda: outcome.append(drip(rx.port, raw(CT, body=PUSH), 0.3, 20))
        )
        dripper.start()
        for n in range(3):  # real pushes are served while the slow client drips
            assert_still_serving(rx, icid=100 + n)
            time.sleep(0.2)
        dripper.join()
        sent, answer = outcome[0]
        assert sent < 20, "the slow client was never dropped"
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"] == "timeout"
        assert rx.store.count("cdrs") == 3
    drops = [r for r in caplog.records if "request deadline" in r.getMessage()]
    assert len(drops) == 1
    assert drops[0].exc_info is None and "\n" not in drops[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


def closed_without_answer(sock: socket.socket) -> bool:
    """True if the server closes ``sock`` within 5 s without answering (a reset counts: the
    server may close before reading what the client sent)."""
    if not select.select([sock], [], [], 5)[0]:
        return False
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def test_a_full_house_of_slow_clients_does_not_keep_a_real_push_out(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="toolkit.httpserver")
    with Receiver(tmp_path / "full.db", allow_unsigned=True).start(
        max_connections=8, request_timeout=30.0
    ) as rx:
        slow = [socket.create_connection(("127.0.0.1", rx.port), timeout=10) for _ in range(8)]
        try:
            for sock in slow:
                sock.sendall(b"POST /fee HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert_still_serving(rx)
            assert closed_without_answer(slow[0])  # the oldest waiting one made room
        finally:
            for sock in slow:
                sock.close()
    evicted = [r for r in caplog.records if "evicted" in r.getMessage()]
    assert evicted and all(r.exc_info is None for r in evicted)


def test_two_pushes_on_one_kept_alive_connection(rx: Receiver) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", rx.port, timeout=10)
    try:
        sockets = []
        for n in range(2):
            body = json.dumps(fee_body(fee_info(n))).encode()
            conn.request("POST", "/fee", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status == 200 and json.loads(response.read())["resultcode"] == "0"
            sockets.append(conn.sock)
        assert sockets[0] is not None and sockets[0] is sockets[1]
    finally:
        conn.close()
    assert rx.store.count("cdrs") == 2


def test_stop_ends_waiting_connections(tmp_path) -> None:
    rx = Receiver(tmp_path / "stop.db", allow_unsigned=True).start()
    slow = socket.create_connection(("127.0.0.1", rx.port), timeout=10)
    idle = http.client.HTTPConnection("127.0.0.1", rx.port, timeout=10)
    try:
        slow.sendall(b"POST /fee HTTP/1.1\r\n")
        idle.request("GET", "/")
        assert idle.getresponse().read()
        rx.stop()
        assert not rx.running
        assert closed_without_answer(slow)
        assert idle.sock is not None and closed_without_answer(idle.sock)
    finally:
        slow.close()
        idle.close()


def test_ipv6_loopback(tmp_path) -> None:
    try:
        rx = Receiver(tmp_path / "v6.db", host="::1", allow_unsigned=True).start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert rx.url == f"http://[::1]:{rx.port}"
        response = requests.post(rx.url + "/fee", json=fee_body(fee_info(1)), timeout=10)
        assert response.status_code == 200 and rx.store.count("cdrs") == 1
    finally:
        rx.stop()
