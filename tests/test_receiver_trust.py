"""Trust at the receiver, over a real loopback socket: unverified pushes never shadow verified
ones, VoiceCall pushes verify with their own app (or are kept apart), and signing headers cannot
be replayed: not to the same receiver, not after a restart, not to another receiver on the same
store, and not 8 hours later.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from typing import Any

import pytest
import requests
from builders import (
    JSON_TYPE,
    KEY,
    SECRET,
    busy_info,
    event_body,
    fee_body,
    fee_info,
    voice_fee_info,
)

from toolkit.auth import format_created, password_digest, push_digest, sign_headers
from toolkit.emulator import Emulator
from toolkit.frame import cdr_frame
from toolkit.receiver import Receiver
from toolkit.store import Store

VKEY, VSECRET = "VoiceApp0123456789", "voice-app-secret"
HOUR = 3600.0


def send(url: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    data = json.dumps(body).encode()
    return requests.post(
        url, data=data, headers={"Content-Type": JSON_TYPE, **(headers or {})}, timeout=10
    )


def voice_headers(url: str, *, secret: str = VSECRET, variant: str = "newline") -> dict[str, str]:
    """X-AKSK headers of a VoiceCall push to ``url`` in one of the digest variants we accept."""
    nonce, created = f"N{time.monotonic_ns()}", format_created()
    if variant == "plain":  # the §2.1 digest, without the URL
        digest = password_digest(secret, nonce, created)
    else:
        digest = push_digest(
            secret, url, nonce, created, separator="\n" if variant == "newline" else ""
        )
    return {
        "Authorization": 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"',
        "X-AKSK": f'UsernameToken Username="{VKEY}",PasswordDigest="{digest}",'
        f'Nonce="{nonce}",Created="{created}"',
    }


def both_apps(path: Any, **options: Any) -> Receiver:
    return Receiver(
        path,
        app_key=KEY,
        app_secret=SECRET,
        voice_app_key=VKEY,
        voice_app_secret=VSECRET,
        **options,
    )


# -- an unsigned push cannot suppress a signed one --------------------------------------------


@pytest.mark.parametrize("voice_secret", [False, True], ids=["pn-secret", "both-secrets"])
def test_a_forged_cdr_sent_first_cannot_suppress_the_real_one(tmp_path, voice_secret) -> None:
    # The attack: an unsigned push shaped like a VoiceCall CDR (never refused, §2.4), carrying
    # the icid of a real call and forged failure codes, arrives before the platform's CDR.
    forged = {**busy_info(1), "serviceType": "001"}
    real = fee_info(1)
    make = both_apps if voice_secret else lambda p: Receiver(p, app_key=KEY, app_secret=SECRET)
    with make(tmp_path / "a.db") as rx:
        assert send(rx.url + "/fee", fee_body(forged)).status_code == 200
        signed = send(rx.url + "/fee", fee_body(real), sign_headers(KEY, SECRET))
        assert signed.status_code == 200
        rows = rx.store.cdrs()
        assert [(r["icid"], r["ul_fail_reason"]) for r in rows] == [(real["icid"], 0)]
        (row,) = rows
        assert (row["verified"], row["product"]) == (1, "privatenumber")
        cdr = Store.record("cdrs", row)
        assert cdr.answered and cdr.ul_fail_reason == 0 and cdr.verified
        frame = cdr_frame(rx.store)
        assert len(frame) == 1 and frame["outcome"].iloc[0] == "answered"
        ((q),) = rx.store.quarantine()
        assert json.loads(q["body"]) == fee_body(forged) and q["reason"] == "unsigned"
        assert q["remote_addr"] == "127.0.0.1"


def test_a_forged_event_sent_first_cannot_suppress_the_real_one(tmp_path) -> None:
    # Without PrivateNumber fields an answer/disconnect event fits both products.
    forged = event_body("disconnect", subscriptionId=None, stateCode=17, stateDesc="busy")
    real = event_body("disconnect", stateCode=0, stateDesc="normal release")
    with Receiver(tmp_path / "e.db", app_key=KEY, app_secret=SECRET) as rx:
        assert send(rx.url + "/status", forged).status_code == 200
        assert send(rx.url + "/status", real, sign_headers(KEY, SECRET)).status_code == 200
        rows = rx.store.events()
        assert [r["state_code"] for r in rows] == [0]
        (row,) = rows
        assert row["verified"] == 1
        assert Store.record("events", row).state_code == 0
        assert [q["reason"] for q in rx.store.quarantine()] == ["unsigned"]


def test_a_voicecall_push_with_a_wrong_signature_is_quarantined(tmp_path, caplog) -> None:
    with both_apps(tmp_path / "q.db") as rx, caplog.at_level(logging.WARNING, "toolkit"):
        url = rx.url + "/fee"
        for n in (1, 2):  # a second failure for the same reason is not logged again
            wrong = voice_headers(url, secret="not-the-voice-secret")
            assert send(url, fee_body(voice_fee_info(n)), wrong).status_code == 200
        assert rx.store.count("cdrs") == 0
        assert [q["reason"] for q in rx.store.quarantine()] == ["bad-digest", "bad-digest"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "VOICECALL_APP_SECRET" in warnings[0]
    assert VSECRET not in warnings[0]


# -- VoiceCall pushes verify with their own app -----------------------------------------------


def test_push_digest_matches_the_spec_vectors() -> None:
    args = ("ExampleAppSecret0123", "https://example.com:8443/voice/status")
    fixed = ("66C92B11FF8A425FB8D4CCFE0ED9ED1F", "2018-02-12T15:30:20Z")
    assert push_digest(*args, *fixed) == "9W5sacVpP4ntGrEMOfI8HROJsDps9+FGYRaSDPu23iQ="
    assert (
        push_digest(*args, *fixed, separator="") == "Ah+wT4j5FKkdSRuCP9DVoufzGZ2+H3B8XlX7RbyXAYY="
    )


@pytest.mark.parametrize("variant", ["newline", "no-separator", "plain"])
def test_voicecall_pushes_verify_with_the_voice_app(tmp_path, variant: str) -> None:
    with both_apps(tmp_path / "v.db") as rx:
        url = rx.url + "/fee"
        response = send(url, fee_body(voice_fee_info(1)), voice_headers(url, variant=variant))
        assert response.status_code == 200
        # a VoiceCall status event has no VoiceCall-only field until it ends: still verified
        status = rx.url + "/status"
        answer = event_body("answer", subscriptionId=None)
        assert send(status, answer, voice_headers(status, variant=variant)).status_code == 200
        assert [(r["product"], r["verified"]) for r in rx.store.cdrs()] == [("voicecall", 1)]
        assert [(r["product"], r["verified"]) for r in rx.store.events()] == [("voicecall", 1)]
        assert rx.store.quarantine() == []


def test_public_url_is_the_url_voicecall_signatures_cover(tmp_path) -> None:
    public = "https://push.example.com/hooks"
    with both_apps(tmp_path / "p.db", public_url=public) as rx:
        headers = voice_headers(public + "/fee")  # the proxy forwards /hooks/fee as /fee
        assert send(rx.url + "/fee", fee_body(voice_fee_info(1)), headers).status_code == 200
        local = voice_headers(rx.url + "/fee")  # not the URL the platform knows
        assert send(rx.url + "/fee", fee_body(voice_fee_info(2)), local).status_code == 200
        assert [r["verified"] for r in rx.store.cdrs()] == [1]
        assert [q["reason"] for q in rx.store.quarantine()] == ["bad-digest"]


def test_the_emulator_loop_stores_voicecall_pushes_verified(tmp_path) -> None:
    with both_apps(tmp_path / "emu.db") as rx:
        emu = Emulator(
            "axb",
            app_key=KEY,
            app_secret=SECRET,
            voice_app_key=VKEY,
            voice_app_secret=VSECRET,
            seed=9,
            time_scale=0,
            status_url=rx.url + "/status",
            fee_url=rx.url + "/fee",
        )
        try:
            display = next(iter(emu.voice_app.numbers))
            emu.voice_client().click2call("+8613800000001", "+8613900000002", display_nbr=display)
            x = emu.client().axb.bind("+8613800000003", "+8613900000004")["relationNum"]
            emu.place_call("+8613800000003", x, outcome="answered")
            assert emu.wait_idle(10)
        finally:
            emu.stop()
        cdrs = rx.store.cdrs()
        assert sorted((r["product"], r["verified"]) for r in cdrs) == [
            ("privatenumber", 1),
            ("voicecall", 1),
        ]
        assert {r["verified"] for r in rx.store.events()} == {1}
        assert rx.store.quarantine() == []


# -- replay -----------------------------------------------------------------------------------


def test_replay_to_the_same_receiver_stores_nothing(tmp_path) -> None:
    with Receiver(tmp_path / "r.db", app_key=KEY, app_secret=SECRET) as rx:
        headers = sign_headers(KEY, SECRET)
        assert send(rx.url, fee_body(fee_info(1)), headers).status_code == 200
        again = send(rx.url, fee_body(busy_info(2)), headers)
        assert again.status_code == 401 and again.json()["error"] == "replayed-nonce"
        assert [r["icid"] for r in rx.store.cdrs()] == [fee_info(1)["icid"]]


def test_replay_after_a_restart_stores_nothing(tmp_path) -> None:
    path, headers = tmp_path / "restart.db", sign_headers(KEY, SECRET)
    with Receiver(path, app_key=KEY, app_secret=SECRET) as rx:
        assert send(rx.url, fee_body(fee_info(1)), headers).status_code == 200
    with Receiver(path, app_key=KEY, app_secret=SECRET) as rx:
        again = send(rx.url, fee_body(busy_info(2)), headers)
        assert again.status_code == 401 and again.json()["error"] == "replayed-nonce"
        assert rx.store.count() == 1


def test_replay_to_a_second_receiver_on_the_same_store_stores_nothing(tmp_path) -> None:
    path, headers = tmp_path / "two.db", sign_headers(KEY, SECRET)
    with (
        Receiver(path, app_key=KEY, app_secret=SECRET) as first,
        Receiver(path, app_key=KEY, app_secret=SECRET) as second,
    ):
        assert send(first.url, fee_body(fee_info(1)), headers).status_code == 200
        again = send(second.url, event_body("disconnect", stateCode=17), headers)
        assert again.status_code == 401 and again.json()["error"] == "replayed-nonce"
        assert second.store.counts() == {"cdrs": 1, "events": 0, "sms": 0, "num_status": 0}


def test_a_replayed_voicecall_push_is_quarantined_not_stored(tmp_path) -> None:
    path = tmp_path / "vr.db"
    headers = voice_headers("", variant="plain")  # a digest that does not cover the URL
    with both_apps(path) as rx:
        assert send(rx.url, fee_body(voice_fee_info(1)), headers).status_code == 200
    with both_apps(path) as rx:
        assert send(rx.url, fee_body(voice_fee_info(2)), headers).status_code == 200
        assert rx.store.count() == 1
        assert [q["reason"] for q in rx.store.quarantine()] == ["replayed-nonce"]


def test_a_push_that_could_not_be_stored_can_be_retried_with_the_same_headers(tmp_path) -> None:
    # Only a committed push uses up its nonce: the platform's retry after a 503 must succeed.
    path = tmp_path / "locked.db"
    rx = Receiver(Store(path, timeout=0.05), app_key=KEY, app_secret=SECRET).start()
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        headers = sign_headers(KEY, SECRET)
        blocker.execute("BEGIN EXCLUSIVE")
        assert send(rx.url, fee_body(fee_info(1)), headers).status_code == 503
        blocker.execute("ROLLBACK")
        assert send(rx.url, fee_body(fee_info(1)), headers).status_code == 200
        assert rx.store.count() == 1
    finally:
        blocker.close()
        rx.stop()
        rx.store.close()


def test_a_header_has_one_window_not_a_second_one_8_hours_later(tmp_path) -> None:
    now = time.time()
    clock = [now]
    beijing = sign_headers(KEY, SECRET, created=format_created(now + 8 * HOUR))  # UTC+8, "Z"
    with Receiver(tmp_path / "bj.db", app_key=KEY, app_secret=SECRET, clock=lambda: clock[0]) as rx:
        refused = send(rx.url, fee_body(fee_info(1)), beijing)
        assert refused.status_code == 401 and refused.json()["error"] == "stale-created"
        utc = sign_headers(KEY, SECRET, created=format_created(now))
        assert send(rx.url, fee_body(fee_info(2)), utc).status_code == 200
        clock[0] = now + 8 * HOUR  # 8 hours later
        late = send(rx.url, fee_body(busy_info(3)), utc)
        assert late.status_code == 401 and late.json()["error"] == "stale-created"
        # the Beijing-labelled header is valid in its one (UTC) window, and once only
        assert send(rx.url, fee_body(fee_info(4)), beijing).status_code == 200
        assert send(rx.url, fee_body(busy_info(5)), beijing).status_code == 401
        assert sorted(r["icid"][-1] for r in rx.store.cdrs()) == ["2", "4"]
