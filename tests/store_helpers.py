"""Stores as they are found in the wild: rows another program wrote, and damaged files.

The receiver never stores the rows of :data:`BAD_CDRS` (times are range-checked, columns typed);
they are inserted with raw SQL so that each reader can be shown to survive them. :func:`damage`
overwrites pages of a closed store, as a failing disk or a torn copy would.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
from typing import Any

from builders import fee_body, fee_info

from toolkit.store import CDR_COLUMNS, prepare

ESCAPE = "\x1b[2J"  # clears the screen of a terminal that receives it raw

# name -> the columns that differ from a good answered CDR
BAD_CDRS: dict[str, dict[str, Any]] = {
    "year 1": {"call_in_time": -62135596800, "call_end_time": -62135596800},
    "year 31 million": {"call_end_time": 10**15, "fwd_answer_time": 10**15 - 100},
    "text in integer columns": {"call_end_time": "yesterday", "ul_fail_reason": "busy"},
    "huge real in an integer column": {"fwd_alerting_time": 1.5e300},
    "blob in a number column": {"caller_num": b"\x00\x01\x02"},
    "raw not JSON": {"raw": "{not json"},
    "raw not an object": {"raw": "[1, 2]"},
    "raw NULL": {"raw": None},
    "raw with a time out of range": {
        "raw": json.dumps(fee_info(callInTime="0001-01-01 00:00:00+14:00", recordFlag="x"))
    },
    "escapes in text": {"caller_num": "+8613800" + ESCAPE, "user_data": ESCAPE},
}


def cdr_row(n: int, **changes: Any) -> dict[str, Any]:
    """The columns the receiver stores for ``fee_info(n)``, with ``changes`` applied."""
    (values,) = prepare(fee_body(fee_info(n))).cdrs
    row = dict(zip(CDR_COLUMNS[1:], values, strict=True))
    row.update(changes)
    return row


def insert_rows(path: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows with plain SQL, as another program would (``seq`` follows the table's)."""
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn, conn:
        for row in rows:
            names = ", ".join(row)
            marks = ", ".join("?" * len(row))
            conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values()))


def bad_cdr_rows(first: int = 100) -> list[dict[str, Any]]:
    """One row per entry of :data:`BAD_CDRS`, with distinct keys from ``first`` on."""
    return [cdr_row(first + i, **changes) for i, changes in enumerate(BAD_CDRS.values())]


def table_pages(path: Any, table: str = "cdrs") -> list[int]:
    """The page numbers (1-based) of ``table``'s leaf pages in a closed store."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
            (table,),
        )
        return [pageno for (pageno,) in rows]


def page_size(path: Any) -> int:
    with open(path, "rb") as handle:
        header = handle.read(100)
    size = int.from_bytes(header[16:18], "big")
    return 65536 if size == 1 else size


def damage(path: Any, pages: list[int]) -> None:
    """Overwrite whole pages (1-based numbers) of a database file with random bytes."""
    size = page_size(path)
    noise = random.Random(7)
    with open(path, "r+b") as handle:
        for pageno in pages:
            handle.seek((pageno - 1) * size)
            handle.write(noise.randbytes(size))
        handle.flush()
        os.fsync(handle.fileno())
