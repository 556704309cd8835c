"""Exceptions raised by the toolkit.

Every exception a public function raises derives from :class:`ToolkitError`, so
``except ToolkitError`` catches them all::

    ToolkitError
    ├── ConfigError              settings missing or malformed (names the setting), checked on load
    ├── ValidationError          a parameter failed a check before any HTTP call (also ValueError)
    │   └── InvalidNumberError   a phone number could not be normalised
    ├── PushFormatError          a push body is not one the platform documents (also ValueError)
    ├── StoreError               the store cannot be opened, read or written; one-line reason
    ├── TransportError           the platform could not be reached, or gave no complete answer
    │                            within the timeout (carries the URL, never a secret)
    ├── ResponseError            the platform answered something that is not the documented JSON:
    │                            a redirect, an answer over the size limit or nested too deep, a
    │                            success without a field the method promises
    ├── ApiError                 the platform answered ``resultcode != "0"``
    │   ├── AuthError            signing headers, digest, clock skew, app key
    │   ├── NotFoundError        binding, number or recording does not exist
    │   ├── AlreadyBoundError    the number (pair) is already bound
    │   ├── NoFreeNumberError    no privacy number or extension is free
    │   └── ThrottledError       flow control; wait and retry
    ├── PlatformError            the emulator, called in-process, refused a request as the platform
    │                            would (``resultcode``, ``resultdesc``, ``status``)
    └── EmulatorError            the emulator's own controls were misused (also ValueError)

:class:`ApiError` carries ``resultcode``, ``resultdesc``, the HTTP ``status`` and a short ``hint``
taken from the result-code table in :mod:`toolkit.codes`, the single source of truth for codes.
Over HTTP, the clients turn a :class:`PlatformError` of the emulator into an :class:`ApiError`,
exactly as for the real platform.

Messages never show a phone number in full: every number in them, in any spelling the toolkit
accepts, is masked (:func:`toolkit.numbers.mask_text`), including the platform's ``resultdesc``.
Attributes (``InvalidNumberError.value``, ``ApiError.resultdesc``) keep what was given or
received, unmasked, for code that needs it.
"""

from __future__ import annotations

from typing import Literal

from .phone import mask, mask_text

Product = Literal["privatenumber", "voicecall"]

__all__ = [
    "AlreadyBoundError",
    "ApiError",
    "AuthError",
    "ConfigError",
    "EmulatorError",
    "InvalidNumberError",
    "NoFreeNumberError",
    "NotFoundError",
    "PlatformError",
    "PushFormatError",
    "ResponseError",
    "StoreError",
    "ThrottledError",
    "ToolkitError",
    "TransportError",
    "ValidationError",
    "api_error",
]


class ToolkitError(Exception):
    """Root of every exception the toolkit raises."""


class ConfigError(ToolkitError):
    """Settings are missing or malformed (base URL, APP_Key, APP_Secret, auth scheme, timeout,
    answer size limit).

    ``setting`` names the offending setting as it was given: the argument (``timeout``) or the
    environment variable (``PRIVATENUMBER_TIMEOUT``); ``None`` when several are missing.
    """

    def __init__(self, message: str, setting: str | None = None) -> None:
        self.setting = setting
        super().__init__(mask_text(message))


class ValidationError(ToolkitError, ValueError):
    """A client-side parameter failed validation; nothing was sent.

    ``param`` names the offending parameter as the user spelled it (snake_case).
    """

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        super().__init__(mask_text(f"{param}: {message}"))


class InvalidNumberError(ValidationError):
    """A phone number could not be normalised to the platform's global format.

    The message shows the value masked (``'138*****8000x'``); ``value`` holds it as given.
    """

    def __init__(self, value: object, rule: str, param: str = "number") -> None:
        self.value = value
        self.rule = rule
        ValueError.__init__(self, f"{param}: {_shown(value)} is not a valid phone number: {rule}")
        self.param = param


def _shown(value: object) -> str:
    """A masked form of a rejected number: enough to recognise a typo, never the number."""
    if isinstance(value, str):
        # Long input is cut first: the mask keeps the first 3 and last 4 characters.
        if len(value) > 32:
            return repr(mask(value[:32]) + "…")
        return repr(mask(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{type(value).__name__} {mask(value)}"
    return f"a {type(value).__name__}"


class PushFormatError(ToolkitError, ValueError):
    """A push body is not one the platform documents, or a field has the wrong type.

    ``field`` names the offending field as a path (``feeLst[3].direction``) when there is one and
    ``reason`` is the message without it.
    """

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


class StoreError(ToolkitError):
    """The store cannot be opened, read or written; the message is one line saying why.

    At runtime (database locked, disk full, I/O error) a write is safe to retry. At opening it
    means the file is not a store the toolkit can use: damaged, foreign, or not writable.
    """


class TransportError(ToolkitError):
    """The request did not get a complete HTTP answer (refused, timed out, TLS failure, cut).

    ``settings.timeout`` bounds the whole call: past it, the message says so. ``sent`` is
    ``False`` only when the request provably never reached the server (no connection could be
    made); otherwise it may have arrived and been acted on (see :mod:`toolkit.retry`).
    """

    def __init__(self, url: str, cause: BaseException, *, sent: bool = True) -> None:
        self.url = url
        self.sent = sent
        super().__init__(f"could not reach {url}: {type(cause).__name__}: {cause}")


class ResponseError(ToolkitError):
    """The platform answered with something other than the documented JSON envelope."""

    def __init__(self, status: int, url: str, detail: str) -> None:
        self.status = status
        self.url = url
        super().__init__(f"HTTP {status} from {url}: {mask_text(detail)}")


class ApiError(ToolkitError):
    """The platform rejected a request with a non-zero ``resultcode``."""

    def __init__(
        self,
        resultcode: str,
        resultdesc: str = "",
        status: int | None = None,
        *,
        product: Product = "privatenumber",
        hint: str | None = None,
    ) -> None:
        self.resultcode = str(resultcode)
        self.resultdesc = resultdesc
        self.status = status
        self.product = product
        #: What to do about this code. The client fills it in from the result-code table
        #: (:func:`toolkit.codes.result_hint`); ``None`` when the table has nothing to say.
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.resultcode}: {mask_text(self.resultdesc) or 'no description'}"
        if self.status is not None:
            text += f" (HTTP {self.status})"
        hint = self.hint
        return f"{text}. {hint}" if hint else text


class AuthError(ApiError):
    """Signing headers are missing or wrong, the digest or clock is off, or the key is unknown."""


class NotFoundError(ApiError):
    """The binding, number or recording does not exist for this app."""


class AlreadyBoundError(ApiError):
    """The number or pair is already bound (e.g. ``1012010``, ``1011005``)."""


class NoFreeNumberError(ApiError):
    """No privacy number or extension is free (e.g. ``1012008``, ``1020167``)."""


class ThrottledError(ApiError):
    """The platform is rate-limiting this account, app, number or IP; wait and retry."""


class PlatformError(ToolkitError):
    """The emulated platform refused a request: ``{"resultcode": ..., "resultdesc": ...}`` with
    HTTP ``status``.

    Raised when the emulator is called in-process (e.g. :meth:`Emulator.stop_call` on a call that
    has ended); the emulator's WSGI app turns it into the platform's JSON answer.
    """

    def __init__(self, resultcode: str, resultdesc: str, status: int = 403) -> None:
        self.resultcode = resultcode
        self.resultdesc = resultdesc
        self.status = status
        super().__init__(f"{resultcode} {resultdesc} (HTTP {status})")

    def body(self) -> dict[str, str]:
        """The JSON envelope the platform answers with."""
        return {"resultcode": self.resultcode, "resultdesc": self.resultdesc}


class EmulatorError(ToolkitError, ValueError):
    """A misuse of the emulator's own controls (not a platform answer): bad outcome, no bindings."""


# Codes shared by both products, then the product-specific ones. 1010010 is "invalid digest" with
# HTTP 401 but "flow control" otherwise (the spec's tables disagree), so it is resolved by status.
_CLASS_BY_CODE: dict[str, type[ApiError]] = {
    **{str(c): AuthError for c in range(1023006, 1023038)},
    "1010003": AuthError,
    "1010013": AuthError,
    "1020150": AuthError,
    "1020176": AuthError,
    "1012007": NotFoundError,
    "1016001": NotFoundError,
    "1020165": ThrottledError,
    "1011006": ThrottledError,
    "1010009": ThrottledError,
}
_PRODUCT_CLASSES: dict[Product, dict[str, type[ApiError]]] = {
    "privatenumber": {
        "1011001": NotFoundError,
        "1011004": NotFoundError,
        "1012001": NotFoundError,
        "1011005": AlreadyBoundError,
        "1012010": AlreadyBoundError,
        "1016002": AlreadyBoundError,
        "1011002": NoFreeNumberError,
        "1012008": NoFreeNumberError,
        "1020167": NoFreeNumberError,
    },
    "voicecall": {
        **{str(c): ThrottledError for c in (1013001, 1013002, 1013003, 1013118)},
    },
}


def api_error(
    resultcode: object,
    resultdesc: str = "",
    status: int | None = None,
    *,
    product: Product = "privatenumber",
    hint: str | None = None,
) -> ApiError:
    """Build the most specific :class:`ApiError` subclass for a platform answer.

    ``hint`` is appended to the message; the client passes the result-code table's advice.
    """
    code = str(resultcode)
    if code == "1010010":
        cls: type[ApiError] = AuthError if status == 401 else ThrottledError
    else:
        cls = _PRODUCT_CLASSES[product].get(code) or _CLASS_BY_CODE.get(code, ApiError)
    if cls is ApiError and status == 401:
        cls = AuthError
    return cls(code, resultdesc, status, product=product, hint=hint)
