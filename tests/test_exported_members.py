"""The public API is declared once, in ``toolkit.__all__``; this pins it against accidents."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

import pytest

import toolkit

EXPECTED = {
    "AlreadyBoundError", "ApiError", "AuthError", "ConfigError", "Emulator", "EmulatorError",
    "InvalidNumberError", "NoFreeNumberError", "NotFoundError", "PlatformError",
    "PrivateNumberClient", "PushFormatError", "Receiver", "Record", "ResponseError", "Segment",
    "Settings", "Store", "StoreError", "ThrottledError", "ToolkitError", "TransportError",
    "UsernameTokenAuth", "ValidationError", "VoiceClient", "cdr_frame", "classify", "decode",
    "explain", "follow", "mask", "normalize", "parse_push", "read_cdrs", "sign_headers",
    "to_csv", "to_parquet", "verify",
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


def test_no_two_public_classes_share_a_name() -> None:
    # Two classes named Store (the push store and the emulator's bindings) or Verdict (a signature
    # check and one code's opinion) made tracebacks and docs ambiguous: one name, one thing.
    homes: dict[str, set[str]] = defaultdict(set)
    for info in pkgutil.walk_packages(toolkit.__path__, "toolkit."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == info.name and name[0] != "_":
                homes[name].add(info.name)
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}
