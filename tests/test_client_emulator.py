"""Every PrivateNumber and VoiceCall client method against the emulator, run twice: in-process
(requests adapter) and over HTTP (threaded server on port 0), via the ``any_emulator`` fixture."""

from __future__ import annotations

from typing import Any

import pytest

from toolkit.client import PrivateNumberClient
from toolkit.emulator import Emulator
from toolkit.errors import (
    AlreadyBoundError,
    ApiError,
    AuthError,
    NoFreeNumberError,
    NotFoundError,
)
from toolkit.voice import Segment

A, B, C = "138 0000 0001", "+86 139-0000-0002", "+8613700000003"
A_WIRE, B_WIRE = "+8613800000001", "+8613900000002"


def client_for(emu: Emulator, mode: str, **kw: Any) -> PrivateNumberClient:
    return emu.client(emu.add_app(mode, **kw))


def test_axb_bind_query_modify_unbind(client: PrivateNumberClient) -> None:
    bound = client.axb.bind(
        A,
        B,
        duration=3600,
        max_duration=30,
        record_flag=True,
        caller_hint_tone="a.wav",
        user_data="order-1",
    )
    assert bound.subscription_id and bound.relation_num.startswith("+86")
    page = client.axb.query(bound.subscription_id)
    item = page.relation_num_list[0]
    assert (item.caller_num, item.callee_num, item.record_flag) == (A_WIRE, B_WIRE, "true")
    assert item.pre_voice == {"callerHintTone": "a.wav"} and item.user_data == "order-1"
    client.axb.modify(bound.subscription_id, callee_num=C, call_direction=1, duration=60)
    item = client.axb.query(relation_num=bound.relation_num, caller_num=A).relation_num_list[0]
    assert (item.callee_num, item.call_direction, item.duration) == (C, 1, 60)
    with pytest.raises(AlreadyBoundError) as info:
        client.axb.bind(A, "+8613600000004", relation_num=bound.relation_num)
    assert info.value.resultcode == "1012010" and info.value.status == 403
    client.axb.unbind(bound.subscription_id)
    with pytest.raises(NotFoundError):
        client.axb.query(bound.subscription_id)


def test_axb_unbind_by_relation_num_and_iter(
    client: PrivateNumberClient, any_emulator: Emulator
) -> None:
    x = any_emulator.numbers[0]
    for i in range(23):
        client.axb.bind(f"+86135{i:08d}", f"+86136{i:08d}", relation_num=x)
    assert len(list(client.axb.iter_bindings(x, page_size=10))) == 23
    client.axb.unbind(relation_num=x)
    assert list(client.axb.iter_bindings(x)) == []


def test_axb_area_code_and_no_free_number(any_emulator: Emulator) -> None:
    client = client_for(any_emulator, "axb", numbers=1)
    x = client.axb.bind(A, B, area_code="0755").relation_num
    with pytest.raises(NoFreeNumberError) as info:
        client.axb.bind(A, C, area_code="0755")
    assert info.value.resultcode == "1012008"
    assert (
        client.axb.bind("+8613300000001", C, area_code="010", area_match_mode=1).relation_num == x
    )


def test_ax_operations(any_emulator: Emulator) -> None:
    client = client_for(any_emulator, "ax")
    bound = client.ax.bind(A, area_code="0755", call_direction=0, user_data="agent-7")
    assert bound.orig_num == A_WIRE and bound.private_num
    pool = list(any_emulator.backend.apps[client.settings.app_key].numbers)
    other = client.ax.bind(A, private_num=next(x for x in pool if x != bound.private_num))
    assert len(client.ax.query(orig_num=A).private_num_list) == 2
    client.ax.modify(bound.subscription_id, record_flag=True, turn_flag="on")
    listed = client.ax.query(bound.subscription_id).private_num_list[0]
    assert (listed.record_flag, listed.user_data) == ("true", "agent-7")
    client.ax.set_callee("4001234567", private_num=bound.private_num, duration=600)
    placed = any_emulator.place_call(A_WIRE, bound.private_num, outcome="answered")
    assert any_emulator.cdr(placed["sessionId"])["fwdDstNum"] == "+864001234567"
    client.ax.unbind(private_num=other.private_num)
    client.ax.unbind(bound.subscription_id)
    with pytest.raises(NotFoundError):
        client.ax.query(orig_num=A)


def test_axe_operations(any_emulator: Emulator) -> None:
    client = client_for(any_emulator, "axe", extension_length=2)
    bound = client.axe.bind(
        A, area_code="0755", callback_tone="bye.wav", time_unit=1, bind_expired_time=60
    )
    assert bound.extend_num == "01" and bound.bind_num == A_WIRE
    got = client.axe.query(virtual_num=bound.virtual_num, extend_num=bound.extend_num)
    assert (got.subscription_id, got.callback_tone, got.time_unit) == (
        bound.subscription_id,
        "bye.wav",
        "1",
    )
    client.axe.modify(bound.subscription_id, callback_num=C, display_num_mode=1)
    got = client.axe.query(bound.subscription_id)
    assert (got.callback_num, got.display_num_mode) == (C, "1") and "callbackTone" not in got
    for i in range(12):
        client.axe.bind(f"+86135{i:08d}", virtual_num=bound.virtual_num)
    first = client.axe.query_v2(bound.virtual_num, limit=5)
    assert client.axe.next_cursor(first) is not None
    assert len(list(client.axe.iter_bindings(bound.virtual_num, limit=5))) == 13
    single = client.axe.query_v2(bound.virtual_num, extend_num="01")
    assert client.axe.next_cursor(single) is None
    client.axe.unbind(virtual_num=bound.virtual_num, extend_num="01")
    with pytest.raises(NotFoundError) as info:
        client.axe.unbind(bound.subscription_id)
    assert info.value.resultcode == "1016001"


def test_axe_no_idle_extension(any_emulator: Emulator) -> None:
    client = client_for(any_emulator, "axe", extension_length=1, numbers=1)
    for i in range(9):
        client.axe.bind(f"+86135{i:08d}", area_code="0755")
    with pytest.raises(NoFreeNumberError) as info:
        client.axe.bind(A, area_code="0755")
    assert info.value.resultcode == "1020167"


def test_axyb_operations(any_emulator: Emulator) -> None:
    client = client_for(any_emulator, "axyb")
    ax = client.axyb.bind_ax(
        A, area_code="0755", duration=3600, call_direction=0, pre_voice_x="x.wav"
    )
    yb = client.axyb.bind_yb(ax.subscription_id, B, yb_duration=600)
    item = client.axyb.query(relation_num=ax.relation_number).xy_relation_num_list[0]
    assert (item.num_x, item.num_y, item.num_b, item.yb_duration) == (
        ax.relation_number,
        yb.relation_number,
        B_WIRE,
        600,
    )
    client.axyb.unbind_yb(b_num=B)
    assert client.axyb.query(ax.subscription_id).xy_relation_num_list[0].num_y == ""
    client.axyb.bind_yb(ax.subscription_id, C)
    client.axyb.unbind_yb(y_num=client.axyb.query(ax.subscription_id).xy_relation_num_list[0].num_y)
    client.axyb.unbind(ax.subscription_id)
    with pytest.raises(NotFoundError):
        client.axyb.query(ax.subscription_id)


def test_wrong_mode_api(client: PrivateNumberClient) -> None:
    with pytest.raises(ApiError) as info:
        client.ax.bind(A, area_code="0755")
    assert (info.value.resultcode, info.value.status) == ("1010040", 403)


def test_record_url_and_download(client: PrivateNumberClient, any_emulator: Emulator) -> None:
    x = client.axb.bind(A, B, record_flag=True).relation_num
    placed = any_emulator.place_call(A_WIRE, x, outcome="answered", talk_seconds=40)
    cdr = any_emulator.cdr(placed["sessionId"])
    url = client.record_url(cdr["recordDomain"], cdr["recordObjectName"])
    assert url.startswith(any_emulator.url + "/_emulator/recordings/")
    assert client.session.get(url).content[:4] == b"RIFF"
    with pytest.raises(NotFoundError):
        client.record_url(cdr["recordDomain"], "missing.wav")


def test_stop_call(any_emulator: Emulator) -> None:
    emu = Emulator("axb", time_scale=1.0, seed=3)  # real time, so the call is still live
    if any_emulator.started:
        emu.start()
    try:
        client = emu.client()
        x = client.axb.bind(A, B).relation_num
        placed = emu.place_call(A_WIRE, x, outcome="answered", talk_seconds=3600)
        assert client.stop_call(placed["sessionId"]).resultcode == "0"
        assert emu.cdr(placed["sessionId"])["ulFailReason"] == 8017
        with pytest.raises(NotFoundError):
            client.stop_call("1200_1_1_20240101000000@nowhere")
    finally:
        emu.stop()


def test_auth_errors(any_emulator: Emulator) -> None:
    good = any_emulator.client(auth_scheme="wsse")
    assert good.axb.bind(A, B).resultcode == "0"
    bad = PrivateNumberClient(
        base_url=any_emulator.url,
        app_key=any_emulator.app_key,
        app_secret="wrong",
        session=any_emulator.session(),
    )
    with pytest.raises(AuthError) as info:
        bad.axb.query(relation_num=any_emulator.numbers[0])
    assert (info.value.resultcode, info.value.status) == ("1010010", 401)


def test_voice_client(any_emulator: Emulator) -> None:
    voice = any_emulator.voice_client()
    display = next(iter(any_emulator.voice_app.numbers))
    any_emulator.script("answered", "busy", "answered")
    call = voice.click2call(
        A,
        B,
        display_nbr=display,
        max_duration=10,
        record_flag=True,
        return_idle_port=True,
        user_data="c2c",
        status_url="http://127.0.0.1:9/status",
    )
    assert call.session_id and call.idle_port == 100
    cdr = any_emulator.cdr(call.session_id)
    assert (cdr["serviceType"], cdr["fwdDstNum"], cdr["userData"]) == ("002", B_WIRE, "c2c")
    note = voice.call_notify(
        B, [Segment.tts("T1", "0930"), Segment.voice("menu.wav", collect=1)], display_nbr=display
    )
    assert any_emulator.cdr(note.session_id)["ulFailReason"] == 8102
    verify = voice.call_verify(B, "123456", display_nbr=display, pre_tone="pre.wav", times=2)
    events = [e["eventType"] for e in any_emulator.events(verify.session_id)]
    assert events == ["callout", "alerting", "answer", "disconnect"]
    with pytest.raises(ApiError) as info:
        voice.click2call(A, B, display_nbr="+8675500000000")
    assert info.value.resultcode == "1010023"
    assert any_emulator.wait_idle(5)
    with pytest.raises(NotFoundError):
        voice.stop_call(call.session_id)  # time_scale 0: the call has already ended


def test_voice_stop_call_live_call(any_emulator: Emulator) -> None:
    emu = Emulator("voice", time_scale=1.0, seed=3)
    if any_emulator.started:
        emu.start()
    try:
        emu.script("answered")
        voice = emu.voice_client()
        call = voice.click2call(A, B, display_nbr=emu.numbers[0])
        assert voice.stop_call(call.session_id).resultcode == "0"
        assert emu.cdr(call.session_id)["ulFailReason"] == 8017
    finally:
        emu.stop()
