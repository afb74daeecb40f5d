"""exercise-3: backward() — topological order, seeding, shared nodes, deep graphs.

Here the student's own backward() runs (mode "backward"); the expressions use only the
operations of exercise-1, so a wrong answer points at backward() itself.
"""

from grader.checking import Expression, Fail, check, fmt, judge_expression, numbers, single
from grader.checks.ex1 import OPS as EX1_OPS
from grader.checks.properties import random_expressions
from grader.sandbox import StudentError, WorkerFailed

CHAIN = 100_000
DEFAULT_RECURSION_LIMIT = 1000
RECURSION_HINT = (
    "a recursive topological sort goes one Python call deeper per node and overflows the "
    "call stack; keep your own stack (a list) of nodes to visit instead"
)


@check(
    3,
    2,
    "backward() seeds the output's grad with 1",
    hint="before walking the graph, set self.grad = 1: dL/dL = 1.",
)
def seeds(ctx):
    judge_expression(ctx, single("mul", 0.5, -1.25), upstream=1.0, mode="backward")


@check(
    3,
    2,
    "topological order: every node's grad is complete before its rule runs",
    hint="visit nodes in reverse topological order: a node after all the nodes that use it.",
)
def topological_order(ctx):
    # x = w * 2 feeds both y = x + 1 and out = x * y: x's rule must wait for both uses
    expr = Expression.of([["x", 0], ["mulc", 0, 2.0], ["addc", 1, 1.0], ["mul", 1, 2]], [0.25])
    judge_expression(ctx, expr, upstream=1.0, mode="backward")
    longer = Expression.of(
        [["x", 0], ["x", 1], ["mul", 0, 1], ["add", 2, 0], ["mul", 3, 2], ["add", 4, 3]],
        [0.5, -1.5],
    )
    judge_expression(ctx, longer, upstream=1.0, mode="backward")


@check(3, 2, "shared nodes: a diamond", hint="a node reached by two paths is visited once.")
def diamond(ctx):
    expr = Expression.of([["x", 0], ["mulc", 0, 3.0], ["addc", 0, 2.0], ["mul", 1, 2]], [0.7])
    judge_expression(ctx, expr, upstream=1.0, mode="backward")
    # the shared node inside the graph, not a leaf: if its rule ran twice, x's grad would too
    nodes = [["x", 0], ["mul", 0, 0], ["addc", 1, 1.0], ["mulc", 1, 3.0], ["mul", 2, 3]]
    judge_expression(ctx, Expression.of(nodes, [0.7]), upstream=1.0, mode="backward")


@check(
    3,
    1,
    "a second backward() after zeroing the grads gives the same grads",
    hint="keep no state between calls: build the order afresh every time.",
)
def twice(ctx):
    expr = Expression.of([["x", 0], ["x", 1], ["mul", 0, 1], ["add", 2, 1]], [0.5, -2.0])
    judge_expression(ctx, expr, upstream=1.0, mode="backward")
    reply = ctx.sandbox.request(
        "graph", mode="backward", upstream=1.0, twice=True, **expr.payload()
    )
    n = len(expr.nodes)
    first = numbers(reply, "grads", n, "gradients of the first call")
    again = numbers(reply, "grads_again", n, "gradients of the second call")
    if first != again:
        raise Fail(
            f"first call gave grads {[fmt(g) for g in first]}, the second (after zeroing) "
            f"{[fmt(g) for g in again]}"
        )


@check(
    3,
    1,
    "random expressions through backward()",
    hint="the smallest expression found that gets a wrong gradient is shown.",
)
def random_ex3(ctx):
    random_expressions(ctx, EX1_OPS, mode="backward", examples=15)


# Last of the exercise: the worker frees the chain's 200,000 Values after its reply, and no
# other check of exercise-3 then waits for that.
@check(3, 2, f"a chain of {CHAIN:,} nodes", hint=RECURSION_HINT)
def deep_chain(ctx):
    try:
        reply = ctx.sandbox.request("chain", x=1.0, length=CHAIN, timeout=30)
    except StudentError as exc:
        if exc.kind == "RecursionError":
            where = f" ({exc.where})" if exc.where else ""
            raise Fail(f"RecursionError on a chain of {CHAIN:,} nodes{where}") from None
        raise
    except WorkerFailed as exc:
        raise Fail(f"on a chain of {CHAIN:,} nodes, {exc}") from None
    if reply.get("grad") != 1.0:
        raise Fail(
            f"x -> x + 0.0 -> ... ({CHAIN:,} times): d/dx should be 1, got {fmt(reply.get('grad'))}"
        )
    if reply.get("recursive") is True:
        # Full marks (micrograd's own backward() is recursive), and a word on why it matters.
        return (
            f"your backward() is recursive: it raised RecursionError at Python's default limit "
            f"of {DEFAULT_RECURSION_LIMIT:,} calls, and passed once the grader raised the limit. "
            f"Your own programs keep the default, so {RECURSION_HINT}"
        )
    return None
