"""Bounded memory: finished calls are remembered in a window (oldest dropped first, live calls
never), push attempts likewise, and one HTTP simulate request is capped."""

from __future__ import annotations

import gc
import os
import re
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import requests
from push_sink import PushSink

from toolkit.emulator import Backend, Emulator, EmulatorError, PlatformError
from toolkit.emulator.app import MAX_SIMULATE_HTTP
from toolkit.emulator.calls import Call
from toolkit.emulator.params import Params


def _bind_pairs(backend: Backend, app_key: str, pairs: int = 20, **fields: Any) -> list[str]:
    """Bind ``pairs`` AXB pairs; return their X numbers."""
    xs = []
    for i in range(pairs):
        params = {"callerNum": f"+86135{i:08d}", "calleeNum": f"+86136{i:08d}", **fields}
        xs.append(backend.handle(app_key, "axb.bind", Params(params))["relationNum"])
    return xs


class HeldPushes:
    """Pushes that play nothing until told: calls stay live until :meth:`end` is called, then
    report their end to the backend's history, as the delivery worker does."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.played: list[Call] = []

    def play(self, call: Call) -> None:
        self.played.append(call)

    def end(self, call: Call) -> None:
        call.ended = True
        self.backend.calls.finished(call)

    def push(self, *args: Any) -> None:
        return None

    def ask(self, *args: Any) -> Any:
        return None

    def elapsed(self, call: Call) -> float:
        return 0.0


def _session_ids(backend: Backend) -> list[str]:
    return [c["sessionId"] for c in backend.call_summaries()]


def test_finished_calls_beyond_the_window_are_dropped_oldest_first() -> None:
    backend = Backend(seed=1, max_calls=3)
    key = backend.add_app("axb").app_key
    xs = _bind_pairs(backend, key, 1)
    placed = [backend.place_call("+8613500000000", xs[0]).session_id for _ in range(10)]
    assert _session_ids(backend) == placed[-3:]
    assert backend.calls.finished_count() == 3
    with pytest.raises(EmulatorError, match="newest 3 finished calls"):
        backend.call(placed[0])
    assert backend.call(placed[-1]).session_id == placed[-1]


def test_live_calls_are_never_dropped() -> None:
    backend = Backend(seed=1, max_calls=3)
    held = HeldPushes(backend)
    backend.pushes = held
    key = backend.add_app("axb").app_key
    xs = _bind_pairs(backend, key, 1)
    placed = [backend.place_call("+8613500000000", xs[0]).session_id for _ in range(10)]
    assert _session_ids(backend) == placed  # all live: all kept, however many
    for call in held.played:
        if call.session_id != placed[2]:
            held.end(call)
    # The window holds the three newest finished calls; the live one stays.
    assert _session_ids(backend) == [placed[2], *placed[-3:]]
    held.end(backend.call(placed[2]))  # now the newest finished call: it pushes out the oldest
    assert _session_ids(backend) == [placed[2], *placed[-2:]]
    held.end(backend.call(placed[2]))  # told twice: counted once
    assert len(_session_ids(backend)) == 3


def test_a_recording_is_forgotten_with_its_call() -> None:
    backend = Backend(seed=1, max_calls=1)
    key = backend.add_app("axb").app_key
    xs = _bind_pairs(backend, key, 1, recordFlag="true")
    first = backend.place_call("+8613500000000", xs[0], outcome="answered", talk_seconds=60)
    name, domain = first.cdr["recordObjectName"], first.cdr["recordDomain"]
    ask = Params({"fileName": name, "recordDomain": domain}, from_query=True)
    assert backend.record_location(key, ask) == name and backend.has_recording(name)
    backend.place_call("+8613500000000", xs[0], outcome="busy")  # pushes the first out
    assert not backend.has_recording(name)
    with pytest.raises(PlatformError):
        backend.record_location(key, ask)


@pytest.mark.parametrize("served", [False, True], ids=["in-process", "server"])
def test_emulator_keeps_a_window_of_calls_and_deliveries(sink: PushSink, served: bool) -> None:
    emu = Emulator(
        "axb",
        time_scale=0,
        seed=3,
        max_calls=25,
        max_deliveries=60,
        status_url=sink.url + "/status",
        fee_url=sink.url + "/fee",
    )
    if served:
        emu.start()
    try:
        _bind_pairs(emu.backend, emu.app_key, 5)
        placed = emu.simulate(100, seed=4)
        assert emu.wait_idle(60)
        kept = emu.calls()
        assert len(kept) == 25 and all(c["ended"] for c in kept)
        assert {c["sessionId"] for c in kept} <= {p["sessionId"] for p in placed[-30:]}
        session = emu.session()
        listed = session.get(emu.url + "/_emulator/calls").json()["calls"]
        assert [c["sessionId"] for c in listed] == [c["sessionId"] for c in kept]
        assert session.get(emu.url + "/_emulator/health").json()["calls"] == 25
        deliveries = emu.deliveries()
        ids = [d["id"] for d in deliveries]
        # 100 calls made hundreds of attempts: the log keeps the newest, 60 items in all.
        assert 0 < sum(d["count"] for d in deliveries) <= 60 and 1 not in ids
        over_http = session.get(emu.url + "/_emulator/deliveries").json()["deliveries"]
        assert [d["id"] for d in over_http] == ids
        with pytest.raises(EmulatorError):
            emu.cdr(placed[0]["sessionId"])
        assert emu.cdr(kept[-1]["sessionId"])["sessionId"] == kept[-1]["sessionId"]
        session.close()
    finally:
        emu.stop()


def test_kept_cdr_batches_count_per_cdr(sink: PushSink) -> None:
    # Each attempt keeps its body: a log counting attempts would keep 50 CDRs per fee push.
    emu = Emulator("axb", time_scale=0, seed=3, max_deliveries=100, fee_url=sink.url + "/fee")
    try:
        _bind_pairs(emu.backend, emu.app_key, 5)
        emu.simulate(600, seed=4)
        assert emu.wait_idle(60) and sink.wait_for(1)
        fees = emu.deliveries("fee", with_body=True)
        assert len(fees) > 1 and fees[-1]["id"] > len(fees)  # the first batches were dropped
        assert sum(len(d["body"]["feeLst"]) for d in fees) <= 100
    finally:
        emu.stop()


def test_windows_must_hold_at_least_one() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(EmulatorError, match="max_calls"):
            Emulator(max_calls=bad)  # type: ignore[arg-type]
        with pytest.raises(EmulatorError, match="max_deliveries"):
            Emulator(max_deliveries=bad)  # type: ignore[arg-type]


def test_http_simulate_is_capped_per_request(served_emulator: Emulator) -> None:
    emu = served_emulator
    _bind_pairs(emu.backend, emu.app_key, 2)
    for calls in (MAX_SIMULATE_HTTP + 1, 10**9, -1, "5", 2.5):
        r = requests.post(emu.url + "/_emulator/simulate", json={"calls": calls}, timeout=10)
        assert r.status_code == 400
        body = r.json()
        assert body["resultcode"] == "1010002"
        assert re.search(rf"\bcalls\b.*\b{MAX_SIMULATE_HTTP}\b", body["resultdesc"]), body
    assert emu.calls() == []  # refused whole: nothing was placed
    ok = requests.post(emu.url + "/_emulator/simulate", json={"calls": 3, "seed": 1}, timeout=10)
    assert ok.status_code == 200 and len(ok.json()["calls"]) == 3


def _retained_after_simulating(calls: int, window: int) -> int:
    """Bytes still allocated after ``calls`` simulated calls with a window of ``window``."""
    backend = Backend(seed=5, max_calls=window)
    key = backend.add_app("axb").app_key
    _bind_pairs(backend, key, 20)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        backend.simulate(calls, seed=6)  # in-process: more than one HTTP request may ask for
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(backend.call_summaries()) == min(calls, window)
    return after - before


def test_retained_memory_follows_the_window_not_the_traffic() -> None:
    calls = 6_000
    small = _retained_after_simulating(calls, window=300)
    full = _retained_after_simulating(calls, window=calls)
    # The window keeps 1/20 of the calls; allow for fixed costs, but it must be far below.
    # (benchmarks/emulator.py measures the same at 50,000 calls and more.)
    assert small * 8 < full, (small, full)


def test_cli_max_calls_bounds_the_served_emulator() -> None:
    from toolkit.client import PrivateNumberClient
    from toolkit.emulator.cli import main

    assert main(["--max-calls", "0"]) == 2 and main(["--max-deliveries", "-5"]) == 2
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "toolkit", "emulator", "--time-scale", "0"]
    command += ["--app-key", "K1", "--app-secret", "S1", "--max-calls", "5"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root
    )
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert [proc.stdout.readline().strip() for _ in range(2)] == [  # type: ignore[union-attr]
            "APP_KEY=K1",
            "APP_SECRET=S1",
        ]
        with PrivateNumberClient(base_url=url, app_key="K1", app_secret="S1") as client:
            client.axb.bind("+8613500000001", "+8613600000001")
        with requests.Session() as http:
            placed = http.post(url + "/_emulator/simulate", json={"calls": 20}, timeout=30)
            assert placed.status_code == 200 and len(placed.json()["calls"]) == 20
            http.post(url + "/_emulator/deliveries/flush", timeout=30)
            calls = http.get(url + "/_emulator/calls", timeout=10).json()["calls"]
        assert len(calls) == 5
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
