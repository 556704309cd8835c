"""Summaries of a CDR frame (:func:`toolkit.frame.cdr_frame`): answer rates, outcome mix, causes,
ring and talk times, billed minutes, and SMS segment counts.

Every summary takes the frame and an optional ``by``: a column name (``"bind_num"``,
``"direction"``, ``"mode"``, ``"subscription_id"`` ...), one of the time keys ``"hour"`` (hour of
day), ``"day"``, ``"weekday"``, ``"week"`` and ``"month"``, the aliases ``"x_number"`` and
``"subscription"``, a Series aligned with the frame, or a list of these. Time keys read
``start_time`` as wall-clock time in the frame's display zone, so a day is a local day.
``by=None`` summarises the whole frame in one row labelled ``"all"``.

Empty frames give empty results with the same columns; rates over no calls are NaN, never an error.
The summaries add no rules: ring and talk seconds and billed minutes are the frame's columns (the
rules of :mod:`toolkit.schema`), and a call is answered when its ``outcome`` is "answered".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

By = Any  # str | pandas.Series | Sequence[str | pandas.Series] | None

TIME_KEYS = ("hour", "day", "weekday", "week", "month")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALIASES = {"x_number": "bind_num", "x": "bind_num", "subscription": "subscription_id"}
PERCENTILES = (0.5, 0.9, 0.95, 0.99)
OTHER = "other"


def group_keys(frame: pd.DataFrame, by: By) -> list[pd.Series]:
    """The grouping Series for ``by`` (see the module docstring); ``[]`` for ``by=None``.

    Raises :class:`~toolkit.errors.ValidationError` naming the column when ``by`` is neither a
    column nor a known key.
    """
    import pandas as pd

    if by is None:
        return []
    items = list(by) if isinstance(by, list | tuple) else [by]
    keys: list[pd.Series] = []
    for item in items:
        if isinstance(item, pd.Series):
            keys.append(item)
        elif item in TIME_KEYS:
            keys.append(_time_key(frame, item))
        elif ALIASES.get(item, item) in frame.columns:
            # Named as asked: grouping by "x_number" gives an index called x_number.
            keys.append(frame[ALIASES.get(item, item)].rename(item))
        else:
            raise ValidationError(
                "by", f"cannot group by {item!r}: not a column, nor one of {TIME_KEYS}"
            )
    return keys


def wall_clock(frame: pd.DataFrame) -> pd.Series:
    """``start_time`` as naive wall-clock time of the frame's display zone.

    Calendar buckets (hours, days, weeks, months) are cut on wall-clock time: flooring an aware
    time can hit a daylight-saving hour that happens twice or never, which would drop calls.
    """
    start = frame["start_time"]
    return start.dt.tz_localize(None) if getattr(start.dtype, "tz", None) else start


def _time_key(frame: pd.DataFrame, key: str) -> pd.Series:
    import pandas as pd

    if "start_time" not in frame.columns:
        raise ValidationError("by", f"grouping by {key!r} needs the start_time column")
    local = wall_clock(frame)
    if key == "hour":  # Int64: a call without any time is <NA>, not a float hour
        return local.dt.hour.astype("Int64").rename("hour")
    if key == "weekday":
        codes = local.dt.day_of_week.fillna(-1).astype("int8")
        return pd.Series(
            pd.Categorical.from_codes(codes, pd.Index(WEEKDAYS)), index=frame.index, name="weekday"
        )
    day = local.dt.floor("D")
    if key == "day":
        return day.rename("day")
    if key == "week":  # weeks start on Monday
        return (day - pd.to_timedelta(local.dt.day_of_week, unit="D")).rename("week")
    return (day - pd.to_timedelta(local.dt.day - 1, unit="D")).rename("month")


def _grouped(frame: pd.DataFrame, by: By, columns: Any) -> Any:
    """``frame[columns]`` grouped by ``by``; ``by=None`` puts every row in the group "all"."""
    import numpy as np
    import pandas as pd

    keys = group_keys(frame, by)
    if not keys:
        keys = [
            pd.Series(np.full(len(frame), "all", dtype=object), index=frame.index, name="group")
        ]
    return frame[columns].groupby(keys, observed=True, sort=True, dropna=True)


def outcome_mix(frame: pd.DataFrame, by: By = None, *, share: bool = False) -> pd.DataFrame:
    """Calls per outcome and group: one column per outcome, in :data:`toolkit.codes.OUTCOMES`
    order. ``share=True`` gives fractions of each group's calls instead (rows sum to 1)."""
    import pandas as pd

    from .codes import OUTCOMES

    counts = _grouped(frame, by, ["outcome"])["outcome"].value_counts().unstack("outcome")
    if by is None:  # one row for the whole frame, even an empty one
        counts = counts.reindex(pd.Index(["all"], name="group"))
    counts = counts.reindex(columns=list(OUTCOMES), fill_value=0).fillna(0).astype("int64")
    counts.columns = pd.Index(list(OUTCOMES), name="outcome")
    if share:
        total = counts.sum(axis=1)
        return _units(counts.div(total.where(total > 0), axis=0), share=list(OUTCOMES))
    return _units(counts, count=list(OUTCOMES))


def answer_rate(frame: pd.DataFrame, by: By = None) -> pd.DataFrame:
    """Columns ``calls``, ``answered`` and ``answer_rate`` (answered / calls) per group."""
    mix = outcome_mix(frame, by)
    calls = mix.sum(axis=1)
    result = mix[["answered"]].assign(calls=calls)[["calls", "answered"]]
    result.columns.name = None
    result["answer_rate"] = result["answered"] / calls.where(calls > 0)
    return _units(result, count=["calls", "answered"], share=["answer_rate"])


def cause_pareto(
    frame: pd.DataFrame, *, top: int | None = 10, include_answered: bool = False
) -> pd.DataFrame:
    """The causes of calls, most frequent first, with running shares (a Pareto table).

    Columns: ``outcome`` (the outcome the cause leads to; the most common one if several),
    ``calls``, ``share`` and ``cumulative``. Answered calls are left out unless
    ``include_answered``. With ``top``, causes after the first ``top`` are summed into one row
    named ``"other"`` (outcome ``<NA>``).
    """
    import pandas as pd

    rows = frame if include_answered else frame[(frame["outcome"] != "answered").to_numpy()]
    counts = rows.groupby(["cause", "outcome"], observed=True).size().rename("calls").reset_index()
    counts = counts[counts["calls"] > 0].sort_values("calls", ascending=False, kind="stable")
    per_cause = counts.groupby("cause", observed=True, sort=False).agg(
        outcome=("outcome", "first"), calls=("calls", "sum")
    )
    per_cause = per_cause.sort_values("calls", ascending=False, kind="stable")
    per_cause.index = per_cause.index.astype("str")
    per_cause["outcome"] = per_cause["outcome"].astype("str")
    if top is not None and len(per_cause) > top + 1:
        rest = per_cause.iloc[top:]["calls"].sum()
        other = pd.DataFrame({"outcome": [pd.NA], "calls": [rest]}, index=[OTHER])
        per_cause = pd.concat([per_cause.iloc[:top], other.astype(per_cause.dtypes.to_dict())])
    per_cause.index.name = "cause"
    total = per_cause["calls"].sum()
    per_cause["share"] = per_cause["calls"] / total if total else per_cause["calls"] * 0.0
    per_cause["cumulative"] = per_cause["share"].cumsum()
    return _units(per_cause, count=["calls"], share=["share", "cumulative"])


def durations(
    frame: pd.DataFrame, by: By = None, *, percentiles: Sequence[float] = PERCENTILES
) -> pd.DataFrame:
    """Ring and talk time percentiles in seconds, one row per group and measure.

    ``ring_seconds`` covers every call whose callee rang; ``talk_seconds`` every call with an answer
    time and an end (both as :mod:`toolkit.schema` defines them, like every other view).
    Columns: ``calls`` (how many values), ``mean``, one ``p50``, ``p90`` ... per percentile,
    and ``max``.
    """
    import numpy as np
    import pandas as pd

    names = [f"p{round(p * 100):g}" for p in percentiles]
    pieces = {}
    for measure in ("ring_seconds", "talk_seconds"):
        values = frame[measure].astype("float64")
        grouped = _grouped(frame.assign(**{measure: values}), by, [measure])[measure]
        stats = grouped.agg(["count", "mean", "max"]).rename(columns={"count": "calls"})
        if by is None:
            stats = stats.reindex(pd.Index(["all"], name="group")).fillna({"calls": 0})
        quantiles = grouped.quantile(list(percentiles)).unstack() if values.notna().any() else None
        for name, p in zip(names, percentiles, strict=True):
            stats[name] = quantiles[p] if quantiles is not None else np.nan
        pieces[measure] = stats[["calls", "mean", *names, "max"]]
    result = pd.concat(pieces, names=["measure"])
    if result.index.nlevels > 1:  # measure innermost reads better: group -> ring, talk
        order = [*range(1, result.index.nlevels), 0]
        result = result.reorder_levels(order).sort_index(
            level=list(range(len(order) - 1)), sort_remaining=False
        )
    result["calls"] = result["calls"].astype("int64")
    return _units(result, count=["calls"], seconds=["mean", *names, "max"])


def billing(frame: pd.DataFrame, by: By = None) -> pd.DataFrame:
    """Billed minutes per group (spec section 11: every started minute from the answer time).

    Columns: ``calls``, ``answered``, ``billed_minutes`` and ``talk_minutes`` (exact talk time, to
    show what rounding up adds). Only the forward leg is billed to the enterprise; this estimates
    usage, not an invoice (package pricing and number rent are not known here).
    """
    import numpy as np
    import pandas as pd

    answered = (frame["outcome"] == "answered").to_numpy()
    work = frame.assign(
        _calls=1,
        _answered=answered.astype(np.int64),
        _billed=frame["billed_minutes"].astype("float64"),
        _talk=frame["talk_seconds"].astype("float64") / 60.0,
    )
    sums = _grouped(work, by, ["_calls", "_answered", "_billed", "_talk"]).sum(min_count=0)
    sums.columns = ["calls", "answered", "billed_minutes", "talk_minutes"]
    if by is None:
        sums = sums.reindex(pd.Index(["all"], name="group"), fill_value=0)
    sums["billed_minutes"] = sums["billed_minutes"].astype("int64")
    return _units(sums, count=["calls", "answered", "billed_minutes"], minutes=["talk_minutes"])


def _units(table: pd.DataFrame, **columns: list[str]) -> pd.DataFrame:
    """Record what each column measures in ``table.attrs["units"]`` (count, share, seconds,
    minutes), for :func:`toolkit.display.readable`; the values stay plain numbers."""
    table.attrs["units"] = {name: unit for unit, names in columns.items() for name in names}
    return table


def sms_segments(text: Any) -> Any:
    """How many billed messages an SMS text is (spec section 11).

    Text made only of ASCII characters is "English": up to 160 characters is one message, longer
    text goes in 154-character parts. Anything else (Chinese, emoji, accented letters) is
    Unicode: up to 70 characters is one message, longer text goes in 67-character parts. An empty
    text is still one message. Accepts a string (returns an int) or a Series of strings (returns
    an Int64 Series; missing texts give <NA>).

    Unconfirmed in the spec: it says "pure English" without naming the GSM alphabet, so we use
    ASCII; and it counts "characters", so we count code points (a carrier may count an emoji
    outside the BMP as two).
    """
    import pandas as pd

    if isinstance(text, pd.Series):
        return text.map(
            lambda t: sms_segments(t) if isinstance(t, str) else pd.NA, na_action="ignore"
        ).astype("Int64")
    if not isinstance(text, str):
        raise ValidationError(
            "text", f"sms_segments expects a string or a Series, not {type(text).__name__}"
        )
    single, part = (160, 154) if text.isascii() else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / part)


__all__ = [
    "PERCENTILES",
    "TIME_KEYS",
    "WEEKDAYS",
    "answer_rate",
    "billing",
    "cause_pareto",
    "durations",
    "group_keys",
    "outcome_mix",
    "sms_segments",
    "wall_clock",
]
