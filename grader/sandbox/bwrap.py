"""The "bwrap" mode: the worker inside bubblewrap, whose whole policy is policy.py, with the
seccomp filter of seccomp.py (no new process, socket or IPC object). As root, bwrap itself runs
as the worker's own user. bwrap reads its options from a descriptor (`--args FD`): its command
line, which student code can read in /proc/1/cmdline, holds no host path."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from grader.sandbox import policy, seccomp
from grader.sandbox.permissions import drop
from grader.submissions.scratch import private_folder, remove


def bwrap_command(submission: Path, python_args: list[str]) -> tuple[list[str], list[int]]:
    """The command that runs the worker in bubblewrap, and the descriptors to pass to it (the
    seccomp filter, bwrap's options; the caller closes them). As root, bwrap starts as the
    worker's own user."""
    root = os.geteuid() == 0
    options, command = policy.bwrap_args(submission, python_args, as_other_user=root)
    seccomp_fd = seccomp.descriptor_with(seccomp.program())
    args_fd = seccomp.descriptor_with(b"".join(a.encode() + b"\0" for a in options))
    bwrap = shutil.which("bwrap") or "bwrap"
    argv = [bwrap, "--args", str(args_fd), "--seccomp", str(seccomp_fd), *command]
    return [*(drop(False) if root else []), *argv], [seccomp_fd, args_fd]


def works() -> bool:
    """Can bwrap start our interpreter in the sandbox here (installed, namespaces allowed)?"""
    if not shutil.which("bwrap") or not seccomp.supported():
        return False
    if not policy.interpreter(os.geteuid() == 0)[0]:
        return False
    empty = private_folder("micrograd-probe-")
    try:
        empty.chmod(0o755)
        probe = "pass"
        cmd, fds = bwrap_command(empty, ["-I", "-S", "-c", probe])
        try:
            probe = subprocess.run(cmd, capture_output=True, timeout=30, pass_fds=fds)
        finally:
            for fd in fds:
                os.close(fd)
        return probe.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        remove(empty)
