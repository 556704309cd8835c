"""python -m toolkit decode: codes, families, CDR files, masking and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
