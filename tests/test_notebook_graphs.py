"""A notebook's graphs as a student sees them: the graph cell run in a real kernel, its output
put on a page as Jupyter shows it (HTML first, else the SVG inline), in headless Chromium at a
1200 px window: the whole graph, its output node included, inside the frame and legible.
The screenshots are kept in tests/artifacts/ to look at."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import nbformat
import pytest

from tests.browser import Browser, chromium_path
from tests.conftest import ROOT
from tests.test_notebook_kernel import filled, kernel, setup_source
from tests.test_notebooks import kit as shipped_kit

pytestmark = pytest.mark.kit

kit = pytest.fixture(shipped_kit.__wrapped__, name="kit")
ARTIFACTS = ROOT / "tests" / "artifacts"
WINDOW = 1200  # px, the window's width
COLUMN = 900  # px, a notebook's output column in it (JupyterLab with its side bar open)

# JupyterLab's order of preference among an output's types, the ones a graph can have
PREFERENCE = ["text/html", "image/svg+xml", "image/png", "text/plain"]


def graph_outputs(n: int, kit: Path) -> list[dict]:
    """The outputs of exercise-n's graph cell, run in a kernel on the reference's code."""
    filled(kit, n)
    notebook = kit / "notebooks" / f"exercise-{n}.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    (graph,) = [c for c in nb.cells if "draw_dot(" in c.source and c.source.startswith("%%try")]
    with kernel(notebook) as run:
        run(setup_source(notebook))
        run(graph.source)
        return run.cells[-1].outputs


def page(outputs: list[dict]) -> str:
    """The outputs as nbconvert's lab template lays them out: each in the output column."""
    shown = []
    for o in outputs:
        data = o.get("data", {})
        kind = next((k for k in PREFERENCE if k in data), None)
        if kind in ("text/html", "image/svg+xml"):
            shown.append(f'<div class="output">{data[kind]}</div>')
        elif kind == "text/plain":
            shown.append(f'<pre class="output">{html.escape(data[kind])}</pre>')
    body = "\n".join(shown)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        "body{margin:0;font-family:sans-serif}"
        f".cell{{margin-left:{WINDOW - COLUMN - 40}px;width:{COLUMN}px}}"
        ".output{margin:8px 0}</style></head>"
        f"<body><div class='cell'>{body}</div></body></html>"
    )


@pytest.mark.parametrize("n", [4, 5, 6])
def test_the_graph_fits_a_notebook_column_at_1200_px(kit: Path, tmp_path: Path, n: int):
    if chromium_path() is None:
        pytest.skip("chromium is not installed (apt-get install chromium; nox -s tests does it)")
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed")
    outputs = graph_outputs(n, kit)
    assert sum("image/svg+xml" in o.get("data", {}) for o in outputs) == 2  # before, after
    path = tmp_path / f"exercise-{n}-graph.html"
    path.write_text(page(outputs))
    output_label = {4: "out", 5: "loss", 6: "loss"}[n]
    with Browser() as browser:
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )
        browser.open(path)
        boxes = browser.evaluate(
            f"""[...document.querySelectorAll('svg')].map(svg => {{
                const r = svg.getBoundingClientRect();
                const text = [...svg.querySelectorAll('text')]
                    .filter(t => t.textContent.trim() === {output_label!r}).pop();
                const t = text.getBoundingClientRect();
                return {{svg: [r.left, r.right], node: [t.left, t.right, t.top, t.height]}};
            }})"""
        )
        width = browser.evaluate("document.documentElement.scrollWidth")
        browser.screenshot(ARTIFACTS / f"notebook-exercise-{n}-graph-1200px.png")
        assert browser.console_errors() == []
    assert len(boxes) == 2
    assert width <= WINDOW  # nothing sticks out: no horizontal scrolling
    for box in boxes:
        left, right = box["svg"]
        assert 0 <= left and right <= WINDOW - 40, box  # in the column, in the frame
        node_left, node_right, top, height = box["node"]
        assert left <= node_left < node_right <= right, box  # the output node is shown
        assert height >= 11, box  # its label legible: at least 11 px of text
