"""Random expressions, checked property-style; a failure reports the smallest one found."""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import math
from collections.abc import Iterator
from pathlib import Path

from grader.checking import Context, judge_expression
from grader.expressions import torch_values
from grader.sandbox import StudentError, WorkerFailed
from grader.scratch import private_folder


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
def random_expressions(
    ctx: Context, ops: set[str], mode: str = "rules", examples: int = 25
) -> None:
    from hypothesis import HealthCheck, Phase, assume, given, settings
    from hypothesis.configuration import set_hypothesis_home_dir

    from grader.strategies import expressions

    # hypothesis keeps a cache in ./.hypothesis: not in the folder the student grades from,
    # nor at a predictable path that someone could create first (as a link): a fresh folder
    set_hypothesis_home_dir(_hypothesis_home())

    stop: list[BaseException] = []  # after a worker failure, fail fast instead of retrying

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        report_multiple_bugs=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(expressions(frozenset(ops)))
    def prop(expr):
        if stop:
            raise stop[0]
        data, _ = torch_values(expr, 1.0)
        assume(all(math.isfinite(d) and abs(d) < 1e6 for d in data))
        assume(all(abs(data[n[1]]) > 1e-3 for n in expr.nodes if n[0] == "relu"))
        try:
            # through backward() the seed is 1; an upstream != 1 would add a hidden `*` node
            # at the top, and a wrong `*` rule would then look like a wrong seed
            judge_expression(ctx, expr, 1.5 if mode == "rules" else 1.0, mode)
        except (WorkerFailed, StudentError) as exc:
            stop.append(exc)
            raise

    # hypothesis prints its falsifying example; the report says it better
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        prop()
