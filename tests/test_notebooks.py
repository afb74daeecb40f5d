"""The notebooks as a student runs them: executed headless in a real Jupyter kernel (nbclient),
as shipped (every check "not implemented yet", no traceback anywhere) and with the reference's
code in their cells (full marks, pictures inline); and a check from a cell agrees with `grade`.
"""

from __future__ import annotations

import ast
import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest

from grader import notebook as live
from grader.exercises import EXERCISES as GRADED
from grader.feedback import results as R
from grader.runner import grade_submission
from tests.conftest import ROOT
from tools import generate_course as generate
from tools import planted_bugs, planted_edits

pytestmark = pytest.mark.kit

# the exercises the grader knows (check() grades them); part two's notebooks before their
# checks exist: tests/test_notebooks_tensor.py
EXERCISES = sorted(n for n in generate.EXERCISES_INFO if n in GRADED)
REFERENCE = ROOT / "reference" / "micrograd"
KEY = generate.NOTEBOOK_KEY


def reference_files() -> dict[str, str]:
    return {f"micrograd/{p.name}": p.read_text() for p in sorted(REFERENCE.glob("*.py"))}


def definition(source: str, name: str) -> str:
    """The source of function `name` or method "Class.method" in a module."""
    owner, _, method = name.partition(".")
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if method and isinstance(node, ast.ClassDef) and node.name == owner:
            for m in node.body:
                if isinstance(m, ast.FunctionDef) and m.name == method:
                    first = min([m.lineno, *(d.lineno for d in m.decorator_list)])
                    body = "\n".join(lines[first - 1 : m.end_lineno])
                    return f"class {owner}:\n{body}"
        if not method and isinstance(node, ast.FunctionDef) and node.name == name:
            return "\n".join(lines[node.lineno - 1 : node.end_lineno])
    raise KeyError(name)


def fill(path: Path, files: dict[str, str]) -> None:
    """Put each marked cell's definition, as `files` has it, into the notebook at `path`."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get(KEY)
        if meta:
            module = meta["file"].removeprefix("micrograd/")
            body = definition(files[meta["file"]], meta["definition"])
            cell.source = f"%%micrograd {module}\n{body}"
    nbformat.write(nb, path)


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    """A student's workspace: the stubs, and the notebooks in notebooks/ beside them."""
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "exercises" / "micrograd", ws / "micrograd")
    shutil.copytree(ROOT / "exercises" / "notebooks", ws / "notebooks")
    return ws


def execute(path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError on an error in any cell
    return nb


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def check_output(nb: nbformat.NotebookNode) -> dict:
    cell = nb.cells[-1]
    assert cell.source.startswith("check(")
    (out,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    return out["data"]


def graph_pictures(nb: nbformat.NotebookNode) -> list[dict]:
    return [
        o["data"]
        for o in outputs(nb)
        if "image/svg+xml" in o.get("data", {})
        or "DOT source" in o.get("data", {}).get("text/plain", "")
    ]


@pytest.mark.parametrize("n", EXERCISES)
def test_notebook_as_shipped_runs_to_the_end_without_a_traceback(kit: Path, n: int):
    nb = execute(kit / "notebooks" / f"exercise-{n}.ipynb")
    for o in outputs(nb):
        assert o.output_type != "error"
        assert "Traceback" not in o.get("text", ""), o["text"]
    report = check_output(nb)["text/plain"]
    lines = [line for line in report.splitlines() if line.strip().startswith(("PASS", "FAIL"))]
    assert lines and all("FAIL" in line and "(not implemented yet)" in line for line in lines)
    assert "not implemented yet" in check_output(nb)["text/html"]


@pytest.mark.parametrize("n", EXERCISES)
def test_notebook_with_the_reference_code_gets_full_marks_and_shows_pictures(kit: Path, n: int):
    files = reference_files()
    for k in EXERCISES:
        if k <= n:  # the earlier notebooks hold the earlier exercises' code: picked up
            fill(kit / "notebooks" / f"exercise-{k}.ipynb", files)
    before = sorted(p.relative_to(kit) for p in kit.rglob("*"))
    nb = execute(kit / "notebooks" / f"exercise-{n}.ipynb")
    # no notebook writes a file: the pictures are inline; only the hints' memory is kept
    after = sorted(p.relative_to(kit) for p in kit.rglob("*") if p.name != ".grade-history.json")
    assert after == before
    report = check_output(nb)["text/plain"]
    assert "FAIL" not in report
    (total,) = [line for line in report.splitlines() if line.startswith("total ")]
    got, top = total.split()[-1].split("/")
    assert got == top and float(top) > 0, report
    # the graph, with gradients, drawn inline (as SVG where graphviz is installed)
    if generate.example(n) is None:  # exercise 0: slopes, before any engine, no graph
        assert graph_pictures(nb) == []
    else:
        assert len(graph_pictures(nb)) >= 2
    if shutil.which("dot"):
        assert all("image/svg+xml" in d for d in graph_pictures(nb))
    if n in generate.AFTER_PAGE_CODE:  # the training curves and the decision boundary
        pngs = [o for o in outputs(nb) if "image/png" in o.get("data", {})]
        assert len(pngs) >= len(generate.AFTER_PAGE_CODE[n])
    # and `grade` on the saved notebook agrees
    saved = kit / "notebooks" / f"exercise-{n}.ipynb"
    graded = grade_submission(saved, [n])
    assert graded.score == graded.max_score == float(top)


def test_a_syntax_error_in_a_cell_is_the_students_own(kit: Path):
    path = kit / "notebooks" / "exercise-1.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if KEY in c.metadata)
    cell.source += "\n    def broken(:\n"
    nbformat.write(nb, path)
    report = grade_submission(path, [1])
    assert report.score == 0
    assert all("SyntaxError in your code" in c.message for c in report.checks)


BUGS = [pytest.param(bug, id=name) for name, bug in planted_bugs.BUGS]


@pytest.mark.parametrize("bug", BUGS)
def test_a_check_from_a_cell_agrees_with_grade_on_planted_bugs(kit: Path, bug, monkeypatch):
    """The bug in its exercise's notebook, the earlier notebooks right: check() as a kernel
    runs it (start, the marked cells run, check) against `grade --submission NOTEBOOK`."""
    files = reference_files()
    buggy = dict(files)
    for module, edits in bug.edits.items():
        rel = f"micrograd/{module}"
        buggy[rel] = planted_edits.apply_edits(module, files[rel], edits)
    n = bug.exercise
    for k in EXERCISES:
        if k < n:
            fill(kit / "notebooks" / f"exercise-{k}.ipynb", files)
    path = kit / "notebooks" / f"exercise-{n}.ipynb"
    fill(path, buggy)
    # a kernel's session, with the cells run (the same calls the %%micrograd magic makes)
    monkeypatch.chdir(path.parent)
    session = live.start(n)
    try:
        for cell in nbformat.read(path, as_version=4).cells:
            if KEY in cell.metadata:
                first, _, body = cell.source.partition("\n")
                live._micrograd_magic(first.removeprefix("%%micrograd"), body)
        shown = live.check(f"exercise-{n}")
        mine = shown.report
    finally:
        live.SESSION = None
        shutil.rmtree(session.loaded, ignore_errors=True)
    theirs = grade_submission(path, [n])
    assert mine.score == theirs.score < theirs.max_score

    def summary(report: R.Report) -> list[tuple]:
        return [(c.name, c.outcome, c.score, c.message) for c in report.checks]

    assert summary(mine) == summary(theirs)
    # shown in the cell: each failure explained, its graph inline
    html = shown._repr_html_()
    for c in mine.checks:
        if not c.passed:
            # as the cell shows text: escaped, `code` as <code>
            assert live._html(c.name) in html and live._html(c.hint) in html
    if any(c.details.get("picture") for c in mine.checks):
        inline = "data:image/svg+xml;base64," if shutil.which("dot") else "digraph"
        assert inline in html


def test_definitions_replace_only_their_own_names():
    from grader.submissions.definitions import apply, definitions

    module = textwrap.dedent(
        """\
        import math


        class Value:
            def a(self):
                return 1

            def b(self):
                return 2


        def f():
            return 3
        """
    )
    cell = (
        "class Value:\n    def b(self):\n        return 20\n\n    def c(self):\n        return 30\n"
    )
    cell += "def f():\n    return 4\n"
    stub = 'def g():\n    raise NotImplementedError("exercise-9: g")\n'
    defs = definitions("m.py", cell) + definitions("m.py", stub)
    out = apply({"micrograd/m.py": module}, defs)["micrograd/m.py"]
    ns: dict = {}
    exec(out, ns)
    v = ns["Value"]()
    assert (v.a(), v.b(), v.c(), ns["f"]()) == (1, 20, 30, 4)
    assert "def g" not in out  # a definition still raising its stub leaves the module's own


def test_a_cell_fixed_after_a_syntax_error_is_graded_as_fixed(kit: Path, monkeypatch):
    monkeypatch.chdir(kit / "notebooks")
    session = live.start(1)
    add = definition(reference_files()["micrograd/engine.py"], "Value.__add__")
    try:
        with pytest.raises(live.YourCodeRaised, match="SyntaxError"):
            live._micrograd_magic("engine.py", add + "\n    def broken(:\n")
        message = live.check(1).report.checks[0].message
        assert "SyntaxError in your code" in message
        # named where it is: the notebook, the cell and its line (the magic's line is line 1)
        line = len(add.splitlines()) + 2  # the cell: %%micrograd, add, then the broken def
        assert f"exercise-1.ipynb, cell {_cell_number(kit, 1, 'Value.__add__')}" in message
        assert f"line {line})" in message, message
        live._micrograd_magic("engine.py", add)
        checks = {c.name: c for c in live.check(1).report.checks}
        assert checks["+ backward"].passed
        assert checks["* backward"].outcome == R.NOT_IMPLEMENTED  # the workspace's stub stands
    finally:
        live.SESSION = None
        shutil.rmtree(session.loaded, ignore_errors=True)


def _cell_number(kit: Path, n: int, definition: str) -> int:
    """The 1-based number of the cell marked for `definition` in exercise-n's notebook."""
    nb = nbformat.read(kit / "notebooks" / f"exercise-{n}.ipynb", as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get(KEY, {}).get("definition") == definition:
            return i + 1
    raise KeyError(definition)


def test_plain_grade_grades_the_workspace_with_its_notebooks(kit: Path, monkeypatch):
    """`grade exercise-2` (no --submission): the files, with the notebooks' cells up to 2, as
    a check from exercise-2's notebook sees them."""
    import json

    from click.testing import CliRunner

    from grader import cli
    from grader.submissions import workspace

    files = reference_files()
    fill(kit / "notebooks" / "exercise-1.ipynb", files)  # exercise 1 done in its notebook
    engine = kit / "micrograd" / "engine.py"  # exercise 2 done in the file
    text = engine.read_text()
    for name in ["__pow__", "exp", "log", "tanh", "relu", "sigmoid"]:
        stub = definition(text, f"Value.{name}").split("\n", 1)[1]
        text = text.replace(
            stub, definition(files["micrograd/engine.py"], f"Value.{name}").split("\n", 1)[1]
        )
    engine.write_text(text)
    monkeypatch.setattr(workspace, "current", lambda: kit)
    result = CliRunner().invoke(cli.main, ["exercise-2", "--format", "json"])
    graded = json.loads(result.output)
    assert graded["score"] == 15, result.output
    monkeypatch.chdir(kit / "notebooks")
    session = live.start(2)
    try:
        assert live.check(2).score == 15
    finally:
        live.SESSION = None
        shutil.rmtree(session.loaded, ignore_errors=True)


def test_plain_grade_says_which_notebook_cells_replace_the_files(kit: Path, monkeypatch):
    """A bug fixed in engine.py but still in a saved cell is graded from the cell: `grade` says
    so in one short line, naming the notebook and the definitions that differ from the file
    (once each; a cell holding the file's own code, or a stub, is not named)."""
    from click.testing import CliRunner

    from grader import cli
    from grader.submissions import workspace

    files = reference_files()
    engine = files["micrograd/engine.py"]
    buggy = dict(files)
    buggy["micrograd/engine.py"] = engine.replace(
        planted_edits.MUL_RULE, planted_edits.MUL_RULE.replace("other.data", "self.data", 1)
    )
    fill(kit / "notebooks" / "exercise-1.ipynb", buggy)
    for n in (2, 3, 4):  # the later notebooks hold the files' own code: nothing to say
        fill(kit / "notebooks" / f"exercise-{n}.ipynb", files)
    for rel, text in files.items():  # every exercise done in the files
        (kit / rel).write_text(text)
    monkeypatch.setattr(workspace, "current", lambda: kit)
    result = CliRunner().invoke(cli.main, ["exercise-4"])
    (note,) = [line for line in result.output.splitlines() if "graded with your notebooks" in line]
    assert note.endswith("differ from your files: exercise-1.ipynb: Value.__mul__"), note
    # a workspace whose notebooks are the file's code or untouched stubs: nothing to say
    fill(kit / "notebooks" / "exercise-1.ipynb", files)
    result = CliRunner().invoke(cli.main, ["exercise-1"])
    assert "graded with your notebooks" not in result.output
    shutil.copy(ROOT / "exercises" / "notebooks" / "exercise-1.ipynb", kit / "notebooks")
    result = CliRunner().invoke(cli.main, ["exercise-1"])
    assert "graded with your notebooks" not in result.output


def test_a_workspace_submitted_with_its_notebooks_is_graded_with_them(kit: Path, tmp_path: Path):
    """A folder (or a zip of one) holding notebooks/: their cells are the student's code too;
    a linked notebook is not (it could be another student's)."""
    import zipfile

    fill(kit / "notebooks" / "exercise-1.ipynb", reference_files())
    assert grade_submission(kit, [1]).score == 10
    archive = tmp_path / "work.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in kit.rglob("*"):
            if p.is_file():
                zf.write(p, p.relative_to(kit.parent))
    assert grade_submission(archive, [1]).score == 10
    moved = tmp_path / "elsewhere.ipynb"
    (kit / "notebooks" / "exercise-1.ipynb").rename(moved)
    (kit / "notebooks" / "exercise-1.ipynb").symlink_to(moved)
    assert grade_submission(kit, [1]).score == 0
