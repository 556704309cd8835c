"""Optional fields as documented: never sent, or sent as JSON ``null`` (clients whose DTOs
serialise every field do that), they are absent from every mode's query answer and from CDRs,
never echoed as ``null`` or ``{}``. The requests go through the emulator's WSGI app as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from toolkit.auth import sign_headers
from toolkit.emulator import Emulator
from toolkit.emulator.app import PN_AX, PN_AXB, PN_AXE, PN_AXYB

A, B, C = "+8613800000001", "+8613900000002", "+8613700000003"
PRE_VOICE = {"callerHintTone": None, "calleeHintTone": None}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    emulator = Emulator("axb", time_scale=0, seed=11)
    yield emulator
    emulator.stop()


def call(emu: Emulator, app: Any, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One signed request with ``body`` as JSON (nulls kept) or, for GET/DELETE, as a query."""
    session = emu.session()
    headers = {"Content-Type": "application/json", **sign_headers(app.app_key, app.app_secret)}
    url = emu.url + path
    if method in ("GET", "DELETE"):
        answer = session.request(method, url, params=body, headers=headers, timeout=10)
    else:
        data = json.dumps(body).encode()
        answer = session.request(method, url, data=data, headers=headers, timeout=10)
    payload = answer.json()
    assert payload["resultcode"] == "0", payload
    return payload


def empties(value: Any, where: str = "") -> list[str]:
    """Where ``value`` holds a ``null``, or an empty object, at any depth."""
    if value is None:
        return [where or "."]
    if isinstance(value, dict):
        if not value and where:
            return [where]
        return [p for k, v in value.items() for p in empties(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in empties(v, f"{where}[{i}]")]
    return []


def cdr_of(emu: Emulator, caller: str, called: str, extension: str | None = None) -> dict[str, Any]:
    receipt = emu.place_call(caller, called, extension, outcome="answered", talk_seconds=20)
    assert emu.wait_idle(10)
    return emu.cdr(receipt["sessionId"])


def test_axb_query_and_cdr_leave_out_null_fields(emu) -> None:
    app = emu.default_app
    nulls = {
        "relationNum": None,
        "areaCode": None,
        "duration": None,
        "maxDuration": None,
        "recordFlag": None,
        "recordHintTone": None,
        "lastMinVoice": None,
        "privateSms": None,
        "preVoice": None,
        "userData": None,
    }
    bound = call(emu, app, "POST", PN_AXB, {"callerNum": A, "calleeNum": B, **nulls})
    sid = bound["subscriptionId"]
    item = call(emu, app, "GET", PN_AXB, {"subscriptionId": sid})["relationNumList"][0]
    assert empties(item) == []
    for name in ("recordHintTone", "lastMinVoice", "privateSms", "preVoice", "userData"):
        assert name not in item
    cdr = cdr_of(emu, A, bound["relationNum"])
    assert empties(cdr) == [] and "userData" not in cdr
    # A preVoice with one tone set keeps that tone only; a modify sending nulls changes nothing.
    pre = {"preVoice": {"callerHintTone": "a.wav", "calleeHintTone": None}, "userData": "u1"}
    call(emu, app, "PUT", PN_AXB, {"subscriptionId": sid, **pre})
    call(emu, app, "PUT", PN_AXB, {"subscriptionId": sid, "preVoice": None, "userData": None})
    item = call(emu, app, "GET", PN_AXB, {"subscriptionId": sid})["relationNumList"][0]
    assert (item["preVoice"], item["userData"]) == ({"callerHintTone": "a.wav"}, "u1")
    # An empty preVoice object clears the tones.
    call(emu, app, "PUT", PN_AXB, {"subscriptionId": sid, "preVoice": PRE_VOICE})
    item = call(emu, app, "GET", PN_AXB, {"subscriptionId": sid})["relationNumList"][0]
    assert "preVoice" not in item and empties(item) == []
    call(emu, app, "DELETE", PN_AXB, {"subscriptionId": sid})


def test_ax_query_and_cdr_leave_out_null_fields(emu) -> None:
    app = emu.add_app("ax")
    nulls = {
        "privateNum": None,
        "calleeNumDisplay": None,
        "callDirection": None,
        "turnFlag": None,
        "recordFlag": None,
        "recordHintTone": None,
        "privateSms": None,
        "preVoice": None,
        "maxDuration": None,
        "lastMinVoice": None,
        "userData": None,
    }
    body = {"origNum": A, "areaCode": "0755", "privateNumType": "mobile-virtual", **nulls}
    bound = call(emu, app, "POST", PN_AX, body)
    listed = call(emu, app, "GET", PN_AX, {"subscriptionId": bound["subscriptionId"]})
    (item,) = listed["privateNumList"]
    assert empties(item) == []
    for name in ("recordHintTone", "lastMinVoice", "preVoice", "userData"):
        assert name not in item
    call(emu, app, "PUT", PN_AX, {"subscriptionId": bound["subscriptionId"], "preVoice": {}})
    (item,) = call(emu, app, "GET", PN_AX, {"origNum": A})["privateNumList"]
    assert "preVoice" not in item
    cdr = cdr_of(emu, C, bound["privateNum"])  # someone calls X and reaches A
    assert empties(cdr) == [] and "userData" not in cdr


def test_axe_query_and_cdr_leave_out_null_fields(emu) -> None:
    app = emu.add_app("axe")
    nulls = {
        "virtualNum": None,
        "extendNum": None,
        "displayNumMode": None,
        "recordFlag": None,
        "recordHintTone": None,
        "callbackTone": None,
        "callbackNum": None,
        "timeUnit": None,
        "bindExpiredTime": None,
        "callbackExpiredTime": None,
        "userData": None,
    }
    bound = call(emu, app, "POST", PN_AXE, {"bindNum": A, "areaCode": "0755", **nulls})
    item = call(emu, app, "GET", PN_AXE, {"subscriptionId": bound["subscriptionId"]})
    page = call(emu, app, "GET", "/rest/caas/extendnumber/v2.0", {"virtualNum": item["virtualNum"]})
    for one in (item, *page["bindInfoList"]):
        assert empties(one) == []
        for name in ("recordHintTone", "callbackTone", "callbackNum", "userData"):
            assert name not in one
    cdr = cdr_of(emu, C, bound["virtualNum"], bound["extendNum"])
    assert empties(cdr) == [] and "userData" not in cdr


def test_axyb_query_and_cdr_leave_out_null_fields(emu) -> None:
    app = emu.add_app("axyb")
    query = f"?app_key={app.app_key}"
    ax = {"origNum": A, "areaCode": "0755", "recordHintTone": None, "userData": None}
    bound = call(emu, app, "POST", PN_AXYB + query, {**ax, "preVoiceX": PRE_VOICE})
    sid = bound["subscriptionId"]
    yb = {"subscriptionId": sid, "origNum": B, "preVoiceY": None, "ybDuration": None}
    y = call(emu, app, "POST", PN_AXYB + query, yb)["relationNumber"]
    listed = call(emu, app, "GET", PN_AXYB, {"subscriptionId": sid, "app_key": app.app_key})
    (item,) = listed["xyRelationNumList"]
    assert empties(item) == []
    for name in ("recordHintTone", "preVoiceX", "preVoiceY", "userData"):
        assert name not in item
    cdr = cdr_of(emu, A, y)  # A dials Y to reach B
    assert empties(cdr) == [] and "userData" not in cdr
    # A tone object with one member set keeps that member.
    again = {"origNum": C, "areaCode": "0755", "preVoiceX": {"callerHintTone": "x.wav", "b": None}}
    other = call(emu, app, "POST", PN_AXYB + query, again)
    listed = call(
        emu,
        app,
        "GET",
        PN_AXYB,
        {"subscriptionId": other["subscriptionId"], "app_key": app.app_key},
    )
    assert listed["xyRelationNumList"][0]["preVoiceX"] == {"callerHintTone": "x.wav"}
