"""BindingPanel driven from code against the in-process emulator."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from toolkit.emulator import Emulator
from toolkit.errors import ValidationError
from toolkit.widgets import BindingPanel
from toolkit.widgets._common import GENERIC_ERROR

A, B, C = "138 0013 8000", "139 0013 9000", "137 0013 7000"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator("axb", seed=7)
    yield emu
    emu.stop()


@pytest.fixture
def panel(emulator: Emulator) -> BindingPanel:
    return BindingPanel.from_emulator(emulator)


def table_text(panel: BindingPanel) -> str:
    """Everything the bindings table displays, as one string."""
    return " ".join(
        cell.value
        for row in panel.table.children
        for cell in getattr(row, "children", [row])
        if hasattr(cell, "value") and isinstance(cell.value, str)
    )


def count_requests(panel: BindingPanel, mode: str) -> list[Any]:
    sent: list[Any] = []
    panel.clients[mode].session.hooks["response"].append(lambda r, *a, **k: sent.append(r))
    return sent


def test_typing_previews_the_normalised_masked_number(panel: BindingPanel) -> None:
    panel.fields["caller_num"].value = A
    assert "+86138****8000" in panel.previews["caller_num"].value
    assert "mobile" in panel.previews["caller_num"].value
    panel.fields["caller_num"].value = "1380013"
    assert "not a valid phone number" in panel.previews["caller_num"].value
    panel.fields["caller_num"].value = ""
    assert panel.previews["caller_num"].value == ""


def test_bind_axb_shows_masked_numbers_in_the_table(panel: BindingPanel, emulator) -> None:
    panel.fields["caller_num"].value = A
    panel.fields["callee_num"].value = B
    panel.bind_button.click()
    [(sid, row)] = panel.bindings.items()
    assert panel.subscription_id.value == sid
    assert row["a"] == "+8613800138000" and row["x"] in emulator.numbers
    shown = table_text(panel)
    assert "+86138****8000" in shown and "+86139****9000" in shown
    assert "13800138000" not in shown and "13800138000" not in panel.message.value
    assert panel.message.text.startswith("Bound: A +86138****8000")
    assert [b["subscriptionId"] for b in emulator.bindings()] == [sid]


def test_duplicate_binding_shows_the_decoded_result_code(panel: BindingPanel) -> None:
    answer = panel.bind(caller_num=A, callee_num=B)
    assert answer is not None
    panel.bind(caller_num=A, callee_num=C, relation_num=answer["relationNum"])
    assert panel.message.text.startswith("1012010: A or B is already bound on this X")
    assert "pick another X" in panel.message.text
    assert len(panel.bindings) == 1


def test_invalid_number_is_a_message_and_no_request(panel: BindingPanel) -> None:
    sent = count_requests(panel, "axb")
    panel.fields["caller_num"].value = "12345"
    panel.fields["callee_num"].value = B
    assert panel.bind() is None
    assert panel.message.text.startswith("caller_num: not a valid phone number")
    assert sent == [] and panel.bindings == {}


def test_per_row_unbind_removes_the_row_and_the_binding(panel: BindingPanel, emulator) -> None:
    first = panel.bind(caller_num=A, callee_num=B)
    second = panel.bind(caller_num="13800000001", callee_num="13900000001")
    assert first is not None and second is not None
    panel.unbind_buttons[first["subscriptionId"]].click()
    assert list(panel.bindings) == [second["subscriptionId"]]
    assert first["subscriptionId"] not in panel.unbind_buttons
    assert "+86138****8000" not in table_text(panel)
    assert [b["subscriptionId"] for b in emulator.bindings()] == [second["subscriptionId"]]


def test_modify_query_and_unbind_buttons(panel: BindingPanel, emulator) -> None:
    answer = panel.bind(caller_num=A, callee_num=B)
    sid = answer["subscriptionId"]
    panel.fields["callee_num"].value = C
    panel.modify_button.click()
    assert panel.message.text.startswith(f"Modified {sid}")
    assert panel.bindings[sid]["b"] == "+8613700137000"
    panel.bindings.clear()  # forget locally, then find it again on the platform
    panel.subscription_id.value = ""
    panel.fields["relation_num"].value = answer["relationNum"]
    panel.query_button.click()
    assert panel.message.text == "Found 1 binding."
    assert panel.bindings[sid]["b"] == "+8613700137000"
    panel.subscription_id.value = sid
    panel.unbind_button.click()
    assert panel.bindings == {} and emulator.bindings() == []
    panel.unbind_button.click()  # nothing selected any more
    assert "subscription id" in panel.message.text


def test_mode_selector_shows_that_modes_fields(panel: BindingPanel) -> None:
    def shown() -> list[str]:
        texts = [c.children[0] if hasattr(c, "children") else c for c in panel.form.children]
        return [key for key, text in panel.fields.items() if text in texts]

    assert shown()[:2] == ["caller_num", "callee_num"]
    panel.mode.value = "axe"
    assert "virtual_num" in shown() and "caller_num" not in shown()
    assert panel.callee_box.layout.display == "none"
    panel.mode.value = "ax"
    assert panel.callee_box.layout.display == ""
    panel.mode.value = "axyb"
    assert panel.modify_button.disabled


def test_ax_bind_and_temporary_callee(panel: BindingPanel) -> None:
    panel.mode.value = "ax"
    answer = panel.bind(orig_num=A, area_code="0755")
    assert answer is not None and panel.bindings[answer["subscriptionId"]]["mode"] == "ax"
    panel.callee.value = "400 123 4567"  # a service number is allowed as temporary callee
    assert "✓" in panel.callee_preview.value
    panel.set_callee_button.click()
    assert panel.message.text.startswith("Temporary callee of")
    assert panel.message.text.endswith("set to +86400***4567.")
    panel.mode.value = "axb"
    assert panel.set_callee() is None
    assert "AX feature" in panel.message.text


def test_axe_and_axyb_bind(panel: BindingPanel) -> None:
    panel.mode.value = "axe"
    axe = panel.bind(bind_num=A, area_code="0755")
    assert axe is not None and panel.bindings[axe["subscriptionId"]]["e"]
    panel.mode.value = "axyb"
    axyb = panel.bind(orig_num=A, b_num=B, area_code="0755")
    row = panel.bindings[axyb["subscriptionId"]]
    assert row["x"] and row["y"] and row["b"] == "+8613900139000"


def test_bulk_bind_from_a_dataframe_with_progress(panel: BindingPanel, emulator) -> None:
    frame = pd.DataFrame(
        {
            "caller_num": ["13800000011", "13800000012", "bad"],
            "callee_num": ["13900000011", "13900000012", "13900000013"],
        }
    )
    result = panel.bulk_bind(frame)
    assert (panel.progress.value, panel.progress.max) == (3, 3)
    assert list(result["error"] == "") == [True, True, False]
    assert result["error"][2].startswith("caller_num: not a valid phone number")
    assert len(emulator.bindings()) == 2 and len(panel.bindings) == 2
    assert panel.message.text.startswith("Bulk bind: 2 of 3 bound; 1 failed")


def test_bulk_bind_refuses_unknown_columns_before_any_request(panel: BindingPanel) -> None:
    sent = count_requests(panel, "axb")
    result = panel.bulk_bind([{"caller_num": A, "callee": B}])
    assert result.empty and sent == []
    assert panel.message.text.startswith("Bulk bind: unknown column(s) callee;")


def test_unexpected_errors_are_logged_not_shown(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def bind(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("boom +8613800138000")

    class Client:
        axb = Broken()

    panel = BindingPanel({"axb": Client()})  # type: ignore[dict-item]
    with caplog.at_level(logging.ERROR, logger="toolkit.widgets"):
        assert panel.bind(caller_num=A, callee_num=B) is None
    assert panel.message.text == GENERIC_ERROR
    assert "RuntimeError" in caplog.text and "13800138000" not in caplog.text


def test_a_single_client_offers_every_mode_and_the_platform_says_which(emulator) -> None:
    panel = BindingPanel(emulator.client())  # an AXB app
    assert [value for _, value in panel.mode.options] == ["axb", "ax", "axe", "axyb"]
    panel.mode.value = "ax"
    assert panel.bind(orig_num=A, area_code="0755") is None
    assert panel.message.text.startswith("1010040")


def test_query_without_a_locator_says_what_to_give(panel: BindingPanel) -> None:
    sent = count_requests(panel, "axb")
    assert panel.query() is None
    assert panel.message.text == "relation_num: give a subscription id or the X number to query"
    assert sent == []


def test_a_panel_without_any_mode_client_is_refused() -> None:
    with pytest.raises(ValidationError, match="clients"):
        BindingPanel({"voice": None})  # type: ignore[dict-item]


def number_boxes(panel: BindingPanel) -> dict[str, str]:
    """Every number box of every mode that holds something, plus the AX callee box."""
    # (Before every mode had its own boxes, one shared set stood for all modes.)
    every_mode = getattr(panel, "mode_fields", {"any": panel.fields})
    held = {
        f"{mode}.{key}": text.value
        for mode, fields in every_mode.items()
        for key, text in fields.items()
        if text.value
    }
    if panel.callee.value:
        held["callee"] = panel.callee.value
    return held


def test_the_form_is_cleared_after_a_bind_bound_or_refused(panel: BindingPanel) -> None:
    answer = panel.bind(caller_num=A, callee_num=B)
    assert answer is not None
    assert number_boxes(panel) == {}
    # Refused by the platform (A again on the same X): the typed numbers do not stay either.
    assert panel.bind(caller_num=A, callee_num=C, relation_num=answer["relationNum"]) is None
    assert panel.message.text.startswith("1012010")
    assert number_boxes(panel) == {}
    # Refused before sending (not a number).
    assert panel.bind(caller_num="12345", callee_num=B) is None
    assert number_boxes(panel) == {}
    assert panel.subscription_id.value == answer["subscriptionId"]  # an id, not a number


def test_the_ax_callee_box_is_cleared_after_setting_it(panel: BindingPanel) -> None:
    panel.mode.value = "ax"
    assert panel.bind(orig_num=A, area_code="0755") is not None
    assert panel.set_callee(C) is not None
    assert panel.callee.value == "" and number_boxes(panel) == {}
    assert panel.message.text.endswith("set to +86137****7000.")


def test_values_typed_for_another_mode_never_reach_a_bind(panel: BindingPanel, emulator) -> None:
    other_x = emulator.numbers[-1]
    panel.mode.value = "axyb"
    panel.fields["relation_num"].value = other_x  # typed to query AXYB bindings, never sent
    panel.fields["area_code"].value = "010"
    panel.mode.value = "ax"
    panel.fields["area_code"].value = "010"
    panel.fields["private_num"].value = other_x
    panel.mode.value = "axb"
    sent = count_requests(panel, "axb")
    answer = panel.bind(caller_num=A, callee_num=B)
    assert answer is not None
    [response] = sent
    body = response.request.body.decode()
    assert "areaCode" not in body and "relationNum" not in body, body
    # The boxes of the modes left behind were emptied: hidden boxes keep no numbers.
    assert number_boxes(panel) == {}
    panel.mode.value = "ax"
    assert panel.fields["private_num"].value == "" and panel.fields["area_code"].value == ""
