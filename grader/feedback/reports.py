"""Reports from results: text for people, Gradescope JSON, JUnit XML."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import click

from grader.exercises import EXERCISES
from grader.feedback import results as R


def _points(x: float) -> str:
    return f"{x:g}"


def text(report: R.Report, colour: bool = False) -> str:
    def style(s: str, **kw) -> str:
        return click.style(s, **kw) if colour else s

    lines: list[str] = []
    if report.error:
        return f"Could not grade: {report.error}\n"
    failures = []
    for n in report.exercises:
        checks = [c for c in report.checks if c.exercise == n]
        score, top = report.by_exercise().get(n, (0, 0))
        lines.append(
            style(f"exercise-{n}  {EXERCISES[n]}", bold=True) + f"  {_points(score)}/{_points(top)}"
        )
        for c in checks:
            mark = style("PASS", fg="green") if c.passed else style("FAIL", fg="red")
            why = "" if c.passed else f"  ({c.outcome})"
            lines.append(f"  {mark}  {c.name:<58} {_points(c.score)}/{_points(c.max_score)}{why}")
            if not c.passed:
                failures.append(c)
        lines.append("")
    lines.append(style(f"total {_points(report.score)}/{_points(report.max_score)}", bold=True))
    if failures:
        lines += ["", style("What went wrong", bold=True)]
        for c in failures:
            lines.append(f"- exercise-{c.exercise}: {c.name} — {c.outcome}")
            for part in c.message.splitlines():
                lines.append(f"    {part}")
            if c.hint:
                lines.append(f"    hint: {c.hint}")
            if c.details.get("picture"):
                lines.append(f"    picture: {c.details['picture']}")
    notes = [c for c in report.checks if c.passed and c.message]
    if notes:
        lines += ["", style("Notes", bold=True)]
        for c in notes:
            lines.append(f"- exercise-{c.exercise}: {c.name} (passed)")
            lines += [f"    {part}" for part in c.message.splitlines()]
    other = [p for p in report.pictures if p not in {c.details.get("picture") for c in failures}]
    if other:
        lines += ["", "Pictures: " + ", ".join(other)]
    if report.output.strip():
        lines += [
            "",
            style("What your code printed (truncated)", bold=True),
            report.output.rstrip(),
        ]
    return "\n".join(lines) + "\n"


def markdown(report: R.Report, title: str = "Feedback") -> str:
    """The student's feedback as Markdown: the same explanations as the terminal report."""
    if report.error:
        return f"# {title}\n\nCould not grade: {md_inert(report.error)}\n"
    lines = [f"# {title}", "", f"**Total: {_points(report.score)}/{_points(report.max_score)}**"]
    lines += ["", "| exercise | score |", "|---|---|"]
    for n, (score, top) in report.by_exercise().items():
        lines.append(
            f"| exercise-{n}: {md_inert(EXERCISES[n])} | {_points(score)}/{_points(top)} |"
        )
    for n in report.exercises:
        lines += ["", f"## exercise-{n}: {md_inert(EXERCISES[n])}", ""]
        for c in (c for c in report.checks if c.exercise == n):
            mark = "✅" if c.passed else "❌"
            why = "" if c.passed else f" — {c.outcome}"
            lines.append(
                f"- {mark} {md_inert(c.name)} ({_points(c.score)}/{_points(c.max_score)}){why}"
            )
    failures = [c for c in report.checks if not c.passed]
    if failures:
        lines += ["", "## What went wrong"]
        for c in failures:
            lines += ["", f"### exercise-{c.exercise}: {md_inert(c.name)} ({c.outcome})", ""]
            if c.message:
                lines += [_fence(c.message)]
            if c.hint:
                lines += ["", f"*Hint:* {md_inert(c.hint)}"]
            if c.details.get("picture"):
                lines += ["", f"![the graph of the failing expression]({c.details['picture']})"]
    notes = [c for c in report.checks if c.passed and c.message]
    if notes:
        lines += ["", "## Notes"]
        for c in notes:
            lines += [
                "",
                f"- exercise-{c.exercise}: {md_inert(c.name)} (passed): {md_inert(c.message)}",
            ]
    shown = {c.details.get("picture") for c in failures}
    for picture in (p for p in report.pictures if p not in shown):
        lines += ["", f"![{Path(picture).stem}]({picture})"]
    if report.output.strip():
        lines += ["", "## What your code printed (truncated)", "", _fence(report.output.rstrip())]
    return "\n".join(lines) + "\n"


# Markdown's punctuation that can format, link or break a table; a backslash makes any ASCII
# punctuation literal (CommonMark), so `__call__` stays a name instead of turning bold.
MD_SPECIAL = re.compile(r"([\\`*_\[\]|~!#])")
# a code span as CommonMark reads one: a run of backticks, closed by a run just as long; kept
# as code only when it holds nothing HTML could make use of
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)([^\n]+?)(?<!`)\1(?!`)")


def md_inert(text: str) -> str:
    """Text (the student's, or a hint with `**` and `__call__` in it) made inert in Markdown:
    no HTML, no emphasis, links or broken tables; `code spans` stay code spans."""
    out, last = [], 0
    for m in CODE_SPAN.finditer(text):
        if any(ch in m.group(2) for ch in "<>&|"):
            continue  # escaped with the rest, character by character
        out.append(_md_plain(text[last : m.start()]) + m.group(0))
        last = m.end()
    return "".join(out) + _md_plain(text[last:])


def _md_plain(text: str) -> str:
    text = MD_SPECIAL.sub(r"\\\1", text).replace("&", "&amp;").replace("<", "&lt;")
    # a line that starts like a list item or a numbered one would become one (the first line
    # follows whatever the caller put before it)
    text = re.sub(r"\n([ \t]*)([-+])(?=\s|$)", r"\n\1\\\2", text)
    return re.sub(r"\n([ \t]*\d+)([.)])(?=\s|$)", r"\n\1\\\2", text)


def _fence(text: str) -> str:
    """A code block that the text cannot close early: the fence is longer than any in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _test_output(c: R.CheckResult) -> str:
    if c.passed:
        return f"passed\nnote: {c.message}" if c.message else "passed"
    parts = [f"{c.outcome}: {c.message}" if c.message else c.outcome]
    if c.hint:
        parts.append(f"hint: {c.hint}")
    return "\n".join(parts)


def _test_markdown(c: R.CheckResult, pictures: Path | None) -> str:
    """A test's output for Gradescope, in Markdown: the message in a code block that it cannot
    close, the hint made inert, and the failing graph as an image. Gradescope serves no files of
    ours, so the picture travels inside the output as a data: URI, and as a PNG (details["png"],
    drawn by runner.draw_failure_png): Markdown renderers that keep the usual safe-link rule
    (markdown-it's default) show data: images of gif, png, jpeg and webp only, never SVG; where
    a sanitiser drops it anyway, the alt text still says what it was."""
    if c.passed:
        return "passed" + (f"\n\n*Note:* {md_inert(c.message)}" if c.message else "")
    parts = [f"**{md_inert(c.outcome)}**"]
    if c.message:
        parts.append(_fence(c.message))
    if c.hint:
        parts.append(f"*Hint:* {md_inert(c.hint)}")
    png = c.details.get("png")
    path = Path(pictures or "") / png if png else None
    if path is not None and path.suffix == ".png" and path.is_file():
        if path.stat().st_size <= MAX_PNG:
            data = base64.b64encode(path.read_bytes()).decode()
            alt = "the failing graph, the wrong node in red"
            parts.append(f"![{alt}](data:image/png;base64,{data})")
        else:
            parts.append("*(The failing graph is too large to show here.)*")
    return "\n\n".join(parts)


VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
MAX_PNG = 256 * 1024  # a larger picture is left out of results.json


def gradescope(
    report: R.Report,
    pictures: Path | None = None,
    hidden: frozenset[tuple[int, str]] = frozenset(),
    visibility: str = "visible",
) -> dict:
    """Gradescope's results.json: score, max_score, execution_time, output, tests.

    Each test's output is Markdown (`output_format` "md"); `pictures` is the folder the
    pictures' paths are relative to (None: they are absolute). The checks in `hidden`
    ((exercise, name) of the instructor's extra checks) get `visibility`."""
    tests = []
    counts: dict[int, int] = {}
    for c in report.checks:
        counts[c.exercise] = counts.get(c.exercise, 0) + 1
        test = {
            "name": f"exercise-{c.exercise}: {c.name}",
            "number": f"{c.exercise}.{counts[c.exercise]}",
            "score": c.score,
            "max_score": c.max_score,
            "status": "passed" if c.passed else "failed",
            "output": _test_markdown(c, pictures),
            "output_format": "md",
            "tags": [f"exercise-{c.exercise}"],
            "extra_data": {
                "outcome": c.outcome,
                "rule": c.rule,
                "rule_kind": c.rule_kind,
                "details": c.details,
            },
        }
        if (c.exercise, c.name) in hidden and visibility != "visible":
            test["visibility"] = visibility
        tests.append(test)
    summary = (
        f"Could not grade: {report.error}"
        if report.error
        else (
            f"Score {_points(report.score)}/{_points(report.max_score)} on "
            + ", ".join(f"exercise-{n}" for n in report.exercises)
        )
    )
    return {
        "score": report.score,
        "max_score": report.max_score,
        "execution_time": round(report.execution_time, 3),
        "output": summary,
        "output_format": "text",
        "test_output_format": "md",
        "tests": tests,
        "extra_data": {
            "exercises": {
                f"exercise-{n}": {"score": s, "max_score": m}
                for n, (s, m) in report.by_exercise().items()
            },
            "error": report.error,
            "student_output": report.output,
        },
    }


def as_json(report: R.Report) -> str:
    return json.dumps(gradescope(report), indent=2, sort_keys=False) + "\n"


def junit(report: R.Report) -> str:
    suites = ET.Element("testsuites", name="micrograd", tests=str(len(report.checks)))
    if report.error:
        suite = ET.SubElement(
            suites, "testsuite", name="submission", tests="1", failures="0", errors="1"
        )
        case = ET.SubElement(suite, "testcase", classname="submission", name="read submission")
        ET.SubElement(case, "error", message=report.error).text = report.error
    for n in report.exercises:
        checks = [c for c in report.checks if c.exercise == n]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"exercise-{n}",
            tests=str(len(checks)),
            failures=str(sum(not c.passed for c in checks)),
            errors="0",
        )
        for c in checks:
            case = ET.SubElement(suite, "testcase", classname=f"exercise-{n}", name=c.name)
            ET.SubElement(case, "properties").extend(
                [
                    ET.Element("property", name="score", value=_points(c.score)),
                    ET.Element("property", name="max_score", value=_points(c.max_score)),
                ]
            )
            if not c.passed:
                ET.SubElement(case, "failure", message=c.outcome).text = _test_output(c)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
