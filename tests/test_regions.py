"""Each exercise graded on its own code (grader/submissions/regions.py): the reference stands
in for the definitions of earlier exercises, in a composed file, and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.submissions import regions
from tests.grader_helpers import EXERCISES, REFERENCE, by_name, grade_json, make_workspace

pytestmark = pytest.mark.grader

LECTURE = (Path(__file__).parent / "student_styles" / "lecture_engine.py").read_text()


def stubs() -> dict[str, str | None]:
    return {m: (EXERCISES / m).read_text() for m in regions.MODULES}


def raises_stub(text: str, n: int) -> bool:
    return f'NotImplementedError("exercise-{n}:' in text


def test_the_reference_stands_in_for_earlier_exercises_only():
    for n in range(1, 7):
        changed, kept = regions.compose(stubs(), set(range(1, n)))
        assert kept == {}
        files = {**stubs(), **changed}
        for m, text in files.items():
            compile(text, m, "exec")  # every composed module is Python
            for k in range(1, 7):
                # earlier exercises are the reference's; this one and later the student's
                assert raises_stub(text, k) == (k >= n and raises_stub(stubs()[m], k)), (n, m, k)
        assert not any("# derivative:" in t or "# BEGIN" in t for t in changed.values())


def test_code_equal_to_the_reference_is_left_as_it_is():
    ref = {m: (REFERENCE / m).read_text() for m in regions.MODULES}
    assert regions.compose(ref, set(range(1, 6))) == ({}, {})


def test_a_student_who_deleted_the_todo_lines_is_composed_all_the_same():
    text = stubs()["engine.py"].replace("# TODO exercise-1: Value.__add__ backward", "# mine")
    changed, kept = regions.compose({"engine.py": text}, {1})
    assert kept == {} and not raises_stub(changed["engine.py"], 1)


@pytest.mark.parametrize(
    "edit, why",
    [
        (("out = Value(self.data + other.data", "res = Value(self.data + other.data"), "no `out`"),
        (
            (
                "        def _backward():\n            # TODO exercise-1: Value.__add__",
                "        def _back():\n            # TODO exercise-1: Value.__add__",
            ),
            "there is no `Value.__add__._backward`",
        ),
        (("class Value:", "class Value(:"), "does not parse"),
    ],
    ids=["other-names", "no-such-definition", "syntax-error"],
)
def test_an_exercise_that_cannot_be_found_stays_the_students_whole(edit, why):
    old, new = edit
    text = stubs()["engine.py"]
    assert text.count(old) == 1
    changed, kept = regions.compose({"engine.py": text.replace(old, new)}, {1, 2})
    assert why in kept[1], kept
    # exercise 1 kept whole (its `*` rule too), exercise 2 still composed
    engine = changed.get("engine.py", text.replace(old, new))
    assert raises_stub(engine, 1) and (not raises_stub(engine, 2) or 2 in kept)


def test_a_lecture_style_engine_is_composed_where_its_definitions_match():
    changed, kept = regions.compose({"engine.py": LECTURE}, {1, 2, 3})
    assert 1 not in kept and 3 not in kept  # + and *, backward(): same places, same names
    assert "there is no `Value.log._backward`" in kept[2]  # the lecture has no log


def test_a_note_says_when_earlier_code_ran_as_written(tmp_path):
    """The lecture engine lacks log, so exercise 2 cannot be set aside: a failure in exercise
    3 says that exercise 2's mistakes may cost points there."""
    broken = LECTURE.replace("self.grad = 1.0\n", "self.grad = 0.0\n")
    assert broken != LECTURE
    ws = make_workspace(tmp_path, files={"engine.py": broken}, base=EXERCISES)
    _, result = grade_json(ws, "exercise-3")
    seed = by_name(result)["exercise-3: backward() seeds the output's grad with 1"]
    assert seed["status"] == "failed"
    assert "exercise-2's code ran as you wrote it" in seed["output"], seed["output"]
