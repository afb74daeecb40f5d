"""`grade export`: a gradebook (grade batch's gradebook.csv) as a file an LMS imports.

    grade export canvas grades/ -o canvas.csv --assignment "micrograd"
    grade export csv grades/ -o grades.csv

Canvas's gradebook import reads a CSV whose header names the student columns `Student`, `ID`,
`SIS User ID`, `SIS Login ID` and `Section`, one of which must identify the student, then one
column per assignment (a name Canvas does not know yet makes a new assignment). Canvas's own
export has a second row, `Points Possible`, with each assignment's points; this one does too.
The kit's student ids go in the column `--match` names (the SIS Login ID by default: the id
students sign in with); the name, from the batch's --roster, in `Student`.

The plain CSV is what any other LMS (Moodle, Blackboard, Brightspace) maps columns from:
id, name, points, max_points, status.

Both keep what the gradebook says: a blank (no submission, or none that could be graded) stays
blank and is never written as a zero; the instructor's adjustments are in the points already.
Like every CSV the kit writes, they open safely in an office suite (grader/classroom/sheets.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from grader.classroom.sheets import read_csv, write_csv

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MATCH = {"sis-login-id": "SIS Login ID", "sis-user-id": "SIS User ID", "id": "ID"}


def read_gradebook(path: Path) -> list[dict[str, str]]:
    """The rows of a gradebook.csv (or of the one in the folder `path`)."""
    path = Path(path)
    if path.is_dir():
        path = path / "gradebook.csv"
    try:
        rows = read_csv(path)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    needed = {"student", "status", "total", "max_score"}
    if rows and not needed <= set(rows[0]):
        raise click.ClickException(
            f"{path} is not a gradebook of `grade batch` (it lacks "
            f"{', '.join(sorted(needed - set(rows[0])))})"
        )
    return rows


def _number(text: str) -> float | None:
    """A score as a number; a blank (no score) stays None."""
    return float(text) if text.strip() else None


def canvas_rows(rows: list[dict[str, str]], assignment: str, match: str) -> list[list]:
    """Canvas's header, its Points Possible row, and one row per student."""
    top = max((_number(r["max_score"]) or 0.0 for r in rows), default=0.0)
    column = MATCH[match]
    # Canvas writes this row's first cell with four spaces in front; kept, to read as its own
    table = [CANVAS_COLUMNS + [assignment], ["    Points Possible", "", "", "", "", top]]
    for r in rows:
        ids = [r["student"] if c == column else "" for c in ("ID", "SIS User ID", "SIS Login ID")]
        table.append([r.get("name", ""), *ids, "", _number(r["total"])])
    return table


def plain_rows(rows: list[dict[str, str]]) -> list[list]:
    table = [["id", "name", "points", "max_points", "status"]]
    for r in rows:
        table.append(
            [r["student"], r.get("name", ""), _number(r["total"]), _number(r["max_score"])]
            + [r["status"]]
        )
    return table


@click.group()
def export() -> None:
    """Files an LMS imports, made from a gradebook (grade batch's OUT folder or gradebook.csv)."""


gradebook_argument = click.argument(
    "gradebook", type=click.Path(exists=True, path_type=Path), default=Path("grades")
)
output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The CSV to write.",
)


@export.command("canvas")
@gradebook_argument
@output_option
@click.option(
    "--assignment",
    default="micrograd",
    show_default=True,
    help="The assignment's column: its name in Canvas, or a new one Canvas creates.",
)
@click.option(
    "--match",
    type=click.Choice(list(MATCH)),
    default="sis-login-id",
    show_default=True,
    help="The Canvas column that the kit's student ids go into.",
)
def canvas(gradebook: Path, output: Path, assignment: str, match: str) -> None:
    """Write Canvas's gradebook import CSV (Grades > Import) from GRADEBOOK."""
    table = canvas_rows(read_gradebook(gradebook), assignment, match)
    write_csv(output, table[0], table[1:])
    click.echo(f"wrote {output}: {len(table) - 2} students", err=True)


@export.command("csv")
@gradebook_argument
@output_option
def plain(gradebook: Path, output: Path) -> None:
    """Write a plain CSV (id, name, points, max_points, status) from GRADEBOOK."""
    table = plain_rows(read_gradebook(gradebook))
    write_csv(output, table[0], table[1:])
    click.echo(f"wrote {output}: {len(table) - 1} students", err=True)
