"""Text that is safe to print on a terminal or write to a log line.

Pushes are written by whoever can reach the receiver, so any text they carry (``userData``, a
number field, an unknown code) may hold terminal control sequences: ``"\\x1b[2J"`` clears the
screen of whoever runs ``tail``, a newline forges a log line. :func:`printable` shows every such
character as a visible escape instead, so stored text can be read but can never steer the terminal.
"""

from __future__ import annotations

import re

# C0 controls (tab and newline included: one record stays one line), DEL, C1 controls, and the
# Unicode line separators and bidirectional overrides that reorder what a terminal shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` (or ``str(text)``) with control characters shown as ``\\x1b``-style escapes."""
    value = text if isinstance(text, str) else str(text)
    return _CONTROL.sub(_escape, value)
