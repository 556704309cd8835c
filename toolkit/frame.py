"""CDRs as a typed pandas DataFrame: timestamps, codes, outcomes, billed minutes.

:func:`cdr_frame` reads CDRs from a :class:`~toolkit.store.Store`, a store's SQLite file, push
bodies (``{"eventType": "fee", "feeLst": [...]}``), bare FeeInfo dicts or a JSON file of either,
and returns one row per CDR::

    seq               Int64               the store's cursor (push bodies: 1, 2, ... in input order)
    product           category            privatenumber / voicecall
    mode              category            AX, AXB, AXE, AXYB, X, VoiceCall; <NA> when not inferable
    direction         category            to-A, from-A, abnormal (PrivateNumber); outbound, callback
    bind_num          category            the privacy number X, masked unless raw_numbers=True
    subscription_id   category            the binding id
    start_time        datetime64[s, tz]   callInTime, else the first time the CDR carries
    fwd_alerting_time / fwd_answer_time / call_end_time   datetime64[s, tz]
    ul_fail_reason / fwd_unasw_rsn / sip_status_code       Int64 (<NA> when absent)
    ring_seconds      Int64               alerting -> answer, else failure, else end; <NA> unknown
    talk_seconds      Int64               answer -> end; <NA> without an answer time, or unknown
    billed_minutes    Int64               ceil(talk / 60 s); 0 without an answer time (spec §11)
    outcome           category            one of toolkit.codes.OUTCOMES
    category          category            category of the code that decided the outcome
    cause             category            "<code> <meaning>" of that code; "answered" when answered

Ring and talk seconds are SQL renderings of the rules in :mod:`toolkit.schema`, and billed
minutes apply its billing function to each distinct talk time: the same rules the tail, the
widgets and :class:`~toolkit.events.Cdr` use. The answer time is ``fwdAnswerTime``, or
``callOutAnswerTime`` on a one-leg VoiceCall CDR (notification, verification); the columns
``alerting_time``/``answer_time`` show which time was used. The outcome comes from
:mod:`toolkit.codes` with that answer time.

More columns (party numbers, the other times, ids, ``record_flag``...) are read on request with
``columns=[...]`` or ``columns="all"`` (see :data:`COLUMNS`). Party numbers are not read by default:
analyses rarely need them, they are the costliest columns to load, and not loading them is the
best privacy default. Whatever number columns are loaded are masked unless ``raw_numbers=True``.

**Mode.** A CDR has no mode field, so :func:`cdr_frame` infers what the CDR shows: a VoiceCall CDR
is ``VoiceCall``; ``notifyMode`` (sent only in X mode, always ``Block``) means ``X``; an
``extendNum`` (AXE only) means ``AXE``. AX, AXB and AXYB CDRs look alike, so their mode is
``<NA>`` unless ``app_modes`` maps app keys to modes (every app has exactly one mode, so that
mapping is exact and wins over the inference).

**Speed.** Loading a store is the hot path (a million CDRs in about 3 s). SQLite filters rows
(time range, X number), computes the derived integers, and hands each chunk of rows over as one
long string per column, which numpy and ``str.split`` parse in C: creating a Python object per
value, as ``cursor.fetchall()`` does, would cost several times more than everything else together.
Chunks of a store file are read by a few threads at once (SQLite works without the GIL). Outcomes
and causes are decoded once per distinct combination of codes, not once per row; numbers are
masked once per distinct number.
"""

from __future__ import annotations

import json
import os
import sqlite3
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import schema
from .errors import ValidationError
from .expr import Col, Const, Expr, First, Missing, Not, When
from .numbers import mask, normalize

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PRODUCTS = ("privatenumber", "voicecall")
MODES = ("AX", "AXB", "AXE", "AXYB", "X", "VoiceCall")
# FeeInfo.direction: PrivateNumber 0 = someone called A (AXB: B called A), 1 = A called out,
# 2 = abnormal (no binding...); VoiceCall 0 = outbound call, 1 = callback.
DIRECTIONS = ("to-A", "from-A", "abnormal", "outbound", "callback")

Kind = Literal[
    "int",
    "time",
    "code",
    "seconds",
    "product",
    "mode",
    "direction",
    "number",
    "label",
    "text",
    "flag",
    "derived",
]


@dataclass(frozen=True)
class _Column:
    """One output column: how SQLite computes it and how it is typed."""

    kind: Kind
    # SQL over the cdrs table: an expression of toolkit.schema (rendered for the store at hand),
    # plain SQL over columns every store has, or None for columns derived in Python.
    sql: Expr | str | None
    default: bool = False


def _stored(kind: Kind, name: str, default: bool = False) -> _Column:
    """A column as the store holds it (the name must be one of toolkit.schema's cdrs columns)."""
    schema.CDRS.column(name)
    return _Column(kind, Col(name), default)


# A CDR's own time: when the call reached X, else the first stage it did reach. VoiceCall
# notify/verify CDRs may carry only callEndTime (unconfirmed which times they send).
_START = (
    "coalesce(call_in_time, fwd_start_time, fwd_alerting_time, fwd_answer_time, "
    "call_end_time, fail_time)"
)

# talk_seconds is read with one state more than NULL: _ANSWERED_NO_TALK for a call that has an
# answer time but no usable talk time. Whether a call has an answer time (which the outcome and the
# billed minutes depend on) then follows from this one column: one more column to read would cost
# a tenth of the load.
_ANSWERED_NO_TALK = -2
_TALK = First(
    (schema.TALK_SECONDS, When(Not(Missing(schema.ANSWER_TIME)), Const(_ANSWERED_NO_TALK)))
)

COLUMNS: dict[str, _Column] = {
    "seq": _stored("int", "seq", True),
    "product": _Column(
        "product", "CASE product WHEN 'privatenumber' THEN 0 WHEN 'voicecall' THEN 1 END", True
    ),
    "mode": _Column("mode", None, True),  # SQL built per call: app_modes goes into it
    "direction": _stored("direction", "direction", True),
    "bind_num": _stored("number", "bind_num", True),
    "subscription_id": _stored("label", "subscription_id", True),
    "app_key": _stored("label", "app_key"),
    "session_id": _stored("text", "session_id"),
    "icid": _stored("text", "icid"),
    "caller_num": _stored("number", "caller_num"),
    "callee_num": _stored("number", "callee_num"),
    "fwd_display_num": _stored("number", "fwd_display_num"),
    "fwd_dst_num": _stored("number", "fwd_dst_num"),
    "start_time": _Column("time", _START, True),
    "call_in_time": _stored("time", "call_in_time"),
    "fwd_start_time": _stored("time", "fwd_start_time"),
    "fwd_alerting_time": _stored("time", "fwd_alerting_time", True),
    "fwd_answer_time": _stored("time", "fwd_answer_time", True),
    "call_end_time": _stored("time", "call_end_time", True),
    "fail_time": _stored("time", "fail_time"),
    "call_out_alerting_time": _stored("time", "call_out_alerting_time"),
    "call_out_answer_time": _stored("time", "call_out_answer_time"),
    "ul_fail_reason": _stored("code", "ul_fail_reason", True),
    "fwd_unasw_rsn": _stored("code", "fwd_unasw_rsn", True),
    "sip_status_code": _stored("code", "sip_status_code", True),
    "record_flag": _stored("flag", "record_flag"),
    "service_type": _stored("label", "service_type"),
    "extend_num": _stored("label", "extend_num"),
    "notify_mode": _stored("label", "notify_mode"),
    "user_data": _stored("text", "user_data"),
    "received_at": _Column("time", "CAST(received_at AS INTEGER)"),
    # The derived facts, by the rules of toolkit.schema (the same as the tail's and Cdr's).
    "alerting_time": _Column("time", schema.ALERTING_TIME),
    "answer_time": _Column("time", schema.ANSWER_TIME),
    "ring_seconds": _Column("seconds", schema.RING_SECONDS, True),
    "talk_seconds": _Column("seconds", _TALK, True),
    "billed_minutes": _Column("derived", None, True),
    "outcome": _Column("derived", None, True),
    "category": _Column("derived", None, True),
    "cause": _Column("derived", None, True),
}
DEFAULT_COLUMNS: tuple[str, ...] = tuple(n for n, c in COLUMNS.items() if c.default)

# What the derived columns (and direction labels, which need the product) are computed from;
# always read, dropped again unless asked for.
_ALWAYS = ("product", "talk_seconds", "ul_fail_reason", "fwd_unasw_rsn", "sip_status_code")
_INTEGER_KINDS = frozenset(
    {"int", "time", "code", "seconds", "product", "mode", "direction", "flag"}
)
_NULL = -(2**63)  # SQL NULL in code columns (see _absent); viewed as datetime64 it is NaT
_SEP = "\x1f"  # ASCII unit separator: joins text values; a value containing it is re-read
_SORTED_CATEGORIES = 10_000
_CHUNK = 250_000  # seq values per statement: bounds the strings SQLite builds
_WORKERS = min(4, os.cpu_count() or 1)  # threads reading chunks of a store file

Source = Any  # Store | str | os.PathLike | Mapping | Iterable[Mapping]


def cdr_frame(
    source: Source,
    *,
    start: Any = None,
    end: Any = None,
    bind_num: str | Iterable[str] | None = None,
    outcome: str | Iterable[str] | None = None,
    tz: str = "UTC",
    raw_numbers: bool = False,
    columns: Sequence[str] | Literal["all"] | None = None,
    app_modes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """CDRs from ``source`` as a typed DataFrame (columns in the module docstring).

    ``source``: a :class:`~toolkit.store.Store`, the path of a store's SQLite file, a PostgreSQL
    store or its ``postgresql://`` URL (:mod:`toolkit.pgframe`), a push body or
    FeeInfo dict, an iterable of those, or the path of a ``.json``/``.jsonl`` file holding them.

    Filters: ``start`` (inclusive) and ``end`` (exclusive) on ``start_time``, as anything
    :class:`pandas.Timestamp` accepts (naive values are read in ``tz``); ``bind_num``, one X number
    or several; ``outcome``, one of :data:`toolkit.codes.OUTCOMES` or several.

    ``tz`` is the display zone of the timestamp columns (they are stored in UTC), e.g.
    ``"Asia/Shanghai"``. ``raw_numbers=True`` shows phone numbers unmasked. ``columns`` picks
    columns from :data:`COLUMNS` (``"all"`` for every one); ``app_modes`` maps app keys to their
    mode ("AXB", "AX", ...), which CDRs cannot show by themselves.

    Raises :class:`~toolkit.errors.ValidationError` for an unusable argument (unknown column,
    outcome or zone, a path that is neither a store nor JSON). Bad CDRs inside push bodies are
    skipped with a warning; missing fields and unknown codes are data, not errors.
    """
    wanted = _wanted_columns(columns)
    outcomes = _wanted_outcomes(outcome)
    zone = _zone(tz)
    where, params = _filters(start, end, bind_num, outcomes, zone)
    mode_sql, mode_params = _mode_sql(app_modes)
    query = _Query(wanted, mode_sql, mode_params, where, params)

    url = _postgres_url(source)
    if url is not None:
        from .pgframe import read

        values = read(url, query)
    else:
        conn, path = _connect(source)
        try:
            values = query.run(conn, path)
        finally:
            conn.close()
    frame = _build(values, zone, raw_numbers)
    if outcomes is not None:
        frame = frame[frame["outcome"].isin(outcomes).to_numpy()].reset_index(drop=True)
    return frame[list(wanted)]


# -- arguments ---------------------------------------------------------------------------------


def _wanted_columns(columns: Sequence[str] | str | None) -> tuple[str, ...]:
    if columns is None:
        return DEFAULT_COLUMNS
    if isinstance(columns, str):
        if columns == "all":
            return tuple(COLUMNS)
        columns = [columns]
    names = tuple(dict.fromkeys(columns))
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ValidationError(
            "columns",
            f"unknown column(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(COLUMNS)} or 'all'",
        )
    return names


def _wanted_outcomes(outcome: str | Iterable[str] | None) -> list[str] | None:
    from .codes import OUTCOMES

    if outcome is None:
        return None
    chosen = [outcome] if isinstance(outcome, str) else list(outcome)
    unknown = [o for o in chosen if o not in OUTCOMES]
    if unknown:
        raise ValidationError("outcome", f"unknown outcome(s) {unknown}; expected {OUTCOMES}")
    return chosen


def _zone(tz: str) -> str:
    import pandas as pd

    try:
        pd.Timestamp(0, tz="UTC").tz_convert(tz)
    except Exception as exc:  # pytz/zoneinfo raise different types for an unknown zone
        raise ValidationError("tz", f"unknown time zone {tz!r}") from exc
    return tz


def _epoch(value: Any, zone: str, param: str) -> int:
    import pandas as pd

    try:
        moment = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(param, f"not a date or time: {value!r}") from exc
    if moment is pd.NaT:
        raise ValidationError(param, f"not a date or time: {value!r}")
    if moment.tzinfo is None:
        moment = moment.tz_localize(zone)
    return int(moment.timestamp() // 1)


def _filters(
    start: Any, end: Any, bind_num: Any, outcomes: list[str] | None, zone: str
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if start is not None:
        where.append(f"{_START} >= ?")
        params.append(_epoch(start, zone, "start"))
    if end is not None:
        where.append(f"{_START} < ?")
        params.append(_epoch(end, zone, "end"))
    if bind_num is not None:
        numbers = [bind_num] if isinstance(bind_num, str) else list(bind_num)
        where.append(f"bind_num IN ({', '.join('?' * len(numbers))})" if numbers else "0")
        params += [_as_stored(n) for n in numbers]
    if outcomes is not None and not outcomes:
        # Any other outcome filter needs the decoder (done after loading): a call can be
        # answered without an answer time (toolkit.codes), so SQLite cannot narrow it down.
        where.append("0")
    return where, params


def _as_stored(number: object) -> str:
    """X numbers are stored in global format; accept what people type, else use it verbatim."""
    try:
        return normalize(number, param="bind_num")
    except ValidationError:
        return str(number)


def _mode_sql(app_modes: Mapping[str, str] | None) -> tuple[str, list[Any]]:
    whens = ["WHEN product = 'voicecall' THEN 5"]
    params: list[Any] = []
    by_upper = {m.upper(): i for i, m in enumerate(MODES) if m != "VoiceCall"}
    for app_key, mode in (app_modes or {}).items():
        index = by_upper.get(str(mode).upper())
        if index is None:
            raise ValidationError(
                "app_modes",
                f"{mode!r} is not a PrivateNumber mode; expected one of {', '.join(by_upper)}",
            )
        whens.append("WHEN app_key = ? THEN ?")
        params += [app_key, index]
    # notifyMode is sent only by X mode ("fixed Block"); extendNum only by AXE.
    whens.append("WHEN notify_mode <> '' THEN 4")
    whens.append("WHEN extend_num <> '' THEN 2")
    return f"CASE {' '.join(whens)} END", params


# -- sources ---------------------------------------------------------------------------------


def _postgres_url(source: Source) -> str | None:
    """The URL to read for a PostgreSQL store or URL (:mod:`toolkit.pgframe`), else None."""
    from .stores import is_url

    if is_url(source):
        return str(source)
    if type(source).__name__ == "PgStore":  # without importing it: most frames never need it
        return str(source._url)
    return None


def _connect(source: Source) -> tuple[sqlite3.Connection, str | None]:
    """An SQLite connection holding a ``cdrs`` table for ``source``, and the file it reads
    (``None`` for push bodies, which live in memory)."""
    from .store import Store

    if isinstance(source, Store):
        # A connection of our own: the store's readers hand out dict rows, we want none at all.
        return _open_file(source.path), source.path
    if isinstance(source, str | os.PathLike):
        if _is_sqlite(source):
            return _open_file(source), os.fspath(source)
        return _from_rows(_rows_from_bodies(_read_json(source))), None
    if isinstance(source, Mapping):
        source = [source]
    if isinstance(source, Iterable):
        return _from_rows(_rows_from_bodies(source)), None
    raise ValidationError(
        "source", f"expected a Store, a path or push bodies, got {type(source).__name__}"
    )


def _is_sqlite(path: str | os.PathLike[str]) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError as exc:
        raise ValidationError("source", f"cannot read {os.fspath(path)!r}: {exc}") from exc


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


def _read_json(path: str | os.PathLike[str]) -> list[Any]:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # JSON lines: one push body or FeeInfo per line.
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise ValidationError(
                "source", f"{os.fspath(path)!r} is neither JSON nor JSON lines: {exc}"
            ) from exc
    return data if isinstance(data, list) else [data]


def _rows_from_bodies(items: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """Store rows for push bodies and bare FeeInfo dicts, via the store's own mapping."""
    from .events import PushFormatError
    from .store import prepare

    skipped = 0
    for item in items:
        if isinstance(item, Mapping) and "feeLst" not in item and "eventType" not in item:
            item = {"eventType": "fee", "feeLst": [item]}  # a bare FeeInfo
        try:
            rows = prepare(item).cdrs
        except PushFormatError:
            rows, bad = _rows_one_by_one(item)
            skipped += bad
        yield from rows
    if skipped:
        warnings.warn(f"skipped {skipped} malformed CDR(s)", UserWarning, stacklevel=4)


def _rows_one_by_one(body: Any) -> tuple[list[tuple[Any, ...]], int]:
    """Salvage the good CDRs of a push that :func:`~toolkit.store.prepare` rejected."""
    from .events import PushFormatError
    from .store import prepare

    items = body.get("feeLst") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        return [], 1
    rows: list[tuple[Any, ...]] = []
    bad = 0
    for info in items:
        try:
            rows += prepare({"eventType": "fee", "feeLst": [info]}).cdrs
        except PushFormatError:
            bad += 1
    return rows, bad


def _from_rows(rows: Iterable[tuple[Any, ...]]) -> sqlite3.Connection:
    """An in-memory ``cdrs`` table, so push bodies go through the same queries as a store."""
    from .store import CDR_COLUMNS

    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE cdrs (seq INTEGER PRIMARY KEY, {', '.join(CDR_COLUMNS[1:])})")
    marks = ", ".join("?" * (len(CDR_COLUMNS) - 1))
    conn.executemany(f"INSERT INTO cdrs ({', '.join(CDR_COLUMNS[1:])}) VALUES ({marks})", rows)
    return conn


# -- reading ---------------------------------------------------------------------------------


def _absent(kind: str) -> int:
    """What SQLite writes for NULL in an integer column of ``kind``.

    -1 is cheap to print and cannot be a real value where it stands for NULL: times before 1970
    and negative durations, directions, flags and counters are not data. Codes keep a sentinel
    that no code can be (INT64_MIN), because a stored negative code is garbage worth showing.
    """
    return _NULL if kind == "code" else -1


@dataclass
class _Query:
    """Reads the columns a frame needs, chunk by chunk, as numpy arrays and arrays of text.

    One statement per chunk: the inner SELECT filters and computes, the outer one aggregates
    each column into one string (integers joined by commas, text by ``_SEP``). All aggregates
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
            for n in dict.fromkeys(("seq", *self.wanted, *_ALWAYS))
            if COLUMNS[n].sql is not None or n == "mode"
        ]
        ints = [n for n in names if COLUMNS[n].kind in _INTEGER_KINDS]
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
                f"ifnull({self._sql(n)}, {_absent(COLUMNS[n].kind)}) AS i{k}"
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
        ranges = [(a, min(a + _CHUNK, high + 1)) for a in range(low, high + 1, _CHUNK)]
        workers = min(_WORKERS, len(ranges)) if path else 1
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
            parts = text.split(_SEP)
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
                f"THEN CAST({expr} AS INTEGER) END, {_absent(COLUMNS[name].kind)})"
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


def _build(values: dict[str, Any], zone: str, raw: bool) -> pd.DataFrame:
    """Typed columns from the raw arrays, plus the derived ones."""
    import numpy as np
    import pandas as pd

    _drop_impossible_times(values)
    columns: dict[str, Any] = {}
    for name, data in values.items():
        kind = COLUMNS[name].kind
        # The arrays are untyped (Any) here; text kinds have no mask and never read it.
        missing: Any = data == _absent(kind) if kind in _INTEGER_KINDS else None
        if kind == "product":
            columns[name] = pd.Categorical.from_codes(_codes(data, missing), pd.Index(PRODUCTS))
        elif kind == "mode":
            columns[name] = pd.Categorical.from_codes(_codes(data, missing), pd.Index(MODES))
        elif kind == "time":
            stamps = np.where(missing, _NULL, data).view("datetime64[s]")  # INT64_MIN is NaT
            utc = pd.Series(stamps).dt.tz_localize("UTC")
            columns[name] = utc if zone == "UTC" else utc.dt.tz_convert(zone)
        elif kind == "flag":
            columns[name] = pd.arrays.BooleanArray(data == 1, missing)
        elif kind in ("int", "code"):
            columns[name] = pd.arrays.IntegerArray(data, missing)
        elif kind == "seconds":
            # NULL when unknown (toolkit.schema); negative: _ANSWERED_NO_TALK, or written by hand.
            columns[name] = pd.arrays.IntegerArray(data, missing | (data < 0))
        elif kind == "number":
            columns[name] = _categorical(data, masker=None if raw else mask)
        elif kind == "label":
            columns[name] = _categorical(data)
        elif kind == "text":
            text = data.copy()
            text[text == ""] = None  # empty text is absent
            columns[name] = pd.array(text, dtype="str")
    if "direction" in values:
        columns["direction"] = _directions(values["direction"], values["product"])
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(values["seq"])))
    _add_derived(frame, values)
    return frame


def _drop_impossible_times(values: dict[str, Any]) -> None:
    """Times outside 2000-2100 UTC become absent, and so do the durations of their row.

    The receiver never stores such a time, but a store written by an older version or another
    program may hold one (or text, which the exact path reads as no value): a year-1 end time
    would otherwise give a talk time of two thousand years. A duration longer than the whole
    range cannot come from two real times either. A few numpy passes: no cost worth measuring.
    """
    from .events import MAX_EPOCH, MIN_EPOCH

    absent = _absent("time")
    bad_rows = None
    for name, data in values.items():
        if COLUMNS[name].kind != "time":
            continue
        bad = ((data < MIN_EPOCH) | (data >= MAX_EPOCH)) & (data != absent)
        if bad.any():
            data[bad] = absent
            if name != "received_at":  # the receiver's clock, not a time of the call
                bad_rows = bad if bad_rows is None else bad_rows | bad
    for name, data in values.items():
        if COLUMNS[name].kind == "seconds":
            impossible = data > MAX_EPOCH - MIN_EPOCH
            if bad_rows is not None:
                impossible |= bad_rows
            # An unknown talk time still says the call had an answer time (see _TALK).
            unknown = _ANSWERED_NO_TALK if name == "talk_seconds" else _absent("seconds")
            data[impossible & (data != _absent("seconds"))] = unknown


def _codes(data: np.ndarray, missing: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.where(missing, -1, data).astype(np.int8)


def _categorical(data: np.ndarray, masker: Any = None) -> pd.Categorical:
    """Text as a categorical; ``masker`` runs once per distinct value, never once per row.

    Empty text is "absent". Few categories (X numbers, app keys) are sorted; many (binding ids)
    keep the order they were first seen in, because sorting 100,000s of strings costs more than
    reading them.
    """
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(data)
    if masker is not None:
        # Distinct numbers can mask to the same text: factorize again to merge them.
        merged, uniques = pd.factorize(np.array([masker(u) for u in uniques], dtype=object))
        codes = _recode(codes, merged)
    uniques = np.asarray(uniques, dtype=object)
    empty = np.flatnonzero(uniques == "")
    if len(empty):  # drop "" from the categories; rows holding it become missing
        keep = np.ones(len(uniques), dtype=bool)
        keep[empty] = False
        renumber = np.cumsum(keep) - 1
        renumber[~keep] = -1
        codes, uniques = _recode(codes, renumber), uniques[keep]
    if len(uniques) <= _SORTED_CATEGORIES:
        order = np.argsort(uniques.astype(str), kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        codes, uniques = _recode(codes, rank), uniques[order]
    return pd.Categorical.from_codes(codes, pd.Index(uniques, dtype="str"))


def _recode(codes: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Category codes mapped through ``new`` (old code -> new code); -1 stays -1."""
    import numpy as np

    if not len(new):
        return codes
    return np.where(codes >= 0, new[np.maximum(codes, 0)], -1)


def _directions(direction: np.ndarray, product: np.ndarray) -> pd.Categorical:
    import numpy as np
    import pandas as pd

    pn = (product != 1) & (direction >= 0) & (direction <= 2)
    vc = (product == 1) & (direction >= 0) & (direction <= 1)
    codes = np.select([pn, vc], [direction, direction + 3], -1).astype(np.int8)
    return pd.Categorical.from_codes(codes, pd.Index(DIRECTIONS))


def _add_derived(frame: pd.DataFrame, values: dict[str, Any]) -> None:
    """billed_minutes, outcome, category and cause (see _TALK for what the talk column holds)."""
    import numpy as np
    import pandas as pd

    talk = values["talk_seconds"]
    answered = talk != _absent("seconds")  # has an answer time
    # toolkit.schema's billing rule, run once per distinct talk time (a few thousand at most).
    ids, uniques = pd.factorize(talk)
    minutes = [
        schema.billed_minutes_for(int(t) if t >= 0 else None, t != _absent("seconds"))
        for t in uniques
    ]
    billed = np.array([-1 if m is None else m for m in minutes], dtype=np.int64)[ids]
    frame["billed_minutes"] = pd.arrays.IntegerArray(billed, billed < 0)
    outcome, category, cause = _decode(values, answered)
    frame["outcome"] = outcome
    frame["category"] = category
    frame["cause"] = cause


def _decode(values: dict[str, Any], answered: np.ndarray) -> tuple[Any, Any, Any]:
    """Outcome, category and cause per row, decoding each distinct code combination once.

    A million CDRs hold a few hundred combinations of (product, answered, ulFailReason,
    fwdUnaswRsn, sipStatusCode); the decoder runs on those and the result is mapped back.
    """
    import numpy as np
    import pandas as pd

    from .codes import classify_frame, explain

    codes = [values[c] for c in ("ul_fail_reason", "fwd_unasw_rsn", "sip_status_code")]
    voice = values["product"] == 1
    key = voice.astype(np.int64) * 2 + answered
    for column in codes:
        ids, uniques = pd.factorize(column)
        key, _ = pd.factorize(key * len(uniques) + ids)  # renumbered: can never overflow
    combo = key
    first = np.full(combo.max() + 1 if len(combo) else 0, -1, dtype=np.int64)
    first[combo[::-1]] = np.arange(len(combo))[::-1]  # the first row of each combination
    sample = pd.DataFrame(
        {
            "product": np.where(voice[first], "voicecall", "privatenumber"),
            "fwd_answer_time": np.where(answered[first], 1.0, np.nan),
            **{
                name: pd.arrays.IntegerArray(column[first], column[first] == _NULL)
                for name, column in zip(
                    ("ul_fail_reason", "fwd_unasw_rsn", "sip_status_code"), codes, strict=True
                )
            },
        }
    )
    outcomes = classify_frame(sample)
    explained = [
        explain({k: (None if v is pd.NA or v != v else v) for k, v in row.items()})
        for row in sample.to_dict("records")
    ]
    category = pd.Categorical([e.category or None for e in explained])
    cause = pd.Categorical([_cause_label(e) for e in explained])
    return (
        pd.Categorical.from_codes(outcomes.cat.codes.to_numpy()[combo], outcomes.cat.categories),
        pd.Categorical.from_codes(category.codes[combo], category.categories),
        pd.Categorical.from_codes(cause.codes[combo], cause.categories),
    )


# Which of Explanation.codes decided, by the field explain() names as the driver.
_DRIVER_CODE = {"ulFailReason": (0, ""), "fwdUnaswRsn": (1, "Q.850 "), "sipStatusCode": (2, "SIP ")}


def _cause_label(explained: Any) -> str:
    """A short Pareto label: "8102 Callee busy", "Q.850 17 user busy", "SIP 486 ..."."""
    if explained.driver == "fwdAnswerTime":
        return "answered"
    position, prefix = _DRIVER_CODE.get(explained.driver, (None, ""))
    if position is None:  # nothing decided: name the first code present, else say so
        present = [c for c in explained.codes if c.applicable and c.code != 0]
        if not present:
            return "no cause given"
        info, prefix = present[0], ("", "Q.850 ", "SIP ")[explained.codes.index(present[0])]
    else:
        info = explained.codes[position]
    code = info.code if info.code is not None else info.raw
    return f"{prefix}{code} {info.meaning}"
