"""Expressions as plain data, their text, and their values and gradients in PyTorch.

An expression is a list of nodes in topological order, each a list:
["x", k] input k; [op, i] a function of node i; [op, i, j] a binary op of nodes i and j;
[op, i, c] an op of node i and the constant c. The last node is the output. The same list
is built with the student's Value in the worker and with float64 tensors here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# op -> (how it reads, the student's rule that it exercises)
UNARY = {
    "neg": ("-{0}", "* (via -a = a * -1)"),
    "exp": ("exp({0})", "exp"),
    "log": ("log({0})", "log"),
    "tanh": ("tanh({0})", "tanh"),
    "relu": ("relu({0})", "relu"),
    "sigmoid": ("sigmoid({0})", "sigmoid"),
}
BINARY = {
    "add": ("{0} + {1}", "+"),
    "mul": ("{0} * {1}", "*"),
    "sub": ("{0} - {1}", "+ and * (via a - b = a + -b)"),
    "div": ("{0} / {1}", "* and ** (via a / b = a * b**-1)"),
}
WITH_CONSTANT = {
    "pow": ("{0}**{c}", "**"),
    "radd": ("{c} + {0}", "+ (via __radd__)"),
    "rsub": ("{c} - {0}", "+ and * (via __rsub__)"),
    "rmul": ("{c} * {0}", "* (via __rmul__)"),
    "rdiv": ("{c} / {0}", "* and ** (via __rtruediv__)"),
    "addc": ("{0} + {c}", "+"),
    "mulc": ("{0} * {c}", "*"),
}

TORCH = {
    "neg": lambda a: -a,
    "exp": torch.exp,
    "log": torch.log,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sub": lambda a, b: a - b,
    "div": lambda a, b: a / b,
    "pow": lambda a, c: a**c,
    "radd": lambda a, c: c + a,
    "rsub": lambda a, c: c - a,
    "rmul": lambda a, c: c * a,
    "rdiv": lambda a, c: c / a,
    "addc": lambda a, c: a + c,
    "mulc": lambda a, c: a * c,
}


def rule_of(node: list) -> str:
    op = node[0]
    for table in (UNARY, BINARY, WITH_CONSTANT):
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
            return t if self.nodes[j][0] == "x" or self.nodes[j][0] in UNARY else f"({t})"

        if op in UNARY:
            return UNARY[op][0].format(self.text(node[1]) if op != "neg" else inner(node[1]))
        if op in BINARY:
            return BINARY[op][0].format(inner(node[1]), inner(node[2]))
        return WITH_CONSTANT[op][0].format(inner(node[1]), c=node[2])

    def inputs_text(self) -> str:
        return ", ".join(f"x{k} = {v:g}" for k, v in enumerate(self.inputs))

    def consumers(self, i: int) -> list[int]:
        return [j for j, n in enumerate(self.nodes) if n[0] != "x" and i in _operands(n)]

    def payload(self) -> dict:
        return {"nodes": [list(n) for n in self.nodes], "inputs": list(self.inputs)}


def _operands(node: tuple) -> list[int]:
    op = node[0]
    if op in UNARY or op in WITH_CONSTANT:
        return [node[1]]
    if op in BINARY:
        return [node[1], node[2]]
    return []


def torch_values(expr: Expression, upstream: float) -> tuple[list[float], list[float]]:
    """Every node's value and its gradient d(upstream * out)/d(node), in float64."""
    built: list[torch.Tensor] = []
    for node in expr.nodes:
        op = node[0]
        if op == "x":
            t = torch.tensor(expr.inputs[node[1]], dtype=torch.float64, requires_grad=True)
        elif op in UNARY:
            t = TORCH[op](built[node[1]])
        elif op in BINARY:
            t = TORCH[op](built[node[1]], built[node[2]])
        else:
            t = TORCH[op](built[node[1]], node[2])
        if not t.requires_grad:
            t.requires_grad_(True)
        t.retain_grad()
        built.append(t)
    (built[-1] * upstream).backward()
    data = [t.item() for t in built]
    grads = [t.grad.item() if t.grad is not None else 0.0 for t in built]
    return data, grads
