"""The synthetic class (tools/synthetic_class.py): one entry per manifest record, reproducible,
each readable exactly when the manifest says so. Grading the whole class is the batch tests' job.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.runner import grade
from grader.submissions.submission import SubmissionError, open_submission
from tests.grader_helpers import tree_hash
from tools import synthetic_class as sc
from tools.planted_bugs import BUGS

pytestmark = pytest.mark.kit

KEYS = ["id", "entry", "form", "kind", "description", "expect"]


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("class") / "class"
    return out, sc.write_class(out)


def check_entries(out: Path, records: list[dict], size: int) -> None:
    ids = [r["id"] for r in records]
    assert len(records) == size
    assert len(set(ids)) == size
    assert ids == sorted(ids)  # sortable: zero-padded numbers
    assert sorted(p.name for p in out.iterdir()) == sorted(r["entry"] for r in records)
    for r in records:
        assert list(r) == KEYS
        assert r["entry"] == r["id"] + sc.SUFFIX[r["form"]]
        assert (out / r["entry"]).is_dir() == (r["form"] == "folder")
        assert r["kind"] in sc.KINDS
        assert set(r["expect"]) == {"gradable", "full_marks", "loses_points"}
        assert not set(r["expect"]["full_marks"]) & set(r["expect"]["loses_points"])
    assert json.loads(sc.default_manifest(out).read_text()) == records


def test_the_class_of_40(klass):
    out, records = klass
    check_entries(out, records, 40)
    kinds = {k: [r for r in records if r["kind"] == k] for k in sc.KINDS}
    assert {r["form"] for r in kinds["full"]} == set(sc.FORMS)
    assert len(kinds["partial"]) >= 2
    # 40 seats hold a bug of every exercise (the catalogue interleaves them); a bigger class
    # holds every bug (test_other_sizes)
    named = [r["id"].split("-bug-", 1)[1] for r in kinds["bug"]]
    assert len(set(named)) == len(named) and set(named) <= {n for n, _ in BUGS}
    assert {dict(BUGS)[n].exercise for n in named} == {b.exercise for _, b in BUGS}
    assert len(kinds["broken"]) == 8
    assert len(kinds["hostile"]) == 5


@pytest.mark.parametrize("size", [1, 5, 13, 100])
def test_other_sizes(tmp_path, size):
    out = tmp_path / "class"
    records = sc.write_class(out, size)
    check_entries(out, records, size)
    if size == 100:
        bugs = {r["id"].split("-bug-", 1)[1] for r in records if r["kind"] == "bug"}
        assert bugs == {n for n, _ in BUGS}
    if size >= 5:  # a prefix of the catalogue keeps every kind
        assert {r["kind"] for r in records} == set(sc.KINDS)
    if size == 100:
        assert records[-1]["id"].startswith("s100-")


def test_deterministic(tmp_path):
    """Same arguments, byte-identical entries and manifest; the seed only picks the extras."""
    runs = {}
    for name, seed in [("a", 0), ("b", 0), ("c", 1)]:
        out = tmp_path / name / "class"
        sc.write_class(out, 60, seed)
        runs[name] = tree_hash(out), sc.default_manifest(out).read_bytes()
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]


def test_refusals(tmp_path):
    out = tmp_path / "class"
    with pytest.raises(ValueError, match="size"):
        sc.write_class(out, 0)
    with pytest.raises(ValueError, match="inside"):
        sc.write_class(out, 5, manifest=out / "manifest.json")
    assert not out.exists()
    sc.write_class(out, 5)
    with pytest.raises(FileExistsError):  # stale students would be graded, unlisted
        sc.write_class(out, 5)


def test_command_line(tmp_path, capsys):
    out, manifest = tmp_path / "class", tmp_path / "elsewhere" / "m.json"
    assert sc.main([str(out), "--size", "7", "--seed", "3", "--manifest", str(manifest)]) == 0
    assert len(json.loads(manifest.read_text())) == 7
    assert "7 students" in capsys.readouterr().out


def test_each_entry_is_readable_as_the_manifest_says(klass):
    out, records = klass
    for r in records:
        if r["expect"]["gradable"]:
            with open_submission(out / r["entry"]) as ws:
                assert (ws / "micrograd" / "engine.py").is_file(), r["id"]
        else:
            with pytest.raises(SubmissionError), open_submission(out / r["entry"]):
                pass


def test_every_form_holds_the_same_code(klass):
    out, records = klass
    engines = set()
    for r in records:
        if r["kind"] == "full":
            with open_submission(out / r["entry"]) as ws:
                engines.add((ws / "micrograd" / "engine.py").read_text())
    assert len(engines) == 1


def exercise_1(path: Path) -> tuple[float, float]:
    with open_submission(path) as ws:
        return grade(ws, [1]).by_exercise()[1]


def test_a_full_student_and_a_buggy_one_on_exercise_1(klass):
    out, records = klass
    full = next(r for r in records if r["kind"] == "full" and r["form"] == "ipynb")
    buggy = next(
        r
        for r in records
        if r["kind"] == "bug" and r["form"] == "zip" and r["expect"]["loses_points"] == [1]
    )
    score, top = exercise_1(out / full["entry"])
    assert score == top > 0
    score, top = exercise_1(out / buggy["entry"])
    assert score < top
