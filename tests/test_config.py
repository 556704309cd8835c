"""Settings (toolkit.config): precedence of arguments, environment and .env file; checks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from toolkit.config import PRIVATENUMBER_URL, VOICECALL_URL, Settings
from toolkit.errors import ConfigError


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
