"""X-mode Block replies: built and read by toolkit.xmode, used the same way by the receiver (to
check its router's answers) and by the emulator (to route calls and messages)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from toolkit import events as ev
from toolkit import receiver, xmode
from toolkit.emulator import Emulator
from toolkit.receiver import Receiver

A, B, D = "+8613800000001", "+8613900000002", "+8617000000003"


# -- building and reading back ----------------------------------------------------------------


def test_a_built_connect_reads_back_field_by_field() -> None:
    reply = xmode.connect(B, display=D, max_duration=60, record=True, user_data="t1")
    assert xmode.read_call_reply(reply) == xmode.CallReply(
        "connect", callee=B, display=D, max_duration=60, record=True, user_data="t1"
    )
    assert xmode.read_call_reply(xmode.connect(B)).display is None  # the platform picks it


def test_a_built_release_reads_back_as_close() -> None:
    assert xmode.release() == {"operation": "close"}
    read = xmode.read_call_reply(xmode.release(hint_tone="bye.wav", user_data="u"))
    assert (read.operation, read.user_data, read.ok) == ("close", "u", True)


def test_built_sms_replies_read_back() -> None:
    routed = xmode.read_sms_reply(xmode.route_sms(B, A, user_data="s1"))
    assert routed == xmode.SmsReply("vNumberRoute", called=B, calling=A, user_data="s1")
    assert routed.forwards
    dropped = xmode.read_sms_reply(xmode.discard_sms())
    assert dropped.ok and not dropped.forwards


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("garbage", "not a JSON object"),
        ({"operation": "hold"}, "'hold'"),
        ({"operation": "connect"}, "connectInfo"),
        ({"operation": "connect", "connectInfo": []}, "connectInfo"),
        ({"operation": "connect", "connectInfo": [{"calleeNum": "139"}]}, "calleeNum"),
        ({"operation": "connect", "connectInfo": {"calleeNum": B, "displayCalleeNum": ""}},
         "displayCalleeNum"),
        ({"operation": "connect", "connectInfo": [{"calleeNum": B, "maxDuration": 7200}]}, "7200"),
        ({"operation": "connect", "connectInfo": [{"calleeNum": B, "maxDuration": True}]}, "True"),
        ({"operation": "connect", "connectInfo": [{"calleeNum": B, "maxDuration": "60"}]}, "'60'"),
    ],
)  # fmt: skip
def test_call_replies_the_platform_releases_say_why(reply: Any, problem: str) -> None:
    read = xmode.read_call_reply(reply)
    assert not read.ok and problem in (read.problem or "")
    assert B not in (read.problem or "")  # problems are logged: numbers are never spelled out


@pytest.mark.parametrize(
    "reply",
    [
        None,
        {"actions": []},
        {"actions": ["x"]},
        {"actions": [{"operation": "forward"}]},
        {"actions": [{"operation": "vNumberRoute"}]},
        {"actions": [{"operation": "vNumberRoute", "message": {"called": "13900000002"}}]},
    ],
)
def test_sms_replies_the_platform_drops_say_why(reply: Any) -> None:
    read = xmode.read_sms_reply(reply)
    assert not read.ok and not read.forwards and read.problem


# -- the receiver's check ---------------------------------------------------------------------


def test_checked_reply_sends_documented_answers_as_they_are() -> None:
    for reply in (xmode.connect(B, max_duration=5), xmode.release(user_data="u")):
        assert xmode.checked_reply(reply) == reply
    for reply in (xmode.route_sms(B, A), xmode.discard_sms()):
        assert xmode.checked_reply(reply, sms=True) == reply


@pytest.mark.parametrize("reply", [None, "connect please", {"operation": "hold"}, 42])
def test_checked_reply_falls_back_to_the_safe_default(reply: Any) -> None:
    assert xmode.checked_reply(reply) == xmode.release()
    assert xmode.checked_reply(reply, sms=True) == xmode.discard_sms()


def test_checked_reply_warns_when_the_platform_will_refuse(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = {"operation": "connect", "connectInfo": [{"calleeNum": B, "maxDuration": 7200}]}
    with caplog.at_level(logging.WARNING, logger="toolkit.xmode"):
        # Sent as it is: the platform has the last word on fields, and its 8014 shows in the CDR.
        assert xmode.checked_reply(bad) == bad
    assert "maxDuration" in caplog.text and B not in caplog.text


# -- the deprecated names in toolkit.receiver -------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [("connect", "connect"), ("close", "release"), ("route_sms", "route_sms"),
     ("discard_sms", "discard_sms")],
)  # fmt: skip
def test_receiver_reply_helpers_are_deprecated_aliases(old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"toolkit.xmode.{new}"):
        alias = getattr(receiver, old)
    assert alias is getattr(xmode, new)
    with pytest.warns(DeprecationWarning):
        from toolkit.receiver import close
    assert close(user_data="u") == xmode.release(user_data="u")


def test_receiver_still_refuses_unknown_names() -> None:
    with pytest.raises(AttributeError, match="no_such_helper"):
        receiver.no_such_helper  # noqa: B018


# -- one module on both sides: the emulator routes by what the receiver answers ---------------

Router = Callable[[Any], Any]


def _x_platform(router: Router | None) -> tuple[Receiver, Emulator]:
    rx = Receiver(x_router=router, allow_unsigned=True).start()
    emu = Emulator(
        "x",
        seed=5,
        time_scale=0,
        status_url=rx.url + "/status",
        fee_url=rx.url + "/fee",
        sms_url=rx.url + "/sms",
    )
    return rx, emu


def test_a_connect_built_by_xmode_routes_a_call_through_the_receiver() -> None:
    seen: list[Any] = []

    def router(push: Any) -> dict[str, Any]:
        seen.append(push)
        return xmode.connect(B, display=D, max_duration=30, user_data="ride-7")

    rx, emu = _x_platform(router)
    try:
        placed = emu.place_call(A, emu.numbers[0], outcome="answered")
        cdr = emu.cdr(placed["sessionId"])
        assert placed["releaseCode"] == 0 and cdr["fwdDstNum"] == B
        assert (cdr["fwdDisplayNum"], cdr.get("userData")) == (D, "ride-7")
        assert isinstance(seen[0], ev.CallIn) and seen[0].is_block and seen[0].caller == A
    finally:
        emu.stop()
        rx.stop()


@pytest.mark.parametrize(
    ("router", "release"),
    [
        (lambda push: xmode.release(user_data="closed"), 8017),
        (None, 8017),  # no router: the receiver's safe default
        (lambda push: 1 / 0, 8017),
        (lambda push: {"operation": "connect", "connectInfo": [{"calleeNum": "139"}]}, 8014),
    ],
)
def test_calls_the_receiver_does_not_connect_are_released(
    router: Router | None, release: int
) -> None:
    rx, emu = _x_platform(router)
    try:
        placed = emu.place_call(A, emu.numbers[0], outcome="answered")
        assert placed["releaseCode"] == release
        assert emu.cdr(placed["sessionId"]).get("fwdDstNum") is None
    finally:
        emu.stop()
        rx.stop()


def test_sms_replies_built_by_xmode_route_messages_through_the_receiver() -> None:
    def router(push: Any) -> dict[str, Any]:
        if push.sms_content == "drop":
            return xmode.discard_sms()
        return xmode.route_sms(B, push.calling)

    rx, emu = _x_platform(router)
    try:
        assert emu.send_sms(A, emu.numbers[0], "hello")["called"] == B
        assert emu.send_sms(A, emu.numbers[0], "drop")["forwarded"] is False
    finally:
        emu.stop()
        rx.stop()
