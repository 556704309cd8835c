"""Wire-level tests of VoiceClient: click2Call, callnotify, callVerify, callStop, record URL."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
from wire_helpers import BASE, KEY, OK, SECRET, answer, only_call, refuse

from toolkit.config import Settings
from toolkit.errors import ApiError, AuthError, ResponseError, ThrottledError, ValidationError
from toolkit.record import Record
from toolkit.voice import CALLNOTIFY_PATH, CALLVERIFY_PATH, CLICK2CALL_PATH, Segment, VoiceClient

A, B = "+8613800138000", "+8613900139000"
D, D2 = "+8675528000001", "+861088880000"  # fixed-line display numbers
STOP_PATH = "/rest/httpsessions/callStop/v2.0"
RECORD_PATH = "/rest/provision/voice/record/v1.0"
STATUS = "https://example.com:8443/voice/status"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A fake platform; requests to URLs not registered on it fail with ConnectionError."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def vc() -> VoiceClient:
    return VoiceClient(Settings(BASE, KEY, SECRET))


Op = Callable[[VoiceClient], Record]

CASES: list[Any] = [
    pytest.param(
        lambda c: c.click2call(
            "138 0013 8000", "139-0013-9000", display_nbr="0755 28000001",
            display_callee_nbr="010-88880000", max_duration=60, last_min_voice="last.wav",
            last_min_to_ue="toa", play_pre_voice=True, pre_voice="hold.wav",
            wait_voice="music.wav", callee_media="none", status_url=STATUS,
            fee_url="https://example.com/fee", record_flag=True, record_hint_tone="rec.wav",
            party_type_required_in_disconnect=True, return_idle_port=False, user_data="cust-1",
        ),
        CLICK2CALL_PATH,
        {"callerNbr": A, "calleeNbr": B, "displayNbr": D, "displayCalleeNbr": D2,
         "maxDuration": 60, "lastMinVoice": "last.wav", "lastMinToUE": "toa",
         "playPreVoice": "true", "preVoice": "hold.wav", "waitVoice": "music.wav",
         "calleeMedia": "none", "statusUrl": b64(STATUS), "feeUrl": b64("https://example.com/fee"),
         "recordFlag": "true", "recordHintTone": "rec.wav", "partyTypeRequiredInDisconnect": "true",
         "returnIdlePort": "false", "userData": "cust-1"},
        id="click2Call",
    ),
    pytest.param(
        lambda c: c.click2call(A, B, display_nbr=D), CLICK2CALL_PATH,
        {"callerNbr": A, "calleeNbr": B, "displayNbr": D, "displayCalleeNbr": D},
        id="click2Call, callee display defaults to caller display",
    ),
    pytest.param(
        lambda c: c.call_notify(B, "notice.wav", display_nbr=D), CALLNOTIFY_PATH,
        {"calleeNbr": B, "displayNbr": D,
         "playInfoList": [{"notifyVoice": "notice.wav", "collectInd": 0}]},
        id="callnotify voice file",
    ),
    pytest.param(
        lambda c: c.call_notify(
            B, Segment.tts("TPL01", "张三", "0930"), display_nbr=D, status_url=STATUS,
            user_data="n1", return_idle_port=True,
        ),
        CALLNOTIFY_PATH,
        {"calleeNbr": B, "displayNbr": D, "statusUrl": b64(STATUS), "userData": "n1",
         "returnIdlePort": "true",
         "playInfoList": [{"templateId": "TPL01", "templateParas": ["张三", "0930"],
                           "collectInd": 0}]},
        id="callnotify TTS template",
    ),
    pytest.param(
        lambda c: c.call_notify(
            B,
            [Segment.tts("TPL01", "x"), Segment.voice("menu.wav", collect=2, replay_on="11"),
             "bye.wav"],
            display_nbr=D,
        ),
        CALLNOTIFY_PATH,
        {"calleeNbr": B, "displayNbr": D, "playInfoList": [
            {"templateId": "TPL01", "templateParas": ["x"], "collectInd": 0},
            {"notifyVoice": "menu.wav", "collectInd": 2, "replayAfterCollection": "true",
             "collectContentTriggerReplaying": "11"},
            {"notifyVoice": "bye.wav", "collectInd": 0}]},
        id="callnotify play and collect",
    ),
    pytest.param(
        lambda c: c.call_verify(
            B, "123456", display_nbr=D, pre_tone="pre.wav", pos_tone="pos.wav", times=0,
            fee_url=STATUS, user_data="otp",
        ),
        CALLVERIFY_PATH,
        {"calleeNbr": B, "verifyCode": "123456", "displayNbr": D, "preTone": "pre.wav",
         "posTone": "pos.wav", "times": 0, "languageType": 2, "feeUrl": b64(STATUS),
         "userData": "otp"},
        id="callVerify",
    ),
    pytest.param(
        lambda c: c.stop_call("1202_566_0_20161228102743@callenabler.home1.com"), STOP_PATH,
        {"sessionid": "1202_566_0_20161228102743@callenabler.home1.com", "signal": "call_stop"},
        id="callStop",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("op", "path", "body"), CASES)
def test_operation_on_the_wire(
    vc: VoiceClient, rsps: responses.RequestsMock, op: Op, path: str, body: dict[str, Any]
) -> None:
    answer(rsps, "POST", path, sessionId="1202_566")
    result = op(vc)
    request = only_call(rsps)  # checks signature, Content-Type and Accept
    assert (request.method, request.path, request.raw_query) == ("POST", path, "")
    assert request.body == body
    assert result.session_id == "1202_566"


def test_call_stop_is_a_deprecated_alias_of_stop_call(
    vc: VoiceClient, rsps: responses.RequestsMock
) -> None:
    # Both clients call it stop_call now; the old VoiceClient name works for one more release.
    sid = "1202_566_0_20161228102743@callenabler.home1.com"
    answer(rsps, "POST", STOP_PATH)
    with pytest.warns(DeprecationWarning, match="stop_call"):
        result = vc.call_stop(sid)
    assert only_call(rsps).body == {"sessionid": sid, "signal": "call_stop"}
    assert result.resultcode == "0"
    with pytest.warns(DeprecationWarning), pytest.raises(ValidationError, match="session_id"):
        vc.call_stop("")


@pytest.mark.parametrize(("op", "path", "body"), [c for c in CASES if c.id != "callStop"])
def test_calls_without_session_id_are_response_errors(
    vc: VoiceClient, rsps: responses.RequestsMock, op: Op, path: str, body: dict[str, Any]
) -> None:
    # Without sessionId a call can be neither stopped nor matched to its pushes.
    for answer_ in ({**OK}, {**OK, "sessionId": ""}, {**OK, "sessionId": None}):
        rsps.upsert("POST", BASE + path, json=answer_)
        with pytest.raises(ResponseError, match="missing field sessionId"):
            op(vc)


def test_settings_come_from_voicecall_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICECALL_APP_KEY", "vc-key")
    monkeypatch.setenv("VOICECALL_APP_SECRET", "vc-secret")
    monkeypatch.setenv("VOICECALL_BASE_URL", "https://voice.test")
    monkeypatch.setenv("PRIVATENUMBER_APP_KEY", "pn-key")
    client = VoiceClient()
    assert (client.settings.app_key, client.settings.base_url) == ("vc-key", "https://voice.test")
    assert "vc-secret" not in repr(client)


def test_errors_carry_the_voicecall_product(vc: VoiceClient, rsps: responses.RequestsMock) -> None:
    refuse(rsps, "POST", CLICK2CALL_PATH, 403, "1013002", "Calls exceed the app limit.")
    with pytest.raises(ThrottledError) as caught:
        vc.click2call(A, B, display_nbr=D)
    assert caught.value.product == "voicecall" and caught.value.status == 403


def test_http_401_is_an_auth_error(vc: VoiceClient, rsps: responses.RequestsMock) -> None:
    refuse(rsps, "POST", CALLVERIFY_PATH, 401, "1010010", "Invalid digest.")
    with pytest.raises(AuthError):
        vc.call_verify(B, "1234", display_nbr=D, pre_tone="p.wav")


def test_record_url(vc: VoiceClient, rsps: responses.RequestsMock) -> None:
    rsps.add("GET", BASE + RECORD_PATH, status=301, headers={"Location": "https://obs.test/f.wav"})
    assert vc.record_url("ostor.huawei.com", "f.wav") == "https://obs.test/f.wav"
    assert only_call(rsps).query == {"recordDomain": "ostor.huawei.com", "fileName": "f.wav"}


def test_record_url_not_found(vc: VoiceClient, rsps: responses.RequestsMock) -> None:
    refuse(rsps, "GET", RECORD_PATH, 404, "1016001", "Record does not exist.")
    with pytest.raises(ApiError, match="1016001"):
        vc.record_url("ostor.huawei.com", "gone.wav")


BAD: list[Any] = [
    (lambda c: c.click2call(A, B, display_nbr=A), "display_nbr"),  # a mobile
    (lambda c: c.click2call(A, B, display_nbr=D, display_callee_nbr=B), "display_callee_nbr"),
    (lambda c: c.click2call("1234", B, display_nbr=D), "caller_nbr"),
    (lambda c: c.click2call(A, B, display_nbr=D, max_duration=1441), "max_duration"),
    (lambda c: c.click2call(A, B, display_nbr=D, last_min_to_ue="a"), "last_min_to_ue"),
    (lambda c: c.click2call(A, B, display_nbr=D, callee_media="some"), "callee_media"),
    (lambda c: c.click2call(A, B, display_nbr=D, status_url="ftp://x.test/s"), "status_url"),
    (lambda c: c.click2call(A, B, display_nbr=D, status_url="https://x.test/s?a=b"), "status_url"),
    (lambda c: c.click2call(A, B, display_nbr=D, fee_url="https://x.test/" + "a" * 90), "fee_url"),
    (lambda c: c.click2call(A, B, display_nbr=D, record_flag=1), "record_flag"),
    (lambda c: c.click2call(A, B, display_nbr=D, user_data="a}b"), "user_data"),
    (lambda c: c.call_notify(B, [], display_nbr=D), "play"),
    (lambda c: c.call_notify(B, ["a.wav"] * 6, display_nbr=D), "play"),
    (lambda c: c.call_notify(B, [{"notifyVoice": "a.wav"}], display_nbr=D), "play"),
    (lambda c: c.call_notify(B, Segment(), display_nbr=D), "play"),
    (lambda c: c.call_notify(B, Segment("a.wav", "T1"), display_nbr=D), "play"),
    (lambda c: c.call_notify(B, Segment.tts("T" * 33), display_nbr=D), "template_id"),
    (lambda c: c.call_notify(B, Segment.tts("T1", "字" * 11), display_nbr=D), "play"),
    (lambda c: c.call_notify(B, Segment.voice("a.wav", collect=33), display_nbr=D), "collect_ind"),
    (lambda c: c.call_notify(B, Segment.voice("a.wav", replay_on="1"), display_nbr=D), "replay_on"),
    (lambda c: c.call_verify(B, "1", display_nbr=D, pre_tone="p.wav"), "verify_code"),
    (lambda c: c.call_verify(B, "123456789", display_nbr=D, pre_tone="p.wav"), "verify_code"),
    (lambda c: c.call_verify(B, "12a4", display_nbr=D, pre_tone="p.wav"), "verify_code"),
    (lambda c: c.call_verify(B, 1234, display_nbr=D, pre_tone="p.wav"), "verify_code"),
    (lambda c: c.call_verify(B, "1234", display_nbr=D, pre_tone="p.wav", times=10), "times"),
    (lambda c: c.call_verify(B, "1234", display_nbr=D, pre_tone=""), "pre_tone"),
    (lambda c: c.stop_call(""), "session_id"),
]  # fmt: skip


@pytest.mark.parametrize(("op", "param"), BAD)
def test_bad_input_fails_before_any_request(
    vc: VoiceClient, rsps: responses.RequestsMock, op: Op, param: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        op(vc)
    assert caught.value.param == param
    assert len(rsps.calls) == 0


def test_missing_required_argument_is_a_type_error(vc: VoiceClient) -> None:
    with pytest.raises(TypeError, match="pre_tone"):
        vc.call_verify(B, "1234", display_nbr=D)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="record_flag_x"):
        vc.click2call(A, B, display_nbr=D, record_flag_x=True)  # type: ignore[call-arg]
