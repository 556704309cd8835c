"""``python -m toolkit decode``: what a code means, or why each call in a push body ended.

Examples::

    python -m toolkit decode 8102              # PrivateNumber stateCode / ulFailReason / resultcode
    python -m toolkit decode --voice 8001      # the VoiceCall tables instead
    python -m toolkit decode --q850 17
    python -m toolkit decode --sip 486
    python -m toolkit decode --result 1012010
    python -m toolkit decode --cdr fee.json    # explain every CDR of a saved push body
    python -m toolkit decode --cdr cdrs.csv.gz --summary   # outcome mix and cause Pareto

``--cdr`` reads every source :func:`toolkit.frame.read_cdrs` reads: JSON push bodies (their
disconnect events too), JSON lines, CSV, Parquet, a store file, gzip-compressed or not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..cli_format import HelpFormatter
from ..numbers import mask
from ..terminal import printable
from .decoding import CodeInfo, decode
from .explaining import call_records, explain
from .tables import FAMILY_TITLES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit decode",
        description="Explain hang-up causes, release points, Q.850/SIP causes and result codes.",
        formatter_class=HelpFormatter,
        epilog=(
            "exit status: 0 when the command ran (an unknown code, or a malformed CDR skipped "
            "with a warning, is reported, not an error); 1 when --cdr found CDRs it could not "
            "read at all; 2 for bad usage or a file that is not CDRs. A closed pipe "
            "(| head) ends the output quietly."
        ),
    )
    parser.add_argument("code", nargs="?", help="a stateCode / ulFailReason / resultcode")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--q850", metavar="CODE", help="a Q.850 cause (fwdUnaswRsn)")
    group.add_argument("--sip", metavar="CODE", help="a SIP status (sipStatusCode)")
    group.add_argument("--result", metavar="CODE", help="an API resultcode")
    group.add_argument(
        "--cdr",
        metavar="FILE",
        help="CDRs to explain: JSON push bodies or events, JSON lines, CSV, Parquet, a store "
        "file (gzip or not)",
    )
    parser.add_argument(
        "--summary", action="store_true", help="with --cdr: outcome mix and cause Pareto"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (--cdr)"
    )
    parser.add_argument("--voice", action="store_true", help="use the VoiceCall tables")
    parser.add_argument(
        "--show-numbers", action="store_true", help="print phone numbers unmasked (--cdr)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse exits on --help (0) and bad usage (2)
        return int(exc.code or 0)
    prefix = "vc" if args.voice else "pn"
    chosen = [args.code, args.q850, args.sip, args.result, args.cdr]
    if sum(value is not None for value in chosen) != 1:
        parser.print_usage(sys.stderr)
        print("give exactly one code, or one of --q850/--sip/--result/--cdr", file=sys.stderr)
        return 2
    if (args.summary or args.format != "text") and args.cdr is None:
        parser.print_usage(sys.stderr)
        print("--summary and --format go with --cdr", file=sys.stderr)
        return 2
    if args.cdr is not None:
        try:
            return _cdr_command(args)
        except BrokenPipeError:
            # The reader went away (| head): stop quietly, and keep Python from complaining
            # about the closed stdout again while it exits.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
    families: tuple[str, ...]
    if args.q850 is not None:
        families, code = ("q850",), args.q850
    elif args.sip is not None:
        families, code = ("sip",), args.sip
    elif args.result is not None:
        families, code = (f"{prefix}_result",), args.result
    else:
        families, code = (f"{prefix}_state", f"{prefix}_release", f"{prefix}_result"), args.code
    infos = [decode(code, family) for family in families]
    known = [info for info in infos if info.known]
    if not known:
        tables = ", ".join(FAMILY_TITLES[f] for f in families)
        print(printable(f"{code}: unknown code, not listed in: {tables}"))
        if len(families) > 1:
            print("(try --q850, --sip or --voice)")
        return 1
    print(printable(code))
    for info in known:
        print(_describe(info))
    return 0


def _describe(info: CodeInfo) -> str:
    lines = [f"  {FAMILY_TITLES[info.family]}: {info.meaning}"]
    if info.chinese:
        lines.append(f"    Chinese:  {info.chinese}")
    lines.append(f"    category: {info.category}    who can act: {info.actor}")
    if info.action:
        lines.append(f"    action:   {info.action}")
    return "\n".join(lines)


def _cdr_command(args: argparse.Namespace) -> int:
    product = "voicecall" if args.voice else None
    if not args.summary:
        try:  # one JSON document: its CDRs and disconnect events, as pushed
            body = json.loads(Path(args.cdr).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            body = None
        if body is not None:
            items = call_records(body)
            rows = [_row(item, explain(item, product), args.show_numbers) for item in items]
            return _print_rows(args.cdr, rows, args.format)
    frame, skipped = _read(args.cdr, args.show_numbers)
    if frame is None:
        return 2
    if skipped and not len(frame):
        print(printable(f"{args.cdr}: no CDR could be read"), file=sys.stderr)
        return 1
    if args.summary:
        return _print_summary(frame, args.format)
    rows = [_frame_row(record, product) for record in frame.to_dict("records")]
    return _print_rows(args.cdr, rows, args.format)


def _read(path: str, show_numbers: bool) -> tuple[Any, bool]:
    """The CDRs of ``path`` as a frame (``None`` after saying why when it is not CDRs), and
    whether malformed CDRs were skipped."""
    from ..errors import ValidationError
    from ..frame import read_cdrs

    columns = ["session_id", "caller_num", "fwd_dst_num", "callee_num", "product", "outcome"]
    columns += ["ul_fail_reason", "fwd_unasw_rsn", "sip_status_code", "answer_time", "cause"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = read_cdrs(path, columns=columns, raw_numbers=show_numbers)
        except ValidationError as exc:
            print(printable(f"cannot read {path}: {exc}"), file=sys.stderr)
            return None, False
    for warning in caught:  # a skipped CDR is worth one line, not a Python warning
        print(printable(f"warning: {warning.message}"), file=sys.stderr)
    return frame, any("skipped" in str(w.message) for w in caught)


def _frame_row(record: Mapping[str, Any], product: str | None) -> dict[str, Any]:
    """One CDR of a frame, explained like a pushed one (the codes and whether it was answered)."""
    fields = {"ulFailReason": "ul_fail_reason", "fwdUnaswRsn": "fwd_unasw_rsn"}
    fields["sipStatusCode"] = "sip_status_code"
    info = {k: record[v] for k, v in fields.items() if record.get(v) is not None}
    info = {k: (None if _missing(v) else int(v)) for k, v in info.items()}
    if not _missing(record.get("answer_time")):
        info["fwdAnswerTime"] = str(record["answer_time"])
    explanation = explain(info, product or str(record.get("product") or "privatenumber"))
    return {
        "session_id": _text(record.get("session_id")) or "-",
        "caller": _text(record.get("caller_num")),
        "callee": _text(record.get("fwd_dst_num")) or _text(record.get("callee_num")),
        "outcome": str(record["outcome"]),
        "cause": str(record["cause"]),
        "text": explanation.text,
        "action": explanation.action or None,
    }


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _row(item: Mapping[str, Any], explanation: Any, show_numbers: bool) -> dict[str, Any]:
    """One pushed CDR or disconnect event, with its numbers masked unless asked otherwise."""
    show = (lambda n: "" if n is None else str(n)) if show_numbers else mask
    status = item.get("statusInfo")  # a disconnect event: its numbers are in statusInfo
    record = status if isinstance(status, Mapping) else item
    return {
        "session_id": record.get("sessionId") or "-",
        "caller": show(record.get("callerNum") or record.get("caller")),
        "callee": show(record.get("fwdDstNum") or record.get("calleeNum") or record.get("called")),
        "outcome": explanation.outcome,
        "text": explanation.text,
        "action": explanation.action or None,
    }


def _print_rows(path: str, rows: list[dict[str, Any]], form: str) -> int:
    if form == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print(printable(f"{path}: no CDR or disconnect event found"))
        return 0
    for number, row in enumerate(rows, 1):
        # Every value here comes from the file: escaped, it cannot drive the terminal.
        print(printable(f"[{number}] {row['session_id']}  {row['caller']} -> {row['callee']}"))
        print(printable(f"    {row['outcome']}: {row['text']}"))
        if row["action"]:
            print(printable(f"    action: {row['action']}"))
    return 0


def _print_summary(frame: Any, form: str) -> int:
    from .. import analysis
    from ..display import to_text

    mix = analysis.outcome_mix(frame).iloc[0]
    pareto = analysis.cause_pareto(frame)
    if form == "json":
        causes = [
            {"cause": cause, **{k: _plain(v) for k, v in row.items()}}
            for cause, row in pareto.iterrows()
        ]
        outcomes = {k: int(v) for k, v in mix.items()}
        print(json.dumps({"calls": len(frame), "outcomes": outcomes, "causes": causes}, indent=1))
        return 0
    calls = len(frame)
    shares = analysis.outcome_mix(frame, share=True).iloc[0]
    table = mix.to_frame("calls").assign(share=shares)
    table = table[table["calls"] > 0]
    table.attrs["units"] = {"calls": "count", "share": "share"}
    lines = [f"{calls:,} CDR(s)", "", *to_text(table).splitlines()]
    if len(pareto):
        lines += ["", "causes of calls not answered, most frequent first"]
        lines += to_text(pareto).splitlines()
    for line in lines:  # cause labels come from the file's codes: escaped line by line
        print(printable(line))
    return 0


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    return None if _missing(value) else value


if __name__ == "__main__":
    sys.exit(main())
