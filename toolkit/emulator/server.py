"""The emulator over HTTP: a threaded HTTP/1.1 server (the CLI is in :mod:`.cli`).

:class:`WSGIServer` runs any WSGI app on a port (0 = pick a free one) from background threads;
the server is the toolkit's hardened one, shared with the receiver.

Connections are short by default, as on the platform: every API uses short connections and
the server closes the connection after each answer (PrivateNumber and VoiceCall documents,
§其他附加性说明), so each answer carries ``Connection: close`` and a client is tested against
that. ``keep_alive=True`` keeps connections open between requests instead, for benchmarks that
measure the emulator rather than TCP set-up.
"""

from __future__ import annotations

import ssl
from typing import Any

from ..httpserver import ThreadedWSGIServer

IDLE_TIMEOUT = 30.0  # seconds an idle keep-alive connection is kept


class WSGIServer(ThreadedWSGIServer):
    """Serve a WSGI app from background threads; ``port=0`` picks a free port.

    Request lines are never logged: they carry phone numbers in query strings. With
    ``ssl_context`` it serves HTTPS. Answers close the connection unless ``keep_alive`` (see the
    module docstring).
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        keep_alive: bool = False,
    ) -> None:
        super().__init__(
            app,
            host,
            port,
            idle_timeout=IDLE_TIMEOUT,
            name="emulator-http",
            ssl_context=ssl_context,
            keep_alive=keep_alive,
        )
