"""Every promise of the README's security model, tried by a hostile student, in every mode.

CI runs this file as root in bwrap mode, in the "permissions" mode (MICROGRAD_SANDBOX) with
`unshare` and with a PATH without it (noxfile.py), and as an ordinary user
(tests/test_normal_user.py). Each attack is the blank stubs plus code that would earn points
or print what it must not see if the promise did not hold.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from grader.sandbox import BWRAP, PERMISSIONS, UNPROTECTED, Sandbox, mode, policy
from grader.sandbox.permissions import isolation
from grader.sandbox.processes import worker_uid
from tests.grader_helpers import ROOT, grade_result, invoke, make_workspace
from tests.test_batch import grade_batch, gradebook, workspace
from tests.test_hostile import STUB_ENGINE, grade_hostile
from tests.test_sandbox import ENGINE_TEXT, assert_no_better_than_stubs, attack

pytestmark = [
    pytest.mark.grader,
    pytest.mark.skipif(mode() == UNPROTECTED, reason="no sandbox here: bwrap missing, not root"),
]
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="as root only")
PID_NAMESPACE = mode() == BWRAP or "--pid" in isolation()[0]


@pytest.fixture
def open_dir():
    """A folder any user can enter (pytest's tmp_path sits in a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="micrograd-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def printed(report: dict) -> str:
    return report["extra_data"]["student_output"]


# -- a private copy: a classmate graded beside it cannot read it ------------------------------

LOOK_FOR_CLASSMATES = """
    import os, time
    _deadline, _tries = time.monotonic() + 3, 0
    while time.monotonic() < _deadline:
        _tries += 1
        _found = []
        try:  # every sandbox folder in /tmp
            for _d in os.listdir({tmp!r}):
                _found.append(os.path.join({tmp!r}, _d, "workspace"))
        except OSError:
            pass
        for _pid in os.listdir("/proc"):  # every worker's package, named on its command line
            try:
                _args = open(f"/proc/{{_pid}}/cmdline", "rb").read().split(b"\\0")
            except OSError:
                continue
            _found += [a.decode() for a in _args if a.endswith(b"/workspace")]
        for _ws in _found:
            try:
                _src = open(os.path.join(_ws, "micrograd", "engine.py")).read()
            except OSError:
                continue
            if {backwards!r}[::-1] in _src:  # alice's (not the marker in this very code)
                return _src
        time.sleep(0.2)
    print("looked", _tries, "times")
"""


def test_a_classmates_live_copy_gives_nothing(tmp_path):
    """--jobs 2: mallory (blank stubs) looks for alice's live sandbox copy while alice is graded
    beside her, through /tmp and the workers' command lines: she gets 0, alice her 10."""
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    submissions.mkdir()
    marker = f"# alice-{uuid.uuid4().hex}"
    slow = f"import time\ntime.sleep(8)  {marker}: alive while mallory looks\n" + ENGINE_TEXT
    workspace(submissions / "alice", files={"engine.py": slow})
    body = LOOK_FOR_CLASSMATES.format(tmp=tempfile.gettempdir(), backwards=marker[::-1])
    workspace(submissions / "mallory", files=attack(body))
    result = grade_batch(str(submissions), "--out", str(out), "-e", "1", "--jobs", "2")
    rows = {r["student"]: r for r in gradebook(out)}
    assert rows["alice"]["total"] == "10", result.stderr
    mallory = json.loads((out / "students" / "mallory" / "results.json").read_text())
    assert rows["mallory"]["total"] == "0", printed(mallory)
    assert rows["mallory"]["status"] == "graded", (rows["mallory"]["note"], printed(mallory))
    assert "LEAKED" not in printed(mallory)
    assert "looked" in printed(mallory)  # she did try, all along


# -- the course secret: no path, argument or file of it is within reach -----------------------

FIND_THE_SECRET = """
    import glob, os
    _texts = []
    for _path in [{secret_file!r}, *glob.glob("/proc/*/environ"), *glob.glob("/proc/*/cmdline")]:
        try:
            _text = open(_path, "rb").read().decode(errors="replace")
        except OSError:
            continue
        _texts.append(_text)
        for _arg in _text.replace("=", "\\0").split("\\0"):  # files named in arguments
            if _arg.startswith("/") and os.path.isfile(_arg):
                try:
                    _texts.append(open(_arg, errors="replace").read(4096))
                except OSError:
                    pass
    for _text in _texts:
        for _word in _text.replace("\\0", " ").split():
            if "course-secret-" in _word:
                print("FOUND", _word)
"""


@pytest.fixture
def secret_file(open_dir):
    """A course secret in a file any user could read, were it not shut out."""
    secret = f"course-secret-{uuid.uuid4().hex}"
    path = open_dir / "secret.txt"
    path.write_text(secret + "\n")
    path.chmod(0o644)
    return path, secret


def test_the_course_secret_cannot_be_printed(tmp_path, secret_file):
    path, secret = secret_file
    ws = make_workspace(tmp_path, files=attack(FIND_THE_SECRET.format(secret_file=str(path))))
    cmd = [sys.executable, "-m", "grader.cli", "exercise-1", "--submission", str(ws)]
    cmd += ["--format", "json", "--course-secret-file", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["score"] == 0
    assert secret not in proc.stdout + proc.stderr


def test_the_course_secret_cannot_be_printed_in_a_batch(tmp_path, secret_file):
    path, secret = secret_file
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    submissions.mkdir()
    workspace(submissions / "alice")
    workspace(submissions / "mallory", files=attack(FIND_THE_SECRET.format(secret_file=str(path))))
    args = ["--out", str(out), "-e", "1", "--jobs", "2", "--course-secret-file", str(path)]
    result = grade_batch(str(submissions), *args)
    rows = {r["student"]: r for r in gradebook(out)}
    assert rows["alice"]["total"] == "10" and rows["mallory"]["total"] == "0", result.stderr
    for student in ("alice", "mallory"):
        for page in (out / "students" / student).iterdir():
            if page.is_file():
                assert secret not in page.read_text(errors="replace"), page


# -- other processes --------------------------------------------------------------------------

PEEK_AT_PROCESSES = """
    import os
    _me = str(os.getpid())
    _own = [_me, *{own!r}]
    _pids = [p for p in os.listdir("/proc") if p.isdigit()]
    _read = []
    for _p in _pids:
        for _what in ("environ", "cwd", "root", "fd", "mem"):
            try:
                _path = f"/proc/{_p}/{_what}"
                os.listdir(_path) if _what in ("cwd", "root", "fd") else open(_path, "rb").read(1)
                if _p not in _own:
                    _read.append(f"{_p}/{_what}")
            except OSError:
                pass
    _signalled = []
    for _p in _pids:
        try:
            if _p not in _own:
                os.kill(int(_p), 0)
                _signalled.append(_p)
        except OSError:
            pass
    print("pids", len(_pids), "read", _read[:5], "signalled", _signalled[:5])
"""


def test_no_other_process_can_be_read_or_reached(tmp_path):
    """With a PID namespace (bwrap; `unshare`) the worker sees its own processes only; without
    one, it sees others' ids and command lines, and can read or signal none of them."""
    own = ["1"] if mode() == BWRAP else []  # the sandbox's init, bwrap itself
    body = PEEK_AT_PROCESSES.replace("{own!r}", repr(own))
    report = assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body)))
    line = next(ln for ln in printed(report).splitlines() if ln.startswith("pids"))
    assert "read [] signalled []" in line, line
    if PID_NAMESPACE:
        assert int(line.split()[1]) <= 2, line  # itself (and bwrap's init)


# -- no network -------------------------------------------------------------------------------

REACH_OUT = """
    import socket
    for _name, _family, _address in {targets!r}:
        try:
            _s = socket.socket(_family, socket.SOCK_STREAM)
            _s.settimeout(2)
            _s.connect(_address if not isinstance(_address, list) else tuple(_address))
            print("CONNECTED", _name)
        except OSError as _e:
            print("refused", _name, _e)
    for _name, _make in [
        ("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)),
        ("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)),
        ("pair", socket.socketpair),
    ]:
        try:
            _make()
            print("MADE", _name)
        except OSError as _e:
            print("refused", _name, _e)
"""


def test_no_network(tmp_path, open_dir):
    """TCP to 127.0.0.1, an abstract unix socket and one in a folder anyone may enter, all
    listening on the host: no connection reaches them; no socket of any family is made."""
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract_name = f"\0micrograd-test-{uuid.uuid4().hex}"
    abstract.bind(abstract_name)
    named = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    named_path = str(open_dir / "listening.sock")
    named.bind(named_path)
    os.chmod(named_path, 0o777)
    listeners = [tcp, abstract, named]
    for s in listeners:
        s.listen(8)
        s.setblocking(False)
    targets = [
        ("tcp", int(socket.AF_INET), list(tcp.getsockname())),
        ("abstract-unix", int(socket.AF_UNIX), abstract_name),
        ("named-unix", int(socket.AF_UNIX), named_path),
    ]
    try:
        ws = make_workspace(tmp_path, files=attack(REACH_OUT.format(targets=targets)))
        out = printed(assert_no_better_than_stubs(ws))
        for s in listeners:
            with pytest.raises(BlockingIOError):
                s.accept()  # no connection waiting
    finally:
        for s in listeners:
            s.close()
    assert "CONNECTED" not in out and "MADE" not in out, out
    assert out.count("refused") == 6, out


# -- no IPC object survives -------------------------------------------------------------------

MAKE_IPC = """
    import ctypes, os
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    print("msg", _libc.msgget({key}, 0o1666))
    print("sem", _libc.semget({key} + 1, 1, 0o1666))
    print("shm", _libc.shmget({key} + 2, 4096, 0o1666))
    print("mq", _libc.mq_open({mq!r}.encode(), os.O_CREAT | os.O_RDWR, 0o666, None))
    try:
        open("/dev/shm" + {mq!r}, "w").write("x")
        print("posix shm made")
    except OSError as _e:
        print("posix shm refused", _e)
"""


def _sysv_keys() -> set[int]:
    keys = set()
    for kind in ("msg", "sem", "shm"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        keys |= {int(line.split()[0]) for line in lines}
    return keys


def _mq_exists(name: str) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int]
    fd = libc.mq_open(name.encode(), os.O_RDONLY)
    if fd >= 0:
        os.close(fd)
        libc.mq_unlink(name.encode())  # do not leave it, then fail
        return True
    return False


def test_no_ipc_object_survives_the_worker(tmp_path):
    """System V message queues, semaphore sets and shared memory, a POSIX message queue and
    POSIX shared memory: none is left once the worker is gone."""
    key = 0x4D470000 + os.getpid() % 0xFFF0
    mq = f"/micrograd-test-{uuid.uuid4().hex[:12]}"
    ws = make_workspace(tmp_path, files=attack(MAKE_IPC.format(key=key, mq=mq)))
    out = printed(assert_no_better_than_stubs(ws))
    assert "msg" in out and "mq" in out, out  # it ran
    assert not {key, key + 1, key + 2} & _sysv_keys(), out
    assert not _mq_exists(mq), out
    assert not Path("/dev/shm" + mq).exists(), out


# -- shared folders and the worker's own copy --------------------------------------------------


def test_shared_folders_cannot_be_listed(tmp_path):
    folders = ["/tmp", "/var/tmp", "/dev/shm", tempfile.gettempdir()]
    body = f"""
    import os
    for _d in {folders!r}:
        try:
            _names = os.listdir(_d)
            print("listed", _d, [n for n in _names if n.startswith("micrograd-grade-")][:3])
        except OSError as _e:
            print("refused", _d, type(_e).__name__)
"""
    out = printed(assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body))))
    # bwrap: the sandbox's own /tmp, empty of copies; elsewhere no listing at all
    for line in out.splitlines():
        if line.startswith("listed"):
            assert mode() == BWRAP and line.endswith("[]"), out


def _as_user(uid: int, *cmd: str) -> subprocess.CompletedProcess:
    setpriv = shutil.which("setpriv") or "setpriv"
    groups = ["--groups=199999"] if mode() == PERMISSIONS else ["--clear-groups"]
    prefix = [setpriv, f"--reuid={uid}", f"--regid={uid}", *groups]
    return subprocess.run([*prefix, *cmd], capture_output=True, text=True, cwd="/")


@ROOT_ONLY
def test_the_copy_is_its_workers_alone(tmp_path):
    """The sandbox's copy is readable by its worker's user, and by no other worker's."""
    ws = make_workspace(tmp_path)
    with Sandbox(ws) as sandbox:
        engine = sandbox.package / "micrograd" / "engine.py"
        assert _as_user(worker_uid(), "cat", str(engine)).returncode == 0
        for other in (worker_uid() + 1, 65534):
            assert _as_user(other, "cat", str(engine)).returncode != 0
            assert _as_user(other, "ls", str(sandbox.root)).returncode != 0
            assert _as_user(other, "ls", str(sandbox.package)).returncode != 0


# -- bwrap: what its policy binds, and whether student code can read it -----------------------


@pytest.mark.skipif(mode() != BWRAP, reason="bwrap's command line")
def test_no_host_path_on_any_command_line_in_bwrap(tmp_path):
    body = """
    import glob
    for _path in sorted(glob.glob("/proc/*/cmdline")):
        try:
            print(_path, open(_path, "rb").read().replace(b"\\0", b" ").decode()[:300])
        except OSError:
            pass
"""
    out = printed(assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body))))
    assert "/proc/1/cmdline" in out and "--args" in out, out
    hosts = [str(ROOT), tempfile.gettempdir() + "/", *policy.numpy_dirs(os.geteuid() == 0)]
    hosts += ["site-packages", "micrograd-grade-", "--ro-bind"]
    assert not [h for h in hosts if h in out], out


@pytest.mark.skipif(mode() != BWRAP, reason="bwrap's policy binds libraries only")
@pytest.mark.skipif(not os.access("/usr/lib", os.W_OK), reason="needs root, to plant the bundle")
def test_packages_bundled_under_system_libraries_are_hidden(tmp_path):
    """A program's own Python packages under /usr/lib, outside any site-packages (seen: a
    cloud SDK's third_party/): not importable, the folder not even there."""
    bundle = Path(tempfile.mkdtemp(prefix="micrograd-kit-test-sdk-", dir="/usr/lib"))
    try:
        third_party = bundle / "lib" / "third_party"
        third_party.mkdir(parents=True)
        (third_party / "leaked_engine.py").write_text(ENGINE_TEXT)
        for folder in (bundle, bundle / "lib", third_party):
            folder.chmod(0o755)
        body = f"""
    import os, sys
    print("bundle visible", os.path.exists({str(bundle)!r}))
    sys.path.append({str(third_party)!r})
    import leaked_engine
    return open(leaked_engine.__file__).read()
"""
        report = assert_no_better_than_stubs(make_workspace(tmp_path, files=attack(body)))
        assert "blocked: ModuleNotFoundError" in printed(report)
        assert "bundle visible False" in printed(report)
    finally:
        shutil.rmtree(bundle)


@pytest.mark.skipif(mode() != BWRAP, reason="bwrap binds the libraries the binaries name")
def test_every_standard_library_module_imports_in_bwrap(tmp_path):
    """Only the libraries found from the binaries are bound: each extension module of the
    standard library, and numpy's BLAS, must still load."""
    probe = """
import glob, importlib, os, sys
_bad = []
for _so in glob.glob(os.path.join(os.path.dirname(os.__file__), "lib-dynload", "*.so")):
    _name = os.path.basename(_so).split(".")[0]
    try:
        importlib.import_module(_name)
    except Exception as _e:
        _bad.append(f"{_name}: {_e}")
import numpy
print("bad", _bad, "blas", round(float(numpy.linalg.det(numpy.eye(3) * 2)), 6))
"""
    ws = make_workspace(tmp_path, files={"engine.py": probe + STUB_ENGINE})
    out = printed(grade_hostile(ws, codes=(1,)))
    assert "bad [] blas 8.0" in out, out


# -- where a lock does not hold: found, and refused -------------------------------------------

REASON = "the permissions sandbox cannot keep its promises here: a test says so"


def test_where_a_promise_fails_batch_and_gradescope_refuse(tmp_path, monkeypatch):
    """One line each: `grade batch` will not run, Gradescope's run gives no score, a student's
    own `grade` grades and says why in one line."""
    import grader.sandbox

    monkeypatch.setattr(grader.sandbox, "shortfall", lambda: REASON)
    alice = workspace(tmp_path / "class" / "alice")
    out = tmp_path / "grades"
    batch = invoke(["batch", str(tmp_path / "class"), "--out", str(out), "-e", "1"])
    assert batch.exit_code == 2
    refusal = f"Error: {REASON}, so grade batch will not run (or pass --unsafe-no-sandbox)"
    assert batch.stderr.strip() == refusal
    assert not out.exists()
    monkeypatch.setenv("MICROGRAD_REQUIRE_SANDBOX", "1")  # what run_autograder sets
    result, report = grade_result(alice, "exercise-1")
    assert result.exit_code == 2 and report["score"] == 0
    assert report["extra_data"]["error"] == REASON
    monkeypatch.delenv("MICROGRAD_REQUIRE_SANDBOX")
    one = invoke(["exercise-1", "--submission", str(alice), "--pictures", str(tmp_path / "p")])
    assert one.exit_code == 0, one.stderr
    assert len([line for line in one.stderr.splitlines() if REASON in line]) == 1


@pytest.mark.skipif(mode() != PERMISSIONS, reason="the probe of the permissions mode")
def test_the_probe_finds_a_lock_that_does_not_hold(monkeypatch):
    """Run as a worker, the probe notices a worker without its seccomp filter, and a shared
    folder that workers may list."""
    from grader.sandbox import permissions

    assert permissions.shortfall.__wrapped__() == ""
    with monkeypatch.context() as patched:
        patched.setattr(permissions, "seccomp_filter", lambda: lambda: None)
        assert "could open a socket" in permissions.shortfall.__wrapped__()
    # a shared folder of its own, left listable (r-x for all), as the grader before issue 9
    # left /tmp: not /tmp itself, which graders running beside this test close again
    listable = Path(tempfile.mkdtemp(dir=tempfile.gettempdir(), prefix="shared-"))
    try:
        listable.chmod(0o755)
        with monkeypatch.context() as patched:
            patched.setattr(permissions, "prepare", lambda: None)
            patched.setattr(permissions, "shared_folders", lambda: [listable])
            assert "could list a shared folder" in permissions.shortfall.__wrapped__()
    finally:
        listable.rmdir()


@ROOT_ONLY
def test_ipc_objects_of_a_worker_user_are_removed():
    """The second lock behind seccomp: whatever IPC object a worker's user made goes with it."""
    from grader.sandbox.processes import remove_ipc_of

    uid, key = 250_000 + os.getpid() % 10_000, 0x4D480000 + os.getpid() % 0xFFF0
    make = (
        "import ctypes; _l = ctypes.CDLL(None); "
        f"print(_l.msgget({key}, 0o1600), _l.semget({key + 1}, 1, 0o1600), "
        f"_l.shmget({key + 2}, 4096, 0o1600))"
    )
    made = _as_user(uid, policy.interpreter(True)[0], "-I", "-S", "-c", make)
    assert "-1" not in made.stdout.split(), made.stdout + made.stderr
    assert {key, key + 1, key + 2} <= _sysv_keys()
    remove_ipc_of(uid)
    assert not {key, key + 1, key + 2} & _sysv_keys()


def test_the_libraries_are_read_from_the_binaries():
    """The interpreter's libraries, found from its ELF header: the C library and the loader."""
    from grader.sandbox import libraries

    python = policy.interpreter(os.geteuid() == 0)[0]
    found = libraries.needed_by([python])
    assert any(os.path.basename(p).startswith("libc.so") for p in found), found
    assert libraries.Elf(python).interp in found
    assert all(os.path.isfile(p) for p in found)
    assert libraries.needed_by([__file__]) == []  # not ELF: nothing
