"""The emulator's state objects: apps, numbers, bindings, call routes. Plain data, no rules."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..auth import Scheme

MODES = ("axb", "ax", "axe", "axyb", "x", "voice")
# City codes handed out round-robin to each app's pool of X numbers.
AREAS = ("0755", "010", "021", "020")
SP_ID = "emulator_omp"
HOST_NAME = "callenabler246.huaweicaas.com"
RECORD_DOMAIN = "ostor.huawei.com"

# X-number status values of the numStatus push (spec §10.4).
STATUS_NORMAL = "5"
STATUS_SUSPENDED = "9"
STATUS_UNAVAILABLE = "10"
STATUS_FROZEN = "11"
NUMBER_STATUSES = (STATUS_NORMAL, STATUS_SUSPENDED, STATUS_UNAVAILABLE, STATUS_FROZEN)


def utc(epoch: float) -> str:
    """Event/CDR time format: UTC ``yyyy-MM-dd HH:mm:ss``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def utc_digits(epoch: float) -> str:
    """The same UTC time as digits only (``yyyyMMddHHmmss``), as session ids and file names use."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(epoch))


def utc_ms(epoch: float) -> str:
    """SMS ``timeStamp`` format: UTC ISO-8601 with milliseconds and ``Z``."""
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"
    )


def same_area(a: str, b: str) -> bool:
    """City codes compare without their leading 0 (``0755`` == ``755``)."""
    return a.lstrip("0") == b.lstrip("0")


@dataclass
class XNumber:
    """A privacy number X (or a VoiceCall display number) owned by one app."""

    number: str
    area_code: str
    status: str = STATUS_NORMAL
    cause: str | None = None

    @property
    def usable(self) -> bool:
        """Calls and SMS work (normal, or binding-frozen: existing bindings keep working)."""
        return self.status in (STATUS_NORMAL, STATUS_FROZEN)

    @property
    def bindable(self) -> bool:
        return self.status == STATUS_NORMAL


@dataclass(repr=False)
class App:
    """One application: a mode, credentials, a pool of numbers and the customer's push URLs.

    ``auth_scheme`` is the signing generation of its pushes: ``aksk`` (X-AKSK, current) or
    ``wsse`` (X-WSSE, the legacy one an older app's server expects).
    """

    app_key: str
    app_secret: str
    mode: str
    numbers: dict[str, XNumber]
    extension_length: int = 4
    status_url: str | None = None
    fee_url: str | None = None
    sms_url: str | None = None
    sms_block_url: str | None = None
    numstatus_url: str | None = None
    record_enabled: bool = True
    sp_id: str = SP_ID
    auth_scheme: Scheme = "aksk"

    def __repr__(self) -> str:  # never the secret
        return f"App(mode={self.mode!r}, app_key={self.app_key!r}, numbers={len(self.numbers)})"

    def describe(self) -> dict[str, Any]:
        """The app as the control endpoint lists it (no secret)."""
        return {
            "appKey": self.app_key,
            "mode": self.mode,
            "extensionLength": self.extension_length if self.mode == "axe" else None,
            "numbers": [
                {"number": n.number, "areaCode": n.area_code, "status": n.status}
                for n in self.numbers.values()
            ],
            "statusUrl": self.status_url,
            "feeUrl": self.fee_url,
            "smsUrl": self.sms_url,
            "numStatusUrl": self.numstatus_url,
            "authScheme": self.auth_scheme,
        }


@dataclass
class Binding:
    """One binding of any mode. Mode-specific fields stay ``None`` where they do not apply.

    ``a`` is the A party (AXB callerNum, AX origNum, AXE bindNum, AXYB numA); ``b`` the B party
    (AXB calleeNum, AXYB numB); ``x`` the privacy number; ``y`` the AXYB Y number; ``extension``
    the AXE extension. ``settings`` keeps the optional wire fields as sent, for queries and calls.
    """

    subscription_id: str
    mode: str
    app_key: str
    x: str
    a: str
    created: float
    modified: float
    b: str | None = None
    y: str | None = None
    extension: str | None = None
    expires_at: float | None = None
    yb_expires_at: float | None = None
    temp_callee: str | None = None
    temp_callee_expires_at: float | None = None
    callback_party: str | None = None
    callback_expires_at: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def setting(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)


@dataclass
class Route:
    """How the platform handles one call to X, decided from the bindings before it rings.

    ``release`` is set when the platform refuses the call itself (8013, 8014, 8016, 8023...);
    otherwise ``dest`` is the real callee the platform forwards to, showing ``display``.
    """

    app: App
    caller: str
    called: str
    binding: Binding | None = None
    dest: str | None = None
    display: str | None = None
    direction: int = 2
    release: int | None = None
    extension: str | None = None
    max_duration: int = 0
    record: bool = False
    user_data: str | None = None
    x_mode: bool = False
    party_fixed_line: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class ManualClock:
    """A clock for tests and notebooks: stands still until :meth:`advance` moves it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock forward and return the new time."""
        self.now += seconds
        return self.now
