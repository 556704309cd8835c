"""``python -m toolkit axb|ax|axe|axyb ACTION ...``: bind, unbind, query and modify from a shell.

Examples::

    python -m toolkit axb bind 13800138000 13900139000 --area-code 0755 --duration 3600
    python -m toolkit axb query SUBSCRIPTION_ID --json
    python -m toolkit axb unbind SUBSCRIPTION_ID
    python -m toolkit ax bind 13800138000 --area-code 0755
    python -m toolkit axe bind 13800138000 --virtual-num +8617000000003
    python -m toolkit axyb bind 13800138000 13900139000 --area-code 0755   # X for A, Y for B
    python -m toolkit axb bind --from-csv pairs.csv --workers 8            # one row per binding

Settings come from ``PRIVATENUMBER_*`` environment variables or ``.env`` in the working
directory, as the client reads them (retries included). Phone numbers are printed masked unless
``--show-numbers``. ``--from-csv`` reads a file whose header names the action's options in
snake_case (``caller_num,callee_num,area_code``; ``subscription_id`` for unbind) and runs the rows
over a thread pool (:mod:`toolkit.bulk`).

Exit status: 0 when everything succeeded; 1 when the platform refused (the result code and its
hint from the code table are printed), could not be reached, or some rows of a CSV failed; 2 for
bad usage: unknown options, a value the client refuses before sending, an unreadable CSV.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from typing import Any

from .errors import ApiError, ToolkitError, ValidationError
from .record import Record, masked

MODES = ("axb", "ax", "axe", "axyb")
# Options whose values are whole numbers; every other one is passed as text.
_INTEGERS = frozenset({"duration", "max_duration", "call_direction", "bind_expired_time"})

# mode -> action -> (positional arguments, options): the client's keyword arguments.
# fmt: off
_ACTIONS: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "axb": {
        "bind": (("caller_num", "callee_num"),
                 ("relation_num", "area_code", "duration", "max_duration", "user_data")),
        "unbind": (("subscription_id?",), ("relation_num",)),
        "query": (("subscription_id?",), ("relation_num", "caller_num", "callee_num")),
        "modify": (("subscription_id",),
                   ("caller_num", "callee_num", "duration", "max_duration", "user_data")),
    },
    "ax": {
        "bind": (("orig_num",), ("private_num", "area_code", "max_duration", "user_data")),
        "unbind": (("subscription_id?",), ("private_num",)),
        "query": (("subscription_id?",), ("orig_num", "private_num")),
        "modify": (("subscription_id?",), ("private_num", "max_duration", "user_data")),
    },
    "axe": {
        "bind": (("bind_num",), ("virtual_num", "extend_num", "area_code", "user_data")),
        "unbind": (("subscription_id?",), ("virtual_num", "extend_num")),
        "query": (("subscription_id?",), ("virtual_num", "extend_num")),
        "modify": (("subscription_id?",), ("virtual_num", "extend_num", "user_data")),
    },
    "axyb": {
        "bind": (("orig_num", "b_num?"), ("area_code", "duration", "user_data")),
        "unbind": (("subscription_id",), ()),
        "query": (("subscription_id?",), ("relation_num",)),
    },
}
# fmt: on


def _parser(mode: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m toolkit {mode}",
        description=f"{mode.upper()} bindings: " + ", ".join(_ACTIONS[mode]) + ".",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, (positional, options) in _ACTIONS[mode].items():
        sub = actions.add_parser(action, help=f"{action} a binding")
        for name in positional:
            # Positionals are optional with --from-csv: the file gives them.
            sub.add_argument(name.rstrip("?"), nargs="?", help=name.rstrip("?").replace("_", " "))
        for name in options:
            kind = int if name in _INTEGERS else str
            sub.add_argument("--" + name.replace("_", "-"), dest=name, type=kind)
        sub.add_argument("--json", action="store_true", help="print the answer as JSON")
        sub.add_argument("--show-numbers", action="store_true", help="print numbers unmasked")
        sub.add_argument("--from-csv", metavar="FILE", help="one row per request (bulk)")
        sub.add_argument("--workers", type=int, default=4, help="threads for --from-csv (1-10)")
    return parser


def main_axb(argv: list[str] | None = None) -> int:
    """``python -m toolkit axb ...``"""
    return main(argv, mode="axb")


def main_ax(argv: list[str] | None = None) -> int:
    """``python -m toolkit ax ...``"""
    return main(argv, mode="ax")


def main_axe(argv: list[str] | None = None) -> int:
    """``python -m toolkit axe ...``"""
    return main(argv, mode="axe")


def main_axyb(argv: list[str] | None = None) -> int:
    """``python -m toolkit axyb ...``"""
    return main(argv, mode="axyb")


def main(argv: list[str] | None = None, *, mode: str = "axb") -> int:
    """Run one action of ``mode``; returns the exit status (see the module docstring)."""
    parser = _parser(mode)
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help (0) and bad usage (2)
        return int(exc.code or 0)
    positional, options = _ACTIONS[mode][args.action]
    names = [n.rstrip("?") for n in positional]
    given = {n: getattr(args, n) for n in (*names, *options) if getattr(args, n) is not None}
    if args.from_csv is None:
        missing = [n for n in positional if not n.endswith("?") and n not in given]
        if missing:
            print(f"{mode} {args.action}: give {' and '.join(missing)}", file=sys.stderr)
            return 2
    elif given:
        print("--from-csv takes the values from the file; give no others", file=sys.stderr)
        return 2
    show = (lambda v: v) if args.show_numbers else masked
    try:
        from .client import PrivateNumberClient

        with PrivateNumberClient() as client:
            operation = _operation(client, mode, args.action)
            if args.from_csv is not None:
                return _bulk(operation, args, show)
            answer = operation(**given)
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        _refusal(exc)
        return 1
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print(answer.raw, args.json, show)
    return 0


def _operation(client: Any, mode: str, action: str) -> Callable[..., Record]:
    ops = getattr(client, mode)
    if mode != "axyb" or action != "bind":
        return getattr(ops, action)

    def bind_both(orig_num: str, b_num: str | None = None, **options: Any) -> Record:
        """AXYB in one go: A gets X (bind_ax), then B gets Y (bind_yb) when B is given."""
        ax = ops.bind_ax(orig_num, **options)
        if b_num is None:
            return ax
        try:
            yb = ops.bind_yb(ax.subscription_id, b_num)
        except ApiError as exc:
            # The AX step stays bound: say which, so it can be used or unbound.
            exc.args = (f"{exc} (A is bound, subscription {ax.subscription_id}; B is not)",)
            raise
        return Record({**ax.raw, "yRelationNumber": yb.relation_number})

    return bind_both


def _refusal(exc: ApiError) -> None:
    print(f"refused: {exc}", file=sys.stderr)
    hint = exc.hint
    if hint:
        print(f"hint: {hint}", file=sys.stderr)


def _print(answer: dict[str, Any], as_json: bool, show: Callable[[Any], Any]) -> None:
    shown = show(answer)
    if as_json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    for key, value in shown.items():
        if key in ("resultcode", "resultdesc"):
            continue
        if isinstance(value, list):
            for i, item in enumerate(value, 1):
                fields = item.items() if isinstance(item, dict) else [("value", item)]
                print(f"{key}[{i}]: " + " ".join(f"{k}={v}" for k, v in fields))
        else:
            print(f"{key}: {value}")


def _bulk(operation: Callable[..., Record], args: argparse.Namespace, show: Any) -> int:
    try:
        with open(args.from_csv, newline="", encoding="utf-8-sig") as f:
            rows = [
                {k.strip(): _value(k.strip(), v) for k, v in row.items() if k and v and v.strip()}
                for row in csv.DictReader(f)
            ]
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        print(f"cannot read {args.from_csv}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    from .bulk import run_many

    result = run_many(operation, rows, workers=args.workers, progress=False)
    failed = result.failed
    if args.json:
        out = [
            {
                "row": number,
                "ok": r.ok,
                **(show(r.record.raw) if r.record else {}),
                **({"error": str(r.error)} if r.error else {}),
            }
            for number, r in enumerate(result, 1)
        ]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for number, r in enumerate(result, 1):
            if r.record is not None:
                fields = show(r.record.raw)
                text = " ".join(f"{k}={v}" for k, v in fields.items() if k[:6] != "result")
                print(f"row {number}: ok {text}".rstrip())
            else:
                print(f"row {number}: failed: {r.error}")
        print(f"{result.ok} of {len(result)} rows succeeded", file=sys.stderr)
    if any(isinstance(r.error, ValidationError) and r.error.param == "row" for r in failed):
        return 2  # the file's columns do not fit the action
    return 1 if failed else 0


def _value(name: str, text: str) -> Any:
    text = text.strip()
    if name in _INTEGERS:
        return int(text)  # a ValueError is an unreadable file: exit 2
    return text
