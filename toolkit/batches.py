"""A push as rows of the store's tables, and a stored row as its typed record: for every engine.

:func:`prepare` checks a push body and turns it into a :class:`~toolkit.engine.Batch` (the rows of
the four push tables, with their dedupe keys), and :func:`quarantine_row` a push kept apart;
:func:`record` reads a stored row back into a :class:`~toolkit.events.Cdr`, ``CallEvent``...
Nothing here knows the database: the SQLite store (:mod:`toolkit.store`) and the PostgreSQL one
(:mod:`toolkit.pgstore`) both write these rows and read them back through :func:`record`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

from . import events as ev
from . import rawjson, rows, schema
from .engine import Batch, check_table
from .errors import PushFormatError

__all__ = ["body_of", "prepare", "quarantine_row", "record"]

CDR_COLUMNS = schema.CDRS.names
EVENT_COLUMNS = schema.EVENTS.names
SMS_COLUMNS = schema.SMS.names
NUM_STATUS_COLUMNS = schema.NUM_STATUS.names

_PRODUCTS = ("privatenumber", "voicecall")


def _stored_json(text: Any) -> dict[str, Any] | None:
    """The ``raw`` column as a JSON object, or ``None`` if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _json_from_columns(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a row's typed columns stand for, when its ``raw`` is lost.

    Times are epoch seconds, which :func:`toolkit.events.to_epoch` reads (and range-checks).
    """
    fields = {
        "cdrs": ev.FEE_FIELDS,
        "events": ev.STATUS_FIELDS,
        "sms": ev.SMS_FIELDS,
        "num_status": ev.NUM_FIELDS,
    }[table]
    body = {name: row.get(attr) for name, (attr, _) in fields.items() if row.get(attr) is not None}
    if table == "sms":
        return {"appKey": row.get("app_key"), "smsEvent": body}
    return body


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
# A CDR row is built in place (toolkit.rows): its columns without seq, and where each field goes.
_CDR_ROW = {name: i for i, name in enumerate(CDR_COLUMNS[1:])}
# The columns prepare gives each CDR row itself, in the order of _fee_rows' tuples.
_FEE_GIVEN = ("dedupe_key", "product", "received_at", "raw", "verified")
_FEE_SLOTS = rows.Slots(
    _FEE, CDR_COLUMNS[1:], time=_epoch_int, quick_time=ev.plain_epoch, given=_FEE_GIVEN
)
_STATUS = _epoch_fields(ev.STATUS_FIELDS, precise=True)
_SMS = _epoch_fields(ev.SMS_FIELDS, precise=True)


def quarantine_row(
    body: bytes | str,
    *,
    product: ev.Product | None,
    reason: str,
    remote_addr: str | None = None,
    received_at: float | None = None,
) -> tuple[Any, ...]:
    """A row for the quarantine table: a push kept apart because it failed verification."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    now = time.time() if received_at is None else received_at
    return (now, product, reason, remote_addr, text)


def _texts(segment: Any, count: int) -> Sequence[str | None]:
    """The received texts of a list's items, or ``None`` for each when they are not known."""
    if isinstance(segment, list) and len(segment) == count:
        return segment
    return [None] * count


def _raw(segment: Any, obj: Any) -> str:
    """What a row keeps as ``raw``: the object's text as received, else the object encoded.

    A received text can hold a lone surrogate (json.loads lets an encoded one through), which
    SQLite cannot store as UTF-8; encoding the object escapes it instead.
    """
    if isinstance(segment, str):
        if segment.isascii():
            return segment
        try:
            segment.encode("utf-8")
        except UnicodeEncodeError:
            return _dumps(obj)
        return segment
    return _dumps(obj)


def _fee_rows(
    items: list[Any], texts: Sequence[str | None], product: ev.Product, now: float, verified: bool
) -> list[tuple[Any, ...]] | None:
    """Every CDR row of a fee push at once (:func:`toolkit.rows.fill_all`), or ``None`` when
    one of them needs the row-by-row reading, which then raises the error that names it.

    The keys are made from the fields as received, which are the stored values whenever
    ``fill_all`` takes the push (every text field a plain string).
    """
    if set(map(type, items)) != {dict}:
        return None
    sessions = [info.get("sessionId") for info in items]
    prefix = schema.trust_prefix(product, verified)
    keys = [
        f"{prefix}icid:{icid}" if icid else f"{prefix}session:{session}"
        for icid, session in zip([info.get("icid") for info in items], sessions, strict=True)
    ]
    received = [text for text in texts if type(text) is str]
    if len(received) == len(texts) and "".join(received).isascii():
        raws: Sequence[str] = received
    else:
        raws = [_raw(text, info) for text, info in zip(texts, items, strict=True)]
    trust = int(verified)
    given = zip(keys, repeat(product), repeat(now), raws, repeat(trust))
    done = rows.fill_all(items, _FEE_SLOTS, given)
    if done is not None:
        for i, session in enumerate(sessions):
            if not session:  # no field is wrong (fill_all took them all): the first error
                raise ev.PushFormatError("required", f"feeLst[{i}].sessionId")
    return done


def _row(values: dict[str, Any], columns: tuple[str, ...], **fixed: Any) -> tuple[Any, ...]:
    values.update(fixed)
    return tuple(map(values.get, columns[1:]))


def prepare(
    body: Any,
    *,
    product: ev.Product | None = None,
    received_at: float | None = None,
    verified: bool = False,
) -> Batch:
    """Validate a decoded push body and map it to rows; raises :class:`PushFormatError`.

    ``body`` is the decoded JSON, or a :class:`toolkit.rawjson.Decoded` (what the receiver
    decodes a request with): then the text of each object as it was received is stored as its
    ``raw``, instead of encoding the object again. ``verified`` says whether the push's signature
    was checked; it is stored with each row and is part of each dedupe key. This is the
    receiver's hot path: it reads the JSON once with the field tables of :mod:`toolkit.events`
    (so typed records and rows always agree) and builds no objects.
    """
    segments: Mapping[str, Any] = {}
    text = None
    if isinstance(body, rawjson.Decoded):
        body, segments, text = body.body, body.segments, body.text
    now = time.time() if received_at is None else received_at
    trust = int(verified)
    kind = ev.push_kind(body)
    batch = Batch()
    if kind == "fee":
        items = ev.fee_items(body)
        cdr_product = product or ev.detect_product(body) or "privatenumber"
        texts = _texts(segments.get("feeLst"), len(items))
        done = _fee_rows(items, texts, cdr_product, now, verified)
        if done is not None:
            batch.cdrs = done
            return batch
        for i, info in enumerate(items):
            row = rows.fill(info, _FEE_SLOTS, f"feeLst[{i}]")
            session_id = row[_CDR_ROW["session_id"]]
            if not session_id:
                raise ev.PushFormatError("required", f"feeLst[{i}].sessionId")
            row[_CDR_ROW["dedupe_key"]] = ev.cdr_dedupe_key(
                row[_CDR_ROW["icid"]], session_id, product=cdr_product, verified=verified
            )
            row[_CDR_ROW["product"]] = cdr_product
            row[_CDR_ROW["received_at"]] = now
            row[_CDR_ROW["raw"]] = _raw(texts[i], info)
            row[_CDR_ROW["verified"]] = trust
            batch.cdrs.append(tuple(row))
    elif kind == "event":
        event_type = ev.event_type_of(body)
        info = body.get("statusInfo")
        values = ev.convert(info, _STATUS, "statusInfo")
        stamp = values.get("timestamp")
        event_product = product or ev.detect_product(body) or "privatenumber"
        key = ev.event_dedupe_key(
            values.get("session_id"),
            event_type,
            stamp,
            values.get("caller"),
            values.get("called"),
            product=event_product,
            verified=verified,
        )
        party = values.get("party_type")
        batch.events.append(
            _row(
                values,
                EVENT_COLUMNS,
                dedupe_key=key,
                event_type=event_type,
                timestamp=None if stamp is None else int(stamp),
                product=event_product,
                party_type=None if party is None else str(party),
                received_at=now,
                raw=_raw(segments.get("statusInfo"), info),
                verified=trust,
            )
        )
    elif kind == "sms":
        values = ev.convert(body.get("smsEvent"), _SMS, "smsEvent")
        values["app_key"] = ev.to_str(body.get("appKey"), "appKey")
        key = ev.sms_dedupe_key(
            values.get("sms_identifier"), values.get("notification_mode"), verified=verified
        )
        batch.sms.append(
            _row(
                values,
                SMS_COLUMNS,
                dedupe_key=key,
                received_at=now,
                raw=_raw(text, body),
                verified=trust,
            )
        )
    else:
        items = ev.num_items(body)
        texts = _texts(segments.get("numInfo"), len(items))
        for i, item in enumerate(items):
            values = ev.convert(item, ev.NUM_FIELDS, f"numInfo[{i}]")
            raw = _raw(texts[i], item)
            batch.num_status.append(
                _row(values, NUM_STATUS_COLUMNS, received_at=now, raw=raw, verified=trust)
            )
    return batch


def body_of(push: ev.Push) -> dict[str, Any]:
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
    raise PushFormatError(f"not a push: {type(push).__name__}")


def record(table: str, row: Mapping[str, Any]) -> Any:
    """The typed record (:class:`~toolkit.events.Cdr`, ``CallEvent``...) for a stored row.

    Never raises for what the row holds: a row written by an older version or another
    program (a time no datetime can hold, text in a number column, ``raw`` that is not a JSON
    object) gives a record whose unreadable fields are ``None`` and named in its
    ``unreadable`` attribute (``"raw"`` when the record had to be rebuilt from the columns).
    """
    check_table(table)
    unreadable: list[str] = []
    raw = _stored_json(row.get("raw"))
    if raw is None:
        unreadable.append("raw")
        raw = _json_from_columns(table, row)
    seq = row.get("seq")
    seq = seq if type(seq) is int else None
    verified = row.get("verified") == 1  # not any truthy junk another program wrote
    if table == "cdrs":
        values = ev.convert(raw, ev.FEE_FIELDS, "FeeInfo", unreadable)
        product = row.get("product")
        values["product"] = product if product in _PRODUCTS else ev.fee_product(raw)
        cls: type = ev.Cdr
    elif table == "events":
        values = ev.convert(raw, ev.STATUS_FIELDS, "statusInfo", unreadable)
        event_type = row.get("event_type")
        if not isinstance(event_type, str):
            unreadable.append("eventType")
            event_type = ""
        product = row.get("product")
        values["product"] = product if product in _PRODUCTS else "privatenumber"
        values["event_type"] = event_type
        cls = ev.EVENT_CLASSES.get(event_type, ev.CallEvent)
    elif table == "sms":
        sms = raw.get("smsEvent")
        if not isinstance(sms, dict):
            unreadable.append("smsEvent")
            sms = {}
        values = ev.convert(sms, ev.SMS_FIELDS, "smsEvent", unreadable)
        try:
            values["app_key"] = ev.to_str(raw.get("appKey"), "appKey")
        except ev.PushFormatError:
            unreadable.append("appKey")
            values["app_key"] = None
        mode = (values.get("notification_mode") or "").lower()
        cls = ev.SMS_CLASSES.get(mode, ev.SmsEvent)
    else:
        values = ev.convert(raw, ev.NUM_FIELDS, "numInfo", unreadable)
        return ev.NumberStatus(**values, seq=seq, verified=verified, unreadable=tuple(unreadable))
    return cls(**values, raw=raw, seq=seq, verified=verified, unreadable=tuple(unreadable))
