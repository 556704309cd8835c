"""Phone numbers: normalise what people type, validate it, and mask it for display.

The platform wants every number in global format: ``+86`` and an 11-digit mobile number, or
``+86``, the area code without its leading 0 and a 7-8 digit local number. People type
``138 0013 8000``, ``0755-28000001``, ``+86 138-0013-8000``, ``8613800138000`` or
``tel:+8613800138000``; :func:`normalize` turns all of these
into ``+8613800138000`` / ``+8675528000001`` or raises :class:`InvalidNumberError` naming the rule.

:func:`mask` is what every display in the toolkit uses: ``+86138****8000``. :func:`is_number_like`
says whether a value is a number in any spelling (what :func:`normalize` accepts, ``tel:`` URIs,
``86`` without ``+``), and :func:`mask_text` masks every such number inside free text such as an
error message.
"""

from __future__ import annotations

from .errors import InvalidNumberError
from .phone import Kind, is_number_like, kind, mask, mask_text, parse

__all__ = ["Kind", "is_number_like", "is_valid", "kind", "mask", "mask_text", "normalize"]


def normalize(
    raw: object,
    *,
    default_country: str = "86",
    allow_service: bool = False,
    param: str = "number",
) -> str:
    """Return ``raw`` in the platform's global format, or raise :class:`InvalidNumberError`.

    ``default_country`` applies to numbers typed without ``+`` or ``00``; a ``tel:`` URI is
    read for its number, and ``86`` in front of a national number counts as the country code.
    Chinese numbers must be mobile (11 digits starting with 1) or fixed line (area code without
    0, then 7-8 digits); ``allow_service`` also admits 400 and 95 numbers (allowed only as an AX
    temporary callee).
    ``param`` names the parameter in the error message.
    """
    number, rule = parse(raw, default_country=default_country, allow_service=allow_service)
    if rule is not None:
        raise InvalidNumberError(raw, rule, param)
    assert number is not None  # parse gives exactly one of the two
    return number


def is_valid(
    raw: object,
    *,
    default_country: str = "86",
    allow_service: bool = False,
    param: str = "number",
) -> bool:
    """True when :func:`normalize` accepts ``raw`` (same keyword arguments)."""
    return parse(raw, default_country=default_country, allow_service=allow_service)[0] is not None
