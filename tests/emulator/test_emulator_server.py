"""The threaded server (port 0, keep-alive, bad input over a real socket) and the CLI."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from toolkit.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]


def test_start_stop_and_repr_hides_secret() -> None:
    emu = Emulator("axb", app_key="key123", app_secret="very-secret-value")
    assert emu.url == "http://emulator.invalid" and not emu.started
    with emu:
        assert emu.url.startswith("http://127.0.0.1:") and emu.started
        assert "very-secret-value" not in repr(emu) and "key123" in repr(emu)
        with urllib.request.urlopen(emu.url + "/_emulator/health") as r:
            assert json.load(r)["status"] == "ok"
    assert not emu.started


def test_credentials_random_per_instance() -> None:
    one, two = Emulator(), Emulator()
    assert one.app_key != two.app_key and one.app_secret != two.app_secret


def test_keep_alive_and_oversized_body() -> None:
    served_emulator = Emulator("axb", time_scale=0, seed=7, keep_alive=True).start()
    host, port = served_emulator.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    for _ in range(3):  # three requests on one connection (keep-alive is opted into)
        conn.request("GET", "/_emulator/health")
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["status"] == "ok"
    conn.request(
        "POST",
        "/rest/caas/relationnumber/partners/v1.0",
        body=b"x" * 100_000,
        headers={"Content-Type": "application/json"},
    )
    response = conn.getresponse()
    assert response.status == 413 and json.loads(response.read())["resultcode"] == "1010002"
    conn.close()
    with urllib.request.urlopen(served_emulator.url + "/_emulator/health") as r:
        assert r.status == 200  # the server is fine afterwards
    served_emulator.stop()


def test_unknown_path_over_http_is_json_404(served_emulator: Emulator) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(served_emulator.url + "/nope")
    assert info.value.code == 404 and json.load(info.value)["resultcode"] == "1010006"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_three_lines_and_stops_cleanly(sig: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "toolkit",
            "emulator",
            "--port",
            "0",
            "--app-key",
            "K1",
            "--app-secret",
            "S1",
            "--mode",
            "axe",
            "--time-scale",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert url.startswith("http://127.0.0.1:")
        assert proc.stdout.readline().strip() == "APP_KEY=K1"  # type: ignore[union-attr]
        assert proc.stdout.readline().strip() == "APP_SECRET=S1"  # type: ignore[union-attr]
        # The pool is printed in full after those lines (the emulator's own numbers, to copy).
        pool = next(line for line in proc.stdout if " numbers: " in line)  # type: ignore[union-attr]
        with urllib.request.urlopen(url + "/_emulator/apps") as r:
            app = json.load(r)["apps"][0]
        assert app["mode"] == "axe"
        assert pool.split(" numbers: ")[1].split() == [n["number"] for n in app["numbers"]]
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_bad_arguments() -> None:
    from toolkit.emulator.cli import main

    with pytest.raises(SystemExit):
        main(["--mode", "nonsense"])
    assert main(["--time-scale", "-1"]) == 2


def test_settings_point_a_plain_client_at_the_served_emulator() -> None:
    from toolkit.client import PrivateNumberClient
    from toolkit.emulator import Emulator

    with Emulator("axb", app_key="tutorial-app").start() as emu:
        settings = emu.settings()
        assert (settings.base_url, settings.app_key) == (emu.url, "tutorial-app")
        assert emu.app_secret not in repr(settings) + str(settings)
        client = PrivateNumberClient(settings)  # its own session: real HTTP to the emulator
        pair = client.axb.bind("13800138000", "13900139000")
        assert client.axb.unbind(pair.subscription_id).resultcode == "0"
