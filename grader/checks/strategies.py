"""Random expressions, shapes and arrays for property-based checks: the one home of the
grader's strategies (part one's Value expressions, then part two's tensors).

Bounded inputs, bounded depth, and only operations whose domain every input satisfies
(no log of a negative number, no division near zero), so that a failure always means a
wrong rule. Derandomised by the runner, so the same submission always gets the same grade.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

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


# -- part two: shapes, arrays and tensor expressions --------------------------------------------
#
# Shapes have 0 to 4 axes of sizes 1 to 3: a 1 is the size broadcasting repeats, so it is drawn
# often. An array's numbers come from a numpy Generator whose seed hypothesis draws (from the
# course's secret, like everything else), so that a shrunk example stays small to print.

shapes = array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3)


@st.composite
def broadcastable_pairs(draw):
    """((a, b), result): two shapes that broadcast to `result`, each `result` with some
    leading axes dropped and some sizes made 1 (cheaper to draw than hypothesis's
    mutually_broadcastable_shapes, and it shrinks to small shapes as well)."""
    result = draw(shapes)
    pair = []
    for _ in range(2):
        drop = draw(st.integers(0, len(result)))
        ones = draw(st.integers(0, 2 ** len(result) - 1))
        pair.append(tuple(1 if ones >> i & 1 else n for i, n in enumerate(result))[drop:])
    return tuple(pair), np.broadcast_shapes(*pair)


def _broadcasts(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


@st.composite
def crossed_pairs(draw):
    """((a, b), result) where a and b are each repeated along an axis of the result that the
    other fills (2 to 4 axes of sizes 2 and 3): both gradients must be summed back, so a rule
    that forgets one operand's unbroadcast fails on every such pair. The operand whose axis
    comes first lacks it half the time (with the axes before it), instead of having size 1."""
    result = draw(array_shapes(min_dims=2, max_dims=4, min_side=2, max_side=3))
    n = len(result)
    i = draw(st.integers(0, n - 1))
    j = draw(st.integers(0, n - 2))
    j = j + 1 if j >= i else j  # i != j: a is 1 at i and full at j, b the other way round
    pair = []
    for own, other in ((i, j), (j, i)):
        ones = draw(st.integers(0, 2**n - 1))
        shape = [
            1 if k == own or (ones >> k & 1 and k != other) else s for k, s in enumerate(result)
        ]
        if own < other and draw(st.booleans()):
            shape = shape[own + 1 :]  # missing: the axes up to `own` are added by broadcasting
        pair.append(tuple(shape))
    return tuple(pair), np.broadcast_shapes(*pair)


# pairs of shapes that do not broadcast (sizes 1 to 4, so that 2 meets 3 and 4)
clashing_pairs = st.tuples(
    array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
    array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
).filter(lambda p: not _broadcasts(*p))


@st.composite
def arrays(draw, shape, low: float = -2.0, high: float = 2.0, decimals: int = 3):
    """An array of this shape, uniform in [low, high], rounded to `decimals`."""
    seed = draw(st.integers(0, 2**32 - 1))
    values = np.random.default_rng(seed).uniform(low, high, size=shape)
    return np.asarray(np.round(values, decimals), dtype=np.float64)  # 0-d: an array, too


@st.composite
def upstreams(draw, shape):
    """An upstream gradient out.grad: entries of either sign, 0.5 to 2.5 in size (never all
    ones, so that a rule that leaves out.grad out is caught)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    size = rng.uniform(0.5, 2.5, size=shape) * rng.choice((-1.0, 1.0), size=shape)
    return np.asarray(np.round(size, 3), dtype=np.float64)


@st.composite
def axes_of(draw, ndim: int):
    """An `axis` argument: None, one axis (maybe negative), or a list of distinct axes (never
    empty: numpy reads () as no axis, torch as every axis)."""
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    return draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))


@st.composite
def reshapes(draw, shape):
    """Another shape with the same number of entries (its prime factors regrouped, 1s added)."""
    size = int(np.prod(shape, dtype=np.int64))
    factors, n, p = [], size, 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    factors = draw(st.permutations(factors))
    cuts = sorted(draw(st.sets(st.integers(1, max(len(factors) - 1, 1)), max_size=3)))
    groups, start = [], 0
    for c in [*cuts, len(factors)]:
        if c > start:
            groups.append(int(np.prod(factors[start:c], dtype=np.int64)))
            start = c
    for _ in range(draw(st.integers(0, 1))):
        groups.insert(draw(st.integers(0, len(groups))), 1)
    return tuple(groups)


@st.composite
def matmul_shapes(draw, kind: str | None = None):
    """(a, b) for a @ b: "vv" vector @ vector, "vm", "mv", "mm" (2-D), "batched" (batch axes
    that broadcast); `kind` None draws one of them."""
    kind = kind or draw(st.sampled_from(["vv", "vm", "mv", "mm", "batched"]))
    m, k, n = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch_a, batch_b = (), ()
    if kind == "batched":
        batch_a, batch_b = draw(
            mutually_broadcastable_shapes(
                num_shapes=2, min_dims=1, max_dims=2, min_side=1, max_side=3
            )
        ).input_shapes
        kind = draw(st.sampled_from(["mm", "mm", "vm", "mv"]))
    a = (k,) if kind[0] == "v" else (*batch_a, m, k)
    b = (k,) if kind[1] == "v" else (*batch_b, k, n)
    return a, b


@st.composite
def conv_args(draw):
    """(x shape NCHW, w shape OIHW, stride, padding) with at least one output position."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding, stride = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    h = draw(st.integers(max(1, kh - 2 * padding), 6))
    w = draw(st.integers(max(1, kw - 2 * padding), 6))
    return (n, c, h, w), (o, c, kh, kw), stride, padding


@st.composite
def pool_args(draw):
    """(x shape NCHW, size, stride, padding) as torch's max_pool2d takes them (padding at most
    half the window, at least one output position)."""
    size = draw(st.integers(1, 3))
    padding = draw(st.integers(0, size // 2))
    stride = draw(st.integers(1, 3))
    h = draw(st.integers(max(1, size - 2 * padding), 6))
    w = draw(st.integers(max(1, size - 2 * padding), 6))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), size, stride, padding


TENSOR_UNARY = ["neg", "tanh", "relu", "exp"]
TENSOR_BINARY = ["add", "mul", "sub"]
TENSOR_CONSTANT = {"pow": [2, 3], "mulc": [1.5, -0.5], "addc": [0.5]}


@st.composite
def tensor_expressions(draw, max_inputs: int = 3, max_ops: int = 5):
    """(nodes, inputs) of a random expression of tensors: elementwise ops with broadcasting,
    reductions, reshape and transpose, every shape worked out as the nodes are drawn."""
    full = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    inputs, sizes = [], []
    for _ in range(draw(st.integers(1, max_inputs))):
        # a shape that broadcasts to `full`: leading axes dropped, some axes made 1
        drop = draw(st.integers(0, len(full)))
        shape = tuple(1 if draw(st.booleans()) else n for n in full[drop:])
        inputs.append(draw(arrays(shape)))
        sizes.append(shape)
    nodes: list[list] = [["x", k] for k in range(len(inputs))]
    for _ in range(draw(st.integers(1, max_ops))):
        i = draw(st.integers(0, len(nodes) - 1))
        s = sizes[i]
        kind = draw(st.sampled_from(["unary", "binary", "constant", "reduce", "shape"]))
        if kind == "binary":
            partners = [k for k in range(len(nodes)) if _broadcasts(s, sizes[k])]
            k = draw(st.sampled_from(partners))
            nodes.append([draw(st.sampled_from(TENSOR_BINARY)), i, k])
            sizes.append(np.broadcast_shapes(s, sizes[k]))
        elif kind == "reduce":
            axis = draw(axes_of(len(s)))
            keep = draw(st.booleans())
            nodes.append([draw(st.sampled_from(["sum", "mean", "max"])), i, axis, keep])
            sizes.append(np.sum(np.zeros(s), axis=_tuple(axis), keepdims=keep).shape)
        elif kind == "shape" and len(s) >= 2 and draw(st.booleans()):
            axes = list(draw(st.permutations(range(len(s)))))
            nodes.append(["transpose", i, axes])
            sizes.append(tuple(s[a] for a in axes))
        elif kind == "shape":
            target = draw(reshapes(s))
            nodes.append(["reshape", i, list(target)])
            sizes.append(target)
        elif kind == "constant":
            op = draw(st.sampled_from(sorted(TENSOR_CONSTANT)))
            nodes.append([op, i, draw(st.sampled_from(TENSOR_CONSTANT[op]))])
            sizes.append(s)
        else:
            nodes.append([draw(st.sampled_from(TENSOR_UNARY)), i])
            sizes.append(s)
    # the output depends on the last two nodes, not just the last one, where they broadcast
    if len(nodes) > len(inputs) + 1 and _broadcasts(sizes[-1], sizes[-2]):
        nodes.append(["add", len(nodes) - 1, len(nodes) - 2])
        sizes.append(np.broadcast_shapes(sizes[-1], sizes[-2]))
    return nodes, inputs


def _tuple(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# -- one op at a time: (nodes, inputs, seed of the upstream gradient) ---------------------------

_SEED = st.integers(0, 2**32 - 1)
TIES = (-1.0, 0.0, 0.5, 1.5)  # few values: maxima tie often, ReLU meets exactly 0


@st.composite
def tie_arrays(draw, shape, values=TIES):
    """An array of this shape whose entries are few values (ties, exact zeros)."""
    seed = draw(st.integers(0, 2**32 - 1))
    return np.asarray(np.random.default_rng(seed).choice(values, size=shape), dtype=np.float64)


@st.composite
def away_from_zero(draw, shape, low: float = 0.5, high: float = 2.0):
    """Entries of either sign, low to high in size (a divisor, a negative power's base)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.uniform(low, high, size=shape) * rng.choice((-1.0, 1.0), size=shape)
    return np.asarray(np.round(values, 3), dtype=np.float64)


@st.composite
def op_cases(draw, op: str, variant: str = "any"):
    """`op` alone on drawn shapes and values: ([["x", 0], ..., [op, ...]], inputs, seed).

    A reduction's `variant`: "any" axes and keepdims; "keep": keepdims=True; "inner": the
    last axis of 2 or more, keepdims=False, every size 2 or 3 (where out.grad, lacking the
    reduced axis, would broadcast along the wrong one)."""
    if op in ("add", "sub", "mul", "div"):
        (a, b), _ = draw(st.one_of(crossed_pairs(), crossed_pairs(), broadcastable_pairs()))
        y = draw(away_from_zero(b) if op == "div" else arrays(b))
        return [["x", 0], ["x", 1], [op, 0, 1]], [draw(arrays(a)), y], draw(_SEED)
    s = draw(shapes)
    if op in ("neg", "exp", "tanh"):
        return [["x", 0], [op, 0]], [draw(arrays(s))], draw(_SEED)
    if op == "log":
        return [["x", 0], [op, 0]], [draw(arrays(s, 0.2, 4.0))], draw(_SEED)
    if op == "relu":
        return [["x", 0], [op, 0]], [draw(tie_arrays(s, (-1.5, -0.5, 0.0, 0.5, 1.5)))], draw(_SEED)
    if op == "pow":
        n = draw(st.sampled_from([2, 3, -1, 0.5, 1.5, -2]))
        x = draw(arrays(s, 0.3, 2.5) if n != int(n) else away_from_zero(s))
        return [["x", 0], ["pow", 0, n]], [x], draw(_SEED)
    if op in ("radd", "rsub", "rmul", "rdiv", "addc", "mulc"):
        c = round(draw(st.floats(0.5, 3.0)), 2) * draw(st.sampled_from([-1, 1]))
        x = draw(away_from_zero(s) if op == "rdiv" else arrays(s))
        return [["x", 0], [op, 0, c]], [x], draw(_SEED)
    if op in ("sum", "mean", "max"):
        if op == "max" or variant != "any":  # 2 axes at least: ties in one row, not another
            side = 2 if variant == "inner" else 1
            s = draw(array_shapes(min_dims=2, max_dims=4, min_side=side, max_side=3))
        x = draw(tie_arrays(s) if op == "max" else arrays(s))
        axis, keep = draw(axes_of(len(s))), draw(st.booleans())
        if variant == "inner":
            axis, keep = len(s) - 1, False
        elif variant == "keep":
            keep = True
        return [["x", 0], [op, 0, axis, keep]], [x], draw(_SEED)
    if op == "reshape":
        return [["x", 0], ["reshape", 0, list(draw(reshapes(s)))]], [draw(arrays(s))], draw(_SEED)
    if op == "transpose":
        # 3 or 4 axes, and never a permutation that is its own inverse (every one of 2 axes
        # is): an inverse mixed up with `axes` would go unseen
        s = draw(array_shapes(min_dims=3, max_dims=4, min_side=2, max_side=3))
        axes = list(draw(st.permutations(range(len(s)))))
        if all(axes[a] == i for i, a in enumerate(axes)):
            axes = [*range(1, len(s)), 0]  # a cycle of every axis
        return [["x", 0], ["transpose", 0, axes]], [draw(arrays(s))], draw(_SEED)
    raise ValueError(f"no cases for {op}")


def every_op_case(*specs):
    """A case of each op, every example: (case of specs[0], case of specs[1], ...); a spec is
    an op, or (op, variant)."""
    return st.tuples(*[op_cases(*((s,) if isinstance(s, str) else s)) for s in specs])
