"""Run the checks of some exercises on a workspace: every check ends as a recorded result."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import re
import shutil
import subprocess
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace

from grader.checks import course
from grader.checks.checking import REGISTRY, Check, Context, Fail
from grader.exercises import EXERCISES
from grader.feedback import results as R
from grader.feedback.hints import History, choose
from grader.sandbox import (
    Limits,
    OutOfTime,
    Sandbox,
    StudentError,
    UnreadableReply,
    WorkerFailed,
)
from grader.submissions.definitions import Locations

log = logging.getLogger("grader")


class ExtraChecksError(Exception):
    """An instructor's folder of extra checks cannot be loaded; the message says why."""


def checks_for(exercises: list[int], extra: Sequence[Check] = ()) -> list[Check]:
    """The checks of these exercises, the kit's own (exercise by exercise, each in the order its
    module declares them) then the instructor's extra ones."""
    import grader.checks.registered  # noqa: F401 - registers the checks

    # REGISTRY holds them in the order their modules were imported, which another module can
    # change (a receipt's tolerances import ex5 first): sorted, exercise 0's run first
    kit = sorted(REGISTRY, key=lambda c: c.exercise)  # stable: a module's own order is kept
    return [c for c in [*kit, *extra] if c.exercise in exercises]


_EXTRA: dict[tuple, list[Check]] = {}


def load_extra_checks(folder: Path) -> list[Check]:
    """The checks declared with @check in every *.py of `folder` (an instructor's hidden checks).

    They are kept out of the kit's registry, so that grading without them is unchanged.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ExtraChecksError(f"--extra-checks {folder}: no such folder")
    files = sorted(folder.glob("*.py"))
    if not files:
        raise ExtraChecksError(f"--extra-checks {folder}: no *.py files in it")
    stamp = tuple((str(f.resolve()), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    if stamp in _EXTRA:
        return _EXTRA[stamp]
    checks_for([])  # the kit's checks first, so that only the extra ones are collected below
    before = len(REGISTRY)
    try:
        for path in files:
            name = f"micrograd_extra_checks.{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec is not None and spec.loader is not None
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
    except Exception as exc:
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        raise ExtraChecksError(f"--extra-checks: cannot load {path.name}: {detail}") from None
    finally:
        extra = REGISTRY[before:]
        del REGISTRY[before:]
    names = {(c.exercise, c.name) for c in REGISTRY}
    for c in extra:
        if c.exercise not in EXERCISES:
            raise ExtraChecksError(f"extra check {c.name!r}: there is no exercise-{c.exercise}")
        if (c.exercise, c.name) in names:
            raise ExtraChecksError(f"extra check {c.name!r}: exercise-{c.exercise} has one already")
        names.add((c.exercise, c.name))
    if not extra:
        raise ExtraChecksError(f"--extra-checks {folder}: no @check functions found")
    _EXTRA[stamp] = extra
    return extra


def could_not_grade(exercises: list[int], why: str, extra: Sequence[Check] = ()) -> R.Report:
    """A report with every check at 0, saying why nothing could run."""
    checks = [
        R.CheckResult(c.exercise, c.name, 0.0, c.points, R.ERROR, f"not graded: {why}")
        for c in checks_for(exercises, extra)
    ]
    return R.Report(exercises=exercises, checks=checks, error=why)


def explain_student_error(exc: StudentError) -> tuple[str, str]:
    """(outcome, message) for an exception raised by the student's code."""
    where = f" ({exc.where})" if exc.where else ""
    if isinstance(exc, OutOfTime):
        return R.ERROR, exc.message
    if isinstance(exc, UnreadableReply):
        return R.WRONG, exc.message
    if exc.not_implemented:
        return R.NOT_IMPLEMENTED, f"not implemented yet: {exc.message or 'a stub'}{where}"
    missing = re.match(
        r"(?:module |type object )?'([\w.]+)' (?:object )?has no attribute '(\w+)'", exc.message
    )
    if exc.kind == "AttributeError" and missing:
        cls, attr = missing.groups()
        return R.MISSING, f"missing: {cls} has no `{attr}`{where}"
    module = re.match(r"No module named '(\w+)", exc.message)
    if exc.kind in ("ModuleNotFoundError", "ImportError") and "torch" in exc.message:
        return R.ERROR, (
            f"your code imports torch{where}: the grader runs your code without PyTorch, "
            "so that the gradients are your own. Remove the import."
        )
    if exc.kind == "ModuleNotFoundError" and module and module.group(1) != "micrograd":
        return R.ERROR, f"{exc.kind}: {exc.message}{where}"  # the worker says what exists
    if exc.kind in ("ModuleNotFoundError", "ImportError"):
        return R.ERROR, f"{exc.kind}: {exc.message}{where}. Is every file of micrograd/ there?"
    if "File too large" in exc.message:
        return R.ERROR, "your code wrote or printed more than the grader allows (8 MB)"
    if exc.kind == "SyntaxError":
        return R.ERROR, f"SyntaxError in your code: {exc.message}{where}"
    return R.ERROR, f"{exc.kind}: {exc.message}{where}"


def run_check(check: Check, ctx: Context) -> R.CheckResult:
    def result(
        outcome: str, message: str = "", rule: str = "", details: dict | None = None, kind=""
    ):
        score = check.points if outcome == R.PASSED else 0.0
        return R.CheckResult(
            check.exercise,
            check.name,
            score,
            check.points,
            outcome,
            message,
            "" if outcome in (R.PASSED, R.NOT_IMPLEMENTED) else check.hint,
            rule,
            details or {},
            kind,
        )

    ctx.start(f"exercise-{check.exercise}/{check.name}")
    graded_with = ""
    try:
        graded_with = ctx.use_code_for(check)
        note = check.run(ctx)
    except Fail as exc:
        return result(R.WRONG, exc.message + _aside(graded_with), exc.rule, exc.details, exc.kind)
    except StudentError as exc:
        outcome, message = explain_student_error(exc)
        return result(
            outcome, message + ("" if outcome == R.NOT_IMPLEMENTED else _aside(graded_with))
        )
    except WorkerFailed as exc:
        return result(R.WORKER, f"your code could not be run to the end: {exc}")
    except Exception as exc:
        # A bug in the grader, or a reply it did not foresee: the student sees this check
        # failed and why, never a traceback; the grader's own traceback goes to its log.
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        log.error(
            "grader bug in check %r: %s at %s:%s", check.name, tb, frame.filename, frame.lineno
        )
        log.debug("the grader's traceback:\n%s", traceback.format_exc())
        return result(
            R.WRONG,
            "the grader could not judge what your code gave on this check "
            f"({tb[:300]}); it counts as failed. If your code looks right, tell your instructor.",
            details={"internal": tb[:300]},
        )
    return result(R.PASSED, note if isinstance(note, str) else "")


def _aside(note: str) -> str:
    return f"\n    (note: {note})" if note else ""


# The time the student's code may take on all of an exercise's checks together: the worker's
# CPU seconds, and the seconds it sleeps on a request (a stall), measured from outside the
# worker (sandbox/processes.py); the grader's own time and a busy machine's waits do not count,
# so that load never changes a grade. Wall-clock time is only a far backstop (BACKSTOP x the
# budget). Generous: ten times what the slowest engine we know (micrograd 0.1.0's) takes. A
# worker that stalls each request just under its own limit (Limits.request_seconds) then costs
# one budget, not minutes; past it, the exercise's remaining checks fail with "ran out of
# time", and the points earned stay.
BUDGET_SECONDS = {1: 30.0, 2: 30.0, 3: 40.0, 4: 40.0, 5: 180.0}
# part two: the reference takes under 2 s a tensor exercise, 3 s for 12 and 13, which train
BUDGET_SECONDS.update({7: 30.0, 8: 40.0, 9: 40.0, 10: 30.0, 11: 40.0, 12: 60.0, 13: 60.0})


def budget_seconds(exercise: int) -> float:
    """The exercise's budget; MICROGRAD_BUDGET_SCALE scales them all (tests, slow machines)."""
    scale = float(os.environ.get("MICROGRAD_BUDGET_SCALE", "1") or 1)
    return BUDGET_SECONDS.get(exercise, 60.0) * scale


def out_of_time(exercise: int, seconds: float) -> str:
    return (
        f"ran out of time: exercise-{exercise}'s checks may take {seconds:g} s of your code's "
        "CPU time in all, and your code took longer (far too slow, or stalling); the points "
        "earned before stay"
    )


def grade(
    workspace: Path,
    exercises: list[int],
    pictures: Path | None = None,
    limits: Limits | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    extra: Sequence[Check] = (),
    history: History | None = None,
) -> R.Report:
    start = time.monotonic()
    # MICROGRAD_TOTAL_SECONDS: a limit on the whole run (run_autograder sets it below
    # Gradescope's own), so that a report of what was earned is written in time
    total = (
        float(os.environ["MICROGRAD_TOTAL_SECONDS"])
        if os.environ.get("MICROGRAD_TOTAL_SECONDS")
        else None
    )
    checks = checks_for(exercises, extra)
    report = R.Report(exercises=exercises, checks=[])
    with Sandbox(workspace, limits) as sandbox:
        ctx = Context(sandbox, pictures)
        current = None
        for i, check in enumerate(checks):
            if progress:
                progress(i, len(checks), f"exercise-{check.exercise}: {check.name}")
            if check.exercise != current:
                current = check.exercise
                seconds = budget_seconds(current)
                # what is left of the whole run's limit, wall clock (Gradescope's own)
                wall = None if total is None else max(0.0, start + total - time.monotonic())
                sandbox.set_budget(seconds, out_of_time(current, seconds), wall=wall)
            if sandbox.time_left() <= 0:
                note = sandbox.budget_note
                res = R.CheckResult(check.exercise, check.name, 0.0, check.points, R.ERROR, note)
            else:
                res = run_check(check, ctx)
            res.hint = choose(res, history)  # a nudge, or the formula on a repeated failure
            if pictured(res) and pictures is not None:
                res.details["picture"] = str(draw_failure(res, pictures))
                report.pictures.append(res.details["picture"])
            elif res.passed and pictures is not None:  # fixed: its old picture goes
                for old in pictures.glob(picture_name(res) + ".*"):
                    old.unlink(missing_ok=True)
            report.checks.append(res)
        report.output = sandbox.output()
        report.pictures += [str(p) for p in ctx.pictures]
    if history is not None:
        history.record(report.checks)
    report.execution_time = time.monotonic() - start
    return report


def pictured(res: R.CheckResult) -> bool:
    """Whether a failure holds a graph to draw: a Value expression's (part one) or a Tensor
    expression's (part two, details["tensor_graph"])."""
    return bool(res.details.get("nodes") or res.details.get("tensor_graph"))


def failure_graph(res: R.CheckResult):
    """The failing expression's graph, the wrong node marked (a micrograd_reference.viz.Graph):
    a Value's with the student's data and grads in each box; a Tensor's by shapes, each box
    its op and shape ("matmul (32, 10)"), the mark saying what was expected."""
    from grader.checks.expressions import Expression, rule_of
    from grader.sandbox.worker.ops import operands
    from micrograd_reference.viz import draw_dot

    d = res.details
    if d.get("tensor_graph"):
        from grader.checks.tensor_graph import drawable

        root, mark = drawable(d["tensor_graph"])
        return draw_dot(root, mark=mark, shapes=True)
    expr = Expression.of(d["nodes"], [0.0])
    nodes: list[SimpleNamespace] = []
    for i, node in enumerate(d["nodes"]):
        nodes.append(
            SimpleNamespace(
                data=d["student_node_data"][i],
                grad=d["student_node_grads"][i],
                _op="" if node[0] == "x" else rule_of(node).split(" ")[0],
                _prev=[nodes[k] for k in operands(tuple(node))],
                label=expr.text(i) if node[0] == "x" else "",
            )
        )
    j = d["wrong_node"]
    mark = [(nodes[j], f"expected grad {d['expected_node_grads'][j]:.6g}")]
    return draw_dot(nodes[-1], mark=mark)


def draw_failure(res: R.CheckResult, folder: Path) -> Path:
    """The failing graph as an SVG (or its DOT source, without graphviz) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return failure_graph(res).write(folder / f"{picture_name(res)}.svg")


# the operators in check names, as words: "+ backward" and "* backward" need two files
OPERATORS = {"**": "pow", "+": "add", "*": "mul", "/": "div"}


def picture_name(res: R.CheckResult) -> str:
    """The file name (without suffix) of a check's picture: one per check, readable."""
    name = re.sub(
        "|".join(re.escape(op) for op in OPERATORS), lambda m: f" {OPERATORS[m[0]]} ", res.name
    )
    return re.sub(r"[^a-z0-9]+", "-", f"exercise-{res.exercise}-{name}".lower()).strip("-")


def relocate(report: R.Report, where: Locations) -> None:
    """Name each location in the report's messages where the student wrote that line (a
    notebook's cell, or the file's own line), not in the spliced module the worker ran."""
    for c in report.checks:
        c.message = where.relocate(c.message)


def draw_failure_png(res: R.CheckResult, folder: Path) -> Path | None:
    """The failing graph as a PNG in `folder`, for Markdown that shows no SVG (Gradescope's
    test output); None without graphviz's `dot`, or when it fails."""
    if not pictured(res) or not shutil.which("dot"):
        return None
    path = folder / f"{picture_name(res)}.png"
    try:
        png = subprocess.run(
            ["dot", "-Tpng"],
            input=failure_graph(res).source.encode(),
            capture_output=True,
            check=True,
            timeout=20,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


def check_folders(checks: Sequence[Check]) -> list[Path]:
    """The folders the (instructor's) checks were loaded from."""
    return sorted({Path(inspect.getfile(c.run)).resolve().parent for c in checks})


def grade_submission(
    submission: Path,
    exercises: list[int],
    pictures: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    extra: Sequence[Check] = (),
    history: History | None = None,
) -> R.Report:
    """Grade a submission (a folder, .zip or notebook): always a report, never an exception.

    One that cannot be read, and a bug in the grader, both end as a report that says why.
    """
    from grader.sandbox import TooLarge, protect
    from grader.submissions.submission import SubmissionError, locations, open_submission

    start = time.monotonic()
    try:
        # where namespaces are forbidden, what workers must not read is denied to them
        secret = [Path(f)] if (f := os.environ.get(course.ENV_SECRET_FILE)) else []
        protect([submission, *([pictures] if pictures else []), *check_folders(extra), *secret])
        with open_submission(submission) as workspace:
            report = grade(
                workspace, exercises, pictures, progress=progress, extra=extra, history=history
            )
            relocate(report, locations(workspace))
    except (SubmissionError, TooLarge) as exc:
        report = could_not_grade(exercises, str(exc), extra)
    except Exception as exc:  # a bug in the grader: still a recorded result
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        report = could_not_grade(exercises, f"internal grader error ({detail})", extra)
    report.execution_time = time.monotonic() - start
    return report
