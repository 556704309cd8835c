"""Charts return labelled Axes with the expected artists, on small, empty and wide inputs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from builders import fee, small_day
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle, StepPatch

from toolkit import charts
from toolkit.codes import OUTCOME_COLORS
from toolkit.errors import ValidationError
from toolkit.frame import cdr_frame

CHARTS = [
    charts.plot_outcome_mix,
    charts.plot_cause_pareto,
    charts.plot_ring_time,
    charts.plot_talk_time,
    charts.plot_answer_heatmap,
    charts.plot_x_numbers,
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def day():
    return cdr_frame(small_day(), tz="Asia/Shanghai")


def bars(ax: Axes) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


@pytest.mark.parametrize("chart", CHARTS)
def test_every_chart_labels_its_axes(chart, day):
    ax = chart(day)
    assert isinstance(ax, Axes)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert charts.NO_DATA not in texts(ax)


@pytest.mark.parametrize("chart", CHARTS)
def test_every_chart_says_no_data_for_an_empty_frame(chart):
    ax = chart(cdr_frame([]))
    assert charts.NO_DATA in texts(ax)
    assert ax.get_xlabel() and ax.get_ylabel()
    assert not bars(ax) and not ax.images


@pytest.mark.parametrize("chart", CHARTS)
def test_every_chart_draws_a_single_call_on_the_given_axes(chart):
    fig, ax = plt.subplots()
    assert chart(cdr_frame(fee()), ax=ax) is ax
    fig.canvas.draw()  # rendering must not fail either


def test_outcome_mix_stacks_one_bar_per_outcome_and_bucket(day):
    ax = charts.plot_outcome_mix(day)
    # one hourly bucket per hour with calls (10:00 and 11:00 Beijing), three outcomes present
    assert len(bars(ax)) == 2 * 3
    colours = {to_hex(b.get_facecolor()) for b in bars(ax)}
    assert colours == {OUTCOME_COLORS[o].lower() for o in ("answered", "busy", "no-answer")}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "answered",
        "callee busy",
        "no answer",
    ]
    counts = charts.plot_outcome_mix(day, freq="day", share=False)
    assert sum(b.get_height() for b in bars(counts)) == 4


def test_outcome_mix_leaves_gaps_for_quiet_buckets():
    calls = [fee(0, start=0), fee(1, start=5 * 3600)]  # 10:00 and 15:00 Beijing
    ax = charts.plot_outcome_mix(cdr_frame(calls, tz="Asia/Shanghai"), freq="hour")
    heights = [b.get_height() for b in bars(ax)]
    assert len(heights) == 6 and heights.count(100) == 2  # six hourly slots, two with calls
    with pytest.raises(ValidationError, match="freq"):
        charts.plot_outcome_mix(cdr_frame(calls), freq="minute")


def test_cause_pareto_bars_are_coloured_by_outcome(day):
    ax = charts.plot_cause_pareto(day)
    assert len(bars(ax)) == 2
    assert {to_hex(b.get_facecolor()) for b in bars(ax)} == {
        OUTCOME_COLORS["busy"].lower(),
        OUTCOME_COLORS["no-answer"].lower(),
    }
    assert texts(ax) == [" 50%", " 100%"]


def test_cause_pareto_folds_the_tail_into_other():
    calls = [fee(i, talk=None, ulFailReason=8000 + i) for i in range(20)]
    ax = charts.plot_cause_pareto(cdr_frame(calls), top=5, legend=False)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 6 and labels[-1] == "other"
    # Long cause labels are wrapped, whole, never cut with an ellipsis.
    assert all(len(line) <= 38 for label in labels for line in label.split("\n"))
    assert not any("…" in label for label in labels)
    assert ax.get_legend() is None


def test_ring_and_talk_distributions(day):
    ring = charts.plot_ring_time(day)
    assert len([p for p in ring.patches if isinstance(p, StepPatch)]) == 3  # one per outcome
    steps = [p for p in ring.patches if isinstance(p, StepPatch)]
    assert sorted(p.get_data().values.sum() for p in steps) == [1, 1, 2]
    talk = charts.plot_talk_time(day)
    (step,) = [p for p in talk.patches if isinstance(p, StepPatch)]
    assert step.get_data().values.sum() == 2  # both answered calls, the longest in the last bin
    assert len(talk.lines) == 2  # median and p90 markers


def test_ring_time_of_every_outcome():
    # the last outcomes in OUTCOMES order once broke the (outcome, bin) counting
    codes = [
        (8102, 17),
        (8101, 19),
        (7503, 21),
        (8104, 20),
        (7502, 16),
        (8014, 0),
        (8047, 0),
        (7508, 38),
    ]
    calls = [
        fee(i, talk=None, ring=i + 1, ulFailReason=u, fwdUnaswRsn=q, sipStatusCode=0)
        for i, (u, q) in enumerate(codes)
    ]
    df = cdr_frame([fee(99), *calls])
    assert set(df["outcome"]) == set(OUTCOME_COLORS)
    ax = charts.plot_ring_time(df, top=9)
    steps = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert len(steps) == 9
    assert sum(p.get_data().values.sum() for p in steps) == 9


def test_heatmap_has_one_cell_per_weekday_and_hour(day):
    ax = charts.plot_answer_heatmap(day)
    (image,) = ax.images
    data = image.get_array()
    assert data.shape == (7, 24)
    assert data[4, 10] == 100 and data[4, 11] == 0  # Friday 10:00 and 11:00 Beijing
    assert data.mask.sum() == 7 * 24 - 2
    assert len(ax.figure.axes) == 2  # the colour bar


def test_x_numbers_stay_readable_with_fifty_numbers():
    calls = [fee(i, bindNum=f"+86170{i % 50:08d}") for i in range(120)]
    ax = charts.plot_x_numbers(cdr_frame(calls), top=10)
    assert len(ax.get_yticklabels()) == 10
    assert "busiest 10 of 50" in ax.get_title()
    assert any(t.startswith("+40 more numbers") for t in texts(ax))


def test_x_numbers_stack_outcomes(day):
    ax = charts.plot_x_numbers(day)
    assert len(ax.get_yticklabels()) == 2
    assert sorted(t for t in texts(ax)) == [" 0%", " 67%"]


def test_dashboard_combines_the_charts(day):
    fig = charts.dashboard(day)
    assert isinstance(fig, Figure)
    titles = {ax.get_title() for ax in fig.axes}
    assert {"Outcome mix over time", "Ring time", "Talk time"} <= titles
    assert len(fig.axes) == 7  # six charts and the heatmap's colour bar
    fig.canvas.draw()


def test_dashboard_of_nothing():
    fig = charts.dashboard(cdr_frame([]))
    assert sum(charts.NO_DATA in texts(ax) for ax in fig.axes) == 6
    assert fig.get_suptitle() == "CDR dashboard: 0 calls"
