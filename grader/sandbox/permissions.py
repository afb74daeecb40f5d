"""Outside bubblewrap: the "permissions" mode (as root where namespaces are forbidden) and the
"unprotected" one (a normal user without bwrap).

In "permissions" mode the worker runs as a user of its own, and what it must not read is denied
to that user by POSIX ACLs (acl.py); a process limit of 1 forbids new processes and threads.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from grader.sandbox import acl, policy
from grader.sandbox.processes import worker_uid
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
        pid_net = [unshare, "--pid", "--fork", "--kill-child", "--net", "--ipc", "--"]
        candidates.append((pid_net, True))
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


def deny(paths: list[Path]) -> None:
    """Make `paths` unreadable to every worker (acl.py)."""
    # never a folder the workers must cross to reach their own copies (/, /tmp, ...)
    needed = {Path("/"), *map(Path, WRITABLE_BY_ALL), *Path(tempfile.gettempdir()).parents}
    needed.add(Path(tempfile.gettempdir()))
    for path in paths:
        if Path(path).resolve() not in needed:
            acl.deny_workers(Path(path))
