"""Signing and verification of requests and pushes (toolkit.auth).

Digests are recomputed here with hmac/hashlib from fixed inputs rather than trusted from
toolkit.auth, so a wrong algorithm in the library cannot also be wrong in its test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Any

import pytest

from toolkit.auth import (
    NonceCache,
    UsernameTokenAuth,
    format_created,
    password_digest,
    sign_headers,
    verify,
)

# The worked example of voicecall-api.md §2.1.
SPEC_SECRET = "ExampleAppSecret0123"
SPEC_NONCE = "66C92B11FF8A425FB8D4CCFE0ED9ED1F"
SPEC_CREATED = "2018-02-12T15:30:20Z"
SPEC_DIGEST = "Kby2EU5Z9qObJWCeVx2bRxBphGNvRucNv1L0Fi/dhek="
CREATED_EPOCH = datetime(2018, 2, 12, 15, 30, 20, tzinfo=timezone.utc).timestamp()

KEY, SECRET = "app-key-1", "s3cret-value"


def hmac_digest(secret: str, nonce: str, created: str) -> str:
    mac = hmac.new(secret.encode(), (nonce + created).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def sha_digest(secret: str, nonce: str, created: str) -> str:
    return base64.b64encode(hashlib.sha256((nonce + created + secret).encode()).digest()).decode()


# -- signing ----------------------------------------------------------------------------------


def test_spec_test_vector() -> None:
    assert hmac_digest(SPEC_SECRET, SPEC_NONCE, SPEC_CREATED) == SPEC_DIGEST  # the test's own
    assert password_digest(SPEC_SECRET, SPEC_NONCE, SPEC_CREATED, "aksk") == SPEC_DIGEST


@pytest.mark.parametrize(("scheme", "reference"), [("aksk", hmac_digest), ("wsse", sha_digest)])
@pytest.mark.parametrize("nonce", ["a", "0123456789abcdefABCDEF", "N" * 128])
def test_digest_matches_independent_computation(scheme: Any, reference: Any, nonce: str) -> None:
    created = "2024-06-01T08:00:00Z"
    assert password_digest(SECRET, nonce, created, scheme) == reference(SECRET, nonce, created)


def test_schemes_differ_and_unknown_scheme_is_refused() -> None:
    args = (SECRET, SPEC_NONCE, SPEC_CREATED)
    assert password_digest(*args, "aksk") != password_digest(*args, "wsse")
    with pytest.raises(ValueError, match="scheme"):
        password_digest(*args, "md5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scheme"):
        UsernameTokenAuth(KEY, SECRET, "basic")  # type: ignore[arg-type]


def test_sign_headers_exact_format() -> None:
    headers = sign_headers(KEY, SPEC_SECRET, "aksk", nonce=SPEC_NONCE, created=SPEC_CREATED)
    assert headers == {
        "Authorization": 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"',
        "X-AKSK": f'UsernameToken Username="{KEY}",PasswordDigest="{SPEC_DIGEST}",'
        f'Nonce="{SPEC_NONCE}",Created="{SPEC_CREATED}"',
    }
    legacy = sign_headers(KEY, SECRET, "wsse", nonce="abc", created=SPEC_CREATED)
    assert legacy["Authorization"] == 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'
    assert f'PasswordDigest="{sha_digest(SECRET, "abc", SPEC_CREATED)}"' in legacy["X-WSSE"]


def test_created_is_utc_without_fraction() -> None:
    assert format_created(CREATED_EPOCH) == SPEC_CREATED
    assert format_created(CREATED_EPOCH + 0.9) == SPEC_CREATED


def test_fresh_nonces_are_letters_and_digits() -> None:
    nonces = {sign_headers(KEY, SECRET)["X-AKSK"].split('Nonce="')[1][:32] for _ in range(20)}
    assert len(nonces) == 20 and all(n.isalnum() for n in nonces)


def test_auth_repr_hides_secret() -> None:
    auth = UsernameTokenAuth(KEY, SECRET)
    assert SECRET not in repr(auth) and KEY in repr(auth)


# -- verification -----------------------------------------------------------------------------


def signed(scheme: Any = "aksk", **overrides: str) -> dict[str, str]:
    nonce = overrides.get("nonce", SPEC_NONCE)
    return sign_headers(
        KEY, SECRET, scheme, nonce=nonce, created=overrides.get("created", SPEC_CREATED)
    )


def check(headers: dict[str, str], *, now: float = CREATED_EPOCH, **kw: Any) -> Any:
    return verify(headers, {KEY: SECRET}.get, now=lambda: now, **kw)


@pytest.mark.parametrize("scheme", ["aksk", "wsse"])
def test_valid_request_passes(scheme: str) -> None:
    verdict = check(signed(scheme))
    assert verdict.ok and bool(verdict)
    assert (verdict.app_key, verdict.scheme, verdict.resultcode) == (KEY, scheme, "0")


def test_lowercase_header_names_and_spaced_attributes_are_accepted() -> None:
    headers = {k.lower(): v.replace(",", ", ") for k, v in signed().items()}
    assert check(headers).ok


def test_old_java_dsl_attribute_is_tolerated() -> None:
    headers = signed("wsse")
    headers["Authorization"] = 'WSSE realm="SDP", profile="UsernameToken", dsl="Appkey"'
    assert check(headers).ok


AUTHORIZATION_FAILURES = [
    (None, "missing-authorization", "1023006"),
    ('Basic realm="SDP",profile="UsernameToken",type="Appkey"', "missing-scheme", "1023013"),
    ('AKSK profile="UsernameToken",type="Appkey"', "missing-realm", "1023007"),
    ('AKSK realm="SDP",type="Appkey"', "missing-profile", "1023008"),
    ('AKSK realm="SDP",profile="UsernameToken"', "missing-type", "1023012"),
    ('AKSK realm="XYZ",profile="UsernameToken",type="Appkey"', "bad-realm", "1023009"),
    ('AKSK realm="SDP",profile="Token",type="Appkey"', "bad-profile", "1023010"),
    ('AKSK realm="SDP",profile="UsernameToken",type="AppKey"', "bad-type", "1023011"),
]


@pytest.mark.parametrize(("authorization", "reason", "code"), AUTHORIZATION_FAILURES)
def test_authorization_header_failures(authorization: str | None, reason: str, code: str) -> None:
    headers = signed()
    if authorization is None:
        del headers["Authorization"]
    else:
        headers["Authorization"] = authorization
    verdict = check(headers)
    assert not verdict.ok
    assert (verdict.reason, verdict.resultcode, verdict.status) == (reason, code, 400)


@pytest.mark.parametrize(
    ("scheme", "header", "missing_header_code", "attribute_codes"),
    [
        ("aksk", "X-AKSK", "1023033", ["1023034", "1023035", "1023036", "1023037"]),
        ("wsse", "X-WSSE", "1023026", ["1023027", "1023028", "1023029", "1023030"]),
    ],
)
def test_token_header_failures(
    scheme: str, header: str, missing_header_code: str, attribute_codes: list[str]
) -> None:
    headers = signed(scheme)
    token = headers.pop(header)
    verdict = check(headers)
    expected = ("missing-token", missing_header_code, scheme)
    assert (verdict.reason, verdict.resultcode, verdict.scheme) == expected
    for attr, code in zip(
        ["Username", "Nonce", "Created", "PasswordDigest"], attribute_codes, strict=True
    ):
        parts = [p for p in token.removeprefix("UsernameToken ").split(",") if attr + "=" not in p]
        verdict = check({**headers, header: "UsernameToken " + ",".join(parts)})
        expected = ("missing-attribute", code, 400)
        assert (verdict.reason, verdict.resultcode, verdict.status) == expected, attr


@pytest.mark.parametrize("scheme", ["aksk", "wsse"])
def test_bad_digest(scheme: str) -> None:
    headers = signed(scheme)
    verdict = verify(headers, {KEY: "other-secret"}.get, now=lambda: CREATED_EPOCH)
    assert (verdict.reason, verdict.resultcode, verdict.status) == ("bad-digest", "1010010", 401)
    # A digest computed with the other scheme's algorithm is refused as well.
    other = "wsse" if scheme == "aksk" else "aksk"
    header = "X-AKSK" if scheme == "aksk" else "X-WSSE"
    wrong = password_digest(SECRET, SPEC_NONCE, SPEC_CREATED, other)  # type: ignore[arg-type]
    right = password_digest(SECRET, SPEC_NONCE, SPEC_CREATED, scheme)  # type: ignore[arg-type]
    headers[header] = headers[header].replace(right, wrong)
    assert check(headers).reason == "bad-digest"


def test_unknown_app_key() -> None:
    verdict = verify(signed(), {"someone-else": SECRET}.get, now=lambda: CREATED_EPOCH)
    assert (verdict.reason, verdict.resultcode, verdict.status) == (
        "unknown-app-key",
        "1010003",
        403,
    )


@pytest.mark.parametrize(
    "created", ["2018-02-12 15:30:20", "2018-02-12T15:30:20.123Z", "yesterday"]
)
def test_malformed_created(created: str) -> None:
    verdict = check(signed(created=created))
    assert (verdict.reason, verdict.resultcode) == ("bad-created", "1023031")


def test_malformed_nonce() -> None:
    assert check(signed(nonce="abc-def")).reason == "bad-nonce"


@pytest.mark.parametrize("skew", [-301, 301, -3600, 86400])
def test_stale_created(skew: float) -> None:
    verdict = check(signed(), now=CREATED_EPOCH - skew)
    assert (verdict.reason, verdict.resultcode, verdict.status) == ("stale-created", "1010013", 401)


@pytest.mark.parametrize("skew", [0, 299, -299])
def test_created_within_window(skew: float) -> None:
    assert check(signed(), now=CREATED_EPOCH - skew).ok


def test_window_is_configurable() -> None:
    assert not check(signed(), now=CREATED_EPOCH + 61, window=60).ok
    assert check(signed(), now=CREATED_EPOCH + 59, window=60).ok


def test_created_in_beijing_time_is_tolerated() -> None:
    # A client that writes Beijing local time with a "Z" looks 8 h ahead (spec §2.2, unconfirmed).
    assert check(signed(), now=CREATED_EPOCH - 8 * 3600).ok


def test_replayed_nonce() -> None:
    cache = NonceCache()
    assert check(signed(), nonces=cache).ok
    verdict = check(signed(), nonces=cache, now=CREATED_EPOCH + 1)
    assert (verdict.reason, verdict.resultcode, verdict.status) == (
        "replayed-nonce",
        "1010010",
        401,
    )
    assert check(signed(nonce="OtherNonce1"), nonces=cache).ok


def test_nonce_cache_forgets_after_the_window() -> None:
    cache = NonceCache(window=10)
    assert cache.add(KEY, "n", 0)
    assert not cache.add(KEY, "n", 5)
    assert cache.add("other-key", "n", 5)  # nonces are per app
    assert cache.add(KEY, "n", 100)


def test_wsgi_headers_picks_the_signing_headers_only() -> None:
    from toolkit.auth import wsgi_headers

    environ = {
        "HTTP_AUTHORIZATION": 'AKSK realm="SDP"',
        "HTTP_X_AKSK": 'UsernameToken Username="k"',
        "HTTP_HOST": "example",
        "REQUEST_METHOD": "POST",
    }
    assert wsgi_headers(environ) == {
        "Authorization": 'AKSK realm="SDP"',
        "X-AKSK": 'UsernameToken Username="k"',
    }
    assert wsgi_headers({}) == {}
