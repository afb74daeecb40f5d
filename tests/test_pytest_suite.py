"""`pytest grader/suite --submission PATH`: the grader's checks as a pytest suite, same verdicts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.grader_helpers import EXERCISES, ROOT, make_workspace

pytestmark = pytest.mark.grader


def suite(submission, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", "grader/suite", "--submission", str(submission)]
    cmd += ["-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_reference_passes_every_check_of_the_chosen_exercises(tmp_path):
    done = suite(make_workspace(tmp_path), "-m", "exercise1 or exercise2")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "passed" in done.stdout and "failed" not in done.stdout


def test_stubs_fail_and_say_not_implemented():
    done = suite(EXERCISES.parent, "-m", "exercise1")
    assert done.returncode == 1
    assert "5 failed" in done.stdout and "not implemented yet: exercise-1" in done.stdout
    assert "Traceback" not in done.stdout


def test_a_wrong_rule_is_named(tmp_path):
    add = "self.grad += out.grad\n            other.grad += out.grad"
    ws = make_workspace(
        tmp_path, {"engine.py": [(add, add.replace("other.grad +=", "other.grad -="))]}
    )
    done = suite(ws, "-m", "exercise1")
    assert done.returncode == 1
    assert "`+` backward" in done.stdout


def test_unreadable_submission_stops_with_a_message(tmp_path):
    done = suite(tmp_path / "missing.zip", "-m", "exercise1")
    assert done.returncode == 2
    assert "could not grade" in done.stdout + done.stderr
