"""The helpers every panel shares: masking free text, wording errors, the HTML table."""

from __future__ import annotations

import logging

import pytest

from toolkit.codes import OUTCOME_COLORS
from toolkit.errors import InvalidNumberError, ValidationError, api_error
from toolkit.widgets._common import (
    GENERIC_ERROR,
    MessageArea,
    describe_error,
    html_table,
    run_safely,
    scrub,
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("callee +8613800138000 busy", "callee +86138****8000 busy"),
        ("dialled 13800138000.", "dialled 138****8000."),
        ("1012010: already bound", "1012010: already bound"),  # result codes stay readable
        ("id 05805975-ed2f-49d9", "id 05805975-ed2f-49d9"),  # digits inside ids are not numbers
        ("1200_1029_4294967295_20240301021502@host", "1200_1029_4294967295_20240301021502@host"),
    ],
)
def test_scrub_masks_numbers_in_free_text_only(text: str, shown: str) -> None:
    assert scrub(text) == shown


def test_api_errors_are_worded_from_the_code_table() -> None:
    error = api_error("1012010", "The relation number has been bound.", 403)
    assert describe_error(error) == (
        "1012010: A or B is already bound on this X (AXB) — Unbind the existing pair or pick "
        "another X"
    )
    unknown = api_error("1099999", "Odd +8613800138000", 403)
    assert describe_error(unknown) == "1099999: Odd +86138****8000"


def test_validation_errors_name_the_parameter_without_the_value() -> None:
    bad = InvalidNumberError("13800138000x", "only digits", "callee_num")
    assert describe_error(bad) == "callee_num: not a valid phone number — only digits"
    assert describe_error(ValidationError("duration", "must be 0-7776000")) == (
        "duration: must be 0-7776000"
    )


def test_unexpected_errors_are_logged_masked_and_shown_generically(
    caplog: pytest.LogCaptureFixture,
) -> None:
    message = MessageArea()

    def boom() -> None:
        raise KeyError("+8613800138000")

    with caplog.at_level(logging.ERROR, logger="toolkit.widgets"):
        assert run_safely(message, boom) is None
    assert message.text == GENERIC_ERROR
    assert "KeyError" in caplog.text and "+86138****8000" in caplog.text
    assert "+8613800138000" not in caplog.text


def test_message_area_escapes_and_reads_back() -> None:
    message = MessageArea()
    message.error("<b>bad</b> & worse")
    assert "&lt;b&gt;" in message.value and message.text == "<b>bad</b> & worse"
    message.clear()
    assert message.text == ""


def test_html_table_masks_numbers_and_colours_outcomes() -> None:
    rows = [{"who": "+8613800138000", "note": "call 13900139000", "outcome": "busy"}]
    page = html_table(
        rows,
        [("who", "who"), ("note", "note"), ("outcome", "outcome")],
        numbers=("who",),
        outcome="outcome",
    )
    assert "+86138****8000" in page and "139****9000" in page
    assert "13800138000" not in page and "13900139000" not in page
    assert page.count(OUTCOME_COLORS["busy"]) == 2  # the badge and the row border
    assert "callee busy" in page
    assert "nothing here" in html_table([], [("who", "who")], empty="nothing here")
