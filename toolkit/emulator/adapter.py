"""A ``requests`` transport adapter that calls a WSGI app directly: no sockets, no threads.

Mount it on a session (``session.mount("http://emulator.invalid", WSGIAdapter(app))``) and every
request to that prefix is answered in-process, with the same bytes the threaded server would send.
"""

from __future__ import annotations

import io
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
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        environ = make_environ(
            request.method or "GET",
            url.path,
            url.query,
            request.headers.items(),
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
        response.connection = self  # type: ignore[attr-defined]
        return response

    def close(self) -> None:
        return None
