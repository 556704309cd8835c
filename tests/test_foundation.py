"""Unit tests of the foundation modules: signing and verification, numbers, settings, errors.

Digests are recomputed here with hmac/hashlib from fixed inputs rather than trusted from
toolkit.auth, so a wrong algorithm in the library cannot also be wrong in its test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from datetime import datetime, timezone
from pathlib import Path
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
from toolkit.config import PRIVATENUMBER_URL, VOICECALL_URL, Settings
from toolkit.errors import (
    AlreadyBoundError,
    ApiError,
    AuthError,
    ConfigError,
    InvalidNumberError,
    NoFreeNumberError,
    NotFoundError,
    ThrottledError,
    ValidationError,
    api_error,
)
from toolkit.numbers import is_valid, kind, mask, normalize

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


# -- numbers ----------------------------------------------------------------------------------

VALID_NUMBERS = [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("+86 138-0013-8000", "+8613800138000"),
    ("0086 13800138000", "+8613800138000"),
    ("(+86) 138.0013.8000", "+8613800138000"),
    ("  19912345678 ", "+8619912345678"),
    ("0755-28000001", "+8675528000001"),
    ("075528000001", "+8675528000001"),
    ("755 2800 0001", "+8675528000001"),
    ("+86 0755 28000001", "+8675528000001"),
    ("010-88880000", "+861088880000"),
    ("021-6888000", "+86216888000"),
    ("+14155550123", "+14155550123"),
    ("+44 20 7946 0000", "+442079460000"),
]


@pytest.mark.parametrize(("raw", "expected"), VALID_NUMBERS)
def test_normalize_valid(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
    assert normalize(expected) == expected  # idempotent
    assert is_valid(raw)


INVALID_NUMBERS = [
    ("1380013800", "11 digits"),  # 10-digit mobile
    ("138001380001", "11 digits"),
    ("12800138000", "13-19"),
    ("0755-280001", "area code"),  # local part too short
    ("abc", "digits"),
    ("138-0013-800O", "digits"),  # letter O
    ("+86abc", "only digits"),
    ("+", "only digits"),
    ("", "digits"),
    ("+0123456", "international"),
    ("+1234567890123456", "international"),  # 16 digits
    ("4001234567", "400 and 95"),
    ("95588", "400 and 95"),
]


@pytest.mark.parametrize(("raw", "rule"), INVALID_NUMBERS)
def test_normalize_invalid(raw: str, rule: str) -> None:
    with pytest.raises(InvalidNumberError, match=rule) as caught:
        normalize(raw, param="callee_num")
    err = caught.value
    assert isinstance(err, ValueError) and isinstance(err, ValidationError)
    assert err.param == "callee_num" and err.value == raw
    assert str(err).startswith("callee_num: ")
    assert not is_valid(raw)


@pytest.mark.parametrize("raw", [None, 13800138000, 1.5, b"13800138000"])
def test_normalize_non_strings(raw: object) -> None:
    with pytest.raises(InvalidNumberError, match="expected a string"):
        normalize(raw)


def test_service_numbers_only_when_allowed() -> None:
    assert normalize("400-123-4567", allow_service=True) == "+864001234567"
    assert normalize("95588", allow_service=True) == "+8695588"


def test_default_country() -> None:
    assert normalize("020 7946 0000", default_country="44") == "+442079460000"


@pytest.mark.parametrize(
    ("number", "expected"),
    [("+8613800138000", "mobile"), ("+8675528000001", "fixed"), ("+864001234567", "service"),
     ("+8695588", "service"), ("+14155550123", "international")],
)  # fmt: skip
def test_kind(number: str, expected: str) -> None:
    assert kind(number) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+8613800138000", "+86138****8000"),
        ("+8675528000001", "+86755****0001"),
        ("+861088880000", "+86108***0000"),
        ("13800138000", "138****8000"),
        ("+14155550123", "+141****0123"),
        ("95588", "***88"),
        ("1234", "****"),
        ("", ""),
        (None, ""),
        (math.nan, ""),
        (13800138000, "138****8000"),
    ],
)
def test_mask(value: object, expected: str) -> None:
    assert mask(value) == expected


# -- settings ---------------------------------------------------------------------------------


def write_env(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def test_precedence_arguments_then_environment_then_env_file(tmp_path: Path) -> None:
    env_file = write_env(
        tmp_path, PRIVATENUMBER_APP_KEY="file-key", PRIVATENUMBER_APP_SECRET="file-secret",
        PRIVATENUMBER_BASE_URL="https://file.test", PRIVATENUMBER_TIMEOUT="7",
    )  # fmt: skip
    environ = {"PRIVATENUMBER_APP_KEY": "env-key", "PRIVATENUMBER_BASE_URL": "https://env.test/"}
    s = Settings.load(app_key="arg-key", environ=environ, env_file=env_file)
    assert s.app_key == "arg-key"  # argument beats environment and file
    assert s.base_url == "https://env.test"  # environment beats file; trailing / dropped
    assert s.app_secret == "file-secret" and s.timeout == 7.0  # file fills the rest
    assert s.auth_scheme == "aksk"
    s2 = Settings.load(environ=environ, env_file=env_file)
    assert s2.app_key == "env-key"
    s3 = Settings.load(environ={}, env_file=env_file)
    assert (s3.app_key, s3.base_url) == ("file-key", "https://file.test")


def test_products_read_their_own_variables(tmp_path: Path) -> None:
    environ = {"VOICECALL_APP_KEY": "vk", "VOICECALL_APP_SECRET": "vs",
               "PRIVATENUMBER_APP_KEY": "pk", "PRIVATENUMBER_APP_SECRET": "ps"}  # fmt: skip
    voice = Settings.load(product="voicecall", environ=environ, env_file=None)
    pn = Settings.load(environ=environ, env_file=None)
    assert (voice.app_key, voice.base_url) == ("vk", VOICECALL_URL.rstrip("/"))
    assert (pn.app_key, pn.base_url) == ("pk", PRIVATENUMBER_URL)


def test_missing_keys_name_the_variables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PRIVATENUMBER_APP_KEY and PRIVATENUMBER_APP_SECRET"):
        Settings.load(environ={}, env_file=tmp_path / "absent.env")
    with pytest.raises(ConfigError, match="VOICECALL_APP_SECRET"):
        Settings.load(product="voicecall", app_key="k", environ={}, env_file=None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"base_url": "ftp://x"}, "base_url"), ({"auth_scheme": "basic"}, "auth_scheme"),
     ({"timeout": 0}, "timeout"), ({"product": "sms"}, "product")],
)  # fmt: skip
def test_malformed_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(app_key="k", app_secret="s", environ={}, env_file=None, **kwargs)


def test_auth_scheme_is_case_insensitive_and_timeout_must_be_a_number() -> None:
    environ = {"PRIVATENUMBER_AUTH_SCHEME": "WSSE", "PRIVATENUMBER_TIMEOUT": "soon"}
    with pytest.raises(ConfigError, match="TIMEOUT"):
        Settings.load(app_key="k", app_secret="s", environ=environ, env_file=None)
    s = Settings.load(app_key="k", app_secret="s", timeout=2, environ=environ, env_file=None)
    assert s.auth_scheme == "wsse"


BAD_TIMEOUTS = [math.inf, "inf", math.nan, "nan", 0, "0", -1, "-1", "abc", "", True, 1e300, 3601]


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
def test_timeout_is_checked_when_settings_load(value: Any, tmp_path: Path) -> None:
    # inf used to be accepted, and then every call raised OverflowError.
    def refused(**kwargs: Any) -> ConfigError:
        kwargs = {"app_key": "k", "app_secret": "s", "environ": {}, "env_file": None, **kwargs}
        with pytest.raises(ConfigError) as caught:
            Settings.load(**kwargs)
        return caught.value

    err = refused(timeout=value)
    assert err.setting == "timeout" and str(err).startswith("timeout must be")
    if value != "":  # an empty variable counts as unset
        err = refused(environ={"PRIVATENUMBER_TIMEOUT": str(value)})
        assert err.setting == "PRIVATENUMBER_TIMEOUT" and "PRIVATENUMBER_TIMEOUT" in str(err)
        err = refused(
            product="voicecall", env_file=write_env(tmp_path, VOICECALL_TIMEOUT=str(value))
        )
        assert err.setting == "VOICECALL_TIMEOUT"
    with pytest.raises(ConfigError, match="timeout"):
        Settings("https://platform.test", "k", "s", timeout=value)


def test_good_timeouts_and_limits() -> None:
    environ = {"PRIVATENUMBER_TIMEOUT": " 2.5 ", "PRIVATENUMBER_MAX_RESPONSE_BYTES": "4096"}
    s = Settings.load(app_key="k", app_secret="s", environ=environ, env_file=None)
    assert (s.timeout, s.max_response_bytes) == (2.5, 4096)
    s = Settings("https://platform.test", "k", "s", timeout=3, max_response_bytes=2048.0)  # type: ignore[arg-type]
    assert (s.timeout, s.max_response_bytes) == (3.0, 2048)
    assert isinstance(s.timeout, float) and isinstance(s.max_response_bytes, int)


@pytest.mark.parametrize("value", [0, 10, 1023, "1.5", "abc", True, 1.5, 2**31, -1])
def test_max_response_bytes_is_checked(value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(
            app_key="k", app_secret="s", max_response_bytes=value, environ={}, env_file=None
        )
    assert caught.value.setting == "max_response_bytes"
    environ = {"PRIVATENUMBER_MAX_RESPONSE_BYTES": str(value)}
    with pytest.raises(ConfigError) as caught:
        Settings.load(app_key="k", app_secret="s", environ=environ, env_file=None)
    assert caught.value.setting == "PRIVATENUMBER_MAX_RESPONSE_BYTES"


@pytest.mark.parametrize(
    "url",
    ["ftp://platform.test", "platform.test", "https://", "https:///path", "https://user:pw@host.test",
     "https://:pw@host.test", "https://host.test/?pw=1", "https://host.test#pw", "https://host.test:99999",
     "https://host.test:port", " https://host.test", "https://host .test", "https://host.test\n",
     "javascript:alert(1)//", 42],
)  # fmt: skip
def test_base_url_is_checked(url: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(base_url=url, app_key="k", app_secret="s", environ={}, env_file=None)
    assert caught.value.setting == "base_url" and "pw" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        Settings.load(app_key="k", app_secret="s", environ={"VOICECALL_BASE_URL": str(url)},
                      product="voicecall", env_file=None)  # fmt: skip
    assert caught.value.setting == "VOICECALL_BASE_URL"


def test_good_base_urls() -> None:
    for url, kept in [("https://host.test:8443/prefix/", "https://host.test:8443/prefix"),
                      ("HTTP://127.0.0.1:5000", "HTTP://127.0.0.1:5000"),
                      ("https://[::1]:8443", "https://[::1]:8443")]:  # fmt: skip
        assert Settings(url, "k", "s").base_url == kept


@pytest.mark.parametrize("key", ["", "a b", 'k"', "k\\", "ключ", "k\r\nX-Evil: 1", 7])
def test_app_key_is_checked(key: Any) -> None:
    # The key goes into a quoted header attribute: it must neither break it nor fail to encode.
    with pytest.raises(ConfigError) as caught:
        Settings("https://platform.test", key, "s")
    assert caught.value.setting == "app_key"
    with pytest.raises(ConfigError) as caught:
        Settings.load(app_key=key, app_secret="s", environ={}, env_file=None)
    # An empty argument counts as not given: the error then names the variable to set.
    assert caught.value.setting == ("PRIVATENUMBER_APP_KEY" if key == "" else "app_key")


def test_secret_never_shown(tmp_path: Path) -> None:
    secret = "TopSecretValue987"
    s = Settings.load(app_key="k", app_secret=secret, environ={}, env_file=None)
    assert secret not in repr(s) and secret not in str(s) and secret not in format(s)
    assert "k" in str(s)


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "product", "cls"),
    [
        ("1012010", 403, "privatenumber", AlreadyBoundError),
        ("1011005", 403, "privatenumber", AlreadyBoundError),
        ("1016002", None, "privatenumber", AlreadyBoundError),
        ("1012008", 403, "privatenumber", NoFreeNumberError),
        ("1011002", None, "privatenumber", NoFreeNumberError),
        ("1020167", 500, "privatenumber", NoFreeNumberError),
        ("1012007", 403, "privatenumber", NotFoundError),
        ("1016001", None, "voicecall", NotFoundError),
        ("1012001", 403, "privatenumber", NotFoundError),
        ("1012001", None, "voicecall", ApiError),  # a different meaning in VoiceCall
        ("1023006", 400, "privatenumber", AuthError),
        ("1023037", 400, "voicecall", AuthError),
        ("1010003", 403, "privatenumber", AuthError),
        ("1010013", 401, "voicecall", AuthError),
        ("1010010", 401, "privatenumber", AuthError),  # invalid digest
        ("1010010", None, "privatenumber", ThrottledError),  # flow control
        ("1013002", None, "voicecall", ThrottledError),
        ("1013002", None, "privatenumber", ApiError),
        ("1020165", None, "voicecall", ThrottledError),
        ("1099999", 401, "privatenumber", AuthError),  # any 401 is an auth failure
        ("1099999", 403, "privatenumber", ApiError),
    ],
)
def test_api_error_subclass(code: str, status: int | None, product: Any, cls: type) -> None:
    err = api_error(code, "desc", status, product=product)
    assert type(err) is cls
    assert (err.resultcode, err.resultdesc, err.status, err.product) == (
        code,
        "desc",
        status,
        product,
    )
    assert code in str(err)


def test_api_error_message_and_hint() -> None:
    err = api_error(1012010, "The relation number has been bound.", 403)
    assert err.resultcode == "1012010"  # numbers are kept as strings
    assert str(err).startswith("1012010: The relation number has been bound. (HTTP 403)")
    assert err.hint and str(err).endswith(err.hint)
    assert api_error("1099999").hint is None


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
