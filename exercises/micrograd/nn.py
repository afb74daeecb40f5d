"""A small neural-network library on Value: Module, Neuron, Layer, MLP, as in micrograd.

Parameters are ordered layer by layer, neuron by neuron, each neuron's weights then its
bias, so that a list of numbers maps onto a model the same way in every implementation.
"""

import random

from .engine import Value


def dot(ws, xs, b):
    """One node for b + sum_i ws[i] * xs[i]: a neuron's weighted sum, fused.

    Written with + and *, a neuron of n inputs makes 2n+1 nodes, and training spends most
    of its time creating and visiting them. One node with a rule of its own does the same
    arithmetic: d/dw_i = x_i, d/dx_i = w_i, d/db = 1. `xs` may hold numbers or Values.
    """
    xs = [x if isinstance(x, Value) else Value(x) for x in xs]
    total = b.data
    for w, x in zip(ws, xs):
        total += w.data * x.data
    out = Value(total, (*ws, *xs, b), "dot")

    def _backward():
        g = out.grad
        for w, x in zip(ws, xs):
            w.grad += x.data * g
            x.grad += w.data * g
        b.grad += g

    out._backward = _backward
    return out


class Module:
    def zero_grad(self):
        # TODO exercise-4: Module.zero_grad
        # Gradients accumulate with +=, so they must be reset to 0 before each backward
        # pass, or this step's gradient is added to the last one's.
        raise NotImplementedError("exercise-4: Module.zero_grad")

    def parameters(self):
        return []


class Neuron(Module):
    def __init__(self, nin, nonlin=True, activation="relu"):
        # TODO exercise-4: Neuron.__init__
        # nin weights drawn from uniform(-1, 1), in order, and a bias starting at 0.
        raise NotImplementedError("exercise-4: Neuron.__init__")
        self.nonlin = nonlin
        self.activation = activation

    def __call__(self, x):
        # TODO exercise-4: Neuron.__call__
        # act = w . x + b; then the non-linearity, relu(act) (or tanh(act)), unless this
        # neuron is linear (nonlin=False, the output layer).
        raise NotImplementedError("exercise-4: Neuron.__call__")

    def parameters(self):
        # TODO exercise-4: Neuron.parameters
        # The weights in order, then the bias.
        raise NotImplementedError("exercise-4: Neuron.parameters")

    def __repr__(self):
        kind = ("Tanh" if self.activation == "tanh" else "ReLU") if self.nonlin else "Linear"
        return f"{kind}Neuron({len(self.w)})"


class Layer(Module):
    def __init__(self, nin, nout, **kwargs):
        # TODO exercise-4: Layer.__init__
        # nout neurons, each seeing all nin inputs.
        raise NotImplementedError("exercise-4: Layer.__init__")

    def __call__(self, x):
        # TODO exercise-4: Layer.__call__
        # Every neuron applied to the same x; a layer of one neuron returns a Value, not a
        # list, so that an MLP ending in one output gives a Value.
        raise NotImplementedError("exercise-4: Layer.__call__")

    def parameters(self):
        # TODO exercise-4: Layer.parameters
        # Neuron by neuron.
        raise NotImplementedError("exercise-4: Layer.parameters")

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    def __init__(self, nin, nouts, activation="relu"):
        # TODO exercise-4: MLP.__init__
        # Layer i maps sizes[i] inputs to sizes[i+1] outputs; every layer but the last is
        # non-linear, so the output is a plain weighted sum (a score, not squashed).
        raise NotImplementedError("exercise-4: MLP.__init__")

    def __call__(self, x):
        # TODO exercise-4: MLP.__call__
        # Each layer's output is the next layer's input.
        raise NotImplementedError("exercise-4: MLP.__call__")

    def parameters(self):
        # TODO exercise-4: MLP.parameters
        # Layer by layer.
        raise NotImplementedError("exercise-4: MLP.parameters")

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
