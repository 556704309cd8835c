"""ipywidgets panels over the toolkit, one per job; each is a ``VBox`` that displays itself.

- :class:`BindingPanel` — bind, modify, query and unbind numbers in any mode;
- :class:`CdrTail` — a live, filterable table of the newest CDRs and call events;
- :class:`CauseDecoder` — what a code means and why a pasted CDR failed;
- :class:`OutcomeDashboard` — outcome charts and a summary table over a date range.

Panels hold no rules: validation, decoding, classification and masking come from the library.
Every control is a public attribute, so notebooks and tests drive a panel by setting ``.value``
and calling ``.click()``. This package imports ipywidgets and is only imported on demand.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_PANELS = {
    "BindingPanel": "toolkit.widgets.binding",
    "CdrTail": "toolkit.widgets.tail",
    "CauseDecoder": "toolkit.widgets.decoder",
    "OutcomeDashboard": "toolkit.widgets.dashboard",
}

__all__ = ["BindingPanel", "CauseDecoder", "CdrTail", "OutcomeDashboard"]


def __getattr__(name: str) -> Any:
    # Lazy so that the decoder alone does not pull pandas and matplotlib in with the dashboard.
    module = _PANELS.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .binding import BindingPanel
    from .dashboard import OutcomeDashboard
    from .decoder import CauseDecoder
    from .tail import CdrTail
