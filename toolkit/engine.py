"""What the rest of the toolkit needs from a push store, whatever database holds it.

:class:`Engine` names the operations the receiver, the tail, frames and widgets use; the SQLite
:class:`~toolkit.store.Store` is the default implementation, and another database (PostgreSQL)
slots in behind the same interface. The pieces here do not depend on the database: the
:class:`Batch` of rows a push becomes, and the table names of the read-since cursor.

Built on an engine, without knowing which: :class:`toolkit.commit.GroupCommitter` (many
pushes per transaction, committed by whichever request finds no commit running) and
:class:`toolkit.follower.Follower` (the read-since loop).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from .errors import StoreError, ValidationError

__all__ = [
    "NONCE_PURGE_EVERY",
    "QUARANTINE_COLUMNS",
    "QUARANTINE_SIZE",
    "TABLES",
    "Batch",
    "Engine",
    "EngineBase",
    "Table",
    "check_table",
    "one_line",
]

Table = Literal["cdrs", "events", "sms", "num_status"]
TABLES: tuple[Table, ...] = ("cdrs", "events", "sms", "num_status")
# Pushes that failed verification and are kept anyway, apart from the push tables.
QUARANTINE_COLUMNS = ("id", "received_at", "product", "reason", "remote_addr", "body")
QUARANTINE_SIZE = 10_000  # the newest rows kept: a flood of forged pushes cannot fill the disk
NONCE_PURGE_EVERY = 60.0  # seconds between deletions of nonces whose window is over


def check_table(table: str) -> None:
    """Raise :class:`~toolkit.errors.ValidationError` unless ``table`` is one of :data:`TABLES`."""
    if table not in TABLES:
        raise ValidationError("table", f"must be one of {TABLES}, not {table!r}")


def one_line(exc: BaseException) -> str:
    """A database error's message on one line, for a :class:`~toolkit.errors.StoreError`."""
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass
class Batch:
    """The rows of one push, validated and ready to insert (see :func:`toolkit.batches.prepare`).

    Rows lack their ``seq``, which :meth:`Engine.write` assigns inside the transaction.
    ``nonce`` is ``(app_key, nonce, expires_at)`` of a verified push: it is recorded in the same
    transaction, and if it is held already the batch is a replay and none of its rows are
    written. ``quarantine`` holds rows for the quarantine table
    (see :func:`toolkit.batches.quarantine_row`).
    """

    cdrs: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    sms: list[tuple[Any, ...]] = field(default_factory=list)
    num_status: list[tuple[Any, ...]] = field(default_factory=list)
    nonce: tuple[str, str, float] | None = None
    quarantine: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cdrs) + len(self.events) + len(self.sms) + len(self.num_status)


_Engine = TypeVar("_Engine", bound="EngineBase")


class EngineBase:
    """What every engine does in the same words, built on its own :meth:`write`, :meth:`query`
    and :meth:`rows` (which speak its SQL dialect) and :meth:`close`."""

    _committed: threading.Condition  # notified by each engine's write once it has committed

    def write(self, batches: Sequence[Batch]) -> list[int | None]:
        """Insert the batches in one transaction; each one's new rows, ``None`` for a replay."""
        raise NotImplementedError

    def write_each(self, batches: Sequence[Batch]) -> list[int | Exception | None]:
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
        results: list[int | Exception | None] = []
        for batch in batches:
            try:
                results.append(self.write([batch])[0])
            except Exception as exc:
                results.append(exc)
        return results

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only query; rows as plain dicts (the engine's placeholders)."""
        raise NotImplementedError

    def rows(
        self, table: Table, since: int = 0, limit: int | None = None, *, last: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` with ``seq > since`` in ``seq`` order, as dicts of the columns.

        ``limit`` caps how many rows are returned from ``since`` on; ``last`` keeps only the
        newest ``last`` rows (still oldest first).
        """
        raise NotImplementedError

    def cdrs(
        self, since: int = 0, limit: int | None = None, *, last: int | None = None
    ) -> list[dict[str, Any]]:
        """CDR rows (the ``cdrs`` columns) with ``seq > since``."""
        return self.rows("cdrs", since, limit, last=last)

    def events(
        self, since: int = 0, limit: int | None = None, *, last: int | None = None
    ) -> list[dict[str, Any]]:
        """Call-event rows with ``seq > since``."""
        return self.rows("events", since, limit, last=last)

    def sms(
        self, since: int = 0, limit: int | None = None, *, last: int | None = None
    ) -> list[dict[str, Any]]:
        """SMS rows with ``seq > since``."""
        return self.rows("sms", since, limit, last=last)

    def num_status(
        self, since: int = 0, limit: int | None = None, *, last: int | None = None
    ) -> list[dict[str, Any]]:
        """X-number status rows (a change log) with ``seq > since``."""
        return self.rows("num_status", since, limit, last=last)

    def count(self, table: Table = "cdrs") -> int:
        """How many rows ``table`` holds."""
        check_table(table)
        return int(self.query(f"SELECT count(*) AS n FROM {table}")[0]["n"])

    def counts(self) -> dict[str, int]:
        """Row counts of every table."""
        return {t: self.count(t) for t in TABLES}

    def wait(self, timeout: float) -> bool:
        """Sleep until a write commits in this process or ``timeout`` seconds pass; true if a
        commit woke it (writes of other processes, or other receivers, are seen only by reading
        again: followers poll)."""
        with self._committed:
            return self._committed.wait(timeout)

    def close(self) -> None:
        """Release the connections; later calls raise :class:`~toolkit.errors.StoreError`."""
        raise NotImplementedError

    def __enter__(self: _Engine) -> _Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@runtime_checkable
class Engine(Protocol):
    """A push store: idempotent atomic writes, a read-since cursor, typed records.

    Every method raises :class:`~toolkit.errors.StoreError` when the database cannot serve it
    (and only that, or :class:`~toolkit.errors.ValidationError` for a bad argument).
    """

    path: str  # where the data lives, for messages (a file path, or a URL without secrets)

    def write(self, batches: Sequence[Batch]) -> list[int | None]:
        """Insert the batches in one transaction; each one's new rows, ``None`` for a replay."""
        ...

    def write_each(self, batches: Sequence[Batch]) -> list[int | Exception | None]:
        """Like :meth:`write`, but a batch that fails gives its exception, not the others'."""
        ...

    def rows(
        self, table: Table, since: int = 0, limit: int | None = None, *, last: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` with ``seq > since``, in ``seq`` order."""
        ...

    def changes(
        self, since: int = 0, limit: int = 1000, tables: Iterable[Table] = TABLES
    ) -> list[tuple[str, dict[str, Any]]]:
        """New rows of several tables, as of one moment, merged in ``seq`` order."""
        ...

    def last_seq(self) -> int:
        """The highest ``seq`` committed so far (0 when empty)."""
        ...

    def count(self, table: Table = "cdrs") -> int:
        """How many rows ``table`` holds."""
        ...

    def counts(self) -> dict[str, int]:
        """Row counts of every table."""
        ...

    def wait(self, timeout: float) -> bool | None:
        """Sleep until a write commits or ``timeout`` seconds pass; true if a commit woke it.

        An engine that cannot tell may return ``None``: followers then poll every ``timeout``.
        """
        ...

    def record(self, table: str, row: Mapping[str, Any]) -> Any:
        """The typed record (:class:`~toolkit.events.Cdr`...) for a stored row; never fails on
        what the row holds."""
        ...

    def quarantine(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The pushes kept apart because they failed verification, oldest first."""
        ...

    def close(self) -> None:
        """Release the connections; later calls raise :class:`~toolkit.errors.StoreError`."""
        ...
