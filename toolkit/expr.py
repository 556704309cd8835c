"""Small expressions over one table row that read two ways: as SQL and as a Python value.

:mod:`toolkit.schema` writes each fact derived from a CDR (ring and talk seconds, the answer time)
once, as one of these expressions. :func:`toolkit.frame.cdr_frame` runs the SQL over millions of
rows; the tail, the widgets and :class:`toolkit.events.Cdr` evaluate the same
expression on one row. NULL in SQL is ``None`` in Python; conditions are 0/1 in SQL (never NULL:
``IS`` rather than ``=``) and bools in Python.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Getter = Callable[[str], Any]  # column name -> its value in one row
Renderer = Callable[[str], str]  # column name -> its SQL


class Expr:
    """A rule over the columns of one row: :meth:`sql` for SQLite, :meth:`value` in Python."""

    def sql(self, column: Renderer = str) -> str:
        """The rule as an SQL expression; ``column`` renders each column reference."""
        raise NotImplementedError

    def value(self, get: Getter) -> Any:
        """The rule evaluated on one row; ``get(name)`` returns a column's value."""
        raise NotImplementedError

    def columns(self) -> frozenset[str]:
        """The stored columns the rule reads."""
        found: set[str] = set()
        # Every concrete expression is a dataclass; the base class cannot say so to mypy.
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            item = getattr(self, f.name)
            for part in item if isinstance(item, tuple) else (item,):
                if isinstance(part, Expr):
                    found |= part.columns()
        return frozenset(found)


@dataclass(frozen=True)
class Col(Expr):
    """A stored column. ``read`` turns its value into the rule's (absent values into ``None``);
    SQL sees the column as it is stored, except that "" in a ``text`` column is NULL."""

    name: str
    read: Callable[[Any], Any] = field(default=lambda value: value, compare=False)
    text: bool = False

    def sql(self, column: Renderer = str) -> str:
        return f"nullif({column(self.name)}, '')" if self.text else column(self.name)

    def value(self, get: Getter) -> Any:
        return self.read(get(self.name))

    def columns(self) -> frozenset[str]:
        return frozenset({self.name})


@dataclass(frozen=True)
class Const(Expr):
    """A literal integer."""

    number: int

    def sql(self, column: Renderer = str) -> str:
        return str(int(self.number))

    def value(self, get: Getter) -> Any:
        return self.number


@dataclass(frozen=True)
class First(Expr):
    """The first of ``items`` that is not NULL (SQL ``coalesce``)."""

    items: tuple[Expr, ...]

    def sql(self, column: Renderer = str) -> str:
        return f"coalesce({', '.join(i.sql(column) for i in self._flat())})"

    def _flat(self) -> list[Expr]:  # coalesce(coalesce(a, b), c) is coalesce(a, b, c)
        return [j for i in self.items for j in (i._flat() if isinstance(i, First) else [i])]

    def value(self, get: Getter) -> Any:
        return next((v for v in (i.value(get) for i in self.items) if v is not None), None)


@dataclass(frozen=True)
class Is(Expr):
    """Condition: a column holds exactly ``text``."""

    item: Col
    text: str

    def sql(self, column: Renderer = str) -> str:
        literal = self.text.replace("'", "''")
        if self.text:  # "" can never equal a non-empty text: skip the column's nullif()
            return f"({column(self.item.name)} IS '{literal}')"
        return f"({self.item.sql(column)} IS '{literal}')"

    def value(self, get: Getter) -> Any:
        return self.item.value(get) == self.text


@dataclass(frozen=True)
class Missing(Expr):
    """Condition: an expression is NULL."""

    item: Expr

    def sql(self, column: Renderer = str) -> str:
        return f"({self.item.sql(column)} IS NULL)"

    def value(self, get: Getter) -> Any:
        return self.item.value(get) is None


@dataclass(frozen=True)
class Not(Expr):
    """Condition: the opposite of a condition."""

    item: Expr

    def sql(self, column: Renderer = str) -> str:
        return f"(NOT {self.item.sql(column)})"

    def value(self, get: Getter) -> Any:
        return not self.item.value(get)


@dataclass(frozen=True)
class All(Expr):
    """Condition: every condition holds."""

    items: tuple[Expr, ...]

    def sql(self, column: Renderer = str) -> str:
        return f"({' AND '.join(i.sql(column) for i in self.items)})"

    def value(self, get: Getter) -> Any:
        return all(i.value(get) for i in self.items)


@dataclass(frozen=True)
class When(Expr):
    """``then`` where the condition holds, else NULL."""

    cond: Expr
    then: Expr

    def sql(self, column: Renderer = str) -> str:
        return f"CASE WHEN {self.cond.sql(column)} THEN {self.then.sql(column)} END"

    def value(self, get: Getter) -> Any:
        return self.then.value(get) if self.cond.value(get) else None


@dataclass(frozen=True)
class Elapsed(Expr):
    """Whole seconds from ``start`` to ``stop``; NULL if either is NULL or ``stop`` is earlier
    (clocks that disagree: no duration is better than a wrong one)."""

    start: Expr
    stop: Expr

    def sql(self, column: Renderer = str) -> str:
        # A comparison with NULL is NULL, so the CASE is NULL then too. (CASE beats
        # nullif(max(stop - start, -1), -1) here: SQLite's function calls cost more.)
        start, stop = self.start.sql(column), self.stop.sql(column)
        return f"CASE WHEN {stop} >= {start} THEN {stop} - {start} END"

    def value(self, get: Getter) -> Any:
        start, stop = self.start.value(get), self.stop.value(get)
        if not (_is_number(start) and _is_number(stop)) or stop < start:
            return None  # absent, or not a number (a time as text is present but not read here)
        return stop - start


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


__all__ = [
    "All",
    "Col",
    "Const",
    "Elapsed",
    "Expr",
    "First",
    "Is",
    "Missing",
    "Not",
    "When",
]
