"""exercise-8: the backward rules of the Tensor ops, and backward().

Every rule is graded through the grader's own walk of the graph (mode "rules": out.grad set to
an upstream gradient drawn from the secret, each `_backward` called in reverse topological
order), so a rule can pass before backward() is written; the last check runs the student's
backward() itself. Shapes (0 to 4 axes, sizes 1 to 3), values, axes, constants and upstream
gradients are drawn by hypothesis from the course's secret; a failure is shrunk to the
smallest case, judged against PyTorch (float64) with a finite-difference estimate beside it.

Regions these checks run: tensor.py's exercise-8 rules (each check names its own), and
exercise 7's unbroadcast, which + and * call; the last check also runs Tensor.backward.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from grader.checks.checking import check
from grader.checks.properties import for_all
from grader.checks.strategies import (
    _SEED,
    arrays,
    broadcastable_pairs,
    every_op_case,
    shapes,
    tensor_expressions,
)
from grader.checks.tensor_judge import judge_case

EXAMPLES = 5


def _rules(ctx, *ops, examples: int = EXAMPLES) -> None:
    """Each example tries every op of `ops` once, each on its own drawn case."""

    def judge(cases):
        for case in cases:
            judge_case(ctx, case)

    for_all(ctx, every_op_case(*ops), judge, examples)


@check(
    8,
    2,
    "+ and - backward, with broadcasting",
    hint="out = a + b: each input gets out.grad, summed back to its own shape (unbroadcast).",
)
def add_backward(ctx):
    _rules(ctx, "add", "sub")


@check(
    8,
    2,
    "* and / backward, with broadcasting",
    hint="out = a * b: a gets b.data * out.grad, b gets a.data * out.grad, each unbroadcast.",
)
def mul_backward(ctx):
    _rules(ctx, "mul", "div")


@check(
    8,
    1,
    "** backward, and a constant on either side (c + x, c * x, x * c, c / x, ...)",
    hint="out = x**n: n * x**(n - 1) * out.grad; a plain number becomes a Tensor of shape ().",
)
def pow_backward(ctx):
    _rules(ctx, "pow", "radd", "rsub", "rmul", "rdiv", "addc", "mulc", examples=3)


@check(8, 2, "exp, log and tanh backward", hint="e**x = out.data; 1 / x; 1 - out.data**2.")
def unary_backward(ctx):
    _rules(ctx, "exp", "log", "tanh", "neg")


@check(
    8,
    1,
    "relu backward, 0 where the input is exactly 0 (as PyTorch)",
    hint="a mask of the inputs > 0 times out.grad: the entries equal to 0 get 0.",
)
def relu_backward(ctx):
    _rules(ctx, "relu")


@check(
    8,
    1,
    "sum backward, over any axes, with and without keepdims",
    hint="out.grad goes back to every entry it summed: put the reduced axes back, size 1.",
)
def sum_backward(ctx):
    _rules(ctx, "sum", ("sum", "keep"), ("sum", "inner"), examples=4)


@check(
    8,
    1,
    "mean backward, over any axes, with and without keepdims",
    hint="a mean is a sum divided by the count of entries averaged into each output entry.",
)
def mean_backward(ctx):
    _rules(ctx, "mean", ("mean", "keep"), ("mean", "inner"), examples=4)


@check(
    8,
    2,
    "max backward: tied maxima share the gradient (torch.amax)",
    hint="a mask of the entries equal to their maximum; k tied entries get 1/k of it each.",
)
def max_backward(ctx):
    _rules(ctx, "max", ("max", "keep"), ("max", "inner"), examples=5)


@check(
    8,
    2,
    "reshape and transpose backward",
    hint="reshape: out.grad in self's shape. transpose: out.grad moved back by the inverse "
    "permutation of axes.",
)
def shape_backward(ctx):
    _rules(ctx, "reshape", "transpose", examples=6)


@st.composite
def _twice(draw):
    """Every way an input is used twice: x + x and x * x (one op, both operands), and
    (x + y) + x and (x * y) * x (two ops), shapes that broadcast, all summed into one output."""
    (a, b), _ = draw(broadcastable_pairs())
    nodes = [
        ["x", 0],
        ["x", 1],
        ["add", 0, 0],  # 2: x + x
        ["mul", 0, 0],  # 3: x * x
        ["add", 0, 1],  # 4: x + y
        ["add", 4, 0],  # 5: (x + y) + x
        ["mul", 0, 1],  # 6: x * y
        ["mul", 6, 0],  # 7: (x * y) * x
        ["add", 2, 3],
        ["add", 8, 5],
        ["add", 9, 7],
    ]
    return nodes, [draw(arrays(a)), draw(arrays(b))], draw(_SEED)


@check(
    8,
    1,
    "an input used twice accumulates its grads (+=)",
    hint="x * x and (x * y) * x use x twice: each use adds its share into x.grad with +=.",
)
def used_twice(ctx):
    for_all(ctx, _twice(), lambda case: judge_case(ctx, case), 4)


def _expression_cases():
    return st.tuples(tensor_expressions(), _SEED).map(lambda t: (*t[0], t[1]))


@check(
    8,
    2,
    "random expressions of tensors, shapes drawn",
    hint="the smallest expression found with a wrong gradient is shown, with the rule at fault.",
)
def random_tensors(ctx):
    for_all(ctx, _expression_cases(), lambda case: judge_case(ctx, case), 10)


@check(
    8,
    1,
    "grads never share memory with data or another grad; no input or data changed",
    hint="each grad is an array of its own: add into it (self.grad += ...), never assign "
    "another array to it, and never write into .data.",
)
def memory(ctx):
    # judge_tensors checks memory on every case once the grads are right; these cases are the
    # ones that expose it: every rule once, on equal shapes (unbroadcast may return out.grad
    # itself), through views (reshape, transpose)
    cases = st.one_of(_every_rule(), _every_rule(), _expression_cases())
    for_all(ctx, cases, lambda case: judge_case(ctx, case), 6)


@st.composite
def _every_rule(draw):
    """Each of exercise 8's rules once, in one expression of two inputs of one shape."""
    s = draw(array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3))
    perm = [*range(1, len(s)), 0]
    nodes = [
        ["x", 0],
        ["x", 1],
        ["add", 0, 1],
        ["exp", 2],
        ["mul", 3, 1],
        ["reshape", 4, [-1]],
        ["log", 5],
        ["reshape", 6, list(s)],
        ["transpose", 7, perm],
        ["tanh", 8],
        ["relu", 9],
        ["pow", 10, 2],
        ["max", 11, 0, True],
        ["mean", 12, None, False],
        ["sum", 11, None, False],
        ["add", 13, 14],
    ]
    x1 = draw(arrays(s, 0.5, 2.0))  # exp(x0 + x1) * x1 > 0: log's input stays positive
    return nodes, [draw(arrays(s)), x1], draw(_SEED)


@st.composite
def _graphs(draw):
    """A diamond (x feeds two ops that meet again), a node used at two depths, or a random
    expression, for the student's backward()."""
    kind = draw(st.sampled_from(["diamond", "depths", "random"]))
    s = draw(shapes)
    x = draw(arrays(s))
    if kind == "diamond":
        nodes = [["x", 0], ["exp", 0], ["mulc", 0, 1.5], ["mul", 1, 2], ["sum", 3, None, False]]
    elif kind == "depths":
        nodes = [["x", 0], ["tanh", 0], ["mul", 1, 0], ["add", 2, 1], ["mean", 3, None, False]]
    else:
        nodes, inputs = draw(tensor_expressions())
        return nodes, inputs, 0
    return nodes, [x], 0


@check(
    8,
    2,
    "backward(): seeds ones of the output's shape, runs each rule once, in topological order",
    hint="as Value.backward: a topological order without recursion, then self.grad = "
    "np.ones_like(self.data) and each node's _backward from the output back.",
)
def backward(ctx):
    for_all(ctx, _graphs(), lambda case: judge_case(ctx, case, mode="backward", twice=True), 6)
