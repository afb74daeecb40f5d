"""What a student walking through the notebooks found (issue 18), each fixed and held: the
pictures of failures, exercise 0's last cells, the exercise-6 graph, backticks in the HTML
report, the exercise-2 contract, exercise 5's demo, errors located by notebook cell."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader import notebook as live
from grader.feedback import results as R
from grader.runner import grade, grade_submission
from tests.conftest import ROOT
from tests.grader_helpers import make_workspace
from tests.test_notebooks import KEY, fill, reference_files
from tests.test_notebooks import kit as shipped_kit
from tools import generate_course as generate
from tools import planted_edits

pytestmark = pytest.mark.kit

kit = pytest.fixture(shipped_kit.__wrapped__, name="kit")
NOTEBOOKS = ROOT / "exercises" / "notebooks"
ADD, MUL = planted_edits.ADD_RULE, planted_edits.MUL_RULE


def code_cells(n: int) -> list[str]:
    nb = nbformat.read(NOTEBOOKS / f"exercise-{n}.ipynb", as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_pictures_are_named_per_check_and_go_when_it_passes(tmp_path: Path):
    """`+ backward` and `* backward` both wrong: two pictures, not one overwritten; once both
    rules are right, both pictures are gone (nothing stale to look at)."""
    broken = make_workspace(
        tmp_path / "broken",
        {
            "engine.py": [
                (ADD, ADD.replace("other.grad += out.grad", "other.grad += 2 * out.grad")),
                (MUL, MUL.replace("other.data * out.grad", "self.data * out.grad", 1)),
            ]
        },
    )
    pictures = tmp_path / "pictures"
    report = grade(broken, [1], pictures)
    drawn = {
        c.name: Path(c.details["picture"]).name for c in report.checks if "picture" in c.details
    }
    assert {"+ backward", "* backward"} <= set(drawn)
    assert drawn["+ backward"] != drawn["* backward"]
    assert {p.name for p in pictures.iterdir()} >= {drawn["+ backward"], drawn["* backward"]}
    fixed = make_workspace(tmp_path / "fixed")
    assert grade(fixed, [1], pictures).score == 10
    assert list(pictures.iterdir()) == []


def test_exercise_0_runs_on_exercise_0_alone(kit: Path):
    """Exercise 0's cells use no engine (its stubs are exercise 1's, not written yet): with
    gradcheck.py written and nothing else, every cell runs and no stub is met."""
    from tests.test_notebooks import execute, outputs

    fill(kit / "notebooks" / "exercise-0.ipynb", reference_files())
    nb = execute(kit / "notebooks" / "exercise-0.ipynb")
    printed = "".join(o.get("text", "") for o in outputs(nb))
    assert "not implemented yet" not in printed, printed
    assert not any("Value" in source for source in code_cells(0))


def test_a_stub_of_another_exercise_points_to_where_it_is_written(kit: Path, monkeypatch):
    monkeypatch.chdir(kit / "notebooks")
    session = live.start(3)
    try:
        here = live._where_to_write("exercise-3: Value.backward")
        earlier = live._where_to_write("exercise-1: Value.__mul__ backward")
        later = live._where_to_write("exercise-5: hinge_loss")
    finally:
        live.SESSION = None
        shutil.rmtree(session.loaded, ignore_errors=True)
    assert "%%micrograd cell above" in here
    assert "exercise-1.ipynb" in earlier and "cell above" not in earlier
    assert "later exercise" in later and "cell above" not in later


def test_the_exercise_6_graph_is_its_own_loss():
    (graph,) = [s for s in code_cells(6) if "draw_dot(" in s and s.startswith("%%try")]
    assert "mse_loss" in graph and "hinge_loss" not in graph
    assert generate.graph_source(6) != generate.graph_source(5)


def test_the_html_report_shows_code_as_code_not_backticks():
    res = R.CheckResult(
        2,
        "tanh backward",
        0,
        2,
        R.WRONG,
        "`tanh` backward: expected 1.57",
        "use `out.data`",
        "tanh",
    )
    shown = live.LiveReport(R.Report([2], [res]), {})._repr_html_()
    assert "<code>tanh</code>" in shown and "<code>out.data</code>" in shown
    assert "`" not in shown


def test_the_exercise_2_contract_does_not_give_the_tanh_derivative_away():
    page = (ROOT / "exercises" / "exercise-2.md").read_text().split(generate.GENERATED_BEGIN)[0]
    contract = page[page.index("## The contract") : page.index("## Questions")]
    assert "1 - out" not in contract and "out.data**2" not in contract


def test_notebooks_and_their_checks_leave_no_file_and_git_ignores_the_kits_own():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".grade-history.json" in ignored and "grade-pictures/" in ignored
    page = (ROOT / "exercises" / "exercise-5.md").read_text()
    assert ".png" not in "".join(code_cells(5))  # shown inline, never written
    assert "write(" in page  # the page says how to save them from a script


def test_the_exercise_5_demo_trains_in_seconds_and_logs_every_10_steps(tmp_path: Path):
    """The page's training code, on the reference, on one core: under 5 s of CPU time for the
    training, one line every 10 steps."""
    page = (ROOT / "exercises" / "exercise-5.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", page.split(generate.GENERATED_BEGIN)[0], re.S)
    (tmp_path / "micrograd").symlink_to(ROOT / "reference" / "micrograd")
    timed = code.replace(
        "history = fit(", "import time\n_t = time.process_time()\nhistory = fit("
    ).replace('print("held-out', "print('CPU', time.process_time() - _t)\nprint(\"held-out")
    script = tmp_path / "demo.py"
    script.write_text(timed)
    cmd = [sys.executable, str(script)]
    if Path("/usr/bin/taskset").exists():
        cmd = ["taskset", "-c", "0", *cmd]
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stdout.splitlines() if line.startswith("step")]
    cpu = float(re.search(r"CPU (\S+)", done.stdout)[1])
    accuracy = float(re.search(r"held-out accuracy: (\S+)", done.stdout)[1])
    assert [int(line.split()[1]) for line in steps] == [0, 10, 20, 30, 40, 49]
    assert cpu < 5.0, f"{cpu:.1f} s of CPU ({time.monotonic() - started:.1f} s wall)"
    assert accuracy >= 0.95


def test_grade_names_the_notebook_cell_of_an_error(kit: Path):
    """`grade --submission NOTEBOOK`: an error raised in a cell's code is located by the
    notebook, the cell's number and the line in that cell, not by the spliced module's line."""
    files = reference_files()
    broken = files["micrograd/engine.py"].replace(
        "other.grad += self.data * out.grad", "other.grad += self.data * out.grad * None"
    )
    path = kit / "notebooks" / "exercise-1.ipynb"
    fill(path, {**files, "micrograd/engine.py": broken})
    nb = nbformat.read(path, as_version=4)
    (number, cell) = next(
        (i + 1, c)
        for i, c in enumerate(nb.cells)
        if c.metadata.get(KEY, {}).get("definition") == "Value.__mul__"
    )
    line = next(i + 1 for i, x in enumerate(cell.source.splitlines()) if "* None" in x)
    report = grade_submission(path, [1])
    (mul,) = [c for c in report.checks if c.name == "* backward"]
    assert f"exercise-1.ipynb, cell {number} (Value.__mul__), line {line} in _backward" in (
        mul.message
    ), mul.message
    assert "engine.py:" not in mul.message
