"""Planted bugs: each an edit of the reference that a student could make, and the check that
must catch it, named, with the operation at fault in its message; charged once: no other
exercise loses a point, but for at most one end-to-end check.
The catalogue, the mutation table, lives in tools/planted_bugs.py (tools/synthetic_class.py
makes students of its first part). CI fails on any bug that scores full marks.
"""

from __future__ import annotations

import re

import pytest

from grader.runner import checks_for
from tests.grader_helpers import by_name, checks_of, grade_part_one, make_workspace
from tools import planted_bugs
from tools.planted_bugs import Bug

pytestmark = pytest.mark.grader


ALL = list(range(7))
BUGS = [pytest.param(bug, id=name) for name, bug in planted_bugs.MUTATIONS]


@pytest.mark.parametrize("bug", BUGS)
def test_planted_bug_is_caught(bug: Bug, tmp_path):
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
