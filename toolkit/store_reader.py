"""Reading a store's ``cdrs`` table into the columns of a frame, fast.

:func:`read` is the store half of :func:`toolkit.frame.cdr_frame` (files and in-memory CDRs go
through :mod:`toolkit.readers`). SQLite filters rows (time range, X number), computes the derived
integers from the expressions of :mod:`toolkit.schema`, and hands each chunk of rows over as one
long string per column, which numpy and ``str.split`` parse in C: creating a Python object per
value, as ``cursor.fetchall()`` does, would cost several times more than everything else together.
Chunks of a store file are read by a few threads at once (SQLite works without the GIL).
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import schema
from .columns import ALWAYS, COLUMNS, INTEGER_KINDS, START, absent
from .errors import ValidationError
from .expr import Expr

SEP = "\x1f"  # ASCII unit separator: joins text values; a value containing it is re-read
CHUNK = 250_000  # seq values per statement: bounds the strings SQLite builds
WORKERS = min(4, os.cpu_count() or 1)  # threads reading chunks of a store file


def is_store(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is an SQLite database (a store, if it has a ``cdrs`` table)."""
    if not os.path.exists(path):
        raise ValidationError(
            "source", f"{os.fspath(path)!r} does not exist (a temporary store that was closed?)"
        )
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError as exc:
        raise ValidationError("source", f"cannot read {os.fspath(path)!r}: {exc}") from exc


def query(
    wanted: Sequence[str],
    *,
    rules: list[tuple[str, int]],
    start: int | None = None,
    end: int | None = None,
    numbers: list[str] | None = None,
    nothing: bool = False,
) -> _Query:
    """The query reading the columns ``wanted`` (plus what derives the rest) of a ``cdrs`` table.

    Filters: ``start``/``end`` in epoch seconds on ``start_time``, ``numbers`` (stored X
    numbers), ``nothing`` (no row at all). ``rules`` are the checked ``app_modes``. Another
    engine's reader can run the same query (its SQL is portable but for the aggregates).
    """
    where: list[str] = []
    params: list[Any] = []
    if start is not None:
        where.append(f"{START.sql()} >= ?")
        params.append(start)
    if end is not None:
        where.append(f"{START.sql()} < ?")
        params.append(end)
    if numbers is not None:
        where.append(f"bind_num IN ({', '.join('?' * len(numbers))})" if numbers else "0")
        params += numbers
    if nothing:
        where.append("0")
    mode_sql, mode_params = _mode_sql(rules)
    return _Query(tuple(wanted), mode_sql, mode_params, where, params)


def read(path: str | os.PathLike[str], wanted: Sequence[str], **filters: Any) -> dict[str, Any]:
    """The columns ``wanted`` of the store file at ``path`` (``filters`` as for :func:`query`)."""
    conn = _open_file(path)
    try:
        return query(wanted, **filters).run(conn, os.fspath(path))
    finally:
        conn.close()


def _mode_sql(rules: list[tuple[str, int]]) -> tuple[str, list[Any]]:
    whens = ["WHEN product = 'voicecall' THEN 5"]
    params: list[Any] = []
    for app_key, index in rules:
        whens.append("WHEN app_key = ? THEN ?")
        params += [app_key, index]
    # notifyMode is sent only by X mode ("fixed Block"); extendNum only by AXE.
    whens.append("WHEN notify_mode <> '' THEN 4")
    whens.append("WHEN extend_num <> '' THEN 2")
    return f"CASE {' '.join(whens)} END", params


def _open_file(path: str | os.PathLike[str]) -> sqlite3.Connection:
    if not os.path.isfile(path):  # sqlite3.connect would create an empty database there
        raise ValidationError(
            "source", f"{os.fspath(path)!r} does not exist (a temporary store that was closed?)"
        )
    conn = sqlite3.connect(os.fspath(path), check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")  # the store is someone else's: never write to it
    # Reading through a memory map skips copying every page into SQLite's cache: a third
    # faster on a full scan. (SQLite caps it at its compiled-in maximum, 2 GB by default.)
    conn.execute("PRAGMA mmap_size=2147418112")
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cdrs'"
    ).fetchone()
    if not has_table:
        conn.close()
        raise ValidationError("source", f"{os.fspath(path)!r} has no cdrs table (not a store?)")
    return conn


@dataclass
class _Query:
    """Reads the columns a frame needs, chunk by chunk, as numpy arrays and arrays of text.

    One statement per chunk: the inner SELECT filters and computes, the outer one aggregates
    each column into one string (integers joined by commas, text by ``SEP``). All aggregates
    see the rows in one pass, so the columns stay aligned row for row.
    """

    wanted: tuple[str, ...]
    mode_sql: str
    mode_params: list[Any]
    where: list[str]
    params: list[Any]
    stored: frozenset[str] | None = None  # the columns of the cdrs table being read

    def columns(self) -> tuple[list[str], list[str]]:
        """The integer and the text columns to read: the wanted ones and what derives the rest."""
        names = [
            n
            for n in dict.fromkeys(("seq", *self.wanted, *ALWAYS))
            if COLUMNS[n].sql is not None or n == "mode"
        ]
        ints = [n for n in names if COLUMNS[n].kind in INTEGER_KINDS]
        return ints, [n for n in names if n not in ints]

    def _sql(self, name: str) -> str:
        if name == "mode":
            return self.mode_sql
        source = COLUMNS[name].sql
        return source.sql(self._column) if isinstance(source, Expr) else str(source)

    def _column(self, name: str) -> str:
        """A stored column; in a store file written before it existed, its value from ``raw``."""
        if self.stored is None or name in self.stored:
            return name
        return schema.CDRS.backfill_sql(name) or "NULL"

    def _statement(self, ints: list[str], texts: list[str]) -> str:
        inner = ", ".join(
            [
                f"ifnull({self._sql(n)}, {absent(COLUMNS[n].kind)}) AS i{k}"
                for k, n in enumerate(ints)
            ]
            + [f"{self._sql(n)} AS t{k}" for k, n in enumerate(texts)]
        )
        outer = ", ".join(
            ["count(*)"]
            + [f"group_concat(i{k}, ',')" for k in range(len(ints))]
            + [f"group_concat(ifnull(t{k}, ''), char(31))" for k in range(len(texts))]
        )
        where = " AND ".join(["seq >= ? AND seq < ?", *self.where])
        return f"SELECT {outer} FROM (SELECT {inner} FROM cdrs WHERE {where} ORDER BY seq)"

    def run(self, conn: sqlite3.Connection, path: str | None) -> dict[str, Any]:
        """Every column as a numpy array, in ``seq`` order.

        Chunks are ranges of ``seq``. With a file (``path``), a few threads read chunks on
        connections of their own: sqlite3 releases the GIL while SQLite works, so the chunks
        really run in parallel. Each chunk sees what was committed when it was read.
        """
        from concurrent.futures import ThreadPoolExecutor
        from queue import SimpleQueue

        self.stored = frozenset(row[1] for row in conn.execute("PRAGMA table_info(cdrs)"))
        ints, texts = self.columns()
        sql = self._statement(ints, texts)
        low, high = conn.execute("SELECT min(seq), max(seq) FROM cdrs").fetchone()
        if low is None:
            return _concatenate([], ints, texts)
        ranges = [(a, min(a + CHUNK, high + 1)) for a in range(low, high + 1, CHUNK)]
        workers = min(WORKERS, len(ranges)) if path else 1
        if workers <= 1 or path is None:
            chunks = [self._chunk(conn, sql, ints, texts, r) for r in ranges]
            return _concatenate([c for c in chunks if c], ints, texts)
        extra = [_open_file(path) for _ in range(workers - 1)]
        idle: SimpleQueue[sqlite3.Connection] = SimpleQueue()
        for c in (conn, *extra):
            idle.put(c)

        def read(bounds: tuple[int, int]) -> dict[str, Any] | None:
            mine = idle.get()
            try:
                return self._chunk(mine, sql, ints, texts, bounds)
            finally:
                idle.put(mine)

        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="cdr-frame") as pool:
                chunks = list(pool.map(read, ranges))
        finally:
            for c in extra:
                c.close()
        return _concatenate([c for c in chunks if c], ints, texts)

    def _chunk(
        self,
        conn: sqlite3.Connection,
        sql: str,
        ints: list[str],
        texts: list[str],
        bounds: tuple[int, int],
    ) -> dict[str, Any] | None:
        """One range of ``seq``: one statement, then each column parsed from its string."""
        import numpy as np

        # Placeholders in statement order: the mode CASE in the select list, then the WHERE.
        head = self.mode_params if "mode" in ints else []
        n, *joined = conn.execute(sql, [*head, *bounds, *self.params]).fetchone()
        if not n:
            return None
        chunk: dict[str, Any] = {}
        for name, text in zip(ints, joined[: len(ints)], strict=True):
            numbers = _parse_integers(text, n)
            if numbers is None:  # a non-integer value in an INTEGER column
                numbers = self._reread(conn, name, chunk["seq"], integer=True)
            chunk[name] = numbers
        for name, text in zip(texts, joined[len(ints) :], strict=True):
            parts = text.split(SEP)
            if len(parts) != n:  # a value contained the separator
                parts = self._reread(conn, name, chunk["seq"], integer=False)
            chunk[name] = np.array(parts, dtype=object)
        return chunk

    def _reread(self, conn: sqlite3.Connection, name: str, seqs: Any, integer: bool) -> Any:
        """The slow, exact path for one column of one chunk: a Python object per value."""
        import numpy as np

        expr = self._sql(name)
        if integer:
            # Only numbers are values here: CAST would read stray text ("busy") as the code 0.
            expr = (
                f"ifnull(CASE WHEN typeof({expr}) IN ('integer', 'real') "
                f"THEN CAST({expr} AS INTEGER) END, {absent(COLUMNS[name].kind)})"
            )
        else:
            expr = f"ifnull({expr}, '')"
        head = self.mode_params if name == "mode" else []
        found = dict(
            conn.execute(
                f"SELECT seq, {expr} FROM cdrs WHERE seq BETWEEN ? AND ?",
                [*head, int(seqs[0]), int(seqs[-1])],
            )
        )
        values = [found[int(s)] for s in seqs]
        return np.array(values, dtype=np.int64) if integer else values


def _parse_integers(text: str, n: int) -> Any:
    """``n`` comma-separated integers as an int64 array, or None if the text holds anything else.

    numpy stops at the first value it cannot parse, warning today and raising in later versions;
    both are turned into None so the caller can take the exact path.
    """
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            numbers = np.fromstring(text, dtype=np.int64, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    return numbers if len(numbers) == n else None


def _concatenate(chunks: list[dict[str, Any]], ints: list[str], texts: list[str]) -> dict[str, Any]:
    import numpy as np

    if not chunks:
        return {
            **{n: np.empty(0, np.int64) for n in ints},
            **{n: np.empty(0, object) for n in texts},
        }
    if len(chunks) == 1:
        return chunks[0]
    return {n: np.concatenate([c[n] for c in chunks]) for n in (*ints, *texts)}


# -- typing ----------------------------------------------------------------------------------
