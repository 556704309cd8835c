"""The push store: CDRs, call events, SMS events and X-number status in SQLite.

``Store()`` keeps its data in a temporary file (removed on :meth:`Store.close`), which is what a
notebook wants; ``Store("calls.db")`` keeps it. A plain ``:memory:`` database cannot be used because
readers need their own connections and WAL mode needs a file.

Guarantees:

* **Idempotent.** Every row has a ``dedupe_key`` (``UNIQUE``) and inserts ignore duplicates, so a
  push the platform delivers three times is stored once. CDRs are keyed on ``icid`` when present,
  else ``sessionId``; call events on session + type + time (+ the leg's numbers); SMS on
  ``smsIdentifier`` + mode. X-number status is a change log: a repeat of a number's current status
  is not stored again, a change is.
* **Unverified data never shadows verified data.** Every row records whether the receiver
  verified its push's signature (``verified`` 1/0), and every key starts with the product and
  that trust (``pn:v:icid:...``, ``vc:u:session:...``), so a forged push cannot make a real one
  a "duplicate". Pushes that failed verification and are kept anyway go to a separate
  ``quarantine`` table that no reader shows (:meth:`Store.quarantine`).
* **No replay.** A verified push's nonce is recorded in the same transaction as its rows
  (``nonces`` table, unique per app key): a second push with that nonce, from this process or
  another one on the same file, stores nothing (:meth:`Store.write` reports it).
* **Up to date.** The push tables and their columns are those of :mod:`toolkit.schema`. A store
  written by an earlier version gets the columns added since when it is opened for writing,
  filled from the stored JSON where they hold a pushed field.
* **Atomic.** One push (up to 50 CDRs) is written in one transaction, so it is stored whole or not
  at all. :meth:`Store.write` may put several pushes in one transaction (group commit).
* **Durable.** WAL mode with ``synchronous=NORMAL``: a committed transaction survives the process
  being killed (the WAL is written before commit returns) but the last transactions may be lost if
  the machine loses power before the next checkpoint. ``Store(path, synchronous="FULL")`` fsyncs
  the WAL on every commit and survives power loss too, at some cost in latency.
* **Checkpoints off the commit path.** SQLite would copy the WAL into the database at the commit
  that crosses 1,000 pages, and fsync both, holding every waiting push for about 20 ms here; a
  thread of the store's does it instead, between commits (see :class:`_Checkpointer`).
* **One writer, many readers.** Writes go through one connection behind a lock; each reading
  thread gets its own connection, and WAL lets them read while a write is in progress.
* **Read-since cursor.** ``seq`` is one sequence across all four tables, assigned inside the
  write transaction, so a reader that has seen ``seq <= n`` never misses a row by asking for
  ``seq > n`` later (rows commit in ``seq`` order).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import urllib.parse
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import count
from typing import Any, Literal

from . import events as ev
from . import schema
from .batches import body_of, prepare, record
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
from .sqlinsert import nullable_columns, rows_for_insert
from .stores import is_url

log = logging.getLogger(__name__)

# The push tables (columns, types, DDL, what an older store lacks) are defined in toolkit.schema.
CDR_COLUMNS = schema.CDRS.names
EVENT_COLUMNS = schema.EVENTS.names
SMS_COLUMNS = schema.SMS.names
NUM_STATUS_COLUMNS = schema.NUM_STATUS.names

# The push tables, then what the receiver's trust needs: nonces seen, pushes kept apart.
_SCHEMA = (
    schema.ddl()
    + """
CREATE TABLE IF NOT EXISTS nonces (
    app_key TEXT NOT NULL, nonce TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (app_key, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY, received_at REAL, product TEXT, reason TEXT, remote_addr TEXT,
    body TEXT
);
"""
)
# Stores written before rows carried their trust get the column (toolkit.schema.migrate); their
# rows count as unverified (an older receiver stored VoiceCall-shaped pushes without checking).
# Keys matter only to catch a redelivery, and the platform stops retrying after about 10.5 hours
# (PrivateNumber; VoiceCall 6), so only the keys of the last two days are rewritten to the new
# form: rewriting a unique key costs about 40 s per million rows, rewriting nothing would store a
# late retry twice.
_REKEY_SECONDS = 2 * 86_400
_OLD_KEYS = {
    "cdrs": "CASE product WHEN 'voicecall' THEN 'vc:u:' ELSE 'pn:u:' END || dedupe_key",
    "events": "CASE product WHEN 'voicecall' THEN 'vc:u:' ELSE 'pn:u:' END || dedupe_key",
    "sms": "'pn:u:' || dedupe_key",
}

_INSERT = {
    name: f"INSERT OR IGNORE INTO {name} ({', '.join(t.names)}) "
    f"VALUES ({', '.join('?' * len(t.names))})"
    for name, t in schema.TABLES.items()
}
_INSERT_QUARANTINE = (
    f"INSERT INTO quarantine ({', '.join(QUARANTINE_COLUMNS[1:])}) "
    f"VALUES ({', '.join('?' * (len(QUARANTINE_COLUMNS) - 1))})"
)
_NUM_VERIFIED = NUM_STATUS_COLUMNS.index("verified") - 1  # its place in a row without seq
_INSERT_NONCE = "INSERT OR IGNORE INTO nonces (app_key, nonce, expires_at) VALUES (?, ?, ?)"
CHECKPOINT_EVERY = 0.02  # seconds at least between two background checkpoints
WAL_FRAMES_CAP = 10_000  # WAL pages (about 40 MB) before a checkpoint briefly holds the writer
# The highest seq in any table: the cursor is one sequence across all four.
_MAX_SEQ = "SELECT max(m) AS m FROM ({})".format(
    " UNION ALL ".join(f"SELECT max(seq) m FROM {t}" for t in TABLES)
)
# -- opening checks --------------------------------------------------------------------------


def _check_integrity(conn: sqlite3.Connection, path: str, budget: float | None) -> None:
    """``PRAGMA quick_check``: every page and record well formed (indexes are not compared).

    It reads the whole file, about 200 MB a second with a warm cache and far less from a cold
    disk, so it stops after ``budget`` seconds (``benchmarks/store_open.py`` measures it): from
    the page cache a store of a few hundred thousand CDRs is checked whole, a bigger one (or a
    cold one) as far as the budget goes.
    """
    timer = None
    if budget is not None:
        timer = threading.Timer(budget, conn.interrupt)
        timer.daemon = True
        timer.start()
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.OperationalError as exc:
        if timer is not None and timer.finished.is_set() and "interrupt" in str(exc):
            return  # out of time: nothing wrong in the part that was read
        raise
    finally:
        if timer is not None:
            timer.cancel()
    if problems != ["ok"]:
        first = " ".join(str(problems[0]).split())
        raise StoreError(f"cannot open store at {path}: the file is damaged ({first})")


def _check_columns(conn: sqlite3.Connection, path: str) -> None:
    """Every table of ours that exists has the columns we read and write (but those added since
    the first release, which :func:`_migrate` adds to a store written before them)."""
    for table, spec in schema.TABLES.items():
        found = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        missing = [c.name for c in spec.columns if c.name not in found and not c.added]
        if found and missing:
            raise StoreError(
                f"cannot open store at {path}: its {table} table is not ours "
                f"(missing columns: {', '.join(missing)})"
            )


def _probe_write(conn: sqlite3.Connection) -> None:
    """Fail now if the file cannot be written (read-only file, directory or mount).

    ``BEGIN IMMEDIATE`` alone succeeds on a read-only file in WAL mode (the lock lives in the
    ``-shm`` file); rewriting the header's user_version really writes a page, then is rolled back.
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"PRAGMA user_version={version}")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


# SQLite's primary result codes; the sqlite3 module names them from Python 3.11 on only.
_SQLITE_READONLY, _SQLITE_CANTOPEN = 8, 14


def _cannot_index(exc: sqlite3.Error) -> bool:
    """A read-only connection could not create the WAL index (``-shm``) next to the file."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+; the message before that
    if code is None:
        return "readonly" in str(exc) or "unable to open" in str(exc)
    return code & 0xFF in (_SQLITE_READONLY, _SQLITE_CANTOPEN)


def _wal_pending(path: str) -> bool:
    """A writer left transactions in the WAL that the main file does not hold yet."""
    try:
        return os.path.getsize(f"{path}-wal") > 0
    except OSError:
        return False


def _migrate(conn: sqlite3.Connection) -> None:
    """Add what newer versions store to a store written by an older one (once, atomically):
    the columns of :mod:`toolkit.schema` it lacks, and the new form of its recent keys."""
    if not schema.missing_columns(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        added = schema.migrate(conn)  # checks again: another process may have migrated meanwhile
        for table, new_key in _OLD_KEYS.items():
            if f"{table}.verified" in added:
                conn.execute(
                    f"UPDATE {table} SET dedupe_key = {new_key} "
                    "WHERE dedupe_key IS NOT NULL AND received_at >= ?",
                    (time.time() - _REKEY_SECONDS,),
                )
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


class Store(EngineBase):
    """SQLite store for pushes (see the module docstring for the guarantees).

    ``path=None`` uses a temporary file that :meth:`close` deletes. ``synchronous`` is ``"NORMAL"``
    (survives a crash of the process) or ``"FULL"`` (also survives power loss). ``timeout`` is how
    long a write waits for a lock held by another process before :class:`StoreError`.

    Opening refuses, with a one-line :class:`StoreError`, a file it could not keep its promises
    on: one that fails SQLite's integrity check (``check_seconds`` bounds the time spent on it,
    ``None`` checks the whole file however long it takes), a foreign database whose tables lack
    our columns, or a file that cannot be written. ``readonly=True`` opens an existing store for
    reading only (the tail does): the database file is never written and no integrity check runs
    (a damaged page then surfaces as a :class:`StoreError` from the read that meets it).
    """

    def __new__(cls, path: str | os.PathLike[str] | None = None, **options: Any) -> Any:
        # Store("postgresql://...") opens the PostgreSQL store (toolkit.pgstore), which has the
        # same methods; Python then skips __init__ because the object is not a Store.
        if is_url(path):
            from .pgstore import PgStore

            assert isinstance(path, str)

            return PgStore(path, **options)
        return super().__new__(cls)

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        timeout: float = 5.0,
        readonly: bool = False,
        check_seconds: float | None = 3.0,
    ) -> None:
        if not isinstance(synchronous, str) or synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValidationError("synchronous", f"must be 'NORMAL' or 'FULL', not {synchronous!r}")
        if readonly and (path is None or str(path) == ":memory:"):
            raise ValidationError("path", "a read-only store needs the path of an existing store")
        self._temp_dir: str | None = None
        if path is None or str(path) == ":memory:":
            self._temp_dir = tempfile.mkdtemp(prefix="toolkit-store-")
            path = os.path.join(self._temp_dir, "pushes.sqlite3")
        self.path = os.fspath(path)
        self.synchronous = synchronous.upper()
        self.readonly = readonly
        self._timeout = timeout
        self._check_seconds = check_seconds
        self._write_lock = threading.Lock()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        self._committed = threading.Condition()
        self._checkpointer: _Checkpointer | None = None  # started by the first write
        self._next_purge = 0.0
        self._uri: str | None = None  # read-only mode: what every connection opens
        self._writer: sqlite3.Connection | None = None
        self._nullable: dict[str, frozenset[str]] = {}  # per table: what an INSERT may leave out
        try:
            if readonly:
                self._open_readonly()
            else:
                self._open_writer()
        except BaseException:
            self.close()
            raise

    def _open_writer(self) -> None:
        """Open the writer and refuse a file we could not keep our promises on.

        A damaged file would acknowledge pushes into pages that may never be read back, a
        foreign ``events`` table or a read-only file would answer 503 to every push for ever: all
        three are refused here, at start, with one line saying why.
        """
        try:
            self._writer = writer = self._connect()
            _check_integrity(writer, self.path, self._check_seconds)
            _check_columns(writer, self.path)
            writer.execute("PRAGMA journal_mode=WAL")
            # The checkpointer keeps the WAL far below this; should it stop, SQLite's own
            # checkpoints at commit still bound the file.
            writer.execute(f"PRAGMA wal_autocheckpoint={2 * WAL_FRAMES_CAP}")
            writer.executescript(_SCHEMA)
            _migrate(writer)
            _probe_write(writer)
            self._nullable = {t: nullable_columns(writer, t) for t in ("cdrs", "events", "sms")}
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store at {self.path}: {one_line(exc)}") from exc

    def _open_readonly(self) -> None:
        """Open for reading only, through a ``mode=ro`` URI: the database is never written.

        SQLite reads a WAL database through its ``-wal``/``-shm`` files, which it creates (and a
        read-only reader leaves behind, empty) where the directory allows. A read-only directory
        or mount does not: then, if no writer has left a WAL behind, the file cannot be changing
        and is read as immutable instead. (A writer that starts later, through another mount, is
        then not seen.)
        """
        if not os.path.isfile(self.path):
            raise StoreError(f"cannot open store at {self.path}: no such file")
        uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=ro"
        for attempt in (uri, uri + "&immutable=1"):
            self._uri = attempt
            try:
                conn = self._reader()
                _check_columns(conn, self.path)
                names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            except sqlite3.Error as exc:
                self._drop_reader()
                if attempt == uri and _cannot_index(exc) and not _wal_pending(self.path):
                    continue
                raise StoreError(f"cannot open store at {self.path}: {one_line(exc)}") from exc
            if not names & set(TABLES):
                raise StoreError(f"cannot open store at {self.path}: it holds no push tables")
            return

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path if self._uri is None else self._uri,
            timeout=self._timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=self._uri is not None,
        )
        try:
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
        except BaseException:
            conn.close()
            raise
        return conn

    # -- writing ---------------------------------------------------------------------------

    prepare = staticmethod(prepare)

    def add(self, push: Any, *, product: ev.Product | None = None, verified: bool = False) -> int:
        """Store one push (a decoded JSON body or a typed push); return the number of new rows.

        ``verified=True`` says that you checked where the push came from (the receiver does so
        from its signature); rows are stored apart from unverified rows of the same call.
        """
        body = push if isinstance(push, Mapping) else body_of(push)
        return self.write([prepare(body, product=product, verified=verified)])[0] or 0

    def write(self, batches: Sequence[Batch]) -> list[int | None]:
        """Insert several batches in one transaction; return the new rows of each batch.

        A batch whose ``nonce`` is held already is a replay: none of its rows are written and
        its result is ``None``. Raises :class:`StoreError` when SQLite cannot commit (nothing is
        stored). A batch that SQLite refuses for its content is impossible after
        :func:`prepare`; should it happen, :meth:`write_each` isolates it so it cannot fail the
        others.
        """
        if self._closed:
            raise StoreError("the store is closed")
        if self._writer is None:
            raise StoreError("the store was opened read-only")
        with self._write_lock:
            conn = self._writer
            try:
                if self._checkpointer is None:
                    self._checkpointer = _Checkpointer(self)
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"store unavailable: {exc}") from exc
            checkpointer = self._checkpointer
            try:
                new = self._insert(conn, batches)
                conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                # Locked, disk full, I/O error, corrupt file: the database, not the data, is at
                # fault, so the caller should answer 503 and let the platform retry.
                if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
                    raise StoreError(f"store unavailable: {exc}") from exc
                raise
        checkpointer.committed()
        with self._committed:
            self._committed.notify_all()
        return new

    def _insert(self, conn: sqlite3.Connection, batches: Sequence[Batch]) -> list[int | None]:
        # Inside the write transaction: no other writer can take a seq between here and COMMIT.
        top = conn.execute(_MAX_SEQ).fetchone()[0]
        seqs = count((top or 0) + 1)
        now = time.time()
        if now >= self._next_purge and any(b.nonce for b in batches):
            conn.execute("DELETE FROM nonces WHERE expires_at < ?", (now,))
            self._next_purge = now + NONCE_PURGE_EVERY
        new: list[int | None] = []
        for batch in batches:
            # The UNIQUE key settles a race between two receivers on one file: the second
            # insert of a nonce is ignored, and its batch is refused as a replay.
            if batch.nonce is not None and conn.execute(_INSERT_NONCE, batch.nonce).rowcount == 0:
                new.append(None)
                continue
            before = conn.total_changes
            for table in ("cdrs", "events", "sms"):
                rows = getattr(batch, table)
                if rows:
                    first = next(seqs)
                    sql, numbered = rows_for_insert(
                        table, schema.TABLES[table].names, rows, first, self._nullable[table]
                    )
                    conn.executemany(sql, numbered)
                    seqs = count(first + len(rows))
            for row in batch.num_status:
                # One change log per trust level: an unverified status cannot hide a verified
                # change by posing as the number's current status.
                last = conn.execute(
                    "SELECT status, cause FROM num_status WHERE number IS ? AND verified = ? "
                    "ORDER BY seq DESC LIMIT 1",
                    (row[0], row[_NUM_VERIFIED]),
                ).fetchone()
                if last is None or tuple(last) != (row[1], row[2]):
                    conn.execute(_INSERT["num_status"], (next(seqs), *row))
            new.append(conn.total_changes - before)
            if batch.quarantine:
                conn.executemany(_INSERT_QUARANTINE, batch.quarantine)
                conn.execute(
                    "DELETE FROM quarantine WHERE id <= (SELECT max(id) FROM quarantine) - ?",
                    (QUARANTINE_SIZE,),
                )
        return new

    # -- reading ---------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn  # registered first, so close() closes it whatever happens
            with self._readers_lock:
                self._readers.append(conn)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only=ON")
        return conn

    def _drop_reader(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with self._readers_lock:
                self._readers.remove(conn)
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only query on this thread's reader connection; rows as plain dicts.

        Raises :class:`StoreError` for anything SQLite reports (locked, damaged, gone), like
        every other read method: callers never see a raw ``sqlite3`` error.
        """
        try:
            return [dict(r) for r in self._reader().execute(sql, params)]
        except sqlite3.Error as exc:
            raise StoreError(f"store unavailable: {one_line(exc)}") from exc

    def rows(
        self, table: Table, since: int = 0, limit: int | None = None, *, last: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` with ``seq > since`` in ``seq`` order, as dicts of the columns.

        ``limit`` caps how many rows are returned from ``since`` on; ``last`` keeps only the
        newest ``last`` rows (still oldest first).
        """
        check_table(table)
        if last is not None:
            rows = self.query(
                f"SELECT * FROM {table} WHERE seq > ? ORDER BY seq DESC LIMIT ?", (since, last)
            )
            return rows[::-1]
        return self.query(
            f"SELECT * FROM {table} WHERE seq > ? ORDER BY seq LIMIT ?",
            (since, -1 if limit is None else limit),
        )

    def changes(
        self, since: int = 0, limit: int = 1000, tables: Iterable[Table] = TABLES
    ) -> list[tuple[str, dict[str, Any]]]:
        """New rows of several tables, merged in ``seq`` order: ``[(table, row), ...]``.

        The tables are read in one read transaction, so they show the same moment: otherwise a
        commit between two reads could put an event after a CDR that was never returned, and a
        cursor taken from the result would skip that CDR for good.
        """
        merged: list[tuple[str, dict[str, Any]]] = []
        with self._snapshot():
            for table in tables:
                merged += [(table, r) for r in self.rows(table, since, limit)]
        merged.sort(key=lambda item: item[1]["seq"])
        return merged[:limit]

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Reads on this thread inside the block see one consistent state of the store."""
        try:
            conn = self._reader()
            nested = conn.in_transaction  # already inside a snapshot
            if not nested:
                conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise StoreError(f"store unavailable: {one_line(exc)}") from exc
        if nested:
            yield
            return
        try:
            yield
        finally:
            # A Ctrl-C can leave this block unfinished until it is garbage collected, after the
            # store was closed: there is no snapshot left to end then.
            if not self._closed and conn.in_transaction:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    raise StoreError(f"store unavailable: {one_line(exc)}") from exc

    def quarantine(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The pushes kept apart because they failed verification, oldest first.

        Each row has ``id``, ``received_at``, ``product`` (the guess from its shape), ``reason``
        (why it failed, e.g. ``bad-digest``), ``remote_addr`` and the raw ``body``. Only the
        newest ``QUARANTINE_SIZE`` are kept; ``limit`` returns the newest ``limit`` of those.
        """
        rows = self.query(
            "SELECT * FROM quarantine ORDER BY id DESC LIMIT ?", (-1 if limit is None else limit,)
        )
        return rows[::-1]

    def last_seq(self) -> int:
        """The highest ``seq`` committed so far (0 for an empty store): a cursor for "from now"."""
        return int(self.query(_MAX_SEQ)[0]["m"] or 0)

    record = staticmethod(record)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection; a temporary store's file is deleted."""
        if self._closed:
            return
        self._closed = True
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
        with self._readers_lock:
            for conn in self._readers:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._readers.clear()
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __repr__(self) -> str:
        kind = "temporary" if self._temp_dir else "read-only" if self.readonly else "file"
        state = "closed" if self._closed else "open"
        return f"Store({self.path!r}, {kind}, {state})"


class _Checkpointer:
    """Checkpoints a store's WAL from a thread of its own, between commits.

    Left to itself, SQLite checkpoints at the commit that takes the WAL past 1,000 pages: that
    commit copies the WAL into the database and fsyncs both before it returns, about 20 ms here,
    and every push waiting for the group commit waits with it. One-event status pushes cross
    the mark every few hundred commits. Here a passive checkpoint runs on a connection of its
    own after commits, at most every :data:`CHECKPOINT_EVERY` seconds, and commits go on
    during it (the fsync releases the GIL). The more often it runs, the less each fsync has to
    write: with CDR pushes, 0.2 s between checkpoints gave a p99 of 75-79 ms, 0.02 s 27-28 ms.

    A passive checkpoint only copies what was committed when it began. Under a steady stream
    of commits it therefore never finishes the WAL, and SQLite, which rewinds the WAL only once
    it has been copied whole, would let it grow without end. So once the WAL holds
    :data:`WAL_FRAMES_CAP` pages, the checkpoint that follows a passive one holds the store's
    write lock: it copies only the few pages committed meanwhile, and the next commit rewinds
    the WAL. The thread holds the store weakly and ends when it is closed or collected.
    """

    def __init__(self, store: Store) -> None:
        self._store = weakref.ref(store)
        self._write_lock = store._write_lock
        self._conn = store._connect()
        self._committed = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-checkpointer", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """The store committed a transaction."""
        self._committed.set()

    def _run(self) -> None:
        try:
            while True:
                self._committed.wait(1.0)  # the timeout notices a store closed or collected
                store = self._store()
                if self._stopped.is_set() or store is None or store._closed:
                    return
                del store  # not held while the thread waits
                if self._committed.is_set():
                    self._committed.clear()
                    self._checkpoint()
                    if self._stopped.wait(CHECKPOINT_EVERY):
                        return
        finally:
            self._conn.close()

    def _checkpoint(self) -> None:
        try:
            _, frames, _ = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames >= WAL_FRAMES_CAP:
                with self._write_lock:
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # e.g. the disk is full: the writer's own checkpoints remain
            log.warning("background checkpoint of the store failed: %s", one_line(exc))

    def stop(self) -> None:
        """End the thread, waiting for a checkpoint in progress."""
        self._stopped.set()
        self._committed.set()
        self._thread.join()
