"""The push receiver as a WSGI app and as a threaded server.

Most tests call the WSGI callable directly (no sockets): ``builders.post(app, body, ...)``
builds the environ a WSGI server would.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

import pytest
import requests
from builders import (
    CALLEE,
    CALLER,
    KEY,
    SECRET,
    busy_info,
    event_body,
    fee_body,
    fee_info,
    num_body,
    post,
    sms_body,
    voice_fee_info,
)

from toolkit import events as ev
from toolkit import xmode
from toolkit.auth import format_created, sign_headers
from toolkit.errors import ValidationError
from toolkit.receiver import Receiver, make_app
from toolkit.store import Store


@pytest.fixture
def rx(tmp_path):
    receiver = Receiver(tmp_path / "rx.db", allow_unsigned=True)
    yield receiver
    receiver.stop()


@pytest.fixture
def signed_rx(tmp_path):
    receiver = Receiver(tmp_path / "signed.db", app_key=KEY, app_secret=SECRET)
    yield receiver
    receiver.stop()


def test_same_fee_push_three_times_is_stored_once(rx: Receiver) -> None:
    body = fee_body(*[fee_info(i) for i in range(50)])
    for _ in range(3):
        status, payload, _headers = post(rx.wsgi_app, body)
        assert status == 200
        assert json.loads(payload) == {"resultcode": "0", "resultdesc": "Success"}
    assert rx.store.count("cdrs") == 50


@pytest.mark.parametrize("path", ["/status", "/fee", "/sms", "/numstatus", "/any/where"])
def test_every_push_type_is_accepted_at_any_path(rx: Receiver, path: str) -> None:
    for body in (
        fee_body(fee_info(1)),
        event_body("answer"),
        sms_body(),
        num_body(("+8617000000003", "5", None)),
    ):
        assert post(rx.wsgi_app, body, path=path)[0] == 200
    assert rx.store.counts() == {"cdrs": 1, "events": 1, "sms": 1, "num_status": 1}


def test_sms_notify_is_answered_with_an_empty_body(rx: Receiver) -> None:
    status, payload, _ = post(rx.wsgi_app, sms_body("Notify"))
    assert (status, payload) == (200, b"")


def test_health_check_and_wrong_method(rx: Receiver) -> None:
    assert post(rx.wsgi_app, b"", method="GET")[0] == 200
    status, payload, headers = post(rx.wsgi_app, b"{}", method="PUT")
    assert status == 405 and "POST" in headers["Allow"] and json.loads(payload)["error"] == "method"


BIG = json.dumps(fee_body(fee_info(1, userData="x" * (1 << 20)))).encode()


@pytest.mark.parametrize(
    ("body", "kwargs", "status", "error"),
    [
        (b"this is not json", {}, 400, "bad-json"),
        (json.dumps(fee_body(fee_info(1)))[:-20].encode(), {}, 400, "bad-json"),
        (b"", {}, 400, "empty"),
        (b"{}", {"length": 500}, 400, "truncated"),
        (b"{}", {"length": "twelve"}, 400, "length"),
        (
            json.dumps(fee_body(fee_info(1))).encode(),
            {"content_type": "text/plain"},
            415,
            "content-type",
        ),
        (
            json.dumps(fee_body(fee_info(1))).encode(),
            {"content_type": "application/json; charset=latin-1"},
            415,
            "charset",
        ),
        (BIG, {}, 413, "too-large"),
        (json.dumps(fee_body(*[fee_info(i) for i in range(51)])).encode(), {}, 400, "bad-push"),
        (json.dumps({"eventType": "fee", "feeLst": {"a": 1}}).encode(), {}, 400, "bad-push"),
        (
            json.dumps(fee_body(fee_info(1), fee_info(2, direction="in"))).encode(),
            {},
            400,
            "bad-push",
        ),
        (json.dumps(fee_body(fee_info(1, callerNum=13800000001.5))).encode(), {}, 400, "bad-push"),
        (json.dumps({"hello": "world"}).encode(), {}, 400, "bad-push"),
        (b"[" * 100000 + b"]" * 100000, {}, 400, "bad-json"),
        (b'{"eventType":"fee","feeLst":[{"sessionId":"\\ud800"}]}', {}, 400, "bad-push"),
        (b"\xff\xfe\x00garbage", {}, 400, "bad-json"),
    ],
    ids=[
        "not-json",
        "truncated-json",
        "empty",
        "short-body",
        "bad-length",
        "text-plain",
        "latin-1",
        "over-cap",
        "51-cdrs",
        "feeLst-dict",
        "wrong-field-type",
        "float-number",
        "unknown-shape",
        "deep-nesting",
        "lone-surrogate",
        "binary",
    ],
)
def test_bad_input_gets_4xx_with_a_json_reason_and_stores_nothing(
    rx: Receiver, body: bytes, kwargs: dict, status: int, error: str
) -> None:
    length = kwargs.pop("length", None)
    code, payload, headers = post(rx.wsgi_app, body, length=length, **kwargs)  # type: ignore[arg-type]
    reply = json.loads(payload)
    assert (code, reply["error"]) == (status, error)
    assert reply["reason"] and headers["Content-Type"].startswith("application/json")
    assert rx.store.counts() == {"cdrs": 0, "events": 0, "sms": 0, "num_status": 0}


def test_body_cap_is_configurable(tmp_path) -> None:
    with Receiver(tmp_path / "cap.db", max_body=100, allow_unsigned=True) as small:
        assert post(small.wsgi_app, fee_body(fee_info(1)))[0] == 413


def test_missing_content_type_is_tolerated(rx: Receiver) -> None:
    assert post(rx.wsgi_app, fee_body(fee_info(1)), content_type=None)[0] == 200


def test_locked_store_answers_503_and_never_200(tmp_path) -> None:
    path = tmp_path / "locked.db"
    receiver = Receiver(Store(path, timeout=0.05), allow_unsigned=True)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        status, payload, headers = post(receiver.wsgi_app, fee_body(fee_info(1)))
        assert status == 503 and json.loads(payload)["error"] == "store"
        assert headers["Retry-After"] == "1"
        blocker.execute("ROLLBACK")
        assert post(receiver.wsgi_app, fee_body(fee_info(1)))[0] == 200  # the retry succeeds
    finally:
        blocker.close()
        receiver.stop()
        receiver.store.close()


def test_full_disk_answers_503(rx: Receiver, monkeypatch) -> None:
    def full(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(rx.store, "_insert", full)
    status, payload, _ = post(rx.wsgi_app, fee_body(fee_info(1)))
    assert status == 503 and "disk is full" in json.loads(payload)["reason"]


def test_unexpected_bug_answers_503_not_500(rx: Receiver, monkeypatch) -> None:
    monkeypatch.setattr(rx, "_reply", lambda *a: 1 / 0)
    status, payload, _ = post(rx.wsgi_app, fee_body(fee_info(1)))
    assert status == 503 and json.loads(payload)["error"] == "internal"


# -- signatures -----------------------------------------------------------------------------


def test_valid_signatures_are_accepted_in_both_schemes(signed_rx: Receiver) -> None:
    assert (
        post(signed_rx.wsgi_app, fee_body(fee_info(1)), headers=sign_headers(KEY, SECRET))[0] == 200
    )
    wsse = sign_headers(KEY, SECRET, "wsse")
    assert post(signed_rx.wsgi_app, fee_body(fee_info(2)), headers=wsse)[0] == 200
    assert signed_rx.store.count() == 2


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        (lambda: sign_headers(KEY, "wrong-secret"), "bad-digest"),
        (
            lambda: sign_headers(KEY, SECRET, created=format_created(time.time() - 3600)),
            "stale-created",
        ),
        (lambda: sign_headers("SomeOtherKey", SECRET), "unknown-app-key"),
        (lambda: {}, "unsigned"),
    ],
    ids=["wrong-secret", "stale-created", "other-app", "unsigned"],
)
def test_bad_signatures_are_rejected_with_401(signed_rx: Receiver, headers, error: str) -> None:
    status, payload, _ = post(signed_rx.wsgi_app, fee_body(fee_info(1)), headers=headers())
    assert (status, json.loads(payload)["error"]) == (401, error)
    assert signed_rx.store.count() == 0


def test_replayed_nonce_is_rejected(signed_rx: Receiver) -> None:
    headers = sign_headers(KEY, SECRET)
    assert post(signed_rx.wsgi_app, fee_body(fee_info(1)), headers=headers)[0] == 200
    status, payload, _ = post(signed_rx.wsgi_app, fee_body(fee_info(2)), headers=headers)
    assert (status, json.loads(payload)["error"]) == (401, "replayed-nonce")
    assert signed_rx.store.count() == 1


def test_allow_unsigned_still_refuses_bad_signatures(tmp_path) -> None:
    with Receiver(tmp_path / "u.db", app_key=KEY, app_secret=SECRET, allow_unsigned=True) as rx:
        assert post(rx.wsgi_app, fee_body(fee_info(1)))[0] == 200
        bad = sign_headers(KEY, "wrong")
        assert post(rx.wsgi_app, fee_body(fee_info(2)), headers=bad)[0] == 401
        # the unsigned one is stored unverified, so the signed CDR of that call still counts
        signed = sign_headers(KEY, SECRET)
        assert post(rx.wsgi_app, fee_body(fee_info(1)), headers=signed)[0] == 200
        assert sorted(r["verified"] for r in rx.store.cdrs()) == [0, 1]


def test_voicecall_pushes_follow_the_documented_lenient_rule(signed_rx: Receiver) -> None:
    # VoiceCall §2.4: never reject a VoiceCall push for a missing or failed signature. What
    # cannot be verified is acknowledged but kept in quarantine, never with the verified data.
    assert post(signed_rx.wsgi_app, fee_body(voice_fee_info(1)))[0] == 200
    bad = sign_headers(KEY, "not-the-secret")
    assert post(signed_rx.wsgi_app, fee_body(voice_fee_info(2)), headers=bad)[0] == 200
    # a status event without PrivateNumber fields could be VoiceCall: accepted, kept apart too
    assert post(signed_rx.wsgi_app, event_body("answer", subscriptionId=None))[0] == 200
    # ... but a PrivateNumber-shaped push is refused
    assert post(signed_rx.wsgi_app, event_body("answer"))[0] == 401
    assert signed_rx.store.counts() == {"cdrs": 0, "events": 0, "sms": 0, "num_status": 0}
    quarantined = signed_rx.store.quarantine()
    assert [(q["product"], q["reason"]) for q in quarantined] == [
        ("voicecall", "unsigned"),
        ("voicecall", "bad-digest"),
        ("voicecall", "unsigned"),
    ]
    assert json.loads(quarantined[0]["body"]) == fee_body(voice_fee_info(1))


def test_strict_voicecall_option(tmp_path) -> None:
    with Receiver(tmp_path / "s.db", app_key=KEY, app_secret=SECRET, lenient_voicecall=False) as rx:
        assert post(rx.wsgi_app, fee_body(voice_fee_info(1)))[0] == 401
        assert rx.store.quarantine() == []
        signed = sign_headers(KEY, SECRET)
        assert post(rx.wsgi_app, fee_body(voice_fee_info(1)), headers=signed)[0] == 200
        # signed with the PrivateNumber app: stored, verified, as that app's
        assert [(r["product"], r["verified"]) for r in rx.store.cdrs()] == [("privatenumber", 1)]


def test_half_configured_secret_is_refused(tmp_path) -> None:
    with pytest.raises(ValidationError):
        Receiver(tmp_path / "x.db", app_key=KEY)


# -- X mode ---------------------------------------------------------------------------------


def block_callin() -> dict[str, Any]:
    return event_body("callin", notifyMode="Block", subscriptionId=None, called="+8617000000003")


def test_block_callin_default_is_a_safe_release(rx: Receiver) -> None:
    status, payload, _ = post(rx.wsgi_app, block_callin(), path="/status")
    assert status == 200 and json.loads(payload) == {"operation": "close"}
    assert rx.store.events()[0]["notify_mode"] == "Block"


def test_block_callin_is_routed_by_the_router(tmp_path) -> None:
    seen: list[Any] = []

    def router(push: Any) -> dict[str, Any]:
        seen.append(push)
        return xmode.connect(CALLEE, display="+8617000000003", max_duration=60, user_data="t1")

    with Receiver(tmp_path / "x.db", x_router=router, allow_unsigned=True) as rx:
        status, payload, _ = post(rx.wsgi_app, block_callin())
    assert status == 200
    assert json.loads(payload) == {
        "operation": "connect",
        "connectInfo": [
            {
                "calleeNum": CALLEE,
                "displayCalleeNum": "+8617000000003",
                "maxDuration": 60,
                "userData": "t1",
            }
        ],
    }
    assert isinstance(seen[0], ev.CallIn) and seen[0].is_block


@pytest.mark.parametrize("router", [lambda p: 1 / 0, lambda p: "connect please", lambda p: None])
def test_a_failing_router_falls_back_to_release(tmp_path, router) -> None:
    with Receiver(tmp_path / "x.db", x_router=router, allow_unsigned=True) as rx:
        status, payload, _ = post(rx.wsgi_app, block_callin())
        assert (status, json.loads(payload)) == (200, {"operation": "close"})
        status, payload, _ = post(rx.wsgi_app, sms_body("Block"))
        assert json.loads(payload) == xmode.discard_sms()


def test_sms_block_is_routed(tmp_path) -> None:
    def router(push: Any) -> dict[str, Any]:
        if isinstance(push, ev.SmsBlock):
            return xmode.route_sms(CALLEE, push.calling, user_data="s1")
        return xmode.release()

    with Receiver(tmp_path / "x.db", x_router=router, allow_unsigned=True) as rx:
        _status, payload, _ = post(rx.wsgi_app, sms_body("Block"))
    assert json.loads(payload) == {
        "actions": [
            {
                "operation": "vNumberRoute",
                "message": {"called": CALLEE, "calling": CALLER},
                "userData": "s1",
            }
        ]
    }


def test_notify_callin_is_not_routed(tmp_path) -> None:
    with Receiver(
        tmp_path / "x.db", x_router=lambda p: xmode.connect(CALLEE), allow_unsigned=True
    ) as rx:
        _status, payload, _ = post(rx.wsgi_app, event_body("callin", notifyMode="Notify"))
    assert json.loads(payload)["resultcode"] == "0"


def test_reply_helpers_validate() -> None:
    with pytest.raises(ValidationError, match="max_duration"):
        xmode.connect(CALLEE, max_duration=7200)
    assert xmode.release(hint_tone="bye.wav") == {
        "operation": "close",
        "closeInfo": [{"closeHintTone": "bye.wav"}],
    }


# -- callbacks ------------------------------------------------------------------------------


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def test_callbacks_see_new_records_and_survive_exceptions(tmp_path) -> None:
    cdrs: list[ev.Cdr] = []
    events: list[Any] = []

    def on_cdr(cdr: ev.Cdr) -> None:
        cdrs.append(cdr)
        if len(cdrs) == 1:
            raise RuntimeError("a notebook bug")

    with Receiver(
        tmp_path / "cb.db", on_cdr=on_cdr, on_event=events.append, allow_unsigned=True
    ) as rx:
        assert post(rx.wsgi_app, fee_body(fee_info(1), busy_info(2)))[0] == 200
        assert post(rx.wsgi_app, fee_body(fee_info(1)))[0] == 200  # duplicate: no callback
        assert post(rx.wsgi_app, event_body("disconnect", stateCode=0))[0] == 200
        wait_for(lambda: len(cdrs) == 2 and len(events) == 1)
        assert rx.store.count() == 2
    assert [c.ul_fail_reason for c in cdrs] == [0, 8102]
    assert isinstance(events[0], ev.Disconnect) and events[0].seq is not None


# -- threaded server ------------------------------------------------------------------------


def test_threaded_server_on_port_zero(tmp_path) -> None:
    with Receiver(tmp_path / "srv.db", allow_unsigned=True) as rx:
        assert rx.url.startswith("http://127.0.0.1:") and rx.port > 0
        response = requests.post(rx.url + "/fee", json=fee_body(fee_info(1)), timeout=10)
        assert response.status_code == 200 and response.json()["resultcode"] == "0"
        bad = requests.post(
            rx.url + "/fee", data=b"nope", timeout=10, headers={"Content-Type": "application/json"}
        )
        assert bad.status_code == 400 and bad.json()["error"] == "bad-json"
        assert rx.store.count() == 1


def test_concurrent_pushes_over_http_are_all_stored(tmp_path) -> None:
    rx = Receiver(tmp_path / "many.db", allow_unsigned=True).start()
    statuses: list[int] = []

    def send(t: int) -> None:
        for j in range(5):
            body = fee_body(*[fee_info(1000 * t + 50 * j + i) for i in range(50)])
            statuses.append(requests.post(rx.url, json=body, timeout=30).status_code)

    threads = [threading.Thread(target=send, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 20
    assert rx.store.count() == 1000
    rx.stop()
    rx.stop()  # idempotent


def test_make_app_and_given_store_is_not_closed(tmp_path) -> None:
    store = Store(tmp_path / "given.db")
    app = make_app(store, allow_unsigned=True)
    assert post(app, fee_body(fee_info(1)))[0] == 200
    receiver = Receiver(store, allow_unsigned=True)
    receiver.stop()
    assert store.count() == 1  # still open: the caller owns it
    store.close()
    with Receiver(tmp_path / "r.db", allow_unsigned=True) as plain:
        assert "unverified" in repr(plain)
    with Receiver(tmp_path / "q.db", app_key=KEY, app_secret=SECRET) as verifying:
        assert SECRET not in repr(verifying) and "verifying" in repr(verifying)


def test_running_follows_start_and_stop(tmp_path) -> None:
    rx = Receiver(db=str(tmp_path / "r.db"), allow_unsigned=True)
    assert not rx.running
    rx.start()
    assert rx.running
    rx.stop()
    assert not rx.running
