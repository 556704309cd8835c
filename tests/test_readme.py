"""The README's examples run as written, against the emulator.

Every ```python block of README.md runs: the ``##`` sections in order, each in a fresh namespace,
the blocks of a section top to bottom in that namespace, in a temporary working directory. A
block that cannot run here (a real account, another machine) is preceded, on the line just above
its fence, by ``<!-- readme-test: skip (the reason) -->``; a skip without a reason fails. A failure
names the section and the line of the block's fence in README.md, and the traceback points at
README.md's own line numbers.

The examples also stop what they start, and a table they build is not empty: an example that
shows an empty frame (dates outside the data, say) teaches nothing.

The commands of the toolkit shown in shell blocks are checked too: each one's ``--help`` works.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^\s*```(\S*)\s*$")
SKIP = re.compile(r"^\s*<!--\s*readme-test:\s*skip\b(.*?)-->\s*$")
REASON = re.compile(r"^\s*\((.*\S.*)\)\s*$")
COMMAND = re.compile(r"python -m toolkit ([a-z][\w-]*)")


@dataclass
class Block:
    """One fenced block: its language, the line of its opening fence (1-based) and its code."""

    lang: str
    line: int
    code: str
    skip: str | None = None  # the marker's text after "skip", when the block is marked


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


def parse(text: str) -> list[Section]:
    """README.md as ``##`` sections holding their fenced blocks (fences may be indented)."""
    sections = [Section("(before the first section)")]
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = FENCE.match(line)
        if opening is None:
            if line.startswith("## "):
                sections.append(Section(line[3:].strip()))
            i += 1
            continue
        lang = opening.group(1)
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        marker = SKIP.match(lines[i - 1]) if i else None
        body = textwrap.dedent("\n".join(lines[i + 1 : end]))
        sections[-1].blocks.append(
            Block(lang.lower(), i + 1, body, marker.group(1) if marker else None)
        )
        i = end + 1
    return sections


SECTIONS = [s for s in parse(README.read_text(encoding="utf-8")) if s.blocks]
PYTHON = [s for s in SECTIONS if any(b.lang == "python" for b in s.blocks)]


def test_the_readme_has_python_examples() -> None:
    # Guards the parser: a change of fence style must not turn this test into a no-op.
    assert sum(b.lang == "python" for s in PYTHON for b in s.blocks) >= 10


def test_every_skip_marker_gives_a_reason_and_marks_a_python_block() -> None:
    text = README.read_text(encoding="utf-8").splitlines()
    # A marker is an HTML comment line; prose may quote one in backticks.
    markers = [
        n
        for n, line in enumerate(text, 1)
        if line.lstrip().startswith("<!--") and "readme-test" in line
    ]
    marked = {b.line - 1: b for s in SECTIONS for b in s.blocks if b.skip is not None}
    for n in markers:
        assert n in marked, f"README.md line {n}: a readme-test marker must sit just above a fence"
        block = marked[n]
        assert block.lang == "python", f"README.md line {n}: only python blocks are run or skipped"
        assert REASON.match(block.skip or ""), (
            f"README.md line {n}: write the reason, as <!-- readme-test: skip (the reason) -->"
        )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One temporary working directory for the whole README, as a reader would have."""
    return tmp_path_factory.mktemp("readme")


@pytest.fixture
def in_workdir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(workdir)
    # The examples run against the emulator; an account's settings here must not leak in.
    for name in list(__import__("os").environ):
        if name.startswith(("PRIVATENUMBER_", "VOICECALL_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return workdir


@pytest.mark.parametrize("section", PYTHON, ids=[s.title for s in PYTHON])
def test_section_runs_as_written(section: Section, in_workdir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace: dict[str, Any] = {"__name__": "readme"}
    try:
        for block in section.blocks:
            if block.lang != "python" or block.skip is not None:
                continue
            # Padded so that tracebacks give README.md's own line numbers.
            code = compile("\n" * block.line + block.code, str(README), "exec")
            failure = None
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(code, namespace)
            except Exception:
                failure = traceback.format_exc(limit=-3)
            if failure is not None:
                pytest.fail(
                    f"README.md, section {section.title!r}, block at line {block.line} "
                    f"failed:\n{failure}",
                    pytrace=False,
                )
        _check_what_is_left(section, namespace)
    finally:
        _clean_up(namespace)
        plt.close("all")


def _check_what_is_left(section: Section, namespace: dict[str, Any]) -> None:
    import pandas as pd

    from toolkit.emulator import Emulator
    from toolkit.receiver import Receiver

    where = f"README.md, section {section.title!r}"
    for name, value in namespace.items():
        if isinstance(value, Receiver):
            assert not value.running, f"{where}: receiver {name!r} is left running; stop it"
        elif isinstance(value, Emulator):
            assert not value.started, f"{where}: emulator {name!r} is left serving; stop it"
        elif isinstance(value, pd.DataFrame) and not name.startswith("_"):
            assert len(value), f"{where}: {name!r} is empty; an example should show data"


def _clean_up(namespace: dict[str, Any]) -> None:
    """Stop whatever a failed block left running, so the next tests start clean."""
    from toolkit.emulator import Emulator
    from toolkit.receiver import Receiver

    # Readers first (a widget's thread reads the store), then the receiver, then the emulator.
    values = list(namespace.values())
    widgets = [v for v in values if type(v).__module__.startswith("toolkit.widgets")]
    receivers = [v for v in values if isinstance(v, Receiver)]
    emulators = [v for v in values if isinstance(v, Emulator)]
    for value in [*widgets, *receivers, *emulators]:
        with contextlib.suppress(Exception):
            value.stop()


def _documented_commands() -> list[str]:
    shell = ("bash", "sh", "console", "shell", "")
    found = [
        m.group(1)
        for s in SECTIONS
        for b in s.blocks
        if b.lang in shell
        for m in COMMAND.finditer(b.code)
    ]
    return list(dict.fromkeys(found))


def test_the_readme_shows_the_commands() -> None:
    assert {"demo", "emulator", "receiver", "tail", "decode"} <= set(
        _documented_commands() + COMMAND.findall(README.read_text(encoding="utf-8"))
    )


@pytest.mark.parametrize("command", _documented_commands())
def test_each_command_in_a_shell_block_exists_and_its_help_works(command: str) -> None:
    from toolkit.__main__ import COMMANDS, main

    assert command in COMMANDS, f"README.md shows 'python -m toolkit {command}', which is unknown"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            status = main([command, "--help"])
        except SystemExit as exc:  # argparse's own --help exits
            status = exc.code
    assert status in (0, None) and "usage:" in out.getvalue()


def test_the_parser_reads_markers_sections_and_lines() -> None:
    sample = "\n".join(
        [
            "## One",  # line 1
            "<!-- readme-test: skip -->",
            "```python",  # line 3: a skip without a reason
            "x = 1",
            "```",
            "<!-- readme-test: skip (needs an account) -->",
            "  ```python",  # line 7: indented, in a list
            "  y = 2",
            "  ```",
            "## Two",
            "```bash",
            "python -m toolkit tail --db calls.db",
            "```",
        ]
    )
    one, two = parse(sample)[1:]
    assert [(b.lang, b.line, b.code) for b in one.blocks] == [
        ("python", 3, "x = 1"),
        ("python", 7, "y = 2"),
    ]
    assert REASON.match(one.blocks[0].skip or "") is None  # refused: no reason given
    assert REASON.match(one.blocks[1].skip or "")[1] == "needs an account"  # type: ignore[index]
    assert two.title == "Two" and COMMAND.findall(two.blocks[0].code) == ["tail"]
