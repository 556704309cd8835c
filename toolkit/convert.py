"""One column of a table of CDRs converted to a stored column, with the receiver's rules.

:func:`convert` takes a pandas Series as a file or a DataFrame holds it (text, numbers, times)
and returns ``(values, missing)`` as :mod:`toolkit.vectors` uses them: int64 epoch seconds for
times, int64 for integers, text for text. The rules are those of :mod:`toolkit.events` (the ones
a pushed CDR goes through); each is applied vectorised where the values allow, and value by value
(once per distinct value) where they do not, so an unusual format costs time, never a wrong value.
Values that break a rule are reported to the caller's problem list with row, field and reason.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import events as ev
from .errors import PushFormatError

if TYPE_CHECKING:
    import pandas as pd

_PLATFORM_TIME = "%Y-%m-%d %H:%M:%S"  # how both products write every CDR time


def convert(series: pd.Series, kind: str | None, name: str, problems: Any) -> tuple[Any, Any]:
    """``series`` (a column called ``name`` in the source) as a stored column of ``kind``."""
    if kind == "time":
        return _times(series, name, problems)
    if kind == "int":
        return _integers(series, name, problems)
    return _texts(series, name, problems)


def _is_text(series: pd.Series) -> bool:
    import pandas as pd

    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        return True
    return series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in (
        "string",
        "empty",
    )


def _text_values(series: pd.Series) -> Any:
    """Text values as an object array, absent values as ""."""
    import numpy as np

    values = series.to_numpy(dtype=object, na_value="")
    return np.where(values == None, "", values) if series.dtype == object else values  # noqa: E711


def _per_value(
    series: pd.Series, convert_one: Any, name: str, problems: Any, fill: Any
) -> tuple[Any, Any]:
    """The exact path: ``convert_one`` once per distinct value; failures become problems."""
    import numpy as np
    import pandas as pd

    codes: Any
    uniques: Any
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable values (a list, a dict): convert each
        codes, uniques = np.arange(len(series)), series.to_numpy(dtype=object)
    results: list[Any] = []
    reasons: dict[int, str] = {}
    for index, value in enumerate(uniques):
        try:
            results.append(convert_one(value, name))
        except PushFormatError as exc:
            results.append(None)
            reasons[index] = exc.reason
    dtype = object if isinstance(fill, str) else np.int64
    out = np.array([fill if r is None else r for r in results] + [fill], dtype=dtype)
    missing_of = np.array([r is None for r in results] + [True])
    values, missing = out[codes], missing_of[codes]  # code -1 (NaN) takes the last entry
    for index, why in reasons.items():
        problems.add_many(np.flatnonzero(codes == index), name, lambda _row, why=why: why)
    return values, missing


def _texts(series: pd.Series, name: str, problems: Any) -> tuple[Any, Any]:
    import pandas as pd

    if _is_text(series):
        values = _text_values(series)
        return values, values == ""
    numeric = pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(
        series.dtype
    )
    if numeric and series.notna().any():
        problems.note(name)
    return _per_value(series, _text_one, name, problems, "")


def _text_one(value: Any, where: str) -> str | None:
    if isinstance(value, float):
        if value != value:
            return None
        if not value.is_integer():
            raise PushFormatError(f"expected text, got the number {value!r}", where)
        return str(int(value))  # a number pandas read as float: its digits (see the note)
    if hasattr(value, "item") and not isinstance(value, str):  # a numpy scalar
        return _text_one(value.item(), where)
    text = ev.to_str(value, where)
    return None if text == "" else text


def _integers(series: pd.Series, name: str, problems: Any) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_integer_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        missing = series.isna().to_numpy()
        return series.fillna(0).to_numpy(dtype=np.int64), missing
    return _per_value(series, _integer_one, name, problems, 0)


def _integer_one(value: Any, where: str) -> int | None:
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str):
        text = value.strip()
        # Tolerant for flat files: "8102.0" is what a code column that once held NaN becomes.
        if text.endswith(".0") and text[:-2].lstrip("+-").isdigit():
            text = text[:-2]
        return ev.to_int(text, where)
    return ev.to_int(value, where)


def _times(series: pd.Series, name: str, problems: Any) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    if series.dtype.kind == "M":  # datetimes already (naive ones are UTC, like the platform's)
        moments = series if getattr(series.dtype, "tz", None) else series.dt.tz_localize("UTC")
        missing = moments.isna().to_numpy()
        epoch = moments.dt.tz_convert("UTC").astype("datetime64[s, UTC]").astype("int64")
        return _in_range(epoch.to_numpy(), missing, name, problems)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        number = series.astype("float64").to_numpy()
        missing = np.isnan(number) | (number == 0)  # 0: a numeric clock's "no time"
        seconds = np.where(np.abs(number) > 1e11, number / 1000.0, number)
        seconds = np.where(missing, 0, seconds)
        return _in_range(np.trunc(seconds).astype(np.int64), missing, name, problems)
    if not _is_text(series):
        return _per_value(series, _time_one, name, problems, 0)
    fast = _arrow_times(series)
    if fast is not None:
        return _in_range(*fast, name, problems)
    values = _text_values(series)
    empty = values == ""
    parsed = pd.to_datetime(
        pd.Series(values), format=_PLATFORM_TIME, errors="coerce", utc=True
    ).to_numpy(dtype="datetime64[s]")
    unparsed = np.isnat(parsed) & ~empty
    epoch = parsed.astype(np.int64)
    missing = np.isnat(parsed)
    if unparsed.any():  # another format: the receiver's exact rules, once per distinct value
        rows = np.flatnonzero(unparsed)
        exact, exact_missing = _per_value(
            pd.Series(values[rows]), _time_one, name, _Shifted(problems, rows), 0
        )
        epoch[rows] = exact
        missing[rows] = exact_missing
        return epoch, missing
    return _in_range(epoch, missing, name, problems)


def _arrow_times(series: pd.Series) -> tuple[Any, Any] | None:
    """Platform times of pyarrow-backed text parsed in C++, without a Python object per value;
    ``None`` when pyarrow is missing, the text is not pyarrow's, or a value has another format
    (the caller then takes the general path)."""
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    text = pa.array(series.array)
    stamps = pc.strptime(text, format=_PLATFORM_TIME, unit="s", error_is_null=True)
    missing = stamps.is_null()
    absent = pc.or_kleene(text.is_null(), pc.equal(text, ""))
    if pc.any(pc.and_(missing, pc.invert(absent))).as_py():
        return None
    epoch = pc.fill_null(pc.cast(stamps, pa.int64()), 0).to_numpy(zero_copy_only=False)
    return epoch.astype(np.int64), missing.to_numpy(zero_copy_only=False)


def _time_one(value: Any, where: str) -> int | None:
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, datetime):  # naive ones are UTC, like every platform time
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if not ev.MIN_EPOCH <= aware.timestamp() < ev.MAX_EPOCH:
            raise PushFormatError("time outside 2000-2100 UTC", where)
        return int(aware.timestamp())
    epoch = ev.to_epoch(value, where)
    return None if epoch is None else int(epoch)


def _in_range(epoch: Any, missing: Any, name: str, problems: Any) -> tuple[Any, Any]:
    import numpy as np

    bad = ~missing & ((epoch < ev.MIN_EPOCH) | (epoch >= ev.MAX_EPOCH))
    if bad.any():
        problems.add_many(np.flatnonzero(bad), name, lambda _row: "time outside 2000-2100 UTC")
        missing = missing | bad
    return epoch, missing


class _Shifted:
    """A problem list seen through a row index: row ``i`` of a subset is ``rows[i]``."""

    def __init__(self, problems: Any, rows: Any) -> None:
        self.problems, self.rows = problems, rows

    def add_many(self, rows: Any, field: str, why: Any) -> None:
        self.problems.add_many(self.rows[rows], field, why)

    def note(self, text: str) -> None:
        self.problems.note(text)


__all__ = ["convert"]
