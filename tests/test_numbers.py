"""Phone numbers: normalising, validating, classifying and masking (toolkit.numbers)."""

from __future__ import annotations

import math

import pytest

from toolkit.errors import InvalidNumberError, ValidationError
from toolkit.numbers import is_valid, kind, mask, normalize

VALID_NUMBERS = [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("+86 138-0013-8000", "+8613800138000"),
    ("0086 13800138000", "+8613800138000"),
    ("(+86) 138.0013.8000", "+8613800138000"),
    ("  19912345678 ", "+8619912345678"),
    ("0755-28000001", "+8675528000001"),
    ("075528000001", "+8675528000001"),
    ("755 2800 0001", "+8675528000001"),
    ("+86 0755 28000001", "+8675528000001"),
    ("010-88880000", "+861088880000"),
    ("021-6888000", "+86216888000"),
    ("+14155550123", "+14155550123"),
    ("+44 20 7946 0000", "+442079460000"),
]


@pytest.mark.parametrize(("raw", "expected"), VALID_NUMBERS)
def test_normalize_valid(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
    assert normalize(expected) == expected  # idempotent
    assert is_valid(raw)


INVALID_NUMBERS = [
    ("1380013800", "11 digits"),  # 10-digit mobile
    ("138001380001", "11 digits"),
    ("12800138000", "13-19"),
    ("0755-280001", "area code"),  # local part too short
    ("abc", "digits"),
    ("138-0013-800O", "digits"),  # letter O
    ("+86abc", "only digits"),
    ("+", "only digits"),
    ("", "digits"),
    ("+0123456", "international"),
    ("+1234567890123456", "international"),  # 16 digits
    ("4001234567", "400 and 95"),
    ("95588", "400 and 95"),
]


@pytest.mark.parametrize(("raw", "rule"), INVALID_NUMBERS)
def test_normalize_invalid(raw: str, rule: str) -> None:
    with pytest.raises(InvalidNumberError, match=rule) as caught:
        normalize(raw, param="callee_num")
    err = caught.value
    assert isinstance(err, ValueError) and isinstance(err, ValidationError)
    assert err.param == "callee_num" and err.value == raw
    assert str(err).startswith("callee_num: ")
    assert not is_valid(raw)


@pytest.mark.parametrize("raw", [None, 13800138000, 1.5, b"13800138000"])
def test_normalize_non_strings(raw: object) -> None:
    with pytest.raises(InvalidNumberError, match="expected a string"):
        normalize(raw)


def test_service_numbers_only_when_allowed() -> None:
    assert normalize("400-123-4567", allow_service=True) == "+864001234567"
    assert normalize("95588", allow_service=True) == "+8695588"


def test_default_country() -> None:
    assert normalize("020 7946 0000", default_country="44") == "+442079460000"


@pytest.mark.parametrize(
    ("number", "expected"),
    [("+8613800138000", "mobile"), ("+8675528000001", "fixed"), ("+864001234567", "service"),
     ("+8695588", "service"), ("+14155550123", "international")],
)  # fmt: skip
def test_kind(number: str, expected: str) -> None:
    assert kind(number) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+8613800138000", "+86138****8000"),
        ("+8675528000001", "+86755****0001"),
        ("+861088880000", "+86108***0000"),
        ("13800138000", "138****8000"),
        ("+14155550123", "+141****0123"),
        ("95588", "***88"),
        ("1234", "****"),
        ("", ""),
        (None, ""),
        (math.nan, ""),
        (13800138000, "138****8000"),
    ],
)
def test_mask(value: object, expected: str) -> None:
    assert mask(value) == expected
