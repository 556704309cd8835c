"""CDR frames from a PostgreSQL store: the queries of :mod:`toolkit.frame`, run by PostgreSQL.

:func:`toolkit.frame.cdr_frame` calls :func:`read` for a :class:`~toolkit.pgstore.PgStore` or a
``postgresql://`` URL. The statement has the same shape as for SQLite: per chunk of ``seq``, an
inner SELECT filters and computes the derived integers (the rules of :mod:`toolkit.schema`,
rendered in PostgreSQL's dialect), an outer one joins each column into one string, which the
frame's parser reads with numpy in C. So a million CDRs cost one row per chunk on the wire, not a
million Python objects; chunks run in parallel on connections of their own (each a server
process of its own).
"""

from __future__ import annotations

import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .errors import StoreError, ValidationError
from .frame import _CHUNK, _SEP, _WORKERS, COLUMNS, _absent, _concatenate, _Query
from .pgstore import _import, mask_url

__all__ = ["read"]

# SQLite's dialect -> PostgreSQL's, for the few constructs the frame's SQL uses. ``a IS 'x'`` is
# SQLite's null-safe comparison; CAST(real AS INTEGER) truncates in SQLite (and would round, to a
# 32-bit integer, in PostgreSQL).
_DIALECT = (
    (re.compile(r" IS '"), " IS NOT DISTINCT FROM '"),
    (re.compile(r"CAST\((\w+) AS INTEGER\)"), r"floor(\1)::bigint"),
    (re.compile(r"\?"), "%s"),
)


def _dialect(sql: str) -> str:
    for pattern, replacement in _DIALECT:
        sql = pattern.sub(replacement, sql)
    return "false" if sql == "0" else sql


class _PgQuery(_Query):
    def _sql(self, name: str) -> str:
        return _dialect(super()._sql(name))

    def _statement(self, ints: list[str], texts: list[str]) -> str:
        inner = ", ".join(
            [
                f"coalesce({self._sql(n)}, {_absent(COLUMNS[n].kind)})::bigint AS i{k}"
                for k, n in enumerate(ints)
            ]
            + [f"({self._sql(n)})::text AS t{k}" for k, n in enumerate(texts)]
        )
        # The aggregates keep the order of a sorted subquery when the plan is not parallel (the
        # session turns parallel plans off); one ORDER BY per aggregate would sort each column.
        # Integers travel as binary bigint[]: no text on either side (see _int8s).
        outer = ", ".join(
            ["count(*)"]
            + [f"array_agg(i{k})" for k in range(len(ints))]
            + [f"string_agg(coalesce(t{k}, ''), chr(31))" for k in range(len(texts))]
        )
        where = " AND ".join(["seq >= %s AND seq < %s", *map(_dialect, self.where)])
        return f"SELECT {outer} FROM (SELECT {inner} FROM cdrs WHERE {where} ORDER BY seq) s"

    def _chunk(
        self, conn: Any, sql: str, ints: list[str], texts: list[str], bounds: tuple[int, int]
    ) -> dict[str, Any] | None:
        """One range of ``seq``: one statement, integers straight from PostgreSQL's binary
        arrays, texts split on the separator."""
        import numpy as np

        head = self.mode_params if "mode" in ints else []
        with conn.cursor(binary=True) as cur:
            cur.adapters.register_loader(_INT8_ARRAY_OID, _RawArray)
            n, *joined = cur.execute(sql, [*head, *bounds, *self.params]).fetchone()
        if not n:
            return None
        chunk: dict[str, Any] = {name: _int8s(raw) for name, raw in zip(ints, joined, strict=False)}
        for name, text in zip(texts, joined[len(ints) :], strict=True):
            parts = text.split(_SEP)
            if len(parts) != n:  # a value contained the separator
                parts = self._reread(conn, name, chunk["seq"], integer=False)
            chunk[name] = np.array(parts, dtype=object)
        return chunk

    def _reread(self, conn: Any, name: str, seqs: Any, integer: bool) -> Any:
        """A text value held the separator: this column of this chunk, one value at a time."""
        head = self.mode_params if name == "mode" else []
        found = dict(
            conn.execute(
                f"SELECT seq, coalesce(({self._sql(name)})::text, '') FROM cdrs "
                "WHERE seq BETWEEN %s AND %s",
                [*head, int(seqs[0]), int(seqs[-1])],
            ).fetchall()
        )
        return [found[int(s)] for s in seqs]


def _raw_array_loader() -> type:
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class RawArray(Loader):
        """A binary array as its bytes, for numpy to read in place."""

        format = Format.BINARY

        def load(self, data: Any) -> bytes:
            return bytes(data)

    return RawArray


_RawArray: Any = None
_INT8_ARRAY_OID = 1016  # bigint[] (a built-in type: its oid is fixed)


def _int8s(raw: bytes) -> Any:
    """A one-dimensional bigint[] without NULLs, in PostgreSQL's binary form, as int64s.

    The form: ndim, has-nulls flag and element type (three int32), the dimension's size and lower
    bound (two int32), then each element as its length (int32, always 8) and value (int64), all
    big-endian.
    """
    import numpy as np

    element = np.dtype([("length", ">i4"), ("value", ">i8")])
    return np.frombuffer(raw, dtype=element, offset=20)["value"].astype(np.int64)


def read(url: str, query: _Query) -> dict[str, Any]:
    """Every column ``query`` wants, as numpy arrays in ``seq`` order, from the store at ``url``."""
    global _RawArray
    psycopg, _ = _import()
    if _RawArray is None:
        _RawArray = _raw_array_loader()
    pg = _PgQuery(**{f.name: getattr(query, f.name) for f in dataclasses.fields(query)})
    options = "-c default_transaction_read_only=on -c max_parallel_workers_per_gather=0"
    try:
        conn = psycopg.connect(url, autocommit=True, options=options)
    except psycopg.Error as exc:
        raise StoreError(f"cannot read store at {mask_url(url)}: {_line(exc, url)}") from None
    extra: list[Any] = []
    try:
        found = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'cdrs'"
            )
        }
        if not found:
            raise ValidationError("source", f"{mask_url(url)} has no cdrs table (not a store?)")
        pg.stored = frozenset(found)
        ints, texts = pg.columns()
        sql = pg._statement(ints, texts)
        low, high = conn.execute("SELECT min(seq), max(seq) FROM cdrs").fetchone()
        if low is None:
            return _concatenate([], ints, texts)
        ranges = [(a, min(a + _CHUNK, high + 1)) for a in range(low, high + 1, _CHUNK)]
        workers = min(_WORKERS, len(ranges))
        extra = [psycopg.connect(url, autocommit=True, options=options) for _ in range(workers - 1)]
        conns = [conn, *extra]

        def chunk(item: tuple[int, tuple[int, int]]) -> dict[str, Any] | None:
            k, bounds = item
            # A connection serves one chunk at a time: chunk k runs on connection k % workers.
            with locks[k % workers]:
                return pg._chunk(conns[k % workers], sql, ints, texts, bounds)

        import threading

        locks = [threading.Lock() for _ in conns]
        with ThreadPoolExecutor(workers, thread_name_prefix="cdr-frame-pg") as pool:
            chunks = list(pool.map(chunk, enumerate(ranges)))
        return _concatenate([c for c in chunks if c], ints, texts)
    except psycopg.Error as exc:
        raise StoreError(f"cannot read store at {mask_url(url)}: {_line(exc, url)}") from None
    finally:
        for c in (conn, *extra):
            c.close()


def _line(exc: BaseException, url: str) -> str:
    from urllib.parse import urlsplit

    text = " ".join(str(exc).split()) or type(exc).__name__
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


assert _SEP == "\x1f"  # chr(31) above
