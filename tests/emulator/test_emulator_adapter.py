"""The in-process WSGI adapter passes every request body and header ``requests`` can send."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import requests

from toolkit.emulator.adapter import WSGIAdapter

BASE = "http://adapter.invalid"


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answer with the body and the X-Tag header the app received, as JSON."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    tag = environ.get("HTTP_X_TAG")
    answer = json.dumps({"body": body.decode("utf-8"), "tag": tag, "tag_type": type(tag).__name__})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [answer.encode("utf-8")]


def session() -> requests.Session:
    s = requests.Session()
    s.mount(BASE, WSGIAdapter(echo))
    return s


def test_bytes_and_text_bodies_arrive_whole() -> None:
    with session() as s:
        assert s.post(BASE + "/", data=b"raw bytes").json()["body"] == "raw bytes"
        assert s.post(BASE + "/", json={"k": "é"}).json()["body"] == '{"k": "\\u00e9"}'
        assert s.get(BASE + "/").json()["body"] == ""


def test_a_generator_body_arrives_whole() -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a": '
        yield b"1}"

    with session() as s:
        assert s.post(BASE + "/", data=chunks()).json()["body"] == '{"a": 1}'


def test_a_file_body_arrives_whole() -> None:
    with session() as s:
        assert s.post(BASE + "/", data=io.BytesIO(b"from a file")).json()["body"] == "from a file"


def test_a_bytes_header_value_reaches_the_app_as_text() -> None:
    with session() as s:
        got = s.get(BASE + "/", headers={"X-Tag": b"caf\xe9"}).json()
    assert got == {"body": "", "tag": "café", "tag_type": "str"}
