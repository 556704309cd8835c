"""result_hint: the single source of ApiError hints, one table per product."""

from __future__ import annotations

import subprocess
import sys

import pytest

from toolkit.codes import OUTCOME_COLORS, OUTCOME_LABELS, OUTCOMES, result_hint
from toolkit.errors import api_error


def test_hint_comes_from_the_product_table() -> None:
    # 1012001 means different things in the two products
    assert "X number assignment" in (result_hint("1012001", "privatenumber") or "")
    assert "number assignment of the app" in (result_hint("1012001", "voicecall") or "")
    assert result_hint("1012002", "privatenumber") is None  # a VoiceCall-only code
    assert result_hint("1012002", "voicecall") == "Wait for template approval"


@pytest.mark.parametrize("raw", ["nonsense", "", None, "0", -5, float("nan"), "1e9", object()])
def test_hint_is_none_for_success_unknown_and_garbage(raw: object) -> None:
    assert result_hint(raw, "privatenumber") is None  # type: ignore[arg-type]


def test_api_error_message_carries_the_hint() -> None:
    err = api_error("1012008", "Insufficient number of resources", 403)
    assert err.hint == result_hint("1012008", "privatenumber")
    assert "areaMatchMode" in str(err)


def test_outcome_labels_and_colours_cover_every_outcome() -> None:
    assert set(OUTCOME_LABELS) == set(OUTCOMES) == set(OUTCOME_COLORS)
    assert len(set(OUTCOME_COLORS.values())) == len(OUTCOMES)


def test_hint_does_not_import_pandas() -> None:
    code = (
        "import sys, toolkit.codes as c; c.result_hint('1012010', 'privatenumber');"
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
