"""The demo (`nox -s demo`): a synthetic class graded in a batch agrees, row by row, with
grading each student alone and with what each student was written to score."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from tests.grader_helpers import ROOT

pytestmark = pytest.mark.grader


def test_demo_batch_agrees_with_grading_each_student_alone(tmp_path):
    # Exercise 1 only, to keep the suite quick; `nox -s demo` runs every exercise.
    cmd = [sys.executable, "tools/demo_class.py", "--out", str(tmp_path), "-e", "1", "--jobs", "2"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "40/40 rows agree" in done.stdout
    with open(tmp_path / "grades" / "gradebook.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len({r["student"] for r in rows}) == 40
    statuses = {r["status"] for r in rows}
    assert {"graded", "unreadable", "sandbox-failed"} <= statuses, statuses
