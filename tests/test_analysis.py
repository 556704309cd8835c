"""Summaries against hand-computed answers (the four calls of builders.small_day)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from builders import fee, small_day

from toolkit import analysis
from toolkit.codes import OUTCOMES
from toolkit.errors import ValidationError
from toolkit.frame import cdr_frame

X1_MASKED, X2_MASKED = "+86170****0001", "+86170****0002"


@pytest.fixture(scope="module")
def day() -> pd.DataFrame:
    return cdr_frame(small_day(), tz="Asia/Shanghai")


@pytest.fixture(scope="module")
def empty() -> pd.DataFrame:
    return cdr_frame([])


def test_answer_rate_overall_and_per_x_number(day):
    overall = analysis.answer_rate(day)
    assert overall.loc["all"].tolist() == [4, 2, 0.5]
    per_x = analysis.answer_rate(day, "x_number")
    assert per_x.loc[X1_MASKED, "calls"] == 3
    assert per_x.loc[X1_MASKED, "answer_rate"] == pytest.approx(2 / 3)
    assert per_x.loc[X2_MASKED].tolist() == [1, 0, 0.0]


def test_hour_of_day_is_read_in_the_display_zone(day):
    beijing = analysis.answer_rate(day, "hour")
    assert beijing["calls"].to_dict() == {10: 2, 11: 2}
    assert beijing["answer_rate"].to_dict() == {10: 1.0, 11: 0.0}
    utc = analysis.answer_rate(cdr_frame(small_day()), "hour")
    assert utc["calls"].to_dict() == {2: 2, 3: 2}


def test_outcome_mix_counts_and_shares(day):
    mix = analysis.outcome_mix(day, "direction")
    assert list(mix.columns) == list(OUTCOMES)
    assert mix.loc["from-A", ["answered", "busy", "no-answer"]].tolist() == [1, 1, 1]
    assert mix.loc["to-A"].sum() == 1
    share = analysis.outcome_mix(day, ["day", "x_number"], share=True)
    assert share.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert share.xs(X1_MASKED, level=1)["answered"].iloc[0] == pytest.approx(2 / 3)


def test_time_keys(day):
    assert analysis.answer_rate(day, "weekday")["calls"].to_dict() == {"Fri": 4}
    days = analysis.answer_rate(day, "day").index
    assert list(days) == [pd.Timestamp("2024-03-01")]  # the local (Beijing) date
    assert analysis.answer_rate(day, "week").index[0] == pd.Timestamp("2024-02-26")
    assert analysis.answer_rate(day, "month").index[0] == pd.Timestamp("2024-03-01")
    late = cdr_frame(fee(start=15 * 3600 + 1800), tz="Asia/Shanghai")  # 17:30 UTC = 01:30 +8
    assert analysis.answer_rate(late, "day").index[0] == pd.Timestamp("2024-03-02")


def test_calendar_buckets_survive_daylight_saving():
    # 2024-03-10 02:30 does not exist in New York and 2024-11-03 01:30 happens twice.
    calls = [
        fee(0, callInTime="2024-03-10 07:30:00"),
        fee(1, callInTime="2024-11-03 05:30:00"),
        fee(2, callInTime="2024-11-03 06:30:00"),
    ]
    df = cdr_frame(calls, tz="America/New_York")
    assert analysis.answer_rate(df, "day")["calls"].tolist() == [1, 2]
    assert analysis.answer_rate(df, "hour")["calls"].to_dict() == {1: 2, 3: 1}


def test_calls_without_any_time_are_left_out_of_time_groups():
    timeless = fee(
        7, talk=None, ring=None, callInTime=None, fwdStartTime=None, callEndTime=None, failTime=None
    )
    df = cdr_frame([fee(0), timeless])
    assert df["start_time"].isna().tolist() == [False, True]
    hours = analysis.answer_rate(df, "hour")
    assert hours.index.tolist() == [2] and str(hours.index.dtype) == "Int64"
    assert analysis.answer_rate(df).loc["all", "calls"] == 2
    with pytest.raises(ValidationError, match="start_time"):
        analysis.answer_rate(df[["outcome"]], "day")


def test_grouping_by_a_series_or_an_unknown_name(day):
    custom = pd.Series(["a", "b", "a", "b"], index=day.index, name="team")
    assert analysis.answer_rate(day, custom)["answered"].to_dict() == {"a": 1, "b": 1}
    with pytest.raises(ValidationError, match="nope"):
        analysis.answer_rate(day, "nope")


def test_cause_pareto(day):
    pareto = analysis.cause_pareto(day)
    assert pareto["calls"].tolist() == [1, 1]
    assert pareto["cumulative"].tolist() == [0.5, 1.0]
    assert set(pareto["outcome"]) == {"busy", "no-answer"}
    with_answered = analysis.cause_pareto(day, include_answered=True, top=1)
    assert with_answered.index.tolist() == ["answered", "other"]
    assert with_answered["calls"].tolist() == [2, 2]
    assert with_answered["share"].tolist() == [0.5, 0.5]
    assert pd.isna(with_answered.loc["other", "outcome"])


def test_duration_percentiles(day):
    stats = analysis.durations(day)
    ring = stats.loc[("all", "ring_seconds")]
    talk = stats.loc[("all", "talk_seconds")]
    assert ring["calls"] == 4 and ring["max"] == 40  # 5, 3, 10, 40
    assert ring["p50"] == pytest.approx(7.5)
    assert talk["calls"] == 2 and talk["mean"] == pytest.approx(45.5)  # 61 and 30
    assert talk["p90"] == pytest.approx(30 + 0.9 * 31)
    per_x = analysis.durations(day, "x_number", percentiles=[0.5])
    assert list(per_x.columns) == ["calls", "mean", "p50", "max"]
    assert per_x.loc[(X2_MASKED, "talk_seconds"), "calls"] == 0
    assert math.isnan(per_x.loc[(X2_MASKED, "talk_seconds"), "p50"])


def test_billing_rounds_each_call_up(day):
    bill = analysis.billing(day)
    assert bill.loc["all", ["calls", "answered", "billed_minutes"]].tolist() == [4, 2, 3]
    assert bill.loc["all", "talk_minutes"] == pytest.approx(91 / 60)
    assert analysis.billing(day, "direction")["billed_minutes"].to_dict() == {
        "to-A": 1,
        "from-A": 2,
    }


def test_summaries_of_an_empty_frame(empty):
    assert analysis.answer_rate(empty).loc["all", "calls"] == 0
    assert math.isnan(analysis.answer_rate(empty).loc["all", "answer_rate"])
    assert analysis.outcome_mix(empty).to_numpy().sum() == 0
    assert analysis.cause_pareto(empty).empty
    assert analysis.durations(empty)["calls"].tolist() == [0, 0]
    assert analysis.billing(empty).loc["all", "billed_minutes"] == 0
    assert analysis.answer_rate(empty, "hour").empty
    assert analysis.outcome_mix(empty, "x_number", share=True).empty


def test_a_single_call_with_unknown_codes():
    df = cdr_frame(fee(talk=None, ulFailReason=12345, fwdUnaswRsn=None, sipStatusCode=None))
    assert analysis.answer_rate(df).loc["all"].tolist() == [1, 0, 0.0]
    pareto = analysis.cause_pareto(df)
    assert pareto.index.tolist() == ["12345 unknown code 12345"]
    assert pareto["outcome"].tolist() == ["error"]


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 308, 2),
        ("a" * 309, 3),
        ("你" * 70, 1),
        ("你" * 71, 2),
        ("你" * 134, 2),
        ("你" * 135, 3),
        ("a" * 69 + "é", 1),
        ("a" * 70 + "é", 2),
    ],
)
def test_sms_segments(text, segments):
    assert analysis.sms_segments(text) == segments


def test_sms_segments_of_a_series():
    texts = pd.Series(["hi", None, "你" * 71])
    assert analysis.sms_segments(texts).tolist() == [1, pd.NA, 2]
    with pytest.raises(ValidationError, match="text"):
        analysis.sms_segments(42)


def test_grouping_by_an_alias_names_the_index_as_asked():
    # Regression: answer_rate(frame, "x_number") came back with an index called bind_num.
    frame = cdr_frame(small_day())
    assert analysis.answer_rate(frame, "x_number").index.name == "x_number"
    assert analysis.billing(frame, ["day", "x_number"]).index.names == ["day", "x_number"]


def test_readable_tables_show_units_and_keep_numbers():
    from toolkit import display

    frame = cdr_frame(small_day())
    rates = analysis.answer_rate(frame, "x_number")
    text = display.to_text(rates)
    assert "66.7%" in text and "0.666" not in text
    assert display.readable(rates).data is rates
    assert rates["answer_rate"].dtype == "float64"
    long_cause = "7503 The callee rejected the call after hearing a very long announcement"
    pareto = analysis.cause_pareto(frame).rename(index={"8102 Callee busy": long_cause})
    assert long_cause in display.to_text(pareto)  # whole, not cut with "..."
    assert "50.0%" in display.to_text(pareto)
    durations = display.to_text(analysis.durations(frame))
    assert "46 s" in durations and "45.5" not in durations
    assert " 1.5" in display.to_text(analysis.billing(frame))  # talk minutes to one decimal
    assert "white-space: normal" in display.readable(pareto).to_html()
