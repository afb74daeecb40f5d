"""The course's secret decides every input a check sends: two secrets, different inputs; one
secret, the same report every time; and answers recorded under one secret score nothing under
another (a submission that answers the worker's requests itself, from a recording)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.checks import course
from grader.sandbox import Sandbox
from tests.grader_helpers import (
    EXERCISES,
    ROOT,
    by_name,
    grade_json,
    grade_part_one,
    make_workspace,
)

pytestmark = pytest.mark.grader

TANH_BUG = {"engine.py": [("(1 - out.data**2)", "(1 - self.data**2)")]}

# Student code that replaces the worker's request handlers with a recording: a request seen
# while recording gets its recorded reply; any other, the next reply recorded for its kind.
FORGER = """
import json as _json, os as _os, sys as _sys

_rec = _json.load(open(_os.path.join(_os.path.dirname(__file__), "recorded.json")))

def _replay(kind):
    def handler(req):
        key = _json.dumps({k: v for k, v in req.items() if k != "id"}, sort_keys=True)
        if key in _rec["exact"]:
            return _rec["exact"][key]
        queue = _rec["by_kind"].get(kind) or [{}]
        return queue.pop(0) if len(queue) > 1 else queue[0]
    return handler

# the worker's modules are in no sys.modules: its table is found through the frames that are
# importing this code
_frame = _sys._getframe()
while _frame is not None:
    _table = _frame.f_globals.get("HANDLERS")
    if isinstance(_table, dict):
        for _kind in list(_table):
            _table[_kind] = _replay(_kind)
        break
    _frame = _frame.f_back
"""


@pytest.fixture
def secret_file(tmp_path, monkeypatch):
    """A function that writes a secret to a file; the environment is restored afterwards."""
    # set, then removed: so that monkeypatch restores their absence after the CLI sets them
    for name in (course.ENV_SECRET, course.ENV_SECRET_FILE):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)

    def write(text: str) -> Path:
        path = tmp_path / f"secret-{abs(hash(text))}"
        path.write_text(text + "\n")
        return path

    return write


def _messages(result: dict) -> dict[str, str]:
    return {name: t["output"] for name, t in by_name(result).items() if t["status"] != "passed"}


def test_two_secrets_draw_different_inputs_and_one_secret_the_same_report(tmp_path, secret_file):
    ws = make_workspace(tmp_path, TANH_BUG)
    a, b = secret_file("course A"), secret_file("course B")
    pictures = ["--pictures", str(tmp_path / "pictures")]  # their paths are in the report
    first = grade_json(ws, "exercise-2", "--course-secret-file", str(a), *pictures)
    again = grade_json(ws, "exercise-2", "--course-secret-file", str(a), *pictures)
    other = grade_json(ws, "exercise-2", "--course-secret-file", str(b), *pictures)
    name = "exercise-2: tanh backward"
    assert first[0] == again[0] == other[0] == 1
    assert _messages(first[1])[name] == _messages(again[1])[name]
    assert _messages(first[1])[name] != _messages(other[1])[name]  # other inputs, other numbers
    strip = lambda r: {k: v for k, v in r.items() if k != "execution_time"}  # noqa: E731
    assert strip(first[1]) == strip(again[1])


def test_rng_for_depends_on_secret_and_purpose(monkeypatch, secret_file):
    monkeypatch.setenv(course.ENV_SECRET, "one")
    one = course.rng_for("exercise-1/+ backward").random()
    assert one == course.rng_for("exercise-1/+ backward").random()
    assert one != course.rng_for("exercise-1/* backward").random()
    monkeypatch.setenv(course.ENV_SECRET, "two")
    assert one != course.rng_for("exercise-1/+ backward").random()


def _record(monkeypatch) -> dict:
    """Every request and the reference's reply, grading all under the public secret."""
    exact: dict[str, dict] = {}
    by_kind: dict[str, list[dict]] = {}
    real = Sandbox.request

    def request(self, kind, timeout=None, **payload):
        reply = real(self, kind, timeout=timeout, **payload)
        answer = {k: v for k, v in reply.items() if k not in ("ok", "id")}
        key = {"kind": kind, **payload}
        exact[json.dumps(json.loads(json.dumps(key)), sort_keys=True)] = answer
        by_kind.setdefault(kind, []).append(answer)
        return reply

    monkeypatch.setattr(Sandbox, "request", request)
    code, _ = grade_part_one(ROOT / "reference")  # the forger rides on part one's modules
    monkeypatch.setattr(Sandbox, "request", real)
    assert code == 0
    return {"exact": exact, "by_kind": by_kind}


CHOSEN_NOT_COMPUTED = "exercise-0: a step h that balances truncation and rounding"


def test_replayed_replies_earn_nothing_computed_under_another_secret(
    tmp_path, monkeypatch, secret_file
):
    recorded = _record(monkeypatch)
    # exercise 0 imports gradcheck.py alone, the others engine.py: the forger rides on both
    files = {m: (EXERCISES / m).read_text() + FORGER for m in ("gradcheck.py", "engine.py")}
    ws = make_workspace(tmp_path, files=files, base=EXERCISES)
    (ws / "micrograd" / "recorded.json").write_text(json.dumps(recorded))

    # The recording is a faithful one: under the secret it was made with, it passes every check
    # but the first of each new worker, whose first request came before the recording was in
    # place (it is installed when the worker imports gradcheck.py, while serving that request).
    # A new worker starts for exercise 0, for each exercise graded with the reference standing
    # in for earlier ones (2 to 6), and for the end-to-end check on the student's whole code.
    from grader.runner import checks_for

    checks = checks_for(list(range(7)))
    firsts = {f"exercise-{c.exercise}: {c.name}" for c in checks if c.end_to_end}
    for n in (0, 2, 3, 4, 5, 6):
        c = next(c for c in checks if c.exercise == n)
        firsts.add(f"exercise-{n}: {c.name}")
    code, public = grade_part_one(ws)
    assert "exercise-0: forward difference" in _messages(public)
    assert set(_messages(public)) <= firsts, _messages(public)

    monkeypatch.setenv(course.ENV_SECRET, "a course")  # as --course-secret-file sets it
    code, result = grade_part_one(ws)
    assert code == 1
    passed = {name: t["output"] for name, t in by_name(result).items() if t["score"] > 0}
    # good_step() is asked for a choice (a step h in the right range), not a computation on
    # the check's inputs: an answer replayed from any course is the right answer itself.
    assert set(passed) <= {CHOSEN_NOT_COMPUTED}, passed
    assert result["score"] == by_name(result)[CHOSEN_NOT_COMPUTED]["score"] == 1, passed


def test_the_bundle_carries_the_secret_and_grades_with_it(tmp_path, secret_file):
    import zipfile

    from tests.grader_helpers import invoke

    secret = secret_file("a course of our own")
    out = tmp_path / "bundle.zip"
    result = invoke(["bundle", "gradescope", str(out), "--course-secret-file", str(secret)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo("kit/course-secret")
        assert zf.read(info) == secret.read_bytes()
        assert (info.external_attr >> 16) & 0o777 == 0o600
        script = zf.read("run_autograder").decode()
    assert 'export MICROGRAD_COURSE_SECRET_FILE="$KIT/course-secret"' in script


def test_an_empty_secret_file_is_refused(tmp_path, secret_file):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    from tests.grader_helpers import invoke

    result = invoke(["exercise-1", "--course-secret-file", str(empty)])
    assert result.exit_code == 2
    assert "empty" in result.output


def test_batch_grades_with_the_secret(tmp_path, secret_file):
    """`grade batch --course-secret-file`: the grading processes draw from that secret."""
    import subprocess
    import sys

    submissions = tmp_path / "class"
    ws = make_workspace(tmp_path / "s", TANH_BUG)
    submissions.mkdir()
    ws.rename(submissions / "student1")
    feedback = []
    for name in ("course A", "course B", "course A"):
        out = tmp_path / f"grades-{len(feedback)}"
        cmd = [sys.executable, "-m", "grader.cli", "batch", str(submissions), "--out", str(out)]
        cmd += ["-e", "2", "--jobs", "1", "--course-secret-file", str(secret_file(name))]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        feedback.append((out / "students" / "student1" / "feedback.md").read_text())
    tanh = [next(line for line in f.splitlines() if "tanh(x0)" in line) for f in feedback]
    assert tanh[0] == tanh[2] != tanh[1]
