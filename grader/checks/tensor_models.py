"""The grader's side of exercises 11-13: the same models in PyTorch (float64) from the same
parameters, SGD with momentum, and comparing the parameters the student's code reached.

Parameters travel in tensor_nn's documented order, W1, b1, W2, b2, ..., W of shape (nin, nout)
(the transpose of torch.nn.Linear's weight), so that a Linear is x @ W + b here too.
"""

from __future__ import annotations

import numpy as np

from grader.checks.checking import Fail
from grader.checks.later import F, torch
from grader.checks.tensors import close_mask, shape_text, show, unwire, wire


def mlp_shapes(nin: int, nouts: list[int]) -> list[tuple[int, ...]]:
    sizes = [nin, *nouts]
    return [s for a, b in zip(sizes, sizes[1:]) for s in ((a, b), (b,))]


def param_names(nouts: list[int]) -> list[str]:
    return [f"{kind}{k + 1}" for k in range(len(nouts)) for kind in ("W", "b")]


def mlp_init(nin: int, nouts: list[int], seed: int) -> list[np.ndarray]:
    """tensor_nn's documented initialisation: layer by layer, W then b, every entry uniform
    in +-1/sqrt(nin of the layer), drawn from np.random.default_rng(seed)."""
    rng = np.random.default_rng(seed)
    out = []
    for shape in mlp_shapes(nin, nouts):
        if len(shape) == 2:
            bound = 1.0 / np.sqrt(shape[0])
        out.append(rng.uniform(-bound, bound, size=shape))
    return out


def torch_mlp(params: list[np.ndarray]):
    """(forward, tensors): the MLP x -> relu(x @ W1 + b1) -> ... -> x @ Wk + bk in PyTorch."""
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]

    def forward(x) -> torch.Tensor:
        h = torch.as_tensor(np.asarray(x), dtype=torch.float64)
        for k in range(0, len(tensors), 2):
            h = h @ tensors[k] + tensors[k + 1]
            if k + 2 < len(tensors):
                h = torch.relu(h)
        return h

    return forward, tensors


class SGD:
    """torch.optim.SGD's update with momentum (no dampening, no Nesterov), as its documentation
    states it: v <- momentum * v + g (v = g at the first step), p <- p - lr * v. Written out,
    because constructing torch.optim.SGD the first time imports most of torch (seconds)."""

    def __init__(self, tensors: list[torch.Tensor], lr: float, momentum: float):
        self.tensors, self.lr, self.momentum = tensors, lr, momentum
        self.velocity: list[torch.Tensor | None] = [None] * len(tensors)

    def step(self) -> None:
        with torch.no_grad():
            for k, t in enumerate(self.tensors):
                v = self.velocity[k]
                v = t.grad.clone() if v is None else v.mul_(self.momentum).add_(t.grad)
                self.velocity[k] = v
                t.sub_(self.lr * v)

    def zero_grad(self) -> None:
        for t in self.tensors:
            t.grad = None


def torch_steps(params, X, y, batches, lr, momentum):
    """Training in PyTorch as tensor_train does: for each batch, cross-entropy of the logits,
    grads zeroed, backward, one step of SGD with momentum. (losses, params after each step)."""
    forward, tensors = torch_mlp(params)
    opt = SGD(tensors, lr=lr, momentum=momentum)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    losses, after = [], []
    for idx in batches:
        loss = F.cross_entropy(forward(np.asarray(X)[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        after.append([t.detach().numpy().copy() for t in tensors])
    return losses, after


def read_params(reply: dict, key: str, shapes: list[tuple], what: str) -> list[np.ndarray]:
    """reply[key] as arrays of these shapes, or a Fail naming the first that is not."""
    got = reply.get(key)
    if not isinstance(got, list) or len(got) != len(shapes):
        n = len(got) if isinstance(got, list) else "no"
        raise Fail(f"{what}: expected {len(shapes)} arrays, got {n}")
    out = []
    for k, (g, shape) in enumerate(zip(got, shapes)):
        a = unwire(g)
        if isinstance(a, str) or a.shape != tuple(shape):
            shown = a if isinstance(a, str) else f"shape {shape_text(a.shape)}"
            raise Fail(
                f"{what}: parameters()[{k}] should be shape {shape_text(shape)}, got {shown}"
            )
        out.append(a)
    return out


def check_shapes(reply: dict, shapes: list[tuple], names: list[str], what: str) -> None:
    """The shapes of parameters() the worker found, against the documented ones."""
    got = reply.get("shapes")
    want = [list(s) for s in shapes]
    if got == want:
        return
    if not isinstance(got, list):
        raise Fail(f"{what}: parameters() gave nothing readable")
    listed = ", ".join(f"{n} {shape_text(s)}" for n, s in zip(names, shapes))
    gave = ", ".join(shape_text(s) if isinstance(s, list) else "?" for s in got[:8])
    raise Fail(
        f"{what}: parameters() should be {len(want)} arrays, {listed} (W of shape (nin, nout), "
        f"layer by layer, W before b); got {len(got)}: {gave}",
        rule="MLP.parameters",
    )


def first_difference(got: list[np.ndarray], want: list[np.ndarray]) -> tuple[int, tuple] | None:
    """(parameter number, index) of the first entry outside PyTorch's tolerance, or None."""
    for k, (g, w) in enumerate(zip(got, want)):
        bad = np.argwhere(~close_mask(g, w))
        if len(bad):
            return k, tuple(int(i) for i in bad[0])
    return None


def describe_difference(got, want, names, k: int, index: tuple) -> str:
    return (
        f"{names[k]} (parameters()[{k}], shape {shape_text(want[k].shape)}) differs at index "
        f"{index}: expected (PyTorch) {show(want[k][index])}, got {show(got[k][index])}\n"
        f"    expected {names[k]}: {show(want[k], 18)}\n    yours:      {show(got[k], 18)}"
    )


def params_payload(params: list[np.ndarray]) -> list[dict]:
    return [wire(p) for p in params]
