"""The push store in PostgreSQL, for several receivers sharing one database.

``Store("postgresql://user:password@host/db")`` opens a :class:`PgStore`: the same tables and
columns as the SQLite store (:mod:`toolkit.schema`), the same dedupe keys, the same
:class:`~toolkit.engine.Engine` methods. It needs the ``postgres`` extra:
``pip install -e ".[postgres]"`` (psycopg 3 and its pool).

Guarantees, as for SQLite (see :mod:`toolkit.store`):

* **Idempotent.** Inserts are ``ON CONFLICT (dedupe_key) DO NOTHING``: a push delivered to two
  receivers is stored once, whichever commits first.
* **No replay, across receivers.** A verified push's nonce goes into ``nonces`` (unique per app
  key) in the same transaction as its rows: the second receiver to see it stores nothing.
* **Atomic and durable.** :meth:`PgStore.write` returns after COMMIT, so the receiver's 200 means
  the rows are in the database (with PostgreSQL's default ``synchronous_commit=on``, on disk).
* **Read-since cursor without holes.** ``seq`` is one sequence across the four tables. Writers
  take a transaction-level advisory lock, read the highest ``seq`` and number their rows, so
  writes are serialised and each becomes visible before the next writer gets the lock
  (PostgreSQL releases a transaction's locks after its commit is visible). Hence rows become
  visible in ``seq`` order: a follower that has read ``seq <= n`` never later finds a new row
  below ``n``. A plain sequence would not give that: two writers can commit out of order and a
  follower would skip the row committed late.
* **The lock is held for one round trip.** Everything that does not need it happens first: the
  nonces are claimed (a second receiver claiming the same nonce waits for the first one's
  commit, then finds it held), and the rows are copied into per-connection staging tables,
  numbered from 1. Then one pipeline takes the lock, moves every staged row with one statement
  (its ``seq`` offset by the highest committed one, duplicates skipped) and commits. So several
  receivers do their parsing, COPY and round trips in parallel and queue only for the move and
  the commit; group commit makes that one transaction per group of pushes, not per push.

The password of the URL is never shown: :attr:`PgStore.path` and every message hold the URL with
the password replaced by ``***``.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import schema
from .batches import record
from .engine import (
    NONCE_PURGE_EVERY,
    QUARANTINE_COLUMNS,
    QUARANTINE_SIZE,
    TABLES,
    Batch,
    EngineBase,
    Table,
    check_table,
    one_line,
)
from .errors import StoreError, ValidationError
from .stores import is_url, mask_url

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["PgStore"]

INSTALL = 'pip install -e ".[postgres]"'
# The advisory lock every writer of a toolkit store takes (per database): "toolkit" in ASCII.
WRITE_LOCK = 0x746F6F6C6B6974

_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "TEXT": "TEXT"}
_TRUST_TABLES = """
CREATE TABLE IF NOT EXISTS nonces (
    app_key TEXT NOT NULL, nonce TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (app_key, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at);
CREATE TABLE IF NOT EXISTS quarantine (
    id BIGSERIAL PRIMARY KEY, received_at DOUBLE PRECISION, product TEXT, reason TEXT,
    remote_addr TEXT, body TEXT
);
"""
_MAX_SEQ = "SELECT coalesce(greatest({}), 0)".format(
    ", ".join(f"(SELECT max(seq) FROM {t})" for t in TABLES)
)
_NUM_VERIFIED = schema.NUM_STATUS.names.index("verified") - 1  # its place in a row without seq


def _ddl() -> str:
    statements = []
    for table in schema.TABLES.values():
        columns = ", ".join(
            " ".join(filter(None, (c.name, _TYPES[c.sql], c.constraint))) for c in table.columns
        )
        statements.append(f"CREATE TABLE IF NOT EXISTS {table.name} ({columns});")
        statements += [
            f"CREATE INDEX IF NOT EXISTS {index} ON {table.name} ({on});"
            for index, on in table.indexes
        ]
    return "\n".join(statements) + _TRUST_TABLES


# Rows go in through COPY into a per-connection staging table (emptied at commit), then one
# INSERT ... SELECT: COPY's row encoding runs in C, several times faster than binding parameters.
_STAGED = ("cdrs", "events", "sms")  # the tables whose rows are staged (num_status: see below)
_STAGE = {
    name: f"CREATE TEMP TABLE IF NOT EXISTS stage_{name} (LIKE {name}) ON COMMIT DELETE ROWS"
    for name in _STAGED
}


def _stage(conn: psycopg.Connection[Any]) -> None:
    """Create the staging tables of a new connection (temporary: they live as long as it)."""
    for statement in _STAGE.values():
        conn.execute(statement)


_COPY = {
    name: f"COPY stage_{name} ({', '.join(schema.TABLES[name].names)}) FROM STDIN"
    for name in _STAGED
}


def _move_sql(tables: tuple[str, ...]) -> str:
    """One statement moving the staged rows of ``tables`` into them, seqs offset by the highest
    committed seq, duplicates skipped; it returns that offset and the seqs of the rows inserted.

    ORDER BY: rows go in in staged order, so of two copies of a row in one transaction the
    earlier push's is kept, and seqs grow with it."""
    ctes = [f"top AS MATERIALIZED ({_MAX_SEQ} AS t)"]
    for name in tables:
        names = schema.TABLES[name].names  # seq first
        ctes.append(
            f"new_{name} AS (INSERT INTO {name} ({', '.join(names)}) "
            f"SELECT s.seq + top.t, {', '.join(f's.{c}' for c in names[1:])} "
            f"FROM stage_{name} s CROSS JOIN top ORDER BY s.seq "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING seq)"
        )
    inserted = " UNION ALL ".join(f"SELECT seq FROM new_{name}" for name in tables)
    return f"WITH {', '.join(ctes)} SELECT (SELECT t FROM top), ARRAY({inserted})"


_MOVE = {
    tables: _move_sql(tables)
    for k in range(1, len(_STAGED) + 1)
    for tables in itertools.combinations(_STAGED, k)
}
_INSERT_STATUS = (
    f"INSERT INTO num_status ({', '.join(schema.NUM_STATUS.names)}) "
    f"VALUES ({', '.join(['%s'] * len(schema.NUM_STATUS.names))})"
)
_INSERT_QUARANTINE = (
    f"INSERT INTO quarantine ({', '.join(QUARANTINE_COLUMNS[1:])}) "
    f"VALUES ({', '.join(['%s'] * (len(QUARANTINE_COLUMNS) - 1))})"
)
# The nonces go in sorted: two receivers claiming overlapping sets then wait for each other in
# one order only, never in a cycle.
_INSERT_NONCES = (
    "INSERT INTO nonces (app_key, nonce, expires_at) "
    "SELECT * FROM unnest(%s::text[], %s::text[], %s::double precision[]) "
    "ON CONFLICT DO NOTHING RETURNING app_key, nonce"
)


def _import() -> tuple[Any, Any]:
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError as exc:
        raise StoreError(
            f"a PostgreSQL store needs psycopg 3 and psycopg-pool: {INSTALL} "
            f"({exc.name} is missing)"
        ) from None
    return psycopg, ConnectionPool


def _fresh(batches: Sequence[Batch], claimed: set[tuple[Any, ...]]) -> list[bool]:
    """Which batches are not replays: those without a nonce, and those whose nonce this
    transaction claimed (the first batch of the transaction that carries it)."""
    fresh = []
    for batch in batches:
        if batch.nonce is None:
            fresh.append(True)
            continue
        key = (batch.nonce[0], batch.nonce[1])
        fresh.append(key in claimed)
        claimed.discard(key)  # a second batch with the same nonce is a replay
    return fresh


def _no_nul(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # PostgreSQL text cannot hold U+0000, which JSON can carry (\u0000): the typed column gets
    # U+FFFD instead; ``raw`` keeps the exact value (escaped by the JSON encoder).
    return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)


class PgStore(EngineBase):
    """PostgreSQL store for pushes (see the module docstring for the guarantees).

    ``url`` is a libpq URL, ``postgresql://user:password@host:port/dbname?sslmode=...``.
    ``readonly=True`` opens an existing store for reading (every transaction is read-only);
    otherwise the tables are created if missing. ``pool_size`` caps the connections this process
    opens; ``timeout`` is how long opening or taking a connection waits before
    :class:`StoreError`. ``synchronous`` is accepted for the SQLite store's signature; PostgreSQL's
    own ``synchronous_commit`` decides durability.
    """

    def __init__(
        self,
        url: str,
        *,
        readonly: bool = False,
        pool_size: int = 8,
        timeout: float = 10.0,
        synchronous: str = "NORMAL",
        check_seconds: float | None = None,
    ) -> None:
        if not is_url(url):
            raise ValidationError("url", "must start with postgresql:// or postgres://")
        psycopg, pool_class = _import()
        self._psycopg = psycopg
        self._url = url
        self.path = mask_url(url)
        self.readonly = readonly
        self._timeout = timeout
        self._closed = False
        self._committed = threading.Condition()
        self._next_purge = 0.0
        self._options = {"options": "-c default_transaction_read_only=on"} if readonly else {}
        self._pool: ConnectionPool = pool_class(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            open=False,
            timeout=timeout,
            kwargs={"autocommit": True, **self._options},
            configure=None if readonly else _stage,
            name="toolkit-store",
        )
        try:
            # One connection of our own first: a server that is down or refuses us fails now
            # with its own reason, where the pool would retry quietly until its timeout.
            with psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, round(timeout)), **self._options
            ) as conn:
                if readonly:
                    self._check_tables(conn)
                else:
                    self._create(conn)
            self._pool.open(wait=True, timeout=timeout)
        except BaseException as exc:
            self.close()
            if isinstance(exc, StoreError):
                raise StoreError(f"cannot open store at {self.path}: {exc}") from None
            if isinstance(exc, Exception):
                raise StoreError(f"cannot open store at {self.path}: {self._say(exc)}") from None
            raise

    # -- connections -----------------------------------------------------------------------

    def _say(self, exc: BaseException) -> str:
        """An exception as one line that never holds the password."""
        text = one_line(exc)
        password = urllib.parse.urlsplit(self._url).password
        return text.replace(password, "***") if password else text

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise StoreError("the store is closed")
        psycopg = self._psycopg
        try:
            with self._pool.connection(timeout=self._timeout) as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreError(f"store unavailable: {self._say(exc)}") from None
        except Exception as exc:
            if type(exc).__name__ == "PoolTimeout" or isinstance(
                exc, psycopg.errors.ReadOnlySqlTransaction
            ):
                raise StoreError(f"store unavailable: {self._say(exc)}") from None
            raise

    def _create(self, conn: psycopg.Connection[Any]) -> None:
        """Create the tables (once, whoever of several receivers starts first)."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            self._check_tables(conn, creating=True)
            conn.execute(_ddl())
            for table in schema.TABLES.values():  # columns added since a store was created
                for c in table.columns:
                    if c.added:
                        conn.execute(
                            f"ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS "
                            f"{c.name} {_TYPES[c.sql]} {c.constraint}"
                        )

    def _check_tables(self, conn: psycopg.Connection[Any], creating: bool = False) -> None:
        """Refuse a database whose tables of our names are not ours, or (reading) hold none."""
        found: dict[str, set[str]] = {}
        for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ):
            found.setdefault(table, set()).add(column)
        for name, spec in schema.TABLES.items():
            have = found.get(name)
            missing = [c.name for c in spec.columns if have and not c.added and c.name not in have]
            if missing:
                raise StoreError(
                    f"its {name} table is not ours (missing columns: {', '.join(missing)})"
                )
        if not creating and not set(found) & set(TABLES):
            raise StoreError("it holds no push tables")

    # -- writing ---------------------------------------------------------------------------

    def write(self, batches: Sequence[Batch]) -> list[int | None]:
        """Insert several batches in one transaction; return the new rows of each batch
        (``None`` for a replay: its nonce was held already, by this receiver or another one).

        Returns after COMMIT. Raises :class:`StoreError` when the database cannot commit
        (nothing is stored).
        """
        if self.readonly:
            raise StoreError("the store was opened read-only")
        psycopg = self._psycopg
        with self._connection() as conn:
            try:
                new = self._transaction(conn, batches, clean=False)
            except psycopg.DataError:  # NUL in a text: psycopg refuses it before sending
                new = self._transaction(conn, batches, clean=True)
        with self._committed:
            self._committed.notify_all()
        return new

    def _transaction(
        self, conn: psycopg.Connection[Any], batches: Sequence[Batch], *, clean: bool
    ) -> list[int | None]:
        """:meth:`_insert` in a transaction of its own, rolled back if anything fails.

        The transaction is begun and committed by hand (the connections are in autocommit
        mode) so that COMMIT can travel in the pipeline that takes the lock."""
        try:
            return self._insert(conn, batches, clean=clean)
        except BaseException:
            if conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
                with contextlib.suppress(self._psycopg.Error):
                    conn.execute("ROLLBACK")
            raise

    def _insert(
        self, conn: psycopg.Connection[Any], batches: Sequence[Batch], *, clean: bool
    ) -> list[int | None]:
        # 1. Without the lock: claim the nonces (one round trip with BEGIN), then COPY the fresh
        # batches' rows into the staging tables, numbered 1, 2, ... in batch order.
        nonces = sorted(b.nonce for b in batches if b.nonce is not None)
        now = time.time()
        with conn.pipeline():
            conn.execute("BEGIN")
            columns = [list(c) for c in zip(*nonces, strict=True)]
            claimed = conn.execute(_INSERT_NONCES, columns) if nonces else None
        fresh = _fresh(batches, {tuple(r) for r in claimed} if claimed else set())
        seq = 1
        ranges: list[tuple[int, int] | None] = []
        rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _STAGED}
        for batch, ok in zip(batches, fresh, strict=True):
            if not ok:
                ranges.append(None)
                continue
            first = seq
            for table in _STAGED:
                for row in getattr(batch, table):
                    rows[table].append((seq, *(_no_nul(row) if clean else row)))
                    seq += 1
            ranges.append((first, seq))
        tables = tuple(t for t in _STAGED if rows[t])
        with conn.cursor() as cur:
            for table in tables:
                with cur.copy(_COPY[table]) as copy:
                    for row in rows[table]:
                        copy.write_row(row)
        # X-number statuses (a change log that reads itself) and quarantine rows are rare:
        # they are written after the move, still under the lock.
        rest = [
            k
            for k, (b, ok) in enumerate(zip(batches, fresh, strict=True))
            if ok and (b.num_status or b.quarantine)
        ]
        new: list[int | None] = [None if r is None else 0 for r in ranges]
        purge = now >= self._next_purge and bool(nonces)
        if not tables and not rest and not purge:  # replays, or empty: only nonces to commit
            conn.execute("COMMIT")
            return new
        # 2. Under the lock: one round trip takes it, moves every staged row and (usually)
        # commits; the lock goes with the commit. Expired nonces are deleted under it too: a
        # lock holder never waits for a row another writer holds, so writers cannot deadlock.
        with conn.pipeline():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            if purge:
                conn.execute("DELETE FROM nonces WHERE expires_at < %s", (now,))
                self._next_purge = now + NONCE_PURGE_EVERY
            moved = conn.execute(_MOVE[tables] if tables else _MAX_SEQ)
            if not rest:
                conn.execute("COMMIT")
        found = moved.fetchone()
        assert found is not None  # an aggregate without GROUP BY always gives one row
        top = int(found[0])
        inserted = sorted(s - top for s in found[1]) if tables else []
        new = [
            None
            if r is None
            else bisect.bisect_left(inserted, r[1]) - bisect.bisect_left(inserted, r[0])
            for r in ranges
        ]
        if rest:
            seq += top
            for k in rest:
                batch = batches[k]
                if batch.num_status:
                    added = self._insert_status(conn, batch, seq, clean)
                    new[k] = (new[k] or 0) + added
                    seq += added
                if batch.quarantine:  # a replay writes nothing, as in the SQLite store
                    rows_q = [_no_nul(r) for r in batch.quarantine] if clean else batch.quarantine
                    with conn.cursor() as cur:
                        cur.executemany(_INSERT_QUARANTINE, rows_q)
                    conn.execute(
                        "DELETE FROM quarantine WHERE id <= (SELECT max(id) FROM quarantine) - %s",
                        (QUARANTINE_SIZE,),
                    )
            conn.execute("COMMIT")
        return new

    @staticmethod
    def _insert_status(conn: psycopg.Connection[Any], batch: Batch, seq: int, clean: bool) -> int:
        # X-number status is a change log, one per trust level: a repeat of the current status
        # is not stored again (as in the SQLite store). Earlier rows of this transaction count.
        added = 0
        for row in batch.num_status:
            row = _no_nul(row) if clean else row
            last = conn.execute(
                "SELECT status, cause FROM num_status WHERE number IS NOT DISTINCT FROM %s "
                "AND verified = %s ORDER BY seq DESC LIMIT 1",
                (row[0], row[_NUM_VERIFIED]),
            ).fetchone()
            if last is None or tuple(last) != (row[1], row[2]):
                conn.execute(_INSERT_STATUS, (seq + added, *row))
                added += 1
        return added

    # -- reading ---------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only query (``%s`` placeholders); rows as plain dicts."""
        from psycopg.rows import dict_row

        psycopg = self._psycopg
        with self._connection() as conn:
            try:
                with conn.cursor(row_factory=dict_row) as cur:
                    return list(cur.execute(sql, params or None))
            except psycopg.errors.ReadOnlySqlTransaction:
                raise
            except psycopg.Error as exc:
                raise StoreError(f"store unavailable: {self._say(exc)}") from None

    def rows(
        self, table: Table, since: int = 0, limit: int | None = None, *, last: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` with ``seq > since`` in ``seq`` order (``last``: only the newest)."""
        check_table(table)
        if last is not None:
            rows = self.query(
                f"SELECT * FROM {table} WHERE seq > %s ORDER BY seq DESC LIMIT %s", (since, last)
            )
            return rows[::-1]
        return self.query(
            f"SELECT * FROM {table} WHERE seq > %s ORDER BY seq LIMIT %s", (since, limit)
        )

    def changes(
        self, since: int = 0, limit: int = 1000, tables: Iterable[Table] = TABLES
    ) -> list[tuple[str, dict[str, Any]]]:
        """New rows of several tables as of one moment (one REPEATABLE READ snapshot), merged
        in ``seq`` order."""
        from psycopg.rows import dict_row

        wanted = list(tables)
        for table in wanted:
            check_table(table)
        merged: list[tuple[str, dict[str, Any]]] = []
        with self._connection() as conn:
            try:
                with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    for table in wanted:
                        cur.execute(
                            f"SELECT * FROM {table} WHERE seq > %s ORDER BY seq LIMIT %s",
                            (since, limit),
                        )
                        merged += [(table, r) for r in cur]
            except self._psycopg.Error as exc:
                raise StoreError(f"store unavailable: {self._say(exc)}") from None
        merged.sort(key=lambda item: item[1]["seq"])
        return merged[:limit]

    def quarantine(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The pushes kept apart because they failed verification, oldest first."""
        rows = self.query("SELECT * FROM quarantine ORDER BY id DESC LIMIT %s", (limit,))
        return rows[::-1]

    def last_seq(self) -> int:
        """The highest ``seq`` committed so far (0 for an empty store)."""
        return int(self.query(_MAX_SEQ + " AS m")[0]["m"])

    record = staticmethod(record)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection of the pool."""
        if self._closed:
            return
        self._closed = True
        self._pool.close()

    def __repr__(self) -> str:
        kind = "read-only" if self.readonly else "postgresql"
        state = "closed" if self._closed else "open"
        return f"PgStore({self.path!r}, {kind}, {state})"
