"""exercise-2: **, /, exp, log, tanh, relu, sigmoid; graded rule by rule, like exercise-1."""

from grader.checking import check, judge_expression, single
from grader.checks.ex1 import OPS as EX1_OPS
from grader.checks.properties import random_expressions

POINTS = [(0.5, 2.0), (-1.3, -0.7)]  # (input, upstream) pairs, away from every kink


@check(2, 2, "** backward", hint="out = x**n: d/dx = n * x**(n-1), with n a plain number.")
def pow_backward(ctx):
    for n in (2, 3, -1):
        for x, g in POINTS:
            judge_expression(ctx, single("pow", x, const=n), upstream=g)
    judge_expression(ctx, single("pow", 1.7, const=0.5), upstream=2.0)
    judge_expression(ctx, single("pow", 1.7, const=-2.5), upstream=-0.7)


@check(
    2,
    1,
    "a / b and 2 / a (built on * and **)",
    hint="a / b is a * b**-1: no rule of its own, only ** and * must be right.",
)
def division(ctx):
    judge_expression(ctx, single("div", 0.9, -1.6), upstream=2.0)
    judge_expression(ctx, single("rdiv", 0.9, const=2.0), upstream=-0.7)


@check(2, 2, "exp backward", hint="d/dx e**x = e**x, which is out.data.")
def exp_backward(ctx):
    for x, g in POINTS:
        judge_expression(ctx, single("exp", x), upstream=g)


@check(2, 2, "log backward", hint="d/dx ln x = 1 / x.")
def log_backward(ctx):
    judge_expression(ctx, single("log", 0.5), upstream=2.0)
    judge_expression(ctx, single("log", 3.2), upstream=-0.7)


@check(2, 2, "tanh backward", hint="d/dx tanh x = 1 - tanh(x)**2 = 1 - out.data**2.")
def tanh_backward(ctx):
    for x, g in POINTS:
        judge_expression(ctx, single("tanh", x), upstream=g)


@check(
    2, 2, "relu backward", hint="1 where x > 0, else 0; at exactly x = 0, PyTorch's choice is 0."
)
def relu_backward(ctx):
    for x, g in POINTS:
        judge_expression(ctx, single("relu", x), upstream=g)
    judge_expression(ctx, single("relu", 0.0), upstream=2.0)  # the kink


@check(2, 2, "sigmoid backward", hint="d/dx s(x) = s(x) * (1 - s(x)), with s(x) = out.data.")
def sigmoid_backward(ctx):
    for x, g in POINTS:
        judge_expression(ctx, single("sigmoid", x), upstream=g)


@check(
    2,
    2,
    "random expressions of every operation so far",
    hint="built from the operations your Value has; the smallest failing one is shown.",
)
def random_ex2(ctx):
    have = ctx.sandbox.request("ops").get("ops")
    have = [op for op in have if isinstance(op, str)] if isinstance(have, list) else []
    random_expressions(ctx, EX1_OPS | {"pow"} | {op for op in have if op in EX2_UNARY})


EX2_UNARY = {"exp", "tanh", "relu", "sigmoid"}
