"""Grading part two (exercises 7-13): the reference gets full marks under several course
secrets, the stubs get 0 with "not implemented yet" on every check, a request never carries
its answer, the worker package imports numpy only inside its handlers, and part two's hints
are its own. The planted bugs are in test_planted_tensor_bugs.py.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from grader.checks import course
from grader.feedback import hints
from grader.feedback import results as R
from grader.feedback.reports import md_inert
from grader.runner import grade
from grader.sandbox import Sandbox
from tests.grader_helpers import EXERCISES, REFERENCE, by_name, grade_json, make_workspace
from tools import generate_course

pytestmark = pytest.mark.grader

TENSOR = list(range(7, 14))
TENSOR_MODULES = ["tensor.py", "tensor_nn.py", "tensor_train.py", "conv.py"]
WORKER = Path(__file__).resolve().parents[1] / "grader" / "sandbox" / "worker"


def graded(workspace: Path, secret: str, monkeypatch: pytest.MonkeyPatch) -> R.Report:
    monkeypatch.delenv(course.ENV_SECRET_FILE, raising=False)
    monkeypatch.setenv(course.ENV_SECRET, secret)
    return grade(workspace, TENSOR)


def tensor_stubs(tmp: Path) -> Path:
    """The workspace a student starts from: exercises/ with the tensor modules stubbed by the
    generator's own functions (its MODULES, with the tensor modules added where missing)."""
    ws = make_workspace(tmp, base=EXERCISES)
    modules = [*generate_course.MODULES, *TENSOR_MODULES]
    for module in dict.fromkeys(modules):
        if module not in TENSOR_MODULES:
            continue
        parts, _ = generate_course.split_regions(module, (REFERENCE / module).read_text())
        (ws / "micrograd" / module).write_text(generate_course.render_stubbed(parts))
    return ws


@pytest.fixture(scope="module")
def stubs_report(tmp_path_factory) -> tuple[int, dict]:
    return grade_json(tensor_stubs(tmp_path_factory.mktemp("stubs")), "all")


@pytest.mark.parametrize(
    "secret", [course.PUBLIC_SECRET, "fall course 2025", "s3cr3t", "tensor-checks", "section B"]
)
def test_reference_full_marks_on_7_to_13_under_every_secret(secret, monkeypatch):
    report = graded(REFERENCE.parent, secret, monkeypatch)
    failed = [(c.exercise, c.name, c.message[:500]) for c in report.checks if not c.passed]
    assert failed == []
    assert {c.exercise for c in report.checks} == set(TENSOR)
    assert report.error == ""


def test_stubs_score_zero_with_not_implemented_everywhere(stubs_report):
    code, result = stubs_report
    assert code == 1
    tensor = [t for t in result["tests"] if int(t["tags"][0].split("-")[1]) in TENSOR]
    assert {int(t["tags"][0].split("-")[1]) for t in tensor} == set(TENSOR)
    for t in tensor:
        assert t["score"] == 0, t["name"]
        assert "not implemented yet" in t["output"], (t["name"], t["output"])
        assert "Traceback" not in t["output"], (t["name"], t["output"])
        assert "*Hint:*" not in t["output"], (t["name"], t["output"])


def test_a_stub_names_its_own_exercise(stubs_report):
    _, result = stubs_report
    tests = by_name(result)
    shapes = tests["exercise-7: broadcast_shape of shapes that broadcast, scalars among them"]
    assert "exercise-7: broadcast_shape" in shapes["output"]
    windows = tests[
        "exercise-13: im2col: each output position's window as a row, as torch's unfold"
    ]
    assert "exercise-13: im2col" in windows["output"]


class Recording(Sandbox):
    """A sandbox that keeps every request it sends, each of a batch ("many") on its own."""

    sent: list[dict] = []
    batches: list[set] = []

    def request(self, kind, timeout=None, **payload):
        if kind == "many":
            Recording.batches.append(set(payload))
            Recording.sent += payload["requests"]
        else:
            Recording.sent.append({"kind": kind, **payload})
        return super().request(kind, timeout, **payload)


# what each request may carry: shapes, inputs, seeds, the upstream gradient; never a gradient,
# an output or a loss that the answer should have
ALLOWED = {
    "tensor_graph": {"nodes", "inputs", "upstream", "mode", "twice"},
    "tensor_forward": {"nodes", "inputs", "points"},
    "tensor_broadcast_shape": {"pairs"},
    "tensor_unbroadcast": {"cases"},
    "tensor_im2col": {"x", "cols", "shape", "kernel", "stride", "padding"},
    "tensor_init": {"nin", "nout", "nouts", "seed"},
    "tensor_mlp": {"model", "params", "x", "upstream", "x_tensor"},
    "tensor_sgd": {"params", "grads", "lr", "momentum"},
    "tensor_train_steps": {"model", "params", "X", "y", "batches", "lr", "momentum"},
    "tensor_batches": {"n", "batch_size", "seed"},
    "tensor_accuracy": {"logits", "y"},
    "tensor_epoch": {"model", "params", "X", "y", "lr", "momentum", "batch_size", "seed"},
    "tensor_fit": {"model", "params", "X", "y", "lr", "momentum", "batch_size", "seed", "epochs"},
}


def test_requests_carry_inputs_never_answers(monkeypatch):
    import grader.runner

    Recording.sent, Recording.batches = [], []
    monkeypatch.setattr(grader.runner, "Sandbox", Recording)
    report = grade(REFERENCE.parent, TENSOR)
    assert all(c.passed for c in report.checks)
    assert Recording.batches and all(b == {"requests"} for b in Recording.batches)
    kinds = {r["kind"] for r in Recording.sent}
    assert kinds == set(ALLOWED) - {"tensor_forward"}  # finite differences only on a failure
    for r in Recording.sent:
        assert set(r) - {"kind"} <= ALLOWED[r["kind"]], r["kind"]
    # the held-out digits never go to the worker: only training rows (1,438 of 1,797)
    training = [r for r in Recording.sent if r["kind"] in ("tensor_fit", "tensor_epoch")]
    rows = [r["X"]["shape"][0] for r in training]
    assert rows and all(n == 1797 - round(0.2 * 1797) for n in rows)
    assert max(len(json.dumps(r)) for r in Recording.sent) < 2_000_000


def test_the_worker_imports_numpy_only_inside_its_handlers():
    for path in WORKER.glob("*.py"):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top for a in n.names] + [
            n.module for n in top if isinstance(n, ast.ImportFrom) and n.module
        ]
        assert not any(str(name).split(".")[0] in ("numpy", "torch") for name in names), path


def test_part_two_hints_are_its_own():
    plus = R.CheckResult(8, "+ and - backward, with broadcasting", 0, 2, R.WRONG, "m", "", "+")
    nudge, formula = hints.tensor_hints.RULES["+"]
    assert hints.choose(plus, None) == nudge
    assert "unbroadcast" in formula
    part_one = R.CheckResult(1, "+ backward", 0, 2, R.WRONG, "m", "", "+")
    assert hints.choose(part_one, None) == hints.RULES["+"][0]
    for nudge, formula in hints.tensor_hints.RULES.values():
        assert nudge and formula and nudge != formula


def test_a_wrong_rule_escalates_to_its_formula(tmp_path):
    ws = make_workspace(tmp_path, {"tensor.py": [("(1 - out.data**2)", "(1 - self.data**2)")]})
    history = tmp_path / "h.json"
    name = "exercise-8: exp, log and tanh backward"
    nudge, formula = hints.tensor_hints.RULES["tanh"]
    outputs = [
        by_name(grade_json(ws, "exercise-8", "--history", str(history))[1])[name]["output"]
        for _ in range(2)
    ]
    # the JSON report's output is Markdown: the hint in it is escaped (md_inert)
    assert md_inert(nudge) in outputs[0] and md_inert(formula) in outputs[1]
    assert "`tanh` backward" in outputs[0] and "finite differences" in outputs[0]
