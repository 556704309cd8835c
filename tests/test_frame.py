"""cdr_frame: sources, dtypes, derived columns, masking, mode inference and filters."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pandas as pd
import pytest
from builders import X1, X2, fee, push, small_day

from toolkit import store_reader
from toolkit.codes import OUTCOMES, classify
from toolkit.errors import ValidationError
from toolkit.frame import COLUMNS, DEFAULT_COLUMNS, cdr_frame
from toolkit.store import Store

DTYPES = {
    "seq": "Int64",
    "product": "category",
    "mode": "category",
    "direction": "category",
    "bind_num": "category",
    "subscription_id": "category",
    "start_time": "datetime64[s, UTC]",
    "fwd_alerting_time": "datetime64[s, UTC]",
    "fwd_answer_time": "datetime64[s, UTC]",
    "call_end_time": "datetime64[s, UTC]",
    "ul_fail_reason": "Int64",
    "fwd_unasw_rsn": "Int64",
    "sip_status_code": "Int64",
    "ring_seconds": "Int64",
    "talk_seconds": "Int64",
    "billed_minutes": "Int64",
    "outcome": "category",
    "category": "category",
    "cause": "category",
}


def voice_fee(**fields: Any) -> dict[str, Any]:
    """A VoiceCall FeeInfo (click-to-call service type unless overridden)."""
    info: dict[str, Any] = {
        "direction": 0,
        "spId": "sp",
        "appKey": "vc",
        "bindNum": "+8675528000001",
        "sessionId": "voice-1",
        "callerNum": "+8675528000001",
        "calleeNum": "+8613800000001",
        "serviceType": "002",
    }
    info.update(fields)
    return info


@pytest.fixture
def store(store: Store) -> Store:
    """The shared temporary store, holding the four calls of ``small_day``."""
    store.add(push(*small_day()))
    return store


def test_default_columns_and_dtypes(store):
    df = cdr_frame(store)
    assert tuple(df.columns) == DEFAULT_COLUMNS
    assert {c: str(t) for c, t in df.dtypes.items()} == DTYPES
    assert list(df["outcome"].cat.categories) == list(OUTCOMES)
    assert list(df["seq"]) == sorted(df["seq"])


def test_empty_sources_keep_the_dtypes(tmp_path):
    with Store(tmp_path / "empty.sqlite3") as empty:
        for source in ([], empty):
            df = cdr_frame(source)
            assert len(df) == 0
            assert {c: str(t) for c, t in df.dtypes.items()} == DTYPES


@pytest.mark.parametrize(("talk", "minutes"), [(0, 0), (59, 1), (60, 1), (61, 2), (3600, 60)])
def test_billed_minutes_round_every_started_minute_up(talk, minutes):
    df = cdr_frame(fee(talk=talk))
    assert df.loc[0, "talk_seconds"] == talk
    assert df.loc[0, "billed_minutes"] == minutes
    assert df.loc[0, "outcome"] == "answered"


def test_unanswered_calls_cost_nothing_and_have_no_talk_time():
    df = cdr_frame([fee(talk=None, ring=12), fee(1, talk=None, ring=None)])
    assert list(df["billed_minutes"]) == [0, 0]
    assert df["talk_seconds"].isna().all()
    assert df.loc[0, "ring_seconds"] == 12  # alerting -> end of the unanswered call
    assert pd.isna(df.loc[1, "ring_seconds"])  # never rang


def test_ring_ends_at_the_answer():
    assert cdr_frame(fee(ring=7, talk=100)).loc[0, "ring_seconds"] == 7


def test_missing_end_time_or_negative_duration_is_not_a_number():
    answered_no_end = fee(talk=30, callEndTime=None)
    backwards = fee(1, talk=30, callEndTime="2024-03-01 01:00:00")  # before the answer
    df = cdr_frame([answered_no_end, backwards])
    assert df["talk_seconds"].isna().all()
    assert df["billed_minutes"].isna().all()
    assert list(df["outcome"]) == ["answered", "answered"]


def test_numbers_are_masked_unless_raw_is_asked_for(store):
    cols = ["bind_num", "caller_num", "fwd_dst_num"]
    masked = cdr_frame(store, columns=cols)
    assert set(masked["bind_num"].astype(str)) == {"+86170****0001", "+86170****0002"}
    assert masked["caller_num"].iloc[0] == "+86138****0001"
    assert not masked.astype(str).apply(lambda c: c.str.contains(X1[3:])).any().any()
    raw = cdr_frame(store, columns=cols, raw_numbers=True)
    assert set(raw["bind_num"].astype(str)) == {X1, X2}
    assert raw["fwd_dst_num"].iloc[0] == "+8613900000002"


def test_numbers_that_mask_alike_share_one_category():
    df = cdr_frame([fee(0), fee(1, bindNum="+8617011110001")])
    assert list(df["bind_num"]) == ["+86170****0001", "+86170****0001"]
    assert list(df["bind_num"].cat.categories) == ["+86170****0001"]


def test_display_zone_converts_every_timestamp():
    df = cdr_frame(fee(), tz="Asia/Shanghai", columns="all")
    times = [c for c, spec in COLUMNS.items() if spec.kind == "time"]
    assert all(str(df[c].dtype) == "datetime64[s, Asia/Shanghai]" for c in times)
    assert df.loc[0, "start_time"].hour == 10  # 02:00 UTC
    assert df.loc[0, "start_time"] == pd.Timestamp("2024-03-01 02:00", tz="UTC")


def test_all_columns_and_a_chosen_order():
    everything = cdr_frame(small_day(), columns="all")
    assert tuple(everything.columns) == tuple(COLUMNS)
    assert str(everything["record_flag"].dtype) == "boolean"
    assert str(everything["session_id"].dtype) == "str"
    picked = cdr_frame(small_day(), columns=["outcome", "bind_num"])
    assert list(picked.columns) == ["outcome", "bind_num"]
    assert list(picked["outcome"]) == ["answered", "answered", "busy", "no-answer"]


def test_outcome_category_and_cause_come_from_the_decoder():
    unknown = fee(9, talk=None, ulFailReason=99999, fwdUnaswRsn=None, sipStatusCode=None)
    no_codes = fee(10, talk=None, ulFailReason=None, fwdUnaswRsn=None, sipStatusCode=None)
    q850_only = fee(11, talk=None, ulFailReason=None, fwdUnaswRsn=17, sipStatusCode=None)
    df = cdr_frame([*small_day(), unknown, no_codes, q850_only])
    assert list(df["outcome"]) == [
        "answered",
        "answered",
        "busy",
        "no-answer",
        "error",
        "error",
        "busy",
    ]
    assert list(df["category"].astype(object).fillna("-")) == [
        "normal",
        "normal",
        "callee-busy",
        "no-answer",
        "-",
        "-",
        "callee-busy",
    ]
    causes = list(df["cause"].astype(str))
    assert causes[:3] == ["answered", "answered", "8102 Callee busy"]
    assert causes[3].startswith("8101 ")
    assert causes[4:6] == ["99999 unknown code 99999", "no cause given"]
    assert causes[6].startswith("Q.850 17 ")


def test_outcomes_agree_with_the_scalar_classifier(store):
    rows = store.cdrs()
    df = cdr_frame(store)
    assert list(df["outcome"]) == [classify(r) for r in rows]


def test_mode_is_inferred_where_the_cdr_shows_it():
    voice = voice_fee(callEndTime="2024-03-01 02:00:00", serviceType="001")
    infos = [fee(0), fee(1, notifyMode="Block"), fee(2, extendNum="123"), voice]
    df = cdr_frame(infos)
    assert list(df["mode"].astype(object).fillna("?")) == ["?", "X", "AXE", "VoiceCall"]
    assert list(df["product"]) == ["privatenumber"] * 3 + ["voicecall"]
    assert df.loc[3, "start_time"] == pd.Timestamp("2024-03-01 02:00", tz="UTC")
    mapped = cdr_frame(infos, app_modes={"AppKey0001": "axb"})
    assert list(mapped["mode"].astype(str)) == ["AXB", "AXB", "AXB", "VoiceCall"]


def test_unknown_mode_in_app_modes_is_refused():
    with pytest.raises(ValidationError, match="app_modes"):
        cdr_frame([fee()], app_modes={"AppKey0001": "AXZ"})


def test_direction_labels_per_product():
    voice = voice_fee(direction=1)
    df = cdr_frame(
        [fee(0, direction=0), fee(1, direction=1), fee(2, direction=2), fee(3, direction=7), voice]
    )
    assert list(df["direction"].astype(object).fillna("?")) == [
        "to-A",
        "from-A",
        "abnormal",
        "?",
        "callback",
    ]


def test_sources_store_path_bodies_json_and_json_lines(store, tmp_path):
    expected = cdr_frame(store)
    as_json = tmp_path / "cdrs.json"
    as_json.write_text(json.dumps([push(*small_day())]))
    as_lines = tmp_path / "cdrs.jsonl"
    as_lines.write_text("\n".join(json.dumps(i) for i in small_day()))
    for source in (store.path, push(*small_day()), small_day(), as_json, str(as_lines)):
        pd.testing.assert_frame_equal(cdr_frame(source), expected, check_categorical=False)


def test_time_filters_read_naive_times_in_the_display_zone(store):
    beijing = cdr_frame(store, start="2024-03-01 10:30", end="2024-03-01 11:05", tz="Asia/Shanghai")
    assert list(beijing["seq"]) == list(cdr_frame(store)["seq"])[1:3]
    utc = cdr_frame(store, start=pd.Timestamp("2024-03-01 03:00", tz="UTC"))
    assert len(utc) == 2


def test_x_number_and_outcome_filters(store):
    assert len(cdr_frame(store, bind_num=X1)) == 3
    assert len(cdr_frame(store, bind_num="170 0000 0002")) == 1  # typed the way people do
    assert len(cdr_frame(store, bind_num=[X1, X2])) == 4
    assert len(cdr_frame(store, bind_num=[])) == 0
    assert list(cdr_frame(store, outcome="answered")["outcome"]) == ["answered"] * 2
    assert list(cdr_frame(store, outcome=["busy", "no-answer"])["outcome"]) == ["busy", "no-answer"]


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"columns": ["nope"]}, "columns"),
        ({"outcome": "lost"}, "outcome"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"start": "not a date"}, "start"),
        ({"app_modes": {"k": "vc"}}, "app_modes"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, param):
    with pytest.raises(ValidationError) as info:
        cdr_frame([fee()], **kwargs)
    assert info.value.param == param


def test_a_closed_temporary_store():
    gone = Store()
    gone.close()
    with pytest.raises(ValidationError, match="does not exist"):
        cdr_frame(gone)


def test_paths_that_are_not_stores(tmp_path):
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    for path in (other, tmp_path / "missing.db"):
        with pytest.raises(ValidationError, match="source"):
            cdr_frame(path)
    with pytest.raises(ValidationError, match="source"):
        cdr_frame(42)


def test_malformed_cdrs_are_skipped_with_a_warning():
    bad = fee(5, direction="sideways")
    with pytest.warns(UserWarning, match="skipped 1 malformed"):
        df = cdr_frame([push(fee(0), bad, fee(1))])
    assert list(df["seq"]) == [1, 2]


def test_text_holding_the_separator_is_read_correctly():
    odd = fee(0, userData="a\x1fb", subscriptionId="sub\x1f1")
    df = cdr_frame([odd, fee(1)], columns=["user_data", "subscription_id"])
    assert list(df["user_data"].fillna("-")) == ["a\x1fb", "-"]
    assert list(df["subscription_id"].astype(str)) == ["sub\x1f1", "sub-1"]


def test_chunked_reading_gives_the_same_frame(store, monkeypatch):
    whole = cdr_frame(store, columns="all")
    monkeypatch.setattr(store_reader, "CHUNK", 3)
    pd.testing.assert_frame_equal(cdr_frame(store, columns="all"), whole)


def test_odd_values_in_integer_columns_are_read_exactly(store):
    # Only a hand-edited database can hold these; the slow path must still read them right.
    conn = sqlite3.connect(store.path)
    conn.execute(
        "UPDATE cdrs SET ul_fail_reason = '8102 ', fwd_unasw_rsn = 17.0 WHERE seq = "
        "(SELECT min(seq) FROM cdrs)"
    )
    conn.commit()
    conn.close()
    df = cdr_frame(store)
    assert (df.loc[0, "ul_fail_reason"], df.loc[0, "fwd_unasw_rsn"]) == (8102, 17)
    assert df.loc[0, "outcome"] == "answered"  # it has an answer time; 8102 cannot override it
    assert list(df["ul_fail_reason"])[1:] == [0, 8102, 8101]


def test_argument_shortcuts_and_odd_filters(store):
    assert list(cdr_frame(store, columns="outcome").columns) == ["outcome"]
    assert list(cdr_frame(store, columns=["direction"])["direction"])[:2] == ["from-A", "to-A"]
    assert len(cdr_frame(store, outcome=[])) == 0
    assert len(cdr_frame(store, bind_num="not a number")) == 0


def test_unreadable_json_and_bodies_that_are_not_pushes(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValidationError, match="source"):
        cdr_frame(broken)
    with pytest.warns(UserWarning, match="skipped 2 malformed"):
        df = cdr_frame([{"eventType": "fee", "feeLst": "nope"}, "a string", fee()])
    assert len(df) == 1


def test_text_in_an_integer_column_takes_the_exact_path(tmp_path):
    # SQLite lets any value into an INTEGER column; the fast parser must not choke on one.
    path = tmp_path / "odd.sqlite3"
    with Store(path) as odd:
        odd.add(push(fee(1), fee(2, ulFailReason=8102, fwdAnswerTime=None)))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE cdrs SET sip_status_code = 'n/a' WHERE seq = 1")
    frame = cdr_frame(path)
    assert len(frame) == 2
    assert frame["ul_fail_reason"].tolist() == [0, 8102]
    assert frame["outcome"].tolist() == ["answered", "busy"]
