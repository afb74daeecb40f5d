"""Each of the grader's checks as a test: `pytest grader/suite -m exercise1 -v`."""

from __future__ import annotations

import pytest

from grader.checks.checking import Check, Context
from grader.exercises import EXERCISES
from grader.feedback import results as R
from grader.runner import checks_for, run_check

CHECKS = [
    pytest.param(
        c,
        id=f"exercise-{c.exercise}: {c.name}",
        marks=getattr(pytest.mark, f"exercise{c.exercise}"),
    )
    for c in checks_for(list(EXERCISES))
]


@pytest.mark.parametrize("check", CHECKS)
def test_check(check: Check, context: Context) -> None:
    result = run_check(check, context)
    if not result.passed:
        message, outcome = result.message, result.outcome
        lines = [message if message.startswith(outcome) else f"{outcome}: {message}"]
        if result.hint:
            lines.append(f"hint: {result.hint}")
        pytest.fail("\n".join(lines), pytrace=False)
    assert result.outcome == R.PASSED
