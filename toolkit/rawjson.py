"""Decode a push body once and keep the text of each object the store keeps as ``raw``.

The store keeps every pushed object (a FeeInfo, a ``statusInfo``, a ``numInfo`` item, an SMS
body) as JSON text beside its columns. Encoding the decoded object again costs as much as
decoding the whole body did (about 17 µs a CDR); the text is already in the body. :func:`loads`
decodes like :func:`json.loads`, with the same C scanner, and notes where each member of the
top-level object starts and ends: an object member's text, or each element's text for an array
member. :func:`toolkit.batches.prepare` stores those slices.

A slice is the JSON as the platform sent it: the same values, its own spacing and escapes. Two
readings of one slice can differ only for an object that repeats a key: Python (every reader of
the toolkit) takes the last value, SQLite's ``json_extract`` (the backfill of a column added in
a later version) the first. The stored columns come from the Python reading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

__all__ = ["Decoded", "loads"]

# One value from a position to its end, with the scanner json.loads uses (the C one when built).
_scan_once = json.JSONDecoder().raw_decode
# The scanner raw_decode wraps: (value, end) of the value starting exactly at a position, or
# StopIteration when none starts there.
_scanner = cast("Callable[[str, int], tuple[Any, int]]", vars(json.JSONDecoder())["scan_once"])
_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, as json.decoder defines it
_BLANK = " \t\n\r"


def _skip(text: str, idx: int) -> int:
    """The first position at or after ``idx`` that is not whitespace."""
    match = _WHITESPACE.match(text, idx)
    return idx if match is None else match.end()


@dataclass(frozen=True)
class Decoded:
    """A decoded body and the text of its parts.

    ``segments`` maps each member of the top-level object whose value is an object to its text,
    and each member whose value is an array to the list of its elements' texts (in order).
    ``text`` is the whole document without the whitespace around it. Both are empty when the
    body is not a JSON object.
    """

    body: Any
    segments: dict[str, str | list[str]] = field(default_factory=dict)
    text: str = ""


def loads(data: bytes | bytearray | str) -> Decoded:
    """Decode JSON as :func:`json.loads` does (same value, same errors) and keep the slices.

    Raises :class:`ValueError` (``json.JSONDecodeError``) or :class:`RecursionError` exactly
    when :func:`json.loads` does, with its message.
    """
    if isinstance(data, bytes | bytearray):
        # As json.loads reads bytes: UTF-8/16/32 detected, surrogates let through.
        text = data.decode(json.detect_encoding(data), "surrogatepass")
    else:
        text = data
    try:
        return _walk(text)
    except (ValueError, IndexError, RecursionError):
        pass
    # Malformed (or a form the walk does not follow): json.loads gives its own error, or the
    # value without slices, which the store then encodes itself.
    return Decoded(json.loads(text))


def _walk(text: str) -> Decoded:
    idx = _skip(text, 0)
    if text[idx] != "{":
        return Decoded(json.loads(text))  # not an object: no push, nothing to slice
    start = idx
    body: dict[str, Any] = {}
    segments: dict[str, str | list[str]] = {}
    idx = _skip(text, idx + 1)
    if text[idx] == "}":
        idx += 1
    else:
        while True:
            if text[idx] != '"':
                raise ValueError("expected a key")
            key, idx = _scan_once(text, idx)  # a string, as the check above made sure
            idx = _skip(text, idx)
            if text[idx] != ":":
                raise ValueError("expected ':'")
            idx = _skip(text, idx + 1)
            first = text[idx]
            if first == "[":
                body[key], idx, segments[key] = _array(text, idx)
            else:
                value_start = idx
                body[key], idx = _scan_once(text, idx)
                if first == "{":
                    segments[key] = text[value_start:idx]
                else:  # a repeated key: the last value wins, as in json.loads
                    segments.pop(key, None)
            idx = _skip(text, idx)
            if text[idx] == ",":
                idx = _skip(text, idx + 1)
                continue
            if text[idx] != "}":
                raise ValueError("expected ',' or '}'")
            idx += 1
            break
    end = idx
    if _skip(text, idx) != len(text):
        raise ValueError("extra data")
    return Decoded(body, segments, text[start:end])


def _array(text: str, idx: int) -> tuple[list[Any], int, list[str]]:
    """The array at ``idx``: its values, the position after it, and each element's text.

    The receiver's hot loop (50 CDRs a push): the C scanner is called directly, and the
    separators are read without the whitespace pattern when there is no whitespace to skip.
    """
    values: list[Any] = []
    parts: list[str] = []
    append_value, append_part = values.append, parts.append
    idx = _skip(text, idx + 1)
    if text[idx] == "]":
        return values, idx + 1, parts
    while True:
        try:
            value, end = _scanner(text, idx)
        except StopIteration as exc:  # no value here: json.loads says what is wrong
            raise ValueError("expected a value") from exc
        append_value(value)
        append_part(text[idx:end])
        char = text[end]
        if char in _BLANK:
            end = _skip(text, end)
            char = text[end]
        if char == ",":
            idx = end + 1
            if text[idx] in _BLANK:
                idx = _skip(text, idx)
        elif char == "]":
            return values, end + 1, parts
        else:
            raise ValueError("expected ',' or ']'")
