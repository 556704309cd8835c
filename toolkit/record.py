"""A read-only view of one platform JSON object that is safe to display.

``Record`` is what the clients return. It reads like the platform's JSON (``r["subscriptionId"]``)
and like Python (``r.subscription_id``), and its ``repr`` masks every phone number so that showing
a result in a notebook never reveals one. ``r.raw`` is the unmasked dict.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .numbers import mask

# The platform writes every phone number in global format, so "+" and digits is a number;
# bare digit strings (result codes, ids) are left alone.
_NUMBER_VALUE = re.compile(r"\+\d{4,}")
_CAMEL = re.compile(r"_([a-z])")


def camel(name: str) -> str:
    """``subscription_id`` -> ``subscriptionId`` (the platform's field spelling)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def masked(value: Any) -> Any:
    """Return ``value`` with every phone-number-like string masked, recursing into containers."""
    if isinstance(value, str):
        return mask(value) if _NUMBER_VALUE.fullmatch(value) else value
    if isinstance(value, Mapping):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


class Record(Mapping[str, Any]):
    """An immutable platform object with attribute access and a masked ``repr``."""

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
