"""Binder: a fresh virtual environment built only from binder/ runs every notebook.

This builds a venv and installs packages, so it takes a minute or two and needs the package
index; it runs only when TOOLKIT_TEST_BINDER=1 (the quick suite covers the notebooks already).
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.environ.get("TOOLKIT_TEST_BINDER") != "1",
    reason="slow: builds a venv from binder/; set TOOLKIT_TEST_BINDER=1 to run",
)


def test_binder_environment_runs_every_notebook(tmp_path: Path) -> None:
    env_dir = tmp_path / "binder-env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # repo2docker installs binder/requirements.txt from the repository root, like this:
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
        cwd=ROOT,
        check=True,
    )
    # Binder brings its own Jupyter server and kernel; nbval plays that part here.
    subprocess.run([python, "-m", "pip", "install", "-q", "nbval", "ipykernel"], check=True)
    run = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "notebooks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
