"""``python -m toolkit``: the conventions every command follows.

``--version``; exit 2 for no command or an unknown one; a reader that closes the pipe early ends
the command quietly; one flag name, ``--show-numbers``, for full numbers; help texts in plain
text with each option explained and its default shown; ``tail --tz``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from builders import CALLER, busy_info, fee_body, fee_info

from toolkit import tail
from toolkit.__main__ import COMMANDS, main
from toolkit.store import Store

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(*argv: str) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (status, stdout, stderr); argparse's exits become statuses."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as exc:
            status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


def test_version() -> None:
    status, out, _ = run("--version")
    assert status == 0 and re.fullmatch(r"privacy-call-toolkit \d+\.\d+\.\d+\S*\n", out)


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["--nonsense"]])
def test_no_command_or_an_unknown_one_is_a_usage_error(argv: list[str]) -> None:
    status, out, err = run(*argv)
    assert status == 2 and out == "" and "usage: python -m toolkit" in err


def test_help_is_not_an_error() -> None:
    status, out, _ = run("--help")
    assert status == 0 and all(name in out for name in COMMANDS)


# -- help texts ---------------------------------------------------------------------------------


def _help(command: str) -> str:
    status, out, _ = run(command, "--help")
    assert status == 0
    return out


def _options(text: str) -> list[str]:
    """The entries of the options section, each with its continuation lines joined."""
    section = text.split("options:\n", 1)[1]
    entries: list[str] = []
    for line in section.splitlines():
        if re.match(r"  -", line):
            entries.append(line.strip())
        elif line.startswith("   ") and entries:
            # After an invocation alone on its line, the help starts: keep them apart.
            gap = " " if re.search(r"\S\s{2,}\S", entries[-1]) else "  "
            entries[-1] += gap + line.strip()
    return entries


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_is_plain_text_and_explains_every_option(command: str) -> None:
    text = _help(command)
    # No reStructuredText leaking from docstrings (``literal``, :class:`...`).
    assert "``" not in text and not re.search(r":(class|func|mod|meth):", text)
    for entry in _options(text):
        parts = re.split(r"\s{2,}", entry, maxsplit=1)
        assert len(parts) == 2 and parts[1].strip(), f"{command}: {parts[0]!r} has no help text"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_shows_each_default(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    # Each option's default as the command's own parser holds it, read when it parses.
    defaults: dict[str, object] = {}
    parse = argparse.ArgumentParser.parse_args

    def reading_defaults(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        defaults.update({f: a.default for a in self._actions for f in a.option_strings})
        return parse(self, *args, **kwargs)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", reading_defaults)
    text = _help(command)
    assert defaults, "the command's parser was not seen"
    for entry in _options(text):
        for flag in re.findall(r"--[a-z][\w-]*", re.split(r"\s{2,}", entry)[0]):
            if defaults.get(flag) not in (None, False, argparse.SUPPRESS):
                assert "default" in entry, f"{command}: {flag} does not show its default"


def test_emulator_mode_is_explained() -> None:
    (entry,) = [e for e in _options(_help("emulator")) if e.startswith("--mode")]
    assert "mode of the app" in entry and "default: axb" in entry


def test_demo_help_is_the_plain_description() -> None:
    text = _help("demo")
    assert "python -m toolkit demo``" not in text and "no account" in text


# -- one flag name for full numbers ------------------------------------------------------------


@pytest.fixture
def cdr_store(tmp_path: Path) -> Store:
    with Store(tmp_path / "tail.db") as store:
        store.add(fee_body(fee_info(1), busy_info(2)))
    return store


def test_every_command_that_shows_numbers_says_show_numbers() -> None:
    for command in COMMANDS:
        assert "--raw-numbers" not in _help(command)
    assert "--show-numbers" in _help("tail") and "--show-numbers" in _help("decode")


def test_tail_show_numbers_and_the_old_name_still_working(cdr_store: Store) -> None:
    status, masked, _ = run("tail", "--db", cdr_store.path)
    assert status == 0 and CALLER not in masked
    status, shown, err = run("tail", "--db", cdr_store.path, "--show-numbers")
    assert status == 0 and CALLER in shown and err == ""
    status, old, err = run("tail", "--db", cdr_store.path, "--raw-numbers")
    assert status == 0 and old == shown and "deprecated" in err and "--show-numbers" in err


# -- tail --tz ------------------------------------------------------------------------------------


def test_tail_times_in_the_zone_asked_for(cdr_store: Store) -> None:
    _, utc, _ = run("tail", "--db", cdr_store.path)
    assert utc.splitlines()[0].startswith("2024-03-01 02:17:40Z")  # UTC by default
    _, shanghai, _ = run("tail", "--db", cdr_store.path, "--tz", "Asia/Shanghai")
    assert shanghai.splitlines()[0].startswith("2024-03-01 10:17:40+08:00")
    _, local, _ = run("tail", "--db", cdr_store.path, "--tz", "local")
    assert re.match(r"2024-03-0[12] \d\d:\d\d:40(Z|[+-]\d\d:\d\d) ", local)
    status, _, err = run("tail", "--db", cdr_store.path, "--tz", "Mars/Olympus")
    assert status == 2 and "unknown time zone" in err


def test_format_cdr_takes_the_zone(cdr_store: Store) -> None:
    from zoneinfo import ZoneInfo

    row = Store(cdr_store.path, readonly=True)
    try:
        first = row.cdrs()[0]
    finally:
        row.close()
    assert tail.format_cdr(first, tz=ZoneInfo("America/New_York")).startswith(
        "2024-02-29 21:17:40-05:00"
    )


# -- a closed pipe ------------------------------------------------------------------------------


def _close_after_first_line(argv: list[str]) -> tuple[int, str]:
    """Run a command, read one line, close the pipe as ``| head -1`` does; (status, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        assert proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        return proc.wait(timeout=60), err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_decode_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # Far more than a pipe buffer holds, so the write after the reader left fails.
    path = tmp_path / "fee.json"
    path.write_text(json.dumps(fee_body(*[busy_info(n) for n in range(3000)])))
    status, err = _close_after_first_line(["decode", "--cdr", str(path)])
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert status == 0


def test_tail_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    with Store(tmp_path / "many.db") as store:
        for start in range(0, 1500, 50):
            store.add(fee_body(*[busy_info(n) for n in range(start, start + 50)]))
    status, err = _close_after_first_line(["tail", "--db", str(tmp_path / "many.db")])
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert status == 0
