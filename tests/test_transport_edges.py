"""The client against hostile servers on a real loopback socket: redirects to another host, answers
dripped one byte at a time, huge answers, a gzip bomb, absurd nesting, incomplete success answers.

Each server is a plain socket on 127.0.0.1, port 0, serving one connection at a time from a
thread that the fixture stops and joins; what it received is kept for the assertions.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import pytest
import requests

from toolkit.auth import UsernameTokenAuth
from toolkit.client import AXB_PATH, PrivateNumberClient
from toolkit.config import Settings
from toolkit.errors import ApiError, ResponseError, TransportError
from toolkit.voice import VoiceClient

KEY, SECRET = "edge-key", "edge-secret-never-sent-elsewhere"
A, B = "+8613800138000", "+8613900139000"
OK = {"resultcode": "0", "resultdesc": "Success"}
BOUND = {**OK, "subscriptionId": "s-1", "relationNum": "+8617000000003"}
MiB = 1 << 20

Handler = Callable[[socket.socket, "Server"], None]


class Server:
    """A loopback HTTP server whose answers are written by hand, byte by byte if need be.

    Each connection is served by ``handle(conn, server)`` in a thread of its own. ``requests``
    holds every request received (head and body bytes), ``sent`` the body bytes the handlers got
    out, and ``client_left`` whether a client hung up while a handler was still writing.
    """

    def __init__(self, handle: Handler) -> None:
        self.handle = handle
        self.requests: list[bytes] = []
        self.sent = 0
        self.client_left = False
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.workers: list[threading.Thread] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._accept)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            worker = threading.Thread(target=self._serve, args=(conn,))
            self.workers.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                request = _read_request(conn)
                with self.lock:
                    self.requests.append(request)
                self.handle(conn, self)
            except OSError:  # the client hung up: what several tests wait for
                self.client_left = True

    def send(self, conn: socket.socket, data: bytes) -> None:
        """Send body bytes, counting them."""
        conn.sendall(data)
        with self.lock:
            self.sent += len(data)

    def close(self) -> None:
        """Stop accepting, end the handlers and join every thread."""
        self.stop.set()
        self.thread.join(15)
        for worker in self.workers:
            worker.join(15)
        self.listener.close()
        assert not any(t.is_alive() for t in [self.thread, *self.workers])


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    fields = dict(line.partition(b":")[::2] for line in head.split(b"\r\n")[1:])
    length = int(next((v for k, v in fields.items() if k.lower() == b"content-length"), b"0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def head(status: str = "200 OK", **headers: str | int) -> bytes:
    """A status line and headers; ``Connection: close`` unless told otherwise."""
    fields = {"Content-Type": "application/json", "Connection": "close", **headers}
    lines = [f"HTTP/1.1 {status}"] + [f"{k.replace('_', '-')}: {v}" for k, v in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def json_answer(payload: object, status: str = "200 OK") -> Handler:
    body = json.dumps(payload).encode()

    def handle(conn: socket.socket, server: Server) -> None:
        conn.sendall(head(status, Content_Length=len(body)))
        server.send(conn, body)

    return handle


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Server]]:
    servers: list[Server] = []

    def start(handle: Handler) -> Server:
        servers.append(Server(handle))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def client_for(server: Server, **settings: float) -> PrivateNumberClient:
    return PrivateNumberClient(Settings(server.url, KEY, SECRET, **settings))  # type: ignore[arg-type]


# -- redirects ---------------------------------------------------------------------------------


REDIRECTS = ["301 Moved Permanently", "302 Found", "303 See Other", "307 Temporary Redirect",
             "308 Permanent Redirect"]  # fmt: skip


@pytest.mark.parametrize("status", REDIRECTS)
@pytest.mark.parametrize("operation", ["bind (POST with numbers)", "query (GET)"])
def test_a_redirect_to_another_host_is_not_followed(
    serve: Callable[[Handler], Server], status: str, operation: str
) -> None:
    elsewhere = serve(json_answer(BOUND))  # another port on 127.0.0.1 is another origin

    def redirect(conn: socket.socket, server: Server) -> None:
        target = f"{elsewhere.url}/collect?caller=13800138000&token=abc"
        conn.sendall(head(status, Location=target, Content_Length=0))

    platform = serve(redirect)
    with client_for(platform) as client, pytest.raises(ResponseError) as caught:
        if operation.startswith("bind"):
            client.axb.bind(A, B)
        else:
            client.axb.query(relation_num="+8617000000003")
    assert len(platform.requests) == 1
    assert elsewhere.requests == []  # no signing header, no body, nothing at all went there
    err = caught.value
    assert err.status == int(status[:3]) and "redirect not followed" in str(err)
    assert "13800138000" not in str(err) and "token" not in str(err)  # Location's query left out


@pytest.mark.parametrize("location", ["http://[13800138000/x?token=abc", "http://h:99999/x"])
def test_a_redirect_to_an_unparsable_location_is_a_response_error(
    serve: Callable[[Handler], Server], location: str
) -> None:
    # urlsplit raises ValueError on an unclosed IPv6 bracket: it must not escape the client.
    def redirect(conn: socket.socket, server: Server) -> None:
        conn.sendall(head("302 Found", Location=location, Content_Length=0))

    platform = serve(redirect)
    with client_for(platform) as client, pytest.raises(ResponseError) as caught:
        client.axb.query(relation_num="+8617000000003")
    assert "redirect not followed" in str(caught.value)
    assert "13800138000" not in str(caught.value) and "token" not in str(caught.value)


def test_the_recording_redirect_is_returned_not_followed(
    serve: Callable[[Handler], Server],
) -> None:
    storage = serve(json_answer(OK))
    target = f"{storage.url}/rec/1901.wav?sig=abc"

    def redirect(conn: socket.socket, server: Server) -> None:
        conn.sendall(head("301 Moved Permanently", Location=target, Content_Length=0))

    platform = serve(redirect)
    with client_for(platform) as client:
        assert client.record_url("ostor.huawei.com", "1901.wav") == target
    assert len(platform.requests) == 1 and storage.requests == []


def test_a_redirect_body_is_not_read(serve: Callable[[Handler], Server]) -> None:
    # requests' Session.send reads the whole body of a 3xx while preparing the next hop; the
    # transport must not, or a 3xx with an endless body would hold the call and its memory.
    nowhere = "http://127.0.0.1:1/elsewhere"  # loopback, nothing listening: never reached

    def redirect(conn: socket.socket, server: Server) -> None:
        conn.sendall(head("301 Moved Permanently", Location=nowhere))
        for _ in range(512):  # up to 32 MiB, close-delimited
            server.send(conn, b"x" * 65536)

    platform = serve(redirect)
    with client_for(platform) as client:
        assert client.record_url("d", "f.wav") == nowhere
        with pytest.raises(ResponseError, match="redirect not followed"):
            client.axb.query("sub-1")
    platform.close()
    # Two calls, each answered with up to 32 MiB: the old client read both whole.
    assert platform.client_left and platform.sent < 32 * MiB


def test_the_signing_object_refuses_another_origin() -> None:
    auth = UsernameTokenAuth(KEY, SECRET, origin="https://platform.test")
    same = requests.Request("POST", "https://PLATFORM.test:443/rest/x", auth=auth).prepare()
    assert "X-AKSK" in same.headers  # same scheme, host and (default) port
    others = ["https://other.test/rest/x", "http://platform.test/rest/x",
              "https://platform.test:8443/rest/x", "https://platform.test.evil/rest/x"]  # fmt: skip
    for other in others:
        with pytest.raises(requests.exceptions.InvalidURL, match="refusing to sign"):
            requests.Request("POST", other, auth=auth).prepare()
    assert "origin='https://platform.test:443'" in repr(auth) and SECRET not in repr(auth)


# -- time --------------------------------------------------------------------------------------

DRIP_INTERVAL = 0.5
DRIP_BYTES = 40  # 20 s at most: far past the client's deadline, and the loop is bounded


def drip(prefix: bytes, filler: bytes) -> Handler:
    """Send ``prefix`` at once, then one byte of ``filler`` every half second."""

    def handle(conn: socket.socket, server: Server) -> None:
        conn.sendall(prefix)
        for i in range(DRIP_BYTES):
            if server.stop.wait(DRIP_INTERVAL):
                return
            server.send(conn, filler[i % len(filler) : i % len(filler) + 1])

    return handle


DRIPS = {
    "status line": drip(b"", b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100),
    "headers": drip(b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 100),
    "body with length": drip(head(Content_Length=1000), b'{"resultcode":"0",' + b" " * 100),
    "body until close": drip(head(), b'{"resultcode":"0",' + b" " * 100),
    "chunked body": drip(head(Transfer_Encoding="chunked"), b"1\r\n \r\n"),
}


@pytest.mark.parametrize("where", list(DRIPS))
def test_a_dripping_server_cannot_outlast_the_timeout(
    serve: Callable[[Handler], Server], where: str
) -> None:
    server = serve(DRIPS[where])
    timeout = 1.5
    with client_for(server, timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"within 1\.5 s"):
            client.axb.query("sub-1")
        elapsed = time.monotonic() - started
    # A loose bound against hanging (each byte arrives well within the per-read timeout, so
    # without a deadline for the whole call this would last DRIP_BYTES * DRIP_INTERVAL = 20 s).
    assert elapsed < 4 * timeout


def test_the_deadline_holds_for_a_session_passed_in(serve: Callable[[Handler], Server]) -> None:
    # A plain requests.Session keeps requests' own adapter: the body is still cut at the deadline.
    server = serve(DRIPS["body with length"])
    session = requests.Session()
    settings = Settings(server.url, KEY, SECRET, timeout=1.5)
    started = time.monotonic()
    with (
        session,
        PrivateNumberClient(settings, session=session) as client,
        pytest.raises(TransportError, match=r"within 1\.5 s"),
    ):
        client.axb.query("sub-1")
    assert time.monotonic() - started < 6


def test_a_fast_answer_after_a_late_one_is_fine(serve: Callable[[Handler], Server]) -> None:
    # The connection cut at the deadline is not reused; the next call gets a new one.
    answers = iter([DRIPS["body with length"], json_answer(OK)])
    server = serve(lambda conn, srv: next(answers)(conn, srv))
    with client_for(server, timeout=1.5) as client:
        started = time.monotonic()
        with pytest.raises(TransportError):
            client.axb.query("sub-1")
        assert client.axb.query("sub-1").resultcode == "0"
    assert time.monotonic() - started < 6  # loose: the first call did not run its 20 s


# -- size --------------------------------------------------------------------------------------


def big_answer(total: int, *, declare: bool) -> Handler:
    """A valid success answer of ``total`` bytes: the old client returned it whole."""
    prefix, suffix = b'{"resultcode":"0","resultdesc":"', b'"}'
    piece = b"x" * 65536

    def handle(conn: socket.socket, server: Server) -> None:
        headers = {"Content_Length": total} if declare else {}
        conn.sendall(head(**headers) + prefix)
        remaining = total - len(prefix) - len(suffix)
        while remaining > 0:
            server.send(conn, piece[: min(remaining, len(piece))])
            remaining -= len(piece)
        server.send(conn, suffix)

    return handle


def test_an_answer_over_the_limit_is_refused_without_reading_it(
    serve: Callable[[Handler], Server],
) -> None:
    server = serve(big_answer(5 * MiB, declare=True))
    with client_for(server) as client, pytest.raises(ResponseError) as caught:
        client.axb.query("sub-1")
    assert "larger than 1048576 bytes (max_response_bytes)" in str(caught.value)


def test_an_undeclared_answer_is_cut_at_the_limit(serve: Callable[[Handler], Server]) -> None:
    # 32 MiB is more than the loopback socket buffers hold, so the server can only get it all
    # out if the client reads it all.
    server = serve(big_answer(32 * MiB, declare=False))
    tracemalloc.start()
    try:
        with client_for(server) as client, pytest.raises(ResponseError, match="larger than"):
            client.axb.query("sub-1")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    server.close()
    assert server.client_left and server.sent < 32 * MiB
    assert peak < 16 * MiB


def test_the_limit_is_a_setting(serve: Callable[[Handler], Server]) -> None:
    server = serve(big_answer(5 * MiB, declare=False))
    with client_for(server, max_response_bytes=8 * MiB) as client:
        assert len(client.axb.query("sub-1").resultdesc) > 4 * MiB


def gzip_bomb(decompressed: int) -> bytes:
    """Gzip members of 8 MiB of zeros back to back (a valid gzip stream), ~8 KB each."""
    one = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = one.compress(bytes(8 * MiB)) + one.flush()
    return member * (decompressed // (8 * MiB))


def test_a_gzip_bomb_is_refused_after_the_limit(serve: Callable[[Handler], Server]) -> None:
    bomb = gzip_bomb(1 << 30)  # about 1 MB that inflates to 1 GiB
    assert len(bomb) < MiB  # under the limit as sent, so only counting what it inflates to helps

    def handle(conn: socket.socket, server: Server) -> None:
        conn.sendall(head(Content_Encoding="gzip", Content_Length=len(bomb)))
        server.send(conn, bomb)

    server = serve(handle)
    tracemalloc.start()
    try:
        with client_for(server) as client, pytest.raises(ResponseError, match="larger than"):
            client.axb.query("sub-1")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB


def test_a_body_that_does_not_decode_is_a_response_error(
    serve: Callable[[Handler], Server],
) -> None:
    def handle(conn: socket.socket, server: Server) -> None:
        conn.sendall(head(Content_Encoding="gzip", Content_Length=20) + b"not gzip at all....")

    server = serve(handle)
    with client_for(server) as client, pytest.raises(ResponseError, match="Content-Encoding"):
        client.axb.query("sub-1")


def test_a_non_ascii_digit_content_length_does_not_escape_as_value_error(
    serve: Callable[[Handler], Server],
) -> None:
    # "\xb2" (superscript two, as latin-1) passes str.isdigit() but not int(); urllib3 ignores the
    # header and reads to the close, so the answer itself decides.
    body = json.dumps(BOUND).encode()

    def handle(conn: socket.socket, server: Server) -> None:
        conn.sendall(head().replace(b"\r\n\r\n", b"\r\nContent-Length: \xb2\r\n\r\n") + body)

    server = serve(handle)
    with client_for(server) as client:
        assert client.axb.query("sub-1")["resultcode"] == "0"


# -- shape -------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 2000, 100_000])
def test_deep_nesting_is_a_response_error(serve: Callable[[Handler], Server], depth: int) -> None:
    body = b'{"resultcode":"0","x":' + b"[" * depth + b"]" * depth + b"}"

    def handle(conn: socket.socket, server: Server) -> None:
        conn.sendall(head(Content_Length=len(body)) + body)

    server = serve(handle)
    with client_for(server) as client, pytest.raises(ResponseError, match="nested"):
        client.axb.query("sub-1")


def test_a_success_answer_without_the_promised_field_is_a_response_error(
    serve: Callable[[Handler], Server],
) -> None:
    server = serve(json_answer({**OK, "relationNum": "+8617000000003"}))
    with client_for(server) as client, pytest.raises(ResponseError) as caught:
        client.axb.bind(A, B)
    assert "missing field subscriptionId" in str(caught.value) and caught.value.status == 200


def test_a_voice_call_without_session_id_is_a_response_error(
    serve: Callable[[Handler], Server],
) -> None:
    server = serve(json_answer(OK))
    settings = Settings(server.url, KEY, SECRET)
    with VoiceClient(settings) as voice, pytest.raises(ResponseError, match="sessionId"):
        voice.click2call(A, B, display_nbr="+8675528000001")


def test_a_refusal_echoing_a_number_is_masked(serve: Callable[[Handler], Server]) -> None:
    refusal = {"resultcode": "1012010", "resultdesc": "callerNum 13800138000 is already bound"}
    server = serve(json_answer(refusal, "400 Bad Request"))
    with client_for(server) as client, pytest.raises(ApiError) as caught:
        client.axb.bind(A, B)
    assert "13800138000" not in str(caught.value) and "138****8000" in str(caught.value)
    assert caught.value.resultdesc == refusal["resultdesc"]  # the attribute keeps the original


@pytest.mark.parametrize(
    ("page", "problem"),
    [({"totalCount": "many", "relationNumList": [{"subscriptionId": "s"}]}, "totalCount"),
     ({"totalCount": 2, "relationNumList": ["s1", "s2"]}, "relationNumList"),
     ({"totalCount": 2, "relationNumList": "s1"}, "relationNumList")],
)  # fmt: skip
def test_malformed_pages_are_response_errors(
    serve: Callable[[Handler], Server], page: dict[str, object], problem: str
) -> None:
    server = serve(json_answer({**OK, **page}))
    with client_for(server) as client, pytest.raises(ResponseError, match=problem):
        list(client.axb.iter_bindings("+8617000000003"))
    assert server.requests[0].startswith(b"GET " + AXB_PATH.encode())
