"""The grader's scores on known workspaces: the reference, the stubs, micrograd 0.1.0; its CLI."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from tests.grader_helpers import (
    EXERCISES,
    ROOT,
    by_name,
    checks_of,
    exercise_score,
    grade_json,
    grade_result,
    invoke,
    make_workspace,
)

pytestmark = pytest.mark.grader

ALL = [f"exercise-{n}" for n in range(0, 14)]  # part one (0-6), part two (7-13)
EX2_MISSING = {"exp backward", "log backward", "tanh backward", "sigmoid backward"}
DEEP_CHAIN = "exercise-3: a chain of 100,000 nodes"


@pytest.fixture(scope="module")
def reference_report() -> tuple[int, dict]:
    return grade_json(ROOT / "reference", "all")


@pytest.fixture(scope="module")
def stubs_report() -> tuple[int, dict]:
    return grade_json(ROOT / "exercises", "all")


@pytest.fixture
def micrograd_ws(tmp_path, micrograd_pypi):
    """exercises/ with micrograd 0.1.0's engine.py and nn.py copied over the stubs."""
    files = {n: (micrograd_pypi / "micrograd" / n).read_text() for n in ["engine.py", "nn.py"]}
    return make_workspace(tmp_path, files=files, base=EXERCISES)


@pytest.fixture(scope="module")
def micrograd_report(tmp_path_factory, micrograd_pypi) -> tuple[int, dict]:
    tmp = tmp_path_factory.mktemp("micrograd-0.1.0")
    files = {n: (micrograd_pypi / "micrograd" / n).read_text() for n in ["engine.py", "nn.py"]}
    return grade_json(make_workspace(tmp, files=files, base=EXERCISES), "all")


# -- the reference and the stubs ------------------------------------------------------------


def test_reference_full_marks_on_all(reference_report):
    code, result = reference_report
    assert code == 0
    assert result["score"] == result["max_score"] > 0
    assert [t["name"] for t in result["tests"] if t["status"] != "passed"] == []
    assert result["extra_data"]["error"] == ""


@pytest.mark.parametrize("exercise", ALL)
def test_reference_full_marks_per_exercise(exercise):
    code, result = grade_json(ROOT / "reference", exercise)
    assert code == 0
    assert result["score"] == result["max_score"]
    assert all(t["status"] == "passed" for t in result["tests"])
    assert all(t["tags"] == [exercise] for t in result["tests"])


def test_stubs_score_zero_everywhere(stubs_report):
    code, result = stubs_report
    assert code == 1
    assert result["score"] == 0
    assert result["tests"], "no checks at all"
    for t in result["tests"]:
        assert t["score"] == 0, t["name"]
        assert t["status"] == "failed", t["name"]
        assert "not implemented yet" in t["output"], (t["name"], t["output"])
        assert "Traceback" not in t["output"], (t["name"], t["output"])


# -- micrograd 0.1.0 dropped in place ---------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 4])
def test_micrograd_full_marks_on_ex1_ex3_and_ex4(micrograd_report, n):
    _, result = micrograd_report
    score, top = exercise_score(result, n)
    assert top > 0 and score == top, [t["output"] for t in checks_of(result, n)]


def test_micrograd_ex2_missing_functions(micrograd_report):
    _, result = micrograd_report
    for t in checks_of(result, 2):
        name = t["name"].removeprefix("exercise-2: ")
        if name in EX2_MISSING:
            assert t["score"] == 0 and t["status"] == "failed", name
            assert "missing" in t["output"], t["output"]
            assert name.split()[0] in t["output"], t["output"]  # names what is missing
        else:
            assert t["score"] == t["max_score"], (name, t["output"])


def test_micrograd_recursive_backward_passes_the_deep_chain_with_a_note(micrograd_report):
    """micrograd's backward() is recursive: full marks (the grader raises the recursion limit
    for it), and a note on why a program of the student's own would fail."""
    _, result = micrograd_report
    chain = by_name(result)[DEEP_CHAIN]
    assert chain["status"] == "passed" and chain["score"] == chain["max_score"]
    assert "recursive" in chain["output"] and "1,000" in chain["output"], chain["output"]


def test_reference_deep_chain_has_no_note():
    _, result = grade_json(ROOT / "reference", "exercise-3")
    assert by_name(result)[DEEP_CHAIN]["output"] == "passed"


def test_micrograd_exit_code(micrograd_report):
    code, result = micrograd_report
    assert code == 1
    assert 0 < result["score"] < result["max_score"]


# -- reproducibility and formats ---------------------------------------------------------------


def _without_time(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "execution_time"}


@pytest.mark.parametrize("kind", ["micrograd-0.1.0", "tanh-bug"])
def test_grading_twice_gives_the_same_json(kind, tmp_path, micrograd_ws):
    if kind == "micrograd-0.1.0":
        ws = micrograd_ws
    else:  # a wrong rule: failures with pictures and finite differences in the details
        ws = make_workspace(
            tmp_path / "bug", {"engine.py": [("(1 - out.data**2)", "(1 - self.data**2)")]}
        )
    pictures = str(tmp_path / "pictures")  # the same folder both times: its paths are in the JSON
    first = grade_json(ws, "all", "--pictures", pictures)
    second = grade_json(ws, "all", "--pictures", pictures)
    assert first[0] == second[0] == 1
    assert _without_time(first[1]) == _without_time(second[1])


def test_junit_parses_with_a_testcase_per_check(tmp_path, reference_report):
    ws = make_workspace(tmp_path, {"engine.py": [("(1 - out.data**2)", "(1 - self.data**2)")]})
    result = invoke(["all", "-s", str(ws), "--format", "junit", "--pictures", str(tmp_path / "p")])
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout.encode())
    cases = root.findall(".//testcase")
    names = [c.get("name") for c in cases]
    assert names == [t["name"].split(": ", 1)[1] for t in reference_report[1]["tests"]]
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert "tanh backward" in failed
    assert "+ backward" not in failed


def test_list():
    result = invoke(["list"])
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if line.startswith("exercise-")]
    assert [line.split()[0] for line in lines] == ALL


def test_unknown_exercise():
    result = invoke(["exercise-99"])
    assert result.exit_code == 2
    assert "exercise-99" in result.output
    assert "grade list" in result.output


def test_missing_submission(tmp_path):
    missing = tmp_path / "no-such-folder"
    result, report = grade_result(missing, "all")
    assert result.exit_code == 2
    assert report["score"] == 0
    assert report["extra_data"]["error"]
    assert "does not exist" in report["extra_data"]["error"]
    assert all(t["score"] == 0 for t in report["tests"])
    assert not missing.exists()


def test_reference_untouched_by_grading(tmp_path):
    """Grading a folder works on a copy: nothing is written into the submission."""
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "reference", ws, ignore=shutil.ignore_patterns("__pycache__"))
    before = sorted(p.relative_to(ws) for p in ws.rglob("*"))
    code, _ = grade_json(ws, "exercise-1")
    assert code == 0
    assert sorted(p.relative_to(ws) for p in ws.rglob("*")) == before
