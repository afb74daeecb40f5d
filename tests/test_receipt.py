"""Receipts and `grade verify`; Gradescope's Markdown output and the extra checks' visibility."""

from __future__ import annotations

import base64
import json
import re
import shutil
import zipfile
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.checks import checking, course
from grader.classroom.bundle import build_gradescope
from grader.cli import main
from tests.grader_helpers import ROOT, by_name, grade_json, make_workspace

pytestmark = pytest.mark.grader

TANH_RULE = "self.grad += (1 - out.data**2) * out.grad"
TANH_BUG = "self.grad += (1 - out.data) * out.grad"
EXTRA = ROOT / "examples" / "extra-checks"


def verify(results: Path, submission: Path, *more: str, env: dict | None = None):
    args = ["verify", str(results), "--submission", str(submission), *more]
    return CliRunner().invoke(main, args, env=env)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path]:
    """A workspace with the tanh rule wrong, graded on exercise-2 into results.json."""
    tmp = tmp_path_factory.mktemp("receipt")
    ws = make_workspace(tmp, edits={"engine.py": [(TANH_RULE, TANH_BUG)]})
    results = tmp / "results.json"
    args = ["exercise-2", "--submission", str(ws), "--format", "json", "--output", str(results)]
    outcome = CliRunner().invoke(main, [*args, "--pictures", str(tmp / "pictures")])
    assert outcome.exit_code == 1, outcome.output
    return ws, results


def test_results_carry_a_receipt(graded):
    _, results = graded
    receipt = json.loads(results.read_text())["extra_data"]["receipt"]
    assert receipt["exercises"] == [2]
    assert receipt["secret"] == {"fingerprint": course.fingerprint(), "public": course.is_public()}
    assert course.secret() not in json.dumps(receipt)
    assert receipt["tolerances"]["torch_rel"] == checking.TORCH_REL
    assert receipt["torch"].startswith("2.13.0") and receipt["python"].count(".") == 2
    assert len(receipt["submission"]) == len(receipt["grader"]) == 64


def test_verify_says_same_for_the_untouched_submission(graded):
    ws, results = graded
    outcome = verify(results, ws)
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.startswith("same: ")


def test_verify_names_what_changed(graded, tmp_path):
    ws, results = graded
    fixed = tmp_path / "fixed"
    shutil.copytree(ws, fixed)
    engine = fixed / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace(TANH_BUG, TANH_RULE))
    outcome = verify(results, fixed)
    assert outcome.exit_code == 1, outcome.output
    assert "different" in outcome.output
    assert "check 'exercise-2: tanh backward': wrong (0) then, passed (2) now" in outcome.output
    assert "score: " in outcome.output and "the submission's content hash" in outcome.output

    other_secret = verify(results, ws, env={course.ENV_SECRET: "another course's secret"})
    assert other_secret.exit_code == 1, other_secret.output
    assert "the course secret's fingerprint" in other_secret.output
    assert "the submission's content hash" not in other_secret.output


def test_verify_cannot_verify_without_a_receipt(graded, tmp_path):
    ws, results = graded
    data = json.loads(results.read_text())
    del data["extra_data"]["receipt"]
    bare = tmp_path / "old.json"
    bare.write_text(json.dumps(data))
    assert verify(bare, ws).exit_code == 2
    assert verify(results, tmp_path / "nowhere").exit_code == 2
    (tmp_path / "junk.json").write_text("{ not json")
    assert verify(tmp_path / "junk.json", ws).exit_code == 2


def rendered(markdown: str) -> str:
    """The HTML a CommonMark renderer with the usual safe-link rule makes of `markdown`
    (markdown-it's default: data: images of gif, png, jpeg and webp only)."""
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").render(markdown)


def test_gradescope_tests_in_markdown_with_the_failing_graph(graded):
    _, results = graded
    data = json.loads(results.read_text())
    assert data["test_output_format"] == "md"
    assert all(t["output_format"] == "md" for t in data["tests"])
    tanh = by_name(data)["exercise-2: tanh backward"]
    assert tanh["output"].startswith("**wrong**\n\n```text\n")
    assert "*Hint:*" in tanh["output"]
    assert "image/svg+xml" not in tanh["output"]  # no Markdown renderer shows it
    if shutil.which("dot"):  # graphviz draws the picture, as a PNG for Markdown
        html = rendered(tanh["output"])
        assert '<img src="data:image/png;base64,' in html, html[:500]
        png = base64.b64decode(html.split("data:image/png;base64,")[1].split('"')[0])
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


def test_hints_in_markdown_read_as_written():
    """`__call__` and `x**n` in a hint stay themselves, not bold; code spans stay code."""
    from grader.feedback.reports import md_inert

    for hint in [
        "Layer.__call__: out[0] if len(out) == 1 else out",
        "d/dx x**n = n * x**(n-1), and a * b",
        "[a link](http://example.com) <b>bold</b> | - not a list",
    ]:
        html = rendered(md_inert(hint))
        assert "<strong>" not in html and "<em>" not in html and "<a " not in html, html
        assert "<b>" not in html
        text = re.sub(r"<[^>]+>", "", html).strip()
        assert unescape(text) == hint, html
    assert "<code>+=</code>" in rendered(md_inert("add with `+=`, not `=`"))


def test_verify_takes_the_course_secret_file(tmp_path):
    """A grade made with a course's secret verifies "same" given that secret's file; without
    it, verify says the secret differs, not that the grader's code does."""
    secret = tmp_path / "secret.txt"
    secret.write_text("our course's own secret\n")
    ws = make_workspace(tmp_path, edits={"engine.py": [(TANH_RULE, TANH_BUG)]})
    results = tmp_path / "results.json"
    args = ["exercise-2", "--submission", str(ws), "--format", "json", "--output", str(results)]
    unset = {course.ENV_SECRET_FILE: None, course.ENV_SECRET: None}  # restored after each
    made = CliRunner().invoke(main, [*args, "--course-secret-file", str(secret)], env=unset)
    assert made.exit_code == 1, made.output
    assert not json.loads(results.read_text())["extra_data"]["receipt"]["secret"]["public"]
    with_file = verify(results, ws, "--course-secret-file", str(secret), env=unset)
    assert with_file.exit_code == 0, with_file.output
    assert with_file.output.startswith("same: ")
    without = verify(results, ws, env=unset)
    assert without.exit_code == 1, without.output
    assert "the course secret's fingerprint" in without.output
    assert "--course-secret-file" in without.output
    assert "its code" not in without.output.split("the grader's hash")[-1].split("\n")[0]


def test_extra_checks_get_the_chosen_visibility(tmp_path):
    ws = make_workspace(tmp_path)
    args = ["--extra-checks", str(EXTRA), "--extra-checks-visibility", "hidden"]
    code, data = grade_json(ws, "exercise-1", *args)
    assert code == 0
    visibility = {t["name"]: t.get("visibility", "visible") for t in data["tests"]}
    extra = {name for name in visibility if name.startswith("exercise-1: extra:")}
    assert extra and all(visibility[name] == "hidden" for name in extra)
    assert {visibility[n] for n in visibility if n not in extra} == {"visible"}


def test_the_bundle_carries_the_visibility(tmp_path):
    out = tmp_path / "autograder.zip"
    build_gradescope(out, extra_checks=EXTRA, visibility="after_due_date")
    with zipfile.ZipFile(out) as zf:
        script = zf.read("run_autograder").decode()
    assert '--extra-checks-visibility "after_due_date"' in script
    assert "@EXTRA_VISIBILITY@" not in script
