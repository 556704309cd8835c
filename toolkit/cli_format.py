"""What every ``python -m toolkit`` command's ``--help`` shares: plain text, defaults shown."""

from __future__ import annotations

import argparse


class HelpFormatter(argparse.HelpFormatter):
    """Plain-text help wrapped to the terminal, with each option's default appended to its help
    as ``(default: X)``, unless the help already names it.

    Like :class:`argparse.ArgumentDefaultsHelpFormatter`, except that a default of ``None`` or
    ``False`` (an unset option, a flag that is off) says nothing worth printing.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            default is None
            or default is False
            or default is argparse.SUPPRESS
            or "default" in text.lower()
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"
