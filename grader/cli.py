"""`grade`: grade a micrograd workspace, exercise by exercise.

    grade exercise-2                      # the workspace in ./exercises
    grade all --submission my-work.zip    # every exercise, a table
    grade exercise-4 --format json        # Gradescope's results.json on stdout

Exit status: 0 every check passed, 1 some check failed, 2 could not grade.
"""

from __future__ import annotations

import re
import sys
import time
import traceback
from pathlib import Path

import click

from grader import reports
from grader.bundle import bundle
from grader import results as R
from grader.runner import EXERCISES, checks_for, grade
from grader.sandbox import TooLarge
from grader.submission import SubmissionError, open_submission

FORMATS = {"text": None, "json": reports.as_json, "junit": reports.junit}


def _could_not_grade(exercises: list[int], why: str) -> R.Report:
    """A report with every check at 0, saying why nothing could run."""
    checks = [
        R.CheckResult(c.exercise, c.name, 0.0, c.points, R.ERROR, f"not graded: {why}")
        for c in checks_for(exercises)
    ]
    return R.Report(exercises=exercises, checks=checks, error=why)


def _progress(done: int, total: int, what: str) -> None:
    click.echo(f"\r\033[K[{done + 1}/{total}] {what}"[:120], nl=False, err=True)


def run(
    exercises: list[int], submission: Path, fmt: str, output: Path | None, pictures: Path | None
) -> None:
    if pictures is None:
        pictures = (output.parent if output else Path.cwd()) / "grade-pictures"
    show_progress = fmt == "text" and output is None and sys.stderr.isatty()
    start = time.monotonic()
    try:
        with open_submission(submission) as workspace:
            report = grade(
                workspace, exercises, pictures, progress=_progress if show_progress else None
            )
    except (SubmissionError, TooLarge) as exc:
        report = _could_not_grade(exercises, str(exc))
    except Exception as exc:  # a bug in the grader: still a recorded result
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        report = _could_not_grade(exercises, f"internal grader error ({detail})")
    report.execution_time = time.monotonic() - start
    if show_progress:
        click.echo("\r\033[K", nl=False, err=True)
    if fmt == "text":
        rendered = reports.text(report, colour=output is None and sys.stdout.isatty())
    else:
        rendered = FORMATS[fmt](report)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(rendered)
        if fmt != "text":
            click.echo(f"wrote {output}: {report.score:g}/{report.max_score:g}", err=True)
    else:
        click.echo(rendered, nl=False)
    graded = not report.error and not any(c.details.get("grader_error") for c in report.checks)
    sys.exit(0 if report.all_passed else (1 if graded else 2))


def grading_options(fn):
    fn = click.option(
        "--pictures",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder for pictures of failures [default: beside the report].",
    )(fn)
    fn = click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the report to FILE instead of stdout.",
    )(fn)
    fn = click.option(
        "--format",
        "fmt",
        type=click.Choice(list(FORMATS)),
        default="text",
        show_default=True,
        help="text for people; json (Gradescope); junit (XML).",
    )(fn)
    fn = click.option(
        "--submission",
        "-s",
        type=click.Path(path_type=Path),
        default=Path("exercises"),
        show_default=True,
        help="A workspace folder, a .zip of one, or a notebook (.ipynb).",
    )(fn)
    return fn


def exercise_command(name: str, exercises: list[int], help_text: str) -> click.Command:
    @click.command(name=name, help=help_text)
    @grading_options
    def command(submission: Path, fmt: str, output: Path | None, pictures: Path | None) -> None:
        run(exercises, submission, fmt, output, pictures)

    return command


class Grade(click.Group):
    """Commands `exercise-N` for every exercise, besides `all` and `list`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["list", "all", *(f"exercise-{n}" for n in EXERCISES), "batch", "bundle"]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is not None:
            return found
        m = re.fullmatch(r"exercise-(\d+)", name)
        if m and int(m[1]) in EXERCISES:
            n = int(m[1])
            return exercise_command(name, [n], f"Grade exercise-{n}: {EXERCISES[n]}.")
        if m:
            ctx.fail(f"no such exercise: {name}. `grade list` lists the exercises.")
        return None


@click.group(cls=Grade, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="micrograd-kit")
def main() -> None:
    """Grade a micrograd workspace, exercise by exercise.

    Exit status: 0 every check passed, 1 some check failed, 2 could not grade.
    """


@main.command("list")
def list_exercises() -> None:
    """List the exercises, one line each."""
    for n, title in EXERCISES.items():
        points = sum(c.points for c in checks_for([n]))
        click.echo(f"exercise-{n}  {title}  ({len(checks_for([n]))} checks, {points:g} points)")


main.add_command(
    exercise_command("all", list(EXERCISES), "Grade every exercise and print a table.")
)
main.add_command(bundle)
