"""exercise-10: log-softmax and cross-entropy, each one node whose gradient is worked out whole.

The forward passes are given (and stable: each row's maximum subtracted first); the student
writes the two backward rules. Shapes, axes, labels and upstream gradients are drawn from the
course's secret; the logits of one check are of size 1e3, where exp overflows unless the
rule uses what the forward pass kept; another check runs the backward pass twice, which
fails a rule that changes the saved probabilities in place.

Regions these checks run: tensor.py's exercise-10 regions only (the grader walks the graph).
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from grader.checks.checking import check
from grader.checks.properties import for_all
from grader.checks.strategies import _SEED, arrays
from grader.checks.tensor_judge import judge_case


@st.composite
def _log_softmax(draw, scale: float = 1.0):
    s = draw(array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4))
    axis = draw(st.integers(-len(s), len(s) - 1))
    x = draw(arrays(s, -3.0, 3.0)) * scale
    return [["x", 0], ["log_softmax", 0, axis]], [x], draw(_SEED)


@st.composite
def _cross_entropy(draw, scale: float = 1.0):
    n, c = draw(st.integers(1, 6)), draw(st.integers(2, 6))
    labels = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    logits = draw(arrays((n, c), -3.0, 3.0)) * scale
    return [["x", 0], ["cross_entropy", 0, labels]], [logits], draw(_SEED)


@check(
    10,
    2,
    "log_softmax backward, along any axis",
    hint="out_i = x_i - log sum_j e**x_j: x_j moves every out_i of its row, through the sum too.",
)
def log_softmax(ctx):
    for_all(ctx, _log_softmax(), lambda case: judge_case(ctx, case), 6)


@check(
    10,
    2,
    "cross_entropy backward: (softmax - one-hot) / N, times out.grad",
    hint="the mean over N rows of -log softmax(row)[label]: each row contributes its own "
    "softmax minus the one-hot of its label, divided by N.",
)
def cross_entropy(ctx):
    for_all(ctx, _cross_entropy(), lambda case: judge_case(ctx, case), 6)


@check(
    10,
    2,
    "logits of size 1e3 give finite gradients",
    hint="e**1000 overflows: use the forward pass's e**out.data (log_softmax) and probs "
    "(cross_entropy), which were computed with each row's maximum subtracted.",
)
def large_logits(ctx):
    cases = st.one_of(_log_softmax(scale=1e3 / 3), _cross_entropy(scale=1e3 / 3))
    for_all(ctx, cases, lambda case: judge_case(ctx, case), 4)


@check(
    10,
    1,
    "a second backward pass gives the same gradients (saved arrays unchanged)",
    hint="backward() may run more than once on one graph: copy probs before changing it.",
)
def twice(ctx):
    cases = st.one_of(_cross_entropy(), _cross_entropy(), _log_softmax())
    for_all(ctx, cases, lambda case: judge_case(ctx, case, twice=True), 6)
