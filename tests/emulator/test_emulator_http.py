"""The emulator's HTTP surface with raw signed requests: routes, auth codes, bad input, the
recording redirect, control endpoints, and a hypothesis fuzz that never gets a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.auth import format_created, sign_headers
from toolkit.emulator import Emulator
from toolkit.emulator.app import MAX_BODY, ROUTES

A, B = "+8613800000001", "+8613900000002"
AXB = "/rest/caas/relationnumber/partners/v1.0"


class Raw:
    """Signed raw requests against an emulator (in-process or over HTTP)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu, self.session = emu, emu.session()

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        scheme: str = "aksk",
        signed: bool = True,
        **kw: Any,
    ) -> requests.Response:
        h = {"Content-Type": "application/json;charset=UTF-8"}
        if signed:
            h.update(sign_headers(self.emu.app_key, self.emu.app_secret, scheme))  # type: ignore[arg-type]
        h.update(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
        return self.session.request(
            method,
            self.emu.url + path,
            data=data,
            params=params,
            headers=h,
            allow_redirects=False,
            **kw,
        )


@pytest.fixture
def raw(any_emulator: Emulator) -> Raw:
    return Raw(any_emulator)


def test_bind_query_unbind_over_the_wire(raw: Raw) -> None:
    r = raw.send("POST", AXB, body={"callerNum": A, "calleeNum": B})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    sid = r.json()["subscriptionId"]
    q = raw.send("GET", AXB, params={"subscriptionId": sid})
    assert q.json()["relationNumList"][0]["callerNum"] == A
    # "+" sent unencoded arrives as a space; the emulator reads it as the "+" meant
    x = r.json()["relationNum"]
    q2 = raw.send("GET", AXB + "?relationNum=" + x)
    assert q2.json()["totalCount"] == 1
    assert raw.send("DELETE", AXB, params={"subscriptionId": sid}).json()["resultcode"] == "0"
    gone = raw.send("DELETE", AXB, params={"subscriptionId": sid})
    assert (gone.status_code, gone.json()["resultcode"]) == (403, "1012007")


def test_legacy_wsse_signature_is_accepted(raw: Raw) -> None:
    r = raw.send("POST", AXB, body={"callerNum": A, "calleeNum": B}, scheme="wsse")
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Authorization": ""}, 400, "1023006"),
        ({"Authorization": 'AKSK profile="UsernameToken",type="Appkey"'}, 400, "1023007"),
        ({"Authorization": 'AKSK realm="X",profile="UsernameToken",type="Appkey"'}, 400, "1023009"),
        (
            {"Authorization": 'AKSK realm="SDP",profile="UsernameToken",type="Other"'},
            400,
            "1023011",
        ),
        ({"X-AKSK": ""}, 400, "1023033"),
        (
            {"X-AKSK": 'UsernameToken Username="k",Nonce="abc",Created="2024-01-01T00:00:00Z"'},
            400,
            "1023037",
        ),
    ],
)
def test_header_errors(raw: Raw, headers: dict[str, str], status: int, code: str) -> None:
    r = raw.send("GET", AXB, params={"subscriptionId": "x"}, headers=headers)
    assert (r.status_code, r.json()["resultcode"]) == (status, code)


def test_bad_digest_stale_created_and_unknown_key(raw: Raw, any_emulator: Emulator) -> None:
    bad = sign_headers(any_emulator.app_key, "wrong-secret")
    r = raw.send("GET", AXB, params={"subscriptionId": "x"}, headers=bad)
    assert (r.status_code, r.json()["resultcode"]) == (401, "1010010")
    import time

    stale = sign_headers(
        any_emulator.app_key, any_emulator.app_secret, created=format_created(time.time() - 3600)
    )
    r = raw.send("GET", AXB, params={"subscriptionId": "x"}, headers=stale)
    assert (r.status_code, r.json()["resultcode"]) == (401, "1010013")
    r = raw.send("GET", AXB, params={"subscriptionId": "x"}, headers=sign_headers("nokey", "s"))
    assert (r.status_code, r.json()["resultcode"]) == (403, "1010003")


def test_replayed_nonce_is_refused(raw: Raw, any_emulator: Emulator) -> None:
    fixed = sign_headers(any_emulator.app_key, any_emulator.app_secret, nonce="ABC123")
    assert (
        raw.send("POST", AXB, body={"callerNum": A, "calleeNum": B}, headers=fixed).status_code
        == 200
    )
    again = raw.send("GET", AXB, params={"subscriptionId": "x"}, headers=fixed)
    assert again.status_code == 401


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"not json", 400),
        (b"[1, 2]", 400),
        (b"", 400),
        (b"\xff\xfe", 400),
        (b'"text"', 400),
        (b"{" + b" " * (MAX_BODY + 10) + b"}", 413),
    ],
)
def test_malformed_bodies(raw: Raw, data: bytes, status: int) -> None:
    r = raw.send("POST", AXB, data=data)
    assert (r.status_code, r.json()["resultcode"]) == (status, "1010002")


def test_wrong_types_name_the_field(raw: Raw) -> None:
    r = raw.send("POST", AXB, body={"callerNum": A, "calleeNum": B, "maxDuration": [1]})
    assert (r.status_code, r.json()["resultdesc"]) == (403, "Invalid request.maxDuration")


def test_unknown_path_and_method(raw: Raw) -> None:
    r = raw.send("GET", "/rest/nothing/here")
    assert (r.status_code, r.json()["resultcode"]) == (404, "1010006")
    r = raw.send("PATCH", AXB, body={})
    assert (r.status_code, r.json()["resultcode"]) == (405, "1010006")
    assert raw.send("GET", "/_emulator/nothing", signed=False).status_code == 404


def test_wrong_mode_answer(raw: Raw) -> None:
    r = raw.send("POST", "/rest/caas/extendnumber/v1.0", body={"bindNum": A, "areaCode": "0755"})
    assert (r.status_code, r.json()["resultcode"]) == (403, "1010040")


def test_recording_redirect_and_file(raw: Raw, any_emulator: Emulator) -> None:
    x = raw.send("POST", AXB, body={"callerNum": A, "calleeNum": B, "recordFlag": "true"}).json()[
        "relationNum"
    ]
    placed = any_emulator.place_call(A, x, outcome="answered", talk_seconds=30)
    cdr = any_emulator.cdr(placed["sessionId"])
    r = raw.send(
        "GET",
        "/rest/provision/voice/record/v1.0",
        params={"fileName": cdr["recordObjectName"], "recordDomain": cdr["recordDomain"]},
    )
    assert r.status_code == 301 and r.content == b""
    wav = raw.session.get(r.headers["Location"])
    assert wav.headers["Content-Type"] == "audio/wav"
    assert wav.content[:4] == b"RIFF" and wav.content[8:12] == b"WAVE"
    assert int.from_bytes(wav.content[20:22], "little") == 6  # A-law
    assert int.from_bytes(wav.content[24:28], "little") == 8000
    missing = raw.send(
        "GET",
        "/rest/provision/voice/record/v1.0",
        params={"fileName": "nope.wav", "recordDomain": cdr["recordDomain"]},
    )
    assert (missing.status_code, missing.json()["resultcode"]) == (403, "1012007")


def test_control_endpoints(raw: Raw, any_emulator: Emulator) -> None:
    x = raw.send("POST", AXB, body={"callerNum": A, "calleeNum": B}).json()["relationNum"]
    placed = raw.send(
        "POST", "/_emulator/calls", signed=False, body={"caller": A, "called": x, "outcome": "busy"}
    ).json()
    assert placed["releaseCode"] == 8102 and placed["sessionId"]
    sim = raw.send("POST", "/_emulator/simulate", signed=False, body={"calls": 20, "seed": 4})
    assert len(sim.json()["calls"]) == 20
    health = raw.send("GET", "/_emulator/health", signed=False).json()
    assert health["status"] == "ok" and health["calls"] == 21 and health["bindings"] == 1
    assert len(raw.send("GET", "/_emulator/bindings", signed=False).json()["bindings"]) == 1
    assert len(raw.send("GET", "/_emulator/calls", signed=False).json()["calls"]) == 21
    assert raw.send("GET", "/_emulator/deliveries", signed=False).json() == {"deliveries": []}
    apps = raw.send("GET", "/_emulator/apps", signed=False).json()["apps"]
    assert "appSecret" not in json.dumps(apps) and any_emulator.app_secret not in json.dumps(apps)
    bad = raw.send(
        "POST",
        "/_emulator/calls",
        signed=False,
        body={"caller": A, "called": x, "outcome": "sleepy"},
    )
    assert bad.status_code == 400 and "outcome" in bad.json()["resultdesc"]
    assert raw.send("POST", "/_emulator/calls", signed=False, body={"caller": A}).status_code == 400
    assert raw.send("POST", "/_emulator/reset", signed=False).json() == {"status": "ok"}
    assert raw.send("GET", "/_emulator/health", signed=False).json()["bindings"] == 0


def test_control_call_reads_a_number_as_the_client_does(raw: Raw) -> None:
    x = raw.send("POST", AXB, body={"callerNum": A, "calleeNum": B}).json()["relationNum"]
    for caller in ("13800000001", "138 0000 0001", "+86 138 0000 0001"):
        r = raw.send(
            "POST",
            "/_emulator/calls",
            signed=False,
            body={"caller": caller, "called": x, "outcome": "busy"},
        )
        assert (r.status_code, r.json()["releaseCode"]) == (200, 8102)
    bad = raw.send("POST", "/_emulator/calls", signed=False, body={"caller": "12", "called": x})
    assert bad.status_code == 400 and "caller" in bad.json()["resultdesc"]


@pytest.mark.parametrize("number", [[1], {"n": 1}, 8613800000001, None])
def test_number_status_control_refuses_a_number_that_is_not_text(raw: Raw, number: object) -> None:
    # A list or object used to reach a dict lookup and answer 500 with an internal error.
    r = raw.send(
        "POST", "/_emulator/numbers/status", signed=False, body={"number": number, "status": "5"}
    )
    assert (r.status_code, r.json()["resultdesc"]) == (400, "number must be a string")


def test_sms_control_names_the_field_that_is_not_text(raw: Raw) -> None:
    r = raw.send(
        "POST", "/_emulator/sms", signed=False, body={"sender": A, "to": [1], "text": "hi"}
    )
    assert (r.status_code, r.json()["resultdesc"]) == (400, "to must be a string")


def test_stop_call_accepts_both_spellings(raw: Raw, any_emulator: Emulator) -> None:
    r = raw.send(
        "POST",
        "/rest/httpsessions/callStop/v2.0",
        body={"sessionId": "nope", "signal": "call_stop"},
    )
    assert (r.status_code, r.json()["resultcode"]) == (403, "1012007")
    r = raw.send(
        "POST", "/rest/httpsessions/callStop/v2.0", body={"sessionid": "x", "signal": "stop"}
    )
    assert r.json()["resultdesc"].startswith("Invalid request.signal")


_PATHS = sorted(
    {path for _, path in ROUTES}
    | {"/_emulator/calls", "/_emulator/simulate", "/_emulator/sms", "/_emulator/numbers/status"}
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_field_names = st.sampled_from(
    [
        "callerNum",
        "calleeNum",
        "relationNum",
        "duration",
        "maxDuration",
        "subscriptionId",
        "origNum",
        "privateNum",
        "bindNum",
        "extendNum",
        "virtualNum",
        "areaCode",
        "callDirection",
        "recordFlag",
        "userData",
        "preVoice",
        "sessionid",
        "signal",
        "playInfoList",
        "caller",
        "called",
        "calls",
        "seed",
        "outcome",
        "cursor",
        "limit",
        "fileName",
        "recordDomain",
        "displayNbr",
        "calleeNbr",
        "number",
        "status",
    ]
)


@pytest.fixture(scope="module")
def fuzz_target() -> Any:
    emu = Emulator("axb", time_scale=0, seed=1)
    for mode in ("ax", "axe", "axyb", "voice"):
        emu.add_app(mode)
    yield emu, Raw(emu)
    emu.stop()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path=st.sampled_from(_PATHS),
    body=st.one_of(
        st.binary(max_size=64),
        st.dictionaries(_field_names, _json_values, max_size=6).map(
            lambda d: json.dumps(d).encode()
        ),
    ),
    query=st.dictionaries(_field_names, st.text(max_size=16), max_size=4),
    app_index=st.integers(0, 4),
)
def test_fuzz_never_500(
    fuzz_target: Any, method: str, path: str, body: bytes, query: dict[str, str], app_index: int
) -> None:
    emu, raw = fuzz_target
    app = list(emu.backend.apps.values())[app_index]
    headers = sign_headers(app.app_key, app.app_secret)
    r = raw.send(method, path, data=body, params=query, headers=headers, signed=False)
    assert r.status_code in (200, 301, 400, 401, 403, 404, 405, 413), r.text
    if r.status_code != 301:
        assert isinstance(r.json(), dict)
