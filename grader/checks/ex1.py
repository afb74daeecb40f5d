"""exercise-1: the chain rule for + and *, accumulation with +=, and the ops built on them.

Rules are graded one at a time, with the grader walking the graph itself, so this exercise
is gradable before backward() (exercise-3) exists. Every input, upstream gradient and constant
is drawn from the course's secret (ctx.uniform, ctx.upstream): no answer can be given in advance.
"""

from grader.checks.checking import Expression, check, judge_expression, single
from grader.checks.properties import random_expressions

OPS = {"add", "mul", "neg", "sub", "radd", "rsub", "rmul", "addc", "mulc"}


@check(1, 2, "+ backward", hint="out = a + b: both inputs receive out.grad unchanged.")
def add_backward(ctx):
    for _ in range(2):
        x0, x1 = ctx.uniform(-3, 3), ctx.uniform(-3, 3)
        judge_expression(ctx, single("add", x0, x1), upstream=ctx.upstream(), exact=True)


@check(1, 2, "* backward", hint="out = a * b: a receives b * out.grad, b receives a * out.grad.")
def mul_backward(ctx):
    for _ in range(2):
        x0, x1 = ctx.uniform(-3, 3), ctx.uniform(-3, 3)
        judge_expression(ctx, single("mul", x0, x1), upstream=ctx.upstream(), exact=True)


@check(
    1,
    2,
    "a node used twice accumulates (+=)",
    hint="a + a and a * a use a twice: each use must add its share with +=, not assign.",
)
def used_twice(ctx):
    x = ctx.uniform(-2, 2, away_from=0)
    judge_expression(ctx, Expression.of([["x", 0], ["add", 0, 0]], [x]), ctx.upstream(), exact=True)
    judge_expression(ctx, Expression.of([["x", 0], ["mul", 0, 0]], [x]), ctx.upstream(), exact=True)
    xs = [ctx.uniform(-2, 2, away_from=0), ctx.uniform(-2, 2, away_from=0)]
    nodes = [["x", 0], ["x", 1], ["mul", 0, 1], ["add", 2, 0]]
    judge_expression(ctx, Expression.of(nodes, xs), ctx.upstream(), exact=True)


@check(
    1,
    2,
    "ops built on + and * (-a, a - b, c + a, c - a, c * a)",
    hint="these need no rules of their own: they are written with + and *.",
)
def compositions(ctx):
    x, y = ctx.uniform(-2, 2), ctx.uniform(-2, 2)
    judge_expression(ctx, single("neg", x), upstream=ctx.upstream(), exact=True)
    judge_expression(ctx, single("sub", x, y), upstream=ctx.upstream(), exact=True)
    for op in ("radd", "rsub", "rmul"):
        c = ctx.uniform(-3, 3, away_from=0)
        judge_expression(
            ctx, single(op, ctx.uniform(-2, 2), const=c), upstream=ctx.upstream(), exact=True
        )


@check(
    1,
    2,
    "random expressions of + and *",
    hint="the smallest expression found that gets a wrong gradient is shown.",
)
def random_ex1(ctx):
    random_expressions(ctx, OPS)
