"""One pushed object to one row of a store table, with the converters of :mod:`toolkit.events`.

:func:`toolkit.events.convert` builds a dict of every field (and one of the unknown ones), which
:func:`toolkit.store.prepare` then reorders into a row. A receiver does that 50 times a push, so
for CDRs :func:`fill` writes each converted value straight into its column's place instead. The
converters, the checks and the error messages are those of :func:`toolkit.events.convert`: a
field of the wrong type raises the same :class:`~toolkit.errors.PushFormatError`, a known field
that has no column is checked and dropped, an unknown field is left to ``raw``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import events as ev
from .errors import PushFormatError

__all__ = ["Slots", "fill", "slots"]

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_STR, _INT, _TIME, _OTHER = range(4)
_MISSING = object()
_CACHE_SIZE = 4096  # distinct time strings remembered per field table (a burst shares seconds)

# JSON name -> (place in the row or -1, converter, fast path, cache of a time converter)
Slots = dict[str, tuple[int, ev.Converter, int, dict[str, Any]]]


def slots(
    fields: Mapping[str, tuple[str, ev.Converter]],
    columns: Sequence[str],
    time: ev.Converter | None = None,
) -> Slots:
    """The table :func:`fill` reads: for each JSON field of ``fields`` (as
    :func:`~toolkit.events.convert` takes them), its place in ``columns`` and its converter.

    ``time`` is the converter of time fields, whose results are cached by text: it must be a
    pure function of the text (epoch seconds are; a datetime would be too, but shared).
    """
    where = {name: i for i, name in enumerate(columns)}
    cache: dict[str, Any] = {}
    table: Slots = {}
    for key, (attr, conv) in fields.items():
        fast = (
            _STR
            if conv is ev.to_str
            else _INT
            if conv is ev.to_int
            else _TIME
            if conv is time
            else _OTHER
        )
        table[key] = (where.get(attr, -1), conv, fast, cache)
    return table


def fill(row: list[Any], obj: Any, table: Slots, where: str) -> None:
    """Convert the fields of ``obj`` (a JSON object) into their places in ``row``.

    Raises :class:`PushFormatError` as :func:`toolkit.events.convert` does: ``obj`` not an
    object, or a field of the wrong type (named ``where.field``).
    """
    if not isinstance(obj, dict):
        raise PushFormatError(f"expected an object, got {type(obj).__name__}", where)
    for key, value in obj.items():
        spec = table.get(key)
        if spec is None:
            continue  # not a documented field: it stays in raw only, as before
        place, conv, fast, cache = spec
        kind = type(value)
        # The common well-formed cases first; anything else goes through the converter.
        if (kind is str and fast is _STR and value.isascii()) or (
            kind is int and fast is _INT and _INT_MIN <= value <= _INT_MAX
        ):
            converted = value
        elif kind is str and fast is _TIME:
            converted = cache.get(value, _MISSING)
            if converted is _MISSING:
                converted = _convert(conv, value, key, where)
                if len(cache) >= _CACHE_SIZE:
                    cache.clear()
                cache[value] = converted
        else:
            converted = _convert(conv, value, key, where)
        if place >= 0:
            row[place] = converted


def _convert(conv: ev.Converter, value: Any, key: str, where: str) -> Any:
    try:
        return conv(value, key)
    except PushFormatError as exc:  # the path is only built on failure: this loop is hot
        raise PushFormatError(exc.reason, f"{where}.{key}") from None
