"""The reference Tensor engine against PyTorch (float64) on drawn shapes: broadcasting, every
op's value and gradients, max's ties, ReLU at 0, aliasing, mutation, deep graphs, and the
fused softmax cross-entropy."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_reference.tensor import Tensor, broadcast_shape, cross_entropy, unbroadcast
from tests.tensor_strategies import (
    any_pairs,
    axes_of,
    broadcastable_pairs,
    matmul_shapes,
    seeds,
    shapes,
    values,
)

pytestmark = pytest.mark.kit
TENSOR = settings(deadline=None, derandomize=True, max_examples=60)
TOL = dict(rtol=1e-12, atol=1e-12)


def assert_same(ours, theirs, what):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert np.shape(ours) == np.shape(theirs), f"{what}: shape {np.shape(ours)} != {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, **TOL, err_msg=what)


def check(fn, *arrays, torch_fn=None, seed=0):
    """fn on Tensors and (torch_fn, or fn) on float64 torch tensors: the same value, and the
    same gradient of every input for an upstream gradient G drawn at random (not ones, so that
    a rule that drops out.grad fails)."""
    torch_fn = torch_fn or fn
    ts = [Tensor(a) for a in arrays]
    out = fn(*ts)
    G = values(seed, out.shape)
    (out * G).sum().backward()
    tts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    tout = torch_fn(*tts)
    (tout * torch.from_numpy(G)).sum().backward()
    assert_same(out.data, tout, "value")
    for i, (t, tt) in enumerate(zip(ts, tts)):
        assert t.grad.shape == t.data.shape
        assert_same(t.grad, tt.grad, f"gradient of input {i}")


# -- broadcasting (exercise 7) ---------------------------------------------------------------


@TENSOR
@given(broadcastable_pairs)
def test_broadcast_shape_of_broadcastable_pairs(pair):
    (a, b), result = pair
    assert broadcast_shape(a, b) == result == np.broadcast_shapes(a, b)


@TENSOR
@given(any_pairs)
def test_broadcast_shape_raises_where_numpy_does(pair):
    a, b = pair
    try:
        expected = np.broadcast_shapes(a, b)
    except ValueError:
        with pytest.raises(ValueError):
            broadcast_shape(a, b)
    else:
        assert broadcast_shape(a, b) == expected


@TENSOR
@given(broadcastable_pairs, seeds)
def test_unbroadcast_is_the_adjoint_of_broadcasting(pair, seed):
    # <g, broadcast(x)> = <unbroadcast(g), x> for every x and g: unbroadcast is the transpose
    # of the linear map broadcast_to, so it is the gradient rule of any broadcast
    (a, _), result = pair
    x, g = values(seed, a), values(seed + 1, result)
    back = unbroadcast(g, a)
    assert back.shape == a
    lhs = np.sum(g * np.broadcast_to(x, result))
    np.testing.assert_allclose(lhs, np.sum(back * x), rtol=1e-12, atol=1e-12)


def test_unbroadcast_examples():
    g = np.arange(24.0).reshape(2, 3, 4)
    assert unbroadcast(g, ()) == g.sum()
    assert unbroadcast(g, (4,)).tolist() == g.sum(axis=(0, 1)).tolist()
    assert unbroadcast(g, (3, 1)).tolist() == g.sum(axis=(0, 2))[:, None].tolist()
    assert unbroadcast(g, (1,)).shape == (1,)  # not (1, 1), nor ()
    assert unbroadcast(g, (2, 1, 4)).shape == (2, 1, 4)
    assert unbroadcast(g, g.shape) is g


# -- elementwise ops (exercise 8) ----------------------------------------------------------

BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


@TENSOR
@given(st.sampled_from(sorted(BINARY)), broadcastable_pairs, seeds)
def test_binary_ops_broadcast_like_torch(op, pair, seed):
    (a, b), _ = pair
    y = values(seed + 1, b, 0.5, 2.0) * np.random.default_rng(seed).choice([-1, 1], b)
    check(BINARY[op], values(seed, a), y, seed=seed + 2)  # y away from 0, for /


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: 2.0 + a,
        lambda a: 2.0 - a,
        lambda a: 2.0 * a,
        lambda a: 2.0 / a,
        lambda a: a - 2.0,
        lambda a: a / 4.0,
        lambda a: -a,
        lambda a: a + a * a,  # a node used three times
        lambda a: (a * a).exp() - (a + a),
    ],
)
def test_numbers_reflected_ops_and_reuse(fn):
    check(fn, values(7, (2, 3), 0.5, 2.0))


UNARY = {
    "exp": (lambda a: a.exp(), -2.0, 2.0),
    "log": (lambda a: a.log(), 0.1, 3.0),
    "tanh": (lambda a: a.tanh(), -3.0, 3.0),
    "relu": (lambda a: a.relu(), -2.0, 2.0),
    "**2": (lambda a: a**2, -2.0, 2.0),
    "**3": (lambda a: a**3, -2.0, 2.0),
    "**-1": (lambda a: a**-1, 0.5, 2.0),
    "**0.5": (lambda a: a**0.5, 0.1, 3.0),
    "**-1.5": (lambda a: a**-1.5, 0.5, 3.0),
}


@TENSOR
@given(st.sampled_from(sorted(UNARY)), shapes, seeds)
def test_unary_ops_like_torch(op, shape, seed):
    fn, low, high = UNARY[op]
    check(fn, values(seed, shape, low, high), seed=seed + 1)


def test_relu_at_zero_has_gradient_zero_as_torch():
    x = np.array([-1.0, 0.0, 1.0, -0.0])
    t = Tensor(x)
    t.relu().backward()
    assert t.grad.tolist() == [0.0, 0.0, 1.0, 0.0]
    check(lambda a: a.relu(), x)


# -- reductions and shapes (exercise 8) ---------------------------------------------------


def torch_axis(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


REDUCTIONS = {
    "sum": (lambda a, ax, kd: a.sum(axis=ax, keepdims=kd), lambda t, ax, kd: t.sum(ax, kd)),
    "mean": (lambda a, ax, kd: a.mean(axis=ax, keepdims=kd), lambda t, ax, kd: t.mean(ax, kd)),
    "max": (lambda a, ax, kd: a.max(axis=ax, keepdims=kd), lambda t, ax, kd: t.amax(ax, kd)),
}


@TENSOR
@given(st.sampled_from(sorted(REDUCTIONS)), st.data(), st.booleans(), seeds)
def test_reductions_like_torch(op, data, keepdims, seed):
    shape = data.draw(shapes)
    axis = data.draw(axes_of(shape))
    ours, theirs = REDUCTIONS[op]
    check(
        lambda a: ours(a, axis, keepdims),
        values(seed, shape),
        torch_fn=lambda t: theirs(t, torch_axis(axis, len(shape)), keepdims),
        seed=seed + 1,
    )


@TENSOR
@given(st.data(), st.booleans(), seeds)
def test_max_ties_share_the_gradient_like_amax(data, keepdims, seed):
    # values from {0, 1, 2}: most maxima are tied
    shape = data.draw(shapes)
    axis = data.draw(axes_of(shape))
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(float)
    check(
        lambda a: a.max(axis=axis, keepdims=keepdims),
        x,
        torch_fn=lambda t: t.amax(torch_axis(axis, len(shape)), keepdims),
        seed=seed + 1,
    )


def test_max_ties_examples():
    t = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    t.max(axis=1).backward()
    assert t.grad.tolist() == [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]
    t = Tensor([[1.0, 3.0, 3.0], [3.0, 2.0, 0.0]])
    t.max().backward()  # torch.max(x) and torch.amax(x) alike: a third each
    assert t.grad.tolist() == [[0.0, 1 / 3, 1 / 3], [1 / 3, 0.0, 0.0]]


@TENSOR
@given(shapes, st.randoms(use_true_random=False), seeds)
def test_transpose_like_torch(shape, random, seed):
    axes = list(range(len(shape)))
    random.shuffle(axes)
    check(lambda a: a.transpose(axes), values(seed, shape), torch_fn=lambda t: t.permute(axes))
    check(
        lambda a: a.T,
        values(seed, shape),
        torch_fn=lambda t: t.permute(tuple(reversed(range(t.dim())))),
    )


@TENSOR
@given(shapes, st.randoms(use_true_random=False), seeds)
def test_reshape_like_torch(shape, random, seed):
    new = list(shape)
    random.shuffle(new)
    new = [1, *new] if random.random() < 0.5 else new  # a size-1 axis added
    if new and random.random() < 0.5:
        new[random.randrange(len(new))] = -1
    check(lambda a: a.reshape(new), values(seed, shape), torch_fn=lambda t: t.reshape(new))
    check(lambda a: a.reshape(*new), values(seed, shape), torch_fn=lambda t: t.reshape(new))


# -- matmul (exercise 9) ---------------------------------------------------------------------


@TENSOR
@given(matmul_shapes(), seeds)
def test_matmul_like_torch(shapes_ab, seed):
    a, b = shapes_ab
    check(lambda x, y: x @ y, values(seed, a), values(seed + 1, b), seed=seed + 2)


def test_matmul_with_an_array_on_either_side():
    A, B = values(1, (2, 3)), values(2, (3, 4))
    t = Tensor(A)
    (t @ B).sum().backward()
    np.testing.assert_allclose(t.grad, np.ones((2, 4)) @ B.T, rtol=1e-14)
    t = Tensor(B)
    (A @ t).sum().backward()
    np.testing.assert_allclose(t.grad, A.T @ np.ones((2, 4)), rtol=1e-14)


# -- random expressions, accumulation, backward() (exercise 8) --------------------------------


@TENSOR
@given(broadcastable_pairs, seeds)
def test_an_expression_of_every_op_like_torch(pair, seed):
    (a, b), _ = pair

    def fn(x, y):
        z = (x * y + x).tanh() - (y * 0.5).exp() / (x * x + 1.0)
        z = z + (z.relu() ** 2) * x  # x reaches the output by several paths
        s = z.sum(axis=-1, keepdims=True) if z.ndim else z
        return (s - z.mean()) * z.max()

    check(fn, values(seed, a), values(seed + 1, b), seed=seed + 2)


def test_diamond_and_matmul_chain_like_torch():
    def fn(w, x):
        h = (x @ w).tanh()
        return (h @ w.T @ w + h * h).sum(axis=0) + (w * w).sum()

    check(fn, values(1, (3, 3)), values(2, (4, 3)))


def test_backward_seeds_ones_of_the_output_shape():
    t = Tensor(values(3, (2, 3)))
    out = t * 2.0
    out.backward()
    assert out.grad.shape == (2, 3) and (out.grad == 1).all()
    assert (t.grad == 2).all()


def test_a_chain_of_ten_thousand_ops_without_recursion():
    x = Tensor(values(4, (3,)))
    y = x
    for i in range(10_000):
        y = y * 1.0 + 0.0 if i % 2 else y + 1.0
    y.sum().backward()
    assert (x.grad == 1).all()


# -- aliasing and mutation -------------------------------------------------------------------


def graph_nodes(root):
    nodes, stack = {}, [root]
    while stack:
        v = stack.pop()
        if id(v) not in nodes:
            nodes[id(v)] = v
            stack.extend(v._prev)
    return list(nodes.values())


def every_op(x, y, w):
    z = ((x + y) * y - x / y).exp().log().tanh().relu() ** 2
    z = z.sum(axis=0, keepdims=True) + z.mean(axis=1, keepdims=True) + z.max(axis=0)
    z = z.reshape(-1).reshape(z.shape).transpose((1, 0)).T @ w
    return cross_entropy(z.log_softmax(axis=1), [0, 1, 0])


def test_grads_never_alias_data_or_each_other():
    leaves = [values(1, (3, 2), 0.5, 1.5), values(2, (2,), 0.5, 1.5), values(3, (2, 2))]
    ts = [Tensor(a) for a in leaves]
    loss = every_op(*ts)
    loss.backward()
    nodes = graph_nodes(loss)
    assert {v._op for v in nodes} >= {"+", "*", "exp", "log", "tanh", "ReLU", "sum", "max", "@"}
    for i, v in enumerate(nodes):
        assert v.grad.shape == v.data.shape, v._op
        assert not np.shares_memory(v.grad, v.data), f"{v._op}: grad is a view of data"
        for u in nodes[i + 1 :]:
            assert not np.shares_memory(v.grad, u.grad), f"{v._op} and {u._op} share a grad"
            assert not np.shares_memory(v.grad, u.data), f"{v._op}'s grad is {u._op}'s data"


def test_inputs_are_never_mutated():
    leaves = [values(1, (3, 2), 0.5, 1.5), values(2, (2,), 0.5, 1.5), values(3, (2, 2))]
    kept = [a.copy() for a in leaves]
    ts = [Tensor(a) for a in leaves]
    assert all(not np.shares_memory(t.data, a) for t, a in zip(ts, leaves))  # Tensor copies
    data_before = [t.data.copy() for t in ts]
    loss = every_op(*ts)
    loss.backward()
    loss.backward()  # twice: grads accumulate, data stays
    for a, k in zip(leaves, kept):
        assert (a == k).all()
    for t, d in zip(ts, data_before):
        assert (t.data == d).all()
    labels = np.array([2, 0])
    logits = Tensor(values(4, (2, 3)))
    cross_entropy(logits, labels).backward()
    assert labels.tolist() == [2, 0]


# -- log-softmax and cross-entropy (exercise 10) --------------------------------------------


@TENSOR
@given(st.data(), seeds)
def test_log_softmax_like_torch(data, seed):
    shape = data.draw(shapes.filter(lambda s: len(s) > 0))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    check(
        lambda a: a.log_softmax(axis=axis),
        values(seed, shape, -5, 5),
        torch_fn=lambda t: torch.log_softmax(t, dim=axis),
        seed=seed + 1,
    )


@TENSOR
@given(st.integers(1, 8), st.integers(1, 6), seeds, st.sampled_from([1.0, 10.0, 1e3]))
def test_cross_entropy_like_torch(n, c, seed, scale):
    labels = np.random.default_rng(seed).integers(0, c, n)
    check(
        lambda z: cross_entropy(z, labels),
        values(seed, (n, c)) * scale,
        torch_fn=lambda t: torch.nn.functional.cross_entropy(t, torch.from_numpy(labels)),
        seed=seed + 1,
    )


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    z = values(5, (4, 3))
    labels = np.array([0, 2, 2, 1])
    t = Tensor(z)
    cross_entropy(t, labels).backward()
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(t.grad, (softmax - np.eye(3)[labels]) / 4, rtol=1e-13, atol=1e-16)


def test_logits_of_plus_minus_1e3_stay_finite():
    z = np.array([[1e3, -1e3, 0.0], [-1e3, 1e3, 999.0], [-1e3, -1e3, -1e3]])
    labels = np.array([1, 2, 0])
    t = Tensor(z)
    loss = cross_entropy(t, labels)
    loss.backward()
    assert np.isfinite(loss.data) and np.isfinite(t.grad).all()
    tz = torch.tensor(z, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tz, torch.from_numpy(labels))
    tloss.backward()
    assert_same(loss.data, tloss, "loss")
    assert_same(t.grad, tz.grad, "gradient")
    t = Tensor(z)
    out = t.log_softmax(axis=1)
    out.sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(t.grad).all()
