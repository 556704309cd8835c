"""The binding store and the helpers every binding mode's rules share (spec §4-§7).

The rules themselves live in :mod:`toolkit.emulator.modes`, one module per mode. Every function
here runs under the backend's lock and takes ``now`` from the backend's clock, so expiry is
testable with a manual clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from ..numbers import kind
from . import errors as e
from .model import App, Binding, Route, XNumber, same_area
from .params import Params

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


def area_code(p: Params, name: str = "areaCode") -> str | None:
    value = p.text(name, max_len=32)
    if value is not None and not value.isdigit():
        raise e.invalid(name)
    return value


def expiry(now: float, seconds: int | None) -> float | None:
    return now + seconds if seconds else None


def pick_number(
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


def owned_number(app: App, number: str, code: Callable[[], e.PlatformError]) -> XNumber:
    x = app.numbers.get(number)
    if x is None:
        raise code()
    if not x.bindable:
        raise e.number_abnormal()
    return x


def common_settings(p: Params, out: dict[str, Any]) -> None:
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
        out["callDirection"] = int(p.choice("callDirection", ("0", "1", "2"), "0"))
    if p.data.get("preVoice") is not None:
        out["preVoice"] = pre_voice(p, "preVoice")
    if sent(p, "userData"):
        out["userData"] = p.user_data()


def sent(p: Params, name: str) -> bool:
    """True when ``name`` was sent with a value: a field sent as ``null`` counts as not sent.

    Clients whose DTOs serialise every field send ``null`` for the ones they leave unset
    (unconfirmed what the platform does with them; the tolerant reading is "not sent"): on bind
    the field stays absent from queries and CDRs, on modify it is left unchanged. An empty
    string is a value, which clears the field.
    """
    return p.data.get(name) is not None


def pre_voice(p: Params, name: str) -> dict[str, str] | None:
    """A ``preVoice``-style object of tone file names, without its ``null`` members; ``None``
    (no pre-connect tone) when none is left."""
    pre = p.object(name) or {}
    for tone in ("callerHintTone", "calleeHintTone"):
        if pre.get(tone) is not None and not (
            isinstance(pre[tone], str) and 0 < len(pre[tone]) <= 128
        ):
            raise e.invalid(f"{name}.{tone}")
    tones = {
        k: v for k, v in pre.items() if k in ("callerHintTone", "calleeHintTone") and v is not None
    }
    return tones or None


def bound_route(app: App, caller: str, called: str, b: Binding, **fields: Any) -> Route:
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


def flag_text(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value
