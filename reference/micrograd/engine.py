"""A scalar autograd engine: micrograd's Value, without recursion and with one fused op.

Every operation computes its output `out`, then defines `out._backward`, which takes
`out.grad` (dL/dout, the "upstream" gradient) and adds each input's share into the input's
`.grad` by the chain rule: dL/dx += dL/dout * dout/dx. `+=`, not `=`, because a node
used twice (`a * a`) receives a contribution from each use.
"""

import math


def _noop() -> None:
    pass


class Value:
    """stores a single scalar value and its gradient"""

    # __slots__ keeps each node small and its attributes fast to reach: a training step
    # creates tens of thousands of nodes.
    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data
        self.grad = 0
        # internal variables used for autograd graph construction
        self._backward = _noop
        # a tuple, not micrograd's set: iteration order is then the order of the operands,
        # which makes the topological order, and so every float sum, reproducible.
        self._prev = tuple(_children)
        self._op = _op  # the op that produced this node, for graphviz / debugging / etc
        self.label = label  # a name for drawings (draw_dot), as in micrograd's lecture

    # -- the chain rule for + and * -----------------------------------------------------

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            # BEGIN exercise-1: Value.__add__ backward
            # ask: out = self + other. out.grad holds dL/dout (set before this runs). Add
            # ask: into self.grad and into other.grad each one's share, dL/dout * dout/d(input),
            # ask: with +=: a node used twice must collect a share from each use.
            # derivative: dout/dself = 1 and dout/dother = 1: each input receives out.grad as is.
            self.grad += out.grad
            other.grad += out.grad
            # END exercise-1

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            # BEGIN exercise-1: Value.__mul__ backward
            # ask: out = self * other. Add into self.grad and into other.grad out.grad times
            # ask: the derivative of out with respect to that input; the inputs' values are
            # ask: self.data and other.data. Use +=, as in +.
            # derivative: dout/dself = other.data and dout/dother = self.data: each input's
            # derivative: gradient is the *other* input's value times out.grad.
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
            # END exercise-1

        out._backward = _backward
        return out

    # -- powers, quotients and the functions of one input ------------------------------

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = Value(self.data**other, (self,), f"**{other}")

        def _backward():
            # BEGIN exercise-2: Value.__pow__ backward
            # ask: out = self**other, where other is a plain number n (a constant, not a
            # ask: Value). Add into self.grad dout/dself * out.grad, from self.data and other.
            # derivative: dout/dx = n * x**(n-1).
            self.grad += other * self.data ** (other - 1) * out.grad
            # END exercise-2

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            # BEGIN exercise-2: Value.exp backward
            # ask: out = e**self. Add into self.grad dout/dself * out.grad; the forward value
            # ask: out.data may save you work.
            # derivative: dout/dx = e**x, which is out.data itself.
            self.grad += out.data * out.grad
            # END exercise-2

        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            # BEGIN exercise-2: Value.log backward
            # ask: out = ln(self), defined for self.data > 0. Add into self.grad
            # ask: dout/dself * out.grad, from self.data.
            # derivative: dout/dx = 1 / x.
            self.grad += out.grad / self.data
            # END exercise-2

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            # BEGIN exercise-2: Value.tanh backward
            # ask: out = tanh(self). Add into self.grad dout/dself * out.grad; the derivative
            # ask: can be written with the number out.data alone (not the Value out).
            # derivative: dout/dx = 1 - tanh(x)**2 = 1 - out.data**2.
            self.grad += (1 - out.data**2) * out.grad
            # END exercise-2

        out._backward = _backward
        return out

    def relu(self):
        out = Value(0.0 if self.data < 0 else self.data, (self,), "ReLU")

        def _backward():
            # BEGIN exercise-2: Value.relu backward
            # ask: out = max(0, self). Add into self.grad dout/dself * out.grad. At exactly
            # ask: self.data = 0 the derivative does not exist; like PyTorch, use 0 there.
            # derivative: dout/dx = 1 where x > 0 and 0 where x <= 0.
            self.grad += (out.data > 0) * out.grad
            # END exercise-2

        out._backward = _backward
        return out

    def sigmoid(self):
        # 1 / (1 + e**-x), written so that neither branch overflows for large |x|
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            # BEGIN exercise-2: Value.sigmoid backward
            # ask: out = s(self) = 1 / (1 + e**-self). Add into self.grad dout/dself * out.grad;
            # ask: the derivative can be written with the number out.data alone.
            # derivative: dout/dx = s(x) * (1 - s(x)) = out.data * (1 - out.data).
            self.grad += out.data * (1 - out.data) * out.grad
            # END exercise-2

        out._backward = _backward
        return out

    # -- backpropagation ----------------------------------------------------------------

    def backward(self):
        # BEGIN exercise-3: Value.backward
        # ask: Fill every .grad in the graph below self with d(self)/d(node): list the nodes
        # ask: reachable through _prev, each once, every node after all of its inputs (a
        # ask: topological order), without recursion (graphs are 100,000 nodes deep); seed
        # ask: self.grad with d(self)/d(self); then call each node's _backward, from self
        # ask: back towards the inputs, so that a node's grad is complete before it is used.
        # derivative: A depth-first search that appends a node once all its inputs are in,
        # derivative: with an explicit stack: an entry (v, True) means "v's inputs are done".
        topo = []
        visited = set()
        stack = [(self, False)]
        while stack:
            v, inputs_done = stack.pop()
            if inputs_done:
                topo.append(v)
            elif v not in visited:
                visited.add(v)
                stack.append((v, True))
                stack.extend((child, False) for child in v._prev if child not in visited)
        # dL/dL = 1 seeds the chain rule; then visit nodes from the output back, so that a
        # node's grad is complete (every use has added into it) before it is passed on.
        self.grad = 1
        for v in reversed(topo):
            v._backward()
        # END exercise-3

    # -- compositions: no rules of their own ----------------------------------------------

    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        return self * other**-1

    def __rtruediv__(self, other):  # other / self
        return other * self**-1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"
