"""Importing the package must stay light: notebooks and the CLI pay for pandas only when used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "matplotlib", "ipywidgets", "numpy")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(out.stdout))
    return [name for name in HEAVY if name in modules]


def test_import_toolkit_loads_no_heavy_library() -> None:
    assert _loaded_after("import toolkit") == []


def test_foundation_names_load_no_heavy_library() -> None:
    statement = (
        "import toolkit; toolkit.Settings; toolkit.normalize; toolkit.verify; toolkit.ApiError"
    )
    assert _loaded_after(statement) == []


def test_heavy_check_detects_pandas() -> None:
    # Guards the two tests above against passing vacuously.
    assert "pandas" in _loaded_after("import pandas")
