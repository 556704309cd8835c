"""The data files cover every code of the spec's tables, with the spec's categories.

The expected codes are parsed from the spec markdown at test time, so a table added to the spec
without a data row fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from toolkit.codes import FAMILIES, decode
from toolkit.codes.tables import ACTORS, CATEGORIES, table

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec"
needs_spec = pytest.mark.skipif(
    not SPEC.is_dir(), reason=f"spec directory {SPEC} not found (it lives next to the repo)"
)

# (spec file, heading that starts the section, family, column holding the code)
SECTIONS = [
    ("hangup-codes.md", "## (a) Table A", "pn_state", 0),
    ("hangup-codes.md", "## (c) Table C", "pn_release", 0),
    ("hangup-codes.md", "## (b) Table B", "q850", 0),
    ("privatenumber-api.md", "## 9. Result", "pn_result", 1),
    ("voicecall-api.md", "## 8. API result codes", "vc_result", 1),
    ("voicecall-api.md", "### 9.1 ", "vc_state", 0),
    ("voicecall-api.md", "### 9.2 ", "vc_release", 0),
    ("voicecall-api.md", "### 9.3 ", "q850", 0),
]
# "8000-81xx" in VoiceCall 9.2 means "the 8xxx codes of 9.1"; checked by its own test below.
_CODES = re.compile(
    r"(\d+)(?:\s*[\u2013-]\s*(\d+)(xx)?)?"
)  # the spec writes ranges with an en dash


def _rows(name: str, heading: str) -> list[list[str]]:
    """The cells of the first markdown table after ``heading`` (header row skipped)."""
    lines = (SPEC / name).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break  # the table ended
    return rows[1:]


def _codes(cell: str) -> list[int]:
    codes: list[int] = []
    for low, high, wildcard in _CODES.findall(cell):
        if high and not wildcard:
            codes.extend(range(int(low), int(high) + 1))
        elif not wildcard:
            codes.append(int(low))
    return codes


def spec_codes(family: str) -> dict[int, list[str]]:
    """Every code the spec lists for ``family``, with the row cells it came from."""
    found: dict[int, list[str]] = {}
    for name, heading, fam, column in SECTIONS:
        if fam != family:
            continue
        for row in _rows(name, heading):
            for code in _codes(row[column]):
                found.setdefault(code, row)
    return found


@needs_spec
@pytest.mark.parametrize("family", sorted({s[2] for s in SECTIONS}))
def test_every_spec_code_is_in_the_data_files(family: str) -> None:
    expected = spec_codes(family)
    assert len(expected) > 10, "the spec parser found almost nothing: has the layout changed?"
    missing = sorted(code for code in expected if not decode(code, family).known)
    assert missing == []


@needs_spec
@pytest.mark.parametrize("family", ["pn_state", "pn_release", "q850"])
def test_categories_match_the_hangup_spec(family: str) -> None:
    # hangup-codes.md gives a category per row (second column); the data must agree with it
    heading = {"pn_state": "## (a)", "pn_release": "## (c)", "q850": "## (b)"}[family]
    wrong = {}
    for row in _rows("hangup-codes.md", heading):
        for code in _codes(row[0]):
            info = decode(code, family)
            if info.category != row[1]:
                wrong[code] = (info.category, row[1])
    assert wrong == {}


@needs_spec
def test_voicecall_release_points_include_the_hangup_reasons() -> None:
    # "7108, 7109, 8000-81xx | As in 9.1": every 9.1 code from 7108 up is also a release point
    for code in spec_codes("vc_state"):
        if code >= 7108:
            assert decode(code, "vc_release").meaning == decode(code, "vc_state").meaning


def test_voicecall_and_privatenumber_tables_are_not_mixed() -> None:
    assert not decode(8013, "vc_state").known  # AX-only code
    assert not decode(8106, "pn_state").known  # VoiceCall caller-leg code
    assert decode(1012001, "pn_result").meaning != decode(1012001, "vc_result").meaning


@pytest.mark.parametrize("family", FAMILIES)
def test_rows_use_the_fixed_vocabularies(family: str) -> None:
    for row in table(family).rows():
        assert row.category in CATEGORIES, (family, row.low)
        assert row.actor in ACTORS, (family, row.low)
        assert row.meaning, (family, row.low)
        assert row.low <= row.high


def test_exact_rows_win_over_ranges() -> None:
    assert decode(2803, "vc_release").meaning == "Too many keypresses in the IVR"
    assert decode(2850, "vc_release").meaning == "IVR error"
    assert decode(501, "vc_release").category == "platform"  # release point, not SIP 501
    assert "Busy Here" in decode(486, "vc_release").meaning  # SIP status passed through
    assert decode(499, "vc_release").known  # covered by the 400-699 range row
    assert not decode(700, "vc_release").known
