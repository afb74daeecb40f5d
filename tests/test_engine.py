"""The reference engine against PyTorch (float64), micrograd's README, and deep graphs."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from micrograd_reference.engine import Value

pytestmark = pytest.mark.kit

TOL = dict(rel=1e-9, abs=1e-12)
floats = st.floats(-3.0, 3.0, allow_nan=False)
positive = st.floats(0.1, 5.0)
away_from_zero = floats.filter(lambda x: abs(x) > 1e-3)
upstream = st.floats(-2.0, 2.0).filter(lambda g: abs(g) > 0.1)


def both(fn, *xs, grad_out=1.0):
    """fn applied to Values and to float64 tensors: (value, grads) from each."""
    vs = [Value(x) for x in xs]
    out = fn(*vs)
    # scale by an upstream gradient that is not 1, so that a rule that forgets out.grad fails
    (out * grad_out).backward()
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    tout = fn(*ts)
    (tout * grad_out).backward()
    return (out.data, [v.grad for v in vs]), (tout.item(), [t.grad.item() for t in ts])


def assert_same(fn, *xs, grad_out=1.0):
    (v, g), (tv, tg) = both(fn, *xs, grad_out=grad_out)
    assert v == pytest.approx(tv, **TOL)
    assert g == pytest.approx(tg, **TOL)


def test_micrograd_readme_example():
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


@given(floats, floats, upstream)
def test_binary_ops_match_torch(x, y, g):
    assert_same(lambda a, b: a + b, x, y, grad_out=g)
    assert_same(lambda a, b: a - b, x, y, grad_out=g)
    assert_same(lambda a, b: a * b, x, y, grad_out=g)


@given(floats, away_from_zero, upstream)
def test_division_matches_torch(x, y, g):
    assert_same(lambda a, b: a / b, x, y, grad_out=g)


@given(away_from_zero, upstream, st.sampled_from([2, 3, -1, -2, 0.5, 1.5]))
def test_power_matches_torch(x, g, n):
    x = abs(x) if isinstance(n, float) else x  # fractional powers of negatives are complex
    assert_same(lambda a: a**n, x, grad_out=g)


@given(floats, upstream)
def test_unary_ops_match_torch(x, g):
    assert_same(lambda a: a.exp(), x, grad_out=g)
    assert_same(lambda a: a.tanh(), x, grad_out=g)
    assert_same(lambda a: a.sigmoid(), x, grad_out=g)
    assert_same(lambda a: -a, x, grad_out=g)
    assert_same(lambda a: 2 + a, x, grad_out=g)
    assert_same(lambda a: 2 - a, x, grad_out=g)
    assert_same(lambda a: 2 * a, x, grad_out=g)
    if abs(x) > 1e-3:
        assert_same(lambda a: a.relu(), x, grad_out=g)
        assert_same(lambda a: 2 / a, x, grad_out=g)


@given(positive, upstream)
def test_log_matches_torch(x, g):
    assert_same(lambda a: a.log(), x, grad_out=g)


def test_relu_gradient_at_zero_is_zero_as_in_pytorch():
    assert_same(lambda a: a.relu(), 0.0, grad_out=3.0)
    a = Value(0.0)
    a.relu().backward()
    assert a.grad == 0


def test_sigmoid_is_finite_for_large_inputs():
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-1000.0).sigmoid().data == 0.0


@given(floats)
def test_node_used_twice_gets_both_contributions(x):
    assert_same(lambda a: a + a, x)
    assert_same(lambda a: a * a, x)
    assert_same(lambda a: (a * a + a) * a, x)


def test_diamond_graph():
    # a feeds b and c, which meet again in d: a's grad is the sum over both paths
    assert_same(lambda a: (a * 3).tanh() * (a + 1).exp(), 0.3)


def test_backward_resets_nothing_and_seeds_one():
    a = Value(2.0)
    y = a * 3
    y.backward()
    assert y.grad == 1
    assert a.grad == 3


def test_api_matches_micrograd():
    a, b = Value(2.0), Value(3.0)
    c = Value(a.data * b.data, (a, b), "*")
    assert set(c._prev) == {a, b} and c._op == "*"
    assert callable(c._backward)
    assert repr(Value(1.5)) == "Value(data=1.5, grad=0)"
    with pytest.raises(AssertionError):
        a ** Value(2.0)


def test_million_node_chain_backpropagates():
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + x
    y.backward()
    assert x.grad == 1_000_001


def test_topological_order_is_complete_when_an_input_is_also_a_later_sibling():
    # x feeds both y and out; y feeds out. A depth-first sort that marks nodes when it
    # pushes them rather than when it visits them runs x's rule before y has added into
    # x.grad, and w's grad misses the path through y.
    w = Value(0.25)
    x = w * 2
    y = x.tanh()
    out = x * y
    out.backward()
    t = math.tanh(0.5)
    assert w.grad == pytest.approx(2 * (t + 0.5 * (1 - t**2)))
