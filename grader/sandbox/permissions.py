"""Outside bubblewrap: the "permissions" mode (as root where namespaces are forbidden) and the
"unprotected" one (a normal user without bwrap).

In "permissions" mode the worker runs as a user of its own (UID_BASE + the grading process's
pid), and every promise of the README's security model is kept by a lock of its own:

  the kit, site-packages, submissions,   POSIX ACLs deny them to the workers' group (acl.py)
  results, the course secret's file
  its own copy, private                   readable by its user alone (acl.only_for)
  /tmp and the other shared folders       crossable, not listable, not writable (acl.py)
  no other process                        a PID namespace with its own /proc (`unshare`);
                                          without `unshare`, ids and command lines are
                                          visible, nothing else (another user's environment,
                                          memory and files are closed by the kernel), and no
                                          command line holds a secret
  no network, no IPC object               the seccomp filter (seccomp.py), in network and
                                          IPC namespaces too where `unshare` works; IPC
                                          objects of its user removed after it (processes.py)
  no new process                          a process limit of 1 (RLIMIT_NPROC)

Before grading, a probe run as a worker tries each (shortfall()): where one does not hold,
`grade batch` and the Gradescope bundle refuse, in one line.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from grader.sandbox import acl, policy, seccomp
from grader.sandbox.processes import Limits, limit, worker_uid
from grader.submissions.scratch import private_folder, remove


@functools.cache
def isolation() -> tuple[list[str], bool]:
    """Outside bwrap: the command prefix that isolates the worker, and whether it drops to an
    unprivileged user (as root, "permissions" mode)."""
    root = os.geteuid() == 0
    unshare = shutil.which("unshare")
    candidates = []
    can_drop = root and shutil.which("setpriv") and policy.interpreter(True)[0]
    if unshare and can_drop:
        # its own PID namespace and /proc (so a mount namespace), network and IPC namespaces
        spaces = ["--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--ipc"]
        candidates.append(([unshare, *spaces, "--"], True))
    if unshare and not root:
        base = [unshare, "--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--net"]
        candidates.append(([*base, "--"], False))
    if can_drop:
        candidates.append(([], True))
    for prefix, drops in candidates:
        as_worker = drop() if drops else []
        probe = subprocess.run([*prefix, *as_worker, "/bin/true"], capture_output=True, timeout=10)
        if probe.returncode == 0:
            return prefix, drops
    return [], False


def drop(workers_group: bool = True) -> list[str]:
    """setpriv's command prefix that runs the rest as the worker's own user, whose one other
    group is the workers' (acl.WORKERS: what is denied to it is denied to every worker). bwrap
    goes without it: it must reach numpy in a site-packages that ACLs may close to workers."""
    uid = worker_uid()
    setpriv = shutil.which("setpriv") or "setpriv"
    groups = f"--groups={acl.WORKERS}" if workers_group else "--clear-groups"
    return [setpriv, f"--reuid={uid}", f"--regid={uid}", groups]


def seccomp_filter() -> seccomp.Installer:
    """The filter the worker runs under here (seccomp.py): without its rules on processes
    where `unshare` must fork first."""
    return seccomp.Installer(processes=not isolation()[0])


def acls_work() -> bool:
    probe = private_folder("micrograd-probe-")
    try:
        acl.deny_workers(probe)
        return True
    except acl.CannotProtect:
        return False
    finally:
        remove(probe)


WRITABLE_BY_ALL = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue")


@functools.cache
def always_protected() -> tuple[Path, ...]:
    """The kit, the grader's site-packages (torch), and every other Python's packages."""
    import site

    python, stdlib, libdir = policy.interpreter(True)
    found = [policy.KIT, *map(Path, site.getsitepackages()), Path(site.getusersitepackages())]
    for lib in {*policy.SYSTEM_LIBS, "/usr/local/lib", libdir}:
        if os.path.isdir(lib):
            found += map(Path, policy._hidden_in(os.path.realpath(lib), stdlib))
    return tuple(p for p in found if p.exists())


def _crossed() -> set[Path]:
    """The folders workers must cross to reach their own copies (/, /tmp, ...)."""
    tmp = Path(tempfile.gettempdir()).resolve()
    return {Path("/"), tmp, *tmp.parents}


def shared_folders() -> list[Path]:
    """The folders anyone may write to: WRITABLE_BY_ALL, and $TMPDIR if it is one too."""
    tmp = tempfile.gettempdir()
    found = [*WRITABLE_BY_ALL, *([tmp] if os.stat(tmp).st_mode & 0o002 else [])]
    return [Path(f).resolve() for f in dict.fromkeys(found) if os.path.isdir(f)]


def deny(paths: list[Path]) -> None:
    """Make `paths` unreadable to every worker (acl.py)."""
    needed = {*_crossed(), *shared_folders()}  # the latter: prepare() sees to them
    for path in paths:
        if Path(path).resolve() not in needed:
            acl.deny_workers(Path(path))


@functools.cache
def prepare() -> None:
    """Once per grading process: what no worker may read, and the shared folders, which
    workers may cross (where their copies are) but not list, and write to none."""
    deny(list(always_protected()))
    crossed = _crossed()
    for folder in shared_folders():
        acl.deny_workers(folder, allow=0o1 if folder in crossed else 0)


# Run as a worker would be: the first promise that does not hold, by name, or "ok".
PROBE = """
import os, socket, sys
def one_of(attempts):  # the promise holds if every attempt fails
    for attempt in attempts:
        try:
            attempt()
            return "broken"
        except OSError:
            pass
    return "holds"
def fork():
    if os.fork() == 0:
        os._exit(0)
others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
promises = {
    "network": [lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()],
    "shared folders": [lambda f=f: os.listdir(f) for f in sys.argv[1:]],
    "processes": [lambda p=p: open(f"/proc/{p}/environ", "rb").close() for p in others],
    "new processes": [fork],
}
print(next((n for n, attempts in promises.items() if one_of(attempts) == "broken"), "ok"))
"""

BROKEN = {
    "network": "a worker could open a socket (the seccomp filter did not hold)",
    "shared folders": "a worker could list a shared folder such as /tmp (its ACL did not hold)",
    "processes": "a worker could read another process's environment",
    "new processes": "a worker could start a process (its process limit did not hold)",
}


@functools.cache
def shortfall() -> str:
    """Empty when a worker here is held to every promise (the probe above, run as one); else
    why not, in one line."""
    if not seccomp.supported():
        return "the permissions sandbox has no seccomp filter for this machine's architecture"
    prepare()
    prefix, drops = isolation()
    python = policy.interpreter(True)[0]
    shared = map(str, shared_folders())
    cmd = [*prefix, *(drop() if drops else []), python, "-I", "-S", "-c", PROBE, *shared]
    try:
        probe = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=30,
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
            preexec_fn=functools.partial(limit, Limits(), drops, seccomp_filter()),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the permissions sandbox could not start its probe here ({exc})"
    verdict = probe.stdout.strip()
    if verdict == "ok":
        return ""
    why = BROKEN.get(verdict, f"its probe failed ({(probe.stderr or verdict).strip()[-120:]})")
    return f"the permissions sandbox cannot keep its promises here: {why}"
