"""The suite's own parallel run (`nox -s tests`: pytest-xdist, `-n auto --dist loadgroup`):
the modules that share an expensive fixture go to one worker whole, and the rest spread."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

RECORDING_TEST = """
import os, time, pytest

@pytest.mark.parametrize("i", range(6))
def test_record(i):
    time.sleep(0.2)  # long enough that an idle worker takes the next one
    with open("workers.txt", "a") as f:
        f.write(f"{__name__} {os.environ['PYTEST_XDIST_WORKER']}\\n")
"""


def test_a_shared_fixture_module_runs_on_one_worker(tmp_path: Path) -> None:
    """In a copy of the kit's conftest, on two workers: test_bundle.py (a module of
    SHARED_FIXTURES) all on one worker. (Where an ordinary module's tests run is the
    scheduler's choice, by load: one worker may well take them all while the other runs the
    group; that each is a unit of its own is scope_of's, tested below.)"""
    shutil.copyfile(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_bundle.py").write_text(RECORDING_TEST)
    (tmp_path / "test_ordinary.py").write_text(RECORDING_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # this folder is the rootdir
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*run, "-n", "2", "--dist", "loadgroup"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    seen: dict[str, set[str]] = {}
    for line in (tmp_path / "workers.txt").read_text().splitlines():
        module, worker = line.split()
        seen.setdefault(module, set()).add(worker)
    assert len(seen["test_bundle"]) == 1, seen
    assert len(seen["test_ordinary"]) >= 1, seen


def test_each_ordinary_test_is_a_unit_and_a_shared_module_one() -> None:
    from tests.conftest import scope_of

    ordinary = [f"tests/test_planted_bugs.py::test_planted_bug_is_caught[{b}]" for b in "ab"]
    shared = ["tests/test_bundle.py::test_bundle_layout", "tests/test_bundle.py::test_x[y]"]
    assert scope_of(ordinary[0]) != scope_of(ordinary[1])
    assert scope_of(shared[0]) == scope_of(shared[1]) == "tests/test_bundle.py"


@pytest.mark.parametrize("dist", ["load", "loadscope"])
def test_other_dist_modes_keep_xdists_own_scheduling(dist: str) -> None:
    from tests.conftest import pytest_xdist_make_scheduler

    class Config:
        def getvalue(self, name: str) -> str:
            return dist

    assert pytest_xdist_make_scheduler(Config(), log=None) is None
