"""Part two's planted bugs (tools/planted_tensor_bugs.py): each is caught by the named check of
its own exercise under every one of SECRETS, as a wrong answer whose message names the op, the
input and the axis (or the index of the first wrong entry, for a rule of one entry at a time).

One worker per bug: the named check runs once per secret in it, as the runner runs it
(grader.runner.run_check), with the course's secret set in the environment each time.
"""

from __future__ import annotations

import re

import pytest

from grader.checks import course
from grader.checks.checking import REGISTRY, Context
from grader.feedback import results as R
from grader.runner import run_check
from grader.sandbox import Sandbox
from tests.grader_helpers import make_workspace
from tools import planted_tensor_bugs
from tools.planted_tensor_bugs import TensorBug

pytestmark = pytest.mark.grader

# the public practice secret, and four an instructor might choose
SECRETS = [course.PUBLIC_SECRET, "fall course 2025", "s3cr3t", "tensor-checks", "section B"]
BUGS = [pytest.param(bug, id=name) for name, bug in planted_tensor_bugs.MUTATIONS]


def named_check(bug: TensorBug):
    import grader.checks.registered  # noqa: F401 - registers the checks

    found = [c for c in REGISTRY if c.exercise == bug.exercise and c.name == bug.check]
    assert found, f"exercise-{bug.exercise} has no check named {bug.check!r}"
    return found[0]


def test_at_least_forty_bugs_over_every_tensor_exercise():
    assert len(planted_tensor_bugs.MUTATIONS) >= 40
    assert {bug.exercise for _, bug in planted_tensor_bugs.MUTATIONS} == set(range(7, 14))
    names = [name for name, _ in planted_tensor_bugs.MUTATIONS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("bug", BUGS)
def test_tensor_bug_is_caught_under_every_secret(bug: TensorBug, tmp_path, monkeypatch):
    check = named_check(bug)
    ws = make_workspace(tmp_path, bug.edits)
    monkeypatch.delenv(course.ENV_SECRET_FILE, raising=False)
    with Sandbox(ws) as sandbox:
        ctx = Context(sandbox)
        for secret in SECRETS:
            monkeypatch.setenv(course.ENV_SECRET, secret)
            res = run_check(check, ctx)
            where = f"under the secret {secret!r}: {res.outcome}\n{res.message}"
            assert res.outcome == R.WRONG, where
            assert res.score == 0
            for what, pattern in [("op", bug.op), ("input", bug.input), ("axis", bug.axis)]:
                if pattern:
                    assert re.search(pattern, res.message), f"no {what} ({pattern}) {where}"
