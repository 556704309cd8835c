"""AXE rules (spec §6): X plus an extension E identifies A."""

from __future__ import annotations

from typing import Any

from ...numbers import kind
from .. import errors as e
from ..bindings import (
    BindingStore,
    area_code,
    bound_route,
    flag_text,
    owned_number,
    pick_number,
    sent,
)
from ..model import App, Binding, Route
from ..params import Params

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
            if b.extension is not None:
                self.ext.pop((b.x, b.extension), None)
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
        if sent(p, "userData"):
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
        area = area_code(p)
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
            x = owned_number(app, virtual, e.not_applied).number
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

            picked = pick_number(app, area, match_mode or "0", fits, a)
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
            "recordFlag": flag_text(s.get("recordFlag", False)),
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
            route = bound_route(
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
        route = bound_route(
            app, caller, x, b, dest=b.a, display=display, direction=0, extension=extension
        )
        seconds = b.setting("callbackExpiredTime", 0) * self._unit(b.settings)
        b.callback_party = caller
        b.callback_expires_at = now + seconds if seconds else None
        return route

    def clear(self) -> None:
        self.ext.clear()
        self.a_on_x.clear()
