"""``python -m toolkit store copy SRC DST``: copy a store into another, SQLite or PostgreSQL.

Moving from one machine's SQLite file to a PostgreSQL database that several receivers share (or
back, to hand a file to an analyst) is one command, and running it again copies nothing new:

* CDRs, call events and SMS are inserted with their dedupe keys, so a row the destination holds
  already (copied before, or received there directly) is skipped;
* X-number status rows and quarantined pushes have no key: a row identical to one the destination
  holds is skipped;
* every row keeps its columns, its ``raw`` JSON and its trust (``verified``): the keys carry the
  trust, so copied unverified rows can never shadow verified ones. Quarantined pushes stay in
  quarantine.

Rows get new ``seq`` numbers in the destination, after what it holds, in the source's order
within each table. Nonces are not copied: they only matter for a few minutes, and a push replayed
across the move is a duplicate the keys catch anyway. The source is opened read-only.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from . import schema
from .engine import TABLES, Batch
from .errors import StoreError
from .store import QUARANTINE_COLUMNS
from .stores import mask_url, open_store

__all__ = ["copy_store", "main"]

PAGE = 5_000  # rows read and written per transaction
_IDENTITY = ("number", "status", "cause", "received_at", "verified")  # a num_status row


def copy_store(source: Any, target: Any, *, page: int = PAGE) -> dict[str, int]:
    """Copy every row of the engine ``source`` that ``target`` lacks; new rows per table.

    Both are open engines (:class:`~toolkit.store.Store` or :class:`~toolkit.pgstore.PgStore`).
    The keyed tables (CDRs, events, SMS) and the X-number status log go in pages of ``page``
    rows, one transaction each; then the quarantine. A page the target refuses for its content
    (a value another program wrote into the source that the target's column types reject) is
    retried row by row and the rows refused are counted under ``"refused"``.
    """
    copied = dict.fromkeys((*TABLES, "quarantine", "refused"), 0)
    held = {tuple(r[c] for c in _IDENTITY) for r in target.rows("num_status")}
    since = 0
    while True:
        rows = source.changes(since, limit=page, tables=TABLES)
        if not rows:
            break
        since = rows[-1][1]["seq"]
        pages: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        for table, row in rows:
            if table == "num_status":
                identity = tuple(row[c] for c in _IDENTITY)
                if identity in held:
                    continue
                held.add(identity)
            pages[table].append(tuple(row.get(c) for c in schema.TABLES[table].names[1:]))
        _write(target, pages, copied)
    have = {(r["received_at"], r["reason"], r["body"]) for r in target.quarantine()}
    kept = [
        tuple(r[c] for c in QUARANTINE_COLUMNS[1:])
        for r in source.quarantine()
        if (r["received_at"], r["reason"], r["body"]) not in have
    ]
    for start in range(0, len(kept), page):
        target.write([Batch(quarantine=kept[start : start + page])])
        copied["quarantine"] += len(kept[start : start + page])
    return copied


def _batch(table: str, rows: list[tuple[Any, ...]]) -> Batch:
    batch = Batch()
    setattr(batch, table, rows)
    return batch


def _write(target: Any, pages: dict[str, list[tuple[Any, ...]]], copied: dict[str, int]) -> None:
    """One page in one transaction (a batch per table, so the counts are per table); if the
    target refuses its content, row by row."""
    tables = [t for t in TABLES if pages[t]]
    try:
        new = target.write([_batch(t, pages[t]) for t in tables])
    except StoreError:
        raise  # the database, not the data: stop (a rerun resumes, the keys skip what is in)
    except Exception:
        new = None
    if new is not None:
        for table, n in zip(tables, new, strict=True):
            copied[table] += n or 0
        return
    for table in tables:
        for row in pages[table]:
            try:
                (n,) = target.write([_batch(table, [row])])
            except StoreError:
                raise
            except Exception:
                copied["refused"] += 1
                continue
            copied[table] += n or 0


def main(argv: list[str] | None = None) -> int:
    """``python -m toolkit store copy SRC DST``."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit store",
        description="Work on whole stores (a SQLite file or a postgresql:// URL).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser(
        "copy",
        help="copy the rows of SRC that DST lacks (run again: copies nothing new)",
        description="Copy every CDR, event, SMS, X-number status and quarantined push of SRC "
        "that DST does not hold into DST (created if missing). SRC and DST are each a SQLite "
        "file or a postgresql://user:password@host/dbname URL.",
    )
    copy.add_argument("source", metavar="SRC")
    copy.add_argument("target", metavar="DST")
    copy.add_argument("--page", type=int, default=PAGE, help=f"rows per transaction ({PAGE})")
    args = parser.parse_args(argv)
    shown_source, shown_target = mask_url(args.source), mask_url(args.target)
    began = time.perf_counter()
    try:
        with (
            open_store(args.source, readonly=True) as source,
            open_store(args.target) as target,
        ):
            copied = copy_store(source, target, page=max(1, args.page))
    except StoreError as exc:
        print(f"cannot copy {shown_source} to {shown_target}: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - began
    parts = ", ".join(f"{n} {t}" for t, n in copied.items() if t != "refused")
    print(f"copied {parts} from {shown_source} to {shown_target} in {seconds:.1f} s")
    if copied["refused"]:
        print(f"{copied['refused']} rows were refused by the destination", file=sys.stderr)
        return 1
    return 0
