"""SMS through X (Notify and Block pushes, spec §10.3) and X-number status changes (§10.4)."""

from __future__ import annotations

import random
import re
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .. import xmode
from . import errors as e
from .bindings import BindingStore
from .model import NUMBER_STATUSES, STATUS_UNAVAILABLE, App, utc_ms
from .modes import AxbRules, AxRules, AxybRules
from .pushes import Pushes

_AT_NUMBER = re.compile(r"@(\+?\d{4,31})\s*$")
# sendResult values are not published (12 and 13 were added in 2021); Huawei's Notify example
# for a forwarded message carries 2, so we send 2 for forwarded and 0 otherwise.
SENT = 2


class SmsPlatform(Protocol):
    """What the SMS and number-status rules need from the platform (the backend provides it):
    its lock, clock and random source, who owns a number, the bindings an SMS is routed by, and
    where pushes go."""

    @property
    def lock(self) -> AbstractContextManager[Any]: ...

    @property
    def rng(self) -> random.Random: ...

    @property
    def pushes(self) -> Pushes: ...

    @property
    def store(self) -> BindingStore: ...

    @property
    def axb(self) -> AxbRules: ...

    @property
    def ax(self) -> AxRules: ...

    @property
    def axyb(self) -> AxybRules: ...

    def now(self) -> float: ...

    def owner_of(self, number: str) -> App | None: ...


class Messaging:
    """SMS routing per mode and X status changes, pushing through the platform's delivery."""

    def __init__(self, platform: SmsPlatform) -> None:
        self.platform = platform

    def _event(
        self,
        app: App,
        mode: str,
        sender: str,
        x: str,
        text: str,
        sms_id: str,
        sub: str,
        called: str | None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "smsIdentifier": sms_id,
            "notificationMode": mode,
            "calling": sender,
            "virtualNumber": x,
            "event": "Text SMS",
            "timeStamp": utc_ms(self.platform.now()),
            "subscriptionId": sub,
            "smsContent": text,
            "extInfo": {
                "extParas": [{"key": "splitNum", "value": "1"}, {"key": "direction", "value": "1"}]
            },
        }
        if called is not None:
            event["called"] = called
            event["sendResult"] = SENT
        return {"appKey": app.app_key, "smsEvent": event}

    def _block(self, app: App, body: dict[str, Any]) -> str | None:
        """Ask the customer (Block mode) where to send an SMS; the receiver, or None to discard."""
        url = app.sms_block_url or app.sms_url
        reply = self.platform.pushes.ask(app, "sms", url, body) if url else None
        answer = xmode.read_sms_reply(reply)  # the same reader the receiver checks replies with
        return answer.called if answer.forwards else None

    def send_sms(self, sender: str, to: str, text: str) -> dict[str, Any]:
        b = self.platform
        if not isinstance(text, str) or not isinstance(sender, str) or not isinstance(to, str):
            raise e.EmulatorError("sender, to and text must be strings")
        with b.lock:
            app = b.owner_of(to)
            if app is None or app.mode == "voice":
                raise e.EmulatorError("to is not a privacy number of this emulator")
            if app.mode == "axe":
                raise e.EmulatorError("AXE mode has no SMS function")
            sms_id = f"{b.rng.getrandbits(64):016x}"
            usable = app.numbers[to].usable
            sub, dest, content, block = self._route(app, sender, to, text)
        if not usable:
            dest, block = None, False
        if block:  # asked outside the lock: the customer's server may be slow
            dest = self._block(app, self._event(app, "Block", sender, to, text, sms_id, sub, None))
        if dest is not None and app.sms_url:
            b.pushes.push(
                app,
                "sms",
                app.sms_url,
                self._event(app, "Notify", sender, to, content, sms_id, sub, dest),
            )
        result = {
            "smsIdentifier": sms_id,
            "forwarded": dest is not None,
            "called": dest,
            "subscriptionId": sub,
        }
        return result

    def _route(self, app: App, sender: str, x: str, text: str) -> tuple[str, str | None, str, bool]:
        """(subscriptionId, receiver or None, forwarded text, needs a Block push)."""
        b = self.platform
        if app.mode == "x":
            return "", None, text, True
        if app.mode == "axb":
            sid = b.axb.user_on_x.get((x, sender))
            if sid is None:
                return "", None, text, False
            bind = b.store.by_id[sid]
            if not bind.setting("privateSms", True):
                return sid, None, text, False
            return sid, (bind.b if sender == bind.a else bind.a), text, False
        if app.mode == "ax":
            sid = b.ax.owner.get(x)
            if sid is None:
                return "", None, text, False
            bind = b.store.by_id[sid]
            if not bind.setting("privateSms", True):
                return sid, None, text, False
            if sender != bind.a:  # others -> A, with the sender appended
                return sid, bind.a, f"{text}[From号码{sender}]", False
            match = _AT_NUMBER.search(text)
            if match is None:  # A without a trailing @B: the customer decides (Block)
                return sid, None, text, True
            dest = match.group(1)
            return sid, dest if dest.startswith("+") else "+86" + dest, text[: match.start()], False
        # AXYB SMS is not described in the spec; we forward like calls: B->X->A and A->Y->B.
        sid = b.axyb.used.get(x)
        if not sid or sid not in b.store.by_id:
            return "", None, text, False
        bind = b.store.by_id[sid]
        if x == bind.x and sender == bind.b:
            return sid, bind.a, text, False
        if x == bind.y and sender == bind.a:
            return sid, bind.b, text, False
        return sid, None, text, False

    def set_number_status(
        self, number: str, status: str, cause: str | None = None
    ) -> dict[str, Any]:
        b = self.platform
        status = str(status)
        if status not in NUMBER_STATUSES:
            raise e.EmulatorError(f"status must be one of {', '.join(NUMBER_STATUSES)}")
        if cause is not None and (
            status != STATUS_UNAVAILABLE
            or str(cause) not in {"1", "2", "3", "5", "6", "7", "8", "9"}
        ):
            raise e.EmulatorError("cause is 1-9 (not 4) and only with status 10")
        with b.lock:
            app = b.owner_of(number)
            if app is None:
                raise e.EmulatorError("not a number of this emulator")
            x = app.numbers[number]
            x.status, x.cause = status, (str(cause) if cause is not None else None)
        info: dict[str, Any] = {"number": number, "status": status}
        if x.cause is not None:
            info["cause"] = x.cause
        body = {"eventType": "numStatus", "numInfo": [info]}
        url = app.numstatus_url or app.status_url  # falls back to the call-status address
        if url:
            b.pushes.push(app, "numStatus", url, body)
        return body
