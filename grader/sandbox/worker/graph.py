"""Building an expression from its nodes, and walking a built graph. Standard library only."""

from .ops import BINARY, UNARY, WITH_CONSTANT


def build(leaf, nodes, inputs):
    """Every node of the expression, in order; `leaf(x)` makes input x (a Value, a tensor)."""
    built = []
    for node in nodes:
        op = node[0]
        if op == "x":
            built.append(leaf(float(inputs[node[1]])))
        elif op in UNARY:
            built.append(UNARY[op](built[node[1]]))
        elif op in BINARY:
            built.append(BINARY[op](built[node[1]], built[node[2]]))
        elif op in WITH_CONSTANT:
            built.append(WITH_CONSTANT[op](built[node[1]], node[2]))
        else:
            raise ValueError(f"unknown op {op}")
    return built


def topological(root):
    """The nodes of root's graph, each after its children, walking `_prev` without recursion."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((c, False) for c in list(v._prev) if id(c) not in seen)
    return order
