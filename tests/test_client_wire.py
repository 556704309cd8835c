"""Wire-level tests of PrivateNumberClient: what goes out for every operation (AXB-1 ... C-2), how
answers and failures come back, and that bad input is refused before anything is sent."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses
from wire_helpers import BASE, KEY, OK, SECRET, answer, only_call, sent

from toolkit.client import (
    AX_CALLEE_PATH,
    AX_PATH,
    AXB_PATH,
    AXE_PATH,
    AXE_V2_PATH,
    AXYB_PATH,
    PrivateNumberClient,
)
from toolkit.config import Settings
from toolkit.errors import (
    AlreadyBoundError,
    ApiError,
    AuthError,
    NoFreeNumberError,
    ResponseError,
    TransportError,
    ValidationError,
)
from toolkit.record import Record

A, B, X, Y = "+8613800138000", "+8613900139000", "+8617000000003", "+8617100000004"
RECORD_PATH = "/rest/provision/voice/record/v1.0"
STOP_PATH = "/rest/httpsessions/callStop/v2.0"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A fake platform; requests to URLs not registered on it fail with ConnectionError."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def pn() -> PrivateNumberClient:
    return PrivateNumberClient(Settings(BASE, KEY, SECRET))


Op = Callable[[PrivateNumberClient], Record]

# (operation, HTTP method, path, expected query, expected JSON body). Numbers are typed the way
# people type them, so the expected values also check normalisation.
CASES: list[Any] = [
    pytest.param(
        lambda c: c.axb.bind(
            "138 0013 8000", "+86 139-0013-9000", relation_num="17000000003", area_code="0755",
            area_match_mode=1, call_direction=0, duration=86400, max_duration=30,
            last_min_voice="last.wav", record_flag=True, record_hint_tone="rec.wav",
            private_sms=False, caller_hint_tone="a.wav", callee_hint_tone="b.wav",
            user_data="order-123",
        ),
        "POST", AXB_PATH, {},
        {"callerNum": A, "calleeNum": B, "relationNum": X, "areaCode": "0755",
         "areaMatchMode": "1", "callDirection": 0, "duration": 86400, "maxDuration": 30,
         "lastMinVoice": "last.wav", "recordFlag": "true", "recordHintTone": "rec.wav",
         "privateSms": "false", "preVoice": {"callerHintTone": "a.wav", "calleeHintTone": "b.wav"},
         "userData": "order-123"},
        id="AXB-1 bind",
    ),
    pytest.param(
        lambda c: c.axb.unbind("sub-1"), "DELETE", AXB_PATH, {"subscriptionId": "sub-1"}, None,
        id="AXB-2 unbind by id",
    ),
    pytest.param(
        lambda c: c.axb.unbind(relation_num=X), "DELETE", AXB_PATH, {"relationNum": X}, None,
        id="AXB-2 unbind by X",
    ),
    pytest.param(
        lambda c: c.axb.modify(
            "sub-1", callee_num="13900139000", call_direction=2, duration=60, max_duration=0,
            record_flag=False, private_sms=True, callee_hint_tone="b.wav", user_data="u",
        ),
        "PUT", AXB_PATH, {},
        {"subscriptionId": "sub-1", "calleeNum": B, "callDirection": 2, "duration": 60,
         "maxDuration": 0, "recordFlag": "false", "privateSms": "true",
         "preVoice": {"calleeHintTone": "b.wav"}, "userData": "u"},
        id="AXB-3 modify",
    ),
    pytest.param(
        lambda c: c.axb.query(relation_num=X, caller_num=A, page_index=2, page_size=20),
        "GET", AXB_PATH,
        {"relationNum": X, "callerNum": A, "pageIndex": "2", "pageSize": "20"}, None,
        id="AXB-4 query",
    ),
    pytest.param(
        lambda c: c.ax.bind(
            "13800138000", area_code="0755", area_match_mode="0", callee_num_display=0,
            call_direction=1, turn_flag="on", max_duration=5, record_flag=True,
            private_sms=True, caller_hint_tone="a.wav", user_data="agent-7",
        ),
        "POST", AX_PATH, {},
        {"origNum": A, "areaCode": "0755", "privateNumType": "mobile-virtual",
         "areaMatchMode": "0", "calleeNumDisplay": "0", "callDirection": 1, "turnFlag": "on",
         "maxDuration": 5, "recordFlag": "true", "privateSms": "true",
         "preVoice": {"callerHintTone": "a.wav"}, "userData": "agent-7"},
        id="AX-1 bind by area",
    ),
    pytest.param(
        lambda c: c.ax.bind(A, private_num=X), "POST", AX_PATH, {},
        {"origNum": A, "privateNum": X}, id="AX-1 bind to X",
    ),
    pytest.param(
        lambda c: c.ax.unbind(private_num=X, orig_num=A), "DELETE", AX_PATH,
        {"privateNum": X, "origNum": A}, None, id="AX-2 unbind",
    ),
    pytest.param(
        lambda c: c.ax.modify(
            "sub-2", turn_flag="off", callee_num_display="1", last_min_voice="l.wav",
            max_duration=10,
        ),
        "PUT", AX_PATH, {},
        {"subscriptionId": "sub-2", "turnFlag": "off", "calleeNumDisplay": "1",
         "lastMinVoice": "l.wav", "maxDuration": 10},
        id="AX-3 modify",
    ),
    pytest.param(
        lambda c: c.ax.query(orig_num=A), "GET", AX_PATH, {"origNum": A}, None, id="AX-4 query",
    ),
    pytest.param(
        lambda c: c.ax.set_callee("4001234567", private_num=X, duration=600, user_data="t"),
        "PUT", AX_CALLEE_PATH, {},
        {"calleeNum": "+864001234567", "privateNum": X, "duration": 600, "userData": "t"},
        id="AX-5 set temporary callee (400 number allowed)",
    ),
    pytest.param(
        lambda c: c.axe.bind(
            A, virtual_num=X, area_match_mode=1, extend_num="0012", display_num_mode=1,
            record_flag=True, record_hint_tone="r.wav", callback_num="0755 2800 0001",
            time_unit=1, bind_expired_time=120, callback_expired_time=30, user_data="parcel",
        ),
        "POST", AXE_PATH, {},
        {"bindNum": A, "virtualNum": X, "areaMatchMode": "1", "extendNum": "0012",
         "displayNumMode": "1", "recordFlag": "true", "recordHintTone": "r.wav",
         "callbackNum": "+8675528000001", "timeUnit": "1", "bindExpiredTime": 120,
         "callbackExpiredTime": 30, "userData": "parcel"},
        id="AXE-1 bind",
    ),
    pytest.param(
        lambda c: c.axe.unbind(virtual_num=X, extend_num=12), "DELETE", AXE_PATH,
        {"virtualNum": X, "extendNum": "12"}, None, id="AXE-2 unbind",
    ),
    pytest.param(
        lambda c: c.axe.modify("sub-3", callback_tone="none.wav", display_num_mode="0"),
        "PUT", AXE_PATH, {},
        {"subscriptionId": "sub-3", "callbackTone": "none.wav", "displayNumMode": "0"},
        id="AXE-3 modify",
    ),
    pytest.param(
        lambda c: c.axe.query("sub-3"), "GET", AXE_PATH, {"subscriptionId": "sub-3"}, None,
        id="AXE-4 query v1",
    ),
    pytest.param(
        lambda c: c.axe.query_v2(X, limit=50), "GET", AXE_V2_PATH,
        {"virtualNum": X, "cursor": "0000000000000_0", "limit": "50"}, None,
        id="AXE-5 query v2",
    ),
    pytest.param(
        lambda c: c.axyb.bind_ax(
            A, area_code="010", area_match_mode=1, call_direction=2, duration=7200,
            record_flag=False, pre_voice_x={"callerHintTone": "x.wav"}, user_data="trip",
        ),
        "POST", AXYB_PATH, {"app_key": KEY},
        {"origNum": A, "areaCode": "010", "areaMatchMode": "1", "callDirection": 2,
         "duration": 7200, "recordFlag": "false", "preVoiceX": {"callerHintTone": "x.wav"},
         "userData": "trip"},
        id="AXYB-1 bind AX step",
    ),
    pytest.param(
        lambda c: c.axyb.bind_yb("sub-4", B, area_code="010", yb_duration=0, pre_voice_y="y.wav"),
        "POST", AXYB_PATH, {"app_key": KEY},
        {"subscriptionId": "sub-4", "origNum": B, "areaCode": "010", "ybDuration": 0,
         "preVoiceY": "y.wav"},
        id="AXYB-1 bind YB step",
    ),
    pytest.param(
        lambda c: c.axyb.unbind("sub-4"), "DELETE", AXYB_PATH,
        {"subscriptionId": "sub-4", "app_key": KEY}, None, id="AXYB-2 unbind",
    ),
    pytest.param(
        lambda c: c.axyb.unbind_yb(b_num=B), "DELETE", AXYB_PATH,
        {"bNum": B, "app_key": KEY}, None, id="AXYB-2 unbind YB only",
    ),
    pytest.param(
        lambda c: c.axyb.query(relation_num=X), "GET", AXYB_PATH,
        {"relationNum": X, "app_key": KEY}, None, id="AXYB-3 query",
    ),
    pytest.param(
        lambda c: c.stop_call("1202_566_0@callenabler"), "POST", STOP_PATH, {},
        {"sessionid": "1202_566_0@callenabler", "signal": "call_stop"}, id="C-2 stop call",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("op", "method", "path", "query", "body"), CASES)
def test_operation_on_the_wire(
    pn: PrivateNumberClient,
    rsps: responses.RequestsMock,
    op: Op,
    method: str,
    path: str,
    query: dict[str, str],
    body: dict[str, Any] | None,
) -> None:
    # Every field some operation documents in its answer (binds check theirs).
    answer(rsps, method, path, subscriptionId="s", relationNum=X, origNum=A, privateNum=X,
           relationNumber=X)  # fmt: skip
    result = op(pn)
    request = only_call(rsps)  # also checks the signature and the JSON headers
    assert (request.method, request.path) == (method, path)
    assert request.query == query
    assert request.body == body
    assert "+" not in request.raw_query  # a literal + would arrive as a space
    assert request.raw_query.count("%2B") == sum(v.startswith("+") for v in query.values())
    assert isinstance(result, Record) and result.subscription_id == "s"


def test_every_operation_has_a_wire_test() -> None:
    covered = {p.id.split()[0] for p in CASES}
    table = {f"AXB-{i}" for i in range(1, 5)} | {f"AX-{i}" for i in range(1, 6)}
    table |= {f"AXE-{i}" for i in range(1, 6)} | {f"AXYB-{i}" for i in range(1, 4)} | {"C-2"}
    assert table <= covered  # C-1 (record_url) has its own tests below


def test_timeout_and_auth_are_on_by_default(rsps: responses.RequestsMock) -> None:
    client = PrivateNumberClient(Settings(BASE, KEY, SECRET, timeout=3.5))
    answer(rsps, "GET", AXB_PATH)
    client.axb.query("sub")
    request = only_call(rsps)
    assert request.kwargs["timeout"] == 3.5
    assert request.headers["Authorization"].startswith('AKSK realm="SDP"')
    assert "X-AKSK" in request.headers and "X-WSSE" not in request.headers


def test_legacy_wsse_scheme(rsps: responses.RequestsMock) -> None:
    client = PrivateNumberClient(Settings(BASE, KEY, SECRET, auth_scheme="wsse"))
    answer(rsps, "DELETE", AXB_PATH)
    client.axb.unbind("sub")
    request = only_call(rsps)
    assert request.headers["Authorization"].startswith("WSSE ")
    assert "X-WSSE" in request.headers and "X-AKSK" not in request.headers
    assert rsps.calls[0].request.headers["X-WSSE"].count(f'Username="{KEY}"') == 1


def test_each_request_gets_a_fresh_nonce(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    answer(rsps, "GET", AXB_PATH)
    pn.axb.query("a")
    pn.axb.query("b")
    tokens = [c.request.headers["X-AKSK"] for c in rsps.calls]
    assert tokens[0] != tokens[1]


# -- answers and failures -------------------------------------------------------------------


def test_already_bound_maps_to_its_own_class_with_a_hint(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        "POST",
        BASE + AXB_PATH,
        status=403,
        json={"resultcode": "1012010", "resultdesc": "The relation number has been bound."},
    )
    with pytest.raises(AlreadyBoundError) as caught:
        pn.axb.bind(A, B, relation_num=X)
    err = caught.value
    assert (err.resultcode, err.status, err.product) == ("1012010", 403, "privatenumber")
    assert err.resultdesc == "The relation number has been bound."
    assert err.hint and err.hint in str(err)


def test_no_free_number(pn: PrivateNumberClient, rsps: responses.RequestsMock) -> None:
    rsps.add(
        "POST",
        BASE + AXE_PATH,
        status=500,
        json={"resultcode": "1020167", "resultdesc": "No idle extend Number."},
    )
    with pytest.raises(NoFreeNumberError):
        pn.axe.bind(A, virtual_num=X)


@pytest.mark.parametrize("code", ["1010013", "1010010", "1099999"])
def test_http_401_is_an_auth_error(
    pn: PrivateNumberClient, rsps: responses.RequestsMock, code: str
) -> None:
    rsps.add("GET", BASE + AX_PATH, status=401, json={"resultcode": code, "resultdesc": "no"})
    with pytest.raises(AuthError) as caught:
        pn.ax.query("sub")
    assert caught.value.status == 401


def test_unknown_code_is_a_plain_api_error(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", BASE + AX_PATH, status=403, json={"resultcode": 1012345, "resultdesc": "?"})
    with pytest.raises(ApiError) as caught:
        pn.ax.query("sub")
    assert type(caught.value) is ApiError and caught.value.resultcode == "1012345"


def test_numeric_zero_resultcode_is_success(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", BASE + AX_PATH, json={"resultcode": 0, "privateNumList": []})
    assert pn.ax.query("sub").private_num_list == []


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (502, "<html>Bad Gateway</html>", "text/html"),
        (200, '{"resultcode":"0","resultdesc":"Succ', "application/json"),  # truncated
        (200, "[1, 2]", "application/json"),  # JSON, but not the envelope
        (404, "", "text/plain"),
    ],
)
def test_non_json_answers_raise_response_error_with_status(
    pn: PrivateNumberClient, rsps: responses.RequestsMock, status: int, body: str, content_type: str
) -> None:
    rsps.add("GET", BASE + AXB_PATH, status=status, body=body, content_type=content_type)
    with pytest.raises(ResponseError) as caught:
        pn.axb.query(relation_num=X)
    assert caught.value.status == status
    assert f"HTTP {status}" in str(caught.value)
    assert caught.value.url == BASE + AXB_PATH  # the query (phone numbers) is not repeated


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_a_transport_error_without_secret_or_numbers() -> None:
    base = f"http://127.0.0.1:{_closed_port()}"
    client = PrivateNumberClient(Settings(base, KEY, SECRET, timeout=2))
    with pytest.raises(TransportError) as caught:
        client.axb.query(relation_num=X)
    err = caught.value
    assert err.url == base + AXB_PATH
    assert SECRET not in err.url and SECRET not in str(err)
    assert "8617000000003" not in str(err)  # requests quotes the query; we hide it
    assert "ConnectionError" in str(err)


def test_timeout_is_a_transport_error(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", BASE + AXB_PATH, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TransportError, match="ReadTimeout"):
        pn.axb.query("sub")


def test_repr_shows_url_and_key_never_the_secret(pn: PrivateNumberClient) -> None:
    for text in (repr(pn), str(pn), repr(pn.axb), repr(pn.settings), repr(pn.session.auth)):
        assert SECRET not in text
    assert repr(pn) == f"PrivateNumberClient(base_url='{BASE}', app_key='{KEY}')"


def test_injected_session_is_used_and_left_open() -> None:
    session = requests.Session()
    with responses.RequestsMock() as mock:
        mock.add("GET", BASE + AX_PATH, json=OK)
        with PrivateNumberClient(Settings(BASE, KEY, SECRET), session=session) as client:
            assert client.session is session
            client.ax.query("sub")
    assert session.adapters  # close() would have emptied the adapter map


def test_settings_come_from_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRIVATENUMBER_AUTH_SCHEME", raising=False)
    client = PrivateNumberClient(base_url=BASE, app_key=KEY, app_secret=SECRET, auth_scheme="wsse")
    assert client.settings.auth_scheme == "wsse" and client.settings.base_url == BASE


# -- recording URL (C-1) ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302])
def test_record_url_returns_location_without_following(
    pn: PrivateNumberClient, rsps: responses.RequestsMock, status: int
) -> None:
    target = "https://ostor.example/rec/1.wav?sig=abc"
    rsps.add("GET", BASE + RECORD_PATH, status=status, headers={"Location": target})
    # If the redirect were followed, this unregistered URL would raise ConnectionError.
    assert pn.record_url("ostor.huawei.com", "1901.wav") == target
    request = only_call(rsps)
    assert request.query == {"recordDomain": "ostor.huawei.com", "fileName": "1901.wav"}


def test_record_url_error_is_json(pn: PrivateNumberClient, rsps: responses.RequestsMock) -> None:
    rsps.add(
        "GET",
        BASE + RECORD_PATH,
        status=403,
        json={"resultcode": "1012007", "resultdesc": "The record does not exist."},
    )
    with pytest.raises(ApiError, match="1012007"):
        pn.record_url("ostor.huawei.com", "missing.wav")


def test_redirect_without_location_is_a_response_error(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", BASE + RECORD_PATH, status=301)
    with pytest.raises(ResponseError, match="Location") as caught:
        pn.record_url("ostor.huawei.com", "x.wav")
    assert caught.value.status == 301


def test_record_url_without_redirect_is_a_response_error(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", BASE + RECORD_PATH, json=OK)
    with pytest.raises(ResponseError, match="redirect"):
        pn.record_url("ostor.huawei.com", "x.wav")


# -- paging helpers ---------------------------------------------------------------------------


def test_axb_iter_bindings_pages_until_total(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    pages = [[{"subscriptionId": f"s{i}"} for i in range(start, start + 10)] for start in (0, 10)]
    pages.append([{"subscriptionId": "s20"}])
    for page in pages:
        rsps.add("GET", BASE + AXB_PATH, json={**OK, "totalCount": 21, "relationNumList": page})
    ids = [r.subscription_id for r in pn.axb.iter_bindings("170 0000 0003", page_size=10)]
    assert ids == [f"s{i}" for i in range(21)]
    assert [sent(c).query["pageIndex"] for c in rsps.calls] == ["1", "2", "3"]
    assert all(sent(c).query["relationNum"] == X for c in rsps.calls)


def test_axb_iter_bindings_of_an_empty_x(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    not_found = {"resultcode": "1012007", "resultdesc": "The record does not exist."}
    rsps.add("GET", BASE + AXB_PATH, status=403, json=not_found)
    assert list(pn.axb.iter_bindings(X)) == []


@pytest.mark.parametrize("field", ["nextCusor", "nextCursor"])
def test_axe_iter_bindings_follows_cursor_in_either_spelling(
    pn: PrivateNumberClient, rsps: responses.RequestsMock, field: str
) -> None:
    first = [{"extendNum": "1"}, {"extendNum": "2"}]
    rsps.add("GET", BASE + AXE_V2_PATH, json={**OK, field: "1700000000000_2", "bindList": first})
    rsps.add("GET", BASE + AXE_V2_PATH, json={**OK, field: "", "bindList": [{"extendNum": "3"}]})
    assert [r.extend_num for r in pn.axe.iter_bindings(X, limit=2)] == ["1", "2", "3"]
    cursors = [sent(c).query["cursor"] for c in rsps.calls]
    assert cursors == ["0000000000000_0", "1700000000000_2"]
    assert all(sent(c).query["limit"] == "2" for c in rsps.calls)


def test_axe_iter_bindings_stops_on_a_repeated_cursor(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    same = {**OK, "nextCusor": "1700000000000_2", "list": [{"extendNum": "1"}]}
    rsps.add("GET", BASE + AXE_V2_PATH, json=same)
    assert len(list(pn.axe.iter_bindings(X))) == 2  # first page, then the repeat ends it
    assert len(rsps.calls) == 2


# -- validation before any HTTP call ----------------------------------------------------------

BAD: list[Any] = [
    (lambda c: c.axb.bind(A, B, max_duration=1441), "max_duration"),
    (lambda c: c.axb.bind(A, B, max_duration=-1), "max_duration"),
    (lambda c: c.axb.bind(A, B, duration=7_776_001), "duration"),
    (lambda c: c.axb.modify("s", duration="60"), "duration"),
    (lambda c: c.axb.bind(A, B, call_direction=3), "call_direction"),
    (lambda c: c.axb.bind(A, B, call_direction=True), "call_direction"),
    (lambda c: c.axb.bind(A, B, area_match_mode=2), "area_match_mode"),
    (lambda c: c.axb.bind(A, B, record_flag="yes"), "record_flag"),
    (lambda c: c.axb.bind(A, B, user_data="x" * 257), "user_data"),
    (lambda c: c.axb.bind(A, B, user_data="{json}"), "user_data"),
    (lambda c: c.axb.bind(A, B, user_data="订单"), "user_data"),
    (lambda c: c.axb.bind("12345", B), "caller_num"),
    (lambda c: c.axb.bind(A, "95588"), "callee_num"),
    (lambda c: c.axb.bind(A, B, area_code="shenzhen"), "area_code"),
    (lambda c: c.axb.unbind(), "subscription_id"),
    (lambda c: c.axb.query(relation_num=X, page_size=5), "page_size"),
    (lambda c: c.axb.query(relation_num=X, page_size=101), "page_size"),
    (lambda c: c.axb.iter_bindings(X, page_size=500), "page_size"),
    (lambda c: c.axb.iter_bindings("170"), "relation_num"),
    (lambda c: c.axe.iter_bindings(X, limit=-1), "limit"),
    (lambda c: c.ax.bind(A), "private_num"),
    (lambda c: c.ax.bind(A, private_num=X, turn_flag="maybe"), "turn_flag"),
    (lambda c: c.ax.bind(A, private_num=X, callee_num_display=2), "callee_num_display"),
    (lambda c: c.ax.set_callee("abc", private_num=X), "callee_num"),
    (lambda c: c.ax.set_callee(B), "subscription_id"),
    (lambda c: c.ax.query(), "subscription_id"),
    (lambda c: c.axe.bind(A, virtual_num=X, callback_tone="t.wav", callback_num=B), "callback_num"),
    (lambda c: c.axe.modify("s", callback_tone="t.wav", callback_num=B), "callback_num"),
    (lambda c: c.axe.bind(A, virtual_num=X, extend_num="12345"), "extend_num"),
    (lambda c: c.axe.bind(A, virtual_num=X, extend_num="1a"), "extend_num"),
    (lambda c: c.axe.bind(A, virtual_num=X, time_unit=2), "time_unit"),
    (lambda c: c.axe.bind(A), "virtual_num"),
    (lambda c: c.axe.unbind(virtual_num=X), "subscription_id"),
    (lambda c: c.axe.query(extend_num="1"), "subscription_id"),
    (lambda c: c.axe.query_v2(X, cursor="page-2"), "cursor"),
    (lambda c: c.axe.query_v2(X, limit=0), "limit"),
    (lambda c: c.axe.query_v2(), "virtual_num"),
    (lambda c: c.axyb.bind_ax(A, duration=59), "duration"),
    (lambda c: c.axyb.bind_ax(A, duration=7_776_001), "duration"),
    (lambda c: c.axyb.bind_ax(A, pre_voice_x=3), "pre_voice_x"),
    (lambda c: c.axyb.unbind_yb(), "y_num"),
    (lambda c: c.axyb.query(), "subscription_id"),
    (lambda c: c.stop_call(""), "session_id"),
    (lambda c: c.record_url("", "x.wav"), "record_domain"),
]


@pytest.mark.parametrize(("op", "param"), BAD)
def test_bad_input_fails_before_any_request(
    pn: PrivateNumberClient, rsps: responses.RequestsMock, op: Op, param: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        op(pn)  # the iterators too check their arguments when created, not when iterated
    assert caught.value.param == param
    assert str(caught.value).startswith(f"{param}: ")
    assert len(rsps.calls) == 0


def test_axyb_accepts_duration_zero(pn: PrivateNumberClient, rsps: responses.RequestsMock) -> None:
    answer(rsps, "POST", AXYB_PATH, subscriptionId="s", relationNumber=X)
    pn.axyb.bind_ax(A, duration=0)
    assert only_call(rsps).body == {"origNum": A, "duration": 0}


def test_unknown_option_raises_type_error_naming_it(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    with pytest.raises(TypeError, match="max_durration"):
        pn.axb.bind(A, B, max_durration=5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="callback_tone"):
        pn.axb.bind(A, B, callback_tone="x.wav")  # type: ignore[call-arg]
    assert len(rsps.calls) == 0


PROMISES = [
    pytest.param(lambda c: c.axb.bind(A, B), AXB_PATH,
                 {"subscriptionId": "s", "relationNum": X}, id="AXB bind"),
    pytest.param(lambda c: c.ax.bind(A, private_num=X), AX_PATH,
                 {"subscriptionId": "s", "origNum": A, "privateNum": X}, id="AX bind"),
    pytest.param(lambda c: c.axe.bind(A, virtual_num=X), AXE_PATH,
                 {"subscriptionId": "s"}, id="AXE bind"),
    pytest.param(lambda c: c.axyb.bind_ax(A), AXYB_PATH,
                 {"subscriptionId": "s", "relationNumber": X}, id="AXYB bind AX"),
    pytest.param(lambda c: c.axyb.bind_yb("s", B), AXYB_PATH,
                 {"relationNumber": Y}, id="AXYB bind YB"),
]  # fmt: skip


@pytest.mark.parametrize(("op", "path", "fields"), PROMISES)
def test_binds_check_the_fields_they_promise(
    pn: PrivateNumberClient,
    rsps: responses.RequestsMock,
    op: Op,
    path: str,
    fields: dict[str, str],
) -> None:
    rsps.upsert("POST", BASE + path, json={**OK, **fields})
    assert op(pn).raw == {**OK, **fields}
    for name in fields:
        for gap in ({k: v for k, v in fields.items() if k != name}, {**fields, name: ""}):
            rsps.upsert("POST", BASE + path, json={**OK, **gap})
            with pytest.raises(ResponseError, match=f"missing field {name}$") as caught:
                op(pn)
            assert caught.value.status == 200


def test_result_masks_numbers_in_repr(
    pn: PrivateNumberClient, rsps: responses.RequestsMock
) -> None:
    answer(rsps, "POST", AXB_PATH, subscriptionId="s", relationNum=X)
    result = pn.axb.bind(A, B)
    assert X not in repr(result) and result.relation_num == X


class _Capture(requests.adapters.BaseAdapter):
    """An adapter that records what the session hands it and answers success."""

    def __init__(self) -> None:
        super().__init__()
        self.sends: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sends.append(kwargs)
        response = requests.Response()
        response.status_code, response._content = 200, b'{"resultcode":"0","resultdesc":"Success"}'
        response.request, response.url = request, request.url
        return response

    def close(self) -> None:
        pass


def test_proxies_from_the_environment_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    # The transport resolves the environment once per client instead of on every request.
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    session = requests.Session()
    capture = _Capture()
    session.mount("https://", capture)
    client = PrivateNumberClient(base_url=BASE, app_key=KEY, app_secret=SECRET, session=session)
    client.axb.unbind("sub-1")
    client.axb.unbind("sub-2")
    assert [s["proxies"].get("https") for s in capture.sends] == ["http://proxy.example:3128"] * 2
    assert all(s["timeout"] == client.settings.timeout for s in capture.sends)
