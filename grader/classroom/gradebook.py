"""A class's results as the instructor reads them: gradebook.csv and summary.md.

Each student's results.json (Gradescope's schema; see reports.gradescope) is boiled down to a
Row; the gradebook and the summary are made from the rows, and only from them, so that a
rerun that reuses earlier results writes the same files. Both are written atomically: a
reader (or a kill -9) never sees half a file.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

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

WITH_SCORES = (GRADED, SANDBOX_FAILED)
# statuses that a rerun keeps when the submission is unchanged; the others are retried
FINAL = (GRADED, SANDBOX_FAILED, UNREADABLE, TIMED_OUT)


@dataclass
class Row:
    student: str
    status: str
    note: str = ""
    entry: str = ""
    scores: dict[int, float] = field(default_factory=dict)  # exercise -> points
    max_scores: dict[int, float] = field(default_factory=dict)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (check, outcome, rule)
    lookalike: dict = field(default_factory=dict)  # grader/classroom/lookalike.py's fingerprint

    @property
    def total(self) -> float | None:
        return round(sum(self.scores.values()), 6) if self.status in WITH_SCORES else None


def row_from_results(data: dict) -> Row:
    """The gradebook row of one student's results.json."""
    batch = data.get("extra_data", {}).get("batch", {})
    exercises = data.get("extra_data", {}).get("exercises", {})
    status = batch.get("status", GRADED)
    scores = {int(k.split("-")[1]): float(v["score"]) for k, v in exercises.items()}
    tops = {int(k.split("-")[1]): float(v["max_score"]) for k, v in exercises.items()}
    failed = [
        (
            t["name"],
            t.get("extra_data", {}).get("outcome", ""),
            t.get("extra_data", {}).get("rule") or "",
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


def _points(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def gradebook_csv(rows: list[Row], exercises: list[int]) -> str:
    """One row per student: status, a column per exercise, total, maximum, note, entry."""
    tops = _max_scores(rows, exercises)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["student", "status", *(f"exercise-{n}" for n in exercises), "total", "max_score"]
        + ["note", "entry"]
    )
    for row in sorted(rows, key=lambda r: r.student):
        scored = row.status in WITH_SCORES
        writer.writerow(
            [row.student, row.status]
            + [_points(row.scores.get(n)) if scored else "" for n in exercises]
            + [_points(row.total), _points(sum(tops.values())), _one_line(row.note), row.entry]
        )
    return out.getvalue()


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _max_scores(rows: list[Row], exercises: list[int]) -> dict[int, float]:
    tops: dict[int, float] = {}
    for row in rows:
        for n, m in row.max_scores.items():
            tops[n] = max(tops.get(n, 0.0), m)
    return {n: tops.get(n, 0.0) for n in exercises}


def summary_md(rows: list[Row], exercises: list[int], top: int = 15) -> str:
    """What the class got wrong: counts by status, scores per exercise, the most failed checks."""
    tops = _max_scores(rows, exercises)
    scored = [r for r in rows if r.status in WITH_SCORES]
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
        values = [r.total if n is None else r.scores.get(n, 0.0) for r in scored]
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
        counts = Counter(_band(r.scores.get(n, 0.0), tops[n]) for r in scored)
        lines.append(f"| exercise-{n} | " + " | ".join(str(counts[b]) for b in bands) + " |")

    failed = Counter(name for r in scored for name, _, _ in r.failed)
    outcomes: dict[str, Counter] = {}
    for r in scored:
        for name, outcome, _ in r.failed:
            outcomes.setdefault(name, Counter())[outcome] += 1
    lines += ["", f"## The checks the class fails most (of {len(scored)} graded)", ""]
    if failed:
        lines += ["| check | failed by | mostly |", "|---|---|---|"]
        for name, count in failed.most_common(top):
            mostly = outcomes[name].most_common(1)[0][0]
            lines.append(
                f"| {md_inert(name)} | {count} ({100 * count / len(scored):.0f}%) | {mostly} |"
            )
    else:
        lines.append("None: every graded submission passed every check.")
    students_per_rule = Counter(
        rule for r in scored for rule in {rule for _, _, rule in r.failed if rule}
    )
    if students_per_rule:
        lines += ["", "## Rules found wrong", "", "| rule | students |", "|---|---|"]
        for rule, count in sorted(students_per_rule.items(), key=lambda rc: (-rc[1], rc[0]))[:top]:
            lines.append(f"| {md_inert(rule)} | {count} |")
    ungraded = [r for r in rows if r.status not in WITH_SCORES]
    sandbox = [r for r in rows if r.status == SANDBOX_FAILED]
    for title, group in [
        ("Not graded (no scores in the gradebook)", ungraded),
        ("Graded, but the student's code hung or killed its sandbox on some checks", sandbox),
    ]:
        if group:
            lines += ["", f"## {title}", ""]
            lines += [
                f"- {md_inert(r.student)}: {r.status}: {md_inert(_one_line(r.note))}"
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


def write_atomically(path: Path, text: str) -> None:
    """Write `path` so that it holds either the old text or the new, never part of one; with
    the permissions of any file the user writes (0644 under the usual umask 022, 0640 under
    027: the group reads the report), not the 0600 of mkstemp's temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it: put back at once
    os.umask(mask)
    return mask
