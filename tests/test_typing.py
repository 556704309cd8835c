"""The package ships ``py.typed``: mypy must find no error in ``toolkit/``.

mypy runs as a subprocess with the ``[tool.mypy]`` configuration of ``pyproject.toml`` and its
default incremental cache (``.mypy_cache/`` at the repository root), so a second run only
re-checks what changed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from services import unavailable

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_error_in_toolkit() -> None:
    if importlib.util.find_spec("mypy") is None:
        unavailable('mypy is not installed (pip install -e ".[test]" brings it)')
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "toolkit",
    ]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"mypy found errors (exit {result.returncode}):\n{output}"


def test_every_type_ignore_names_its_error_and_says_why() -> None:
    # mypy's ignore-without-code enforces the error code; the reason is ours to keep: a comment
    # on the line before, or before the ignore on the same line.
    unexplained = []
    for path in sorted((ROOT / "toolkit").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if "# type: ignore" not in line:
                continue
            code, _, _ = line.partition("# type: ignore")
            before = lines[number - 2].strip() if number > 1 else ""
            if "#" not in code and not before.startswith("#"):
                unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not unexplained, "type: ignore without a reason:\n" + "\n".join(unexplained)
