"""Hostile and malformed submissions: the grader always finishes with a report, gives no points
for what it could not check, says why, and leaves the submission (and the kit) as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from grader.exercises import EXERCISES as EXERCISE_TITLES
from grader.runner import checks_for
from grader.sandbox import BWRAP, PERMISSIONS, UNPROTECTED, mode
from grader.sandbox.permissions import isolation
from tests.grader_helpers import (
    EXERCISES,
    REFERENCE,
    ROOT,
    by_name,
    checks_of,
    exercise_score,
    grade_result,
    invoke,
    make_workspace,
    tree_hash,
)

pytestmark = pytest.mark.grader

ENGINE = REFERENCE.joinpath("engine.py").read_text()
STUB_ENGINE = EXERCISES.joinpath("engine.py").read_text()
ADD_RULE = "self.grad += out.grad\n            other.grad += out.grad"
KIT_TESTS = ROOT / "tests"


def kit_tests_hash() -> dict[str, str]:
    """tree_hash of the kit's tests/, but what the suite itself writes there while it runs in
    parallel (other workers' screenshots in artifacts/, bytecode in __pycache__)."""
    return {
        rel: digest
        for rel, digest in tree_hash(KIT_TESTS).items()
        if not rel.startswith("artifacts") and "__pycache__" not in rel
    }


def max_points(exercise: str) -> float:
    ns = list(EXERCISE_TITLES) if exercise == "all" else [int(exercise.removeprefix("exercise-"))]
    return sum(c.points for c in checks_for(list(ns)))


def grade_hostile(submission: Path, exercise: str = "exercise-1", codes=(1, 2)) -> dict:
    """Grade a hostile submission; check that the grader finished and touched nothing."""
    submission = Path(submission)
    watched = submission if submission.is_dir() else submission.parent
    before, kit_before = tree_hash(watched), kit_tests_hash()
    result, report = grade_result(submission, exercise)  # no exception; stdout is only JSON
    assert result.exit_code in codes, (result.exit_code, report["extra_data"])
    assert report["max_score"] == max_points(exercise)
    assert 0 <= report["score"] <= report["max_score"]
    assert all(0 <= t["score"] <= t["max_score"] for t in report["tests"])
    assert tree_hash(watched) == before, "the submission folder changed"
    assert kit_tests_hash() == kit_before, "the kit's tests/ changed"
    return report


def outputs(report: dict) -> list[str]:
    return [t["output"] for t in report["tests"]]


def assert_all_fail(report: dict, phrase: str, exercise: int = 1) -> None:
    tests = checks_of(report, exercise)
    assert tests
    assert exercise_score(report, exercise)[0] == 0
    for t in tests:
        assert t["status"] == "failed"
        assert phrase in t["output"], (t["name"], t["output"])
        assert "Traceback" not in t["output"]


# -- broken or impostor code ---------------------------------------------------------------


def test_syntax_error(tmp_path):
    ws = make_workspace(
        tmp_path, {"engine.py": [("def __add__(self, other):", "def __add__(self, other)")]}
    )
    report = grade_hostile(ws)
    assert_all_fail(report, "SyntaxError")
    assert "engine.py" in outputs(report)[0]


@pytest.mark.parametrize("layout", ["no-micrograd-folder", "micrograd-without-engine"])
def test_missing_engine(tmp_path, layout):
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "README.md").write_text("my work\n")
    if layout == "micrograd-without-engine":
        shutil.copytree(REFERENCE, sub / "micrograd", ignore=shutil.ignore_patterns("__pycache__"))
        (sub / "micrograd" / "engine.py").unlink()
    report = grade_hostile(sub, "all", codes=(2,))
    assert report["score"] == 0
    assert "no micrograd/engine.py" in report["extra_data"]["error"]
    assert "no micrograd/engine.py" in report["output"]


def test_class_renamed(tmp_path):
    ws = make_workspace(tmp_path, {"engine.py": [("class Value:", "class Scalar:")]})
    report = grade_hostile(ws)
    assert_all_fail(report, "Value")


def test_engine_is_a_link_outside(tmp_path):
    """A link leading outside the submission is refused: /etc/passwd does not become the
    student's engine.py."""
    ws = make_workspace(tmp_path)
    (ws / "micrograd" / "engine.py").unlink()
    (ws / "micrograd" / "engine.py").symlink_to("/etc/passwd")
    report = grade_hostile(ws, codes=(2,))
    assert report["score"] == 0
    assert "outside the submission" in report["extra_data"]["error"]
    assert "root:" not in json.dumps(report)


def _leftover_copies(marker: str) -> list[Path]:
    pattern = f"micrograd-grade-*/workspace/micrograd/{marker}"
    return [p.parents[2] for p in Path(tempfile.gettempdir()).glob(pattern)]


@pytest.fixture
def too_large(tmp_path):
    """(workspace, marker): a package over the 20 MB limit, with a marker file that sorts first
    (so it is copied before the size check trips); leftover copies are removed afterwards."""
    marker = f"aaa_marker_{uuid.uuid4().hex}.py"
    ws = make_workspace(tmp_path, files={marker: "", "weights.txt": "0" * (21 * 1024**2)})
    yield ws, marker
    for folder in _leftover_copies(marker):
        shutil.rmtree(folder, ignore_errors=True)


def test_package_too_large(too_large):
    report = grade_hostile(too_large[0], codes=(2,))
    assert report["score"] == 0
    error = report["extra_data"]["error"]
    assert "too large" in error
    # the submission is at fault, not the grader: it must not be reported as a grader bug
    assert "internal grader error" not in error, error


def test_package_too_large_leaves_no_temporary_copy(too_large):
    """The grader's partial copy of a too-large package is removed like any other."""
    ws, marker = too_large
    grade_hostile(ws, codes=(2,))
    assert _leftover_copies(marker) == []


# -- gradients that are not numbers, or numbers that lie --------------------------------------


@pytest.mark.parametrize(
    ("rule", "phrase"),
    [
        ('self.grad += "x"\n            other.grad += "x"', "TypeError"),
        ("self.grad = [out.grad]\n            other.grad = [out.grad]", "list"),
        ("self.grad = {}\n            other.grad = None", "TypeError"),
    ],
    ids=["str", "list", "dict-and-none"],
)
def test_grads_of_the_wrong_type(tmp_path, rule, phrase):
    ws = make_workspace(tmp_path, {"engine.py": [(ADD_RULE, rule)]})
    report = grade_hostile(ws)
    plus = by_name(report)["exercise-1: + backward"]
    assert plus["score"] == 0
    assert phrase in plus["output"], plus["output"]
    assert by_name(report)["exercise-1: * backward"]["status"] == "passed"  # only + is hostile


def test_nan_grads(tmp_path):
    nan = 'self.grad += float("nan")\n            other.grad += float("nan")'
    ws = make_workspace(tmp_path, {"engine.py": [(ADD_RULE, nan)]})
    report = grade_hostile(ws, "all")
    tests = by_name(report)
    assert tests["exercise-1: + backward"]["score"] == 0
    assert "nan" in tests["exercise-1: + backward"]["output"]
    # every check of exercise 1 whose expressions go through + sees NaN: none of them may pass
    through_plus = [
        "exercise-1: a node used twice accumulates (+=)",
        "exercise-1: ops built on + and * (-a, a - b, c + a, c - a, c * a)",
        "exercise-1: random expressions of + and *",
    ]
    passed = [name for name in through_plus if tests[name]["status"] == "passed"]
    assert passed == [], f"points for NaN gradients: {passed}"
    # later exercises are graded with the kit's + standing in: the mistake is charged once
    assert all(t["status"] == "passed" for t in report["tests"] if "exercise-3" in t["tags"])


def test_float_subclass_that_equals_everything(tmp_path):
    liar = (
        "class _Liar(float):\n"
        "    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n"
        "    def __float__(self):\n        return 2.0\n"
        "    def __repr__(self):\n        return '2.0'\n"
        "    __hash__ = float.__hash__\n\n\n"
    )
    ws = make_workspace(
        tmp_path,
        {
            "engine.py": [
                ("def _noop() -> None:", liar + "def _noop() -> None:"),
                (ADD_RULE, "self.grad = _Liar(-999.0)\n            other.grad = _Liar(-999.0)"),
            ]
        },
    )
    report = grade_hostile(ws)
    plus = by_name(report)["exercise-1: + backward"]
    assert plus["score"] == 0
    assert "-999" in plus["output"], plus["output"]
    assert by_name(report)["exercise-1: a node used twice accumulates (+=)"]["score"] == 0


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
@pytest.mark.parametrize(
    "message",
    ["nul \\x00 bell \\x07 escape \\x1b[31m", "lone surrogate \\ud800"],
    ids=["control-characters", "lone-surrogate"],
)
def test_odd_characters_in_an_error_message(tmp_path, message, fmt):
    """A student's exception message is copied into every report format: each must still work."""
    ws = make_workspace(tmp_path, {"engine.py": [(ADD_RULE, f'raise ValueError("{message}")')]})
    before = tree_hash(ws)
    args = ["exercise-1", "-s", str(ws), "--format", fmt, "--pictures", str(tmp_path / "p")]
    result = invoke(args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 1
    assert "ValueError" in result.stdout
    if fmt == "json":
        assert json.loads(result.stdout)["score"] == 2  # * backward passes
    if fmt == "junit":
        root = ET.fromstring(result.stdout.encode())  # XML 1.0 allows no NUL, BEL or ESC
        assert len(root.findall(".//testcase")) == len(checks_for([1]))
    assert tree_hash(ws) == before


# -- code that misbehaves at import or in a rule ---------------------------------------------


def test_infinite_loop_in_a_rule_times_out(tmp_path):
    """One rule loops forever on one input; that check times out, the worker is replaced."""
    from grader.checks.checking import Context

    ctx = Context(sandbox=None)
    ctx.start("exercise-1/+ backward")  # the inputs the check draws first (public secret)
    x0, x1 = ctx.uniform(-3, 3), ctx.uniform(-3, 3)
    loop = (
        f"if self.data == {x0!r} and other.data == {x1!r}:\n"
        "                while True:\n                    pass\n"
        "            " + ADD_RULE
    )
    ws = make_workspace(tmp_path, {"engine.py": [(ADD_RULE, loop)]})
    start = time.monotonic()
    report = grade_hostile(ws)
    assert time.monotonic() - start < 60
    tests = by_name(report)
    plus = tests["exercise-1: + backward"]
    assert plus["score"] == 0
    assert "timed out" in plus["output"], plus["output"]
    others = [t for t in report["tests"] if t is not plus]
    assert all(t["status"] == "passed" for t in others), [t["output"] for t in others]


@pytest.mark.parametrize(
    ("prelude", "phrase"),
    [
        ("_hog = bytearray(10**10)\n", "MemoryError"),
        ("import os\nos._exit(0)\n", "exited early"),
        ("import os\nos._exit(3)\n", "status 3"),
        ("raise SystemExit(0)\n", "SystemExit"),
        ("input()\n", "EOFError"),
        ("import torch\n", "torch"),
        ("import pytest\n", "pytest"),
        ("import grader\n", "grader"),
        (
            "import sys, types\nsys.modules['torch'] = types.ModuleType('torch')\n"
            "import torch\ntorch.tensor(1.0)\n",
            "torch",
        ),
    ],
    ids=[
        "memory-hog",
        "os-exit-0",
        "os-exit-3",
        "system-exit",
        "stdin",
        "torch",
        "pytest",
        "grader",
        "fake-torch-in-sys-modules",
    ],
)
def test_misbehaving_import(tmp_path, prelude, phrase):
    ws = make_workspace(tmp_path, files={"engine.py": prelude + ENGINE})
    report = grade_hostile(ws)
    assert_all_fail(report, phrase)


def test_forged_replies(tmp_path):
    """json.dumps patched (the worker's own module) to send a reply with no numbers in it."""
    forge = 'import json\njson.dumps = lambda *a, **k: \'{"ok": true, "id": 1}\'\n'
    ws = make_workspace(tmp_path, files={"engine.py": forge + ENGINE})
    report = grade_hostile(ws)
    assert_all_fail(report, "")
    assert any("malformed reply" in o for o in outputs(report))


def test_flooding_stdout(tmp_path):
    flood = "for _ in range(10**4):\n    print('x' * 10**4)\n"
    ws = make_workspace(tmp_path, files={"engine.py": flood + ENGINE})
    report = grade_hostile(ws)
    assert exercise_score(report, 1)[0] == 0
    printed = report["extra_data"]["student_output"]
    assert 1000 < len(printed) <= 2100
    assert "truncated" in printed
    assert all(len(t["output"]) < 2000 for t in report["tests"])


def _fake_report_prelude() -> str:
    fake = {
        "score": 100,
        "max_score": 100,
        "tests": [{"name": "all", "score": 100, "status": "passed"}],
    }
    prelude = f"print({json.dumps(json.dumps(fake))})\nprint('===== 10 passed in 0.01s =====')\n"
    return prelude


def test_fake_report_is_ignored(tmp_path):
    """Stubs that print a perfect Gradescope report: stdout still holds only the grader's."""
    ws = make_workspace(
        tmp_path, files={"engine.py": _fake_report_prelude() + STUB_ENGINE}, base=EXERCISES
    )
    report = grade_hostile(ws, "all", codes=(1,))
    assert report["score"] == 0
    assert report["max_score"] == max_points("all")
    assert all(t["status"] == "failed" for t in report["tests"])
    assert all("not implemented yet" in o for o in outputs(report))


@pytest.mark.parametrize("flush", [True, False], ids=["flushed", "buffered"])
def test_prints_are_reported(tmp_path, flush):
    """What student code prints is shown as such ("What your code printed"), flushed or not."""
    prelude = f"print('hello from engine.py', flush={flush})\n"
    ws = make_workspace(tmp_path, files={"engine.py": prelude + ENGINE})
    report = grade_hostile(ws, codes=(0,))
    assert "hello from engine.py" in report["extra_data"]["student_output"]


EMPTY_REPLIES = (  # the worker's table, found through the frames importing this code
    "import sys\n"
    "_f = sys._getframe()\n"
    "while _f is not None and not isinstance(_f.f_globals.get('HANDLERS'), dict):\n"
    "    _f = _f.f_back\n"
    "if _f is not None:\n"
    "    for _k in list(_f.f_globals['HANDLERS']):\n"
    "        _f.f_globals['HANDLERS'][_k] = lambda req: {}\n"
)


def test_patching_the_worker_gives_no_points(tmp_path):
    """Stubs that replace the worker's request handlers with empty replies."""
    ws = make_workspace(tmp_path, files={"engine.py": EMPTY_REPLIES + STUB_ENGINE}, base=EXERCISES)
    report = grade_hostile(ws, "all")
    passed = [t["name"] for t in report["tests"] if t["status"] == "passed"]
    assert passed == [], f"points for empty replies: {passed}"
    assert report["score"] == 0


def test_patching_the_worker_is_not_a_grader_error(tmp_path):
    """Replies without the expected keys are the student's doing: wrong, not "could not grade"."""
    ws = make_workspace(tmp_path, files={"engine.py": EMPTY_REPLIES + STUB_ENGINE}, base=EXERCISES)
    report = grade_hostile(ws, "all")
    errors = [t["name"] for t in report["tests"] if "internal grader error" in t["output"]]
    assert errors == []
    assert grade_result(ws, "all")[0].exit_code == 1


def test_writing_conftest_everywhere(tmp_path):
    """Code that plants a conftest.py (and a test module) wherever it can: cwd, its parent, its
    own package, the kit, the submission. Never overwriting: if the sandbox failed, the kit's
    own files must survive this test."""
    ws = make_workspace(tmp_path / "sub")
    name = f"test_planted_{uuid.uuid4().hex}.py"
    places = [KIT_TESTS, ROOT, ws, ws / "micrograd", tmp_path]
    prelude = (
        "from pathlib import Path\n"
        "_here = Path(__file__).resolve().parent\n"
        f"_places = [Path.cwd(), Path.cwd().parent, _here, _here.parent, "
        f"*map(Path, {[str(p) for p in places]!r})]\n"
        "for _p in _places:\n"
        f"    for _n in ('conftest.py', {name!r}):\n"
        "        try:\n"
        "            with open(_p / _n, 'x') as _f:\n"
        "                _f.write('import os\\nos._exit(7)\\n')\n"
        "        except OSError:\n"
        "            pass\n"
    )
    (ws / "micrograd" / "engine.py").write_text(prelude + ENGINE)
    outside = tree_hash(tmp_path)
    planted = [p / n for p in (KIT_TESTS, ROOT) for n in ("conftest.py", name)]
    planted = [p for p in planted if not p.exists()]
    try:
        report = grade_hostile(ws, "exercise-1", codes=(0,))  # harmless: the code is right
        assert report["score"] == report["max_score"]
        assert tree_hash(tmp_path) == outside
        assert [p for p in planted if p.exists()] == []
    finally:
        for path in planted:  # if the sandbox let it through, do not leave it in the kit
            path.unlink(missing_ok=True)


# -- code that attacks processes ---------------------------------------------------------------


def _sandboxed() -> bool:
    """A PID namespace, or a worker of its own user (which can signal no other process)."""
    return mode() in (BWRAP, PERMISSIONS) or "--pid" in isolation()[0]


@pytest.mark.skipif(not _sandboxed(), reason="unsandboxed: this would kill the test process")
@pytest.mark.parametrize(
    "attack",
    ["os.kill(os.getppid(), 9)", "os.killpg(0, 9)", "os.kill(-1, 9)", "os.kill(1, 9)"],
)
def test_killing_the_grader(tmp_path, attack):
    ws = make_workspace(tmp_path, files={"engine.py": f"import os\n{attack}\n" + ENGINE})
    report = grade_hostile(ws, codes=(0, 1))
    # we are the grader: still here. Every check has a recorded result.
    assert len(report["tests"]) == len(checks_for([1]))
    for t in report["tests"]:
        assert t["status"] == "passed" or t["output"], t


def _processes_with(arg: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if arg.encode() in cmdline:
            found.append(int(proc.name))
    return found


def test_detached_child_does_not_survive(tmp_path):
    arg = f"{900000 + os.getpid() % 99999}"
    assert not _processes_with(arg)
    prelude = (
        "import subprocess\n"
        "try:\n"
        f"    _child = subprocess.Popen(['sleep', '{arg}'], start_new_session=True)\n"
        "    print('started', _child.pid, flush=True)\n"
        "except OSError as e:\n"
        "    print('refused', e, flush=True)\n"
    )
    ws = make_workspace(tmp_path, files={"engine.py": prelude + ENGINE})
    report = grade_hostile(ws, codes=(0,))
    output = report["extra_data"]["student_output"]
    # in bubblewrap (seccomp) and as a user of its own (a process limit of 1), no process may
    # start; elsewhere it starts, and must not survive
    assert ("refused" if mode() in (BWRAP, PERMISSIONS) else "started") in output, output
    deadline = time.monotonic() + 5
    while _processes_with(arg) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _processes_with(arg)
    for pid in left:  # clean up what the grader left, then fail
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert not left, f"`sleep {arg}` outlived the grading: pids {left}"


@pytest.mark.skipif(mode() == UNPROTECTED, reason="no sandbox here: bwrap missing, not root")
def test_fork_bomb_is_stopped(tmp_path):
    prelude = (
        "import os, time\n"
        "_children = []\n"
        "try:\n"
        "    for _ in range(100000):\n"
        "        _pid = os.fork()\n"
        "        if _pid == 0:\n"
        "            time.sleep(120)\n"
        "            os._exit(0)\n"
        "        _children.append(_pid)\n"
        "except OSError:\n"
        "    print('fork failed after', len(_children), flush=True)\n"
    )
    ws = make_workspace(tmp_path, files={"engine.py": prelude + ENGINE})
    start = time.monotonic()
    report = grade_hostile(ws, codes=(0,))  # the bomb fizzles; the engine itself is right
    assert time.monotonic() - start < 60
    assert "fork failed after" in report["extra_data"]["student_output"]
    assert report["score"] == report["max_score"]


# -- submissions that cannot be read ----------------------------------------------------------


@pytest.mark.parametrize("member", ["../escaped.py", "micrograd/../../escaped.py"])
def test_zip_with_parent_paths(tmp_path, member):
    folder = tmp_path / "upload"
    folder.mkdir()
    path = folder / "work.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("micrograd/engine.py", ENGINE)
        zf.writestr(member, "print('escaped')\n")
    report = grade_hostile(path, "all", codes=(2,))
    assert report["score"] == 0
    assert "unsafe path" in report["extra_data"]["error"]
    assert not list(tmp_path.rglob("escaped.py"))


def test_corrupted_notebook(tmp_path):
    path = tmp_path / "exercise-1.ipynb"
    path.write_text('{"cells": [ {"cell_type": "code", "source": "')
    report = grade_hostile(path, "all", codes=(2,))
    assert report["score"] == 0
    assert "not a valid notebook" in report["extra_data"]["error"]


@pytest.mark.filterwarnings("ignore:Non-unique cell id")
def test_notebook_with_a_duplicated_cell(tmp_path):
    nb = json.loads((ROOT / "exercises" / "notebooks" / "exercise-1.ipynb").read_text())
    marked = [c for c in nb["cells"] if "micrograd_kit" in c.get("metadata", {})]
    assert marked
    nb["cells"].append(json.loads(json.dumps(marked[0])))
    path = tmp_path / "exercise-1.ipynb"
    path.write_text(json.dumps(nb))
    report = grade_hostile(path, "all", codes=(2,))
    assert report["score"] == 0
    assert "two cells" in report["extra_data"]["error"]


def test_notebook_missing_one_marked_cell(tmp_path):
    """exercise-4's notebook has a marked cell per definition the student writes. Without one,
    the stub (or the workspace's code) would be graded as the student's work unnoticed: the
    message names the missing cell."""
    nb = json.loads((ROOT / "exercises" / "notebooks" / "exercise-4.ipynb").read_text())
    keys = nb["metadata"]["micrograd_kit"]["cells"]
    assert len(keys) >= 2

    def key(cell):
        meta = cell.get("metadata", {}).get("micrograd_kit", {})
        return f"{meta.get('file')} {meta.get('definition')}"

    nb["cells"] = [c for c in nb["cells"] if key(c) != keys[-1]]
    path = tmp_path / "exercise-4.ipynb"
    path.write_text(json.dumps(nb))
    report = grade_hostile(path, "all", codes=(2,))
    assert report["score"] == 0
    assert f"lacks its marked cell for {keys[-1]}" in report["extra_data"]["error"]


def test_notebook_of_an_old_format(tmp_path):
    path = tmp_path / "exercise-1.ipynb"
    path.write_text(
        json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []})
    )
    report = grade_hostile(path, "all", codes=(2,))
    assert report["score"] == 0
    assert "notebook format 3" in report["extra_data"]["error"]


@pytest.mark.skipif(mode() == UNPROTECTED, reason="no sandbox here: bwrap missing, not root")
def test_files_left_in_shared_folders_are_removed(tmp_path):
    marker = f"micrograd-leftover-{uuid.uuid4().hex}"
    prelude = (
        "import os\n"
        f"for _d in ('/tmp', '/var/tmp', '/dev/shm'):\n"
        "    try:\n"
        f"        os.makedirs(_d + '/{marker}/inner', exist_ok=True)\n"
        f"        open(_d + '/{marker}.txt', 'w').write('left behind')\n"
        "    except OSError:\n"
        "        pass\n"
    )
    ws = make_workspace(tmp_path, files={"engine.py": prelude + ENGINE})
    grade_hostile(ws, codes=(0,))
    left = [p for d in ("/tmp", "/var/tmp", "/dev/shm") for p in Path(d).glob(f"{marker}*")]
    assert left == []
