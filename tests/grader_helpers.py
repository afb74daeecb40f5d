"""Helpers for the grader's tests: workspaces made from the reference, graded in-process.

ws = make_workspace(tmp_path, edits={"engine.py": [("self.grad = 1", "pass")]})
code, result = grade_json(ws, "exercise-3")
assert by_name(result)["exercise-3: a chain of 100,000 nodes"]["status"] == "passed"
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference" / "micrograd"
EXERCISES = ROOT / "exercises" / "micrograd"
NO_CACHE = shutil.ignore_patterns("__pycache__", "*.pyc")


def make_workspace(
    tmp_path: Path,
    edits: dict[str, list[tuple[str, str]]] | None = None,
    files: dict[str, str] | None = None,
    base: Path = REFERENCE,
) -> Path:
    """A workspace folder `tmp_path/ws` holding a copy of `base` (the reference) as micrograd/.

    `edits` maps a file of the package to exact-string replacements (old, new); each `old`
    must occur exactly once, so that a change to the reference breaks the test loudly.
    `files` maps a path relative to micrograd/ to its whole new text.
    """
    ws = tmp_path / "ws"
    package = ws / "micrograd"
    shutil.copytree(base, package, ignore=NO_CACHE)
    for name, replacements in (edits or {}).items():
        path = package / name
        text = path.read_text()
        for old, new in replacements:
            count = text.count(old)
            assert count == 1, f"{name}: {old!r} occurs {count} times, expected exactly once"
            text = text.replace(old, new)
        path.write_text(text)
    for name, text in (files or {}).items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return ws


def invoke(args: list[str]) -> Result:
    """Run the `grade` CLI in this process, with its output captured."""
    from grader.cli import main

    return CliRunner().invoke(main, args)


def grade_result(path: Path | str, exercise: str = "all", *extra: str) -> tuple[Result, dict]:
    """(click's Result, the parsed JSON report) of grading `path` with --format json."""
    pictures = Path(tempfile.mkdtemp(prefix="grade-pictures-"))
    try:
        args = [
            exercise,
            "--submission",
            str(path),
            "--format",
            "json",
            "--pictures",
            str(pictures),
        ]
        result = invoke([*args, *extra])
    finally:
        shutil.rmtree(pictures, ignore_errors=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the grader raised {result.exception!r}") from result.exception
    try:
        parsed = json.loads(result.stdout)
    except ValueError as exc:
        raise AssertionError(f"stdout is not JSON: {result.stdout[:2000]!r}") from exc
    return result, parsed


def grade_json(path: Path | str, exercise: str = "all", *extra: str) -> tuple[int, dict]:
    """(exit code, parsed JSON report) of `grade EXERCISE --submission PATH --format json`."""
    result, parsed = grade_result(path, exercise, *extra)
    return result.exit_code, parsed


PART_ONE = list(range(7))  # exercises 0-6, the Value engine


def grade_part_one(path: Path | str) -> tuple[int, dict]:
    """(exit code, JSON report) as `grade all --format json` gives them, for part one's
    exercises alone, in this process: part one's tests need not wait for part two's checks."""
    from grader.feedback import reports
    from grader.runner import grade_submission

    pictures = Path(tempfile.mkdtemp(prefix="grade-pictures-"))
    try:
        report = grade_submission(Path(path), PART_ONE, pictures)
    finally:
        shutil.rmtree(pictures, ignore_errors=True)
    graded = not report.error and not any(c.details.get("grader_error") for c in report.checks)
    code = 0 if report.all_passed else (1 if graded else 2)
    return code, json.loads(reports.as_json(report))


def by_name(result: dict) -> dict[str, dict]:
    """The report's tests by name ("exercise-2: tanh backward")."""
    return {t["name"]: t for t in result["tests"]}


def checks_of(result: dict, exercise: int) -> list[dict]:
    return [t for t in result["tests"] if f"exercise-{exercise}" in t["tags"]]


def exercise_score(result: dict, exercise: int) -> tuple[float, float]:
    """(score, max_score) of one exercise in a report."""
    tests = checks_of(result, exercise)
    return sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)


def failing(result: dict) -> list[str]:
    return [t["name"] for t in result["tests"] if t["status"] != "passed"]


def tree_hash(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under folder (links by their target's text)."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "link -> " + str(path.readlink())
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            out[rel] = "dir"
    return out
