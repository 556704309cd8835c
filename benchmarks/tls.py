"""The cost of TLS per call, side by side with plain HTTP, against ``python -m toolkit emulator``
and ``python -m toolkit emulator --tls`` each running in a process of its own.

Three ways of calling, each measured on both servers in alternating rounds (so a busy machine
slows both alike):

* ``close``: a new connection per call, ``Connection: close``, as the platform's own APIs are
  used ("short-lived HTTPS connections"): every call pays a full TLS handshake;
* ``resumed``: the same, but the TLS session of the previous connection is offered again (what a
  client with a session cache, such as Java's, does): a resumed handshake, no certificate;
* ``keep-alive``: one connection for every call: the handshake is paid once.

Each call is ``GET /_emulator/health`` (no signature, a small JSON answer), so the figures are the
transport's. Printed: the median milliseconds per call for each server and the difference.

Run: ``python benchmarks/tls.py [--calls N] [--rounds R]`` (defaults 200 and 5).
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
PATH = "/_emulator/health"


def start(*flags: str) -> tuple[subprocess.Popen[str], str, str | None]:
    """An emulator process: the process, its base URL and its CA file (None over HTTP)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "toolkit", "emulator", "--time-scale", "0", *flags]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    for _ in range(2):  # APP_KEY=, APP_SECRET=
        proc.stdout.readline()
    ca = proc.stdout.readline().strip().partition("=")[2] if "--tls" in flags else None
    return proc, url, ca


def connector(url: str, ca: str | None) -> Callable[[], http.client.HTTPConnection]:
    """New keep-alive connections to ``url`` (verified against ``ca`` over HTTPS)."""
    host, port = address(url)
    if ca is None:
        return lambda: http.client.HTTPConnection(host, port, timeout=10)
    context = ssl.create_default_context(cafile=ca)
    return lambda: http.client.HTTPSConnection(host, port, timeout=10, context=context)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 0


def fetch(conn: http.client.HTTPConnection) -> None:
    conn.request("GET", PATH)
    response = conn.getresponse()
    response.read()
    assert response.status == 200


REUSED = [0, 0]  # TLS connections that offered a session: resumed, all


def one_shot(url: str, ca: str | None, resume: bool) -> Callable[[], None]:
    """A call on a connection of its own with ``Connection: close``, read to the server's close;
    with ``resume``, offering the TLS session of the previous call."""
    host, port = address(url)
    request = f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    context = None if ca is None else ssl.create_default_context(cafile=ca)
    last: list[ssl.SSLSession | None] = [None]

    def call() -> None:
        sock = socket.create_connection((host, port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is not None:
            offer = last[0] if resume else None
            sock = context.wrap_socket(sock, server_hostname=host, session=offer)
        with sock:
            sock.sendall(request.encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200"), answer[:40]
            if isinstance(sock, ssl.SSLSocket):
                if resume and last[0] is not None:
                    REUSED[0] += sock.session_reused
                    REUSED[1] += 1
                last[0] = sock.session  # the ticket arrives after the handshake: read by now

    return call


def per_call_close(call: Callable[[], None], calls: int) -> float:
    start_at = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start_at) / calls * 1000


def per_call_keep_alive(make: Callable[[], http.client.HTTPConnection], calls: int) -> float:
    conn = make()
    try:
        fetch(conn)  # the handshake, outside the timing
        start_at = time.perf_counter()
        for _ in range(calls):
            fetch(conn)
        return (time.perf_counter() - start_at) / calls * 1000
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    plain_proc, plain_url, _ = start()
    tls_proc, tls_url, ca = start("--tls")
    try:
        urls = {"http": (plain_url, None), "https": (tls_url, ca)}
        ways: dict[str, dict[str, Callable[[int], float]]] = {
            "close": {},
            "resumed": {},
            "keep-alive": {},
        }
        for scheme, (url, cafile) in urls.items():
            fresh, again = one_shot(url, cafile, False), one_shot(url, cafile, True)
            make = connector(url, cafile)
            ways["close"][scheme] = lambda n, f=fresh: per_call_close(f, n)
            ways["resumed"][scheme] = lambda n, f=again: per_call_close(f, n)
            ways["keep-alive"][scheme] = lambda n, m=make: per_call_keep_alive(m, n)
        for by_scheme in ways.values():  # a warm-up round, not counted
            for measure in by_scheme.values():
                measure(10)
        figures: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for way, by_scheme in ways.items():
                for scheme, measure in by_scheme.items():
                    figures.setdefault((way, scheme), []).append(measure(args.calls))
        print(f"ms per call, median of {args.rounds} rounds of {args.calls} calls (GET {PATH})")
        for way in ways:
            plain = statistics.median(figures[(way, "http")])
            secure = statistics.median(figures[(way, "https")])
            print(
                f"{way:>10}: http {plain:6.3f}  https {secure:6.3f}  "
                f"TLS costs {secure - plain:+6.3f} ms/call ({secure / plain:4.2f}x)"
            )
        print(f"sessions resumed: {REUSED[0]} of {REUSED[1]} offered")
        print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        for proc in (plain_proc, tls_proc):
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
