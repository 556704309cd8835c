"""One JupyterLab server and one Chromium for the whole browser session.

The server runs on 127.0.0.1 (port 0, a random token) over a temporary copy of ``notebooks/``,
with its own runtime and settings directories so nothing of the user's Jupyter set-up (open
tabs, news pop-ups) leaks in. Chromium is Debian's ``/usr/bin/chromium``, headless, with a fresh
profile: Playwright's own browser download is not used.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from services import unavailable

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_TIMEOUT = 90.0  # JupyterLab takes 15-25 s to start on a loaded 2-core machine

# JupyterLab settings for the session: every cell rendered (no windowing, so outputs far down are
# in the page), the default kernel started without asking, and no news or update pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@dataclass
class Lab:
    """The running server: its base URL, token and the notebook copies it serves."""

    url: str
    token: str
    root: Path

    def api(self, method: str, path: str) -> Any:
        """Call the server's REST API (``/api/...``) with the token; returns the JSON answer."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def status(self, path: str) -> int:
        """The HTTP status of a page of the server (``/tree``, ``/lab``...), token passed."""
        try:
            with urllib.request.urlopen(f"{self.url}{path}?token={self.token}", timeout=30) as r:
                return int(r.status)
        except urllib.error.HTTPError as error:
            error.close()
            return int(error.code)

    def shutdown_kernels(self) -> None:
        """Stop every session's kernel (a notebook's background threads go with it)."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")


def _need(module: str, what: str) -> None:
    try:
        __import__(module)
    except ImportError:
        unavailable(f'{what} is not installed (pip install -e ".[test]" brings it)')


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 over a temporary copy of the notebooks; stopped after the session."""
    _need("jupyterlab", "JupyterLab")
    _need("notebook", "Jupyter Notebook 7")
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    runtime, settings = base / "runtime", base / "settings"
    for name, value in LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    token = secrets.token_hex(24)
    env = dict(
        os.environ,
        # Kernels import the toolkit of this checkout, installed or not.
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        JUPYTER_RUNTIME_DIR=str(runtime),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
    )
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",  # CI containers run as root
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # window.jupyterapp: the tests close a notebook and its kernel through it (cleanup only;
        # everything a user does goes through the menus and the widgets).
        "--LabApp.expose_app_in_browser=True",
    ]
    log_path = base / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=base)
    try:
        url = _server_url(server, runtime, log_path)
        yield Lab(url=url, token=token, root=root)
    finally:
        _stop_server(server, url if "url" in locals() else None, token)


def _server_url(server: subprocess.Popen[bytes], runtime: Path, log_path: Path) -> str:
    """The base URL from the server's runtime file (``jpserver-PID.json``), once it answers."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    info_file = runtime / f"jpserver-{server.pid}.json"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited at start:\n{log_path.read_text()[-3000:]}")
        if info_file.exists():
            try:
                info = json.loads(info_file.read_text())
            except json.JSONDecodeError:  # being written
                info = None
            if info:
                return f"http://127.0.0.1:{info['port']}"
        time.sleep(0.25)
    pytest.fail(
        f"JupyterLab did not start in {SERVER_START_TIMEOUT:.0f} s:\n{log_path.read_text()[-3000:]}"
    )


def _stop_server(server: subprocess.Popen[bytes], url: str | None, token: str) -> None:
    if url is not None and server.poll() is None:
        with contextlib.suppress(OSError):  # the server is going anyway
            Lab(url, token, Path()).shutdown_kernels()
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


# Module scope, not session: while Playwright's sync API is open it keeps an asyncio loop running
# in this thread, and later tests that call asyncio.run() (the FastAPI mount) would fail.
@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium, headless, with a fresh profile; one context for the session."""
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    _need("playwright", "Playwright for Python")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1000, "height": 900},
        )
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()
