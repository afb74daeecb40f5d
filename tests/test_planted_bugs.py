"""Planted bugs: each an edit of the reference that a student could make, and the check that
must catch it, named, with the operation at fault in its message; earlier exercises unharmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.grader_helpers import by_name, checks_of, exercise_score, grade_json, make_workspace

pytestmark = pytest.mark.grader


@dataclass(frozen=True)
class Bug:
    exercise: int
    check: str  # the check's exact name, or for exercise-5 a regex its name matches
    edits: dict[str, list[tuple[str, str]]]
    op: str = ""  # the operation the failing check's output must name
    only: bool = False  # the named check is the only one of its exercise that fails


ADD_RULE = "self.grad += out.grad\n            other.grad += out.grad"
MUL_RULE = "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad"

ITERATIVE_TOPO = """\
        topo = []
        visited = set()
        stack = [(self, False)]
        while stack:
            v, inputs_done = stack.pop()
            if inputs_done:
                topo.append(v)
            elif v not in visited:
                visited.add(v)
                stack.append((v, True))
                stack.extend((child, False) for child in v._prev if child not in visited)
"""
RECURSIVE_TOPO = """\
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
"""


def engine(*edits: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return {"engine.py": list(edits)}


BUGS = [
    # exercise-1: + and *
    pytest.param(
        Bug(
            1,
            "a node used twice accumulates (+=)",
            engine((ADD_RULE, "self.grad = out.grad\n            other.grad = out.grad")),
            "+",
        ),
        id="add-assigns-instead-of-accumulating",
    ),
    pytest.param(
        Bug(
            1,
            "* backward",
            engine(
                (
                    MUL_RULE,
                    "self.grad += self.data * out.grad\n"
                    "            other.grad += other.data * out.grad",
                )
            ),
            "*",
        ),
        id="mul-uses-own-data",
    ),
    pytest.param(
        Bug(
            1, "+ backward", engine((ADD_RULE, "self.grad += 1\n            other.grad += 1")), "+"
        ),
        id="add-ignores-upstream",
    ),
    # exercise-2: powers and functions of one input
    pytest.param(
        Bug(2, "** backward", engine(("self.data ** (other - 1)", "self.data**other")), "**"),
        id="pow-exponent-missing-minus-one",
    ),
    pytest.param(
        Bug(
            2,
            "exp backward",
            engine(("self.grad += out.data * out.grad", "self.grad += self.data * out.grad")),
            "exp",
        ),
        id="exp-uses-self-data",
    ),
    pytest.param(
        Bug(
            2,
            "log backward",
            engine(("self.grad += out.grad / self.data", "self.grad += out.grad * self.data")),
            "log",
        ),
        id="log-multiplies-by-x",
    ),
    pytest.param(
        Bug(2, "tanh backward", engine(("(1 - out.data**2)", "(1 - self.data**2)")), "tanh"),
        id="tanh-uses-self-data",
    ),
    pytest.param(
        Bug(2, "relu backward", engine(("(out.data > 0)", "(self.data >= 0)")), "relu"),
        id="relu-gradient-one-at-zero",
    ),
    pytest.param(
        Bug(
            2,
            "sigmoid backward",
            engine(("out.data * (1 - out.data) * out.grad", "out.data * out.grad")),
            "sigmoid",
        ),
        id="sigmoid-missing-one-minus-s",
    ),
    # exercise-3: backward()
    pytest.param(
        Bug(
            3,
            "backward() seeds the output's grad with 1",
            engine(("        self.grad = 1\n", "        pass\n")),
        ),
        id="backward-without-seed",
    ),
    pytest.param(
        Bug(
            3,
            "topological order: every node's grad is complete before its rule runs",
            engine(("for v in reversed(topo):", "for v in topo:")),
        ),
        id="backward-in-topological-not-reverse-order",
    ),
    pytest.param(
        Bug(
            3,
            "a chain of 100,000 nodes",
            engine((ITERATIVE_TOPO, RECURSIVE_TOPO)),
            op="RecursionError",
            only=True,
        ),
        id="recursive-topological-sort",
    ),
    pytest.param(
        Bug(
            3,
            "a second backward() after zeroing the grads gives the same grads",
            engine((ITERATIVE_TOPO, "        topo = []\n"), ("        self.grad = 1\n", "")),
        ),
        id="backward-does-nothing",
    ),
    # exercise-4: the MLP
    pytest.param(
        Bug(
            4,
            "parameters(): count and order",
            {"nn.py": [("return self.w + [self.b]", "return self.w")]},
        ),
        id="neuron-parameters-without-bias",
    ),
    pytest.param(
        Bug(
            4,
            "parameters(): count and order",
            {
                "nn.py": [
                    (
                        "for n in self.neurons for p in n.parameters()",
                        "for n in reversed(self.neurons) for p in n.parameters()",
                    )
                ]
            },
        ),
        id="layer-parameters-in-reverse-order",
    ),
    pytest.param(
        Bug(
            4,
            "MLP(3, [4, 4, 1]) outputs match torch",
            {
                "nn.py": [
                    (
                        "for n in self.neurons for p in n.parameters()",
                        "for n in reversed(self.neurons) for p in n.parameters()",
                    )
                ]
            },
        ),
        id="layer-parameters-in-reverse-order-changes-outputs",
    ),
    pytest.param(
        Bug(
            4,
            "MLP(3, [4, 4, 1]) outputs match torch",
            {"nn.py": [("nonlin=i != len(nouts) - 1", "nonlin=True")]},
        ),
        id="mlp-last-layer-nonlinear",
    ),
    pytest.param(
        Bug(4, "zero_grad() sets every parameter's grad to 0", {"nn.py": [("p.grad = 0", "pass")]}),
        id="zero-grad-no-op",
    ),
    # exercise-5: losses, SGD, the training step (names matched by prefix: checks still landing)
    pytest.param(
        Bug(5, r"SGD\.step", {"optim.py": [("p.data -= lr * p.grad", "p.data += lr * p.grad")]}),
        id="sgd-step-sign-flipped",
    ),
    pytest.param(
        Bug(
            5, r"hinge_loss", {"losses.py": [("(1 + -y * s).relu()", "(1 + -y * s)")]}, "hinge_loss"
        ),
        id="hinge-without-relu",
    ),
    pytest.param(
        Bug(
            5,
            r"l2_penalty",
            {"losses.py": [("sum(p * p for p in params)", "sum(p for p in params)")]},
            "l2_penalty",
        ),
        id="l2-penalty-not-squared",
    ),
    pytest.param(
        Bug(5, r"train_step", {"train.py": [("    optimizer.zero_grad()\n", "")]}, "train_step"),
        id="train-step-without-zero-grad",
    ),
]


@pytest.mark.parametrize("bug", BUGS)
def test_planted_bug_is_caught(bug: Bug, tmp_path):
    ws = make_workspace(tmp_path, bug.edits)
    code, result = grade_json(ws, "all")
    assert code == 1
    tests = by_name(result)
    n = bug.exercise

    # (a) the named check fails, with no points
    if n == 5:
        named = [
            t for t in checks_of(result, 5) if re.match(bug.check, t["name"].split(": ", 1)[1])
        ]
    else:
        named = [tests[f"exercise-{n}: {bug.check}"]]
    assert named, f"no exercise-{n} check matches {bug.check!r}"
    failed = [t for t in named if t["status"] == "failed"]
    assert failed == named, f"{[t['name'] for t in named]} passed: the bug went unnoticed"
    for t in failed:
        assert t["score"] == 0
        assert t["extra_data"]["outcome"] == "wrong", t["output"]

    # (b) the failing check's output names the operation at fault
    if bug.op:
        assert any(f"`{bug.op}`" in t["output"] or bug.op in t["output"] for t in failed), [
            t["output"] for t in failed
        ]
        if n in (1, 2):  # a rule's checks name it as code, `op`
            assert any(f"`{bug.op}`" in t["output"] for t in failed)

    # the named check is the only failure of its exercise
    if bug.only:
        others = [t["name"] for t in checks_of(result, n) if t["status"] != "passed"]
        assert others == [named[0]["name"]]

    # (c) the exercises before it are untouched: the grader walks the graph itself for 1-2,
    # and exercise-3's backward() is not used by the MLP checks (they use the rules too)
    for earlier in range(1, n):
        score, top = exercise_score(result, earlier)
        failing = [t["output"] for t in checks_of(result, earlier) if t["status"] != "passed"]
        assert score == top, (earlier, failing)
