"""Bulk binding and unbinding: many rows over a thread pool, one result per row.

``client.axb.bind_many(rows, workers=8)`` (and ``unbind_many``, for every mode) sends one request
per row from ``workers`` threads sharing the client's connection pool, and returns a
:class:`BulkResult`: one :class:`RowResult` per row, in input order, with the platform's answer or
the error. One failed row never stops the others; :meth:`BulkResult.to_frame` makes a DataFrame
with the error of each failed row.

Rows are mappings of the operation's keyword arguments (a DataFrame's rows; missing cells are left
out), a tuple of positional arguments, or a single value (a subscription id for ``unbind_many``).
Every row is checked against the operation's parameters before any request is sent; a row that
does not fit fails with :class:`~toolkit.errors.ValidationError` and is never sent. Values are then
checked by the operation itself, before its own request, as for a single call. Retries
(:mod:`toolkit.retry`) apply to each row as to any call.

A progress bar is drawn with ``tqdm.auto`` when tqdm is installed (``pip install -e
".[progress]"``): a widget in notebooks, a line on stderr in terminals. Without tqdm there is no
bar, and nothing else changes.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from .errors import ApiError, ToolkitError, ValidationError
from .numbers import is_number_like, mask, mask_text
from .record import Record

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_WORKERS", "BulkResult", "RowResult", "run_many"]

# requests keeps 10 connections per host by default; more threads would open and drop extra ones.
MAX_WORKERS = 10
DEFAULT_WORKERS = 4


@dataclass(frozen=True)
class RowResult:
    """The outcome of one row: ``record`` (the platform's answer) or ``error``, never both."""

    index: Hashable
    args: Mapping[str, Any] = field(repr=False)
    record: Record | None = None
    error: ToolkitError | None = None

    @property
    def ok(self) -> bool:
        """True when the row's request succeeded."""
        return self.error is None

    def __repr__(self) -> str:
        outcome = "ok" if self.ok else f"{type(self.error).__name__}: {self.error}"
        return mask_text(f"RowResult({self.index!r}, {outcome})")


class BulkResult(Sequence[RowResult]):
    """The rows of a bulk run, in input order; ``ok``/``failed`` count them."""

    def __init__(self, rows: list[RowResult]) -> None:
        self.rows = rows

    @overload
    def __getitem__(self, i: int) -> RowResult: ...
    @overload
    def __getitem__(self, i: slice) -> list[RowResult]: ...
    def __getitem__(self, i: int | slice) -> RowResult | list[RowResult]:
        return self.rows[i]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ok(self) -> int:
        """How many rows succeeded."""
        return sum(r.ok for r in self.rows)

    @property
    def failed(self) -> list[RowResult]:
        """The rows that failed."""
        return [r for r in self.rows if not r.ok]

    def to_frame(self, *, raw_numbers: bool = False) -> pd.DataFrame:
        """One row per input row (same index): ``ok``, the answer's fields in snake_case
        (``subscription_id``, ``relation_num``, ...), ``error`` (the message, empty when ok),
        ``resultcode`` and ``hint`` for platform refusals. Phone numbers are masked unless
        ``raw_numbers=True``."""
        import pandas as pd

        show = (lambda v: v) if raw_numbers else _masked
        table = []
        for row in self.rows:
            out: dict[str, Any] = {"ok": row.ok}
            if row.record is not None:
                for key, value in row.record.raw.items():
                    if key not in ("resultcode", "resultdesc") and not isinstance(
                        value, dict | list
                    ):
                        out[_snake(key)] = show(value)
            error = row.error
            out["error"] = "" if error is None else str(error)
            out["resultcode"] = error.resultcode if isinstance(error, ApiError) else ""
            out["hint"] = (error.hint or "") if isinstance(error, ApiError) else ""
            table.append(out)
        frame = pd.DataFrame(table, index=[r.index for r in self.rows])
        first = [
            "ok",
            *(c for c in frame.columns if c not in ("ok", "error", "resultcode", "hint")),
        ]
        return frame[[*first, "error", "resultcode", "hint"]]

    def __repr__(self) -> str:
        return f"<BulkResult: {len(self.rows)} rows, {self.ok} ok, {len(self.failed)} failed>"


def _masked(value: Any) -> Any:
    return mask(value) if isinstance(value, str) and is_number_like(value) else value


def _snake(name: str) -> str:
    """``relationNum`` -> ``relation_num``: the answer's camelCase fields as frame columns."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def run_many(
    operation: Callable[..., Record],
    rows: Iterable[Any],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: bool = True,
    description: str | None = None,
    on_row: Callable[[RowResult], None] | None = None,
) -> BulkResult:
    """Call ``operation`` once per row from ``workers`` threads; see the module docstring.

    ``on_row`` is called in the calling thread as each row finishes (in completion order), for
    progress displays of your own. ``progress=False`` draws no bar.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ValidationError("workers", f"must be a whole number from 1 to {MAX_WORKERS}")
    if not isinstance(progress, bool):
        raise ValidationError("progress", "expected True or False")
    if on_row is not None and not callable(on_row):
        raise ValidationError("on_row", "must be a function taking a RowResult")
    items = list(_indexed(rows))
    signature = inspect.signature(operation)
    # Every row is checked before the first request goes out.
    checked: list[RowResult | tuple[Hashable, tuple[Any, ...], dict[str, Any]]] = []
    for index, value in items:
        args, kwargs = _arguments(value)
        shown = {**{f"arg{i}": a for i, a in enumerate(args)}, **kwargs}
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            error = ValidationError("row", f"{index!r}: {exc}")
            checked.append(RowResult(index, shown, error=error))
            continue
        checked.append((index, args, kwargs))
    results: list[RowResult | None] = [r if isinstance(r, RowResult) else None for r in checked]
    bar = _bar(progress, len(items), description or str(getattr(operation, "__qualname__", "")))
    try:
        for result in results:
            if result is not None:
                _advance(bar, on_row, result)
        todo = [(p, item) for p, item in enumerate(checked) if not isinstance(item, RowResult)]
        if workers == 1:  # one at a time: in this thread, as a loop would, without handing over
            for position, item in todo:
                results[position] = result = _one(operation, *item)
                _advance(bar, on_row, result)
            return BulkResult([r for r in results if r is not None])
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="toolkit-bulk") as pool:
            futures = {pool.submit(_one, operation, *item): position for position, item in todo}
            if bar is None and on_row is None:
                # Nothing to show per row: this thread sleeps until the last one instead of
                # waking (and taking the GIL from the workers) as each row ends.
                wait(futures)
                done = iter(futures)
            else:
                done = as_completed(futures)
            for future in done:
                result = future.result()
                results[futures[future]] = result
                _advance(bar, on_row, result)
    finally:
        if bar is not None:
            bar.close()
    return BulkResult([r for r in results if r is not None])


def _one(
    operation: Callable[..., Record], index: Hashable, args: tuple[Any, ...], kw: dict[str, Any]
) -> RowResult:
    shown = {**{f"arg{i}": a for i, a in enumerate(args)}, **kw}
    try:
        return RowResult(index, shown, record=operation(*args, **kw))
    except ToolkitError as exc:  # the row's failure, reported with the row; the batch goes on
        return RowResult(index, shown, error=exc)


def _advance(bar: Any, on_row: Callable[[RowResult], None] | None, result: RowResult) -> None:
    if bar is not None:
        bar.update(1)
    if on_row is not None:
        on_row(result)


def _indexed(rows: Iterable[Any]) -> Iterator[tuple[Hashable, Any]]:
    """(index, row) pairs: a DataFrame's index labels and records, else positions."""
    if isinstance(rows, str | bytes | Mapping):
        raise ValidationError("rows", "expected a sequence of rows (or a DataFrame), not one row")
    to_dict = getattr(rows, "to_dict", None)
    if callable(to_dict) and hasattr(rows, "index") and hasattr(rows, "columns"):
        yield from zip(rows.index, to_dict("records"), strict=True)
        return
    try:
        yield from enumerate(rows)
    except TypeError:
        raise ValidationError("rows", "expected a sequence of rows (or a DataFrame)") from None


def _arguments(row: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A row as (positional, keyword) arguments; empty cells (None, NaN) are left out."""
    if isinstance(row, Mapping):
        kwargs = {str(k): _cell(v) for k, v in row.items()}
        return (), {k: v for k, v in kwargs.items() if v is not None}
    if isinstance(row, tuple | list):
        return tuple(_cell(v) for v in row), {}
    return (_cell(row),), {}


def _cell(value: Any) -> Any:
    """A DataFrame cell as a Python argument: numpy scalars unwrapped, NaN/NA as None, whole
    floats (an integer column with gaps) as int."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return int(value)
    return value


def _bar(progress: bool, total: int, description: str) -> Any:
    """A ``tqdm.auto`` bar, or ``None`` when not asked for or tqdm is not installed."""
    if not progress:
        return None
    try:
        auto = importlib.import_module("tqdm.auto")
    except ImportError:  # the bar is a nicety: without tqdm, no bar and no error
        return None
    return auto.tqdm(total=total, desc=description, unit="row", leave=False)


class BulkOperations:
    """``bind_many`` and ``unbind_many`` for a mode whose single-row methods are ``bind`` and
    ``unbind`` (AXYB names its bind step: see ``_bulk_bind``)."""

    _bulk_bind = "bind"

    def bind_many(
        self,
        rows: Iterable[Any],
        *,
        workers: int = DEFAULT_WORKERS,
        progress: bool = True,
        on_row: Callable[[RowResult], None] | None = None,
    ) -> BulkResult:
        """Bind every row (the keyword arguments of this mode's bind) from ``workers`` threads
        (1-10); returns one :class:`~toolkit.bulk.RowResult` per row. See :mod:`toolkit.bulk`."""
        operation = getattr(self, self._bulk_bind)
        name = f"{type(self).__name__.removesuffix('Mode').lower()} {self._bulk_bind}"
        return run_many(
            operation, rows, workers=workers, progress=progress, description=name, on_row=on_row
        )

    def unbind_many(
        self,
        rows: Iterable[Any],
        *,
        workers: int = DEFAULT_WORKERS,
        progress: bool = True,
        on_row: Callable[[RowResult], None] | None = None,
    ) -> BulkResult:
        """Unbind every row (a subscription id, or the keyword arguments of this mode's unbind)
        from ``workers`` threads (1-10); one :class:`~toolkit.bulk.RowResult` per row."""
        # Every mode defines unbind; this mixin does not, so it is looked up by name.
        operation = getattr(self, "unbind")  # noqa: B009
        name = f"{type(self).__name__.removesuffix('Mode').lower()} unbind"
        return run_many(
            operation, rows, workers=workers, progress=progress, description=name, on_row=on_row
        )
