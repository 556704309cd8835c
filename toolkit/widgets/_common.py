"""What every panel needs: a message line, error wording, and HTML tables of masked rows.

Panels hold no rules. This module only *presents* what the library decides: numbers are masked
with :func:`toolkit.numbers.mask`, outcome labels and colours come from :mod:`toolkit.codes`, and
error hints come from the result-code table through :attr:`toolkit.errors.ApiError.hint`.
"""

from __future__ import annotations

import html
import logging
import math
import re
import traceback
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal, TypeVar

import ipywidgets as widgets

from ..errors import ApiError, InvalidNumberError, ToolkitError
from ..numbers import mask

log = logging.getLogger("toolkit.widgets")

T = TypeVar("T")
Tone = Literal["info", "ok", "error"]

# A phone number inside free text (an error message, a traceback, a cause): "+" and 4 or more
# digits, or 8 or more bare digits, standing alone. Result codes (7 digits) stay readable, and
# digit runs inside ids ("05805975-ed2f-...", "1200_1029_...") are not numbers, so not touched.
_NUMBER_IN_TEXT = re.compile(r"(?<![\w+\-])(?:\+\d{4,}|\d{8,})(?![\w\-])")
_TONE_STYLE = {
    "info": "color:#333",
    "ok": "color:#1b6e3a",
    "error": "color:#a61b1b;font-weight:600",
}
GENERIC_ERROR = "Something unexpected went wrong; details are in the 'toolkit.widgets' log."


def scrub(text: str) -> str:
    """Mask every phone-number-like run in free text with :func:`toolkit.numbers.mask`."""
    return _NUMBER_IN_TEXT.sub(lambda match: mask(match.group(0)), text)


def describe_error(exc: BaseException) -> str:
    """One line for the user; for API errors the code table's meaning and action, e.g.
    ``"1012010: A or B is already bound on this X (AXB) — Unbind the existing pair or pick..."``.

    Toolkit errors are shown by their own message (numbers masked); anything else is an
    unexpected failure, logged with its traceback and shown as :data:`GENERIC_ERROR`.
    """
    if isinstance(exc, ApiError):
        return scrub(f"{exc.resultcode}: {_result_text(exc)}")
    if isinstance(exc, InvalidNumberError):
        # The typed value is left out: it may be a real number, and the user can see it anyway.
        return f"{exc.param}: not a valid phone number — {exc.rule}"
    if isinstance(exc, ToolkitError):
        return scrub(str(exc))
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log.error("unexpected error in a widget callback:\n%s", scrub(detail))
    return GENERIC_ERROR


def _result_text(exc: ApiError) -> str:
    """Meaning and action of a result code from the code table, else the platform's own words."""
    from ..codes import decode

    info = decode(exc.resultcode, "vc_result" if exc.product == "voicecall" else "pn_result")
    if info.known:
        return f"{info.meaning} — {info.action}" if info.action else info.meaning
    return exc.hint or exc.resultdesc or "no description"


class MessageArea(widgets.HTML):
    """A one-line status area. Setting it is a trait change, so it is safe from any thread."""

    def show(self, text: str, tone: Tone = "info") -> None:
        """Replace the message with ``text`` (escaped) in the given tone."""
        self.value = f'<span style="{_TONE_STYLE[tone]}">{html.escape(text)}</span>'

    def info(self, text: str) -> None:
        """Show a neutral message."""
        self.show(text, "info")

    def ok(self, text: str) -> None:
        """Show a success message."""
        self.show(text, "ok")

    def error(self, exc_or_text: BaseException | str) -> None:
        """Show an error: an exception is worded by :func:`describe_error`."""
        text = exc_or_text if isinstance(exc_or_text, str) else describe_error(exc_or_text)
        self.show(text, "error")

    def clear(self) -> None:
        """Remove the message."""
        self.value = ""

    @property
    def text(self) -> str:
        """The message as plain text (what a test or a notebook cell can assert on)."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.value))


def run_safely(message: MessageArea, action: Callable[[], T]) -> T | None:
    """Call ``action``; on any exception show it in ``message`` and return ``None``.

    This is what keeps tracebacks out of the panels: every button callback goes through it.
    """
    try:
        return action()
    except Exception as exc:  # shown to the user; unexpected ones are logged
        message.error(exc)
        return None


def outcome_label(outcome: object) -> str:
    """The human label of an outcome from :data:`toolkit.codes.OUTCOME_LABELS` (or the value)."""
    from ..codes import OUTCOME_LABELS

    return OUTCOME_LABELS.get(str(outcome), "" if _missing(outcome) else str(outcome))


def outcome_badge(outcome: object) -> str:
    """HTML for an outcome: a swatch in the outcome's colour followed by its label."""
    from ..codes import OUTCOME_COLORS

    if _missing(outcome):
        return ""
    color = OUTCOME_COLORS.get(str(outcome), "#999999")
    swatch = (
        f'<span style="display:inline-block;width:0.8em;height:0.8em;margin-right:0.3em;'
        f'border-radius:2px;background:{html.escape(color)}"></span>'
    )
    return swatch + html.escape(outcome_label(outcome))


def _missing(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def cell_text(value: object, *, is_number: bool = False) -> str:
    """Display text of one cell: empty for missing values, numbers masked."""
    if _missing(value):
        return ""
    if is_number:
        return mask(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return scrub(str(value))


def html_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    numbers: Collection[str] = (),
    outcome: str | None = None,
    empty: str = "nothing to show yet",
) -> str:
    """Render ``rows`` as an HTML table with the given ``(key, heading)`` columns.

    Keys in ``numbers`` are masked with :func:`toolkit.numbers.mask`; every other text cell is
    scrubbed of number-like runs too, so no display path shows a full number. When ``outcome``
    names a key, that cell becomes a coloured badge and the row gets a border in the same colour.
    """
    head = "".join(f"<th {_CELL}>{html.escape(heading)}</th>" for _, heading in columns)
    if rows:
        body = "".join(_row_html(row, columns, numbers, outcome) for row in rows)
    else:
        body = f"<tr><td colspan='{len(columns)}' {_CELL}>{html.escape(empty)}</td></tr>"
    return (
        "<table style='border-collapse:collapse;font-size:90%'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


_CELL = "style='text-align:left;padding:2px 8px'"


def _row_html(
    row: Mapping[str, Any],
    columns: Sequence[tuple[str, str]],
    numbers: Collection[str],
    outcome: str | None,
) -> str:
    from ..codes import OUTCOME_COLORS

    cells = []
    for key, _ in columns:
        value = row.get(key)
        if key == outcome:
            text = outcome_badge(value)
        else:
            text = html.escape(cell_text(value, is_number=key in numbers))
        cells.append(f"<td {_CELL}>{text}</td>")
    color = OUTCOME_COLORS.get(str(row.get(outcome)), "transparent") if outcome else "transparent"
    return f"<tr style='border-left:4px solid {html.escape(color)}'>{''.join(cells)}</tr>"
