"""Every notebook, run as a user runs it: JupyterLab in Chromium, Run → Run All Cells.

After Run All each notebook must show no error output, no stderr traceback, no widget that failed
("Error displaying widget") or never loaded ("Loading widget..."), and no full phone number
anywhere in its outputs, the values of input boxes included. Then the widgets must still work as
a user would try them: Bind adds a row, the tail's count grows while calls are placed, typing a
code shows its meaning, and Redraw changes the chart. One notebook also runs in the Notebook 7 UI.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import NOTEBOOKS, Lab

NOTEBOOK_NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
RUN_TIMEOUT_MS = 120_000  # Run All of the slowest notebook (04) on a loaded 2-core machine
WIDGET_TIMEOUT_MS = 30_000

# A full phone number: 11 or more digits in a row (with an optional +), a +86 number, or a
# mobile number typed with separators ("138 0013 8000"). The masked form "138****8000" is fine.
FULL_NUMBER = re.compile(
    r"(?<![\w*])\+?\d{11,}(?!\w)|\+86[\d \-]{8,}\d|(?<!\d)1[3-9]\d[ \-]\d{4}[ \-]\d{4}(?!\d)"
)

# Collects what is in the output areas of a notebook panel: their text and every input value.
_OUTPUTS_JS = """panel => {
    const areas = [...panel.querySelectorAll('.jp-OutputArea')];
    const text = areas.map(a => a.innerText).join('\\n');
    const values = areas.flatMap(a => [...a.querySelectorAll('input, textarea, select')])
                        .map(e => e.value).filter(v => v);
    return {text, values};
}"""
_ANY_STARTED_JS = """panel => [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
_ALL_RAN_JS = """panel => {
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


@pytest.fixture(scope="module")
def lab_page(lab: Lab, browser_context: Any) -> Iterator[Any]:
    """One JupyterLab page for the module's tests, with the file browser listing the notebooks."""
    page = browser_context.new_page()
    page.goto(f"{lab.url}/lab?token={lab.token}")
    page.locator(".jp-DirListing-itemText", has_text=NOTEBOOK_NAMES[0]).first.wait_for()
    yield page
    page.close()


def _open(page: Any, name: str) -> Any:
    """Open ``name`` from the file browser (double-click) and wait for its kernel to be idle."""
    page.locator(
        ".jp-DirListing-item",
        has=page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")),
    ).dblclick()
    panel = page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden)[data-path$='{name}']")
    if panel.count() == 0:  # older JupyterLab versions do not tag the panel with its path
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.wait_for()
    _accept_kernel_dialog(page)
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
    return panel


def _accept_kernel_dialog(page: Any) -> None:
    """If JupyterLab asks which kernel to start (kernelspecs still loading), take the default."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    try:
        dialog.wait_for(timeout=1_500)
    except Exception:  # no dialog: the preferred kernel started by itself
        return
    dialog.get_by_role("button", name="Select").click()


def _menu(page: Any, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def _run_all(page: Any, panel: Any) -> None:
    """Run → Run All Cells from the menu bar, then wait until every code cell has run.

    The outputs kept in the file (the nbval-checked cells) are cleared first, through the Edit
    menu, so a stored execution count is never mistaken for a cell that ran.
    """
    panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
    _menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        "panel => ![...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
        ".some(p => /\\[\\d+\\]/.test(p.textContent))",
        arg=panel.element_handle(),
    )
    _menu(page, "Run", "Run All Cells")
    try:
        page.wait_for_function(_ANY_STARTED_JS, arg=panel.element_handle(), timeout=30_000)
    except Exception:
        # Seen once under load in the Notebook 7 UI: the click landed while the kernel was still
        # connecting and nothing ran. No cell has started, so asking again cannot run one twice.
        _menu(page, "Run", "Run All Cells")
    page.wait_for_function(_ALL_RAN_JS, arg=panel.element_handle(), timeout=RUN_TIMEOUT_MS)
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
        timeout=RUN_TIMEOUT_MS
    )


def _close(page: Any) -> None:
    """Shut the current notebook's kernel down and close its tab without a save prompt."""
    page.evaluate(
        """async () => {
            const widget = window.jupyterapp.shell.currentWidget;
            await widget.sessionContext.shutdown();
            widget.context.model.dirty = false;
            widget.close();
        }"""
    )


def assert_clean(page: Any, panel: Any, name: str) -> None:
    """No error output, no stderr traceback, no broken or stuck widget, no full number."""
    errors = panel.locator(".jp-OutputArea-output[data-mime-type*='error']")
    assert errors.count() == 0, f"{name}: error output:\n{errors.first.inner_text()}"
    for stderr in panel.locator(".jp-OutputArea-output[data-mime-type*='stderr']").all():
        text = stderr.inner_text()
        assert "Traceback" not in text and "Error" not in text, f"{name}: stderr:\n{text}"
    page.wait_for_function(
        "panel => !panel.innerText.includes('Loading widget')",
        arg=panel.element_handle(),
        timeout=WIDGET_TIMEOUT_MS,
    )
    shown = panel.evaluate(_OUTPUTS_JS)
    assert "Error displaying widget" not in shown["text"], f"{name}: a widget failed to display"
    found = FULL_NUMBER.findall(shown["text"])
    assert not found, f"{name}: full numbers in the outputs: {found}"
    in_inputs = [v for v in shown["values"] if FULL_NUMBER.search(v)]
    assert not in_inputs, f"{name}: full numbers in input boxes: {in_inputs}"


# -- what a user tries after Run All, per notebook ------------------------------------------------


def _text_input(scope: Any, label: str) -> Any:
    """The input of an ipywidgets Text whose description is ``label``."""
    box = scope.locator(
        ".widget-text",
        has=scope.page.locator("label", has_text=re.compile(f"^{re.escape(label)}$")),
    )
    return box.locator("input").first


def _bind_adds_a_row(page: Any, panel: Any) -> None:
    binding_panel = panel.locator(
        ".widget-vbox", has=page.get_by_role("button", name="Bind", exact=True)
    ).last
    unbind_rows = binding_panel.get_by_role("button", name="Unbind")
    before = unbind_rows.count()
    _text_input(binding_panel, "A number").fill("138 0013 8777")
    _text_input(binding_panel, "B number").fill("139 0013 9777")
    binding_panel.get_by_role("button", name="Bind", exact=True).click()
    page.wait_for_function(
        "([panel, n]) => [...panel.querySelectorAll('button')]"
        ".filter(b => b.textContent.trim() === 'Unbind').length > n",
        arg=[binding_panel.element_handle(), before],
    )
    assert "Bound:" in binding_panel.inner_text()
    # The form is cleared after a bind: no full number stays in a box.
    assert _text_input(binding_panel, "A number").input_value() == ""
    assert _text_input(binding_panel, "B number").input_value() == ""


def _calls_counted(panel: Any) -> int:
    counters = panel.locator(".widget-html", has_text=re.compile(r"calls · .* answered")).first
    match = re.search(r"(\d+)\s*calls", counters.inner_text())
    assert match, counters.inner_text()
    return int(match.group(1))


def _tail_count_grows(page: Any, panel: Any) -> None:
    first = _calls_counted(panel)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _calls_counted(panel) <= first:
        page.wait_for_timeout(500)
    assert _calls_counted(panel) > first, "the tail's count did not grow while calls are placed"


def _decoder_shows_meaning(page: Any, panel: Any) -> None:
    from toolkit.codes import decode

    expected = decode(7004, "pn_state").meaning
    box = panel.locator("input[placeholder^='type or pick a code']")
    box.fill("")
    box.press_sequentially("7004")
    panel.get_by_text(expected).first.wait_for()


def _redraw_changes_chart(page: Any, panel: Any) -> None:
    # The outermost box holding the Redraw button is the dashboard itself.
    board = panel.locator(".widget-vbox", has=page.get_by_role("button", name="Redraw")).first
    image = board.locator("img").first
    before = image.get_attribute("src")
    board.locator(".widget-dropdown", has_text="group by").locator("select").select_option(
        label="hour of day"
    )
    board.get_by_role("button", name="Redraw").click()
    page.wait_for_function(
        "([img, src]) => img.getAttribute('src') !== src",
        arg=[image.element_handle(), before],
    )
    text = board.inner_text()
    assert "closed" not in text and "wrong" not in text, text


USER_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "01_bind_numbers.ipynb": _bind_adds_a_row,
    "02_tail_cdrs.ipynb": _tail_count_grows,
    "03_decode_hangup_causes.ipynb": _decoder_shows_meaning,
    "04_call_outcomes.ipynb": _redraw_changes_chart,
}


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_run_all_in_jupyterlab(lab_page: Any, name: str) -> None:
    """Run All through the menu; the notebook is clean, and its widgets answer a user."""
    panel = _open(lab_page, name)
    try:
        _run_all(lab_page, panel)
        assert_clean(lab_page, panel, name)
        check = USER_CHECKS.get(name)
        if check is not None:
            check(lab_page, panel)
            assert_clean(lab_page, panel, name)
    except Exception:
        _keep_screenshot(lab_page, name)
        raise
    finally:
        _close(lab_page)


def _keep_screenshot(page: Any, name: str) -> None:
    """On a failure, a full-page screenshot next to the server's log, for whoever debugs it."""
    target = Path(tempfile.gettempdir()) / f"browser-test-{Path(name).stem}.png"
    with contextlib.suppress(Exception):
        page.screenshot(path=str(target), full_page=True)
        print(f"screenshot of the failure: {target}")


def test_notebook7_ui_runs_a_notebook(lab: Lab, browser_context: Any) -> None:
    """The Notebook 7 UI is installed (``/tree`` answers) and runs a notebook with its widget."""
    assert lab.status("/tree") == 200
    name = "03_decode_hangup_causes.ipynb"
    page = browser_context.new_page()
    try:
        page.goto(f"{lab.url}/notebooks/{name}?token={lab.token}")
        panel = page.locator(".jp-NotebookPanel").first
        panel.wait_for()
        _accept_kernel_dialog(page)
        panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
        _run_all(page, panel)
        assert_clean(page, panel, f"{name} in Notebook 7")
        _decoder_shows_meaning(page, panel)
    except Exception:
        _keep_screenshot(page, f"notebook7-{name}")
        raise
    finally:
        page.close()
        lab.shutdown_kernels()


def test_full_number_pattern() -> None:
    """The privacy check itself: full numbers in any typing are found, masked ones are not."""
    for text in ("13800138000", "+8613800138000", "+86 138 0013 8000", "138 0013 8000"):
        assert FULL_NUMBER.search(text), text
    for text in ("138****8000", "+86138****8000", "1012010", "1,234 calls", "2026-11-29 18:00"):
        assert not FULL_NUMBER.search(text), text
