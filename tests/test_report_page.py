"""The class report (report.html) and the students' pages (feedback.html): escaped, correct, and
opened in a real headless Chromium (tests/browser.py) the way an instructor would open them.

Screenshots are kept in tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from grader.classroom import gradebook as G
from grader.classroom.report_page import bins_for, report_html
from grader.exercises import EXERCISES
from tests.browser import Browser, chromium_path
from tests.grader_helpers import ROOT
from tests.test_lookalike import disguised, styled
from tools.planted_bugs import BUGS
from tools.synthetic_class import WRITERS, package, write_class

pytestmark = pytest.mark.grader

ARTIFACTS = ROOT / "tests" / "artifacts"
TANH_RULE = "self.grad += (1 - out.data**2) * out.grad"
HOSTILE = "<img src=x onerror=console.error('xss')><script>console.error('xss')</script>"


def row(student: str, status: str = G.GRADED, **kw) -> G.Row:
    return G.Row(student, status, **kw)


# -- the page's content, without a browser ---------------------------------------------------


def test_student_text_is_escaped_everywhere():
    rows = [
        row("s1", scores={1: 2.0}, max_scores={1: 4.0}, failed=[(HOSTILE, "wrong", HOSTILE)]),
        row("s2", G.UNREADABLE, note=HOSTILE, entry=HOSTILE),
        row("s3", scores={1: 4.0}, max_scores={1: 4.0}, lookalike={"own": "x", "units": [HOSTILE]}),
        row("s4", scores={1: 4.0}, max_scores={1: 4.0}, lookalike={"own": "x", "units": [HOSTILE]}),
    ]
    page = report_html(rows, [1])
    assert "<img src=x" not in page and "<script>console" not in page
    assert "&lt;img src=x onerror=console.error(&#x27;xss&#x27;)&gt;" in page
    assert page.count("<script>") == 1  # the page's own, sorting the table


def test_histogram_bins_put_full_marks_apart():
    bins = bins_for([0, 0, 1.5, 2, 4, 4, 4], 4)
    assert [(lo, hi) for lo, hi, _ in bins] == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 4)]
    assert [c for _, _, c in bins] == [2, 1, 1, 0, 3]
    assert sum(c for _, _, c in bins_for([0.25 * k for k in range(200)], 56)) == 200


def test_report_of_a_class_with_nothing_graded():
    page = report_html([row("a", G.UNREADABLE, note="not a zip"), row("b", G.PENDING)], [1, 2])
    assert "no graded submissions" in page and "not a zip" in page
    assert 'href="students/b/feedback.html"' not in page  # pending: no page to link to


# -- a graded class, in a browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> Path:
    """A synthetic class of 9, a student with the tanh rule wrong, one whose error message is
    HTML, a look-alike pair and a student whose SGD step has its sign flipped, graded with
    `grade batch` as an instructor would, with a roster (one student submitted nothing) and an
    adjustment."""
    root = tmp_path_factory.mktemp("report")
    submissions = root / "class"
    write_class(submissions, size=9)  # s09: an unreadable notebook
    tanh = package(edits={"engine.py": [(TANH_RULE, "self.grad += (1 - out.data) * out.grad")]})
    WRITERS["folder"](tanh)(submissions / "t01-tanh-wrong")
    raising = f"raise ValueError({HOSTILE!r})"
    WRITERS["folder"](package(edits={"engine.py": [(TANH_RULE, raising)]}))(
        submissions / "t02-html-in-errors"
    )
    WRITERS["folder"](styled(0b0010111))(submissions / "t03-original")
    WRITERS["zip"](disguised(styled(0b0010111)))(submissions / "t04-copy.zip")
    sgd = dict(BUGS)["sgd-step-sign-flipped"]  # a contract broken, not a backward rule
    WRITERS["folder"](package(edits=sgd.edits))(submissions / "t05-sgd-sign")
    ids = sorted(p.name.removesuffix(".zip").removesuffix(".ipynb") for p in submissions.iterdir())
    roster = root / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{i},Student {i}\n" for i in ids) + "t06-absent,Ann\n")
    adjustments = root / "adjustments.csv"
    adjustments.write_text("id,exercise,points,reason\nt01-tanh-wrong,2,1,half of tanh is right\n")
    out = root / "grades"
    cmd = [sys.executable, "-m", "grader.cli", "batch", str(submissions), "--out", str(out)]
    cmd += ["--roster", str(roster), "--adjustments", str(adjustments)]
    done = subprocess.run([*cmd, "--jobs", "2"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stderr  # the class holds an unreadable submission
    return out


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        pytest.skip("chromium is not installed (apt-get install chromium; nox -s tests does it)")
    with Browser() as b:
        yield b


def test_the_batch_writes_a_report_and_a_page_per_student(graded_class):
    assert (graded_class / "report.html").stat().st_size > 10_000
    pages = sorted(p.parent.name for p in graded_class.glob("students/*/feedback.html"))
    assert len(pages) == 14 and "t01-tanh-wrong" in pages


def test_the_report_in_a_browser(graded_class, browser):
    report = graded_class / "report.html"
    browser.open(report)
    assert browser.console_errors() == []
    bars = browser.evaluate(
        """Array.from(document.querySelectorAll("svg.histogram")).map(
             s => Array.from(s.querySelectorAll("rect")).map(r => r.getBBox().height))"""
    )
    assert len(bars) == len(EXERCISES) + 1  # every exercise and the total
    assert all(any(h > 0 for h in hs) for hs in bars)

    # the rule table says who has the tanh rule wrong, with a link to that student's page
    tanh = browser.evaluate(
        """Array.from(document.querySelectorAll("#rules ~ table tr"))
             .filter(tr => tr.cells[0].textContent.trim() === "tanh")
             .map(tr => Array.from(tr.querySelectorAll("a")).map(a => a.textContent))"""
    )
    assert tanh == [["t01-tanh-wrong"]]

    # rules as rules, contracts as contracts
    first_cells = """id => Array.from(document.querySelectorAll("#" + id + " tr"))
        .slice(1).map(tr => tr.cells[0].textContent.trim())"""
    rules = browser.evaluate(f"({first_cells})('rules-table')")
    contracts = browser.evaluate(f"({first_cells})('contracts-table')")
    assert "tanh" in rules and "SGD.step" in contracts, (rules, contracts)
    for name in ["SGD.step", "train_step", "minibatch_sgd", "hinge_loss", "batches"]:
        assert name not in rules
    assert not set(rules) & set(contracts)
    # "not implemented yet" apart from "wrong": the stubs are counted as not attempted
    mostly = browser.evaluate(
        """Array.from(document.querySelectorAll("#wrong-checks tr")).slice(1)
             .map(tr => tr.cells[2].textContent)"""
    )
    assert mostly and not any("not implemented yet" in m for m in mostly), mostly
    skipped = browser.evaluate(
        """Array.from(document.querySelectorAll("#not-attempted-table tr")).slice(1)
             .map(tr => [tr.cells[0].textContent, tr.cells[2].textContent])"""
    )
    skipped = dict(skipped)
    assert "s02-partial-1-2" in skipped[next(k for k in skipped if k.startswith("exercise-3"))]
    assert "s02-partial-1-2" not in skipped[next(k for k in skipped if k.startswith("exercise-2"))]
    # the roster's absent student is a blank row; the adjustment is shown with its reason
    absent = browser.evaluate(
        """Array.from(document.querySelectorAll("#student-table tbody tr"))
             .filter(r => r.cells[0].textContent.startsWith("t06-absent"))
             .map(r => [1, 2, r.cells.length - 3].map(i => r.cells[i].textContent))"""
    )
    assert absent == [["Ann", "missing", ""]]
    widths = browser.evaluate(
        """Array.from(document.querySelectorAll("#student-table tr")).map(r => r.cells.length)"""
    )
    assert len(set(widths)) == 1, widths  # every row as wide as the header: no cell missing
    assert "half of tanh is right" in browser.evaluate(
        'document.getElementById("adjustments-table").textContent'
    )
    groups = browser.evaluate(
        """Array.from(document.querySelectorAll("tr.lookalike")).map(
             tr => Array.from(tr.querySelectorAll("a")).map(a => a.textContent))"""
    )
    assert groups == [["t03-original", "t04-copy"]]

    # every link leads to a file that exists
    hrefs = browser.evaluate("Array.from(document.links).map(a => a.href)")
    files = [Path(unquote(urlparse(h).path)) for h in hrefs if urlparse(h).scheme == "file"]
    assert len(files) >= 13 and all(f.is_file() for f in files), files

    # the table sorts: a click on "total" ascending (blanks last), another descending
    column = """(() => { const t = document.getElementById("student-table");
        const i = Array.from(t.tHead.rows[0].cells)
            .findIndex(c => c.textContent.startsWith("total"));
        t.tHead.rows[0].cells[i].click();
        return Array.from(t.tBodies[0].rows).map(r => r.cells[i].getAttribute("data-v")); })()"""
    up, down = browser.evaluate(column), browser.evaluate(column)
    scored = [float(v) for v in up if v]
    assert scored == sorted(scored) and up[len(scored) :] == [""] * (len(up) - len(scored))
    assert [float(v) for v in down if v] == sorted(scored, reverse=True)
    search = """(() => { const f = document.getElementById("filter");
        f.value = "TANH-wrong"; f.dispatchEvent(new Event("input"));
        return Array.from(document.querySelectorAll("#student-table tbody tr"))
            .filter(r => !r.hidden).map(r => r.cells[0].textContent); })()"""
    assert browser.evaluate(search) == ["t01-tanh-wrong"]
    browser.evaluate('document.getElementById("filter").value = ""')
    browser.evaluate('document.getElementById("filter").dispatchEvent(new Event("input"))')
    shot = browser.screenshot(ARTIFACTS / "report.png")
    assert shot.stat().st_size > 20_000


def test_a_student_page_in_a_browser(graded_class, browser):
    browser.open(graded_class / "report.html")
    href = browser.evaluate(
        """Array.from(document.links).find(a => a.textContent === "t01-tanh-wrong").href"""
    )
    browser.open(Path(unquote(urlparse(href).path)))  # following the student's link
    assert browser.console_errors() == []
    text = browser.evaluate("document.body.innerText")
    assert "tanh backward" in text and "Receipt" in text
    images = browser.evaluate(
        "Array.from(document.images).map(i => [i.alt, i.naturalWidth, i.naturalHeight])"
    )
    assert images and all(w > 0 and h > 0 for _, w, h in images)
    assert any("decision boundary" in alt for alt, _, _ in images)
    browser.screenshot(ARTIFACTS / "student.png")

    browser.open(graded_class / "students" / "t02-html-in-errors" / "feedback.html")
    assert browser.console_errors() == []
    assert "<img src=x onerror=" in browser.evaluate("document.body.innerText")


def test_a_batch_grade_verifies_the_same(graded_class):
    """The receipt the grading processes write agrees with `grade verify`'s own grading."""
    from click.testing import CliRunner

    from grader.cli import main

    results = graded_class / "students" / "t01-tanh-wrong" / "results.json"
    entry = graded_class.parent / "class" / "t01-tanh-wrong"
    outcome = CliRunner().invoke(main, ["verify", str(results), "--submission", str(entry)])
    assert outcome.exit_code == 0, outcome.output
    recorded = json.loads(results.read_text())
    assert recorded["score"] < recorded["max_score"]  # the tanh rule is wrong: a real verdict
    assert outcome.output.startswith(f"same: {recorded['score']:g}/{recorded['max_score']:g}")
