"""A tiny push sink for the emulator's delivery tests: a stdlib HTTP server on 127.0.0.1 that
records what it receives and answers as scripted."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class PushSink:
    """Records pushes. ``script`` is a list of HTTP statuses for the next answers (then 200);
    the string ``"hang"`` makes one answer wait ``hang_seconds`` first; ``reply`` is the JSON
    body sent with a 200 (for Block-mode answers)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: list[int | str] = []
        self.reply: Any = None
        self.hang_seconds = 2.0
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with sink.cond:
                    action = sink.script.pop(0) if sink.script else 200
                    sink.received.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": json.loads(raw),
                            "answer": action,
                            "at": time.monotonic(),
                        }
                    )
                    sink.cond.notify_all()
                    reply = sink.reply
                if action == "hang":
                    time.sleep(sink.hang_seconds)
                    action = 200
                payload = json.dumps(reply).encode() if reply is not None and action == 200 else b""
                self.send_response(int(action))
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                # The emulator keeps push connections alive and drops them when it stops: a
                # reset between two pushes is not an error, and would only print a traceback.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r["body"] for r in self.received if path is None or r["path"] == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len([r for r in self.received if path is None or r["path"] == path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
