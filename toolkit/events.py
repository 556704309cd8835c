"""Typed records for what the platform pushes: call events, CDRs, SMS events, X-number status.

:func:`parse_push` takes a decoded JSON body and returns one of::

    FeePush(cdrs=(Cdr, ...))                 {"eventType":"fee","feeLst":[FeeInfo, ...]}
    CallIn / CallOut / Alerting / Answer /   {"eventType":"answer","statusInfo":{...}}
      CollectInfo / Disconnect (CallEvent)
    SmsNotify / SmsBlock (SmsEvent)          {"appKey":"..","smsEvent":{...}}
    NumStatusPush(numbers=(NumberStatus,))   {"eventType":"numStatus","numInfo":[...]}

Parsing is tolerant where the platform may vary and strict where a wrong value would corrupt
data: unknown fields are kept in ``extra`` (vendors add fields), missing optional fields are
``None``, documented UTC times become timezone-aware datetimes, and a field of the wrong JSON type
raises :class:`PushFormatError` naming it (``feeLst[3].direction: expected an integer``).

The field tables (``FEE_FIELDS`` ...) are built from the field lists of :mod:`toolkit.schema`, as
are the store's rows, so the typed view and the stored view can never disagree. What a
:class:`Cdr` derives (``ring_seconds``, ``talk_seconds``, ``billed_minutes``, ``outcome``,
``answered``) is computed by :mod:`toolkit.schema` too, with the rules every other view uses.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, ClassVar, Literal

from . import schema
from .codes import Explanation, explain
from .errors import PushFormatError
from .numbers import mask

# The dedupe keys are defined with the store's tables; the typed records name them from here too.
from .schema import (  # noqa: F401  (re-exported: events.trust_prefix as before)
    Product,
    cdr_dedupe_key,
    event_dedupe_key,
    sms_dedupe_key,
    trust_prefix,
)

MAX_FEE_ITEMS = 50  # FeeInfo[1-50] in both products
MAX_NUM_INFO = 100  # numInfo 1-100 items

_UTC = timezone.utc
# SQLite INTEGER is a signed 64-bit value; anything larger cannot be a real code or time.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
# The times a call can have: 2000-01-01 to 2100-01-01 UTC. Both products started long after 2000,
# and every reader (datetime, the tail's clock, the frame's datetime64) handles this range, so
# a time outside it is never stored: a stored year 0 or 10000 would break each of them.
MIN_EPOCH = 946_684_800
MAX_EPOCH = 4_102_444_800
_TIME_RANGE = "time outside 2000-2100 UTC"


# --------------------------------------------------------------------------------------------
# Value converters. Each takes the JSON value and the field path (for the error message) and
# returns the Python value; ``None`` and "" mean "absent" everywhere (the platform leaves
# unreached stages empty or omits them).


def to_str(value: Any, where: str) -> str | None:
    """A String field. Integers are accepted and turned into text (tolerant choice)."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.isascii():
            _check_encodable(value, where)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise PushFormatError(f"expected a string, got {type(value).__name__}", where)


def to_int(value: Any, where: str) -> int | None:
    """An Integer field. Digit strings and integral floats are accepted (tolerant choice)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PushFormatError("expected an integer, got a boolean", where)
    if isinstance(value, int):
        result = value
    elif isinstance(value, str):
        text = value.strip()
        # isascii: "²" and other Unicode digits pass isdigit() but int() refuses them.
        digits = text.lstrip("+-")
        if not (digits.isascii() and digits.isdigit() and len(text) <= 20):
            raise PushFormatError(f"expected an integer, got {value[:40]!r}", where)
        result = int(text)
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    else:
        raise PushFormatError(f"expected an integer, got {type(value).__name__}", where)
    if not _INT_MIN <= result <= _INT_MAX:
        raise PushFormatError("integer out of range", where)
    return result


def _check_encodable(value: str, where: str) -> None:
    # json.loads lets "\ud800" through as a lone surrogate, which SQLite cannot store as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PushFormatError("string is not valid Unicode", where) from None


_EPOCH_CACHE: dict[str, float | None] = {}


def to_epoch(value: Any, where: str) -> float | None:
    """A documented UTC time as epoch seconds, or ``None`` when absent or unreadable.

    Accepts ``yyyy-MM-dd HH:mm:ss`` (events, CDRs), ISO 8601 with milliseconds and ``Z`` (SMS) and,
    for VoiceCall ``statusInfo.timestamp``, numeric epoch seconds or milliseconds (the spec says
    "UNIX timestamp" but shows strings; unconfirmed, so we accept both). A string in a format we do
    not know becomes ``None`` rather than an error: rejecting the push would make the platform
    retry it six times and then drop it, while the raw JSON keeps the value.

    A time that *is* readable but falls outside 2000-2100 UTC (``0001-01-01 00:00:00+14:00``,
    ``1e300``, ``NaN``) raises :class:`PushFormatError`: it is not a format we failed to learn
    but a broken value, and storing it would hand every reader a time it cannot show. ``0`` is
    the usual "no time" of a numeric clock and counts as absent (tolerant choice, unconfirmed).
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        cached = _EPOCH_CACHE.get(value)
        if cached is not None or value in _EPOCH_CACHE:
            return cached
        result = _parse_time_text(value, where)  # raises for a time out of range: never cached
        if len(_EPOCH_CACHE) > 4096:  # pushes in a burst share seconds; keep the cache bounded
            _EPOCH_CACHE.clear()
        _EPOCH_CACHE[value] = result
        return result
    if isinstance(value, bool):
        raise PushFormatError("expected a time, got a boolean", where)
    if isinstance(value, int | float):
        return _from_number(value, where)
    raise PushFormatError(f"expected a time string, got {type(value).__name__}", where)


def _from_number(number: float, where: str) -> float | None:
    if number == 0:
        return None
    if not -1e300 < number < 1e300:  # NaN and the infinities fail both comparisons
        raise PushFormatError(_TIME_RANGE, where)
    seconds = number / 1000.0 if abs(number) > 1e11 else float(number)  # else milliseconds
    return _in_range(seconds, where)


def _in_range(epoch: float, where: str) -> float:
    if not MIN_EPOCH <= epoch < MAX_EPOCH:
        raise PushFormatError(_TIME_RANGE, where)
    return epoch


_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()
_DAYS: dict[str, int] = {}  # "yyyy-MM-dd" -> epoch seconds of its midnight (UTC)
# Two digits -> seconds: one lookup checks the digits, the range and converts.
_HOURS = {f"{h:02d}": h * 3600 for h in range(24)}
_MINUTES = {f"{m:02d}": m * 60 for m in range(60)}
_SECONDS = {f"{s:02d}": s for s in range(60)}


def _plain_time(text: str) -> int | None:
    """The platform's own format, ``yyyy-MM-dd HH:mm:ss`` (or ``T`` between), read without a
    datetime: epoch seconds, or ``None`` for anything else (then the general reading decides).

    A receiver reads five or six of these per CDR; this is about three times faster than
    ``datetime.fromisoformat`` and returns a value only where that would return the same.
    """
    if not (
        len(text) == 19
        and text[4] == "-"
        and text[7] == "-"
        and text[10] in " T"
        and text[13] == ":"
        and text[16] == ":"
        and text.isascii()
    ):
        return None
    day = _DAYS.get(text[:10])
    if day is None:
        year, month, mday = text[:4], text[5:7], text[8:10]
        if not (year.isdigit() and month.isdigit() and mday.isdigit()):
            return None
        try:
            ordinal = datetime(int(year), int(month), int(mday)).toordinal()
        except ValueError:  # no such day
            return None
        if len(_DAYS) > 4096:
            _DAYS.clear()
        day = _DAYS[text[:10]] = (ordinal - _EPOCH_ORDINAL) * 86_400
    hour = _HOURS.get(text[11:13])
    minute = _MINUTES.get(text[14:16])
    second = _SECONDS.get(text[17:19])
    if hour is None or minute is None or second is None:
        return None
    return day + hour + minute + second


def plain_epoch(text: str) -> int | None:
    """Epoch seconds of a time in the platform's ``yyyy-MM-dd HH:mm:ss`` within 2000-2100, or
    ``None`` for any other text (which :func:`to_epoch` then reads, or refuses)."""
    plain = _plain_time(text)
    return plain if plain is not None and MIN_EPOCH <= plain < MAX_EPOCH else None


def _parse_time_text(text: str, where: str) -> float | None:
    plain = _plain_time(text)
    if plain is not None:
        return _in_range(float(plain), where)
    stripped = text.strip()
    number = stripped.replace(".", "", 1)
    if number.isascii() and number.isdigit():  # epoch seconds; not "²", which float() refuses
        return _from_number(float(stripped), where)
    if stripped.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not take "Z"
        stripped = stripped[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:  # includes offsets of a day or more ("+99:00"): not a format we know
        return None
    if moment.tzinfo is None:  # the platform's plain times are documented as UTC
        moment = moment.replace(tzinfo=_UTC)
    return _in_range(moment.timestamp(), where)


def parse_time(value: Any) -> datetime | None:
    """A platform time (see :func:`to_epoch`) as a timezone-aware UTC datetime, or ``None``.

    Raises :class:`PushFormatError` for a time outside 2000-2100 UTC.
    """
    return _to_datetime(value, "time")


def _to_datetime(value: Any, where: str) -> datetime | None:
    epoch = to_epoch(value, where)
    return None if epoch is None else datetime.fromtimestamp(epoch, _UTC)


def _to_object(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    raise PushFormatError(f"expected an object, got {type(value).__name__}", where)


def _to_any(value: Any, where: str) -> Any:
    """``partyType`` is a string or an integer (unconfirmed); stored as sent, as text."""
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    raise PushFormatError(f"expected a string or integer, got {type(value).__name__}", where)


Converter = Callable[[Any, str], Any]
STR: Converter = to_str
INT: Converter = to_int
TIME: Converter = _to_datetime

# A field's kind (see toolkit.schema) -> the converter of its JSON value.
_CONVERTERS: dict[str, Converter] = {
    "str": STR,
    "int": INT,
    "time": TIME,
    "object": _to_object,
    "any": _to_any,
}


def _field_table(fields: Mapping[str, schema.Field]) -> dict[str, tuple[str, Converter]]:
    return {json: (f.name, _CONVERTERS[f.kind]) for json, f in fields.items()}


# JSON name -> (attribute name, converter), from the field lists of toolkit.schema (the one place a
# field is named): every FeeInfo field of both products, call-event, SMS and X-number fields.
FEE_FIELDS = _field_table(schema.FEE_FIELDS)
STATUS_FIELDS = _field_table(schema.STATUS_FIELDS)
SMS_FIELDS = _field_table(schema.SMS_FIELDS)
NUM_FIELDS = _field_table(schema.NUM_FIELDS)

# Attributes that hold phone numbers: masked in every repr.
NUMBER_ATTRS = frozenset(
    {
        "bind_num",
        "caller_num",
        "callee_num",
        "fwd_display_num",
        "fwd_dst_num",
        "caller",
        "called",
        "display_caller_num",
        "calling",
        "virtual_number",
        "number",
    }
)


def convert(
    obj: Any,
    fields: Mapping[str, tuple[str, Converter]],
    where: str,
    unreadable: list[str] | None = None,
) -> dict[str, Any]:
    """Convert one JSON object with a field table: ``{attr: value, ..., "extra": {...}}``.

    A field of the wrong type raises :class:`PushFormatError`; with an ``unreadable`` list it
    becomes ``None`` and its JSON name is appended instead (reading stored rows must not fail).
    """
    if not isinstance(obj, dict):
        raise PushFormatError(f"expected an object, got {type(obj).__name__}", where)
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        spec = fields.get(key)
        if spec is None:
            extra[key] = value
            continue
        attr, conv = spec
        # Fast paths for the common well-formed cases: a receiver runs this 50 times a push.
        kind = type(value)
        if kind is str and conv is to_str and value.isascii():
            out[attr] = value
            continue
        if kind is int and conv is to_int and _INT_MIN <= value <= _INT_MAX:
            out[attr] = value
            continue
        try:
            out[attr] = conv(value, key)
        except PushFormatError as exc:  # the path is only built on failure: this loop is hot
            if unreadable is None:
                raise PushFormatError(exc.reason, f"{where}.{key}") from None
            out[attr] = None
            unreadable.append(key)
    out["extra"] = extra
    return out


# --------------------------------------------------------------------------------------------
# Records


def _masked_repr(obj: Any) -> str:
    parts = []
    for f in dataclasses.fields(obj):
        if not f.repr:
            continue
        value = getattr(obj, f.name)
        if value is None or value == {} or value == ():
            continue
        if f.name in NUMBER_ATTRS:
            text = repr(mask(value))
        elif f.name == "sms_content":
            text = f"<{len(value)} characters>"  # message text is personal; never shown
        elif isinstance(value, datetime):
            text = repr(value.isoformat())
        elif f.name == "extra":
            from .record import masked  # deferred: record is tiny but keep this module standalone

            text = repr(masked(value))
        else:
            text = repr(value)
        parts.append(f"{f.name}={text}")
    return f"{type(obj).__name__}({', '.join(parts)})"


@dataclass(frozen=True, repr=False)
class Cdr:
    """One call detail record (FeeInfo) from PrivateNumber or VoiceCall.

    Fields are the documented FeeInfo fields in snake_case; times are UTC datetimes. ``extra`` holds
    fields we do not know, ``raw`` the FeeInfo exactly as received, ``seq`` the position in the
    store when the record was read from one (``None`` for a freshly parsed push). ``verified`` is
    true when the receiver checked the push's signature (false for a freshly parsed push).
    ``unreadable`` names the fields of a stored row that could not be read (see
    :func:`toolkit.batches.record`); it is empty for every push that parsed.
    """

    session_id: str | None = None
    product: Product = "privatenumber"
    direction: int | None = None
    sp_id: str | None = None
    app_key: str | None = None
    icid: str | None = None
    bind_num: str | None = None
    subscription_id: str | None = None
    caller_num: str | None = None
    callee_num: str | None = None
    fwd_display_num: str | None = None
    fwd_dst_num: str | None = None
    call_in_time: datetime | None = None
    fwd_start_time: datetime | None = None
    fwd_alerting_time: datetime | None = None
    fwd_answer_time: datetime | None = None
    call_end_time: datetime | None = None
    fwd_unasw_rsn: int | None = None
    fail_time: datetime | None = None
    ul_fail_reason: int | None = None
    sip_status_code: int | None = None
    call_out_start_time: datetime | None = None
    call_out_alerting_time: datetime | None = None
    call_out_answer_time: datetime | None = None
    call_out_unasw_rsn: int | None = None
    dyn_ivr_start_time: datetime | None = None
    dyn_ivr_path: str | None = None
    record_flag: int | None = None
    record_start_time: datetime | None = None
    record_object_name: str | None = None
    record_bucket_name: str | None = None
    record_domain: str | None = None
    record_file_download_url: str | None = None
    tts_play_times: int | None = None
    tts_trans_duration: int | None = None
    mpty_id: str | None = None
    service_type: str | None = None
    host_name: str | None = None
    user_data: str | None = None
    extend_num: str | None = None
    notify_mode: str | None = None
    call_rel_direction: int | None = None
    call_duration: int | None = None
    area_code: str | None = None
    voice_check_type: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    seq: int | None = field(default=None, compare=False, repr=False)
    verified: bool = field(default=False, compare=False, repr=False)
    unreadable: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_json(cls, info: Any, product: Product | None = None, *, where: str = "FeeInfo") -> Cdr:
        """Parse one FeeInfo object; ``product`` is guessed from its fields when not given."""
        values = convert(info, FEE_FIELDS, where)
        values["product"] = product or fee_product(info)
        return cls(**values, raw=dict(info))

    @cached_property
    def facts(self) -> CdrFacts:
        """Ring and talk seconds, billed minutes and outcome, by the rules of :mod:`toolkit.schema`
        (the same rules as the tail, the widgets and :func:`toolkit.frame.cdr_frame`)."""
        return cdr_facts(lambda name: getattr(self, name))

    @property
    def answered(self) -> bool:
        """``outcome == "answered"`` (answered, even if later cut at the maximum duration)."""
        return self.facts.answered

    @property
    def outcome(self) -> str:
        """One of :data:`toolkit.codes.OUTCOMES`, decided by :func:`toolkit.codes.explain`."""
        return self.facts.outcome

    @property
    def ring_seconds(self) -> int | None:
        """Seconds the callee rang (until answer, failure or end); ``None`` if unknown."""
        return self.facts.ring_seconds

    @property
    def talk_seconds(self) -> int | None:
        """Seconds from answer to end; ``None`` without an answer time or when unknown."""
        return self.facts.talk_seconds

    @property
    def billed_minutes(self) -> int | None:
        """Every started minute of talk (0 without an answer time); ``None`` when unknown."""
        return self.facts.billed_minutes

    @property
    def dedupe_key(self) -> str:
        """What identifies this CDR across redeliveries (see :func:`cdr_dedupe_key`)."""
        return cdr_dedupe_key(
            self.icid, self.session_id, product=self.product, verified=self.verified
        )

    def __repr__(self) -> str:
        return _masked_repr(self)


@dataclass(frozen=True)
class CdrFacts:
    """What one CDR derives, by the rules every view uses (see :mod:`toolkit.schema`)."""

    ring_seconds: int | None
    talk_seconds: int | None
    billed_minutes: int | None
    explanation: Explanation

    @property
    def outcome(self) -> str:
        """One of :data:`toolkit.codes.OUTCOMES`, from :func:`toolkit.codes.explain`."""
        return self.explanation.outcome

    @property
    def answered(self) -> bool:
        """``outcome == "answered"``: there is no other rule for it."""
        return self.outcome == "answered"


def cdr_facts(get: Callable[[str], Any]) -> CdrFacts:
    """The facts of one CDR whose column values ``get(name)`` returns (a stored row's
    ``row.get``, or a :class:`Cdr`'s attributes: times may be epoch seconds or datetimes)."""
    view = {name: get(name) for name in schema.FACT_COLUMNS}
    talk = schema.TALK_SECONDS.value(view.get)
    has_answer = schema.ANSWER_TIME.value(view.get) is not None
    return CdrFacts(
        ring_seconds=schema.RING_SECONDS.value(view.get),
        talk_seconds=talk,
        billed_minutes=schema.billed_minutes_for(talk, has_answer),
        explanation=explain(view),
    )


@dataclass(frozen=True, repr=False)
class FeePush:
    """A CDR push: up to 50 CDRs that ended close together."""

    cdrs: tuple[Cdr, ...]

    def __repr__(self) -> str:
        return f"FeePush({len(self.cdrs)} CDRs)"


@dataclass(frozen=True, repr=False)
class CallEvent:
    """A call event (``statusInfo``); the subclasses name the event type.

    An ``eventType`` we do not know is kept as a plain ``CallEvent`` rather than refused, so a new
    platform event is stored instead of being retried and lost.
    """

    event_type: str = ""
    session_id: str | None = None
    timestamp: datetime | None = None
    product: Product = "privatenumber"
    caller: str | None = None
    called: str | None = None
    subscription_id: str | None = None
    state_code: int | None = None
    state_desc: str | None = None
    user_data: str | None = None
    notify_mode: str | None = None
    digit_info: str | None = None
    call_rel_direction: int | None = None
    party_type: str | int | None = None
    display_caller_num: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    seq: int | None = field(default=None, compare=False, repr=False)
    verified: bool = field(default=False, compare=False, repr=False)
    unreadable: tuple[str, ...] = field(default=(), compare=False)

    EVENT_TYPE: ClassVar[str] = ""

    @property
    def is_block(self) -> bool:
        """True for an X-mode ``callin`` that waits for a routing answer."""
        return self.event_type == "callin" and (self.notify_mode or "").lower() == "block"

    @property
    def dedupe_key(self) -> str:
        """What identifies this event across redeliveries (see :func:`event_dedupe_key`)."""
        epoch = None if self.timestamp is None else self.timestamp.timestamp()
        return event_dedupe_key(
            self.session_id,
            self.event_type,
            epoch,
            self.caller,
            self.called,
            product=self.product,
            verified=self.verified,
        )

    def __repr__(self) -> str:
        return _masked_repr(self)


class CallIn(CallEvent):
    """The call reached X (PrivateNumber only; X-mode ``Block`` pushes wait for routing)."""

    EVENT_TYPE = "callin"


class CallOut(CallEvent):
    """The platform starts the forward leg (or, in VoiceCall, calls a party)."""

    EVENT_TYPE = "callout"


class Alerting(CallEvent):
    """The called party is ringing."""

    EVENT_TYPE = "alerting"


class Answer(CallEvent):
    """The called party answered."""

    EVENT_TYPE = "answer"


class CollectInfo(CallEvent):
    """Digits collected (AXE extension, or VoiceCall notify menu): see ``digit_info``."""

    EVENT_TYPE = "collectInfo"


class Disconnect(CallEvent):
    """The call was released: ``state_code``/``state_desc`` say why."""

    EVENT_TYPE = "disconnect"


EVENT_CLASSES: dict[str, type[CallEvent]] = {
    c.EVENT_TYPE: c for c in (CallIn, CallOut, Alerting, Answer, CollectInfo, Disconnect)
}


@dataclass(frozen=True, repr=False)
class SmsEvent:
    """An SMS push (PrivateNumber). ``SmsBlock`` waits for actions; ``SmsNotify`` informs."""

    app_key: str | None = None
    sms_identifier: str | None = None
    notification_mode: str | None = None
    calling: str | None = None
    called: str | None = None
    virtual_number: str | None = None
    event: str | None = None
    time_stamp: datetime | None = None
    subscription_id: str | None = None
    sms_content: str | None = None
    ext_info: dict[str, Any] | None = None
    send_result: int | None = None
    user_data: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    seq: int | None = field(default=None, compare=False, repr=False)
    verified: bool = field(default=False, compare=False, repr=False)
    unreadable: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_block(self) -> bool:
        """True when the platform waits for routing actions."""
        return (self.notification_mode or "").lower() == "block"

    @property
    def ext_paras(self) -> dict[str, str]:
        """``extInfo.extParas`` as a plain dict (``{"splitNum": "1", "direction": "1"}``).

        Values are text, as documented; a number is given as its text and a missing value as
        ``""`` (tolerant reading of an undocumented shape).
        """
        paras = (self.ext_info or {}).get("extParas")
        if not isinstance(paras, list):
            return {}
        return {
            str(p["key"]): "" if p.get("value") is None else str(p["value"])
            for p in paras
            if isinstance(p, dict) and "key" in p
        }

    @property
    def dedupe_key(self) -> str:
        """What identifies this SMS push across redeliveries (see :func:`sms_dedupe_key`)."""
        return sms_dedupe_key(self.sms_identifier, self.notification_mode, verified=self.verified)

    def __repr__(self) -> str:
        return _masked_repr(self)


class SmsNotify(SmsEvent):
    """An informational SMS push (answer: HTTP 200, empty body)."""


class SmsBlock(SmsEvent):
    """An SMS control push: the answer decides whether to forward or discard the message."""


# notificationMode, lower-cased -> the record class; any other mode is a plain SmsEvent.
SMS_CLASSES: dict[str, type[SmsEvent]] = {"block": SmsBlock, "notify": SmsNotify}


@dataclass(frozen=True, repr=False)
class NumberStatus:
    """One X number's status: ``5`` normal, ``9`` suspended, ``10`` unavailable, ``11`` frozen."""

    number: str | None = None
    status: str | None = None
    cause: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    seq: int | None = field(default=None, compare=False, repr=False)
    verified: bool = field(default=False, compare=False, repr=False)
    unreadable: tuple[str, ...] = field(default=(), compare=False)

    def __repr__(self) -> str:
        return _masked_repr(self)


@dataclass(frozen=True, repr=False)
class NumStatusPush:
    """An X-number status push (1-100 numbers)."""

    numbers: tuple[NumberStatus, ...]

    def __repr__(self) -> str:
        return f"NumStatusPush({list(self.numbers)!r})"


Push = FeePush | CallEvent | SmsEvent | NumStatusPush

# --------------------------------------------------------------------------------------------
# Routing by body shape

_VOICE_FEE_FIELDS = ("dynIVRStartTime", "dynIVRPath", "recordFileDownloadUrl")
_VOICE_SERVICE_TYPES = ("001", "002")
_PN_EVENT_FIELDS = ("subscriptionId", "notifyMode", "callRelDirection")
_VOICE_EVENT_FIELDS = ("partyType", "displayCallerNum")


def push_kind(body: Any) -> Literal["fee", "event", "sms", "numstatus"]:
    """Which push ``body`` is, from its shape; raises :class:`PushFormatError` if none."""
    if not isinstance(body, dict):
        raise PushFormatError(f"a push is a JSON object, got {type(body).__name__}")
    event_type = body.get("eventType")
    if "feeLst" in body or event_type == "fee":
        return "fee"
    if "smsEvent" in body:
        return "sms"
    if "numInfo" in body or event_type == "numStatus":
        return "numstatus"
    if "statusInfo" in body:
        return "event"
    raise PushFormatError(
        "not a recognised push: expected feeLst (CDRs), statusInfo (call event), "
        "smsEvent (SMS) or numInfo (X-number status)"
    )


def fee_product(info: Mapping[str, Any]) -> Product:
    """Guess the product of one FeeInfo: VoiceCall's service types or VoiceCall-only fields."""
    if info.get("serviceType") in _VOICE_SERVICE_TYPES or any(k in info for k in _VOICE_FEE_FIELDS):
        return "voicecall"
    return "privatenumber"


def detect_product(body: Mapping[str, Any]) -> Product | None:
    """The product a push comes from, judged by shape; ``None`` when the shape is shared.

    A fee push is VoiceCall only if every CDR in it looks like VoiceCall. A call event is
    PrivateNumber when it is a ``callin`` or carries a binding/X-mode field, VoiceCall when it
    carries ``partyType``/``displayCallerNum``; plain callout/alerting/answer events fit both.
    SMS and X-number status exist only in PrivateNumber.
    """
    kind = push_kind(body)
    if kind == "fee":
        items = body.get("feeLst")
        if (
            isinstance(items, list)
            and items
            and all(isinstance(i, dict) and fee_product(i) == "voicecall" for i in items)
        ):
            return "voicecall"
        return "privatenumber"
    if kind == "event":
        info = body.get("statusInfo")
        if body.get("eventType") == "callin":
            return "privatenumber"
        if isinstance(info, dict):
            if any(k in info for k in _PN_EVENT_FIELDS):
                return "privatenumber"
            if any(k in info for k in _VOICE_EVENT_FIELDS):
                return "voicecall"
        return None
    return "privatenumber"


def fee_items(body: Mapping[str, Any]) -> list[Any]:
    """The ``feeLst`` list, checked for type and the documented cap of 50."""
    items = body.get("feeLst")
    if not isinstance(items, list):
        raise PushFormatError(f"expected a list, got {type(items).__name__}", "feeLst")
    if len(items) > MAX_FEE_ITEMS:
        raise PushFormatError(f"{len(items)} items; at most {MAX_FEE_ITEMS} allowed", "feeLst")
    # An empty feeLst is outside the documented 1-50 but carries nothing to lose; we accept it
    # (tolerant choice) instead of making the platform retry it six times.
    return items


def num_items(body: Mapping[str, Any]) -> list[Any]:
    """The ``numInfo`` list, checked for type and the documented cap of 100."""
    items = body.get("numInfo")
    if not isinstance(items, list):
        raise PushFormatError(f"expected a list, got {type(items).__name__}", "numInfo")
    if len(items) > MAX_NUM_INFO:
        raise PushFormatError(f"{len(items)} items; at most {MAX_NUM_INFO} allowed", "numInfo")
    return items


def event_type_of(body: Mapping[str, Any]) -> str:
    """The ``eventType`` of a call event, which must be a non-empty string."""
    event_type = body.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise PushFormatError("expected a non-empty string", "eventType")
    return event_type


def parse_event(body: Mapping[str, Any], product: Product | None = None) -> CallEvent:
    """Parse a ``{"eventType":..,"statusInfo":{..}}`` body."""
    event_type = event_type_of(body)
    info = body.get("statusInfo")
    if not isinstance(info, dict):
        raise PushFormatError(f"expected an object, got {type(info).__name__}", "statusInfo")
    values = convert(info, STATUS_FIELDS, "statusInfo")
    values["product"] = product or detect_product(body) or "privatenumber"
    cls = EVENT_CLASSES.get(event_type, CallEvent)
    return cls(event_type=event_type, **values, raw=dict(info))


def parse_sms(body: Mapping[str, Any]) -> SmsEvent:
    """Parse a ``{"appKey":..,"smsEvent":{..}}`` body."""
    values = convert(body.get("smsEvent"), SMS_FIELDS, "smsEvent")
    values["app_key"] = to_str(body.get("appKey"), "appKey")
    mode = (values.get("notification_mode") or "").lower()
    cls = SMS_CLASSES.get(mode, SmsEvent)
    return cls(**values, raw=dict(body))


def parse_push(body: Any, product: Product | None = None) -> Push:
    """Parse a decoded push body into its typed record (see the module docstring).

    ``body`` may also be ``bytes``/``str`` JSON. ``product`` overrides the guess made from the
    body's shape. Raises :class:`PushFormatError` for anything that is not a documented push.
    """
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise PushFormatError(f"not JSON: {exc}") from None
    kind = push_kind(body)
    if kind == "fee":
        items = fee_items(body)
        guessed = product or detect_product(body)
        return FeePush(
            tuple(
                Cdr.from_json(info, guessed, where=f"feeLst[{i}]") for i, info in enumerate(items)
            )
        )
    if kind == "event":
        return parse_event(body, product)
    if kind == "sms":
        return parse_sms(body)
    numbers = tuple(
        NumberStatus(**convert(item, NUM_FIELDS, f"numInfo[{i}]"))
        for i, item in enumerate(num_items(body))
    )
    return NumStatusPush(numbers)
