"""The worker's side of student code: importing it, reading its numbers, blaming its rules.

Standard library only, like the rest of the worker package.
"""

import math
import os
import sys
import traceback

from .graph import listing


class StudentError(Exception):
    """An exception raised by student code, described for the report."""

    def __init__(self, exc):
        tb = traceback.extract_tb(exc.__traceback__)
        # the innermost frame in the student's files says where it happened
        where = ""
        for frame in reversed(tb):
            if frame.filename.startswith(WORKSPACE):
                rel = os.path.relpath(frame.filename, WORKSPACE)
                where = f"{rel}:{frame.lineno} in {frame.name}"
                break
        super().__init__(type(exc).__name__, str(exc)[:500], where)
        self.kind = type(exc).__name__
        self.message = str(exc)[:500]
        self.where = where


WORKSPACE = ""


def number(x):
    """A plain float from whatever the student's code produced (int, bool, float subclass).

    The base classes' own conversions ignore anything a subclass overrides, so a float
    whose `__eq__` is always true arrives in the grader as the bare number it holds.
    """
    if isinstance(x, float):
        return float.__float__(x)
    if isinstance(x, int):
        return float(int.__int__(x))
    raise TypeError(f"expected a number, got {type(x).__name__}")


def plain(xs):
    return [_json_number(number(x)) for x in xs]


def grads(root, values):
    """The grads of `values` as plain numbers. A grad that is not a number (a Value, made by a
    rule that computed with Values where it needed their .data) is traced back to that rule:
    a node whose grad is not a number while the grads of all the nodes that use it are got it
    from one of their rules (the output's own grad has no rule to blame)."""
    try:
        return plain([v.grad for v in values])
    except TypeError:
        pass
    nodes, children, _ = listing(root)
    users = [[] for _ in nodes]
    for u, cs in enumerate(children):
        for c in cs:
            users[c].append(u)
    bad = [not isinstance(v.grad, (int, float)) for v in nodes]
    for i, v in enumerate(nodes):
        if not bad[i] or any(bad[u] for u in users[i]):
            continue
        if not users[i]:
            raise TypeError(f"the output's grad is a {type(v.grad).__name__}, not a number")
        raise TypeError(not_a_number(nodes[users[i][0]], v.grad))
    return plain([v.grad for v in values])


def not_a_number(node, grad):
    """Why a grad is not a number: node's rule, named with its file and line, made it so."""
    op = getattr(node, "_op", "") or "?"
    code = getattr(getattr(node, "_backward", None), "__code__", None)
    where = ""
    if code is not None and code.co_filename.startswith(WORKSPACE):
        where = f" ({os.path.relpath(code.co_filename, WORKSPACE)}:{code.co_firstlineno})"
    return (
        f"the `{op}` backward rule{where} made a grad that is a {type(grad).__name__}, not a "
        "number: inside _backward compute with plain numbers, e.g. out.data and self.data "
        "(use .data), not with Values"
    )


def _json_number(x):
    # JSON has no NaN or infinity; send them as strings the grader understands.
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def import_student(name):
    import importlib

    module = importlib.import_module(name)
    engine = sys.modules.get("micrograd.engine")
    if isinstance(getattr(engine, "Value", None), type):
        stamp_creation_order(engine.Value)
    return module


def value_class():
    return import_student("micrograd.engine").Value


# -- the same answers run after run ------------------------------------------------------------
#
# Students keep `_prev` as a set (micrograd does). A set of Values iterates in the order of
# their hashes, and object.__hash__ comes from the object's address, which changes from run to
# run: so would the order of visits, and with a bug whose effect depends on it, the grade. Each
# Value gets a hash from its creation number instead (counted afresh for every request), where
# the class keeps object's own hash: sets, and so every walk of a graph, then iterate the same
# way every run. The number is scrambled (a one-to-one map), so that sorting by hash is no
# creation order, which would be a topological order handed to the student's backward().

CREATED = [0]
PRIME = 2**61 - 1  # Python's hash of a smaller int is the int itself
MIX = 0x1E3779B97F4A7C15  # below PRIME: n -> n * MIX % PRIME is one-to-one


def stamp_creation_order(Value):
    if getattr(Value, "_grader_stamped", None) is not None:
        return
    try:  # __slots__ without room for a stamp: the class keeps its ways
        object.__setattr__(Value.__new__(Value), "_grader_hash", 0)
    except Exception:
        Value._grader_stamped = False
        return
    init = Value.__init__

    def __init__(self, *args, **kwargs):
        CREATED[0] += 1
        object.__setattr__(self, "_grader_hash", CREATED[0] * MIX % PRIME)
        init(self, *args, **kwargs)

    try:
        Value.__init__ = __init__
        if Value.__hash__ is object.__hash__:
            Value.__hash__ = _creation_hash
        Value._grader_stamped = True
    except (AttributeError, TypeError):  # a class that cannot be changed keeps its ways
        pass


def _creation_hash(self):
    stamp = getattr(self, "_grader_hash", None)
    return object.__hash__(self) if stamp is None else stamp


# main() puts here the function that asks the grader, mid-request, for the order in which to run
# the rules of a graph (see backprop); the grader answers only requests that grade rules
ASK = [None]


def graders_order(root) -> list:
    """root's graph, outputs before inputs, in the order the grader computes from its listing:
    the worker has no topological sort, nothing a student's backward() could borrow."""
    nodes, children, r = listing(root)
    return [nodes[i] for i in ASK[0](children, r)]


def backprop(root, upstream, mode):
    """Propagate from root with d(loss)/d(root) = upstream.

    mode "rules": each node's `_backward` is called in an order the grader computes from the
    graph's listing (the worker has no topological sort, nothing a backward() could borrow),
    so that backward rules can be graded before the student's backward() exists.
    mode "backward": the student's own backward(), on root * upstream.
    """
    if mode == "rules":
        order = graders_order(root)
        root.grad = upstream
        for v in order:
            v._backward()
            # caught as it happens: afterwards, a node used by two rules cannot tell which
            # of them made its grad a Value
            for c in v._prev:
                if not isinstance(c.grad, (int, float)):
                    raise TypeError(not_a_number(v, c.grad))
        return root
    out = root * upstream if upstream != 1 else root
    out.backward()
    return out
