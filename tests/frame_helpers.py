"""Small hand-made CDRs for the frame, analysis and chart tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

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


def voice_fee(**fields: Any) -> dict[str, Any]:
    """A VoiceCall FeeInfo (click-to-call service type unless overridden)."""
    info: dict[str, Any] = {
        "direction": 0,
        "spId": "sp",
        "appKey": "vc",
        "bindNum": "+8675528000001",
        "sessionId": "voice-1",
        "callerNum": "+8675528000001",
        "calleeNum": "+8613800000001",
        "serviceType": "002",
    }
    info.update(fields)
    return info


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
