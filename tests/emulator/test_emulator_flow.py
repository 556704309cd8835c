"""Flow control: a rate limit per app answered with the platform's 1010010 (HTTP and in-process)."""

from __future__ import annotations

import json

import pytest
import requests

from toolkit.auth import UsernameTokenAuth
from toolkit.emulator import Emulator
from toolkit.emulator.flow import RateLimit
from toolkit.errors import EmulatorError, PlatformError, ThrottledError

A, B, C = "+8613800138000", "+8613900139000", "+8613700137000"


def test_the_bucket_lets_a_burst_through_then_refuses_until_it_refills() -> None:
    now = [100.0]
    limit = RateLimit(2, burst=3, clock=lambda: now[0])
    for _ in range(3):
        limit.take()
    with pytest.raises(PlatformError) as caught:
        limit.take()
    assert (caught.value.resultcode, caught.value.status) == ("1010010", 403)
    now[0] += 0.5  # one token back at 2 per second
    limit.take()
    with pytest.raises(PlatformError):
        limit.take()
    assert limit.refused == 2


@pytest.mark.parametrize("rate", [0, -1, float("nan"), True, "5"])
def test_a_bad_rate_is_refused(rate: object) -> None:
    with pytest.raises(EmulatorError):
        RateLimit(rate)  # type: ignore[arg-type]


def test_over_http_the_limited_app_is_refused_and_the_others_are_not(
    served_emulator: Emulator,
) -> None:
    emu = served_emulator
    other = emu.add_app("axb")
    emu.rate_limit(0.01, burst=1)  # one request, then one per 100 s
    with emu.client() as limited, emu.client(other) as free:
        limited.axb.bind(A, B)
        with pytest.raises(ThrottledError) as caught:
            limited.axb.bind(A, C)
        free.axb.bind(A, B)
        free.axb.bind(A, C)
    assert caught.value.resultcode == "1010010" and caught.value.status == 403
    assert len(emu.bindings(emu.default_app)) == 1  # the refused bind changed nothing
    emu.rate_limit(None)
    with emu.client() as limited:
        limited.axb.bind(A, C)


def test_the_refusal_on_the_wire_is_the_documented_json(served_emulator: Emulator) -> None:
    emu = served_emulator
    emu.rate_limit(0.01, burst=1)
    auth = UsernameTokenAuth(emu.app_key, emu.app_secret, "aksk", origin=emu.url)
    url = emu.url + "/rest/caas/relationnumber/partners/v1.0"
    with requests.Session() as s:
        first = s.get(url, params={"subscriptionId": "x"}, auth=auth)
        second = s.get(url, params={"subscriptionId": "x"}, auth=auth)
    assert first.json()["resultcode"] == "1012007"
    assert second.status_code == 403
    assert json.loads(second.content) == {
        "resultcode": "1010010",
        "resultdesc": "The flow control upper limit is reached on the platform.",
    }


def test_an_app_is_created_with_a_rate_limit() -> None:
    emu = Emulator("axb", time_scale=0, seed=1)
    app = emu.add_app("ax", rate_limit=0.01, burst=1)
    with emu.client(app) as c:
        c.ax.bind(A, area_code="0755")
        with pytest.raises(ThrottledError):
            c.ax.bind(B, area_code="0755")
    emu.stop()


@pytest.mark.parametrize("rate", ["0", "-3", "nan"])
def test_the_command_line_refuses_a_bad_rate_limit(
    rate: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from toolkit.emulator.cli import main

    assert main(["--rate-limit", rate]) == 2
    assert "--rate-limit" in capsys.readouterr().err
