"""``python -m toolkit axb|ax|axe|axyb``: against an emulator served on a real loopback socket, with
settings from the environment or ``.env``; masked output, JSON, CSV bulk and the exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from toolkit.bind_cli import main
from toolkit.emulator import Emulator

A, B = "+8613800138000", "+8613900139000"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def served() -> Iterator[Emulator]:
    emu = Emulator("axb", time_scale=0, seed=9).start()
    yield emu
    emu.stop()


@pytest.fixture
def emu(served: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Emulator:
    served.reset()
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("PRIVATENUMBER_BASE_URL", served.url)
    monkeypatch.setenv("PRIVATENUMBER_APP_KEY", served.app_key)
    monkeypatch.setenv("PRIVATENUMBER_APP_SECRET", served.app_secret)
    return served


def run(capsys: pytest.CaptureFixture[str], mode: str, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), mode=mode)
    out, err = capsys.readouterr()
    return code, out, err


def test_bind_query_modify_unbind_masked_by_default(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "axb", "bind", "138 0013 8000", A.replace("8000", "9999"),
                       "--duration", "3600", "--json")  # fmt: skip
    assert code == 0
    answer = json.loads(out)
    sid = answer["subscriptionId"]
    [binding] = emu.bindings()
    assert binding["subscriptionId"] == sid and binding["duration"] == 3600
    assert (
        answer["relationNum"] == binding["relationNum"][:6] + "****" + binding["relationNum"][-4:]
    )
    code, out, _ = run(capsys, "axb", "query", sid)
    assert code == 0 and sid in out and A not in out and "+86138****8000" in out
    code, out, _ = run(capsys, "axb", "query", sid, "--show-numbers")
    assert code == 0 and A in out
    assert run(capsys, "axb", "modify", sid, "--user-data", "order-9")[0] == 0
    assert emu.bindings()[0]["userData"] == "order-9"
    assert run(capsys, "axb", "unbind", sid)[0] == 0
    assert emu.bindings() == []


def test_a_platform_refusal_exits_1_with_the_decoded_hint(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "axb", "unbind", "no-such-binding")
    assert code == 1
    assert "1012007" in err and "hint: Check the subscriptionId" in err


@pytest.mark.parametrize(
    "argv",
    [["bind", A], ["bind", "12345", B], ["bind", A, B, "--duration", "soon"], ["renew", A],
     ["bind", A, B, "--colour", "red"], ["unbind"]],
)  # fmt: skip
def test_bad_usage_exits_2_before_any_request(
    emu: Emulator, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, "axb", *argv)
    assert code == 2 and out == "" and err
    assert emu.bindings() == []


def test_every_mode_binds(
    emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for mode, argv in (
        ("ax", ["bind", A, "--area-code", "0755"]),
        ("axe", ["bind", A, "--area-code", "0755", "--extend-num", "0042"]),
        ("axyb", ["bind", A, B, "--area-code", "0755"]),
    ):
        app = emu.add_app(mode)
        monkeypatch.setenv("PRIVATENUMBER_APP_KEY", app.app_key)
        monkeypatch.setenv("PRIVATENUMBER_APP_SECRET", app.app_secret)
        code, out, err = run(capsys, mode, *argv, "--json")
        assert code == 0, err
        sid = json.loads(out)["subscriptionId"]
        assert len(emu.bindings(app)) == 1 and sid in json.dumps(emu.bindings(app))
        if mode == "axyb":
            assert json.loads(out)["yRelationNumber"].count("*") == 4  # B got a Y, masked
        assert run(capsys, mode, "unbind", sid)[0] == 0


def test_from_csv_binds_every_row_and_reports_the_failed_ones(
    emu: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = (
        "caller_num,callee_num,duration\n"
        + "".join(f"1380000000{i},1390000000{i},{60 * i or ''}\n" for i in range(4))
        + "12345,13900000009,\n"
    )
    (tmp_path / "pairs.csv").write_text(rows)
    code, out, _ = run(capsys, "axb", "bind", "--from-csv", "pairs.csv", "--workers", "3", "--json")
    assert code == 1  # one row failed
    result = json.loads(out)
    assert [r["ok"] for r in result] == [True] * 4 + [False]
    assert "caller_num" in result[4]["error"] and len(emu.bindings()) == 4
    assert "13800000001" not in out
    (tmp_path / "bad.csv").write_text("caller,callee\n1,2\n")
    assert run(capsys, "axb", "bind", "--from-csv", "bad.csv")[0] == 2
    assert run(capsys, "axb", "bind", "--from-csv", "missing.csv")[0] == 2


def test_the_command_reads_dotenv_through_python_m_toolkit(
    served: Emulator, tmp_path: Path
) -> None:
    served.reset()
    (tmp_path / ".env").write_text(
        f"PRIVATENUMBER_BASE_URL={served.url}\nPRIVATENUMBER_APP_KEY={served.app_key}\n"
        f"PRIVATENUMBER_APP_SECRET={served.app_secret}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVATENUMBER_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "axb", "bind", A, B],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "+86138****8000" not in done.stdout  # a bind's answer names X, not A
    [binding] = served.bindings()
    assert binding["subscriptionId"] in done.stdout
    assert binding["relationNum"] not in done.stdout  # masked
