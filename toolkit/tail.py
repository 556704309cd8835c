"""Watch CDRs and events arrive: :func:`follow` in Python, ``python -m toolkit tail`` in a shell.

``follow(store)`` yields typed records (:class:`~toolkit.events.Cdr`, call events, SMS, X-number
status) as they are committed, each with its ``seq``, so a reader can resume where it stopped::

    for cdr in follow(store, tables=("cdrs",)):
        print(cdr.caller_num, cdr.talk_seconds)

The command prints one line per CDR: end time (UTC), masked caller → X → callee, outcome, ring
and talk seconds (by the rules of :mod:`toolkit.schema`, as everywhere else), and the hang-up codes
with their meaning.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import schema
from .cli_format import HelpFormatter
from .events import MAX_EPOCH, MIN_EPOCH
from .follower import Stop, follow_rows
from .numbers import mask
from .store import TABLES, Store, StoreError, Table  # noqa: F401 (TABLES: tail.TABLES is public)
from .stores import is_url, mask_url
from .terminal import printable

log = logging.getLogger(__name__)


def follow(
    store: Store,
    since: int | None = 0,
    *,
    poll: float = 0.5,
    stop: Stop = None,
    tables: Iterable[Table] = ("cdrs", "events"),
) -> Iterator[Any]:
    """Yield each record committed to ``store`` after ``seq == since``, oldest first, for ever.

    ``since=None`` starts from now. ``stop`` (a ``threading.Event`` or a function returning
    True) ends the generator once the records committed so far have been yielded. ``tables``
    picks among ``"cdrs"``, ``"events"``, ``"sms"`` and ``"num_status"``.
    """
    return _typed(follow_rows(store, since, poll=poll, stop=stop, tables=tables))


def _typed(rows: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[Any]:
    # Store.record never fails on a row's content: a badly written row comes out degraded
    # (see its ``unreadable``), and the rows after it still flow.
    for table, row in rows:
        yield Store.record(table, row)


# --------------------------------------------------------------------------------------------
# Stored values a display can rely on

# The typed columns of the store's tables (toolkit.schema); other columns pass through unchecked.
_SCHEMA_COLUMNS = [c for table in schema.TABLES.values() for c in table.columns]
_TIME_COLUMNS = frozenset(c.name for c in _SCHEMA_COLUMNS if c.kind == "time")
_INTEGER_COLUMNS = frozenset(c.name for c in _SCHEMA_COLUMNS if c.kind == "int") | {"seq"}
_TEXT_COLUMNS = frozenset(c.name for c in _SCHEMA_COLUMNS if c.sql == "TEXT" and c.name != "raw")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def readable_row(row: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A stored row whose values all have the type their column promises, and the columns that
    did not (now ``None``).

    The receiver only stores times between 2000 and 2100, integers in integer columns and text in
    text columns, but a store written by an older version or by another program may hold
    anything SQLite accepts: displays read this copy so that such a row shows gaps, not a crash.
    """
    clean = dict(row)
    bad: list[str] = []
    for name, value in row.items():
        if value is None:
            continue
        if name in _TIME_COLUMNS:
            ok = _is_number(value) and MIN_EPOCH <= value < MAX_EPOCH
        elif name in _INTEGER_COLUMNS:
            ok = type(value) is int
        elif name in _TEXT_COLUMNS:
            ok = isinstance(value, str)
        else:
            continue
        if not ok:
            clean[name] = None
            bad.append(name)
    return clean, tuple(bad)


# --------------------------------------------------------------------------------------------
# One line per CDR


def _seconds(value: int | None) -> str:
    return "-" if value is None else f"{value}s"


def _raw_codes(row: Mapping[str, Any]) -> str:
    parts = [
        f"{label} {row[col]}"
        for label, col in (
            ("release", "ul_fail_reason"),
            ("Q.850", "fwd_unasw_rsn"),
            ("SIP", "sip_status_code"),
        )
        if row.get(col) is not None
    ]
    return ", ".join(parts) or "no codes"


def format_cdr(
    row: Mapping[str, Any], *, raw_numbers: bool = False, tz: tzinfo = timezone.utc
) -> str:
    """One display line for a stored CDR row (numbers masked unless ``raw_numbers``).

    The time is shown in ``tz`` (stored times are UTC): ``...Z`` in UTC, else with its offset
    (``2024-03-01 18:15:09+08:00``).

    Ring and talk seconds follow :mod:`toolkit.schema` ("-" when there is none, e.g. no talk
    without an answer time); the outcome and verdict come from :func:`toolkit.codes.explain`, the
    raw codes follow it. Values the row should not hold (see :func:`readable_row`) are left out
    and named at the end (``[unreadable: call_end_time]``); control characters are shown escaped,
    never sent raw.
    """
    from .codes import explain

    row, unreadable = readable_row(row)
    show = (lambda n: n or "") if raw_numbers else mask
    when = row.get("call_end_time") or row.get("fail_time") or row.get("call_in_time")
    stamp = "????-??-?? ??:??:??Z" if when is None else _stamp(when, tz)
    callee = row.get("fwd_dst_num") or row.get("callee_num")
    parties = f"{show(row.get('caller_num'))} → {show(row.get('bind_num'))} → {show(callee)}"
    ring = _seconds(schema.ring_seconds(row))
    talk = _seconds(schema.talk_seconds(row))
    try:
        verdict = explain(row)
        outcome, meaning = verdict.outcome, verdict.text
    except Exception:  # a decoder bug must never stop the tail: show the raw codes instead
        log.debug("could not explain seq=%s", row.get("seq"), exc_info=True)
        outcome, meaning = "?", _raw_codes(row)
    line = f"{stamp}  {parties}  {outcome:<16} ring {ring:>5}  talk {talk:>6}  {meaning}"
    if unreadable:
        line += f"  [unreadable: {', '.join(unreadable)}]"
    return printable(line)


def _stamp(epoch: float, tz: tzinfo) -> str:
    moment = datetime.fromtimestamp(epoch, timezone.utc).astimezone(tz)
    offset = moment.strftime("%z")
    suffix = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    return moment.strftime("%Y-%m-%d %H:%M:%S") + suffix


def display_zone(name: str) -> tzinfo:
    """The zone ``--tz`` names: ``UTC``, ``local`` (this machine's) or an IANA name such as
    ``Asia/Shanghai``; :class:`argparse.ArgumentTypeError` otherwise."""
    if name.upper() == "UTC":
        return timezone.utc
    if name.lower() == "local":
        zone = datetime.now().astimezone().tzinfo
        return zone if zone is not None else timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {name!r}: give UTC, local or a name such as Asia/Shanghai"
        ) from None


def main(argv: list[str] | None = None) -> int:
    """``python -m toolkit tail``: print stored CDRs, newest last; ``--follow`` keeps watching."""
    parser = argparse.ArgumentParser(
        prog="python -m toolkit tail",
        description="Print the CDRs in a receiver's store, one line each, newest last. Phone "
        "numbers are masked unless --show-numbers is given; times are stored in UTC and shown "
        "in the zone --tz names.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--db",
        default="pushes.db",
        help="SQLite store (default pushes.db) or a postgresql:// URL",
    )
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new CDRs")
    parser.add_argument(
        "-n",
        "--lines",
        type=int,
        default=None,
        help="start with only the last N stored CDRs (default: all)",
    )
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between checks")
    parser.add_argument(
        "--tz",
        type=display_zone,
        default="UTC",
        help="time zone of the times shown: UTC, local (this machine's) or an IANA name such as "
        "Asia/Shanghai",
    )
    parser.add_argument(
        "--show-numbers",
        action="store_true",
        dest="raw_numbers",
        help="show phone numbers in full (masked by default)",
    )
    # The old name of --show-numbers, kept working for one release but no longer shown.
    parser.add_argument(
        "--raw-numbers", action="store_true", dest="old_raw_numbers", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.old_raw_numbers:
        print("warning: --raw-numbers is deprecated; use --show-numbers", file=sys.stderr)
        args.raw_numbers = True
    if not is_url(args.db) and not os.path.exists(args.db):
        print(f"no store at {args.db!r} (start a receiver with --db {args.db})", file=sys.stderr)
        return 1
    try:
        # Read-only: the tail never writes, so it also reads a store on a read-only mount.
        with Store(args.db, readonly=True) as store:
            rows = store.cdrs(last=args.lines)
            for row in rows:
                print(format_cdr(row, raw_numbers=args.raw_numbers, tz=args.tz), flush=True)
            if args.follow:
                since = rows[-1]["seq"] if rows else store.last_seq()
                for _, row in follow_rows(store, since, poll=args.poll, tables=("cdrs",)):
                    print(format_cdr(row, raw_numbers=args.raw_numbers, tz=args.tz), flush=True)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # `tail ... | head`: the reader left, which is fine
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (swallow the final flush)
        return 0
    except StoreError as exc:
        print(f"cannot read {mask_url(args.db)!r}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
