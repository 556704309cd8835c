"""CdrTail driven from code: rows, outcomes, counters, pause, filters and the polling thread."""

from __future__ import annotations

import threading
from typing import Any

from toolkit.receiver import Receiver
from toolkit.store import Store
from toolkit.widgets import CdrTail

X1, X2 = "+8617000000003", "+8617000000004"


def fee(n: int, x: str = X1, *, answered: bool = True, release: int = 0, q850: int = 0) -> dict:
    """A fee push with one CDR; ``n`` makes its ids and numbers unique."""
    info: dict[str, Any] = {
        "direction": 1,
        "spId": "demo",
        "appKey": "key",
        "icid": f"icid-{n}",
        "bindNum": x,
        "sessionId": f"session-{n}",
        "subscriptionId": "sub-1",
        "callerNum": f"+86138000000{n:02d}",
        "calleeNum": x,
        "fwdDstNum": f"+86139000000{n:02d}",
        "callInTime": "2024-03-01 02:15:02",
        "fwdAlertingTime": "2024-03-01 02:15:05",
        "callEndTime": "2024-03-01 02:17:40",
        "ulFailReason": release,
        "fwdUnaswRsn": q850,
    }
    if answered:
        info["fwdAnswerTime"] = "2024-03-01 02:15:09"
    else:
        info["failTime"] = "2024-03-01 02:15:20"
    return {"eventType": "fee", "feeLst": [info]}


def busy(n: int, x: str = X1) -> dict:
    return fee(n, x, answered=False, release=8102, q850=17)


def test_cdrs_are_shown_masked_with_outcome_cause_and_durations(store: Store) -> None:
    store.add(fee(1))
    store.add(busy(2))
    tail = CdrTail(store)
    assert tail.poll_once() == 2
    newest, oldest = tail.rows
    assert (newest["outcome"], oldest["outcome"]) == ("busy", "answered")
    assert newest["cause"].startswith("Callee busy")
    assert (oldest["ring"], oldest["talk"]) == ("4", "151")
    page = tail.table.value
    assert "+86138****0001" in page and "+8613800000001" not in page
    assert "#E69F00" in page  # busy's colour from OUTCOME_COLORS
    assert (tail.calls, tail.answered, tail.answer_rate) == (2, 1, 0.5)
    assert "answer rate <b>50%</b>" in tail.counters.value


def test_refresh_reads_only_new_rows(store: Store) -> None:
    store.add(fee(1))
    tail = CdrTail(store)
    tail.refresh()
    assert tail.poll_once() == 0
    store.add(fee(1))  # a redelivered push is stored once, so nothing new
    store.add(busy(2))
    assert tail.refresh() == 1
    assert tail.calls == 2


def test_since_none_starts_from_now(store: Store) -> None:
    store.add(fee(1))
    tail = CdrTail(store, since=None)
    assert tail.poll_once() == 0
    store.add(busy(2))
    assert tail.poll_once() == 1
    assert [r["outcome"] for r in tail.rows] == ["busy"]


def test_pause_stops_updates_and_resume_catches_up(store: Store) -> None:
    tail = CdrTail(store)
    tail.pause.value = True
    store.add(fee(1))
    assert tail.poll_once() == 0
    assert tail.rows == [] and "paused" in tail.counters.value
    tail.pause.value = False
    assert [r["outcome"] for r in tail.rows] == ["answered"]


def test_filters_by_outcome_and_x_number(store: Store) -> None:
    store.add(fee(1, X1))
    store.add(busy(2, X1))
    store.add(busy(3, X2))
    tail = CdrTail(store)
    tail.poll_once()
    tail.outcome.value = "busy"
    assert {r["outcome"] for r in tail.rows} == {"busy"}
    assert (tail.calls, tail.answered) == (2, 0)
    tail.outcome.value = "all"
    tail.x_number.value = "170 0000 0004"  # typed loosely; normalised by toolkit.numbers
    assert [r["x"] for r in tail.rows] == [X2]
    assert tail.calls == 1
    tail.x_number.value = "not a number"
    assert tail.rows == []
    assert "x_number: not a valid phone number" in tail.message.text


def test_events_are_shown_and_can_be_hidden(store: Store) -> None:
    disconnect = {
        "eventType": "disconnect",
        "statusInfo": {
            "timestamp": "2024-03-01 02:17:40",
            "sessionId": "session-9",
            "caller": "+8613800000009",
            "called": "+8613900000009",
            "stateCode": 8102,
            "stateDesc": "busy",
        },
    }
    store.add(disconnect)
    store.add(fee(1))
    tail = CdrTail(store)
    tail.poll_once()
    kinds = [r["kind"] for r in tail.rows]
    assert kinds == ["CDR", "disconnect"]
    assert tail.rows[1]["outcome"] == "busy"
    assert tail.calls == 1  # events are not calls
    tail.show_events.value = False
    assert [r["kind"] for r in tail.rows] == ["CDR"]


def test_background_thread_updates_and_stops_cleanly(store: Store) -> None:
    tail = CdrTail(store, interval=0.05).start()
    try:
        assert tail.running
        assert tail.start() is tail  # idempotent
        store.add(busy(1))
        seen = threading.Event()
        for _ in range(200):  # bounded wait for the thread, not a timing assertion
            if "+86138****0001" in tail.table.value:
                seen.set()
                break
            threading.Event().wait(0.02)
        assert seen.is_set()
        assert [r["outcome"] for r in tail.rows] == ["busy"]
    finally:
        tail.stop()
    assert not tail.running
    assert not any(t.name == "cdr-tail" and t.is_alive() for t in threading.enumerate())


def test_closed_store_is_a_message_not_a_traceback() -> None:
    store = Store()
    tail = CdrTail(store)
    store.close()
    assert tail.poll_once() == 0
    assert "store is closed" in tail.message.text


def test_stopped_receiver_is_reported(store: Store) -> None:
    receiver = Receiver(store, allow_unsigned=True)  # never started
    tail = CdrTail(receiver)
    tail.poll_once()
    assert "receiver is stopped" in tail.message.text
    receiver.stop()


def test_thread_ends_by_itself_when_the_store_closes() -> None:
    store = Store()
    tail = CdrTail(store, interval=0.05).start()
    store.close()
    thread = tail._thread
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive()
    assert "store is closed" in tail.message.text
    tail.stop()


def ending(n: int, end: str) -> dict:
    """A busy CDR that ends (and fails) at ``end``."""
    push = busy(n)
    push["feeLst"][0]["callEndTime"] = push["feeLst"][0]["failTime"] = end
    return push


def test_newest_first_means_by_the_records_own_time(store: Store) -> None:
    # A long call's CDR arrives after the CDR of a short call that ended later.
    store.add(ending(1, "2024-03-01 02:20:00"))
    store.add(ending(2, "2024-03-01 02:18:00"))
    store.add(ending(3, "2024-03-01 02:19:00"))
    tail = CdrTail(store)
    tail.poll_once()
    assert [row["time"] for row in tail.rows] == [
        "03-01 02:20:00",
        "03-01 02:19:00",
        "03-01 02:18:00",
    ]
