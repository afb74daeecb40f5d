"""Hypothesis strategies for the Tensor tests: shapes, broadcastable pairs, axes, matmul and
convolution arguments. Shapes have 0 to 4 axes of sizes 1 to 3 (a 1 is the size that
broadcasting repeats, so it is drawn often); values come from a numpy Generator whose seed is
drawn, so that an example is small to print and cheap to make."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

shapes = array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3)
nonscalar_shapes = array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3)
# pairs (a, b) of shapes that broadcast, and the result shape: ((a, b), result)
broadcastable_pairs = mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=3
).map(lambda bs: (bs.input_shapes, bs.result_shape))
# any two shapes, most of which do not broadcast (sizes 1 to 4)
any_pairs = st.tuples(
    array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4),
    array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4),
)
seeds = st.integers(0, 2**32 - 1)


def values(seed: int, shape, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    """Uniform floats in [low, high) of this shape, from default_rng(seed)."""
    return np.random.default_rng(seed).uniform(low, high, size=shape)


@st.composite
def axes_of(draw, shape):
    """An `axis` argument for an array of this shape: None, one axis (maybe negative), or a
    tuple of distinct axes (non-empty: torch reads an empty tuple as every axis)."""
    ndim = len(shape)
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(chosen)


@st.composite
def matmul_shapes(draw):
    """(a, b) shapes for a @ b: vector @ vector, vector @ batch of matrices, matrices @ vector,
    and matrices with broadcast batch axes."""
    m, k, n = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch_a, batch_b = draw(
        mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=1, max_side=3)
    ).input_shapes
    kind = draw(st.sampled_from(["vv", "vm", "mv", "mm"]))
    a = (k,) if kind[0] == "v" else batch_a + (m, k)
    b = (k,) if kind[1] == "v" else batch_b + (k, n)
    return a, b


@st.composite
def conv_args(draw):
    """(x shape NCHW, w shape OIHW, stride, padding) with at least one output position."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding, stride = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    h = draw(st.integers(max(1, kh - 2 * padding), 7))
    w = draw(st.integers(max(1, kw - 2 * padding), 7))
    return (n, c, h, w), (o, c, kh, kw), stride, padding


@st.composite
def pool_args(draw):
    """(x shape NCHW, size, stride, padding) as torch's max_pool2d takes them (padding at
    most half the window, at least one output position)."""
    size = draw(st.integers(1, 3))
    padding = draw(st.integers(0, size // 2))
    stride = draw(st.integers(1, 3))
    h = draw(st.integers(max(1, size - 2 * padding), 7))
    w = draw(st.integers(max(1, size - 2 * padding), 7))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), size, stride, padding
