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
        # Set the grad of every parameter (self.parameters()) to 0.
        raise NotImplementedError("exercise-4: Module.zero_grad")

    def parameters(self):
        return []


class Neuron(Module):
    def __init__(self, nin, nonlin=True, activation="relu"):
        # TODO exercise-4: Neuron.__init__
        # self.w: a list of nin Values, drawn with random.uniform(-1, 1) one after the
        # other; self.b: a Value starting at 0.
        raise NotImplementedError("exercise-4: Neuron.__init__")
        self.nonlin = nonlin
        self.activation = activation

    def __call__(self, x):
        # TODO exercise-4: Neuron.__call__
        # x is a list of numbers or Values. Return one Value: act = w . x + b, then
        # relu(act) (tanh(act) when self.activation == "tanh"), or act itself when
        # self.nonlin is False (a linear neuron, the output layer's).
        raise NotImplementedError("exercise-4: Neuron.__call__")

    def parameters(self):
        # TODO exercise-4: Neuron.parameters
        # A list of this neuron's Values: the weights in order, then the bias.
        raise NotImplementedError("exercise-4: Neuron.parameters")

    def __repr__(self):
        kind = ("Tanh" if self.activation == "tanh" else "ReLU") if self.nonlin else "Linear"
        return f"{kind}Neuron({len(self.w)})"


class Layer(Module):
    def __init__(self, nin, nout, **kwargs):
        # TODO exercise-4: Layer.__init__
        # self.neurons: a list of nout Neurons, each seeing all nin inputs; pass
        # **kwargs (nonlin, activation) on to each.
        raise NotImplementedError("exercise-4: Layer.__init__")

    def __call__(self, x):
        # TODO exercise-4: Layer.__call__
        # Every neuron applied to the same x, as a list; a layer of one neuron returns
        # that one Value, not a list of one.
        raise NotImplementedError("exercise-4: Layer.__call__")

    def parameters(self):
        # TODO exercise-4: Layer.parameters
        # Every neuron's parameters, neuron by neuron, in one flat list.
        raise NotImplementedError("exercise-4: Layer.parameters")

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    def __init__(self, nin, nouts, activation="relu"):
        # TODO exercise-4: MLP.__init__
        # self.layers: with sizes = [nin] + nouts, layer i maps sizes[i] inputs to
        # sizes[i+1] outputs; every layer but the last is non-linear (nonlin=False on
        # the last), and each gets the activation.
        raise NotImplementedError("exercise-4: MLP.__init__")

    def __call__(self, x):
        # TODO exercise-4: MLP.__call__
        # Each layer's output is the next layer's input; return the last one's.
        raise NotImplementedError("exercise-4: MLP.__call__")

    def parameters(self):
        # TODO exercise-4: MLP.parameters
        # Every layer's parameters, layer by layer, in one flat list.
        raise NotImplementedError("exercise-4: MLP.parameters")

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
