"""Vectorised decoding and classification for pandas (imported only when used).

Each family is compiled once into a dense lookup array ``code -> table position`` (the largest code
is about one million, so the array is a few MB at most) plus one small array per output column.
Decoding a column is then a handful of numpy operations, and classifying a frame combines
per-position verdict arrays with ``np.where`` in the order of :func:`toolkit.codes.rules.combine`.
Object columns (strings, mixed types) are factorised first so that only their distinct values go
through the scalar :func:`toolkit.codes.tables.normalize_code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from .. import schema
from .decoding import NOT_APPLICABLE, CodeInfo, _check_family
from .outcomes import OUTCOMES
from .rules import HARD_OUTCOMES, verdict
from .tables import normalize_code, table

_TEXT_COLUMNS = ("meaning", "chinese", "category", "actor", "action")
_OUTCOME_INDEX = {name: i for i, name in enumerate(OUTCOMES)}


@dataclass(frozen=True)
class _Compiled:
    """One family as arrays; positions are table rows, then UNKNOWN, then MISSING."""

    lut: np.ndarray  # code -> position, for codes 0..len(lut)-1
    unknown: int
    missing: int
    known: np.ndarray  # bool per position
    columns: dict[str, tuple[np.ndarray, pd.Index]]  # text column -> (category codes, categories)
    primary: np.ndarray  # outcome index per position, -1 for none
    fallback: np.ndarray
    without_answer: np.ndarray


@cache
def _compile(family: str) -> _Compiled:
    tab = table(family)
    rows = tab.rows()
    unknown, missing = len(rows), len(rows) + 1
    size = max(row.high for row in rows) + 1
    lut = np.full(size, unknown, dtype=np.int32)
    position = {id(row): i for i, row in enumerate(rows)}
    # Ranges first, in reverse so the first range in the file wins; then exact rows on top.
    for row in reversed(tab.ranges):
        lut[row.low : row.high + 1] = position[id(row)]
    for code, row in tab.exact.items():
        lut[code] = position[id(row)]

    infos = [
        CodeInfo(family, r.low, r.low, True, r.meaning, r.chinese, r.category, r.actor, r.action)
        for r in rows
    ]
    infos.append(CodeInfo(family, None, None, False, "unknown code"))
    infos.append(CodeInfo(family, None, None, False, NOT_APPLICABLE))
    columns = {}
    for name in _TEXT_COLUMNS:
        codes, uniques = pd.factorize(pd.Series([getattr(i, name) for i in infos], dtype=object))
        columns[name] = (codes.astype(np.int32), pd.Index(uniques))
    verdicts = [verdict(info) for info in infos]

    def outcome_array(attr: str) -> np.ndarray:
        values = [getattr(v, attr) for v in verdicts]
        return np.array([_OUTCOME_INDEX[v] if v else -1 for v in values], dtype=np.int8)

    return _Compiled(
        lut=lut,
        unknown=unknown,
        missing=missing,
        known=np.array([i.known for i in infos]),
        columns=columns,
        primary=outcome_array("primary"),
        fallback=outcome_array("fallback"),
        without_answer=outcome_array("without_answer"),
    )


def _positions(values: pd.Series, family: str) -> tuple[np.ndarray, np.ndarray]:
    """Table positions of a column of codes, and the normalised codes (-1 where none)."""
    comp = _compile(family)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(numbers) & (numbers >= 0) & (numbers == np.floor(numbers))
            valid = whole & (numbers < 2.0**62)  # larger values would overflow int64: unknown
        ints = np.where(valid, numbers, -1).astype(np.int64)
        inside = valid & (ints < len(comp.lut))
        pos = np.where(inside, comp.lut[np.where(inside, ints, 0)], comp.unknown)
        pos[np.isnan(numbers)] = comp.missing
        return pos, ints
    # object, string or bool columns: normalise each distinct value once with the scalar rules
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    unique_pos = np.empty(len(uniques) + 1, dtype=np.int64)
    unique_int = np.full(len(uniques) + 1, -1, dtype=np.int64)
    unique_pos[-1] = comp.missing  # factorize's NA sentinel (-1) indexes this last slot
    for i, raw in enumerate(uniques):
        status, number = normalize_code(raw)
        if status == "missing":
            unique_pos[i] = comp.missing
        elif number is None or number >= len(comp.lut):
            unique_pos[i] = comp.unknown
        else:
            unique_pos[i] = comp.lut[number]
            unique_int[i] = number
    return unique_pos[codes], unique_int[codes]


def decode_series(series: pd.Series, family: str = "pn_release") -> pd.DataFrame:
    """Decode a column of codes; one row per input row, same index.

    Columns: ``raw`` (the input), ``code`` (nullable Int64), ``known``, and categoricals
    ``meaning``, ``chinese``, ``category``, ``actor``, ``action``. Missing values read
    "not applicable (no code)", unlisted or garbage values "unknown code" (the raw value is kept).
    """
    _check_family(family)
    series = pd.Series(series)
    comp = _compile(family)
    pos, ints = _positions(series, family)
    result = {
        "raw": series.to_numpy(),
        "code": pd.array(np.where(ints >= 0, ints, 0), dtype="Int64"),
        "known": comp.known[pos],
    }
    result["code"][ints < 0] = pd.NA
    for name in _TEXT_COLUMNS:
        codes, categories = comp.columns[name]
        result[name] = pd.Categorical.from_codes(codes[pos], categories=categories)
    return pd.DataFrame(result, index=series.index)


def _column(df: pd.DataFrame, snake: str, camel: str) -> pd.Series:
    """A store column, or its platform spelling, or an all-missing column."""
    for name in (snake, camel):
        if name in df.columns:
            return df[name]
    return pd.Series(np.nan, index=df.index, dtype="float64")


def _time_present(values: pd.Series) -> np.ndarray:
    """Which values are a time, read as the scalar rules read one (:func:`schema.time_value`)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))
    # text and mixed columns: each distinct value goes through the scalar rule once
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    known = [schema.time_value(value) is not None for value in uniques]
    return np.array([*known, False], dtype=bool)[codes]  # the NA sentinel (-1) reads False


# The columns toolkit.schema.ANSWER_TIME reads, in both spellings.
_ANSWER_INPUTS = frozenset(
    name
    for column in schema.ANSWER_TIME.columns()
    for name in (column, schema.CDRS.column(column).json)
    if name
)


def _answered(df: pd.DataFrame) -> np.ndarray:
    """Which rows have an answer time (:data:`toolkit.schema.ANSWER_TIME`, as
    :func:`toolkit.codes.explain` reads it): ``fwdAnswerTime``, else ``callOutAnswerTime`` on a
    one-leg VoiceCall CDR. Only rows with a callOut answer time and no forward one need the
    row-by-row rule."""
    answered = _time_present(_column(df, "fwd_answer_time", "fwdAnswerTime"))
    maybe = ~answered & _time_present(_column(df, "call_out_answer_time", "callOutAnswerTime"))
    if maybe.any():
        inputs = [c for c in df.columns if c in _ANSWER_INPUTS]
        rows = df.loc[maybe, inputs].to_dict("records")
        answered[maybe] = [schema.answer_present(row) for row in rows]
    return answered


def classify_frame(df: pd.DataFrame) -> pd.Series:
    """Classify every CDR row into one of :data:`toolkit.codes.OUTCOMES` (categorical Series).

    Reads the store columns ``ul_fail_reason``, ``fwd_unasw_rsn``, ``sip_status_code``,
    ``fwd_answer_time`` and, if present, ``product`` ("voicecall" rows use the VoiceCall tables;
    anything else is PrivateNumber) and what a one-leg VoiceCall answer time needs
    (``call_out_answer_time``, ``service_type``...: see :data:`toolkit.schema.ANSWER_TIME`). The
    platform's camelCase names are accepted as well. Same rules as :func:`toolkit.codes.classify`.
    """
    release = _column(df, "ul_fail_reason", "ulFailReason")
    pos_pn, _ = _positions(release, "pn_release")
    rel = _compile("pn_release")
    primary, fallback, without = (
        rel.primary[pos_pn],
        rel.fallback[pos_pn],
        rel.without_answer[pos_pn],
    )
    if "product" in df.columns:
        voice = (df["product"] == "voicecall").to_numpy(dtype=bool)
        if voice.any():
            pos_vc, _ = _positions(release, "vc_release")
            vc = _compile("vc_release")
            primary = np.where(voice, vc.primary[pos_vc], primary)
            fallback = np.where(voice, vc.fallback[pos_vc], fallback)
            without = np.where(voice, vc.without_answer[pos_vc], without)
    pos_q, _ = _positions(_column(df, "fwd_unasw_rsn", "fwdUnaswRsn"), "q850")
    pos_s, _ = _positions(_column(df, "sip_status_code", "sipStatusCode"), "sip")
    answered = _answered(df)

    # Same order as rules.combine: release, Q.850, SIP, then the deferring codes in that order,
    # then a normal release code, then error.
    q850, sip = _compile("q850"), _compile("sip")
    outcome = primary
    for step in (
        q850.primary[pos_q],
        sip.primary[pos_s],
        fallback,
        q850.fallback[pos_q],
        sip.fallback[pos_s],
        without,
    ):
        outcome = np.where(outcome < 0, step, outcome)
    outcome = np.where(outcome < 0, _OUTCOME_INDEX["error"], outcome)
    hard = np.isin(primary, [_OUTCOME_INDEX[name] for name in HARD_OUTCOMES])
    outcome = np.where(answered, np.where(hard, primary, _OUTCOME_INDEX["answered"]), outcome)
    return pd.Series(
        pd.Categorical.from_codes(outcome.astype(np.int8), categories=pd.Index(OUTCOMES)),
        index=df.index,
        name="outcome",
    )
