"""OutcomeDashboard driven from code: grouping, filters, date range, empty and closed stores."""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import pytest
from builders import X2, fee, push, small_day

from toolkit.store import Store
from toolkit.widgets import OutcomeDashboard

PNG = b"\x89PNG"
DAY = 86400


@pytest.fixture
def store(store: Store) -> Store:
    """The shared temporary store, holding two days of calls."""
    for info in small_day():  # 2024-03-01: X1 answered x2 + busy, X2 no-answer
        store.add(push(info))
    store.add(push(fee(10, start=2 * DAY, talk=None)))  # 2024-03-03: one busy call on X1
    return store


def test_draws_on_creation_with_a_summary_per_day(store: Store) -> None:
    board = OutcomeDashboard(store)
    assert bytes(board.chart.value).startswith(PNG)
    summary = board.summary_frame
    assert list(summary["calls"]) == [4, 1] and list(summary["answered"]) == [2, 0]
    assert "2024-03-01" in board.summary.value and "50%" in board.summary.value
    assert board.message.text == ""
    assert plt.get_fignums() == []  # nothing left open in pyplot


def test_group_by_x_number_masks_the_numbers(store: Store) -> None:
    board = OutcomeDashboard(store, draw=False)
    board.group_by.value = "x_number"
    board.redraw_button.click()
    summary = board.summary_frame
    assert list(summary.index.astype(str)) == ["+86170****0001", "+86170****0002"]
    assert list(summary["calls"]) == [4, 1]
    assert "+86170****0002" in board.summary.value and X2 not in board.summary.value


@pytest.mark.parametrize("group", ["hour", "direction"])
def test_other_groupings_redraw(store: Store, group: str) -> None:
    board = OutcomeDashboard(store, draw=False)
    board.group_by.value = group
    assert board.redraw()
    assert board.summary_frame["calls"].sum() == 5
    assert bytes(board.chart.value).startswith(PNG)


def test_outcome_filter(store: Store) -> None:
    board = OutcomeDashboard(store, draw=False)
    board.outcomes.value = ("busy", "no-answer")
    board.redraw()
    assert set(board.frame["outcome"].astype(str)) == {"busy", "no-answer"}
    assert board.summary_frame["calls"].sum() == 3
    assert board.summary_frame["answered"].sum() == 0


def test_date_range_is_inclusive_of_both_days(store: Store) -> None:
    board = OutcomeDashboard(store, draw=False)
    board.start.value = dt.date(2024, 3, 3)
    board.end.value = dt.date(2024, 3, 3)
    board.redraw()
    assert len(board.frame) == 1
    board.start.value = dt.date(2024, 3, 1)
    board.end.value = dt.date(2024, 3, 1)
    board.redraw()
    assert len(board.frame) == 4


def test_all_six_charts(store: Store) -> None:
    board = OutcomeDashboard(store, draw=False)
    board.full.value = True
    assert board.redraw()
    assert len(board.figure.axes) >= 6
    assert plt.get_fignums() == []


def test_empty_store_says_so() -> None:
    with Store() as empty:
        board = OutcomeDashboard(empty)
    assert board.message.text == "No calls match these dates and outcomes."
    assert "no calls" in board.summary.value
    assert bytes(board.chart.value).startswith(PNG)


def test_closed_store_is_a_message_not_a_traceback() -> None:
    store = Store()
    store.close()
    board = OutcomeDashboard(store)
    assert not board.redraw()
    assert "the store is closed" in board.message.text


def png_width(data: bytes) -> int:
    """The pixel width in a PNG's header (IHDR, bytes 16-20)."""
    assert data.startswith(PNG)
    return int.from_bytes(data[16:20], "big")


@pytest.mark.parametrize("full", [False, True])
def test_the_charts_fit_a_1000_px_notebook(store: Store, full: bool) -> None:
    """A notebook 1000 px wide leaves about 900 px to an output: the image is drawn no wider,
    so it is shown at its own size instead of shrunk until its labels cannot be read."""
    board = OutcomeDashboard(store, draw=False)
    board.full.value = full
    assert board.redraw()
    assert 600 <= png_width(bytes(board.chart.value)) <= 900
    assert board.chart.layout.max_width == "100%"


def test_the_summary_table_gets_the_full_width_below_the_chart(store: Store) -> None:
    board = OutcomeDashboard(store)
    # Not beside the chart in a narrow box: each has a row of its own.
    beside = [
        box
        for box in board.children
        if board.summary in getattr(box, "children", ()) and board.chart in box.children
    ]
    assert beside == []
    assert board.summary.layout.max_width in (None, "100%")
    assert board.summary.layout.overflow == "auto"  # a very wide table scrolls, never spills
    assert list(board.children).index(board.chart) < list(board.children).index(board.summary)
