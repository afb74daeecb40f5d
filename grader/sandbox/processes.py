"""The worker's process: its user, its limits, and what is cleaned up after it.

Limits are per submission: a worker is one process, so its RLIMIT_AS (memory), RLIMIT_CPU
(CPU time, all threads) and the tmpfs sizes (disk) bound the whole submission.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# As root, the worker runs as a user of its own, UID_BASE + the grader's pid: unprivileged, and
# unlike a shared `nobody`, its process limit and files are not shared with another worker
# running beside it (a batch grades several submissions at once).
UID_BASE = 200_000


def worker_uid() -> int:
    return UID_BASE + os.getpid()


@dataclass(frozen=True)
class Limits:
    # time for one request: the worker's CPU seconds, plus any time it sleeps (WorkerClock);
    # wall-clock time only as a far backstop (BACKSTOP times this), so load changes no grade
    request_seconds: float = 10.0
    cpu_seconds: int = 120  # CPU time for one worker process, all requests together
    memory_bytes: int = 2 * 1024**3  # address space
    file_bytes: int = 8 * 1024**2  # largest file it may write, its captured output included
    output_chars: int = 2000  # how much of its output a report shows
    reply_bytes: int = 16 * 1024**2  # largest reply line
    # processes and threads of the worker's own user ("permissions" mode; in "bwrap" mode
    # seccomp forbids new processes): 1, so RLIMIT_AS and RLIMIT_CPU bound the submission
    processes: int = 1


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG).

    The worker's `unshare` gets this, so a grader that is killed (kill -9, a batch timeout)
    takes its worker along: `unshare --kill-child` then ends the worker's PID namespace.
    """
    _prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG; elsewhere the grader's own cleanup runs


def adopt_orphans() -> None:
    """Make this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER).

    A killed worker's processes outlive their parent (`unshare`, or the worker itself) by a
    moment, as zombies, until a reaper collects them; by default that is PID 1, and a
    container's PID 1 may reap once a second or two, or never. Until then they count against
    the worker user's process limit (1), so the next worker could not start: the grader waited
    for them, up to 2 s a restart. Adopted, they are ours to reap at once (kill_processes_of).
    """
    _prctl(36, 1)  # 36 = PR_SET_CHILD_SUBREAPER; elsewhere kill_processes_of waits instead


def _prctl(option: int, value: int) -> None:
    """prctl(option, value) on Linux; nothing where there is no such call."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
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
    """SIGKILL every process of user `uid` and wait (up to `wait` s) until none is left.

    Those that are our children (adopted orphans, adopt_orphans) are reaped here; others
    wait for their own parent or PID 1."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        left = []
        for pid in pids_of(uid):
            try:
                os.kill(pid, signal.SIGKILL)
                if not _reaped(pid):
                    left.append(pid)
            except OSError:
                pass
        if not left:
            return
        time.sleep(0.005)


def pids_of(uid: int) -> list[int]:
    """The processes of user `uid` (the owners of /proc's entries)."""
    pids = []
    for proc in os.scandir("/proc"):
        try:
            if proc.name.isdigit() and proc.stat().st_uid == uid:
                pids.append(int(proc.name))
        except OSError:
            pass
    return pids


def _reaped(pid: int) -> bool:
    """Reap `pid` if it is a child of ours that has ended; whether it is gone."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:  # not ours: its parent, or PID 1, reaps it
        return False


# /proc/sysvipc/<kind>: the columns of the id and of the owner's and creator's uids, and
# the call that removes one (IPC_RMID = 0)
SYSV = {
    "shm": (1, (7, 9), lambda libc, i: libc.shmctl(i, 0, None)),
    "msg": (1, (7, 9), lambda libc, i: libc.msgctl(i, 0, None)),
    "sem": (1, (4, 6), lambda libc, i: libc.semctl(i, 0, 0)),
}
MQUEUE = "/dev/mqueue"  # POSIX message queues, where the mqueue file system is mounted


def remove_ipc_of(uid: int) -> None:
    """Remove every IPC object user `uid` owns or made: System V shared memory segments,
    message queues and semaphore sets, and POSIX message queues (/dev/mqueue; POSIX shared
    memory and semaphores are files in /dev/shm, which remove_files_of clears). Outside an
    IPC namespace of its own nothing ends them with the worker. The seccomp filter already
    forbids making them: this is the second lock."""
    libc = None
    for kind, (id_column, uid_columns, remove) in SYSV.items():
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > max(uid_columns) and uid in (int(fields[c]) for c in uid_columns):
                if libc is None:
                    import ctypes

                    libc = ctypes.CDLL(None, use_errno=True)
                remove(libc, int(fields[id_column]))
    try:
        queues = list(os.scandir(MQUEUE))
    except OSError:
        return
    for queue in queues:
        try:
            if queue.stat(follow_symlinks=False).st_uid == uid:
                os.unlink(queue.path)
        except OSError:
            pass


def rlimits(limits: Limits, as_nobody: bool = False) -> list[tuple[int, tuple[int, int]]]:
    """The worker's resource limits, as (RLIMIT_*, (soft, hard)) pairs for setrlimit."""
    pairs = []
    if as_nobody:
        # Counted per user (threads included), so only for the worker's own user: with 1, the
        # worker can start no process and no thread. Root ignores it for the `unshare` and
        # `setpriv` that run before the drop; bwrap, which forks, starts before the drop.
        pairs.append((resource.RLIMIT_NPROC, (limits.processes, limits.processes)))
    return pairs + [
        (resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1)),
        (resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes)),
        (resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]


PRLIMIT_OPTIONS = {
    resource.RLIMIT_CPU: "--cpu",
    resource.RLIMIT_AS: "--as",
    resource.RLIMIT_FSIZE: "--fsize",
    resource.RLIMIT_CORE: "--core",
}


def prlimit_prefix(limits: Limits) -> list[str]:
    """util-linux's `prlimit` command prefix that sets the limits (bwrap mode's: no process
    limit, seccomp forbids processes there), then runs the rest, which inherits them; empty
    where there is no `prlimit`."""
    prlimit = shutil.which("prlimit")
    if not prlimit:
        return []
    pairs = rlimits(limits)
    return [prlimit, *(f"{PRLIMIT_OPTIONS[r]}={soft}:{hard}" for r, (soft, hard) in pairs), "--"]


def limit(
    limits: Limits, as_nobody: bool, seccomp_filter: Callable[[], None] | None = None
) -> None:  # runs in the child between fork and exec ("permissions" mode)
    die_with_parent()
    for which, pair in rlimits(limits, as_nobody):
        resource.setrlimit(which, pair)
    if seccomp_filter is not None:  # "permissions" mode: no socket, no IPC object (seccomp.py)
        seccomp_filter()


# -- the worker's time, measured from outside -------------------------------------------------
#
# A budget in wall-clock seconds depends on the machine's load: the same code took 11.5 s idle
# and 18 s beside CPU hogs. Budgets count what the worker's processes did instead: the CPU time
# the kernel charged them (/proc/PID/stat, read by the grader, never reported by the worker,
# whose code is the student's), plus the time they slept while a request waited (a stall: no
# load makes a process sleep). Time spent waiting for a busy CPU counts for nothing. Wall-clock
# time stays as a far backstop, BACKSTOP times the budget. In bwrap mode the worker is a
# grandchild (bwrap, bwrap's init in the new PID namespace, python); every process below the
# one the grader started is counted.

BACKSTOP = 5.0  # wall-clock limit = BACKSTOP x the CPU budget
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[str, str, int, float, int] | None:
    """(name, state, parent pid, CPU seconds, start time) of a process; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    name = data[data.find(b"(") + 1 : data.rfind(b")")].decode("utf-8", "replace")
    fields = data[data.rfind(b")") + 2 :].split()
    # utime and stime, the process's own (its threads included), in clock ticks
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    return name, fields[0].decode(), int(fields[1]), cpu, int(fields[19])


def descendants(root: int) -> list[int]:
    """root and every process below it (from /proc's parent links)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None:
                parents.setdefault(st[2], []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


class WorkerClock:
    """The CPU seconds a worker's processes have used so far, and whether it is asleep."""

    def __init__(self, root: int):
        self.root = root
        self.pids: list[int] = []
        self.settled = False  # the interpreter is among the pids: no new process will come
        self.used: dict[int, float] = {}  # each process's last reading (a dead one keeps it)
        self.started: dict[int, int] = {}  # each one's start time: a pid used again is not it

    def read(self) -> tuple[float, bool]:
        """(CPU seconds, asleep: the interpreter runs, and every live process of the worker
        sleeps or is stopped)."""
        if not self.settled:
            self.pids = descendants(self.root)
        asleep, alive = True, False
        for pid in self.pids:
            st = _stat(pid)
            if st is None:
                continue
            name, state, _, cpu, started = st
            if self.started.setdefault(pid, started) != started:
                continue
            self.settled = self.settled or name.startswith("python")
            self.used[pid] = cpu
            alive = True
            asleep = asleep and state in "STt"  # not running, runnable (R) or in disk I/O (D)
        # before the interpreter runs, bwrap sets up (and waits on its own child): no stall
        return sum(self.used.values()), asleep and alive and self.settled
