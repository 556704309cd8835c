"""Readers: every source of CDRs gives the same typed, decoded frame (toolkit.readers)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import sqlite3
import warnings
from pathlib import Path

import pandas as pd
import pytest
from builders import fee, push, small_day, voice_fee_info
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import export, read_cdrs, readers, to_csv, to_parquet
from toolkit.errors import ValidationError
from toolkit.frame import cdr_frame
from toolkit.schema import FEE_FIELDS
from toolkit.store import Store

OUTCOMES = ["answered", "answered", "busy", "no-answer"]  # small_day, in order
pytest.importorskip("pyarrow")  # the fast readers; the pure-pandas path is tested below too


def _csv(rows: list[dict], path: Path) -> Path:
    names = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, names)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    with Store() as store:
        store.add(push(*small_day()))
        return cdr_frame(store)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """small_day() written in every format an analyst may hold."""
    base = tmp_path_factory.mktemp("sources")
    rows = small_day()
    made = {
        "json": base / "cdrs.json",
        "bodies.jsonl": base / "bodies.jsonl",
        "infos.jsonl": base / "infos.jsonl",
        "camel.csv": _csv(rows, base / "camel.csv"),
    }
    made["json"].write_text(json.dumps([push(*rows[:2]), push(*rows[2:])]))
    made["bodies.jsonl"].write_text("\n".join(json.dumps(push(r)) for r in rows))
    made["infos.jsonl"].write_text("\n".join(json.dumps(r) for r in rows))
    for name in ("json", "bodies.jsonl", "camel.csv"):
        packed = base / f"{name}.gz"
        packed.write_bytes(gzip.compress(made[name].read_bytes()))
        made[f"{name}.gz"] = packed
    return made


def _same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, expected, check_categorical=False)


@pytest.mark.parametrize(
    "name",
    [
        "json",
        "bodies.jsonl",
        "infos.jsonl",
        "camel.csv",
        "json.gz",
        "bodies.jsonl.gz",
        "camel.csv.gz",
    ],
)
def test_every_file_reads_to_the_frame_of_the_store(files, expected, name):
    frame = read_cdrs(files[name])
    assert len(frame) == 4
    assert frame["outcome"].tolist() == OUTCOMES
    assert frame["bind_num"].tolist()[0].startswith("+86")  # the + survived (and is masked)
    _same(frame, expected)


@pytest.mark.parametrize("name", ["json", "infos.jsonl", "camel.csv"])
def test_without_pyarrow_the_pandas_path_reads_the_same(files, expected, name, monkeypatch):
    monkeypatch.setattr(readers, "has_pyarrow", lambda: False)
    _same(read_cdrs(files[name]), expected)


def test_an_open_binary_file_and_raw_numbers(files):
    with open(files["camel.csv"], "rb") as handle:
        frame = read_cdrs(handle, raw_numbers=True, columns=["bind_num", "outcome"])
    assert frame["bind_num"].tolist()[0] == small_day()[0]["bindNum"]


def test_a_dataframe_is_read_as_rows_not_iterated_as_column_names(files, expected):
    # Regression: cdr_frame(pd.read_csv(...)) iterated the frame, got its column names, and
    # returned 0 rows with "skipped 27 malformed CDR(s)".
    text = pd.read_csv(files["camel.csv"], dtype=str, keep_default_na=False)
    _same(read_cdrs(text), expected)


def test_numbers_pandas_read_as_floats_are_recovered_with_a_warning(files):
    # Regression: pd.read_csv reads +8617... as a float; to_dict("records") then gave 0 rows,
    # "skipped 4", and no reason.
    guessed = pd.read_csv(files["camel.csv"])
    assert guessed["bindNum"].dtype.kind in "if"
    for source in (guessed, guessed.to_dict("records")):
        with pytest.warns(UserWarning, match=r"bindNum, .* were read as numbers"):
            frame = read_cdrs(source, raw_numbers=True, columns=["bind_num", "outcome"])
        assert frame["outcome"].tolist() == OUTCOMES
        assert frame["bind_num"].tolist()[0] == small_day()[0]["bindNum"].lstrip("+")


def test_the_store_table_exported_to_csv_reads_back(expected, tmp_path):
    # Regression: a store's own cdrs table, written to CSV, could not be read back at all.
    with Store(tmp_path / "s.sqlite3") as store:
        store.add(push(*small_day()))
    with sqlite3.connect(tmp_path / "s.sqlite3") as conn:
        table = pd.read_sql("SELECT * FROM cdrs", conn)
    conn.close()
    table.to_csv(tmp_path / "table.csv", index=False)
    _same(read_cdrs(tmp_path / "table.csv"), expected)
    _same(read_cdrs(table), expected)


@pytest.mark.parametrize("writer", ["csv", "parquet", "csv.gz"])
def test_export_round_trips_values_dtypes_and_zone(writer, tmp_path):
    with Store() as store:
        store.add(push(*small_day(), fee(9, fwdAnswerTime=None, ulFailReason=8102)))
        store.add(push(voice_fee_info(1)))
        frame = cdr_frame(store, columns="all", tz="Asia/Shanghai")
    path = tmp_path / f"export.{writer}"
    if writer == "parquet":
        to_parquet(frame, path)
        back = read_cdrs(path)  # Parquet keeps the zone by itself
    else:
        to_csv(frame, path)
        back = read_cdrs(path, tz="Asia/Shanghai")
    pd.testing.assert_frame_equal(back, frame)
    assert str(back["start_time"].dtype) == "datetime64[s, Asia/Shanghai]"


def test_bad_rows_are_reported_with_row_field_and_reason(files):
    rows = small_day()
    rows[1] = {**rows[1], "ulFailReason": "busy"}
    rows[3] = {**rows[3], "callEndTime": "1999-01-01 00:00:00"}
    with pytest.warns(UserWarning) as caught:
        frame = read_cdrs(rows)
    message = str(caught[0].message)
    assert "skipped 2 malformed CDR(s) of 4" in message
    assert "row 1 ulFailReason: expected an integer, got 'busy'" in message
    assert "row 3 callEndTime: time outside 2000-2100 UTC" in message
    assert frame["outcome"].tolist() == ["answered", "busy"]
    with pytest.raises(ValidationError, match="row 1 ulFailReason"):
        read_cdrs(rows, errors="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_cdrs(rows, errors="ignore")) == 2
    with pytest.raises(ValidationError, match="errors"):
        read_cdrs(rows, errors="skip")


def test_the_same_bad_row_in_a_csv_file(tmp_path):
    rows = small_day()
    rows[2] = {**rows[2], "sipStatusCode": "n/a"}
    with pytest.warns(UserWarning, match="row 2 sipStatusCode: expected an integer"):
        assert len(read_cdrs(_csv(rows, tmp_path / "bad.csv"))) == 3


def test_a_skipped_row_leaves_every_column_aligned(tmp_path):
    # Text columns are converted only when a frame reads them, after the bad rows are known:
    # they must drop the same rows as the columns converted at once.
    rows = small_day()
    rows[2] = {**rows[2], "callEndTime": "1999-01-01 00:00:00"}
    kept = [rows[0], rows[1], rows[3]]
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows))
    for path in (_csv(rows, tmp_path / "bad.csv"), jsonl):
        with pytest.warns(UserWarning, match="row 2 callEndTime"):
            frame = read_cdrs(path, columns=["session_id", "subscription_id", "outcome"])
        assert frame["session_id"].tolist() == [r["sessionId"] for r in kept]
        assert frame["subscription_id"].tolist() == [r["subscriptionId"] for r in kept]
        assert frame["outcome"].tolist() == ["answered", "answered", "no-answer"]


@pytest.mark.parametrize("layout", ["mixed lines", "one indented body", "a list with a number"])
def test_json_that_pyarrow_refuses_is_read_the_exact_way(tmp_path, expected, layout):
    # A JSON file goes to pyarrow by its path (a list split in a memory map of the file); what
    # pyarrow refuses is read again and takes the exact path: the same frame.
    rows = small_day()
    path = tmp_path / "cdrs.json"
    if layout == "mixed lines":
        rows[0] = {**rows[0], "ulFailReason": "0"}  # text here, numbers in the other lines
        path.write_text("\n".join(json.dumps(r) for r in rows))
    elif layout == "one indented body":
        path.write_text(json.dumps(push(*rows), indent=2))
    else:
        path.write_text(json.dumps([push(*rows), 5]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _same(read_cdrs(path), expected)
    reported = [str(w.message) for w in caught]
    if layout == "a list with a number":
        assert reported == [
            "skipped 1 malformed CDR(s) of 5: row 1 body: a push is a JSON object, got int"
        ]
    else:
        assert reported == []


def test_a_table_without_cdr_columns_names_what_was_expected(tmp_path):
    (tmp_path / "sales.csv").write_text("region,amount\nnorth,3\n")
    for source in (tmp_path / "sales.csv", pd.DataFrame({"region": ["north"]})):
        with pytest.raises(ValidationError, match=r"no CDR column found: expected .*callInTime"):
            read_cdrs(source)


def test_codes_written_as_floats_and_times_in_other_formats(expected):
    rows = small_day()
    odd = [
        {**rows[0], "ulFailReason": "0.0", "callInTime": rows[0]["callInTime"].replace(" ", "T")},
        {**rows[1], "callEndTime": rows[1]["callEndTime"] + "Z"},
        {**rows[2], "ulFailReason": 8102.0},
        rows[3],
    ]
    _same(read_cdrs(pd.DataFrame(odd)), expected)


def test_every_platform_field_name_is_known():
    # A camelCase column the schema stores is read, whatever file it comes in.
    stored = {f.json for f in FEE_FIELDS.values() if f.name in readers._KINDS}
    assert {"bindNum", "callInTime", "ulFailReason", "sessionId"} <= stored


def test_filters_work_on_files_too(files):
    frame = read_cdrs(files["camel.csv"], start="2024-03-01 02:15", outcome="answered")
    assert frame["outcome"].tolist() == ["answered"]
    assert len(read_cdrs(files["json"], bind_num="+8617000000002")) == 1


def test_a_json_file_with_mixed_types_takes_the_exact_path(tmp_path, expected):
    rows = small_day()
    rows[0] = {**rows[0], "ulFailReason": "0"}  # text here, numbers elsewhere
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(rows))
    _same(read_cdrs(path), expected)
    assert len(read_cdrs(io.BytesIO(path.read_bytes()))) == 4


def test_several_files_read_as_one_frame(files, expected):
    frame = read_cdrs([files["camel.csv"], files["infos.jsonl"]])
    assert len(frame) == 8
    assert frame["outcome"].tolist() == OUTCOMES * 2
    assert frame["seq"].tolist() == list(range(1, 9))


def test_parquet_without_pyarrow_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what a missing package looks like
    with pytest.raises(ValidationError, match=r'pip install -e "\.\[fast\]"'):
        export.require_pyarrow()


def test_a_json_list_with_brackets_in_text_and_line_breaks(tmp_path, expected):
    # Brackets and commas inside text mislead the splitter into lines pyarrow refuses: the file
    # is then read the exact way, to the same frame. A pretty-printed file splits as it is.
    rows = [{**r, "userData": "a},{b],[c,"} for r in small_day()]
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps([push(*rows[:3]), push(rows[3])], indent=2))
    frame = read_cdrs(path, columns=[*expected.columns, "user_data"])
    assert frame["user_data"].tolist() == ["a},{b],[c,"] * 4
    _same(frame[list(expected.columns)], expected)
    lines = readers._as_lines(b'[{"a": "\\\\ \\" \\u4e2d"}, {"b": 1}]')  # escapes: still lines
    assert _parsed(lines) == [{"a": '\\ " \u4e2d'}, {"b": 1}]


_TEXT = st.text(alphabet='ab{}[],: "', max_size=6)
_VALUE = st.recursive(
    st.one_of(st.integers(), _TEXT, st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_VALUE, max_size=5),
    st.sampled_from(["compact", None, 0, 2]),
    st.sampled_from(["", " \n"]),
)
def test_a_json_list_as_lines_holds_its_items_one_per_line(items, indent, tail):
    # The numpy splitter counts brackets inside strings too. Where none are, it must find every
    # item boundary (indented files, escaped quotes); where some are, it may split wrongly, but
    # then some line must be no JSON value, so that pyarrow refuses the text: a set of lines
    # that all parse yet differ from the items would be read as wrong CDRs.
    if indent == "compact":
        text = json.dumps(items, separators=(",", ":"))
    else:
        text = json.dumps(items, indent=indent)
    lines = readers._as_lines((text + tail).encode())
    containers = all(isinstance(item, dict | list) for item in items)
    if containers and not any(c in _strings(items) for c in "[]{}"):
        assert lines is not None
        assert _parsed(lines) == items
    elif lines is not None:
        try:
            parsed = _parsed(lines)
        except ValueError:
            return  # refused as a whole, as pyarrow refuses it
        assert parsed == items


def _parsed(lines: bytearray) -> list:
    return [json.loads(line) for line in bytes(lines).splitlines() if line.strip()]


def _strings(value: object) -> str:
    """Every key and text in a JSON value, joined."""
    if isinstance(value, dict):
        return "".join(k + _strings(v) for k, v in value.items())
    if isinstance(value, list):
        return "".join(_strings(v) for v in value)
    return value if isinstance(value, str) else ""
