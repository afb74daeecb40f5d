"""Random expressions for property-based checks: the one home of the grader's strategies.

Bounded inputs, bounded depth, and only operations whose domain every input satisfies
(no log of a negative number, no division near zero), so that a failure always means a
wrong rule. Derandomised by the runner, so the same submission always gets the same grade.
"""

from __future__ import annotations

from hypothesis import strategies as st

from grader.checks.expressions import Expression

SAFE_UNARY = ["neg", "tanh", "sigmoid", "relu", "exp"]
SAFE_BINARY = ["add", "mul", "sub"]
SAFE_CONSTANT = {
    "radd": [1.5, -2.0],
    "rsub": [1.0, 3.0],
    "rmul": [2.0, -0.5],
    "addc": [0.5],
    "mulc": [3.0],
    "pow": [2, 3],
}


@st.composite
def expressions(draw, ops: frozenset[str], max_inputs: int = 3, max_ops: int = 6) -> Expression:
    n_inputs = draw(st.integers(1, max_inputs))
    inputs = draw(
        st.lists(
            st.floats(-2.0, 2.0).map(lambda v: round(v, 3)), min_size=n_inputs, max_size=n_inputs
        )
    )
    nodes: list[list] = [["x", k] for k in range(n_inputs)]
    unary = [op for op in SAFE_UNARY if op in ops]
    binary = [op for op in SAFE_BINARY if op in ops]
    constant = [op for op in SAFE_CONSTANT if op in ops]
    kinds = [k for k, avail in (("u", unary), ("b", binary), ("c", constant)) if avail]
    for _ in range(draw(st.integers(1, max_ops))):
        kind = draw(st.sampled_from(kinds))
        i = draw(st.integers(0, len(nodes) - 1))
        if kind == "u":
            nodes.append([draw(st.sampled_from(unary)), i])
        elif kind == "b":
            nodes.append([draw(st.sampled_from(binary)), i, draw(st.integers(0, len(nodes) - 1))])
        else:
            op = draw(st.sampled_from(constant))
            nodes.append([op, i, draw(st.sampled_from(SAFE_CONSTANT[op]))])
    # make the output depend on the last few nodes, not just the last one
    if len(nodes) > n_inputs + 1 and "add" in ops:
        nodes.append(["add", len(nodes) - 1, len(nodes) - 2])
    return Expression.of(nodes, inputs)
