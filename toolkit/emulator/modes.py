"""Binding rules of AXE (extensions, spec §6) and AXYB (two-step X/Y binding, spec §7)."""

from __future__ import annotations

from typing import Any

from ..numbers import kind
from . import errors as e
from .bindings import DURATION_MAX, BindingStore, _area, _bound_route, _flag_text, _owned, _pick
from .model import App, Binding, Route, utc
from .params import Params

_AXE_FIELDS = (
    "displayNumMode",
    "recordFlag",
    "recordHintTone",
    "callbackTone",
    "callbackNum",
    "timeUnit",
    "bindExpiredTime",
    "callbackExpiredTime",
    "userData",
)


def no_idle_extension() -> e.PlatformError:
    return e.PlatformError("1020167", "No idle extend Number.")


class AxeRules:
    """AXE: X + extension E identifies A; extensions unique per X; callback records for A."""

    mode = "axe"

    def __init__(self, store: BindingStore) -> None:
        self.store = store
        self.ext: dict[tuple[str, str], str] = {}
        self.a_on_x: dict[tuple[str, str], str] = {}
        store.on_remove.append(self._forget)

    def _forget(self, b: Binding) -> None:
        if b.mode == self.mode:
            self.ext.pop((b.x, b.extension), None)  # type: ignore[arg-type]
            self.a_on_x.pop((b.x, b.a), None)

    def _free_extension(self, app: App, x: str) -> str | None:
        n = app.extension_length
        # Extensions are n digits, 1 .. 10**n - 1: at most 9 / 99 / 999 / 9999 per X (spec §6).
        return next(
            (f"{i:0{n}d}" for i in range(1, 10**n) if (x, f"{i:0{n}d}") not in self.ext), None
        )

    def _settings(self, app: App, p: Params, base: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        if p.has("displayNumMode"):
            out["displayNumMode"] = p.choice("displayNumMode", ("0", "1"))
        if p.has("recordFlag"):
            out["recordFlag"] = p.flag("recordFlag")
        if p.has("recordHintTone"):
            out["recordHintTone"] = p.tone("recordHintTone")
        tone, number = p.tone("callbackTone"), p.number("callbackNum")
        if tone is not None and number is not None:
            raise e.invalid("callbackNum", "and callbackTone are mutually exclusive.")
        if tone is not None:
            out["callbackTone"], out["callbackNum"] = tone, None
        if number is not None:
            out["callbackNum"], out["callbackTone"] = number, None
        if p.has("timeUnit"):
            out["timeUnit"] = p.choice("timeUnit", ("0", "1"))
        for name in ("bindExpiredTime", "callbackExpiredTime"):
            if p.has(name):
                # Range unconfirmed (a 2019 comment says hours 0-720); we refuse only negatives
                # and more than 90 days in minutes.
                out[name] = p.integer(name, 0, 129_600)
        if "userData" in p.data:
            out["userData"] = p.user_data()
        return out

    @staticmethod
    def _unit(settings: dict[str, Any]) -> int:
        # timeUnit "0" hours (default, unconfirmed), "1" minutes.
        return 60 if settings.get("timeUnit") == "1" else 3600

    def bind(self, app: App, p: Params, now: float) -> dict[str, Any]:
        a = p.number("bindNum", required=True, user=True)
        assert a is not None
        virtual = p.number("virtualNum")
        area = _area(p)
        match_mode = p.choice("areaMatchMode", ("0", "1"), "0")
        wanted = p.text("extendNum", max_len=4)
        if wanted is not None and not (
            wanted.isdigit() and len(wanted) == app.extension_length and int(wanted) > 0
        ):
            raise e.invalid("extendNum", f"must be {app.extension_length} digits.")
        if virtual is None and area is None:
            raise e.invalid("virtualNum", "or areaCode is required.")
        settings = self._settings(
            app,
            p,
            {
                "displayNumMode": "0",
                "recordFlag": False,
                "timeUnit": "0",
                "bindExpiredTime": 0,
                "callbackExpiredTime": 0,
            },
        )
        if virtual is not None:
            x = _owned(app, virtual, e.not_applied).number
            if (x, a) in self.a_on_x:
                raise e.axe_exists()  # one E per A on an X; code unconfirmed, 1016002 fits best
            if wanted is not None and (x, wanted) in self.ext:
                raise e.axe_exists()
        else:

            def fits(n: Any) -> bool:
                if (n.number, a) in self.a_on_x:
                    return False
                if wanted is not None:
                    return (n.number, wanted) not in self.ext
                return self._free_extension(app, n.number) is not None

            picked = _pick(app, area, match_mode or "0", fits, a)
            if picked is None:
                raise no_idle_extension()
            x = picked.number
        extension = wanted or self._free_extension(app, x)
        if extension is None:
            raise no_idle_extension()
        lifetime = settings["bindExpiredTime"] * self._unit(settings)
        binding = Binding(
            self.store.new_id(),
            self.mode,
            app.app_key,
            x,
            a,
            now,
            now,
            extension=extension,
            expires_at=now + lifetime if lifetime else None,
            settings=settings,
        )
        self.store.add(binding)
        self.ext[(x, extension)] = self.a_on_x[(x, a)] = binding.subscription_id
        return {
            "subscriptionId": binding.subscription_id,
            "virtualNum": x,
            "extendNum": extension,
            "bindNum": a,
        }

    def _locate(self, app: App, p: Params) -> Binding:
        sid = p.text("subscriptionId", max_len=64)
        virtual = p.number("virtualNum")
        extension = p.text("extendNum", max_len=4)
        if sid is None:
            if virtual is None or extension is None:
                raise e.invalid("subscriptionId", "or virtualNum with extendNum is required.")
            sid = self.ext.get((virtual, extension))
        return self.store.owned(app, self.mode, sid, e.axe_not_found)

    def unbind(self, app: App, p: Params, now: float) -> dict[str, Any]:
        self.store.remove(self._locate(app, p))
        return {}

    def modify(self, app: App, p: Params, now: float) -> dict[str, Any]:
        b = self._locate(app, p)
        changed = self._settings(app, p, b.settings)
        # Only AXB can change a binding's lifetime (spec §4.3, §6.3): the stored value changes but
        # the expiry set at bind time stays, as the query API "reports the bind-time value".
        changed["bindExpiredTime"] = b.settings.get("bindExpiredTime", 0)
        changed["timeUnit"] = b.settings.get("timeUnit", "0")
        b.settings = changed
        b.modified = now
        return {}

    def item(self, b: Binding) -> dict[str, Any]:
        s = b.settings
        out = {
            "subscriptionId": b.subscription_id,
            "virtualNum": b.x,
            "extendNum": b.extension,
            "bindNum": b.a,
            "displayNumMode": s.get("displayNumMode", "0"),
            "recordFlag": _flag_text(s.get("recordFlag", False)),
            "timeUnit": s.get("timeUnit", "0"),
            "bindExpiredTime": s.get("bindExpiredTime", 0),
            "callbackExpiredTime": s.get("callbackExpiredTime", 0),
        }
        for name in ("recordHintTone", "callbackTone", "callbackNum", "userData"):
            if s.get(name) is not None:
                out[name] = s[name]
        return out

    def query(self, app: App, p: Params, now: float) -> dict[str, Any]:
        return self.item(self._locate(app, p))

    def query_v2(self, app: App, p: Params, now: float) -> dict[str, Any]:
        """Cursor paging over one X. Response schema unconfirmed: we answer ``bindInfoList`` plus
        the next cursor under the documented spelling ``nextCusor`` and under ``nextCursor``."""
        if p.has("subscriptionId") or (p.has("virtualNum") and p.has("extendNum")):
            found = [self._locate(app, p)]
            return {
                "bindInfoList": [self.item(b) for b in found],
                "nextCusor": "",
                "nextCursor": "",
                "totalCount": 1,
            }
        virtual = p.number("virtualNum", required=True)
        cursor = p.text("cursor", max_len=40) or "0000000000000_0"
        stamp, _, seq = cursor.partition("_")
        if len(stamp) != 13 or not stamp.isdigit() or not seq.isdigit() or len(seq) > 20:
            raise e.invalid("cursor")
        limit = p.integer("limit", 1, 1000, 50) or 50  # range unconfirmed
        if virtual not in app.numbers:
            raise e.not_applied()
        mine = sorted(
            (self.store.by_id[s] for (x, _), s in self.ext.items() if x == virtual),
            key=lambda b: int(b.extension or 0),
        )
        start = int(seq)
        page = mine[start : start + limit]
        more = start + limit < len(mine)
        nxt = f"{int(now * 1000):013d}_{start + limit}" if more else ""
        return {
            "bindInfoList": [self.item(b) for b in page],
            "nextCusor": nxt,
            "nextCursor": nxt,
            "totalCount": len(mine),
        }

    def route(self, app: App, caller: str, x: str, extension: str | None, now: float) -> Route:
        mine = self.a_on_x.get((x, caller))
        if mine is not None:  # A dials X: call back the last party that reached A
            b = self.store.by_id[mine]
            route = _bound_route(
                app, caller, x, b, display=x, direction=1, party_fixed_line=kind(caller) == "fixed"
            )
            valid = b.callback_party and (
                b.callback_expires_at is None or b.callback_expires_at > now
            )
            if valid:
                route.dest = b.callback_party
            elif b.setting("callbackNum"):
                route.dest = b.setting("callbackNum")
            else:
                route.release = 8019  # callbackTone (if any) is played, then the call ends
            return route
        if extension in (None, ""):
            return Route(app, caller, x, release=8033, extension="")
        sid = self.ext.get((x, extension))
        if sid is None:
            return Route(app, caller, x, release=8022, extension=extension)
        b = self.store.by_id[sid]
        display = caller if b.setting("displayNumMode") == "1" else x
        route = _bound_route(
            app, caller, x, b, dest=b.a, display=display, direction=0, extension=extension
        )
        seconds = b.setting("callbackExpiredTime", 0) * self._unit(b.settings)
        b.callback_party = caller
        b.callback_expires_at = now + seconds if seconds else None
        return route

    def clear(self) -> None:
        self.ext.clear()
        self.a_on_x.clear()


def _pre_voice(p: Params, name: str) -> Any:
    """AXYB ``preVoiceX``/``preVoiceY``: a tone file name, or an object of them (the spec does
    not say which; unconfirmed, so both are accepted and echoed as sent)."""
    return p.data[name] if isinstance(p.data[name], dict) else p.tone(name)


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
        area = _area(p)  # required in samples; we are tolerant and pick any city without it
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
                settings["callDirection"] = int(p.choice("callDirection", ("0", "1", "2")))  # type: ignore[arg-type]
            if p.has("recordHintTone"):
                settings["recordHintTone"] = p.tone("recordHintTone")
            if p.has("preVoiceX"):
                settings["preVoiceX"] = _pre_voice(p, "preVoiceX")
            if "userData" in p.data:
                settings["userData"] = p.user_data()
            x = _pick(app, area, match_mode, lambda n: n.number not in self.used, number)
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
        y = _pick(app, area, match_mode, lambda n: n.number not in self.used, number)
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
            "recordFlag": _flag_text(s.get("recordFlag", False)),
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
                return _bound_route(app, caller, called, b, release=8032, party_fixed_line=fixed)
            if b.b is None:
                # No YB step yet: the platform allocates Y during the call (8031 if none is free).
                y = _pick(app, None, "1", lambda n: n.number not in self.used)
                if y is None:
                    return _bound_route(
                        app, caller, called, b, release=8031, party_fixed_line=fixed
                    )
                b.y, b.b = y.number, caller
                self.used[y.number] = b.subscription_id
            if caller != b.b:
                return _bound_route(app, caller, called, b, release=8030, party_fixed_line=fixed)
            route = _bound_route(
                app, caller, called, b, dest=b.a, display=b.y, direction=0, party_fixed_line=fixed
            )
            if allowed == 1:  # 1: A->B via Y only
                route.release = 8016
            return route
        if caller == b.b:
            return _bound_route(app, caller, called, b, release=8032, party_fixed_line=fixed)
        if caller != b.a or b.b is None:
            return _bound_route(app, caller, called, b, release=8030, party_fixed_line=fixed)
        route = _bound_route(
            app, caller, called, b, dest=b.b, display=b.x, direction=1, party_fixed_line=fixed
        )
        if allowed == 2:  # 2: B->A via X only
            route.release = 8016
        return route

    def clear(self) -> None:
        self.used.clear()
