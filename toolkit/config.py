"""Settings for talking to the platform: base URL, APP_Key, APP_Secret and auth scheme.

Values come from keyword arguments first, then environment variables, then a ``.env`` file, so
keys never have to be typed into a notebook. Each product has its own app and variables::

    PRIVATENUMBER_BASE_URL, PRIVATENUMBER_APP_KEY, PRIVATENUMBER_APP_SECRET,
    PRIVATENUMBER_AUTH_SCHEME, PRIVATENUMBER_TIMEOUT, PRIVATENUMBER_MAX_RESPONSE_BYTES,
    PRIVATENUMBER_CA_CERT, PRIVATENUMBER_RETRIES, PRIVATENUMBER_BACKOFF, PRIVATENUMBER_BACKOFF_MAX,
    PRIVATENUMBER_DEADLINE
    VOICECALL_BASE_URL, VOICECALL_APP_KEY, VOICECALL_APP_SECRET, VOICECALL_AUTH_SCHEME,
    VOICECALL_TIMEOUT, VOICECALL_MAX_RESPONSE_BYTES, VOICECALL_CA_CERT, VOICECALL_RETRIES,
    VOICECALL_BACKOFF, VOICECALL_BACKOFF_MAX, VOICECALL_DEADLINE

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

from .auth import SCHEMES, Scheme, check_app_key, check_app_secret
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
# Retries are off unless asked for, as in the other platforms' SDKs (Alibaba's autoretry, Twilio's
# max_retries): a script that binds numbers should choose to resend, not discover it.
DEFAULT_RETRIES, MAX_RETRIES = 0, 10
DEFAULT_BACKOFF, DEFAULT_BACKOFF_MAX = 0.5, 8.0
PREFIXES = {"privatenumber": "PRIVATENUMBER_", "voicecall": "VOICECALL_"}
# The platform's API paths all start with /rest/; a base URL holding one was copied from an API
# address. Any other path is kept: a proxy may serve the platform under a prefix.
_API_PATH = re.compile(r"(^|/)rest(/|$)", re.IGNORECASE)


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
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    backoff_max: float = DEFAULT_BACKOFF_MAX
    deadline: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", check_base_url(self.base_url))
        check_app_key(self.app_key)
        check_app_secret(self.app_secret)
        check_auth_scheme(self.auth_scheme)
        object.__setattr__(self, "timeout", check_timeout(self.timeout))
        object.__setattr__(self, "max_response_bytes", check_size(self.max_response_bytes))
        if self.ca_cert is not None:
            object.__setattr__(self, "ca_cert", check_ca_file(self.ca_cert, "ca_cert"))
        object.__setattr__(self, "retries", check_retries(self.retries))
        object.__setattr__(self, "backoff", check_backoff(self.backoff))
        object.__setattr__(self, "backoff_max", check_backoff(self.backoff_max, "backoff_max"))
        if self.deadline is not None:
            object.__setattr__(self, "deadline", check_timeout(self.deadline, "deadline"))

    @property
    def total_deadline(self) -> float:
        """Seconds one call may take, retries and waits included (see the class docstring)."""
        if self.deadline is not None:
            return self.deadline
        return min(self.timeout * (self.retries + 1), MAX_TIMEOUT)

    def __str__(self) -> str:
        return mask_text(f"{self.base_url} as {self.app_key} ({self.auth_scheme})")

    def __repr__(self) -> str:
        # Written out rather than generated, to leave out the secret and mask any number.
        return mask_text(
            f"Settings(base_url={self.base_url!r}, app_key={self.app_key!r}, "
            f"auth_scheme={self.auth_scheme!r}, timeout={self.timeout!r}, "
            f"max_response_bytes={self.max_response_bytes!r}, retries={self.retries!r}, "
            f"backoff={self.backoff!r}, backoff_max={self.backoff_max!r}, "
            f"deadline={self.deadline!r}"
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
        retries: int | str | None = None,
        backoff: float | str | None = None,
        backoff_max: float | str | None = None,
        deadline: float | str | None = None,
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

        (key, key_from), (secret, secret_from) = (
            pick("APP_KEY", app_key),
            pick("APP_SECRET", app_secret),
        )
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
        tries, tries_from = pick("RETRIES", retries)
        wait, wait_from = pick("BACKOFF", backoff)
        wait_max, wait_max_from = pick("BACKOFF_MAX", backoff_max)
        total, total_from = pick("DEADLINE", deadline)
        default_url = PRIVATENUMBER_URL if product == "privatenumber" else VOICECALL_URL
        # Checked here as well as in __post_init__ so that the error names the variable.
        return cls(
            base_url=check_base_url(url or default_url, url_from),
            app_key=check_app_key(key, key_from),
            app_secret=check_app_secret(secret, secret_from),
            auth_scheme=check_auth_scheme(
                str(scheme).lower() if scheme is not None else "aksk", scheme_from
            ),
            timeout=DEFAULT_TIMEOUT if seconds is None else check_timeout(seconds, seconds_from),
            max_response_bytes=(
                DEFAULT_MAX_RESPONSE_BYTES if size is None else check_size(size, size_from)
            ),
            ca_cert=None if ca is None else check_ca_file(str(ca), ca_from),
            retries=DEFAULT_RETRIES if tries is None else check_retries(tries, tries_from),
            backoff=DEFAULT_BACKOFF if wait is None else check_backoff(wait, wait_from),
            backoff_max=(
                DEFAULT_BACKOFF_MAX if wait_max is None else check_backoff(wait_max, wait_max_from)
            ),
            deadline=None if total is None else check_timeout(total, total_from),
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
    elif _API_PATH.search(parts.path):
        # ".../rest" or a whole API address copied from the docs: the client adds those paths,
        # so requests would go to /rest/rest/... and get 1010006 "Invalid REST API".
        problem = (
            "holds an API path (/rest...): give only scheme://host[:port], the client adds the "
            "paths itself"
        )
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


def check_retries(value: object, name: str = "retries") -> int:
    """How many times a request may be sent again: a whole number from 0 to :data:`MAX_RETRIES`."""
    count = _number(value, int)
    if count is None or not 0 <= count <= MAX_RETRIES:
        raise ConfigError(
            f"{name} must be a whole number from 0 to {MAX_RETRIES}, not {value!r}", name
        )
    return int(count)


def check_backoff(value: object, name: str = "backoff") -> float:
    """Seconds to wait between attempts: a number from 0 to 300."""
    seconds = _number(value, float)
    if seconds is None or not 0 <= seconds <= 300:  # also refuses nan
        raise ConfigError(f"{name} must be a number of seconds from 0 to 300, not {value!r}", name)
    return float(seconds)


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
