"""Random expressions, checked property-style; a failure reports the smallest one found."""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import math
from collections.abc import Callable, Iterator
from pathlib import Path

from grader.checks import course
from grader.checks.checking import Context, Fail, judge_expression
from grader.checks.expressions import Expression, torch_values
from grader.sandbox import StudentError, WorkerFailed
from grader.submissions.scratch import private_folder


@contextlib.contextmanager
def only_new_objects_collected() -> Iterator[None]:
    """Set the objects that exist now aside from the garbage collector (gc.freeze) for a while.

    With torch loaded, a full collection scans a heap so large that it takes a tenth of a
    second, and hypothesis caused two: one while it is imported (it creates enough objects
    to trigger one) and one on its first test in a process (to see that a PRNG it registers
    is referenced); together they were most of a quick check's time. Set aside, torch's
    objects are neither scanned nor freed; they are put back afterwards (gc.unfreeze), so
    nothing stays uncollectable.
    """
    if gc.get_freeze_count():  # someone else froze objects: leave their arrangement alone
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@functools.cache
def _hypothesis_home() -> Path:
    return private_folder("micrograd-hypothesis-")


@only_new_objects_collected()
@functools.cache  # once a process: the patch holds, and the cache is cleared once
def without_local_constants() -> None:
    """Draw from the course's secret alone, never from the literals of the modules loaded.

    Hypothesis mixes into its draws, now and then, the literals (numbers, strings) of every
    "local" module in sys.modules: every module outside site-packages, so the kit's own, an
    instructor's extra checks, whatever a notebook or a batch imported before. The same
    submission graded twice in one process (a batch's grading process, a notebook's kernel) was
    then tried on other expressions once a picture had been drawn. Hypothesis has no setting for
    this, so its private hook is replaced where it exists (a later version without it needs
    nothing); tests/test_course_secret.py fails if the report changes within a process.
    """
    from hypothesis.internal.conjecture import providers

    if hasattr(providers, "_get_local_constants") and hasattr(providers, "_local_constants"):
        empty = providers._local_constants.__class__(
            integers=providers.SortedSet(),
            floats=providers.SortedSet(key=providers.float_to_int),
            bytes=providers.SortedSet(),
            strings=providers.SortedSet(),
        )
        providers._get_local_constants = lambda: empty
        providers.CONSTANTS_CACHE.cache.clear()  # values allowed by constants seen before


def _explained(exc: Fail, why: str | tuple[str, str]) -> None:
    """Lead a failure's message with `why` (text, or (text, the diagnosis for the hint))."""
    text, key = why if isinstance(why, tuple) else (why, "")
    if text:
        exc.message = f"{text}.\n    What came of it: {exc.message}"
    if key:
        exc.details["diagnosis"] = key


def covering(ctx: Context, ops: set[str]) -> list[Expression]:
    """One expression per op of `ops` (reflected ops included), only its numbers drawn from
    the course's secret: op(x0[, x1 or c]) + x0, which also uses x0 twice."""
    from grader.checks.strategies import SAFE_BINARY, SAFE_CONSTANT, SAFE_UNARY

    out = []
    for op in sorted(ops):
        xs = [ctx.uniform(-2, 2, away_from=0)]
        if op in SAFE_UNARY:
            node: list = [op, 0]
        elif op in SAFE_BINARY:
            xs.append(ctx.uniform(-2, 2, away_from=0))
            node = [op, 0, 1]
        elif op in SAFE_CONSTANT:
            c = ctx.rng.choice(SAFE_CONSTANT[op]) if op == "pow" else ctx.uniform(-3, 3, 0)
            node = [op, 0, c]
        else:
            continue
        nodes = [["x", k] for k in range(len(xs))] + [node]
        if "add" in ops:
            nodes.append(["add", len(nodes) - 1, 0])
        out.append(Expression.of(nodes, xs))
    return out


def random_expressions(
    ctx: Context,
    ops: set[str],
    mode: str = "rules",
    examples: int = 25,
    explain: Callable[[Context, Expression], str | tuple[str, str]] | None = None,
) -> None:
    """Judge random expressions of `ops`; on a failure, `explain(ctx, expr)` of the smallest
    failing expression, if given and not empty, leads the message."""
    from hypothesis import assume
    from hypothesis.errors import Flaky

    from grader.checks.strategies import expressions

    without_local_constants()
    upstream = 1.5 if mode == "rules" else 1.0

    # every op once, under every secret: a check's power must not depend on the draws
    for expr in covering(ctx, ops):
        try:
            judge_expression(ctx, expr, upstream, mode)
        except Fail as exc:
            _explained(exc, explain(ctx, expr) if explain else "")
            raise

    stop: list[BaseException] = []  # after a worker failure, fail fast instead of retrying
    tried: list[Expression] = []  # the last expression tried: after a failure, the smallest
    strategy = expressions(frozenset(ops))

    def admissible(expr: Expression) -> bool:
        """Finite values, no relu at its kink: the expressions judged (the others, rejected,
        are replaced by hypothesis with new draws)."""
        data, _ = torch_values(expr, 1.0)
        if not all(math.isfinite(d) and abs(d) < 1e6 for d in data):
            return False
        return all(abs(data[n[1]]) > 1e-3 for n in expr.nodes if n[0] == "relu")

    # As for_all: where the submission passes, the same expressions judged in batches
    # (grader/checks/batching.py), drawn once a process; hypothesis one by one otherwise.
    from grader.checks import batching

    answers: dict = {}
    call, ctx.draws = ctx.draws, ctx.draws + 1
    if ctx.batches:

        def run(test: Callable) -> None:
            def kept(expr: Expression) -> None:
                assume(admissible(expr))
                test(expr)

            with contextlib.redirect_stdout(io.StringIO()):
                _hypothesis(ctx, strategy, examples, kept)

        draws = batching.drawn(ctx, (call, tuple(sorted(ops)), mode), examples, run)
        found = batching.judge_all(
            ctx, draws, lambda expr: judge_expression(ctx, expr, upstream, mode)
        )
        if found is None:
            return
        answers = found

    def prop(expr):
        if stop:
            raise stop[0]
        assume(admissible(expr))
        tried[:] = [expr]
        try:
            # through backward() the seed is 1; an upstream != 1 would add a hidden `*` node
            # at the top, and a wrong `*` rule would then look like a wrong seed
            judge_expression(ctx, expr, upstream, mode)
        except (WorkerFailed, StudentError) as exc:
            stop.append(exc)
            raise

    # hypothesis prints its falsifying example; the report says it better
    quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
    sandbox = ctx.sandbox
    ctx.sandbox = batching.Answered(sandbox, answers)  # what the batches asked, answered
    with quiet[0], quiet[1]:
        try:
            _hypothesis(ctx, strategy, examples, prop)
        except Fail as exc:
            _explained(exc, explain(ctx, tried[0]) if explain and tried else "")
            raise
        except Flaky as exc:
            # the same expression passed once and failed once: the student's code answers
            # differently run to run (e.g. an order that depends on a set's iteration)
            raise Fail(
                "your code gave different gradients for the same expression on two runs: "
                "something in it depends on an order that changes (iterating over a set?) or "
                f"keeps state between calls ({type(exc).__name__})"
            ) from None
        finally:
            ctx.sandbox = sandbox


class _EnoughShrinking(BaseException):
    """Raised to stop hypothesis's search for a smaller failing example (not an Exception, so
    that hypothesis neither records it as a failure nor replays anything)."""


def for_all(
    ctx: Context, strategy, judge: Callable, examples: int = 15, shrink_calls: int = 40
) -> None:
    """judge(example) for `examples` draws of `strategy`, seeded by the course's secret for
    this check; on a Fail, hypothesis shrinks towards the smallest failing example and that
    example's Fail is raised. The tensor checks' counterpart of random_expressions.

    Shrinking may try hundreds of examples, each a request; after `shrink_calls` of them the
    search stops (a BaseException, which hypothesis lets through at once) and the latest real
    failure, the smallest found so far, is the check's.

    The same draws are first judged all at once, their requests sent to the worker in batches
    (grader/checks/batching.py); hypothesis judges them one by one, as described here, only
    where that did not pass: the verdict is the same either way. `strategy` must depend on
    nothing but the check (the draws are kept per process by the check and the secret)."""
    from hypothesis import reject
    from hypothesis import strategies as st
    from hypothesis.errors import Flaky

    from grader.checks import batching
    from grader.checks.tensors import one_thread

    without_local_constants()
    call, ctx.draws = ctx.draws, ctx.draws + 1
    stop: list[BaseException] = []
    failed: list[Fail] = []  # the latest real failure
    calls = [0]  # judged since the first failure

    # Each attempt to shrink draws an example first, and many are thrown away before they are
    # judged (a draw that runs past the old one's choices); a draw of a batch of arrays costs
    # milliseconds, so after a failure the draws are counted too, or shrinking one failure
    # would cost seconds of the grader's time without a single request. Until a failure,
    # counted() only passes the draw on: the same examples as `strategy`'s.
    shrink_draws = [0]  # drawn since the first failure

    @st.composite
    def counted(draw):
        if failed:
            shrink_draws[0] += 1
            if shrink_draws[0] > 2 * shrink_calls:
                reject()  # cheap from now on: hypothesis gives up on each attempt at once
        return draw(strategy)

    def prop(example):
        if stop:
            raise stop[0]
        if failed:
            calls[0] += 1
            if calls[0] > shrink_calls:
                raise _EnoughShrinking
        try:
            judge(example)
        except Fail as exc:
            failed.append(exc)
            raise
        except (WorkerFailed, StudentError) as exc:  # not a smaller example's business
            stop.append(exc)
            raise _EnoughShrinking from None

    quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
    with quiet[0], quiet[1], one_thread():
        answers: dict = {}
        if ctx.batches:
            draws = batching.drawn(
                ctx, call, examples, lambda test: _hypothesis(ctx, strategy, examples, test)
            )
            found = batching.judge_all(ctx, draws, judge)
            if found is None:
                return
            answers = found
        sandbox = ctx.sandbox
        ctx.sandbox = batching.Answered(sandbox, answers)
        try:
            _hypothesis(ctx, counted(), examples, prop)
        except _EnoughShrinking:
            raise (stop or failed)[-1] from None
        except Flaky as exc:
            if failed and shrink_draws[0] > 2 * shrink_calls:
                # hypothesis replays the smallest failure at the end, and the draw budget
                # rejects it: the flakiness is the budget's, the failure is the latest found
                raise failed[-1] from None
            raise Fail(
                "your code gave different answers for the same input on two runs: something in "
                f"it depends on an order that changes, or keeps state between calls "
                f"({type(exc).__name__})"
            ) from None
        finally:
            ctx.sandbox = sandbox


def _hypothesis(ctx: Context, strategy, examples: int, test: Callable) -> None:
    """Run hypothesis: test(example) for `examples` draws of `strategy`, from the check's seed
    (the course's secret), shrinking a failure. The draws come from the course's secret (the
    seed overrides derandomize): the same for every run of one course, unknown in advance to
    anyone without the secret."""
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis.configuration import set_hypothesis_home_dir

    # hypothesis keeps a cache in ./.hypothesis: not in the folder the student grades from,
    # nor at a predictable path that someone could create first (as a link): a fresh folder
    set_hypothesis_home_dir(_hypothesis_home())

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        report_multiple_bugs=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @seed(course.seed_for(ctx.purpose))
    @given(strategy)
    def prop(example):
        test(example)

    prop()
