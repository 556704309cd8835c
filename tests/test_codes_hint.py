"""result_hint: the single source of ApiError hints, one table per product."""

from __future__ import annotations

import subprocess
import sys

import pytest
import responses
from wire_helpers import BASE, KEY, SECRET

from toolkit.codes import OUTCOME_COLORS, OUTCOME_LABELS, OUTCOMES, result_hint
from toolkit.config import Settings
from toolkit.errors import ApiError
from toolkit.transport import Transport


def test_hint_comes_from_the_product_table() -> None:
    # 1012001 means different things in the two products
    assert "X number assignment" in (result_hint("1012001", "privatenumber") or "")
    assert "number assignment of the app" in (result_hint("1012001", "voicecall") or "")
    assert result_hint("1012002", "privatenumber") is None  # a VoiceCall-only code
    assert result_hint("1012002", "voicecall") == "Wait for template approval"


@pytest.mark.parametrize("raw", ["nonsense", "", None, "0", -5, float("nan"), "1e9", object()])
def test_hint_is_none_for_success_unknown_and_garbage(raw: object) -> None:
    assert result_hint(raw, "privatenumber") is None  # type: ignore[arg-type]


@pytest.mark.parametrize("product", ["privatenumber", "voicecall"])
def test_a_refused_request_carries_its_products_hint(product: str) -> None:
    # The transport turns the answer into an error with the hint of the product it talks to.
    transport = Transport(Settings(BASE, KEY, SECRET), product=product)  # type: ignore[arg-type]
    with responses.RequestsMock() as mock:
        mock.add("GET", BASE + "/path", status=403, json={"resultcode": "1012001"})
        with pytest.raises(ApiError) as caught:
            transport.call("GET", "/path")
    assert caught.value.hint == result_hint("1012001", product)
    assert caught.value.hint and str(caught.value).endswith(caught.value.hint)


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
