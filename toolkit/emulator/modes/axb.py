"""AXB rules (spec §4): A and B share a privacy number X."""

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

AXB_MAX_PAIRS = 5000


class AxbRules:
    """AXB: A and B share X; ≤ 5000 pairs per X; a user number at most once per X."""

    mode = "axb"

    def __init__(self, store: BindingStore) -> None:
        self.store = store
        self.on_x: dict[str, set[str]] = {}
        self.user_on_x: dict[tuple[str, str], str] = {}
        self.max_pairs = AXB_MAX_PAIRS
        store.on_remove.append(self._forget)

    def _forget(self, b: Binding) -> None:
        if b.mode != self.mode:
            return
        self.on_x.get(b.x, set()).discard(b.subscription_id)
        for user in (b.a, b.b):
            if user is not None and self.user_on_x.get((b.x, user)) == b.subscription_id:
                del self.user_on_x[(b.x, user)]

    def _free(self, x: str, a: str, b: str) -> bool:
        return (
            len(self.on_x.get(x, ())) < self.max_pairs
            and (x, a) not in self.user_on_x
            and (x, b) not in self.user_on_x
        )

    def bind(self, app: App, p: Params, now: float) -> dict[str, Any]:
        a = p.number("callerNum", required=True, user=True)
        b = p.number("calleeNum", required=True, user=True)
        assert a is not None and b is not None
        if a == b:
            raise e.invalid("calleeNum", "must differ from callerNum.")
        relation = p.number("relationNum")
        area = area_code(p)
        match_mode = p.choice("areaMatchMode", ("0", "1"), "0")
        duration = p.integer("duration", 0, DURATION_MAX, 0)
        settings: dict[str, Any] = {"callDirection": 0, "maxDuration": 0, "recordFlag": False}
        common_settings(p, settings)
        settings["duration"] = duration
        if relation is not None:  # relationNum wins over areaCode
            x = owned_number(app, relation, e.not_applied)
            if (x.number, a) in self.user_on_x or (x.number, b) in self.user_on_x:
                raise e.already_bound()
            if len(self.on_x.get(x.number, ())) >= self.max_pairs:
                raise e.no_free_number()
        else:
            picked = pick_number(
                app,
                area,
                match_mode or "0",
                lambda n: self._free(n.number, a, b),
                a,
                load=lambda n: len(self.on_x.get(n.number, ())),
            )
            if picked is None:
                raise e.no_free_number()
            x = picked
        binding = Binding(
            self.store.new_id(),
            self.mode,
            app.app_key,
            x.number,
            a,
            now,
            now,
            b=b,
            expires_at=expiry(now, duration),
            settings=settings,
        )
        self.store.add(binding)
        self.on_x.setdefault(x.number, set()).add(binding.subscription_id)
        self.user_on_x[(x.number, a)] = self.user_on_x[(x.number, b)] = binding.subscription_id
        return {
            "subscriptionId": binding.subscription_id,
            "relationNum": x.number,
            "callDirection": settings["callDirection"],
            "duration": duration,
            "maxDuration": settings["maxDuration"],
        }

    def unbind(self, app: App, p: Params, now: float) -> dict[str, Any]:
        sid = p.text("subscriptionId", max_len=64)
        relation = p.number("relationNum")
        if sid is not None:  # subscriptionId wins
            self.store.remove(self.store.owned(app, self.mode, sid))
        elif relation is not None:
            if relation not in app.numbers:
                raise e.not_applied()
            sids = list(self.on_x.get(relation, ()))
            if not sids:
                raise e.not_found()
            # Unconfirmed whether relationNum alone removes every pair on X (samples use it for
            # one pair); we remove them all, which is the same thing for a single pair.
            for one in sids:
                self.store.remove(self.store.by_id[one])
        else:
            raise e.invalid("subscriptionId", "or relationNum is required.")
        return {}

    def modify(self, app: App, p: Params, now: float) -> dict[str, Any]:
        sid = p.text("subscriptionId", required=True, max_len=64)
        binding = self.store.owned(app, self.mode, sid)
        new_a = p.number("callerNum", user=True)
        new_b = p.number("calleeNum", user=True)
        changes: dict[str, Any] = {}
        common_settings(p, changes)
        if p.has("duration"):
            changes["duration"] = p.integer("duration", 0, DURATION_MAX, 0)
        for old, new in ((binding.a, new_a), (binding.b, new_b)):
            if new is not None and new != old and (binding.x, new) in self.user_on_x:
                raise e.already_bound()
        if (new_a or binding.a) == (new_b or binding.b):
            raise e.invalid("calleeNum", "must differ from callerNum.")
        # Every check is done: only now is the binding changed, so a refusal changes nothing.
        for attr, new in (("a", new_a), ("b", new_b)):
            old = getattr(binding, attr)
            if new is not None and new != old:
                del self.user_on_x[(binding.x, old)]
                self.user_on_x[(binding.x, new)] = binding.subscription_id
                setattr(binding, attr, new)
        if "duration" in changes:
            # A new duration restarts the lifetime from the modify time (spec §4.3).
            binding.expires_at = expiry(now, changes["duration"])
            self.store.watch(binding)
        binding.settings.update(changes)
        binding.modified = now
        return {}

    def item(self, b: Binding) -> dict[str, Any]:
        s = b.settings
        out = {
            "subscriptionId": b.subscription_id,
            "relationNum": b.x,
            "callerNum": b.a,
            "calleeNum": b.b,
            "callDirection": s.get("callDirection", 0),
            "duration": s.get("duration", 0),
            "maxDuration": s.get("maxDuration", 0),
            "recordFlag": flag_text(s.get("recordFlag", False)),
            "subscribeTime": utc(b.modified),
        }
        for name in ("recordHintTone", "lastMinVoice", "privateSms", "preVoice", "userData"):
            if s.get(name) is not None:
                out[name] = flag_text(s[name])
        return out

    def query(self, app: App, p: Params, now: float) -> dict[str, Any]:
        sid = p.text("subscriptionId", max_len=64)
        relation = p.number("relationNum")
        caller = p.number("callerNum")
        callee = p.number("calleeNum")
        page = p.integer("pageIndex", 1, 10**9, 1) or 1
        try:
            size = p.integer("pageSize", 10, 100, 50) or 50
        except e.PlatformError:
            size = 50  # documented: absent or out of range means 50
        if sid is not None:
            found = [self.store.owned(app, self.mode, sid)]
        elif relation is not None:
            if relation not in app.numbers:
                raise e.not_applied()
            found = sorted(
                (self.store.by_id[s] for s in self.on_x.get(relation, ())),
                key=lambda b: (b.created, b.subscription_id),
            )
            found = [
                b
                for b in found
                if (caller is None or b.a == caller) and (callee is None or b.b == callee)
            ]
        else:
            raise e.invalid("relationNum", "or subscriptionId is required.")
        if not found:
            raise e.not_found()
        chunk = found[(page - 1) * size : page * size]
        return {
            "app_key": app.app_key,
            "pageIndex": page,
            "pageSize": size,
            "totalCount": len(found),
            "relationNumList": [self.item(b) for b in chunk],
        }

    def route(self, app: App, caller: str, x: str, now: float) -> Route:
        sid = self.user_on_x.get((x, caller))
        if sid is None:
            return Route(app, caller, x, release=8014)
        b = self.store.by_id[sid]
        direction = 1 if caller == b.a else 0
        dest = b.b if direction == 1 else b.a
        allowed = b.setting("callDirection", 0)
        route = bound_route(
            app,
            caller,
            x,
            b,
            dest=dest,
            display=x,
            direction=direction,
            max_duration=b.setting("maxDuration", 0) or 0,
            party_fixed_line=kind(caller) == "fixed",
        )
        # callDirection 1: only callerNum -> calleeNum; 2: only calleeNum -> callerNum.
        if (allowed == 1 and direction == 0) or (allowed == 2 and direction == 1):
            route.release = 8016
        return route

    def clear(self) -> None:
        self.on_x.clear()
        self.user_on_x.clear()
