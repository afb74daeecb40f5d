"""Hints in turn: a nudge first, the formula when the same check fails again
(grader/feedback/hints.py)."""

from __future__ import annotations

import json
import os

import pytest

from grader.checks.checking import REGISTRY
from grader.feedback import hints
from grader.feedback import results as R
from grader.feedback.reports import md_inert
from tests.grader_helpers import EXERCISES, by_name, grade_json, make_workspace

pytestmark = pytest.mark.grader

TANH = "exercise-2: tanh backward"
TANH_BUG = {"engine.py": [("(1 - out.data**2)", "(1 - self.data**2)")]}
NUDGE, FORMULA = hints.RULES["tanh"]


def result(outcome=R.WRONG, name="tanh backward", rule="tanh", exercise=2, **details):
    return R.CheckResult(exercise, name, 0.0, 2.0, outcome, "m", "declared hint", rule, details)


def test_first_failure_nudges_a_repeat_gives_the_formula(tmp_path):
    history = hints.History(tmp_path / "h.json")
    first = result()
    assert hints.choose(first, history) == NUDGE + hints.NEXT_TIME
    history.record([first])
    assert hints.choose(result(), history) == FORMULA
    assert "1 - tanh(x)**2" in FORMULA and "1 - tanh(x)**2" not in NUDGE


def test_without_a_history_the_nudge_only():
    # a batch and Gradescope keep no history: never the formula, and no promise of one
    assert hints.choose(result(), None) == NUDGE


def test_a_different_rule_in_the_same_check_starts_again(tmp_path):
    history = hints.History(tmp_path / "h.json")
    name = "random expressions of every operation so far"
    history.record([result(name=name, rule="tanh")])
    assert hints.choose(result(name=name, rule="exp"), history).startswith(hints.RULES["exp"][0])
    assert hints.choose(result(name=name, rule="tanh"), history) == FORMULA


def test_rules_named_in_backquotes_and_checks_without_a_rule():
    composite = result(rule="`*` or `+`")
    assert hints.choose(composite, None) == hints.RULES["*"][0]
    ex0 = result(exercise=0, name="central difference", rule="")
    assert hints.choose(ex0, None) == hints.CHECKS["exercise-0: central difference"][0]
    raised = result(outcome=R.ERROR, rule="")  # TypeError in the rule: still tanh's ladder
    assert hints.choose(raised, None) == NUDGE
    unknown = result(name="something new", rule="")
    assert hints.choose(unknown, None) == "declared hint"


@pytest.mark.parametrize("outcome", [R.PASSED, R.NOT_IMPLEMENTED, R.MISSING, R.WORKER])
def test_what_is_not_a_wrong_answer_neither_counts_nor_escalates(tmp_path, outcome):
    history = hints.History(tmp_path / "h.json")
    res = result(outcome=outcome)
    res.hint = "" if outcome in (R.PASSED, R.NOT_IMPLEMENTED) else "declared hint"
    history.record([res, res])
    assert history.failures == {}
    assert hints.choose(res, history) == res.hint


def test_a_grader_error_does_not_count(tmp_path):
    history = hints.History(tmp_path / "h.json")
    history.record([result(outcome=R.ERROR, grader_error=True)])
    assert history.failures == {}


def test_a_pass_clears_its_own_check_and_nothing_else(tmp_path):
    path = tmp_path / "h.json"
    history = hints.History(path)
    other = result(name="exp backward", rule="exp")
    history.record([result(), other, result(exercise=0, name="relative error", rule="")])
    history.record([result(outcome=R.PASSED)])
    history.save()
    kept = hints.History(path).failures
    assert kept == {"exercise-2: exp backward [exp]": 1, "exercise-0: relative error": 1}


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[1, 2]",
        b'{"failures": [1]}',
        b'{"failures": {"exercise-2: tanh backward [tanh]": "many"}}',
        b'{"failures": {"exercise-2: tanh backward [tanh]": -3}}',
        b"\xff\xfe\x00 garbage",
        b"[" * 100_000,
        b"",
    ],
    ids=["text", "list", "list-failures", "string-count", "negative", "binary", "deep", "empty"],
)
def test_a_corrupt_history_is_an_empty_one(tmp_path, content):
    path = tmp_path / "h.json"
    path.write_bytes(content)
    history = hints.History(path)
    assert history.failures == {}
    assert hints.choose(result(), history) == NUDGE + hints.NEXT_TIME
    history.record([result()])
    history.save()
    assert json.loads(path.read_text())["failures"] == {"exercise-2: tanh backward [tanh]": 1}


def test_a_history_that_is_a_folder_or_a_fifo_neither_blocks_nor_crashes(tmp_path):
    folder = tmp_path / "dir.json"
    folder.mkdir()
    history = hints.History(folder)
    history.record([result()])
    history.save()  # cannot replace a folder: the hint is lost, not the grade
    assert folder.is_dir()
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert hints.History(fifo).failures == {}


def test_every_ladder_names_a_rule_or_an_existing_check():
    import grader.checks.registered  # noqa: F401 - registers the checks

    names = {f"exercise-{c.exercise}: {c.name}" for c in REGISTRY}
    assert set(hints.CHECKS) <= names
    for nudge, formula in [*hints.RULES.values(), *hints.CHECKS.values()]:
        assert nudge and formula and nudge != formula


# -- through `grade`, as a student runs it ---------------------------------------------------


def _tanh_hint(ws, history) -> str:
    _, report = grade_json(ws, "exercise-2", "--history", str(history))
    return by_name(report)[TANH]["output"]


def test_grade_escalates_on_the_same_failure_and_resets_once_fixed(tmp_path):
    ws = make_workspace(tmp_path, TANH_BUG)
    history = ws / ".grade-history.json"
    assert f"*Hint:* {md_inert(NUDGE)}" in _tanh_hint(ws, history)
    assert f"*Hint:* {md_inert(FORMULA)}" in _tanh_hint(ws, history)
    assert f"*Hint:* {md_inert(FORMULA)}" in _tanh_hint(ws, history)  # and stays there
    # fixed: passes, and its entry goes; a later new bug starts from the nudge again
    engine = ws / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace("(1 - self.data**2)", "(1 - out.data**2)"))
    _, report = grade_json(ws, "exercise-2", "--history", str(history))
    assert by_name(report)[TANH]["status"] == "passed"
    assert json.loads(history.read_text())["failures"] == {}


def test_grading_another_exercise_keeps_the_history(tmp_path):
    ws = make_workspace(tmp_path, TANH_BUG)
    history = tmp_path / "h.json"
    _tanh_hint(ws, history)
    before = json.loads(history.read_text())["failures"]
    assert any(k.startswith(TANH) for k in before)
    grade_json(ws, "exercise-1", "--history", str(history))
    assert json.loads(history.read_text())["failures"] == before


def test_untouched_stubs_never_escalate(tmp_path):
    history = tmp_path / "h.json"
    for _ in range(2):
        _, report = grade_json(EXERCISES.parent, "exercise-2", "--history", str(history))
    assert json.loads(history.read_text())["failures"] == {}
    assert all("hint:" not in t["output"] for t in report["tests"])


def test_json_without_history_writes_nothing_and_nudges(tmp_path):
    ws = make_workspace(tmp_path, TANH_BUG)
    for _ in range(2):
        _, report = grade_json(ws, "exercise-2")
        assert f"*Hint:* {md_inert(NUDGE)}" in by_name(report)[TANH]["output"]
        assert hints.NEXT_TIME.strip() not in by_name(report)[TANH]["output"]
    assert not list(ws.glob(".grade-history*"))


# -- hints by diagnosis ----------------------------------------------------------------------


def _hints_of(tmp_path, name: str, exercise: int) -> dict[str, str]:
    """{check name: the hint chosen} for the failing checks of planted bug `name`."""
    from grader.runner import grade
    from tools.planted_bugs import MUTATIONS

    bug = dict(MUTATIONS)[name]
    report = grade(make_workspace(tmp_path, bug.edits), [exercise])
    return {c.name: c.hint for c in report.checks if not c.passed}


def test_a_hint_follows_the_diagnosis_not_the_check(tmp_path):
    # `*` without out.grad: about out.grad, not the local derivative
    got = _hints_of(tmp_path / "a", "mul-forgets-upstream", 1)
    assert got["* backward"] == hints.DIAGNOSES["no upstream"][0], got
    # sigmoid with `=`: about `+=`, not about `+`, nor sigmoid's derivative
    got = _hints_of(tmp_path / "b", "sigmoid-assigns-instead-of-accumulating", 2)
    assert got["sigmoid backward"] == hints.DIAGNOSES["assigns"][0], got
    # a missing `reversed`: about the order, never "remember what you have visited"
    got = _hints_of(tmp_path / "c", "backward-in-topological-not-reverse-order", 3)
    assert got and all("visited" not in hint for hint in got.values()), got
    # exercise 4's outputs are wrong: no check's hint says "outputs right, gradients wrong"
    got = _hints_of(tmp_path / "d", "mlp-last-layer-nonlinear", 4)
    assert got and all("Outputs right" not in hint for hint in got.values()), got


def test_a_numerical_rule_gets_the_hint_that_rules_are_exact():
    res = result(name="exp backward", rule="exp", diagnosis="inexact")
    assert hints.choose(res, None) == hints.DIAGNOSES["inexact"][0]


def test_the_second_rung_gives_the_formula_not_the_function():
    import re

    code = re.compile(r"for \w+ in self\.|return (loss|out|\[)|; return|self\.grad \+= \w")
    for _, formula in [*hints.RULES.values(), *hints.CHECKS.values(), *hints.DIAGNOSES.values()]:
        assert not code.search(formula), formula


def test_minus_zero_is_never_printed():
    from grader.checks.checking import fmt

    assert fmt(-0.0) == "0" and fmt(0.0) == "0" and fmt(-1e-300 * 1e-300) == "0"
