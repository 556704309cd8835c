"""A push body is decoded once and each stored object keeps the text it was received as.

:func:`toolkit.rawjson.loads` must decode exactly as :func:`json.loads` (value and error), and the
slices it keeps must be the members' own text; the store keeps those slices as ``raw``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from builders import event_body, fee_body, fee_info, num_body, post, sms_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit import rawjson
from toolkit.receiver import Receiver
from toolkit.store import Store, prepare

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=8,
)
spacing = st.sampled_from(["", " ", "\n", "\t", "\r\n  "])


@st.composite
def documents(draw: st.DrawFn) -> str:
    """JSON text of an object, with the spacing and escapes varied, keys sometimes repeated."""
    members = draw(st.lists(st.tuples(st.text(max_size=6), json_values), max_size=5))
    if members and draw(st.booleans()):
        members.append((members[0][0], draw(json_values)))  # a repeated key: the last one wins
    ascii_only = draw(st.booleans())
    parts = []
    for key, value in members:
        indent = draw(st.sampled_from([None, 1]))
        text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
        parts.append(f"{draw(spacing)}{json.dumps(key)}{draw(spacing)}:{draw(spacing)}{text}")
    return draw(spacing) + "{" + ",".join(parts) + draw(spacing) + "}" + draw(spacing)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_decodes_as_json_loads_and_keeps_each_members_text(text: str) -> None:
    decoded = rawjson.loads(text.encode())
    expected = json.loads(text)
    assert decoded.body == expected
    assert json.loads(decoded.text) == expected and decoded.text == text.strip(" \t\r\n")
    for key, value in expected.items():
        segment = decoded.segments.get(key)
        if isinstance(value, dict):
            assert json.loads(segment) == value
        elif isinstance(value, list):
            assert [json.loads(part) for part in segment] == value
        else:
            assert segment is None


broken = st.one_of(
    st.text(alphabet='{}[]:,"ab1 \\', max_size=16),
    documents().flatmap(
        lambda doc: st.integers(0, max(0, len(doc) - 1)).map(lambda cut: doc[:cut])
    ),
    documents().map(lambda doc: doc + "x"),
)


@settings(max_examples=120, deadline=None)
@given(broken)
def test_malformed_json_fails_with_json_loads_own_error(text: str) -> None:
    try:
        expected: Any = ("value", json.loads(text))
    except ValueError as exc:
        expected = ("error", str(exc))
    try:
        got: Any = ("value", rawjson.loads(text.encode()).body)
    except ValueError as exc:
        got = ("error", str(exc))
    assert got == expected


def test_bodies_json_loads_reads_are_read_alike() -> None:
    # The encodings json.loads detects, and nesting deep enough to fail.
    body = {"eventType": "fee", "feeLst": [fee_info(1)]}
    for data in (
        json.dumps(body).encode("utf-16"),
        json.dumps(body).encode("utf-8-sig"),
        json.dumps(body).encode("utf-32-le"),
    ):
        assert rawjson.loads(data).body == json.loads(data)
    deep = b'{"feeLst": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(RecursionError):
        json.loads(deep)
    with pytest.raises(RecursionError):
        rawjson.loads(deep)


def stored_raw(db: Any, table: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute(f"SELECT raw FROM {table} ORDER BY seq")]


def test_the_store_keeps_each_object_as_it_was_received(tmp_path) -> None:
    infos = [fee_info(1), {**fee_info(2), "userData": "café 北京", "hostName": "h\\/x"}]
    pretty = json.dumps(fee_body(*infos), indent=2, ensure_ascii=False).encode()
    rx = Receiver(tmp_path / "rx.db", allow_unsigned=True)
    try:
        status, _, _ = post(rx.wsgi_app, pretty)
        assert status == 200
        raws = stored_raw(tmp_path / "rx.db", "cdrs")
        records = [rx.store.record("cdrs", row) for row in rx.store.cdrs()]
    finally:
        rx.stop()
    text = pretty.decode()
    # Each raw is a slice of the body, byte for byte, and reads back as the object pushed.
    assert all(raw in text and raw.startswith("{") and "\n" in raw for raw in raws)
    assert [json.loads(raw) for raw in raws] == infos
    assert records[1].user_data == "café 北京" and records[1].raw == infos[1]


def test_every_push_type_keeps_its_received_text(store: Store) -> None:
    bodies = {
        "events": event_body("answer"),
        "sms": sms_body("Notify"),
        "num_status": num_body(("+8617000000003", "1", None), ("+8617000000004", "2", "x")),
    }
    for table, body in bodies.items():
        text = json.dumps(body, indent=1)
        store.write([prepare(rawjson.loads(text.encode()), verified=True)])
        raws = stored_raw(store.path, table)
        assert raws and all(raw in text and "\n" in raw for raw in raws)
    assert stored_raw(store.path, "sms") == [json.dumps(bodies["sms"], indent=1)]


def test_a_lone_surrogate_in_the_body_is_stored_escaped(tmp_path) -> None:
    # json.loads lets UTF-8-encoded surrogates through ("surrogatepass"); SQLite cannot store
    # them, so such an object is stored encoded again, escapes and all.
    body = json.dumps(fee_body({**fee_info(1), "vendorNote": "NOTE"})).encode()
    body = body.replace(b"NOTE", "\ud800".encode("utf-8", "surrogatepass"))
    rx = Receiver(tmp_path / "rx.db", allow_unsigned=True)
    try:
        status, _, _ = post(rx.wsgi_app, body)
        assert status == 200
        [raw] = stored_raw(tmp_path / "rx.db", "cdrs")
    finally:
        rx.stop()
    assert '"vendorNote":"\\ud800"' in raw
