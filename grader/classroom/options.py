"""Options that several commands share: the course's secret, the instructor's extra checks.

Here, below the front ends, so that the class's commands (`grade verify`, `grade export`, the
bundles) take them as `grade exercise-N` and `grade batch` do.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from grader import sandbox
from grader.exercises import EXERCISES


def _use_course_secret(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """Grade with the secret in this file: read here, its value goes to this process and the
    grading processes it starts through the environment (grader/checks/course.py), which no
    worker can read (another user's); the file is shut out of workers like the kit."""
    from grader.checks import course

    if value is None:
        return
    try:
        text = value.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {value}: {exc}") from None
    if not text:
        raise click.BadParameter(f"{value} is empty: its first line is the secret")
    os.environ[course.ENV_SECRET] = text.splitlines()[0].strip()
    os.environ.pop(course.ENV_SECRET_FILE, None)
    sandbox.protect([value])


course_secret_option = click.option(
    "--course-secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_use_course_secret,
    expose_value=False,
    help="A file whose first line is the course's secret: the checks draw their inputs from "
    "it [default: the public practice secret].",
)

extra_checks_option = click.option(
    "--extra-checks",
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of the instructor's own checks (*.py using @check), graded too.",
)


# `-e N`, repeated: the exercises a command grades (none given: all of them)
exercises_option = click.option(
    "--exercise",
    "-e",
    "exercises",
    type=click.IntRange(min(EXERCISES), max(EXERCISES)),
    multiple=True,
    help="Grade only this exercise (repeat for more) [default: all].",
)
