"""Short connections, as on the platform: every API answer says ``Connection: close`` and the
server closes; keep-alive is opted into. The client works against both, over real sockets."""

from __future__ import annotations

import socket

import pytest

from toolkit.client import PrivateNumberClient
from toolkit.emulator import Emulator
from toolkit.emulator.cli import _parser


def _health(port: int) -> tuple[bytes, bytes]:
    """One raw GET on a fresh connection: the answer's head, and what follows its body once
    the server is done with the connection (b"" means EOF: the server closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.partition(b":")[2])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += sock.recv(4096)
        sock.settimeout(1.0)
        try:
            after = sock.recv(4096)  # EOF at once when the server closed
        except TimeoutError:
            after = b"<still open>"
        return head, after


@pytest.mark.parametrize(("keep_alive", "connection"), [(False, b"close"), (True, b"keep-alive")])
def test_api_answers_close_the_connection_unless_keep_alive(
    keep_alive: bool, connection: bytes
) -> None:
    with Emulator("axb", time_scale=0, seed=3, keep_alive=keep_alive) as emu:
        head, after = _health(int(emu.url.rsplit(":", 1)[1]))
        assert b"\r\nconnection: " + connection in head.lower()
        assert after == (b"" if not keep_alive else b"<still open>")


@pytest.mark.parametrize("keep_alive", [False, True])
def test_client_makes_many_sequential_calls_against_either(keep_alive: bool) -> None:
    with (
        Emulator("axb", time_scale=0, seed=3, keep_alive=keep_alive) as emu,
        PrivateNumberClient(emu.settings()) as client,  # a requests session over HTTP
    ):
        for i in range(30):
            pair = client.axb.bind(f"+86135{i:08d}", f"+86136{i:08d}")
            assert client.axb.query(relation_num=pair.relation_num)
            assert client.axb.unbind(pair.subscription_id).resultcode == "0"
        assert emu.bindings() == []


def test_cli_keep_alive_flag() -> None:
    assert _parser().parse_args([]).keep_alive is False
    assert _parser().parse_args(["--keep-alive"]).keep_alive is True
