"""HTML pages: the class report (grades/report.html); a student's feedback.html is made the
same way, by grader/classroom/student_page.py, with this module's `page` and `esc`.

Each is one self-contained file: inline CSS, a few lines of inline JavaScript (the table sorts,
the filter), histograms as inline SVG, pictures embedded as data: URIs. No network, no external
asset, so the page opens from a zip or an e-mail. Everything a student controls (ids, messages,
what their code printed) goes through `esc` (html.escape), and pictures only ever appear as
<img>, where an SVG's scripts never run.

The class report is made from the gradebook's rows only (like summary.md), so that a rerun that
reuses earlier results writes the same page; it is written with the gradebook, atomically.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from urllib.parse import quote

from grader.classroom import gradebook as G
from grader.classroom import lookalike
from grader.exercises import EXERCISES

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:72em;
 padding:0 1em;color:#1d2430}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #dde;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:.25em .6em;border-bottom:1px solid #e4e6ea;text-align:left;vertical-align:top}
th{background:#f3f4f7;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
th[data-sort]{cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
.badge{display:inline-block;padding:.15em .6em;margin:.1em .3em .1em 0;border-radius:1em;
 background:#eef}.graded{background:#e3f6e8}.sandbox-failed{background:#fff3d6}
.unreadable,.timed-out,.crashed,.grader-error,.ambiguous,.pending{background:#fde4e4}
.missing{background:#ececec}
.hists{display:flex;flex-wrap:wrap;gap:1em}.hist{border:1px solid #e4e6ea;padding:.5em;
 border-radius:.4em}.hist svg{display:block}pre{background:#f6f7f9;padding:.6em;overflow-x:auto;
 white-space:pre-wrap;word-break:break-word}details{margin:.2em 0}.muted{color:#667}
img.pic{max-width:100%;border:1px solid #e4e6ea;margin:.4em 0;background:#fff}
.pass{color:#137333;font-weight:bold}.fail{color:#b3261e;font-weight:bold}input[type=search]{padding:.3em;width:20em}
"""

SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("th[data-sort]");
  heads.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var up = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var numeric = th.getAttribute("data-sort") === "num";
      function key(row) { return row.cells[col].getAttribute("data-v") || ""; }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (numeric) {  // blanks (no score) last, whichever way
          if (x === "" || y === "") { return (x === "") - (y === ""); }
          return up ? x - y : y - x;
        }
        return up ? x.localeCompare(y) : y.localeCompare(x);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
var filter = document.getElementById("filter");
if (filter) {
  filter.addEventListener("input", function () {
    var q = filter.value.toLowerCase();
    document.querySelectorAll("#student-table tbody tr").forEach(function (r) {
      r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
}
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def page(title: str, body: list[str], script: str = "") -> str:
    js = f"<script>{script}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # no network, ever: a picture or a link smuggled into a message cannot phone home
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data: file: 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + f"\n{js}</body></html>\n"
    )


# -- histograms -------------------------------------------------------------------------------


def bins_for(values: list[float], top: float, most: int = 10) -> list[tuple[float, float, int]]:
    """(low, high, count) bins covering [0, top]: one per point where that is few enough."""
    if top <= 0:
        return [(0.0, 0.0, len(values))]
    n = int(top) if float(top).is_integer() and top <= most else most
    width = top / n
    counts = [0] * (n + 1)  # the last bin holds full marks alone, so they stand out
    for v in values:
        counts[n if v >= top else min(int(max(v, 0.0) / width), n - 1)] += 1
    bins = [(i * width, (i + 1) * width, counts[i]) for i in range(n)]
    return bins + [(top, top, counts[n])]


def histogram_svg(values: list[float], top: float, label: str) -> str:
    """An inline SVG bar chart of `values` (scores out of `top`)."""
    bins = bins_for(values, top)
    w, h, pad, base = 300, 150, 28, 120
    bar = (w - pad - 8) / len(bins)
    tallest = max((c for _, _, c in bins), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
        f'class="histogram" aria-label="{esc(label)}">',
        f'<line x1="{pad}" y1="{base}" x2="{w - 4}" y2="{base}" stroke="#888"/>',
        f'<text x="{pad - 4}" y="16" font-size="11" text-anchor="end">{tallest}</text>',
    ]
    for i, (lo, hi, count) in enumerate(bins):
        x = pad + i * bar
        height = (base - 12) * count / tallest
        name = f"{lo:g}" if lo == hi else f"{lo:.3g}–{hi:.3g}"
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{base - height:.1f}" width="{bar - 2:.1f}" '
            f'height="{height:.1f}" fill="{"#2f7d4f" if lo == hi == top else "#4a6fa5"}">'
            f"<title>{esc(name)}: {count}</title></rect>"
        )
        if len(bins) <= 12 or i % 2 == 0 or i == len(bins) - 1:
            text = f"{lo:g}" if lo == hi else f"{lo:.2g}"
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{base + 14}" font-size="10" '
                f'text-anchor="middle">{esc(text)}</text>'
            )
    parts.append(
        f'<text x="{w / 2:.0f}" y="{h - 4}" font-size="11" text-anchor="middle">'
        f"points (full marks: {top:g})</text></svg>"
    )
    return "".join(parts)


# -- the class report -------------------------------------------------------------------------


def student_link(student: str, pages: set[str] | None) -> str:
    if pages is not None and student not in pages:
        return esc(student)
    return f'<a href="students/{quote(student, safe="")}/feedback.html">{esc(student)}</a>'


def _links(students: list[str], pages: set[str] | None, inline: int = 8) -> str:
    """Links to the students' pages: in the open when few, folded away when many."""
    unique = sorted(set(students))
    shown = ", ".join(student_link(s, pages) for s in unique)
    if len(unique) <= inline:
        return shown
    return f"<details><summary>{len(unique)} students</summary>{shown}</details>"


def report_html(
    rows: list[G.Row], exercises: list[int], pages: set[str] | None = None, top: int = 20
) -> str:
    """The class report. `pages`: the students whose feedback.html exists (None: all that
    were graded or could not be read, as the batch writes them)."""
    tops = G.max_scores(rows, exercises)
    rows = sorted(rows, key=lambda r: r.student)
    scored = [r for r in rows if r.scored]
    if pages is None:
        pages = {r.student for r in rows if r.status not in (G.AMBIGUOUS, G.PENDING, G.MISSING)}
    by_status = Counter(r.status for r in rows)
    body = ["<h1>Class report</h1>"]
    body.append(
        f"<p>{len(rows)} submissions: "
        + " ".join(
            f'<span class="badge {esc(s)}">{count} {esc(s)}</span>'
            for s, count in sorted(by_status.items())
        )
        + "</p>"
    )
    body.append(
        '<p class="muted">Jump to: <a href="#scores">scores</a> · <a href="#checks">checks '
        'answered wrong</a> · <a href="#not-attempted">not attempted</a> · <a href="#rules">'
        'rules found wrong</a> · <a href="#contracts">contracts broken</a> · <a href="#lookalike'
        's">look-alike submissions</a> · <a href="#students">students</a> · <a href="#ungraded">'
        "not graded</a></p>"
    )

    body.append(f'<h2 id="scores">Scores ({len(scored)} with scores)</h2><div class="hists">')
    for n in [*exercises, None]:
        best = sum(tops.values()) if n is None else tops[n]
        values = [(r.total if n is None else r.score(n)) or 0.0 for r in scored]
        name = "total" if n is None else f"exercise-{n}: {EXERCISES.get(n, '')}"
        stats = (
            f"mean {statistics.mean(values):.2f} · median {statistics.median(values):g} · "
            f"full marks {sum(v >= best for v in values)} · zero {sum(v == 0 for v in values)}"
            if values
            else "no graded submissions"
        )
        skipped = sum(n in r.not_attempted() for r in scored) if n is not None else 0
        if skipped:
            stats += f" (not attempted {skipped})"
        body.append(
            f'<div class="hist"><b>{esc(name)}</b><br>{histogram_svg(values, best, name)}'
            f'<span class="muted">{stats}</span></div>'
        )
    body.append("</div>")

    body += failures_section(G.analyse(rows, exercises), pages, top)
    body += lookalike_section(rows, pages)
    body += adjustments_section(rows, pages)
    body += students_table(rows, exercises, tops, pages)

    ungraded = [r for r in rows if not r.scored]
    body.append(f'<h2 id="ungraded">Not graded ({len(ungraded)}): no scores, and no zeros</h2>')
    if ungraded:
        body.append("<table><tr><th>student</th><th>status</th><th>why</th><th>entry</th></tr>")
        for r in ungraded:
            body.append(
                f"<tr><td>{student_link(r.student, pages)}</td>"
                f'<td><span class="badge {esc(r.status)}">{esc(r.status)}</span></td>'
                f"<td>{esc(G.one_line(r.note))}</td><td>{esc(r.entry)}</td></tr>"
            )
        body.append("</table>")
    else:
        body.append("<p>Every submission was graded.</p>")
    return page("Class report", body, SORT_JS)


def failures_section(a: G.Analysis, pages: set[str] | None, top: int) -> list[str]:
    """What the class got wrong: checks answered wrong (code a stub counts apart), exercises
    not attempted, backward rules found wrong, contracts broken."""
    out = [
        f'<h2 id="checks">The checks the class gets wrong most (of {a.graded} graded)</h2>',
        '<p class="muted">Answered wrong, raised, or missing, among the students who attempted '
        'the check\'s exercise. Code still a stub ("not implemented yet") is not counted here: '
        'see <a href="#not-attempted">not attempted</a>.</p>',
    ]
    if a.wrong:
        out.append('<table id="wrong-checks"><tr><th>check</th><th class="n">wrong for</th>')
        out.append('<th>how</th><th class="n">still a stub for</th><th>students</th></tr>')
        for check, students in G.ranked(a.wrong)[:top]:
            out.append(
                f'<tr><td>{esc(check)}</td><td class="n">'
                f"{esc(G.share_of_attempts(a, check, len(students)))}</td>"
                f"<td>{esc(G.how(a.outcomes[check]))}</td>"
                f'<td class="n">{a.unwritten[check]}</td>'
                f"<td>{_links(students, pages, inline=3)}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>None: every check attempted was passed.</p>")

    out.append('<h2 id="not-attempted">Not attempted: every check still a stub</h2>')
    if a.not_attempted:
        out.append('<table id="not-attempted-table"><tr><th>exercise</th><th class="n">')
        out.append("students</th><th>who</th></tr>")
        for n in sorted(a.not_attempted):
            students = a.not_attempted[n]
            out.append(
                f"<tr><td>exercise-{n}: {esc(EXERCISES.get(n, ''))}</td>"
                f'<td class="n">{len(students)} of {a.graded}</td>'
                f"<td>{_links(students, pages, inline=3)}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>Every graded submission attempted every exercise.</p>")

    for anchor, title, found, none in [
        ("rules", "Backward rules found wrong", a.rules, "No backward rule was found wrong."),
        (
            "contracts",
            "Contracts broken: functions and methods that answered wrong",
            a.contracts,
            "No function broke its contract.",
        ),
    ]:
        out.append(f'<h2 id="{anchor}">{esc(title)}</h2>')
        if not found:
            out.append(f"<p>{esc(none)}</p>")
            continue
        what = "rule" if anchor == "rules" else "function"
        out.append(f'<table id="{anchor}-table"><tr><th>{what}</th><th class="n">students</th>')
        out.append("<th>who</th></tr>")
        for rule, students in G.ranked(found):
            out.append(
                f'<tr><td>{rule_html(rule)}</td><td class="n">{len(students)}</td>'
                f"<td>{_links(students, pages)}</td></tr>"
            )
        out.append("</table>")
    return out


def rule_html(rule: str) -> str:
    """A rule as code: `+`, or the code spans of "`*` or `+`"."""
    if "`" not in rule:
        return f"<code>{esc(rule)}</code>"
    parts = esc(rule).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def adjustments_section(rows: list[G.Row], pages: set[str] | None) -> list[str]:
    """The instructor's adjustments (--adjustments), with the total they lead to."""
    adjusted = [r for r in rows if r.adjustments]
    if not adjusted:
        return []
    out = [
        f'<h2 id="adjustments">Adjustments ({len(adjusted)} of the class)</h2>',
        '<p class="muted">Points added or taken after grading, from the instructor\'s file; '
        "they are in the scores and totals below, and survive regrading.</p>",
        '<table id="adjustments-table"><tr><th>student</th><th>exercise</th>'
        '<th class="n">points</th><th>reason</th><th class="n">total</th></tr>',
    ]
    for r in adjusted:
        for x in r.adjustments:
            total = _num(r.total) if r.scored else f"not applied ({r.status}: no score)"
            out.append(
                f"<tr><td>{student_link(r.student, pages)}</td>"
                f"<td>{'' if x.exercise is None else f'exercise-{x.exercise}'}</td>"
                f'<td class="n">{x.points:+g}</td><td>{esc(x.reason)}</td>'
                f'<td class="n">{esc(total)}</td></tr>'
            )
    out.append("</table>")
    return out


def lookalike_section(rows: list[G.Row], pages: set[str] | None) -> list[str]:
    found = lookalike.groups({r.student: r.lookalike for r in rows})
    solution = [r.student for r in rows if r.lookalike.get("solution")]
    out = [
        '<h2 id="lookalikes">Look-alike submissions</h2>',
        '<p class="muted">Students whose own backward rules and training code are the same once '
        "comments, layout and variable names are set aside (code equal to the kit's stubs or to "
        "the published solution does not count). A flag for a person to look at, never a "
        "penalty.</p>",
    ]
    if found:
        out.append("<table><tr><th>group</th><th>students</th><th>same code in</th></tr>")
        by_student = {r.student: r for r in rows}
        for i, group in enumerate(found, 1):
            units = by_student[group[0]].lookalike.get("units", [])
            shown = ", ".join(units[:8]) + (f" and {len(units) - 8} more" if len(units) > 8 else "")
            out.append(
                f'<tr class="lookalike"><td>{i}</td><td>'
                + ", ".join(student_link(s, pages) for s in group)
                + f"</td><td>{esc(shown)}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>No two submissions look alike.</p>")
    if solution:
        out.append(
            f"<p>{len(solution)} submissions hold the published solution as it is "
            f"(normalised): {_links(solution, pages)}</p>"
        )
    return out


def students_table(
    rows: list[G.Row], exercises: list[int], tops: dict[int, float], pages: set[str] | None
) -> list[str]:
    named = any(r.name for r in rows)  # a column of names when a roster gave them
    out = [
        f'<h2 id="students">Students ({len(rows)})</h2>',
        '<p><input type="search" id="filter" placeholder="filter: id, status, a check..."> '
        '<span class="muted">Click a column\'s title to sort.</span></p>',
        '<table id="student-table" class="sortable"><thead><tr><th data-sort="text">student</th>'
        + ('<th data-sort="text">name</th>' if named else "")
        + '<th data-sort="text">status</th>'
        + "".join(
            f'<th data-sort="num" class="n">ex-{n}<br><span class="muted">/{tops[n]:g}</span></th>'
            for n in exercises
        )
        + f'<th data-sort="num" class="n">total<br><span class="muted">/{sum(tops.values()):g}'
        '</span></th><th data-sort="num" class="n">failed</th><th data-sort="text">note / '
        "failed checks</th></tr></thead><tbody>",
    ]
    for r in rows:
        cells = [
            f'<td data-v="{esc(r.student)}">{student_link(r.student, pages)}</td>',
            f'<td data-v="{esc(r.name)}">{esc(r.name)}</td>' if named else "",
            f'<td data-v="{esc(r.status)}"><span class="badge {esc(r.status)}">'
            f"{esc(r.status)}</span></td>",
        ]
        for n in [*exercises, None]:
            v = r.total if n is None else r.score(n)
            cells.append(f'<td class="n" data-v="{_num(v)}">{_num(v)}</td>')
        count = len(r.failed) if r.scored else None
        cells.append(f'<td class="n" data-v="{_num(count)}">{_num(count)}</td>')
        failed = "; ".join(f.check for f in r.failed)
        adjusted = "; ".join(a.text() for a in r.adjustments)
        text = " ".join(x for x in (r.note, adjusted and f"[adjusted: {adjusted}]", failed) if x)
        text = G.one_line(text if len(text) <= 120 else text[:117] + "...")  # all on their page
        cells.append(f'<td data-v="{esc(text)}" class="muted">{esc(text)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return out
