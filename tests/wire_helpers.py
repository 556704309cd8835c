"""Helpers for the wire-level client tests: a fake platform with ``responses`` and a decoder of
what the client sent (method, path, query, JSON body) that also checks the signature."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from toolkit.auth import verify

BASE = "https://platform.test"
KEY = "demo-app-key"
SECRET = "demo-secret-never-shown"
OK = {"resultcode": "0", "resultdesc": "Success"}


@dataclass
class Sent:
    """One request as the platform would see it."""

    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    body: dict[str, Any] | None
    headers: Any
    kwargs: dict[str, Any]


def sent(call: responses.Call) -> Sent:
    """Decode a recorded call and assert that it is validly signed."""
    request = call.request
    verdict = verify(request.headers, {KEY: SECRET}.get)
    assert verdict.ok, verdict
    assert request.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert request.headers["Accept"] == "application/json"
    split = urlsplit(request.url)
    query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    body = json.loads(request.body) if request.body else None
    return Sent(
        request.method, split.path, split.query, query, body, request.headers, request.req_kwargs
    )


def only_call(rsps: responses.RequestsMock) -> Sent:
    """The single request the test made."""
    assert len(rsps.calls) == 1
    return sent(rsps.calls[0])


def answer(rsps: responses.RequestsMock, method: str, path: str, **fields: Any) -> None:
    """Register a success answer carrying ``fields``."""
    rsps.add(method, BASE + path, json={**OK, **fields})


def refuse(
    rsps: responses.RequestsMock, method: str, path: str, status: int, code: str, desc: str = ""
) -> None:
    """Register a platform refusal: ``status`` with ``{"resultcode": code, ...}``."""
    rsps.add(method, BASE + path, status=status, json={"resultcode": code, "resultdesc": desc})
