"""`grade batch`: a folder of submissions graded into a gradebook, resumably, safely."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from grader.sandbox import UNPROTECTED, mode
from tests.grader_helpers import REFERENCE, ROOT, exercise_score, grade_json, make_workspace

pytestmark = pytest.mark.grader

ADD_RULE = "self.grad += out.grad\n            other.grad += out.grad"
BROKEN_ADD = "self.grad += out.grad\n            other.grad += 2 * out.grad"


def grade_batch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `grade batch` as the instructor would, in a process of its own."""
    cmd = [sys.executable, "-m", "grader.cli", "batch", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def gradebook(out: Path) -> list[dict[str, str]]:
    text = (out / "gradebook.csv").read_text(encoding="utf-8-sig")  # a byte-order mark first
    return list(csv.DictReader(io.StringIO(text, newline="")))


def workspace(folder: Path, edits=None, files=None) -> Path:
    """A workspace made from the reference, at `folder` (its name is the student id)."""
    ws = make_workspace(folder.parent / f".{folder.name}-tmp", edits, files)
    shutil.move(ws, folder)
    shutil.rmtree(folder.parent / f".{folder.name}-tmp")
    return folder


@pytest.fixture(scope="module")
def small_class(tmp_path_factory) -> Path:
    """Seven entries: right, stubs, a wrong rule, a zip, a broken notebook, a hostile import,
    an id claimed twice, and a stray file."""
    root = tmp_path_factory.mktemp("class") / "submissions"
    root.mkdir()
    workspace(root / "alice")
    shutil.copytree(ROOT / "exercises" / "micrograd", root / "bob" / "micrograd")
    workspace(root / "carol", {"engine.py": [(ADD_RULE, BROKEN_ADD)]})
    with zipfile.ZipFile(root / "dave.zip", "w") as zf:
        for path in sorted(REFERENCE.glob("*.py")):
            zf.write(path, f"work/micrograd/{path.name}")
    (root / "erin.ipynb").write_text("{ this is not json")
    engine = (REFERENCE / "engine.py").read_text()
    workspace(root / "frank", files={"engine.py": "import os\nos._exit(0)\n" + engine})
    workspace(root / "gina")
    (root / "gina.zip").write_bytes(b"PK not really")
    (root / "notes.txt").write_text("grade these please\n")
    (root / ".DS_Store").write_bytes(b"\0")
    return root


@pytest.fixture(scope="module")
def graded(small_class, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("grades") / "grades"
    result = grade_batch(str(small_class), "--out", str(out), "-e", "1", "--jobs", "2")
    return out, result


def test_gradebook_has_a_row_and_a_status_per_student(graded):
    out, result = graded
    assert result.returncode == 1, result.stderr  # some could not be graded
    rows = {r["student"]: r for r in gradebook(out)}
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "notes.txt"]
    status = {s: r["status"] for s, r in rows.items()}
    assert status == {
        "alice": "graded",
        "bob": "graded",
        "carol": "graded",
        "dave": "graded",
        "erin": "unreadable",
        "frank": "sandbox-failed",
        "gina": "ambiguous",
        "notes.txt": "unreadable",
    }
    assert rows["alice"]["exercise-1"] == rows["alice"]["total"] == "10"
    assert rows["dave"]["total"] == "10"
    assert rows["bob"]["total"] == "0"  # stubs: an honest zero...
    for student in ("erin", "gina", "notes.txt"):  # ...and these are not zeros at all
        assert rows[student]["exercise-1"] == rows[student]["total"] == ""
        assert rows[student]["note"]
    assert "not JSON" in rows["erin"]["note"]
    assert "gina.zip" in rows["gina"]["note"] and "gina" in rows["gina"]["note"]
    assert "exited early" in rows["frank"]["note"]
    assert 0 < float(rows["carol"]["total"]) < 10
    assert {r["max_score"] for r in rows.values()} == {"10"}


def test_scores_equal_grading_each_student_alone(graded, small_class):
    out, _ = graded
    rows = {r["student"]: r for r in gradebook(out)}
    for entry in ["alice", "bob", "carol", "dave.zip", "frank"]:
        student = entry.removesuffix(".zip")
        _, alone = grade_json(small_class / entry, "exercise-1")
        assert float(rows[student]["exercise-1"]) == exercise_score(alone, 1)[0], student
        kept = json.loads((out / "students" / student / "results.json").read_text())
        assert [t["score"] for t in kept["tests"]] == [t["score"] for t in alone["tests"]]


def test_each_student_gets_feedback_and_pictures(graded):
    out, _ = graded
    carol = out / "students" / "carol"
    feedback = (carol / "feedback.md").read_text()
    assert "# Feedback for carol" in feedback and "`+` backward" in feedback
    pictures = sorted((carol / "pictures").glob("*"))
    assert pictures, "a failing gradient check draws its graph"
    results = json.loads((carol / "results.json").read_text())
    linked = [t["extra_data"]["details"].get("picture") for t in results["tests"]]
    assert {p for p in linked if p} <= {f"pictures/{p.name}" for p in pictures}
    assert "](pictures/" in feedback  # relative links: the folder can be moved or shared
    erin = (out / "students" / "erin" / "feedback.md").read_text()
    assert "Could not grade" in erin and "not JSON" in erin


def test_summary_says_what_the_class_got_wrong(graded):
    out, result = graded
    summary = (out / "summary.md").read_text()
    assert "8 submissions: 1 ambiguous, 4 graded, 1 sandbox-failed, 2 unreadable." in summary
    assert "| exercise-1 | 10 |" in summary
    assert "exercise-1: + backward" in summary  # carol's and bob's failure, counted
    assert "| + | 1 |" in summary  # the rule found wrong, by one student
    assert "erin: unreadable" in summary
    assert "8 submissions" in result.stderr and "graded" in result.stderr


def test_rerun_grades_only_what_changed(graded, small_class, tmp_path):
    out, _ = graded
    copy = tmp_path / "grades"
    shutil.copytree(out, copy)
    again = grade_batch(str(small_class), "--out", str(copy), "-e", "1")
    assert "7 already graded, 0 to grade" in again.stderr, again.stderr
    assert gradebook(copy) == gradebook(out)
    assert (copy / "summary.md").read_text() == (out / "summary.md").read_text()

    moved = tmp_path / "submissions"
    shutil.copytree(small_class, moved)
    engine = moved / "carol" / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace(BROKEN_ADD, ADD_RULE))
    fixed = grade_batch(str(moved), "--out", str(copy), "-e", "1", "--jobs", "2")
    # one submission, one grading process: a second would only import torch
    assert "6 already graded, 1 to grade with 1 process\n" in fixed.stderr, fixed.stderr
    rows = {r["student"]: r for r in gradebook(copy)}
    assert rows["carol"]["total"] == "10"

    forced = grade_batch(str(moved), "--out", str(copy), "-e", "1", "--force")
    assert "0 already graded, 7 to grade" in forced.stderr, forced.stderr


def test_changing_the_exercises_grades_again(graded, small_class, tmp_path):
    out, _ = graded
    copy = tmp_path / "grades"
    shutil.copytree(out, copy)
    result = grade_batch(str(small_class), "--out", str(copy), "-e", "1", "-e", "2")
    assert "0 already graded, 7 to grade" in result.stderr, result.stderr
    rows = {r["student"]: r for r in gradebook(copy)}
    assert rows["alice"]["total"] == "25" and rows["alice"]["exercise-2"] == "15"


def test_extra_checks_are_graded_like_the_rest(small_class, tmp_path):
    extra = ROOT / "examples" / "extra-checks"
    out = tmp_path / "grades"
    result = grade_batch(
        str(small_class), "--out", str(out), "-e", "1", "--extra-checks", str(extra)
    )
    rows = {r["student"]: r for r in gradebook(out)}
    assert rows["alice"]["total"] == rows["alice"]["max_score"] == "12", result.stderr
    carol = json.loads((out / "students" / "carol" / "results.json").read_text())
    extra_tests = [t for t in carol["tests"] if "extra:" in t["name"]]
    assert len(extra_tests) == 1 and extra_tests[0]["status"] == "failed"
    assert "`+` backward" in extra_tests[0]["output"]
    assert "extra: a sum of three inputs" in (out / "summary.md").read_text()
    _, alone = grade_json(small_class / "carol", "exercise-1", "--extra-checks", str(extra))
    assert float(rows["carol"]["total"]) == alone["score"]


def test_broken_extra_checks_stop_before_grading(small_class, tmp_path):
    extra = tmp_path / "hidden"
    extra.mkdir()
    (extra / "oops.py").write_text("def broken(:\n")
    result = grade_batch(
        str(small_class), "--out", str(tmp_path / "g"), "--extra-checks", str(extra)
    )
    assert result.returncode == 2
    assert "oops.py" in result.stderr and "SyntaxError" in result.stderr
    assert not (tmp_path / "g").exists()


def test_out_inside_submissions_is_refused(small_class):
    result = grade_batch(str(small_class), "--out", str(small_class / "grades"))
    assert result.returncode == 2 and "inside" in result.stderr


def test_a_submission_that_takes_too_long_is_recorded_as_timed_out(tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    engine = (REFERENCE / "engine.py").read_text()
    workspace(submissions / "slow", files={"engine.py": "import time\ntime.sleep(3)\n" + engine})
    out = tmp_path / "grades"
    result = grade_batch(str(submissions), "--out", str(out), "-e", "1", "--timeout", "2")
    rows = gradebook(out)
    assert [(r["student"], r["status"], r["total"]) for r in rows] == [("slow", "timed-out", "")]
    assert "longer than 2 s" in rows[0]["note"], result.stderr
    assert result.returncode == 1
    # a row without scores still has its receipt and look-alike fingerprint
    extra = json.loads((out / "students" / "slow" / "results.json").read_text())["extra_data"]
    assert extra["receipt"]["submission"] and extra["receipt"]["grader"]
    assert extra["lookalike"]["units"] == ["engine.py:<module>"]  # the sleep: its own code


@pytest.mark.skipif(mode() == UNPROTECTED, reason="no sandbox here: bwrap missing, not root")
def test_student_code_cannot_touch_the_gradebook(tmp_path):
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    submissions.mkdir()
    out.mkdir()
    out.chmod(0o755)
    tmp_path.chmod(0o755)
    attack = (
        "try:\n"
        f"    open({str(out / 'gradebook.csv')!r}, 'w').write('mallory,graded,10')\n"
        "except OSError:\n    pass\n"
    )
    engine = (REFERENCE / "engine.py").read_text()
    workspace(submissions / "mallory", files={"engine.py": attack + engine})
    workspace(submissions / "alice")
    grade_batch(str(submissions), "--out", str(out), "-e", "1")
    rows = gradebook(out)
    assert [r["student"] for r in rows] == ["alice", "mallory"]
    assert all(r["total"] == "10" for r in rows)


def _grading_processes(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"grader.classroom.grading_process" in cmdline and marker.encode() in cmdline:
            found.append(int(proc.name))
    return found


@pytest.fixture
def own_tmpdir() -> Path:
    """A TMPDIR for a batch's processes alone (what they leave there is theirs), in /tmp,
    which the workers' own user can cross to the sandbox's copies."""
    folder = Path(tempfile.mkdtemp(prefix="batch-tmpdir-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_killed_batch_resumes_without_losing_or_duplicating_rows(tmp_path, own_tmpdir):
    """kill -9 partway, then run again: a whole gradebook, each student once, none lost, and
    the scratch folders the killed run left in /tmp removed."""
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    submissions.mkdir()
    for i in range(8):
        if i % 3 == 1:
            workspace(submissions / f"s{i}", {"engine.py": [(ADD_RULE, BROKEN_ADD)]})
        else:
            workspace(submissions / f"s{i}")
    extra = tmp_path / f"marker-{os.getpid()}"  # names this test's grading processes
    extra.mkdir()
    (extra / "none.py").write_text(
        "from grader.checks.checking import check\n\n\n"
        '@check(exercise=1, points=0, name="marker")\ndef marker(ctx):\n    pass\n'
    )
    args = [str(submissions), "--out", str(out), "-e", "1", "-e", "2", "--jobs", "1"]
    args += ["--extra-checks", str(extra)]
    cmd = [sys.executable, "-m", "grader.cli", "batch", *args]
    env = {**os.environ, "TMPDIR": str(own_tmpdir)}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    deadline = time.monotonic() + 120
    while len(list((out / "students").glob("*/results.json"))) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, "the batch did not start"
        time.sleep(0.05)
    graders = _grading_processes(extra.name)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1)
    assert _grading_processes(extra.name) == [], "grading processes outlived the batch"
    # their scratch folders (the sandbox's copy, hypothesis's home...) stay, named for them
    left = [p for pid in graders for p in own_tmpdir.glob(f"micrograd-*-{pid}-*")]
    assert left, f"no scratch folder of the killed grading processes: {list(own_tmpdir.iterdir())}"

    rows = gradebook(out)  # whole, at any moment: one row per student, some pending
    assert sorted(r["student"] for r in rows) == [f"s{i}" for i in range(8)]
    done_before = [r["student"] for r in rows if r["status"] == "graded"]
    assert any(r["status"] == "pending" for r in rows)

    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    reused = len(list((out / "students").glob("*/results.json")))
    assert reused >= 2
    rows = gradebook(out)
    assert [r["student"] for r in rows] == [f"s{i}" for i in range(8)]  # none twice, none lost
    assert all(r["status"] == "graded" for r in rows)
    for r in rows:
        broken = int(r["student"][1:]) % 3 == 1
        assert (float(r["total"]) < 25) == broken, r
    assert set(done_before) <= {r["student"] for r in rows}
    assert not (out / ".work").exists()
    assert [p for p in left if p.exists()] == [], "the rerun left the crashed run's folders"


def test_the_pages_are_readable_by_the_group(graded):
    """The gradebook, the report and every student's pages: as any file the instructor writes
    (0644 under the usual umask), so that the group (teaching assistants) can read them."""
    out, _ = graded
    mask = os.umask(0o022)
    os.umask(mask)
    pages = [out / n for n in ("gradebook.csv", "summary.md", "report.html")]
    pages += [p for d in (out / "students").iterdir() for p in d.glob("*.*") if p.is_file()]
    modes = {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in pages}
    assert {p: m for p, m in modes.items() if m != 0o666 & ~mask} == {}
    if not mask & 0o040:
        assert all(m & 0o040 for m in modes.values())


def test_a_grading_process_that_dies_costs_one_row_only(tmp_path):
    """A grader crash (simulated by an extra check that kills its own process on one student's
    submission) is recorded as `crashed` with no scores; the others are graded, and a rerun
    tries the crashed one again."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "crash.py").write_text(
        "import os, signal\n"
        "from grader.checks.checking import check\n\n\n"
        '@check(exercise=1, points=1, name="extra: crash on CRASH")\n'
        "def crash(ctx):\n"
        '    if (ctx.sandbox.package / "micrograd" / "CRASH").exists():\n'
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    submissions.mkdir()
    for name in ("amy", "ben", "cat"):
        workspace(submissions / name)
    (submissions / "ben" / "micrograd" / "CRASH").write_text("")
    args = [str(submissions), "--out", str(out), "-e", "1", "--extra-checks", str(extra)]
    result = grade_batch(*args, "--jobs", "1")
    rows = {r["student"]: r for r in gradebook(out)}
    assert rows["ben"]["status"] == "crashed" and rows["ben"]["total"] == "", result.stderr
    assert "grading process died" in rows["ben"]["note"]
    assert rows["amy"]["total"] == rows["cat"]["total"] == "11"
    again = grade_batch(*args)
    assert "2 already graded, 1 to grade" in again.stderr, again.stderr


def test_two_batches_cannot_write_one_gradebook(small_class, tmp_path):
    import fcntl

    out = tmp_path / "grades"
    out.mkdir()
    with open(out / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = grade_batch(str(small_class), "--out", str(out), "-e", "1")
    assert result.returncode == 2 and "another batch is writing" in result.stderr
    assert not (out / "gradebook.csv").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_interrupted_batch_saves_and_says_how_to_go_on(tmp_path, signum):
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    submissions.mkdir()
    for i in range(6):
        workspace(submissions / f"s{i}")
    args = [str(submissions), "--out", str(out), "-e", "1", "-e", "2", "-e", "3", "--jobs", "1"]
    cmd = [sys.executable, "-m", "grader.cli", "batch", *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / "students").glob("*/results.json")):
        assert time.monotonic() < deadline and proc.poll() is None, "the batch did not start"
        time.sleep(0.05)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again" in err
    statuses = [r["status"] for r in gradebook(out)]
    assert len(statuses) == 6 and "graded" in statuses and "pending" in statuses
    result = grade_batch(*args)
    assert result.returncode == 0 and "0 to grade" not in result.stderr
    assert [r["status"] for r in gradebook(out)] == ["graded"] * 6
