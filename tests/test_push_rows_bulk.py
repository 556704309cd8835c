"""The receiver's bulk paths agree with the row-by-row ones they replace.

* CDR rows: :func:`toolkit.batches.prepare` builds every row of a fee push at once
  (:func:`toolkit.rows.fill_all`). Kept here as ``row_by_row`` is the loop it replaces (each
  object through :func:`toolkit.rows.fill`, then key, product, time, raw and trust placed one
  by one): for any push, of one shape or several, with or without the received texts, both give
  the same rows or the same error.
* Inserts: :meth:`toolkit.store.Store.write` leaves out of its ``INSERT`` the columns that are
  NULL in every row of a batch (:mod:`toolkit.sqlinsert`). A store must hold exactly what
  inserting every column stored, and a column whose table gives it a default must still be
  written as NULL.
* Decoding: :func:`toolkit.rawjson.loads` reads arrays with the scanner called directly; the
  elements' texts must still be their own text, whatever the spacing.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from builders import busy_info, fee_body, fee_info, rows_or_error, voice_fee_info
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit import batches, rawjson, rows, schema
from toolkit import events as ev
from toolkit.engine import Batch
from toolkit.errors import PushFormatError
from toolkit.store import CDR_COLUMNS, Store, prepare

_ROW = {name: i for i, name in enumerate(CDR_COLUMNS[1:])}


def row_by_row(body: Any, verified: bool, now: float) -> list[tuple[Any, ...]]:
    """The CDR rows as prepare() built them before fill_all: one fill() and six assignments a
    row (toolkit.batches at the commit before)."""
    segments: Any = {}
    if isinstance(body, rawjson.Decoded):
        body, segments = body.body, body.segments
    items = ev.fee_items(body)
    product = ev.detect_product(body) or "privatenumber"
    texts = batches._texts(segments.get("feeLst"), len(items))
    out = []
    for i, info in enumerate(items):
        row = rows.fill(info, batches._FEE_SLOTS, f"feeLst[{i}]")
        session_id = row[_ROW["session_id"]]
        if not session_id:
            raise PushFormatError("required", f"feeLst[{i}].sessionId")
        row[_ROW["dedupe_key"]] = ev.cdr_dedupe_key(
            row[_ROW["icid"]], session_id, product=product, verified=verified
        )
        row[_ROW["product"]] = product
        row[_ROW["received_at"]] = now
        row[_ROW["raw"]] = batches._raw(texts[i], info)
        row[_ROW["verified"]] = int(verified)
        out.append(tuple(row))
    return out


plain_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["", "é", "\ud800", "2024-03-01 02:15:02", "2031-12-31 23:59:59", "junk"]),
    st.sampled_from(["2024-03-01T02:15:09", "1999-01-01 00:00:00", 1709259309, 0]),
    st.sampled_from([2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 1.0, "7", [], {}]),
)


@st.composite
def infos(draw: st.DrawFn) -> dict[str, Any]:
    """A FeeInfo: mostly a documented one, sometimes with fields changed, dropped or added."""
    n = draw(st.integers(0, 9))
    info = dict(draw(st.sampled_from([fee_info(n), busy_info(n), voice_fee_info(n)])))
    if draw(st.booleans()):
        for name in draw(st.lists(st.sampled_from([*sorted(ev.FEE_FIELDS), "extra"]), max_size=3)):
            if draw(st.booleans()):
                info.pop(name, None)
            else:
                info[name] = draw(plain_values)
    return info


@st.composite
def fee_pushes(draw: st.DrawFn) -> Any:
    """A fee push of 0 to 12 FeeInfos, as decoded JSON or as the receiver decodes it."""
    body = fee_body(*draw(st.lists(infos(), max_size=12)))
    if draw(st.booleans()):
        with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate: no such body on a wire
            text = json.dumps(
                body, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1]))
            )
            return rawjson.loads(text.encode("utf-8"))
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fee_pushes(), st.booleans())
def test_cdr_rows_are_those_the_row_by_row_loop_built(body: Any, verified: bool) -> None:
    expected = rows_or_error(lambda: row_by_row(body, verified, 2.5))
    for _ in range(2):  # the second time every shape has its plan and its times are remembered
        got = rows_or_error(lambda: prepare(body, received_at=2.5, verified=verified).cdrs)
        assert got == expected


def test_a_plain_push_takes_the_bulk_path() -> None:
    # What makes the receiver fast: a push of documented CDRs is built in one go, not row by row.
    body = rawjson.loads(json.dumps(fee_body(*(fee_info(n) for n in range(50)))).encode())
    items, texts = body.body["feeLst"], body.segments["feeLst"]
    prepare(body)  # the shape's plan and its time texts are known from here on
    built = batches._fee_rows(items, texts, "privatenumber", 1.0, True)
    assert built is not None and len(built) == 50
    assert built == row_by_row(body, True, 1.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("direction", 2**63),
        ("recordFlag", -(2**63) - 1),
        ("direction", True),
        ("direction", 1.0),
        ("callerNum", "+86é"),
        ("callerNum", 8613800000001),
        ("callEndTime", "1999-12-31 23:59:59"),
        ("callEndTime", ["2024-03-01 02:17:40"]),
    ],
)
def test_a_field_the_bulk_path_cannot_take_is_read_as_before(field: str, value: Any) -> None:
    body = fee_body(fee_info(1), fee_info(2, **{field: value}), fee_info(3))
    prepare(fee_body(fee_info(0)))  # the plain shape's plan and times are known
    assert rows_or_error(lambda: prepare(body, received_at=2.5).cdrs) == rows_or_error(
        lambda: row_by_row(body, False, 2.5)
    )


def test_a_missing_session_id_is_named_after_the_fields_are_checked() -> None:
    body = fee_body(fee_info(1), {k: v for k, v in fee_info(2).items() if k != "sessionId"})
    with pytest.raises(PushFormatError) as caught:
        prepare(body)
    assert caught.value.field == "feeLst[1].sessionId"
    body = fee_body(fee_info(1, sessionId=""), {**fee_info(2), "direction": "x"})
    with pytest.raises(PushFormatError) as caught:
        prepare(body)  # the first object's missing session comes before the second's field
    assert caught.value.field == "feeLst[0].sessionId"


# -- inserts -----------------------------------------------------------------------------------


def full_insert(conn: sqlite3.Connection, batch: Batch) -> None:
    """How Store.write inserted rows before: every column bound, NULLs included."""
    top = conn.execute("SELECT coalesce(max(seq), 0) FROM cdrs").fetchone()[0]
    names = schema.CDRS.names
    sql = f"INSERT OR IGNORE INTO cdrs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    conn.executemany(sql, [(top + 1 + i, *r) for i, r in enumerate(batch.cdrs)])


def table_of(path: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        columns = ", ".join(schema.CDRS.names[1:])
        return conn.execute(f"SELECT {columns} FROM cdrs ORDER BY seq").fetchall()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(infos(), min_size=1, max_size=6), min_size=1, max_size=3))
def test_a_store_holds_what_inserting_every_column_stored(
    tmp_path_factory: pytest.TempPathFactory, pushes: list[list[dict[str, Any]]]
) -> None:
    batch_list = []
    for infos_ in pushes:
        with contextlib.suppress(PushFormatError):
            batch_list.append(prepare(fee_body(*infos_), received_at=3.0))
    where = tmp_path_factory.mktemp("inserts")
    with Store(where / "new.db") as store:
        store.write(batch_list)
    with Store(where / "old.db") as store:
        pass  # the same tables, written the old way below
    with contextlib.closing(sqlite3.connect(where / "old.db", isolation_level=None)) as conn:
        for batch in batch_list:
            full_insert(conn, batch)
    assert table_of(where / "new.db") == table_of(where / "old.db")


def test_a_column_with_a_default_is_still_written_null(tmp_path: Path) -> None:
    # A table another program made may give a column a default: leaving the column out of the
    # INSERT would store that default instead of the NULL the row holds.
    path = tmp_path / "foreign.db"
    ddl = schema.CDRS.ddl().replace("user_data TEXT", "user_data TEXT DEFAULT 'made up'")
    assert "made up" in ddl
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(ddl)
    with Store(path) as store:
        store.write([prepare(fee_body(fee_info(1), fee_info(2)))])
        assert [r["user_data"] for r in store.cdrs()] == [None, None]
        assert [r["fail_time"] for r in store.cdrs()] == [None, None]


def test_seqs_stay_one_increasing_sequence_across_tables(tmp_path: Path) -> None:
    from builders import event_body, sms_body

    with Store(tmp_path / "seq.db") as store:
        batch = prepare(fee_body(fee_info(1), fee_info(2)))
        batch.events = prepare(event_body()).events
        batch.sms = prepare(sms_body()).sms
        assert store.write([batch, prepare(fee_body(fee_info(3)))]) == [4, 1]
        seqs = sorted(seq for _, row in store.changes(0) for seq in [row["seq"]])
        assert len(set(seqs)) == len(seqs) == 5
        assert store.last_seq() == seqs[-1]


# -- decoding ----------------------------------------------------------------------------------

blank = st.sampled_from(["", " ", "\n", "\t", "\r\n "])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.recursive(
            st.none() | st.integers() | st.text(max_size=4),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=3), inner, max_size=3)
            ),
            max_leaves=6,
        ),
        max_size=6,
    ),
    st.data(),
)
def test_array_elements_keep_their_text_whatever_the_spacing(
    values: list[Any], data: st.DataObject
) -> None:
    parts = [json.dumps(v) for v in values]
    inner = "".join(
        data.draw(blank) + part + data.draw(blank) + ("," if i < len(parts) - 1 else "")
        for i, part in enumerate(parts)
    )
    text = '{"feeLst":[' + inner + data.draw(blank) + "]}"
    decoded = rawjson.loads(text.encode())
    assert decoded.body == json.loads(text)
    assert decoded.segments["feeLst"] == parts


@pytest.mark.parametrize("text", ['{"a":[1,]}', '{"a":[1 2]}', '{"a":[,1]}', '{"a":[1', '{"a":[}'])
def test_a_broken_array_fails_as_json_loads_does(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as caught:
        rawjson.loads(text.encode())
    assert str(caught.value) == str(expected.value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
