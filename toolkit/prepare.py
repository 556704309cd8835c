"""Each call's ``requests.PreparedRequest`` as ``Session.prepare_request`` builds it, for less CPU.

``Session.prepare_request`` re-parses the base URL, re-validates every header and merges the
session's settings through generic helpers on every call: about a quarter of the client's CPU for
one small bind on loopback, and in a thread pool the client's CPU is what caps a bulk run. Every
request of a :class:`~toolkit.transport.Transport` goes to the same base URL with the same fixed
headers, so :class:`RequestPreparer` does that work once and keeps it:

* the URL of each API path, as requests prepares it (IDNA, quoting), once per path; the query
  string is encoded per call as requests encodes ``params`` (``quote_plus``: ``+86...`` goes out
  as ``%2B86...``);
* the session's headers merged with the transport's and checked, once per distinct value of
  ``session.headers`` (compared on every call, so a header set on the session later still goes
  out, and an invalid one is still refused);
* the body's ``Content-Length``, the auth object (which signs: a fresh nonce and ``Created``
  every call) and the session's hooks, on every call, in requests' order.

Whatever the fast path would not reproduce exactly goes through ``Session.prepare_request``
itself: a session with ``params`` or cookies, or with a ``prepare_request`` of its own (its
class's or set on it), a base URL with a fragment, query values other than ``str`` and ``int``.
The one difference left is private to requests: the prepared request's ``_cookies`` jar (used
only when requests follows redirects, which the transport never does) is not built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from requests.structures import CaseInsensitiveDict

__all__ = ["RequestPreparer"]


class RequestPreparer:
    """Prepared requests with one set of fixed headers.

    Safe to share between threads: the caches are replaced whole, never changed in place, and
    each call gets its own header dict.
    """

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = dict(headers)
        self._urls: dict[str, str] = {}  # base URL + path -> the prepared URL
        # (session.headers as items, the merged and checked headers built from them)
        self._merged: tuple[list[tuple[Any, Any]], CaseInsensitiveDict[Any]] | None = None

    def prepare(
        self,
        session: requests.Session,
        auth: requests.auth.AuthBase,
        method: str,
        url: str,
        query: Mapping[str, Any] | None,
        data: bytes | None,
    ) -> requests.PreparedRequest:
        """The request for ``method`` on ``url`` (no query string) with ``query`` and body ``data``,
        signed by ``auth``: the same as ``session.prepare_request`` gives for it (see the module
        docstring)."""
        if (
            type(session).prepare_request is not requests.Session.prepare_request
            or "prepare_request" in vars(session)
            or session.params
            or len(session.cookies)
            or not isinstance(session.headers, Mapping | None)
            or (query and not all(type(v) in (str, int) for v in query.values()))
        ):
            return self._slow(session, auth, method, url, query, data)
        target = self._urls.get(url) or self._prepared_url(url)
        if target is None:
            return self._slow(session, auth, method, url, query, data)
        if query:
            target += ("&" if "?" in target else "?") + urlencode(list(query.items()))
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        prepared.url = target
        prepared.headers = self._session_headers(session.headers).copy()
        data = data or None  # requests sends no body for an empty one
        prepared.body = data
        # As PreparedRequest.prepare_content_length: a body's length, or 0 on a method that may
        # carry one.
        if data:
            prepared.headers["Content-Length"] = str(len(data))
        elif (
            prepared.method not in ("GET", "HEAD")
            and prepared.headers.get("Content-Length") is None
        ):
            prepared.headers["Content-Length"] = "0"
        prepared.prepare_auth(auth)
        prepared.prepare_hooks(_hooks(session.hooks))
        return prepared

    def _slow(
        self,
        session: requests.Session,
        auth: requests.auth.AuthBase,
        method: str,
        url: str,
        query: Mapping[str, Any] | None,
        data: bytes | None,
    ) -> requests.PreparedRequest:
        request = requests.Request(
            method,
            url,
            params=dict(query) if query else None,
            data=data,
            headers=self.headers,
            auth=auth,
        )
        return session.prepare_request(request)

    def _prepared_url(self, url: str) -> str | None:
        """``url`` as requests prepares it, or None where appending a query string to that would
        not give requests' result (a fragment)."""
        probe = requests.PreparedRequest()
        probe.prepare_url(url, None)
        prepared = probe.url or ""
        if "#" in prepared:
            return None
        self._urls = {**self._urls, url: prepared}
        return prepared

    def _session_headers(self, headers: Mapping[str, Any] | None) -> CaseInsensitiveDict[Any]:
        current = list(headers.items()) if headers is not None else []
        cached = self._merged
        if cached is not None and cached[0] == current:
            return cached[1]
        # As requests' merge_setting: the request's headers win, a None value removes one.
        merged: CaseInsensitiveDict[Any] = CaseInsensitiveDict(current)
        merged.update(self.headers)
        for name in [k for k, v in merged.items() if v is None]:
            del merged[name]
        probe = requests.PreparedRequest()
        probe.prepare_headers(merged)  # checks each header as requests does
        self._merged = (current, probe.headers)
        return probe.headers


def _hooks(session_hooks: Any) -> Any:
    """The hooks ``Session.prepare_request`` gives a request that has none of its own."""
    if session_hooks is None or session_hooks.get("response") == []:
        return None
    return session_hooks
