"""The emulator over HTTP: a threaded HTTP/1.1 keep-alive server (the CLI is in :mod:`.cli`).

:class:`WSGIServer` runs any WSGI app on a port (0 = pick a free one) from background threads.
Clients here send many small requests, so connections are kept open between them (HTTP/1.1,
explicit Content-Length); the server is the toolkit's hardened one, shared with the receiver.
"""

from __future__ import annotations

import ssl
from typing import Any

from ..httpserver import ThreadedWSGIServer

IDLE_TIMEOUT = 30.0  # seconds an idle keep-alive connection is kept


class WSGIServer(ThreadedWSGIServer):
    """Serve a WSGI app from background threads; ``port=0`` picks a free port.

    Request lines are never logged: they carry phone numbers in query strings. With
    ``ssl_context`` it serves HTTPS.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(
            app,
            host,
            port,
            idle_timeout=IDLE_TIMEOUT,
            name="emulator-http",
            ssl_context=ssl_context,
        )
