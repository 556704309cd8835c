"""BindingPanel: bind, modify, query and unbind privacy numbers in AXB, AX, AXE and AXYB mode.

The panel is a form over :class:`toolkit.client.PrivateNumberClient`. It holds no rules: number
previews come from :func:`toolkit.numbers.normalize`, every other check happens in the client
before anything is sent, and refusals are worded from the result-code table. Field names are the
client's keyword arguments, so a notebook can fill them by name::

    panel = BindingPanel(emulator.client(), mode="axb")
    panel.fields["caller_num"].value = "138 0013 8000"
    panel.fields["callee_num"].value = "139 0013 9000"
    panel.bind_button.click()
    panel.bindings                      # {subscription_id: row}; shown masked in panel.table
    panel.unbind_buttons[sid].click()   # per-row unbind

Each platform app has exactly one mode, so one client can only bind in its app's mode. Pass a
``{mode: client}`` dict to offer several modes (the emulator's ``add_app(mode)`` makes such apps);
a single client offers all four modes and the platform answers ``1010040`` for the wrong ones.
"""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..bulk import run_many
from ..errors import ToolkitError, ValidationError
from ..numbers import kind, mask, normalize
from ..record import Record
from ._common import MessageArea, cell_text, describe_error, run_safely

if TYPE_CHECKING:
    import pandas as pd

    from ..client import PrivateNumberClient

MODES = ("axb", "ax", "axe", "axyb")
MODE_TITLES = {"axb": "AXB", "ax": "AX", "axe": "AXE", "axyb": "AXYB"}

# The form of each mode: (client keyword, label). AXYB's "b_num" is the YB step's orig_num and
# its "relation_num" is only used to query the bindings on an X.
MODE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "axb": (
        ("caller_num", "A number"),
        ("callee_num", "B number"),
        ("relation_num", "X (optional)"),
        ("area_code", "area code"),
        ("duration", "lifetime (s)"),
        ("user_data", "user data"),
    ),
    "ax": (
        ("orig_num", "A number"),
        ("private_num", "X number"),
        ("area_code", "area code"),
        ("user_data", "user data"),
    ),
    "axe": (
        ("bind_num", "A number"),
        ("virtual_num", "X number"),
        ("extend_num", "extension"),
        ("area_code", "area code"),
        ("user_data", "user data"),
    ),
    "axyb": (
        ("orig_num", "A number"),
        ("b_num", "B number"),
        ("area_code", "area code"),
        ("duration", "lifetime (s)"),
        ("user_data", "user data"),
        ("relation_num", "X (query)"),
    ),
}
# What Modify sends per mode (AXYB has no modify API).
MODIFY_FIELDS: dict[str, tuple[str, ...]] = {
    "axb": ("caller_num", "callee_num", "duration", "user_data"),
    "ax": ("user_data",),
    "axe": ("user_data",),
}
NUMBER_FIELDS = frozenset(
    {
        "caller_num",
        "callee_num",
        "relation_num",
        "orig_num",
        "private_num",
        "bind_num",
        "virtual_num",
        "b_num",
    }
)
INTEGER_FIELDS = frozenset({"duration"})
# Platform field -> table column, across the four modes' bind and query answers.
_COLUMN_OF = {
    "subscriptionId": "subscription_id",
    "bindId": "subscription_id",
    "callerNum": "a",
    "origNum": "a",
    "bindNum": "a",
    "numA": "a",
    "calleeNum": "b",
    "numB": "b",
    "relationNum": "x",
    "privateNum": "x",
    "virtualNum": "x",
    "numX": "x",
    "numY": "y",
    "extendNum": "e",
}
_COLUMNS = (
    ("mode", "mode", "4em"),
    ("subscription_id", "subscription id", "19em"),
    ("a", "A", "10em"),
    ("b", "B", "10em"),
    ("x", "X", "10em"),
    ("y", "Y", "10em"),
    ("e", "ext", "3em"),
)
_NUMBER_COLUMNS = frozenset({"a", "b", "x", "y"})
_QUERY_BY = "give a subscription id or the X number to query"
_LABEL_STYLE = {"description_width": "7em"}


class BindingPanel(widgets.VBox):
    """A form to bind, modify, query and unbind numbers, with a table of current bindings.

    ``clients`` is one :class:`~toolkit.client.PrivateNumberClient` (all four modes offered) or a
    ``{mode: client}`` mapping (only those modes offered). Public children: ``mode`` (Dropdown),
    ``fields`` (``{client keyword: Text}`` of the selected mode; every mode has its own boxes, in
    ``mode_fields``), ``previews`` (``{keyword: HTML}``, the masked normalised number as you
    type), ``subscription_id`` (Text; filled after a bind, used by
    Modify, Unbind and Query), ``bind_button``, ``modify_button``, ``query_button``,
    ``unbind_button``, ``form`` (the selected mode's fields), the AX temporary callee in
    ``callee_box`` (``callee``, ``callee_preview``, ``callee_duration``, ``set_callee_button``),
    ``progress`` (bulk bind), ``table`` (VBox of rows), ``unbind_buttons``
    (``{subscription_id: Button}``) and ``message``. ``bindings`` maps
    subscription ids to the raw rows behind the (masked) table.
    """

    def __init__(
        self,
        clients: PrivateNumberClient | Mapping[str, PrivateNumberClient],
        *,
        mode: str | None = None,
    ) -> None:
        if isinstance(clients, Mapping):
            self.clients = {m: clients[m] for m in MODES if m in clients}
            if not self.clients:
                raise ValidationError(
                    "clients", f"needs at least one of the modes {', '.join(MODES)}"
                )
        else:
            self.clients = dict.fromkeys(MODES, clients)
        self.bindings: dict[str, dict[str, Any]] = {}
        self.unbind_buttons: dict[str, widgets.Button] = {}

        self.mode = widgets.Dropdown(
            options=[(MODE_TITLES[m], m) for m in self.clients],
            value=mode or next(iter(self.clients)),
            description="mode",
            style=_LABEL_STYLE,
        )
        # Each mode has its own boxes: a value typed for one mode (an AX area code, an AXYB
        # query X) can never be sent by another mode's bind, even where the field names match.
        self.mode_fields: dict[str, dict[str, widgets.Text]] = {}
        self.mode_previews: dict[str, dict[str, widgets.HTML]] = {}
        for m in self.clients:
            self.mode_fields[m] = {
                key: widgets.Text(description=label, style=_LABEL_STYLE, continuous_update=True)
                for key, label in MODE_FIELDS[m]
            }
            self.mode_previews[m] = {
                key: widgets.HTML() for key in self.mode_fields[m] if key in NUMBER_FIELDS
            }
            for key, preview in self.mode_previews[m].items():
                self.mode_fields[m][key].observe(
                    lambda change, p=preview, k=key: _preview(p, change["new"], k), names="value"
                )
        self.subscription_id = widgets.Text(description="subscription", style=_LABEL_STYLE)
        self.bind_button = widgets.Button(description="Bind", button_style="primary")
        self.modify_button = widgets.Button(description="Modify")
        self.query_button = widgets.Button(description="Query")
        self.unbind_button = widgets.Button(description="Unbind", button_style="warning")
        self.callee = widgets.Text(description="callee", style=_LABEL_STYLE)
        self.callee_preview = widgets.HTML()
        self.callee.observe(
            lambda change: _preview(self.callee_preview, change["new"], "callee_num", True),
            names="value",
        )
        self.callee_duration = widgets.Text(
            description="valid (s)", placeholder="optional", style=_LABEL_STYLE
        )
        self.set_callee_button = widgets.Button(description="Set callee")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="bulk bind")
        self.progress.layout.visibility = "hidden"
        self.message = MessageArea()
        self.table = widgets.VBox()
        self.form = widgets.VBox()
        self.callee_box = widgets.VBox(
            [
                widgets.HTML("<b>AX temporary callee</b> (who A reaches on its next call via X)"),
                widgets.HBox([self.callee, self.callee_preview]),
                widgets.HBox([self.callee_duration, self.set_callee_button]),
            ]
        )

        self.mode.observe(self._on_mode, names="value")
        self.bind_button.on_click(lambda _: self.bind())
        self.modify_button.on_click(lambda _: self.modify())
        self.query_button.on_click(lambda _: self.query())
        self.unbind_button.on_click(lambda _: self.unbind())
        self.set_callee_button.on_click(lambda _: self.set_callee())
        self._show_mode()
        self._redraw_table()
        buttons = [self.bind_button, self.modify_button, self.query_button, self.unbind_button]
        super().__init__(
            [
                self.mode,
                self.form,
                self.subscription_id,
                widgets.HBox(buttons),
                self.callee_box,
                self.message,
                self.progress,
                self.table,
            ]
        )

    @classmethod
    def from_emulator(cls, emulator: Any, modes: Iterable[str] = MODES) -> BindingPanel:
        """A panel over one emulator app per mode (see :func:`toolkit.emulator.every_mode`)."""
        from ..emulator import every_mode

        apps = every_mode(emulator, tuple(modes))
        return cls({mode: emulator.client(app) for mode, app in apps.items()})

    # -- the four operations -------------------------------------------------------------------

    @property
    def fields(self) -> dict[str, widgets.Text]:
        """The selected mode's input boxes, by client keyword."""
        return self.mode_fields[self.mode.value]

    @property
    def previews(self) -> dict[str, widgets.HTML]:
        """The selected mode's number previews (masked, normalised), by client keyword."""
        return self.mode_previews[self.mode.value]

    @property
    def client(self) -> PrivateNumberClient:
        """The client of the selected mode."""
        return self.clients[self.mode.value]

    def bind(self, **values: Any) -> Record | None:
        """Bind with the form's values (``values`` first fill the named fields).

        Returns the platform's answer, or ``None`` when it was refused (the reason is shown).
        The form is cleared afterwards, bound or not, so no full number stays on screen: the
        message and the table show what was bound, masked.
        """
        self._fill(values)
        try:
            return run_safely(
                self.message, lambda: self._bind_row(self.mode.value, self._form_values())
            )
        finally:
            self._clear_form()

    def modify(self, **values: Any) -> Record | None:
        """Change the binding in ``subscription_id`` with the mode's changeable fields (the form
        is cleared afterwards, as after a bind)."""
        self._fill(values)
        try:
            return run_safely(self.message, self._modify_now)
        finally:
            self._clear_form()

    def query(self, **values: Any) -> list[dict[str, Any]] | None:
        """Look bindings up by ``subscription_id``, else by the mode's numbers; adds them to the
        table and returns the rows found. The numbers typed to query by are cleared afterwards."""
        self._fill(values)
        try:
            return run_safely(self.message, self._query_now)
        finally:
            self._clear_form(numbers_only=True)

    def unbind(self, subscription_id: str | None = None) -> Record | None:
        """Remove the binding ``subscription_id`` (default: the subscription field)."""
        sid = (subscription_id or self.subscription_id.value).strip()
        if not sid:
            self.message.info("Give the subscription id of the binding to remove.")
            return None
        return run_safely(self.message, lambda: self._unbind_now(sid))

    def set_callee(self, callee: str | None = None) -> Record | None:
        """AX: set the temporary callee of the binding in ``subscription_id`` (the callee box is
        cleared afterwards; the message shows the number masked)."""
        if callee is not None:
            self.callee.value = callee
        try:
            return run_safely(self.message, self._set_callee_now)
        finally:
            self.callee.value = ""

    def bulk_bind(self, frame: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
        """Bind every row of ``frame`` in the selected mode, advancing ``progress``.

        Columns are the mode's field names (``caller_num``, ``callee_num``, ...; for AXYB
        ``orig_num`` and ``b_num``); missing cells are left out. Returns one row per input row
        with ``subscription_id`` (empty on failure) and ``error`` (the decoded reason, or empty).
        A failed row does not stop the others; unknown columns stop the whole run before any
        request, with a message. The rows are sent by the client's ``bind_many`` (a thread pool,
        :mod:`toolkit.bulk`); the table and the progress bar are updated in this thread.
        """
        import pandas as pd

        records = frame.to_dict("records") if isinstance(frame, pd.DataFrame) else list(frame)
        mode = self.mode.value
        known = {key for key, _ in MODE_FIELDS[mode]}
        unknown = sorted({str(k) for record in records for k in record} - known)
        if unknown:
            self.message.error(
                f"Bulk bind: unknown column(s) {', '.join(unknown)}; "
                f"{MODE_TITLES[mode]} takes {', '.join(sorted(known))}."
            )
            return pd.DataFrame(columns=["subscription_id", "error"])
        rows = [
            {
                k: v
                for k, v in ((str(k), _clean(str(k), v)) for k, v in record.items())
                if v is not None
            }
            for record in records
        ]
        steps = len(rows) + (sum("b_num" in row for row in rows) if mode == "axyb" else 0)
        self.progress.max = max(steps, 1)
        self.progress.value = 0
        self.progress.layout.visibility = "visible"

        def advance(_: Any) -> None:
            self.progress.value += 1

        # The requests run in the client's thread pool (toolkit.bulk); the table and the widgets
        # are updated here, in this thread, once they are done.
        ops = getattr(self.clients[mode], mode)
        sent = [
            {k: v for k, v in row.items() if k not in ("relation_num", "b_num")} for row in rows
        ]
        bulk = ops.bind_many(sent if mode == "axyb" else rows, progress=False, on_row=advance)
        errors = ["" if r.error is None else describe_error(r.error) for r in bulk]
        for row, result in zip(rows, bulk, strict=True):
            if result.record is not None:
                x = {"x": result.record.get("relationNumber")} if mode == "axyb" else {}
                self._remember(mode, result.record, {**_typed_row(row), **x})
        if mode == "axyb":
            # Step 2 binds B to a Y; if it fails, the AX step stays bound and is shown.
            second = [
                (i, (_sid(r.record), rows[i]["b_num"]))
                for i, r in enumerate(bulk)
                if r.record is not None and "b_num" in rows[i]
            ]
            steps2 = run_many(
                ops.bind_yb, [args for _, args in second], progress=False, on_row=advance
            )
            for (i, (sid, b_num)), result in zip(second, steps2, strict=True):
                if result.error is not None or result.record is None:
                    errors[i] = describe_error(result.error or ToolkitError("no answer"))
                    continue
                y = {**_typed_row({"b_num": b_num}), "y": result.record.get("relationNumber")}
                self._remember(mode, {"subscriptionId": sid}, y)
        results = [
            {"subscription_id": "" if error else _sid(r.record or {}), "error": error}
            for r, error in zip(bulk, errors, strict=True)
        ]
        self._redraw_table()
        failed = sum(bool(r["error"]) for r in results)
        summary = f"Bulk bind: {len(results) - failed} of {len(results)} bound"
        if failed:
            first = next(r["error"] for r in results if r["error"])
            self.message.error(f"{summary}; {failed} failed, first: {first}")
        else:
            self.message.ok(summary + ".")
        return pd.DataFrame(results, index=getattr(frame, "index", None))

    # -- internals -----------------------------------------------------------------------------

    def _fill(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            target = self.subscription_id if key == "subscription_id" else self.fields.get(key)
            if target is None:
                raise TypeError(
                    f"no field {key!r} in {MODE_TITLES[self.mode.value]} mode; "
                    f"its fields are {', '.join(self.fields)}"
                )
            target.value = "" if value is None else str(value)

    def _clear_form(self, mode: str | None = None, *, numbers_only: bool = False) -> None:
        """Empty the boxes of ``mode`` (default: the selected one), or only its number boxes."""
        for key, text in self.mode_fields[mode or self.mode.value].items():
            if not numbers_only or key in NUMBER_FIELDS:
                text.value = ""

    def _form_values(self, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """The non-empty fields of the selected mode (or ``keys``), digits-only integers as int."""
        if keys is None:
            keys = [key for key, _ in MODE_FIELDS[self.mode.value]]
        values = {key: _clean(key, self.fields[key].value) for key in keys}
        return {key: value for key, value in values.items() if value is not None}

    def _bind_row(self, mode: str, values: dict[str, Any], redraw: bool = True) -> Record:
        client = self.clients[mode]
        values = dict(values)
        if mode == "axyb":
            values.pop("relation_num", None)
            b_num = values.pop("b_num", None)
            answer = client.axyb.bind_ax(**values)
            row = {**_typed_row(values), "x": answer.get("relationNumber")}
            if b_num is not None:
                # Step 2 binds B to a Y; if it fails, the AX step stays bound and is shown.
                self._remember(mode, answer, row)
                second = client.axyb.bind_yb(_sid(answer), b_num)
                row |= {**_typed_row({"b_num": b_num}), "y": second.get("relationNumber")}
        else:
            answer = getattr(client, mode).bind(**values)
            row = _typed_row(values)
        self._remember(mode, answer, row)
        self.subscription_id.value = _sid(answer)
        if redraw:
            self._redraw_table()
            self.message.ok(f"Bound: {_describe_row(self.bindings[_sid(answer)])}")
        return answer

    def _modify_now(self) -> Record | None:
        mode, sid = self.mode.value, self.subscription_id.value.strip()
        if mode not in MODIFY_FIELDS:
            self.message.info(
                f"{MODE_TITLES[mode]} has no modify operation; unbind and bind again."
            )
            return None
        if not sid:
            self.message.info("Give the subscription id of the binding to change.")
            return None
        values = self._form_values(MODIFY_FIELDS[mode])
        answer = getattr(self.client, mode).modify(sid, **values)
        row = self.bindings.get(sid)
        if row is not None:
            row.update(_typed_row(values))
            self._redraw_table()
        changed = ", ".join(values) or "nothing"
        self.message.ok(f"Modified {sid}: {changed}.")
        return answer

    def _query_now(self) -> list[dict[str, Any]]:
        mode, sid = self.mode.value, self.subscription_id.value.strip()
        ops = getattr(self.client, mode)
        answers = [ops.query(sid)] if sid else self._query_by_numbers(mode, ops)
        rows = []
        for answer in answers:
            for item in _items(answer):
                rows.append(self._remember(mode, item, {}))
        self._redraw_table()
        self.message.ok(f"Found {len(rows)} binding{'s' if len(rows) != 1 else ''}.")
        return rows

    def _query_by_numbers(self, mode: str, ops: Any) -> list[Any]:
        """Query by the numbers in the form: the locator each mode's query API accepts."""
        v = self._form_values()
        if mode == "axb":
            if "relation_num" not in v:
                raise ValidationError("relation_num", _QUERY_BY)
            return list(ops.iter_bindings(v["relation_num"]))
        if mode == "ax":
            return [ops.query(orig_num=v.get("orig_num"), private_num=v.get("private_num"))]
        if mode == "axe":
            if "virtual_num" not in v:
                raise ValidationError("virtual_num", _QUERY_BY)
            if "extend_num" in v:
                return [ops.query(virtual_num=v["virtual_num"], extend_num=v["extend_num"])]
            return list(ops.iter_bindings(v["virtual_num"]))
        return [ops.query(relation_num=v.get("relation_num"))]

    def _unbind_now(self, sid: str) -> Record:
        row = self.bindings.get(sid)
        mode = row["mode"] if row else self.mode.value
        answer = getattr(self.clients[mode], mode).unbind(sid)
        self._forget(sid)
        self.message.ok(f"Unbound {sid}.")
        return answer

    def _set_callee_now(self) -> Record | None:
        sid = self.subscription_id.value.strip()
        if self.mode.value != "ax":
            self.message.info("The temporary callee is an AX feature: choose the AX mode first.")
            return None
        if not sid:
            self.message.info("Bind an AX number first, or give its subscription id.")
            return None
        duration = _clean("duration", self.callee_duration.value)
        callee = self.callee.value
        answer = self.client.ax.set_callee(callee, subscription_id=sid, duration=duration)
        shown = mask(_normalized(callee, "callee_num", allow_service=True))
        self.message.ok(f"Temporary callee of {sid} set to {shown}.")
        return answer

    def _remember(
        self, mode: str, answer: Mapping[str, Any], row: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge the platform's answer over the typed values and keep it as a table row."""
        from_answer = {_COLUMN_OF[k]: v for k, v in answer.items() if k in _COLUMN_OF and v}
        merged = {"mode": mode, **row, **from_answer}
        sid = str(merged.get("subscription_id", ""))
        if sid:
            self.bindings[sid] = {**self.bindings.get(sid, {}), **merged}
            if sid not in self.unbind_buttons:
                button = widgets.Button(description="Unbind", layout=widgets.Layout(width="7em"))
                button.on_click(lambda _, s=sid: self.unbind(s))
                self.unbind_buttons[sid] = button
        return merged

    def _forget(self, sid: str) -> None:
        self.bindings.pop(sid, None)
        self.unbind_buttons.pop(sid, None)
        if self.subscription_id.value.strip() == sid:
            self.subscription_id.value = ""
        self._redraw_table()

    def _on_mode(self, change: dict[str, Any]) -> None:
        # What was typed for the mode left is dropped: hidden boxes keep no numbers.
        self._clear_form(change["old"])
        self._show_mode()

    def _show_mode(self) -> None:
        mode = self.mode.value
        rows = []
        for key, _label in MODE_FIELDS[mode]:
            text = self.fields[key]
            preview = self.previews.get(key)
            rows.append(widgets.HBox([text, preview]) if preview else text)
        self.form.children = rows
        self.modify_button.disabled = mode not in MODIFY_FIELDS
        self.callee_box.layout.display = "" if mode == "ax" else "none"

    def _redraw_table(self) -> None:
        header = widgets.HBox([_cell(f"<b>{title}</b>", width) for _, title, width in _COLUMNS])
        rows = [header]
        for sid, row in self.bindings.items():
            cells = [
                _cell(cell_text(row.get(key), is_number=key in _NUMBER_COLUMNS), width)
                for key, _, width in _COLUMNS
            ]
            rows.append(widgets.HBox([*cells, self.unbind_buttons[sid]]))
        if not self.bindings:
            rows.append(widgets.HTML("<i>no bindings made or queried here yet</i>"))
        self.table.children = rows


# Form field -> table column (the typed values shown before the platform answers).
_FIELD_COLUMN = {
    "caller_num": "a",
    "orig_num": "a",
    "bind_num": "a",
    "callee_num": "b",
    "b_num": "b",
    "relation_num": "x",
    "private_num": "x",
    "virtual_num": "x",
    "extend_num": "e",
}


def _typed_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """Table columns from form values, numbers normalised as the client sent them."""
    row = {}
    for key, value in values.items():
        column = _FIELD_COLUMN.get(key)
        if column is None:
            continue
        row[column] = _normalized(value, key) if key in NUMBER_FIELDS else value
    return row


def _normalized(value: str, key: str, *, allow_service: bool = False) -> str:
    """``value`` as the client sent it; as typed if it does not normalise (it is masked anyway,
    and the platform, not the panel, decides what it accepts)."""
    with contextlib.suppress(ToolkitError):
        return normalize(value, param=key, allow_service=allow_service)
    return value


def _preview(target: widgets.HTML, raw: str, key: str, allow_service: bool = False) -> None:
    """Show the normalised, masked number (and its kind) or why it is not a number."""
    if not raw.strip():
        target.value = ""
        return
    try:
        number = normalize(raw, allow_service=allow_service, param=key)
    except ToolkitError as exc:
        target.value = f"<span style='color:#a61b1b'>✗ {html.escape(describe_error(exc))}</span>"
        return
    target.value = (
        f"<span style='color:#1b6e3a'>✓ {html.escape(mask(number))} ({kind(number)})</span>"
    )


def _cell(text: str, width: str) -> widgets.HTML:
    return widgets.HTML(text, layout=widgets.Layout(width=width))


def _clean(key: str, value: Any) -> Any:
    """A form or frame cell as a client argument: blanks and NaN -> None, "60" -> 60 for the
    integer fields, 13800138000 -> "13800138000" for numbers stored as integers in a frame."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "item"):  # numpy scalars from a DataFrame
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            value = int(value)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        return int(value) if key in INTEGER_FIELDS and value.isdigit() else value
    if isinstance(value, int) and not isinstance(value, bool) and key in NUMBER_FIELDS:
        return str(value)
    return value


def _sid(answer: Mapping[str, Any]) -> str:
    return str(answer.get("subscriptionId") or answer.get("bindId") or "")


def _items(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The bindings in a query answer: its list field, or the answer itself (AXE v1, pages)."""
    for key in ("relationNumList", "privateNumList", "xyRelationNumList"):
        value = answer.get(key)
        if isinstance(value, list):
            return [item for item in value if isinstance(item, Mapping)]
    return [answer] if _sid(answer) else []


def _describe_row(row: Mapping[str, Any]) -> str:
    parts = [
        f"{name} {mask(row[key])}"
        for key, name in (("a", "A"), ("b", "B"), ("x", "X"), ("y", "Y"))
        if row.get(key)
    ]
    if row.get("e"):
        parts.append(f"ext {row['e']}")
    return ", ".join(parts) + f" ({row.get('subscription_id')})"
