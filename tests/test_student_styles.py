"""The grader against engines written the ways students write micrograd: `_prev` as a set,
a recursive topological sort, the lecture's `label=`, extra ops, optional ops left out; a
method missing; a rule that assigns its grad; a grad that became a Value. The same code must
get the same report every run, and lose only the checks its faults touch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.grader_helpers import (
    EXERCISES,
    by_name,
    checks_of,
    exercise_score,
    grade_json,
    make_workspace,
)

pytestmark = pytest.mark.grader

LECTURE = (Path(__file__).parent / "student_styles" / "lecture_engine.py").read_text()
EXTRA_OPS = """

    def __abs__(self):
        return self if self.data >= 0 else -self

    def softplus(self):
        return (1 + self.exp()) ** 1  # an op of the student's own, never graded
"""
ADD_RULE = "self.grad += 1.0 * out.grad\n            other.grad += 1.0 * out.grad"


def lecture(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = LECTURE
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return make_workspace(tmp_path, files={"engine.py": text}, base=EXERCISES)


def _failed(result: dict, n: int) -> dict[str, str]:
    return {
        t["name"].split(": ", 1)[1]: t["output"]
        for t in checks_of(result, n)
        if t["status"] != "passed"
    }


def _without_time(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "execution_time"}


def test_lecture_style_engine_loses_only_the_ops_it_lacks(tmp_path):
    ws = make_workspace(tmp_path, files={"engine.py": LECTURE + EXTRA_OPS}, base=EXERCISES)
    code, result = grade_json(ws, "all")
    assert code == 1
    for n in (1, 3):
        score, top = exercise_score(result, n)
        assert score == top, _failed(result, n)
    failed = _failed(result, 2)
    assert set(failed) == {"log backward", "relu backward", "sigmoid backward"}, failed
    assert all("missing" in out for out in failed.values()), failed
    deep = by_name(result)["exercise-3: a chain of 100,000 nodes"]
    assert "recursive" in deep["output"]


def test_an_order_dependent_bug_gets_the_same_report_every_run(tmp_path):
    """`=` in +'s rule, with `_prev` a set: which use of a node wins depends on the order of
    visits, which must not change from run to run (nor become a grader error)."""
    ws = lecture(tmp_path, (ADD_RULE, ADD_RULE.replace("+=", "=")))
    pictures = ["--pictures", str(tmp_path / "pictures")]
    runs = [grade_json(ws, "exercise-1", *pictures) for _ in range(3)]
    runs += [grade_json(ws, "exercise-3", *pictures) for _ in range(2)]
    assert {code for code, _ in runs[:3]} == {1}
    # exercise 3 is graded with the kit's + standing in for this one: charged once, there
    assert {code for code, _ in runs[3:]} == {0}
    assert _without_time(runs[0][1]) == _without_time(runs[1][1]) == _without_time(runs[2][1])
    assert _without_time(runs[3][1]) == _without_time(runs[4][1])
    assert "a node used twice accumulates (+=)" in _failed(runs[0][1], 1)
    for _, result in runs:
        assert all("could not judge" not in out for out in _failed(result, 1).values())


@pytest.mark.parametrize(
    "rule, old, check",
    [
        ("exp", "self.grad += out.data * out.grad", "exp backward"),
        ("tanh", "self.grad += (1 - t**2) * out.grad", "tanh backward"),
        ("**", "self.grad += other * (self.data ** (other - 1)) * out.grad", "** backward"),
    ],
)
def test_a_one_input_rule_that_assigns_fails_its_check(tmp_path, rule, old, check):
    ws = lecture(tmp_path, (old, old.replace("+=", "=")))
    _, result = grade_json(ws, "exercise-2")
    failed = _failed(result, 2)
    assert check in failed, failed
    assert rule in failed[check]


def test_an_mlp_without_zero_grad_loses_only_that_check(tmp_path):
    old = "    def zero_grad(self):\n"
    ws = make_workspace(tmp_path, {"nn.py": [(old, "    def _zero_grad_gone(self):\n")]})
    _, result = grade_json(ws, "exercise-4")
    failed = _failed(result, 4)
    assert list(failed) == ["zero_grad() sets every parameter's grad to 0"], failed
    assert "zero_grad" in failed["zero_grad() sets every parameter's grad to 0"]


def test_a_grad_that_became_a_value_says_where_and_to_use_data(tmp_path):
    ws = make_workspace(tmp_path, {"engine.py": [("(1 - out.data**2)", "(1 - out**2)")]})
    _, result = grade_json(ws, "exercise-2")
    out = _failed(result, 2)["tanh backward"]
    assert "`tanh` backward rule" in out and "engine.py:" in out and ".data" in out, out
    # on random expressions too, where the input also feeds other rules (x**3 + tanh(x)):
    # the rule that made the Value is named, not another user of the same node
    out = _failed(result, 2)["random expressions of every operation so far"]
    assert "`tanh` backward rule" in out, out


def test_the_rule_that_made_a_value_grad_is_named_among_several_users(tmp_path):
    from grader.sandbox import Sandbox, StudentError

    ws = make_workspace(tmp_path, {"engine.py": [("(1 - out.data**2)", "(1 - out**2)")]})
    # x0 feeds x0**3 and tanh(x0); their sum is the output. Walking back after the fact,
    # x0's users both hold number grads: only the moment the Value appeared says which
    nodes = [["x", 0], ["pow", 0, 3], ["tanh", 0], ["add", 1, 2]]
    with Sandbox(ws) as sandbox:
        with pytest.raises(StudentError) as raised:
            sandbox.request("graph", nodes=nodes, inputs=[0.5], upstream=1.5, mode="rules")
    assert "`tanh` backward rule" in raised.value.message, raised.value.message


def test_a_check_that_breaks_is_that_checks_failure_not_a_grader_error():
    from grader.checks.checking import Check, Context
    from grader.feedback import results as R
    from grader.runner import run_check

    def broken(ctx):
        return {}["a key the grader did not foresee"]

    res = run_check(Check(1, "broken", 2, broken), Context(sandbox=None))
    assert res.outcome == R.WRONG and res.score == 0
    assert "could not judge" in res.message and "Traceback" not in res.message
    assert not res.details.get("grader_error")


def test_an_engine_whose_rule_is_random_gets_failures_never_exit_2(tmp_path):
    """A rule that answers differently each call: hypothesis sees a flaky failure, which is
    the check's failure with an explanation, never a grader error."""
    old = "self.grad += 1.0 * out.grad\n"
    new = "self.grad += (1.0 if __import__('random').random() < 0.8 else 2.0) * out.grad\n"
    ws = lecture(tmp_path, (old, new))
    code, result = grade_json(ws, "exercise-1")
    assert code == 1
    assert result["extra_data"]["error"] == ""
    for out in _failed(result, 1).values():
        assert "could not judge" not in out and "internal" not in out, out


# -- exact means exact ------------------------------------------------------------------------

NUMERICAL = (Path(__file__).parent / "student_styles" / "numerical_engine.py").read_text()


def _single_rule_scores(result: dict) -> dict[str, float]:
    """The scores of exercises 1-2's checks of single rules (all but the random expressions)."""
    return {
        t["name"]: t["score"]
        for t in result["tests"]
        if {"exercise-1", "exercise-2"} & set(t["tags"]) and "random expressions" not in t["name"]
    }


def test_a_numerical_derivative_engine_scores_no_more_than_the_stubs(tmp_path):
    ws = make_workspace(tmp_path, files={"engine.py": NUMERICAL}, base=EXERCISES)
    numerical, stubs = {}, {}
    for n in (1, 2):
        _, result = grade_json(ws, f"exercise-{n}")
        numerical.update(_single_rule_scores(result))
        said = [t["output"] for t in result["tests"] if "digits, not 15" in t["output"]]
        assert said, [t["output"][:200] for t in result["tests"]]
        _, result = grade_json(EXERCISES.parent, f"exercise-{n}")
        stubs.update(_single_rule_scores(result))
    assert len(numerical) == len(stubs) == 11
    assert all(numerical[name] <= stubs[name] for name in stubs), numerical


def test_exact_rules_in_other_forms_pass(tmp_path):
    ws = make_workspace(
        tmp_path,
        {
            "engine.py": [
                ("(1 - out.data**2) * out.grad", "(1 - math.tanh(self.data) ** 2) * out.grad"),
                (
                    "out.data * (1 - out.data) * out.grad",
                    "math.exp(-self.data) / (1 + math.exp(-self.data)) ** 2 * out.grad",
                ),
                ("self.grad += out.data * out.grad", "self.grad += math.exp(self.data) * out.grad"),
                ("out.grad / self.data", "1 / self.data * out.grad"),
                (
                    "other * self.data ** (other - 1) * out.grad",
                    "out.grad * other * math.pow(self.data, other - 1)",
                ),
            ]
        },
    )
    code, result = grade_json(ws, "exercise-2")
    assert code == 0, _failed(result, 2)
    tanh = ws / "micrograd" / "engine.py"
    text = tanh.read_text().replace(
        "(1 - math.tanh(self.data) ** 2)", "(1 - out.data) * (1 + out.data)"
    )
    tanh.write_text(text)
    code, result = grade_json(ws, "exercise-2")
    assert code == 0, _failed(result, 2)
