"""The emulator over HTTP: a threaded HTTP/1.1 keep-alive server and ``python -m toolkit emulator``.

:class:`WSGIServer` runs any WSGI app on a port (0 = pick a free one) in a background thread.
The stdlib ``wsgiref`` server speaks HTTP/1.0 and closes every connection; clients here send many
small requests, so the handler below keeps connections open (HTTP/1.1, explicit Content-Length).
"""

from __future__ import annotations

import argparse
import io
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ..numbers import mask
from .wsgi import call, make_environ

IDLE_TIMEOUT = 30.0  # seconds an idle keep-alive connection is kept


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; without TCP_NODELAY, Nagle's algorithm plus the
        # client's delayed ACK add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
                return
            if not self.parse_request():
                return
            self._run_app()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True

    def _run_app(self) -> None:
        url = urlsplit(self.path)
        length_text = self.headers.get("Content-Length") or "0"
        try:
            length = max(0, int(length_text))
        except ValueError:
            length = 0
        body = _Limited(self.rfile, length)
        host, port = self.server.server_address[:2]
        environ = make_environ(
            self.command,
            url.path,
            url.query,
            self.headers.items(),
            body,
            length_text,
            server_name=str(host),
            server_port=str(port),
            protocol=self.request_version,
            REMOTE_ADDR=self.client_address[0],
        )
        code, reason, headers, payload = call(self.server.app, environ)
        if body.remaining:  # unread body (e.g. refused as too large): the stream is out of sync
            self.close_connection = True
        self.send_response(code, reason)
        for name, value in headers:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None  # request lines carry phone numbers in query strings: never logged


class _Limited(io.RawIOBase):
    """The request body: at most Content-Length bytes of the socket stream."""

    def __init__(self, stream: Any, length: int) -> None:
        self.stream, self.remaining = stream, length

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self.stream.read(size) if size else b""
        self.remaining -= len(data)
        return data


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: Any


class WSGIServer:
    """Serve a WSGI app from a background thread; ``port=0`` picks a free port."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.httpd = _Server((host, port), _Handler)
        self.httpd.app = app
        self.host, self.port = self.httpd.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in str(self.host) else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> WSGIServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="emulator-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m toolkit emulator",
        description="Run the PrivateNumber/VoiceCall platform emulator.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    p.add_argument("--mode", default="axb", choices=("axb", "ax", "axe", "axyb", "x", "voice"))
    p.add_argument("--app-key", help="APP_Key (default: random)")
    p.add_argument("--app-secret", help="APP_Secret (default: random)")
    p.add_argument("--status-url", help="where call events are pushed")
    p.add_argument("--fee-url", help="where CDRs are pushed")
    p.add_argument("--sms-url", help="where SMS events are pushed")
    p.add_argument("--numstatus-url", help="where X-number status changes are pushed")
    p.add_argument(
        "--time-scale",
        type=float,
        default=0.01,
        help="real seconds per simulated second (retries, call lengths); default 0.01",
    )
    p.add_argument("--seed", type=int, help="seed for generated numbers and traffic")
    return p


def main(argv: list[str] | None = None) -> int:
    """Start the emulator and serve until SIGINT/SIGTERM.

    The first three lines on stdout are the base URL, ``APP_KEY=<key>`` and ``APP_SECRET=<secret>``
    (scripts parse them); what follows is informational.
    """
    from .emulator import Emulator

    args = _parser().parse_args(argv)
    if args.time_scale < 0:
        print("--time-scale must be >= 0", file=sys.stderr)
        return 2
    emulator = Emulator(
        args.mode,
        app_key=args.app_key,
        app_secret=args.app_secret,
        time_scale=args.time_scale,
        seed=args.seed,
        status_url=args.status_url,
        fee_url=args.fee_url,
        sms_url=args.sms_url,
        numstatus_url=args.numstatus_url,
        host=args.host,
        port=args.port,
    )
    stop = threading.Event()

    def _signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, _signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        emulator.start()
        print(emulator.url)
        print(f"APP_KEY={emulator.app_key}")
        print(f"APP_SECRET={emulator.app_secret}", flush=True)
        numbers = ", ".join(mask(n) for n in emulator.numbers[:5])
        print(f"mode={args.mode} numbers: {numbers} ... ({len(emulator.numbers)} in all)")
        print(f"control: {emulator.url}/_emulator/health  (Ctrl+C to stop)", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    print("emulator stopped", flush=True)
    return 0
