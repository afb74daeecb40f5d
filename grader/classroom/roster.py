"""The instructor's own files about a class: the roster and the adjustments.

    grade batch SUBMISSIONS --roster roster.csv --adjustments adjustments.csv

roster.csv, one student a line: `id` (the name of the student's entry, without .zip/.ipynb)
and `name`; other columns are ignored. A student on the roster with no entry gets a row of
status `missing`: blanks, never zeros. An entry not on the roster is graded all the same,
and its note says so.

adjustments.csv, one adjustment a line: `id`, `exercise` (N, exercise-N, or blank for the
whole submission: a late penalty), `points` (added; negative to take off) and `reason`
(required: it is shown to the student). They are applied after grading, to the rows only, so
a regrade keeps them; a row with no score (unreadable, missing...) has nothing to adjust, and
its note says the adjustment waits.

The batch keeps a copy of each file in its OUT folder and uses it on later runs that name no
file, so a rerun never drops them silently; pass an empty file (its header only) to clear one.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.classroom import gradebook as G
from grader.classroom.sheets import FORMULA_START, read_csv, write_atomically
from grader.classroom.student_page import with_adjustments
from grader.exercises import EXERCISES

ROSTER, ADJUSTMENTS = "roster.csv", "adjustments.csv"  # the copies kept in OUT
ID_COLUMNS = ("id", "student", "student_id", "student id")


class ClassFileError(ValueError):
    """A roster or adjustments file that cannot be used as it is; the message says where."""


def student_id(name: str) -> str:
    """A student id from an entry's name (without .zip/.ipynb) or a roster's id: letters,
    digits and `. _ @ + -`, safe as a folder name, and never starting with a character that
    makes a spreadsheet read the cell as a formula (= + - @)."""
    name = re.sub(r"[^\w.@+-]+", "_", name).strip("._")
    return name.lstrip(FORMULA_START + "._") or "unnamed"


def renamed_note(raw: str, sid: str) -> str:
    """Why an entry's id is not its name, when the formula rule made it so."""
    if raw[:1] in FORMULA_START and sid != raw:
        return (
            f"graded as {sid}: the entry {raw} starts with {raw[:1]!r}, which makes a "
            "spreadsheet read an id as a formula"
        )
    return ""


@dataclass(frozen=True)
class Person:
    id: str
    name: str


def _column(header: list[str], names: tuple[str, ...], path: Path, required: bool) -> str:
    for h in header:
        if h.strip().lower() in names:
            return h
    if required:
        raise ClassFileError(f"{path}: no {names[0]!r} column (the header is {header})")
    return ""


def read_roster(path: Path) -> tuple[dict[str, Person], list[str]]:
    """{id: Person} of a roster, and warnings (ids read another way, as entries are)."""
    rows = _rows(path)
    if not rows:
        return {}, []
    header = list(rows[0])
    key = _column(header, ID_COLUMNS, path, True)
    name = _column(header, ("name", "full name", "student name"), path, False)
    people: dict[str, Person] = {}
    warnings = []
    for line, row in enumerate(rows, start=2):
        raw = row[key].strip()
        if not raw:
            raise ClassFileError(f"{path}, line {line}: no id")
        sid = student_id(raw)
        if sid != raw:
            warnings.append(f"{path}, line {line}: id {raw!r} is read as {sid!r}, as entries are")
        if sid in people:
            raise ClassFileError(f"{path}, line {line}: {sid} is on the roster twice")
        people[sid] = Person(sid, row[name].strip() if name else "")
    return people, warnings


def read_adjustments(path: Path) -> dict[str, list[G.Adjustment]]:
    """{id: [Adjustment, ...]} in the file's order."""
    rows = _rows(path)
    if not rows:
        return {}
    header = list(rows[0])
    key = _column(header, ID_COLUMNS, path, True)
    exercise = _column(header, ("exercise",), path, True)
    points = _column(header, ("points",), path, True)
    reason = _column(header, ("reason",), path, True)
    found: dict[str, list[G.Adjustment]] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{path}, line {line}"
        sid = student_id(row[key].strip())
        n = _exercise(row[exercise], where)
        try:
            value = float(row[points])
        except ValueError:
            raise ClassFileError(f"{where}: points {row[points]!r} is not a number") from None
        if not math.isfinite(value):
            raise ClassFileError(f"{where}: points must be a finite number")
        why = " ".join(row[reason].split())
        if not why:
            raise ClassFileError(f"{where}: a reason is required (the student reads it)")
        found.setdefault(sid, []).append(G.Adjustment(n, value, why))
    return found


def _exercise(text: str, where: str) -> int | None:
    text = text.strip().lower()
    if text in ("", "all", "total"):
        return None
    m = re.fullmatch(r"(?:exercise-?)?(\d+)", text)
    if not m or int(m[1]) not in EXERCISES:
        known = ", ".join(str(n) for n in EXERCISES)
        raise ClassFileError(f"{where}: exercise {text!r} is not one of {known} (or blank)")
    return int(m[1])


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        return read_csv(path)
    except (OSError, ValueError) as exc:
        raise ClassFileError(f"cannot read {path}: {exc}") from None


def chosen(given: Path | None, out: Path, name: str) -> Path | None:
    """The file to read: `given`, else the copy an earlier run kept in `out`, else None."""
    if given is not None:
        return Path(given)
    kept = out / name
    return kept if kept.is_file() else None


def keep(given: Path | None, out: Path, name: str) -> None:
    """Keep a copy of `given` (read without error) in `out`, for later runs."""
    if given is not None and Path(given).resolve() != (out / name).resolve():
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(given, out / name)


def complete(
    rows: dict[str, G.Row],
    roster: dict[str, Person] | None,
    adjustments: dict[str, list[G.Adjustment]],
    notes: dict[str, str] | None = None,
) -> list[G.Row]:
    """The gradebook's rows: the graded ones with names, notes and adjustments, and a
    `missing` row for each student on the roster without a submission."""
    everyone = dict(rows)
    for sid in roster or {}:
        if sid not in rows:
            everyone[sid] = G.Row(sid, G.MISSING, "on the roster, no submission")
    out = []
    for sid, row in everyone.items():
        extra = [(notes or {}).get(sid, "")]
        if roster is not None and sid not in roster:
            extra.append("not on the roster")
        if adjustments.get(sid) and not row.scored:
            extra.append("the adjustments wait for a score")
        person = (roster or {}).get(sid)
        fields = {
            **row.__dict__,
            "note": "; ".join(x for x in [row.note, *extra] if x),
            "name": person.name if person else row.name,
            "adjustments": list(adjustments.get(sid, [])),
        }
        out.append(G.Row(**fields))
    return sorted(out, key=lambda r: r.student)


def unknown_ids(rows: list[G.Row], adjustments: dict[str, list[G.Adjustment]]) -> list[str]:
    """Ids the adjustments name that no row has (a typo, most likely)."""
    return sorted(set(adjustments) - {r.student for r in rows})


MD_START, MD_END = "<!-- adjustments -->", "<!-- /adjustments -->"


def show_on_pages(students: Path, rows: list[G.Row]) -> None:
    """Each student's feedback.html and feedback.md showing the row's adjustments, rewritten
    only where that changes them (the grading processes write the pages without any)."""
    for row in rows:
        folder = students / row.student
        html_path, md_path = folder / "feedback.html", folder / "feedback.md"
        if html_path.is_file():
            old = html_path.read_text(encoding="utf-8")
            new = with_adjustments(old, row)
            if new != old:
                write_atomically(html_path, new)
        if md_path.is_file():
            old = md_path.read_text(encoding="utf-8")
            new = _md_with_adjustments(old, row)
            if new != old:
                write_atomically(md_path, new)


def _md_with_adjustments(text: str, row: G.Row) -> str:
    from grader.feedback.reports import md_inert

    start, end = text.find(MD_START), text.find(MD_END)
    if start >= 0 and end > start:
        text = text[:start].rstrip("\n") + "\n" + text[end + len(MD_END) :].lstrip("\n")
    if not row.adjustments:
        return text
    lines = [MD_START, "## Adjustments by your instructor", ""]
    for a in row.adjustments:
        lines.append(f"- {md_inert(a.text())}")
    if row.scored:
        lines += ["", f"**Total after adjustments: {row.total:g}**"]
    else:
        lines += ["", f"Not applied: this submission has no score to adjust ({row.status})."]
    lines.append(MD_END)
    return text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
