"""How long the class report takes to write for a class of 500: the goal is under 1 s.

    python benchmarks/report_speed.py [--size 500]

Synthetic results, no grading: rows as the gradebook holds them (scores, failed checks with
their rules, look-alike fingerprints, a share that could not be graded), turned into
report.html and written atomically, as `grade batch` does after every save. Measured side by
side with the gradebook and summary.md that the batch writes at the same moments.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.classroom import gradebook as G  # noqa: E402
from grader.classroom.report_page import report_html  # noqa: E402
from grader.classroom.sheets import write_atomically  # noqa: E402
from grader.exercises import EXERCISES
from grader.runner import checks_for  # noqa: E402

RULES = ["+", "*", "**", "exp", "log", "tanh", "relu", "sigmoid", "seed", "train_step"]


def synthetic_rows(size: int, seed: int = 0) -> list[G.Row]:
    rng = random.Random(seed)
    checks = checks_for(list(EXERCISES))
    tops = {n: sum(c.points for c in checks if c.exercise == n) for n in EXERCISES}
    rows = []
    for i in range(size):
        student = f"s{i:04d}"
        if rng.random() < 0.04:
            why = rng.choice([G.UNREADABLE, G.TIMED_OUT, G.CRASHED])
            rows.append(G.Row(student, why, note=f"{why}: synthetic", entry=student + ".zip"))
            continue
        failed = [c for c in checks if rng.random() < 0.15]
        scores = {n: tops[n] - sum(c.points for c in failed if c.exercise == n) for n in tops}
        copied = i % 50 == 1  # a look-alike pair every 50 students
        rows.append(
            G.Row(
                student,
                G.GRADED,
                entry=student,
                scores=scores,
                max_scores=tops,
                failed=[
                    (f"exercise-{c.exercise}: {c.name}", "wrong", rng.choice(RULES)) for c in failed
                ],
                lookalike={
                    "own": f"{(i - 1 if copied else i):016x}",
                    "units": ["engine.py:Value.tanh", "engine.py:Value.__mul__"],
                    "size": 200,
                    "solution": False,
                },
            )
        )
    return rows


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=500)
    args = parser.parse_args()
    rows = synthetic_rows(args.size)
    exercises = list(EXERCISES)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        report = best_of(
            lambda: write_atomically(out / "report.html", report_html(rows, exercises))
        )
        size = (out / "report.html").stat().st_size
        book = best_of(
            lambda: (
                write_atomically(out / "gradebook.csv", G.gradebook_csv(rows, exercises)),
                write_atomically(out / "summary.md", G.summary_md(rows, exercises)),
            )
        )
    print(f"class of {args.size}: report.html ({size / 1024:.0f} KB) written in {report:.3f} s")
    print(f"gradebook.csv + summary.md written in {book:.3f} s (ratio {report / book:.1f}x)")
    print(f"goal: under 1 s: {'met' if report < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
