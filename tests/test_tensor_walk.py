"""What a student's walk through part two (exercises 7-13, from the pages alone) found wrong or
silent in the grader's feedback, each as a slip a student made, and what the failure must now
say: the rule at fault (also when it raised at a node a composition made, or inside a model's
backward()), what the slip was, and the hint of that rule, not of the check.
"""

from __future__ import annotations

import re

import pytest

from grader.checks import course
from grader.checks.checking import REGISTRY, Context
from grader.checks.tensors import TEXT_DEPTH, TensorExpr
from grader.feedback import hints
from grader.feedback import results as R
from grader.runner import run_check
from grader.sandbox import Sandbox
from tests.grader_helpers import make_workspace

pytestmark = pytest.mark.grader

RULES = hints.tensor_hints.RULES
MUL_WITHOUT_UNBROADCAST = {
    "tensor.py": [
        ("unbroadcast(other.data * out.grad, self.data.shape)", "other.data * out.grad"),
        ("unbroadcast(self.data * out.grad, other.data.shape)", "self.data * out.grad"),
    ]
}
# (exercise, check, the slip, what the failure must say, the rule it must name)
SLIPS = [
    pytest.param(
        8,
        "+ and - backward, with broadcasting",
        MUL_WITHOUT_UNBROADCAST,
        ["`*` backward raised", "made inside a composition", "Likely: it has the result's"],
        "*",
        id="a-rule-raising-at-a-node-made-by-a-composition",
    ),
    pytest.param(
        9,
        "@ backward: batches of matrices, the batch axes broadcast",
        {"tensor.py": [("G @ B.swapaxes(-1, -2)", "G @ B.T"), ("A.swapaxes(-1, -2) @", "A.T @")]},
        ["`.T` reverses every axis", "swapaxes(-1, -2)"],
        "@",
        id="matmul-.T-on-a-batch",
    ),
    pytest.param(
        9,
        "@ backward: vectors (v @ M, M @ v, v @ v)",
        {"tensor.py": [("B.shape).reshape(other.data.shape)", "other.data.shape)")]},
        ["a vector, taken as a column", "reshape it instead"],
        "@",
        id="matmul-a-vector's-grad-not-reshaped",
    ),
    pytest.param(
        10,
        "log_softmax backward, along any axis",
        {"tensor.py": [("g.sum(axis=axis, keepdims=True)", "g.sum(axis=axis)")]},
        ["keepdims=True"],
        "log_softmax",
        id="log_softmax-sum-without-keepdims",
    ),
    pytest.param(
        11,
        "zero_grad(): every parameter's grad back to zeros, of its shape",
        {"tensor_nn.py": [("b.grad += g.sum(axis=0)", "b.grad += g")]},
        ["`linear`'s backward rule, while backward() ran"],
        "linear",
        id="a-model's-backward-rule-raising",
    ),
    pytest.param(
        11,
        "linear backward: W, b and x (when a Tensor), against PyTorch",
        {"tensor_nn.py": [("b.grad += g.sum(axis=0)", "b.grad += g")]},
        ["the bias b", "Likely: it has the result's shape", "(unbroadcast)"],
        "linear",
        id="linear's-bias-not-summed-over-rows",
    ),
]


def named_check(exercise: int, name: str):
    import grader.checks.registered  # noqa: F401 - registers the checks

    (found,) = [c for c in REGISTRY if c.exercise == exercise and c.name == name]
    return found


@pytest.mark.parametrize(("exercise", "name", "edits", "says", "rule"), SLIPS)
def test_a_slip_is_named_with_its_rule_and_its_hint(
    exercise, name, edits, says, rule, tmp_path, monkeypatch
):
    monkeypatch.delenv(course.ENV_SECRET_FILE, raising=False)
    monkeypatch.setenv(course.ENV_SECRET, course.PUBLIC_SECRET)
    with Sandbox(make_workspace(tmp_path, edits)) as sandbox:
        res = run_check(named_check(exercise, name), Context(sandbox))
    assert res.outcome == R.WRONG, res.message
    for text in says:
        assert text in res.message, res.message
    assert res.rule == rule
    assert hints.choose(res, None) == RULES[rule][0]


def test_a_composition_gets_the_hints_of_its_rules():
    # "-x0" failed in the exp/log/tanh check: the hint is `*`'s, not exp's (the check's own)
    neg = R.CheckResult(8, "exp, log and tanh backward", 0, 2, R.WRONG, "m", "exp's", "* (via -a)")
    assert hints.choose(neg, None) == f"`*`: {RULES['*'][0]}"
    sub = R.CheckResult(8, "+ and - backward", 0, 2, R.WRONG, "m", "", "+ and * (via a - b)")
    assert RULES["+"][0] in hints.choose(sub, None) and RULES["*"][0] in hints.choose(sub, None)


def test_a_deep_expression_writes_out_the_nodes_it_names_by_index():
    # a chain of tanh deeper than TEXT_DEPTH: its text names inner nodes t2, t9, ...
    nodes = [("x", 0)] + [("tanh", i) for i in range(2 * TEXT_DEPTH + 4)]
    expr = TensorExpr.of(nodes, [[0.5]])
    text, named = expr.text(), expr.named()
    used = set(re.findall(r"\bt\d+\b", text + named))
    defined = set(re.findall(r"\b(t\d+) = ", named))
    assert used and used == defined, (text, named)
    assert "t2 = x0.tanh().tanh()" in named
    assert TensorExpr.of([("x", 0), ("exp", 0)], [[1.0]]).named() == ""
