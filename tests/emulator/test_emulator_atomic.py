"""A refused operation changes nothing: every check runs before a binding is touched.

Each mode's changing operations are sent with every field valid but one (for every field in
turn), and with hypothesis-drawn mixes of valid and malformed fields; whenever the emulator
refuses one, its bindings and their indexes must be exactly as before.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.emulator import Backend, ManualClock, PlatformError
from toolkit.emulator.params import Params

A, B, C = "+8613800000001", "+8613900000002", "+8613700000003"

# Small pools of good and bad values per kind of field, so that an operation often gets partway
# (a valid new number, say) before a later field fails.
NUMBERS = st.sampled_from([C, "+8613600000004", "13800000001", "+86755", 5])
INTEGERS = st.sampled_from([-5, 0, 1, 60, 3600, 10**9, "x"])
INTEGER_FIELDS = {"duration", "maxDuration", "ybDuration", "bindExpiredTime", "callDirection"}
OTHERS = st.sampled_from(["x.wav", "", "0", "1", "on", True, 42, {"callerHintTone": "a.wav"}])


def values(name: str) -> st.SearchStrategy[Any]:
    if name.endswith("Num"):
        return NUMBERS
    if name in INTEGER_FIELDS:
        return INTEGERS
    return OTHERS


FIELDS = {
    "axb.modify": ["callerNum", "calleeNum", "duration", "maxDuration", "callDirection",
                   "recordFlag", "lastMinVoice", "preVoice", "userData", "privateSms"],
    "axb.bind": ["callerNum", "calleeNum", "relationNum", "areaCode", "duration", "maxDuration",
                 "callDirection", "preVoice", "userData"],
    "ax.bind": ["origNum", "privateNum", "areaCode", "callDirection", "maxDuration", "userData"],
    "ax.modify": ["callDirection", "turnFlag", "maxDuration", "recordFlag", "userData"],
    "ax.set_callee": ["calleeNum", "duration", "userData"],
    "axe.bind": ["bindNum", "virtualNum", "areaCode", "extendNum", "callbackTone", "callbackNum",
                 "timeUnit", "bindExpiredTime", "userData"],
    "axe.modify": ["displayNumMode", "callbackTone", "callbackNum", "timeUnit", "userData"],
    "axyb.bind": ["origNum", "areaCode", "duration", "recordFlag", "userData"],
    "axyb.bind_yb": ["origNum", "areaCode", "ybDuration", "preVoiceY"],
}  # fmt: skip


def _world() -> tuple[Backend, dict[str, Any], dict[str, str]]:
    backend = Backend(clock=ManualClock(), seed=1)
    apps = {mode: backend.add_app(mode) for mode in ("axb", "ax", "axe", "axyb")}
    sids = {
        "axb": backend.handle(apps["axb"].app_key, "axb.bind",
                              Params({"callerNum": A, "calleeNum": B})),
        "ax": backend.handle(apps["ax"].app_key, "ax.bind",
                             Params({"origNum": A, "areaCode": "0755",
                                     "privateNumType": "mobile-virtual"})),
        "axe": backend.handle(apps["axe"].app_key, "axe.bind",
                              Params({"bindNum": A, "areaCode": "0755"})),
        "axyb": backend.handle(apps["axyb"].app_key, "axyb.bind",
                               Params({"origNum": A, "areaCode": "0755",
                                     "privateNumType": "mobile-virtual"})),
    }  # fmt: skip
    return backend, apps, {mode: answer["subscriptionId"] for mode, answer in sids.items()}


def _state(backend: Backend) -> Any:
    rules = (backend.axb, backend.ax, backend.axe, backend.axyb)
    bindings = {sid: copy.deepcopy(vars(b)) for sid, b in backend.store.by_id.items()}
    return bindings, [copy.deepcopy({k: v for k, v in vars(r).items() if k != "store"})
                      for r in rules]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operation=st.sampled_from(sorted(FIELDS)), data=st.data())
def test_refused_operations_change_nothing(operation: str, data: st.DataObject) -> None:
    backend, apps, sids = _world()
    names = data.draw(st.lists(st.sampled_from(FIELDS[operation]), unique=True))
    fields = {name: data.draw(values(name), label=name) for name in names}
    before = _state(backend)
    try:
        _send(backend, apps, sids, operation, fields)
    except PlatformError:
        assert _state(backend) == before, (operation, fields)


# A valid value for each field, and one malformed value of the same kind.
GOOD: dict[str, Any] = {
    "callerNum": C, "calleeNum": "+8613600000004", "origNum": C, "bindNum": C,
    "duration": 3600, "maxDuration": 60, "ybDuration": 60, "bindExpiredTime": 5,
    "callDirection": 1, "timeUnit": "1", "displayNumMode": "1", "turnFlag": "off",
    "recordFlag": "true", "privateSms": "false", "areaCode": "0755", "extendNum": "77",
    "lastMinVoice": "last.wav", "callbackTone": "none.wav", "preVoiceY": "y.wav",
    "preVoice": {"callerHintTone": "a.wav"}, "userData": "order-1",
}  # fmt: skip
BAD = {"Num": "13800000001", "int": -5, "object": 42, "text": {"not": "a string"}}


def _bad(name: str) -> Any:
    if name.endswith("Num"):
        return BAD["Num"]  # not in global format
    if name.startswith("preVoice"):  # a tone name or an object of them; a number is neither
        return BAD["object"]
    return BAD["int"] if name in INTEGER_FIELDS else BAD["text"]


def _send(
    backend: Backend,
    apps: dict[str, Any],
    sids: dict[str, str],
    operation: str,
    fields: dict[str, Any],
) -> None:
    """Run one operation; ``axyb.bind_yb`` is the YB step of ``axyb.bind`` (on the AX binding)."""
    mode = operation.split(".")[0]
    if operation == "axyb.bind_yb":
        operation, fields = "axyb.bind", {**fields, "subscriptionId": sids["axyb"]}
    elif operation.endswith(("modify", "set_callee")):
        fields = {**fields, "subscriptionId": sids[mode]}
    backend.handle(apps[mode].app_key, operation, Params(fields))


MATRIX = [
    (operation, bad) for operation, names in sorted(FIELDS.items()) for bad in names if bad in GOOD
]


@pytest.mark.parametrize(("operation", "bad"), MATRIX)
def test_one_late_bad_field_is_refused_without_side_effects(operation: str, bad: str) -> None:
    # Every other field is valid, so the operation gets as far as it can before the bad one.
    backend, apps, sids = _world()
    fields = {name: GOOD[name] for name in FIELDS[operation] if name in GOOD}
    fields[bad] = _bad(bad)
    before = _state(backend)
    with pytest.raises(PlatformError) as refusal:
        _send(backend, apps, sids, operation, fields)
    assert refusal.value.resultcode == "1010002", (operation, bad, refusal.value)
    assert _state(backend) == before, (operation, bad)
