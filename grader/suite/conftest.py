"""pytest's view of the grader: `pytest grader/suite --submission PATH [-m exercise2]`.

The checks are the grader's own (grader/checks/), one test each, marked by exercise; the
student's code runs in the sandboxed worker exactly as under `grade`, so nothing the
submission does can reach pytest. `grade` is the faster way, with richer reports; this suite
is for those who drive grading from pytest (a CI job, an IDE, `-k`, `-x`, `--lf`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.checks.checking import Context
from grader.exercises import EXERCISES
from grader.sandbox import Sandbox
from grader.submissions.submission import SubmissionError, open_submission


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--submission",
        default="exercises",
        help="a workspace folder, a .zip of one, or a notebook (default: exercises)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for n, title in EXERCISES.items():
        config.addinivalue_line("markers", f"exercise{n}: {title}")


@pytest.fixture(scope="session")
def context(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Context]:
    """One sandboxed worker for the whole session, on the submission given."""
    path = Path(request.config.getoption("--submission"))
    try:
        with open_submission(path) as workspace, Sandbox(workspace) as sandbox:
            yield Context(sandbox, tmp_path_factory.mktemp("pictures"))
    except SubmissionError as exc:
        pytest.exit(f"could not grade: {exc}", returncode=2)
