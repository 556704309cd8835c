"""The receiver's fast readings agree with the general ones they shortcut.

* Platform times: :func:`toolkit.events.to_epoch` reads ``yyyy-MM-dd HH:mm:ss`` without a
  datetime. It must give what the reading before it gave (kept here as ``reference_time``) for
  every text: the documented formats, the tolerant ones (ISO 8601 with ``T``, milliseconds,
  ``Z`` or an offset, numeric epoch strings, surrounding spaces) and near misses.
* CDR rows: :func:`toolkit.batches.prepare` builds each row directly (:mod:`toolkit.rows`); it must
  build the rows, and raise the errors, that :func:`toolkit.events.convert` and a row by column
  name built before, for objects of a shape seen before or not.
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from builders import busy_info, fee_body, fee_info, rows_or_error, voice_fee_info
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolkit import batches as store_module
from toolkit import events as ev
from toolkit.errors import PushFormatError
from toolkit.store import CDR_COLUMNS, prepare

UTC = timezone.utc


def reference_time(text: str, where: str) -> float | None:
    """How a time text was read before the fast path (toolkit.events, unchanged otherwise)."""
    stripped = text.strip()
    if stripped.isdigit() or (stripped.count(".") == 1 and stripped.replace(".", "").isdigit()):
        return ev._from_number(float(stripped), where)
    if stripped.endswith(("Z", "z")):
        stripped = stripped[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ev._in_range(moment.timestamp(), where)


def outcome(read: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", read(text, "t")
    except PushFormatError as exc:
        return "error", exc.reason


moments = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
) | st.datetimes(min_value=datetime(1999, 12, 31), max_value=datetime(2100, 1, 2))
platform_texts = moments.map(lambda m: m.strftime("%Y-%m-%d %H:%M:%S"))
iso_texts = st.tuples(
    moments,
    st.sampled_from(["T", " "]),
    st.sampled_from(["seconds", "milliseconds", "microseconds"]),
    st.sampled_from(["", "Z", "z", "+00:00", "+08:00", "-05:30"]),
).map(lambda p: p[0].isoformat(p[1], p[2]) + p[3])
# One character replaced, inserted or removed: digits of other scripts, separators, signs...
_ODD = "0123456789 -:T.+Z_\t\u0663\u00b2\uff11\u2009"


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    text = draw(platform_texts)
    at = draw(st.integers(0, len(text)))
    what = draw(st.sampled_from(["replace", "insert", "delete"]))
    char = draw(st.sampled_from(_ODD))
    if what == "replace":
        return text[:at] + char + text[at + 1 :]
    if what == "insert":
        return text[:at] + char + text[at:]
    return text[:at] + text[at + 1 :]


numeric_texts = st.one_of(
    st.integers(0, 10**14).map(str),
    st.floats(0, 1e14, allow_nan=False).map(repr),
)
padded = st.tuples(
    st.sampled_from(["", " ", "\t", "\n"]), platform_texts, st.sampled_from(["", " ", "\r\n"])
).map("".join)
any_text = st.one_of(
    platform_texts,
    iso_texts,
    near_misses(),
    numeric_texts,
    padded,
    st.text(alphabet=string.digits + "-: T", max_size=22),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text)
@example("2024-03-01 02:15:02")
@example("2024-03-01T02:15:02")
@example("2024-02-29 23:59:59")
@example("2023-02-29 10:00:00")  # no such day
@example("2024-03-01 24:00:00")
@example("2024-03-01 23:60:00")
@example("2024-03-01 23:59:60")  # a leap second: no datetime holds it
@example("1999-12-31 23:59:59")  # just before the range
@example("2000-01-01 00:00:00")  # its first second
@example("2099-12-31 23:59:59")
@example("2100-01-01 00:00:00")  # just after
@example("0000-01-01 00:00:00")
@example("+024-03-01 02:15:02")
@example("2024-03-01 02:15:0\u0663")  # an Arabic-Indic digit
@example("2024-03-01 +2:15:02")
@example("2024-03-01 02:15:02 ")
@example("2024-03-01_02:15:02")
def test_fast_time_reading_agrees_with_the_general_one(text: str) -> None:
    ev._EPOCH_CACHE.clear()
    assert outcome(ev._parse_time_text, text) == outcome(reference_time, text)
    assert outcome(ev.to_epoch, text) == outcome(reference_time, text)
    quick = ev.plain_epoch(text)  # None: "ask to_epoch"; else exactly its reading
    assert quick is None or ("value", quick) == outcome(reference_time, text)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_platform_times_read_as_utc_epoch_seconds(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    assert ev.to_epoch(text, "t") == moment.replace(tzinfo=UTC).timestamp()
    assert ev.parse_time(text) == moment.replace(tzinfo=UTC)


def test_the_day_cache_stays_bounded() -> None:
    start = datetime(2001, 1, 1)
    for day in range(6000):
        text = (start + timedelta(days=day)).strftime("%Y-%m-%d 12:00:00")
        assert ev._plain_time(text) == int((start + timedelta(days=day, hours=12)).timestamp())
    assert len(ev._DAYS) <= 4097


# -- CDR rows ----------------------------------------------------------------------------------


def reference_rows(body: dict[str, Any], verified: bool, now: float) -> list[tuple[Any, ...]]:
    """The rows (without seq) of a fee push as prepare() built them before (a dict by column)."""
    product = ev.detect_product(body) or "privatenumber"
    rows = []
    for i, info in enumerate(ev.fee_items(body)):
        values = ev.convert(info, store_module._FEE, f"feeLst[{i}]")
        if not values.get("session_id"):
            raise PushFormatError("required", f"feeLst[{i}].sessionId")
        values.update(
            dedupe_key=ev.cdr_dedupe_key(
                values.get("icid"), values["session_id"], product=product, verified=verified
            ),
            product=product,
            received_at=now,
            raw=store_module._dumps(info),
            verified=int(verified),
        )
        rows.append(tuple(values.get(c) for c in CDR_COLUMNS[1:]))
    return rows


_FIELD_NAMES = sorted(ev.FEE_FIELDS)
json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    platform_texts,
    numeric_texts,
    st.sampled_from(["", " 42", "+7", "1e3", "\ud800", "é", "٣"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def fee_infos(draw: st.DrawFn) -> dict[str, Any]:
    base = draw(st.sampled_from([fee_info(1), busy_info(2), voice_fee_info(3), {}]))
    info = dict(base)
    for name in draw(st.lists(st.sampled_from([*_FIELD_NAMES, "unknownField"]), max_size=6)):
        info[name] = draw(json_values)
    return info


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(fee_infos(), min_size=1, max_size=3), st.booleans())
def test_cdr_rows_are_built_as_before(infos: list[dict[str, Any]], verified: bool) -> None:
    body = fee_body(*infos)
    expected = rows_or_error(lambda: reference_rows(body, verified, 1.5))
    # Twice: the second time each shape has its plan and each time text is remembered.
    for _ in range(2):
        assert (
            rows_or_error(lambda: prepare(body, received_at=1.5, verified=verified).cdrs)
            == expected
        )


@pytest.mark.parametrize(
    ("info", "field"),
    [
        ({**fee_info(1), "direction": "one"}, "feeLst[0].direction"),
        ({**fee_info(1), "callEndTime": "1970-01-01 00:00:00"}, "feeLst[0].callEndTime"),
        ({**fee_info(1), "callEndTime": True}, "feeLst[0].callEndTime"),
        ({**fee_info(1), "spId": ["x"]}, "feeLst[0].spId"),  # checked though not a column
        ({**fee_info(1), "direction": -(2**63) - 1}, "feeLst[0].direction"),
        ({**fee_info(1), "recordFlag": 2**63}, "feeLst[0].recordFlag"),
        ({**fee_info(1), "direction": True}, "feeLst[0].direction"),
        ({**fee_info(1), "icid": "\ud800"}, "feeLst[0].icid"),
    ],
)
def test_a_wrong_field_is_named_in_the_error(info: dict[str, Any], field: str) -> None:
    prepare(fee_body(fee_info(1)))  # the shape is known and its times read: the quick way
    with pytest.raises(PushFormatError) as caught:
        prepare(fee_body(info))
    assert caught.value.field == field


def test_time_text_is_read_alike_however_often_it_comes() -> None:
    # The row builder remembers time texts it read: a cached reading equals a fresh one.
    info = fee_info(1, callEndTime="2024-03-01 02:17:41")
    first = prepare(fee_body(info)).cdrs[0]
    again = prepare(fee_body(fee_info(2, callEndTime="2024-03-01 02:17:41"))).cdrs[0]
    end = CDR_COLUMNS[1:].index("call_end_time")
    assert first[end] == again[end] == int(datetime(2024, 3, 1, 2, 17, 41, tzinfo=UTC).timestamp())
