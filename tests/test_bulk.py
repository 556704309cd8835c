"""bind_many / unbind_many over a real loopback socket: per-row results in input order, one failure
never stopping the batch, rows checked before any request, and the optional progress bar."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from toolkit.bulk import BulkResult, run_many
from toolkit.client import PrivateNumberClient
from toolkit.config import Settings
from toolkit.emulator import Emulator
from toolkit.errors import AlreadyBoundError, InvalidNumberError, ValidationError
from toolkit.record import Record


@pytest.fixture(scope="module")
def served() -> Iterator[Emulator]:
    emu = Emulator("axb", time_scale=0, seed=11, numbers=4).start()
    yield emu
    emu.stop()


@pytest.fixture
def emu(served: Emulator) -> Emulator:
    served.reset()
    return served


def a(i: int) -> str:
    return f"+86138001{i:05d}"


def b(i: int) -> str:
    return f"+86139001{i:05d}"


def test_bind_many_returns_one_result_per_row_in_order_and_failures_do_not_stop_it(
    emu: Emulator,
) -> None:
    x = emu.numbers[0]
    rows = pd.DataFrame(
        {
            "caller_num": [a(0), a(1), "not a number", a(3), a(0), a(5)],
            "callee_num": [b(0), b(1), b(2), b(3), b(0), b(5)],
            "relation_num": [x, None, None, None, x, None],
            "duration": [60, None, None, None, None, 3600],
        },
        index=[f"order-{i}" for i in range(6)],
    )
    with emu.client() as client:
        result = client.axb.bind_many(rows, workers=4, progress=False)
    assert isinstance(result, BulkResult) and len(result) == 6
    assert [r.index for r in result] == list(rows.index)
    assert isinstance(result[2].error, InvalidNumberError)
    # Rows 0 and 4 bind the same pair on the same X: whichever ran second was refused.
    refused = [r for r in (result[0], result[4]) if not r.ok]
    assert len(refused) == 1 and isinstance(refused[0].error, AlreadyBoundError)
    assert result.ok == 4 and len(emu.bindings()) == 4
    frame = result.to_frame()
    assert list(frame.index) == list(rows.index)
    assert frame.loc["order-2", "error"].startswith("caller_num:")
    assert frame.loc[refused[0].index, "resultcode"] == "1012010"
    assert frame.loc["order-1", "subscription_id"] == result[1].record.subscription_id
    assert a(1) not in frame.to_string() and frame.loc["order-1", "relation_num"].count("*") == 4
    raw = result.to_frame(raw_numbers=True)
    assert raw.loc["order-5", "relation_num"] == result[5].record.relation_num


def test_unbind_many_takes_subscription_ids(emu: Emulator) -> None:
    with emu.client() as client:
        bound = client.axb.bind_many([{"caller_num": a(i), "callee_num": b(i)} for i in range(5)])
        sids = [r.record.subscription_id for r in bound]
        result = client.axb.unbind_many([*sids, "no-such-binding"], workers=3, progress=False)
    assert [r.ok for r in result] == [True] * 5 + [False]
    assert result.failed[0].error.resultcode == "1012007"  # type: ignore[union-attr]
    assert emu.bindings() == []


def test_rows_are_checked_before_any_request() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    # Nothing listens there: a row that reached the network would fail with TransportError.
    client = PrivateNumberClient(Settings(f"http://127.0.0.1:{port}", "k", "s"))
    rows: list[Any] = [
        {"caller_num": a(0)},  # callee missing
        {"caller_num": a(0), "callee_num": b(0), "colour": "red"},  # unknown field
        {"caller_num": "12", "callee_num": b(0)},  # a value the client refuses
        {"caller_num": a(0), "callee_num": b(0), "duration": -5},
    ]
    with client:
        result = client.axb.bind_many(rows, progress=False)
    assert all(isinstance(r.error, ValidationError) for r in result), result.rows
    assert "colour" in str(result[1].error)
    with pytest.raises(ValidationError, match="workers"):
        client.axb.bind_many(rows, workers=0)
    with pytest.raises(ValidationError, match="rows"):
        client.axb.bind_many({"caller_num": a(0), "callee_num": b(0)})


def test_every_mode_has_bulk_operations(emu: Emulator) -> None:
    ax, axe, axyb = (emu.add_app(m) for m in ("ax", "axe", "axyb"))
    with emu.client(ax) as c:
        res = c.ax.bind_many([{"orig_num": a(i), "area_code": "0755"} for i in range(3)])
        assert res.ok == 3 and c.ax.unbind_many([r.record.subscription_id for r in res]).ok == 3
    with emu.client(axe) as c:
        x = next(iter(emu.backend.apps[axe.app_key].numbers))
        res = c.axe.bind_many([{"bind_num": a(i), "virtual_num": x} for i in range(3)])
        assert res.ok == 3 and len({r.record.extend_num for r in res}) == 3
    with emu.client(axyb) as c:
        res = c.axyb.bind_many([(a(i),) for i in range(2)], progress=False)
        assert res.ok == 2 and res[0].record.relation_number


def test_the_progress_bar_is_drawn_with_tqdm_and_skipped_without_it(
    emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"caller_num": a(i), "callee_num": b(i)} for i in range(3)]
    with emu.client() as client:
        assert client.axb.bind_many(rows, progress=True).ok == 3
        assert "axb bind" in capsys.readouterr().err  # tqdm's line on stderr
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if tqdm were not installed
        emu.reset()
        assert client.axb.bind_many(rows, progress=True).ok == 3
        assert capsys.readouterr().err == ""


def test_one_worker_runs_the_rows_in_the_calling_thread_in_order() -> None:
    """workers=1 is a loop: no thread handing rows over, so it costs what a loop costs."""
    seen: list[tuple[int, str]] = []

    def operation(n: int) -> Record:
        seen.append((n, threading.current_thread().name))
        return Record({"resultcode": "0", "n": n})

    finished: list[int] = []
    result = run_many(
        operation, [0, 1, 2], workers=1, progress=False, on_row=lambda r: finished.append(r.index)
    )
    caller = threading.current_thread().name
    assert seen == [(0, caller), (1, caller), (2, caller)]
    assert finished == [0, 1, 2] and [r.record.n for r in result if r.record] == [0, 1, 2]


@pytest.mark.parametrize("watch", [False, True])
def test_workers_run_rows_at_once_with_or_without_a_per_row_callback(watch: bool) -> None:
    """Four rows at a time meet at a barrier (which breaks unless they run together); results
    come back in input order, and on_row runs in the calling thread once per row."""
    barrier = threading.Barrier(4, timeout=10)

    def operation(n: int) -> Record:
        barrier.wait()
        return Record({"resultcode": "0", "n": n})

    calls: list[str] = []
    on_row = (lambda r: calls.append(threading.current_thread().name)) if watch else None
    result = run_many(operation, range(8), workers=4, progress=False, on_row=on_row)
    assert [r.record.n for r in result if r.record] == list(range(8))
    assert calls == ([threading.current_thread().name] * 8 if watch else [])
