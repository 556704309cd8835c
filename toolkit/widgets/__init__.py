"""ipywidgets panels over the toolkit, one per job; each is a ``VBox`` that displays itself.

- :class:`BindingPanel` — bind, modify, query and unbind numbers in any mode;
- :class:`CdrTail` — a live, filterable table of the newest CDRs and call events;
- :class:`CauseDecoder` — what a code means and why a pasted CDR failed;
- :class:`OutcomeDashboard` — outcome charts and a summary table over a date range;
- :class:`TrafficControl` — status and Stop button of background traffic (:mod:`toolkit.traffic`).

Panels hold no rules: validation, decoding, classification and masking come from the library.
Every control is a public attribute, so notebooks and tests drive a panel by setting ``.value``
and calling ``.click()``. This package imports ipywidgets and is only imported on demand.
"""

from __future__ import annotations

# Imported directly: the panel modules load pandas and matplotlib only inside the functions
# that need them, so this import costs ipywidgets and nothing heavier.
from .binding import BindingPanel
from .dashboard import OutcomeDashboard
from .decoder import CauseDecoder
from .tail import CdrTail
from .traffic import TrafficControl

__all__ = ["BindingPanel", "CauseDecoder", "CdrTail", "OutcomeDashboard", "TrafficControl"]
