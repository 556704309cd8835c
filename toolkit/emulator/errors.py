"""Wire errors of the emulated platform: one exception, carrying resultcode, text and HTTP status.

The backend raises :class:`PlatformError`; the WSGI app turns it into the platform's JSON envelope
in exactly one place (:func:`toolkit.emulator.app.error_response`). The helpers below name the
codes the emulator answers, with the descriptions the platform returns (spec §9).
"""

from __future__ import annotations

# Both are defined with the rest of the exception tree, in toolkit.errors.
from ..errors import EmulatorError as EmulatorError
from ..errors import PlatformError as PlatformError


def invalid(param: str, detail: str = "") -> PlatformError:
    """``1010002``: the platform names the offending parameter after ``Invalid request.``."""
    return PlatformError("1010002", f"Invalid request.{param}{(' ' + detail) if detail else ''}")


def bad_body(detail: str, status: int = 400) -> PlatformError:
    """A body that is not a JSON object (or too large). Same code, HTTP 400/413."""
    return PlatformError("1010002", f"Invalid request.{detail}", status)


def wrong_mode() -> PlatformError:
    return PlatformError("1010040", "The app_key is not allowed to invoke the API.")


def not_found(status: int = 403) -> PlatformError:
    return PlatformError("1012007", "The record does not exist.", status)


def axe_not_found() -> PlatformError:
    return PlatformError("1016001", "The record does not exist.")


def axe_exists() -> PlatformError:
    return PlatformError("1016002", "The record already exists.")


def not_applied() -> PlatformError:
    return PlatformError("1012001", "Resource of number is not to be applied.")


def already_bound() -> PlatformError:
    return PlatformError("1012010", "The relation number has been bound.")


def no_free_number() -> PlatformError:
    return PlatformError("1012008", "Insufficient number of resources.")


def number_abnormal() -> PlatformError:
    return PlatformError("1012102", "The number status is abnormal.")


def unknown_api(status: int = 404) -> PlatformError:
    return PlatformError("1010006", "Invalid REST API.", status)


def too_many_numbers() -> PlatformError:
    """AX: the A number already holds 5 X."""
    return PlatformError(
        "1011003", "Exceeded the upper limit of resources that can be applied for."
    )


def not_this_apps() -> PlatformError:
    """AX: ``privateNum`` is not a number of this app."""
    return PlatformError("1011001", "The account does not exist.")
