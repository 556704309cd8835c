"""Misconfiguration hints that say what to fix.

A base URL holding an API path, a server that is not the platform, whitespace in a key or
secret, 1010010 told apart by its HTTP status, and a stop_call on an unknown session: each gives
an error that names the setting or field to fix.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses
from wire_helpers import BASE, KEY, SECRET

from toolkit import PrivateNumberClient, Settings, VoiceClient
from toolkit.auth import UsernameTokenAuth
from toolkit.codes import result_hint
from toolkit.emulator import Emulator
from toolkit.errors import ApiError, AuthError, ConfigError, ResponseError, ThrottledError
from toolkit.receiver import Receiver

AXB = "/rest/caas/relationnumber/partners/v1.0"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# -- a base URL with an API path ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://rtcpns.cn-north-1.myhuaweicloud.com/rest",
        "https://rtcpns.cn-north-1.myhuaweicloud.com/rest/",
        "https://platform.test:443/rest/caas/relationnumber/partners/v1.0",
        "https://platform.test/prefix/REST/httpsessions",
    ],
)
def test_a_base_url_with_an_api_path_says_to_give_the_host_only(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(url, KEY, SECRET)
    assert caught.value.setting == "base_url"
    assert "scheme://host[:port]" in str(caught.value) and "/rest" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        Settings.load(app_key=KEY, app_secret=SECRET, environ={"PRIVATENUMBER_BASE_URL": url})
    assert caught.value.setting == "PRIVATENUMBER_BASE_URL"


def test_a_proxy_prefix_is_still_a_base_url() -> None:
    # Only the platform's own /rest paths are refused; a prefix a proxy serves it under is kept.
    assert Settings("https://gw.test/pns/", KEY, SECRET).base_url == "https://gw.test/pns"
    assert (
        Settings("https://gw.test/restricted", KEY, SECRET).base_url == "https://gw.test/restricted"
    )


# -- a server that is not the platform ---------------------------------------------------------


def test_pointing_the_client_at_a_receiver_says_the_answer_is_not_the_platforms() -> None:
    # A real loopback server answering {"resultcode": "1", "error": ..., "reason": ...} with a
    # 4xx, as the push receiver does to anything that is not a push. It read
    # "1: no description (HTTP 415)" before.
    with (
        Receiver(allow_unsigned=True) as rx,
        PrivateNumberClient(base_url=rx.url, app_key=KEY, app_secret=SECRET) as client,
        pytest.raises(ResponseError) as caught,
    ):
        client.axb.bind("13800138000", "13900139000")
    message = str(caught.value)
    assert "not the platform's" in message and "base_url" in message
    assert "no description" not in message and caught.value.status >= 400


def test_an_unknown_code_with_a_description_is_still_the_platforms(
    rsps: responses.RequestsMock,
) -> None:
    client = PrivateNumberClient(base_url=BASE, app_key=KEY, app_secret=SECRET)
    rsps.add("POST", BASE + AXB, status=400, json={"resultcode": "1999999", "resultdesc": "New"})
    with pytest.raises(ApiError) as caught:
        client.axb.bind("13800138000", "13900139000")
    assert str(caught.value).startswith("1999999: New (HTTP 400)")
    # A known code without a description is the platform's too.
    rsps.replace("POST", BASE + AXB, status=403, json={"resultcode": "1012010"})
    with pytest.raises(ApiError) as caught:
        client.axb.bind("13800138000", "13900139000")
    assert caught.value.resultcode == "1012010"


# -- whitespace or control characters in a key or secret ----------------------------------------


@pytest.mark.parametrize(
    ("field", "key", "secret"),
    [
        ("app_key", KEY + "\n", SECRET),
        ("app_key", " " + KEY, SECRET),
        ("app_key", KEY + "\x00", SECRET),
        ("app_secret", KEY, SECRET + "\n"),
        ("app_secret", KEY, SECRET + " "),
        ("app_secret", KEY, "\t" + SECRET),
        ("app_secret", KEY, SECRET[:4] + "\x7f" + SECRET[4:]),
    ],
)
def test_whitespace_in_a_key_or_secret_names_the_field_and_shows_nothing(
    field: str, key: str, secret: str
) -> None:
    for make in (
        lambda: PrivateNumberClient(base_url=BASE, app_key=key, app_secret=secret),
        lambda: VoiceClient(base_url=BASE, app_key=key, app_secret=secret),
        lambda: UsernameTokenAuth(key, secret),
    ):
        with pytest.raises(ConfigError) as caught:
            make()
        message = str(caught.value)
        assert caught.value.setting == field
        assert SECRET not in message and "UsernameToken" not in message
        assert "Authorization" not in message and "PasswordDigest" not in message


def test_whitespace_in_the_secret_variable_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(environ={"PRIVATENUMBER_APP_KEY": KEY, "PRIVATENUMBER_APP_SECRET": "s3\n"})
    assert caught.value.setting == "PRIVATENUMBER_APP_SECRET" and "s3" not in str(caught.value)


def test_a_signing_auth_with_a_newline_in_the_key_never_reaches_requests() -> None:
    # Before, requests raised ValueError("Invalid ... header value: b'UsernameToken Username=...")
    # at send time, the whole signing header in the message.
    with pytest.raises(ConfigError):
        requests.Request("POST", BASE, auth=UsernameTokenAuth("key\n", SECRET)).prepare()


# -- 1010010 by HTTP status ---------------------------------------------------------------------


def test_1010010_hint_follows_the_http_status(rsps: responses.RequestsMock) -> None:
    client = PrivateNumberClient(base_url=BASE, app_key=KEY, app_secret=SECRET)
    rsps.add("POST", BASE + AXB, status=401, json={"resultcode": "1010010", "resultdesc": "Bad"})
    with pytest.raises(AuthError) as caught:
        client.axb.bind("13800138000", "13900139000")
    assert "thrott" not in str(caught.value).lower() and "digest" in caught.value.hint  # type: ignore[operator]
    rsps.replace("POST", BASE + AXB, status=403, json={"resultcode": "1010010", "resultdesc": "FC"})
    with pytest.raises(ThrottledError) as caught:
        client.axb.bind("13800138000", "13900139000")
    assert "thrott" in str(caught.value).lower() and "digest" not in str(caught.value).lower()
    # Without a status, the table's hint still names both readings.
    assert "401" in (result_hint("1010010") or "")


# -- stop_call names the session id -------------------------------------------------------------


def test_stop_call_of_an_unknown_session_names_the_session_id() -> None:
    emu = Emulator("voice", time_scale=0)
    try:
        with pytest.raises(ApiError) as caught:
            emu.voice_client().stop_call("no-such-session")
        assert caught.value.resultcode == "1012007"
        hint = caught.value.hint or ""
        assert "session_id" in hint and "subscriptionId" not in hint
        assert "recording" not in str(caught.value)
    finally:
        emu.stop()
