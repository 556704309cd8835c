"""Hang-up causes, release points, Q.850/SIP causes and API result codes, decoded.

The tables are CSV files in ``data/`` (one per family, see :mod:`toolkit.codes.tables`). This
package is light at import: the CSVs are read on first use and pandas is imported only by the
vectorised functions (:func:`decode_series`, :func:`classify_frame`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# decode and explain are plain Python and cheap to import. Their modules are named decoding and
# explaining so that ``toolkit.codes.decode`` is always the function, never a shadowing submodule.
from .decoding import CodeInfo, decode
from .explaining import Explanation, classify, explain, explain_push
from .outcomes import OUTCOME_COLORS, OUTCOME_LABELS, OUTCOMES
from .tables import FAMILIES, normalize_code, table

_LAZY: dict[str, str] = {
    "decode_series": "toolkit.codes.vector",
    "classify_frame": "toolkit.codes.vector",
}

__all__ = [
    "FAMILIES",
    "OUTCOMES",
    "OUTCOME_COLORS",
    "OUTCOME_LABELS",
    "CodeInfo",
    "Explanation",
    "classify",
    "classify_frame",
    "decode",
    "decode_series",
    "explain",
    "explain_push",
    "result_hint",
]


# 1010010 means a wrong digest with HTTP 401 and flow control otherwise: once the status is
# known, the hint speaks of that one only (the table's own text names both).
_DIGEST_OR_THROTTLED = 1010010
_BAD_DIGEST = (
    "Invalid password digest: check the app key and secret (no stray spaces), the auth scheme "
    "(aksk or wsse) and the clock"
)
_THROTTLED = "The platform is throttling requests (flow control): retry after a minute"


def result_hint(
    resultcode: object, product: str = "privatenumber", status: int | None = None
) -> str | None:
    """What to do about an API ``resultcode``, from the result-code table; ``None`` if unknown.

    ``product`` picks the table ("voicecall" or anything else for PrivateNumber): the two products
    give some codes different meanings (e.g. 1012001). ``status``, the answer's HTTP status, picks
    between the meanings of a code the table gives two of (1010010). Cheap after the first call
    and never raises, because the transport calls it while turning a refusal into
    :class:`toolkit.errors.ApiError`.
    """
    family = "vc_result" if product == "voicecall" else "pn_result"
    outcome, code = normalize_code(resultcode)
    if outcome != "ok" or code == 0 or code is None:
        return None
    if code == _DIGEST_OR_THROTTLED and status is not None:
        return _BAD_DIGEST if status == 401 else _THROTTLED
    try:
        row = table(family).lookup(code)
    except (OSError, ValueError, KeyError):  # a broken install must not hide the original error
        return None
    if row is None:
        return None
    return row.action or row.meaning


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit.codes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .vector import classify_frame, decode_series
