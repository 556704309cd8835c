"""Notebooks stay alive after Run All: nothing a widget reads from is stopped by a later cell.

A reader runs every cell, then plays with the panels. A last cell that stops the receiver closes
the store under them ("the store is closed" on every Redraw), so cleanup is explained in
markdown instead of run. The real-browser tests (tests/browser) check the same from the page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ALL_NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# A cell that stops or closes something: rx.stop(), tail.stop(), store.close(), traffic.stop().
_TEARDOWN = re.compile(r"^\s*[\w.]+\.(stop|close)\(\)", re.MULTILINE)
_WIDGETS = re.compile(r"\b(BindingPanel|CdrTail|CauseDecoder|OutcomeDashboard|TrafficControl)\(")


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def first_widget(path: Path) -> int | None:
    """The index of the first code cell that makes a panel, if any."""
    return next((i for i, src in enumerate(code_cells(path)) if _WIDGETS.search(src)), None)


WITH_WIDGETS = [p for p in ALL_NOTEBOOKS if first_widget(p) is not None]


@pytest.mark.parametrize("path", WITH_WIDGETS, ids=[p.name for p in WITH_WIDGETS])
def test_no_cell_after_a_widget_tears_down_what_it_reads(path: Path) -> None:
    cells = code_cells(path)
    stopping = [src for src in cells[first_widget(path) or 0 :] if _TEARDOWN.search(src)]
    assert stopping == [], f"{path.name} stops what its panels read: {stopping}"
