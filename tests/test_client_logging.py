"""The ``toolkit.client`` logger: one line per request, numbers masked, no secret or signing header
at any level (every logger captured at DEBUG, over a real loopback socket)."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest

from toolkit.client import AXB_PATH, PrivateNumberClient
from toolkit.emulator import Emulator
from toolkit.emulator.flow import RateLimit
from toolkit.errors import NotFoundError

A, B = "+8613800138000", "+8613900139000"
SECRET = "Sup3r-Secret-Never-Logged"
LINE = re.compile(
    r"^(GET|POST|PUT|DELETE) (/\S+) status=(\d{3}|-) resultcode=(\S+) elapsed_ms=\d+\.\d "
    r"attempt=(\d+)"
)


@pytest.fixture(params=["aksk", "wsse"])
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    emu = Emulator("axb", time_scale=0, seed=5, app_secret=SECRET).start()
    emu.scheme = request.param  # type: ignore[attr-defined]
    yield emu
    emu.stop()


def run_calls(emu: Emulator, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Bind, query (throttled twice, then let through), unbind, and unbind again (refused)."""
    settings = replace(emu.settings(auth_scheme=emu.scheme), retries=3, backoff=0.01)  # type: ignore[attr-defined]
    ticks = itertools.count(step=0.4)  # the limiter's clock moves 0.4 s per request
    emu.backend.limits[emu.app_key] = RateLimit(1, burst=1, clock=lambda: next(ticks))
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records, every level
    with PrivateNumberClient(settings) as client:
        bound = client.axb.bind(A, B, user_data="order-7")
        client.axb.query(bound.subscription_id)
        emu.rate_limit(None)
        client.axb.unbind(bound.subscription_id)
        with pytest.raises(NotFoundError):
            client.axb.unbind(bound.subscription_id)
    return caplog.records


def test_one_line_per_request_with_status_resultcode_time_and_attempt(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    records = run_calls(emulator, caplog)
    lines = [
        LINE.match(r.getMessage())
        for r in records
        if r.name == "toolkit.client" and r.levelno >= logging.INFO
    ]
    assert [m.groups() for m in lines if m] == [
        ("POST", AXB_PATH, "200", "0", "1"),
        ("GET", AXB_PATH, "403", "1010010", "1"),
        ("GET", AXB_PATH, "403", "1010010", "2"),
        ("GET", AXB_PATH, "200", "0", "3"),
        ("DELETE", AXB_PATH, "200", "0", "1"),
        ("DELETE", AXB_PATH, "403", "1012007", "1"),
    ]


def test_no_secret_no_signing_header_and_no_full_number_at_any_level(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    records = run_calls(emulator, caplog)
    everything = caplog.text + "\n".join(r.getMessage() for r in records)
    assert SECRET not in everything
    for marker in ("Authorization", "X-AKSK", "X-WSSE", "PasswordDigest", "UsernameToken", "Nonce"):
        assert marker.lower() not in everything.lower()
    ours = "\n".join(r.getMessage() for r in records if r.name.startswith("toolkit"))
    for number in (A, B, A[3:], B[3:]):
        assert number not in ours
    debug = [r.getMessage() for r in records if r.name == "toolkit.client" and r.levelno == 10]
    # DEBUG adds the bodies: the request's numbers and the answer's fields, masked.
    assert any("+86138****8000" in m and "order-7" in m for m in debug)
    assert any("subscriptionId" in m and "answer" in m for m in debug)


def test_nothing_is_logged_above_the_level_asked_for(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with emulator.client() as client:
        caplog.set_level(logging.WARNING, "toolkit.client")
        client.axb.bind(A, B)
    assert [r for r in caplog.records if r.name == "toolkit.client"] == []
