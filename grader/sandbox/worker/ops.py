"""The operations an expression may use, shared by the worker and the grader.

Each is written with Python's operators and the methods that the student's Value and a
torch.Tensor both have (`a.exp()`, `a.relu()`, ...), so one table builds the same expression
from the student's Value in the worker and from float64 tensors in the grader. An expression
node is ["x", k] (input k), [op, i], [op, i, j] or [op, i, c] (c a constant).

Standard library only: this package is what student code can see of the grader.
"""

UNARY = {
    "neg": lambda a: -a,
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "tanh": lambda a: a.tanh(),
    "relu": lambda a: a.relu(),
    "sigmoid": lambda a: a.sigmoid(),
}
BINARY = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sub": lambda a, b: a - b,
    "div": lambda a, b: a / b,
}
WITH_CONSTANT = {
    "pow": lambda a, c: a**c,
    "radd": lambda a, c: c + a,
    "rsub": lambda a, c: c - a,
    "rmul": lambda a, c: c * a,
    "rdiv": lambda a, c: c / a,
    "addc": lambda a, c: a + c,
    "mulc": lambda a, c: a * c,
}


def operands(node):
    """The indices of the nodes that `node` is a function of."""
    op = node[0]
    if op in UNARY or op in WITH_CONSTANT:
        return [node[1]]
    if op in BINARY:
        return [node[1], node[2]]
    return []
