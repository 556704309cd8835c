"""Binder runs the Python that CI tests: ``binder/runtime.txt`` pins it.

Without the file repo2docker picks its own default (3.10 at the time of writing, with an older
pandas), so the notebooks on Binder would run on a stack no test covers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from services import in_ci

ROOT = Path(__file__).resolve().parents[1]


def _pinned() -> tuple[int, int]:
    path = ROOT / "binder" / "runtime.txt"
    assert path.is_file(), "binder/runtime.txt is missing: Binder would pick its own Python"
    text = path.read_text().strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", text)
    assert match, f"binder/runtime.txt must read 'python-X.Y', not {text!r}"
    return int(match[1]), int(match[2])


def test_runtime_is_pinned_and_allowed_by_the_package() -> None:
    major, minor = _pinned()
    pyproject = (ROOT / "pyproject.toml").read_text()
    floor = re.search(r'requires-python = ">=(\d+)\.(\d+)"', pyproject)
    assert floor is not None
    assert (major, minor) >= (int(floor[1]), int(floor[2]))


def test_runtime_is_the_python_ci_runs() -> None:
    # CI's interpreter is the reference; on a developer's machine another version is fine.
    if not in_ci():
        pytest.skip("compared with the interpreter under CI=true only")
    assert _pinned() == sys.version_info[:2]


def test_binder_requirements_install_the_toolkit_with_what_notebooks_import() -> None:
    # repo2docker installs binder/requirements.txt from the repository root: "." is the
    # toolkit, whose dependencies carry what the notebooks import (pandas, matplotlib,
    # ipywidgets); Binder brings its own Jupyter server and kernel.
    lines = [
        line.split("#")[0].strip()
        for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    ]
    assert "." in lines
    pyproject = (ROOT / "pyproject.toml").read_text()
    for needed in ("pandas", "matplotlib", "ipywidgets"):
        assert f'"{needed}' in pyproject
