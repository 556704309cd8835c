"""Fuzz the receiver's WSGI callable: no input may produce a 5xx, a non-JSON error or a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import JSON_TYPE, KEY, SECRET, fee_body, fee_info, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit import events as ev
from toolkit.auth import sign_headers
from toolkit.receiver import Receiver
from toolkit.store import Store, prepare

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
fee_like = st.dictionaries(st.sampled_from(sorted(ev.FEE_FIELDS)), json_values, max_size=12)
# A real CDR with up to two fields fuzzed: about half the pushes built from these are
# acknowledged and half refused, which the stored-whole test needs (fee_like alone never gets a
# 200). Numbers from a small range repeat, within a push and across examples: duplicates too.
fee_mutated = st.builds(
    lambda n, changes: {**fee_info(n), **changes},
    st.integers(0, 40),
    st.dictionaries(
        st.sampled_from(sorted(ev.FEE_FIELDS)),
        st.none() | st.text(max_size=12) | st.integers(-5, 10**5) | json_values,
        max_size=2,
    ),
)
status_like = st.dictionaries(st.sampled_from(sorted(ev.STATUS_FIELDS)), json_values, max_size=8)
sms_like = st.dictionaries(st.sampled_from(sorted(ev.SMS_FIELDS)), json_values, max_size=8)
num_like = st.dictionaries(st.sampled_from(sorted(ev.NUM_FIELDS)), json_values, max_size=3)

push_shaped = st.one_of(
    st.builds(
        lambda items: {"eventType": "fee", "feeLst": items},
        st.lists(fee_like, max_size=4) | json_values,
    ),
    st.builds(
        lambda t, info: {"eventType": t, "statusInfo": info},
        st.sampled_from(["callin", "answer", "disconnect", "fee", ""]) | json_values,
        status_like | json_values,
    ),
    st.builds(lambda app, sms: {"appKey": app, "smsEvent": sms}, json_values, sms_like),
    st.builds(
        lambda items: {"eventType": "numStatus", "numInfo": items},
        st.lists(num_like, max_size=4) | json_values,
    ),
    json_values,
)
bodies = st.one_of(
    push_shaped.map(lambda b: json.dumps(b).encode()),
    st.binary(max_size=200),
    push_shaped.map(lambda b: json.dumps(b).encode()).flatmap(
        lambda raw: st.integers(0, max(0, len(raw) - 1)).map(lambda n: raw[:n])
    ),
)
content_types = st.sampled_from(
    [
        JSON_TYPE,
        "application/json",
        "text/plain",
        "",
        "application/json; charset=gbk",
        "multipart/form-data",
        "application/problem+json",
    ]
) | st.text(max_size=20)
auth_headers = st.one_of(
    st.just({}),
    st.builds(lambda: sign_headers(KEY, SECRET)),
    st.builds(lambda: sign_headers(KEY, "wrong")),
    st.dictionaries(
        st.sampled_from(["Authorization", "X-AKSK", "X-WSSE"]), st.text(max_size=60), max_size=3
    ),
)


@pytest.fixture(scope="module")
def receivers(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    open_rx = Receiver(base / "open.db", x_router=lambda push: 1 / 0, allow_unsigned=True)
    signed_rx = Receiver(base / "signed.db", app_key=KEY, app_secret=SECRET)
    yield open_rx, signed_rx
    open_rx.stop()
    signed_rx.stop()


def check(status: int, payload: bytes, headers: dict[str, str]) -> None:
    assert 200 <= status < 500, (status, payload)
    if status != 200 or payload:
        reply = json.loads(payload)  # every answer with a body is JSON
        assert isinstance(reply, dict)
        if status != 200:
            assert reply["reason"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=bodies,
    content_type=content_types,
    headers=auth_headers,
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]),
    length_delta=st.sampled_from([0, 0, 0, 5, -3]),
)
def test_fuzzed_requests_never_get_5xx(
    receivers, body: bytes, content_type: str, headers: dict, method: str, length_delta: int
) -> None:
    for rx in receivers:
        length = max(0, len(body) + length_delta)
        check(
            *post(
                rx.wsgi_app,
                body,
                content_type=content_type,
                headers=headers,
                method=method,
                length=length,
            )
        )


def test_receivers_still_work_after_fuzzing(receivers) -> None:
    open_rx, signed_rx = receivers
    before = open_rx.store.count()
    assert post(open_rx.wsgi_app, fee_body(fee_info(987654)))[0] == 200
    assert open_rx.store.count() == before + 1
    signed = sign_headers(KEY, SECRET)
    assert post(signed_rx.wsgi_app, fee_body(fee_info(987654)), headers=signed)[0] == 200


def _stored_keys(store: Store, keys: set[str]) -> set[str]:
    marks = ", ".join("?" * len(keys))
    found = store.query(f"SELECT dedupe_key FROM cdrs WHERE dedupe_key IN ({marks})", list(keys))
    return {row["dedupe_key"] for row in found}


@settings(max_examples=100, deadline=None)
@given(items=st.lists(fee_mutated, min_size=1, max_size=5))
def test_fuzzed_fee_pushes_are_stored_whole_or_not_at_all(receivers, items: list[Any]) -> None:
    rx = receivers[0]
    body = {"eventType": "fee", "feeLst": items}
    try:  # the keys the store gives this push's CDRs (the receiver stores it unsigned, as guessed)
        keys = {row[0] for row in prepare(body, product=ev.detect_product(body)).cdrs}
    except ev.PushFormatError:
        keys = set()
    already = _stored_keys(rx.store, keys) if keys else set()
    before = rx.store.count()
    status, _payload, _ = post(rx.wsgi_app, body)
    after = rx.store.count()
    if status == 200:
        # Acknowledged: every CDR of the push is stored, each once (a repeat of an earlier
        # example's CDR is already there and is not stored again).
        assert keys and _stored_keys(rx.store, keys) == keys
        assert after - before == len(keys - already)
    else:
        assert status == 400 and after == before
