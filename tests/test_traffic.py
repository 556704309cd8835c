"""Background traffic and the simulated clock: calls keep arriving, with times that agree."""

from __future__ import annotations

import threading

import pytest

from toolkit.emulator import Emulator
from toolkit.errors import ValidationError
from toolkit.receiver import Receiver
from toolkit.traffic import BackgroundTraffic, SimulatedClock
from toolkit.widgets import TrafficControl

SCALE = 0.001  # 1000 simulated seconds per real second: a 5-minute call plays in 0.3 s


def test_the_simulated_clock_runs_at_the_playback_speed() -> None:
    clock = SimulatedClock(SCALE, start=1_700_000_000.0)
    first = clock()
    threading.Event().wait(0.05)
    assert clock() - first >= 0.05 / SCALE
    with pytest.raises(ValidationError):
        SimulatedClock(0)


def test_no_time_written_is_ahead_of_the_clock_when_it_arrives() -> None:
    """At time_scale=0.001 on the wall clock a CDR arrives with an end time minutes ahead; on
    the simulated clock each arrives when the clock reads its end time (within a second)."""
    clock = SimulatedClock(SCALE)
    ahead: list[float] = []
    with Receiver(
        allow_unsigned=True,
        on_cdr=lambda cdr: ahead.append(cdr.call_end_time.timestamp() - clock()),
    ) as rx:
        emu = Emulator("axb", seed=3, time_scale=SCALE, clock=clock, fee_url=f"{rx.url}/fee")
        try:
            binding = emu.client().axb.bind("13800138000", "13900139000")
            for _ in range(5):
                emu.place_call(
                    "+8613800138000", binding.relation_num, outcome="answered", talk_seconds=300
                )
            assert emu.wait_idle(retries=True)
            assert rx.store.count("cdrs") == 5
        finally:
            emu.stop()
    # Pushes are delivered in batches a little after the call ends: never before, never far.
    assert len(ahead) == 5 and max(ahead) <= 1.0


def traffic_emulator() -> Emulator:
    emu = Emulator("axb", seed=3, time_scale=0)
    emu.client().axb.bind("13800138000", "13900139000")
    return emu


def test_background_traffic_places_its_calls_without_blocking() -> None:
    emu = traffic_emulator()
    seen: list[int] = []
    traffic = BackgroundTraffic(
        emu, calls=5, every=0.01, seed=1, on_change=lambda t: seen.append(t.placed)
    )
    try:
        assert traffic.start() is traffic
        assert traffic.wait(10)
        assert traffic.placed == 5 and len(emu.calls()) == 5
        assert seen[:5] == [1, 2, 3, 4, 5]
        assert traffic.status.endswith("· done")
    finally:
        traffic.stop()
        emu.stop()


def test_stop_ends_the_traffic_early_and_the_button_does_it() -> None:
    emu = traffic_emulator()
    traffic = BackgroundTraffic(emu, calls=1000, every=0.05, seed=1)
    panel = TrafficControl(traffic.start())
    try:
        assert not panel.stop_button.disabled
        panel.stop_button.click()
        assert not traffic.running and traffic.placed < 1000
        assert "stopped" in panel.status.value and panel.stop_button.disabled
    finally:
        traffic.stop()
        emu.stop()


def test_traffic_without_bindings_stops_with_the_reason() -> None:
    emu = Emulator("axb", seed=3, time_scale=0)
    traffic = BackgroundTraffic(emu, calls=3, every=0)
    try:
        assert traffic.start().wait(10)
        assert traffic.placed == 0 and "no bindings" in (traffic.error or "")
        assert "stopped: no bindings" in traffic.status
    finally:
        emu.stop()


@pytest.mark.parametrize(
    ("options", "param"),
    [({"calls": 0}, "calls"), ({"calls": True}, "calls"), ({"every": -1}, "every")],
)
def test_bad_settings_are_refused(options: dict, param: str) -> None:
    with pytest.raises(ValidationError) as info:
        BackgroundTraffic(Emulator("axb", time_scale=0), **options)
    assert info.value.param == param
