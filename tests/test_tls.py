"""HTTPS in the toolkit's server: the certificate made at start, the handshake on the selector
thread (a client that connects and stays silent holds up no one), and the client settings that
trust a CA. Over real loopback sockets."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from toolkit.config import Settings
from toolkit.errors import ConfigError
from toolkit.httpserver import ThreadedWSGIServer
from toolkit.tls import CertificateFiles, make_local_certificate, server_context


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.dumps(
        {
            "scheme": environ["wsgi.url_scheme"],
            "path": environ["PATH_INFO"],
            "body": environ["wsgi.input"].read(length).decode(),
        }
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


@pytest.fixture(scope="module")
def certs() -> Iterator[CertificateFiles]:
    files = make_local_certificate()
    yield files
    files.remove()


@pytest.fixture
def server(certs: CertificateFiles) -> Iterator[ThreadedWSGIServer]:
    context = server_context(certs.cert, certs.key)
    with ThreadedWSGIServer(hello, request_timeout=30.0, ssl_context=context) as srv:
        yield srv


def client_context(ca: str | None) -> ssl.SSLContext:
    """What a careful client does: the default context (hostname checked), strict X.509."""
    context = ssl.create_default_context(cafile=ca)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def get(port: int, ca: str | None, host: str = "127.0.0.1", path: str = "/x") -> dict[str, Any]:
    conn = http.client.HTTPSConnection(host, port, timeout=10, context=client_context(ca))
    try:
        conn.request("POST", path, body=b"hi")
        response = conn.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        conn.close()


def test_made_certificate_verifies_for_127_0_0_1_and_localhost_strictly(server, certs) -> None:
    assert server.url == f"https://127.0.0.1:{server.port}"
    assert get(server.port, certs.ca_cert) == {"scheme": "https", "path": "/x", "body": "hi"}
    assert get(server.port, certs.ca_cert, host="localhost")["scheme"] == "https"


def test_a_client_without_the_ca_is_refused(server) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        get(server.port, None)


def test_the_ca_key_is_not_kept_and_the_server_key_is_private(certs) -> None:
    files = sorted(p.name for p in Path(certs.directory or "").iterdir())
    assert files == ["ca.pem", "server.key", "server.pem"]
    assert Path(certs.key).stat().st_mode & 0o077 == 0
    assert Path(certs.directory or "").stat().st_mode & 0o077 == 0
    assert b"PRIVATE KEY" not in Path(certs.ca_cert or "").read_bytes()


def test_silent_and_half_handshaking_clients_do_not_stall_a_real_one(server, certs) -> None:
    """Slowloris against the handshake: connections that send nothing, or the first bytes of a
    ClientHello and then nothing, must not hold the selector thread. Were the handshake a
    blocking call there, the request below would wait for the 30 s request deadline (and the
    client's 10 s timeout would fail the test)."""
    silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    half = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    try:
        for sock in half:
            sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a truncated hello
        for _ in range(3):
            assert get(server.port, certs.ca_cert)["body"] == "hi"
    finally:
        for sock in silent + half:
            sock.close()


def test_a_handshake_that_never_finishes_is_dropped_at_the_request_deadline(certs) -> None:
    context = server_context(certs.cert, certs.key)
    with (
        ThreadedWSGIServer(hello, request_timeout=0.3, ssl_context=context) as srv,
        socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock,
    ):
        assert sock.recv(1) == b""  # closed by the server, not by our timeout


def test_plain_http_to_the_https_port_gets_a_400_saying_so(server, certs) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        assert response.status == 400
        assert "https://" in json.loads(response.read())["reason"]
    finally:
        conn.close()
    assert get(server.port, certs.ca_cert)["body"] == "hi"


def test_keep_alive_and_pipelined_requests_over_tls(server, certs) -> None:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    with client_context(certs.ca_cert).wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        request = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab"
        sock.sendall(request * 3)  # three requests in one TLS record
        with sock.makefile("rb") as stream:
            for _ in range(3):
                assert stream.readline().startswith(b"HTTP/1.1 200")
                headers = http.client.parse_headers(stream)  # type: ignore[arg-type]
                body = json.loads(stream.read(int(headers["Content-Length"])))
                assert body["body"] == "ab"
            for part in (request[:10], request[10:]):  # one request across two records
                sock.sendall(part)
            assert stream.readline().startswith(b"HTTP/1.1 200")


def test_bad_certificate_files_are_named_not_quoted(tmp_path, certs) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        server_context(tmp_path / "missing.pem", certs.key)
    junk = tmp_path / "junk.pem"
    junk.write_text("SECRET-LOOKING-CONTENT")
    with pytest.raises(ConfigError, match=r"junk\.pem") as info:
        server_context(junk, certs.key)
    assert "SECRET-LOOKING" not in str(info.value)
    other = make_local_certificate()
    try:  # a key that does not match the certificate
        with pytest.raises(ConfigError, match="must match"):
            server_context(certs.cert, other.key)
    finally:
        other.remove()


def test_without_cryptography_the_error_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)  # import cryptography -> ImportError
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[tls\]"'):
        make_local_certificate()


def test_settings_take_a_ca_from_the_environment_and_check_it(tmp_path, certs) -> None:
    env = {"PRIVATENUMBER_APP_KEY": "k", "PRIVATENUMBER_APP_SECRET": "s"}
    plain = Settings.load(environ=env, env_file=None)
    assert plain.ca_cert is None
    given = Settings.load(environ={**env, "PRIVATENUMBER_CA_CERT": certs.ca_cert}, env_file=None)
    assert given.ca_cert == certs.ca_cert and "ca_cert=" in repr(given)
    with pytest.raises(ConfigError) as info:
        Settings.load(
            environ={**env, "PRIVATENUMBER_CA_CERT": str(tmp_path / "nope.pem")}, env_file=None
        )
    assert info.value.setting == "PRIVATENUMBER_CA_CERT"
