"""CDR frames from a PostgreSQL store: the store reader's queries, run by PostgreSQL.

:func:`toolkit.frame.cdr_frame` calls :func:`read` for a :class:`~toolkit.pgstore.PgStore` or a
``postgresql://`` URL. The statement has the same shape as for SQLite: per chunk, an inner SELECT
filters and computes the derived integers (the rules of :mod:`toolkit.schema`, rendered in
PostgreSQL's dialect), an outer one joins each column into one value, which numpy reads in C. So a
million CDRs cost one row per chunk on the wire, not a million Python objects.

What makes it fast (measured with ``benchmarks/postgres.py``):

* **Chunks are ranges of table blocks** (TID range scans, PostgreSQL 14+), each read by a plain
  sequential scan. Ranges of ``seq`` went through the primary key's index, which costs the server
  twice as much per row; rows come back in table order and are put in ``seq`` order here (they
  nearly always are already: writers append in ``seq`` order).
* **Integers travel as raw big-endian bytes**, ``string_agg(int8send(x), '')``: numpy reads them in
  place, and the server builds one byte string per column instead of an array of boxed values.
* **One snapshot for every chunk.** The chunks run in parallel on connections of their own (each
  a server process of its own) that share an exported snapshot: the frame is the table as of one
  moment, whatever receivers commit meanwhile.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .columns import COLUMNS, absent
from .errors import StoreError, ValidationError
from .pgstore import _import, mask_url
from .store_reader import SEP, WORKERS, _concatenate, _Query

__all__ = ["read"]

# Table blocks (8 kB each) per chunk: a few chunks per connection, each aggregate well below
# PostgreSQL's 1 GB limit on a value.
CHUNK_BLOCKS = 4096
TID_RANGES = 140000  # server_version from which a ctid range is a TID range scan

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
                f"coalesce({self._sql(n)}, {absent(COLUMNS[n].kind)})::bigint AS i{k}"
                for k, n in enumerate(ints)
            ]
            + [f"({self._sql(n)})::text AS t{k}" for k, n in enumerate(texts)]
        )
        # Every aggregate of one statement sees the rows in the same order (the scan's), so the
        # columns stay aligned row for row; parallel plans, which would break that, are off.
        outer = ", ".join(
            ["count(*)"]
            + [f"string_agg(int8send(i{k}), ''::bytea)" for k in range(len(ints))]
            + [f"string_agg(coalesce(t{k}, ''), chr(31))" for k in range(len(texts))]
        )
        where = " AND ".join(["ctid >= %s::tid AND ctid < %s::tid", *map(_dialect, self.where)])
        return f"SELECT {outer} FROM (SELECT {inner} FROM cdrs WHERE {where}) s"

    def _chunk(
        self, conn: Any, sql: str, ints: list[str], texts: list[str], blocks: tuple[int, int]
    ) -> dict[str, Any] | None:
        """One range of table blocks: one statement, integers read in place from their bytes,
        texts split on the separator."""
        import numpy as np

        head = self.mode_params if "mode" in ints else []
        bounds = [f"({blocks[0]},0)", f"({blocks[1]},0)"]
        with conn.cursor(binary=True) as cur:
            n, *joined = cur.execute(sql, [*head, *bounds, *self.params]).fetchone()
        if not n:
            return None
        chunk: dict[str, Any] = {
            name: np.frombuffer(raw, dtype=">i8").astype(np.int64)
            for name, raw in zip(ints, joined, strict=False)
        }
        for name, text in zip(texts, joined[len(ints) :], strict=True):
            parts = text.split(SEP)
            if len(parts) != n:  # a value contained the separator
                parts = self._reread_text(conn, name, chunk["seq"])
            chunk[name] = np.array(parts, dtype=object)
        # Sorted here, on the reading thread while the server works on the next chunk; the
        # whole frame is then in order unless a row sits in a block beyond a later seq's.
        return _in_seq_order(chunk)

    def _reread_text(self, conn: Any, name: str, seqs: Any) -> list[str]:
        """A text value held the separator: this column of this chunk, one value at a time."""
        head = self.mode_params if name == "mode" else []
        found = dict(
            conn.execute(
                f"SELECT seq, coalesce(({self._sql(name)})::text, '') FROM cdrs "
                "WHERE seq BETWEEN %s AND %s",
                [*head, int(seqs.min()), int(seqs.max())],
            ).fetchall()
        )
        return [found[int(s)] for s in seqs]


# The highest block a tid can name is 0xFFFFFFFE: "below 0xFFFFFFFF" is the rest of the table.
_END = 0xFFFFFFFF


def _ranges(blocks: int, server_version: int) -> list[tuple[int, int]]:
    """The block ranges of the chunks of a table of ``blocks`` blocks (at the time of the
    snapshot; the last range is open so that it also covers blocks added since)."""
    if server_version < TID_RANGES:  # a ctid range would be a filter on a full scan per chunk
        return [(0, _END)]
    starts = list(range(0, max(blocks, 1), CHUNK_BLOCKS))
    return list(zip(starts, [*starts[1:], _END], strict=True))


def _in_seq_order(values: dict[str, Any]) -> dict[str, Any]:
    """The columns sorted by ``seq`` (a no-op, but for the check, when they already are)."""
    import numpy as np

    seq = values["seq"]
    if len(seq) < 2 or bool(np.all(seq[1:] > seq[:-1])):
        return values
    order = np.argsort(seq, kind="stable")
    return {name: column[order] for name, column in values.items()}


def read(url: str, query: _Query) -> dict[str, Any]:
    """Every column ``query`` wants, as numpy arrays in ``seq`` order, from the store at ``url``."""
    psycopg, _ = _import()
    from psycopg import sql as pgsql

    pg = _PgQuery(**{f.name: getattr(query, f.name) for f in dataclasses.fields(query)})
    options = "-c default_transaction_read_only=on -c max_parallel_workers_per_gather=0"
    begin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
    try:
        conn = psycopg.connect(url, autocommit=True, options=options)
    except psycopg.Error as exc:
        raise StoreError(f"cannot read store at {mask_url(url)}: {_line(exc, url)}") from None
    extra: list[Any] = []
    try:
        conn.execute(begin)
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
        statement = pg._statement(ints, texts)
        snapshot, blocks = conn.execute(
            "SELECT pg_export_snapshot(), "
            "pg_relation_size('cdrs') / current_setting('block_size')::bigint"
        ).fetchone()
        ranges = _ranges(int(blocks), conn.info.server_version)
        workers = min(WORKERS, len(ranges))
        for _ in range(workers - 1):
            extra.append(psycopg.connect(url, autocommit=True, options=options))
            extra[-1].execute(begin)
            extra[-1].execute(pgsql.SQL("SET TRANSACTION SNAPSHOT {}").format(snapshot))
        conns = [conn, *extra]
        locks = [threading.Lock() for _ in conns]

        def chunk(item: tuple[int, tuple[int, int]]) -> dict[str, Any] | None:
            k, blocks = item
            # A connection serves one chunk at a time: chunk k runs on connection k % workers.
            with locks[k % workers]:
                return pg._chunk(conns[k % workers], statement, ints, texts, blocks)

        with ThreadPoolExecutor(workers, thread_name_prefix="cdr-frame-pg") as pool:
            chunks = list(pool.map(chunk, enumerate(ranges)))
        return _in_seq_order(_concatenate([c for c in chunks if c], ints, texts))
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


assert SEP == "\x1f"  # chr(31) above
