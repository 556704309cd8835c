"""The facts of :mod:`toolkit.schema` over whole columns, with numpy, for CDRs read from files.

A store computes a frame's derived integers in SQL (:mod:`toolkit.store_reader`); CDRs read from
a file or from memory (:mod:`toolkit.readers`) never go through a database, so the same
expressions (:class:`toolkit.expr.Expr`) are evaluated here on numpy arrays instead. Both
produce the arrays :func:`toolkit.frame.cdr_frame` types: int64 with the sentinel of
:func:`toolkit.columns.absent` where a value is absent, and object arrays of text with "".

A stored column here is ``(data, missing)``: int64 values and a boolean mask for integer and
time columns, an object array of text (``""`` when absent) and its mask for text columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import schema
from .columns import ALWAYS, ANSWERED_NO_TALK, COLUMNS, INTEGER_KINDS, MODES, absent
from .expr import All, Col, Const, Elapsed, Expr, First, Is, Missing, Not, When

if TYPE_CHECKING:
    import numpy as np

Stored = tuple[Any, Any]  # (values, missing): numpy arrays of one stored column
_TEXT_SOURCES = {"product": "product"}


def evaluate(expr: Expr, columns: Mapping[str, Stored], n: int) -> Stored:
    """``expr`` on every row: ``(values, missing)``; conditions give ``(bools, no-missing)``."""
    import numpy as np

    if isinstance(expr, Col):
        if expr.name in columns:
            return columns[expr.name]
        # A column the source did not have is absent in every row.
        text = schema.CDRS.column(expr.name).sql == "TEXT"
        empty = np.full(n, "", dtype=object) if text else np.zeros(n, dtype=np.int64)
        return empty, np.ones(n, dtype=bool)
    if isinstance(expr, Const):
        return np.full(n, expr.number, dtype=np.int64), np.zeros(n, dtype=bool)
    if isinstance(expr, First):
        values, missing = evaluate(expr.items[0], columns, n)
        values, missing = values.copy(), missing.copy()
        for item in expr.items[1:]:
            more, more_missing = evaluate(item, columns, n)
            take = missing & ~more_missing
            values[take] = more[take]
            missing &= more_missing
        return values, missing
    if isinstance(expr, When):
        holds = evaluate(expr.cond, columns, n)[0]
        values, missing = evaluate(expr.then, columns, n)
        return values, missing | ~holds
    if isinstance(expr, Elapsed):
        start, start_missing = evaluate(expr.start, columns, n)
        stop, stop_missing = evaluate(expr.stop, columns, n)
        missing = start_missing | stop_missing | (stop < start)
        return stop - start, missing
    if isinstance(expr, Is):
        values, missing = evaluate(expr.item, columns, n)
        return (values == expr.text) & ~missing, np.zeros(n, dtype=bool)
    if isinstance(expr, Missing):
        return evaluate(expr.item, columns, n)[1].copy(), np.zeros(n, dtype=bool)
    if isinstance(expr, Not):
        return ~evaluate(expr.item, columns, n)[0], np.zeros(n, dtype=bool)
    if isinstance(expr, All):
        holds = np.ones(n, dtype=bool)
        for item in expr.items:
            if not holds.any():
                break  # no row left to decide: the other columns need not be read (text costs)
            holds &= evaluate(item, columns, n)[0]
        return holds, np.zeros(n, dtype=bool)
    raise TypeError(f"no vector form for {type(expr).__name__}")


def derive(
    columns: Mapping[str, Stored], n: int, wanted: Sequence[str], rules: list[tuple[str, int]]
) -> dict[str, Any]:
    """The arrays of a frame's columns ``wanted`` (plus what derives the rest), as the store
    reader returns them, from the stored columns of ``n`` CDRs (rows numbered 1, 2, ...)."""
    import numpy as np

    values: dict[str, Any] = {}
    for name in dict.fromkeys(("seq", *wanted, *ALWAYS)):
        column = COLUMNS[name]
        if column.kind == "derived":
            continue
        if name == "seq":
            values[name] = np.arange(1, n + 1, dtype=np.int64)
        elif name == "product":
            values[name] = (evaluate(Col("product"), columns, n)[0] == "voicecall").astype(np.int64)
        elif name == "mode":
            values[name] = _modes(columns, n, rules)
        else:
            expr = column.sql if isinstance(column.sql, Expr) else Col(name)
            data, missing = evaluate(expr, columns, n)
            if column.kind in INTEGER_KINDS:
                data = np.where(missing, absent(column.kind), data).astype(np.int64)
                if name == "talk_seconds":  # see columns.TALK: an answer time, no talk time
                    answer_missing = evaluate(schema.ANSWER_TIME, columns, n)[1]
                    data[missing & ~answer_missing] = ANSWERED_NO_TALK
            else:
                data = np.where(missing, "", data).astype(object)
            values[name] = data
    return values


def _modes(columns: Mapping[str, Stored], n: int, rules: list[tuple[str, int]]) -> np.ndarray:
    """The mode index per row, by the rules of the store reader's mode CASE (same order)."""
    import numpy as np

    mode = np.full(n, -1, dtype=np.int64)
    decided = np.zeros(n, dtype=bool)

    def apply(where: Any, index: int) -> None:
        nonlocal decided
        take = where & ~decided
        mode[take] = index
        decided |= take

    product = evaluate(Col("product"), columns, n)[0]
    apply(product == "voicecall", MODES.index("VoiceCall"))
    if rules:
        app_key = evaluate(Col("app_key"), columns, n)[0]
        for key, index in rules:
            apply(app_key == key, index)
    # notifyMode is sent only by X mode ("fixed Block"); extendNum only by AXE.
    apply(~evaluate(Col("notify_mode"), columns, n)[1], MODES.index("X"))
    apply(~evaluate(Col("extend_num"), columns, n)[1], MODES.index("AXE"))
    return mode


__all__ = ["Stored", "derive", "evaluate"]
