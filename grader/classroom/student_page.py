"""A student's page, feedback.html: what feedback.md holds, with the pictures inline, and the
instructor's adjustments, which the batch writes into it after grading (`with_adjustments`).

One self-contained file like the class report (grader/classroom/report_page.py): everything the
student controls goes through `esc`, pictures are data: URIs inside <img>.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import quote

from grader.classroom import gradebook as G
from grader.classroom.report_page import esc, page
from grader.exercises import EXERCISES
from grader.feedback import results as R

MAX_EMBED = 2 * 1024**2  # a larger picture is linked, not embedded
MIME = {".svg": "image/svg+xml", ".png": "image/png"}
# where the adjustments go; student text is escaped, so it can never contain this tag
ADJUSTMENTS = re.compile(r'<section id="adjustments">.*?</section>', re.DOTALL)
EMPTY_ADJUSTMENTS = '<section id="adjustments"></section>'


def picture(path: Path, alt: str, rel: str) -> str:
    """An <img> of the picture at `path`: embedded as a data: URI (the page works alone),
    linked by `rel` when it is too large; a .dot file (no graphviz) as a link."""
    mime = MIME.get(path.suffix.lower())
    try:
        size = path.stat().st_size
    except OSError:
        return f'<p class="muted">(picture missing: {esc(rel)})</p>'
    if mime is None:
        return f'<p><a href="{esc(quote(rel))}">{esc(alt)} ({esc(path.name)})</a></p>'
    if size > MAX_EMBED:
        return f'<p><img class="pic" alt="{esc(alt)}" src="{esc(quote(rel))}"></p>'
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<p><img class="pic" alt="{esc(alt)}" src="data:{mime};base64,{data}"></p>'


def student_html(report: R.Report, title: str, folder: Path, receipt: dict | None = None) -> str:
    """A student's feedback.html: what feedback.md holds, with the pictures inline.
    `folder`: where the report's picture paths (relative) start."""
    body = [f"<h1>{esc(title)}</h1>"]
    if report.error:
        body.append(f"<p><b>Could not grade:</b></p><pre>{esc(report.error)}</pre>")
        return page(title, body + [EMPTY_ADJUSTMENTS] + _receipt(receipt))
    body.append(f"<p><b>Total: {report.score:g}/{report.max_score:g}</b></p>")
    body.append(EMPTY_ADJUSTMENTS)
    body.append('<table><tr><th>exercise</th><th class="n">score</th></tr>')
    for n, (score, best) in report.by_exercise().items():
        body.append(
            f'<tr><td><a href="#exercise-{n}">exercise-{n}</a>: {esc(EXERCISES.get(n, ""))}</td>'
            f'<td class="n">{score:g}/{best:g}</td></tr>'
        )
    body.append("</table>")
    for n in report.exercises:
        body.append(f'<h2 id="exercise-{n}">exercise-{n}: {esc(EXERCISES.get(n, ""))}</h2><ul>')
        for i, c in enumerate(report.checks):
            if c.exercise != n:
                continue
            mark = '<span class="pass">✓</span>' if c.passed else '<span class="fail">✗</span>'
            name = esc(c.name) if c.passed else f'<a href="#check-{i}">{esc(c.name)}</a>'
            why = "" if c.passed else f" — {esc(c.outcome)}"
            body.append(f"<li>{mark} {name} ({c.score:g}/{c.max_score:g}){why}</li>")
        body.append("</ul>")
    failures = [(i, c) for i, c in enumerate(report.checks) if not c.passed]
    if failures:
        body.append("<h2>What went wrong</h2>")
    for i, c in failures:
        body.append(
            f'<h3 id="check-{i}">exercise-{c.exercise}: {esc(c.name)} ({esc(c.outcome)})</h3>'
        )
        if c.message:
            body.append(f"<pre>{esc(c.message)}</pre>")
        if c.hint:
            body.append(f"<p><i>Hint:</i> {esc(c.hint)}</p>")
        if c.details.get("picture"):
            rel = c.details["picture"]
            body.append(picture(folder / rel, "the graph of the failing expression", rel))
    notes = [c for c in report.checks if c.passed and c.message]
    if notes:
        body.append("<h2>Notes</h2><ul>")
        body += [
            f"<li>exercise-{c.exercise}: {esc(c.name)} (passed): {esc(c.message)}</li>"
            for c in notes
        ]
        body.append("</ul>")
    shown = {c.details.get("picture") for _, c in failures}
    others = [p for p in report.pictures if p not in shown]
    if others:
        body.append("<h2>Pictures</h2>")
        body += [picture(folder / p, Path(p).stem.replace("-", " "), p) for p in others]
    if report.output.strip():
        body.append("<h2>What your code printed (truncated)</h2>")
        body.append(f"<pre>{esc(report.output.rstrip())}</pre>")
    return page(title, body + _receipt(receipt))


def _receipt(receipt: dict | None) -> list[str]:
    if not receipt:
        return []
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in receipt.items())
    return [
        "<details><summary>Receipt: what this grade can be reproduced with</summary>",
        f"<table>{rows}</table></details>",
    ]


def adjustments_html(row: G.Row) -> str:
    """The section of a student's page that lists the instructor's adjustments."""
    if not row.adjustments:
        return EMPTY_ADJUSTMENTS
    items = "".join(
        f"<li>{'' if a.exercise is None else f'exercise-{a.exercise}: '}<b>{a.points:+g}</b> "
        f"— {esc(a.reason)}</li>"
        for a in row.adjustments
    )
    if row.scored:
        total = f"<p><b>Total after adjustments: {row.total:g}</b></p>"
    else:
        total = f"<p>Not applied: this submission has no score to adjust ({esc(row.status)}).</p>"
    return (
        '<section id="adjustments"><h2>Adjustments by your instructor</h2>'
        f"<ul>{items}</ul>{total}</section>"
    )


def with_adjustments(html: str, row: G.Row) -> str:
    """`html` (a feedback.html) with its adjustments section made to show the row's."""
    section = adjustments_html(row)
    found = ADJUSTMENTS.search(html)
    if found is None:  # a page older than the section: put it after the title
        return html.replace("</h1>", "</h1>" + section, 1)
    return html[: found.start()] + section + html[found.end() :]
