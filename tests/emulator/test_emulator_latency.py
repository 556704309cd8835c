"""The emulator's latency option: API answers held as a remote platform's are, over a real
socket; a client deadline shorter than it times out; control routes answer at once."""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Iterator

import pytest
import requests

from toolkit.client import PrivateNumberClient
from toolkit.emulator import Emulator
from toolkit.emulator.cli import _parser, latency
from toolkit.errors import EmulatorError, TransportError

LATENCY = 2.0  # seconds: far over the client timeout below, whatever the machine's load


@pytest.fixture(scope="module")
def slow() -> Iterator[Emulator]:
    emu = Emulator("axb", time_scale=0, seed=5, latency=LATENCY).start()
    yield emu
    emu.stop()


def test_a_deadline_shorter_than_the_latency_times_out_and_the_bind_still_lands(
    slow: Emulator,
) -> None:
    """The client gives up at its deadline; the platform, still acting on the request, binds
    anyway: the ambiguous failure a remote platform makes possible, rehearsed locally."""
    settings = dataclasses.replace(slow.settings(), timeout=0.8, retries=0)
    with PrivateNumberClient(settings) as client:
        with pytest.raises(TransportError) as caught:
            client.axb.bind("+8613800000201", "+8613900000201")
        assert caught.value.sent  # it may have been acted on: it was
        for _ in range(100):  # bounded: the emulator acts after half the latency
            if slow.bindings():
                break
            time.sleep(0.05)
        assert [b["callerNum"] for b in slow.bindings()] == ["+8613800000201"]
        slow.latency = 0
        try:  # the same client and deadline, without the latency: answered
            assert client.axb.bind("+8613800000202", "+8613900000202").subscription_id
        finally:
            slow.latency = LATENCY


def test_control_routes_are_not_delayed(slow: Emulator) -> None:
    with requests.get(f"{slow.url}/_emulator/health", timeout=LATENCY / 2) as answer:
        assert answer.json()["status"] == "ok"


@pytest.mark.parametrize("bad", [-0.01, 61.0, float("nan"), "20ms", True])
def test_a_latency_out_of_range_or_not_a_number_is_refused(bad: object) -> None:
    with pytest.raises(EmulatorError, match="latency"):
        Emulator(latency=bad)  # type: ignore[arg-type]
    emu = Emulator()
    with pytest.raises(EmulatorError, match="latency"):
        emu.latency = bad  # type: ignore[assignment]
    assert emu.latency == 0


def test_the_command_line_reads_milliseconds_and_seconds() -> None:
    assert latency("20ms") == pytest.approx(0.02)
    assert latency(" 0.5s") == pytest.approx(0.5)
    assert latency("20") == pytest.approx(0.02)  # a bare number is milliseconds
    assert _parser().parse_args(["--latency", "150ms"]).latency == pytest.approx(0.15)
    assert _parser().parse_args([]).latency == 0
    for bad in ("20x", "-1ms", "61s", "nan", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            latency(bad)
