"""The sandbox against a hostile student who knows how the grader works (issue 9's list).

Each attack is the blank stubs plus code that, if the sandbox let it through, would earn
points (it execs the kit's reference engine, or one it found elsewhere). Every one must score
no more than the stubs, with the kit and the other submissions unchanged. The same tests run
as a normal user (tests/test_normal_user.py) and in "permissions" mode (MICROGRAD_SANDBOX).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader.sandbox import (
    BWRAP,
    UNPROTECTED,
    Limits,
    Sandbox,
    UnreadableReply,
    finite,
    mode,
    policy,
)
from tests.grader_helpers import REFERENCE, ROOT, by_name, make_workspace, tree_hash
from tests.test_hostile import STUB_ENGINE, grade_hostile, kit_tests_hash

pytestmark = [
    pytest.mark.grader,
    pytest.mark.skipif(mode() == UNPROTECTED, reason="no sandbox here: bwrap missing, not root"),
]
ENGINE_TEXT = (REFERENCE / "engine.py").read_text()
SITE_PACKAGES = sorted({p for p in sys.path if p.endswith(("site-packages", "dist-packages"))})

# Appended to the stub engine: `_attack()` returns an engine's source if it could get one
# (then the module's Value becomes the reference: points), else None or an exception.
CHEAT = """
try:
    _src = _attack()
except BaseException as _e:
    _src = None
    print("blocked:", type(_e).__name__, str(_e)[:60])
if _src:
    print("LEAKED")
    exec(compile(_src, "leaked", "exec"), globals())
"""


def attack(body: str) -> dict[str, str]:
    return {"engine.py": STUB_ENGINE + "\n\ndef _attack():\n" + body + CHEAT}


def find_engine(roots: list[str]) -> str:
    """Attack body: read reference/micrograd/engine.py under any of `roots`."""
    return f"""
    import os
    for _root in {roots!r}:
        _path = os.path.join(_root, "reference", "micrograd", "engine.py")
        try:
            return open(_path).read()
        except OSError:
            pass
"""


VIA_PROC = """
    import os
    for _pid in os.listdir("/proc"):
        if not _pid.isdigit():
            continue
        _roots = []
        for _link in ("cwd", "root"):
            _roots.append(f"/proc/{_pid}/{_link}")
        try:
            _args = open(f"/proc/{_pid}/cmdline", "rb").read().split(b"\\0")
            _roots += [a.decode() for a in _args if a.startswith(b"/")]
        except OSError:
            pass
        for _root in _roots:
            for _up in range(6):
                _path = os.path.join(_root, *[".."] * _up, "reference", "micrograd", "engine.py")
                try:
                    return open(_path).read()
                except OSError:
                    pass
"""

TORCH = f"""
    import sys
    sys.path += {SITE_PACKAGES!r}
    import torch  # noqa: a correct-looking engine would take every gradient from it
    return {ENGINE_TEXT!r}
"""


def assert_no_better_than_stubs(ws: Path) -> dict:
    kit_before = kit_tests_hash()
    report = grade_hostile(ws, codes=(1,))
    assert report["score"] == 0, [t["output"] for t in report["tests"]]
    assert "LEAKED" not in report["extra_data"]["student_output"]
    assert kit_tests_hash() == kit_before
    return report


@pytest.mark.parametrize(
    "body",
    [
        find_engine([str(ROOT), "/autograder/source/kit", "/autograder/source"]),
        VIA_PROC,
        TORCH,
        "    return open(__import__('os').path.realpath('/proc/1/cwd/engine.py')).read()\n",
    ],
    ids=["known-paths", "via-proc", "torch-site-packages", "proc-1"],
)
def test_reading_the_kit_or_torch_gives_nothing(tmp_path, body):
    assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body)))


@pytest.mark.skipif(mode() != BWRAP, reason="bwrap's policy hides them; ACLs guard the kit's own")
@pytest.mark.skipif(not os.access("/usr/lib", os.W_OK), reason="needs root, to plant the bundle")
def test_packages_bundled_deep_in_the_system_libraries_are_hidden(tmp_path):
    """Programs bundle Pythons of their own under /usr/lib, packages and all (seen: the Google
    Cloud SDK's): none of their site-packages may reach student code."""
    bundle = Path(tempfile.mkdtemp(prefix="micrograd-kit-test-bundle-", dir="/usr/lib"))
    try:
        site = bundle / "lib" / "python3.11" / "site-packages"
        site.mkdir(parents=True)
        (site / "leaked_engine.py").write_text(ENGINE_TEXT)
        bundle.chmod(0o755)
        policy._nested_packages.cache_clear()  # scanned once per grading process: anew here
        body = f"""
    import sys
    sys.path.append({str(site)!r})
    import leaked_engine
    return open(leaked_engine.__file__).read()
"""
        report = assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body)))
        assert "blocked: ModuleNotFoundError" in report["extra_data"]["student_output"]
    finally:
        shutil.rmtree(bundle)
        policy._nested_packages.cache_clear()


def test_a_linked_micrograd_folder_is_refused(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "micrograd").symlink_to(REFERENCE)
    report = grade_hostile(ws, codes=(2,))
    assert report["score"] == 0
    assert "outside the submission" in report["extra_data"]["error"]


def test_writing_the_kit_is_refused(tmp_path):
    target = ROOT / "grader" / "runner.py"
    before = target.read_bytes()
    body = f"""
    open({str(target)!r}, "a").write("# changed by a student")
    return {ENGINE_TEXT!r}
"""
    assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body)))
    assert target.read_bytes() == before


@pytest.mark.skipif(mode() != BWRAP, reason="what the worker sees is bwrap's policy")
def test_what_the_worker_sees(tmp_path):
    probe = f"""
import os, sys
print("uid", os.getuid())
print("root", sorted(os.listdir("/")))
print("pids", sorted(p for p in os.listdir("/proc") if p.isdigit()))
print("kit", os.path.exists({str(ROOT)!r}))
import numpy
print("numpy", numpy.tanh(0.0))
"""
    ws = make_workspace(tmp_path, files={"engine.py": probe + STUB_ENGINE})
    out = grade_hostile(ws, codes=(1,))["extra_data"]["student_output"]
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    if os.geteuid() == 0:
        assert lines["uid"] != "0"
    assert lines["root"] == "['dev', 'etc', 'lib', 'lib64', 'proc', 'sandbox', 'tmp', 'usr']"
    assert lines["pids"] == "['1', '2']"  # bwrap's init and the worker: nothing else
    assert lines["kit"] == "False"
    assert lines["numpy"] == "0.0"


def test_the_worker_runs_under_its_limits(tmp_path):
    """Memory, CPU time, file size and core dumps as the student's code finds them, in every
    mode: set before it runs (by `prlimit` in bwrap mode, between fork and exec elsewhere),
    soft and hard alike, so that it cannot raise them again; in bwrap mode bwrap's own init
    beside it has them too (same user: the worker could take it over)."""
    probe = """
import resource
for _name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_CORE"):
    print(_name, *resource.getrlimit(getattr(resource, _name)))
for _line in open("/proc/1/limits"):
    if _line.startswith("Max address space"):
        print("init", *_line.split()[3:5])
"""
    ws = make_workspace(tmp_path, files={"engine.py": probe + STUB_ENGINE})
    out = grade_hostile(ws, codes=(1,))["extra_data"]["student_output"]
    seen = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:1].isalpha()}
    limits = Limits()
    expected = {
        "RLIMIT_AS": [str(limits.memory_bytes)] * 2,
        "RLIMIT_CPU": [str(limits.cpu_seconds), str(limits.cpu_seconds + 1)],
        "RLIMIT_FSIZE": [str(limits.file_bytes)] * 2,
        "RLIMIT_CORE": ["0", "0"],
    }
    assert {k: v for k, v in seen.items() if k in expected} == expected, out
    if mode() == BWRAP:
        assert seen["init"] == [str(limits.memory_bytes)] * 2, out


def test_new_processes_and_their_memory(tmp_path):
    """Forked children would each get the memory limit again: there are none."""
    body = """
    import os
    _kids = 0
    for _ in range(8):
        if os.fork() == 0:
            _hog = bytearray(1500 * 1024**2)
            __import__("time").sleep(60)
            os._exit(0)
        _kids += 1
    print("forked", _kids)
"""
    start = time.monotonic()
    report = assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body)))
    assert time.monotonic() - start < 60
    assert "forked" not in report["extra_data"]["student_output"]


def test_filling_the_disk_stops_early(tmp_path):
    body = """
    import os
    _mb = 0
    try:
        for _i in range(100):
            with open(f"fill-{_i}", "wb") as _f:
                _f.write(b"x" * 1024**2)
            _mb += 1
    finally:
        print("wrote", _mb, "MB")
"""
    report = assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body)))
    out = report["extra_data"]["student_output"]
    written = int(out.split("wrote ", 1)[1].split()[0])
    assert written <= 64, out


def _shm_keys() -> set[str]:
    try:
        lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return set()
    return {line.split()[0] for line in lines}


def test_system_v_shared_memory_does_not_outlive_the_worker(tmp_path):
    key = 0x5A5A0000 + os.getpid() % 0xFFFF
    body = f"""
    import ctypes
    _libc = ctypes.CDLL(None, use_errno=True)
    _id = _libc.shmget({key}, 16 * 1024**2, 0o1666)  # IPC_CREAT | 0666
    print("shm", _id)
"""
    before = _shm_keys()
    assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body)))
    assert str(key) not in _shm_keys() - before


def test_nothing_is_left_behind(tmp_path):
    """A `grade` run in a fresh TMPDIR leaves it empty; no worker process survives it."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    marker = f"leftover-{os.getpid()}"
    body = f"""
    import os, threading, time
    for _d in ("/tmp", "/dev/shm", os.getcwd()):
        try:
            open(os.path.join(_d, "{marker}"), "w").write("x")
        except OSError:
            pass
    threading.Thread(target=time.sleep, args=(300,), daemon=False).start()
"""
    ws = make_workspace(tmp_path, files=attack(body))
    env = {**os.environ, "TMPDIR": str(tmp)}
    cmd = [sys.executable, "-m", "grader.cli", "exercise-1", "--submission", str(ws)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert list(tmp.iterdir()) == []
    assert not [p for d in ("/tmp", "/dev/shm") for p in Path(d).glob(marker)]
    assert not _processes_of(str(ws))


def _processes_of(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def test_predictable_scratch_paths_are_not_used(tmp_path):
    """Links planted where an older grader kept its scratch folders receive nothing."""
    target = tmp_path / "target"
    target.mkdir()
    planted = [Path(tempfile.gettempdir()) / f"micrograd-grader-{os.getuid()}"]
    planted = [p for p in planted if not p.exists() and not p.is_symlink()]
    for p in planted:
        p.symlink_to(target)
    try:
        ws = make_workspace(tmp_path)
        grade_hostile(ws, codes=(0,))
    finally:
        for p in planted:
            p.unlink()
    assert list(target.iterdir()) == []


# -- time and replies ------------------------------------------------------------------------

MUL_RULE = "self.grad += other.data * out.grad"


def test_a_stalling_submission_finishes_with_its_points(tmp_path, monkeypatch):
    """Each `*` backward stalls under the request limit: exercise-1 still ends within its
    budget (a stall counts as the worker's time), + backward's points kept, the rest "ran out
    of time" or wrong. At a tenth of the budgets (3 s for exercise-1) and of the 9 s stalls,
    under the same 10 s request limit: the same story, ten times as fast."""
    monkeypatch.setenv("MICROGRAD_BUDGET_SCALE", "0.1")
    stall = "__import__('time').sleep(0.9)\n            " + MUL_RULE
    ws = make_workspace(tmp_path, {"engine.py": [(MUL_RULE, stall)]})
    start = time.monotonic()
    report = grade_hostile(ws, codes=(1,))
    assert time.monotonic() - start < 20
    tests = by_name(report)
    assert tests["exercise-1: + backward"]["status"] == "passed"
    assert report["score"] >= 2
    assert any("ran out of time" in t["output"] for t in report["tests"])


@pytest.mark.parametrize(
    "reply",
    [
        '{"id": 1, "ok": true, "data": [1' + "0" * 5000 + "]}",  # an int Python will not parse
        '{"id": 1, "ok": true, "data": [1e999, 1e999, 1e999], "grads": [1e999, 1e999, 1e999]}',
        '{"id": 1, "ok": true, "data": [' + "1" * 400 + "]}",  # an int too large for a float
        "[1, 2, 3]",
        "not json at all",
    ],
    ids=["long-int", "overflow", "huge-int", "a-list", "not-json"],
)
def test_unreadable_replies_are_wrong_answers(tmp_path, reply):
    """Student code writes its own reply before the worker can: a wrong answer, not a
    grader error, and the row is graded."""
    forge = f"import os, sys\nos.write(int(sys.argv[3]), {reply!r}.encode() + b'\\n')\n"
    ws = make_workspace(tmp_path, files={"engine.py": forge + STUB_ENGINE})
    report = grade_hostile(ws, codes=(1,))
    assert report["score"] == 0
    assert not any("internal grader error" in t["output"] for t in report["tests"])


def test_finite_reads_only_plain_finite_numbers():
    assert finite([1, 2.5], 2) == [1.0, 2.5]
    assert finite([10**400], 1) is None
    assert finite([float("inf")], 1) is None
    assert finite([True], 1) is None
    assert finite("1", 1) is None


def test_a_malformed_reply_raises_unreadable(tmp_path):
    forge = "import os, sys\nos.write(int(sys.argv[3]), b'{broken\\n')\n"
    ws = make_workspace(tmp_path, files={"engine.py": forge + STUB_ENGINE})
    with Sandbox(ws) as sandbox, pytest.raises(UnreadableReply):
        sandbox.request("ops")


def test_a_batch_attack_gets_nothing(tmp_path):
    """In a batch, mallory's code reaches for alice's engine, the hidden checks, alice's
    feedback and the gradebook: she scores what the stubs score, alice keeps hers."""
    from tests.test_batch import grade_batch, gradebook, workspace

    submissions, out, hidden = tmp_path / "submissions", tmp_path / "grades", tmp_path / "hidden"
    submissions.mkdir()
    shutil.copytree(ROOT / "examples" / "extra-checks", hidden)
    workspace(submissions / "alice")
    body = f"""
    import os
    for _path in [
        {str(submissions / "alice" / "micrograd" / "engine.py")!r},
        *[os.path.join({str(hidden)!r}, f) for f in os.listdir({str(hidden)!r})],
        {str(out / "students" / "alice" / "feedback.md")!r},
    ]:
        try:
            open(_path).read()
            return {ENGINE_TEXT!r}
        except OSError:
            pass
    try:
        open({str(out / "gradebook.csv")!r}, "a").write("mallory,graded,99\\n")
        return {ENGINE_TEXT!r}
    except OSError:
        pass
"""
    workspace(submissions / "mallory", files=attack(body))
    before = tree_hash(submissions / "alice")
    args = ["--out", str(out), "-e", "1", "--jobs", "1", "--extra-checks", str(hidden)]
    result = grade_batch(str(submissions), *args)
    rows = {r["student"]: r for r in gradebook(out)}
    assert sorted(rows) == ["alice", "mallory"], result.stderr
    assert rows["mallory"]["status"] == "graded" and float(rows["mallory"]["total"]) == 0
    assert float(rows["alice"]["total"]) > 0
    assert tree_hash(submissions / "alice") == before


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "grader.cli", *args]
    full_env = {**os.environ, **env}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=full_env)


def test_without_a_sandbox_grade_says_so_and_batch_refuses(tmp_path):
    ws = make_workspace(tmp_path)
    unsafe = {"MICROGRAD_SANDBOX": "unprotected"}
    one = _cli("exercise-1", "--submission", str(ws), **unsafe)
    assert one.returncode == 0, one.stderr
    assert one.stderr.count("basic isolation only") == 1
    (tmp_path / "class").mkdir()
    shutil.move(ws, tmp_path / "class" / "alice")
    out = tmp_path / "grades"
    batch = _cli("batch", str(tmp_path / "class"), "--out", str(out), "-e", "1", **unsafe)
    assert batch.returncode == 2 and "--unsafe-no-sandbox" in batch.stderr
    assert not (out / "gradebook.csv").exists()
    gradescope = _cli(
        "all",
        "--submission",
        str(tmp_path / "class" / "alice"),
        "--format",
        "json",
        MICROGRAD_REQUIRE_SANDBOX="1",
        **unsafe,
    )
    assert gradescope.returncode == 2
    assert "cannot be sandboxed" in gradescope.stdout


@pytest.fixture
def open_dir():
    """A folder any user can enter (pytest's tmp_path sits in a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="micrograd-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_reachable_tells_read_from_execute(open_dir):
    """One function answers both questions the modes ask: can a worker read this (a library)
    and can it run this (an interpreter)? A folder without o+x on the way stops both."""
    tmp_path = open_dir
    readable = tmp_path / "lib.so"
    readable.write_text("")
    readable.chmod(0o644)
    runnable = tmp_path / "python"
    runnable.write_text("")
    runnable.chmod(0o711)
    link = tmp_path / "link"
    link.symlink_to(readable)
    assert policy.reachable(str(readable), policy.READ)
    assert not policy.reachable(str(readable), policy.EXECUTE)
    assert policy.reachable(str(runnable), policy.EXECUTE)
    assert not policy.reachable(str(runnable), policy.READ | policy.EXECUTE)
    assert policy.reachable(str(link), policy.READ)
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    inside = closed / "python"
    inside.write_text("")
    inside.chmod(0o755)
    assert not policy.reachable(str(inside), policy.EXECUTE)
    (tmp_path / "into-closed").symlink_to(inside)  # the link's folder is open, its target not
    assert not policy.reachable(str(tmp_path / "into-closed"), policy.EXECUTE)


def test_no_interpreter_inside_the_kit_for_workers(open_dir):
    """An interpreter inside the kit is never the workers' (the permissions mode denies them the
    kit); outside it, an open one is."""
    kit_python = policy.KIT / ".cache" / "test-python3.11"
    kit_python.parent.mkdir(exist_ok=True)
    try:
        kit_python.write_text("")
        kit_python.chmod(0o755)
        assert not policy.runnable_by_workers(str(kit_python))
    finally:
        kit_python.unlink()
    outside = open_dir / "python3.11"
    outside.write_text("")
    outside.chmod(0o755)
    assert policy.runnable_by_workers(str(outside))
    outside.chmod(0o711)  # runnable but not readable: bwrap could not bind what it cannot read
    assert not policy.runnable_by_workers(str(outside))


def test_a_worker_of_another_bytecode_compiles_the_source(monkeypatch):
    """The worker's code comes compiled by the grader's Python, and a worker of our bytecode
    runs it as it comes (here with no source beside it); a worker's Python whose bytecode
    differs (another magic number) compiles the source sent beside it instead."""
    import marshal

    from grader.sandbox import worker_process, worker_program

    magic, modules = marshal.loads(worker_program.worker_source())
    sent = {
        "ours": marshal.dumps((magic, [(name, "", code) for name, _, code in modules])),
        "foreign": marshal.dumps((b"\0\0\r\n", [(name, s, None) for name, s, _ in modules])),
    }
    for data in sent.values():
        monkeypatch.setattr(worker_process, "worker_source", lambda data=data: data)
        with Sandbox(REFERENCE.parent) as sandbox:
            assert sandbox.request("ops")["ops"] == ["exp", "log", "tanh", "relu", "sigmoid"]
