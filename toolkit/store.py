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
* **Atomic.** One push (up to 50 CDRs) is written in one transaction, so it is stored whole or not
  at all. :meth:`Store.write` may put several pushes in one transaction (group commit).
* **Durable.** WAL mode with ``synchronous=NORMAL``: a committed transaction survives the process
  being killed (the WAL is written before commit returns) but the last transactions may be lost if
  the machine loses power before the next checkpoint. ``Store(path, synchronous="FULL")`` fsyncs
  the WAL on every commit and survives power loss too, at some cost in latency.
* **One writer, many readers.** Writes go through one connection behind a lock; each reading
  thread gets its own connection, and WAL lets them read while a write is in progress.
* **Up to date.** The tables and columns are those of :mod:`toolkit.schema`. A store written by an
  earlier version gets the columns added since when it is opened, filled from the stored JSON.
* **Read-since cursor.** ``seq`` is one sequence across all four tables, assigned inside the
  write transaction, so a reader that has seen ``seq <= n`` never misses a row by asking for
  ``seq > n`` later (rows commit in ``seq`` order).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Literal

from . import events as ev
from . import schema
from .errors import ToolkitError

TABLES = ("cdrs", "events", "sms", "num_status")
Table = Literal["cdrs", "events", "sms", "num_status"]

# The columns, their types and the DDL are defined once, in toolkit.schema.
CDR_COLUMNS = schema.CDRS.names
EVENT_COLUMNS = schema.EVENTS.names
SMS_COLUMNS = schema.SMS.names
NUM_STATUS_COLUMNS = schema.NUM_STATUS.names

_SCHEMA = schema.ddl()

_COLUMNS: dict[str, tuple[str, ...]] = {
    "cdrs": CDR_COLUMNS,
    "events": EVENT_COLUMNS,
    "sms": SMS_COLUMNS,
    "num_status": NUM_STATUS_COLUMNS,
}
_INSERT = {
    t: f"INSERT OR IGNORE INTO {t} ({', '.join(c)}) VALUES ({', '.join('?' * len(c))})"
    for t, c in _COLUMNS.items()
}
# The highest seq in any table: the cursor is one sequence across all four.
_MAX_SEQ = "SELECT max(m) AS m FROM ({})".format(
    " UNION ALL ".join(f"SELECT max(seq) m FROM {t}" for t in TABLES)
)
# ensure_ascii keeps lone surrogates (legal in JSON text, illegal in UTF-8) storable.
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _epoch_int(value: Any, where: str) -> int | None:
    epoch = ev.to_epoch(value, where)
    return None if epoch is None else int(epoch)


def _epoch_fields(
    fields: Mapping[str, tuple[str, ev.Converter]], precise: bool = False
) -> dict[str, tuple[str, ev.Converter]]:
    # The same tables as the typed records, with times as epoch seconds instead of datetimes
    # (whole seconds, as the platform sends them, except for SMS times which carry milliseconds).
    to_epoch = ev.to_epoch if precise else _epoch_int
    return {k: (a, to_epoch if c is ev.TIME else c) for k, (a, c) in fields.items()}


_FEE = _epoch_fields(ev.FEE_FIELDS)
_STATUS = _epoch_fields(ev.STATUS_FIELDS, precise=True)
_SMS = _epoch_fields(ev.SMS_FIELDS, precise=True)


class StoreError(ToolkitError):
    """The store could not commit (database locked, disk full, I/O error). Safe to retry."""


@dataclass
class Batch:
    """The rows of one push, validated and ready to insert (see :meth:`Store.prepare`).

    Rows lack their ``seq``, which :meth:`Store.write` assigns inside the transaction.
    """

    cdrs: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    sms: list[tuple[Any, ...]] = field(default_factory=list)
    num_status: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cdrs) + len(self.events) + len(self.sms) + len(self.num_status)


def _row(values: dict[str, Any], columns: tuple[str, ...], **fixed: Any) -> tuple[Any, ...]:
    values.update(fixed)
    return tuple(map(values.get, columns[1:]))


def prepare(
    body: Any, *, product: ev.Product | None = None, received_at: float | None = None
) -> Batch:
    """Validate a decoded push body and map it to rows; raises :class:`PushFormatError`.

    This is the receiver's hot path: it reads the JSON once with the field tables of
    :mod:`toolkit.events` (so typed records and rows always agree) and builds no objects.
    """
    now = time.time() if received_at is None else received_at
    kind = ev.push_kind(body)
    batch = Batch()
    if kind == "fee":
        items = ev.fee_items(body)
        guessed = product or ev.detect_product(body)
        for i, info in enumerate(items):
            values = ev.convert(info, _FEE, f"feeLst[{i}]")
            if not values.get("session_id"):
                raise ev.PushFormatError("required", f"feeLst[{i}].sessionId")
            key = ev.cdr_dedupe_key(values.get("icid"), values["session_id"])
            batch.cdrs.append(
                _row(
                    values,
                    CDR_COLUMNS,
                    dedupe_key=key,
                    product=guessed,
                    received_at=now,
                    raw=_dumps(info),
                )
            )
    elif kind == "event":
        event_type = ev.event_type_of(body)
        info = body.get("statusInfo")
        values = ev.convert(info, _STATUS, "statusInfo")
        stamp = values.get("timestamp")
        key = ev.event_dedupe_key(
            values.get("session_id"), event_type, stamp, values.get("caller"), values.get("called")
        )
        party = values.get("party_type")
        batch.events.append(
            _row(
                values,
                EVENT_COLUMNS,
                dedupe_key=key,
                event_type=event_type,
                timestamp=None if stamp is None else int(stamp),
                product=product or ev.detect_product(body) or "privatenumber",
                party_type=None if party is None else str(party),
                received_at=now,
                raw=_dumps(info),
            )
        )
    elif kind == "sms":
        values = ev.convert(body.get("smsEvent"), _SMS, "smsEvent")
        values["app_key"] = ev.to_str(body.get("appKey"), "appKey")
        key = ev.sms_dedupe_key(values.get("sms_identifier"), values.get("notification_mode"))
        batch.sms.append(
            _row(values, SMS_COLUMNS, dedupe_key=key, received_at=now, raw=_dumps(body))
        )
    else:
        for i, item in enumerate(ev.num_items(body)):
            values = ev.convert(item, ev.NUM_FIELDS, f"numInfo[{i}]")
            batch.num_status.append(
                _row(values, NUM_STATUS_COLUMNS, received_at=now, raw=_dumps(item))
            )
    return batch


def _body_of(push: ev.Push) -> dict[str, Any]:
    """Rebuild the JSON body of a typed push (from the raw JSON each record keeps)."""
    if isinstance(push, ev.FeePush):
        return {"eventType": "fee", "feeLst": [c.raw for c in push.cdrs]}
    if isinstance(push, ev.CallEvent):
        return {"eventType": push.event_type, "statusInfo": push.raw}
    if isinstance(push, ev.SmsEvent):
        return push.raw
    if isinstance(push, ev.NumStatusPush):
        items = [
            {"number": n.number, "status": n.status, "cause": n.cause, **n.extra}
            for n in push.numbers
        ]
        return {"eventType": "numStatus", "numInfo": items}
    raise TypeError(f"not a push: {type(push).__name__}")


class Store:
    """SQLite store for pushes (see the module docstring for the guarantees).

    ``path=None`` uses a temporary file that :meth:`close` deletes. ``synchronous`` is ``"NORMAL"``
    (survives a crash of the process) or ``"FULL"`` (also survives power loss). ``timeout`` is how
    long a write waits for a lock held by another process before :class:`StoreError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        timeout: float = 5.0,
    ) -> None:
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        self._temp_dir: str | None = None
        if path is None or str(path) == ":memory:":
            self._temp_dir = tempfile.mkdtemp(prefix="toolkit-store-")
            path = os.path.join(self._temp_dir, "pushes.sqlite3")
        self.path = os.fspath(path)
        self.synchronous = synchronous.upper()
        self._timeout = timeout
        self._write_lock = threading.Lock()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        self._committed = threading.Condition()
        try:
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.executescript(_SCHEMA)
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store at {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        """Bring a store written by an earlier version up to :mod:`toolkit.schema`'s columns."""
        if not schema.missing_columns(self._writer):
            return  # the usual case: no write lock needed
        self._writer.execute("BEGIN IMMEDIATE")
        try:
            schema.migrate(self._writer)
            self._writer.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._writer.execute("ROLLBACK")
            raise

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        return conn

    # -- writing ---------------------------------------------------------------------------

    prepare = staticmethod(prepare)

    def add(self, push: Any, *, product: ev.Product | None = None) -> int:
        """Store one push (a decoded JSON body or a typed push); return the number of new rows."""
        body = push if isinstance(push, Mapping) else _body_of(push)
        return self.write([prepare(body, product=product)])[0]

    def write(self, batches: Sequence[Batch]) -> list[int]:
        """Insert several batches in one transaction; return the new rows of each batch.

        Raises :class:`StoreError` when SQLite cannot commit (nothing is stored). A batch that
        SQLite refuses for its content is impossible after :func:`prepare`; should it happen,
        :meth:`write_each` isolates it so it cannot fail the others.
        """
        if self._closed:
            raise StoreError("the store is closed")
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"store unavailable: {exc}") from exc
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
        with self._committed:
            self._committed.notify_all()
        return new

    def write_each(self, batches: Sequence[Batch]) -> list[int | Exception]:
        """Like :meth:`write`, but one failing batch does not fail the others.

        All batches go in one transaction; if that fails for a reason other than the database
        being unavailable, each batch is retried in its own transaction.
        """
        try:
            return list(self.write(batches))
        except StoreError as exc:
            return [exc] * len(batches)
        except Exception:
            if len(batches) == 1:
                raise
        results: list[int | Exception] = []
        for batch in batches:
            try:
                results.append(self.write([batch])[0])
            except Exception as exc:
                results.append(exc)
        return results

    def _insert(self, conn: sqlite3.Connection, batches: Sequence[Batch]) -> list[int]:
        # Inside the write transaction: no other writer can take a seq between here and COMMIT.
        top = conn.execute(_MAX_SEQ).fetchone()[0]
        seqs = count((top or 0) + 1)
        new: list[int] = []
        for batch in batches:
            before = conn.total_changes
            for table in ("cdrs", "events", "sms"):
                rows = getattr(batch, table)
                if rows:
                    numbered = [(s, *r) for s, r in zip(seqs, rows, strict=False)]
                    conn.executemany(_INSERT[table], numbered)
            for row in batch.num_status:
                last = conn.execute(
                    "SELECT status, cause FROM num_status WHERE number IS ? "
                    "ORDER BY seq DESC LIMIT 1",
                    (row[0],),
                ).fetchone()
                if last is None or tuple(last) != (row[1], row[2]):
                    conn.execute(_INSERT["num_status"], (next(seqs), *row))
            new.append(conn.total_changes - before)
        return new

    # -- reading ---------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only query on this thread's reader connection; rows as plain dicts."""
        try:
            return [dict(r) for r in self._reader().execute(sql, params)]
        except sqlite3.OperationalError as exc:
            raise StoreError(f"store unavailable: {exc}") from exc

    def rows(
        self, table: Table, since: int = 0, limit: int | None = None, *, last: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` with ``seq > since`` in ``seq`` order, as dicts of the columns.

        ``limit`` caps how many rows are returned from ``since`` on; ``last`` keeps only the
        newest ``last`` rows (still oldest first).
        """
        if table not in TABLES:
            raise ValueError(f"table must be one of {TABLES}, not {table!r}")
        if last is not None:
            rows = self.query(
                f"SELECT * FROM {table} WHERE seq > ? ORDER BY seq DESC LIMIT ?", (since, last)
            )
            return rows[::-1]
        return self.query(
            f"SELECT * FROM {table} WHERE seq > ? ORDER BY seq LIMIT ?",
            (since, -1 if limit is None else limit),
        )

    def cdrs(self, since: int = 0, limit: int | None = None, *, last: int | None = None):
        """CDR rows (the ``cdrs`` columns) with ``seq > since``."""
        return self.rows("cdrs", since, limit, last=last)

    def events(self, since: int = 0, limit: int | None = None, *, last: int | None = None):
        """Call-event rows with ``seq > since``."""
        return self.rows("events", since, limit, last=last)

    def sms(self, since: int = 0, limit: int | None = None, *, last: int | None = None):
        """SMS rows with ``seq > since``."""
        return self.rows("sms", since, limit, last=last)

    def num_status(self, since: int = 0, limit: int | None = None, *, last: int | None = None):
        """X-number status rows (a change log) with ``seq > since``."""
        return self.rows("num_status", since, limit, last=last)

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
        conn = self._reader()
        if conn.in_transaction:  # already inside a snapshot
            yield
            return
        try:
            conn.execute("BEGIN")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"store unavailable: {exc}") from exc
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def count(self, table: Table = "cdrs") -> int:
        """How many rows ``table`` holds."""
        if table not in TABLES:
            raise ValueError(f"table must be one of {TABLES}, not {table!r}")
        return int(self.query(f"SELECT count(*) AS n FROM {table}")[0]["n"])

    def counts(self) -> dict[str, int]:
        """Row counts of every table."""
        return {t: self.count(t) for t in TABLES}  # type: ignore[arg-type]

    def last_seq(self) -> int:
        """The highest ``seq`` committed so far (0 for an empty store): a cursor for "from now"."""
        return int(self.query(_MAX_SEQ)[0]["m"] or 0)

    def wait(self, timeout: float) -> None:
        """Sleep until a write commits in this process or ``timeout`` seconds pass."""
        with self._committed:
            self._committed.wait(timeout)

    @staticmethod
    def record(table: str, row: Mapping[str, Any]) -> Any:
        """The typed record (:class:`~toolkit.events.Cdr`, ``CallEvent``...) for a stored row."""
        return schema.record(table, row)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection; a temporary store's file is deleted."""
        if self._closed:
            return
        self._closed = True
        with self._write_lock:
            self._writer.close()
        with self._readers_lock:
            for conn in self._readers:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._readers.clear()
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "temporary" if self._temp_dir else "file"
        state = "closed" if self._closed else "open"
        return f"Store({self.path!r}, {kind}, {state})"
