"""A ``requests`` transport adapter that calls a WSGI app directly: no sockets, no threads.

Mount it on a session (``session.mount("http://emulator.invalid", WSGIAdapter(app))``) and every
request to that prefix is answered in-process, with the same bytes the threaded server would send.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from .wsgi import call, make_environ


class WSGIAdapter(BaseAdapter):
    """Answer requests by calling ``app(environ, start_response)``."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = _body_bytes(request.body)
        # requests lets a header value be bytes; WSGI wants the latin-1 text a server would give.
        headers = [
            (name, value.decode("latin-1") if isinstance(value, bytes) else value)
            for name, value in request.headers.items()
        ]
        environ = make_environ(
            request.method or "GET",
            url.path,
            url.query,
            headers,
            io.BytesIO(body),
            str(len(body)),
            server_name=url.hostname or "localhost",
            server_port=str(url.port or (443 if url.scheme == "https" else 80)),
            scheme=url.scheme or "http",
            HTTP_HOST=url.netloc,
        )
        code, reason, headers, content = call(self.app, environ)
        response = requests.Response()
        response.status_code = code
        response.reason = reason
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(content)
        response._content = content
        response.url = request.url or ""
        response.request = request
        # requests annotates Response.connection as HTTPAdapter, but only ever calls its send()
        # (digest auth resends through it), which this adapter has too.
        response.connection = self  # type: ignore[assignment]
        return response

    def close(self) -> None:
        return None


def _body_bytes(body: object) -> bytes:
    """The whole body of a prepared request: ``requests`` sends bytes, text (as UTF-8), a file
    (``data=open(...)``) or an iterable of chunks (``data=generator``, sent chunked)."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    read = getattr(body, "read", None)
    if callable(read):
        return _body_bytes(read())
    if isinstance(body, Iterable):
        return b"".join(_body_bytes(chunk) for chunk in body)
    raise TypeError(f"cannot send a request body of type {type(body).__name__}")
