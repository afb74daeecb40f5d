"""Planted bugs: each an edit of the reference that a student could make, and the check that
must catch it, named, with the operation at fault in its message; charged once: no other
exercise loses a point, but for at most one end-to-end check (which most bugs are graded
without: it is free to fail, and training a net on each bug took half the table's time).
The catalogue, the mutation table, lives in tools/planted_bugs.py (tools/synthetic_class.py
makes students of its first part). CI fails on any bug that scores full marks.
"""

from __future__ import annotations

import re

import pytest

from grader import runner
from grader.runner import checks_for
from tests.grader_helpers import by_name, checks_of, grade_part_one, make_workspace
from tools import planted_bugs
from tools.planted_bugs import Bug

pytestmark = pytest.mark.grader


ALL = list(range(7))
BUGS = [pytest.param(bug, id=name) for name, bug in planted_bugs.MUTATIONS]


def skip_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """Grade without the end-to-end check. Its verdict is left free by (c) below, and it trains
    a net for a second or more on each bug: half of this table's time, for no assertion."""
    real = runner.checks_for
    monkeypatch.setattr(
        runner, "checks_for", lambda *a, **k: [c for c in real(*a, **k) if not c.end_to_end]
    )


def named_checks(bug: Bug) -> list:
    """The checks of its exercise that (a) expects to fail."""
    mine = checks_for([bug.exercise])
    if bug.exercise >= 5:
        return [c for c in mine if re.match(bug.check, c.name)]
    return [c for c in mine if c.name == bug.check]


def test_no_bug_is_named_for_the_end_to_end_check():
    """Each bug names the check of its own that catches it, never the end-to-end one: the
    table below may then grade without it."""
    named = [(name, c.name) for name, bug in planted_bugs.MUTATIONS for c in named_checks(bug)]
    assert len({name for name, _ in named}) == len(planted_bugs.MUTATIONS)
    end_to_end = {c.name for c in checks_for(ALL) if c.end_to_end}
    assert end_to_end and [n for n in named if n[1] in end_to_end] == []


@pytest.mark.parametrize("bug", BUGS)
def test_planted_bug_is_caught(bug: Bug, tmp_path, monkeypatch):
    if not (bug.only and any(c.end_to_end for c in checks_for([bug.exercise]))):
        # (a) never names it (test_no_bug_is_named_for_the_end_to_end_check), and (c) leaves
        # it free; only `only` reads its verdict, beside a bug of its own exercise
        skip_end_to_end(monkeypatch)
    ws = make_workspace(tmp_path, bug.edits)
    code, result = grade_part_one(ws)  # part two has its own table, test_planted_tensor_bugs
    assert code == 1
    tests = by_name(result)
    n = bug.exercise

    # (a) the named check fails, with no points
    if n >= 5:
        named = [
            t for t in checks_of(result, n) if re.match(bug.check, t["name"].split(": ", 1)[1])
        ]
    else:
        named = [tests[f"exercise-{n}: {bug.check}"]]
    assert named, f"no exercise-{n} check matches {bug.check!r}"
    failed = [t for t in named if t["status"] == "failed"]
    assert failed == named, f"{[t['name'] for t in named]} passed: the bug went unnoticed"
    for t in failed:
        assert t["score"] == 0
        assert t["extra_data"]["outcome"] == bug.outcome, t["output"]

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

    # (c) charged once: every other exercise keeps its points, but for at most one end-to-end
    # check (which runs the student's whole code, and says so)
    end_to_end = {f"exercise-{c.exercise}: {c.name}" for c in checks_for(ALL) if c.end_to_end}
    elsewhere = [t for t in result["tests"] if f"exercise-{n}" not in t["tags"] and t["score"] == 0]
    lost = [t["name"] for t in elsewhere if t["max_score"] > 0]
    assert len(lost) <= 1 and set(lost) <= end_to_end, [
        (t["name"], t["output"][:300]) for t in elsewhere
    ]
