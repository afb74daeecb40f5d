"""check() in a real Jupyter kernel (nbclient) against `grade` on the saved notebook: after a
restart, with a cell run but not saved, with cells saved and run; the hint ladder in a kernel,
through a pipe and in a batch; and what a %%try cell shows when the student's code raises."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from grader.feedback import hints
from grader.feedback.reports import md_inert
from grader.runner import grade_submission
from tests.test_notebooks import KEY, definition, fill, reference_files
from tests.test_notebooks import kit as shipped_kit
from tools import planted_edits

pytestmark = pytest.mark.kit

kit = pytest.fixture(shipped_kit.__wrapped__, name="kit")  # the stubs and notebooks, copied

TANH_BUG = ("(1 - out.data**2) * out.grad", "(1 - self.data**2) * out.grad")
NUDGE, FORMULA = hints.RULES["tanh"]


@contextlib.contextmanager
def kernel(notebook: Path) -> Iterator:
    """A fresh kernel in the notebook's folder (a restart is a new one); yields run(source),
    which executes a cell and returns what it printed and showed, as text."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    with client.setup_kernel():

        def run(source: str) -> str:
            cell = nbformat.v4.new_code_cell(source)
            nb.cells.append(cell)
            client.execute_cell(cell, len(nb.cells) - 1)
            texts = []
            for o in cell.outputs:
                texts.append(o.get("text", ""))
                texts.append(o.get("data", {}).get("text/plain", ""))
                texts += o.get("traceback", [])
            return "".join(texts)

        run.cells = nb.cells  # the cells run, with their outputs
        yield run


def setup_source(notebook: Path) -> str:
    """The notebook's first code cell: start(N) and the imports."""
    nb = nbformat.read(notebook, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


def marked_cells(notebook: Path) -> dict[str, str]:
    """{definition: cell source} of the notebook's %%micrograd cells, as saved."""
    nb = nbformat.read(notebook, as_version=4)
    return {c.metadata[KEY]["definition"]: c.source for c in nb.cells if KEY in c.metadata}


CHECK = (
    'r = check("exercise-{n}"); print("SCORE", r.score, r.max_score); '
    'print("NOTE", getattr(r, "note", ""))'
)


def score_and_note(printed: str) -> tuple[float, float, str]:
    score = re.search(r"SCORE (\S+) (\S+)", printed)
    note = re.search(r"NOTE (.*)", printed)
    return float(score[1]), float(score[2]), note[1].strip()


def filled(kit: Path, up_to: int, files: dict[str, str] | None = None) -> None:
    for k in range(up_to + 1):
        fill(kit / "notebooks" / f"exercise-{k}.ipynb", files or reference_files())


def test_after_a_restart_check_grades_the_saved_cells_as_grade_does(kit: Path):
    """Cells saved with the student's code, the kernel restarted: start(N) and check() alone
    (no %%micrograd cell run) grade what `grade` grades: full marks, nothing to note."""
    filled(kit, 3)
    notebook = kit / "notebooks" / "exercise-3.ipynb"
    graded = grade_submission(notebook, [3])
    assert graded.score == graded.max_score > 0
    with kernel(notebook) as run:
        run(setup_source(notebook))
        score, top, note = score_and_note(run(CHECK.format(n=3)))
        # and the kernel's own micrograd is the saved code: backward() runs
        printed = run(
            "from micrograd import Value\nx = Value(2.0); y = (x * x).tanh()\n"
            "y.backward(); print('GRAD', x.grad)"
        )
    assert (score, top) == (graded.score, graded.max_score)
    assert note == ""
    assert "GRAD" in printed and "not implemented" not in printed


def test_a_cell_run_but_not_saved_is_graded_as_run_and_named(kit: Path):
    """The saved notebook still holds the stub; the kernel ran the written cell. check()
    grades what the kernel runs and says, in one line, which cell differs from the file."""
    filled(kit, 2)
    notebook = kit / "notebooks" / "exercise-3.ipynb"
    mine = dict(marked_cells(notebook))
    written = definition(reference_files()["micrograd/engine.py"], "Value.backward")
    graded = grade_submission(notebook, [3])  # the saved file: the stub
    assert graded.score < graded.max_score
    with kernel(notebook) as run:
        run(setup_source(notebook))
        run(f"%%micrograd engine.py\n{written}")
        score, top, note = score_and_note(run(CHECK.format(n=3)))
        shown = run('check("exercise-3")')
    assert score == top > graded.score
    assert "differ from the saved exercise-3.ipynb: Value.backward." in note
    assert "note: graded as run in this kernel" in shown.splitlines()[0]
    assert mine == marked_cells(notebook)  # nothing written to the notebook


def test_cells_saved_and_run_agree_with_grade_without_a_note(kit: Path):
    filled(kit, 3)
    notebook = kit / "notebooks" / "exercise-3.ipynb"
    with kernel(notebook) as run:
        run(setup_source(notebook))
        for source in marked_cells(notebook).values():
            run(source)
        score, top, note = score_and_note(run(CHECK.format(n=3)))
    graded = grade_submission(notebook, [3])
    assert (score, top, note) == (graded.score, graded.max_score, "")


def test_a_saved_cell_edited_after_it_was_run_is_named_too(kit: Path):
    """Run, then edited and saved without running it again: the kernel's version is graded,
    and the line says so (the saved one is what `grade` grades)."""
    filled(kit, 3)
    notebook = kit / "notebooks" / "exercise-3.ipynb"
    with kernel(notebook) as run:
        run(setup_source(notebook))
        for source in marked_cells(notebook).values():
            run(source)
        nb = nbformat.read(notebook, as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get(KEY, {}).get("definition"))
        cell.source = cell.source.replace("self.grad = 1", "self.grad = 2")
        nbformat.write(nb, notebook)
        score, top, note = score_and_note(run(CHECK.format(n=3)))
    assert score == top
    assert "1 cell(s) differ from the saved exercise-3.ipynb: Value.backward" in note
    assert grade_submission(notebook, [3]).score < top


def hint_of(printed: str, check: str = "tanh backward") -> str:
    """The hint shown for a check in a text report."""
    block = printed[printed.index(f"exercise-2: {check} —") :]
    return re.search(r"hint: (.*)", block)[1]


def test_the_hint_ladder_climbs_in_a_kernel_across_restarts_and_through_a_pipe(kit: Path):
    """The same failure three times from check(): the nudge (and the promise), then the
    formula; a restarted kernel and `grade` through a pipe remember it (one history, beside
    micrograd/)."""
    files = reference_files()
    buggy = dict(files)
    buggy["micrograd/engine.py"] = planted_edits.apply_edits(
        "engine.py", files["micrograd/engine.py"], [TANH_BUG]
    )
    filled(kit, 1)
    fill(kit / "notebooks" / "exercise-2.ipynb", buggy)
    notebook = kit / "notebooks" / "exercise-2.ipynb"
    with kernel(notebook) as run:
        run(setup_source(notebook))
        first = hint_of(run('print(repr(check("exercise-2")))'))
        second = hint_of(run('print(repr(check("exercise-2")))'))
    with kernel(notebook) as run:  # a restart
        run(setup_source(notebook))
        third = hint_of(run('print(repr(check("exercise-2")))'))
    assert first == NUDGE + hints.NEXT_TIME
    assert second == third == FORMULA
    # `grade` with its output to a pipe, not a terminal: the same history
    piped = grade_piped(kit, "exercise-2")
    assert piped.returncode == 1, piped.stderr
    assert hint_of(piped.stdout) == FORMULA
    assert (kit / hints.HISTORY_FILE).is_file()


def grade_piped(ws: Path, exercise: str) -> subprocess.CompletedProcess:
    """`grade EXERCISE` on the workspace `ws` (its micrograd/ is the one Python imports, as
    after `grade workspace ws`), its output to a pipe."""
    env = {**os.environ, "PYTHONPATH": str(ws)}
    cmd = [sys.executable, "-m", "grader.cli", exercise]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ws.parent, env=env)


def test_grade_through_a_pipe_climbs_the_ladder(kit: Path):
    files = reference_files()
    for rel, text in files.items():
        (kit / rel).write_text(text)
    engine = kit / "micrograd" / "engine.py"
    engine.write_text(planted_edits.apply_edits("engine.py", engine.read_text(), [TANH_BUG]))
    seen = [grade_piped(kit, "exercise-2").stdout for _ in range(2)]
    assert [hint_of(s) for s in seen] == [NUDGE + hints.NEXT_TIME, FORMULA]


TRY_MUL = "%%try\na, b = Value(2.0), Value(-3.0)\nout = a * b\nout.grad = 1.0\nout._backward()"


def test_a_try_cell_shows_the_students_own_frames_named_by_cell(kit: Path):
    """An error in the student's rule, from a %%try cell: the traceback has the cell's line
    and the notebook cell holding the rule, no frame of the kit and no scratch folder."""
    files = reference_files()
    filled(kit, 0)
    broken = files["micrograd/engine.py"].replace(
        "other.grad += self.data * out.grad", "other.grad += self.data * out.grad * None"
    )
    fill(kit / "notebooks" / "exercise-1.ipynb", {**files, "micrograd/engine.py": broken})
    notebook = kit / "notebooks" / "exercise-1.ipynb"
    mul = marked_cells(notebook)["Value.__mul__"]
    number = next(
        i + 1
        for i, c in enumerate(nbformat.read(notebook, as_version=4).cells)
        if c.metadata.get(KEY, {}).get("definition") == "Value.__mul__"
    )
    line = (
        mul.splitlines().index(next(x for x in mul.splitlines() if "* None" in x)) + 1
    )  # the cell's own numbering: the %%micrograd line is line 1
    with kernel(notebook) as run:
        run(setup_source(notebook))
        with pytest.raises(Exception) as raised:
            run(TRY_MUL)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", str(raised.value))
    assert "this cell, line 5, in <module>" in shown
    assert f"exercise-1.ipynb, cell {number} (Value.__mul__), line {line}, in _backward" in shown
    assert "TypeError" in shown
    for kit_only in ("grader/notebook.py", "micrograd-notebook-", "IPython", "run_cell_magic"):
        assert kit_only not in shown, shown


def test_grade_batch_climbs_the_ladder_only_when_the_instructor_allows_it(tmp_path: Path):
    """Resubmitted with the same mistake: with --hint-ladder the formula, else the nudge."""
    from tests.test_batch import grade_batch, workspace

    submissions = tmp_path / "submissions"
    ws = workspace(submissions / "ann", {"engine.py": [TANH_BUG]})
    hints_seen = {}
    for ladder, attempts in ((False, 1), (True, 2)):
        out = tmp_path / f"grades-{ladder}"
        seen = []
        for attempt in range(attempts):
            engine = ws / "micrograd" / "engine.py"
            engine.write_text(engine.read_text() + f"\n# attempt {attempt}\n")  # resubmitted
            flags = ["--hint-ladder"] if ladder else []
            done = grade_batch(
                str(submissions), "--out", str(out), "-e", "2", "--jobs", "1", *flags
            )
            assert done.returncode == 0, done.stderr
            results = json.loads((out / "students" / "ann" / "results.json").read_text())
            (tanh,) = [t for t in results["tests"] if t["name"] == "exercise-2: tanh backward"]
            seen.append(re.search(r"\*Hint:\* (.*)", tanh["output"])[1])
        hints_seen[ladder] = seen
        assert (out / "hint-history").exists() == ladder
    # (read from results.json's output, which is Markdown: its hints are escaped)
    assert hints_seen[False] == [md_inert(NUDGE)]  # no ladder, no promise of a formula
    assert hints_seen[True] == [md_inert(NUDGE + hints.NEXT_TIME), md_inert(FORMULA)]


def test_no_check_in_a_kernel_leaves_a_picture_behind(kit: Path):
    """A failing graph is shown in the cell, not written beside the notebook."""
    files = reference_files()
    broken = files["micrograd/engine.py"].replace(
        "other.grad += self.data * out.grad", "other.grad += other.data * out.grad"
    )
    filled(kit, 0)
    fill(kit / "notebooks" / "exercise-1.ipynb", {**files, "micrograd/engine.py": broken})
    notebook = kit / "notebooks" / "exercise-1.ipynb"
    before = sorted(p.name for p in notebook.parent.iterdir())
    with kernel(notebook) as run:
        run(setup_source(notebook))
        shown = run('r = check("exercise-1"); print(r.score < r.max_score, len(r.images))')
    assert "True" in shown and not shown.strip().endswith(" 0")
    assert sorted(p.name for p in notebook.parent.iterdir()) == before
    assert ast.literal_eval(shown.split()[-1]) >= 1
