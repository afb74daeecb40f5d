"""for_all, the tensor checks' property runner: a failure is shrunk, within a budget."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import strategies as st

from grader.checks.checking import Fail
from grader.checks.properties import for_all

pytestmark = pytest.mark.grader


def context(purpose: str) -> SimpleNamespace:
    """What for_all reads of a check's Context, without a worker: hypothesis judges alone."""
    return SimpleNamespace(purpose=purpose, draws=0, batches=False, sandbox=None)


def test_shrinking_a_failure_draws_a_bounded_number_of_examples():
    """Each shrinking attempt draws an example first, and most are thrown away before they are
    judged (exercise 7's batches of shapes and arrays: a draw that runs past the old one's
    choices); draws are counted too, so one failure costs a bounded amount of the grader's
    time, and the failure reported is a real one, the latest judged."""
    from grader.checks.ex7 import _unbroadcast_cases

    started: list[int] = []  # draws begun, whether or not hypothesis kept them
    judged: list[int] = []

    @st.composite
    def counted(draw):
        started.append(1)
        return draw(_unbroadcast_cases())

    def judge(cases) -> None:  # "wrong" wherever an input was broadcast
        judged.append(1)
        broadcast = [a for a, g, _ in cases if tuple(a) != g.shape]
        if broadcast:
            raise Fail(f"{len(judged)}: {len(broadcast)} broadcast")

    with pytest.raises(Fail) as failed:
        for_all(context("budget"), counted(), judge, examples=15, shrink_calls=40)
    assert int(failed.value.message.split(":")[0]) <= len(judged)  # one that was judged
    assert len(started) <= 15 + 2 * 40 + 5, len(started)


def test_a_passing_property_draws_its_examples():
    seen: list[int] = []
    for_all(context("pass"), st.integers(0, 10**6), seen.append, examples=12)
    assert len(seen) == 12
