"""AXYB rules (spec §7): A↔X and B↔Y, bound in two steps."""

from __future__ import annotations

from typing import Any

from ...numbers import kind
from .. import errors as e
from ..bindings import (
    DURATION_MAX,
    BindingStore,
    area_code,
    bound_route,
    flag_text,
    pick_number,
    sent,
)
from ..model import App, Binding, Route, utc
from ..params import Params


def _pre_voice(p: Params, name: str) -> Any:
    """AXYB ``preVoiceX``/``preVoiceY``: a tone file name, or an object of them (the spec does
    not say which; unconfirmed, so both are accepted and echoed as sent, less ``null`` members).
    ``None`` when nothing is left: the query then leaves the field out."""
    value = p.data.get(name)
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None} or None
    return p.tone(name)


class AxybRules:
    """AXYB: A↔X and B↔Y. B dials X to reach A; A dials Y to reach B.

    Unconfirmed: whether one X may serve several AXYB bindings (the query lists 1-5 items per X).
    We keep each number (as X or Y) in at most one binding, the simplest consistent reading.
    """

    mode = "axyb"

    def __init__(self, store: BindingStore) -> None:
        self.store = store
        self.used: dict[str, str] = {}
        store.on_remove.append(self._forget)
        store.on_yb_expiry = self.drop_yb

    def _forget(self, b: Binding) -> None:
        if b.mode == self.mode:
            self.used.pop(b.x, None)
            if b.y:
                self.used.pop(b.y, None)

    def drop_yb(self, b: Binding) -> None:
        """End the YB leg only (YB unbind or YB expiry)."""
        if b.y:
            self.used.pop(b.y, None)
        b.y = b.b = None
        b.yb_expires_at = None
        for name in ("ybDuration", "preVoiceY"):
            b.settings.pop(name, None)

    def _check_app_key(self, app: App, p: Params) -> None:
        given = p.text("app_key", max_len=128)
        if given is not None and given != app.app_key:
            raise e.PlatformError("1010003", "Invalid app_key.")

    def bind(self, app: App, p: Params, now: float) -> dict[str, Any]:
        self._check_app_key(app, p)
        sid = p.text("subscriptionId", max_len=64)
        number = p.number("origNum", required=True, user=True)
        assert number is not None
        area = area_code(p)  # required in samples; we are tolerant and pick any city without it
        match_mode = p.choice("areaMatchMode", ("0", "1"), "0") or "0"
        if sid is None:
            duration = p.integer("duration", 0, DURATION_MAX, 7200)
            if duration and duration < 60:
                raise e.invalid("duration", "must be 0 or 60-7776000.")
            settings: dict[str, Any] = {
                "duration": duration,
                "callDirection": 0,
                "recordFlag": p.flag("recordFlag"),
            }
            if p.has("callDirection"):
                settings["callDirection"] = int(p.choice("callDirection", ("0", "1", "2"), "0"))
            if p.has("recordHintTone"):
                settings["recordHintTone"] = p.tone("recordHintTone")
            if p.has("preVoiceX"):
                settings["preVoiceX"] = _pre_voice(p, "preVoiceX")
            if sent(p, "userData"):
                settings["userData"] = p.user_data()
            x = pick_number(app, area, match_mode, lambda n: n.number not in self.used, number)
            if x is None:
                raise e.no_free_number()
            b = Binding(
                self.store.new_id(),
                self.mode,
                app.app_key,
                x.number,
                number,
                now,
                now,
                expires_at=now + duration if duration else None,
                settings=settings,
            )
            self.store.add(b)
            self.used[x.number] = b.subscription_id
            return {"subscriptionId": b.subscription_id, "relationNumber": x.number}
        b = self.store.owned(app, self.mode, sid)
        if b.y is not None:
            raise e.already_bound()
        if number == b.a:
            raise e.invalid("origNum", "B must differ from A.")
        yb = p.integer("ybDuration", 0, DURATION_MAX, 0) or 0
        life = b.settings.get("duration", 0)
        if life and (yb == 0 or yb > life):
            yb = life  # 0 = as long as AX; longer than AX is capped (spec §7)
        pre_voice_y = _pre_voice(p, "preVoiceY") if p.has("preVoiceY") else None
        y = pick_number(app, area, match_mode, lambda n: n.number not in self.used, number)
        if y is None:
            raise e.no_free_number()
        # Every check is done: only now is the binding changed, so a refusal changes nothing.
        b.y, b.b = y.number, number
        b.yb_expires_at = now + yb if yb else None
        b.settings["ybDuration"] = yb
        if pre_voice_y is not None:
            b.settings["preVoiceY"] = pre_voice_y
        self.used[y.number] = b.subscription_id
        self.store.watch(b)
        b.modified = now
        return {"subscriptionId": b.subscription_id, "relationNumber": y.number}

    def unbind(self, app: App, p: Params, now: float) -> dict[str, Any]:
        self._check_app_key(app, p)
        sid = p.text("subscriptionId", max_len=64)
        y = p.number("yNum")
        bnum = p.number("bNum")
        if sid is not None:
            self.store.remove(self.store.owned(app, self.mode, sid))
            return {}
        if y is None and bnum is None:
            raise e.invalid("subscriptionId", "or yNum or bNum is required.")
        for b in self.store.of(app, self.mode):
            if (y is not None and b.y == y) or (y is None and b.b == bnum):  # yNum wins
                self.drop_yb(b)
                return {}
        raise e.not_found()

    def item(self, b: Binding) -> dict[str, Any]:
        s = b.settings
        out = {
            "bindId": b.subscription_id,
            "numA": b.a,
            "numX": b.x,
            "numY": b.y or "",
            "numB": b.b or "",
            "recordFlag": flag_text(s.get("recordFlag", False)),
            "subscribeTime": utc(b.modified),
            "callDirection": s.get("callDirection", 0),
            "duration": s.get("duration", 0),
            "ybDuration": s.get("ybDuration", 0),
        }
        for name in ("recordHintTone", "preVoiceX", "preVoiceY", "userData"):
            if s.get(name) is not None:
                out[name] = s[name]
        return out

    def query(self, app: App, p: Params, now: float) -> dict[str, Any]:
        self._check_app_key(app, p)
        sid = p.text("subscriptionId", max_len=64)
        x = p.number("relationNum")
        if sid is not None:
            found = [self.store.owned(app, self.mode, sid)]
        elif x is not None:
            found = [b for b in self.store.of(app, self.mode) if x in (b.x, b.y)]
        else:
            raise e.invalid("relationNum", "or subscriptionId is required.")
        if not found:
            raise e.not_found()
        return {"xyRelationNumList": [self.item(b) for b in found]}

    def route(self, app: App, caller: str, called: str, now: float) -> Route:
        sid = self.used.get(called)
        if sid is None:
            return Route(app, caller, called, release=8030)
        b = self.store.by_id[sid]
        allowed = b.setting("callDirection", 0)
        fixed = kind(caller) == "fixed"
        if called == b.x:
            if caller == b.a:
                return bound_route(app, caller, called, b, release=8032, party_fixed_line=fixed)
            if b.b is None:
                # No YB step yet: the platform allocates Y during the call (8031 if none is free).
                y = pick_number(app, None, "1", lambda n: n.number not in self.used)
                if y is None:
                    return bound_route(app, caller, called, b, release=8031, party_fixed_line=fixed)
                b.y, b.b = y.number, caller
                self.used[y.number] = b.subscription_id
            if caller != b.b:
                return bound_route(app, caller, called, b, release=8030, party_fixed_line=fixed)
            route = bound_route(
                app, caller, called, b, dest=b.a, display=b.y, direction=0, party_fixed_line=fixed
            )
            if allowed == 1:  # 1: A->B via Y only
                route.release = 8016
            return route
        if caller == b.b:
            return bound_route(app, caller, called, b, release=8032, party_fixed_line=fixed)
        if caller != b.a or b.b is None:
            return bound_route(app, caller, called, b, release=8030, party_fixed_line=fixed)
        route = bound_route(
            app, caller, called, b, dest=b.b, display=b.x, direction=1, party_fixed_line=fixed
        )
        if allowed == 2:  # 2: B->A via X only
            route.release = 8016
        return route

    def clear(self) -> None:
        self.used.clear()
