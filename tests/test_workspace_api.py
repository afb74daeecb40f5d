"""The workspace's API, checked on the reference and on micrograd 0.1.0 dropped in place.

micrograd's own engine.py and nn.py must be able to replace ours: lecture code and the
grader rely only on what these tests use.
"""

import random
import shutil

import pytest
import torch

from tests.conftest import ROOT, workspace_modules

pytestmark = pytest.mark.kit


@pytest.fixture(params=["reference", "micrograd-0.1.0"])
def workspace(request, tmp_path, micrograd_pypi):
    """A workspace folder: the reference, or exercises/ with micrograd's two files."""
    if request.param == "reference":
        return ROOT / "reference"
    shutil.copytree(ROOT / "exercises" / "micrograd", tmp_path / "micrograd")
    for name in ["engine.py", "nn.py"]:
        shutil.copy(micrograd_pypi / "micrograd" / name, tmp_path / "micrograd" / name)
    return tmp_path


def test_value_api(workspace):
    with workspace_modules(workspace, "engine") as m:
        Value = m.engine.Value
        a, b = Value(2.0), Value(-3.0)
        c = Value(a.data + b.data, (a, b), "+")
        assert (c.data, c.grad, c._op) == (-1.0, 0, "+")
        assert set(c._prev) == {a, b}
        expr = lambda a, b: (
            (a * b + b**2 - a / b + 2 - a + 3 * b + 1 / a - (-a)) * a + (b * -1).relu()
        )  # noqa: E501, E731
        out = expr(a, b)
        out.backward()
        ta = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
        tout = expr(ta, tb)
        tout.backward()
        assert out.data == pytest.approx(tout.item())
        assert (a.grad, b.grad) == pytest.approx((ta.grad.item(), tb.grad.item()))


def test_relu_at_zero_and_accumulation(workspace):
    with workspace_modules(workspace, "engine") as m:
        x = m.engine.Value(0.0)
        x.relu().backward()
        assert x.grad == 0
        y = m.engine.Value(3.0)
        (y * y).backward()
        assert y.grad == 6.0


def test_nn_api(workspace):
    with workspace_modules(workspace, "engine", "nn") as m:
        random.seed(0)
        model = m.nn.MLP(2, [4, 4, 1])
        assert len(model.parameters()) == 3 * 4 + 5 * 4 + 5
        assert isinstance(model.layers[0], m.nn.Layer)
        assert isinstance(model.layers[0].neurons[0], m.nn.Neuron)
        assert isinstance(model, m.nn.Module)
        n = model.layers[0].neurons[0]
        assert model.parameters()[:3] == n.w + [n.b]
        out = model([m.engine.Value(0.5), m.engine.Value(-1.0)])
        assert isinstance(out, m.engine.Value)
        out.backward()
        model.zero_grad()
        assert all(p.grad == 0 for p in model.parameters())
        assert not model.layers[-1].neurons[0].nonlin and model.layers[0].neurons[0].nonlin


def test_reference_has_the_extra_ops():
    with workspace_modules(ROOT / "reference", "engine") as m:
        for op in ["tanh", "exp", "log", "sigmoid"]:
            assert callable(getattr(m.engine.Value(1.0), op))
