"""``python -m toolkit COMMAND ...``: the toolkit's command line.

Each command lives in the module that implements it, as a ``main(argv) -> int`` function; this
file only dispatches, so ``python -m toolkit decode 8102`` never imports pandas or the emulator.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "demo": ("toolkit.demo", "bind numbers, simulate a day of calls, tail CDRs, chart outcomes"),
    "emulator": ("toolkit.emulator.cli", "run the platform emulator"),
    "receiver": ("toolkit.receiver_cli", "run the push receiver that stores CDRs and events"),
    "tail": ("toolkit.tail", "print stored CDRs, optionally following new ones"),
    "decode": ("toolkit.codes.cli", "explain a hangup cause, result code or CDR file"),
    "store": ("toolkit.store_cli", "copy a store between SQLite and PostgreSQL"),
}


def usage() -> str:
    lines = ["usage: python -m toolkit COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run 'python -m toolkit COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
