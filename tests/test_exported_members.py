"""The public API is declared once, in ``toolkit.__all__``; this pins it against accidents."""

from __future__ import annotations

import pytest

import toolkit

EXPECTED = {
    "AlreadyBoundError", "ApiError", "AuthError", "ConfigError", "Emulator", "InvalidNumberError",
    "NoFreeNumberError", "NotFoundError", "PrivateNumberClient", "Receiver", "Record",
    "ResponseError", "Segment", "Settings", "Store", "ThrottledError", "ToolkitError",
    "TransportError", "UsernameTokenAuth", "ValidationError", "VoiceClient", "cdr_frame",
    "classify", "decode", "explain", "follow", "mask", "normalize", "parse_push", "sign_headers",
    "verify",
}  # fmt: skip


def test_all_is_the_expected_surface() -> None:
    assert set(toolkit.__all__) == EXPECTED


def test_every_exported_name_resolves_to_a_public_object() -> None:
    for name in toolkit.__all__:
        value = getattr(toolkit, name)
        assert getattr(value, "__name__", name) == name, name


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        toolkit.no_such_name  # noqa: B018
