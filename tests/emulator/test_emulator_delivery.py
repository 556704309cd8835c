"""Pushes: signed, ordered per call, CDRs batched ≤ 50, retried on the documented schedule
(compressed by time_scale), off the request path, robust to a customer server that hangs."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from toolkit.auth import verify
from toolkit.emulator import Emulator

A, B = "+8613800000001", "+8613900000002"
MINUTE = 1 / 60_000  # time_scale at which one simulated minute lasts 1 ms


def make(sink: Any, **kw: Any) -> Emulator:
    kw.setdefault("time_scale", 0)
    return Emulator("axb", seed=5, status_url=sink.url + "/status", fee_url=sink.url + "/fee", **kw)


def bind(emu: Emulator) -> str:
    return emu.client().axb.bind(A, B)["relationNum"]


def test_pushes_are_signed_and_ordered_per_call(sink: Any) -> None:
    emu = make(sink)
    try:
        placed = emu.place_call(A, bind(emu), outcome="answered")
        assert emu.wait_idle(5) and sink.wait_for(6)
        for received in sink.received:
            verdict = verify(received["headers"], {emu.app_key: emu.app_secret}.get)
            assert verdict.ok, verdict.reason
        events = [b["eventType"] for b in sink.bodies("/status")]
        assert events == ["callin", "callout", "alerting", "answer", "disconnect"]
        (fee,) = sink.bodies("/fee")
        assert fee["eventType"] == "fee" and fee["feeLst"][0]["sessionId"] == placed["sessionId"]
        kinds = [d["kind"] for d in emu.deliveries()]
        assert kinds.count("status") == 5 and kinds.count("fee") == 1
        assert all(d["ok"] and d["attempt"] == 1 and d["status"] == 200 for d in emu.deliveries())
    finally:
        emu.stop()


def test_cdrs_are_batched_at_most_50(sink: Any) -> None:
    emu = Emulator("axb", seed=5, time_scale=0, fee_url=sink.url + "/fee")  # no status pushes
    try:
        x = bind(emu)
        for _ in range(130):
            emu.place_call(A, x, outcome="busy")
        assert emu.wait_idle(10)
        batches = [len(b["feeLst"]) for b in sink.bodies("/fee")]
        assert sum(batches) == 130 and max(batches) <= 50 and len(batches) < 130
        assert sink.bodies("/status") == []
        ids = [c["sessionId"] for b in sink.bodies("/fee") for c in b["feeLst"]]
        assert len(set(ids)) == 130
    finally:
        emu.stop()


def test_retry_schedule_with_time_scale(sink: Any) -> None:
    emu = Emulator("axb", seed=5, time_scale=MINUTE, fee_url=sink.url + "/fee")
    sink.script = [500] * 7
    try:
        emu.place_call(A, bind(emu), outcome="busy")
        assert emu.wait_idle(10, retries=True)
        fee = emu.deliveries("fee")
        assert [d["attempt"] for d in fee] == [1, 2, 3, 4, 5, 6, 7]
        assert [d["nextRetryIn"] for d in fee] == [60, 240, 540, 6360, 12180, 18000, None]
        assert not any(d["ok"] for d in fee) and {d["status"] for d in fee} == {500}
        arrivals = [r["at"] for r in sink.received]
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        assert gaps[-1] > gaps[0]  # 300 minutes vs 1 minute, scaled
    finally:
        emu.stop()


def test_retry_stops_after_success_and_failure_kinds(sink: Any) -> None:
    emu = Emulator("axb", seed=5, time_scale=MINUTE, fee_url=sink.url + "/fee")
    sink.script = [503, 404]
    try:
        emu.place_call(A, bind(emu), outcome="answered")
        assert emu.wait_idle(10, retries=True)
        fee = emu.deliveries("fee")
        assert [(d["attempt"], d["ok"]) for d in fee] == [(1, False), (2, False), (3, True)]
        assert len(sink.bodies("/fee")) == 3
        assert sink.bodies("/fee")[0] == sink.bodies("/fee")[2]  # the same CDRs again
    finally:
        emu.stop()


def test_refused_connection_is_recorded() -> None:
    emu = Emulator("axb", seed=5, time_scale=0, fee_url="http://127.0.0.1:9/fee")
    try:
        emu.place_call(A, bind(emu), outcome="busy")
        assert emu.wait_idle(10)
        first = emu.deliveries("fee")[0]
        assert first["status"] is None and first["error"] == "ConnectionError" and not first["ok"]
    finally:
        emu.stop()


def test_hanging_customer_server_does_not_stall(sink: Any) -> None:
    sink.script = ["hang"]
    sink.hang_seconds = 1.5
    emu = make(sink, push_timeout=0.3)
    try:
        client = emu.client()
        x = bind(emu)
        emu.place_call(A, x, outcome="busy")
        # While a worker waits on the hung server, requests and other pushes go on.
        for _ in range(5):
            client.axb.query(relation_num=x)
        assert emu.wait_idle(10)
        errors = [d["error"] for d in emu.deliveries()]
        assert "ReadTimeout" in errors
        assert sum(1 for d in emu.deliveries() if d["ok"]) >= 3
    finally:
        emu.stop()


def test_non_zero_resultcode_reply_is_a_failure(sink: Any) -> None:
    sink.reply = {"resultcode": "1", "resultdesc": "try later"}
    emu = Emulator("axb", seed=5, time_scale=0, fee_url=sink.url + "/fee")
    try:
        emu.place_call(A, bind(emu), outcome="busy")
        assert emu.wait_idle(10)
        assert not emu.deliveries("fee")[0]["ok"]
    finally:
        emu.stop()


def test_voicecall_status_pushes_are_not_retried(sink: Any) -> None:
    emu = Emulator("voice", seed=5, time_scale=MINUTE, status_url=sink.url + "/status")
    sink.script = [500] * 20
    try:
        display = emu.numbers[0]
        emu.script("busy")
        emu.voice_client().click2call(A, B, display_nbr=display)
        assert emu.wait_idle(10, retries=True)
        status = emu.deliveries("status")
        assert status and all(d["attempt"] == 1 and d["nextRetryIn"] is None for d in status)
    finally:
        emu.stop()


def test_sms_and_number_status_pushes(sink: Any) -> None:
    emu = Emulator(
        "axb", seed=5, time_scale=0, status_url=sink.url + "/status", sms_url=sink.url + "/sms"
    )
    try:
        x = bind(emu)
        sent = emu.send_sms(A, x, "hello")
        assert sent["forwarded"] and sent["called"] == B
        emu.set_number_status(x, "10", "2")
        assert emu.wait_idle(5) and sink.wait_for(1, "/sms") and sink.wait_for(1, "/status")
        (sms,) = sink.bodies("/sms")
        event = sms["smsEvent"]
        assert (event["notificationMode"], event["calling"], event["called"]) == ("Notify", A, B)
        assert event["timeStamp"].endswith("Z") and "." in event["timeStamp"]
        (num,) = sink.bodies("/status")  # no numStatus URL: the call-status address is used
        assert num == {
            "eventType": "numStatus",
            "numInfo": [{"number": x, "status": "10", "cause": "2"}],
        }
    finally:
        emu.stop()


def test_ax_sms_block_when_no_at_number(sink: Any) -> None:
    emu = Emulator("ax", seed=5, time_scale=0, sms_url=sink.url + "/sms")
    sink.reply = {
        "actions": [{"operation": "vNumberRoute", "message": {"called": B, "calling": A}}]
    }
    try:
        x = emu.client().ax.bind(A, area_code="0755")["privateNum"]
        assert emu.send_sms(A, x, "hi@+8613700000003")["called"] == "+8613700000003"
        routed = emu.send_sms(A, x, "no target")
        assert routed["called"] == B
        stranger = emu.send_sms("+8613500000009", x, "hey")
        assert stranger["called"] == A
        assert emu.wait_idle(5) and sink.wait_for(4, "/sms")
        modes = [b["smsEvent"]["notificationMode"] for b in sink.bodies("/sms")]
        assert modes.count("Block") == 1 and modes.count("Notify") == 3
        texts = [b["smsEvent"]["smsContent"] for b in sink.bodies("/sms")]
        assert "hi" in texts and any(t.endswith("[From号码+8613500000009]") for t in texts)
    finally:
        emu.stop()


@pytest.mark.parametrize(
    ("reply", "release", "dest"),
    [
        ({"operation": "connect", "connectInfo": [{"calleeNum": B, "maxDuration": 60}]}, 0, B),
        ({"operation": "connect", "connectInfo": {"calleeNum": B}}, 0, B),
        ({"operation": "close", "closeInfo": [{"userData": "flag"}]}, 8017, None),
        (
            {"operation": "connect", "connectInfo": [{"calleeNum": B, "maxDuration": 7200}]},
            8014,
            None,
        ),
        ("garbage", 8014, None),
    ],
)
def test_x_mode_routes_by_block_reply(
    sink: Any, reply: Any, release: int, dest: str | None
) -> None:
    sink.reply = reply
    emu = Emulator(
        "x", seed=5, time_scale=0, status_url=sink.url + "/status", fee_url=sink.url + "/fee"
    )
    try:
        placed = emu.place_call(A, emu.numbers[0], outcome="answered")
        assert placed["releaseCode"] == release
        cdr = emu.cdr(placed["sessionId"])
        assert cdr.get("fwdDstNum") == dest and cdr["notifyMode"] == "Block"
        assert emu.wait_idle(5)
        callins = [b for b in sink.bodies("/status") if b["eventType"] == "callin"]
        assert len(callins) == 1 and callins[0]["statusInfo"]["notifyMode"] == "Block"
    finally:
        emu.stop()
