"""VoiceCall scenario APIs (voicecall-api.md §4): click-to-call, notification, verification code.

The platform calls out, so there is no binding: each request is checked, answered with a
``sessionId`` and played as a call whose pushes go to the request's ``statusUrl``/``feeUrl``
(Base64) or the app's configured addresses. Outcomes come from the backend's script or the
seeded mix.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from . import errors as e
from .calls import (
    ROUTING_DESC,
    Call,
    Profile,
    Step,
    forward_leg_end,
    outcome_of,
    profile_for,
    session_id,
    talk_time,
)
from .model import HOST_NAME, App, utc, utc_digits
from .params import Params

IDLE_PORTS = 100


class CallDesk(Protocol):
    """What the VoiceCall rules need from the platform (the backend provides it): the shared
    random source, the outcome script, call numbering, and a place to hand finished calls."""

    @property
    def rng(self) -> random.Random: ...

    def next_outcome(self, outcome: str | None) -> str | None: ...

    def next_seq(self) -> int: ...

    def register_call(self, call: Call) -> None: ...


class VoiceRules:
    """The three VoiceCall scenarios, building :class:`~toolkit.emulator.calls.Call` objects."""

    def __init__(self, desk: CallDesk) -> None:
        self.desk = desk

    def _display(self, app: App, p: Params, name: str) -> str:
        number = p.number(name, required=True)
        if number not in app.numbers:
            raise e.PlatformError("1010023", "Invalid display number.")
        return number

    def _common(self, app: App, p: Params) -> dict[str, Any]:
        return {
            "status_url": p.base64_url("statusUrl") or app.status_url,
            "fee_url": p.base64_url("feeUrl") or app.fee_url,
            "user_data": p.user_data(),
            "idle": p.flag("returnIdlePort"),
        }

    def _answer(self, call: Call, idle: bool) -> dict[str, Any]:
        self.desk.register_call(call)
        out: dict[str, Any] = {"sessionId": call.session_id}
        if idle:
            out["idlePort"] = IDLE_PORTS
        return out

    def _call(
        self, app: App, now: float, callee: str, display: str
    ) -> tuple[str, Profile, dict[str, Any]]:
        b = self.desk
        profile = profile_for(b.next_outcome(None), b.rng)
        sid = session_id(b.rng, now, b.next_seq())
        cdr: dict[str, Any] = {
            "direction": 0,
            "spId": app.sp_id,
            "appKey": app.app_key,
            "icid": f"CAE-{utc_digits(now)}-{b.rng.randrange(10**8):08d}",
            "bindNum": display,
            "sessionId": sid,
            "callerNum": display,
            "calleeNum": callee,
        }
        return sid, profile, cdr

    def click2call(self, app: App, p: Params, now: float) -> dict[str, Any]:
        display = self._display(app, p, "displayNbr")
        a = p.number("callerNbr", required=True)
        display_b = self._display(app, p, "displayCalleeNbr")
        b_num = p.number("calleeNbr", required=True)
        max_duration = p.integer("maxDuration", 0, 1440, 0) or 0
        for name in ("lastMinVoice", "preVoice", "waitVoice", "recordHintTone"):
            p.tone(name)
        p.choice("lastMinToUE", ("toa", "tob", "both"))
        p.choice("calleeMedia", ("all", "none", "fail"))
        p.flag("playPreVoice")
        record = p.flag("recordFlag")
        if record and not app.record_enabled:
            raise e.PlatformError("1012012", "The application has no recording function.")
        party_type = p.flag("partyTypeRequiredInDisconnect")
        opts = self._common(app, p)
        rng = self.desk.rng
        sid, profile, cdr = self._call(app, now, a, display)
        # Leg A (the platform calls the caller) answers; the outcome applies to leg B.
        t = {"callout_a": 0.0, "alerting_a": 2.0, "answer_a": 5.0 + rng.random() * 3}
        t["callout"] = t["answer_a"] + 2.0
        reach = profile.reach
        end = t["callout"] + 1.0
        code = profile.code
        if reach in ("alerting", "answer"):
            t["alerting"] = t["callout"] + 2.0 + rng.random() * 2
            end = t["alerting"] + (45.0 if code == 8101 else 3.0 + rng.random() * 10)
        if reach == "answer":
            t["answer"] = t["alerting"] + 2.0 + rng.random() * 10
            talk = talk_time(rng)
            if max_duration and talk > max_duration * 60:
                talk, code = max_duration * 60, 8010
            end = t["answer"] + talk
        if reach == "none":
            t.pop("callout")
        leg_a = {"caller": display, "called": a}
        leg_b = {"caller": display_b, "called": b_num}
        steps = [
            Step(t["callout_a"], "callout", leg_a),
            Step(t["alerting_a"], "alerting", leg_a),
            Step(t["answer_a"], "answer", leg_a),
        ]
        steps += [Step(t[s], s, leg_b) for s in ("callout", "alerting", "answer") if s in t]
        # The side that hung up first: B after a normal call, else A (the platform releases A).
        disconnect: dict[str, Any] = {
            **leg_a,
            "stateCode": code,
            "stateDesc": ROUTING_DESC[8010] if code == 8010 else profile.desc,
        }
        if code == 0:
            disconnect["called"] = b_num
        if party_type:
            # partyType values are unconfirmed; we send words the receiver can store as-is.
            disconnect["partyType"] = "callee" if code == 0 else "platform"
        steps.append(Step(end, "disconnect", disconnect))
        cdr.update(
            fwdDisplayNum=display_b,
            fwdDstNum=b_num,
            callOutStartTime=utc(now),
            callOutAlertingTime=utc(now + t["alerting_a"]),
            callOutAnswerTime=utc(now + t["answer_a"]),
            callInTime=utc(now),
        )
        # Recording files are named after the call's sequence number, then random digits.
        forward_leg_end(cdr, app, now, t, end, code, profile, rng, record, sid.split("_")[1])
        cdr.update(ttsPlayTimes=0, ttsTransDuration=0, serviceType="002", hostName=HOST_NAME)
        return self._finish(app, sid, now, steps, cdr, code, profile, t.get("answer"), end, opts)

    def _finish(
        self,
        app: App,
        sid: str,
        now: float,
        steps: list[Step],
        cdr: dict[str, Any],
        code: int,
        profile: Profile,
        answer: float | None,
        end: float,
        opts: dict[str, Any],
    ) -> dict[str, Any]:
        if opts["user_data"] is not None:
            cdr["userData"] = opts["user_data"]
        for step in steps:
            step.info = {"sessionId": sid, "timestamp": utc(now + step.offset), **step.info}
            if opts["user_data"] is not None:
                step.info["userData"] = opts["user_data"]
        call = Call(
            sid,
            app.app_key,
            "voicecall",
            now,
            steps,
            cdr,
            code,
            outcome_of(code, profile),
            answer,
            end,
            status_url=opts["status_url"],
            fee_url=opts["fee_url"],
        )
        return self._answer(call, opts["idle"])

    def _one_leg(
        self, app: App, p: Params, now: float, play_seconds: float, collect: int, tts_plays: int
    ) -> dict[str, Any]:
        """A notification or verification call: one leg, playback, optional digit collection."""
        display = self._display(app, p, "displayNbr")
        callee = p.number("calleeNbr", required=True)
        opts = self._common(app, p)
        rng = self.desk.rng
        sid, profile, cdr = self._call(app, now, callee, display)
        leg = {"caller": display, "called": callee}
        steps = [Step(0.0, "callout", leg)]
        t: dict[str, float] = {}
        code = profile.code
        if profile.reach in ("alerting", "answer"):
            t["alerting"] = 2.0 + rng.random() * 2
            steps.append(Step(t["alerting"], "alerting", leg))
        if profile.reach == "answer":
            t["answer"] = t["alerting"] + 2.0 + rng.random() * 8
            steps.append(Step(t["answer"], "answer", leg))
            end = t["answer"] + play_seconds
            if collect:
                digits = "".join(rng.choice("0123456789") for _ in range(collect))
                steps.append(Step(end, "collectInfo", {"digitInfo": digits}))
                cdr.update(dynIVRStartTime=utc(now + end), dynIVRPath="-".join(digits))
                end += 2.0
        else:
            end = t.get("alerting", 0.0) + (45.0 if code == 8101 else 2.0 + rng.random() * 8)
        steps.append(Step(end, "disconnect", {**leg, "stateCode": code, "stateDesc": profile.desc}))
        cdr["callOutStartTime"] = utc(now)
        if "alerting" in t:
            cdr["callOutAlertingTime"] = utc(now + t["alerting"])
        if "answer" in t:
            cdr["callOutAnswerTime"] = utc(now + t["answer"])
        else:
            cdr["failTime"] = utc(now + end)
        cdr.update(
            callEndTime=utc(now + end),
            ulFailReason=code,
            sipStatusCode=0 if "answer" in t else profile.sip,
            callOutUnaswRsn=0 if "answer" in t else profile.q850,
            ttsPlayTimes=tts_plays if "answer" in t else 0,
            ttsTransDuration=1 if tts_plays and "answer" in t else 0,
            serviceType="001",
            hostName=HOST_NAME,
        )
        return self._finish(app, sid, now, steps, cdr, code, profile, t.get("answer"), end, opts)

    def notify(self, app: App, p: Params, now: float) -> dict[str, Any]:
        items = p.data.get("playInfoList")
        if not isinstance(items, list) or not 1 <= len(items) <= 5:
            raise e.invalid("playInfoList", "must hold 1-5 items.")
        collect, templates = 0, 0
        for i, item in enumerate(items):
            name = f"playInfoList[{i}]"
            if not isinstance(item, dict):
                raise e.invalid(name)
            q = Params(item)
            voice, template = q.tone("notifyVoice"), q.text("templateId", max_len=32)
            if (voice is None) == (template is None):
                raise e.invalid(name + ".notifyVoice", "or templateId: exactly one is required.")
            paras = item.get("templateParas")
            if paras is not None and (
                not isinstance(paras, list)
                or not all(isinstance(v, str) and len(v.encode()) <= 32 for v in paras)
            ):
                raise e.PlatformError("1012005", "The template parameter is invalid.")
            templates += template is not None
            collect = max(collect, q.integer("collectInd", 0, 32, 0) or 0)
            q.flag("replayAfterCollection")
        return self._one_leg(app, p, now, 8.0 * len(items), collect, templates)

    def verify(self, app: App, p: Params, now: float) -> dict[str, Any]:
        p.integer("languageType", 1, 99)
        if p.data.get("languageType") is None:
            raise e.invalid("languageType", "is required.")
        if p.tone("preTone") is None:
            raise e.invalid("preTone", "is required.")
        code = p.text("verifyCode", required=True, max_len=8, min_len=2)
        if not code.isdigit():
            raise e.invalid("verifyCode", "must be 2-8 digits.")
        p.tone("posTone")
        times = p.integer("times", 0, 9, 3)
        return self._one_leg(app, p, now, 3.0 + 2.5 * (times or 3), 0, times or 3)
