"""The rules of Chinese and global phone numbers, with no dependency on the rest of the toolkit.

:func:`parse` reads what people type into the platform's global format, or names the rule the
input breaks, without raising: :mod:`toolkit.numbers` turns a broken rule into
:class:`~toolkit.errors.InvalidNumberError`, and :mod:`toolkit.errors` masks numbers in its
messages with :func:`mask_text`. Keeping these rules below both is what lets the two import each
other's names without a circle.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["mobile", "fixed", "service", "international"]

_SEPARATORS = re.compile(r"[\s\-().]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# Two-digit area codes are 10 (Beijing) and 20-29; every other area code has three digits.
_FIXED = re.compile(r"(?:10|2\d|[3-9]\d\d)\d{7,8}")
# 400 numbers and 95xxx short numbers may be an AX temporary callee but never a bound A/B number.
_SERVICE = re.compile(r"400\d{7}|95\d{3,6}")
# E.164 allows at most 15 digits; the spec's String(4-31) fields allow at least 3 after the "+".
_INTERNATIONAL = re.compile(r"[1-9]\d{2,14}")


def parse(
    raw: object, *, default_country: str = "86", allow_service: bool = False
) -> tuple[str, None] | tuple[None, str]:
    """``(number, None)`` in global format, or ``(None, rule)`` naming the rule ``raw`` breaks.

    The rules are :func:`toolkit.numbers.normalize`'s, which documents them.
    """
    if not isinstance(raw, str):
        return None, "expected a string such as '+8613800138000'"
    text = _compact(raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit():
            return None, "only digits may follow '+'"
        if digits.startswith("86"):
            return _chinese(digits[2:].removeprefix("0"), allow_service)
        if not _INTERNATIONAL.fullmatch(digits):
            return None, "an international number is '+', the country code and 3-15 digits"
        return text, None
    if not text.isdigit():
        return None, "a phone number holds digits, spaces and dashes only"
    if default_country != "86":
        return parse("+" + default_country + text.removeprefix("0"))
    result = _chinese(text.removeprefix("0"), allow_service)
    if result[0] is None and text.startswith("86"):
        # "8613900139000": the country code typed without "+" or "00". Tried only when the
        # digits are no Chinese number as they stand, so "86201234567" keeps its old meaning.
        national = text[2:].removeprefix("0")
        if any(p.fullmatch(national) for p in (_MOBILE, _FIXED, _SERVICE)):
            return _chinese(national, allow_service)
    return result


def _compact(text: str) -> str:
    """The number typed in ``text`` without separators, and without a ``tel:`` URI's wrapping."""
    text = text.strip()
    if text[:4].lower() == "tel:":
        # RFC 3966 "tel:+86-138-0013-8000;ext=1": the number, then parameters after ";".
        text = text[4:].split(";", 1)[0]
    return _SEPARATORS.sub("", text)


def _chinese(national: str, allow_service: bool) -> tuple[str, None] | tuple[None, str]:
    # Service numbers first: "4001234567" also has the shape of a fixed-line number.
    if _SERVICE.fullmatch(national):
        if allow_service:
            return "+86" + national, None
        return None, "400 and 95 numbers cannot be bound as a user number"
    if _MOBILE.fullmatch(national) or _FIXED.fullmatch(national):
        return "+86" + national, None
    if national.startswith("1"):
        return None, "a Chinese mobile number has 11 digits and starts with 13-19"
    return None, "a Chinese fixed-line number is an area code (0 optional) and 7-8 digits"


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


def is_number_like(value: object) -> bool:
    """True when ``value`` is a phone number in any spelling, so that a display must mask it.

    That is everything :func:`parse` accepts (separators, ``0086``, ``86`` without ``+``,
    national mobile and fixed-line numbers, ``tel:`` URIs, 400/95 service numbers), and ``+``
    with 4 or more digits (the platform's global format, any country). Never raises.
    """
    if not isinstance(value, str):
        return False
    if parse(value, allow_service=True)[0] is not None:
        return True
    compact = _compact(value)
    return len(compact) > 4 and compact[0] == "+" and compact[1:].isdigit()


# A run of digits and the separators people type inside numbers, not starting inside another run
# (a number glued to letters, as in "user13800138000", still counts). Runs are maximal and the
# pattern has no look-ahead, so scanning is linear.
_RUN = re.compile(r"(?<![\d+(.\-])(?:tel:)?[+(]?\d[\d .()\-]*", re.IGNORECASE)
_PIECES = re.compile(r"([ .()\-]+)")
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
# "2024-03-01 10:15:09": date and hour read as "20240301 10", the shape of a Guangzhou number.
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?!\d)")
# "+86 (0) 755 2800 0001" is 5 pieces; a few more leave room for other spellings.
_MAX_PIECES = 8


def mask_text(text: str) -> str:
    """Return ``text`` with every phone number in it masked (see :func:`is_number_like`).

    Used on error messages and other free text, where a number may sit among words:
    ``"got '138 0013 8000'"`` becomes ``"got '138******8000'"``. A run of digits and separators
    is split at the separators and the longest stretch of up to 8 pieces that is a number is
    masked, so ``"0755-2800-0001 or 13800138000"`` loses both numbers while ranges such as
    ``"0-1440"`` stay. Dotted quads (IPv4 addresses) are left alone.
    """
    return _RUN.sub(_mask_run, text)


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    stripped = run.rstrip(" .()-")
    tail = run[len(stripped) :]
    if _DOTTED_QUAD.fullmatch(stripped):
        return run
    date = _DATE.match(stripped)
    if date:
        rest = stripped[date.end() :]
        return date.group(0) + (_RUN.sub(_mask_run, rest) if rest else "") + tail
    # Alternating pieces and separators: pieces[0], sep, pieces[2], sep, ...
    parts = _PIECES.split(stripped)
    out: list[str] = []
    i = 0
    while i < len(parts):
        for j in range(min(len(parts), i + 2 * _MAX_PIECES - 1), i, -2):
            candidate = "".join(parts[i:j])
            if is_number_like(candidate):
                out.append(mask(candidate))
                break
        else:
            j = i + 1
            out.append(parts[i])
        if j < len(parts):
            out.append(parts[j])  # the separator after the stretch
        i = j + 1
    return "".join(out) + tail


def mask(number: object) -> str:
    """Hide the middle digits of a number for display: ``+8613800138000`` -> ``+86138****8000``.

    A ``tel:`` URI keeps its scheme. Never raises: ``None`` and empty values give ``""``;
    anything else is masked on its digits so that nothing number-like is ever shown in full.
    """
    if number is None or number != number:  # None or NaN
        return ""
    text = str(number)
    if not text:
        return ""
    if text[:4].lower() == "tel:":  # keep the URI scheme readable: tel:+86138****8000
        return text[:4] + mask(text[4:])
    prefix = "+86" if text.startswith("+86") else "+" if text.startswith("+") else ""
    body = text[len(prefix) :]
    n = len(body)
    if n <= 4:
        return prefix + "*" * n
    if n <= 7:
        return prefix + "*" * (n - 2) + body[-2:]
    return prefix + body[:3] + "*" * (n - 7) + body[-4:]
