"""Load never changes a grade: an exercise's budget counts the worker's own time (its CPU
seconds and any stall), read from /proc by the grader, not the wall-clock seconds of a busy
machine (grader/sandbox/processes.py, WorkerClock)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.runner import BUDGET_SECONDS
from grader.sandbox import Sandbox
from tests.grader_helpers import grade_json, make_workspace

pytestmark = pytest.mark.grader

# A correct engine made slow: every Value burns CPU when it is made, so that the worker's time,
# not the grader's, is most of the exercise's
SLOW = {
    "engine.py": [
        (
            "        self.data = data\n",
            "        self.data = data\n"
            + " " * 8
            + "for _ in range(300_000):\n"
            + " " * 12
            + "pass\n",
        )
    ]
}


def worker_seconds(ws: Path, monkeypatch) -> float:
    """The worker's time on exercise 1, as the sandbox measured it."""
    used: list[float] = []
    close = Sandbox.close

    def measured(self):
        used.append(self.time_used())
        close(self)

    monkeypatch.setattr(Sandbox, "close", measured)
    code, _ = grade_json(ws, "exercise-1")
    monkeypatch.setattr(Sandbox, "close", close)
    assert code == 0 and len(used) == 1
    return used[0]


def without_timings(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "execution_time"}


def test_a_cpu_hog_of_four_times_the_cores_changes_nothing(tmp_path, monkeypatch):
    ws = make_workspace(tmp_path, SLOW)
    budget = 3 * worker_seconds(ws, monkeypatch)  # a budget the slow engine uses a third of
    monkeypatch.setenv("MICROGRAD_BUDGET_SCALE", str(budget / BUDGET_SECONDS[1]))

    idle = grade_json(ws, "exercise-1")
    # each hog in a session of its own: with the kernel's autogroup scheduling, CPU is shared
    # between sessions first, and hogs in pytest's session would only compete with pytest,
    # never with the worker (which has a session of its own)
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(4 * (os.cpu_count() or 1))
    ]
    try:
        start = time.monotonic()
        busy = grade_json(ws, "exercise-1")
        busy_wall = time.monotonic() - start
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait()
    assert idle[0] == busy[0] == 0, [t["output"] for t in busy[1]["tests"] if t["score"] == 0]
    assert without_timings(idle[1]) == without_timings(busy[1])
    # the premise: beside the hogs, the same grading took longer than the budget, wall clock
    # (a budget in wall-clock seconds would have run out)
    assert busy_wall > budget, (busy_wall, budget)
