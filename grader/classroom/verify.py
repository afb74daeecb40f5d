"""`grade verify RESULTS.json --submission PATH`: grade again, and say whether the grade stands.

The receipt in RESULTS (grader/classroom/receipt.py) says what the grade was made with; the
submission is graded again here, with the course secret and extra checks given, and every
difference that would change or explain a grade is printed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from grader.classroom import receipt
from grader.classroom.options import course_secret_option, extra_checks_option
from grader.feedback import reports
from grader.feedback import results as R


def results_with_receipt(
    report: R.Report,
    submission: Path,
    exercises: list[int],
    extra_checks: Path | None,
    visibility: str = "after_published",
    pictures: Path | None = None,
) -> dict:
    """Gradescope's results.json with its receipt; the instructor's extra checks carry
    `visibility`. With `pictures`, each failing graph is drawn there as a PNG too, which the
    test's Markdown output embeds (Markdown shows no SVG data images)."""
    from grader.runner import draw_failure_png, load_extra_checks, pictured

    hidden = frozenset(
        (c.exercise, c.name) for c in (load_extra_checks(extra_checks) if extra_checks else [])
    )
    for c in report.checks if pictures is not None else []:
        if not c.passed and pictured(c):
            png = draw_failure_png(c, pictures)
            if png is not None:
                c.details["png"] = str(png)
    data = reports.gradescope(report, hidden=hidden, visibility=visibility)
    data["extra_data"]["receipt"] = receipt.make(submission, exercises, extra_checks)
    return data


@click.command("verify")
@click.argument("results", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--submission",
    "-s",
    type=click.Path(path_type=Path),
    required=True,
    help="The submission RESULTS was made from (a folder, .zip or notebook).",
)
@extra_checks_option
@course_secret_option
def verify(results: Path, submission: Path, extra_checks: Path | None) -> None:
    """Regrade SUBMISSION and compare with RESULTS (a results.json with a receipt).

    Prints "same", or each difference: score, check verdicts, and what the receipts disagree
    on (the submission's hash, the course secret's fingerprint, the grader's hash, versions).
    Pass --course-secret-file and --extra-checks as the grade was made.

    Exit status: 0 same, 1 different, 2 cannot verify (RESULTS unreadable or without a
    receipt, SUBMISSION missing, bad --extra-checks).
    """
    from grader.runner import ExtraChecksError, grade_submission, load_extra_checks

    try:
        old = json.loads(results.read_text(encoding="utf-8"))
        recorded = old["extra_data"]["receipt"]
        exercises = [int(n) for n in recorded["exercises"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        click.echo(
            f"cannot verify: {results} is not a results.json with a receipt ({exc})", err=True
        )
        sys.exit(2)
    if not submission.exists():
        click.echo(f"cannot verify: {submission} does not exist", err=True)
        sys.exit(2)
    try:
        extra = load_extra_checks(extra_checks) if extra_checks else []
    except ExtraChecksError as exc:
        click.echo(f"cannot verify: {exc}", err=True)
        sys.exit(2)
    with tempfile.TemporaryDirectory(prefix="grade-verify-") as tmp:
        report = grade_submission(submission, exercises, Path(tmp), extra=extra)
        new = results_with_receipt(report, submission, exercises, extra_checks)
    differences = receipt.compare(old, new)
    if not differences:
        click.echo(
            f"same: {new['score']:g}/{new['max_score']:g}, every check's verdict as recorded"
        )
        sys.exit(0)
    click.echo(f"different ({len(differences)}):")
    for line in differences:
        click.echo(f"- {line}")
    sys.exit(1)
