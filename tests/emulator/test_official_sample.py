"""The part Huawei's published samples play, with the standard library only, against
``python -m toolkit emulator --tls``: each mode's app bound, queried, modified and unbound over
HTTPS, trusting the CA the emulator prints on its fourth line.

What the samples do, as the spec describes them (§1.2, §3-§7), not any sample's text:

* the legacy signing generation: ``Authorization: WSSE realm="SDP", profile="UsernameToken",
  dsl="Appkey"`` (``dsl``, not ``type``, as the old Java sample spells it), and ``X-WSSE`` with
  ``PasswordDigest = Base64(SHA-256(Nonce + Created + APP_Secret))``;
* ``Created`` formatted ``yyyy-MM-ddTHH:mm:ssZ`` from the *local* clock of the machine the sample
  runs on, which is in China: Beijing time marked ``Z``;
* ``Content-Type: application/json;charset=UTF-8`` and ``Accept: application/json`` on every
  request, JSON bodies for POST/PUT, query strings for GET/DELETE (``+`` as ``%2B``);
* a short-lived HTTPS connection per request (a new handshake each time), the server certificate
  verified, redirects not followed.

Each mode is its own app (one app, one mode), so each runs in its own emulator process, as each
would be its own app on the platform.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BEIJING = datetime.timezone(datetime.timedelta(hours=8))
A, B = "+8613800000001", "+8613900000002"
MODES = ("axb", "ax", "axe", "axyb")


class SampleClient:
    """What a sample holds: base URL, APP_Key, APP_Secret and a CA to verify the server with."""

    def __init__(self, base_url: str, app_key: str, app_secret: str, ca_file: str) -> None:
        self.base_url, self.app_key, self.app_secret = base_url, app_key, app_secret
        self.context = ssl.create_default_context(cafile=ca_file)  # hostname checked too

    def headers(self) -> dict[str, str]:
        nonce = uuid.uuid4().hex.upper()
        created = datetime.datetime.now(BEIJING).strftime("%Y-%m-%dT%H:%M:%SZ")
        raw = hashlib.sha256((nonce + created + self.app_secret).encode("utf-8")).digest()
        digest = base64.b64encode(raw).decode("ascii")
        return {
            "Content-Type": "application/json;charset=UTF-8",
            "Accept": "application/json",
            "Authorization": 'WSSE realm="SDP", profile="UsernameToken", dsl="Appkey"',
            "X-WSSE": f'UsernameToken Username="{self.app_key}",PasswordDigest="{digest}",'
            f'Nonce="{nonce}",Created="{created}"',
        }

    def send(
        self, method: str, path: str, body: dict[str, Any] | None = None, **query: str
    ) -> tuple[int, dict[str, Any]]:
        """One request on a new connection: the HTTP status and the JSON answer."""
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method, headers=self.headers())
        try:
            with urllib.request.urlopen(request, timeout=20, context=self.context) as response:
                return response.status, json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as refusal:  # the samples read the error stream too
            with refusal:
                return refusal.code, json.loads(refusal.read().decode("utf-8"))

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None, **query: str) -> Any:
        status, answer = self.send(method, path, body, **query)
        assert (status, answer["resultcode"]) == (200, "0"), (method, path, status, answer)
        return answer


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, SampleClient]]:
    """One ``python -m toolkit emulator --tls --mode M`` per mode, started together."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = {
        mode: subprocess.Popen(
            [sys.executable, "-m", "toolkit", "emulator", "--tls", "--port", "0", "--mode", mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        for mode in MODES
    }
    try:
        made = {}
        for mode, proc in procs.items():
            assert proc.stdout is not None
            url, key, secret, ca = (proc.stdout.readline().rstrip("\n") for _ in range(4))
            assert url.startswith("https://127.0.0.1:"), url
            assert (key[:8], secret[:11], ca[:8]) == ("APP_KEY=", "APP_SECRET=", "CA_CERT=")
            made[mode] = SampleClient(url, key[8:], secret[11:], ca[8:])
        yield made
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def test_axb_bind_query_modify_unbind(clients) -> None:
    api = clients["axb"]
    path = "/rest/caas/relationnumber/partners/v1.0"
    bound = api.ok("POST", path, {"callerNum": A, "calleeNum": B, "recordFlag": "false"})
    sid, x = bound["subscriptionId"], bound["relationNum"]
    (item,) = api.ok("GET", path, subscriptionId=sid)["relationNumList"]
    assert (item["callerNum"], item["calleeNum"], item["relationNum"]) == (A, B, x)
    api.ok("PUT", path, {"subscriptionId": sid, "maxDuration": 30, "userData": "order-1"})
    (item,) = api.ok("GET", path, relationNum=x, callerNum=A)["relationNumList"]
    assert (item["maxDuration"], item["userData"]) == (30, "order-1")
    api.ok("DELETE", path, subscriptionId=sid)
    status, answer = api.send("GET", path, subscriptionId=sid)
    assert answer["resultcode"] == "1012007" and status != 200


def test_ax_bind_query_modify_unbind(clients) -> None:
    api = clients["ax"]
    path = "/rest/provision/caas/privatenumber/v1.0"
    body = {"origNum": A, "areaCode": "0755", "privateNumType": "mobile-virtual"}
    bound = api.ok("POST", path, body)
    sid, x = bound["subscriptionId"], bound["privateNum"]
    (item,) = api.ok("GET", path, origNum=A)["privateNumList"]
    assert (item["subscriptionId"], item["privateNum"]) == (sid, x)
    api.ok("PUT", path, {"subscriptionId": sid, "callDirection": 2, "recordFlag": True})
    (item,) = api.ok("GET", path, subscriptionId=sid)["privateNumList"]
    assert (item["callDirection"], item["recordFlag"]) == (2, "true")
    api.ok("DELETE", path, origNum=A, privateNum=x)  # the older docs' pair: origNum is ignored
    status, answer = api.send("GET", path, subscriptionId=sid)
    assert answer["resultcode"] != "0" and status != 200


def test_axe_bind_query_modify_unbind(clients) -> None:
    api = clients["axe"]
    path = "/rest/caas/extendnumber/v1.0"
    bound = api.ok("POST", path, {"bindNum": A, "areaCode": "0755"})
    sid, x, ext = bound["subscriptionId"], bound["virtualNum"], bound["extendNum"]
    item = api.ok("GET", path, virtualNum=x, extendNum=ext)
    assert (item["subscriptionId"], item["bindNum"]) == (sid, A)
    api.ok("PUT", path, {"subscriptionId": sid, "displayNumMode": "1", "callbackNum": B})
    item = api.ok("GET", path, subscriptionId=sid)
    assert (item["displayNumMode"], item["callbackNum"]) == ("1", B)
    api.ok("DELETE", path, virtualNum=x, extendNum=ext)
    status, answer = api.send("GET", path, subscriptionId=sid)
    assert answer["resultcode"] != "0" and status != 200


def test_axyb_bind_query_modify_unbind(clients) -> None:
    api = clients["axyb"]
    path = "/rest/omp/xyrelationnumber/v1.0"
    key = api.app_key
    ax = api.ok("POST", path, {"origNum": A, "areaCode": "0755", "duration": 3600}, app_key=key)
    sid, x = ax["subscriptionId"], ax["relationNumber"]
    # AXYB has no modify API (spec §3, §7): the documented refusal, as JSON.
    status, answer = api.send("PUT", path, {"subscriptionId": sid, "userData": "u"}, app_key=key)
    assert status == 405 and answer["resultcode"] == "1010006"
    # Its binding changes by the YB step instead, on the same URI.
    y = api.ok("POST", path, {"subscriptionId": sid, "origNum": B}, app_key=key)["relationNumber"]
    (item,) = api.ok("GET", path, relationNum=x, app_key=key)["xyRelationNumList"]
    assert (item["numA"], item["numX"], item["numY"], item["numB"]) == (A, x, y, B)
    api.ok("DELETE", path, yNum=y, app_key=key)  # YB only
    (item,) = api.ok("GET", path, subscriptionId=sid, app_key=key)["xyRelationNumList"]
    assert "numB" not in item or item["numB"] == ""
    api.ok("DELETE", path, subscriptionId=sid, app_key=key)
    status, answer = api.send("GET", path, subscriptionId=sid, app_key=key)
    assert answer["resultcode"] == "1012007" and status != 200
