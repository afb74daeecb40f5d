"""Expressions as plain data, their text, and their values and gradients in PyTorch.

An expression is a list of nodes in topological order, each a list:
["x", k] input k; [op, i] a function of node i; [op, i, j] a binary op of nodes i and j;
[op, i, c] an op of node i and the constant c. The last node is the output. The same list
is built with the student's Value in the worker and with float64 tensors here.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.checks.later import torch
from grader.sandbox.worker.graph import build
from grader.sandbox.worker.ops import BINARY, UNARY, WITH_CONSTANT, operands

# op -> (how it reads, the student's rule that it exercises); what each op computes is in
# grader/sandbox/worker/ops.py, the table the worker builds the student's expression with.
UNARY_TEXT = {
    "neg": ("-{0}", "* (via -a = a * -1)"),
    "exp": ("exp({0})", "exp"),
    "log": ("log({0})", "log"),
    "tanh": ("tanh({0})", "tanh"),
    "relu": ("relu({0})", "relu"),
    "sigmoid": ("sigmoid({0})", "sigmoid"),
}
BINARY_TEXT = {
    "add": ("{0} + {1}", "+"),
    "mul": ("{0} * {1}", "*"),
    "sub": ("{0} - {1}", "+ and * (via a - b = a + -b)"),
    "div": ("{0} / {1}", "* and ** (via a / b = a * b**-1)"),
}
WITH_CONSTANT_TEXT = {
    "pow": ("{0}**{c}", "**"),
    "radd": ("{c} + {0}", "+ (via __radd__)"),
    "rsub": ("{c} - {0}", "+ and * (via __rsub__)"),
    "rmul": ("{c} * {0}", "* (via __rmul__)"),
    "rdiv": ("{c} / {0}", "* and ** (via __rtruediv__)"),
    "addc": ("{0} + {c}", "+"),
    "mulc": ("{0} * {c}", "*"),
}


def rule_of(node: list) -> str:
    op = node[0]
    for table in (UNARY_TEXT, BINARY_TEXT, WITH_CONSTANT_TEXT):
        if op in table:
            return table[op][1]
    return op


@dataclass(frozen=True)
class Expression:
    nodes: tuple[tuple, ...]
    inputs: tuple[float, ...]

    @staticmethod
    def of(nodes: list, inputs: list[float]) -> Expression:
        return Expression(tuple(tuple(n) for n in nodes), tuple(float(x) for x in inputs))

    def text(self, i: int | None = None) -> str:
        """The expression (or node i) as code, inputs named x0, x1, ..."""
        i = len(self.nodes) - 1 if i is None else i
        node = self.nodes[i]
        op = node[0]
        if op == "x":
            return f"x{node[1]}"

        def inner(j: int) -> str:
            t = self.text(j)
            return t if self.nodes[j][0] == "x" or self.nodes[j][0] in UNARY_TEXT else f"({t})"

        if op in UNARY_TEXT:
            return UNARY_TEXT[op][0].format(self.text(node[1]) if op != "neg" else inner(node[1]))
        if op in BINARY_TEXT:
            return BINARY_TEXT[op][0].format(inner(node[1]), inner(node[2]))
        return WITH_CONSTANT_TEXT[op][0].format(inner(node[1]), c=node[2])

    def inputs_text(self) -> str:
        return ", ".join(f"x{k} = {v:g}" for k, v in enumerate(self.inputs))

    def consumers(self, i: int) -> list[int]:
        return [j for j, n in enumerate(self.nodes) if n[0] != "x" and i in operands(n)]

    def payload(self) -> dict:
        return {"nodes": [list(n) for n in self.nodes], "inputs": list(self.inputs)}


def torch_values(expr: Expression, upstream: float) -> tuple[list[float], list[float]]:
    """Every node's value and its gradient d(upstream * out)/d(node), in float64."""
    built = build(_leaf, expr.nodes, expr.inputs)
    for t in built:
        if not t.requires_grad:  # a node that does not depend on any input
            t.requires_grad_(True)
        t.retain_grad()
    (built[-1] * upstream).backward()
    data = [t.item() for t in built]
    grads = [t.grad.item() if t.grad is not None else 0.0 for t in built]
    return data, grads


def _leaf(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def local_grad(node: tuple, values: list[float], j: int) -> float:
    """d(node)/d(node j) through node's own op alone (both of its operands, if j is both),
    at the nodes' `values`, in float64."""
    leaves = {k: _leaf(values[k]) for k in operands(list(node))}
    op = node[0]
    if op in UNARY:
        out = UNARY[op](leaves[node[1]])
    elif op in BINARY:
        out = BINARY[op](leaves[node[1]], leaves[node[2]])
    else:
        out = WITH_CONSTANT[op](leaves[node[1]], node[2])
    out.backward()
    grad = leaves[j].grad
    return 0.0 if grad is None else grad.item()
