"""Part two's checks judged in batches (grader/checks/batching.py) reach the verdicts that
hypothesis reaches judging one example at a time: the same draws, the same passes and failures,
the same messages; the draws kept per process never carry over to another secret, and nothing
of one submission reaches the next. The worker's batch request ("many") answers each request as
it would alone, and a batch that fails is as if it had never been sent.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import batching, course, properties
from grader.checks.checking import REGISTRY, Context
from grader.feedback import results as R
from grader.runner import run_check
from grader.sandbox import Limits, Sandbox, StudentError, WorkerFailed
from tests.grader_helpers import REFERENCE, make_workspace
from tools import planted_tensor_bugs

pytestmark = pytest.mark.grader

SECRETS = ["fall course 2025", "section B"]


def tensor_checks():
    import grader.checks.registered  # noqa: F401 - registers the checks

    return [c for c in REGISTRY if c.exercise >= 7]


def plain(x):
    """An example as comparable plain data (numpy arrays as their shape and numbers)."""
    if isinstance(x, np.ndarray):
        return ("array", x.shape, x.tolist())
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    return x


def results(ws, checks, secret, monkeypatch, batches: bool) -> list[tuple]:
    """(outcome, message) of each check, run as the runner runs them, with or without
    batches; the draws kept per process cleared first when judging one at a time."""
    monkeypatch.setenv(course.ENV_SECRET, secret)
    if not batches:
        batching._DRAWN.clear()
    out = []
    with Sandbox(ws) as sandbox:
        ctx = Context(sandbox)
        for check in checks:
            ctx.batches = batches
            res = run_check(check, ctx)
            out.append((check.name, res.outcome, res.message))
    return out


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.delenv(course.ENV_SECRET_FILE, raising=False)


@pytest.mark.parametrize("secret", SECRETS)
def test_the_draws_are_those_hypothesis_judges(secret, monkeypatch):
    """Every for_all of part two, on the reference: the examples judged in batches are the
    examples hypothesis gives its test, one by one, in the same order."""
    monkeypatch.setenv(course.ENV_SECRET, secret)
    seen: dict[str, list] = {"batches": [], "hypothesis": []}
    real_judge_all, real_hypothesis = batching.judge_all, properties._hypothesis

    def judge_all(ctx, examples, judge):
        seen["batches"].append((ctx.purpose, plain(examples)))
        return real_judge_all(ctx, examples, judge)

    def hypothesis(ctx, strategy, examples, test):
        judged: list = []
        seen["hypothesis"].append((ctx.purpose, judged))

        def recording(example):
            judged.append(plain(example))
            test(example)

        real_hypothesis(ctx, strategy, examples, recording)

    monkeypatch.setattr(batching, "judge_all", judge_all)
    monkeypatch.setattr(properties, "_hypothesis", hypothesis)
    checks = tensor_checks()
    batching._DRAWN.clear()
    with Sandbox(REFERENCE.parent) as sandbox:
        ctx = Context(sandbox)
        for check in checks:
            ctx.batches = False  # hypothesis alone, as before batches
            assert run_check(check, ctx).passed
    one_by_one = seen["hypothesis"][:]
    seen["hypothesis"].clear()
    with Sandbox(REFERENCE.parent) as sandbox:
        ctx = Context(sandbox)
        for check in checks:
            assert run_check(check, ctx).passed
    # in batches: hypothesis ran only to draw (its test kept each example), and never judged
    assert len(seen["batches"]) == len(one_by_one) >= 30
    assert seen["batches"] == one_by_one
    assert all(examples for _, examples in seen["batches"])


@pytest.mark.parametrize(
    "exercise", sorted({bug.exercise for _, bug in planted_tensor_bugs.MUTATIONS})
)
def test_planted_bugs_get_the_same_verdicts_in_batches(exercise, tmp_path, monkeypatch):
    """Every planted bug of part two under a secret: its named check (and, for the first bug
    of each exercise, every check of that exercise that passes or fails beside it) gets the
    same outcome and the same message (the smallest failing example hypothesis finds) in
    batches as one example at a time. One test per exercise, so that workers share them."""
    mine = [c for c in tensor_checks() if c.exercise == exercise]
    first = True
    for k, (name, bug) in enumerate(planted_tensor_bugs.MUTATIONS):
        if bug.exercise != exercise:
            continue
        ws = make_workspace(tmp_path / name, bug.edits)
        checks = [c for c in mine if c.name == bug.check]
        if first:
            first = False
            checks = [c for c in mine if not c.end_to_end or c in checks]
        secret = SECRETS[k % len(SECRETS)]
        one_by_one = results(ws, checks, secret, monkeypatch, batches=False)
        in_batches = results(ws, checks, secret, monkeypatch, batches=True)
        assert in_batches == one_by_one, name
        assert (bug.check, R.WRONG) in [(n, o) for n, o, _ in in_batches], name


def test_part_ones_random_expressions_get_the_same_verdicts_in_batches(
    tmp_path, monkeypatch, micrograd_pypi
):
    """Part one's random expressions (exercises 1-3) are judged in batches too: every planted
    bug of those exercises gets, on its exercise's checks, the same outcomes and messages in
    batches as one expression at a time; the reference passes both ways; and micrograd 0.1.0,
    graded after it in the same process, is not drawn the reference's operations (it has no
    tanh: the draws kept are per set of operations)."""
    import grader.checks.registered  # noqa: F401 - registers the checks
    from tools import planted_bugs

    by_exercise = {n: [c for c in REGISTRY if c.exercise == n] for n in (1, 2, 3)}
    bugs = [(n, b) for n, b in planted_bugs.MUTATIONS if b.exercise in by_exercise]
    assert len(bugs) >= 20
    runs = []  # (name, workspace, exercise, secret)
    for k, (name, bug) in enumerate([("reference", None), ("micrograd 0.1.0", None), *bugs]):
        ws = (
            micrograd_pypi
            if bug is None and k
            else make_workspace(tmp_path / name, bug and bug.edits)
        )
        for n in [bug.exercise] if bug else by_exercise:
            runs.append((name, ws, n, SECRETS[k // 2 % len(SECRETS)]))  # 0.1.0: as the reference
    # all in batches first, in one process: the draws kept carry over from one to the next
    batching._DRAWN.clear()
    in_batches = [results(ws, by_exercise[n], s, monkeypatch, True) for _, ws, n, s in runs]
    for (name, ws, n, secret), batched in zip(runs, in_batches):
        assert batched == results(ws, by_exercise[n], secret, monkeypatch, False), name
        if name == "reference":
            assert all(outcome == R.PASSED for _, outcome, _ in batched)


def test_draws_kept_do_not_leak_between_submissions_or_secrets(tmp_path, monkeypatch):
    """In one process: the reference, then a planted bug, then the bug under another secret,
    then the reference again: each report is the one a fresh process gives (nothing of a
    submission is kept, and the draws kept are a secret's own)."""
    name, bug = next((n, b) for n, b in planted_tensor_bugs.MUTATIONS if b.exercise == 8)
    checks = [c for c in tensor_checks() if c.exercise == bug.exercise]
    buggy = make_workspace(tmp_path, bug.edits)
    fresh = {
        (ws, secret): results(ws, checks, secret, monkeypatch, batches=False)
        for ws in (REFERENCE.parent, buggy)
        for secret in SECRETS
    }
    batching._DRAWN.clear()
    for ws, secret in [
        (REFERENCE.parent, SECRETS[0]),
        (buggy, SECRETS[0]),
        (buggy, SECRETS[1]),
        (REFERENCE.parent, SECRETS[1]),
        (REFERENCE.parent, SECRETS[0]),
    ]:
        assert results(ws, checks, secret, monkeypatch, batches=True) == fresh[ws, secret]
    # each secret's draws are kept under its own seeds, apart from the other's
    kept = {key[0] for key in batching._DRAWN}
    per_secret = []
    for secret in SECRETS:
        monkeypatch.setenv(course.ENV_SECRET, secret)
        per_secret.append({course.seed_for(f"exercise-8/{c.name}") for c in checks} & kept)
    assert per_secret[0] and per_secret[1] and not per_secret[0] & per_secret[1]
    assert fresh[buggy, SECRETS[0]] != fresh[buggy, SECRETS[1]]  # the draws differ by secret


def test_a_batch_answers_each_request_as_alone():
    """Requests that ask the grader the order of the rules and requests that may not, a
    student's error among them: the batch's answers are the answers each gets alone."""
    rules = {"mode": "rules", "upstream": _wire([[1.5, -2.0]])}
    requests = [
        ("tensor_broadcast_shape", {"pairs": [[[2, 1], [3]], [[4], [5]]]}),
        ("tensor_graph", {**_expr("exp", [[0.5, -1.0]]), **rules}),
        ("tensor_graph", {**_expr("tanh", [[0.5, 2.0]]), **rules}),
        ("tensor_graph", {**_expr("exp", [[0.25, 1.0]]), "mode": "backward"}),
        ("tensor_init", {"nin": 3, "nout": -2, "seed": 1}),  # numpy raises ValueError
    ]
    with Sandbox(REFERENCE.parent) as sandbox:
        alone = []
        for kind, payload in requests:
            try:
                alone.append(_no_id(sandbox.request(kind, **payload)))
            except StudentError as exc:
                alone.append((exc.kind, exc.message, exc.where))
        got = batching._exchange(sandbox, [(k, None, p) for k, p in requests])
    assert [_no_id(a) if isinstance(a, dict) else a for a in got] == alone
    assert isinstance(alone[-1], tuple) and alone[-1][0] == "ValueError"


def _expr(op: str, x) -> dict:
    return {"nodes": [["x", 0], [op, 0]], "inputs": [_wire(x)]}


def test_a_failed_batch_is_as_if_never_sent(tmp_path):
    """A batch that times out: its time is given back and its timeout not counted, so the
    requests sent one by one after it meet the budget and limits they always did."""
    ws = make_workspace(
        tmp_path, {"tensor.py": [("def exp(self):", "def exp(self):\n        while True: pass")]}
    )
    with Sandbox(ws, Limits(request_seconds=1.0)) as sandbox:
        sandbox.set_budget(30.0)
        used = sandbox.time_used()
        request = (
            "tensor_graph",
            None,
            {"nodes": [["x", 0], ["exp", 0]], "inputs": [_wire([1.0])]},
        )
        with pytest.raises(WorkerFailed):
            with sandbox.trial():
                batching._exchange(sandbox, [request, request])
        assert sandbox.timeouts_in_a_row == 0 and sandbox.failures == 0
        assert sandbox.time_used() - used < 0.5  # the second it spent is given back


def _wire(values):
    a = np.asarray(values, dtype=np.float64)
    return {"shape": list(a.shape), "data": a.ravel().tolist()}


def _no_id(reply: dict) -> dict:
    return {k: v for k, v in reply.items() if k != "id"}
