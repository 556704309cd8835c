"""decode, explain and classify: documented examples, bad input, and vectorised == scalar."""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.codes import (
    FAMILIES,
    OUTCOMES,
    classify,
    classify_frame,
    decode,
    decode_series,
    explain,
    explain_push,
)

ANSWER = "2024-03-01 02:15:09"


# --- decode -------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [8102, "8102", " 8102 ", 8102.0, "8102.0", np.int64(8102)])
def test_decode_accepts_every_spelling_of_a_code(raw: object) -> None:
    info = decode(raw, "pn_release")
    assert (info.known, info.code, info.category, info.raw) == (True, 8102, "callee-busy", raw)
    assert info.chinese == "被叫用户正忙"


@pytest.mark.parametrize("raw", [None, float("nan"), "", "  ", pd.NA, "nan"])
def test_missing_codes_are_not_applicable(raw: object) -> None:
    info = decode(raw, "q850")
    assert not info.known and not info.applicable and info.code is None
    assert "not applicable" in info.meaning


@pytest.mark.parametrize(
    "raw", ["busy", -17, 17.5, float("inf"), True, [17], "\uff11\uff17"]
)  # full-width digits
def test_garbage_is_unknown_and_keeps_the_raw_value(raw: object) -> None:
    info = decode(raw, "q850")
    assert not info.known and info.applicable and info.raw is raw
    assert info.meaning.startswith("unknown code")


def test_unlisted_code_is_unknown_with_its_number() -> None:
    info = decode(45, "q850")  # not listed by Huawei: unknown, per hangup-codes.md
    assert (info.known, info.code, info.meaning) == (False, 45, "unknown code 45")


def test_unknown_family_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="pn_release"):
        decode(8102, "pn_relase")


def test_codes_decode_and_explain_are_the_functions_not_modules() -> None:
    # The submodules once shared the functions' names, so ``import toolkit.codes.decode`` gave a
    # function in one place and a module in another. Now each name means one thing.
    import toolkit.codes

    for name, module in (("decode", "decoding"), ("explain", "explaining")):
        function = getattr(toolkit.codes, name)
        assert callable(function) and function.__name__ == name
        assert getattr(importlib.import_module(f"toolkit.codes.{module}"), name) is function
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"toolkit.codes.{name}")


codes_of_any_kind = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.none(),
    st.binary(max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(raw=codes_of_any_kind, family=st.sampled_from(FAMILIES))
def test_decode_never_raises(raw: object, family: str) -> None:
    info = decode(raw, family)
    assert info.family == family and isinstance(info.meaning, str) and info.meaning
    assert info.known == bool(info.category)


# --- documented examples ------------------------------------------------------------------------


def fee(**fields: Any) -> dict[str, Any]:
    """A FeeInfo as pushed, with the fields of a call that reached the forward leg."""
    base = {"sessionId": "s-1", "callerNum": "+8613800000001", "subscriptionId": "sub-1"}
    return base | fields


EXAMPLES = [
    # (cdr, outcome, text fragment)
    (
        fee(ulFailReason=8102, fwdUnaswRsn=17, sipStatusCode=486),
        "busy",
        "Callee busy (release 8102, Q.850 17 user busy, SIP 486)",
    ),
    (fee(ulFailReason=8101, fwdUnaswRsn=19), "no-answer", "Callee did not answer"),
    (fee(ulFailReason=8014, subscriptionId=""), "not-bound", "No binding for this call"),
    (fee(ulFailReason=8013), "not-bound", "no callee was set (release 8013)"),
    (fee(ulFailReason=7001), "throttled", "developer account"),
    (fee(ulFailReason=7002, fwdUnaswRsn=0), "throttled", "release 7002"),
    (fee(ulFailReason=8010, fwdAnswerTime=ANSWER), "answered", "maximum call duration"),
    (
        fee(ulFailReason=0, fwdUnaswRsn=0, sipStatusCode=0, fwdAnswerTime=ANSWER),
        "answered",
        "Answered, then ended normally (release 0)",
    ),
    (fee(ulFailReason=7502), "caller-abandoned", "while the callee was ringing"),
    (fee(ulFailReason=8104, fwdUnaswRsn=20), "unreachable", "powered off"),
    (fee(ulFailReason=7503, fwdUnaswRsn=21), "rejected", "rejected"),
    (fee(ulFailReason=8011), "error", "internal error"),
]


@pytest.mark.parametrize(("cdr", "outcome", "fragment"), EXAMPLES)
def test_documented_examples(cdr: dict[str, Any], outcome: str, fragment: str) -> None:
    explanation = explain(cdr)
    assert explanation.outcome == outcome == classify(cdr)
    assert fragment.lower() in explanation.text.lower()


def test_unbound_x_reads_differently_from_a_bound_8014() -> None:
    unbound = explain(fee(ulFailReason=8014, subscriptionId=""))
    bound = explain(fee(ulFailReason=8014))
    assert "empty subscriptionId" in unbound.text and "empty subscriptionId" not in bound.text
    assert unbound.outcome == bound.outcome == "not-bound"
    assert unbound.actor == "customer-config" and unbound.driver == "ulFailReason"


def test_store_rows_and_platform_dicts_agree() -> None:
    platform = fee(ulFailReason=8102, fwdUnaswRsn=17, sipStatusCode=486)
    store = {"ul_fail_reason": 8102, "fwd_unasw_rsn": 17, "sip_status_code": 486}
    assert explain(platform).text == explain(store).text


def test_disagreeing_fields_are_named() -> None:
    explanation = explain(fee(ulFailReason=8102, fwdUnaswRsn=18))
    assert explanation.outcome == "busy" and explanation.driver == "ulFailReason"
    assert explanation.disagreeing == ("fwdUnaswRsn",)
    assert "decided by ulFailReason (fwdUnaswRsn 18 suggests no answer)" in explanation.text


def test_q850_decides_when_the_release_code_is_unknown() -> None:
    explanation = explain(fee(ulFailReason=4242, fwdUnaswRsn=17))
    assert (explanation.outcome, explanation.driver) == ("busy", "fwdUnaswRsn")
    assert "release 4242 unknown" in explanation.text


def test_answer_time_beats_a_party_code_but_not_a_platform_cut() -> None:
    assert classify(fee(ulFailReason=8102, fwdAnswerTime=ANSWER)) == "answered"
    assert classify(fee(ulFailReason=8044, fwdAnswerTime=ANSWER)) == "throttled"


def test_normal_release_without_answer_time_is_not_trusted_for_privatenumber() -> None:
    # spec 10.2: success needs fwdAnswerTime; VoiceCall notify calls never carry one
    assert classify(fee(ulFailReason=0)) == "error"
    assert classify(fee(ulFailReason=0), product="voicecall") == "answered"
    assert classify(fee(ulFailReason=8017)) == "not-bound"  # X-mode "close" reply


def test_voicecall_codes_use_the_voicecall_tables() -> None:
    # 518 "remote call failed, see Q.850": the Q.850 cause decides
    explanation = explain({"ul_fail_reason": 518, "fwd_unasw_rsn": 17, "product": "voicecall"})
    assert (explanation.outcome, explanation.driver) == ("busy", "fwdUnaswRsn")
    assert explanation.disagreeing == ()
    assert classify({"ulFailReason": 518}, product="voicecall") == "error"
    assert classify({"ulFailReason": 486}, product="voicecall") == "busy"  # SIP pass-through


@pytest.mark.parametrize(
    ("event", "outcome"),
    [
        ({"eventType": "disconnect", "statusInfo": {"stateCode": 0}}, "answered"),
        ({"eventType": "disconnect", "statusInfo": {"stateCode": 8102}}, "busy"),
        ({"stateCode": 8013, "stateDesc": "..."}, "not-bound"),
        ({"stateCode": 7003}, "throttled"),
        ({"stateCode": 8010}, "answered"),
    ],
)
def test_disconnect_events(event: dict[str, Any], outcome: str) -> None:
    explanation = explain(event)
    assert explanation.outcome == outcome
    assert explanation.driver == "stateCode"


def test_voicecall_event_uses_the_voicecall_state_table() -> None:
    assert "leg A" in explain({"stateCode": 8108}, product="voicecall").text
    assert explain({"stateCode": 8108}).outcome == "error"  # not a PrivateNumber code


def test_explain_push_handles_every_body_shape() -> None:
    body = {"eventType": "fee", "feeLst": [fee(ulFailReason=8102), fee(ulFailReason=7001)]}
    assert [e.outcome for e in explain_push(body)] == ["busy", "throttled"]
    assert explain_push({"eventType": "answer", "statusInfo": {}}) == []
    assert len(explain_push([body, {"eventType": "disconnect", "statusInfo": {"stateCode": 0}}]))
    with pytest.raises(ValueError, match="explain_push"):
        explain(body)


fields = st.fixed_dictionaries(
    {},
    optional={
        "ulFailReason": codes_of_any_kind,
        "fwdUnaswRsn": codes_of_any_kind,
        "sipStatusCode": codes_of_any_kind,
        "fwdAnswerTime": st.one_of(st.none(), st.text(max_size=5), st.floats()),
        "subscriptionId": st.one_of(st.none(), st.text(max_size=5)),
        "stateCode": codes_of_any_kind,
    },
)


@settings(max_examples=300, deadline=None)
@given(record=fields, product=st.sampled_from(["privatenumber", "voicecall", None]))
def test_explain_and_classify_never_raise(record: dict[str, Any], product: str | None) -> None:
    explanation = explain(record, product)
    assert explanation.outcome in OUTCOMES and explanation.text
    assert classify(record, product) == explanation.outcome


# --- vectorised == scalar -----------------------------------------------------------------------

table_codes = st.sampled_from(
    [0, 17, 18, 21, 486, 487, 480, 518, 7001, 7502, 8001, 8010, 8013, 8014, 8017, 8102, 8104]
)
column_values = st.one_of(table_codes, st.none(), st.integers(-5, 9000), st.just(math.nan))
rows = st.fixed_dictionaries(
    {
        "ul_fail_reason": column_values,
        "fwd_unasw_rsn": column_values,
        "sip_status_code": column_values,
        "fwd_answer_time": st.one_of(st.none(), st.integers(1_700_000_000, 1_800_000_000)),
        "product": st.sampled_from(["privatenumber", "voicecall"]),
        # what decides whether a VoiceCall callOut answer time counts (toolkit.schema.ONE_LEG)
        "call_out_answer_time": st.one_of(st.none(), st.integers(1_700_000_000, 1_800_000_000)),
        "service_type": st.sampled_from([None, "001", "002"]),
        "fwd_start_time": st.one_of(st.none(), st.integers(1_700_000_000, 1_800_000_000)),
    }
)


@settings(max_examples=60, deadline=None)
@given(sample=st.lists(rows, min_size=1, max_size=40), as_text=st.booleans())
def test_classify_frame_matches_classify(sample: list[dict[str, Any]], as_text: bool) -> None:
    frame = pd.DataFrame(sample)
    if as_text:  # codes that arrive as strings take the object-column path
        for column in ("ul_fail_reason", "fwd_unasw_rsn", "sip_status_code"):
            frame[column] = [None if v is None else str(v) for v in frame[column]]
    vector = classify_frame(frame)
    scalar = [classify(row) for row in frame.to_dict("records")]
    assert list(vector) == scalar
    assert list(vector.cat.categories) == list(OUTCOMES)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(table_codes, st.none(), st.integers(-5, 2**40)), max_size=30),
    family=st.sampled_from(FAMILIES),
)
def test_decode_series_matches_decode(values: list[object], family: str) -> None:
    frame = decode_series(pd.Series(values, dtype=object), family)
    for value, (_, row) in zip(values, frame.iterrows(), strict=True):
        info = decode(value, family)
        assert (row["known"], row["category"], row["actor"]) == (
            info.known,
            info.category,
            info.actor,
        )
        if info.known:
            assert row["meaning"] == info.meaning and row["code"] == info.code


def test_decode_series_keeps_the_index_and_the_raw_values() -> None:
    series = pd.Series([8102, None, 99999, 7001.0], index=list("abcd"))
    frame = decode_series(series, "pn_release")
    assert list(frame.index) == list("abcd")
    assert list(frame["known"]) == [True, False, False, True]
    assert frame.loc["b", "meaning"] == "not applicable (no code)"
    assert frame.loc["c", "meaning"] == "unknown code" and frame.loc["c", "code"] == 99999
    assert frame["category"].dtype == "category"


def test_classify_frame_without_optional_columns() -> None:
    frame = pd.DataFrame({"ul_fail_reason": [8102, 0], "fwd_answer_time": [None, 1_700_000_000]})
    assert list(classify_frame(frame)) == ["busy", "answered"]


def test_sip_480_agrees_with_both_no_answer_and_powered_off() -> None:
    # Carriers send 480 for callees who do not answer and for callees who are off: it must not
    # contradict either, and decides only when nothing else does.
    off = explain({"ulFailReason": 8104, "fwdUnaswRsn": 20, "sipStatusCode": 480})
    silent = explain({"ulFailReason": 8101, "fwdUnaswRsn": 19, "sipStatusCode": 480})
    assert (off.outcome, off.disagreeing) == ("unreachable", ())
    assert (silent.outcome, silent.disagreeing) == ("no-answer", ())
    alone = explain({"sipStatusCode": 480})
    assert (alone.outcome, alone.driver) == ("no-answer", "sipStatusCode")
