"""Call simulation: a routed call and an outcome become the platform's events and one CDR.

Every code used here comes from the spec's tables (``hangup-codes.md``): the release code goes into
``stateCode`` (disconnect event) and ``ulFailReason`` (CDR), the Q.850 cause of the forward leg into
``fwdUnaswRsn`` and the SIP status into ``sipStatusCode``, paired as the spec's table (d) suggests.
A call is a timeline of steps at offsets (simulated seconds) from the moment it reaches X; the
delivery worker plays it back at ``time_scale`` real seconds per simulated second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .errors import EmulatorError
from .model import HOST_NAME, RECORD_DOMAIN, App, Route, utc, utc_digits

STOP_CODE = (
    8017  # customer-instructed hang-up: spec says 8017-type values in X mode, else unconfirmed
)


@dataclass(frozen=True)
class Profile:
    """How one outcome looks on the wire. ``reach``: last stage of the forward leg reached."""

    outcome: str  # one of toolkit's OUTCOMES
    code: int  # stateCode / ulFailReason
    q850: int  # fwdUnaswRsn
    sip: int  # sipStatusCode
    reach: str  # "none" | "callout" | "alerting" | "answer"
    desc: str


PROFILES: dict[str, Profile] = {
    "answered": Profile("answered", 0, 0, 0, "answer", "The user releases the call."),
    "busy": Profile("busy", 8102, 17, 486, "callout", "The callee is busy."),
    "no-answer": Profile("no-answer", 8101, 19, 480, "alerting", "The callee does not answer."),
    "powered-off": Profile("unreachable", 8104, 20, 480, "callout", "The callee is powered off."),
    "rejected": Profile("rejected", 7503, 21, 603, "alerting", "The callee rejected the call."),
    "caller-abandon": Profile(
        "caller-abandoned",
        7502,
        0,
        487,
        "alerting",
        "The caller hung up while the callee was ringing.",
    ),
    "caller-abandon-early": Profile(
        "caller-abandoned", 7501, 0, 487, "callout", "The caller hung up before the callee rang."
    ),
    "throttled": Profile("throttled", 7001, 0, 0, "none", "Developer call-rate control."),
    "error": Profile("error", 7506, 38, 503, "callout", "Callee-side network error."),
}
# Accepted spellings for place_call(outcome=...): the and the toolkit's OUTCOMES labels.
ALIASES = {"unreachable": "powered-off", "caller-abandoned": "caller-abandon"}
# Other throttling codes the seeded mix draws from (Table A, category "control").
THROTTLE_CODES = (7001, 7002, 7003, 8047, 8048)
# Release codes decided by routing (no forward leg), with their stateDesc.
ROUTING_DESC = {
    8013: "Invalid AX call: no temporary callee.",
    8014: "Invalid call: no binding.",
    8016: "Call direction not allowed.",
    8017: "The customer instructed hang-up.",
    8019: "No callback record.",
    8022: "Binding does not exist or has expired.",
    8023: "Fixed-line number not allowed as caller.",
    8030: "AXYB binding does not exist.",
    8031: "Failed to allocate Y.",
    8032: "A number dialed its own privacy number.",
    8033: "The extension received was empty.",
    8055: "X is unavailable.",
    8010: "The maximum call duration was reached.",
}
# Outcome of routing releases that are not configuration problems (Table A categories).
ROUTING_OUTCOME = {
    8017: "not-bound",
    8023: "throttled",
    8055: "throttled",
    8032: "caller-abandoned",
    8033: "caller-abandoned",
}
# The seeded scenario mix (weights sum to 1).
MIX: tuple[tuple[str, float], ...] = (
    ("answered", 0.62),
    ("busy", 0.08),
    ("no-answer", 0.10),
    ("powered-off", 0.04),
    ("rejected", 0.05),
    ("caller-abandon", 0.04),
    ("caller-abandon-early", 0.03),
    ("throttled", 0.02),
    ("error", 0.02),
)


def profile_for(outcome: str | None, rng: random.Random) -> Profile:
    """The profile of a scripted outcome, or one drawn from the seeded mix."""
    if outcome is None:
        names, weights = zip(*MIX, strict=True)
        name = rng.choices(names, weights)[0]
        profile = PROFILES[name]
        if name == "throttled":
            code = rng.choice(THROTTLE_CODES)
            profile = Profile("throttled", code, 0, 0, "none", "Call-rate control.")
        return profile
    name = ALIASES.get(outcome, outcome)
    if name not in PROFILES:
        allowed = sorted({*PROFILES, *ALIASES} - {"caller-abandon-early"})
        raise EmulatorError(f"unknown outcome {outcome!r}; use one of {', '.join(allowed)}")
    return PROFILES[name]


def outcome_of(code: int, profile: Profile) -> str:
    """The outcome a call ends with: a call cut at its maximum duration (8010) was answered."""
    return "answered" if code in (0, 8010) else profile.outcome


@dataclass
class Step:
    """One event of the call at ``offset`` simulated seconds after it reached X."""

    offset: float
    event: str
    info: dict[str, Any]


@dataclass
class Call:
    """One simulated call: its steps (events), its CDR and its lifecycle."""

    session_id: str
    app_key: str
    product: str
    start: float  # simulated epoch of callInTime
    steps: list[Step]
    cdr: dict[str, Any]
    release: int
    outcome: str
    answer_offset: float | None
    end_offset: float
    generation: int = 0
    ended: bool = False
    stopped: bool = False
    status_url: str | None = None
    fee_url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def receipt(self) -> dict[str, Any]:
        """What placing the call answers: its session id, release code and outcome."""
        return {"sessionId": self.session_id, "releaseCode": self.release, "outcome": self.outcome}

    def summary(self) -> dict[str, Any]:
        """What the control endpoint lists for this call."""
        return {
            "sessionId": self.session_id,
            "appKey": self.app_key,
            "product": self.product,
            "outcome": self.outcome,
            "releaseCode": self.release,
            "ended": self.ended,
            "stopped": self.stopped,
            "callerNum": self.cdr.get("callerNum"),
            "calleeNum": self.cdr.get("calleeNum"),
            "fwdDstNum": self.cdr.get("fwdDstNum"),
            "callInTime": utc(self.start),
        }


def session_id(rng: random.Random, start: float, seq: int) -> str:
    """A session id shaped like the platform's (``1200_<n>_4294967295_<time>@<host>``)."""
    return f"1200_{seq}_{rng.randrange(10**9)}_{utc_digits(start)}@{HOST_NAME}"


def icid(rng: random.Random) -> str:
    return (
        f"{rng.getrandbits(128):032x}.{rng.randrange(10**10)}."
        f"{rng.randrange(10**9)}.{rng.randrange(10)}"
    )


def talk_time(rng: random.Random) -> int:
    """A plausible conversation length: log-normal, median about 70 s, 3 s to 30 min."""
    return int(min(1800, max(3, rng.lognormvariate(4.25, 0.9))))


def build_call(
    route: Route,
    profile: Profile,
    *,
    talk_seconds: int | None,
    start: float,
    rng: random.Random,
    seq: int,
    sid: str | None = None,
) -> Call:
    """Turn a route and an outcome into the documented event sequence and the CDR (spec §10)."""
    app, binding = route.app, route.binding
    sid = sid or session_id(rng, start, seq)
    sub = binding.subscription_id if binding else ""
    if route.release is not None:  # refused by routing: no forward leg at all
        tone = 5.0 if route.release == 8019 else 1.0
        profile = Profile(
            ROUTING_OUTCOME.get(route.release, "not-bound"),
            route.release,
            0,
            0,
            "none",
            ROUTING_DESC.get(route.release, "Call released."),
        )
        reach, end_at = "none", tone
    else:
        reach = profile.reach
    t: dict[str, float] = {"callin": 0.0}
    cursor = 0.0
    if route.extension is not None and route.release is None:
        cursor = t["collectInfo"] = 4.0 + rng.random() * 3  # prompt, then the caller keys E
    if reach != "none":
        cursor = t["callout"] = cursor + 0.5 + rng.random()
        if reach in ("alerting", "answer"):
            cursor = t["alerting"] = cursor + 1.5 + rng.random() * 2
        if reach == "answer":
            cursor = t["answer"] = cursor + 2.0 + rng.random() * 18
    code = profile.code
    answered = "answer" in t
    if answered:
        talk = talk_seconds if talk_seconds is not None else talk_time(rng)
        limit = route.max_duration * 60
        if limit and talk > limit:
            talk, code = limit, 8010
        end_at = t["answer"] + max(0, talk)
    elif reach == "alerting":
        # no answer: the carrier gives up after ~45-60 s of ringing; others end sooner
        ring = 45 + rng.random() * 15 if profile.code == 8101 else 2 + rng.random() * 15
        end_at = t["alerting"] + ring
    elif reach == "callout":
        end_at = t["callout"] + 0.5 + rng.random() * 2
    elif route.release is None:
        end_at = 1.0
    desc = ROUTING_DESC[8010] if code == 8010 else profile.desc

    x_mode = route.x_mode
    base = {"sessionId": sid}
    first_leg = {"caller": route.caller, "called": route.called}
    fwd_leg = {"caller": route.display or route.called, "called": route.dest or ""}
    steps: list[Step] = []
    callin = {**first_leg}
    if binding and route.app.mode not in ("axe",):
        callin["subscriptionId"] = sub
    if route.user_data is not None:
        callin["userData"] = route.user_data
    if x_mode:
        callin["notifyMode"] = "Block"
    steps.append(Step(0.0, "callin", callin))
    if "collectInfo" in t:
        steps.append(Step(t["collectInfo"], "collectInfo", {"digitInfo": route.extension or ""}))
    for stage in ("callout", "alerting", "answer"):
        if stage in t:
            info = {**fwd_leg, "subscriptionId": sub} if sub else dict(fwd_leg)
            if x_mode and route.user_data is not None:
                info["userData"] = route.user_data
            steps.append(Step(t[stage], stage, info))
    disconnect: dict[str, Any] = {**first_leg, "stateCode": code, "stateDesc": desc}
    if route.dest and reach != "none":
        disconnect["called"] = route.dest
    if sub:
        disconnect["subscriptionId"] = sub
    if x_mode:
        disconnect["callRelDirection"] = 2 if code in (0, 8010, 7503) else 1
        if route.user_data is not None:
            disconnect["userData"] = route.user_data
    steps.append(Step(end_at, "disconnect", disconnect))
    for step in steps:
        step.info = {**base, "timestamp": utc(start + step.offset), **step.info}

    cdr = _cdr(route, sid, sub, start, t, end_at, code, profile, answered, rng)
    call = Call(
        sid,
        app.app_key,
        "privatenumber",
        start,
        steps,
        cdr,
        code,
        outcome_of(code, profile),
        t.get("answer"),
        end_at,
        status_url=app.status_url,
        fee_url=app.fee_url,
    )
    call.meta["route"] = route
    call.meta["profile"] = profile
    return call


def _cdr(
    route: Route,
    sid: str,
    sub: str,
    start: float,
    t: dict[str, float],
    end_at: float,
    code: int,
    profile: Profile,
    answered: bool,
    rng: random.Random,
) -> dict[str, Any]:
    """One FeeInfo with every documented field that applies; absent stages are left out."""
    app = route.app
    cdr: dict[str, Any] = {
        "direction": route.direction if route.release is None or route.binding else 2,
        "spId": app.sp_id,
        "appKey": app.app_key,
        "icid": icid(rng),
        "bindNum": route.called,
        "sessionId": sid,
        "subscriptionId": sub,
        "callerNum": route.caller,
        "calleeNum": route.called,
        "callInTime": utc(start),
    }
    if route.release is not None and route.release in (8014, 8030, 8022, 8033):
        cdr["direction"] = 2  # abnormal: no binding
    if "callout" in t:
        cdr.update(fwdDisplayNum=route.display or route.called, fwdDstNum=route.dest)
    # Recording files are named after the answer time (yyMMddHHmmss), then random digits.
    prefix = utc_digits(start + t["answer"])[2:] if answered else ""
    forward_leg_end(cdr, app, start, t, end_at, code, profile, rng, route.record, prefix)
    cdr.update(
        ttsPlayTimes=0,
        ttsTransDuration=0,
        mptyId=sub,
        # serviceType meaning unconfirmed; Huawei's AXB example carries "004".
        serviceType="004",
        hostName=HOST_NAME,
    )
    if route.user_data is not None:
        cdr["userData"] = route.user_data
    if route.extension is not None:
        cdr["extendNum"] = route.extension
    if route.x_mode:
        cdr.update(
            notifyMode="Block",
            callRelDirection=2 if code in (0, 8010) else 1,
            callDuration=int(end_at - t["answer"]) if answered else 0,  # seconds: unconfirmed
            areaCode=route.extra.get("areaCode", ""),
        )
    return cdr


def forward_leg_end(
    cdr: dict[str, Any],
    app: App,
    start: float,
    t: dict[str, float],
    end_at: float,
    code: int,
    profile: Profile,
    rng: random.Random,
    record: bool,
    record_prefix: str,
) -> None:
    """The CDR fields of a call with a forward leg, from its stage offsets ``t`` on: forward-leg
    times, end or failure time, release codes and the recording (PrivateNumber calls and
    VoiceCall click-to-call fill them alike)."""
    answered = "answer" in t
    for name, stage in (
        ("fwdStartTime", "callout"),
        ("fwdAlertingTime", "alerting"),
        ("fwdAnswerTime", "answer"),
    ):
        if stage in t:
            cdr[name] = utc(start + t[stage])
    cdr["callEndTime"] = utc(start + end_at)
    if not answered:
        cdr["failTime"] = utc(start + end_at)
    cdr.update(
        fwdUnaswRsn=0 if answered else profile.q850,
        ulFailReason=code,
        sipStatusCode=0 if answered else profile.sip,
        callOutUnaswRsn=0,
    )
    recorded = record and answered and end_at - t["answer"] >= 3  # < ~3 s: no file
    cdr["recordFlag"] = 1 if recorded else 0
    if recorded:
        cdr.update(
            recordStartTime=utc(start + t["answer"]),
            recordObjectName=f"{record_prefix}{rng.randrange(10**11):011d}.wav",
            recordBucketName=f"sp-{app.app_key.lower()}",
            recordDomain=RECORD_DOMAIN,
        )


def stop(call: Call, elapsed: float) -> None:
    """Cut a live call at ``elapsed`` simulated seconds (stop-call API): later steps are dropped,
    the call ends with :data:`STOP_CODE` and the CDR is rewritten to match."""
    route: Route | None = call.meta.get("route")  # VoiceCall calls have no PN route
    start = call.start
    kept = [s for s in call.steps if s.offset <= elapsed and s.event != "disconnect"]
    last = next(s for s in call.steps if s.event == "disconnect")
    info = {
        **last.info,
        "timestamp": utc(start + elapsed),
        "stateCode": STOP_CODE,
        "stateDesc": ROUTING_DESC[STOP_CODE],
    }
    call.steps = [*kept, Step(elapsed, "disconnect", info)]
    call.end_offset = elapsed
    call.release = STOP_CODE
    call.stopped = True
    cdr = call.cdr
    answered = call.answer_offset is not None and call.answer_offset <= elapsed
    for name, stage in (("fwdAlertingTime", "alerting"), ("fwdStartTime", "callout")):
        if not any(s.event == stage for s in kept):
            cdr.pop(name, None)
    if not any(s.event == "callout" for s in kept):
        cdr.pop("fwdDisplayNum", None)
        cdr.pop("fwdDstNum", None)
    cdr.update(callEndTime=utc(start + elapsed), ulFailReason=STOP_CODE)
    if answered:
        cdr.pop("failTime", None)
        cdr.update(fwdUnaswRsn=0, sipStatusCode=0)
        call.outcome = "answered"
    else:
        for name in (
            "fwdAnswerTime",
            "recordStartTime",
            "recordObjectName",
            "recordBucketName",
            "recordDomain",
        ):
            cdr.pop(name, None)
        cdr.update(failTime=utc(start + elapsed), fwdUnaswRsn=0, sipStatusCode=0, recordFlag=0)
        call.outcome = "caller-abandoned"
    if route is not None and route.x_mode:
        answer_offset = call.answer_offset if answered else None
        cdr["callDuration"] = int(elapsed - answer_offset) if answer_offset is not None else 0
