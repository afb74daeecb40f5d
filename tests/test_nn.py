"""The reference nn, losses and training against PyTorch."""

import random

import pytest
import torch

from micrograd_reference import losses, nn, optim, train
from micrograd_reference.engine import Value

pytestmark = pytest.mark.kit


def torch_mlp(sizes, params, activation="relu"):
    """The same network in torch, weights taken from a flat list in micrograd's order."""
    it = iter(params)
    layers = []
    for nin, nout in zip(sizes, sizes[1:]):
        rows = [[next(it) for _ in range(nin)] + [next(it)] for _ in range(nout)]
        w = torch.tensor([r[:-1] for r in rows], dtype=torch.float64, requires_grad=True)
        b = torch.tensor([r[-1] for r in rows], dtype=torch.float64, requires_grad=True)
        layers.append((w, b))
    act = torch.relu if activation == "relu" else torch.tanh

    def forward(x):
        h = torch.tensor(x, dtype=torch.float64)
        for i, (w, b) in enumerate(layers):
            h = w @ h + b
            if i < len(layers) - 1:
                h = act(h)
        return h

    def grads():
        return [v for w, b in layers for row, bi in zip(w.grad, b.grad) for v in [*row, bi]]

    return forward, grads


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_outputs_and_gradients_match_torch(activation):
    random.seed(1)
    model = nn.MLP(3, [4, 5, 2], activation=activation)
    params = model.parameters()
    assert len(params) == (3 + 1) * 4 + (4 + 1) * 5 + (5 + 1) * 2
    forward, grads = torch_mlp([3, 4, 5, 2], [p.data for p in params], activation)
    x = [0.5, -1.2, 2.0]
    out = model(x)
    tout = forward(x)
    assert [o.data for o in out] == pytest.approx(tout.tolist())
    (out[0] * 0.7 + out[1] * -1.3).backward()
    (tout[0] * 0.7 + tout[1] * -1.3).backward()
    assert [p.grad for p in params] == pytest.approx([g.item() for g in grads()])


def test_parameter_order_is_layer_neuron_weights_then_bias():
    model = nn.MLP(2, [3, 1])
    first = model.layers[0].neurons[0]
    assert model.parameters()[:3] == [*first.w, first.b]
    assert model.parameters()[-1] is model.layers[1].neurons[0].b


def test_single_output_mlp_returns_a_value_and_zero_grad_resets():
    model = nn.MLP(2, [3, 1])
    out = model([1.0, 2.0])
    assert isinstance(out, Value)
    out.backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_dot_accepts_numbers_and_values():
    ws = [Value(2.0), Value(-1.0)]
    xs = [Value(3.0), 4.0]
    b = Value(0.5)
    out = nn.dot(ws, xs, b)
    out.backward()
    assert out.data == 2.5
    assert [w.grad for w in ws] == [3.0, 4.0] and xs[0].grad == 2.0 and b.grad == 1


def _torch_loss(name, scores, ys):
    s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(ys, dtype=torch.float64)
    if name == "mse":
        loss = ((s - y) ** 2).mean()
    elif name == "hinge":
        loss = torch.relu(1 - y * s).mean()
    else:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(s, y)
    loss.backward()
    return loss.item(), s.grad.tolist()


@pytest.mark.parametrize(
    "name, fn, ys",
    [
        ("mse", losses.mse_loss, [1.0, -1.0, 1.0, -1.0]),
        ("hinge", losses.hinge_loss, [1.0, -1.0, 1.0, -1.0]),
        ("bce", losses.bce_loss, [1.0, 0.0, 1.0, 0.0]),
    ],
)
def test_losses_match_torch(name, fn, ys):
    raw = [0.3, -2.0, 1.7, 0.4]
    scores = [Value(s) for s in raw]
    loss = fn(scores, ys)
    loss.backward()
    tloss, tgrad = _torch_loss(name, raw, ys)
    assert loss.data == pytest.approx(tloss)
    assert [s.grad for s in scores] == pytest.approx(tgrad)


def test_bce_survives_confident_scores():
    loss = losses.bce_loss([Value(800.0), Value(-800.0)], [1, 0])
    assert loss.data == pytest.approx(0.0, abs=1e-12)


def test_l2_penalty_and_sgd_step():
    ps = [Value(1.0), Value(-2.0)]
    reg = losses.l2_penalty(ps, 0.5)
    assert reg.data == pytest.approx(2.5)
    reg.backward()
    opt = optim.SGD(ps, lr=optim.linear_decay(1.0, 0.1, 100))
    opt.step(50)  # lr = 0.55; grad = 2 * 0.5 * p = p
    assert [p.data for p in ps] == pytest.approx([1.0 - 0.55, -2.0 + 1.1])
    opt.zero_grad()
    assert all(p.grad == 0 for p in ps)


def test_fit_learns_a_separable_problem():
    random.seed(0)
    X = [[-1.0, -0.5], [-0.8, -1.0], [1.0, 0.7], [0.9, 1.2], [-1.2, -0.2], [1.1, 0.3]]
    y = [-1, -1, 1, 1, -1, 1]
    model = nn.MLP(2, [4, 1])
    seen = []
    history = train.fit(model, X, y, steps=30, lr=0.1, log=lambda k, loss, acc: seen.append(k))
    assert seen == list(range(30))
    assert history[-1][0] < history[0][0]
    assert train.accuracy([model(x) for x in X], y) == 1.0
