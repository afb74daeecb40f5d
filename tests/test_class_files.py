"""The instructor's class files, on a synthetic class graded with `grade batch`: a roster
(missing students as blanks), adjustments (applied after grading, shown, kept across
regrades), the exports an LMS imports, notebook-only submissions, and CSVs an office suite
opens safely (formulas neutralised, a byte-order mark, ids that cannot start a formula).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.classroom import sheets
from tests.grader_helpers import ROOT
from tools.synthetic_class import WRITERS, package, write_class

pytestmark = pytest.mark.grader

EXERCISES = ["-e", "1", "-e", "2", "-e", "3"]
FORMULA = "=SUM(1,2)"


def grade(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "grader.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def read(path: Path) -> list[dict[str, str]]:
    """A CSV as Python's csv module reads it (the byte-order mark taken off, nothing else)."""
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, Path]:
    """Five synthetic students (full, partial 1-2, a bug in exercise 0, a syntax error, a fake
    report over the stubs), one who submits the kit's notebooks only, entries named like
    formulas, a roster with a student who submitted nothing, and adjustments."""
    root = tmp_path_factory.mktemp("class-files")
    subs = root / "class"
    write_class(subs, size=5)
    WRITERS["notebooks"](package(range(1, 4)))(subs / "s06-notebooks")
    WRITERS["folder"](package())(subs / FORMULA)
    WRITERS["zip"](package(range(1, 2)))(subs / "@cmd.zip")
    roster = write(
        root / "roster.csv",
        [
            ["id", "name", "email"],
            ["s01-full", FORMULA, "a@example.com"],
            ["s02-partial-1-2", "José Núñez", ""],
            ["s03-bug-central-difference-is-a-forward-difference", "-Chris", ""],
            ["s04-broken-syntax-error", "Dana", ""],
            ["s05-hostile-fake-report", "Eve", ""],
            ["s06-notebooks", "Fay", ""],
            ["s07-absent", "Gil Ó", ""],
        ],
    )
    adjustments = write(
        root / "adjustments.csv",
        [
            ["id", "exercise", "points", "reason"],
            ["s02-partial-1-2", "exercise-3", "2", "regrade: the __call__ order was accepted"],
            ["s02-partial-1-2", "", "-1.5", "late by a day"],
            ["s07-absent", "", "5", '=HYPERLINK("http://x")'],
        ],
    )
    out = root / "grades"
    args = ["batch", str(subs), "--out", str(out), *EXERCISES, "--jobs", "2"]
    done = grade(*args, "--roster", str(roster), "--adjustments", str(adjustments))
    return {"root": root, "subs": subs, "out": out, "done": done, "args": args}


def rows_by_id(out: Path) -> dict[str, dict[str, str]]:
    return {r["student"]: r for r in read(out / "gradebook.csv")}


def test_the_roster_adds_a_blank_row_for_a_student_without_a_submission(graded):
    done, out = graded["done"], graded["out"]
    assert done.returncode == 0, done.stderr  # a missing student is no failure to grade
    rows = rows_by_id(out)
    absent = rows["s07-absent"]
    assert absent["status"] == "missing" and absent["name"] == "Gil Ó"
    assert absent["exercise-1"] == absent["total"] == absent["adjustment"] == ""  # not a zero
    assert "no submission" in absent["note"] and "wait for a score" in absent["note"]
    assert rows["s02-partial-1-2"]["name"] == "José Núñez"
    assert rows["cmd"]["name"] == "" and "not on the roster" in rows["cmd"]["note"]
    summary = (out / "summary.md").read_text()
    assert "1 missing" in summary


def test_a_class_of_notebooks_only_is_graded(graded):
    """A student who worked in the kit's notebooks and submitted them, no micrograd/."""
    row = rows_by_id(graded["out"])["s06-notebooks"]
    assert row["status"] == "graded", row
    assert row["exercise-1"] == "10" and row["exercise-2"] == "15" and row["exercise-3"] == "10"


def test_notebooks_only_read_safely(tmp_path):
    """Their cells over the stubs, earlier exercises first; a broken one names itself; a
    notebook that is a link is not the student's, and is not read."""
    from grader.submissions.submission import SubmissionError, open_submission

    WRITERS["notebooks"](package(range(1, 3)))(tmp_path / "nb")
    with open_submission(tmp_path / "nb") as ws:
        engine = (ws / "micrograd" / "engine.py").read_text()
        nn = (ws / "micrograd" / "nn.py").read_text()
    assert "self.grad += out.grad" in engine and "TODO exercise-1" not in engine
    assert "TODO exercise-4" in nn  # not done: the stub
    (tmp_path / "nb" / "exercise-2.ipynb").write_text("{ not json")
    with pytest.raises(SubmissionError, match="exercise-2.ipynb is not a valid notebook"):
        with open_submission(tmp_path / "nb"):
            pass
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "exercise-1.ipynb").symlink_to(tmp_path / "nb" / "exercise-1.ipynb")
    with pytest.raises(SubmissionError, match="no micrograd/engine.py"):
        with open_submission(linked):
            pass


def test_adjustments_are_applied_after_grading_and_shown(graded):
    out = graded["out"]
    row = rows_by_id(out)["s02-partial-1-2"]
    results = json.loads((out / "students" / "s02-partial-1-2" / "results.json").read_text())
    graded_3 = results["extra_data"]["exercises"]["exercise-3"]["score"]
    assert float(row["exercise-3"]) == graded_3 + 2
    assert float(row["total"]) == results["score"] + 2 - 1.5
    assert row["adjustment"] == "0.5"
    assert "exercise-3 +2: regrade: the __call__ order was accepted" in row["adjustments"]
    page = (out / "students" / "s02-partial-1-2" / "feedback.html").read_text()
    assert "Adjustments by your instructor" in page and "late by a day" in page
    assert f"Total after adjustments: {results['score'] + 0.5:g}" in page
    md = (out / "students" / "s02-partial-1-2" / "feedback.md").read_text()
    assert "## Adjustments by your instructor" in md and "\\_\\_call\\_\\_" in md
    report = (out / "report.html").read_text()
    assert 'id="adjustments-table"' in report and "late by a day" in report
    assert (
        "Adjustments by your instructor"
        not in (out / "students" / "s01-full" / "feedback.html").read_text()
    )


def test_adjustments_survive_a_regrade(graded, tmp_path):
    """The student resubmits; the batch runs again without naming the files: the kept copies
    apply, to the new grade."""
    subs, out = tmp_path / "class", tmp_path / "grades"
    shutil.copytree(graded["subs"], subs)
    shutil.copytree(graded["out"], out)
    shutil.rmtree(subs / "s02-partial-1-2")
    WRITERS["folder"](package(range(1, 4)))(subs / "s02-partial-1-2")  # now exercise 3 too
    again = grade("batch", str(subs), "--out", str(out), *EXERCISES)
    assert again.returncode == 0, again.stderr
    assert ", 1 to grade" in again.stderr and "adjustments: " in again.stderr
    row = rows_by_id(out)["s02-partial-1-2"]
    assert row["exercise-3"] == "12" and row["total"] == "35.5"  # 10 + 2, 35 + 2 - 1.5
    assert rows_by_id(out)["s07-absent"]["status"] == "missing"  # the roster was kept too
    page = (out / "students" / "s02-partial-1-2" / "feedback.html").read_text()
    assert "Total after adjustments: 35.5" in page


def test_class_files_with_mistakes_stop_the_batch_before_grading(graded, tmp_path):
    twice = write(tmp_path / "roster.csv", [["id", "name"], ["a", "A"], ["a", "B"]])
    out = tmp_path / "grades"
    done = grade("batch", str(graded["subs"]), "--out", str(out), "--roster", str(twice))
    assert done.returncode == 2 and "line 3: a is on the roster twice" in done.stderr
    header = ["id", "exercise", "points", "reason"]
    no_reason = write(tmp_path / "adj.csv", [header, ["a", "", "1", ""]])
    done = grade("batch", str(graded["subs"]), "--out", str(out), "--adjustments", str(no_reason))
    assert done.returncode == 2 and "line 2: a reason is required" in done.stderr
    assert not (out / "students").exists()


def test_class_files_as_spreadsheets_save_them(tmp_path):
    """A byte-order mark, semicolons (a European locale), an id that would start a formula."""
    from grader.classroom import roster

    path = tmp_path / "roster.csv"
    path.write_bytes("\ufeffID;Name;Section\r\nalice;José;A\r\n@bob;Bo;B\r\n".encode())
    people, warnings = roster.read_roster(path)
    assert people == {"alice": roster.Person("alice", "José"), "bob": roster.Person("bob", "Bo")}
    assert warnings and "'@bob' is read as 'bob'" in warnings[0]
    path.write_text("id,exercise,points,reason\nalice,exercise-2,-1.5,late\nalice,,2,bonus\n")
    assert roster.read_adjustments(path) == {
        "alice": [roster.G.Adjustment(2, -1.5, "late"), roster.G.Adjustment(None, 2.0, "bonus")]
    }
    path.write_text("id,exercise,points,reason\nalice,99,1,what\n")  # no exercise 99
    with pytest.raises(roster.ClassFileError, match="line 2: exercise '99' is not one of"):
        roster.read_adjustments(path)


def test_entries_named_like_formulas_get_safe_ids(graded):
    rows = rows_by_id(graded["out"])
    assert {"SUM_1_2", "cmd"} <= set(rows)
    assert not [s for s in rows if s[:1] in sheets.FORMULA_START]
    assert rows["SUM_1_2"]["entry"] == "'" + FORMULA  # the entry's name, neutralised
    assert rows["SUM_1_2"]["total"] == "35"
    assert "starts with '='" in rows["SUM_1_2"]["note"]


def test_exports_for_canvas_and_any_lms(graded, tmp_path):
    out = graded["out"]
    canvas, plain = tmp_path / "canvas.csv", tmp_path / "grades.csv"
    assert grade("export", "canvas", str(out), "-o", str(canvas)).returncode == 0
    assert grade("export", "csv", str(out / "gradebook.csv"), "-o", str(plain)).returncode == 0
    rows = read(canvas)
    header = list(rows[0])
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "micrograd"]
    assert rows[0]["Student"].strip() == "Points Possible" and rows[0]["micrograd"] == "35"
    by_id = {r["SIS Login ID"]: r for r in rows[1:]}
    assert by_id["s02-partial-1-2"]["micrograd"] == rows_by_id(out)["s02-partial-1-2"]["total"]
    assert by_id["s07-absent"]["micrograd"] == ""  # a blank, never a zero
    assert by_id["s02-partial-1-2"]["Student"] == "José Núñez"
    lms = {r["id"]: r for r in read(plain)}
    assert list(read(plain)[0]) == ["id", "name", "points", "max_points", "status"]
    assert lms["s07-absent"]["points"] == "" and lms["s07-absent"]["status"] == "missing"
    assert lms["s01-full"]["points"] == lms["s01-full"]["max_points"] == "35"


def kit_csvs(graded, tmp_path) -> list[Path]:
    out = graded["out"]
    grade("export", "canvas", str(out), "-o", str(tmp_path / "canvas.csv"))
    grade("export", "csv", str(out), "-o", str(tmp_path / "grades.csv"))
    return [out / "gradebook.csv", tmp_path / "canvas.csv", tmp_path / "grades.csv"]


def test_every_csv_the_kit_writes_is_safe_and_reads_back(graded, tmp_path):
    for path in kit_csvs(graded, tmp_path):
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), path  # UTF-8, said so
        cells = [c for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) for c in row]
        for c in cells:  # no cell a spreadsheet would evaluate; numbers are numbers
            assert not c or c[0] not in sheets.FORMULA_START or _number(c), (path.name, c)
        assert FORMULA in {sheets.restore(c) for c in cells}, path.name  # a name, as it was
    gradebook = read(graded["out"] / "gradebook.csv")
    assert {r["name"] for r in gradebook} >= {"'" + FORMULA, "'-Chris", "José Núñez"}
    assert {sheets.restore(r["name"]) for r in gradebook} >= {FORMULA, "-Chris"}


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@given(st.text())
def test_neutralising_is_undone_exactly(text):
    cell = sheets.neutralise(text)
    assert not cell or cell[0] not in sheets.FORMULA_START
    assert sheets.restore(cell) == text


def libreoffice_cells(csv_path: Path, tmp_path: Path) -> list[list[tuple[str, bool]]]:
    """The cells LibreOffice makes of a CSV (headless, converted to flat ODS): (text, is a
    formula). The import's character set is left to be detected, as its dialog does from a
    byte-order mark."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    outdir = tmp_path / csv_path.stem
    profile = f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}"  # not the user's own
    subprocess.run(
        [soffice, "--headless", "--norestore", profile, "--infilter=CSV:44,34,0"]
        + ["--convert-to", "fods", "--outdir", str(outdir), str(csv_path)],
        capture_output=True,
        timeout=180,
        check=True,
    )
    ns = {
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    }
    tree = ET.parse(outdir / f"{csv_path.stem}.fods")
    formula = f"{{{ns['table']}}}formula"
    return [
        [
            ("".join("".join(p.itertext()) for p in c.findall("text:p", ns)), formula in c.attrib)
            for c in row.findall("table:table-cell", ns)
        ]
        for row in tree.iter(f"{{{ns['table']}}}table-row")
    ]


def test_libreoffice_shows_formulas_as_text_and_names_as_written(graded, tmp_path):
    for path in kit_csvs(graded, tmp_path):
        cells = [c for row in libreoffice_cells(path, tmp_path) for c in row]
        assert not [text for text, is_formula in cells if is_formula], path.name
        texts = {text for text, _ in cells}
        assert "José Núñez" in texts, path.name
        assert any(FORMULA in t for t in texts), path.name
    # the same import makes a live formula of a cell left as it was: the test can fail
    raw = write(tmp_path / "raw.csv", [["student", "name"], ["a", FORMULA]])
    assert any(f for row in libreoffice_cells(raw, tmp_path) for _, f in row)
