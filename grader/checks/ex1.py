"""exercise-1: the chain rule for + and *, accumulation with +=, and the ops built on them.

Rules are graded one at a time, with the grader walking the graph itself, so this exercise
is gradable before backward() (exercise-3) exists.
"""

from grader.checking import Expression, check, judge_expression, single
from grader.checks.properties import random_expressions

OPS = {"add", "mul", "neg", "sub", "radd", "rsub", "rmul", "addc", "mulc"}


@check(1, 2, "+ backward", hint="out = a + b: both inputs receive out.grad unchanged.")
def add_backward(ctx):
    judge_expression(ctx, single("add", 0.5, -1.25), upstream=2.0)
    judge_expression(ctx, single("add", 3.0, 0.75), upstream=-0.5)


@check(1, 2, "* backward", hint="out = a * b: a receives b * out.grad, b receives a * out.grad.")
def mul_backward(ctx):
    judge_expression(ctx, single("mul", 0.5, -1.25), upstream=2.0)
    judge_expression(ctx, single("mul", 3.0, 0.75), upstream=-0.5)


@check(
    1,
    2,
    "a node used twice accumulates (+=)",
    hint="a + a and a * a use a twice: each use must add its share with +=, not assign.",
)
def used_twice(ctx):
    judge_expression(ctx, Expression.of([["x", 0], ["add", 0, 0]], [0.7]), upstream=1.5)
    judge_expression(ctx, Expression.of([["x", 0], ["mul", 0, 0]], [0.7]), upstream=1.5)
    judge_expression(
        ctx, Expression.of([["x", 0], ["x", 1], ["mul", 0, 1], ["add", 2, 0]], [1.5, -2.0]), 0.5
    )


@check(
    1,
    2,
    "ops built on + and * (-a, a - b, 2 + a, 2 - a, 2 * a)",
    hint="these need no rules of their own: they are written with + and *.",
)
def compositions(ctx):
    judge_expression(ctx, single("neg", 0.8), upstream=1.5)
    judge_expression(ctx, single("sub", 0.8, -0.3), upstream=1.5)
    judge_expression(ctx, single("radd", 0.8, const=2.0), upstream=1.5)
    judge_expression(ctx, single("rsub", 0.8, const=2.0), upstream=1.5)
    judge_expression(ctx, single("rmul", 0.8, const=2.0), upstream=1.5)


@check(
    1,
    2,
    "random expressions of + and *",
    hint="the smallest expression found that gets a wrong gradient is shown.",
)
def random_ex1(ctx):
    random_expressions(ctx, OPS)
