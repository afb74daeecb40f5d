"""exercise-0 beyond the planted bugs: how students really write a numerical gradient, and
numbers drawn from the course's secret."""

from __future__ import annotations

import random

import pytest

from grader.checks import ex0
from grader.checks.course import ENV_SECRET, rng_for
from tests.grader_helpers import by_name, grade_json, make_workspace

pytestmark = pytest.mark.grader

NUMERICAL = "exercise-0: numerical gradient of a function of several inputs"
LOOP = """    grads = []
    for i in range(len(xs)):
        up = list(xs)
        down = list(xs)
        up[i] += h
        down[i] -= h
        grads.append((f(up) - f(down)) / (2 * h))
    return grads
"""
IN_PLACE = """    grads = []
    for i in range(len(xs)):
        old = xs[i]
        xs[i] = old + h
        up = f(xs)
        xs[i] = old - h
        down = f(xs)
        xs[i] = old
        grads.append((up - down) / (2 * h))
    return grads
"""
IN_PLACE_NOT_RESTORED = """    grads = []
    for i in range(len(xs)):
        xs[i] += h
        up = f(xs)
        xs[i] -= 2 * h
        down = f(xs)
        grads.append((up - down) / (2 * h))
    return grads
"""


def test_moving_xs_in_place_and_back_passes(tmp_path):
    ws = make_workspace(tmp_path, {"gradcheck.py": [(LOOP, IN_PLACE)]})
    code, report = grade_json(ws, "exercise-0")
    assert code == 0, [t["output"] for t in report["tests"] if t["status"] != "passed"]


def test_leaving_xs_moved_fails_and_says_so(tmp_path):
    ws = make_workspace(tmp_path, {"gradcheck.py": [(LOOP, IN_PLACE_NOT_RESTORED)]})
    _, report = grade_json(ws, "exercise-0")
    check = by_name(report)[NUMERICAL]
    assert check["status"] == "failed"
    assert "changed the list it was given" in check["output"]


def test_a_hard_coded_answer_fails_under_another_course_secret(tmp_path, monkeypatch):
    """The functions and points come from the course's secret (the check's ctx.rng, whose
    purpose is its name): an answer copied from a run with the public secret is wrong for a
    course that set its own."""
    public = ex0.Function.draw(rng_for("exercise-0/central difference"), 1).text()
    monkeypatch.setenv(ENV_SECRET, "a course of its own")
    private = ex0.Function.draw(rng_for("exercise-0/central difference"), 1).text()
    assert public != private


@pytest.mark.parametrize("seed", range(5))
def test_the_functions_gradient_is_exact(seed):
    rng = random.Random(seed)
    f = ex0.Function.draw(rng, 3)
    xs = [rng.uniform(-1, 1) for _ in range(3)]
    for j, g in enumerate(f.gradient(xs)):
        assert abs(ex0._central_at(f, xs, j, 1e-5) - g) <= 1e-8 * max(1.0, abs(g))


@pytest.mark.parametrize("h, passes", [(1e-3, False), (1e-4, True), (1e-7, True), (1e-10, False)])
def test_the_step_check_brackets_the_good_steps(tmp_path, h, passes):
    ws = make_workspace(tmp_path, {"gradcheck.py": [("return 1e-5", f"return {h!r}")]})
    _, report = grade_json(ws, "exercise-0")
    check = by_name(report)["exercise-0: a step h that balances truncation and rounding"]
    assert (check["status"] == "passed") == passes, check["output"]
    if not passes:
        assert ("too large" if h > 1e-5 else "too small") in check["output"]
