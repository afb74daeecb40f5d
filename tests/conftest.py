"""Shared fixtures: micrograd 0.1.0 from PyPI, and importing a workspace by path."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"

# Grades and tests must be reproducible: derandomised, no deadline (CI machines are noisy).
settings.register_profile(
    "kit", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("kit")


def micrograd_0_1_0() -> Path:
    """A folder holding micrograd 0.1.0's package, as published on PyPI.

    Taken from the wheel named by $MICROGRAD_WHEEL, or downloaded once with pip into .cache/.
    """
    target = CACHE / "micrograd-0.1.0"
    if (target / "micrograd" / "engine.py").exists():
        return target
    wheel = os.environ.get("MICROGRAD_WHEEL")
    if not wheel:
        CACHE.mkdir(exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "micrograd==0.1.0"]
            + ["-d", str(CACHE)],
            check=True,
        )
        wheel = str(CACHE / "micrograd-0.1.0-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


@pytest.fixture(scope="session")
def micrograd_pypi() -> Path:
    return micrograd_0_1_0()


@contextlib.contextmanager
def workspace_modules(folder: Path, *names: str) -> Iterator[SimpleNamespace]:
    """Import micrograd.<name> for each name from `folder`, then restore sys.modules.

    Every workspace's package is called `micrograd`, so each import needs a clean slate.
    """
    saved = {k: v for k, v in sys.modules.items() if k == "micrograd" or k.startswith("micrograd.")}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, str(folder))
    try:
        import importlib

        mods = {n: importlib.import_module(f"micrograd.{n}") for n in names}
        yield SimpleNamespace(**mods)
    finally:
        sys.path.remove(str(folder))
        for k in [k for k in sys.modules if k == "micrograd" or k.startswith("micrograd.")]:
            del sys.modules[k]
        sys.modules.update(saved)


# -- running in parallel (pytest-xdist, `-n auto --dist loadgroup`, as `nox -s tests` does) ------
#
# These modules share an expensive module-scoped fixture (a graded class, a Gradescope venv):
# each goes to one worker whole, so the fixture is built once, not once per worker.
SHARED_FIXTURES = {
    "test_batch.py",
    "test_bundle.py",
    "test_grader_scores.py",
    "test_lookalike.py",
    "test_receipt.py",
    "test_report_page.py",
    "test_synthetic_class.py",
    "test_tensor_grading.py",
}


def scope_of(nodeid: str) -> str:
    """The unit a worker receives whole: a module of SHARED_FIXTURES, else one test."""
    module = nodeid.split("::", 1)[0]
    return module if module.rsplit("/", 1)[-1] in SHARED_FIXTURES else nodeid


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """--dist loadgroup, grouped by scope_of. Not xdist's own xdist_group marks: xdist 3.8 turns
    a mark into a suffix of `item._nodeid`, which pytest 9 no longer reads, so the groups were
    silently ignored and each shared fixture was built on both workers."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return SharedFixtureScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the `long_running` tests first: the others then fill in around them, instead of
    one worker idling at the end while another runs a long one."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)
