"""``python -m toolkit COMMAND ...``: the toolkit's command line.

Each command lives in the module that implements it, as a ``main(argv) -> int`` function (or
another function named after a colon, for modules serving several commands); this
file only dispatches, so ``python -m toolkit decode 8102`` never imports pandas or the emulator.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib import metadata

COMMANDS = {
    "demo": ("toolkit.demo", "bind numbers, simulate a day of calls, tail CDRs, chart outcomes"),
    "emulator": ("toolkit.emulator.cli", "run the platform emulator"),
    "receiver": ("toolkit.receiver_cli", "run the push receiver that stores CDRs and events"),
    "tail": ("toolkit.tail", "print stored CDRs, optionally following new ones"),
    "decode": ("toolkit.codes.cli", "explain a hangup cause, result code or CDR file"),
    "axb": ("toolkit.bind_cli:main_axb", "bind, unbind, query or modify AXB bindings"),
    "ax": ("toolkit.bind_cli:main_ax", "bind, unbind, query or modify AX bindings"),
    "axe": ("toolkit.bind_cli:main_axe", "bind, unbind, query or modify AXE bindings"),
    "axyb": ("toolkit.bind_cli:main_axyb", "bind, unbind or query AXYB bindings"),
    "store": ("toolkit.store_cli", "copy a store between SQLite and PostgreSQL"),
}


def usage() -> str:
    lines = ["usage: python -m toolkit [--version] COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run 'python -m toolkit COMMAND --help' for a command's options."]
    return "\n".join(lines)


def version() -> str:
    """The installed distribution's version, else the package's own."""
    try:
        return metadata.version("privacy-call-toolkit")
    except metadata.PackageNotFoundError:
        from . import __version__

        return __version__


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a command. Exit status: 0 ok, 1 failure or refusal, 2 usage (no command, an
    unknown one, bad options). A reader that stops early (``... | head``) ends the command
    quietly with status 0: output nobody reads is not a failure."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if args and args[0] == "--version":
        print(f"privacy-call-toolkit {version()}")
        return 0
    if not args:
        print(f"a command is required\n\n{usage()}", file=sys.stderr)
        return 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    # "module" runs module.main; "module:function" names another entry point of the module.
    module_name, _, function = COMMANDS[name][0].partition(":")
    module = importlib.import_module(module_name)
    try:
        return int(getattr(module, function or "main")(rest) or 0)
    except BrokenPipeError:
        _quiet_stdout()
        return 0


def _quiet_stdout() -> None:
    """After the reader closed the pipe: point stdout at /dev/null, so that the interpreter's
    final flush of what is still buffered cannot raise again ("Exception ignored ...")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a descriptor (a test's StringIO)
        pass


if __name__ == "__main__":
    sys.exit(main())
