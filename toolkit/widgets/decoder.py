"""CauseDecoder: what a hang-up, release, Q.850, SIP or result code means, and why a call failed.

Everything it shows comes from :mod:`toolkit.codes`: :func:`~toolkit.codes.decode` for one code,
:func:`~toolkit.codes.explain_push` for a pasted CDR or push body, and the code tables for the
searchable list. The panel only arranges the answers.

Driven from code::

    panel = CauseDecoder()
    panel.family.value = "pn_release"
    panel.code.value = "8102"          # decodes as you type; panel.decode_button.click() also works
    panel.cdr_json.value = '{"ulFailReason": 8102, "fwdUnaswRsn": 17}'
    panel.explain_button.click()
    panel.search.value = "busy"         # filters the table of all codes
"""

from __future__ import annotations

import html
import json
from typing import Any

import ipywidgets as widgets

from ..codes import FAMILIES
from ..codes.decoding import CodeInfo, decode
from ..codes.explaining import Explanation, explain_push
from ..codes.outcomes import CATEGORY_OUTCOME
from ..codes.tables import FAMILY_TITLES, table
from ._common import MessageArea, html_table, outcome_badge, run_safely, scrub

_TABLE_COLUMNS = (
    ("family", "family"),
    ("code", "code"),
    ("meaning", "meaning"),
    ("chinese", "中文"),
    ("category", "category"),
    ("actor", "who can act"),
    ("action", "suggested action"),
)


def all_codes() -> list[dict[str, str]]:
    """Every row of every code table as display dicts (a range row shows as ``low-high``)."""
    rows = []
    for family in FAMILIES:
        for row in table(family).rows():
            code = str(row.low) if row.low == row.high else f"{row.low}-{row.high}"
            rows.append(
                {
                    "family": family,
                    "code": code,
                    "meaning": row.meaning,
                    "chinese": row.chinese,
                    "category": row.category,
                    "actor": row.actor,
                    "action": row.action,
                }
            )
    return rows


class CauseDecoder(widgets.VBox):
    """Decode one code of any family, explain a pasted CDR, and search every code table.

    Public children: ``family`` (Dropdown of code families), ``code`` (Combobox: type or pick),
    ``decode_button``, ``cdr_json`` (Textarea), ``explain_button``, ``verdict`` (HTML with the
    answer), ``search`` (Text filter), ``table`` (HTML of matching codes), ``message``.
    ``result`` holds the last :class:`~toolkit.codes.CodeInfo` or list of
    :class:`~toolkit.codes.Explanation`.
    """

    def __init__(self, family: str = "pn_state", *, max_rows: int = 200) -> None:
        self.max_rows = max_rows
        self.result: CodeInfo | list[Explanation] | None = None
        self._rows = all_codes()
        self.family = widgets.Dropdown(
            options=[(FAMILY_TITLES.get(f, f), f) for f in FAMILIES],
            value=family,
            description="table",
            layout=widgets.Layout(width="28em"),
        )
        self.code = widgets.Combobox(
            placeholder="type or pick a code, e.g. 8102",
            description="code",
            ensure_option=False,
            continuous_update=True,
        )
        self.decode_button = widgets.Button(description="Decode", icon="search")
        self.cdr_json = widgets.Textarea(
            placeholder="paste a CDR, a disconnect event or a push body as JSON",
            layout=widgets.Layout(width="40em", height="6em"),
        )
        self.explain_button = widgets.Button(description="Explain CDR", icon="question")
        self.verdict = widgets.HTML()
        self.message = MessageArea()
        self.search = widgets.Text(
            placeholder="filter all codes: busy, 8102, 黑名单...", description="search"
        )
        self.table = widgets.HTML()

        self._fill_code_options()
        self.family.observe(self._on_family, names="value")
        self.code.observe(self._on_code, names="value")
        self.decode_button.on_click(lambda _: self.decode())
        self.explain_button.on_click(lambda _: self.explain())
        self.search.observe(lambda change: self._show_matches(change["new"]), names="value")
        self._show_matches("")
        super().__init__(
            [
                widgets.HBox([self.family, self.code, self.decode_button]),
                widgets.HBox([self.cdr_json, self.explain_button]),
                self.message,
                self.verdict,
                self.search,
                self.table,
            ]
        )

    # -- actions -------------------------------------------------------------------------------

    def decode(self, code: object = None, family: str | None = None) -> CodeInfo | None:
        """Decode ``code`` (default: the code box) in ``family`` (default: the dropdown)."""
        if family is not None:
            self.family.value = family
        if code is not None:
            self.code.value = str(code)  # the observer decodes; fall through to return the result
        return run_safely(self.message, self._decode_now)

    def explain(self, text: str | None = None) -> list[Explanation] | None:
        """Explain every call in ``text`` (default: the JSON box): a CDR, event or push body."""
        if text is not None:
            self.cdr_json.value = text
        return run_safely(self.message, self._explain_now)

    def filter(self, text: str) -> int:
        """Show the codes whose code, family or any text contains ``text``; returns the count.

        ``text`` goes into the search box too, so the box always says what the table shows.
        """
        self.search.value = text  # the observer redraws the table (a no-op if unchanged)
        return self._show_matches(text)

    # -- internals -----------------------------------------------------------------------------

    def _show_matches(self, text: str) -> int:
        needle = text.strip().lower()
        matches = [
            r for r in self._rows if not needle or any(needle in v.lower() for v in r.values())
        ]
        shown = matches[: self.max_rows]
        more = len(matches) - len(shown)
        note = f"<p>{len(matches)} codes" + (f", first {len(shown)} shown" if more else "") + "</p>"
        self.table.value = note + html_table(shown, _TABLE_COLUMNS, empty="no code matches")
        return len(matches)

    def _fill_code_options(self) -> None:
        rows = table(self.family.value).rows()
        self.code.options = [str(r.low) for r in rows if r.low == r.high]

    def _on_family(self, _change: dict[str, Any]) -> None:
        self._fill_code_options()
        if self.code.value.strip():
            self.decode()

    def _on_code(self, change: dict[str, Any]) -> None:
        if str(change["new"]).strip():
            run_safely(self.message, self._decode_now)

    def _decode_now(self) -> CodeInfo | None:
        raw = self.code.value.strip()
        if not raw:
            self._clear_verdict()
            self.message.info("Type or pick a code first.")
            return None
        info = decode(raw, self.family.value)
        self.result = info
        self.verdict.value = _code_card(info)
        if info.known:
            self.message.clear()
        else:
            self.message.info(f"{info.meaning} in {FAMILY_TITLES.get(info.family, info.family)}.")
        return info

    def _explain_now(self) -> list[Explanation] | None:
        text = self.cdr_json.value.strip()
        # Whatever happens next, the verdict on screen must not be an older answer's.
        self._clear_verdict()
        if not text:
            self.message.info("Paste a CDR or push body as JSON first.")
            return None
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            self.message.error(
                f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            )
            return None
        explanations = explain_push(body)
        self.result = explanations
        if not explanations:
            self.message.info("No CDR or disconnect event found in this JSON.")
            return explanations
        self.message.clear()
        self.verdict.value = "".join(_explanation_card(e) for e in explanations)
        return explanations

    def _clear_verdict(self) -> None:
        self.verdict.value = ""
        self.result = None


def _card(title: str, rows: list[tuple[str, str]]) -> str:
    """A small two-column HTML card; values are escaped here, titles are trusted HTML."""
    body = "".join(
        f"<tr><th style='text-align:left;padding:1px 8px'>{html.escape(k)}</th>"
        f"<td style='padding:1px 8px'>{html.escape(scrub(v))}</td></tr>"
        for k, v in rows
        if v
    )
    return f"<div style='margin:4px 0'><b>{title}</b><table>{body}</table></div>"


def _code_card(info: CodeInfo) -> str:
    """The verdict on one code: meaning, the outcome it implies, category, actor and action."""
    title = html.escape(f"{FAMILY_TITLES.get(info.family, info.family)} {info.code or info.raw}")
    outcome = CATEGORY_OUTCOME.get(info.category)
    rows = [
        ("verdict", info.meaning),
        ("中文", info.chinese),
        ("category", info.category),
        ("who can act", info.actor),
        ("suggested action", info.action),
    ]
    card = _card(title, rows)
    if outcome:
        card += f"<div>outcome when this ends a call: {outcome_badge(outcome)}</div>"
    return card


def _explanation_card(explanation: Explanation) -> str:
    """The verdict on one call, headed by its outcome badge."""
    rows = [
        ("verdict", explanation.text),
        ("category", explanation.category),
        ("who can act", explanation.actor),
        ("suggested action", explanation.action),
        ("decided by", explanation.driver or ""),
    ]
    return _card(outcome_badge(explanation.outcome), rows)
