"""CDRs as a typed pandas DataFrame: timestamps, codes, outcomes, billed minutes.

:func:`cdr_frame` reads CDRs from a :class:`~toolkit.store.Store` or a store's SQLite file
(:mod:`toolkit.store_reader`), or from push bodies, FeeInfo dicts, a DataFrame, or a JSON, JSON
lines, CSV or Parquet file (:mod:`toolkit.readers`), and returns one row per CDR::

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

Ring and talk seconds are the rules of :mod:`toolkit.schema` (rendered as SQL for a store, as
numpy for other sources, see :mod:`toolkit.vectors`), and billed
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

**Speed.** Loading a store is the hot path (a million CDRs in about 3 s, see
:mod:`toolkit.store_reader`); files are read by pyarrow when it is installed. Outcomes and causes
are decoded once per distinct combination of codes, not once per row; numbers are masked once per
distinct number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import schema
from .columns import (
    ANSWERED_NO_TALK,
    COLUMNS,
    DEFAULT_COLUMNS,
    DIRECTIONS,
    INTEGER_KINDS,
    MODES,
    NULL,
    PRODUCTS,
    Errors,
    absent,
    categorical,
    mode_rules,
)
from .errors import ValidationError
from .numbers import mask, normalize

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


Source = Any  # Store | str | os.PathLike | DataFrame | Mapping | Iterable[Mapping] | a file


def cdr_frame(
    source: Source,
    *,
    start: Any = None,
    end: Any = None,
    bind_num: str | Iterable[str] | None = None,
    outcome: str | Iterable[str] | None = None,
    tz: str | None = None,
    raw_numbers: bool = False,
    columns: Sequence[str] | Literal["all"] | None = None,
    app_modes: Mapping[str, str] | None = None,
    errors: Errors = "warn",
) -> pd.DataFrame:
    """CDRs from ``source`` as a typed DataFrame (columns in the module docstring).

    ``source``: a :class:`~toolkit.store.Store` or the path of a store's SQLite file; a PostgreSQL
    store or its ``postgresql://`` URL (:mod:`toolkit.pgframe`); a push body or FeeInfo dict, a
    list of those, or a DataFrame; or the path (or open binary file) of JSON, JSON lines, CSV or
    Parquet, gzip-compressed or not (see :mod:`toolkit.readers`).

    Filters: ``start`` (inclusive) and ``end`` (exclusive) on ``start_time``, as anything
    :class:`pandas.Timestamp` accepts (naive values are read in ``tz``); ``bind_num``, one X number
    or several; ``outcome``, one of :data:`toolkit.codes.OUTCOMES` or several.

    ``tz`` is the display zone of the timestamp columns (they are stored in UTC), e.g.
    ``"Asia/Shanghai"``; ``None`` keeps the zone of a source that has one (a Parquet export, a
    DataFrame of aware times) and is UTC otherwise. ``raw_numbers=True`` shows phone numbers
    unmasked. ``columns`` picks columns from :data:`COLUMNS` (``"all"`` for every one);
    ``app_modes`` maps app keys to their mode ("AXB", "AX", ...), which CDRs cannot show by
    themselves.

    ``errors`` says what happens to bad CDRs in a file or in push bodies (a code that is not a
    number, a time out of range, a body that is not a push): ``"warn"`` skips them with one
    warning giving the count and the first reasons (row, field, why), ``"ignore"`` skips them
    silently, ``"raise"`` raises :class:`~toolkit.errors.ValidationError` with those reasons.
    Missing fields and unknown codes are data, not errors.

    Raises :class:`~toolkit.errors.ValidationError` for an unusable argument (unknown column,
    outcome or zone) or source (a path that is no store and no file of CDRs, a table with no
    CDR column).
    """
    from . import readers, store_reader
    from .store import Store

    if errors not in ("raise", "warn", "ignore"):
        raise ValidationError("errors", f"expected 'raise', 'warn' or 'ignore', got {errors!r}")
    wanted = _wanted_columns(columns)
    outcomes = _wanted_outcomes(outcome)
    zone = None if tz is None else _zone(tz)
    rules = mode_rules(app_modes)
    url = _postgres_url(source)
    if isinstance(source, Store):
        source = source.path
    if url is not None:
        from .pgframe import read

        filters = _filters(start, end, bind_num, zone or "UTC")
        query = store_reader.query(wanted, rules=rules, nothing=outcomes == [], **filters)
        frame = _build(read(url, query), zone or "UTC", raw_numbers)
    elif isinstance(source, str | os.PathLike) and store_reader.is_store(source):
        filters = _filters(start, end, bind_num, zone or "UTC")
        values = store_reader.read(
            # Any other outcome filter needs the decoder (done after loading): a call can be
            # answered without an answer time (toolkit.codes), so SQLite cannot narrow it down.
            source,
            wanted,
            rules=rules,
            nothing=outcomes == [],
            **filters,
        )
        frame = _build(values, zone or "UTC", raw_numbers)
    else:
        loaded = readers.load(source, errors=errors)
        zone = zone or loaded.zone or "UTC"
        filters = _filters(start, end, bind_num, zone)
        if loaded.frame is not None:  # the toolkit's own export: the frame as it was written
            if columns is None:
                wanted = tuple(loaded.frame.columns)
            frame = readers.filter_frame(readers.restore(loaded.frame, zone), **filters)
            missing = [c for c in wanted if c not in frame.columns]
            if missing:
                raise ValidationError(
                    "columns", f"the export does not hold {', '.join(map(repr, missing))}"
                )
        else:
            # The filters read start_time and bind_num: derive them even if not wanted.
            values = readers.derive(loaded, (*wanted, "start_time", "bind_num"), rules)
            values = readers.filter_values(values, **filters)
            frame = _build(values, zone, raw_numbers)
    if outcomes is not None:
        frame = frame[frame["outcome"].isin(outcomes).to_numpy()].reset_index(drop=True)
    return frame[list(wanted)]


# -- arguments ---------------------------------------------------------------------------------


def read_cdrs(source: Any, *, errors: Errors = "warn", **options: Any) -> pd.DataFrame:
    """CDRs from any source (see the module docstring) as a typed, decoded frame.

    The pandas ``read_*`` spelling of :func:`cdr_frame`; ``options`` are its keyword arguments
    (``tz``, ``start``, ``end``, ``bind_num``, ``outcome``, ``columns``...).
    """
    return cdr_frame(source, errors=errors, **options)


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


def _filters(start: Any, end: Any, bind_num: Any, zone: str) -> dict[str, Any]:
    """The row filters as readers take them: epoch seconds and stored X numbers."""
    numbers = None
    if bind_num is not None:
        chosen = [bind_num] if isinstance(bind_num, str) else list(bind_num)
        numbers = [_as_stored(n) for n in chosen]
    return {
        "start": None if start is None else _epoch(start, zone, "start"),
        "end": None if end is None else _epoch(end, zone, "end"),
        "numbers": numbers,
    }


def _as_stored(number: object) -> str:
    """X numbers are stored in global format; accept what people type, else use it verbatim."""
    try:
        return normalize(number, param="bind_num")
    except ValidationError:
        return str(number)


def _postgres_url(source: Source) -> str | None:
    """The URL to read for a PostgreSQL store or URL (:mod:`toolkit.pgframe`), else None."""
    from .stores import is_url

    if is_url(source):
        return str(source)
    if type(source).__name__ == "PgStore":  # without importing it: most frames never need it
        return str(source._url)
    return None


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
        missing: Any = data == absent(kind) if kind in INTEGER_KINDS else None
        if kind == "product":
            columns[name] = pd.Categorical.from_codes(_codes(data, missing), pd.Index(PRODUCTS))
        elif kind == "mode":
            columns[name] = pd.Categorical.from_codes(_codes(data, missing), pd.Index(MODES))
        elif kind == "time":
            stamps = np.where(missing, NULL, data).view("datetime64[s]")  # INT64_MIN is NaT
            utc = pd.Series(stamps).dt.tz_localize("UTC")
            columns[name] = utc if zone == "UTC" else utc.dt.tz_convert(zone)
        elif kind == "flag":
            columns[name] = pd.arrays.BooleanArray(data == 1, missing)
        elif kind in ("int", "code"):
            columns[name] = pd.arrays.IntegerArray(data, missing)
        elif kind == "seconds":
            # NULL when unknown (toolkit.schema); negative: ANSWERED_NO_TALK, or written by hand.
            columns[name] = pd.arrays.IntegerArray(data, missing | (data < 0))
        elif kind == "number":
            columns[name] = categorical(data, masker=None if raw else mask)
        elif kind == "label":
            columns[name] = categorical(data)
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

    gone = absent("time")
    bad_rows = None
    for name, data in values.items():
        if COLUMNS[name].kind != "time":
            continue
        bad = ((data < MIN_EPOCH) | (data >= MAX_EPOCH)) & (data != gone)
        if bad.any():
            data[bad] = gone
            if name != "received_at":  # the receiver's clock, not a time of the call
                bad_rows = bad if bad_rows is None else bad_rows | bad
    for name, data in values.items():
        if COLUMNS[name].kind == "seconds":
            impossible = data > MAX_EPOCH - MIN_EPOCH
            if bad_rows is not None:
                impossible |= bad_rows
            # An unknown talk time still says the call had an answer time (see _TALK).
            unknown = ANSWERED_NO_TALK if name == "talk_seconds" else absent("seconds")
            data[impossible & (data != absent("seconds"))] = unknown


def _codes(data: np.ndarray, missing: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.where(missing, -1, data).astype(np.int8)


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
    answered = talk != absent("seconds")  # has an answer time
    # toolkit.schema's billing rule, run once per distinct talk time (a few thousand at most).
    ids, uniques = pd.factorize(talk)
    minutes = [
        schema.billed_minutes_for(int(t) if t >= 0 else None, t != absent("seconds"))
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
                name: pd.arrays.IntegerArray(column[first], column[first] == NULL)
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
