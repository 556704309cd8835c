"""python -m toolkit decode: codes, families, CDR files, masking and exit codes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from builders import fee, push, small_day

from toolkit.codes.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_a_code_is_shown_in_every_family_that_lists_it(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "8102")
    assert status == 0
    assert "PrivateNumber hang-up reason (stateCode): Callee busy" in out
    assert "PrivateNumber release point (ulFailReason): Callee busy" in out
    assert "被叫用户正忙" in out and "callee-busy" in out


def test_voice_switch_uses_the_voicecall_tables(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--voice", "8108")
    assert "VoiceCall hang-up reason" in out and "leg A" in out
    status, out, _ = run(capsys, "8108")
    assert status == 1 and "unknown code" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--q850", "17"], "Q.850 cause (fwdUnaswRsn): user busy"),
        (["--sip", "486"], "SIP status (sipStatusCode): Busy Here"),
        (["--result", "1012010"], "A or B is already bound on this X"),
        (["--result", "1012002", "--voice"], "template is not approved"),
    ],
)
def test_family_options(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    status, out, _ = run(capsys, *argv)
    assert status == 0 and expected in out


@pytest.mark.parametrize(
    "argv", [["4242"], ["99999"], ["abc"], ["--q850", "4242"], ["--sip", "x"], ["--result", "7"]]
)
def test_unknown_code_is_reported_clearly_and_exits_1(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    # Exit 1, so that a script can tell an unknown code from a known one (it exited 0 before).
    status, out, _ = run(capsys, *argv)
    assert status == 1
    assert out.startswith(f"{argv[-1]}: unknown code")


@pytest.mark.parametrize(
    "argv", [[], ["8102", "--q850", "17"], ["--q850", "1", "--sip", "2"], ["--bogus"]]
)
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2 and "usage" in err


def test_cdr_file_is_explained_with_masked_numbers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = {
        "eventType": "fee",
        "feeLst": [
            {
                "sessionId": "s-1",
                "callerNum": "+8613800000001",
                "fwdDstNum": "+8613900000002",
                "ulFailReason": 8102,
                "fwdUnaswRsn": 17,
                "sipStatusCode": 486,
            },
            {"sessionId": "s-2", "ulFailReason": 0, "fwdAnswerTime": "2024-03-01 02:15:09"},
        ],
    }
    path = tmp_path / "fee.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    status, out, _ = run(capsys, "--cdr", str(path))
    assert status == 0
    assert "+8613800000001" not in out and "+86138****0001" in out
    assert "busy: Callee busy (release 8102, Q.850 17 user busy, SIP 486)" in out
    assert "answered: Answered, then ended normally" in out
    _, raw, _ = run(capsys, "--cdr", str(path), "--show-numbers")
    assert "+8613800000001" in raw


def test_cdr_file_with_events_explains_disconnects_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def event(kind: str, **info: object) -> dict[str, object]:
        return {"eventType": kind, "statusInfo": {"sessionId": "s-9", **info}}

    body = [
        event("answer", caller="+8613800000001"),
        event("disconnect", caller="+8613800000001", called="+8613900000002", stateCode=8102),
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    status, out, _ = run(capsys, "--cdr", str(path))
    assert status == 0
    assert "[1] s-9  +86138****0001 -> +86139****0002" in out
    assert "[2]" not in out and "busy:" in out
    path.write_text(json.dumps(body[:1]), encoding="utf-8")
    assert "no CDR or disconnect event found" in run(capsys, "--cdr", str(path))[1]


def test_unreadable_cdr_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert run(capsys, "--cdr", str(broken))[0] == 2
    assert run(capsys, "--cdr", str(tmp_path / "absent.json"))[0] == 2


def test_dispatch_through_python_m_toolkit(capsys: pytest.CaptureFixture[str]) -> None:
    from toolkit.__main__ import main as toolkit_main

    assert toolkit_main(["decode", "--q850", "21"]) == 0
    assert "call rejected" in capsys.readouterr().out


@pytest.fixture
def cdr_files(tmp_path: Path) -> dict[str, Path]:
    rows = small_day()
    lines = tmp_path / "cdrs.jsonl"
    lines.write_text("\n".join(json.dumps(push(r)) for r in rows), encoding="utf-8")
    table = tmp_path / "cdrs.csv.gz"
    table.write_bytes(gzip.compress(pd.DataFrame(rows).to_csv(index=False).encode()))
    return {"jsonl": lines, "csv.gz": table}


@pytest.mark.parametrize("name", ["jsonl", "csv.gz"])
def test_cdr_reads_json_lines_and_compressed_csv(
    capsys: pytest.CaptureFixture[str], cdr_files: dict[str, Path], name: str
) -> None:
    # Regression: decode --cdr rejected the JSON lines that cdr_frame accepts.
    status, out, _ = run(capsys, "--cdr", str(cdr_files[name]))
    assert status == 0
    assert "[4] session-3  +86138****0001 -> +86139****0002" in out
    assert "busy: Callee busy (release 8102, Q.850 17 user busy, SIP 486)" in out


def test_cdr_summary_in_text_and_json(
    capsys: pytest.CaptureFixture[str], cdr_files: dict[str, Path]
) -> None:
    status, out, _ = run(capsys, "--cdr", str(cdr_files["jsonl"]), "--summary")
    assert status == 0
    assert "4 CDR(s)" in out and "50.0%" in out and "8102 Callee busy" in out
    status, out, _ = run(capsys, "--cdr", str(cdr_files["jsonl"]), "--summary", "--format", "json")
    summary = json.loads(out)
    assert summary["outcomes"]["answered"] == 2 and summary["calls"] == 4
    assert summary["causes"][0]["calls"] == 1 and summary["causes"][0]["share"] == 0.5
    status, out, _ = run(capsys, "--cdr", str(cdr_files["csv.gz"]), "--format", "json")
    assert [r["outcome"] for r in json.loads(out)] == ["answered", "answered", "busy", "no-answer"]
    assert run(capsys, "--summary", "8102")[0] == 2


def test_cdr_with_only_malformed_rows_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("sessionId,ulFailReason\ns-1,busy\n", encoding="utf-8")
    status, _, err = run(capsys, "--cdr", str(path), "--summary")
    assert status == 1
    assert "row 0 ulFailReason: expected an integer" in err


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # Regression: `decode --cdr FILE | head` ended in a BrokenPipeError traceback.
    path = tmp_path / "many.json"
    path.write_text(json.dumps([push(fee(i)) for i in range(3000)]), encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "toolkit", "decode", "--cdr", str(path)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as p:
        assert p.stdout is not None and p.stderr is not None
        p.stdout.readline()
        p.stdout.close()  # what head does after its lines
        err = p.stderr.read().decode()
        status = p.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert status == 0
