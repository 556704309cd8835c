"""X-mode Block replies: how the customer's server tells the platform where a call or SMS goes.

In X mode the platform keeps no binding. For every call to X it pushes a Block ``callin`` event,
for every SMS a Block SMS push, and routes by the answer (spec §10.1 and §10.3). This module is
the one place that knows the shape of those answers, for both sides of the wire:

- building them, e.g. in a :class:`~toolkit.receiver.Receiver`'s ``x_router``: :func:`connect` or
  :func:`release` for a call, :func:`route_sms` or :func:`discard_sms` for a message;
- reading them: :func:`read_call_reply` and :func:`read_sms_reply` say what the platform does
  with an answer. The receiver checks its router's answers with them (:func:`checked_reply`) and
  the emulator routes by them, so what the toolkit sends and what the emulator accepts cannot
  drift apart.

::

    from toolkit import xmode
    from toolkit.events import CallIn

    def router(push):
        if isinstance(push, CallIn):
            return xmode.connect("+8613900000002", max_duration=60)
        return xmode.discard_sms()

    Receiver(db="calls.db", app_key=KEY, app_secret=SECRET, x_router=router)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ValidationError

__all__ = [
    "CallReply",
    "SmsReply",
    "checked_reply",
    "connect",
    "discard_sms",
    "read_call_reply",
    "read_sms_reply",
    "release",
    "route_sms",
]

log = logging.getLogger(__name__)

MAX_DURATION = 1440  # minutes; maxDuration is documented as 0-1440 (0: no limit)

# The platform's number format in these replies: "+" and 3-30 digits (String(4-31)).
_GLOBAL = re.compile(r"\+\d{3,30}")


def _is_global(value: object) -> bool:
    return isinstance(value, str) and _GLOBAL.fullmatch(value) is not None


# ---------------------------------------------------------------------------------------------
# Building replies


def connect(
    callee: str,
    *,
    display: str | None = None,
    max_duration: int | None = None,
    wait_voice: str | None = None,
    record: bool | None = None,
    record_hint_tone: str | None = None,
    last_min_voice: str | None = None,
    user_data: str | None = None,
) -> dict[str, Any]:
    """The answer to an X-mode Block ``callin`` that forwards the call to ``callee``.

    ``max_duration`` is in minutes (0-1440); the platform releases a call answered with an
    invalid value (8014), so it is checked here. ``connectInfo`` is sent as a one-element list as
    in Huawei's samples (whether a single object is also accepted is unconfirmed).
    """
    if max_duration is not None and not 0 <= max_duration <= MAX_DURATION:
        raise ValidationError(
            "max_duration", f"must be 0-{MAX_DURATION} minutes, not {max_duration}"
        )
    info: dict[str, Any] = {"calleeNum": callee}
    optional = {
        "displayCalleeNum": display,
        "maxDuration": max_duration,
        "waitVoice": wait_voice,
        "recordFlag": None if record is None else ("true" if record else "false"),
        "recordHintTone": record_hint_tone,
        "lastMinVoice": last_min_voice,
        "userData": user_data,
    }
    info.update({k: v for k, v in optional.items() if v is not None})
    return {"operation": "connect", "connectInfo": [info]}


def release(*, hint_tone: str | None = None, user_data: str | None = None) -> dict[str, Any]:
    """The answer to an X-mode Block ``callin`` that releases the call (optionally with a tone).

    On the wire this is the ``close`` operation; the call ends with release code 8017.
    """
    info = {k: v for k, v in {"closeHintTone": hint_tone, "userData": user_data}.items() if v}
    return {"operation": "close", "closeInfo": [info]} if info else {"operation": "close"}


def route_sms(called: str, calling: str, *, user_data: str | None = None) -> dict[str, Any]:
    """The answer to an SMS Block push that forwards the message to ``called``.

    ``calling`` is the real sender, as the push carried it (the spec asks for it back).
    """
    action: dict[str, Any] = {
        "operation": "vNumberRoute",
        "message": {"called": called, "calling": calling},
    }
    if user_data is not None:
        action["userData"] = user_data
    return {"actions": [action]}


def discard_sms() -> dict[str, Any]:
    """The answer to an SMS Block push that drops the message."""
    return {"actions": [{"operation": "DiscardMessage"}]}


# ---------------------------------------------------------------------------------------------
# Reading replies


@dataclass(frozen=True)
class CallReply:
    """What the platform does with an answer to a Block ``callin``.

    ``operation`` is ``"connect"`` or ``"close"`` when the answer names one of them, else None.
    ``problem`` says why the platform releases the call with 8014 instead of acting on it (not an
    object, an unknown operation, a missing or invalid field); None when the answer is valid.
    ``display`` is None when the answer leaves the display number to the platform.
    """

    operation: str | None
    callee: str | None = None
    display: str | None = None
    max_duration: int = 0
    record: bool = False
    user_data: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when the platform acts on the answer (connects or releases as asked)."""
        return self.problem is None


@dataclass(frozen=True)
class SmsReply:
    """What the platform does with an answer to an SMS Block push.

    ``operation`` is ``"vNumberRoute"`` or ``"DiscardMessage"`` when the first action names one
    of them, else None. ``called`` is the real receiver when the message is forwarded. ``problem``
    says why the platform drops the message instead of acting on the answer; None when valid.
    """

    operation: str | None
    called: str | None = None
    calling: str | None = None
    user_data: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when the platform acts on the answer (forwards or discards as asked)."""
        return self.problem is None

    @property
    def forwards(self) -> bool:
        """True when the message is forwarded to :attr:`called`."""
        return self.ok and self.operation == "vNumberRoute"


def _first(value: Any) -> Any:
    # Huawei's samples send connectInfo/closeInfo as one-element arrays; the doc may define single
    # objects (unconfirmed), so both are read.
    return value[0] if isinstance(value, list) and value else value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_call_reply(reply: Any) -> CallReply:
    """Read an answer to a Block ``callin`` the way the platform does (spec §10.1).

    Never raises: anything the platform cannot act on gives a :class:`CallReply` whose
    ``problem`` says why (the platform then releases the call with 8014).
    """
    if not isinstance(reply, Mapping):
        return CallReply(None, problem=f"the answer is {type(reply).__name__}, not a JSON object")
    operation = reply.get("operation")
    if operation == "close":
        info = _first(reply.get("closeInfo"))
        user_data = _text(info.get("userData")) if isinstance(info, Mapping) else None
        return CallReply("close", user_data=user_data)
    if operation != "connect":
        return CallReply(None, problem=f"operation is {operation!r}, not 'connect' or 'close'")
    info = _first(reply.get("connectInfo"))
    if not isinstance(info, Mapping):
        return CallReply("connect", problem="connectInfo is missing or not an object")
    callee = info.get("calleeNum")
    display = info.get("displayCalleeNum")
    max_duration = info.get("maxDuration", 0)
    # Numbers are named, never shown: these messages go to logs.
    problem = None
    if not _is_global(callee):
        problem = "calleeNum is missing or not a global number ('+' and 3-30 digits)"
    elif "displayCalleeNum" in info and not _is_global(display):
        problem = "displayCalleeNum is not a global number ('+' and 3-30 digits)"
    elif (
        not isinstance(max_duration, int)
        or isinstance(max_duration, bool)
        or not 0 <= max_duration <= MAX_DURATION
    ):
        problem = f"maxDuration must be an integer 0-{MAX_DURATION}, not {max_duration!r}"
    if problem is not None:
        return CallReply("connect", problem=problem)
    return CallReply(
        "connect",
        callee=callee,
        display=display,
        max_duration=max_duration,
        record=str(info.get("recordFlag", "false")).lower() == "true",
        user_data=_text(info.get("userData")),
    )


def read_sms_reply(reply: Any) -> SmsReply:
    """Read an answer to an SMS Block push the way the platform does (spec §10.3).

    Only the first action is read (what the platform does with several is not documented).
    Never raises: anything the platform cannot act on gives an :class:`SmsReply` whose ``problem``
    says why (the platform then drops the message).
    """
    actions = reply.get("actions") if isinstance(reply, Mapping) else None
    if not isinstance(actions, list) or not actions:
        return SmsReply(None, problem="the answer has no list of actions")
    action = actions[0]
    operation = action.get("operation") if isinstance(action, Mapping) else None
    if operation == "DiscardMessage":
        return SmsReply("DiscardMessage")
    if operation != "vNumberRoute":
        return SmsReply(
            None, problem=f"operation is {operation!r}, not 'vNumberRoute' or 'DiscardMessage'"
        )
    message = action.get("message")
    called = message.get("called") if isinstance(message, Mapping) else None
    if not _is_global(called):
        return SmsReply(
            "vNumberRoute",
            problem="message.called is missing or not a global number ('+' and 3-30 digits)",
        )
    # message.calling should repeat the push's calling; whether the platform checks it is
    # unconfirmed, so it is read but not required.
    return SmsReply(
        "vNumberRoute",
        called=called,
        calling=_text(message.get("calling")),
        user_data=_text(action.get("userData")),
    )


def checked_reply(reply: Any, *, sms: bool = False) -> dict[str, Any]:
    """The answer to send for a router's ``reply``: the reply itself, or the safe default.

    An answer that names a documented operation is sent as it is, so the platform has the last
    word on its fields; when the platform is going to refuse it (8014 for a call, a dropped SMS)
    a warning says why. Anything else (None, a failed router, an unknown shape) becomes the safe
    default: :func:`release` for a call, :func:`discard_sms` for an SMS.
    """
    read = read_sms_reply(reply) if sms else read_call_reply(reply)
    if read.operation is not None:
        if read.problem is not None:
            log.warning("x_router answer will be refused by the platform: %s", read.problem)
        return dict(reply)
    default = discard_sms() if sms else release()
    if reply is not None:
        log.warning(
            "x_router answered with no documented operation (%s); using %s", read.problem, default
        )
    return default
