"""A class's results as the instructor reads them: gradebook.csv and summary.md.

Each student's results.json (Gradescope's schema; see reports.gradescope) is boiled down to a
Row; the gradebook and the summary are made from the rows, and only from them, so that a
rerun that reuses earlier results writes the same files. Both are written atomically: a
reader (or a kill -9) never sees half a file. The gradebook is a CSV an office suite opens
safely (grader/classroom/sheets.py). The instructor's roster and adjustments
(grader/classroom/roster.py) are added to the rows after grading.

What the class got wrong is told apart (`analyse`): a check answered wrong is not a check not
attempted (an exercise whose every check is still "not implemented yet"), and a backward rule
of Value found wrong (`tanh`, `*`) is not a function whose contract was broken (`hinge_loss`,
`SGD.step`).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from grader.classroom.sheets import csv_text
from grader.feedback import results as R
from grader.feedback.reports import md_inert

# A row's status. Only GRADED and SANDBOX_FAILED rows carry scores: the others could not be
# graded, and a blank is not a zero.
GRADED = "graded"  # every check ran and gave its verdict
SANDBOX_FAILED = "sandbox-failed"  # graded, but the student's code hung or killed its worker
UNREADABLE = "unreadable"  # not a workspace, a zip or a notebook the grader can read
TIMED_OUT = "timed-out"  # the whole submission took longer than the batch allows
CRASHED = "crashed"  # the grading process died (not the student's worker: the grader)
GRADER_ERROR = "grader-error"  # a bug in the grader stopped some check
AMBIGUOUS = "ambiguous"  # two entries with one student id
PENDING = "pending"  # not graded yet (the batch was interrupted)
MISSING = "missing"  # on the roster, but no submission

WITH_SCORES = (GRADED, SANDBOX_FAILED)
# statuses that a rerun keeps when the submission is unchanged; the others are retried
FINAL = (GRADED, SANDBOX_FAILED, UNREADABLE, TIMED_OUT)


class Failure(NamedTuple):
    """A check a student did not pass, as results.json recorded it."""

    check: str  # "exercise-2: tanh backward"
    outcome: str  # results.WRONG, NOT_IMPLEMENTED, ...
    rule: str = ""  # what is at fault, when the check could tell: "tanh", "SGD.step"
    kind: str = ""  # what the rule is: results.BACKWARD, FORWARD or CONTRACT

    @property
    def exercise(self) -> int | None:
        m = re.match(r"exercise-(\d+):", self.check)
        return int(m[1]) if m else None


class Adjustment(NamedTuple):
    """Points an instructor adds (or takes, when negative) after grading, and why."""

    exercise: int | None  # None: the whole submission (a late penalty, say)
    points: float
    reason: str

    def text(self) -> str:
        where = f"exercise-{self.exercise} " if self.exercise is not None else ""
        return f"{where}{self.points:+g}: {self.reason}"


@dataclass
class Row:
    student: str
    status: str
    note: str = ""
    entry: str = ""
    scores: dict[int, float] = field(default_factory=dict)  # exercise -> points, as graded
    max_scores: dict[int, float] = field(default_factory=dict)
    failed: list[Failure] = field(default_factory=list)
    lookalike: dict = field(default_factory=dict)  # grader/classroom/lookalike.py's fingerprint
    name: str = ""  # from the roster
    adjustments: list[Adjustment] = field(default_factory=list)  # from the instructor's file

    def __post_init__(self) -> None:
        self.failed = [f if isinstance(f, Failure) else Failure(*f) for f in self.failed]

    @property
    def scored(self) -> bool:
        return self.status in WITH_SCORES

    def score(self, n: int) -> float | None:
        """Exercise n's points, the instructor's adjustments to it included; None: no score."""
        if not self.scored:
            return None
        extra = sum(a.points for a in self.adjustments if a.exercise == n)
        return round(self.scores.get(n, 0.0) + extra, 6)

    @property
    def adjustment(self) -> float | None:
        """The points the adjustments add in all (None: none, or no score to adjust)."""
        if not self.scored or not self.adjustments:
            return None
        return round(sum(a.points for a in self.adjustments), 6)

    @property
    def total(self) -> float | None:
        if not self.scored:
            return None
        return round(sum(self.scores.values()) + (self.adjustment or 0.0), 6)

    def not_attempted(self) -> set[int]:
        """The exercises left as the stubs: every check "not implemented yet", no points."""
        by_exercise: dict[int, set[str]] = {}
        for f in self.failed:
            if f.exercise is not None:
                by_exercise.setdefault(f.exercise, set()).add(f.outcome)
        return {
            n
            for n, outcomes in by_exercise.items()
            if outcomes == {R.NOT_IMPLEMENTED} and not self.scores.get(n)
        }


def row_from_results(data: dict) -> Row:
    """The gradebook row of one student's results.json."""
    batch = data.get("extra_data", {}).get("batch", {})
    exercises = data.get("extra_data", {}).get("exercises", {})
    status = batch.get("status", GRADED)
    scores = {int(k.split("-")[1]): float(v["score"]) for k, v in exercises.items()}
    tops = {int(k.split("-")[1]): float(v["max_score"]) for k, v in exercises.items()}
    failed = [
        Failure(
            t["name"],
            t.get("extra_data", {}).get("outcome", ""),
            t.get("extra_data", {}).get("rule") or "",
            t.get("extra_data", {}).get("rule_kind") or "",
        )
        for t in data.get("tests", [])
        if t.get("status") != "passed"
    ]
    return Row(
        student=batch.get("student", ""),
        status=status,
        note=batch.get("note", ""),
        entry=batch.get("entry", ""),
        scores=scores if status in WITH_SCORES else {},
        max_scores=tops,
        failed=failed if status in WITH_SCORES else [],
        lookalike=data.get("extra_data", {}).get("lookalike") or {},
    )


GRADEBOOK_COLUMNS = ["student", "name", "status"]
AFTER_EXERCISES = ["total", "max_score", "adjustment", "adjustments", "note", "entry"]


def gradebook_csv(rows: list[Row], exercises: list[int]) -> str:
    """One row per student: name, status, a column per exercise, total, maximum, the
    instructor's adjustments (in the exercises' columns and the total already), note, entry.
    Blanks where there is no score: a blank is not a zero."""
    tops = max_scores(rows, exercises)
    header = GRADEBOOK_COLUMNS + [f"exercise-{n}" for n in exercises] + AFTER_EXERCISES
    lines = [
        [row.student, row.name, row.status]
        + [row.score(n) for n in exercises]
        + [row.total, sum(tops.values()), row.adjustment]
        + ["; ".join(a.text() for a in row.adjustments), one_line(row.note), row.entry]
        for row in sorted(rows, key=lambda r: r.student)
    ]
    return csv_text(header, lines)


def one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def max_scores(rows: list[Row], exercises: list[int]) -> dict[int, float]:
    tops: dict[int, float] = {}
    for row in rows:
        for n, m in row.max_scores.items():
            tops[n] = max(tops.get(n, 0.0), m)
    return {n: tops.get(n, 0.0) for n in exercises}


_max_scores, _one_line = max_scores, one_line  # the names the report and the benchmarks use


@dataclass
class Analysis:
    """What a class got wrong, with the students who did."""

    graded: int  # rows with scores
    wrong: dict[str, list[str]]  # check -> students who attempted it and did not pass
    outcomes: dict[str, Counter]  # check -> how those failures were worded
    exercise_of: dict[str, int | None]  # check -> its exercise
    attempted: Counter  # exercise -> students who attempted it
    not_attempted: dict[int, list[str]]  # exercise -> students who left it as the stubs
    unwritten: Counter  # check -> students whose code for it is still a stub
    rules: dict[str, set[str]]  # backward rule -> students with it wrong
    contracts: dict[str, set[str]]  # function (or an op's forward value) -> students


def analyse(rows: list[Row], exercises: list[int]) -> Analysis:
    scored = [r for r in rows if r.scored]
    a = Analysis(len(scored), {}, {}, {}, Counter(), {}, Counter(), {}, {})
    for r in scored:
        skipped = r.not_attempted()
        for n in exercises:
            if n in skipped:
                a.not_attempted.setdefault(n, []).append(r.student)
            else:
                a.attempted[n] += 1
        for f in r.failed:
            a.exercise_of[f.check] = f.exercise
            if f.outcome == R.NOT_IMPLEMENTED:
                a.unwritten[f.check] += 1
                continue
            a.wrong.setdefault(f.check, []).append(r.student)
            a.outcomes.setdefault(f.check, Counter())[f.outcome] += 1
            if not f.rule:
                continue
            if f.kind == R.BACKWARD:
                a.rules.setdefault(f.rule, set()).add(r.student)
            else:
                label = f"`{f.rule}`: its forward value" if f.kind == R.FORWARD else f.rule
                a.contracts.setdefault(label, set()).add(r.student)
    return a


def ranked(found: dict[str, list[str]] | dict[str, set[str]]) -> list[tuple[str, list[str]]]:
    """Most students first, then by name."""
    return sorted(
        ((k, sorted(set(v))) for k, v in found.items()), key=lambda kv: (-len(kv[1]), kv[0])
    )


def how(outcomes: Counter) -> str:
    """ "2 error in your code, 1 wrong": the ways a check was failed, the commonest first."""
    return ", ".join(f"{n} {outcome}" for outcome, n in outcomes.most_common())


def share_of_attempts(a: Analysis, check: str, count: int) -> str:
    """ "3 of 12 (25%)": of the students who attempted the check's exercise."""
    n = a.exercise_of.get(check)
    base = a.attempted[n] if n is not None else a.graded
    base = max(base, count)
    return f"{count} of {base} ({100 * count / base:.0f}%)" if base else str(count)


def summary_md(rows: list[Row], exercises: list[int], top: int = 15) -> str:
    """What the class got wrong: counts by status, scores per exercise, the checks answered
    wrong most, the exercises not attempted, the rules and contracts found wrong."""
    tops = max_scores(rows, exercises)
    scored = [r for r in rows if r.scored]
    by_status = Counter(r.status for r in rows)
    lines = ["# Class summary", ""]
    lines.append(
        f"{len(rows)} submissions: "
        + ", ".join(f"{count} {status}" for status, count in sorted(by_status.items()))
        + "."
    )
    lines += ["", "## Scores per exercise", ""]
    lines.append("| exercise | max | mean | median | min | max scored | full marks | zero |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for n in [*exercises, None]:
        values = [r.total if n is None else r.score(n) for r in scored]
        best = sum(tops.values()) if n is None else tops[n]
        name = "total" if n is None else f"exercise-{n}"
        if not values:
            lines.append(f"| {name} | {best:g} | | | | | 0 | 0 |")
            continue
        lines.append(
            f"| {name} | {best:g} | {statistics.mean(values):.1f} | "
            f"{statistics.median(values):g} | {min(values):g} | {max(values):g} | "
            f"{sum(v == best for v in values)} | {sum(v == 0 for v in values)} |"
        )
    lines += ["", "Distribution (share of each exercise's points, graded submissions):", ""]
    bands = ["0", "1-25%", "26-50%", "51-75%", "76-99%", "100%"]
    lines.append("| exercise | " + " | ".join(bands) + " |")
    lines.append("|---" * (len(bands) + 1) + "|")
    for n in exercises:
        counts = Counter(_band(r.score(n) or 0.0, tops[n]) for r in scored)
        lines.append(f"| exercise-{n} | " + " | ".join(str(counts[b]) for b in bands) + " |")

    a = analyse(rows, exercises)
    lines += ["", f"## The checks the class gets wrong most (of {len(scored)} graded)", ""]
    lines.append(
        "Counted among the students who attempted the check's exercise; code still "
        'a stub ("not implemented yet") is counted apart, below.'
    )
    lines.append("")
    if a.wrong:
        lines += ["| check | wrong for | how |", "|---|---|---|"]
        for check, students in ranked(a.wrong)[:top]:
            share = share_of_attempts(a, check, len(students))
            lines.append(f"| {md_inert(check)} | {share} | {how(a.outcomes[check])} |")
    else:
        lines.append("None: every check attempted was passed.")
    lines += ["", "## Not attempted (every check of the exercise still a stub)", ""]
    if a.not_attempted:
        lines += ["| exercise | students |", "|---|---|"]
        for n in exercises:
            if n in a.not_attempted:
                lines.append(f"| exercise-{n} | {len(a.not_attempted[n])} |")
    else:
        lines.append("Every graded submission attempted every exercise.")
    for title, found in [
        ("Backward rules found wrong", a.rules),
        ("Contracts broken (functions and methods that answered wrong)", a.contracts),
    ]:
        if found:
            lines += ["", f"## {title}", "", "| rule | students |", "|---|---|"]
            for rule, students in ranked(found)[:top]:
                lines.append(f"| {md_inert(rule)} | {len(students)} |")
    adjusted = [r for r in rows if r.adjustments]
    if adjusted:
        lines += ["", "## Adjustments (the instructor's, after grading)", ""]
        for r in sorted(adjusted, key=lambda r: r.student):
            applied = "" if r.scored else f" (not applied: {r.status}, no score to adjust)"
            texts = "; ".join(x.text() for x in r.adjustments)
            lines.append(f"- {md_inert(r.student)}: {md_inert(texts)}{applied}")
    ungraded = [r for r in rows if not r.scored]
    sandbox = [r for r in rows if r.status == SANDBOX_FAILED]
    for title, group in [
        ("Not graded (no scores in the gradebook)", ungraded),
        ("Graded, but the student's code hung or killed its sandbox on some checks", sandbox),
    ]:
        if group:
            lines += ["", f"## {title}", ""]
            lines += [
                f"- {md_inert(r.student)}: {r.status}: {md_inert(one_line(r.note))}"
                for r in sorted(group, key=lambda r: r.student)
            ]
    return "\n".join(lines) + "\n"


def _band(score: float, best: float) -> str:
    if best <= 0 or score <= 0:
        return "0"
    share = score / best
    if share >= 1:
        return "100%"
    for limit, band in [(0.25, "1-25%"), (0.5, "26-50%"), (0.75, "51-75%")]:
        if share <= limit:
            return band
    return "76-99%"
