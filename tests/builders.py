"""Builders of CDRs and pushes shared by several test modules.

* Spec-shaped pushes (``fee_info``, ``busy_info``, ``voice_fee_info``, ``fee_body``,
  ``event_body``, ``sms_body``, ``num_body``) follow the examples of the PrivateNumber and
  VoiceCall specs field by field; the events, store, receiver and tail tests use them.
* Hand-timed CDRs (``fee``, ``push``, ``small_day``) have round times and durations, so that the
  frame, analysis, chart and dashboard tests can check summaries by hand.
* ``post`` hands one request to a WSGI app in memory, as a server would, signed or not with the
  receiver's test credentials ``KEY``/``SECRET``.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from toolkit.errors import PushFormatError

# -- spec-shaped pushes -------------------------------------------------------------------------

SESSION = "1200_1029_4294967295_20240301021502@callenabler246.huaweicaas.com"
CALLER, X, CALLEE = "+8613800000001", "+8617000000003", "+8613900000002"


def fee_info(n: int = 0, **changes: Any) -> dict[str, Any]:
    """An answered AXB CDR as in PrivateNumber §10.2, with a distinct icid/sessionId per ``n``."""
    info = {
        "direction": 1,
        "spId": "demo_omp",
        "appKey": "AbCdEf0123456789",
        "icid": f"ba171f34e6953fcd751edc77127748f4.{n}",
        "bindNum": X,
        "sessionId": f"{SESSION}-{n}",
        "subscriptionId": "8f1c2d3e-0000-4a4a-9b9b-123456789abc",
        "callerNum": CALLER,
        "calleeNum": X,
        "fwdDisplayNum": X,
        "fwdDstNum": CALLEE,
        "callInTime": "2024-03-01 02:15:02",
        "fwdStartTime": "2024-03-01 02:15:03",
        "fwdAlertingTime": "2024-03-01 02:15:05",
        "fwdAnswerTime": "2024-03-01 02:15:09",
        "callEndTime": "2024-03-01 02:17:40",
        "fwdUnaswRsn": 0,
        "ulFailReason": 0,
        "sipStatusCode": 0,
        "callOutUnaswRsn": 0,
        "recordFlag": 1,
        "recordStartTime": "2024-03-01 02:15:09",
        "recordDomain": "ostor.huawei.com",
        "recordBucketName": "sp-abcdef0123456789",
        "recordObjectName": "24030102150912050118304.wav",
        "ttsPlayTimes": 0,
        "ttsTransDuration": 0,
        "mptyId": "8f1c2d3e-0000-4a4a-9b9b-123456789abc",
        "serviceType": "004",
        "hostName": "callenabler246.huaweicaas.com",
    }
    info.update(changes)
    return {k: v for k, v in info.items() if v is not None}


def busy_info(n: int = 0) -> dict[str, Any]:
    """The spec's unanswered variant: busy callee."""
    return fee_info(
        n,
        fwdAnswerTime=None,
        recordStartTime=None,
        failTime="2024-03-01 02:15:12",
        callEndTime="2024-03-01 02:15:12",
        ulFailReason=8102,
        fwdUnaswRsn=17,
        sipStatusCode=486,
        recordFlag=0,
    )


def fee_body(*infos: dict[str, Any]) -> dict[str, Any]:
    return {"eventType": "fee", "feeLst": list(infos)}


def event_body(event_type: str = "answer", **changes: Any) -> dict[str, Any]:
    info = {
        "timestamp": "2024-03-01 02:15:09",
        "sessionId": SESSION,
        "caller": CALLER,
        "called": CALLEE,
        "subscriptionId": "8f1c2d3e-0000-4a4a-9b9b-123456789abc",
    }
    info.update(changes)
    return {"eventType": event_type, "statusInfo": {k: v for k, v in info.items() if v is not None}}


def sms_body(mode: str = "Notify", **changes: Any) -> dict[str, Any]:
    sms = {
        "smsIdentifier": "a1b2c3d4e5",
        "notificationMode": mode,
        "calling": CALLER,
        "called": CALLEE,
        "virtualNumber": X,
        "event": "Text SMS",
        "timeStamp": "2024-03-01T02:20:16.450Z",
        "subscriptionId": "8f1c2d3e",
        "smsContent": "see you at 8",
        "extInfo": {
            "extParas": [{"key": "splitNum", "value": "1"}, {"key": "direction", "value": "1"}]
        },
        "sendResult": 2,
    }
    sms.update(changes)
    return {"appKey": "AbCdEf0123456789", "smsEvent": sms}


def num_body(*items: tuple[str, str, str | None]) -> dict[str, Any]:
    return {
        "eventType": "numStatus",
        "numInfo": [
            {k: v for k, v in {"number": n, "status": s, "cause": c}.items() if v is not None}
            for n, s, c in items
        ],
    }


def voice_fee_info(n: int = 0, **changes: Any) -> dict[str, Any]:
    """A click2Call CDR as in VoiceCall §7.2."""
    info = {
        "direction": 0,
        "spId": "CaaS_Test_01",
        "appKey": "ka4k000009YnEm2",
        "icid": f"CAE-20190124110424-{n}",
        "bindNum": "+8675528888888",
        "sessionId": f"1201_612_4294967295_20190124030424-{n}@callenabler245.huaweicaas.com",
        "callerNum": "+8675528888888",
        "calleeNum": CALLER,
        "fwdDisplayNum": "+8675528888888",
        "fwdDstNum": CALLEE,
        "callOutStartTime": "2019-01-24 03:04:24",
        "callOutAlertingTime": "2019-01-24 03:04:27",
        "callOutAnswerTime": "2019-01-24 03:04:31",
        "fwdStartTime": "2019-01-24 03:04:33",
        "fwdAlertingTime": "2019-01-24 03:04:36",
        "fwdAnswerTime": "2019-01-24 03:04:41",
        "callEndTime": "2019-01-24 03:07:02",
        "fwdUnaswRsn": 0,
        "ulFailReason": 0,
        "sipStatusCode": 0,
        "callOutUnaswRsn": 0,
        "recordFlag": 0,
        "ttsPlayTimes": 0,
        "ttsTransDuration": 0,
        "serviceType": "002",
        "hostName": "callenabler245.huaweicaas.com",
        "userData": "order-42",
    }
    info.update(changes)
    return info


# -- hand-timed CDRs ---------------------------------------------------------------------------

X1 = "+8617000000001"
X2 = "+8617000000002"
BASE = datetime(2024, 3, 1, 2, 0, 0, tzinfo=timezone.utc)  # 10:00 in Beijing, a Friday


def at(seconds: float) -> str:
    """A CDR time string ``seconds`` after BASE, in the platform's UTC format."""
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def fee(
    n: int = 0, *, start: float = 0, ring: float | None = 5, talk: float | None = 90, **fields: Any
) -> dict[str, Any]:
    """A PrivateNumber FeeInfo: answered after ``ring`` s and ``talk`` s long; ``talk=None`` makes
    it unanswered (busy unless codes are given), ``ring=None`` a call that never rang. Any
    FeeInfo field can be overridden, and a field set to None is left out."""
    info: dict[str, Any] = {
        "direction": 1,
        "spId": "sp_omp",
        "appKey": "AppKey0001",
        "bindNum": X1,
        "sessionId": f"session-{n}",
        "subscriptionId": f"sub-{n % 3}",
        "callerNum": "+8613800000001",
        "calleeNum": X1,
        "fwdDisplayNum": X1,
        "fwdDstNum": "+8613900000002",
        "callInTime": at(start),
        "fwdStartTime": at(start + 1),
    }
    alerting = start + 2
    if ring is not None:
        info["fwdAlertingTime"] = at(alerting)
    if talk is not None:
        answer = alerting + (ring or 0)
        info.update(
            fwdAnswerTime=at(answer),
            callEndTime=at(answer + talk),
            ulFailReason=0,
            fwdUnaswRsn=0,
            sipStatusCode=0,
        )
    else:
        end = at(alerting + (ring or 0))
        info.update(
            callEndTime=end, failTime=end, ulFailReason=8102, fwdUnaswRsn=17, sipStatusCode=486
        )
    info.update(fields)
    return {k: v for k, v in info.items() if v is not None}


def push(*infos: dict[str, Any]) -> dict[str, Any]:
    """A fee push body holding ``infos``."""
    return {"eventType": "fee", "feeLst": list(infos)}


def small_day() -> list[dict[str, Any]]:
    """Four calls with hand-checkable summaries (times in UTC; Beijing is +8 h).

    ====  =====  ==========  =========  ======  =====  ========  ===================
    n     X      start UTC   outcome    ring s  talk   billed    cause
    ====  =====  ==========  =========  ======  =====  ========  ===================
    0     X1     02:00       answered   5       61     2         answered
    1     X1     02:30       answered   3       30     1         answered
    2     X1     03:00       busy       10      -      0         8102 Callee busy
    3     X2     03:10       no-answer  40      -      0         8101 ...
    ====  =====  ==========  =========  ======  =====  ========  ===================
    """
    return [
        fee(0, start=0, ring=5, talk=61),
        fee(1, start=1800, ring=3, talk=30, direction=0),
        fee(2, start=3600, ring=10, talk=None),
        fee(
            3,
            start=4200,
            ring=40,
            talk=None,
            bindNum=X2,
            calleeNum=X2,
            ulFailReason=8101,
            fwdUnaswRsn=19,
            sipStatusCode=480,
        ),
    ]


# -- delivering a push in memory ---------------------------------------------------------------

KEY, SECRET = "AbCdEf0123456789", "s3cr3t-app-secret"
JSON_TYPE = "application/json;charset=UTF-8"


def post(
    app: Any,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    content_type: str | None = JSON_TYPE,
    length: int | None = None,
    method: str = "POST",
    path: str = "/fee",
) -> tuple[int, bytes, dict[str, str]]:
    """Call a WSGI app once; return (status, body, headers)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "test",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(data),
        "wsgi.url_scheme": "http",
        "CONTENT_LENGTH": str(len(data) if length is None else length),
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list, exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, dict(response_headers)

    payload = b"".join(app(environ, start_response))
    return int(seen["status"][:3]), payload, seen["headers"]


def rows_or_error(read: Any) -> tuple[str, Any]:
    """What ``read()`` gives, comparable between two ways of building rows: ``("rows", rows)``,
    or ``("error", (reason, field))`` when it raises :class:`PushFormatError`."""
    try:
        return "rows", read()
    except PushFormatError as exc:
        return "error", (exc.reason, exc.field)
