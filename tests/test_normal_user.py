"""The hostile tests again, run by an ordinary user: CI runs as root, an instructor does not.

The test creates a user, gives it a copy of the kit and a venv of its own (built once and
kept in its home: /root is closed to it, so it cannot run ours), and runs tests/test_sandbox.py,
tests/test_hostile.py, tests/test_hostile_worker.py, tests/test_promises.py and the batch's
gradebook test as that user, against that copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.grader_helpers import ROOT

USER = "micrograd-kit-test"
PYTHON = "/usr/bin/python3.11"
SKIP = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".nox",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "grade-pictures",
    "*.egg-info",
)

pytestmark = [
    pytest.mark.grader,
    pytest.mark.long_running,
    pytest.mark.skipif(os.geteuid() != 0, reason="creating a user needs root"),
    pytest.mark.skipif(
        not (shutil.which("useradd") and shutil.which("runuser") and Path(PYTHON).exists()),
        reason="needs useradd, runuser and /usr/bin/python3.11",
    ),
]


def as_user(*cmd: str, cwd: Path, timeout: float = 1800) -> subprocess.CompletedProcess:
    home = f"/home/{USER}"
    env = {"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "USER": USER}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    env.update({k: v for k, v in os.environ.items() if k == "MICROGRAD_SANDBOX"})
    return subprocess.run(
        ["runuser", "-u", USER, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *cmd],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def user_kit() -> Path:
    """(the user's copy of the kit, with a venv at ~/venv that has the kit and torch)."""
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
    home = Path(f"/home/{USER}")
    kit = home / "kit"
    shutil.rmtree(kit, ignore_errors=True)
    shutil.copytree(ROOT, kit, ignore=SKIP, symlinks=True)
    pip_conf = Path("/root/.config/pip/pip.conf")  # the machine's local wheels, if any
    if pip_conf.is_file():
        (home / ".config" / "pip").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pip_conf, home / ".config" / "pip" / "pip.conf")
    subprocess.run(["chown", "-R", f"{USER}:{USER}", str(home)], check=True)
    # the copy is the user's alone: the permissions mode's workers, graded beside this test,
    # must not find a kit to read (they are other users)
    home.chmod(0o700)
    venv = home / "venv"
    stamp = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not (venv / "stamp").is_file() or (venv / "stamp").read_text() != stamp:
        shutil.rmtree(venv, ignore_errors=True)
        for cmd in [
            [PYTHON, "-m", "venv", str(venv)],
            [str(venv / "bin" / "pip"), "install", "-q", "-e", f"{kit}[test]"],
        ]:
            proc = as_user(*cmd, cwd=home)
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        (venv / "stamp").write_text(stamp)
    else:  # the venv's editable install points at ~/kit, copied afresh above
        proc = as_user(
            str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "-e", str(kit), cwd=home
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    return kit


def test_hostile_submissions_get_nothing_as_a_normal_user(user_kit: Path) -> None:
    tests = [
        "tests/test_sandbox.py",
        "tests/test_hostile.py",
        "tests/test_hostile_worker.py",
        "tests/test_promises.py",
        "tests/test_batch.py::test_student_code_cannot_touch_the_gradebook",
    ]
    python = f"/home/{USER}/venv/bin/python"
    pytest_args = ["-q", "-p", "no:cacheprovider", "-x", "-n", "2", "--dist", "loadgroup"]
    proc = as_user(python, "-m", "pytest", *pytest_args, *tests, cwd=user_kit)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
