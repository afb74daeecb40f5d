"""The grader's own MLP in PyTorch (float64), from a flat parameter list in micrograd's order:
layer by layer, neuron by neuron, each neuron's weights then its bias."""

from __future__ import annotations

from grader.checks.later import torch


def param_count(nin: int, nouts: list[int]) -> int:
    sizes = [nin, *nouts]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


class TorchMLP:
    def __init__(self, nin: int, nouts: list[int], params: list[float], activation: str = "relu"):
        self.activation = torch.tanh if activation == "tanh" else torch.relu
        sizes = [nin, *nouts]
        flat = torch.tensor(params, dtype=torch.float64)
        self.layers: list[tuple[torch.Tensor, torch.Tensor]] = []
        at = 0
        for a, b in zip(sizes, sizes[1:]):
            block = flat[at : at + (a + 1) * b].reshape(b, a + 1)
            at += (a + 1) * b
            w = block[:, :a].clone().requires_grad_(True)
            bias = block[:, a].clone().requires_grad_(True)
            self.layers.append((w, bias))

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        """Scores for each row of X (n, nin) -> (n, nout): ReLU (or tanh) hidden layers, linear
        output."""
        h = X
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = self.activation(h)
        return h

    def tensors(self) -> list[torch.Tensor]:
        return [t for w, b in self.layers for t in (w, b)]

    def zero_grad(self) -> None:
        for t in self.tensors():
            t.grad = None

    def step(self, rate: float) -> None:
        """SGD: each parameter moves against its gradient, t -= rate * dL/dt."""
        with torch.no_grad():
            for t in self.tensors():
                t -= rate * t.grad

    def flat_grads(self) -> list[float]:
        out: list[float] = []
        for w, b in self.layers:
            for row, bi in zip(w.grad, b.grad):
                out.extend([*row.tolist(), bi.item()])
        return out

    def flat_params(self) -> list[float]:
        out: list[float] = []
        for w, b in self.layers:
            for row, bi in zip(w.detach(), b.detach()):
                out.extend([*row.tolist(), bi.item()])
        return out
