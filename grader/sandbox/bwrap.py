"""The "bwrap" mode: the worker inside bubblewrap, whose whole policy is policy.py, with the
seccomp filter of seccomp.py (no new process). As root, bwrap itself runs as the worker's own
user."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from grader.sandbox import policy, seccomp
from grader.sandbox.permissions import drop
from grader.submissions.scratch import private_folder, remove


def bwrap_command(submission: Path, python_args: list[str]) -> tuple[list[str], int]:
    """The command that runs the worker in bubblewrap, and the seccomp filter's descriptor to
    pass to it (the caller closes it). As root, bwrap starts as the worker's own user."""
    root = os.geteuid() == 0
    seccomp_fd = seccomp.pipe_with_program()
    bwrap = shutil.which("bwrap") or "bwrap"
    args = policy.bwrap_args(submission, python_args, as_other_user=root)
    return [*(drop(False) if root else []), bwrap, "--seccomp", str(seccomp_fd), *args], seccomp_fd


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
        cmd, fd = bwrap_command(empty, ["-I", "-S", "-c", probe])
        try:
            probe = subprocess.run(cmd, capture_output=True, timeout=30, pass_fds=(fd,))
        finally:
            os.close(fd)
        return probe.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        remove(empty)
