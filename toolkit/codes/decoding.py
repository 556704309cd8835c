"""Scalar decoding: one code of one family in, one :class:`CodeInfo` out, never an exception."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationError
from .tables import FAMILIES, normalize_code, table

NOT_APPLICABLE = "not applicable (no code)"


@dataclass(frozen=True)
class CodeInfo:
    """What a code means.

    ``known`` is False both for a missing code (``code is None`` and ``raw`` None/NaN/empty: the
    field does not apply) and for a code the table does not list (``meaning`` says "unknown" and
    ``raw`` keeps what arrived, so nothing is lost). ``category`` and ``actor`` are empty then.
    """

    family: str
    code: int | None
    raw: object
    known: bool
    meaning: str
    chinese: str = ""
    category: str = ""
    actor: str = ""
    action: str = ""

    @property
    def applicable(self) -> bool:
        """False when the field was missing (None, NaN, empty string)."""
        return self.meaning != NOT_APPLICABLE

    def __str__(self) -> str:
        code = self.code if self.code is not None else self.raw
        return f"{self.family} {code}: {self.meaning}"


def _check_family(family: str) -> None:
    if family not in FAMILIES:
        raise ValidationError(
            "family", f"unknown code family {family!r}; expected one of {', '.join(FAMILIES)}"
        )


def decode(code: object, family: str = "pn_release") -> CodeInfo:
    """Look ``code`` up in the table of ``family`` (one of :data:`toolkit.codes.FAMILIES`).

    ``code`` may be an int, a numeric string, a float from pandas, None or NaN. Missing values give
    a "not applicable" record; anything else that is not a listed code gives an explicit "unknown"
    record with the raw value kept. Only an unknown *family* raises (``ValueError``), because that
    is a programming error rather than bad data.
    """
    _check_family(family)
    status, number = normalize_code(code)
    if status == "missing":
        return CodeInfo(family, None, code, False, NOT_APPLICABLE)
    if status == "garbage" or number is None:
        return CodeInfo(family, None, code, False, f"unknown code {_short(code)}")
    row = table(family).lookup(number)
    if row is None:
        return CodeInfo(family, number, code, False, f"unknown code {number}")
    return CodeInfo(
        family=family,
        code=number,
        raw=code,
        known=True,
        meaning=row.meaning,
        chinese=row.chinese,
        category=row.category,
        actor=row.actor,
        action=row.action,
    )


def known_families(code: object, families: tuple[str, ...] = FAMILIES) -> list[CodeInfo]:
    """Decode ``code`` in every family of ``families`` and keep the ones that list it."""
    return [info for info in (decode(code, f) for f in families) if info.known]


def _short(raw: object) -> str:
    """A bounded repr for messages: garbage can be arbitrarily long."""
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."
