"""A long-lived grading process for batches: it imports torch once and grades many submissions.

    python -m grader.classroom.grading_process --exercise 1 --exercise 2 [--extra-checks DIR]

It reads one task per line on stdin, {"student", "entry", "out", "key"}, grades the entry
(student code runs in its own sandboxed worker, as always), writes the student's folder `out`
(results.json, feedback.md, pictures/) and answers with one line on its stdout: the
results.json it wrote. Everything else it or a library prints goes to stderr, so that
nothing can be mistaken for an answer. It dies with the batch that started it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from grader.checks.checking import Check
from grader.classroom import gradebook as G
from grader.classroom import lookalike, receipt, student_page
from grader.classroom.sheets import write_atomically
from grader.feedback import reports
from grader.feedback import results as R
from grader.feedback.hints import History
from grader.runner import grade_submission, load_extra_checks
from grader.sandbox import die_with_parent, protect


def status_of(report: R.Report) -> tuple[str, str]:
    """(status, note) of a report for the gradebook."""
    if report.error:
        if report.error.startswith("internal grader error"):
            return G.GRADER_ERROR, report.error
        return G.UNREADABLE, report.error
    broken = [c for c in report.checks if c.details.get("grader_error")]
    if broken:
        return G.GRADER_ERROR, f"{len(broken)} checks: {broken[0].message}"
    failed = [c for c in report.checks if c.outcome == R.WORKER]
    if failed:
        return G.SANDBOX_FAILED, f"{len(failed)} checks: {failed[0].message}"
    return G.GRADED, ""


def results_json(
    report: R.Report, task: dict, status: str, note: str, extra_data: dict | None = None
) -> dict:
    """Gradescope's results.json for the student, with the batch's bookkeeping added (and
    `extra_data`: the receipt, the look-alike fingerprint)."""
    data = reports.gradescope(report, Path(task["out"]) if task.get("out") else None)
    data["extra_data"].update(extra_data or {})
    data["extra_data"]["batch"] = {
        "student": task["student"],
        "entry": Path(task["entry"]).name,
        "key": task["key"],
        "status": status,
        "note": note,
    }
    return data


def write_student(out: Path, report: R.Report, data: dict) -> None:
    """The student's folder: feedback.md, then results.json last (its presence means done)."""
    out.mkdir(parents=True, exist_ok=True)
    title = f"Feedback for {data['extra_data']['batch']['student']}"
    (out / "feedback.md").write_text(reports.markdown(report, title), encoding="utf-8")
    html = student_page.student_html(report, title, out, data["extra_data"].get("receipt"))
    (out / "feedback.html").write_text(html, encoding="utf-8")
    write_atomically(out / "results.json", json.dumps(data, indent=2) + "\n")


def relative_pictures(report: R.Report, out: Path) -> None:
    """Picture paths relative to the student's folder, which is moved into place after."""

    def rel(p: str) -> str:
        try:
            return str(Path(p).relative_to(out))
        except ValueError:
            return p

    report.pictures = [rel(p) for p in report.pictures]
    for c in report.checks:
        if "picture" in c.details:
            c.details["picture"] = rel(c.details["picture"])


def grade_one(
    task: dict,
    exercises: list[int],
    extra: Sequence[Check],
    grader_hash: str = "",
    hint_history: Path | None = None,
) -> dict:
    out, entry = Path(task["out"]), Path(task["entry"])
    protect([entry.parent, out.parents[1]])  # classmates, their results
    # the student's earlier failures, where the instructor allows the hint ladder
    history = History(hint_history / f"{task['student']}.json") if hint_history else None
    report = grade_submission(entry, exercises, out / "pictures", extra=extra, history=history)
    if history is not None and not report.error:
        hint_history.mkdir(parents=True, exist_ok=True)
        history.save()
    relative_pictures(report, out)
    status, note = status_of(report)
    more = {
        "receipt": receipt.make(entry, exercises, grader_hash=grader_hash or None),
        "lookalike": lookalike.workspace_fingerprint(entry),
    }
    data = results_json(report, task, status, note, more)
    write_student(out, report, data)
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grader.classroom.grading_process")
    parser.add_argument("--exercise", type=int, action="append", required=True)
    parser.add_argument("--extra-checks", type=Path)
    parser.add_argument("--parent", type=int, default=0, help="die if this process is gone")
    parser.add_argument("--hint-history", type=Path, help="a folder of each student's failures")
    args = parser.parse_args(argv)

    die_with_parent()
    if args.parent and os.getppid() != args.parent:
        sys.exit(1)  # the batch died before this process could ask to die with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints cannot forge an answer

    import torch

    torch.set_num_threads(1)  # one process per core: threads would only fight over it
    extra = load_extra_checks(args.extra_checks) if args.extra_checks else []
    exercises = sorted(set(args.exercise))
    grader_hash = receipt.grading_fingerprint(exercises, args.extra_checks)  # the batch's own
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        task = json.loads(line)
        data = grade_one(task, exercises, extra, grader_hash, args.hint_history)
        answers.write(json.dumps({"student": task["student"], "results": data}) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
