"""The columns of a CDR frame: their kinds, how a store computes them, and what is absent.

:func:`toolkit.frame.cdr_frame` types every column by its kind; the store reader
(:mod:`toolkit.store_reader`) computes them in SQL and the file readers (:mod:`toolkit.readers`)
with numpy, from the same expressions of :mod:`toolkit.schema`. An integer column holds a
sentinel where the value is absent (:func:`absent`), so that arrays stay plain int64 until typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from . import schema
from .errors import ValidationError
from .expr import Col, Const, Expr, First, Missing, Not, When

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PRODUCTS = ("privatenumber", "voicecall")
MODES = ("AX", "AXB", "AXE", "AXYB", "X", "VoiceCall")
# FeeInfo.direction: PrivateNumber 0 = someone called A (AXB: B called A), 1 = A called out,
# 2 = abnormal (no binding...); VoiceCall 0 = outbound call, 1 = callback.
DIRECTIONS = ("to-A", "from-A", "abnormal", "outbound", "callback")

# What cdr_frame does with bad CDRs in a file or push bodies (see its docstring).
Errors = Literal["raise", "warn", "ignore"]

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
class FrameColumn:
    """One output column: how SQLite computes it and how it is typed."""

    kind: Kind
    # SQL over the cdrs table: an expression of toolkit.schema (rendered for the store at hand),
    # plain SQL over columns every store has, or None for columns derived in Python.
    sql: Expr | str | None
    default: bool = False


def _stored(kind: Kind, name: str, default: bool = False) -> FrameColumn:
    """A column as the store holds it (the name must be one of toolkit.schema's cdrs columns)."""
    schema.CDRS.column(name)
    return FrameColumn(kind, Col(name), default)


# A CDR's own time: when the call reached X, else the first stage it did reach. VoiceCall
# notify/verify CDRs may carry only callEndTime (unconfirmed which times they send).
START: Expr = First(
    tuple(
        Col(name)
        for name in (
            "call_in_time",
            "fwd_start_time",
            "fwd_alerting_time",
            "fwd_answer_time",
            "call_end_time",
            "fail_time",
        )
    )
)

# talk_seconds is read with one state more than NULL: ANSWERED_NO_TALK for a call that has an
# answer time but no usable talk time. Whether a call has an answer time (which the outcome and the
# billed minutes depend on) then follows from this one column: one more column to read would cost
# a tenth of the load.
ANSWERED_NO_TALK = -2
TALK = First((schema.TALK_SECONDS, When(Not(Missing(schema.ANSWER_TIME)), Const(ANSWERED_NO_TALK))))

COLUMNS: dict[str, FrameColumn] = {
    "seq": _stored("int", "seq", True),
    "product": FrameColumn(
        "product", "CASE product WHEN 'privatenumber' THEN 0 WHEN 'voicecall' THEN 1 END", True
    ),
    "mode": FrameColumn("mode", None, True),  # SQL built per call: app_modes goes into it
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
    "start_time": FrameColumn("time", START, True),
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
    "received_at": FrameColumn("time", "CAST(received_at AS INTEGER)"),
    # The derived facts, by the rules of toolkit.schema (the same as the tail's and Cdr's).
    "alerting_time": FrameColumn("time", schema.ALERTING_TIME),
    "answer_time": FrameColumn("time", schema.ANSWER_TIME),
    "ring_seconds": FrameColumn("seconds", schema.RING_SECONDS, True),
    "talk_seconds": FrameColumn("seconds", TALK, True),
    "billed_minutes": FrameColumn("derived", None, True),
    "outcome": FrameColumn("derived", None, True),
    "category": FrameColumn("derived", None, True),
    "cause": FrameColumn("derived", None, True),
}
DEFAULT_COLUMNS: tuple[str, ...] = tuple(n for n, c in COLUMNS.items() if c.default)

# What the derived columns (and direction labels, which need the product) are computed from;
# always read, dropped again unless asked for.
ALWAYS = ("product", "talk_seconds", "ul_fail_reason", "fwd_unasw_rsn", "sip_status_code")
INTEGER_KINDS = frozenset(
    {"int", "time", "code", "seconds", "product", "mode", "direction", "flag"}
)
NULL = -(2**63)  # SQL NULL in code columns (see absent); viewed as datetime64 it is NaT


def absent(kind: str) -> int:
    """What an integer column of ``kind`` holds where the value is absent (SQL NULL).

    -1 is cheap to print and cannot be a real value where it stands for NULL: times before 1970
    and negative durations, directions, flags and counters are not data. Codes keep a sentinel
    that no code can be (INT64_MIN), because a stored negative code is garbage worth showing.
    """
    return NULL if kind == "code" else -1


def mode_rules(app_modes: Mapping[str, str] | None) -> list[tuple[str, int]]:
    """``app_modes`` checked: (app key, index in :data:`MODES`) pairs, in the caller's order.

    Raises :class:`~toolkit.errors.ValidationError` for a mode that is not a PrivateNumber mode.
    """
    by_upper = {m.upper(): i for i, m in enumerate(MODES) if m != "VoiceCall"}
    rules = []
    for app_key, mode in (app_modes or {}).items():
        index = by_upper.get(str(mode).upper())
        if index is None:
            raise ValidationError(
                "app_modes",
                f"{mode!r} is not a PrivateNumber mode; expected one of {', '.join(by_upper)}",
            )
        rules.append((app_key, index))
    return rules


# Up to this many distinct texts a categorical's categories are sorted (see categorical).
SORTED_CATEGORIES = 10_000


def categorical(data: np.ndarray, masker: Any = None) -> pd.Categorical:
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
    if len(uniques) <= SORTED_CATEGORIES:
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
