"""Fixtures of the emulator tests: a push sink and an emulator listening on port 0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from push_sink import PushSink

from toolkit.emulator import Emulator


@pytest.fixture
def sink() -> Iterator[PushSink]:
    """A push sink on 127.0.0.1 port 0, closed after the test."""
    s = PushSink()
    yield s
    s.close()


@pytest.fixture
def served_emulator() -> Iterator[Emulator]:
    """An emulator (AXB default app, calls played at once) listening on 127.0.0.1 port 0."""
    emu = Emulator("axb", time_scale=0, seed=7).start()
    yield emu
    emu.stop()
