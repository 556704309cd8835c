"""Binding rules of the four binding modes (spec §4-§7), one class per mode.

Each class owns the indexes of its mode and answers the API operations with the platform's field
names. Every method runs under the backend's lock and takes ``now`` from the backend's clock, so
expiry is testable with a manual clock. :meth:`route` decides how a call to X is handled.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from ..numbers import kind
from . import errors as e
from .model import App, Binding, Route, XNumber, same_area, utc
from .params import Params

AXB_MAX_PAIRS = 5000
AX_MAX_X_PER_A = 5
DURATION_MAX = 7_776_000


class BindingStore:
    """All bindings by subscription id, plus expiry bookkeeping shared by the modes."""

    def __init__(self, new_id: Callable[[], str]) -> None:
        self.by_id: dict[str, Binding] = {}
        self.new_id = new_id
        self._expiry: list[tuple[float, str]] = []
        self.on_remove: list[Callable[[Binding], None]] = []
        # Ends an AXYB binding's YB leg only; set by the AXYB rules, which own that leg.
        self.on_yb_expiry: Callable[[Binding], None] = lambda binding: None

    def add(self, binding: Binding) -> None:
        self.by_id[binding.subscription_id] = binding
        self.watch(binding)

    def watch(self, binding: Binding) -> None:
        """Note the binding's (new) expiry time; the sweep checks it is still current."""
        for when in (binding.expires_at, binding.yb_expires_at):
            if when is not None:
                heapq.heappush(self._expiry, (when, binding.subscription_id))

    def remove(self, binding: Binding) -> None:
        if self.by_id.pop(binding.subscription_id, None) is not None:
            for hook in self.on_remove:
                hook(binding)

    def sweep(self, now: float) -> None:
        """Remove bindings (or AXYB YB legs) whose lifetime ended at or before ``now``."""
        while self._expiry and self._expiry[0][0] <= now:
            _, sid = heapq.heappop(self._expiry)
            binding = self.by_id.get(sid)
            if binding is None:
                continue
            if binding.expires_at is not None and binding.expires_at <= now:
                self.remove(binding)
            elif binding.yb_expires_at is not None and binding.yb_expires_at <= now:
                self.on_yb_expiry(binding)

    def owned(
        self,
        app: App,
        mode: str,
        sid: str | None,
        missing: Callable[[], e.PlatformError] = e.not_found,
    ) -> Binding:
        """Binding ``sid`` if it is one of ``app``'s bindings in ``mode``; else ``missing()``."""
        binding = self.by_id.get(sid) if sid else None
        if binding is None or binding.app_key != app.app_key or binding.mode != mode:
            raise missing()
        return binding

    def of(self, app: App, mode: str) -> Iterable[Binding]:
        return (b for b in self.by_id.values() if b.app_key == app.app_key and b.mode == mode)

    def clear(self) -> None:
        self.by_id.clear()
        self._expiry.clear()


def _area(p: Params, name: str = "areaCode") -> str | None:
    value = p.text(name, max_len=32)
    if value is not None and not value.isdigit():
        raise e.invalid(name)
    return value


def _expiry(now: float, seconds: int | None) -> float | None:
    return now + seconds if seconds else None


def _pick(
    app: App,
    area: str | None,
    match_mode: str,
    ok: Callable[[XNumber], bool],
    anchor: str | None = None,
    load: Callable[[XNumber], int] | None = None,
) -> XNumber | None:
    """Choose a free X: same city first (``areaCode``, else the A number's city when it is a fixed
    line); with ``areaMatchMode`` ``"1"`` fall back to other cities.

    A mobile number's home city is not knowable offline, so without ``areaCode`` a mobile A may
    get an X of any city (the platform would use its number database). With ``load`` the least
    loaded fitting X wins (pool order breaks ties); how the platform spreads bindings over a pool
    is not documented, and spreading them is what keeps one X from carrying all the traffic.
    """
    if area is None and anchor is not None and kind(anchor) == "fixed":
        national = anchor[3:]
        area = national[:2] if national[:2] in ("10",) or national[0] == "2" else national[:3]
    pool = [n for n in app.numbers.values() if n.bindable]

    def best(candidates: list[XNumber]) -> XNumber | None:
        fitting = [n for n in candidates if ok(n)]
        if not fitting:
            return None
        return min(fitting, key=load) if load is not None else fitting[0]

    if area is None:
        return best(pool)
    same = best([n for n in pool if same_area(n.area_code, area)])
    if same is not None or match_mode != "1":
        return same
    return best(pool)


def _owned(app: App, number: str, code: Callable[[], e.PlatformError]) -> XNumber:
    x = app.numbers.get(number)
    if x is None:
        raise code()
    if not x.bindable:
        raise e.number_abnormal()
    return x


def _common(p: Params, out: dict[str, Any]) -> None:
    """Optional fields shared by AXB and AX bind/modify, stored as the platform echoes them."""
    if p.has("recordFlag"):
        out["recordFlag"] = p.flag("recordFlag")
    for name in ("recordHintTone", "lastMinVoice"):
        if p.has(name):
            out[name] = p.tone(name)
    if p.has("maxDuration"):
        out["maxDuration"] = p.integer("maxDuration", 0, 1440)
    if p.has("privateSms"):
        out["privateSms"] = p.flag("privateSms", True)
    if p.has("callDirection"):
        out["callDirection"] = int(p.choice("callDirection", ("0", "1", "2")))  # type: ignore[arg-type]
    if "preVoice" in p.data:
        pre = p.object("preVoice") or {}
        for tone in ("callerHintTone", "calleeHintTone"):
            if pre.get(tone) is not None and not (
                isinstance(pre[tone], str) and 0 < len(pre[tone]) <= 128
            ):
                raise e.invalid("preVoice." + tone)
        out["preVoice"] = {
            k: v for k, v in pre.items() if k in ("callerHintTone", "calleeHintTone")
        }
    if "userData" in p.data:
        out["userData"] = p.user_data()


def _bound_route(app: App, caller: str, called: str, b: Binding, **fields: Any) -> Route:
    """A call routed through binding ``b``: the binding's recording flag and userData apply."""
    return Route(
        app,
        caller,
        called,
        binding=b,
        record=bool(b.setting("recordFlag")),
        user_data=b.setting("userData"),
        **fields,
    )


def _flag_text(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


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
            if self.user_on_x.get((b.x, user)) == b.subscription_id:  # type: ignore[arg-type]
                del self.user_on_x[(b.x, user)]  # type: ignore[index]

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
        area = _area(p)
        match_mode = p.choice("areaMatchMode", ("0", "1"), "0")
        duration = p.integer("duration", 0, DURATION_MAX, 0)
        settings: dict[str, Any] = {"callDirection": 0, "maxDuration": 0, "recordFlag": False}
        _common(p, settings)
        settings["duration"] = duration
        if relation is not None:  # relationNum wins over areaCode
            x = _owned(app, relation, e.not_applied)
            if (x.number, a) in self.user_on_x or (x.number, b) in self.user_on_x:
                raise e.already_bound()
            if len(self.on_x.get(x.number, ())) >= self.max_pairs:
                raise e.no_free_number()
        else:
            picked = _pick(
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
            expires_at=_expiry(now, duration),
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
        _common(p, changes)
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
            binding.expires_at = _expiry(now, changes["duration"])
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
            "recordFlag": _flag_text(s.get("recordFlag", False)),
            "subscribeTime": utc(b.modified),
        }
        for name in ("recordHintTone", "lastMinVoice", "privateSms", "preVoice", "userData"):
            if s.get(name) is not None:
                out[name] = _flag_text(s[name])
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
        route = _bound_route(
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
        area = _area(p)
        match_mode = p.choice("areaMatchMode", ("0", "1"), "0")
        if private is None and area is None:
            raise e.invalid("privateNum", "or areaCode is required.")
        if private is None and p.text("privateNumType") != "mobile-virtual":
            raise e.invalid("privateNumType", "must be mobile-virtual with areaCode.")
        settings: dict[str, Any] = {"callDirection": 0, "maxDuration": 0, "recordFlag": False}
        _common(p, settings)
        for name, allowed in (("calleeNumDisplay", ("0", "1")), ("turnFlag", ("on", "off"))):
            if p.has(name):
                settings[name] = p.choice(name, allowed)
        if len(self.of_a.get(a, ())) >= AX_MAX_X_PER_A:
            raise e.too_many_numbers()
        if private is not None:
            x = _owned(app, private, e.not_this_apps)
            if x.number in self.owner:
                raise e.PlatformError("1011005", "Resources have been allocated.")
        else:
            picked = _pick(app, area, match_mode or "0", lambda n: n.number not in self.owner)
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
        _common(p, changes)
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
        b.temp_callee_expires_at = _expiry(now, duration)
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
            "recordFlag": _flag_text(s.get("recordFlag", False)),
            "privateSms": _flag_text(s.get("privateSms", True)),
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
            route = _bound_route(
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
        route = _bound_route(
            app, caller, x, b, dest=b.a, display=display, direction=0, max_duration=limit
        )
        if allowed == 1:
            route.release = 8016
        return route

    def clear(self) -> None:
        self.owner.clear()
        self.of_a.clear()
