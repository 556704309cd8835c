"""Phone numbers: normalise what people type, validate it, and mask it for display.

The platform wants every number in global format: ``+86`` and an 11-digit mobile number, or
``+86``, the area code without its leading 0 and a 7-8 digit local number. People type
``138 0013 8000``, ``0755-28000001`` or ``+86 138-0013-8000``; :func:`normalize` turns all of these
into ``+8613800138000`` / ``+8675528000001`` or raises :class:`InvalidNumberError` naming the rule.

:func:`mask` is what every display in the toolkit uses: ``+86138****8000``.
"""

from __future__ import annotations

import re
from typing import Literal

from .errors import InvalidNumberError

Kind = Literal["mobile", "fixed", "service", "international"]

_SEPARATORS = re.compile(r"[\s\-().]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# Two-digit area codes are 10 (Beijing) and 20-29; every other area code has three digits.
_FIXED = re.compile(r"(?:10|2\d|[3-9]\d\d)\d{7,8}")
# 400 numbers and 95xxx short numbers may be an AX temporary callee but never a bound A/B number.
_SERVICE = re.compile(r"400\d{7}|95\d{3,6}")
# E.164 allows at most 15 digits; the spec's String(4-31) fields allow at least 3 after the "+".
_INTERNATIONAL = re.compile(r"[1-9]\d{2,14}")


def normalize(
    raw: object,
    *,
    default_country: str = "86",
    allow_service: bool = False,
    param: str = "number",
) -> str:
    """Return ``raw`` in the platform's global format, or raise :class:`InvalidNumberError`.

    ``default_country`` applies to numbers typed without ``+`` or ``00``. Chinese numbers must be
    mobile (11 digits starting with 1) or fixed line (area code without 0, then 7-8 digits);
    ``allow_service`` also admits 400 and 95 numbers (allowed only as an AX temporary callee).
    ``param`` names the parameter in the error message.
    """
    if not isinstance(raw, str):
        raise InvalidNumberError(raw, "expected a string such as '+8613800138000'", param)
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit():
            raise InvalidNumberError(raw, "only digits may follow '+'", param)
        if digits.startswith("86"):
            return "+86" + _chinese(digits[2:].removeprefix("0"), raw, allow_service, param)
        if not _INTERNATIONAL.fullmatch(digits):
            raise InvalidNumberError(
                raw, "an international number is '+', the country code and 3-15 digits", param
            )
        return text
    if not text.isdigit():
        raise InvalidNumberError(raw, "a phone number holds digits, spaces and dashes only", param)
    if default_country != "86":
        return normalize("+" + default_country + text.removeprefix("0"), param=param)
    return "+86" + _chinese(text.removeprefix("0"), raw, allow_service, param)


def _chinese(national: str, raw: object, allow_service: bool, param: str) -> str:
    # Service numbers first: "4001234567" also has the shape of a fixed-line number.
    if _SERVICE.fullmatch(national):
        if allow_service:
            return national
        raise InvalidNumberError(raw, "400 and 95 numbers cannot be bound as a user number", param)
    if _MOBILE.fullmatch(national) or _FIXED.fullmatch(national):
        return national
    if national.startswith("1"):
        rule = "a Chinese mobile number has 11 digits and starts with 13-19"
    else:
        rule = "a Chinese fixed-line number is an area code (0 optional) and 7-8 digits"
    raise InvalidNumberError(raw, rule, param)


def kind(number: str) -> Kind:
    """Classify a normalised number as mobile, fixed, service (400/95) or international."""
    if not number.startswith("+86"):
        return "international"
    national = number[3:]
    if _MOBILE.fullmatch(national):
        return "mobile"
    if _SERVICE.fullmatch(national):
        return "service"
    return "fixed"


def is_valid(raw: object, **kwargs: object) -> bool:
    """True when :func:`normalize` accepts ``raw`` (same keyword arguments)."""
    try:
        normalize(raw, **kwargs)  # type: ignore[arg-type]
    except InvalidNumberError:
        return False
    return True


def mask(number: object) -> str:
    """Hide the middle digits of a number for display: ``+8613800138000`` -> ``+86138****8000``.

    Never raises: ``None`` and empty values give ``""``; anything else is masked on its digits so
    that nothing number-like is ever shown in full.
    """
    if number is None or number != number:  # None or NaN
        return ""
    text = str(number)
    if not text:
        return ""
    prefix = "+86" if text.startswith("+86") else "+" if text.startswith("+") else ""
    body = text[len(prefix) :]
    n = len(body)
    if n <= 4:
        return prefix + "*" * n
    if n <= 7:
        return prefix + "*" * (n - 2) + body[-2:]
    return prefix + body[:3] + "*" * (n - 7) + body[-4:]
