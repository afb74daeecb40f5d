"""The hostile tests again, in the sandbox of machines where namespaces are forbidden.

Docker's default profile (so Gradescope's containers and most CI runners) allows no bwrap:
there the worker runs as a user of its own that POSIX ACLs shut out of what it must not read
(`MICROGRAD_SANDBOX=permissions` forces this mode, as root). The same hostile submissions must
get nothing there either. The mode is chosen once per process, so the tests run in a pytest of
their own, beside the rest of the suite rather than after it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.grader_helpers import ROOT

HOSTILE = [
    "tests/test_sandbox.py",
    "tests/test_hostile.py",
    "tests/test_hostile_worker.py",
    "tests/test_promises.py",
]

pytestmark = [
    pytest.mark.grader,
    pytest.mark.long_running,
    pytest.mark.skipif(os.geteuid() != 0, reason="the permissions mode needs root"),
]


def run_hostile_tests(**env: str) -> subprocess.CompletedProcess:
    # a clean pytest: none of this one's (xdist's worker variables, a forced mode)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MICROGRAD_"))}
    return subprocess.run(
        # -n 2: most of these tests wait (a stalling rule, a time limit), not compute
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", *HOSTILE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=1800,
    )


def test_hostile_submissions_get_nothing_in_the_permissions_mode() -> None:
    proc = run_hostile_tests(MICROGRAD_SANDBOX="permissions")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout


def path_without(folder: Path, command: str) -> str:
    """A PATH with every command of this one but `command` (the sandbox finds it with
    shutil.which): a folder of links, the interpreter's own bin first."""
    folder.mkdir(parents=True, exist_ok=True)
    own = os.path.dirname(sys.executable)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory) or directory == own:
            continue
        for name in os.listdir(directory):
            link = folder / name
            if name != command and not os.path.lexists(link):
                link.symlink_to(os.path.join(directory, name))
    return os.pathsep.join([own, str(folder)])


def test_hostile_submissions_get_nothing_in_the_permissions_mode_without_unshare(tmp_path):
    """Where `unshare` is missing (no PID, network or IPC namespace of the worker's own), the
    seccomp filter and the clean-up must hold the same promises, or the mode refuses."""
    without = path_without(tmp_path / "bin", "unshare")
    proc = run_hostile_tests(MICROGRAD_SANDBOX="permissions", PATH=without)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
