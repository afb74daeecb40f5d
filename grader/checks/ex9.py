"""exercise-9: matmul's backward, then matmul in graphs through backward().

The first three checks run the rule alone, through the grader's walk (mode "rules"), with
shapes drawn from the course's secret: 2-D matrices, batches whose batch axes broadcast, and
the vector cases (numpy's promotion is given code; the rule sees matrices). A failure names
the operand (A, the left, or B, the right), its shape, the batch axis it was broadcast along,
and what a swapped transpose would have given.

Regions these checks run: tensor.py's exercise-9 region, and exercise 7's broadcast_shape and
unbroadcast, which the given code around it calls. The graph checks also run exercise 8's
Tensor.backward and the rules of +, * and tanh (a node used twice, a diamond, a deep chain).
"""

from __future__ import annotations

from hypothesis import strategies as st

from grader.checks.checking import check
from grader.checks.properties import for_all
from grader.checks.strategies import _SEED, arrays, matmul_shapes
from grader.checks.tensor_judge import judge_case

DEPTH = 400  # layers of the deep chain: 3 nodes each


@st.composite
def _matmul(draw, kinds: tuple[str, ...]):
    a, b = draw(matmul_shapes(draw(st.sampled_from(kinds))))
    return [["x", 0], ["x", 1], ["matmul", 0, 1]], [draw(arrays(a)), draw(arrays(b))], draw(_SEED)


def _rule(ctx, *kinds: str, examples: int = 5) -> None:
    for_all(ctx, _matmul(kinds), lambda case: judge_case(ctx, case), examples)


@check(
    9,
    2,
    "@ backward: 2-D matrices, gradients of both operands",
    hint="out = A @ B: which product of out.grad with B (with A) has A's shape (B's)?",
)
def matrices(ctx):
    _rule(ctx, "mm")


@check(
    9,
    2,
    "@ backward: batches of matrices, the batch axes broadcast",
    hint="the same products on the last two axes (swapaxes(-1, -2)), then summed back over the "
    "batch axes an operand was broadcast along.",
)
def batched(ctx):
    _rule(ctx, "batched", examples=6)


@check(
    9,
    1,
    "@ backward: vectors (v @ M, M @ v, v @ v)",
    hint="the given code makes a vector a row (left) or a column (right): the matrix rule "
    "then works as it is, and the reshape gives each operand its own shape back.",
)
def vectors(ctx):
    _rule(ctx, "vm", "mv", "vv")


@st.composite
def _graphs(draw):
    """W used twice (a node feeding two products: accumulation) in a diamond:
    h = x @ W; out = (tanh(h) @ W + h * 1.5).sum()."""
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x, W = draw(arrays((n, k))), draw(arrays((k, k), -1.0, 1.0))
    nodes = [
        ["x", 0],
        ["x", 1],
        ["matmul", 0, 1],
        ["tanh", 2],
        ["matmul", 3, 1],
        ["mulc", 2, 1.5],
        ["add", 4, 5],
        ["sum", 6, None, False],
    ]
    return nodes, [x, W], draw(_SEED)


@check(
    9,
    2,
    "@ in a graph through backward(): a weight used twice, a diamond",
    hint="W feeds two products: each adds its share into W.grad (+=); backward() runs each "
    "node's rule once, after every node that uses it.",
)
def graphs(ctx):
    for_all(ctx, _graphs(), lambda case: judge_case(ctx, case, mode="backward"), 3)


@st.composite
def _deep(draw):
    """h <- h + (h @ W) * c, DEPTH times, one W for every layer, then the sum: a long chain
    whose gradient neither vanishes nor explodes (c small), W's grad summed over every use."""
    n, k = draw(st.integers(1, 3)), draw(st.integers(2, 3))
    c = round(draw(st.floats(0.5, 1.0)) / DEPTH, 6)
    nodes: list[list] = [["x", 0], ["x", 1]]
    h = 0
    for _ in range(DEPTH):
        nodes += [["matmul", h, 1], ["mulc", len(nodes), c], ["add", h, len(nodes) + 1]]
        h = len(nodes) - 1
    nodes.append(["sum", h, None, False])
    return nodes, [draw(arrays((n, k))), draw(arrays((k, k), -1.0, 1.0))], 0


@check(
    9,
    1,
    f"a deep graph through backward(): {DEPTH} layers of h + (h @ W) * c",
    hint="backward() without recursion, each node once; W's grad is the sum over all its uses.",
)
def deep(ctx):
    for_all(ctx, _deep(), lambda case: judge_case(ctx, case, mode="backward"), 1, shrink_calls=0)
