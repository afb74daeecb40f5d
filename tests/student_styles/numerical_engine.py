"""A Value whose backward rules write no derivative: every rule asks one generic numerical
derivative (a central difference with a good step) of its op's own forward function. Right to
about 10 digits everywhere; written for the kit's tests, graded as a student's engine.py,
which must earn nothing on the checks of single rules: a backward rule is exact."""

import math


def slope(f, args, i, h=1e-6):
    """d f(*args) / d args[i], by a central difference (relative step h)."""
    step = h * max(1.0, abs(args[i]))
    up, down = list(args), list(args)
    up[i] += step
    down[i] -= step
    return (f(*up) - f(*down)) / (2 * step)


class Value:
    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op
        self.label = label

    def _apply(self, f, others, op):
        """out = f(self, *others), its rule the numerical slope of f in each input."""
        inputs = (self, *others)
        out = Value(f(*(v.data for v in inputs)), inputs, op)

        def _backward():
            values = [v.data for v in inputs]
            for i, v in enumerate(inputs):
                v.grad += slope(f, values, i) * out.grad

        out._backward = _backward
        return out

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return self._apply(lambda a, b: a + b, [other], "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return self._apply(lambda a, b: a * b, [other], "*")

    def __pow__(self, n):
        return self._apply(lambda a: a**n, [], f"**{n}")

    def exp(self):
        return self._apply(math.exp, [], "exp")

    def log(self):
        return self._apply(math.log, [], "log")

    def tanh(self):
        return self._apply(math.tanh, [], "tanh")

    def relu(self):
        return self._apply(lambda a: max(0.0, a), [], "ReLU")

    def sigmoid(self):
        return self._apply(lambda a: 1 / (1 + math.exp(-a)), [], "sigmoid")

    def backward(self):
        topo, seen, stack = [], set(), [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                topo.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((c, False) for c in v._prev)
        self.grad = 1
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"
