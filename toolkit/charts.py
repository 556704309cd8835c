"""Charts of a CDR frame (:func:`toolkit.frame.cdr_frame`), one matplotlib function per question.

Every chart takes the frame and an optional ``ax`` and returns the Axes it drew on, with labelled
axes and units. Charts aggregate first (with :mod:`toolkit.analysis`) and plot the small result,
so a million CDRs draw as fast as a hundred. Outcome colours come from
:data:`toolkit.codes.OUTCOME_COLORS`, the same everywhere. A frame with nothing to show gives an
Axes that says "no data" instead of an error, and long category lists are cut to the top N plus
"other" so a chart stays readable with 1 category or 500.

Without ``ax`` a new pyplot figure is created (as pandas' ``.plot()`` does), so it shows up in a
notebook on its own; close figures you no longer need (``plt.close(fig)``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from . import analysis
from .errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OTHER_COLOR = "#DDDDDD"  # "other" buckets: neutral, and unlike any outcome colour
NO_DATA = "no data"
_LABEL_CHARS = 38  # longer cause labels are wrapped so the bars keep most of the width


def _axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _no_data(ax: Axes, title: str, xlabel: str, ylabel: str) -> Axes:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(
        0.5,
        0.5,
        NO_DATA,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#666666",
        fontsize="large",
    )
    return ax


def _zone(frame: pd.DataFrame) -> str:
    tz = getattr(frame["start_time"].dtype, "tz", None) if "start_time" in frame else None
    return str(tz) if tz is not None else "UTC"


def _outcome_legend(ax: Axes, outcomes: list[str], **kwargs: Any) -> None:
    from matplotlib.patches import Patch

    from .codes import OUTCOME_COLORS, OUTCOME_LABELS

    handles = [Patch(color=OUTCOME_COLORS[o], label=OUTCOME_LABELS[o]) for o in outcomes]
    if handles:
        ax.legend(handles=handles, fontsize="small", **kwargs)


def _short(label: str, limit: int = _LABEL_CHARS) -> str:
    """A long label on several lines, whole: a cut label can hide the words that tell causes
    apart."""
    import textwrap

    return textwrap.fill(label, limit)


def plot_outcome_mix(
    frame: pd.DataFrame, ax: Axes | None = None, *, freq: str | None = None, share: bool = True
) -> Axes:
    """Stacked bars of the outcome mix per time bucket (``freq``: "hour", "day" or "week";
    picked from the span by default). ``share=False`` stacks call counts instead of percentages.
    """
    import pandas as pd

    from .codes import OUTCOME_COLORS

    ax = _axes(ax, (9.0, 4.0))
    title = "Outcome mix over time"
    ylabel = "share of calls (%)" if share else "calls"
    start = frame["start_time"].dropna() if len(frame) else frame["start_time"]
    if start.empty:
        return _no_data(ax, title, "time", ylabel)
    freq = freq or _bucket(start.max() - start.min())
    if freq not in _BUCKETS:
        raise ValidationError("freq", f"must be one of {', '.join(_BUCKETS)}, not {freq!r}")
    counts = analysis.outcome_mix(
        frame, {"hour": _hours(frame), "day": "day", "week": "week"}[freq]
    )
    counts = counts.loc[:, counts.sum() > 0]
    # Every bucket of the span gets a slot, so quiet hours show as gaps rather than vanish.
    counts = counts.reindex(pd.date_range(counts.index[0], counts.index[-1], freq=_BUCKETS[freq]))
    values = counts.div(counts.sum(axis=1), axis=0) * 100 if share else counts
    positions = range(len(values))
    bottom = [0.0] * len(values)
    for outcome in values.columns:
        heights = values[outcome].to_numpy(dtype=float)
        ax.bar(
            positions,
            heights,
            bottom=bottom,
            width=0.9,
            color=OUTCOME_COLORS[outcome],
            label=outcome,
            linewidth=0,
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    _time_ticks(ax, values.index, freq)
    ax.set_title(title)
    ax.set_xlabel(f"{freq} starting ({_zone(frame)})")
    ax.set_ylabel(ylabel)
    if share:
        ax.set_ylim(0, 100)
    ax.margins(x=0.01)
    _outcome_legend(ax, list(values.columns), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


_BUCKETS = {"hour": "h", "day": "D", "week": "W-MON"}  # bucket -> pandas frequency


def _bucket(span: Any) -> str:
    import pandas as pd

    if span <= pd.Timedelta(days=3):
        return "hour"
    return "day" if span <= pd.Timedelta(days=120) else "week"


def _hours(frame: pd.DataFrame) -> pd.Series:
    """Start times floored to the hour, as wall-clock time of the frame's display zone."""
    return analysis.wall_clock(frame).dt.floor("h").rename("hour")


def _time_ticks(ax: Axes, index: pd.Index, freq: str) -> None:
    n = len(index)
    step = max(1, -(-n // 12))  # at most about 12 labels
    ticks = list(range(0, n, step))
    fmt = "%m-%d %H:00" if freq == "hour" else "%Y-%m-%d"
    ax.set_xticks(
        ticks, [index[i].strftime(fmt) for i in ticks], rotation=45, ha="right", fontsize="small"
    )


def plot_cause_pareto(
    frame: pd.DataFrame,
    ax: Axes | None = None,
    *,
    top: int = 12,
    include_answered: bool = False,
    legend: bool = True,
) -> Axes:
    """Horizontal bars of the most frequent causes (decoded labels), coloured by the outcome
    each leads to, with the cumulative share written at each bar; the rest is one "other" bar.
    ``legend=False`` leaves out the outcome legend (the dashboard shows it once)."""
    from .codes import OUTCOME_COLORS

    ax = _axes(ax, (8.0, 4.5))
    title = "Causes of unanswered calls" if not include_answered else "Causes of calls"
    table = analysis.cause_pareto(frame, top=top, include_answered=include_answered)
    if table.empty:
        return _no_data(ax, title, "calls", "cause")
    labels = [_short(str(c)) for c in table.index]
    colors = [
        OUTCOME_COLORS.get(o, OTHER_COLOR) if isinstance(o, str) else OTHER_COLOR
        for o in table["outcome"]
    ]
    positions = list(range(len(table)))[::-1]  # most frequent at the top
    ax.barh(positions, table["calls"].to_numpy(dtype=float), color=colors, height=0.8)
    for y, calls, cumulative in zip(positions, table["calls"], table["cumulative"], strict=True):
        ax.text(calls, y, f" {cumulative:.0%}", va="center", fontsize="x-small")
    ax.set_yticks(positions, labels, fontsize="small")
    ax.set_xlim(0, table["calls"].max() * 1.15)
    ax.set_title(title)
    ax.set_xlabel("calls (label: cumulative share)")
    ax.set_ylabel("cause")
    if legend:
        present = [o for o in dict.fromkeys(table["outcome"].dropna()) if o in OUTCOME_COLORS]
        _outcome_legend(ax, present, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def plot_ring_time(
    frame: pd.DataFrame, ax: Axes | None = None, *, bins: int = 30, top: int = 4
) -> Axes:
    """Distribution of ring time (seconds the callee's phone rang), one outline per outcome for
    the ``top`` most common outcomes, in up to ``bins`` whole-second bins; values past the 99th
    percentile go in the last bin."""
    return _distribution(frame, ax, "ring_seconds", "Ring time", bins, top)


def plot_talk_time(frame: pd.DataFrame, ax: Axes | None = None, *, bins: int = 30) -> Axes:
    """Distribution of talk time of answered calls in seconds, with the median and 90th
    percentile marked; values past the 99th percentile go in the last bin."""
    return _distribution(frame, ax, "talk_seconds", "Talk time", bins, 1)


def _distribution(
    frame: pd.DataFrame, ax: Axes | None, column: str, title: str, bins: int, top: int
) -> Axes:
    import numpy as np

    from .codes import OUTCOME_COLORS, OUTCOME_LABELS

    ax = _axes(ax)
    xlabel, ylabel = f"{title.lower()} (s)", "calls"
    values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
    keep = ~np.isnan(values)
    if not keep.any():
        return _no_data(ax, title, xlabel, ylabel)
    # Outcome codes as plain ints (int8 would overflow in the 2-D index below).
    outcome = frame["outcome"].cat.codes.to_numpy().astype(np.int64)[keep]
    categories = list(frame["outcome"].cat.categories)
    values = values[keep]
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    # Whole-second bins: durations are whole seconds, and uneven bins would draw a comb.
    width = max(1, math.ceil(float(p99) / bins))
    bins = max(1, math.ceil(float(p99) / width))
    edges = np.arange(bins + 1, dtype=float) * width
    high = float(edges[-1])
    bin_of = np.minimum(values // width, bins - 1).astype(np.int64)
    # One pass for every outcome: a 2-D count of (outcome, bin); the last bin holds the tail.
    counts = np.bincount(outcome * bins + bin_of, minlength=len(categories) * bins)
    counts = counts.reshape(len(categories), bins)
    order = np.argsort(-counts.sum(axis=1), kind="stable")
    shown = [i for i in order[:top] if counts[i].sum() > 0]
    for i in shown:
        name = categories[i]
        ax.stairs(
            counts[i],
            edges,
            color=OUTCOME_COLORS.get(name, OTHER_COLOR),
            fill=len(shown) == 1,
            alpha=0.85 if len(shown) == 1 else 1.0,
            linewidth=1.6,
            label=OUTCOME_LABELS.get(name, name),
        )
    for at, q, style in ((p50, 50, "--"), (p90, 90, ":")):
        ax.axvline(at, color="#333333", linestyle=style, linewidth=1, label=f"p{q} = {at:.0f} s")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(0, high)
    ax.legend(fontsize="small")
    return ax


def plot_answer_heatmap(frame: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Answer rate by hour of day and weekday (display zone of the frame); grey cells had no
    calls. The colour bar is on the same figure."""
    import numpy as np

    ax = _axes(ax, (9.0, 3.6))
    title = "Answer rate by hour and weekday"
    xlabel = f"hour of day ({_zone(frame)})"
    rates = analysis.answer_rate(frame, ["weekday", "hour"]) if len(frame) else None
    if rates is None or rates.empty or rates["calls"].sum() == 0:
        return _no_data(ax, title, xlabel, "weekday")
    grid = (
        rates["answer_rate"]
        .unstack("hour")
        .reindex(index=list(analysis.WEEKDAYS), columns=range(24))
    )
    data = np.ma.masked_invalid(grid.to_numpy(dtype=float) * 100)
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"].with_extremes(bad="#EEEEEE")
    image = ax.imshow(data, aspect="auto", cmap=cmap, vmin=0, vmax=100, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="answer rate (%)", fraction=0.05, pad=0.02)
    ax.set_xticks(range(0, 24, 2), [str(h) for h in range(0, 24, 2)])
    ax.set_yticks(range(7), list(analysis.WEEKDAYS))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("weekday")
    return ax


def plot_x_numbers(
    frame: pd.DataFrame, ax: Axes | None = None, *, top: int = 12, legend: bool = True
) -> Axes:
    """Calls per privacy number (X) stacked by outcome, busiest first, with each number's answer
    rate written at the end of its bar. Past the ``top`` busiest numbers, the rest is summed up
    in a note rather than drawn as one long bar that would squash the others."""
    from .codes import OUTCOME_COLORS

    ax = _axes(ax, (8.0, 4.5))
    title = "Load and answer rate per X number"
    mix = analysis.outcome_mix(frame, "bind_num") if len(frame) else None
    if mix is None or mix.empty:
        return _no_data(ax, title, "calls", "X number")
    mix.index = mix.index.astype(str)
    mix = mix.loc[mix.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    rest = mix.iloc[top:]
    mix = mix.iloc[:top]
    mix = mix.loc[:, mix.sum() > 0]
    positions = list(range(len(mix)))[::-1]
    left = [0.0] * len(mix)
    for outcome in mix.columns:
        widths = mix[outcome].to_numpy(dtype=float)
        ax.barh(positions, widths, left=left, color=OUTCOME_COLORS[outcome], height=0.8)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    totals = mix.sum(axis=1).to_numpy(dtype=float)
    answered = mix["answered"].to_numpy(dtype=float) if "answered" in mix else totals * 0
    for y, total, ok in zip(positions, totals, answered, strict=True):
        ax.text(total, y, f" {ok / total:.0%}", va="center", fontsize="x-small")
    if len(rest):
        calls = int(rest.to_numpy().sum())
        rate = rest["answered"].sum() / calls if calls else float("nan")
        ax.text(
            0.98,
            0.03,
            f"+{len(rest)} more numbers: {calls:,} calls, {rate:.0%} answered",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize="small",
            color="#444444",
        )
        title += f" (busiest {len(mix)} of {len(mix) + len(rest)})"
    ax.set_yticks(positions, list(mix.index), fontsize="small")
    ax.set_xlim(0, totals.max() * 1.15)
    ax.set_title(title)
    ax.set_xlabel("calls (label: answer rate)")
    ax.set_ylabel("X number")
    if legend:
        _outcome_legend(ax, list(mix.columns), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def dashboard(frame: pd.DataFrame, *, title: str | None = None) -> Figure:
    """One figure with the main charts: outcome mix over time, answer-rate heatmap, cause Pareto,
    X-number load, ring time and talk time. Returns the Figure."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(15, 13), layout="constrained")
    grid = fig.add_gridspec(3, 2)
    plot_outcome_mix(frame, fig.add_subplot(grid[0, :]))
    # The outcome legend of the top chart serves the two charts below it as well.
    plot_cause_pareto(frame, fig.add_subplot(grid[1, 0]), legend=False)
    plot_x_numbers(frame, fig.add_subplot(grid[1, 1]), legend=False)
    plot_answer_heatmap(frame, fig.add_subplot(grid[2, 0]))
    bottom = grid[2, 1].subgridspec(1, 2)
    plot_ring_time(frame, fig.add_subplot(bottom[0, 0]))
    plot_talk_time(frame, fig.add_subplot(bottom[0, 1]))
    calls = len(frame)
    fig.suptitle(
        title or f"CDR dashboard: {calls:,} call{'s' if calls != 1 else ''}", fontsize="x-large"
    )
    return fig


__all__ = [
    "dashboard",
    "plot_answer_heatmap",
    "plot_cause_pareto",
    "plot_outcome_mix",
    "plot_ring_time",
    "plot_talk_time",
    "plot_x_numbers",
]
