"""Binding rules and error codes of the emulator's backend, per mode (spec §4-§7), with a manual
clock so expiry is tested without sleeping."""

from __future__ import annotations

from typing import Any

import pytest

from toolkit.emulator import Backend, ManualClock, PlatformError
from toolkit.emulator.modes.axb import AXB_MAX_PAIRS
from toolkit.emulator.params import Params

A, B, C, D = "+8613800000001", "+8613900000002", "+8613700000003", "+8613600000004"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def backend(clock: ManualClock) -> Backend:
    return Backend(clock=clock, seed=1)


def op(backend: Backend, app: Any, operation: str, **fields: Any) -> dict[str, Any]:
    return backend.handle(app.app_key, operation, Params(fields))


def refused(backend: Backend, app: Any, operation: str, **fields: Any) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        op(backend, app, operation, **fields)
    return info.value


# ---- AXB ------------------------------------------------------------------------------------


def test_axb_bind_answers_binding_and_echoes(backend: Backend) -> None:
    app = backend.add_app("axb")
    out = op(backend, app, "axb.bind", callerNum=A, calleeNum=B, duration=86400, maxDuration=30)
    assert out["resultcode"] == "0"
    assert out["relationNum"] in app.numbers
    assert (out["duration"], out["maxDuration"], out["callDirection"]) == (86400, 30, 0)
    listed = op(backend, app, "axb.query", subscriptionId=out["subscriptionId"])
    item = listed["relationNumList"][0]
    assert (item["callerNum"], item["calleeNum"], item["relationNum"]) == (A, B, out["relationNum"])


def test_axb_user_number_at_most_once_per_x(backend: Backend) -> None:
    app = backend.add_app("axb", numbers=1)
    x = next(iter(app.numbers))
    op(backend, app, "axb.bind", callerNum=A, calleeNum=B, relationNum=x)
    op(backend, app, "axb.bind", callerNum=C, calleeNum=D, relationNum=x)  # AXB + CXD is fine
    assert (
        refused(backend, app, "axb.bind", callerNum=B, calleeNum=C, relationNum=x).resultcode
        == "1012010"
    )
    # without relationNum there is no other X, so no free number
    assert refused(backend, app, "axb.bind", callerNum=B, calleeNum=C).resultcode == "1012008"


def test_axb_capacity_of_one_x(backend: Backend) -> None:
    app = backend.add_app("axb", numbers=1)
    x = next(iter(app.numbers))
    for i in range(AXB_MAX_PAIRS):
        op(
            backend,
            app,
            "axb.bind",
            callerNum=f"+86135{i:08d}",
            calleeNum=f"+86136{i:08d}",
            relationNum=x,
        )
    err = refused(backend, app, "axb.bind", callerNum=A, calleeNum=B, relationNum=x)
    assert (err.resultcode, err.status) == ("1012008", 403)
    assert AXB_MAX_PAIRS == 5000


def test_axb_x_chosen_by_area_code(backend: Backend) -> None:
    app = backend.add_app("axb", numbers=4)  # one number per city: 0755, 010, 021, 020
    out = op(backend, app, "axb.bind", callerNum=A, calleeNum=B, areaCode="010")
    assert app.numbers[out["relationNum"]].area_code == "010"
    # the only 010 number already holds A: strict match fails, non-strict falls back
    assert (
        refused(backend, app, "axb.bind", callerNum=A, calleeNum=C, areaCode="010").resultcode
        == "1012008"
    )
    other = op(
        backend, app, "axb.bind", callerNum=A, calleeNum=C, areaCode="010", areaMatchMode="1"
    )
    assert app.numbers[other["relationNum"]].area_code != "010"


def test_axb_relation_num_wins_and_must_be_owned(backend: Backend) -> None:
    app = backend.add_app("axb", numbers=4)
    x = list(app.numbers)[2]
    assert (
        op(backend, app, "axb.bind", callerNum=A, calleeNum=B, relationNum=x, areaCode="010")[
            "relationNum"
        ]
        == x
    )
    assert (
        refused(
            backend, app, "axb.bind", callerNum=C, calleeNum=D, relationNum="+8617099999999"
        ).resultcode
        == "1012001"
    )


def test_axb_duration_expiry_and_modify_restarts_timer(
    backend: Backend, clock: ManualClock
) -> None:
    app = backend.add_app("axb")
    sid = op(backend, app, "axb.bind", callerNum=A, calleeNum=B, duration=60)["subscriptionId"]
    clock.advance(50)
    op(backend, app, "axb.modify", subscriptionId=sid, duration=60)
    clock.advance(50)  # 100 s after binding, 50 s after the modify
    assert op(backend, app, "axb.query", subscriptionId=sid)["totalCount"] == 1
    clock.advance(11)
    assert refused(backend, app, "axb.query", subscriptionId=sid).resultcode == "1012007"


def test_axb_duration_zero_never_expires(backend: Backend, clock: ManualClock) -> None:
    app = backend.add_app("axb")
    sid = op(backend, app, "axb.bind", callerNum=A, calleeNum=B, duration=0)["subscriptionId"]
    clock.advance(10**8)
    assert op(backend, app, "axb.query", subscriptionId=sid)["totalCount"] == 1


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"callerNum": "13800000001", "calleeNum": B}, "callerNum"),
        ({"callerNum": A}, "calleeNum"),
        ({"callerNum": A, "calleeNum": B, "duration": "soon"}, "duration"),
        ({"callerNum": A, "calleeNum": B, "duration": 7776001}, "duration"),
        ({"callerNum": A, "calleeNum": B, "maxDuration": 1441}, "maxDuration"),
        ({"callerNum": A, "calleeNum": B, "callDirection": 3}, "callDirection"),
        ({"callerNum": A, "calleeNum": B, "recordFlag": "yes"}, "recordFlag"),
        ({"callerNum": A, "calleeNum": B, "userData": "{x}"}, "userData"),
        ({"callerNum": A, "calleeNum": B, "preVoice": "a.wav"}, "preVoice"),
        ({"callerNum": A, "calleeNum": "+864001234567"}, "calleeNum"),
        ({"callerNum": 8613800000001, "calleeNum": B}, "callerNum"),
    ],
)
def test_malformed_parameters_name_the_parameter(
    backend: Backend, fields: dict, param: str
) -> None:
    app = backend.add_app("axb")
    err = refused(backend, app, "axb.bind", **fields)
    assert (err.resultcode, err.status) == ("1010002", 403)
    assert err.resultdesc.startswith("Invalid request." + param)


def test_another_modes_api_is_refused(backend: Backend) -> None:
    axb, ax = backend.add_app("axb"), backend.add_app("ax")
    assert refused(backend, axb, "ax.bind", origNum=A, areaCode="010").resultcode == "1010040"
    assert refused(backend, ax, "axb.query", subscriptionId="x").resultcode == "1010040"
    assert refused(backend, ax, "voice.click2call").resultcode == "1010040"


def test_axb_unbind_and_not_found(backend: Backend) -> None:
    app = backend.add_app("axb")
    out = op(backend, app, "axb.bind", callerNum=A, calleeNum=B)
    op(backend, app, "axb.unbind", subscriptionId=out["subscriptionId"])
    assert (
        refused(backend, app, "axb.unbind", subscriptionId=out["subscriptionId"]).resultcode
        == "1012007"
    )
    assert (
        refused(backend, app, "axb.unbind", relationNum=out["relationNum"]).resultcode == "1012007"
    )
    assert refused(backend, app, "axb.unbind").resultcode == "1010002"
    # the pair can be bound again once unbound
    op(backend, app, "axb.bind", callerNum=A, calleeNum=B, relationNum=out["relationNum"])


def test_axb_query_pages(backend: Backend) -> None:
    app = backend.add_app("axb", numbers=1)
    x = next(iter(app.numbers))
    for i in range(25):
        op(backend, app, "axb.bind", callerNum=f"+86135{i:08d}", calleeNum=f"+86136{i:08d}")
    page = op(backend, app, "axb.query", relationNum=x, pageIndex=3, pageSize=10)
    assert (page["totalCount"], len(page["relationNumList"]), page["pageSize"]) == (25, 5, 10)
    assert (
        op(backend, app, "axb.query", relationNum=x, pageSize=5)["pageSize"] == 50
    )  # out of range
    one = op(backend, app, "axb.query", relationNum=x, callerNum="+8613500000003")
    assert [i["calleeNum"] for i in one["relationNumList"]] == ["+8613600000003"]


def test_axb_modify_swaps_party_and_checks_conflicts(backend: Backend) -> None:
    app = backend.add_app("axb", numbers=1)
    first = op(backend, app, "axb.bind", callerNum=A, calleeNum=B)
    op(backend, app, "axb.bind", callerNum=C, calleeNum=D)
    assert (
        refused(
            backend, app, "axb.modify", subscriptionId=first["subscriptionId"], calleeNum=C
        ).resultcode
        == "1012010"
    )
    op(
        backend,
        app,
        "axb.modify",
        subscriptionId=first["subscriptionId"],
        calleeNum="+8613300000005",
        userData="order-9",
    )
    item = op(backend, app, "axb.query", subscriptionId=first["subscriptionId"])["relationNumList"][
        0
    ]
    assert (item["calleeNum"], item["userData"]) == ("+8613300000005", "order-9")


# ---- AX -------------------------------------------------------------------------------------


def test_ax_one_a_per_x_and_five_x_per_a(backend: Backend) -> None:
    app = backend.add_app("ax", numbers=8)
    xs = list(app.numbers)
    op(backend, app, "ax.bind", origNum=A, privateNum=xs[0])
    assert refused(backend, app, "ax.bind", origNum=B, privateNum=xs[0]).resultcode == "1011005"
    for x in xs[1:5]:
        op(backend, app, "ax.bind", origNum=A, privateNum=x)
    assert refused(backend, app, "ax.bind", origNum=A, privateNum=xs[5]).resultcode == "1011003"
    assert len(op(backend, app, "ax.query", origNum=A)["privateNumList"]) == 5
    assert (
        refused(backend, app, "ax.bind", origNum=B, privateNum="+8617099999999").resultcode
        == "1011001"
    )


def test_ax_area_code_needs_private_num_type(backend: Backend) -> None:
    app = backend.add_app("ax", numbers=4)
    err = refused(backend, app, "ax.bind", origNum=A, areaCode="021")
    assert err.resultdesc.startswith("Invalid request.privateNumType")
    out = op(backend, app, "ax.bind", origNum=A, areaCode="021", privateNumType="mobile-virtual")
    assert app.numbers[out["privateNum"]].area_code == "021"
    assert (
        refused(
            backend, app, "ax.bind", origNum=B, areaCode="021", privateNumType="mobile-virtual"
        ).resultcode
        == "1011002"
    )


def test_ax_temporary_callee_validity(backend: Backend, clock: ManualClock) -> None:
    app = backend.add_app("ax")
    x = op(backend, app, "ax.bind", origNum=A, privateNum=next(iter(app.numbers)))["privateNum"]
    assert backend.place_call(A, x, outcome="answered").release == 8013  # none set yet
    op(backend, app, "ax.set_callee", privateNum=x, calleeNum="+864001234567", duration=30)
    call = backend.place_call(A, x, outcome="answered")
    assert (call.release, call.cdr["fwdDstNum"]) == (0, "+864001234567")
    clock.advance(31)
    assert backend.place_call(A, x, outcome="answered").release == 8013


def test_ax_unbind_by_private_num(backend: Backend) -> None:
    app = backend.add_app("ax")
    x = op(backend, app, "ax.bind", origNum=A, privateNum=next(iter(app.numbers)))["privateNum"]
    assert refused(backend, app, "ax.unbind", privateNum="+8617099999999").resultcode == "1011004"
    op(backend, app, "ax.unbind", privateNum=x, origNum=A)
    assert refused(backend, app, "ax.query", privateNum=x).resultcode == "1012007"


# ---- AXE ------------------------------------------------------------------------------------


def test_axe_extensions_unique_and_exhausted(backend: Backend) -> None:
    app = backend.add_app("axe", numbers=1, extension_length=1)
    x = next(iter(app.numbers))
    got = [
        op(backend, app, "axe.bind", bindNum=f"+86135{i:08d}", virtualNum=x)["extendNum"]
        for i in range(9)
    ]
    assert got == [str(i) for i in range(1, 10)]
    err = refused(backend, app, "axe.bind", bindNum=A, virtualNum=x)
    assert (err.resultcode, err.resultdesc) == ("1020167", "No idle extend Number.")


def test_axe_requested_extension_and_length(backend: Backend) -> None:
    app = backend.add_app("axe", extension_length=2)
    x = next(iter(app.numbers))
    assert (
        op(backend, app, "axe.bind", bindNum=A, virtualNum=x, extendNum="42")["extendNum"] == "42"
    )
    assert (
        refused(backend, app, "axe.bind", bindNum=B, virtualNum=x, extendNum="42").resultcode
        == "1016002"
    )
    assert refused(backend, app, "axe.bind", bindNum=A, virtualNum=x).resultcode == "1016002"
    assert refused(
        backend, app, "axe.bind", bindNum=B, virtualNum=x, extendNum="123"
    ).resultdesc.startswith("Invalid request.extendNum")


def test_axe_callback_tone_xor_number(backend: Backend) -> None:
    app = backend.add_app("axe")
    err = refused(
        backend, app, "axe.bind", bindNum=A, areaCode="0755", callbackTone="t.wav", callbackNum=B
    )
    assert err.resultcode == "1010002" and "callbackNum" in err.resultdesc


def test_axe_binding_expiry_in_minutes(backend: Backend, clock: ManualClock) -> None:
    app = backend.add_app("axe")
    sid = op(backend, app, "axe.bind", bindNum=A, areaCode="0755", timeUnit="1", bindExpiredTime=2)[
        "subscriptionId"
    ]
    clock.advance(119)
    assert op(backend, app, "axe.query", subscriptionId=sid)["bindNum"] == A
    clock.advance(1)
    assert refused(backend, app, "axe.query", subscriptionId=sid).resultcode == "1016001"


def test_axe_query_v2_cursor_paging(backend: Backend) -> None:
    app = backend.add_app("axe", numbers=1, extension_length=2)
    x = next(iter(app.numbers))
    for i in range(25):
        op(backend, app, "axe.bind", bindNum=f"+86135{i:08d}", virtualNum=x)
    seen, cursor = [], "0000000000000_0"
    while cursor:
        page = op(backend, app, "axe.query_v2", virtualNum=x, cursor=cursor, limit=10)
        seen += [b["extendNum"] for b in page["bindInfoList"]]
        assert page["nextCusor"] == page["nextCursor"]
        cursor = page["nextCusor"]
    assert seen == [f"{i:02d}" for i in range(1, 26)]
    assert (
        refused(backend, app, "axe.query_v2", virtualNum=x, cursor="12_x").resultcode == "1010002"
    )


# ---- AXYB -----------------------------------------------------------------------------------


def test_axyb_two_steps_and_yb_only_unbind(backend: Backend) -> None:
    app = backend.add_app("axyb")
    ax = op(
        backend, app, "axyb.bind", origNum=A, areaCode="0755", duration=3600, app_key=app.app_key
    )
    yb = op(
        backend, app, "axyb.bind", subscriptionId=ax["subscriptionId"], origNum=B, ybDuration=7200
    )
    assert (
        ax["subscriptionId"] == yb["subscriptionId"]
        and ax["relationNumber"] != yb["relationNumber"]
    )
    item = op(backend, app, "axyb.query", relationNum=ax["relationNumber"])["xyRelationNumList"][0]
    assert (item["numA"], item["numX"], item["numY"], item["numB"]) == (
        A,
        ax["relationNumber"],
        yb["relationNumber"],
        B,
    )
    assert item["ybDuration"] == 3600  # capped at the AX duration
    assert (
        refused(
            backend, app, "axyb.bind", subscriptionId=ax["subscriptionId"], origNum=C
        ).resultcode
        == "1012010"
    )
    op(backend, app, "axyb.unbind", yNum=yb["relationNumber"])
    item = op(backend, app, "axyb.query", subscriptionId=ax["subscriptionId"])["xyRelationNumList"][
        0
    ]
    assert (item["numY"], item["numB"]) == ("", "")
    op(backend, app, "axyb.unbind", subscriptionId=ax["subscriptionId"])
    assert (
        refused(backend, app, "axyb.query", subscriptionId=ax["subscriptionId"]).resultcode
        == "1012007"
    )


def test_axyb_yb_leg_expires_before_the_binding(backend: Backend, clock: ManualClock) -> None:
    app = backend.add_app("axyb")
    ax = op(backend, app, "axyb.bind", origNum=A, duration=3600)
    sid = ax["subscriptionId"]
    y = op(backend, app, "axyb.bind", subscriptionId=sid, origNum=B, ybDuration=600)
    clock.advance(600)  # the YB leg ends: Y is free again, A-X stays
    item = op(backend, app, "axyb.query", subscriptionId=sid)["xyRelationNumList"][0]
    assert (item["numX"], item["numY"], item["numB"]) == (ax["relationNumber"], "", "")
    assert refused(backend, app, "axyb.query", relationNum=y["relationNumber"]).resultcode == (
        "1012007"
    )
    clock.advance(3000)  # then the whole binding
    assert refused(backend, app, "axyb.query", subscriptionId=sid).resultcode == "1012007"


def test_axyb_duration_rules_and_app_key(backend: Backend) -> None:
    app = backend.add_app("axyb")
    assert refused(backend, app, "axyb.bind", origNum=A, duration=30).resultcode == "1010002"
    assert refused(backend, app, "axyb.bind", origNum=A, app_key="other").resultcode == "1010003"
    sid = op(backend, app, "axyb.bind", origNum=A)["subscriptionId"]
    assert (
        op(backend, app, "axyb.query", subscriptionId=sid)["xyRelationNumList"][0]["duration"]
        == 7200
    )


def test_reset_keeps_apps(backend: Backend) -> None:
    app = backend.add_app("axb")
    op(backend, app, "axb.bind", callerNum=A, calleeNum=B)
    backend.reset()
    assert backend.bindings() == [] and backend.apps[app.app_key] is app


def test_axb_bindings_spread_over_the_pool() -> None:
    from toolkit.emulator import Emulator

    emu = Emulator("axb", numbers=4, seed=1)
    client = emu.client()
    xs = [
        client.axb.bind(f"+8613800000{i:03d}", f"+8613900000{i:03d}").relation_num for i in range(8)
    ]
    assert sorted(xs.count(x) for x in set(xs)) == [2, 2, 2, 2]
    # naming X still puts the pair on that X, however loaded it is
    named = client.axb.bind("+8613700000001", "+8613600000001", relation_num=xs[0])
    assert named.relation_num == xs[0]


def test_axyb_pre_voice_y_is_checked_like_pre_voice_x(backend: Backend) -> None:
    app = backend.add_app("axyb")
    ax = op(backend, app, "axyb.bind", origNum=A, areaCode="0755", preVoiceX="x.wav")
    bad = refused(
        backend, app, "axyb.bind", subscriptionId=ax["subscriptionId"], origNum=B, preVoiceY=42
    )
    assert bad.resultcode == "1010002" and "preVoiceY" in bad.resultdesc
    op(backend, app, "axyb.bind", subscriptionId=ax["subscriptionId"], origNum=B, preVoiceY="y.wav")
    item = op(backend, app, "axyb.query", subscriptionId=ax["subscriptionId"])
    assert item["xyRelationNumList"][0]["preVoiceY"] == "y.wav"


def test_a_refused_modify_changes_nothing(backend: Backend) -> None:
    app = backend.add_app("axb")
    bound = op(backend, app, "axb.bind", callerNum=A, calleeNum=B)
    sid = bound["subscriptionId"]
    before = op(backend, app, "axb.query", subscriptionId=sid)["relationNumList"]
    bad = refused(backend, app, "axb.modify", subscriptionId=sid, callerNum=C, duration=-5)
    assert bad.resultcode == "1010002" and "duration" in bad.resultdesc
    assert op(backend, app, "axb.query", subscriptionId=sid)["relationNumList"] == before
    # and the number the refused call named is still free on that X
    op(
        backend,
        app,
        "axb.bind",
        callerNum=C,
        calleeNum="+8613700000009",
        relationNum=bound["relationNum"],
    )
