"""A failing tensor check's graph, drawn as part one's are: a planted bug of part two graded,
and the failing check's picture (SVG, or its DOT source without graphviz's `dot`; PNG for
Gradescope's Markdown) shows each node's op and shape, the wrong node marked with what was
expected. The shapes are read from the failure's own message, never written down here: they
are drawn from the course's secret.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.feedback import reports
from grader.runner import draw_failure_png, failure_graph, grade
from tests.conftest import ROOT
from tests.grader_helpers import make_workspace
from tests.test_permissions_mode import path_without
from tools.planted_tensor_bugs import MUTATIONS

pytestmark = pytest.mark.grader

BUG = dict(MUTATIONS)["add-without-unbroadcast"]  # `self.grad += out.grad`: no unbroadcast
CHECK = "+ and - backward, with broadcasting"


def graded(tmp_path: Path):
    """(the failing check of exercise 8 on the planted bug, the pictures folder)."""
    ws = make_workspace(tmp_path, BUG.edits)
    pictures = tmp_path / "pictures"
    report = grade(ws, [8], pictures)
    (res,) = [c for c in report.checks if c.name == CHECK]
    assert not res.passed, res.message
    assert "picture: " in reports.text(report)  # the terminal report names the file
    return res, pictures


def shapes_named(message: str) -> tuple[dict[str, str], str]:
    """({input: its shape}, the result's shape) as the failure's message gives them."""
    inputs = dict(re.findall(r"(x\d+) of shape (\(\d*(?:, \d+)*,?\))", message))
    result = re.search(r"to the result's (\(\d*(?:, \d+)*,?\))", message)[1]
    return inputs, result


def record(dot: str, text: str) -> str:
    """The DOT line of the box that holds `text`."""
    (line,) = [ln for ln in dot.splitlines() if "shape=record" in ln and text in ln]
    return line


def assert_drawn(dot: str, message: str) -> None:
    """Each node's op and shape in its box, the wrong input marked red with what was expected."""
    inputs, result = shapes_named(message)
    assert len(inputs) == 2, message
    for name, shape in inputs.items():
        record(dot, f"{{ {name} {shape}")
    assert "color=red" not in record(dot, f"add {result}")
    # the wrong operand, as the message names it: its grad has the result's shape
    wrong = re.search(r"sum it back over the broadcast axis \d+ to (\(.*?\))", message)[1]
    (name,) = [n for n, s in inputs.items() if s == wrong]
    marked = record(dot, f"{{ {name} {wrong}")
    assert "color=red" in marked, dot
    note = marked.split("|", 1)[1].replace("\\n", " ")
    assert f"grad of shape {wrong} expected, got {result}" in note, note
    assert "not summed over the broadcast axis" in note, note
    assert sum("color=red" in ln for ln in dot.splitlines()) == 1


def test_a_failing_tensor_check_has_a_picture_of_its_graph_by_shapes(tmp_path):
    res, pictures = graded(tmp_path)
    picture = Path(res.details["picture"])
    assert picture.parent == pictures and picture.exists()
    assert_drawn(failure_graph(res).source, res.message)
    graph = res.details["tensor_graph"]  # plain numbers, no arrays: JSON, and small
    assert json.loads(json.dumps(graph)) == graph and len(json.dumps(graph)) < 2000
    assert [n["op"] for n in graph["nodes"]] == ["", "", "add"]
    if shutil.which("dot"):
        assert picture.suffix == ".svg"
        svg = picture.read_text()
        inputs, result = shapes_named(res.message)
        assert f"add {result}" in svg and all(f"{k} {s}" in svg for k, s in inputs.items())
        png = draw_failure_png(res, tmp_path / "png")  # Gradescope's Markdown shows PNG only
        assert png is not None and png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_without_dot_the_picture_is_its_dot_source(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", path_without(tmp_path / "bin", "dot"))
    assert shutil.which("dot") is None
    res, pictures = graded(tmp_path)
    picture = Path(res.details["picture"])
    assert picture.suffix == ".dot" and picture.parent == pictures
    assert_drawn(picture.read_text(), res.message)
    assert draw_failure_png(res, tmp_path / "png") is None


def test_a_large_graph_is_cut_around_the_wrong_node():
    """A deep graph (hundreds of nodes: dot would take minutes) shows the nodes nearest the
    wrong one, an input left out as a box of its shape, the rest as one box to the output."""
    import numpy as np

    from grader.checks.tensor_graph import SHOWN, drawable, graph_details
    from grader.checks.tensors import TensorExpr
    from micrograd_reference.viz import graph_dot

    layers = 200
    nodes = [["x", 0], ["x", 1]]
    for _ in range(layers):  # h = h + (h @ W)
        nodes += [["matmul", len(nodes) - 1, 1], ["add", len(nodes) - 1, len(nodes)]]
    nodes.append(["sum", len(nodes) - 1, None, False])
    expr = TensorExpr.of(nodes, [np.ones((2, 3)), np.ones((3, 3))])
    values = [np.zeros((2, 3)), np.zeros((3, 3))] + [np.zeros((2, 3))] * (2 * layers)
    values.append(np.zeros(()))
    graph = graph_details(expr, values, 1, "grad wrong by up to 0.5", summary={})
    assert graph["hidden"] == len(nodes) - SHOWN and len(json.dumps(graph)) < 4000
    root, mark = drawable(graph)
    dot = graph_dot(root, mark=mark, shapes=True)
    assert dot.count("shape=record") < SHOWN + 5
    assert "x1 (3, 3) | grad wrong by up to 0.5" in dot and "matmul (2, 3)" in dot
    rest = re.search(r"(v\d+) \[shape=record, label=\"\{ … output \(\) \}", dot)[1]
    marked = re.search(r"(v\d+) \[shape=record, label=\"\{ x1 ", dot)[1]
    assert f"{marked} -> {rest};" in dot  # its uses left out lead on to the output


def test_check_in_a_notebook_shows_the_tensor_graph_inline(tmp_path, monkeypatch):
    """The bug in exercise 8's notebook cell, the earlier notebooks right: check() as a kernel
    runs it (start, the marked cells run, check) shows the failing graph in the cell."""
    import base64

    from grader import notebook as live
    from tests.test_notebooks import KEY, fill, reference_files

    kit = tmp_path / "kit"
    shutil.copytree(ROOT / "exercises" / "micrograd", kit / "micrograd")
    shutil.copytree(ROOT / "exercises" / "notebooks", kit / "notebooks")
    files = reference_files()
    ((old, new),) = BUG.edits["tensor.py"]
    buggy = {**files, "micrograd/tensor.py": files["micrograd/tensor.py"].replace(old, new)}
    for k in range(8):
        fill(kit / "notebooks" / f"exercise-{k}.ipynb", files)
    path = kit / "notebooks" / "exercise-8.ipynb"
    fill(path, buggy)
    monkeypatch.chdir(path.parent)
    session = live.start(8)
    try:
        for cell in nbformat.read(path, as_version=4).cells:
            if KEY in cell.metadata:
                first, _, body = cell.source.partition("\n")
                live._micrograd_magic(first.removeprefix("%%micrograd"), body)
        shown = live.check("exercise-8")
    finally:
        live.SESSION = None
        shutil.rmtree(session.loaded, ignore_errors=True)
    (res,) = [c for c in shown.report.checks if c.name == CHECK]
    assert not res.passed and res.details["picture"] in shown.images
    kind, data = shown.images[res.details["picture"]]
    drawn = base64.b64decode(data).decode()
    assert kind == ("image/svg+xml" if shutil.which("dot") else "text/plain")
    inputs, result = shapes_named(res.message)
    assert f"add {result}" in drawn and all(f"{k} {s}" in drawn for k, s in inputs.items())
    assert "not summed over the broadcast" in drawn.replace("\n", " ")
    assert data in shown._repr_html_()  # inline in the cell
