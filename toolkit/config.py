"""Settings for talking to the platform: base URL, APP_Key, APP_Secret and auth scheme.

Values come from keyword arguments first, then environment variables, then a ``.env`` file, so
keys never have to be typed into a notebook. Each product has its own app and variables::

    PRIVATENUMBER_BASE_URL, PRIVATENUMBER_APP_KEY, PRIVATENUMBER_APP_SECRET,
    PRIVATENUMBER_AUTH_SCHEME, PRIVATENUMBER_TIMEOUT
    VOICECALL_BASE_URL, VOICECALL_APP_KEY, VOICECALL_APP_SECRET, VOICECALL_AUTH_SCHEME,
    VOICECALL_TIMEOUT

The secret never appears in ``repr()`` or ``str()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .auth import SCHEMES, Scheme
from .errors import ConfigError

PRIVATENUMBER_URL = "https://rtcpns.cn-north-1.myhuaweicloud.com"
VOICECALL_URL = "https://rtccall.cn-north-1.myhuaweicloud.cn:443"
DEFAULT_TIMEOUT = 10.0
PREFIXES = {"privatenumber": "PRIVATENUMBER_", "voicecall": "VOICECALL_"}


@dataclass(frozen=True)
class Settings:
    """Where and as whom to call the platform. Build it with :meth:`load`."""

    base_url: str
    app_key: str
    app_secret: str = field(repr=False)
    auth_scheme: Scheme = "aksk"
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"base_url must start with http:// or https://, not {self.base_url!r}"
            )
        if not self.app_key:
            raise ConfigError("app_key is empty")
        if not self.app_secret:
            raise ConfigError("app_secret is empty")
        if self.auth_scheme not in SCHEMES:
            raise ConfigError(f"auth_scheme must be one of {SCHEMES}, not {self.auth_scheme!r}")
        if not self.timeout > 0:
            raise ConfigError(f"timeout must be a positive number of seconds, not {self.timeout!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def __str__(self) -> str:
        return f"{self.base_url} as {self.app_key} ({self.auth_scheme})"

    @classmethod
    def load(
        cls,
        *,
        base_url: str | None = None,
        app_key: str | None = None,
        app_secret: str | None = None,
        auth_scheme: str | None = None,
        timeout: float | None = None,
        product: str = "privatenumber",
        environ: Mapping[str, str] | None = None,
        env_file: str | os.PathLike[str] | None = ".env",
    ) -> Settings:
        """Resolve settings from arguments, then ``environ`` (default: ``os.environ``), then a file.

        ``base_url`` falls back to the product's public address; key and secret have no default,
        and a :class:`ConfigError` says which variable to set.
        """
        if product not in PREFIXES:
            raise ConfigError(f"product must be one of {sorted(PREFIXES)}, not {product!r}")
        prefix = PREFIXES[product]
        sources = [os.environ if environ is None else environ, _read_env_file(env_file)]

        def pick(name: str, given: object) -> str | None:
            if given is not None:
                return str(given)
            return next((s[prefix + name] for s in sources if s.get(prefix + name)), None)

        key, secret = pick("APP_KEY", app_key), pick("APP_SECRET", app_secret)
        missing = [prefix + n for n, v in (("APP_KEY", key), ("APP_SECRET", secret)) if not v]
        if missing:
            raise ConfigError(
                f"set {' and '.join(missing)} (environment or .env), or pass them as arguments; "
                "to try the toolkit without an account, start an Emulator and use emulator.client()"
            )
        default_url = PRIVATENUMBER_URL if product == "privatenumber" else VOICECALL_URL
        raw_timeout = pick("TIMEOUT", timeout)
        try:
            seconds = float(raw_timeout) if raw_timeout is not None else DEFAULT_TIMEOUT
        except ValueError:
            raise ConfigError(f"{prefix}TIMEOUT must be a number, not {raw_timeout!r}") from None
        return cls(
            base_url=pick("BASE_URL", base_url) or default_url,
            app_key=key,  # type: ignore[arg-type]
            app_secret=secret,  # type: ignore[arg-type]
            auth_scheme=(pick("AUTH_SCHEME", auth_scheme) or "aksk").lower(),  # type: ignore[arg-type]
            timeout=seconds,
        )


def _read_env_file(path: str | os.PathLike[str] | None) -> dict[str, str]:
    if path is None or not Path(path).is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}
