"""Run student code in a separate, limited worker process and talk to it in plain numbers.

The worker (grader/sandbox/worker/) runs `python -I -S` on a temporary copy of the
submission's `micrograd/` package, in one of three modes (`mode()`; MICROGRAD_SANDBOX forces
one):

- "bwrap": inside bubblewrap, whose whole policy is policy.py: it sees its own files, the
  standard library and numpy, nothing else; no network, no other process, no new process
  (seccomp.py). As root, bwrap itself runs as a user of the worker's own.
- "permissions", as root where namespaces are forbidden (Docker's default profile): the
  worker runs as a user of its own, and what it must not read is denied to that user by
  POSIX ACLs (acl.py); a process limit of 1 forbids new processes and threads.
- "unprotected", a normal user without bwrap: today's isolation only (no site-packages, PID
  and network namespaces where allowed); fine for a student's own work, refused for a batch
  and for Gradescope unless asked for with --unsafe-no-sandbox.

Limits are per submission: a worker is one process, so its RLIMIT_AS (memory), RLIMIT_CPU
(CPU time, all threads) and the tmpfs sizes (disk) bound the whole submission; the grader
caps each request's wall time and each exercise's total time (runner.py).

Nothing the worker prints or exits with is a verdict: replies are JSON numbers that the
checks validate and compare.
"""

from __future__ import annotations

import functools
import json
import math
import os
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox import acl, policy, seccomp

WORKER = Path(__file__).parent / "worker"  # the package student code can see
BWRAP, PERMISSIONS, UNPROTECTED = "bwrap", "permissions", "unprotected"
NO_SANDBOX = (
    "student code cannot be sandboxed here: bubblewrap (bwrap) is missing or cannot run, and "
    "the grader is not root"
)
NO_SANDBOX_NOTE = (
    "bubblewrap is not installed, so your code ran with basic isolation only (fine for your "
    "own work; `sudo apt-get install bubblewrap` for the full sandbox)"
)
# As root, the worker runs as a user of its own, UID_BASE + the grader's pid: unprivileged, and
# unlike a shared `nobody`, its process limit and files are not shared with another worker
# running beside it (a batch grades several submissions at once).
UID_BASE = 200_000
KIT = Path(__file__).resolve().parents[2]  # the kit's source tree (grader/sandbox/ is in it)


def worker_uid() -> int:
    return UID_BASE + os.getpid()


GIVE_UP_AFTER = 3  # timeouts in a row after which a sandbox stops starting workers


@dataclass(frozen=True)
class Limits:
    request_seconds: float = 10.0  # wall time for one request
    cpu_seconds: int = 120  # CPU time for one worker process, all requests together
    memory_bytes: int = 2 * 1024**3  # address space
    file_bytes: int = 8 * 1024**2  # largest file it may write, its captured output included
    output_chars: int = 2000  # how much of its output a report shows
    reply_bytes: int = 16 * 1024**2  # largest reply line
    # processes and threads of the worker's own user ("permissions" mode; in "bwrap" mode
    # seccomp forbids new processes): 1, so RLIMIT_AS and RLIMIT_CPU bound the submission
    processes: int = 1


class WorkerFailed(Exception):
    """The worker could not answer: it hung, died, exited, or sent something malformed."""


class TooLarge(Exception):
    """The submission's package is too large to copy into the sandbox."""


class StudentError(Exception):
    """The student's code raised an exception while serving a request."""

    def __init__(self, kind: str, message: str, where: str):
        kind, message, where = clean(kind), clean(message), clean(where)
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.where = kind, message, where

    @property
    def not_implemented(self) -> bool:
        return self.kind == "NotImplementedError"


class OutOfTime(StudentError):
    """The exercise's time budget is spent: this check, and those after it, fail."""

    def __init__(self, message: str):
        super().__init__("OutOfTime", message, "")


class UnreadableReply(StudentError):
    """The worker's reply is not what the protocol says (malformed JSON, a wrong id...)."""

    def __init__(self, message: str):
        super().__init__("UnreadableReply", message, "")


def clean(text: str) -> str:
    """Student text made safe to print and to put in XML: valid UTF-8, no control characters."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(c if c in "\n\t" or (c.isprintable() and c != "\ufffe") else "?" for c in text)


def _accessible_to_nobody(path: Path) -> bool:
    """Can an unprivileged user (nobody, the worker) execute `path`? Each folder needs o+x,
    on the way to the path as given (a venv's link) and on the way to what it links to."""
    for target in {Path(os.path.abspath(path)), path.resolve()}:
        for part in [*reversed(target.parents), target]:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
    return True


@functools.cache
def _interpreter(as_nobody: bool) -> str:
    """A Python of our version that the worker's user can run."""
    here = Path(sys.executable)
    inside_kit = KIT in Path(os.path.abspath(here)).parents  # denied to workers (acl.py)
    if not as_nobody or (_accessible_to_nobody(here) and not inside_kit):
        return str(here)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in [shutil.which(version, path="/usr/bin:/usr/local/bin:/bin")]:
        if candidate and _accessible_to_nobody(Path(candidate)):
            return candidate
    return ""


@functools.cache
def isolation() -> tuple[list[str], bool]:
    """Outside bwrap: the command prefix that isolates the worker, and whether it drops to an
    unprivileged user (as root, "permissions" mode)."""
    root = os.geteuid() == 0
    unshare = shutil.which("unshare")
    candidates = []
    can_drop = root and shutil.which("setpriv") and _interpreter(True)
    if unshare and can_drop:
        pid_net = [unshare, "--pid", "--fork", "--kill-child", "--net", "--ipc", "--"]
        candidates.append((pid_net, True))
    if unshare and not root:
        base = [unshare, "--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--net"]
        candidates.append(([*base, "--"], False))
    if can_drop:
        candidates.append(([], True))
    for prefix, drops in candidates:
        drop = _drop() if drops else []
        probe = subprocess.run([*prefix, *drop, "/bin/true"], capture_output=True, timeout=10)
        if probe.returncode == 0:
            return prefix, drops
    return [], False


def _drop(workers_group: bool = True) -> list[str]:
    """setpriv's command prefix that runs the rest as the worker's own user, whose one other
    group is the workers' (acl.WORKERS: what is denied to it is denied to every worker). bwrap
    goes without it: it must reach numpy in a site-packages that ACLs may close to workers."""
    uid = worker_uid()
    setpriv = shutil.which("setpriv") or "setpriv"
    groups = f"--groups={acl.WORKERS}" if workers_group else "--clear-groups"
    return [setpriv, f"--reuid={uid}", f"--regid={uid}", groups]


def bwrap_command(worker: Path, submission: Path, python_args: list[str]) -> tuple[list[str], int]:
    """The command that runs the worker in bubblewrap, and the seccomp filter's descriptor to
    pass to it (the caller closes it). As root, bwrap starts as the worker's own user."""
    root = os.geteuid() == 0
    seccomp_fd = seccomp.pipe_with_program()
    bwrap = shutil.which("bwrap") or "bwrap"
    args = policy.bwrap_args(worker, submission, python_args, as_other_user=root)
    return [*(_drop(False) if root else []), bwrap, "--seccomp", str(seccomp_fd), *args], seccomp_fd


def _bwrap_works() -> bool:
    """Can bwrap start our interpreter in the sandbox here (installed, namespaces allowed)?"""
    if not shutil.which("bwrap") or not seccomp.supported():
        return False
    if not policy.interpreter(os.geteuid() == 0)[0]:
        return False
    empty = Path(tempfile.mkdtemp(prefix="micrograd-probe-"))
    try:
        empty.chmod(0o755)
        probe = "pass"
        cmd, fd = bwrap_command(empty, empty, ["-I", "-S", "-c", probe])
        try:
            probe = subprocess.run(cmd, capture_output=True, timeout=30, pass_fds=(fd,))
        finally:
            os.close(fd)
        return probe.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(empty, ignore_errors=True)


@functools.cache
def mode() -> str:
    """How the worker is isolated here: BWRAP, PERMISSIONS or UNPROTECTED (see the top).

    MICROGRAD_SANDBOX=bwrap|permissions|unprotected forces one (permissions needs root).
    """
    forced = os.environ.get("MICROGRAD_SANDBOX", "")
    if forced == BWRAP or (not forced and _bwrap_works()):
        return BWRAP
    if forced in ("", PERMISSIONS) and isolation()[1] and _acls_work():
        return PERMISSIONS
    return UNPROTECTED


def _acls_work() -> bool:
    probe = Path(tempfile.mkdtemp(prefix="micrograd-probe-"))
    try:
        acl.deny_workers(probe)
        return True
    except acl.CannotProtect:
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


WRITABLE_BY_ALL = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue")


def protect(paths: list[Path]) -> None:
    """In "permissions" mode, make `paths` unreadable to every worker (acl.py); elsewhere
    nothing to do: in bwrap they do not exist, and a normal user's worker is the user."""
    if mode() != PERMISSIONS:
        return
    # never a folder the workers must cross to reach their own copies (/, /tmp, ...)
    needed = {Path("/"), *map(Path, WRITABLE_BY_ALL), *Path(tempfile.gettempdir()).parents}
    needed.add(Path(tempfile.gettempdir()))
    for path in paths:
        if Path(path).resolve() not in needed:
            acl.deny_workers(Path(path))


@functools.cache
def _always_protected() -> tuple[Path, ...]:
    """The kit, the grader's site-packages (torch), and every other Python's packages."""
    import site

    python, stdlib, libdir = policy.interpreter(True)
    found = [KIT, *map(Path, site.getsitepackages()), Path(site.getusersitepackages())]
    for lib in {*policy.SYSTEM_LIBS, "/usr/local/lib", libdir}:
        if os.path.isdir(lib):
            found += map(Path, policy._hidden_in(os.path.realpath(lib), stdlib))
    return tuple(p for p in found if p.exists())


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG).

    The worker's `unshare` gets this, so a grader that is killed (kill -9, a batch timeout)
    takes its worker along: `unshare --kill-child` then ends the worker's PID namespace.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the grader's own cleanup still runs
        pass


SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")  # where anyone may write


def remove_files_of(uid: int) -> None:
    """Remove what user `uid` left in the world-writable folders.

    The worker's user is its grader's alone, so whatever it owns there is the worker's, and
    goes when the worker does, as its processes do.
    """
    for folder in SHARED_FOLDERS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def kill_processes_of(uid: int, wait: float = 2.0) -> None:
    """SIGKILL every process of user `uid` and wait (up to `wait` s) until none is left."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        left = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and proc.stat().st_uid == uid:
                    left.append(int(proc.name))
                    os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                pass
        if not left:
            return
        time.sleep(0.005)


def remove_shared_memory_of(uid: int) -> None:
    """Remove the System V shared memory segments user `uid` made (outside bwrap, where they
    would stay in RAM after the worker: no IPC namespace of its own ends them)."""
    try:
        lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for line in lines:
        fields = line.split()  # key shmid perms size cpid lpid nattch uid gid cuid ...
        if len(fields) > 9 and uid in (int(fields[7]), int(fields[9])):
            libc.shmctl(int(fields[1]), 0, None)  # IPC_RMID


def _limit(limits: Limits, as_nobody: bool) -> None:  # runs in the child between fork and exec
    die_with_parent()
    if as_nobody:
        # Counted per user (threads included), so only for the worker's own user: with 1, the
        # worker can start no process and no thread. Root ignores it for the `unshare` and
        # `setpriv` that run before the drop; bwrap, which forks, starts before the drop.
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def launcher(path: list[str]) -> str:
    """The worker's `python -c` program: `path` (the folder of the package `worker`, numpy's
    folder) on sys.path, then the worker's main()."""
    return f"import sys; sys.path[:0] = {path!r}; from worker.main import main; main()"


def copy_package(src: Path, dst: Path, max_files: int = 200, max_bytes: int = 20 * 1024**2) -> None:
    """Copy the submission's micrograd/ package: regular files only, links never followed."""
    count = size = 0
    for path in sorted(src.rglob("*")):
        if path.is_symlink() or "__pycache__" in path.parts:
            continue
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            count += 1
            size += path.stat().st_size
            if count > max_files or size > max_bytes:
                raise TooLarge(
                    f"the submission's micrograd/ folder is too large "
                    f"(over {max_files} files or {max_bytes // 1024**2} MB)"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


class Sandbox:
    """One worker process for a workspace, restarted after any failure."""

    def __init__(self, workspace: Path, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.mode = mode()
        if self.mode == PERMISSIONS:
            protect(list(_always_protected()))
            for folder in WRITABLE_BY_ALL:  # the worker writes nowhere: no disk to fill
                if os.path.isdir(folder):
                    acl.deny_workers(Path(folder), allow=0o5)
        self.prefix, self.drops = isolation() if self.mode != BWRAP else ([], False)
        # A fresh private folder (mkdtemp: mode 0700, an unpredictable name) that only its
        # contents are opened up from: the copies the worker reads, and its scratch folder.
        self.root = Path(tempfile.mkdtemp(prefix="micrograd-grade-"))
        self.package = self.root / "workspace"
        self.package.mkdir()
        try:
            copy_package(Path(workspace) / "micrograd", self.package / "micrograd")
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        self.runtime = self.root / "runtime"
        self.runtime.mkdir()
        shutil.copytree(
            WORKER, self.runtime / "worker", ignore=shutil.ignore_patterns("__pycache__")
        )
        self.scratch = self.root / "scratch"  # outside bwrap: the worker's cwd and HOME
        self.scratch.mkdir()
        for path in [self.root, *self.root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        if self.drops and self.mode != PERMISSIONS:
            uid = worker_uid()
            os.chown(self.scratch, uid, uid)
        self.output_path = self.root / "output.txt"
        self.proc: subprocess.Popen | None = None
        self.outputs: list[str] = []
        self.failures = 0
        self.timeouts_in_a_row = 0
        self.set_budget(None)

    # -- process life ------------------------------------------------------------------

    def _command(self, req_r: int, rep_w: int) -> tuple[list[str], list[int]]:
        """The worker's command line, and the descriptors it must inherit."""
        flags = ["-I", "-S", "-B", "-u", "-c"]
        if self.mode == BWRAP:
            args = [
                *flags,
                launcher(policy.SYS_PATH),
                policy.SUBMISSION_DIR,
                str(req_r),
                str(rep_w),
            ]
            cmd, seccomp_fd = bwrap_command(self.runtime / "worker", self.package, args)
            return cmd, [req_r, rep_w, seccomp_fd]
        numpy = policy.numpy_dirs(self.drops, alone=True)[:1]
        path = [str(self.runtime), *(os.path.dirname(d) for d in numpy)]
        python = _interpreter(self.drops)
        args = [python, *flags, launcher(path), str(self.package), str(req_r), str(rep_w)]
        return [*self.prefix, *(_drop() if self.drops else []), *args], [req_r, rep_w]

    def _start(self) -> None:
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        cmd, fds = self._command(req_r, rep_w)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.scratch), **policy.ENV}
        env["HOME"] = str(self.scratch)
        try:
            with open(self.output_path, "wb") as out:
                self.proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    pass_fds=fds,
                    cwd=self.scratch,
                    env=env,
                    start_new_session=True,
                    preexec_fn=functools.partial(
                        _limit, self.limits, self.mode == PERMISSIONS and self.drops
                    ),
                )
        finally:
            for fd in fds:
                os.close(fd)
        self._buffer = b""

    def _stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.kill()
        self.proc.wait()
        if self.mode == PERMISSIONS:
            # its processes die with it, but are reaped a moment later; the next worker's
            # process limit of 1 counts them until then
            kill_processes_of(worker_uid())
        for fd in (self._req_w, self._rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.outputs.append(self._read_output())
        self.proc = None

    def _read_output(self) -> str:
        try:
            with open(self.output_path, "rb") as f:
                data = f.read(self.limits.output_chars + 1)
        except OSError:
            return ""
        text = clean(data.decode("utf-8", "replace"))
        if len(text) > self.limits.output_chars:
            text = text[: self.limits.output_chars] + "\n... (output truncated)"
        return text

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.drops:  # outside bwrap, /tmp and System V IPC are shared
            remove_files_of(worker_uid())
            remove_shared_memory_of(worker_uid())

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def output(self) -> str:
        """What student code printed, truncated, across every worker process so far."""
        text = "".join(o for o in self.outputs if o)
        if self.proc is not None:
            text += self._read_output()
        return text[: self.limits.output_chars + 40]

    # -- requests --------------------------------------------------------------------------

    def request(self, kind: str, timeout: float | None = None, **payload: object) -> dict:
        """Send one request and return the worker's reply (a dict of plain values).

        Raises StudentError when the student's code raised, WorkerFailed when the worker
        could not answer (it is then stopped; the next request starts a new one).
        """
        if self.timeouts_in_a_row >= GIVE_UP_AFTER:
            # A worker that hangs at import would cost every check its full wall time; after
            # a few timeouts in a row the rest fail at once, for the same reason.
            raise WorkerFailed(
                f"not run: the worker timed out {GIVE_UP_AFTER} times in a row "
                "(an infinite loop when your code is imported, or far too slow)"
            )
        left = self.time_left()
        if left <= 0:
            raise OutOfTime(self.budget_note)
        if self.proc is None:
            self._start()
        self._id = getattr(self, "_id", 0) + 1
        line = json.dumps({"id": self._id, "kind": kind, **payload}).encode() + b"\n"
        try:
            os.write(self._req_w, line)
        except OSError:
            self._fail()
        reply = self._read_reply(min(timeout or self.limits.request_seconds, left))
        self.timeouts_in_a_row = 0
        if not isinstance(reply, dict) or reply.get("id") != self._id:
            self._unreadable("a reply to another request, or no reply object at all")
        if not isinstance(reply.get("ok"), bool):
            self._unreadable("a reply without its `ok` field")
        if not reply["ok"]:
            raise StudentError(
                str(reply.get("error", "Error")),
                str(reply.get("message", "")),
                str(reply.get("where", "")),
            )
        return reply

    def set_budget(self, seconds: float | None, note: str = "") -> None:
        """From now on, all requests together may take `seconds` (None: no budget); past it,
        each raises OutOfTime(note)."""
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.budget_note = note or "ran out of time"

    def time_left(self) -> float:
        deadline = getattr(self, "deadline", None)
        return math.inf if deadline is None else deadline - time.monotonic()

    def _read_reply(self, timeout: float) -> object:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                if self.time_left() <= 0:  # the exercise's budget, not this request's limit
                    self._stop()
                    raise OutOfTime(self.budget_note)
                self.timeouts_in_a_row += 1
                self._fail(f"timed out after {timeout:g} s (an infinite loop, or far too slow)")
            ready, _, _ = select.select([self._rep_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._rep_r, 1 << 16)
            if not chunk:
                self._fail()
            self._buffer += chunk
            if len(self._buffer) > self.limits.reply_bytes:
                self._fail("the worker's reply was too large")
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line, parse_constant=lambda c: None)
        except (ValueError, RecursionError) as exc:  # not JSON; an int of 5,000 digits
            self._unreadable(f"not JSON ({str(exc)[:80]})")
        raise AssertionError  # unreachable

    def _unreadable(self, why: str) -> None:
        """A reply the grader cannot read: the student's wrong answer to this request. The
        worker is replaced (what it sends next cannot be trusted to line up)."""
        self._stop()
        raise UnreadableReply(
            f"your code sent a malformed reply, which the grader cannot read: {why}"
        )

    def _fail(self, reason: str | None = None) -> None:
        proc = self.proc
        if reason is None and proc is not None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            reason = describe_exit(code, self.limits)
        self.failures += 1
        self._stop()
        raise WorkerFailed(reason or "the worker stopped")


def describe_exit(code: int | None, limits: Limits) -> str:
    if code is None:
        return "the worker closed its pipe and stopped answering"
    if code == 0:
        return "the worker exited early with status 0 (did your code call exit()?)"
    if code < 0:
        sig = signal.Signals(-code)
        why = {
            signal.SIGXCPU: f"it used more than {limits.cpu_seconds} s of CPU time",
            signal.SIGXFSZ: f"it wrote over {limits.file_bytes // 1024**2} MB (flooding output?)",
            signal.SIGKILL: "it was killed (out of memory?)",
            signal.SIGSEGV: "it crashed (segmentation fault: infinite recursion?)",
        }.get(sig, f"it was stopped by {sig.name}")
        return f"the worker died: {why}"
    return f"the worker exited with status {code}"


def finite(values: object, count: int | None = None) -> list[float] | None:
    """The list of floats the worker sent, or None when it is not count finite numbers."""
    if not isinstance(values, list) or (count is not None and len(values) != count):
        return None
    out = []
    for v in values:
        try:
            if type(v) not in (int, float) or not math.isfinite(float(v)):
                return None
        except OverflowError:  # an int too large for a float
            return None
        out.append(float(v))
    return out
