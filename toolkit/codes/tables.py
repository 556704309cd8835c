"""The code tables: CSV files in ``toolkit/codes/data``, read with :mod:`csv` on first use.

One file per code family. Columns: ``code, meaning, chinese, category, actor, action``.

``code`` is either one integer or an inclusive range ``low-high``. Ranges exist because the spec
documents some codes only as a block (VoiceCall release points 2801-2871 are "IVR errors", 400-699
are raw SIP statuses). An exact row always wins over a range that covers the same code, so a table
can describe a block and still give a few of its members their own meaning.

Everything here is plain Python so that :func:`toolkit.codes.result_hint` stays cheap enough for
``ApiError`` to call on every error; pandas is used only by :mod:`toolkit.codes.vector`.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, SupportsFloat

Family = Literal[
    "pn_state", "pn_release", "q850", "pn_result", "vc_state", "vc_release", "vc_result", "sip"
]

FAMILIES: tuple[Family, ...] = (
    "pn_state",
    "pn_release",
    "q850",
    "pn_result",
    "vc_state",
    "vc_release",
    "vc_result",
    "sip",
)

FAMILY_TITLES: dict[str, str] = {
    "pn_state": "PrivateNumber hang-up reason (stateCode)",
    "pn_release": "PrivateNumber release point (ulFailReason)",
    "q850": "Q.850 cause (fwdUnaswRsn)",
    "pn_result": "PrivateNumber API result code (resultcode)",
    "vc_state": "VoiceCall hang-up reason (stateCode)",
    "vc_release": "VoiceCall release point (ulFailReason)",
    "vc_result": "VoiceCall API result code (resultcode)",
    "sip": "SIP status (sipStatusCode)",
}

CATEGORIES = (
    "normal",
    "binding",
    "caller-abandon",
    "number",
    "callee-busy",
    "no-answer",
    "callee-reject",
    "callee-unreachable",
    "tenant-config",
    "control",
    "platform",
    "network",
    "protocol",
)

# Who can do something about a code. "none" is for codes that need no action (normal release).
ACTORS = ("caller", "callee", "customer-config", "platform/carrier", "none")


@dataclass(frozen=True)
class Row:
    """One row of a code table; ``low == high`` unless the row describes a range."""

    low: int
    high: int
    meaning: str
    chinese: str
    category: str
    actor: str
    action: str


@dataclass(frozen=True)
class Table:
    """A code family: exact rows by code, plus range rows checked in file order."""

    family: str
    exact: dict[int, Row]
    ranges: tuple[Row, ...]

    def lookup(self, code: int) -> Row | None:
        """The row for ``code``: the exact row if there is one, else the first covering range."""
        row = self.exact.get(code)
        if row is not None:
            return row
        for candidate in self.ranges:
            if candidate.low <= code <= candidate.high:
                return candidate
        return None

    def rows(self) -> list[Row]:
        """Every row, exact rows first (sorted by code), then the ranges."""
        return [self.exact[c] for c in sorted(self.exact)] + list(self.ranges)


@cache
def table(family: str) -> Table:
    """Load (once) and return the table of ``family``; ``KeyError`` for an unknown family."""
    if family not in FAMILIES:
        raise KeyError(f"unknown code family {family!r}; expected one of {', '.join(FAMILIES)}")
    exact: dict[int, Row] = {}
    ranges: list[Row] = []
    # One name per joinpath() and a binary open: Python 3.10's Traversable takes no more.
    path = resources.files("toolkit.codes").joinpath("data").joinpath(f"{family}.csv")
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            low_text, _, high_text = record["code"].strip().partition("-")
            low = int(low_text)
            high = int(high_text) if high_text else low
            row = Row(
                low=low,
                high=high,
                meaning=record["meaning"].strip(),
                chinese=(record.get("chinese") or "").strip(),
                category=record["category"].strip(),
                actor=record["actor"].strip(),
                action=(record.get("action") or "").strip(),
            )
            if high_text:
                ranges.append(row)
            else:
                exact[low] = row
    if family == "vc_release":
        _add_sip_passthrough(exact)
    return Table(family, exact, tuple(ranges))


def _add_sip_passthrough(exact: dict[int, Row]) -> None:
    """Give VoiceCall release points 400-699 the meaning of the SIP status they carry.

    The spec says a VoiceCall release point in 400-699 is the raw SIP response code, used when no
    Q.850 cause exists. The documented release points 501-553 sit inside that block and keep their
    own rows (exact rows win); every other listed SIP status becomes a row here, and the range row
    in vc_release.csv covers the SIP statuses the sip table does not list.
    """
    for code, sip in table("sip").exact.items():
        if 400 <= code <= 699 and code not in exact:
            meaning = f"SIP {code} {sip.meaning}, passed through as the release point"
            exact[code] = Row(code, code, meaning, "", sip.category, sip.actor, sip.action)


def normalize_code(raw: object) -> tuple[Literal["ok", "missing", "garbage"], int | None]:
    """Turn a code as it arrives (int, str, float from pandas, None/NaN) into an int.

    Returns ``("ok", code)``, ``("missing", None)`` for None, NaN and empty strings, or
    ``("garbage", None)`` for anything that is not a non-negative whole number. Never raises.
    """
    if raw is None:
        return "missing", None
    if isinstance(raw, bool):  # bool is an int subclass, but True is not a code
        return "garbage", None
    if isinstance(raw, int):
        return ("ok", raw) if raw >= 0 else ("garbage", None)
    if isinstance(raw, float) or (
        type(raw).__module__ == "numpy" and isinstance(raw, SupportsFloat)
    ):
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return "garbage", None
        if math.isnan(value):
            return "missing", None
        if math.isinf(value) or value < 0 or not value.is_integer():
            return "garbage", None
        return "ok", int(value)
    if isinstance(raw, (str, bytes)):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        text = text.strip()
        if not text or text.lower() in ("nan", "none", "null", "<na>"):
            return "missing", None
        if text.endswith(".0"):  # "8102.0": a float that went through str()
            text = text[:-2]
        if text.isascii() and text.isdigit():
            return "ok", int(text)
        return "garbage", None
    # pandas.NA / NaT and other exotic scalars: missing if they say so, garbage otherwise
    if type(raw).__name__ in ("NAType", "NaTType"):
        return "missing", None
    return "garbage", None
