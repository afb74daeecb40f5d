"""exercise-2: **, /, exp, log, tanh, relu, sigmoid; graded rule by rule, like exercise-1.

Each rule is tried at inputs and upstreams drawn from the course's secret, away from its
kinks and outside nothing of its domain, and on an expression that uses its input twice
(k * op(x) + x): a rule that assigns its grad (`=`) instead of adding (`+=`) loses the other
use's share.
"""

from grader.checks.checking import Expression, check, judge_expression, single
from grader.checks.ex1 import OPS as EX1_OPS
from grader.checks.properties import random_expressions
from grader.sandbox import StudentError

EX2_UNARY = {"exp", "tanh", "relu", "sigmoid"}


def _rule(ctx, op, lo, hi, const=None, away_from=None, cases=2):
    """`op` at `cases` inputs in [lo, hi], then op(x) + x, which uses x twice."""
    for _ in range(cases):
        x = ctx.uniform(lo, hi, away_from)
        judge_expression(ctx, single(op, x, const=const), upstream=ctx.upstream(), exact=True)
    # k * op(x) + x: x's two shares differ (k is no 1), so the one that survives an `=` says
    # which rule assigned; `+` runs first, so an `=` in op's rule always overwrites its share
    node = [op, 0] if const is None else [op, 0, const]
    k = ctx.uniform(1.5, 3) * ctx.rng.choice((-1, 1))
    twice = Expression.of(
        [["x", 0], node, ["mulc", 1, k], ["add", 2, 0]], [ctx.uniform(lo, hi, away_from)]
    )
    judge_expression(ctx, twice, upstream=ctx.upstream(), exact=True)


@check(2, 2, "** backward", hint="out = x**n: d/dx = n * x**(n-1), with n a plain number.")
def pow_backward(ctx):
    for n in (2, 3, -1):
        _rule(ctx, "pow", -2, 2, const=n, away_from=0)
    for _ in range(2):  # a fractional power, of positive numbers only
        n = ctx.uniform(-3, 3, away_from=0)
        _rule(ctx, "pow", 0.3, 2.5, const=n, cases=1)


@check(
    2,
    1,
    "a / b and c / a (built on * and **)",
    hint="a / b is a * b**-1: no rule of its own, only ** and * must be right.",
)
def division(ctx):
    a, b = ctx.uniform(-2, 2), ctx.uniform(0.4, 2) * ctx.rng.choice((-1, 1))
    judge_expression(ctx, single("div", a, b), upstream=ctx.upstream(), exact=True)
    c, x = ctx.uniform(-3, 3, away_from=0), ctx.uniform(0.4, 2) * ctx.rng.choice((-1, 1))
    judge_expression(ctx, single("rdiv", x, const=c), upstream=ctx.upstream(), exact=True)


@check(2, 2, "exp backward", hint="d/dx e**x = e**x, which is out.data.")
def exp_backward(ctx):
    _rule(ctx, "exp", -2, 2)


@check(2, 2, "log backward", hint="d/dx ln x = 1 / x.")
def log_backward(ctx):
    _rule(ctx, "log", 0.2, 4)


@check(2, 2, "tanh backward", hint="d/dx tanh x = 1 - tanh(x)**2 = 1 - out.data**2.")
def tanh_backward(ctx):
    _rule(ctx, "tanh", -2, 2, away_from=0)  # near 0, 1 - x**2 is nearly tanh's slope


@check(
    2, 2, "relu backward", hint="1 where x > 0, else 0; at exactly x = 0, PyTorch's choice is 0."
)
def relu_backward(ctx):
    judge_expression(ctx, single("relu", ctx.uniform(0.1, 2)), upstream=ctx.upstream(), exact=True)
    judge_expression(
        ctx, single("relu", ctx.uniform(-2, -0.1)), upstream=ctx.upstream(), exact=True
    )
    judge_expression(ctx, single("relu", 0.0), upstream=ctx.upstream(), exact=True)  # the kink
    _rule(ctx, "relu", 0.1, 2, cases=0)  # relu(x) + x, where relu passes the grad on


@check(2, 2, "sigmoid backward", hint="d/dx s(x) = s(x) * (1 - s(x)), with s(x) = out.data.")
def sigmoid_backward(ctx):
    _rule(ctx, "sigmoid", -3, 3)


@check(
    2,
    2,
    "random expressions of every operation so far",
    hint="built from the operations your Value has; the smallest failing one is shown.",
)
def random_ex2(ctx):
    random_expressions(ctx, EX1_OPS | {"pow"} | {op for op in sorted(EX2_UNARY) if has(ctx, op)})


def has(ctx, op: str) -> bool:
    """Whether the student's Value has `op`: tried on a number, like any check's request, so
    that saying "missing" costs that op's own check too (no reply can narrow this check)."""
    try:
        ctx.sandbox.request("graph", forward_only=True, **single(op, ctx.uniform(0.2, 2)).payload())
    except StudentError as exc:
        return not (exc.kind == "AttributeError" and f"'{op}'" in exc.message)
    return True
