"""Insert a batch's rows into a SQLite push table, binding only the columns that hold a value.

Python's :mod:`sqlite3` binds a ``None`` parameter only after looking for an adapter for it (an
integer or a string skips that), which here costs five to seven times what binding an integer
does. A CDR row has half a dozen columns that the platform leaves out (``failTime``,
``userData``...), so a 50-CDR push spent a good part of its insert time binding NULLs.
:func:`rows_for_insert` leaves out of the ``INSERT`` every column that is ``None`` in every row
of the batch, where the table gives such a column NULL anyway (no ``DEFAULT``, no ``NOT NULL``,
not the key): the stored rows are the same.

It also numbers the rows (``seq``) while turning the columns back into rows, in C.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["nullable_columns", "rows_for_insert"]


def nullable_columns(conn: sqlite3.Connection, table: str) -> frozenset[str]:
    """The columns of ``table`` an ``INSERT`` that leaves them out fills with NULL: no
    ``DEFAULT``, no ``NOT NULL``, not part of the primary key (read from the table itself, so a
    store whose table another version or program made is read as it is)."""
    return frozenset(
        name
        for _, name, _, notnull, default, pk in conn.execute(f"PRAGMA table_info({table})")
        if not notnull and default is None and not pk
    )


_SQL: dict[tuple[str, tuple[str, ...]], str] = {}


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    sql = _SQL.get((table, columns))
    if sql is None:
        if len(_SQL) >= 256:  # a handful of shapes in practice; bounded whatever comes
            _SQL.clear()
        sql = _SQL[(table, columns)] = (
            f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})"
        )
    return sql


def rows_for_insert(
    table: str,
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    first_seq: int,
    nullable: frozenset[str],
) -> tuple[str, Iterable[Sequence[Any]]]:
    """The ``INSERT OR IGNORE`` statement and its parameters for ``rows`` of ``table``.

    ``names`` are the table's columns, ``seq`` first; each row holds the others, in order. The
    rows are numbered ``first_seq``, ``first_seq + 1``... Columns in ``nullable`` that are
    ``None`` in every row are left out of the statement. Rows of another width are passed on
    whole, for SQLite to refuse as before.
    """
    width = len(names) - 1
    if set(map(len, rows)) != {width}:
        statement = _insert_sql(table, tuple(names))
        return statement, [(s, *r) for s, r in enumerate(rows, first_seq)]
    columns = list(zip(*rows, strict=True))
    nulls = (None,) * len(rows)
    # A tuple comparison stops at the first value that differs: one step for a filled column.
    keep = [
        i for i, column in enumerate(columns) if names[i + 1] not in nullable or column != nulls
    ]
    statement = _insert_sql(table, (names[0], *(names[i + 1] for i in keep)))
    seqs = range(first_seq, first_seq + len(rows))
    return statement, zip(seqs, *(columns[i] for i in keep), strict=True)
