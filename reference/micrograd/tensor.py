"""Part two: micrograd's Value over numpy arrays. A Tensor holds a float64 array, not a number.

    from micrograd.tensor import Tensor

Everything works as in engine.py: each op computes its output `out`, then defines
`out._backward`, which adds into each input's `.grad` its share of dL/dout by the chain rule,
with `+=`. What is new is shape. `.grad` has the shape of `.data`, and an op may broadcast its
inputs (numpy's rules: align the shapes on the right; an axis of size 1, or a missing one, is
repeated), so an input's gradient is the upstream gradient summed back over every axis that
was repeated: `unbroadcast`. Reductions do the opposite: their gradient is spread back over
the axes they removed.

The exercises, and why they are cut this way:
    7   broadcast_shape and unbroadcast: shapes alone, no graph. Every rule of 8-10 calls
        unbroadcast, and it is the bug students hit most (a (1, 1) gradient for a (1,) input),
        so it is written and checked first, on its own.
    8   the rules of + * ** exp log tanh relu, sum mean max, reshape and transpose, and
        backward(). backward() is exercise 3's answer with one change (the seed is an array of
        ones), so it goes with the rules, not after them: each rule can be tried with
        .backward() as soon as it is written, not by calling _backward by hand on arrays.
        (The issue suggested backward() in 9.)
    9   matmul: the one rule whose gradient is itself a matrix product, with batches and
        vectors; checked by shape, on its own.
    10  log-softmax and cross-entropy, each one node whose gradient is worked out whole: the
        composition of exp, sum and log would overflow for logits of 1e3 and is slower.
Exercises 11-13 are tensor_nn.py (Linear, MLP, SGD with momentum), tensor_train.py (training
on the digits) and conv.py (im2col convolution, max-pooling, a small conv net).

As in engine.py, `- /` and the reflected ops are compositions. Tensor(x) copies x (an op's
output keeps the new array it made), and no op changes its inputs' data, nor their grads other
than by adding into them.
"""

from __future__ import annotations

import numpy as np


def _noop() -> None:
    pass


# -- broadcasting ---------------------------------------------------------------------------


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of `x + y` for x of shape a and y of shape b; ValueError if there is none."""
    # BEGIN exercise-7: broadcast_shape
    # ask: Align the two shapes on the right, a missing axis counting as size 1. For each
    # ask: pair of sizes: which result size, and when must you raise ValueError (say which
    # ask: shapes, as numpy does)? broadcast_shape((2, 1, 3), (4, 1)) is (2, 4, 3).
    # derivative: Sizes n and n give n, 1 and n give n (the 1 is repeated n times), any other
    # derivative: pair has no broadcast. Pad the shorter shape with 1s on the left first.
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for p, q in zip(a, b):
        if p != q and p != 1 and q != 1:
            raise ValueError(f"shapes {a} and {b} cannot be broadcast together")
        out.append(q if p == 1 else p)
    return tuple(out)
    # END exercise-7


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`grad` (of a broadcast result's shape) summed back to `shape`, an input's shape."""
    # BEGIN exercise-7: unbroadcast
    # ask: An input x of this shape was broadcast to grad.shape: each of its entries was
    # ask: used once for every copy made of it. Return the gradient of x: an array of
    # ask: exactly `shape`. Which axes of grad were added, and which were repeated?
    # derivative: d(sum of the copies)/dx = the sum of the upstream gradients of its copies:
    # derivative: sum over the leading axes that x lacks, then, keeping dims, over every
    # derivative: axis where x has size 1 and grad does not.
    if grad.shape == shape:
        return grad
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    repeated = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=repeated, keepdims=True) if repeated else grad
    # END exercise-7


def _axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """`axis` as a tuple of non-negative axes (None: all of them)."""
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, int) else axis
    return tuple(a % ndim for a in axis)


class Tensor:
    """stores a float64 array and its gradient"""

    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")
    # numpy's operators leave Tensors alone: 2.0 * t calls Tensor.__rmul__, not numpy
    __array_ufunc__ = None

    def __init__(self, data, _children=(), _op="", label=""):
        # a leaf copies what it is given, so no outside array is ever changed by training;
        # an op's output is a new array already (or a view of its input: reshape, transpose)
        self.data = np.asarray(data, np.float64) if _children else np.array(data, np.float64)
        self.grad = np.zeros(self.data.shape)  # its own array: never data, never another grad
        self._backward = _noop
        self._prev = tuple(_children)
        self._op = _op
        self.label = label

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    # -- elementwise, with broadcasting ---------------------------------------------------

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data + other.data, (self, other), "+")

        def _backward():
            # BEGIN exercise-8: Tensor.__add__ backward
            # ask: out = self + other, broadcast. Add into self.grad and other.grad their
            # ask: shares of out.grad; each must keep its own input's shape.
            # derivative: dout/dself = dout/dother = 1 elementwise: out.grad itself, summed
            # derivative: back over the broadcast axes (unbroadcast) to each input's shape.
            self.grad += unbroadcast(out.grad, self.data.shape)
            other.grad += unbroadcast(out.grad, other.data.shape)
            # END exercise-8

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, (self, other), "*")

        def _backward():
            # BEGIN exercise-8: Tensor.__mul__ backward
            # ask: out = self * other, elementwise and broadcast. Add into self.grad and
            # ask: other.grad their shares of out.grad, each of its own input's shape.
            # derivative: dout/dself = other.data, elementwise: other.data * out.grad has the
            # derivative: broadcast shape; unbroadcast it to self's shape. Likewise for other.
            self.grad += unbroadcast(other.data * out.grad, self.data.shape)
            other.grad += unbroadcast(self.data * out.grad, other.data.shape)
            # END exercise-8

        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = Tensor(self.data**other, (self,), f"**{other}")

        def _backward():
            # BEGIN exercise-8: Tensor.__pow__ backward
            # ask: out = self**other, elementwise, other a plain number n. Add into self.grad.
            # derivative: dout/dx = n * x**(n-1), elementwise.
            self.grad += other * self.data ** (other - 1) * out.grad
            # END exercise-8

        out._backward = _backward
        return out

    def exp(self):
        out = Tensor(np.exp(self.data), (self,), "exp")

        def _backward():
            # BEGIN exercise-8: Tensor.exp backward
            # ask: out = e**self, elementwise. Add into self.grad; out.data may save work.
            # derivative: dout/dx = e**x = out.data.
            self.grad += out.data * out.grad
            # END exercise-8

        out._backward = _backward
        return out

    def log(self):
        out = Tensor(np.log(self.data), (self,), "log")

        def _backward():
            # BEGIN exercise-8: Tensor.log backward
            # ask: out = ln(self), elementwise, for self.data > 0. Add into self.grad.
            # derivative: dout/dx = 1 / x.
            self.grad += out.grad / self.data
            # END exercise-8

        out._backward = _backward
        return out

    def tanh(self):
        out = Tensor(np.tanh(self.data), (self,), "tanh")

        def _backward():
            # BEGIN exercise-8: Tensor.tanh backward
            # ask: out = tanh(self), elementwise. Add into self.grad, using out.data.
            # derivative: dout/dx = 1 - tanh(x)**2 = 1 - out.data**2.
            self.grad += (1 - out.data**2) * out.grad
            # END exercise-8

        out._backward = _backward
        return out

    def relu(self):
        out = Tensor(np.maximum(self.data, 0.0), (self,), "ReLU")

        def _backward():
            # BEGIN exercise-8: Tensor.relu backward
            # ask: out = max(0, self), elementwise. Add into self.grad; where self.data is
            # ask: exactly 0, use derivative 0, as PyTorch does.
            # derivative: dout/dx = 1 where x > 0, 0 where x <= 0: a mask times out.grad.
            self.grad += (self.data > 0) * out.grad
            # END exercise-8

        out._backward = _backward
        return out

    # -- reductions ---------------------------------------------------------------------------

    def sum(self, axis=None, keepdims=False):
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")
        axes = _axes(axis, self.data.ndim)

        def _backward():
            # BEGIN exercise-8: Tensor.sum backward
            # ask: out = self summed over `axes`, a tuple of non-negative axes (all of them for
            # ask: axis=None); with keepdims those axes are kept with size 1. Add into
            # ask: self.grad: which entries of self did each entry of out add up?
            # derivative: dout/dx = 1 for every x summed into out: out.grad, put back with
            # derivative: size-1 axes where they were removed (np.expand_dims), broadcast.
            self.grad += out.grad if keepdims else np.expand_dims(out.grad, axes)
            # END exercise-8

        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims=False):
        out = Tensor(self.data.mean(axis=axis, keepdims=keepdims), (self,), "mean")
        axes = _axes(axis, self.data.ndim)

        def _backward():
            # BEGIN exercise-8: Tensor.mean backward
            # ask: out = the mean of self over `axes`. Add into self.grad. How many entries of
            # ask: self are averaged into each entry of out?
            # derivative: out = sum / n, n the number of entries averaged into each output:
            # derivative: the gradient of sum, divided by n.
            n = self.data.size // max(out.data.size, 1)
            g = out.grad if keepdims else np.expand_dims(out.grad, axes)
            self.grad += g / n
            # END exercise-8

        out._backward = _backward
        return out

    def max(self, axis=None, keepdims=False):
        """The largest entry over `axis`, as torch.amax (and torch.max without a dim) do it:
        entries tied for the maximum share its gradient equally. (torch.max(x, dim) instead
        gives it all to the one entry whose index it returns.)"""
        out = Tensor(self.data.max(axis=axis, keepdims=keepdims), (self,), "max")
        axes = _axes(axis, self.data.ndim)

        def _backward():
            # BEGIN exercise-8: Tensor.max backward
            # ask: out = the maximum of self over `axes`. Add into self.grad. Only entries
            # ask: equal to their maximum receive a gradient; when k entries tie for it, each
            # ask: gets 1/k of it (as torch.amax does).
            # derivative: A mask of the maxima (self.data == out.data, with size-1 axes put
            # derivative: back), times out.grad, divided by the mask's count over `axes`.
            g, m = out.grad, out.data
            if not keepdims:  # the reduced axes put back, of size 1
                g, m = np.expand_dims(g, axes), np.expand_dims(m, axes)
            mask = self.data == m
            self.grad += mask * (g / mask.sum(axis=axes, keepdims=True))
            # END exercise-8

        out._backward = _backward
        return out

    # -- shape --------------------------------------------------------------------------------

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        out = Tensor(self.data.reshape(shape), (self,), "reshape")

        def _backward():
            # BEGIN exercise-8: Tensor.reshape backward
            # ask: out holds self's entries in the same order, in another shape. Add into
            # ask: self.grad.
            # derivative: Each entry moves unchanged: out.grad in self's shape.
            self.grad += out.grad.reshape(self.data.shape)
            # END exercise-8

        out._backward = _backward
        return out

    def transpose(self, axes=None):
        axes = tuple(reversed(range(self.data.ndim))) if axes is None else tuple(axes)
        out = Tensor(self.data.transpose(axes), (self,), "transpose")

        def _backward():
            # BEGIN exercise-8: Tensor.transpose backward
            # ask: out's axis i is self's axis axes[i]. Add into self.grad: out.grad moved
            # ask: back to self's axes. Which permutation undoes `axes`?
            # derivative: The inverse permutation, np.argsort(axes): axis axes[i] of self is
            # derivative: axis i of out. (For two axes the permutation is its own inverse.)
            self.grad += out.grad.transpose(np.argsort(axes))
            # END exercise-8

        out._backward = _backward
        return out

    @property
    def T(self):
        return self.transpose()

    # -- backpropagation ----------------------------------------------------------------

    def backward(self):
        # BEGIN exercise-8: Tensor.backward
        # ask: As Value.backward (exercise 3): every node reachable through _prev, each once,
        # ask: in a topological order, without recursion; then seed self.grad and call each
        # ask: node's _backward from self back to the inputs. Seed with what, of what shape?
        # derivative: d(self)/d(self) is 1 for each entry: an array of ones, self's shape
        # derivative: (for a non-scalar self this is the gradient of self.sum()).
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
        self.grad = np.ones_like(self.data)
        for v in reversed(topo):
            v._backward()
        # END exercise-8

    # -- matrix products ----------------------------------------------------------------------

    def __matmul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data @ other.data, (self, other), "@")

        def _backward():
            # as numpy does: a vector on the left is a row (1, k), on the right a column (k, 1);
            # out.grad is given those axes back, so that A @ B = G in shape
            A = self.data if self.data.ndim > 1 else self.data[None, :]
            B = other.data if other.data.ndim > 1 else other.data[:, None]
            G = out.grad.reshape(
                broadcast_shape(A.shape[:-2], B.shape[:-2]) + (A.shape[-2], B.shape[-1])
            )
            # BEGIN exercise-9: Tensor.__matmul__ backward
            # ask: out = A @ B, matrices in the last two axes, the axes before them (batches)
            # ask: broadcast; G is out.grad of A @ B's shape. Add into self.grad and
            # ask: other.grad: which product of G with B (with A) has A's shape (B's)? Then
            # ask: sum over broadcast batches, back to A's (B's) shape, and reshape to the
            # ask: input's own shape: a vector input was made a row (1, k) or a column (k, 1).
            # derivative: C_ij = sum_k A_ik B_kj, so dL/dA_ik = sum_j G_ij B_kj: dA = G @ B^T,
            # derivative: and dL/dB_kj = sum_i A_ik G_ij: dB = A^T @ G, transposing the last
            # derivative: two axes (swapaxes(-1, -2)); then unbroadcast and reshape.
            self.grad += unbroadcast(G @ B.swapaxes(-1, -2), A.shape).reshape(self.data.shape)
            other.grad += unbroadcast(A.swapaxes(-1, -2) @ G, B.shape).reshape(other.data.shape)
            # END exercise-9

        out._backward = _backward
        return out

    # -- softmax and cross-entropy --------------------------------------------------------

    def log_softmax(self, axis=-1):
        # log softmax(x)_i = x_i - log sum_j e**x_j; the max m subtracted first leaves it equal
        # (x_i - m - log sum_j e**(x_j - m)) and makes every exponent <= 0: no overflow.
        z = self.data - self.data.max(axis=axis, keepdims=True)
        out = Tensor(z - np.log(np.exp(z).sum(axis=axis, keepdims=True)), (self,), "log_softmax")

        def _backward():
            # BEGIN exercise-10: Tensor.log_softmax backward
            # ask: out_i = x_i - log sum_j e**x_j along `axis`. Add into self.grad. Each x_j
            # ask: moves every out_i of its row: through x_i itself, and through the log-sum.
            # derivative: dout_i/dx_j = [i == j] - softmax_j, softmax = e**out; so
            # derivative: dL/dx_j = g_j - softmax_j * sum_i g_i, the sum along `axis`.
            g = out.grad
            self.grad += g - np.exp(out.data) * g.sum(axis=axis, keepdims=True)
            # END exercise-10

        out._backward = _backward
        return out

    # -- compositions: no rules of their own ----------------------------------------------

    def __neg__(self):  # -self
        return self * -1.0

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        other = other if isinstance(other, Tensor) else Tensor(other)
        return self * other**-1

    def __rtruediv__(self, other):  # other / self
        return other * self**-1

    def __rmatmul__(self, other):  # other @ self
        return Tensor(other) @ self

    def __repr__(self):
        return f"Tensor(data={self.data}, grad={self.grad})"


def cross_entropy(logits: Tensor, labels) -> Tensor:
    """The mean over the N rows of -log softmax(logits)[label]: one node, logits (N, C).

    loss = (1/N) sum_n (log sum_c e**z_nc - z_n,y_n), with z = logits - their row's max, so
    that no exponent is positive (logits of 1e3 stay finite).
    """
    labels = np.asarray(labels, dtype=np.intp)
    n = logits.data.shape[0]
    rows = np.arange(n)
    z = logits.data - logits.data.max(axis=1, keepdims=True)
    e = np.exp(z)
    total = e.sum(axis=1, keepdims=True)
    out = Tensor(np.mean(np.log(total[:, 0]) - z[rows, labels]), (logits,), "cross_entropy")
    probs = e / total  # softmax(logits), kept for the backward pass

    def _backward():
        # BEGIN exercise-10: cross_entropy backward
        # ask: out = (1/N) sum_n -log softmax(logits_n)[y_n]. Add into logits.grad; out.grad
        # ask: is a number (0-d). The softmax of each row is `probs` already; labels are
        # ask: `labels`, the row indices `rows`. backward() may run twice: may you change
        # ask: probs in place?
        # derivative: d/dz_nc of (log sum_c' e**z_nc' - z_n,y_n) = softmax_nc - [c == y_n]:
        # derivative: (probs - onehot(labels)) / N, times out.grad.
        d = probs.copy()
        d[rows, labels] -= 1.0
        logits.grad += d * (out.grad / n)
        # END exercise-10

    out._backward = _backward
    return out
