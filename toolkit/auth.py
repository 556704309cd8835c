"""Sign requests and verify signed requests (the platform's UsernameToken headers).

Two generations are in use:

* ``aksk`` (current): ``Authorization: AKSK realm="SDP",profile="UsernameToken",type="Appkey"``
  plus ``X-AKSK``; digest = Base64(HMAC-SHA256(key=APP_Secret, msg=Nonce + Created)).
* ``wsse`` (legacy): ``WSSE ...`` plus ``X-WSSE``;
  digest = Base64(SHA256(Nonce + Created + APP_Secret)).

VoiceCall pushes may instead sign the push URL too (VoiceCall §2.4, :func:`push_digest`).

:class:`UsernameTokenAuth` signs every request a ``requests`` session sends. :func:`verify`
checks the other direction (the emulator checks clients, the receiver checks pushes) and names
the documented reason and result code when a request is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal
from urllib.parse import urlsplit

import requests

from .errors import ConfigError, ValidationError

Scheme = Literal["aksk", "wsse"]
SCHEMES: tuple[Scheme, ...] = ("aksk", "wsse")
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_WINDOW = 300.0

_TOKEN_HEADER = {"aksk": "X-AKSK", "wsse": "X-WSSE"}
_ATTR = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_NONCE = re.compile(r"[0-9A-Za-z]{1,128}")
_BEIJING_OFFSET = 8 * 3600
_WSGI_NAMES = {
    "Authorization": "HTTP_AUTHORIZATION",
    "X-AKSK": "HTTP_X_AKSK",
    "X-WSSE": "HTTP_X_WSSE",
}


def password_digest(app_secret: str, nonce: str, created: str, scheme: Scheme = "aksk") -> str:
    """Compute the ``PasswordDigest`` attribute for one nonce and timestamp."""
    if scheme == "aksk":
        raw = hmac.new(app_secret.encode(), (nonce + created).encode(), hashlib.sha256).digest()
    elif scheme == "wsse":
        raw = hashlib.sha256((nonce + created + app_secret).encode()).digest()
    else:
        raise ValidationError("scheme", f"must be one of {SCHEMES}, not {scheme!r}")
    return base64.b64encode(raw).decode()


def push_digest(
    app_secret: str, url: str, nonce: str, created: str, *, separator: str = "\n"
) -> str:
    """The VoiceCall push digest (VoiceCall §2.4), which also covers the push URL.

    Base64(HMAC-SHA256(APP_Secret, url + separator + Nonce + separator + Created)); the 2026
    revision of the spec separates with ``"\n"``, an older one with nothing.
    """
    message = separator.join((url, nonce, created))
    raw = hmac.new(app_secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(raw).decode()


def new_nonce() -> str:
    """A fresh 32-character nonce of letters and digits from a secure RNG."""
    return secrets.token_hex(16).upper()


def format_created(when: float | None = None) -> str:
    """Format epoch seconds (default: now) as the ``Created`` attribute, in UTC."""
    return time.strftime(CREATED_FORMAT, time.gmtime(time.time() if when is None else when))


def sign_headers(
    app_key: str,
    app_secret: str,
    scheme: Scheme = "aksk",
    *,
    nonce: str | None = None,
    created: str | None = None,
) -> dict[str, str]:
    """Return the ``Authorization`` and ``X-AKSK``/``X-WSSE`` headers for one request."""
    nonce = nonce or new_nonce()
    created = created or format_created()
    digest = password_digest(app_secret, nonce, created, scheme)
    return _signed_headers(scheme, app_key, digest, nonce, created)


def _signed_headers(
    scheme: Scheme, app_key: str, digest: str, nonce: str, created: str
) -> dict[str, str]:
    return {
        "Authorization": f'{scheme.upper()} realm="SDP",profile="UsernameToken",type="Appkey"',
        _TOKEN_HEADER[scheme]: (
            f'UsernameToken Username="{app_key}",PasswordDigest="{digest}",'
            f'Nonce="{nonce}",Created="{created}"'
        ),
    }


def sign_push_headers(
    app_key: str,
    app_secret: str,
    url: str,
    *,
    nonce: str | None = None,
    created: str | None = None,
) -> dict[str, str]:
    """The ``Authorization`` and ``X-AKSK`` headers of a VoiceCall push to ``url`` (§2.4 style)."""
    nonce = nonce or new_nonce()
    created = created or format_created()
    digest = push_digest(app_secret, url, nonce, created)
    return _signed_headers("aksk", app_key, digest, nonce, created)


# The key goes inside a quoted header attribute (Username="..."): visible ASCII, no quote or
# backslash, so it can neither break the header nor fail to encode.
_APP_KEY = re.compile(r"[!#-\[\]-~]+")


def check_app_secret(value: object, name: str = "app_secret") -> str:
    """A non-empty APP_Secret without whitespace or control characters.

    A stray newline or space (copied along with the secret) would only show as a wrong digest,
    a 401 from the platform; refused here, with the setting named and the secret never shown.
    """
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, not a {type(value).__name__}", name)
    if not value:
        raise ConfigError(f"{name} is empty", name)
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ConfigError(
            f"{name} holds whitespace or control characters (a newline or space copied along "
            "with it?); the secret is not shown",
            name,
        )
    return value


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


class UsernameTokenAuth(requests.auth.AuthBase):
    """A ``requests`` auth object that signs each request with a fresh nonce and timestamp.

    With ``origin`` (a URL such as the platform's base URL), it signs only requests to that
    scheme, host and port and raises :class:`requests.exceptions.InvalidURL` for any other, so
    the token can never be handed to another host, whatever builds the request.
    """

    def __init__(
        self, app_key: str, app_secret: str, scheme: Scheme = "aksk", *, origin: str | None = None
    ) -> None:
        if scheme not in SCHEMES:
            raise ValidationError("scheme", f"must be one of {SCHEMES}, not {scheme!r}")
        # Checked here, not when a header is built: a newline in the key would make requests
        # raise a ValueError quoting the whole signing header.
        check_app_key(app_key)
        check_app_secret(app_secret)
        self.app_key = app_key
        self._app_secret = app_secret
        self.scheme: Scheme = scheme
        self.origin = None if origin is None else url_origin(origin)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.origin is not None:
            target = url_origin(r.url or "")
            if target != self.origin:
                raise requests.exceptions.InvalidURL(
                    f"refusing to sign a request for {_show(target)}: "
                    f"the app key is bound to {_show(self.origin)}"
                )
        r.headers.update(sign_headers(self.app_key, self._app_secret, self.scheme))
        return r

    def __repr__(self) -> str:
        bound = "" if self.origin is None else f", origin={_show(self.origin)!r}"
        return f"UsernameTokenAuth(app_key={self.app_key!r}, scheme={self.scheme!r}{bound})"


_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL, lower-cased and with the scheme's default port filled in.

    Two URLs may share credentials only when their origins are equal. A malformed port gives
    ``None``, which matches no well-formed origin.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def _show(origin: tuple[str, str, int | None]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`.

    ``ok`` is true for a valid request. Otherwise ``reason`` is a short machine-readable reason,
    ``resultcode``/``status`` are what the platform answers for it and ``message`` says it in words.
    A valid request also names its ``nonce`` and when that nonce's window ends (``expires_at``,
    epoch seconds): a replay must be refused until then.
    """

    ok: bool
    reason: str = ""
    resultcode: str = "0"
    status: int = 200
    message: str = "Success."
    app_key: str | None = None
    scheme: Scheme | None = None
    nonce: str | None = None
    expires_at: float | None = None

    def __bool__(self) -> bool:
        return self.ok


def _fail(
    reason: str,
    code: str,
    status: int,
    message: str,
    *,
    app_key: str | None = None,
    scheme: Scheme | None = None,
) -> Verdict:
    return Verdict(False, reason, code, status, message, app_key=app_key, scheme=scheme)


# Per scheme: the code for a missing token header, then for each missing attribute.
_MISSING = {
    "aksk": (
        "1023033",
        {
            "Username": "1023034",
            "Nonce": "1023035",
            "Created": "1023036",
            "PasswordDigest": "1023037",
        },
    ),
    "wsse": (
        "1023026",
        {
            "Username": "1023027",
            "Nonce": "1023028",
            "Created": "1023029",
            "PasswordDigest": "1023030",
        },
    ),
}


class NonceCache:
    """Remembers nonces until their window ends, to refuse replays (in memory only).

    Thread-safe. A nonce is kept until ``expires_at`` (the end of the window of the ``Created``
    it came with); without one, for ``2 * window`` seconds, the longest a fresh header can live.
    """

    def __init__(self, window: float = DEFAULT_WINDOW) -> None:
        self.window = window
        self._until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def add(self, app_key: str, nonce: str, now: float, expires_at: float | None = None) -> bool:
        """Record a nonce; return False if it is already held (a replay)."""
        with self._lock:
            self._sweep(now)
            if (app_key, nonce) in self._until:
                return False
            until = now + 2 * self.window if expires_at is None else expires_at
            self._until[(app_key, nonce)] = until
            return True

    def seen(self, app_key: str, nonce: str, now: float) -> bool:
        """True if the nonce is held (seen before and its window not over); records nothing."""
        with self._lock:
            self._sweep(now)
            return (app_key, nonce) in self._until

    def _sweep(self, now: float) -> None:
        # caller holds the lock
        if now >= self._next_sweep:
            self._until = {k: t for k, t in self._until.items() if t >= now}
            self._next_sweep = now + self.window


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # plain dicts and WSGI-derived mappings are not case-insensitive
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def wsgi_headers(environ: Mapping[str, object]) -> dict[str, str]:
    """The signing headers of a WSGI request (``HTTP_AUTHORIZATION`` etc.), for :func:`verify`."""
    return {name: str(environ[key]) for name, key in _WSGI_NAMES.items() if key in environ}


def verify(
    headers: Mapping[str, str],
    secret_for: Callable[[str], str | None],
    *,
    now: Callable[[], float] = time.time,
    window: float = DEFAULT_WINDOW,
    nonces: NonceCache | None = None,
    utc_only: bool = False,
    urls: Sequence[str] = (),
) -> Verdict:
    """Check the signing headers of one request.

    ``secret_for`` maps an APP_Key to its APP_Secret (``None`` for unknown keys), ``now`` is the
    clock in epoch seconds and ``window`` the allowed distance of ``Created`` from it, either way.
    With a :class:`NonceCache`, a nonce seen before within its window is refused as a replay.

    ``Created`` is read as UTC or as Beijing time (the spec is unconfirmed, §2.2), which gives
    one header two windows 8 hours apart; ``utc_only=True`` reads it as UTC only, the documented
    format, so a header has one window (the receiver checks pushes so). With ``urls``, a
    VoiceCall push digest over one of those URLs (:func:`push_digest`) is accepted too.
    """
    authorization = _header(headers, "Authorization")
    if not authorization:
        return _fail(
            "missing-authorization",
            "1023006",
            400,
            "Authorization not contained in the HTTP header.",
        )
    word, _, rest = authorization.strip().partition(" ")
    scheme = word.lower()
    if scheme not in SCHEMES:
        return _fail("missing-scheme", "1023013", 400, "WSSE not contained in Authorization.")
    attrs = dict(_ATTR.findall(rest))
    # The old Java sample sends dsl="Appkey" instead of type="Appkey" and the old server took it;
    # we accept it too (tolerant choice for an unconfirmed detail).
    type_value = attrs.get("type", attrs.get("dsl"))
    if "realm" not in attrs:
        return _fail("missing-realm", "1023007", 400, "realm not contained in Authorization.")
    if "profile" not in attrs:
        return _fail("missing-profile", "1023008", 400, "profile not contained in Authorization.")
    if type_value is None:
        return _fail("missing-type", "1023012", 400, "type not contained in Authorization.")
    if attrs["realm"] != "SDP":
        return _fail(
            "bad-realm", "1023009", 400, "The value of realm in Authorization must be SDP."
        )
    if attrs["profile"] != "UsernameToken":
        return _fail(
            "bad-profile",
            "1023010",
            400,
            "The value of profile in Authorization must be UsernameToken.",
        )
    if type_value != "Appkey":
        return _fail(
            "bad-type", "1023011", 400, "The value of type in Authorization must be app_key."
        )

    header_name = _TOKEN_HEADER[scheme]
    missing_header, missing_attr = _MISSING[scheme]
    token = _header(headers, header_name)
    if not token:
        return _fail(
            "missing-token",
            missing_header,
            400,
            f"HTTP header not found {header_name} field.",
            scheme=scheme,
        )
    fields = dict(_ATTR.findall(token))
    for attr, code in missing_attr.items():
        if not fields.get(attr):
            return _fail(
                "missing-attribute",
                code,
                400,
                f"{attr} not contained in {header_name}.",
                scheme=scheme,
            )
    app_key, nonce, created = fields["Username"], fields["Nonce"], fields["Created"]
    try:
        created_at = datetime.strptime(created, CREATED_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return _fail(
            "bad-created",
            "1023031",
            400,
            "The format of Created is invalid.",
            app_key=app_key,
            scheme=scheme,
        )
    if not _NONCE.fullmatch(nonce):
        return _fail(
            "bad-nonce", "1010002", 400, "Invalid request.Nonce", app_key=app_key, scheme=scheme
        )
    secret = secret_for(app_key)
    if secret is None:
        return _fail(
            "unknown-app-key", "1010003", 403, "Invalid app_key.", app_key=app_key, scheme=scheme
        )
    expected = [password_digest(secret, nonce, created, scheme)]
    if scheme == "aksk":
        # VoiceCall §2.4 (unconfirmed): the push digest covers the push URL, joined with "\n" in
        # the 2026 revision and with nothing in an older one. We accept either, for any of the
        # URLs the caller thinks the platform signed, as well as the plain §2.1 digest.
        expected += [
            push_digest(secret, u, nonce, created, separator=s) for u in urls for s in ("\n", "")
        ]
    given = fields["PasswordDigest"].encode()
    # compare_digest against every candidate (no early exit), so timing tells nothing
    matches = [hmac.compare_digest(e.encode(), given) for e in expected]
    if not any(matches):
        return _fail(
            "bad-digest", "1010010", 401, "Invalid digest.", app_key=app_key, scheme=scheme
        )
    clock = now()
    created_epoch = created_at.timestamp()
    # Whether Created is UTC or Beijing time is unconfirmed (VoiceCall §2.2). The tolerant
    # reading accepts a Created within the window read either way (we sign with UTC ourselves);
    # utc_only keeps to the documented "Z", so a header is valid in one window only.
    readings = (0.0,) if utc_only else (0.0, _BEIJING_OFFSET)
    fresh = [
        created_epoch - offset
        for offset in readings
        if abs(created_epoch - offset - clock) <= window
    ]
    if not fresh:
        return _fail(
            "stale-created", "1010013", 401, "Time out limit.", app_key=app_key, scheme=scheme
        )
    expires_at = max(fresh) + window  # the end of the window this header was accepted in
    if nonces is not None and not nonces.add(app_key, nonce, clock, expires_at):
        return _fail(
            "replayed-nonce",
            "1010010",
            401,
            "Invalid digest. (nonce replayed)",
            app_key=app_key,
            scheme=scheme,
        )
    return Verdict(
        True,
        app_key=app_key,
        scheme=scheme,
        nonce=nonce,
        expires_at=expires_at,
    )
