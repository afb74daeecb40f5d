"""The instructors' nox sessions: `nox -s grade` exits as `grade batch` does.

The session runs here with a stand-in for nox's Session (the kit is installed already, so
there is nothing to install), and with the real `grade batch` on a real class.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from tests.grader_helpers import REFERENCE, ROOT

pytestmark = pytest.mark.grader

nox = pytest.importorskip("nox")


class Session:
    """What the grade session uses of nox's Session, nothing installed."""

    def __init__(self, *posargs: str):
        self.posargs = list(posargs)
        self.bin = str(Path(sys.executable).parent)
        self.logged: list[str] = []

    def install(self, *args: str, **kwargs: object) -> None:
        pass

    def run(self, *args: str, **kwargs: object) -> None:
        raise AssertionError(f"the session should run grade itself, not through {args}")

    def log(self, message: str) -> None:
        self.logged.append(message)

    warn = error = log


@functools.cache  # once: loading it registers its sessions with nox
def noxfile():
    spec = importlib.util.spec_from_file_location("kit_noxfile", ROOT / "noxfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def grade_session(*posargs: str) -> int:
    session = Session(*posargs)
    try:
        noxfile().grade(session)
    except SystemExit as exc:
        return exc.code
    return 0


def test_nox_grade_exits_with_grade_batchs_status(tmp_path):
    if shutil.which("grade", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the kit is not installed in this Python (pip install -e .)")
    subs = tmp_path / "class"
    shutil.copytree(REFERENCE, subs / "alice" / "micrograd")
    args = ["--out", str(tmp_path / "grades"), "-e", "1", "--jobs", "1"]
    assert grade_session(str(subs), *args) == 0
    (subs / "bob.ipynb").write_text("{ not json")  # could not be graded: the status says so
    assert grade_session(str(subs), *args) == 1
    assert grade_session(str(tmp_path / "nowhere"), *args) == 2  # bad arguments
