"""The exception tree: every exception the toolkit raises is a ToolkitError, defined in
toolkit.errors, drawn in its docstring and exported from toolkit."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from builders import fee, small_day

import toolkit
from toolkit import analysis, errors
from toolkit.auth import UsernameTokenAuth, sign_headers
from toolkit.codes import decode, explain
from toolkit.emulator import Emulator
from toolkit.errors import (
    AlreadyBoundError,
    ApiError,
    AuthError,
    NoFreeNumberError,
    NotFoundError,
    ThrottledError,
    api_error,
)
from toolkit.frame import cdr_frame
from toolkit.store import Store
from toolkit.tail import follow_rows

A = "+8613800000001"

TREE = [
    value
    for value in vars(errors).values()
    if inspect.isclass(value) and issubclass(value, BaseException)
]


def test_every_class_in_errors_derives_from_the_root() -> None:
    names = {cls.__name__ for cls in TREE}
    assert {"ToolkitError", "PushFormatError", "StoreError", "PlatformError"} <= names
    for cls in TREE:
        assert issubclass(cls, errors.ToolkitError), cls


def test_every_class_is_drawn_in_the_tree_and_exported() -> None:
    drawing = errors.__doc__ or ""
    for cls in TREE:
        # A line of the drawing: tree characters, then the class name.
        line = re.compile(rf"^[ │├└─]*{cls.__name__}\b", re.MULTILINE)
        assert line.search(drawing), f"{cls.__name__} is missing from the drawing"
        assert cls.__name__ in toolkit.__all__ and cls.__name__ in errors.__all__
        assert getattr(toolkit, cls.__name__) is cls


def test_no_exception_class_is_defined_outside_errors() -> None:
    # A public function may only let the documented tree escape, so the tree lives in one place.
    stray = []
    for info in pkgutil.walk_packages(toolkit.__path__, "toolkit."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == info.name != "toolkit.errors"
                and not name.startswith("_")
            ):
                stray.append(f"{info.name}.{name}")
    assert stray == []


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("toolkit.events", "PushFormatError"),
        ("toolkit.store", "StoreError"),
        ("toolkit.emulator", "PlatformError"),
        ("toolkit.emulator", "EmulatorError"),
        ("toolkit.emulator.errors", "PlatformError"),
    ],
)
def test_old_homes_give_the_same_classes(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    assert cls is getattr(errors, name) is getattr(toolkit, name)
    assert issubclass(cls, toolkit.ToolkitError)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    emulator = Emulator("axb", time_scale=0)
    yield emulator
    emulator.stop()


def _fee_push_of_two() -> dict[str, Any]:
    return {"eventType": "fee", "feeLst": [fee(0), fee(1)]}


# Bad input to public functions that used to escape as a bare ValueError, TypeError or KeyError.
BAD_INPUT: list[Any] = [
    pytest.param(lambda s, e: sign_headers("k", "s", "md5"), errors.ValidationError, id="sign"),
    pytest.param(
        lambda s, e: UsernameTokenAuth("k", "s", scheme="md5"), errors.ValidationError, id="auth"
    ),
    pytest.param(lambda s, e: decode(8102, "pn_relase"), errors.ValidationError, id="decode"),
    pytest.param(lambda s, e: explain(_fee_push_of_two()), errors.ValidationError, id="explain"),
    pytest.param(lambda s, e: Store(synchronous="OFF"), errors.ValidationError, id="store-sync"),
    pytest.param(lambda s, e: s.rows("nope"), errors.ValidationError, id="store-rows"),
    pytest.param(lambda s, e: s.count("nope"), errors.ValidationError, id="store-count"),
    pytest.param(lambda s, e: s.add(42), errors.PushFormatError, id="store-add"),
    pytest.param(lambda s, e: follow_rows(s, tables=["nope"]), errors.ValidationError, id="follow"),
    pytest.param(
        lambda s, e: analysis.answer_rate(cdr_frame(small_day()), "nope"),
        errors.ValidationError,
        id="group-by",
    ),
    pytest.param(lambda s, e: analysis.sms_segments(42), errors.ValidationError, id="sms-segments"),
    pytest.param(
        lambda s, e: Emulator("axb", time_scale=-1), errors.ValidationError, id="time-scale"
    ),
    pytest.param(lambda s, e: e.cdr("nope"), errors.EmulatorError, id="emu-cdr"),
    pytest.param(lambda s, e: e.events("nope"), errors.EmulatorError, id="emu-events"),
    pytest.param(lambda s, e: e.client("nokey"), errors.EmulatorError, id="emu-app"),
    pytest.param(
        lambda s, e: e.place_call(A, e.numbers[0], outcome="bogus"),
        errors.EmulatorError,
        id="emu-outcome",
    ),
    pytest.param(lambda s, e: e.stop_call("nope"), errors.PlatformError, id="emu-stop"),
]


@pytest.mark.parametrize(("call", "expected"), BAD_INPUT)
def test_bad_input_raises_a_documented_error(
    store: Store, emu: Emulator, call: Callable[[Store, Emulator], Any], expected: type
) -> None:
    with pytest.raises(toolkit.ToolkitError) as caught:
        call(store, emu)
    assert type(caught.value) is expected


def test_input_errors_are_still_value_errors() -> None:
    # Code written against the old bare ValueErrors keeps working.
    for cls in (errors.ValidationError, errors.PushFormatError, errors.EmulatorError):
        assert issubclass(cls, ValueError)


# -- platform result codes to exceptions ------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "product", "cls"),
    [
        ("1012010", 403, "privatenumber", AlreadyBoundError),
        ("1011005", 403, "privatenumber", AlreadyBoundError),
        ("1016002", None, "privatenumber", AlreadyBoundError),
        ("1012008", 403, "privatenumber", NoFreeNumberError),
        ("1011002", None, "privatenumber", NoFreeNumberError),
        ("1020167", 500, "privatenumber", NoFreeNumberError),
        ("1012007", 403, "privatenumber", NotFoundError),
        ("1016001", None, "voicecall", NotFoundError),
        ("1012001", 403, "privatenumber", NotFoundError),
        ("1012001", None, "voicecall", ApiError),  # a different meaning in VoiceCall
        ("1023006", 400, "privatenumber", AuthError),
        ("1023037", 400, "voicecall", AuthError),
        ("1010003", 403, "privatenumber", AuthError),
        ("1010013", 401, "voicecall", AuthError),
        ("1010010", 401, "privatenumber", AuthError),  # invalid digest
        ("1010010", None, "privatenumber", ThrottledError),  # flow control
        ("1013002", None, "voicecall", ThrottledError),
        ("1013002", None, "privatenumber", ApiError),
        ("1020165", None, "voicecall", ThrottledError),
        ("1099999", 401, "privatenumber", AuthError),  # any 401 is an auth failure
        ("1099999", 403, "privatenumber", ApiError),
    ],
)
def test_api_error_subclass(code: str, status: int | None, product: Any, cls: type) -> None:
    err = api_error(code, "desc", status, product=product)
    assert type(err) is cls
    assert (err.resultcode, err.resultdesc, err.status, err.product) == (
        code,
        "desc",
        status,
        product,
    )
    assert code in str(err)


def test_api_error_message_and_hint() -> None:
    err = api_error(1012010, "The relation number has been bound.", 403, hint="Unbind it first")
    assert err.resultcode == "1012010"  # numbers are kept as strings
    assert str(err) == "1012010: The relation number has been bound. (HTTP 403). Unbind it first"
    assert api_error("1099999").hint is None
    assert str(api_error("1099999", "odd")) == "1099999: odd"
