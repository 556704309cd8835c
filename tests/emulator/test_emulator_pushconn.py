"""Pushes over kept-alive connections, against a real Receiver on a loopback socket: reused
while the customer's server allows, replaced when it closes them, in order per call, retried."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from toolkit.emulator import Emulator
from toolkit.httpserver import ThreadedWSGIServer
from toolkit.receiver import Receiver

A = "+8613800000001"


class Recorder:
    """A WSGI app in front of a receiver: notes each push's client port and body, in order."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.fail_next = 0  # answer this many pushes with 500 first

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        with self.lock:
            self.seen.append((environ["REMOTE_PORT"], json.loads(body)))
            if self.fail_next:
                self.fail_next -= 1
                start_response("500 Internal Server Error", [("Content-Length", "0")])
                return [b""]
        environ["wsgi.input"] = io.BytesIO(body)
        return self.receiver.wsgi_app(environ, start_response)

    def ports(self) -> set[str]:
        with self.lock:
            return {port for port, _ in self.seen}


@contextlib.contextmanager
def customer(tmp_path: Any, **server: Any) -> Iterator[tuple[str, Recorder]]:
    receiver = Receiver(tmp_path / "pushes.db", allow_unsigned=True)
    recorder = Recorder(receiver)
    try:
        with ThreadedWSGIServer(recorder, name="customer", **server) as srv:
            yield srv.url, recorder
    finally:
        receiver.stop()


def emulator(url: str, **kw: Any) -> Emulator:
    kw.setdefault("time_scale", 0)
    return Emulator("axb", seed=9, status_url=url + "/status", fee_url=url + "/fee", **kw)


def place(emu: Emulator, calls: int) -> list[str]:
    client = emu.client()
    xs = [client.axb.bind(f"+86135{i:08d}", f"+86136{i:08d}")["relationNum"] for i in range(calls)]
    return [
        emu.place_call(f"+86135{i:08d}", x, outcome="answered")["sessionId"]
        for i, x in enumerate(xs)
    ]


def test_pushes_share_kept_alive_connections_and_keep_each_calls_order(tmp_path: Any) -> None:
    with customer(tmp_path) as (url, recorder):
        emu = emulator(url)
        try:
            sessions = place(emu, 20)
            assert emu.wait_idle(20)
            assert all(d["ok"] and d["attempt"] == 1 for d in emu.deliveries())
            for sid in sessions:  # each call's events arrive in the order they happened
                arrived = [
                    b["eventType"]
                    for _, b in recorder.seen
                    if b.get("statusInfo", {}).get("sessionId") == sid
                ]
                assert arrived == [e["eventType"] for e in emu.events(sid)]
        finally:
            emu.stop()
        assert recorder.receiver.store.count("cdrs") == 20
        # Over a hundred pushes, on no more connections than push workers.
        assert len(recorder.seen) > 100 and len(recorder.ports()) <= 4


def test_a_customer_server_that_closes_every_connection(tmp_path: Any) -> None:
    with customer(tmp_path, keep_alive=False) as (url, recorder):
        emu = emulator(url)
        try:
            place(emu, 5)
            assert emu.wait_idle(20)
            assert all(d["ok"] and d["attempt"] == 1 for d in emu.deliveries())
        finally:
            emu.stop()
        assert len(recorder.ports()) == len(recorder.seen)  # a new connection each time
        assert recorder.receiver.store.count("cdrs") == 5


def test_a_connection_the_server_closed_while_idle_is_replaced(tmp_path: Any) -> None:
    with customer(tmp_path, idle_timeout=0.2) as (url, recorder):
        emu = emulator(url)
        try:
            place(emu, 1)
            assert emu.wait_idle(10)
            time.sleep(0.6)  # the server drops the idle connections
            place(emu, 1)
            assert emu.wait_idle(10)
            assert all(d["ok"] and d["attempt"] == 1 for d in emu.deliveries())
        finally:
            emu.stop()
        assert recorder.receiver.store.count("cdrs") == 2
        assert len(recorder.seen) == len(emu.deliveries())


def test_a_failed_push_is_retried_on_the_kept_connection(tmp_path: Any) -> None:
    with customer(tmp_path) as (url, recorder):
        recorder.fail_next = 1
        emu = Emulator("axb", seed=9, time_scale=1 / 60_000, fee_url=url + "/fee")
        try:
            place(emu, 1)
            assert emu.wait_idle(10, retries=True)
            fee = emu.deliveries("fee")
            assert [(d["attempt"], d["ok"], d["status"]) for d in fee] == [
                (1, False, 500),
                (2, True, 200),
            ]
        finally:
            emu.stop()
        assert recorder.receiver.store.count("cdrs") == 1
