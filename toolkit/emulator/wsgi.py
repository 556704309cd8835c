"""Calling a WSGI app by hand, shared by the in-process adapter and the threaded HTTP server:
both turn one HTTP request into an environ and collect the app's status, headers and body."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote


def make_environ(
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: Any,
    content_length: str,
    *,
    server_name: str,
    server_port: str,
    protocol: str = "HTTP/1.1",
    scheme: str = "http",
    **extra: str,
) -> dict[str, Any]:
    """The PEP 3333 environ of one request; ``body`` is the readable ``wsgi.input`` stream and
    ``extra`` adds keys such as ``REMOTE_ADDR``.

    Request headers become ``HTTP_*`` keys, except Content-Type (``CONTENT_TYPE``) and
    Content-Length, which is the ``content_length`` given.
    """
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path or "/"),
        "QUERY_STRING": query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": protocol,
        "CONTENT_LENGTH": content_length,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **extra,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ["HTTP_" + key] = value
    return environ


def call(app: Any, environ: dict[str, Any]) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """Run ``app`` on ``environ``: status code, reason phrase, headers and the whole body."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    code, _, reason = captured["status"].partition(" ")
    return int(code), reason, captured["headers"], body
