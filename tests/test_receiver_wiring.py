"""Wiring an emulator to a receiver in one call, and the receiver's rule about unsigned pushes.

Before, each needed something from the other (the emulator the receiver's URL, the receiver the
emulator's secrets), so examples left the receiver without secrets, and ``Receiver()`` stored
every push unverified without a word while the command line refused to.
"""

from __future__ import annotations

import pytest
import requests
from builders import fee_body, fee_info

from toolkit.emulator import Emulator, every_mode
from toolkit.errors import ConfigError, EmulatorError, ValidationError
from toolkit.receiver import Receiver
from toolkit.voice import Segment


def test_a_receiver_without_secrets_must_be_told_to_store_unsigned_pushes(tmp_path) -> None:
    with pytest.raises(ConfigError) as info:
        Receiver(tmp_path / "r.db")
    assert info.value.setting == "app_secret" and "allow_unsigned=True" in str(info.value)
    assert not (tmp_path / "r.db").exists()  # refused before anything was opened
    with Receiver(tmp_path / "r.db", allow_unsigned=True) as rx:
        assert requests.post(rx.url + "/fee", json=fee_body(fee_info(1)), timeout=5).ok
        assert [r["verified"] for r in rx.store.cdrs()] == [0]


def test_for_emulator_verifies_every_push_of_every_app(tmp_path) -> None:
    emu = Emulator("axb", seed=1, time_scale=0)
    with Receiver.for_emulator(emu, db=tmp_path / "w.db") as rx:
        assert rx.running and emu.default_app.fee_url == f"{rx.url}/fee"
        apps = every_mode(emu)  # added after the wiring: pushed and trusted alike
        pair = emu.client().axb.bind("138 0013 8000", "139 0013 9000")
        emu.place_call("13800138000", pair.relation_num, outcome="busy")
        ax = emu.client(apps["ax"]).ax.bind("13800138001", area_code="0755")
        emu.place_call("13900139001", ax.private_num, outcome="answered")
        emu.voice_client().call_notify(
            "13900139002",
            Segment.tts("TPL01", "0930"),
            display_nbr=next(iter(emu.voice_app.numbers)),
        )
        assert emu.wait_idle(30, retries=True)
        cdrs = rx.store.cdrs()
        assert len(cdrs) == 3 and {r["verified"] for r in cdrs} == {1}
        assert sorted(r["product"] for r in cdrs) == ["privatenumber"] * 2 + ["voicecall"]
        events = rx.store.events()
        assert events and {r["verified"] for r in events} == {1}
        assert rx.store.quarantine() == []
        # A push that is not the emulator's is refused: the receiver really verifies.
        forged = requests.post(rx.url + "/fee", json=fee_body(fee_info(9)), timeout=5)
        assert forged.status_code == 401
    emu.stop()


def test_for_emulator_can_take_some_push_kinds_only(tmp_path) -> None:
    emu = Emulator("axb", seed=2, time_scale=0, status_url="http://127.0.0.1:9/status")
    with Receiver.for_emulator(emu, db=tmp_path / "f.db", pushes=("fee",)) as rx:
        app = emu.default_app
        assert (app.fee_url, app.status_url) == (f"{rx.url}/fee", "http://127.0.0.1:9/status")
        with pytest.raises(EmulatorError):
            emu.push_to(rx, pushes=("cdr",))
    emu.stop()


def test_for_emulator_of_a_voice_emulator_verifies_voicecall(tmp_path) -> None:
    emu = Emulator("voice", seed=3, time_scale=0)
    with Receiver.for_emulator(emu, db=tmp_path / "v.db") as rx:
        emu.voice_client().call_verify(
            "13900139000", "4821", display_nbr=emu.numbers[0], pre_tone="p.wav"
        )
        assert emu.wait_idle(30, retries=True)
        assert [(r["product"], r["verified"]) for r in rx.store.cdrs()] == [("voicecall", 1)]
    emu.stop()


def test_trust_checks_its_arguments(tmp_path) -> None:
    with Receiver(tmp_path / "t.db", allow_unsigned=True) as rx:
        for args in (("", "s"), ("k", ""), ("k", "s", "sms")):
            with pytest.raises(ValidationError):
                rx.trust(*args)  # type: ignore[arg-type]
        assert "unverified" in repr(rx)
        rx.trust("k", "s")
        assert "verifying privatenumber" in repr(rx) and "'s'" not in repr(rx)


def test_a_receiver_refused_by_its_arguments_still_shows_in_a_traceback() -> None:
    # Tracebacks (pytest's, a debugger's) show the half-built object: its repr must not fail.
    with pytest.raises(ConfigError) as caught:
        Receiver()
    frames = [entry.frame.f_locals for entry in caught.traceback]
    refused = next(f["self"] for f in frames if isinstance(f.get("self"), Receiver))
    assert repr(refused) == "Receiver(url=None, unverified, store=None)"
