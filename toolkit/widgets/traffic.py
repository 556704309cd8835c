"""TrafficControl: a status line and a Stop button for :class:`toolkit.traffic.BackgroundTraffic`.

The traffic thread updates the status by setting a widget trait (``HTML.value``), which ipywidgets
sends from any thread; the button stops the thread without blocking the kernel for long::

    traffic = BackgroundTraffic(emulator, calls=60, every=1.0)
    TrafficControl(traffic.start())
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..traffic import BackgroundTraffic
from ._common import MessageArea, run_safely


class TrafficControl(widgets.HBox):
    """A Stop button and a status line (calls placed, running or stopped) for ``traffic``.

    Public children: ``stop_button`` and ``status`` (HTML); ``message`` shows a failure.
    """

    def __init__(self, traffic: BackgroundTraffic) -> None:
        self.traffic = traffic
        self.stop_button = widgets.Button(description="Stop traffic", icon="stop")
        self.status = widgets.HTML()
        self.message = MessageArea()
        self.stop_button.on_click(lambda _: self.stop())
        traffic.on_change = lambda _: self.refresh()
        self.refresh()
        super().__init__([self.stop_button, self.status, self.message])

    def stop(self) -> None:
        """Stop the traffic (what the button does) and show it stopped."""
        run_safely(self.message, self.traffic.stop)
        self.refresh()

    def refresh(self) -> None:
        """Show the traffic's current status; the button is disabled once it has ended."""
        self.status.value = html.escape(self.traffic.status)
        self.stop_button.disabled = not self.traffic.running
