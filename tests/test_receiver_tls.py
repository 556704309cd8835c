"""``python -m toolkit receiver --tls-cert --tls-key``: the receiver serves HTTPS itself and takes
the emulator's pushes over it, verified against the receiver's CA and signed with X-WSSE."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.emulator import Emulator
from toolkit.receiver_cli import main as receiver_main
from toolkit.tls import make_local_certificate

ROOT = Path(__file__).resolve().parents[1]
CLEAN_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("PRIVATENUMBER_", "VOICECALL_"))
}
A, B = "+8613800000001", "+8613900000002"


def test_the_receiver_cli_serves_https_and_stores_verified_wsse_pushes(tmp_path: Path) -> None:
    certs = make_local_certificate()
    emu = Emulator("axb", auth_scheme="wsse", time_scale=0, push_ca_cert=certs.ca_cert)
    env = {
        **CLEAN_ENV,
        "PYTHONPATH": str(ROOT),
        "PRIVATENUMBER_APP_KEY": emu.app_key,
        "PRIVATENUMBER_APP_SECRET": emu.app_secret,
    }
    db = tmp_path / "rx.db"
    command = [sys.executable, "-m", "toolkit", "receiver", "--port", "0", "--db", str(db)]
    command += ["--tls-cert", certs.cert, "--tls-key", certs.key]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:"), url
        emu.default_app.fee_url = url + "/fee"
        with emu.client() as client:
            x = client.axb.bind(A, B).relation_num
        emu.place_call(A, x, outcome="answered", talk_seconds=10)
        assert emu.wait_idle(20)
        assert [(d["ok"], d["status"]) for d in emu.deliveries("fee")] == [(True, 200)]
    finally:
        emu.stop()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        certs.remove()
    assert proc.returncode == 0 and "Traceback" not in err
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT verified FROM cdrs").fetchall() == [(1,)]


def test_the_receiver_cli_names_a_bad_certificate(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    junk = tmp_path / "cert.pem"
    junk.write_text("not a certificate")
    args = ["--allow-unsigned", "--db", str(tmp_path / "x.db"), "--tls-cert", str(junk)]
    with pytest.raises(SystemExit) as usage:
        receiver_main(args)
    assert usage.value.code == 2 and "--tls-key" in capsys.readouterr().err
    assert receiver_main([*args, "--tls-key", str(junk)]) == 1
    err = capsys.readouterr().err
    assert "cert.pem" in err and "not a certificate" not in err
    assert not (tmp_path / "x.db").exists()  # refused before the store was opened
