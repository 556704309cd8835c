"""Huawei Cloud Privacy Protection Call and Voice Call, from Python and Jupyter.

The public API is listed in ``__all__``. Names are imported on first use, so ``import toolkit``
stays light: pandas, matplotlib and ipywidgets load only when a function that needs them runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # configuration, signing, numbers, errors
    "Settings": "toolkit.config",
    "UsernameTokenAuth": "toolkit.auth",
    "sign_headers": "toolkit.auth",
    "verify": "toolkit.auth",
    "normalize": "toolkit.numbers",
    "mask": "toolkit.numbers",
    "Record": "toolkit.record",
    "ToolkitError": "toolkit.errors",
    "ConfigError": "toolkit.errors",
    "ValidationError": "toolkit.errors",
    "InvalidNumberError": "toolkit.errors",
    "TransportError": "toolkit.errors",
    "ResponseError": "toolkit.errors",
    "ApiError": "toolkit.errors",
    "AuthError": "toolkit.errors",
    "NotFoundError": "toolkit.errors",
    "AlreadyBoundError": "toolkit.errors",
    "NoFreeNumberError": "toolkit.errors",
    "ThrottledError": "toolkit.errors",
    "PushFormatError": "toolkit.errors",
    "StoreError": "toolkit.errors",
    "PlatformError": "toolkit.errors",
    "EmulatorError": "toolkit.errors",
    # clients
    "PrivateNumberClient": "toolkit.client",
    "VoiceClient": "toolkit.voice",
    "Segment": "toolkit.voice",
    # the embedded platform, receiving pushes, the store
    "Emulator": "toolkit.emulator",
    "Receiver": "toolkit.receiver",
    "Store": "toolkit.store",
    "parse_push": "toolkit.events",
    "follow": "toolkit.tail",
    # decoding and analysis (pandas loads only when these run)
    "decode": "toolkit.codes",
    "explain": "toolkit.codes",
    "classify": "toolkit.codes",
    "cdr_frame": "toolkit.frame",
    "read_cdrs": "toolkit.frame",
    "to_csv": "toolkit.export",
    "to_parquet": "toolkit.export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .auth import UsernameTokenAuth, sign_headers, verify
    from .client import PrivateNumberClient
    from .codes import classify, decode, explain
    from .config import Settings
    from .emulator import Emulator
    from .errors import (
        AlreadyBoundError,
        ApiError,
        AuthError,
        ConfigError,
        EmulatorError,
        InvalidNumberError,
        NoFreeNumberError,
        NotFoundError,
        PlatformError,
        PushFormatError,
        ResponseError,
        StoreError,
        ThrottledError,
        ToolkitError,
        TransportError,
        ValidationError,
    )
    from .events import parse_push
    from .export import to_csv, to_parquet
    from .frame import cdr_frame, read_cdrs
    from .numbers import mask, normalize
    from .receiver import Receiver
    from .record import Record
    from .store import Store
    from .tail import follow
    from .voice import Segment, VoiceClient
