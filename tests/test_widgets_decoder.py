"""CauseDecoder driven from code: decode a code, explain a pasted CDR, filter the code table."""

from __future__ import annotations

import json

from toolkit.widgets import CauseDecoder


def test_typing_a_code_decodes_it() -> None:
    panel = CauseDecoder()
    panel.family.value = "pn_release"
    panel.code.value = "8102"
    assert panel.result is not None and panel.result.code == 8102
    assert panel.result.category == "callee-busy"
    assert "Callee busy" in panel.verdict.value
    assert "callee" in panel.verdict.value  # who can act
    assert panel.message.text == ""


def test_decode_method_and_button_use_the_chosen_family() -> None:
    panel = CauseDecoder()
    info = panel.decode("17", family="q850")
    assert info is not None and info.family == "q850" and info.known
    panel.family.value = "sip"
    panel.code.value = "486"
    panel.decode_button.click()
    assert panel.result.family == "sip" and panel.result.code == 486


def test_unknown_code_is_a_message_not_an_error() -> None:
    panel = CauseDecoder()
    panel.code.value = "99999"
    assert not panel.result.known
    assert "unknown code 99999" in panel.message.text


def test_pasted_cdr_is_explained_with_outcome_and_action() -> None:
    panel = CauseDecoder()
    cdr = {"callerNum": "+8613800000001", "ulFailReason": 8102, "fwdUnaswRsn": 17}
    panel.cdr_json.value = json.dumps({"eventType": "fee", "feeLst": [cdr]})
    panel.explain_button.click()
    [explanation] = panel.result
    assert explanation.outcome == "busy"
    assert "callee busy" in panel.verdict.value  # the outcome label in the badge
    assert explanation.action in panel.verdict.value
    assert "13800000001" not in panel.verdict.value


def test_bad_json_shows_a_message() -> None:
    panel = CauseDecoder()
    assert panel.explain("{not json") is None
    assert panel.message.text.startswith("This is not valid JSON")
    panel.explain('{"eventType": "answer", "statusInfo": {}}')
    assert "No CDR or disconnect event" in panel.message.text


def test_search_filters_the_table_of_all_codes() -> None:
    panel = CauseDecoder()
    total = panel.filter("")
    panel.search.value = "1012010"
    assert "1012010" in panel.table.value and "A or B is already bound" in panel.table.value
    narrowed = panel.filter("busy")
    assert 0 < narrowed < total
    assert panel.filter("no such text anywhere") == 0
    assert "no code matches" in panel.table.value


def test_panel_is_a_displayable_box() -> None:
    panel = CauseDecoder()
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_the_search_box_says_what_the_table_shows() -> None:
    panel = CauseDecoder()
    count = panel.filter("busy")
    assert panel.search.value == "busy"
    assert f"<p>{count} codes" in panel.table.value
    panel.search.value = ""  # clearing the box shows every code again
    assert panel.table.value.startswith(f"<p>{len(panel._rows)} codes")


def test_a_failed_explain_clears_the_previous_verdict() -> None:
    panel = CauseDecoder()
    assert panel.explain(json.dumps({"ulFailReason": 8102, "fwdUnaswRsn": 17}))
    assert "Callee busy" in panel.verdict.value
    assert panel.explain("{not json") is None
    assert panel.verdict.value == "" and panel.result is None
    assert "not valid JSON" in panel.message.text
    panel.explain(json.dumps({"ulFailReason": 8102}))
    assert panel.explain("") is None  # nothing pasted: no verdict left from before either
    assert panel.verdict.value == ""


def test_an_empty_code_clears_the_previous_verdict() -> None:
    panel = CauseDecoder()
    panel.decode(8102, "pn_release")
    assert "Callee busy" in panel.verdict.value
    panel.code.value = ""
    assert panel.decode() is None
    assert panel.verdict.value == "" and panel.message.text == "Type or pick a code first."
