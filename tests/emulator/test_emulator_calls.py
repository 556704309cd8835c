"""Calls routed through the bindings: event sequences, CDR fields and release codes."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from toolkit.codes import OUTCOMES, classify, decode
from toolkit.emulator import Backend, EmulatorError, ManualClock
from toolkit.emulator.params import Params

A, B, S = "+8613800000001", "+8613900000002", "+8613500000009"
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
REQUIRED = ("direction", "spId", "appKey", "bindNum", "sessionId", "callerNum", "calleeNum")


@pytest.fixture
def backend() -> Backend:
    return Backend(clock=ManualClock(), seed=3)


def bind_axb(backend: Backend, **extra: Any) -> tuple[Any, dict[str, Any]]:
    app = backend.add_app("axb")
    out = backend.handle(app.app_key, "axb.bind", Params({"callerNum": A, "calleeNum": B, **extra}))
    return app, out


def events(call: Any) -> list[str]:
    return [s.event for s in call.steps]


@pytest.mark.parametrize(
    ("outcome", "sequence", "code", "q850", "sip"),
    [
        ("answered", ["callin", "callout", "alerting", "answer", "disconnect"], 0, 0, 0),
        ("busy", ["callin", "callout", "disconnect"], 8102, 17, 486),
        ("no-answer", ["callin", "callout", "alerting", "disconnect"], 8101, 19, 480),
        ("powered-off", ["callin", "callout", "disconnect"], 8104, 20, 480),
        ("rejected", ["callin", "callout", "alerting", "disconnect"], 7503, 21, 603),
        ("caller-abandon", ["callin", "callout", "alerting", "disconnect"], 7502, 0, 487),
        ("throttled", ["callin", "disconnect"], 7001, 0, 0),
    ],
)
def test_event_sequence_and_codes_per_outcome(
    backend: Backend, outcome: str, sequence: list[str], code: int, q850: int, sip: int
) -> None:
    _, bound = bind_axb(backend)
    call = backend.place_call(A, bound["relationNum"], outcome=outcome)
    assert events(call) == sequence
    disconnect = call.steps[-1].info
    assert (disconnect["stateCode"], call.cdr["ulFailReason"]) == (code, code)
    assert (call.cdr["fwdUnaswRsn"], call.cdr["sipStatusCode"]) == (q850, sip)
    assert ("fwdAnswerTime" in call.cdr) == (outcome == "answered")
    assert ("failTime" in call.cdr) == (outcome != "answered")
    offsets = [s.offset for s in call.steps]
    assert offsets == sorted(offsets)
    for step in call.steps:
        assert step.info["sessionId"] == call.session_id and TIME.fullmatch(step.info["timestamp"])
    assert decode(code, "pn_state").known and decode(code, "pn_release").known
    assert decode(q850, "q850").known and decode(sip, "sip").known
    assert classify(call.cdr) == call.outcome


def test_cdr_has_every_documented_field(backend: Backend) -> None:
    _, bound = bind_axb(backend, recordFlag="true", userData="order-1")
    call = backend.place_call(A, bound["relationNum"], outcome="answered", talk_seconds=95)
    cdr = call.cdr
    for name in REQUIRED:
        assert cdr[name] not in (None, "")
    for name in (
        "callInTime",
        "fwdStartTime",
        "fwdAlertingTime",
        "fwdAnswerTime",
        "callEndTime",
        "recordStartTime",
    ):
        assert TIME.fullmatch(cdr[name]), name
    assert (cdr["direction"], cdr["fwdDstNum"], cdr["fwdDisplayNum"]) == (
        1,
        B,
        bound["relationNum"],
    )
    assert (cdr["subscriptionId"], cdr["mptyId"]) == (bound["subscriptionId"],) * 2
    assert cdr["recordFlag"] == 1 and cdr["recordObjectName"].endswith(".wav")
    assert cdr["recordDomain"] and cdr["recordBucketName"].startswith("sp-")
    assert (cdr["userData"], cdr["ttsPlayTimes"], cdr["callOutUnaswRsn"]) == ("order-1", 0, 0)
    assert call.steps[0].info["userData"] == "order-1"


def test_b_calls_a_is_direction_zero(backend: Backend) -> None:
    _, bound = bind_axb(backend)
    call = backend.place_call(B, bound["relationNum"], outcome="answered")
    assert (call.cdr["direction"], call.cdr["fwdDstNum"]) == (0, A)


def test_call_direction_not_allowed(backend: Backend) -> None:
    _, bound = bind_axb(backend, callDirection=1)  # only A -> B
    assert backend.place_call(A, bound["relationNum"], outcome="answered").release == 0
    call = backend.place_call(B, bound["relationNum"], outcome="answered")
    assert (call.release, events(call)) == (8016, ["callin", "disconnect"])


def test_unbound_x_is_8014_with_empty_subscription(backend: Backend) -> None:
    app = backend.add_app("axb")
    call = backend.place_call(S, next(iter(app.numbers)))
    assert (call.release, call.cdr["subscriptionId"], call.cdr["direction"]) == (8014, "", 2)
    assert call.outcome == "not-bound" and "subscriptionId" not in call.steps[0].info


def test_fixed_line_party_calling_x_is_8023(backend: Backend) -> None:
    app = backend.add_app("axb")
    out = backend.handle(
        app.app_key, "axb.bind", Params({"callerNum": "+8675528000001", "calleeNum": B})
    )
    assert backend.place_call("+8675528000001", out["relationNum"]).release == 8023
    assert backend.place_call(B, out["relationNum"], outcome="answered").release == 0


def test_max_duration_cuts_the_call(backend: Backend) -> None:
    _, bound = bind_axb(backend, maxDuration=1)
    call = backend.place_call(A, bound["relationNum"], outcome="answered", talk_seconds=300)
    assert call.release == 8010 and call.steps[-1].info["stateCode"] == 8010
    assert call.end_offset - call.answer_offset == 60
    assert call.outcome == "answered"


def test_x_status_unavailable_blocks_calls_and_bindings(backend: Backend) -> None:
    app, bound = bind_axb(backend)
    backend.set_number_status(bound["relationNum"], "9")
    assert backend.place_call(A, bound["relationNum"]).release == 8055
    with pytest.raises(Exception, match="1012102"):
        backend.handle(
            app.app_key,
            "axb.bind",
            Params(
                {"callerNum": S, "calleeNum": "+8613300000001", "relationNum": bound["relationNum"]}
            ),
        )


def test_ax_routes(backend: Backend) -> None:
    app = backend.add_app("ax")
    x = backend.handle(
        app.app_key,
        "ax.bind",
        Params({"origNum": A, "areaCode": "0755", "privateNumType": "mobile-virtual"}),
    )["privateNum"]
    inbound = backend.place_call(S, x, outcome="answered")
    assert (inbound.cdr["fwdDstNum"], inbound.cdr["direction"]) == (A, 0)
    assert backend.place_call(A, x).release == 8013


def test_axe_collects_extension_and_calls_back(backend: Backend) -> None:
    app = backend.add_app("axe", extension_length=2)
    out = backend.handle(
        app.app_key,
        "axe.bind",
        Params({"bindNum": A, "areaCode": "0755", "callbackTone": "bye.wav"}),
    )
    x, ext = out["virtualNum"], out["extendNum"]
    assert backend.place_call(A, x).release == 8019  # nobody to call back yet
    call = backend.place_call(S, x, extension=ext, outcome="answered")
    assert events(call) == ["callin", "collectInfo", "callout", "alerting", "answer", "disconnect"]
    assert call.steps[1].info["digitInfo"] == ext and "subscriptionId" not in call.steps[0].info
    assert (call.cdr["extendNum"], call.cdr["fwdDstNum"]) == (ext, A)
    back = backend.place_call(A, x, outcome="answered")
    assert (back.release, back.cdr["fwdDstNum"], back.cdr["direction"]) == (0, S, 1)
    assert backend.place_call(S, x, extension="99").release == 8022
    assert backend.place_call(S, x).release == 8033


def test_axyb_routes_through_x_and_y(backend: Backend) -> None:
    app = backend.add_app("axyb")
    sid = backend.handle(app.app_key, "axyb.bind", Params({"origNum": A}))["subscriptionId"]
    b = backend.store.by_id[sid]
    # No YB step yet: B calling X gets a Y allocated during the call.
    first = backend.place_call(B, b.x, outcome="answered")
    assert (first.cdr["fwdDstNum"], first.cdr["fwdDisplayNum"]) == (A, b.y) and b.b == B
    back = backend.place_call(A, b.y, outcome="answered")
    assert (back.cdr["fwdDstNum"], back.cdr["fwdDisplayNum"], back.cdr["direction"]) == (B, b.x, 1)
    assert backend.place_call(A, b.x).release == 8032
    assert backend.place_call(S, b.x).release == 8030


def test_place_call_refuses_bad_input(backend: Backend) -> None:
    app = backend.add_app("axb")
    x = next(iter(app.numbers))
    for args in [
        ("12345", x),
        (A, "+8617099999999"),
        (A, x, None, "maybe"),
        (A, x, None, None, -1),
        (A, x, "1a"),
    ]:
        with pytest.raises(EmulatorError):
            backend.place_call(*args)


@pytest.mark.parametrize(
    "caller", ["13800000001", "138 0000 0001", "+86 138-0000-0001", "tel:+8613800000001"]
)
def test_place_call_reads_every_spelling_the_client_accepts(backend: Backend, caller: str) -> None:
    _, out = bind_axb(backend)
    x = out["relationNum"]
    # X typed the local way too: the number the client would send as "+86170...".
    local_x = x.removeprefix("+86")
    call = backend.place_call(caller, local_x, outcome="busy")
    assert (call.cdr["callerNum"], call.cdr["bindNum"], call.release) == (A, x, 8102)


def test_given_pool_is_normalised_and_checked() -> None:
    backend = Backend(clock=ManualClock(), seed=3)
    app = backend.add_app("axb", numbers=["170 0000 0001", "+86 170-0000-0002"])
    assert list(app.numbers) == ["+8617000000001", "+8617000000002"]
    for bad in (["12345"], [], ["17000000003", "+8617000000003"], "17000000004"):
        with pytest.raises(EmulatorError):
            backend.add_app("axb", numbers=bad)


def test_emulator_takes_its_pool_as_number_strings() -> None:
    from toolkit.emulator import Emulator

    emu = Emulator("axb", numbers=["170 0000 0001", "tel:+8617000000002"])
    try:
        assert emu.numbers == ["+8617000000001", "+8617000000002"]  # in full, normalised
        x = emu.client().axb.bind(A, B).relation_num
        assert x in emu.numbers
    finally:
        emu.stop()


def test_simulate_is_seeded_and_uses_every_outcome(backend: Backend) -> None:
    def run(seed: int) -> list[tuple[int, str]]:
        fresh = Backend(clock=ManualClock(), seed=11)
        for mode, fields in (
            ("axb", {"callerNum": A, "calleeNum": B}),
            ("axe", {"bindNum": A, "areaCode": "0755"}),
        ):
            app = fresh.add_app(mode)
            fresh.handle(app.app_key, f"{mode}.bind", Params(fields))
        return [(c.release, c.outcome) for c in fresh.simulate(400, seed=seed)]

    first = run(5)
    assert first == run(5) and first != run(6)
    assert {o for _, o in first} <= set(OUTCOMES)
    assert {"answered", "busy", "no-answer", "rejected", "caller-abandoned"} <= {
        o for _, o in first
    }
    with pytest.raises(EmulatorError):
        Backend().simulate(3)


def test_stop_call_rewrites_a_live_call() -> None:
    from toolkit.emulator import Emulator

    emu = Emulator("axb", time_scale=1.0, seed=2)  # real time: the call stays live
    try:
        out = emu.client().axb.bind(A, B)
        placed = emu.place_call(A, out["relationNum"], outcome="answered", talk_seconds=3600)
        emu.stop_call(placed["sessionId"])
        cdr = emu.cdr(placed["sessionId"])
        evs = emu.events(placed["sessionId"])
        assert evs[-1]["statusInfo"]["stateCode"] == 8017 and cdr["ulFailReason"] == 8017
        assert cdr["callEndTime"] and "fwdAnswerTime" not in cdr  # stopped before the answer
        assert emu.wait_idle(5)
        with pytest.raises(Exception, match="1012007"):
            emu.stop_call(placed["sessionId"])  # already ended
    finally:
        emu.stop()


def test_simulate_spreads_calls_over_past_days_busier_by_day() -> None:
    clock = ManualClock()
    fresh = Backend(clock=clock, seed=3)
    app = fresh.add_app("axb")
    fresh.handle(app.app_key, "axb.bind", Params({"callerNum": A, "calleeNum": B}))
    now = clock()
    calls = fresh.simulate(2000, seed=9, span=7 * 86_400)
    starts = [c.start for c in calls]
    assert starts == sorted(starts)
    assert now - 7 * 86_400 < min(starts) and max(starts) <= now
    assert max(starts) - min(starts) > 6 * 86_400
    beijing_hours = [int((t + 8 * 3600) // 3600) % 24 for t in starts]
    night = sum(h in (1, 2, 3, 4) for h in beijing_hours)
    evening = sum(h in (18, 19, 20, 21) for h in beijing_hours)
    assert evening > 4 * night
    # CDR times follow the backdated start
    assert calls[0].cdr["callInTime"] == time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(starts[0]))
    with pytest.raises(EmulatorError):
        fresh.simulate(1, span=-1)
