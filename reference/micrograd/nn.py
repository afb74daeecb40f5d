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
        # BEGIN exercise-4: Module.zero_grad
        # ask: Set the grad of every parameter (self.parameters()) to 0.
        # derivative: Gradients accumulate with +=, so they must be reset to 0 before each
        # derivative: backward pass, or this step's gradient is added to the last one's.
        for p in self.parameters():
            p.grad = 0
        # END exercise-4

    def parameters(self):
        return []


class Neuron(Module):
    def __init__(self, nin, nonlin=True, activation="relu"):
        # BEGIN exercise-4: Neuron.__init__
        # ask: self.w: a list of nin Values, drawn with random.uniform(-1, 1) one after the
        # ask: other; self.b: a Value starting at 0.
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        # END exercise-4
        self.nonlin = nonlin
        self.activation = activation

    def __call__(self, x):
        # BEGIN exercise-4: Neuron.__call__
        # ask: x is a list of numbers or Values. Return one Value: act = w . x + b, then
        # ask: relu(act) (tanh(act) when self.activation == "tanh"), or act itself when
        # ask: self.nonlin is False (a linear neuron, the output layer's).
        # derivative: dot(self.w, x, self.b), defined above, makes w . x + b one node.
        act = dot(self.w, x, self.b)
        if not self.nonlin:
            return act
        return act.tanh() if self.activation == "tanh" else act.relu()
        # END exercise-4

    def parameters(self):
        # BEGIN exercise-4: Neuron.parameters
        # ask: A list of this neuron's Values: the weights in order, then the bias.
        return self.w + [self.b]
        # END exercise-4

    def __repr__(self):
        kind = ("Tanh" if self.activation == "tanh" else "ReLU") if self.nonlin else "Linear"
        return f"{kind}Neuron({len(self.w)})"


class Layer(Module):
    def __init__(self, nin, nout, **kwargs):
        # BEGIN exercise-4: Layer.__init__
        # ask: self.neurons: a list of nout Neurons, each seeing all nin inputs; pass
        # ask: **kwargs (nonlin, activation) on to each.
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]
        # END exercise-4

    def __call__(self, x):
        # BEGIN exercise-4: Layer.__call__
        # ask: Every neuron applied to the same x, as a list; a layer of one neuron returns
        # ask: that one Value, not a list of one.
        # derivative: So an MLP ending in one output gives a Value, a loss can use directly.
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out
        # END exercise-4

    def parameters(self):
        # BEGIN exercise-4: Layer.parameters
        # ask: Every neuron's parameters, neuron by neuron, in one flat list.
        return [p for n in self.neurons for p in n.parameters()]
        # END exercise-4

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    def __init__(self, nin, nouts, activation="relu"):
        # BEGIN exercise-4: MLP.__init__
        # ask: self.layers: with sizes = [nin] + nouts, layer i maps sizes[i] inputs to
        # ask: sizes[i+1] outputs; every layer but the last is non-linear (nonlin=False on
        # ask: the last), and each gets the activation.
        # derivative: A linear last layer gives a plain weighted sum: a score, not squashed.
        sizes = [nin] + nouts
        self.layers = [
            Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1, activation=activation)
            for i in range(len(nouts))
        ]
        # END exercise-4

    def __call__(self, x):
        # BEGIN exercise-4: MLP.__call__
        # ask: Each layer's output is the next layer's input; return the last one's.
        for layer in self.layers:
            x = layer(x)
        return x
        # END exercise-4

    def parameters(self):
        # BEGIN exercise-4: MLP.parameters
        # ask: Every layer's parameters, layer by layer, in one flat list.
        return [p for layer in self.layers for p in layer.parameters()]
        # END exercise-4

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
