"""Retries over a real loopback socket: flow control from the emulator, connect failures, and the
ambiguous failures (5xx, an answer lost after the bind was made) that must never double a bind.

The emulator is served on 127.0.0.1 port 0, wrapped in a small WSGI middleware (``Faults``) that
can answer 500 or hold an answer back, before or after the emulator has acted on the request.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from toolkit.client import AXB_PATH, PrivateNumberClient
from toolkit.config import Settings
from toolkit.emulator import Emulator
from toolkit.errors import ApiError, ThrottledError, TransportError
from toolkit.httpserver import ThreadedWSGIServer

A, B, C = "+8613800138000", "+8613900139000", "+8613700137000"
FAST = {"backoff": 0.01, "backoff_max": 0.05}


class Faults:
    """WSGI middleware over the emulator's app: a queue of faults for the next matching requests.

    A fault is ``(method, when, what)``: ``when`` is ``"before"`` (the emulator never sees the
    request) or ``"after"`` (it has acted on it); ``what`` is ``"500"`` (an internal error
    answer), ``"hold"`` (no answer until the test ends: the client times out) or ``"missing"``
    (a "record does not exist" answer, as a query racing an unfinished bind would see).
    ``seen`` counts requests per method that reached the emulator.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.faults: list[tuple[str, str, str]] = []
        self.seen: dict[str, int] = {}
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ["REQUEST_METHOD"]
        with self.lock:
            fault = next((f for f in self.faults if f[0] == method), None)
            if fault is not None:
                self.faults.remove(fault)
        if fault is None or fault[1] == "after":
            with self.lock:
                self.seen[method] = self.seen.get(method, 0) + 1
            captured: list[Any] = []
            body = b"".join(self.app(environ, lambda *a: captured.append(a)))
            if fault is None:
                start_response(*captured[0])
                return [body]
        what = fault[2]
        if what == "hold":
            self.release.wait(10)
        payload = (
            {"resultcode": "1012007", "resultdesc": "The record does not exist."}
            if what == "missing"
            else {"resultcode": "1010001", "resultdesc": "Internal system error."}
        )
        data = json.dumps(payload).encode()
        status = "403 Forbidden" if what == "missing" else "500 Internal Server Error"
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]


@pytest.fixture
def served() -> Iterator[tuple[Emulator, Faults, str]]:
    emu = Emulator("axb", time_scale=0, seed=3)
    faults = Faults(emu.wsgi_app)
    server = ThreadedWSGIServer(faults, "127.0.0.1", 0, name="faults").start()
    try:
        yield emu, faults, server.url
    finally:
        faults.release.set()
        server.stop()
        emu.stop()


def client(emu: Emulator, url: str, **settings: Any) -> PrivateNumberClient:
    return PrivateNumberClient(Settings(url, emu.app_key, emu.app_secret, **settings))


# -- flow control ------------------------------------------------------------------------------


def test_throttled_binds_are_retried_until_the_rate_limit_lets_them_through(
    served: tuple[Emulator, Faults, str],
) -> None:
    emu, faults, url = served
    emu.rate_limit(20, burst=1)  # one request per 50 ms
    with client(emu, url, retries=8, backoff=0.02, backoff_max=0.2) as c:
        bound = [c.axb.bind(f"+861380013{i:04d}", f"+861390013{i:04d}") for i in range(6)]
    limit = emu.backend.limits[emu.app_key]
    assert limit.refused > 0  # the limiter did refuse some: the retries are what got them in
    assert len({b.subscription_id for b in bound}) == 6
    assert len(emu.bindings()) == 6  # a refusal changes nothing, a retry binds once
    assert faults.seen["POST"] == 6 + limit.refused


def test_without_retries_the_refusal_is_raised_with_the_flow_control_code(
    served: tuple[Emulator, Faults, str],
) -> None:
    emu, _, url = served
    emu.rate_limit(0.01, burst=1)
    with client(emu, url) as c:
        c.axb.bind(A, B)
        with pytest.raises(ThrottledError) as caught:
            c.axb.bind(A, C)
    assert caught.value.resultcode == "1010010" and caught.value.status == 403
    assert len(emu.bindings()) == 1


# -- connect failures: never sent, so even a bind is resent ---------------------------------------


def test_a_bind_is_resent_when_the_connection_could_not_be_made(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    # Nothing listens on the port now: every connect is refused before a byte is sent.
    c = PrivateNumberClient(Settings(f"http://127.0.0.1:{port}", "k", "s", retries=2, **FAST))
    with (
        c,
        caplog.at_level(logging.INFO, "toolkit.client"),
        pytest.raises(TransportError) as caught,
    ):
        c.axb.bind(A, B)
    assert caught.value.sent is False
    attempts = [r.getMessage() for r in caplog.records if "attempt=" in r.getMessage()]
    assert [m.split("attempt=")[1].split()[0] for m in attempts] == ["1", "2", "3"]


# -- ambiguous failures -------------------------------------------------------------------------


def test_a_bind_whose_answer_was_a_500_after_binding_is_reconciled_not_resent(
    served: tuple[Emulator, Faults, str],
) -> None:
    emu, faults, url = served
    x = emu.numbers[0]
    faults.faults.append(("POST", "after", "500"))
    with client(emu, url, retries=3, **FAST) as c:
        bound = c.axb.bind(A, B, relation_num=x)
    assert faults.seen["POST"] == 1  # sent once: the query found the binding
    [only] = emu.bindings()
    assert bound.subscription_id == only["subscriptionId"] and bound.relation_num == x


def test_a_bind_whose_answer_never_came_is_reconciled_within_the_deadline(
    served: tuple[Emulator, Faults, str],
) -> None:
    emu, faults, url = served
    x = emu.numbers[0]
    faults.faults.append(("POST", "after", "hold"))
    with client(emu, url, retries=2, timeout=0.5, deadline=5, **FAST) as c:
        bound = c.axb.bind(A, B, relation_num=x)
    assert faults.seen["POST"] == 1
    assert [b["subscriptionId"] for b in emu.bindings()] == [bound.subscription_id]


def test_a_bind_refused_with_a_500_before_binding_is_sent_again_after_the_query(
    served: tuple[Emulator, Faults, str],
) -> None:
    emu, faults, url = served
    faults.faults.append(("POST", "before", "500"))
    with client(emu, url, retries=3, **FAST) as c:
        bound = c.axb.bind(A, B, relation_num=emu.numbers[0])
    assert faults.seen["POST"] == 1 and faults.seen["GET"] == 1  # query said absent, then bind
    assert [b["subscriptionId"] for b in emu.bindings()] == [bound.subscription_id]


def test_a_resent_bind_racing_the_first_one_is_refused_by_the_platform_and_reconciled(
    served: tuple[Emulator, Faults, str],
) -> None:
    """The first bind is made but its answer lost; the query runs before the platform shows it
    (answered "does not exist"), so the client binds again: the platform refuses the duplicate
    (1012010) and a second query finds the binding."""
    emu, faults, url = served
    faults.faults += [("POST", "after", "500"), ("GET", "before", "missing")]
    with client(emu, url, retries=3, **FAST) as c:
        bound = c.axb.bind(A, B, relation_num=emu.numbers[0])
    assert faults.seen["POST"] == 2  # resent once, and refused as already bound
    assert [b["subscriptionId"] for b in emu.bindings()] == [bound.subscription_id]


def test_a_bind_the_platform_picks_the_number_for_is_not_resent_after_an_ambiguous_failure(
    served: tuple[Emulator, Faults, str],
) -> None:
    emu, faults, url = served
    faults.faults.append(("POST", "after", "500"))
    with client(emu, url, retries=3, **FAST) as c, pytest.raises(ApiError) as caught:
        c.axb.bind(A, B, area_code="0755")
    assert caught.value.status == 500
    assert faults.seen["POST"] == 1 and len(emu.bindings()) == 1  # never a second binding


def test_queries_and_unbinds_are_retried_after_a_500(served: tuple[Emulator, Faults, str]) -> None:
    emu, faults, url = served
    with client(emu, url, retries=2, **FAST) as c:
        sid = c.axb.bind(A, B).subscription_id
        faults.faults += [("GET", "before", "500"), ("DELETE", "after", "500")]
        assert c.axb.query(sid).relation_num_list[0].subscription_id == sid
        with pytest.raises(ApiError, match="1012007"):  # the first unbind did remove it
            c.axb.unbind(sid)
    assert faults.seen["GET"] == 1  # the 500 never reached the emulator; the retry did
    assert faults.seen["DELETE"] == 2 and emu.bindings() == []


def test_the_deadline_bounds_the_retries(
    served: tuple[Emulator, Faults, str], caplog: pytest.LogCaptureFixture
) -> None:
    emu, faults, url = served
    faults.faults += [("GET", "before", "500")] * 11
    # Waits are at least 0.1, 0.2, 0.4, 0.8 s (half of 0.2 * 2**n): the fifth attempt at the
    # latest finds no time for another wait within the 1 s deadline, though 10 retries remain.
    c = client(emu, url, retries=10, backoff=0.2, backoff_max=5, deadline=1)
    with c, caplog.at_level(logging.INFO, "toolkit.client"), pytest.raises(ApiError):
        c.axb.query(relation_num=emu.numbers[0])
    attempts = [r for r in caplog.records if "attempt=" in r.getMessage()]
    assert 1 <= len(attempts) <= 5
    assert AXB_PATH in attempts[0].getMessage()


# -- settings ----------------------------------------------------------------------------------


def test_retry_settings_come_from_arguments_the_environment_or_dotenv(tmp_path: Any) -> None:
    env = {"PRIVATENUMBER_APP_KEY": "k", "PRIVATENUMBER_APP_SECRET": "the-secret-xyz"}
    dotenv = tmp_path / ".env"
    dotenv.write_text("PRIVATENUMBER_RETRIES=4\nPRIVATENUMBER_BACKOFF_MAX=3\n")
    loaded = Settings.load(
        environ={**env, "PRIVATENUMBER_BACKOFF": "0.25", "PRIVATENUMBER_DEADLINE": "30"},
        env_file=dotenv,
    )
    assert (loaded.retries, loaded.backoff, loaded.backoff_max) == (4, 0.25, 3.0)
    assert loaded.deadline == loaded.total_deadline == 30.0
    assert Settings.load(retries=1, environ=env, env_file=None).total_deadline == 20.0
    assert "retries=4" in repr(loaded) and "the-secret-xyz" not in repr(loaded)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RETRIES", "-1"), ("RETRIES", "11"), ("RETRIES", "2.5"), ("BACKOFF", "nan"),
     ("BACKOFF_MAX", "301"), ("DEADLINE", "0")],
)  # fmt: skip
def test_a_bad_retry_setting_is_refused_naming_its_variable(variable: str, value: str) -> None:
    from toolkit.errors import ConfigError

    env = {"PRIVATENUMBER_APP_KEY": "k", "PRIVATENUMBER_APP_SECRET": "s"}
    with pytest.raises(ConfigError) as caught:
        Settings.load(environ={**env, f"PRIVATENUMBER_{variable}": value}, env_file=None)
    assert caught.value.setting == f"PRIVATENUMBER_{variable}"


def test_the_client_takes_the_retry_settings_as_arguments() -> None:
    client = PrivateNumberClient(
        base_url="http://127.0.0.1:9", app_key="k", app_secret="s", retries=2, backoff=0.1,
        backoff_max=1, deadline=5, timeout=2,
    )  # fmt: skip
    with client:
        s = client.settings
        assert (s.retries, s.backoff, s.backoff_max, s.deadline, s.total_deadline) == (
            2, 0.1, 1.0, 5.0, 5.0,
        )  # fmt: skip
