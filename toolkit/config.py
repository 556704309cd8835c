"""Settings for talking to the platform: base URL, APP_Key, APP_Secret and auth scheme.

Values come from keyword arguments first, then environment variables, then a ``.env`` file, so
keys never have to be typed into a notebook. Each product has its own app and variables::

    PRIVATENUMBER_BASE_URL, PRIVATENUMBER_APP_KEY, PRIVATENUMBER_APP_SECRET,
    PRIVATENUMBER_AUTH_SCHEME, PRIVATENUMBER_TIMEOUT, PRIVATENUMBER_MAX_RESPONSE_BYTES,
    PRIVATENUMBER_CA_CERT
    VOICECALL_BASE_URL, VOICECALL_APP_KEY, VOICECALL_APP_SECRET, VOICECALL_AUTH_SCHEME,
    VOICECALL_TIMEOUT, VOICECALL_MAX_RESPONSE_BYTES, VOICECALL_CA_CERT

Values are checked when they load; a bad one raises :class:`~toolkit.errors.ConfigError` naming
the argument or variable it came from. The secret never appears in ``repr()`` or ``str()``, and
any phone number is masked there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .auth import SCHEMES, Scheme
from .errors import ConfigError
from .numbers import mask_text
from .tls import check_ca_file

PRIVATENUMBER_URL = "https://rtcpns.cn-north-1.myhuaweicloud.com"
VOICECALL_URL = "https://rtccall.cn-north-1.myhuaweicloud.cn:443"
DEFAULT_TIMEOUT = 10.0
# An hour is far beyond any answer of these APIs, and keeps every timer and socket timeout in the
# range the operating system accepts (inf or 1e300 make every call raise OverflowError).
MAX_TIMEOUT = 3600.0
# The platform's answers are a few kilobytes (a page of 100 bindings is about 30 KB).
DEFAULT_MAX_RESPONSE_BYTES = 1 << 20
MIN_RESPONSE_BYTES, MAX_RESPONSE_BYTES = 1 << 10, 1 << 30
PREFIXES = {"privatenumber": "PRIVATENUMBER_", "voicecall": "VOICECALL_"}
# The key goes inside a quoted header attribute (Username="..."): visible ASCII, no quote or
# backslash, so it can neither break the header nor fail to encode.
_APP_KEY = re.compile(r"[!#-\[\]-~]+")


@dataclass(frozen=True, repr=False)
class Settings:
    """Where and as whom to call the platform. Build it with :meth:`load`.

    Every value is checked when the settings are made; a bad one raises :class:`ConfigError`
    naming it. ``timeout`` (seconds, at most 3600) bounds each call as a whole: connecting,
    sending, waiting and reading the answer. ``max_response_bytes`` caps an answer's size after
    decompression (default 1 MiB); a larger one raises :class:`~toolkit.errors.ResponseError`.
    ``ca_cert`` is a PEM file of the CA an ``https://`` base URL is verified against (e.g. the
    emulator's ``CA_CERT=``); without it, the system's CAs or ``REQUESTS_CA_BUNDLE``. Nothing
    turns verification off.
    """

    base_url: str
    app_key: str
    app_secret: str = field(repr=False)
    auth_scheme: Scheme = "aksk"
    timeout: float = DEFAULT_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    ca_cert: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", check_base_url(self.base_url))
        check_app_key(self.app_key)
        if not isinstance(self.app_secret, str) or not self.app_secret:
            raise ConfigError("app_secret is empty", "app_secret")
        check_auth_scheme(self.auth_scheme)
        object.__setattr__(self, "timeout", check_timeout(self.timeout))
        object.__setattr__(self, "max_response_bytes", check_size(self.max_response_bytes))
        if self.ca_cert is not None:
            object.__setattr__(self, "ca_cert", check_ca_file(self.ca_cert, "ca_cert"))

    def __str__(self) -> str:
        return mask_text(f"{self.base_url} as {self.app_key} ({self.auth_scheme})")

    def __repr__(self) -> str:
        # Written out rather than generated, to leave out the secret and mask any number.
        return mask_text(
            f"Settings(base_url={self.base_url!r}, app_key={self.app_key!r}, "
            f"auth_scheme={self.auth_scheme!r}, timeout={self.timeout!r}, "
            f"max_response_bytes={self.max_response_bytes!r}"
            + ("" if self.ca_cert is None else f", ca_cert={self.ca_cert!r}")
            + ")"
        )

    @classmethod
    def load(
        cls,
        *,
        base_url: str | None = None,
        app_key: str | None = None,
        app_secret: str | None = None,
        auth_scheme: str | None = None,
        timeout: float | str | None = None,
        max_response_bytes: int | str | None = None,
        ca_cert: str | os.PathLike[str] | None = None,
        product: str = "privatenumber",
        environ: Mapping[str, str] | None = None,
        env_file: str | os.PathLike[str] | None = ".env",
    ) -> Settings:
        """Resolve settings from arguments, then ``environ`` (default: ``os.environ``), then a file.

        ``base_url`` falls back to the product's public address; key and secret have no default,
        and a :class:`ConfigError` says which variable to set. A malformed value raises
        :class:`ConfigError` naming where it came from (``timeout``, ``PRIVATENUMBER_TIMEOUT``).
        """
        if product not in PREFIXES:
            raise ConfigError(f"product must be one of {sorted(PREFIXES)}, not {product!r}")
        prefix = PREFIXES[product]
        sources = [os.environ if environ is None else environ, _read_env_file(env_file)]

        def pick(name: str, given: object) -> tuple[object, str]:
            """The value and where it came from: the argument's name or the variable's."""
            if given is not None:
                return given, name.lower()
            found = next((s[prefix + name] for s in sources if s.get(prefix + name)), None)
            return found, prefix + name

        (key, key_from), (secret, _) = pick("APP_KEY", app_key), pick("APP_SECRET", app_secret)
        missing = [prefix + n for n, v in (("APP_KEY", key), ("APP_SECRET", secret)) if not v]
        if missing:
            raise ConfigError(
                f"set {' and '.join(missing)} (environment or .env), or pass them as arguments; "
                "to try the toolkit without an account, start an Emulator and use "
                "emulator.client()",
                missing[0] if len(missing) == 1 else None,
            )
        url, url_from = pick("BASE_URL", base_url)
        scheme, scheme_from = pick("AUTH_SCHEME", auth_scheme)
        seconds, seconds_from = pick("TIMEOUT", timeout)
        size, size_from = pick("MAX_RESPONSE_BYTES", max_response_bytes)
        ca, ca_from = pick("CA_CERT", None if ca_cert is None else os.fspath(ca_cert))
        default_url = PRIVATENUMBER_URL if product == "privatenumber" else VOICECALL_URL
        # Checked here as well as in __post_init__ so that the error names the variable.
        return cls(
            base_url=check_base_url(url or default_url, url_from),
            app_key=check_app_key(key, key_from),
            # A secret that is not text is refused by __post_init__, as an empty one is.
            app_secret=secret if isinstance(secret, str) else "",
            auth_scheme=check_auth_scheme(
                str(scheme).lower() if scheme is not None else "aksk", scheme_from
            ),
            timeout=DEFAULT_TIMEOUT if seconds is None else check_timeout(seconds, seconds_from),
            max_response_bytes=(
                DEFAULT_MAX_RESPONSE_BYTES if size is None else check_size(size, size_from)
            ),
            ca_cert=None if ca is None else check_ca_file(str(ca), ca_from),
        )


# Checks shared by Settings() and Settings.load(); ``name`` is what the error calls the setting.


def check_base_url(value: object, name: str = "base_url") -> str:
    """An ``http(s)://host[:port][/path]`` URL without credentials, query or fragment.

    Returned without a trailing ``/``. Every signed request goes to this origin only.
    """
    if not isinstance(value, str) or any(c.isspace() or not c.isprintable() for c in value):
        raise ConfigError(f"{name} must be a URL without spaces, not {value!r}", name)
    parts = urlsplit(value)
    problem = None
    if parts.scheme.lower() not in ("http", "https") or not value.lower().startswith(
        ("http://", "https://")
    ):
        problem = "must start with http:// or https://"
    elif not parts.hostname:
        problem = "has no host"
    elif "@" in parts.netloc:
        problem = "may not hold a user name or password (the app key and secret sign requests)"
    elif "?" in value or "#" in value:
        problem = "may not have a query string or fragment"
    else:
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            problem = "has an invalid port"
    if problem:
        # Only scheme and host are echoed: whatever follows could be a credential.
        raise ConfigError(f"{name} {problem}, not {parts.scheme}://{parts.hostname or ''}…", name)
    return value.rstrip("/")


def check_app_key(value: object, name: str = "app_key") -> str:
    """A non-empty APP_Key of visible ASCII characters other than ``"`` and ``\\``."""
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, not a {type(value).__name__}", name)
    if not value:
        raise ConfigError(f"{name} is empty", name)
    if not _APP_KEY.fullmatch(value):
        raise ConfigError(
            f"{name} may hold visible ASCII characters only (no spaces, quotes or backslashes)",
            name,
        )
    return value


def check_auth_scheme(value: object, name: str = "auth_scheme") -> Scheme:
    """``aksk`` or ``wsse``."""
    if value not in SCHEMES:
        raise ConfigError(f"{name} must be one of {SCHEMES}, not {value!r}", name)
    return value


def check_timeout(value: object, name: str = "timeout") -> float:
    """Seconds as a number (or its text), more than 0 and at most :data:`MAX_TIMEOUT`."""
    seconds = _number(value, float)
    if seconds is None or not 0 < seconds <= MAX_TIMEOUT:  # also refuses nan
        raise ConfigError(
            f"{name} must be a number of seconds, more than 0 and at most {MAX_TIMEOUT:g}, "
            f"not {value!r}",
            name,
        )
    return float(seconds)


def check_size(value: object, name: str = "max_response_bytes") -> int:
    """A whole number of bytes from :data:`MIN_RESPONSE_BYTES` to :data:`MAX_RESPONSE_BYTES`."""
    size = _number(value, int)
    if size is None or not MIN_RESPONSE_BYTES <= size <= MAX_RESPONSE_BYTES:
        raise ConfigError(
            f"{name} must be a whole number of bytes from 1 KiB ({MIN_RESPONSE_BYTES}) to 1 GiB, "
            f"not {value!r}",
            name,
        )
    return int(size)


def _number(value: object, kind: type[float] | type[int]) -> float | int | None:
    if isinstance(value, bool):
        return None
    if kind is int and isinstance(value, float):
        return int(value) if value.is_integer() else None
    if not isinstance(value, str | int | float):
        return None
    try:
        return kind(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None


def lookup(
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = ".env",
) -> str | None:
    """The value of variable ``name`` from ``environ`` (default: ``os.environ``), else from the
    ``.env`` file, as :meth:`Settings.load` reads them; ``None`` when unset or empty."""
    for source in (os.environ if environ is None else environ, _read_env_file(env_file)):
        if source.get(name):
            return source[name]
    return None


def _read_env_file(path: str | os.PathLike[str] | None) -> dict[str, str]:
    if path is None or not Path(path).is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}
