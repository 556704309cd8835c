"""Typed access to one request's parameters, refusing bad values the way the platform does.

The backend receives the platform's own field names (``callerNum``, ``duration``...) in a plain
mapping, from a JSON body or a query string, and reads them through :class:`Params`. Every getter
raises ``1010002 Invalid request.<name>`` for a malformed value, so no handler can crash on a
wrong type.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Literal, overload

from ..numbers import kind
from .errors import invalid

_GLOBAL = re.compile(r"\+\d{3,30}")
_DIGITS = re.compile(r"-?\d{1,12}")
_CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def is_global(value: object) -> bool:
    """The platform's number format: ``+`` and 3-30 digits (String(4-31)), nothing else."""
    return isinstance(value, str) and _GLOBAL.fullmatch(value) is not None


class Params:
    """A read-only view of request parameters with checked, typed getters."""

    def __init__(self, data: Mapping[str, Any], *, from_query: bool = False) -> None:
        self.data = data
        self.from_query = from_query

    def has(self, name: str) -> bool:
        """True when ``name`` was sent with a non-empty value."""
        return self.data.get(name) not in (None, "")

    @overload
    def text(
        self, name: str, *, required: Literal[True], max_len: int = ..., min_len: int = ...
    ) -> str: ...

    @overload
    def text(
        self, name: str, *, required: bool = ..., max_len: int = ..., min_len: int = ...
    ) -> str | None: ...

    def text(
        self, name: str, *, required: bool = False, max_len: int = 256, min_len: int = 0
    ) -> str | None:
        """A string field; ``None`` when absent and not required."""
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise invalid(name, "is required.")
            return None
        if not isinstance(value, str) or not min_len <= len(value) <= max_len:
            raise invalid(name)
        return value

    @overload
    def number(self, name: str, *, required: Literal[True], user: bool = ...) -> str: ...

    @overload
    def number(self, name: str, *, required: bool = ..., user: bool = ...) -> str | None: ...

    def number(self, name: str, *, required: bool = False, user: bool = False) -> str | None:
        """A phone number in global format (``+`` and 3-30 digits, String(4-31)).

        ``user=True`` is for bound A/B numbers, which may not be 400/95 service numbers.
        """
        value = self.text(name, required=required, max_len=32)
        if value is None:
            return None
        if self.from_query and value.startswith(" "):
            # A "+" not percent-encoded arrives as a space. The platform documents %2B; we are
            # tolerant and read it as the "+" the caller meant.
            value = "+" + value[1:]
        if not is_global(value):
            raise invalid(name, "must be in global format, e.g. +8613800000001.")
        if user and kind(value) == "service":
            raise invalid(name, "400/95 numbers cannot be bound.")
        return value

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        """An integer within ``low``-``high``.

        Unconfirmed in the spec whether the platform takes numeric strings; we accept ``"30"`` as
        well as ``30`` (samples differ), but never booleans or floats with a fraction.
        """
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise invalid(name)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
            value = int(value)
        if not isinstance(value, int) or not low <= value <= high:
            raise invalid(name)
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """A ``"true"``/``"false"`` option; JSON booleans are accepted too (samples send them)."""
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid(name)

    @overload
    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str: ...

    @overload
    def choice(self, name: str, allowed: tuple[str, ...], default: None = None) -> str | None: ...

    def choice(self, name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
        """One of ``allowed``, or ``default`` when absent; integers are compared by their text
        (``0`` == ``"0"``)."""
        value = self.data.get(name)
        if value is None or value == "":
            return default
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
        if text not in allowed:
            raise invalid(name)
        return text

    def user_data(self, name: str = "userData") -> str | None:
        """Opaque text echoed in pushes: at most 256 characters, no braces, no Chinese."""
        value = self.text(name, max_len=256)
        if value is not None and ("{" in value or "}" in value or _CHINESE.search(value)):
            raise invalid(name)
        return value

    def tone(self, name: str) -> str | None:
        """An audited audio file name, String(1-128)."""
        return self.text(name, max_len=128)

    def object(self, name: str) -> dict[str, Any] | None:
        """A nested JSON object (e.g. ``preVoice``)."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid(name)
        return value

    def base64_url(self, name: str) -> str | None:
        """A VoiceCall push URL, sent Base64-encoded; returns the decoded plain URL."""
        value = self.text(name, max_len=128)
        if value is None:
            return None
        try:
            url = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise invalid(name, "must be the Base64 form of the URL.") from None
        if not url.startswith(("http://", "https://")):
            raise invalid(name, "must be the Base64 form of an http(s) URL.")
        return url
