"""The receiver mounted in real Flask and FastAPI apps, in memory and over loopback sockets: the
same verification (a VoiceCall signature covers the full URL, prefix included), the same store
and the same answers (200 only once committed, a 4xx or 503 with a JSON reason)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from builders import JSON_TYPE, KEY, SECRET, fee_body, fee_info, voice_fee_info

flask = pytest.importorskip("flask")
fastapi = pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
from werkzeug.middleware.dispatcher import DispatcherMiddleware  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from toolkit.auth import format_created, push_digest, sign_headers  # noqa: E402
from toolkit.emulator import Emulator  # noqa: E402
from toolkit.errors import ConfigError  # noqa: E402
from toolkit.mounts import asgi_app, flask_blueprint  # noqa: E402
from toolkit.receiver import Receiver  # noqa: E402
from toolkit.store import Store  # noqa: E402

VKEY, VSECRET = "VoiceApp0123456789", "voice-app-secret"
A, B = "+8613800000001", "+8613900000002"


def make_receiver(db: Path | Store) -> Receiver:
    return Receiver(
        db, app_key=KEY, app_secret=SECRET, voice_app_key=VKEY, voice_app_secret=VSECRET
    )


def flask_app(receiver: Receiver, how: str) -> Any:
    """An existing Flask app with a route of its own and the receiver under /pushes."""
    app = flask.Flask("shop")
    app.add_url_rule("/orders", "orders", lambda: {"orders": []})
    if how == "blueprint":
        app.register_blueprint(flask_blueprint(receiver), url_prefix="/pushes")
    else:  # a mounted WSGI app: the receiver needs no helper
        app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/pushes": receiver})  # type: ignore[method-assign]
    return app


def fastapi_app(receiver: Receiver) -> Any:
    app = fastapi.FastAPI()
    app.get("/orders")(lambda: {"orders": []})
    app.mount("/pushes", asgi_app(receiver))
    return app


def voice_headers(url: str) -> dict[str, str]:
    """A VoiceCall push's X-AKSK headers, the digest over ``url`` (VoiceCall §2.4)."""
    nonce, created = f"N{time.monotonic_ns()}", format_created()
    digest = push_digest(VSECRET, url, nonce, created)
    return {
        "Authorization": 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"',
        "X-AKSK": f'UsernameToken Username="{VKEY}",PasswordDigest="{digest}",'
        f'Nonce="{nonce}",Created="{created}"',
    }


# -- in memory: Flask's test client, httpx's ASGI transport -------------------------------------
# (Starlette's TestClient warns that it wants the httpx2 package, which is not a dependency.)


@contextlib.contextmanager
def in_memory(kind: str, receiver: Receiver) -> Iterator[Callable[..., Any]]:
    """``send(method, path, body=None, headers=None) -> (status, headers, bytes)``."""
    if kind == "fastapi":
        transport = httpx.ASGITransport(app=fastapi_app(receiver))

        async def request(method: str, path: str, **kw: Any) -> httpx.Response:
            async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
                return await client.request(
                    method, path, content=kw.get("body"), headers=kw.get("headers")
                )

        def send_asgi(method: str, path: str, **kw: Any) -> tuple[int, Any, bytes]:
            r = asyncio.run(request(method, path, **kw))
            return r.status_code, r.headers, r.content

        yield send_asgi
        return
    client = flask_app(receiver, kind).test_client()

    def send(method: str, path: str, **kw: Any) -> tuple[int, Any, bytes]:
        r = client.open(path, method=method, data=kw.get("body"), headers=kw.get("headers"))
        return r.status_code, r.headers, r.data

    yield send


KINDS = ["blueprint", "dispatcher", "fastapi"]


@pytest.mark.parametrize("kind", KINDS)
def test_mounted_receiver_keeps_its_answers(tmp_path: Path, kind: str) -> None:
    receiver = make_receiver(tmp_path / "m.db")
    try:
        with in_memory(kind, receiver) as send:
            body = json.dumps(fee_body(fee_info(1))).encode()
            signed = {"Content-Type": JSON_TYPE, **sign_headers(KEY, SECRET)}
            status, _, payload = send("POST", "/pushes/fee", body=body, headers=signed)
            assert (status, json.loads(payload)["resultcode"]) == (200, "0")
            # The answer came after the commit: the row is there, verified.
            assert [r["verified"] for r in receiver.store.cdrs()] == [1]
            status, _, payload = send("GET", "/pushes/")
            assert (status, json.loads(payload)) == (200, {"receiver": "ok"})
            status, _, _ = send("GET", "/orders")  # the app's own routes still answer
            assert status == 200
            refusals = [
                ("POST", b"{not json", signed, 400, "bad-json"),
                ("POST", body, {"Content-Type": JSON_TYPE}, 401, "unsigned"),
                ("POST", body, {**signed, "Content-Type": "text/plain"}, 415, "content-type"),
                ("PUT", body, signed, 405, "method"),
            ]
            for method, data, headers, code, error in refusals:
                status, answer_headers, payload = send(
                    method, "/pushes/fee", body=data, headers=headers
                )
                assert answer_headers["Content-Type"].startswith("application/json")
                assert (status, json.loads(payload)["error"]) == (code, error), kind
            assert receiver.store.count("cdrs") == 1
    finally:
        receiver.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_mounted_receiver_never_acknowledges_what_it_could_not_store(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "locked.db"
    receiver = make_receiver(Store(path, timeout=0.05))
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        with in_memory(kind, receiver) as send:
            body = json.dumps(fee_body(fee_info(1))).encode()
            blocker.execute("BEGIN EXCLUSIVE")
            headers = {"Content-Type": JSON_TYPE, **sign_headers(KEY, SECRET)}
            status, answer_headers, payload = send(
                "POST", "/pushes/fee", body=body, headers=headers
            )
            assert (status, json.loads(payload)["error"]) == (503, "store")
            assert answer_headers["Retry-After"] == "1"
            blocker.execute("ROLLBACK")
            headers = {"Content-Type": JSON_TYPE, **sign_headers(KEY, SECRET)}  # a new nonce
            assert send("POST", "/pushes/fee", body=body, headers=headers)[0] == 200
    finally:
        blocker.close()
        receiver.stop()
        receiver.store.close()


# -- over real loopback sockets: werkzeug's server and uvicorn ---------------------------------


@contextlib.contextmanager
def served(kind: str, receiver: Receiver) -> Iterator[str]:
    """The app of ``kind`` on 127.0.0.1, a free port; yields its base URL."""
    if kind == "fastapi":
        config = uvicorn.Config(
            fastapi_app(receiver), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)
        return
    wsgi = make_server("127.0.0.1", 0, flask_app(receiver, kind), threaded=True)
    thread = threading.Thread(target=wsgi.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{wsgi.server_port}"
    finally:
        wsgi.shutdown()
        thread.join(10)
        wsgi.server_close()


@pytest.mark.parametrize("kind", KINDS)
def test_emulator_pushes_to_a_mounted_prefix_verify(tmp_path: Path, kind: str) -> None:
    """The platform signs VoiceCall pushes over the full URL, /pushes included: they verify."""
    receiver = make_receiver(tmp_path / "s.db")
    try:
        with served(kind, receiver) as base:
            emu = Emulator(
                "voice",
                app_key=VKEY,
                app_secret=VSECRET,
                time_scale=0,
                seed=4,
                status_url=base + "/pushes/status",
                fee_url=base + "/pushes/fee",
            )
            try:
                emu.script("answered")
                emu.voice_client().click2call(A, B, display_nbr=emu.numbers[0])
                assert emu.wait_idle(10)
                deliveries = emu.deliveries()
                assert deliveries and all(d["ok"] for d in deliveries), deliveries
            finally:
                emu.stop()
            assert [(r["product"], r["verified"]) for r in receiver.store.cdrs()] == [
                ("voicecall", 1)
            ]
            events = receiver.store.events()
            assert events and {(r["product"], r["verified"]) for r in events} == {("voicecall", 1)}
            assert receiver.store.quarantine() == []
            # Signed over the URL without the prefix: not the URL it was sent to, so it does
            # not verify (kept apart, as VoiceCall pushes are never refused).
            body = json.dumps(fee_body(voice_fee_info(7))).encode()
            wrong = voice_headers(base + "/fee")
            answer = requests.post(
                base + "/pushes/fee",
                data=body,
                headers={"Content-Type": JSON_TYPE, **wrong},
                timeout=10,
            )
            assert answer.status_code == 200
            assert [q["reason"] for q in receiver.store.quarantine()] == ["bad-digest"]
            assert receiver.store.count("cdrs") == 1
    finally:
        receiver.stop()


# -- the frameworks are optional at run time ---------------------------------------------------


@pytest.mark.parametrize(("module", "helper"), [("flask", flask_blueprint), ("a2wsgi", asgi_app)])
def test_a_missing_framework_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, helper: Any
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    receiver = make_receiver(tmp_path / "x.db")
    try:
        with pytest.raises(ConfigError, match=r"\.\[frameworks\]"):
            helper(receiver)
    finally:
        receiver.stop()


def test_importing_the_helpers_imports_no_framework() -> None:
    import subprocess

    code = (
        "import sys, toolkit, toolkit.mounts; "
        "print([m for m in ('flask', 'fastapi', 'starlette', 'a2wsgi') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
