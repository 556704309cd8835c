"""Summaries shown readably, numbers left as numbers.

The tables of :mod:`toolkit.analysis` hold plain numbers (fractions, seconds, minutes), which is
what code wants, and each records what its columns measure in ``table.attrs["units"]``. For
people, :func:`readable` returns a pandas Styler for notebooks and :func:`to_text` a string for
terminals, both showing shares as percentages, durations in whole seconds, minutes to one decimal
and counts with thousands separators. Labels (a cause such as ``"7503 The callee rejected the
call"``) are shown whole: wrapped in a notebook, never cut. The table itself is not changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

# Columns whose unit is clear from their name, for tables that carry no attrs (a copy, a slice).
_BY_NAME = {
    "share": "share",
    "cumulative": "share",
    "answer_rate": "share",
    "calls": "count",
    "answered": "count",
    "billed_minutes": "count",
    "talk_minutes": "minutes",
    "ring_seconds": "seconds",
    "talk_seconds": "seconds",
}
_NA = "-"


def _number(fmt: str, suffix: str = "") -> Callable[[Any], str]:
    def show(value: Any) -> str:
        try:
            if value != value or value is None:  # NaN, NA
                return _NA
            return format(value, fmt) + suffix
        except (TypeError, ValueError):
            return str(value)

    return show


FORMATS: dict[str, Callable[[Any], str]] = {
    "share": _number(".1%"),
    "count": _number(",.0f"),
    "seconds": _number(",.0f", " s"),
    "minutes": _number(",.1f"),
}


def units(table: pd.DataFrame) -> dict[str, str]:
    """What each column of ``table`` measures: its ``attrs["units"]``, else guessed by name."""
    recorded = table.attrs.get("units", {})
    found = {}
    for column in table.columns:
        unit = recorded.get(column) or _BY_NAME.get(str(column))
        if unit in FORMATS:
            found[column] = unit
    return found


def formatters(table: pd.DataFrame) -> dict[Any, Any]:
    """One formatter per column with a known unit (see :data:`FORMATS`)."""
    return {column: FORMATS[unit] for column, unit in units(table).items()}


def readable(table: pd.DataFrame) -> Styler:
    """``table`` styled for a notebook: percentages, whole seconds, minutes to one decimal, and
    long labels wrapped rather than cut. ``readable(t).data is t``: the numbers stay numbers."""
    wrap = "white-space: normal; overflow-wrap: anywhere; max-width: 32em; text-align: left"
    return (
        table.style.format(formatters(table), na_rep=_NA)
        .set_table_styles([{"selector": "th", "props": wrap}, {"selector": "td", "props": wrap}])
        .set_properties(**{"text-align": "right"}, subset=list(units(table)))
    )


def to_text(table: pd.DataFrame) -> str:
    """``table`` as text for a terminal, formatted like :func:`readable`, labels never cut."""
    import pandas as pd

    shown = table.copy()
    for column, show in formatters(table).items():
        shown[column] = [show(v) for v in table[column].tolist()]
    with pd.option_context(
        "display.max_colwidth", None, "display.width", 10_000, "display.max_rows", None
    ):
        return shown.to_string(na_rep=_NA)


__all__ = ["FORMATS", "formatters", "readable", "to_text", "units"]
