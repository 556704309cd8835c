"""RequestPreparer gives the request Session.prepare_request gives, for any query, body and
session state; and the transport signs and sends what it prepares."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.client import PrivateNumberClient
from toolkit.emulator import Emulator
from toolkit.prepare import RequestPreparer
from toolkit.transport import _HEADERS


class FixedAuth(requests.auth.AuthBase):
    """Signs like UsernameTokenAuth (adds headers), with no nonce, so both paths compare equal."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers.update({"Authorization": "AKSK realm", "X-AKSK": "UsernameToken fixed"})
        return r


def hook(response: requests.Response, **kwargs: Any) -> None:
    return None


BASES = [
    "http://127.0.0.1:8080",
    "https://API.Example.COM",
    "http://[::1]:9000/sandbox",
    "http://bücher.example",  # IDNA
    "http://h.example/p?fixed=1",  # a query already in the base URL
    "http://h.example/p#part",  # a fragment: the slow path
    "  http://lead.example",  # leading whitespace, stripped by requests
]
PATHS = ["/rest/caas/relationnumber/partners/v1.0", "/a b/ü", "/%41%zz", ""]
values = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.integers(-(10**12), 10**12),
    st.booleans(),  # not a wire value: goes through the slow path
    st.none(),  # left out, as requests leaves it out
    st.lists(st.text(max_size=3), max_size=2),
)
queries = st.none() | st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=4)
session_headers = st.dictionaries(
    st.sampled_from(["Accept", "accept", "X-Extra", "User-Agent", "Content-Type"]),
    st.none() | st.sampled_from(["a", "text/plain", "b c"]),
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(
    base=st.sampled_from(BASES),
    path=st.sampled_from(PATHS),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "post"]),
    query=queries,
    data=st.none() | st.binary(max_size=20),
    extra=session_headers,
    # Mostly sessions the fast path serves; params and cookies go through the slow one.
    params=st.sampled_from([{}, {}, {}, {"p": "1"}]),
    cookie=st.sampled_from([False, False, False, True]),
    hooks=st.booleans(),
)
def test_same_request_as_session_prepare_request(
    base: str,
    path: str,
    method: str,
    query: dict[str, Any] | None,
    data: bytes | None,
    extra: dict[str, str | None],
    params: dict[str, str],
    cookie: bool,
    hooks: bool,
) -> None:
    with requests.Session() as session:
        session.headers.update(extra)
        session.params = params
        if cookie:
            session.cookies.set("c", "1")
        if hooks:
            session.hooks["response"].append(hook)
        preparer = RequestPreparer(_HEADERS)
        auth = FixedAuth()
        fast = preparer.prepare(session, auth, method, base + path, query, data)
        again = preparer.prepare(session, auth, method, base + path, query, data)  # from cache
        request = requests.Request(
            method, base + path, params=query, data=data, headers=_HEADERS, auth=auth
        )
        slow = session.prepare_request(request)
    for made in (fast, again):
        assert made.method == slow.method
        assert made.url == slow.url
        assert list(made.headers.items()) == list(slow.headers.items())
        assert made.body == slow.body
        assert made.hooks == slow.hooks


def test_session_headers_changed_later_are_sent_and_checked() -> None:
    """The merged headers are cached, but a change to session.headers is seen at once."""
    with requests.Session() as session:
        preparer = RequestPreparer(_HEADERS)
        url = "http://127.0.0.1:1/x"
        first = preparer.prepare(session, FixedAuth(), "GET", url, None, None)
        assert first.headers["Accept"] == "application/json"
        session.headers["X-Trace"] = "on"
        assert preparer.prepare(session, FixedAuth(), "GET", url, None, None).headers["X-Trace"]
        session.headers["X-Bad"] = "two\r\nlines"
        with pytest.raises(requests.exceptions.InvalidHeader):
            preparer.prepare(session, FixedAuth(), "GET", url, None, None)


def test_a_session_with_its_own_prepare_request_is_asked() -> None:
    """A session that prepares requests its own way (a subclass, or a method set on it) keeps
    doing so: the fast path is only for requests' own prepare_request."""

    class Tagging(requests.Session):
        def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
            prepared = super().prepare_request(request)
            prepared.headers["X-Tag"] = "class"
            return prepared

    url = "http://127.0.0.1:1/x"
    with Tagging() as session:
        made = RequestPreparer(_HEADERS).prepare(session, FixedAuth(), "GET", url, None, None)
        assert made.headers["X-Tag"] == "class"
    with requests.Session() as session:
        plain = session.prepare_request

        def tagging(request: requests.Request) -> requests.PreparedRequest:
            prepared = plain(request)
            prepared.headers["X-Tag"] = "instance"
            return prepared

        session.prepare_request = tagging  # type: ignore[method-assign]
        made = RequestPreparer(_HEADERS).prepare(session, FixedAuth(), "GET", url, None, None)
        assert made.headers["X-Tag"] == "instance"


@pytest.fixture(scope="module")
def emulator() -> Any:
    with Emulator(time_scale=0, seed=3) as emu:
        yield emu


def test_bind_query_and_unbind_over_http(emulator: Emulator) -> None:
    """Over a real socket: every request signed afresh (the emulator refuses a reused nonce),
    query strings with "+86..." numbers encoded as requests encodes them."""
    with PrivateNumberClient(emulator.settings()) as client:
        bound = client.axb.bind("+8613800000101", "+8613900000101")
        found = client.axb.query(
            relation_num=bound.relation_num, caller_num="+8613800000101", page_size=10
        )
        assert found.relation_num_list[0]["calleeNum"] == "+8613900000101"
        client.axb.unbind(bound.subscription_id)
        assert not [b for b in emulator.bindings() if b["subscriptionId"] == bound.subscription_id]
