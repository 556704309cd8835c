"""``python -m toolkit decode``: what a code means, or why each call in a push body ended.

Examples::

    python -m toolkit decode 8102              # PrivateNumber stateCode / ulFailReason / resultcode
    python -m toolkit decode --voice 8001      # the VoiceCall tables instead
    python -m toolkit decode --q850 17
    python -m toolkit decode --sip 486
    python -m toolkit decode --result 1012010
    python -m toolkit decode --cdr fee.json    # explain every CDR of a saved push body

Exit status: 0 when the code is known, 1 when it is in none of the tables searched (so a script
can tell), 2 for bad usage or an unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from ..cli_format import HelpFormatter
from ..numbers import mask
from ..terminal import printable
from .decoding import CodeInfo, decode
from .explaining import call_records, explain
from .tables import FAMILY_TITLES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit decode",
        description="Explain hang-up causes, release points, Q.850/SIP causes and result codes. "
        "Exit status: 0 for a known code, 1 for an unknown one, 2 for bad usage.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("code", nargs="?", help="a stateCode / ulFailReason / resultcode")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--q850", metavar="CODE", help="a Q.850 cause (fwdUnaswRsn)")
    group.add_argument("--sip", metavar="CODE", help="a SIP status (sipStatusCode)")
    group.add_argument("--result", metavar="CODE", help="an API resultcode")
    group.add_argument("--cdr", metavar="FILE", help="a JSON push body (fee push, event or CDRs)")
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
    if args.cdr is not None:
        return _explain_file(args.cdr, "voicecall" if args.voice else None, args.show_numbers)
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


def _explain_file(path: str, product: str | None, show_numbers: bool) -> int:
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return 2
    items = call_records(body)
    explanations = [explain(item, product) for item in items]
    if not explanations:
        print(f"{path}: no CDR or disconnect event found")
        return 0
    show = (lambda n: "" if n is None else str(n)) if show_numbers else mask
    for number, (item, explanation) in enumerate(zip(items, explanations, strict=True), 1):
        status = item.get("statusInfo")  # a disconnect event: its numbers are in statusInfo
        record = status if isinstance(status, Mapping) else item
        caller = show(record.get("callerNum") or record.get("caller"))
        callee = show(record.get("fwdDstNum") or record.get("calleeNum") or record.get("called"))
        session = record.get("sessionId") or "-"
        # Every value here comes from the pushed JSON: escaped, it cannot drive the terminal.
        print(printable(f"[{number}] {session}  {caller} -> {callee}"))
        print(printable(f"    {explanation.outcome}: {explanation.text}"))
        if explanation.action:
            print(printable(f"    action: {explanation.action}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
