"""`grade`: grade a micrograd workspace, exercise by exercise.

    grade exercise-2                      # the workspace in ./exercises
    grade all --submission my-work.zip    # every exercise, a table
    grade exercise-4 --format json        # Gradescope's results.json on stdout

Exit status: 0 every check passed, 1 some check failed, 2 could not grade.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
from pathlib import Path

import click

from grader import sandbox
from grader.classroom.bundle import bundle
from grader.classroom.export import export
from grader.classroom.options import course_secret_option, exercises_option, extra_checks_option
from grader.classroom.verify import results_with_receipt, verify
from grader.exercises import EXERCISES
from grader.feedback import reports
from grader.feedback.hints import HISTORY_FILE, History
from grader.sandbox import NO_SANDBOX_NOTE, UNPROTECTED
from grader.sandbox import mode as sandbox_mode
from grader.submissions import workspace
from grader.submissions.submission import notebook_overrides, with_notebooks

FORMATS = {"text": None, "json": reports.as_json, "junit": reports.junit}


def _progress(done: int, total: int, what: str) -> None:
    click.echo(f"\r\033[K[{done + 1}/{total}] {what}"[:120], nl=False, err=True)


def run(
    exercises: list[int],
    submission: Path | None,
    fmt: str,
    output: Path | None,
    pictures: Path | None,
    extra_checks: Path | None = None,
    visibility: str = "after_published",
    history: Path | None = None,
) -> None:
    # the checks, and torch with them, only where a command grades: `grade batch`'s own
    # process, `export`, `bundle` and `--help` start in a fraction of a second
    from grader.runner import ExtraChecksError, could_not_grade, grade_submission, load_extra_checks

    try:
        extra = load_extra_checks(extra_checks) if extra_checks else []
    except ExtraChecksError as exc:
        raise click.UsageError(str(exc)) from None
    opened = contextlib.nullcontext(submission)
    if submission is None:  # the workspace, with the code of its notebooks' cells
        opened = with_notebooks(workspace.current(), max(exercises))
        overrides = notebook_overrides(workspace.current(), max(exercises))
        if overrides and fmt == "text":
            click.echo(
                "note: graded with your notebooks' %%micrograd cells (as saved) where they "
                "differ from your files: " + "; ".join(overrides),
                err=True,
            )
    if pictures is None:
        pictures = (output.parent if output else Path.cwd()) / "grade-pictures"
    show_progress = fmt == "text" and output is None and sys.stderr.isatty()
    progress = _progress if show_progress else None
    # a person reads it: the workspace's own grade to a terminal, a pipe or a file; another
    # submission's at a terminal only (a script grading folders leaves nothing in them)
    if history is None and fmt == "text" and (submission is None or sys.stdout.isatty()):
        # the history lives beside the student's own micrograd/, not in a temporary copy
        where = workspace.current() if submission is None else submission
        history = (where if where.is_dir() else where.parent) / HISTORY_FILE
    kept = History(history) if history is not None else None
    shortfall = sandbox.shortfall()  # "" where every promise of the security model holds
    if shortfall and os.environ.get("MICROGRAD_REQUIRE_SANDBOX") == "1":
        report = could_not_grade(exercises, shortfall, extra)  # a Gradescope bundle
    else:
        with opened as submission:
            report = grade_submission(submission, exercises, pictures, progress, extra, kept)
        if kept is not None and not report.error:
            kept.save()
    if sandbox_mode() == UNPROTECTED:
        click.echo(f"note: {NO_SANDBOX_NOTE}", err=True)
    elif shortfall:
        click.echo(f"note: {shortfall} (fine for your own work; a batch would refuse)", err=True)
    if show_progress:
        click.echo("\r\033[K", nl=False, err=True)
    if fmt == "text":
        rendered = reports.text(report, colour=output is None and sys.stdout.isatty())
    elif fmt == "json":
        data = results_with_receipt(
            report, submission, exercises, extra_checks, visibility, pictures
        )
        rendered = json.dumps(data, indent=2) + "\n"
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


visibility_option = click.option(
    "--extra-checks-visibility",
    "visibility",
    type=click.Choice(reports.VISIBILITIES),
    default="after_published",
    show_default=True,
    help="When Gradescope shows students the results of --extra-checks.",
)


def grading_options(fn):
    fn = visibility_option(fn)
    fn = course_secret_option(fn)
    fn = extra_checks_option(fn)
    fn = click.option(
        "--history",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File of earlier failures, so that a repeated one gets the formula as its hint "
        f"[default: {HISTORY_FILE} beside your workspace's micrograd/ for the text report "
        "(shared with check() in the notebooks), beside --submission's only at a terminal; "
        "none for json and junit, whose hints stay nudges].",
    )(fn)
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
        default=None,
        show_default="your workspace and its notebooks",
        help="A workspace folder, a .zip of one, or a notebook (.ipynb).",
    )(fn)
    return fn


def exercise_command(name: str, exercises: list[int], help_text: str) -> click.Command:
    @click.command(name=name, help=help_text)
    @grading_options
    def command(
        submission: Path | None,
        fmt: str,
        output: Path | None,
        pictures: Path | None,
        extra_checks: Path | None,
        visibility: str,
        history: Path | None,
    ) -> None:
        run(exercises, submission, fmt, output, pictures, extra_checks, visibility, history)

    return command


class Grade(click.Group):
    """Commands `exercise-N` for every exercise, besides `all` and `list`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        exercises = [f"exercise-{n}" for n in EXERCISES]
        return ["list", "all", *exercises, "workspace", "batch", "bundle", "verify", "export"]

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
    from grader.runner import checks_for

    for n, title in EXERCISES.items():
        points = sum(c.points for c in checks_for([n]))
        click.echo(f"exercise-{n}  {title}  ({len(checks_for([n]))} checks, {points:g} points)")


@main.command("workspace")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--reset", is_flag=True, help="Back to the kit's exercises/.")
def workspace_command(folder: Path | None, reset: bool) -> None:
    """Show your workspace, or make FOLDER (holding micrograd/) your workspace.

    `import micrograd` (in Python, in the notebooks) and `grade` then use FOLDER's code.
    """
    chosen = workspace.current()
    if folder is not None or reset:
        try:
            chosen = workspace.use(None if reset else folder)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(f"workspace: {chosen}")


main.add_command(
    exercise_command("all", list(EXERCISES), "Grade every exercise and print a table.")
)
main.add_command(bundle)
main.add_command(verify)
main.add_command(export)


@main.command("batch", short_help="Grade a folder of submissions into a gradebook.")
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("grades"),
    show_default=True,
    help="Folder for gradebook.csv, summary.md and students/ID/.",
)
@exercises_option
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="the number of cores",
    help="Submissions graded at once.",
)
@extra_checks_option
@course_secret_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=900.0,
    show_default=True,
    help="Seconds one submission may take in all before it is recorded as timed out.",
)
@click.option("--force", is_flag=True, help="Grade every submission again, changed or not.")
@click.option(
    "--hint-ladder",
    is_flag=True,
    help="Remember each student's failures (OUT/hint-history/), so that a resubmission failing "
    "a check the same way gets the formula as its hint [default: nudges only].",
)
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of the class (id, name): a `missing` row for each student with no submission.",
)
@click.option(
    "--adjustments",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of points added after grading (id, exercise, points, reason).",
)
@click.option(
    "--unsafe-no-sandbox",
    is_flag=True,
    help="Grade even where student code cannot be sandboxed (no bwrap, not root): each "
    "submission could then read and change the others, the kit and the gradebook.",
)
def batch_command(
    submissions: Path,
    out: Path,
    exercises: tuple[int, ...],
    jobs: int,
    extra_checks: Path | None,
    timeout: float,
    force: bool,
    hint_ladder: bool,
    roster: Path | None,
    adjustments: Path | None,
    unsafe_no_sandbox: bool,
) -> None:
    """Grade every entry of SUBMISSIONS: one per student (a folder, .zip or .ipynb named by
    the student's id) into OUT/gradebook.csv, OUT/summary.md and OUT/students/ID/.

    Run it again after an interruption: it grades only what is new or changed. --roster and
    --adjustments are kept in OUT and used again by later runs that name none.
    Exit status: 0 all graded (students with no submission aside), 1 some submissions could
    not be graded, 2 nothing could be graded (bad arguments or class files, another batch
    writing to OUT, grading processes that cannot start), 130 interrupted.
    """
    from grader.classroom.batch import BatchError, run_batch
    from grader.classroom.gradebook import MISSING, WITH_SCORES

    if extra_checks:
        from grader.runner import ExtraChecksError, load_extra_checks

        try:
            load_extra_checks(extra_checks)
        except ExtraChecksError as exc:
            raise click.UsageError(str(exc)) from None
    shortfall = sandbox.shortfall()  # "" where every promise of the security model holds
    if shortfall and not unsafe_no_sandbox:
        click.echo(
            f"Error: {shortfall}, so grade batch will not run (or pass --unsafe-no-sandbox)",
            err=True,
        )
        sys.exit(2)
    if out.resolve().is_relative_to(submissions.resolve()):
        raise click.UsageError("--out must not be inside SUBMISSIONS (it would be graded)")
    chosen = sorted(set(exercises)) or list(EXERCISES)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    files = {"roster": roster, "adjustments": adjustments}
    signal.signal(signal.SIGTERM, stop)  # `kill`: stop as for Ctrl-C, gradebook saved
    signal.signal(signal.SIGINT, stop)  # even where the shell started us with Ctrl-C ignored
    try:
        result = run_batch(
            submissions,
            out,
            chosen,
            jobs,
            extra_checks,
            timeout,
            force,
            hint_ladder=hint_ladder,
            **files,
        )
    except BatchError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts.items()))
    click.echo(f"{len(result.rows)} submissions: {counts}", err=True)
    click.echo(f"gradebook: {out / 'gradebook.csv'}\nsummary:   {out / 'summary.md'}", err=True)
    click.echo(f"report:    {out / 'report.html'} (open it in a browser)", err=True)
    if result.interrupted:
        click.echo("interrupted: run the same command again to grade the rest", err=True)
        sys.exit(130)
    sys.exit(0 if all(r.status in (*WITH_SCORES, MISSING) for r in result.rows) else 1)


def entry() -> None:
    """The `grade` command: main(), then a quick exit.

    A process that has imported torch takes about half a second to tear itself down. By the
    time main() returns, the report is written and temporary folders are gone, so `grade`
    flushes its output and leaves with os._exit, which skips that teardown.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    from grader.submissions.scratch import remove_all

    remove_all()  # os._exit skips atexit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
