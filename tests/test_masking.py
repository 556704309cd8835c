"""Phone numbers never shown in full: every spelling the toolkit accepts as input is masked in
Record reprs, in every error message (InvalidNumberError, other ValidationErrors, ApiError,
ConfigError) and in Settings reprs, while times, codes, ranges and addresses stay readable."""

from __future__ import annotations

import re

import pytest

from toolkit.config import Settings
from toolkit.errors import ApiError, ConfigError, InvalidNumberError, ValidationError
from toolkit.numbers import is_number_like, mask_text, normalize
from toolkit.record import Record
from toolkit.transport import wire

# Every spelling normalize accepts, in the forms people type and the platform writes.
SPELLINGS = [
    "13800138000", "138 0013 8000", "138-0013-8000", "+8613800138000", "+86 138 0013 8000",
    "+86-138-0013-8000", "0086 138 0013 8000", "008613800138000", "8613800138000",
    "86 138 0013 8000", "(+86) 138.0013.8000", "tel:+8613800138000", "tel:+86-138-0013-8000",
    "TEL:13800138000;ext=12", "0755-28000001", "075528000001", "(0755) 2800 0001",
    "755 2800 0001", "+86 755 2800 0001", "+86 (0)755 28000001", "86 755 28000001",
    "010-88880000", "tel:+86-10-8888-0000", "+14155550123", "+44 20 7946 0000", "400-123-4567",
]  # fmt: skip


def secret_digits(spelling: str) -> str:
    """The digits that identify the number: the national part (all digits outside China)."""
    normalized = normalize(spelling, allow_service=True)
    return normalized[3:] if normalized.startswith("+86") else normalized[1:]


def shows_number(text: str, spelling: str) -> bool:
    return secret_digits(spelling) in re.sub(r"\D", "", text)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_accepted_spelling_is_masked_in_a_record(spelling: str) -> None:
    assert is_number_like(spelling)
    record = Record({"callerNum": spelling, "list": [{"calleeNum": spelling}], "resultcode": "0"})
    assert not shows_number(repr(record), spelling)
    assert record.caller_num == spelling and record.raw["callerNum"] == spelling  # data unmasked


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_accepted_spelling_is_masked_in_error_messages(spelling: str) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        normalize("#" + spelling)  # one stray character: the error must still not show it
    assert not shows_number(str(caught.value), spelling)
    assert caught.value.value == "#" + spelling  # the attribute keeps what was given
    with pytest.raises(ValidationError) as refused:
        wire({"call_direction": spelling})  # a number typed into the wrong field is echoed
    assert not shows_number(str(refused.value), spelling) and "got" in str(refused.value)
    for error in (
        ValidationError("relation_num", f"{spelling} is not one of your numbers"),
        ApiError("1012010", f"The number {spelling} has been bound."),
        ConfigError(f"app_key {spelling} is unknown"),
    ):
        assert not shows_number(str(error), spelling) and not shows_number(repr(error), spelling)


@pytest.mark.parametrize("raw", ["4001234567", "95588"])
def test_a_service_number_refused_as_a_user_number_is_masked(raw: str) -> None:
    with pytest.raises(InvalidNumberError, match="400 and 95") as caught:
        normalize(raw)
    assert raw not in str(caught.value)


def test_settings_repr_masks_a_number_used_as_app_key() -> None:
    settings = Settings("https://platform.test", "13800138000", "secret")
    assert "13800138000" not in repr(settings) and "13800138000" not in str(settings)
    assert "secret" not in repr(settings)


def test_times_codes_ranges_and_addresses_stay_readable() -> None:
    text = (
        "duration: must be 0 (never expires) or 60-7776000 seconds; 1012010 at "
        "2024-03-01 10:15:09 from 10.123.45.678:8443, id 1202_566_0_20161228102743@host"
    )
    assert mask_text(text) == text
    record = Record({"startTime": "2024-03-01 10:15:09", "resultcode": "1012010",
                     "subscriptionId": "1d8b1bdd-7fb1-4e2b-8a66-4cc4f0f20b12",
                     "sessionId": "1202_566_0_20161228102743@callenabler.home1.com",
                     "duration": "86400"})  # fmt: skip
    for value in record.values():
        assert value in repr(record)


def test_numbers_inside_text_are_masked_one_by_one() -> None:
    text = mask_text("A 138 0013 8000, B 13900139000 and X tel:+8617000000003 at 10:15")
    assert text == "A 138******8000, B 139****9000 and X tel:+86170****0003 at 10:15"


def test_a_deeply_nested_record_still_has_a_repr() -> None:
    value: object = "+8613800138000"
    for _ in range(5000):
        value = {"x": [value]}
    shown = repr(Record({"deep": value}))
    assert "…" in shown and "13800138000" not in shown
