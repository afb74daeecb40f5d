"""Neural networks on Tensor: Linear, MLP (ReLU between layers), SGD with momentum.

A Linear layer is one node, out = x @ W + b, with W of shape (nin, nout) (the transpose of
torch.nn.Linear's weight) and b of shape (nout,). Its input may be a Tensor, or plain data (a
numpy array): nothing to differentiate then, and the product x.grad = g @ W^T, the costliest
of a first layer's backward pass, is skipped, as torch skips it for inputs without
requires_grad. Written as Tensor(x) @ W + b instead (two nodes, one more array pass each way,
and that product), the digits MLP of benchmarks/train_digits.py took a third longer (0.33 s
against 0.25 s, measured here).

Initialisation, as torch.nn.Linear's distribution (not its draws): every entry of W, then of
b, uniform in [-1/sqrt(nin), 1/sqrt(nin)], drawn from the numpy Generator `rng` passed in,
layer by layer, W before b. Parameters are ordered the same way: W1, b1, W2, b2, ...
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


def linear(x: Tensor | np.ndarray, W: Tensor, b: Tensor) -> Tensor:
    """x @ W + b as one node: x (N, nin), a Tensor or a plain array; W (nin, nout); b (nout,)."""
    x_data = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
    y = x_data @ W.data
    y += b.data  # into the product's own new array: no second array
    out = Tensor(y, (x, W, b) if isinstance(x, Tensor) else (W, b), "linear")

    def _backward():
        # BEGIN exercise-11: linear backward
        # ask: out = x @ W + b: x (N, nin), W (nin, nout), b (nout,) broadcast over the N rows.
        # ask: Add into W.grad and b.grad their shares of g = out.grad, of their own shapes,
        # ask: and into x.grad only when x is a Tensor (plain data has no grad).
        # derivative: Exercise 9's rule and exercise 7's sum: dW = x^T @ g, db = g summed over
        # derivative: the rows (axis 0), dx = g @ W^T.
        g = out.grad
        W.grad += x_data.T @ g
        b.grad += g.sum(axis=0)
        if isinstance(x, Tensor):
            x.grad += g @ W.data.T
        # END exercise-11

    out._backward = _backward
    return out


class Module:
    def zero_grad(self) -> None:
        # BEGIN exercise-11: Module.zero_grad
        # ask: Make every parameter's grad zero again, of its shape, before the next backward.
        # derivative: Grads accumulate with +=; fill(0.0) zeroes the array in place, no new one.
        for p in self.parameters():
            p.grad.fill(0.0)
        # END exercise-11

    def parameters(self) -> list[Tensor]:
        return []


class Linear(Module):
    def __init__(self, nin: int, nout: int, rng: np.random.Generator):
        # BEGIN exercise-11: Linear.__init__
        # ask: self.W, a Tensor of shape (nin, nout), then self.b, of shape (nout,), every
        # ask: entry uniform in [-1/sqrt(nin), 1/sqrt(nin)]: one call of rng.uniform(low,
        # ask: high, size=...) for each, of its own shape, W's first (the grader's draws).
        # derivative: A bound shrinking with nin keeps x @ W about as large as x: each of the
        # derivative: nin terms adds a variance of bound**2 / 3.
        bound = 1.0 / np.sqrt(nin)
        self.W = Tensor(rng.uniform(-bound, bound, size=(nin, nout)))
        self.b = Tensor(rng.uniform(-bound, bound, size=nout))
        # END exercise-11

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        return linear(x, self.W, self.b)

    def parameters(self) -> list[Tensor]:
        return [self.W, self.b]

    def __repr__(self):
        return f"Linear({self.W.shape[0]}, {self.W.shape[1]})"


class MLP(Module):
    def __init__(self, nin: int, nouts: list[int], rng: np.random.Generator):
        sizes = [nin] + nouts
        self.layers = [Linear(sizes[i], sizes[i + 1], rng) for i in range(len(nouts))]

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        # BEGIN exercise-11: MLP.__call__
        # ask: Each layer's output is the next layer's input, through a ReLU between two
        # ask: layers; the last layer's output is returned as is (the logits).
        for layer in self.layers[:-1]:
            x = layer(x).relu()
        return self.layers[-1](x)
        # END exercise-11

    def parameters(self) -> list[Tensor]:
        # BEGIN exercise-11: MLP.parameters
        # ask: Every layer's parameters, layer by layer, in one flat list.
        return [p for layer in self.layers for p in layer.parameters()]
        # END exercise-11

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


class SGD:
    """Gradient descent with momentum, as torch.optim.SGD: v <- mu v + g, then p <- p - lr v."""

    def __init__(self, params: list[Tensor], lr: float = 0.05, momentum: float = 0.9):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.velocity = [np.zeros_like(p.data) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad.fill(0.0)

    def step(self) -> None:
        # BEGIN exercise-11: SGD.step
        # ask: For each parameter p and its velocity v (self.velocity, zeros at first):
        # ask: v <- momentum * v + p.grad, then p.data <- p.data - lr * v. Change the arrays
        # ask: in place: the model holds these very Tensors, and v must last to the next step.
        # derivative: v is a running sum of past gradients, each step's weight decaying by
        # derivative: momentum: it keeps moving along directions the gradients agree on.
        for p, v in zip(self.params, self.velocity):
            v *= self.momentum
            v += p.grad
            p.data -= self.lr * v
        # END exercise-11
