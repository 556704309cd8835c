"""X mode rules (spec §10.1): no binding; each call to X asks the customer's server where to go.

The platform pushes ``callin`` in Block mode and follows the reply: connect to a number, close
the call, or (no usable reply) release it with 8014.
"""

from __future__ import annotations

from typing import Any

from ... import xmode
from ..model import App, Route, utc
from ..pushes import Pushes


def block_route(app: App, caller: str, x: str, sid: str, now: float, pushes: Pushes) -> Route:
    """Route a call to ``x``: push ``callin`` in Block mode and follow the customer's reply."""
    route = Route(
        app, caller, x, x_mode=True, direction=0, extra={"areaCode": app.numbers[x].area_code}
    )
    if not app.numbers[x].usable:
        route.release = 8055
        return route
    body = {
        "eventType": "callin",
        "statusInfo": {
            "sessionId": sid,
            "timestamp": utc(now),
            "caller": caller,
            "called": x,
            "notifyMode": "Block",
        },
    }
    reply = pushes.ask(app, "status", app.status_url, body) if app.status_url else None
    return apply_block_reply(route, reply)


def apply_block_reply(route: Route, reply: Any) -> Route:
    """Route an X-mode call by the customer's Block reply to ``callin``, read by the same
    :func:`toolkit.xmode.read_call_reply` the receiver checks its router's answers with."""
    answer = xmode.read_call_reply(reply)
    if not answer.ok:
        route.release = 8014  # the platform releases a call it cannot route (spec §10.1)
    elif answer.operation == "close":
        route.release = 8017
    else:
        route.dest, route.display = answer.callee, answer.display or route.called
        route.max_duration, route.record = answer.max_duration, answer.record
    if answer.ok and answer.user_data is not None:
        route.user_data = answer.user_data
    return route
