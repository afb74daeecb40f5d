"""Grade a synthetic class end to end, then check every row against grading that student alone.

    python tools/demo_class.py [--out demo] [--size 40] [-e N ...] [--jobs N]

1. writes the class (tools/synthetic_class.py) to OUT/class, its manifest beside it;
2. grades it with `grade batch OUT/class --out OUT/grades`, as an instructor would;
3. grades each student alone with `grade all --submission ENTRY --format json` and compares
   the scores, exercise by exercise, with the gradebook's row; and checks the manifest's
   expectations (full marks where the student's work is right, points lost where a bug is
   planted, no scores where the submission cannot be read).

Exit status 0 when every row agrees, 1 otherwise (each disagreement is printed).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python tools/demo_class.py`: make `tools` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.synthetic_class import write_class  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def grade_alone(entry: Path, exercises: list[int], pictures: Path) -> dict[int, float | None]:
    """Scores from `grade all --submission ENTRY --format json` (or `grade exercise-N` for
    each chosen exercise), as the student would run it; None where it could not be read."""
    from click.testing import CliRunner

    from grader.cli import main
    from grader.exercises import EXERCISES

    commands = ["all"] if exercises == list(EXERCISES) else [f"exercise-{n}" for n in exercises]
    scores: dict[int, float | None] = {}
    for command in commands:
        args = [command, "--submission", str(entry), "--format", "json", "--pictures"]
        report = json.loads(CliRunner().invoke(main, [*args, str(pictures)]).stdout)
        for n in exercises:
            found = report["extra_data"]["exercises"].get(f"exercise-{n}")
            if found is not None:
                scores[n] = None if report["extra_data"]["error"] else found["score"]
    return scores


def check_row(record: dict, row: dict, alone: dict, exercises: list[int]) -> list[str]:
    """What is wrong with one student's row; empty when all agrees."""
    problems = []
    expect = record["expect"]
    if not expect["gradable"]:
        if row["status"] != "unreadable":
            problems.append(f"status {row['status']!r}, expected unreadable")
    for n in exercises:
        cell = row[f"exercise-{n}"]
        batch = float(cell) if cell else None
        if batch != alone[n]:
            problems.append(f"exercise-{n}: gradebook {cell or 'blank'}, alone {alone[n]}")
        if n in expect["full_marks"] and row["status"] not in ("graded",):
            problems.append(f"exercise-{n}: expected full marks, status {row['status']}")
    tops = {n: _max_points(n) for n in exercises}
    for n in set(expect["full_marks"]) & set(exercises):
        if alone[n] != tops[n]:
            problems.append(f"exercise-{n}: {alone[n]}/{tops[n]}, expected full marks")
    for n in set(expect["loses_points"]) & set(exercises):
        if alone[n] is not None and alone[n] >= tops[n]:
            problems.append(f"exercise-{n}: full marks, but the planted bug should lose points")
    return problems


def _max_points(n: int) -> float:
    from grader.runner import checks_for

    return float(sum(c.points for c in checks_for([n])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "demo")
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("-e", "--exercise", type=int, action="append", dest="exercises")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    exercises = sorted(set(args.exercises or [1, 2, 3, 4, 5]))
    out: Path = args.out.resolve()
    submissions, grades = out / "class", out / "grades"
    for old in (submissions, grades, out / "alone-pictures"):
        shutil.rmtree(old, ignore_errors=True)
    records = write_class(submissions, args.size, manifest=out / "class.manifest.json")
    print(f"wrote {len(records)} students to {submissions}")

    start = time.monotonic()
    cmd = [sys.executable, "-m", "grader.cli", "batch", str(submissions), "--out", str(grades)]
    cmd += [f"--exercise={n}" for n in exercises] + [f"--jobs={args.jobs}"]
    batch = subprocess.run(cmd, cwd=ROOT)
    print(f"grade batch: exit {batch.returncode} in {time.monotonic() - start:.1f} s")
    if batch.returncode not in (0, 1):
        return 1
    with open(grades / "gradebook.csv", newline="", encoding="utf-8-sig") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}

    print(f"grading each of the {len(records)} students alone, to compare ...")
    start = time.monotonic()
    failures = 0
    width = max(len(r["id"]) for r in records)
    for record in records:
        alone = grade_alone(submissions / record["entry"], exercises, out / "alone-pictures")
        row = rows.get(record["id"])
        problems = ["no row in the gradebook"] if row is None else []
        problems = problems or check_row(record, row, alone, exercises)
        status, total = (row["status"], row["total"] or "-") if row else ("-", "-")
        mark = "ok " if not problems else "BAD"
        print(f"  {mark} {record['id']:<{width}} {status:<15} {total:>5}")
        for p in problems:
            print(f"        {p}")
        failures += bool(problems)
    print(f"compared in {time.monotonic() - start:.1f} s")
    extra = sorted(set(rows) - {r["id"] for r in records})
    if extra:
        print(f"rows for students not in the class: {extra}")
        failures += len(extra)
    print(
        f"{len(records) - failures}/{len(records)} rows agree with grading alone"
        f" and with what the class was written to score; gradebook {grades / 'gradebook.csv'}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
