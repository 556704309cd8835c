"""The demo command: the whole loop (emulator -> signed pushes -> receiver -> frame -> chart)."""

from __future__ import annotations

import io
import re

import pytest

from toolkit.__main__ import main as cli
from toolkit.demo import progress, run


def test_demo_stores_every_cdr_and_writes_a_chart(tmp_path) -> None:
    out = io.StringIO()
    result = run(calls=60, seed=3, chart=tmp_path / "outcomes.png", tail=3, out=out)
    text = out.getvalue()
    assert result.calls == result.cdrs == 60
    assert result.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "verifying signed pushes" in text
    assert text.count("→") == 2 * 3  # three tailed CDR lines, each "caller → X → callee"
    assert "... and 57 more CDRs" in text
    assert re.search(r"answered\s+\d+\s+\d+%", text)
    # every phone number shown is masked
    assert not re.search(r"\+86\d{11}", text)


def test_demo_cli_rejects_bad_arguments(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        cli(["demo", "--calls", "0"])
    assert stop.value.code == 2
    assert "--calls must be between" in capsys.readouterr().err


def test_progress_bar() -> None:
    assert progress(0, 4, width=4) == "[....] 0/4 calls"
    assert progress(2, 4, width=4) == "[##..] 2/4 calls"
    assert progress(4, 4, width=4) == "[####] 4/4 calls"
