"""One pushed object to one row of a store table, with the converters of :mod:`toolkit.events`.

:func:`toolkit.events.convert` builds a dict of every field (and one of the unknown ones), which
:func:`toolkit.batches.prepare` then reorders into a row. A receiver does that 50 times a push, so
for CDRs :func:`fill` builds the row directly. The converters, the checks and the error messages
are those of :func:`toolkit.events.convert`: a field of the wrong type raises the same
:class:`~toolkit.errors.PushFormatError`, a known field that has no column is checked and
dropped, an unknown field is left to ``raw``.

The platform sends CDRs of a few shapes (the same fields in the same order), so for each shape
:class:`Slots` keeps a plan that checks and places its fields in a handful of C-level calls
(``itemgetter``, ``map``): every text ASCII, every integer a plain one in range, every time a
text read before. An object that fails any of these is read field by field instead, with the
converters themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import add, itemgetter
from typing import Any

from . import events as ev
from .errors import PushFormatError

__all__ = ["Slots", "fill", "fill_all"]

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_STR, _INT, _TIME, _OTHER = range(4)
_MISSING = object()
_CACHE_SIZE = 4096  # distinct time texts remembered per table (a burst shares seconds)
_PLANS = 256  # shapes remembered per table


def _getter(keys: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """``obj -> (obj[k] for k in keys)`` as a tuple, in C; ``itemgetter`` of one key is no tuple."""
    if len(keys) > 1:
        return itemgetter(*keys)
    if keys:
        key = keys[0]
        return lambda obj: (obj[key],)
    return lambda obj: ()


@dataclass(frozen=True)
class _Plan:
    """How to check and place the fields of one shape of object."""

    strs: Callable[[Any], tuple[Any, ...]]
    ints: Callable[[Any], tuple[Any, ...]]
    times: Callable[[Any], tuple[Any, ...]]
    row: Callable[[Sequence[Any]], tuple[Any, ...]]  # (strs, ints, times, None) -> the row
    general: bool  # the shape has a field of another kind: read field by field
    times_count: int  # how many time fields the shape has
    # (strs, ints, times, given, None) -> the row, with the columns the caller gives filled in
    full: Callable[[Sequence[Any]], tuple[Any, ...]]


@dataclass
class Slots:
    """Where each JSON field of a table goes: its place in the row and its converter.

    ``fields`` are as :func:`~toolkit.events.convert` takes them, ``columns`` the row's
    columns. ``time`` is the converter of the time fields, whose results are remembered by
    text: it must depend on the text only (epoch seconds do).
    """

    fields: Mapping[str, tuple[str, ev.Converter]]
    columns: Sequence[str]
    time: ev.Converter | None = None
    # A quick reading of a time text, equal to ``time`` where it gives a value (None: ask it).
    quick_time: Callable[[str], Any] | None = None
    # Columns whose values the caller of fill_all gives for each row, in this order.
    given: Sequence[str] = ()
    _slots: dict[str, tuple[int, ev.Converter, int]] = field(init=False, repr=False)
    _times: dict[str, Any] = field(init=False, repr=False, default_factory=dict)
    _plans: dict[tuple[str, ...], _Plan] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        place = {name: i for i, name in enumerate(self.columns)}
        self._slots = {}
        for key, (attr, conv) in self.fields.items():
            fast = (
                _STR
                if conv is ev.to_str
                else _INT
                if conv is ev.to_int
                else _TIME
                if conv is self.time
                else _OTHER
            )
            self._slots[key] = (place.get(attr, -1), conv, fast)

    def plan(self, shape: tuple[str, ...]) -> _Plan:
        """The plan for objects with these keys, in this order."""
        plan = self._plans.get(shape)
        if plan is None:
            known = [(k, *self._slots[k]) for k in shape if k in self._slots]
            kinds = (_STR, _INT, _TIME)
            groups = [[k for k, _, _, fast in known if fast == kind] for kind in kinds]
            order = [k for group in groups for k in group]
            at = {k: i for i, k in enumerate(order)}
            by_place = {place: at[k] for k, place, _, fast in known if place >= 0 and k in at}
            absent = len(order)  # the None after the values
            strs, ints, times = (_getter(group) for group in groups)
            places = [by_place.get(i, absent) for i in range(len(self.columns))]
            # fill_all's values: (strs, ints, times, given, None); a given column wins.
            given = {name: len(order) + i for i, name in enumerate(self.given)}
            nothing = len(order) + len(self.given)
            full = [
                given.get(name, nothing if place == absent else place)
                for name, place in zip(self.columns, places, strict=True)
            ]
            plan = _Plan(
                strs,
                ints,
                times,
                row=_row_getter(places),
                general=any(fast == _OTHER for _, _, _, fast in known),
                times_count=len(groups[2]),
                full=_row_getter(full),
            )
            if len(self._plans) >= _PLANS:
                self._plans.clear()
            self._plans[shape] = plan
        return plan


def _row_getter(places: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    if len(places) > 1:
        return itemgetter(*places)
    return lambda values: tuple(values[p] for p in places)


def fill(obj: Any, table: Slots, where: str) -> list[Any]:
    """The row of ``obj`` (a JSON object): each field converted into its column's place.

    Raises :class:`PushFormatError` as :func:`toolkit.events.convert` does: ``obj`` not an
    object, or a field of the wrong type (named ``where.field``).
    """
    if not isinstance(obj, dict):
        raise PushFormatError(f"expected an object, got {type(obj).__name__}", where)
    plan = table.plan(tuple(obj))
    if not plan.general:
        strs, ints, texts = plan.strs(obj), plan.ints(obj), plan.times(obj)
        try:
            plain = all(map(str.isascii, strs))  # TypeError for anything but a string
            times = tuple(map(table._times.get, texts, repeat(_MISSING)))  # TypeError: unhashable
        except TypeError:
            plain = False
        if plain and _MISSING in times:
            times = _quick_times(table, texts, times)
        if (
            plain
            and _MISSING not in times
            and (not ints or (set(map(type, ints)) == {int} and min(ints) >= _INT_MIN))
            and (not ints or max(ints) <= _INT_MAX)
        ):
            return list(plan.row((*strs, *ints, *times, None)))
    return _fill_each(obj, table, where)


def _quick_times(table: Slots, texts: tuple[Any, ...], times: tuple[Any, ...]) -> tuple[Any, ...]:
    """``times`` with the texts not remembered yet read the quick way (and remembered); a text
    the quick reading does not take stays ``_MISSING``, for the converter to read."""
    quick, cache = table.quick_time, table._times
    if quick is None:
        return times
    read = list(times)
    for i, value in enumerate(read):
        text = texts[i]
        if value is _MISSING and type(text) is str and (value := quick(text)) is not None:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[text] = read[i] = value
    return tuple(read)


def _fill_each(obj: dict[str, Any], table: Slots, where: str) -> list[Any]:
    """Field by field, with the converters (which remember the time texts they read)."""
    row: list[Any] = [None] * len(table.columns)
    cache = table._times
    for key, value in obj.items():
        spec = table._slots.get(key)
        if spec is None:
            continue  # not a documented field: it stays in raw only, as before
        place, conv, fast = spec
        kind = type(value)
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
    return row


def _convert(conv: ev.Converter, value: Any, key: str, where: str) -> Any:
    try:
        return conv(value, key)
    except PushFormatError as exc:  # the path is only built on failure: this loop is hot
        raise PushFormatError(exc.reason, f"{where}.{key}") from None


def fill_all(
    objs: Sequence[Any], table: Slots, given: Iterable[tuple[Any, ...]]
) -> list[tuple[Any, ...]] | None:
    """The rows of ``objs`` (JSON objects), each completed with its tuple from ``given`` (the
    values of ``table.given``, in that order): what :func:`fill` and placing the given values
    one by one build, or ``None`` when any object needs :func:`fill` to look at it (an object
    that is not a dict, a field of another kind or type, a time not read the quick way).

    Never raises for what the objects hold: a field that :func:`fill` would refuse makes it
    return ``None``, and :func:`fill` then names that field.
    """
    if not objs:
        return []
    if set(map(type, objs)) != {dict}:
        return None
    shapes = list(map(tuple, objs))
    given = list(map(add, given, repeat((None,))))  # the None that absent columns take
    if len(given) != len(objs):
        return None
    first = shapes[0]
    if shapes.count(first) == len(shapes):  # the usual push: every object of one shape
        return _fill_shape(table, first, objs, given)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, shape in enumerate(shapes):
        groups.setdefault(shape, []).append(i)
    rows: list[Any] = [None] * len(objs)
    for shape, where in groups.items():
        done = _fill_shape(table, shape, [objs[i] for i in where], [given[i] for i in where])
        if done is None:
            return None
        for i, row in zip(where, done, strict=True):
            rows[i] = row
    return rows


def _fill_shape(
    table: Slots, shape: tuple[str, ...], objs: Sequence[Any], given: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]] | None:
    """:func:`fill_all` for objects of one shape: the checks of :func:`fill`, run over the
    values of every object at once."""
    plan = table.plan(shape)
    if plan.general:
        return None
    strs = list(map(plan.strs, objs))
    try:
        # One text of all the strings: join refuses anything but a string, as isascii does.
        if not "".join(chain.from_iterable(strs)).isascii():
            return None
    except TypeError:
        return None
    ints = list(map(plan.ints, objs))
    flat = list(chain.from_iterable(ints))
    if flat and (set(map(type, flat)) != {int} or min(flat) < _INT_MIN or max(flat) > _INT_MAX):
        return None
    count = plan.times_count
    if count:
        texts = tuple(chain.from_iterable(map(plan.times, objs)))
        try:
            read = tuple(map(table._times.get, texts, repeat(_MISSING)))  # TypeError: unhashable
        except TypeError:
            return None
        if _MISSING in read:
            read = _quick_times(table, texts, read)
            if _MISSING in read:
                return None
        times: Iterable[tuple[Any, ...]] = zip(*[iter(read)] * count, strict=True)
    else:
        times = repeat(())
    values = map(add, map(add, strs, ints), map(add, times, given))
    return list(map(plan.full, values))
