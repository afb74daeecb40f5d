"""Building an expression from its nodes, and listing a built graph. Standard library only.

Nothing here orders a graph: the worker never needs to. Where the grader runs the student's
rules one by one, it computes their order itself, from the list this module makes.
"""

import random

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


def listing(root):
    """(nodes, children, r): every node of root's graph, each node's `_prev` as positions in
    `nodes` (in `_prev`'s own order), and root's position.

    The list is shuffled, the same way for the same graph, with the root neither first nor
    last: it is no order in which a backward() could run the rules (a walk from the root
    would be one, for a chain), nor its reverse.
    """
    seen, nodes, stack = {id(root)}, [root], [root]
    while stack:
        for c in list(stack.pop()._prev):
            if id(c) not in seen:
                seen.add(id(c))
                nodes.append(c)
                stack.append(c)
    random.Random(len(nodes)).shuffle(nodes)
    r = next(i for i, v in enumerate(nodes) if v is root)
    if len(nodes) > 2 and r in (0, len(nodes) - 1):
        middle = len(nodes) // 2
        nodes[r], nodes[middle] = nodes[middle], nodes[r]
    where = {id(v): i for i, v in enumerate(nodes)}
    children = [[where[id(c)] for c in list(v._prev)] for v in nodes]
    return nodes, children, where[id(root)]
