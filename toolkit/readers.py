"""Every source of CDRs an analyst holds, read into the columns of :data:`toolkit.schema.CDRS`.

:func:`read_cdrs` (and :func:`toolkit.frame.cdr_frame`, which it calls) reads:

* a store or its SQLite file (through :mod:`toolkit.store_reader`);
* push bodies (``{"eventType": "fee", "feeLst": [...]}``) and bare FeeInfo dicts, one or a list;
* JSON (a body, or a list of bodies or FeeInfos), JSON lines (one body or FeeInfo per line);
* CSV with the platform's camelCase field names, or the snake_case columns of the store's table;
* CSV and Parquet written by :func:`to_csv` / :func:`to_parquet` from a frame, which read back
  into an equal frame (the same values and dtypes; the same zone for Parquet, see :func:`to_csv`);
* a DataFrame of any of these, or a list of paths (read as one frame, in order);
* any of the files gzip-compressed (recognised by their content, not their name).

Phone numbers and ids are always read as text, so a leading ``+`` or ``0`` survives. A column
that something else (``pd.read_csv`` without ``dtype=str``) already read as numbers is recovered
as digits, with a warning: the ``+`` and leading zeros it lost cannot be recovered, so the
warning says how to read the file so that they survive. Values are converted by the same rules
as a push the receiver stores (:mod:`toolkit.events`); where a flat file needs more tolerance
(``8102.0`` for a code, from a column that once held NaN) the code says so.

A bad row (a code that is no number, a time outside 2000-2100, a body that is no push) is
reported: ``errors="warn"`` skips it with one warning giving the count and the first reasons
(row, field, why), ``"ignore"`` skips it silently, ``"raise"`` raises
:class:`~toolkit.errors.ValidationError`. A table without any CDR column raises
:class:`~toolkit.errors.ValidationError` naming what was expected.

**Speed.** Files are read by pyarrow when it is installed (the ``fast`` extra): its CSV, JSON and
Parquet readers work in C++ on both cores. Without it, CSV and JSON go through pandas and the
standard library (slower, same result); Parquet needs pyarrow. Columns are converted vectorised;
only values in an unusual format (a time with an offset, a code with spaces) take the exact
per-value path, once per distinct value.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import schema
from .columns import COLUMNS, Errors
from .errors import PushFormatError, ValidationError
from .export import filter_frame, has_pyarrow, require_pyarrow, restore, to_csv, to_parquet
from .vectors import Stored
from .vectors import derive as _derive

if TYPE_CHECKING:
    import pandas as pd


# Column name in a file -> stored column: the platform's camelCase and the store's snake_case.
_NAMES = {f.json: f.name for f in schema.FEE_FIELDS.values() if f.name in schema.CDRS.names}
_NAMES.update({c.name: c.name for c in schema.CDRS.columns if c.kind is not None})
_NAMES["product"] = "product"
_KINDS = {c.name: c.kind for c in schema.CDRS.columns if c.kind is not None}
_KINDS["product"] = "str"
# Columns only a frame has: a table holding one of them is a frame written out (to_csv...).
_FRAME_ONLY = frozenset(COLUMNS) - frozenset(schema.CDRS.names)
_VOICE_ONLY = ("dynIVRStartTime", "dynIVRPath", "recordFileDownloadUrl")
_REASONS_SHOWN = 5


@dataclass
class Loaded:
    """What a reader found: the stored columns of ``n`` CDRs, or a frame written by the toolkit."""

    columns: Mapping[str, Stored]
    n: int
    frame: pd.DataFrame | None = None
    zone: str | None = None  # the source's own display zone, if it has one


# -- sources ---------------------------------------------------------------------------------


def load(source: Any, *, errors: Errors = "warn") -> Loaded:
    """The CDRs of ``source`` (anything but a store) as stored columns, or an exported frame."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        if "feeLst" in source.columns:  # pd.read_json of push bodies: one row per body
            return _from_records(source.to_dict("records"), errors)
        return _from_table(source, errors, wire=False)
    if isinstance(source, str | os.PathLike):
        return _from_path(os.fspath(source), errors)
    if (
        isinstance(source, list | tuple)
        and source
        and all(isinstance(s, str | os.PathLike) for s in source)
    ):
        return _concat([load(s, errors=errors) for s in source])  # several files, one frame
    if hasattr(source, "read"):
        data = source.read()
        return _from_bytes(data.encode() if isinstance(data, str) else data, "the file", errors)
    if isinstance(source, Mapping):
        source = [source]
    if isinstance(source, Iterable) and not isinstance(source, str | bytes):
        return _from_records(source, errors)
    raise ValidationError(
        "source",
        "expected a Store, a path, a DataFrame or push bodies, got " + type(source).__name__,
    )


def _concat(parts: list[Loaded]) -> Loaded:
    """The CDRs of several sources, in order; a column one of them lacks is absent there."""
    import numpy as np
    import pandas as pd

    frames = [p.frame for p in parts if p.frame is not None]
    if frames:
        if len(frames) != len(parts):
            raise ValidationError(
                "source", "cannot mix frames written by to_csv/to_parquet with other CDR files"
            )
        frame = pd.concat([f.astype(object) for f in frames], ignore_index=True)
        return Loaded({}, len(frame), frame=frame, zone=parts[0].zone)
    names = list(dict.fromkeys(name for p in parts for name in p.columns))
    columns: dict[str, Stored] = {}
    for name in names:
        text = _KINDS[name] in ("str", "any")
        values, missing = [], []
        for part in parts:
            if name in part.columns:
                values.append(part.columns[name][0])
                missing.append(part.columns[name][1])
            else:
                values.append(
                    np.full(part.n, "", dtype=object) if text else np.zeros(part.n, np.int64)
                )
                missing.append(np.ones(part.n, dtype=bool))
        columns[name] = (np.concatenate(values), np.concatenate(missing))
    return Loaded(columns, sum(p.n for p in parts))


def _from_path(path: str, errors: Errors) -> Loaded:
    """A file. Parquet and JSON lines go to pyarrow by path: it reads the file itself, JSON in
    blocks parsed on every core as they arrive, about 30% faster than from the bytes read whole
    (1M CDRs: 4.5 s against 6.3 s). A JSON list is split into lines in the buffer it is read
    into, without a copy. Anything else, or JSON pyarrow refuses, is read whole."""
    try:
        with open(path, "rb") as file:
            head = file.read(4)
        if head == b"PAR1":
            return _from_parquet(path, errors)
        lines = head[:1] == b"{"
        if (lines or head[:1] == b"[") and has_pyarrow():
            table = _arrow_json(path if lines else _read_whole(path))
            if table is not None:
                return _from_table(table, errors, wire=True)
            # Refused lines would be refused again from the bytes; a list may still be read
            # by pyarrow as one object (see _arrow_json), after the split it was refused for.
            data = Path(path).read_bytes()
            return _from_json(data, path, errors, arrow=not lines)
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValidationError("source", f"cannot read {path!r}: {exc}") from exc
    return _from_bytes(data, path, errors)


def _read_whole(path: str) -> Any:
    """The file's bytes in a writable buffer of the caller's own, to split a JSON list in.

    A private memory map where the file allows one: its pages come from the page cache as
    they are read, and only the pages written to are copied (the file never changes). A new
    buffer is first filled with zeros, then with the file: a JSON list of 1M CDRs (840 MB) read
    in 13.4-14.6 s that way, against 10.9-12.2 s with the map.
    """
    import mmap

    with open(path, "rb") as file:
        try:
            return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_COPY)
        except (OSError, ValueError):  # empty, or no regular file (a pipe)
            return bytearray(file.read())


def _from_bytes(data: bytes, name: str, errors: Errors) -> Loaded:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValidationError("source", f"{name!r} is a broken gzip file: {exc}") from exc
    if data[:4] == b"PAR1":
        return _from_parquet(data, errors)
    if data[:16] == b"SQLite format 3\x00":
        raise ValidationError("source", f"{name!r} is a compressed store: decompress it first")
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if text in (b"[", b"{"):
        return _from_json(data, name, errors)
    return _from_csv(data, name, errors)


def _from_parquet(data: bytes | str, errors: Errors) -> Loaded:
    """A Parquet file's bytes, or its path."""
    require_pyarrow()  # a clear error when it is missing
    import pyarrow
    import pyarrow.parquet as pq

    if isinstance(data, str):
        # Read column by column as decoded: buffering each row group's columns up front, meant
        # for object stores, made a local file slower (10M CDRs: 5.0-6.9 s against 3.6-4.2 s).
        table = pq.read_table(data, pre_buffer=False)
    else:
        table = pq.read_table(pyarrow.BufferReader(data))
    # Parquet stores seconds as milliseconds: back to seconds before pandas sees them.
    for index, field in enumerate(table.schema):
        if pyarrow.types.is_timestamp(field.type) and field.type.unit != "s":
            second = pyarrow.timestamp("s", field.type.tz)
            table = table.set_column(index, field.name, table[index].cast(second, safe=False))
    # One block per column, freed from Arrow as it goes: consolidating the columns into
    # blocks copied them all (about 15% of the time and 110 MB at a million CDRs).
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    return _from_table(frame, errors, wire=False)


def _from_json(data: bytes, name: str, errors: Errors, *, arrow: bool = True) -> Loaded:
    if arrow and has_pyarrow():
        table = _arrow_json(data)
        if table is not None:
            return _from_table(table, errors, wire=True)
    try:
        items = _loads(data)
    except ValueError:
        # JSON lines: one push body or FeeInfo per line.
        try:
            items = [_loads(line) for line in data.splitlines() if line.strip()]
        except ValueError as exc:
            raise ValidationError(
                "source", f"{name!r} is neither JSON nor JSON lines: {exc}"
            ) from exc
    return _from_records(items if isinstance(items, list) else [items], errors)


def _loads(data: bytes) -> Any:
    return json.loads(data)


def _arrow_json(data: Any) -> pd.DataFrame | None:
    """FeeInfos of a JSON file as a table read by pyarrow; ``None`` when it needs the exact path.

    ``data`` is the file's bytes, a writable buffer holding a JSON list (:func:`_read_whole`:
    split in place, so the caller must read the file again if this gives ``None``), or the path
    of JSON lines.

    A JSON list is read as the value of one object wrapped around it (pyarrow reads objects).
    Only the common shapes are taken here: every item a fee push body, or every item a bare
    FeeInfo, with each field of one JSON type. Anything else (a field that is text in one CDR
    and a number in another, an event push among the CDRs) is left to the exact path.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    try:
        if isinstance(data, str):  # the path of JSON lines: pyarrow reads the file itself
            lines: Any = data
        else:
            body = data.lstrip(b"\xef\xbb\xbf \t\r\n") if isinstance(data, bytes) else data
            lines = _as_lines(body) if body[:1] == b"[" else body
        if lines is not None:  # one item per line: read in blocks, on every core
            table = _read_lines(lines)
        elif not isinstance(data, bytes):
            return None  # split in place, and refused: its text is gone
        else:  # a list pyarrow cannot be handed as lines: one object round it, one block
            body = b'{"items":' + body + b"}"
            options = pj.ReadOptions(block_size=max(1 << 20, min(len(body) + 1, 1 << 30)))
            table = pj.read_json(io.BytesIO(body), read_options=options)
        if table.column_names == ["items"]:
            items = pa.concat_arrays(
                [pc.list_flatten(c) for c in table.column("items").chunks if len(c)]
                or [pa.array([], pa.struct([]))]
            )
            if not pa.types.is_struct(items.type):
                return None
            table = pa.Table.from_struct_array(items)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    names = set(table.column_names)
    if "feeLst" not in names:
        return _arrow_frame(table) if names & set(schema.FEE_FIELDS) else None
    fee = table.column("feeLst").combine_chunks()
    if (
        fee.null_count
        or not pa.types.is_list(fee.type)
        or not pa.types.is_struct(fee.type.value_type)
    ):
        return None
    if "eventType" in names and not pc.all(pc.equal(table.column("eventType"), "fee")).as_py():
        return None
    infos = pa.Table.from_struct_array(pc.list_flatten(fee))
    frame = _arrow_frame(infos)
    # A push is VoiceCall when every CDR in it looks so (toolkit.events.detect_product).
    voice = _voice_rows(frame)
    body_index = pc.list_parent_indices(fee).to_numpy()
    import numpy as np

    not_voice = np.bincount(body_index, weights=~voice, minlength=len(fee))
    frame["product"] = np.where(not_voice[body_index] == 0, "voicecall", "privatenumber")
    return frame


def _read_lines(lines: Any) -> Any:
    """JSON lines (a buffer, or a file's path) read by pyarrow in blocks of 1 MB, parsed in
    parallel. A line longer than a block (a body of a thousand CDRs or more) makes pyarrow refuse
    the blocks: then one block holds the whole text, parsed on one core."""
    import pyarrow as pa
    import pyarrow.json as pj

    def read(options: Any = None) -> Any:
        source = lines if isinstance(lines, str) else pa.BufferReader(lines)
        return pj.read_json(source, read_options=options)

    size = os.path.getsize(lines) if isinstance(lines, str) else len(lines)
    try:
        return read()
    except pa.ArrowInvalid:
        if size <= 1 << 20:
            raise
    return read(pj.ReadOptions(block_size=min(size + 1, 1 << 30)))


def _as_lines(body: Any) -> Any:
    """A JSON list as JSON lines (a writable buffer), one item per line; ``None`` if unsure.

    pyarrow reads JSON lines in blocks on every core, but a list only as one huge row, on one.
    The items of the list are found with a few numpy passes per 64 MB: brackets set the depth,
    a bracket closing to depth 1 ends an item, and the comma after it becomes a line break. Line
    breaks were blanks (inside strings they are invalid JSON), so they become spaces first. A
    writable buffer is split in place (the caller gives up its text); bytes are copied.

    Brackets inside strings are counted too: telling them apart would take a pass over every
    quote, more than half the time. A wrong split they cause cannot go unnoticed: a line break
    inside a string leaves that line's string unterminated, and a boundary missed leaves two items
    on one line, so some line is no JSON value and pyarrow refuses the whole text (the file then
    takes the exact path). Every line is valid only when every break is at an item boundary.
    """
    import numpy as np

    out = bytearray(body) if isinstance(body, bytes) else body
    view = np.frombuffer(out, dtype=np.uint8)
    breaks = out.find(b"\n") >= 0 or out.find(b"\r") >= 0
    depth, step = 0, 1 << 26
    starts, ends = [], []
    for begin in range(0, len(view), step):
        chunk = view[begin : begin + step]
        if breaks:
            chunk[(chunk == 10) | (chunk == 13)] = 32
        folded = chunk | 32  # "[" folds onto "{" (123), "]" onto "}" (125)
        opens, closes = np.flatnonzero(folded == 123), np.flatnonzero(folded == 125)
        marks = np.concatenate([opens, closes])
        order = np.argsort(marks, kind="stable")
        marks = marks[order]
        change = np.where(order < len(opens), 1, -1)
        level = depth + np.cumsum(change)
        if len(level) and level.min() < 0:
            return None
        depth = int(level[-1]) if len(level) else depth
        starts.append(begin + marks[(change > 0) & (level == 2)])
        ends.append(begin + marks[(change < 0) & (level == 1)])
    last = len(out) - 1
    while last > 0 and out[last] in (9, 32):
        last -= 1
    if depth != 0 or out[last] != 93:
        return None
    first, final = np.concatenate(starts), np.concatenate(ends)
    if len(first) != len(final) or (not len(first) and out[1:last].strip()):
        return None  # an item that is no object or list: left to the slower reading
    # Between two items: blanks and one comma, which becomes the line break. "},{" is the
    # common case, done at once; blanks around the comma (an indented file) one gap at a time.
    compact = (first[1:] == final[:-1] + 2) & (view[final[:-1] + 1] == 44)
    view[final[:-1][compact] + 1] = 10
    for end, start in zip(final[:-1][~compact].tolist(), first[1:][~compact].tolist(), strict=True):
        gap = bytes(out[end + 1 : start])
        if gap.strip(b" \t") != b",":
            return None
        out[end + 1 + gap.index(b",")] = 10
    edges = (out[1 : first[0]], out[final[-1] + 1 : last]) if len(first) else ()
    if any(edge.strip(b" \t") for edge in edges):
        return None
    view[0] = view[last] = 32  # the list's own brackets
    return out


def _arrow_frame(table: Any) -> pd.DataFrame:
    import pandas as pd

    return (
        table.to_pandas(types_mapper={}.get, split_blocks=True)
        if len(table.schema)
        else pd.DataFrame()
    )


def _from_csv(data: bytes, name: str, errors: Errors) -> Loaded:
    import pandas as pd

    if has_pyarrow():
        import pyarrow as pa
        import pyarrow.csv as pc

        header = next(iter(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig")), "")
        import csv

        names = next(csv.reader([header]), [])
        # Every column as text: numbers and ids keep their "+" and leading zeros.
        options = pc.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=False
        )
        try:
            table = pc.read_csv(pa.BufferReader(data), convert_options=options)
        except pa.ArrowInvalid as exc:
            raise ValidationError("source", f"{name!r} is not a CSV file: {exc}") from exc
        frame = table.to_pandas(split_blocks=True)
    else:
        try:
            frame = pd.read_csv(
                io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig"
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError("source", f"{name!r} is not a CSV file: {exc}") from exc
    return _from_table(frame, errors, wire=False)


def _from_records(items: Iterable[Any], errors: Errors) -> Loaded:
    """Push bodies and bare FeeInfos, checked one by one as the receiver checks a push."""
    import pandas as pd

    from . import events as ev

    infos: list[Any] = []
    products: list[str] = []
    problems = _Problems()
    for number, item in enumerate(items):
        if isinstance(item, Mapping) and "feeLst" not in item and "eventType" not in item:
            item = {"eventType": "fee", "feeLst": [item]}  # a bare FeeInfo
        try:
            if ev.push_kind(item) != "fee":
                continue  # a call event, an SMS...: no CDR in it, nothing wrong with it
            fee = item.get("feeLst")
            if not isinstance(fee, list):
                raise PushFormatError(f"expected a list, got {type(fee).__name__}", "feeLst")
            product = ev.detect_product(item) or "privatenumber"
        except PushFormatError as exc:
            problems.add(number, exc.field or "body", exc.reason)
            continue
        for info in fee:
            if not isinstance(info, Mapping):
                problems.add(number, "feeLst", f"expected an object, got {type(info).__name__}")
                continue
            infos.append(info)
            products.append(product)
    problems.report(errors, len(infos) + problems.count)
    frame = pd.DataFrame.from_records(infos) if infos else pd.DataFrame()
    frame["product"] = pd.Series(products, dtype=object, index=frame.index)
    return _from_table(frame, errors, wire=True)


# -- tables ----------------------------------------------------------------------------------


def _from_table(frame: pd.DataFrame, errors: Errors, *, wire: bool) -> Loaded:
    """Stored columns from a table of CDRs (or the frame it is, for the toolkit's own export)."""
    import numpy as np
    import pandas as pd

    from .convert import convert

    names = [str(c) for c in frame.columns]
    frame_like = _FRAME_ONLY & set(names)
    platform = set(names) & (set(schema.FEE_FIELDS) - set(COLUMNS))  # "direction" is both
    if frame_like and not platform and set(names) <= set(COLUMNS):
        return Loaded({}, len(frame), frame=frame, zone=_zone_of(frame))
    chosen: dict[str, str] = {}
    for column in names:
        target = _NAMES.get(column)
        if target is not None and target not in chosen.values():
            chosen[column] = target
    if not chosen and len(frame.columns):
        expected = ", ".join(["callInTime", "ulFailReason", "bindNum", "sessionId"])
        raise ValidationError(
            "source",
            f"no CDR column found: expected the platform's fields ({expected}, ...), the store's "
            f"columns (call_in_time, ul_fail_reason, ...) or a frame's (start_time, outcome, "
            f"...); got {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}",
        )
    n = len(frame)
    problems = _Problems()
    columns = _Columns()
    for column, target in chosen.items():
        series, kind = frame[column], _KINDS[target]
        if kind in ("str", "any") and isinstance(series.dtype, pd.StringDtype):
            # Text that is text already cannot break a rule: converted only if a frame needs it.
            columns.later(target, partial(convert, series, kind, column, problems))
        else:
            columns[target] = convert(series, kind, column, problems)
    if "product" not in columns:
        voice = _voice_rows(frame)
        text = np.where(voice, "voicecall", "privatenumber").astype(object)
        columns["product"] = (text, np.zeros(n, dtype=bool))
    if wire:  # a CDR pushed without a sessionId is malformed (toolkit.batches.prepare)
        session = columns.get("session_id", (None, np.ones(n, dtype=bool)))[1]
        for row in np.flatnonzero(session):
            problems.add(int(row), "sessionId", "required")
    bad = problems.rows(n)
    problems.report(errors, n)
    if bad is not None and bad.any():
        columns.keep_only(~bad)
        n = int((~bad).sum())
    return Loaded(columns, n)


class _Columns(Mapping[str, Stored]):
    """Stored columns, some converted only when first read (:meth:`later`)."""

    def __init__(self) -> None:
        self._done: dict[str, Stored] = {}
        self._later: dict[str, Callable[[], Stored]] = {}
        self._keep: Any = None

    def __setitem__(self, name: str, column: Stored) -> None:
        self._done[name] = column

    def later(self, name: str, convert: Callable[[], Stored]) -> None:
        """Column ``name`` is ``convert()``, called the first time it is read."""
        self._later[name] = convert

    def keep_only(self, rows: Any) -> None:
        """Only ``rows`` (a boolean mask) of every column, converted or not."""
        self._done = {k: (v[rows], m[rows]) for k, (v, m) in self._done.items()}
        self._keep = rows

    def __getitem__(self, name: str) -> Stored:
        if name in self._later:
            values, missing = self._later.pop(name)()
            keep = self._keep
            self._done[name] = (values, missing) if keep is None else (values[keep], missing[keep])
        return self._done[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._done, *self._later])

    def __len__(self) -> int:
        return len(self._done) + len(self._later)


def _voice_rows(frame: pd.DataFrame) -> Any:
    """Rows that look like VoiceCall CDRs (toolkit.events.fee_product), vectorised."""
    import numpy as np

    voice = np.zeros(len(frame), dtype=bool)
    for column in ("serviceType", "service_type"):
        if column in frame.columns:
            voice |= frame[column].astype("str").isin(["001", "002"]).to_numpy()
    for column in _VOICE_ONLY:
        if column in frame.columns:
            voice |= frame[column].notna().to_numpy()
    return voice


def _zone_of(frame: pd.DataFrame) -> str | None:
    for name in frame.columns:
        zone = getattr(frame[name].dtype, "tz", None)
        if zone is not None:
            return str(zone)
    return None


class _Problems:
    """Bad rows: how many, and the first few reasons as (row, field, why)."""

    def __init__(self) -> None:
        self.count = 0
        self.reasons: list[tuple[int, str, str]] = []
        self.bad: set[int] = set()
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        """A column of numbers or ids that arrived as numbers (see :func:`report`)."""
        if text not in self.notes:
            self.notes.append(text)

    def add(self, row: int, field: str, why: str) -> None:
        if row not in self.bad:
            self.count += 1
            self.bad.add(row)
        if len(self.reasons) < _REASONS_SHOWN:
            self.reasons.append((row, field, why))

    def add_many(self, rows: Any, field: str, why: Any) -> None:
        """Rows (a numpy index array) with one reason each (``why(row)``)."""
        for row in rows:
            self.add(int(row), field, why(int(row)))

    def rows(self, n: int) -> Any:
        import numpy as np

        if not self.bad:
            return None
        mask = np.zeros(n, dtype=bool)
        mask[list(self.bad)] = True
        return mask

    def report(self, errors: Errors, total: int) -> None:
        if errors == "ignore":
            return
        if self.notes:
            warnings.warn(
                f"{', '.join(self.notes)} {'was' if len(self.notes) == 1 else 'were'} read as "
                "numbers: recovered as digits, but a leading + or 0 is lost; pass the file "
                "itself to read_cdrs, or read it with pd.read_csv(..., dtype=str)",
                UserWarning,
                stacklevel=5,
            )
        if not self.count:
            return
        shown = "; ".join(f"row {r} {f}: {w}" for r, f, w in self.reasons)
        message = f"skipped {self.count} malformed CDR(s) of {total}: {shown}"
        if errors == "raise":
            raise ValidationError("source", message)
        warnings.warn(message, UserWarning, stacklevel=5)


def derive(loaded: Loaded, wanted: Any, rules: list[tuple[str, int]]) -> dict[str, Any]:
    """The arrays of a frame's columns for CDRs read here (:func:`toolkit.vectors.derive`)."""
    return _derive(loaded.columns, loaded.n, wanted, rules)


def filter_values(
    values: dict[str, Any], *, start: int | None, end: int | None, numbers: list[str] | None
) -> dict[str, Any]:
    """Only the rows whose ``start_time`` is in [start, end) and X number among ``numbers``."""
    import numpy as np

    if start is None and end is None and numbers is None:
        return values
    n = len(values["seq"])
    keep = np.ones(n, dtype=bool)
    stamp = values["start_time"]
    if start is not None:
        keep &= (stamp >= start) & (stamp != -1)
    if end is not None:
        keep &= (stamp < end) & (stamp != -1)
    if numbers is not None:
        keep &= np.isin(values["bind_num"], np.array(numbers, dtype=object))
    return {k: v[keep] for k, v in values.items()}


__all__ = [
    "Errors",
    "Loaded",
    "derive",
    "filter_frame",
    "filter_values",
    "load",
    "restore",
    "to_csv",
    "to_parquet",
]
