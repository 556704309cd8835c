"""AX rules (spec §5): X belongs to one A, who calls out through a temporary callee."""

from __future__ import annotations

from typing import Any

from ...numbers import kind
from .. import errors as e
from ..bindings import (
    DURATION_MAX,
    BindingStore,
    area_code,
    bound_route,
    common_settings,
    expiry,
    flag_text,
    owned_number,
    pick_number,
)
from ..model import App, Binding, Route, utc
from ..params import Params

AX_MAX_X_PER_A = 5


class AxRules:
    """AX: X belongs to one A; ≤ 5 X per A; A calls out through a temporary callee."""

    mode = "ax"

    def __init__(self, store: BindingStore) -> None:
        self.store = store
        self.owner: dict[str, str] = {}
        self.of_a: dict[str, set[str]] = {}
        store.on_remove.append(self._forget)

    def _forget(self, b: Binding) -> None:
        if b.mode == self.mode:
            self.owner.pop(b.x, None)
            self.of_a.get(b.a, set()).discard(b.subscription_id)

    def bind(self, app: App, p: Params, now: float) -> dict[str, Any]:
        a = p.number("origNum", required=True, user=True)
        assert a is not None
        private = p.number("privateNum")
        area = area_code(p)
        match_mode = p.choice("areaMatchMode", ("0", "1"), "0")
        if private is None and area is None:
            raise e.invalid("privateNum", "or areaCode is required.")
        if private is None and p.text("privateNumType") != "mobile-virtual":
            raise e.invalid("privateNumType", "must be mobile-virtual with areaCode.")
        settings: dict[str, Any] = {"callDirection": 0, "maxDuration": 0, "recordFlag": False}
        common_settings(p, settings)
        for name, allowed in (("calleeNumDisplay", ("0", "1")), ("turnFlag", ("on", "off"))):
            if p.has(name):
                settings[name] = p.choice(name, allowed)
        if len(self.of_a.get(a, ())) >= AX_MAX_X_PER_A:
            raise e.too_many_numbers()
        if private is not None:
            x = owned_number(app, private, e.not_this_apps)
            if x.number in self.owner:
                raise e.PlatformError("1011005", "Resources have been allocated.")
        else:
            picked = pick_number(app, area, match_mode or "0", lambda n: n.number not in self.owner)
            if picked is None:
                raise e.PlatformError("1011002", "Insufficient number of resources.")
            x = picked
        binding = Binding(
            self.store.new_id(), self.mode, app.app_key, x.number, a, now, now, settings=settings
        )
        self.store.add(binding)
        self.owner[x.number] = binding.subscription_id
        self.of_a.setdefault(a, set()).add(binding.subscription_id)
        return {"origNum": a, "privateNum": x.number, "subscriptionId": binding.subscription_id}

    def _locate(self, app: App, p: Params, *, unbind: bool = False) -> Binding:
        sid = p.text("subscriptionId", max_len=64)
        private = p.number("privateNum")
        if sid is None:
            if private is None:
                raise e.invalid("subscriptionId", "or privateNum is required.")
            if private not in app.numbers:
                if unbind:
                    raise e.PlatformError("1011004", "The number does not belong to the app.")
                raise e.not_this_apps()
            sid = self.owner.get(private)
        return self.store.owned(app, self.mode, sid)

    def unbind(self, app: App, p: Params, now: float) -> dict[str, Any]:
        # Current docs: origNum is "not parsed"; older ones pair it with privateNum. We ignore it.
        self.store.remove(self._locate(app, p, unbind=True))
        return {}

    def modify(self, app: App, p: Params, now: float) -> dict[str, Any]:
        b = self._locate(app, p)
        changes: dict[str, Any] = {}
        common_settings(p, changes)
        for name, allowed in (("calleeNumDisplay", ("0", "1")), ("turnFlag", ("on", "off"))):
            if p.has(name):
                changes[name] = p.choice(name, allowed)
        b.settings.update(changes)
        b.modified = now
        return {}

    def set_callee(self, app: App, p: Params, now: float) -> dict[str, Any]:
        b = self._locate(app, p)
        # 400/95 numbers are allowed as a temporary callee (spec §0).
        callee = p.number("calleeNum", required=True)
        duration = p.integer("duration", 0, DURATION_MAX, 0)
        user_data = p.user_data()
        b.temp_callee = callee
        # Unconfirmed: range and default of duration. Absent/0 = valid until replaced or unbound.
        b.temp_callee_expires_at = expiry(now, duration)
        if user_data is not None:
            b.settings["calleeUserData"] = user_data
        return {}

    def item(self, b: Binding) -> dict[str, Any]:
        s = b.settings
        out = {
            "subscriptionId": b.subscription_id,
            "origNum": b.a,
            "privateNum": b.x,
            "calleeNumDisplay": s.get("calleeNumDisplay", "0"),
            "recordFlag": flag_text(s.get("recordFlag", False)),
            "privateSms": flag_text(s.get("privateSms", True)),
            "maxDuration": s.get("maxDuration", 0),
            "callDirection": s.get("callDirection", 0),
            "turnFlag": s.get("turnFlag", "on"),
            "subscribeTime": utc(b.modified),
        }
        for name in ("recordHintTone", "lastMinVoice", "preVoice", "userData"):
            if s.get(name) is not None:
                out[name] = s[name]
        return out

    def query(self, app: App, p: Params, now: float) -> dict[str, Any]:
        sid = p.text("subscriptionId", max_len=64)
        a = p.number("origNum")
        private = p.number("privateNum")
        if sid is not None:  # precedence subscriptionId > origNum > privateNum
            found = [self._locate(app, p)]
        elif a is not None:
            found = sorted(
                (
                    self.store.by_id[s]
                    for s in self.of_a.get(a, ())
                    if self.store.by_id[s].app_key == app.app_key
                ),
                key=lambda b: b.created,
            )
        elif private is not None:
            found = [self._locate(app, p)]
        else:
            raise e.invalid("origNum", "or privateNum or subscriptionId is required.")
        if not found:
            raise e.not_found()
        return {"privateNumList": [self.item(b) for b in found]}

    def route(self, app: App, caller: str, x: str, now: float) -> Route:
        sid = self.owner.get(x)
        if sid is None:
            return Route(app, caller, x, release=8014)
        b = self.store.by_id[sid]
        allowed = b.setting("callDirection", 0)
        limit = b.setting("maxDuration", 0) or 0
        if caller == b.a:
            route = bound_route(
                app,
                caller,
                x,
                b,
                direction=1,
                display=x,
                max_duration=limit,
                party_fixed_line=kind(caller) == "fixed",
            )
            expired = b.temp_callee_expires_at is not None and b.temp_callee_expires_at <= now
            if allowed == 2:
                route.release = 8016
            elif b.temp_callee is None or expired:
                route.release = 8013
            else:
                route.dest = b.temp_callee
            return route
        # calleeNumDisplay "1" shows the real caller to A (carriers now require X: 8024 may
        # result on the live platform; we honour the setting).
        display = caller if b.setting("calleeNumDisplay") == "1" else x
        route = bound_route(
            app, caller, x, b, dest=b.a, display=display, direction=0, max_duration=limit
        )
        if allowed == 1:
            route.release = 8016
        return route

    def clear(self) -> None:
        self.owner.clear()
        self.of_a.clear()
