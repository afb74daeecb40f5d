"""Equal power under every secret: the planted-bug table and the hint ladder, checked under 20
course secrets, not one. Each bug is graded in-process on its own exercise's named checks only,
one sandbox per bug, so that 20 secrets cost seconds, not minutes."""

from __future__ import annotations

import re

import pytest

from grader.checks import course
from grader.checks.checking import Context
from grader.feedback import hints
from grader.feedback import results as R
from grader.runner import checks_for, run_check
from grader.sandbox import Sandbox
from tests.grader_helpers import make_workspace
from tools import planted_bugs
from tools.planted_bugs import Bug

pytestmark = pytest.mark.grader

SECRETS = [f"course number {i}" for i in range(20)]
BUGS = [pytest.param(bug, id=name) for name, bug in planted_bugs.MUTATIONS]


@pytest.fixture
def secret(monkeypatch):
    """A function that sets the course's secret (restored afterwards)."""
    monkeypatch.delenv(course.ENV_SECRET_FILE, raising=False)
    return lambda text: monkeypatch.setenv(course.ENV_SECRET, text)


def named_checks(bug: Bug):
    mine = checks_for([bug.exercise])
    if bug.exercise >= 5:
        return [c for c in mine if re.match(bug.check, c.name)]
    return [c for c in mine if c.name == bug.check]


@pytest.mark.parametrize("bug", BUGS)
def test_every_bug_is_caught_under_every_secret(bug: Bug, tmp_path, secret):
    ws = make_workspace(tmp_path, bug.edits)
    checks = named_checks(bug)
    assert checks, bug.check
    ladders: dict[str, set] = {c.name: set() for c in checks}
    with Sandbox(ws) as sandbox:
        ctx = Context(sandbox)
        for text in SECRETS:
            secret(text)
            for check in checks:
                res = run_check(check, ctx)
                assert res.outcome == bug.outcome, (text, check.name, res.outcome, res.message)
                if bug.op:
                    assert bug.op in res.message, (text, res.message)
                ladders[check.name].add(hints.ladder(res))
    # the hint follows the diagnosis, the same under every secret; a rule's bug, its rule's
    for name, seen in ladders.items():
        assert len(seen) == 1 and None not in seen, (name, seen)
    if bug.exercise in (1, 2) and bug.check == f"{bug.op} backward":
        # the rule's own ladder, or one of a diagnosis (`=`, out.grad left out), never another
        # rule's
        allowed = [hints.RULES[bug.op], *hints.DIAGNOSES.values()]
        assert ladders[bug.check] <= set(allowed), ladders[bug.check]


@pytest.mark.parametrize("op", ["__radd__", "__rsub__", "__rmul__"])
def test_a_missing_reflected_op_fails_the_random_expressions_under_every_secret(
    op, tmp_path, secret
):
    """Two public engines without __rsub__ scored 6 on exercise 2 under one secret and 8
    under another: now every op appears in the random expressions under every secret."""
    from tests.grader_helpers import REFERENCE

    text = (REFERENCE / "engine.py").read_text()
    start = text.index(f"    def {op}(")
    end = text.index("    def ", start + 1)
    ws = make_workspace(tmp_path, files={"engine.py": text[:start] + text[end:]})
    checks = [c for c in checks_for([1, 2]) if c.name.startswith("random expressions")]
    assert len(checks) == 2
    with Sandbox(ws) as sandbox:
        ctx = Context(sandbox)
        for text in SECRETS:
            secret(text)
            for check in checks:
                res = run_check(check, ctx)
                assert res.outcome in (R.WRONG, R.ERROR, R.MISSING), (text, check.name)
