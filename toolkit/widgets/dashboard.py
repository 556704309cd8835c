"""OutcomeDashboard: outcome charts and a summary table over a date range, grouped and filtered.

The data is :func:`toolkit.frame.cdr_frame` (filters by date and outcome happen there), the
table is :func:`toolkit.analysis.answer_rate` next to :func:`toolkit.analysis.outcome_mix`, and
the charts are :mod:`toolkit.charts` functions. The panel only wires controls to them.

Charts are rendered to PNG on a figure that is closed at once, and shown in an ``Image`` widget:
that works the same in JupyterLab, in a headless nbval run and in a test, never opens a GUI
window, and does not leak figures however often the dashboard is redrawn::

    board = OutcomeDashboard(store)
    board.group_by.value = "x_number"
    board.outcomes.value = ("busy", "no-answer")   # empty = every outcome
    board.redraw_button.click()
    board.summary_frame                             # the table on display, as a DataFrame
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..codes import OUTCOMES
from ._common import MessageArea, outcome_label, run_safely

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

log = logging.getLogger("toolkit.widgets")

# Charts are drawn this wide: a notebook 1000 px wide leaves about 900 px to an output.
CHART_WIDTH_PX = 880
_DPI = 80

GROUPINGS = {
    "hour": "hour of day",
    "day": "day",
    "x_number": "X number",
    "direction": "direction",
}


class OutcomeDashboard(widgets.VBox):
    """Charts of call outcomes with the summary table beside them.

    ``source`` is anything :func:`toolkit.frame.cdr_frame` reads (a Store, a store file, push
    bodies); ``tz`` is the display zone of dates and hours. ``app_modes`` is passed on to
    ``cdr_frame``. The dashboard draws once on creation (``draw=False`` to skip that).

    Public children: ``start`` and ``end`` (DatePicker, both inclusive, empty = open),
    ``group_by`` (Dropdown: ``"hour"``, ``"day"``, ``"x_number"``, ``"direction"``),
    ``outcomes`` (SelectMultiple of :data:`~toolkit.codes.OUTCOMES`; empty = all),
    ``full`` (Checkbox: the six-chart :func:`toolkit.charts.dashboard` instead of two charts),
    ``redraw_button``, ``chart`` (Image, PNG), ``summary`` (HTML table), ``message``.
    After a redraw: ``frame`` (the filtered CDR frame), ``summary_frame`` and ``figure``
    (the closed matplotlib Figure, still usable with ``figure.savefig``).
    """

    def __init__(
        self,
        source: Any,
        *,
        tz: str = "UTC",
        app_modes: dict[str, str] | None = None,
        draw: bool = True,
    ) -> None:
        self.source = source
        self.tz = tz
        self.app_modes = app_modes
        self.frame: pd.DataFrame | None = None
        self.summary_frame: pd.DataFrame | None = None
        self.figure: Figure | None = None

        self.start = widgets.DatePicker(description="from")
        self.end = widgets.DatePicker(description="to")
        self.group_by = widgets.Dropdown(
            options=[(label, key) for key, label in GROUPINGS.items()],
            value="day",
            description="group by",
        )
        self.outcomes = widgets.SelectMultiple(
            options=[(outcome_label(o), o) for o in OUTCOMES],
            value=(),
            rows=5,
            description="outcomes",
        )
        self.full = widgets.Checkbox(value=False, description="all six charts")
        self.redraw_button = widgets.Button(description="Redraw", icon="refresh")
        # Stacked, each the full width of the output: a chart beside a table squeezed both (a
        # 700 px table in a 360 px box, a 1200 px figure shrunk to 600 px, its labels unreadable).
        self.chart = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.summary = widgets.HTML(layout=widgets.Layout(max_width="100%", overflow="auto"))
        self.message = MessageArea()
        self.redraw_button.on_click(lambda _: self.redraw())

        controls = widgets.HBox(
            [
                widgets.VBox([self.start, self.end, self.group_by]),
                self.outcomes,
                widgets.VBox([self.full, self.redraw_button]),
            ]
        )
        super().__init__([controls, self.message, self.chart, self.summary])
        if draw:
            self.redraw()

    def redraw(self) -> bool:
        """Reload the CDRs with the current filters, redraw the charts and the table.

        Returns True when it drew; problems (a bad date, a closed store) become a message.
        """
        return bool(run_safely(self.message, self._redraw_now))

    # -- internals -----------------------------------------------------------------------------

    def _load(self) -> pd.DataFrame:
        from ..engine import Engine
        from ..frame import cdr_frame

        if isinstance(self.source, Engine):
            # cdr_frame reports a closed store as a bare sqlite3 error; asking the store first
            # gives the user "the store is closed" (a StoreError) instead.
            self.source.count()
        start, end = self.start.value, self.end.value
        return cdr_frame(
            self.source,
            start=_day(start),
            # The picker's "to" day is inclusive; cdr_frame's end is exclusive.
            end=_day(end + dt.timedelta(days=1)) if end else None,
            outcome=list(self.outcomes.value) or None,
            tz=self.tz,
            app_modes=self.app_modes,
        )

    def _redraw_now(self) -> bool:
        frame = self._load()
        self.frame = frame
        group = self.group_by.value
        self.summary_frame = _summary(frame, group)
        self.figure = self._draw(frame, group)
        self.chart.value = _png(self.figure)
        self.summary.value = _summary_html(self.summary_frame, GROUPINGS[group])
        if frame.empty:
            self.message.info("No calls match these dates and outcomes.")
        else:
            self.message.clear()
        return True

    def _draw(self, frame: pd.DataFrame, group: str) -> Figure:
        from .. import charts

        if self.full.value:
            figure = charts.dashboard(frame)
            # Narrowed to the notebook's width, so the image is shown at its own size, not
            # shrunk; the constrained layout reflows the six charts into the new size.
            figure.set_size_inches(CHART_WIDTH_PX / _DPI, 12.5)
            return figure
        from matplotlib.figure import Figure

        # A bare Figure (no pyplot) needs no GUI backend and is never registered for display.
        figure = Figure(figsize=(CHART_WIDTH_PX / _DPI, 7.5), layout="constrained")
        top, bottom = figure.subplots(2, 1)
        if group == "x_number":
            charts.plot_x_numbers(frame, top)
        else:
            # Over time for every other grouping: hours or days as picked, the span decides
            # the bucket for "direction" (whose split is in the table).
            freq = group if group in ("hour", "day") else None
            charts.plot_outcome_mix(frame, top, freq=freq)
        charts.plot_cause_pareto(frame, bottom)
        return figure


def _day(value: dt.date | None) -> str | None:
    """A picked date as the naive midnight that cdr_frame reads in the dashboard's zone."""
    return None if value is None else value.isoformat()


def _png(figure: Figure) -> bytes:
    """Render ``figure`` to PNG bytes and release it from pyplot if pyplot made it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    import matplotlib.pyplot as plt

    plt.close(figure)  # a no-op for a bare Figure; frees one made by charts.dashboard
    return buffer.getvalue()


def _summary(frame: pd.DataFrame, group: str) -> pd.DataFrame:
    """Calls, answered, answer rate and the count of every outcome, per group."""
    from ..analysis import answer_rate, outcome_mix

    rates = answer_rate(frame, group)
    mix = outcome_mix(frame, group).drop(columns="answered")
    mix = mix.loc[:, mix.sum() > 0]  # keep the table narrow: only outcomes that occurred
    return rates.join(mix)


def _summary_html(summary: pd.DataFrame, title: str) -> str:
    """The summary as an HTML table (numbers in it are already masked by cdr_frame)."""
    if summary.empty:
        return f"<p><b>Summary by {title}</b></p><p><i>no calls</i></p>"
    import pandas as pd

    shown = summary.copy()
    if isinstance(shown.index, pd.DatetimeIndex):
        shown.index = shown.index.strftime("%Y-%m-%d")
    shown.index.name = title
    shown["answer_rate"] = shown["answer_rate"].map(lambda r: "" if r != r else f"{r:.0%}")
    shown.columns = [outcome_label(c) if c in OUTCOMES else c.replace("_", " ") for c in shown]
    table = shown.to_html(border=0, na_rep="", escape=True)
    return f"<p><b>Summary by {title}</b></p><div style='font-size:90%'>{table}</div>"
