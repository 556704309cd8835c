"""What the store holds and what every view derives from a CDR, each defined once.

**Fields.** :data:`FEE_FIELDS`, :data:`STATUS_FIELDS`, :data:`SMS_FIELDS` and :data:`NUM_FIELDS`
list each documented JSON field of a push once: its JSON name, its attribute/column name and its
kind (``str``, ``int``, ``time``...). :mod:`toolkit.events` turns them into the converters of the
typed records and :mod:`toolkit.store` into the converters of its rows.

**Tables.** :data:`CDRS`, :data:`EVENTS`, :data:`SMS` and :data:`NUM_STATUS` are the store's tables:
their columns (name, SQL type, JSON field) in order. The store's column tuples, its DDL and its
migration (:func:`migrate`: columns added since a store was created are appended and filled from
the stored JSON) come from them, and so do the base columns of :func:`toolkit.frame.cdr_frame`.

**Derived facts of a CDR.** Each is one expression (:class:`Expr`) that renders both as SQL (for
:mod:`toolkit.frame`, which must stay vectorised) and as a Python value (the tail line, the tail
widget, :class:`toolkit.events.Cdr`), so the two cannot drift apart:

* :data:`ANSWER_TIME`: ``fwdAnswerTime``, else ``callOutAnswerTime`` on a one-leg VoiceCall CDR
  (notification/verification, see :data:`ONE_LEG`); :data:`ALERTING_TIME` likewise;
* :data:`RING_SECONDS`: alerting → answer, else → failure, else → end;
* :data:`TALK_SECONDS`: answer → end; ``None`` without an answer time;
* :func:`billed_minutes_for`: every started minute of talk (spec §11), 0 without an answer time;
* the outcome comes from :func:`toolkit.codes.explain`, which reads the answer time through
  :func:`answer_present`; *answered* means ``outcome == "answered"``
  (:class:`toolkit.events.CdrFacts` bundles the facts of one CDR).

A duration that cannot be known (a time missing, or an end before its start, which only clocks that
disagree produce) is ``None``, never a guess. Everything is in whole seconds, as the store keeps
CDR times. This module imports nothing heavy (no pandas, no numpy) and nothing of the toolkit but
:mod:`toolkit.expr`: the modules that use it (events, store, codes, frame, tail) build on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from .expr import (
    All,
    Col,
    Elapsed,
    Expr,
    First,
    Getter,
    Is,
    Missing,
    Not,
    When,
)

if TYPE_CHECKING:
    import sqlite3

Kind = Literal["str", "int", "time", "object", "any"]
Product = Literal["privatenumber", "voicecall"]


@dataclass(frozen=True)
class Field:
    """One documented JSON field: its name on the wire, its snake_case name here, its kind."""

    json: str
    name: str
    kind: Kind


def _fields(*items: tuple[str, str, Kind]) -> dict[str, Field]:
    return {json: Field(json, name, kind) for json, name, kind in items}


# Every FeeInfo field documented for PrivateNumber (§10.2) and VoiceCall (§7.2); fields that only
# one product sends are simply absent in the other.
FEE_FIELDS = _fields(
    ("direction", "direction", "int"),
    ("spId", "sp_id", "str"),
    ("appKey", "app_key", "str"),
    ("icid", "icid", "str"),
    ("bindNum", "bind_num", "str"),
    ("sessionId", "session_id", "str"),
    ("subscriptionId", "subscription_id", "str"),
    ("callerNum", "caller_num", "str"),
    ("calleeNum", "callee_num", "str"),
    ("fwdDisplayNum", "fwd_display_num", "str"),
    ("fwdDstNum", "fwd_dst_num", "str"),
    ("callInTime", "call_in_time", "time"),
    ("fwdStartTime", "fwd_start_time", "time"),
    ("fwdAlertingTime", "fwd_alerting_time", "time"),
    ("fwdAnswerTime", "fwd_answer_time", "time"),
    ("callEndTime", "call_end_time", "time"),
    ("fwdUnaswRsn", "fwd_unasw_rsn", "int"),
    ("failTime", "fail_time", "time"),
    ("ulFailReason", "ul_fail_reason", "int"),
    ("sipStatusCode", "sip_status_code", "int"),
    ("callOutStartTime", "call_out_start_time", "time"),
    ("callOutAlertingTime", "call_out_alerting_time", "time"),
    ("callOutAnswerTime", "call_out_answer_time", "time"),
    ("callOutUnaswRsn", "call_out_unasw_rsn", "int"),
    ("dynIVRStartTime", "dyn_ivr_start_time", "time"),
    ("dynIVRPath", "dyn_ivr_path", "str"),
    ("recordFlag", "record_flag", "int"),
    ("recordStartTime", "record_start_time", "time"),
    ("recordObjectName", "record_object_name", "str"),
    ("recordBucketName", "record_bucket_name", "str"),
    ("recordDomain", "record_domain", "str"),
    ("recordFileDownloadUrl", "record_file_download_url", "str"),
    ("ttsPlayTimes", "tts_play_times", "int"),
    ("ttsTransDuration", "tts_trans_duration", "int"),
    ("mptyId", "mpty_id", "str"),
    ("serviceType", "service_type", "str"),
    ("hostName", "host_name", "str"),
    ("userData", "user_data", "str"),
    ("extendNum", "extend_num", "str"),
    ("notifyMode", "notify_mode", "str"),
    ("callRelDirection", "call_rel_direction", "int"),
    ("callDuration", "call_duration", "int"),
    ("areaCode", "area_code", "str"),
    ("voiceCheckType", "voice_check_type", "int"),
)

STATUS_FIELDS = _fields(
    ("sessionId", "session_id", "str"),
    ("timestamp", "timestamp", "time"),
    ("caller", "caller", "str"),
    ("called", "called", "str"),
    ("subscriptionId", "subscription_id", "str"),
    ("stateCode", "state_code", "int"),
    ("stateDesc", "state_desc", "str"),
    ("userData", "user_data", "str"),
    ("notifyMode", "notify_mode", "str"),
    ("digitInfo", "digit_info", "str"),
    ("callRelDirection", "call_rel_direction", "int"),
    ("partyType", "party_type", "any"),  # string or integer (unconfirmed): stored as text
    ("displayCallerNum", "display_caller_num", "str"),
)

SMS_FIELDS = _fields(
    ("smsIdentifier", "sms_identifier", "str"),
    ("notificationMode", "notification_mode", "str"),
    ("calling", "calling", "str"),
    ("called", "called", "str"),
    ("virtualNumber", "virtual_number", "str"),
    ("event", "event", "str"),
    ("timeStamp", "time_stamp", "time"),
    ("subscriptionId", "subscription_id", "str"),
    ("smsContent", "sms_content", "str"),
    ("extInfo", "ext_info", "object"),
    ("sendResult", "send_result", "int"),
    ("userData", "user_data", "str"),
)

NUM_FIELDS = _fields(
    ("number", "number", "str"),
    ("status", "status", "str"),
    ("cause", "cause", "str"),
)


# --------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class Column:
    """One stored column: name, declared SQL type, and the JSON field it holds (if any).

    ``kind`` is the field's kind (``time`` columns hold epoch seconds). ``constraint`` follows the
    type in the DDL (``PRIMARY KEY``...; a column added later can only have what ``ALTER TABLE
    ADD COLUMN`` allows, e.g. ``NOT NULL DEFAULT 0``). ``added`` marks a column added after stores
    existed: an older store lacks it until :func:`migrate` adds it, and must be accepted so.
    """

    name: str
    sql: str
    json: str | None = None
    kind: Kind | None = None
    constraint: str = ""
    added: bool = False

    @property
    def spec(self) -> str:
        """The column as ``CREATE TABLE`` and ``ALTER TABLE ADD COLUMN`` declare it."""
        return " ".join(filter(None, (self.name, self.sql, self.constraint)))


@dataclass(frozen=True)
class TableSchema:
    """One table of the store: columns in order, indexes, where the fields sit in ``raw``."""

    name: str
    columns: tuple[Column, ...]
    indexes: tuple[tuple[str, str], ...] = ()  # (index name, indexed columns)
    raw_path: str = "$"  # JSON path of the object holding the fields, inside the raw column

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in table order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name``; ``KeyError`` if this table has none."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def ddl(self) -> str:
        """``CREATE TABLE`` and ``CREATE INDEX`` statements (``IF NOT EXISTS``)."""
        body = ", ".join(c.spec for c in self.columns)
        statements = [f"CREATE TABLE IF NOT EXISTS {self.name} ({body});"]
        statements += [
            f"CREATE INDEX IF NOT EXISTS {index} ON {self.name} ({on});"
            for index, on in self.indexes
        ]
        return "\n".join(statements)

    def backfill_sql(self, name: str) -> str | None:
        """SQL computing column ``name`` from the stored JSON (``raw``), or ``None`` if it cannot.

        Used to fill a column added after rows were stored, and by readers of a store file that
        was not migrated yet. Only values of the documented JSON type are read (times as text):
        anything else is left NULL rather than guessed.
        """
        column = self.column(name)
        if column.json is None or column.kind is None or "raw" not in self.names:
            return None
        path = f"'{self.raw_path}.{column.json}'"
        value = f"json_extract(raw, {path})"
        kind = f"json_type(raw, {path})"
        if column.kind == "time":
            text = f"trim(CASE {kind} WHEN 'text' THEN {value} END)"
            if column.sql == "REAL":
                expr = f"(julianday({text}) - 2440587.5) * 86400.0"
            else:
                expr = f"unixepoch({text})"
        elif column.kind == "int":
            expr = f"CASE {kind} WHEN 'integer' THEN {value} END"
        else:  # str / any: text, or an integer kept as its digits
            expr = (
                f"CASE {kind} WHEN 'text' THEN {value} "
                f"WHEN 'integer' THEN CAST({value} AS TEXT) END"
            )
        # instr() first: a row whose JSON never names the field is skipped without parsing it.
        return f"CASE WHEN {self.mentions_sql(name)} AND json_valid(raw) THEN {expr} END"

    def mentions_sql(self, name: str) -> str:
        """SQL true for rows whose ``raw`` text names the JSON field of column ``name``."""
        return f"instr(raw, '\"{self.column(name).json}\"') > 0"


_SQL_TYPES = {"str": "TEXT", "int": "INTEGER", "time": "INTEGER", "any": "TEXT", "object": "TEXT"}


def _stored(
    fields: Mapping[str, Field], *names: str, time: str = "INTEGER", added: bool = False
) -> Iterator[Column]:
    by_name = {f.name: f for f in fields.values()}
    for name in names:
        f = by_name[name]
        sql = time if f.kind == "time" else _SQL_TYPES[f.kind]
        yield Column(name, sql, f.json, f.kind, added=added)


_SEQ = Column("seq", "INTEGER", constraint="PRIMARY KEY")
_KEY = Column("dedupe_key", "TEXT", constraint="UNIQUE")
_PRODUCT = Column("product", "TEXT")
_RECEIVED = Column("received_at", "REAL")
_RAW = Column("raw", "TEXT")
# Whether the receiver verified the push's signature (1) or not (0): see toolkit.store.
_VERIFIED = Column("verified", "INTEGER", constraint="NOT NULL DEFAULT 0", added=True)

CDRS = TableSchema(
    "cdrs",
    (
        _SEQ,
        _KEY,
        _PRODUCT,
        *_stored(
            FEE_FIELDS,
            "session_id",
            "icid",
            "app_key",
            "direction",
            "bind_num",
            "subscription_id",
            "caller_num",
            "callee_num",
            "fwd_display_num",
            "fwd_dst_num",
            "call_in_time",
            "fwd_start_time",
            "fwd_alerting_time",
            "fwd_answer_time",
            "call_end_time",
            "fail_time",
            "ul_fail_reason",
            "fwd_unasw_rsn",
            "sip_status_code",
            "record_flag",
            "service_type",
            "extend_num",
            "notify_mode",
            "user_data",
        ),
        _RECEIVED,
        _RAW,
        # Added after the first release, so they come last in every store (migrate() appends).
        _VERIFIED,
        # A one-leg VoiceCall CDR carries its ringing and answer times here (see ONE_LEG).
        *_stored(FEE_FIELDS, "call_out_alerting_time", "call_out_answer_time", added=True),
    ),
    indexes=(("cdrs_session", "session_id"),),
)

EVENTS = TableSchema(
    "events",
    (
        _SEQ,
        _KEY,
        _PRODUCT,
        Column("event_type", "TEXT"),  # the body's eventType, beside statusInfo
        *_stored(
            STATUS_FIELDS,
            "session_id",
            "timestamp",
            "caller",
            "called",
            "subscription_id",
            "state_code",
            "state_desc",
            "user_data",
            "notify_mode",
            "digit_info",
            "call_rel_direction",
            "party_type",
        ),
        _RECEIVED,
        _RAW,
        _VERIFIED,
    ),
    indexes=(("events_session", "session_id"),),
)

SMS = TableSchema(
    "sms",
    (
        _SEQ,
        _KEY,
        Column("app_key", "TEXT"),  # the body's appKey, beside smsEvent
        *_stored(
            SMS_FIELDS,
            "sms_identifier",
            "notification_mode",
            "calling",
            "called",
            "virtual_number",
            "event",
            "time_stamp",
            "subscription_id",
            "send_result",
            "user_data",
            "sms_content",
            time="REAL",  # SMS times carry milliseconds
        ),
        _RECEIVED,
        _RAW,
        _VERIFIED,
    ),
    raw_path="$.smsEvent",  # raw is the whole body
)

NUM_STATUS = TableSchema(
    "num_status",
    (_SEQ, *_stored(NUM_FIELDS, "number", "status", "cause"), _RECEIVED, _RAW, _VERIFIED),
    indexes=(("num_status_number", "number, seq"),),
)

TABLES: dict[str, TableSchema] = {t.name: t for t in (CDRS, EVENTS, SMS, NUM_STATUS)}


def ddl() -> str:
    """The DDL of every table (idempotent: ``IF NOT EXISTS``)."""
    return "\n".join(t.ddl() for t in TABLES.values())


def _lacking(conn: sqlite3.Connection) -> Iterator[tuple[TableSchema, Column]]:
    """Each column of :data:`TABLES` that the database's table lacks, in table order."""
    for table in TABLES.values():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table.name})")}
        yield from ((table, c) for c in table.columns if c.name not in have)


def missing_columns(conn: sqlite3.Connection) -> list[str]:
    """The columns of :data:`TABLES` that the database's tables lack, as ``table.column``."""
    return [f"{table.name}.{column.name}" for table, column in _lacking(conn)]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Add every column of :data:`TABLES` that the store's tables lack; return them as
    ``table.column``.

    ``ALTER TABLE ... ADD COLUMN`` appends, which is why new columns are defined last. A column
    read from the JSON is filled from each row's ``raw`` (:meth:`TableSchema.backfill_sql`). Run it
    inside the writer's transaction, so two processes opening the same store cannot both add
    the same column.
    """
    added = []
    for table, column in list(_lacking(conn)):  # list(): read every table before altering one
        conn.execute(f"ALTER TABLE {table.name} ADD COLUMN {column.spec}")
        fill = table.backfill_sql(column.name)
        if fill is not None:  # rows that never name the field stay NULL, untouched
            where = table.mentions_sql(column.name)
            conn.execute(f"UPDATE {table.name} SET {column.name} = {fill} WHERE {where}")
        added.append(f"{table.name}.{column.name}")
    return added


# --------------------------------------------------------------------------------------------
# Dedupe keys


_PRODUCT_TAGS: dict[str, str] = {"privatenumber": "pn", "voicecall": "vc"}


def trust_prefix(product: Product, verified: bool) -> str:
    """The start of every dedupe key: product and trust, e.g. ``pn:v:`` or ``vc:u:``.

    The store ignores a row whose key exists already. Without this prefix an unsigned push that
    arrived first with the ``icid`` of a real call would make the platform's signed CDR a
    "duplicate" and hide it; with it, rows of another product or trust level can never collide.
    """
    return f"{_PRODUCT_TAGS[product]}:{'v' if verified else 'u'}:"


def cdr_dedupe_key(
    icid: str | None, session_id: str | None, *, product: Product, verified: bool
) -> str:
    """Product and trust (:func:`trust_prefix`), then ``icid`` when present, else ``sessionId``.

    ``icid`` (the documented unique record id) is optional in both products; VoiceCall's docs
    say to de-duplicate on ``sessionId``, which is unique per call and one call yields one CDR.
    The ``icid:``/``session:`` prefix keeps the two key spaces apart.
    """
    key = f"icid:{icid}" if icid else f"session:{session_id}"
    return trust_prefix(product, verified) + key


def event_dedupe_key(
    session_id: str | None,
    event_type: str,
    epoch: float | None,
    caller: str | None,
    called: str | None,
    *,
    product: Product,
    verified: bool,
) -> str:
    """Product and trust (:func:`trust_prefix`), then session + type + time, plus the leg's
    numbers (two legs may start in the same second)."""
    stamp = "" if epoch is None else f"{epoch:.3f}"
    key = "|".join((session_id or "", event_type, stamp, caller or "", called or ""))
    return trust_prefix(product, verified) + key


def sms_dedupe_key(
    sms_identifier: str | None, notification_mode: str | None, *, verified: bool
) -> str:
    """Trust (SMS pushes are PrivateNumber's), then SMS id + mode: in X mode one SMS gives a
    Block push and then a Notify push."""
    key = f"{sms_identifier or ''}|{notification_mode or ''}"
    return trust_prefix("privatenumber", verified) + key


# --------------------------------------------------------------------------------------------
# Derived facts: expressions that render as SQL and evaluate in Python


def _is_absent(value: Any) -> bool:
    """None, "" (the platform leaves unreached stages empty), NaN, and pandas' NA and NaT.

    Exactly "" and not blank text, as in SQL (``nullif(column, '')``): the two readings agree.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def time_value(value: Any) -> int | str | None:
    """A time as the rules read it: whole epoch seconds, truncated as the store truncates them.

    Numbers are epoch seconds and datetimes are converted (naive ones read as UTC, like every
    platform time). Platform text (a FeeInfo as pushed, before any conversion) is returned as it
    is: it counts as present, as the answer time needs, but gives no duration (durations are
    computed on the converted values of a row or a :class:`~toolkit.events.Cdr`). Absent values
    ("", NaN, NaT...) and anything else are ``None``.
    """
    if _is_absent(value):
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return int(aware.timestamp())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        return value
    return None


def _read_value(value: Any) -> Any:
    return None if _is_absent(value) else value


def _col(name: str) -> Col:
    """A column of the cdrs table (KeyError for a name the store does not hold): times read as
    :func:`time_value`, other values with "" and NaN as absent."""
    column = CDRS.column(name)
    if column.kind == "time":
        return Col(name, time_value)
    return Col(name, _read_value, text=column.sql == "TEXT")


# A one-leg VoiceCall CDR: a voice notification or verification call, whose only leg is the
# platform's "Initcall" (callOut* times). Which answer time such CDRs carry is unconfirmed
# (VoiceCall §7.2: "presumably callOutAnswerTime"), so we read the tolerant way: fwd* times when
# present, else the callOut* ones. A click-to-call CDR (serviceType 002, or a forward leg that
# started) has two legs, and there callOut* is A's leg: A answering is not the call being
# answered, so callOut* times are never read for it. PrivateNumber documents callOut* as reserved.
ONE_LEG: Expr = All(
    (
        Is(_col("product"), "voicecall"),
        Not(Is(_col("service_type"), "002")),
        Missing(_col("fwd_start_time")),
        Missing(_col("fwd_alerting_time")),
        Missing(_col("fwd_dst_num")),
    )
)

ALERTING_TIME: Expr = First(
    (_col("fwd_alerting_time"), When(ONE_LEG, _col("call_out_alerting_time")))
)
# Billing starts here (PrivateNumber §10.2 and §11, VoiceCall §7.2).
ANSWER_TIME: Expr = First((_col("fwd_answer_time"), When(ONE_LEG, _col("call_out_answer_time"))))
# Ringing ends with the answer, or with the failure or the end of a call nobody answered.
RING_SECONDS: Expr = Elapsed(
    ALERTING_TIME, First((ANSWER_TIME, _col("fail_time"), _col("call_end_time")))
)
TALK_SECONDS: Expr = Elapsed(ANSWER_TIME, _col("call_end_time"))


def billed_minutes_for(talk_seconds: int | None, has_answer_time: bool) -> int | None:
    """Billed minutes of a call from its :data:`TALK_SECONDS` and whether it has an
    :data:`ANSWER_TIME` (PrivateNumber §11, VoiceCall §7.2).

    Any started minute is billed in full; a call without an answer time costs nothing. An answered
    call without a usable talk time (no end time, end before answer) is unknown (``None``), not
    free. :func:`toolkit.frame.cdr_frame` applies this function once per distinct talk time.
    """
    if talk_seconds is not None:
        return (talk_seconds + 59) // 60
    return None if has_answer_time else 0


# What the outcome reads besides the answer time (see toolkit.codes.explain).
_CODE_COLUMNS = ("product", "ul_fail_reason", "fwd_unasw_rsn", "sip_status_code", "subscription_id")
# Every stored column a derived fact reads: the store must hold each of them.
FACT_COLUMNS: frozenset[str] = (
    RING_SECONDS.columns() | TALK_SECONDS.columns() | frozenset(_CODE_COLUMNS)
)
_JSON_NAMES = {f.name: f.json for f in FEE_FIELDS.values()}


def _row_getter(row: Mapping[str, Any], product: str | None = None) -> Getter:
    """Column values of a stored row, a FeeInfo (camelCase) or a frame row; ``product`` wins."""

    def get(name: str) -> Any:
        if name == "product" and product is not None:
            return product
        value = row.get(name)
        if value is None and name in _JSON_NAMES:
            value = row.get(_JSON_NAMES[name])
        return value

    return get


def answer_present(record: Mapping[str, Any], product: str | None = None) -> bool:
    """True when a CDR has an answer time (:data:`ANSWER_TIME`).

    ``record`` is a stored row, a FeeInfo as pushed or a row of a frame; ``product`` overrides
    the record's own ``product`` (a FeeInfo has none: then it is read as PrivateNumber).
    """
    return ANSWER_TIME.value(_row_getter(record, product)) is not None


def ring_seconds(row: Mapping[str, Any]) -> int | None:
    """:data:`RING_SECONDS` of a stored CDR row."""
    return RING_SECONDS.value(_row_getter(row))


def talk_seconds(row: Mapping[str, Any]) -> int | None:
    """:data:`TALK_SECONDS` of a stored CDR row."""
    return TALK_SECONDS.value(_row_getter(row))


def billed_minutes(row: Mapping[str, Any]) -> int | None:
    """:func:`billed_minutes_for` a stored CDR row."""
    get = _row_getter(row)
    return billed_minutes_for(TALK_SECONDS.value(get), ANSWER_TIME.value(get) is not None)


__all__ = [
    "ALERTING_TIME",
    "ANSWER_TIME",
    "CDRS",
    "EVENTS",
    "FACT_COLUMNS",
    "FEE_FIELDS",
    "NUM_FIELDS",
    "NUM_STATUS",
    "ONE_LEG",
    "RING_SECONDS",
    "SMS",
    "SMS_FIELDS",
    "STATUS_FIELDS",
    "TABLES",
    "TALK_SECONDS",
    "Column",
    "Expr",
    "Field",
    "TableSchema",
    "answer_present",
    "billed_minutes",
    "billed_minutes_for",
    "cdr_dedupe_key",
    "ddl",
    "event_dedupe_key",
    "migrate",
    "missing_columns",
    "ring_seconds",
    "sms_dedupe_key",
    "talk_seconds",
    "time_value",
    "trust_prefix",
]
