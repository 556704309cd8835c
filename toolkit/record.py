"""A read-only view of one platform JSON object that is safe to display.

``Record`` is what the clients return. It reads like the platform's JSON (``r["subscriptionId"]``)
and like Python (``r.subscription_id``), and its ``repr`` masks every phone number so that showing
a result in a notebook never reveals one. ``r.raw`` is the unmasked dict.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .numbers import is_number_like, mask

_CAMEL = re.compile(r"_([a-z])")


def camel(name: str) -> str:
    """``subscription_id`` -> ``subscriptionId`` (the platform's field spelling)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def masked(value: Any) -> Any:
    """Return ``value`` with every phone-number-like string masked, recursing into containers.

    A string is masked when it is a number in any spelling the toolkit accepts as input
    (:func:`~toolkit.numbers.is_number_like`: ``+8613800138000``, ``13800138000``,
    ``0755-28000001``, ``8613900139000``, ``tel:+86...``). Whole values are judged, not words
    inside them, so times such as ``2024-03-01 10:15:09`` and result codes stay readable.
    """
    return _masked(value, 0)


# Platform objects are a few levels deep; deeper data is cut short instead of recursing into it.
_MAX_DEPTH = 32


def _masked(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return mask(value) if is_number_like(value) else value
    if isinstance(value, Mapping | list | tuple) and depth >= _MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        return {k: _masked(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v, depth + 1) for v in value]
    return value


class Record(Mapping[str, Any]):
    """An immutable platform object with attribute access and a masked ``repr``.

    A field the object lacks raises :class:`AttributeError` (``r.foo``) or :class:`KeyError`
    (``r["foo"]``), as for any Python object, so ``getattr(r, "foo", None)`` and ``r.get("foo")``
    work. The client methods check the fields they document (``subscription_id`` of a bind,
    ``session_id`` of a voice call...) and raise :class:`~toolkit.errors.ResponseError` when
    the platform leaves one out, so a documented field is always there to read.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        for key in (name, camel(name)):
            if key in data:
                value = data[key]
                if isinstance(value, list):
                    return [Record(v) if isinstance(v, Mapping) else v for v in value]
                return Record(value) if isinstance(value, Mapping) else value
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    @property
    def raw(self) -> dict[str, Any]:
        """The unmasked JSON object, as the platform sent it."""
        return dict(self._data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({masked(self._data)!r})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython display
        p.text(repr(self))
