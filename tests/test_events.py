"""Typed push records: parsing each documented push, tolerance, times, errors, masking.

The pushes are built by ``builders`` (``fee_info``, ``fee_body``, ``event_body``...), shaped like
the spec's examples.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from builders import (
    CALLEE,
    CALLER,
    SESSION,
    X,
    busy_info,
    event_body,
    fee_body,
    fee_info,
    num_body,
    sms_body,
    voice_fee_info,
)

from toolkit import events as ev
from toolkit.errors import PushFormatError, ToolkitError

UTC = timezone.utc


def test_fee_push_parses_every_documented_field() -> None:
    push = ev.parse_push(fee_body(fee_info(1), busy_info(2)))
    assert isinstance(push, ev.FeePush)
    answered, busy = push.cdrs
    assert answered.session_id == f"{SESSION}-1"
    assert answered.fwd_answer_time == datetime(2024, 3, 1, 2, 15, 9, tzinfo=UTC)
    assert answered.call_end_time.tzinfo is not None
    assert answered.record_flag == 1 and answered.service_type == "004"
    assert answered.product == "privatenumber"
    assert answered.answered and answered.talk_seconds == 151 and answered.ring_seconds == 4
    assert not busy.answered and busy.talk_seconds is None and busy.billed_minutes == 0
    assert (answered.billed_minutes, answered.outcome, busy.outcome) == (3, "answered", "busy")
    assert (busy.ul_fail_reason, busy.fwd_unasw_rsn, busy.sip_status_code) == (8102, 17, 486)
    assert busy.fwd_answer_time is None and busy.ring_seconds == 7
    # every FeeInfo field in the tables maps to an attribute of Cdr
    names = {f for f in ev.Cdr.__dataclass_fields__}
    assert {attr for attr, _ in ev.FEE_FIELDS.values()} <= names


def test_voicecall_cdr_is_recognised_and_keeps_its_fields() -> None:
    push = ev.parse_push(fee_body(voice_fee_info(dynIVRPath="0-2-3")))
    cdr = push.cdrs[0]
    assert cdr.product == "voicecall"
    assert cdr.call_out_answer_time == datetime(2019, 1, 24, 3, 4, 31, tzinfo=UTC)
    assert cdr.dyn_ivr_path == "0-2-3" and cdr.user_data == "order-42"


def test_unknown_fields_are_kept_and_missing_optional_ones_tolerated() -> None:
    info = {"sessionId": "s-1", "vendorField": {"a": 1}, "callerNum": CALLER}
    cdr = ev.parse_push(fee_body(info)).cdrs[0]
    assert cdr.extra == {"vendorField": {"a": 1}}
    assert cdr.icid is None and cdr.call_end_time is None and cdr.ring_seconds is None
    assert cdr.raw == info


@pytest.mark.parametrize(
    ("event_type", "cls"),
    [
        ("callin", ev.CallIn),
        ("callout", ev.CallOut),
        ("alerting", ev.Alerting),
        ("answer", ev.Answer),
        ("collectInfo", ev.CollectInfo),
        ("disconnect", ev.Disconnect),
        ("somethingNew", ev.CallEvent),
    ],
)
def test_call_events_are_typed_by_event_type(event_type: str, cls: type) -> None:
    event = ev.parse_push(event_body(event_type, stateCode=0, digitInfo="12"))
    assert type(event) is cls
    assert event.event_type == event_type
    assert event.timestamp == datetime(2024, 3, 1, 2, 15, 9, tzinfo=UTC)
    assert event.state_code == 0 and event.digit_info == "12"


def test_block_callin_is_recognised() -> None:
    event = ev.parse_push(event_body("callin", notifyMode="Block", subscriptionId=None))
    assert event.is_block
    assert not ev.parse_push(event_body("callin", notifyMode="Notify")).is_block


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-01-24 02:30:22", datetime(2019, 1, 24, 2, 30, 22, tzinfo=UTC)),
        (1548297022, datetime(2019, 1, 24, 2, 30, 22, tzinfo=UTC)),
        ("1548297022", datetime(2019, 1, 24, 2, 30, 22, tzinfo=UTC)),
        (1548297022500, datetime(2019, 1, 24, 2, 30, 22, 500000, tzinfo=UTC)),
        ("2019-01-24T02:30:22.450Z", datetime(2019, 1, 24, 2, 30, 22, 450000, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("next tuesday", None),
    ],
)
def test_times_become_utc_datetimes(value: Any, expected: datetime | None) -> None:
    assert ev.parse_time(value) == expected
    event = ev.parse_push(event_body(timestamp=value))
    assert event.timestamp == expected


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01 00:00:00+14:00",  # year 0 once converted to UTC
        "9999-12-31 23:59:59-14:00",  # year 10000
        "1999-12-31 23:59:59",
        "2100-01-01 00:00:00",
        "2024-03-01 02:15:09+23:59",  # the largest offset Python reads, still a real time...
        -5,
        10**20,
        1e300,
        float("nan"),
        float("inf"),
        "9" * 400,  # float() reads it as infinity
        "1" + "0" * 17,  # milliseconds past the year 5000
    ],
)
def test_readable_times_outside_2000_to_2100_are_refused_naming_the_field(value: Any) -> None:
    if value == "2024-03-01 02:15:09+23:59":  # ...so it is accepted, converted to UTC
        cdr = ev.parse_push(fee_body(fee_info(callEndTime=value))).cdrs[0]
        assert cdr.call_end_time == datetime(2024, 2, 29, 2, 16, 9, tzinfo=UTC)
        return
    for body, field in (
        (fee_body(fee_info(callEndTime=value)), "feeLst[0].callEndTime"),
        (event_body(timestamp=value), "statusInfo.timestamp"),
        (sms_body(timeStamp=value), "smsEvent.timeStamp"),
    ):
        with pytest.raises(ev.PushFormatError, match="2000-2100") as info:
            ev.parse_push(body)
        assert info.value.field == field
    with pytest.raises(ev.PushFormatError):
        ev.parse_time(value)


@pytest.mark.parametrize("value", [0, 0.0, "0", "2024-03-01 02:15:09+99:00", "2024-13-01"])
def test_zero_and_unreadable_times_are_absent_not_refused(value: Any) -> None:
    # Tolerant choices: 0 is a numeric clock's "no time"; a string we cannot read may be a format
    # the platform uses that we do not know, and refusing it would lose the push for good.
    assert ev.parse_time(value) is None
    assert ev.parse_push(fee_body(fee_info(callEndTime=value))).cdrs[0].call_end_time is None


def test_sms_push_parses_notify_and_block() -> None:
    notify = ev.parse_push(sms_body())
    assert isinstance(notify, ev.SmsNotify) and not notify.is_block
    assert notify.time_stamp == datetime(2024, 3, 1, 2, 20, 16, 450000, tzinfo=UTC)
    assert notify.ext_paras == {"splitNum": "1", "direction": "1"}
    assert notify.send_result == 2 and notify.app_key == "AbCdEf0123456789"
    block = ev.parse_push(sms_body("Block", called=None))
    assert isinstance(block, ev.SmsBlock) and block.is_block and block.called is None


def test_sms_ext_paras_values_are_always_text() -> None:
    # A number where the spec shows text, or no value at all, still gives the documented str.
    paras = [{"key": "splitNum", "value": 2}, {"key": "direction"}, {"key": "x", "value": None}]
    sms = ev.parse_push(sms_body(extInfo={"extParas": paras}))
    assert isinstance(sms, ev.SmsEvent)
    assert sms.ext_paras == {"splitNum": "2", "direction": "", "x": ""}


def test_num_status_push() -> None:
    push = ev.parse_push(num_body((X, "10", "2"), ("+8617000000004", "5", None)))
    assert [(n.number, n.status, n.cause) for n in push.numbers] == [
        (X, "10", "2"),
        ("+8617000000004", "5", None),
    ]


def test_parse_push_accepts_json_text() -> None:
    assert isinstance(ev.parse_push(json.dumps(fee_body(fee_info()))), ev.FeePush)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([1, 2], None),
        ({"hello": "world"}, None),
        ({"eventType": "fee"}, "feeLst"),
        (fee_body(*[fee_info(i) for i in range(51)]), "feeLst"),
        ({"eventType": "fee", "feeLst": "x"}, "feeLst"),
        (fee_body(fee_info(direction="up")), "feeLst[0].direction"),
        (fee_body(fee_info(direction=True)), "feeLst[0].direction"),
        (fee_body(fee_info(callerNum=["+86"])), "feeLst[0].callerNum"),
        (fee_body(fee_info(callEndTime={"t": 1})), "feeLst[0].callEndTime"),
        (fee_body(fee_info(ulFailReason=10**30)), "feeLst[0].ulFailReason"),
        (fee_body(fee_info(), "not an object"), "feeLst[1]"),
        ({"eventType": 7, "statusInfo": {}}, "eventType"),
        ({"eventType": "answer", "statusInfo": "x"}, "statusInfo"),
        (sms_body(sendResult="two"), "smsEvent.sendResult"),
        ({"eventType": "numStatus", "numInfo": [{"number": X}] * 101}, "numInfo"),
        (b"{not json", None),
    ],
)
def test_unrecognised_or_mistyped_bodies_raise_push_format_error(body: Any, field: Any) -> None:
    with pytest.raises(ev.PushFormatError) as info:
        ev.parse_push(body)
    assert info.value.field == field
    assert isinstance(info.value, ToolkitError) and isinstance(info.value, ValueError)


def test_tolerated_spellings() -> None:
    cdr = ev.parse_push(fee_body(fee_info(direction="1", ulFailReason=8102.0, serviceType=4)))
    assert (cdr.cdrs[0].direction, cdr.cdrs[0].ul_fail_reason) == (1, 8102)
    assert cdr.cdrs[0].service_type == "4"
    assert ev.parse_push(fee_body()).cdrs == ()  # empty feeLst carries nothing but is harmless


def test_reprs_mask_numbers_and_hide_sms_text() -> None:
    texts = [
        repr(ev.parse_push(fee_body(fee_info(extraNumber=CALLEE))).cdrs[0]),
        repr(ev.parse_push(event_body())),
        repr(ev.parse_push(sms_body())),
        repr(ev.parse_push(num_body((X, "5", None)))),
    ]
    for text in texts:
        for number in (CALLER, X, CALLEE):
            assert number not in text
    assert "+86138****0001" in texts[0] and "+86139****0002" in texts[0]
    assert "see you" not in texts[2] and "12 characters" in texts[2]


def test_product_detection_by_shape() -> None:
    assert ev.detect_product(fee_body(fee_info())) == "privatenumber"
    assert ev.detect_product(fee_body(voice_fee_info())) == "voicecall"
    assert ev.detect_product(fee_body(voice_fee_info(), fee_info())) == "privatenumber"
    assert ev.detect_product(event_body("callin", subscriptionId=None)) == "privatenumber"
    assert ev.detect_product(event_body(subscriptionId=None)) is None
    assert ev.detect_product(event_body(subscriptionId=None, partyType="1")) == "voicecall"
    assert ev.detect_product(sms_body()) == "privatenumber"


def test_dedupe_keys() -> None:
    cdr = ev.parse_push(fee_body(fee_info(3))).cdrs[0]
    assert cdr.dedupe_key == "pn:u:icid:ba171f34e6953fcd751edc77127748f4.3"
    no_icid = ev.parse_push(fee_body(fee_info(3, icid=None))).cdrs[0]
    assert no_icid.dedupe_key == f"pn:u:session:{SESSION}-3"
    a = ev.parse_push(event_body("callout", caller="+8675528888888", called=CALLER))
    b = ev.parse_push(event_body("callout", caller="+8675528888888", called=CALLEE))
    assert a.dedupe_key != b.dedupe_key  # two legs called in the same second stay apart


def test_dedupe_keys_carry_product_and_trust() -> None:
    # The same call ids under another product or trust level can never collide.
    cdr = ev.parse_push(fee_body(fee_info(3))).cdrs[0]
    event = ev.parse_push(event_body("answer"))
    sms = ev.parse_push(sms_body())
    for record in (cdr, event):
        variants = {
            dataclasses.replace(record, product=p, verified=v).dedupe_key
            for p in ("privatenumber", "voicecall")
            for v in (False, True)
        }
        assert len(variants) == 4
    assert dataclasses.replace(cdr, verified=True).dedupe_key.startswith("pn:v:icid:")
    assert dataclasses.replace(cdr, product="voicecall").dedupe_key.startswith("vc:u:icid:")
    assert sms.dedupe_key != dataclasses.replace(sms, verified=True).dedupe_key


@pytest.mark.parametrize("text", ["²", "1²", "٣", "+²"])
def test_unicode_digits_are_a_format_error_not_a_crash(text: str) -> None:
    # str.isdigit() is true for "²", which int() and float() refuse with a bare ValueError.
    with pytest.raises(PushFormatError):
        ev.to_int(text, "callDuration")
    assert ev.to_epoch(text, "callEndTime") is None  # an unknown time format, as for any text
