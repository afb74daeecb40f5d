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
    # TODO exercise-7: broadcast_shape
    # Align the two shapes on the right, a missing axis counting as size 1. For each
    # pair of sizes: which result size, and when must you raise ValueError (say which
    # shapes, as numpy does)? broadcast_shape((2, 1, 3), (4, 1)) is (2, 4, 3).
    raise NotImplementedError("exercise-7: broadcast_shape")


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`grad` (of a broadcast result's shape) summed back to `shape`, an input's shape."""
    # TODO exercise-7: unbroadcast
    # An input x of this shape was broadcast to grad.shape: each of its entries was
    # used once for every copy made of it. Return the gradient of x: an array of
    # exactly `shape`. Which axes of grad were added, and which were repeated?
    raise NotImplementedError("exercise-7: unbroadcast")


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
            # TODO exercise-8: Tensor.__add__ backward
            # out = self + other, broadcast. Add into self.grad and other.grad their
            # shares of out.grad; each must keep its own input's shape.
            raise NotImplementedError("exercise-8: Tensor.__add__ backward")

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, (self, other), "*")

        def _backward():
            # TODO exercise-8: Tensor.__mul__ backward
            # out = self * other, elementwise and broadcast. Add into self.grad and
            # other.grad their shares of out.grad, each of its own input's shape.
            raise NotImplementedError("exercise-8: Tensor.__mul__ backward")

        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = Tensor(self.data**other, (self,), f"**{other}")

        def _backward():
            # TODO exercise-8: Tensor.__pow__ backward
            # out = self**other, elementwise, other a plain number n. Add into self.grad.
            raise NotImplementedError("exercise-8: Tensor.__pow__ backward")

        out._backward = _backward
        return out

    def exp(self):
        out = Tensor(np.exp(self.data), (self,), "exp")

        def _backward():
            # TODO exercise-8: Tensor.exp backward
            # out = e**self, elementwise. Add into self.grad; out.data may save work.
            raise NotImplementedError("exercise-8: Tensor.exp backward")

        out._backward = _backward
        return out

    def log(self):
        out = Tensor(np.log(self.data), (self,), "log")

        def _backward():
            # TODO exercise-8: Tensor.log backward
            # out = ln(self), elementwise, for self.data > 0. Add into self.grad.
            raise NotImplementedError("exercise-8: Tensor.log backward")

        out._backward = _backward
        return out

    def tanh(self):
        out = Tensor(np.tanh(self.data), (self,), "tanh")

        def _backward():
            # TODO exercise-8: Tensor.tanh backward
            # out = tanh(self), elementwise. Add into self.grad, using out.data.
            raise NotImplementedError("exercise-8: Tensor.tanh backward")

        out._backward = _backward
        return out

    def relu(self):
        out = Tensor(np.maximum(self.data, 0.0), (self,), "ReLU")

        def _backward():
            # TODO exercise-8: Tensor.relu backward
            # out = max(0, self), elementwise. Add into self.grad; where self.data is
            # exactly 0, use derivative 0, as PyTorch does.
            raise NotImplementedError("exercise-8: Tensor.relu backward")

        out._backward = _backward
        return out

    # -- reductions ---------------------------------------------------------------------------

    def sum(self, axis=None, keepdims=False):
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")
        axes = _axes(axis, self.data.ndim)

        def _backward():
            # TODO exercise-8: Tensor.sum backward
            # out = self summed over `axes`, a tuple of non-negative axes (all of them for
            # axis=None); with keepdims those axes are kept with size 1. Add into
            # self.grad: which entries of self did each entry of out add up?
            raise NotImplementedError("exercise-8: Tensor.sum backward")

        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims=False):
        out = Tensor(self.data.mean(axis=axis, keepdims=keepdims), (self,), "mean")
        axes = _axes(axis, self.data.ndim)

        def _backward():
            # TODO exercise-8: Tensor.mean backward
            # out = the mean of self over `axes`. Add into self.grad. How many entries of
            # self are averaged into each entry of out?
            raise NotImplementedError("exercise-8: Tensor.mean backward")

        out._backward = _backward
        return out

    def max(self, axis=None, keepdims=False):
        """The largest entry over `axis`, as torch.amax (and torch.max without a dim) do it:
        entries tied for the maximum share its gradient equally. (torch.max(x, dim) instead
        gives it all to the one entry whose index it returns.)"""
        out = Tensor(self.data.max(axis=axis, keepdims=keepdims), (self,), "max")
        axes = _axes(axis, self.data.ndim)

        def _backward():
            # TODO exercise-8: Tensor.max backward
            # out = the maximum of self over `axes`. Add into self.grad. Only entries
            # equal to their maximum receive a gradient; when k entries tie for it, each
            # gets 1/k of it (as torch.amax does).
            raise NotImplementedError("exercise-8: Tensor.max backward")

        out._backward = _backward
        return out

    # -- shape --------------------------------------------------------------------------------

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        out = Tensor(self.data.reshape(shape), (self,), "reshape")

        def _backward():
            # TODO exercise-8: Tensor.reshape backward
            # out holds self's entries in the same order, in another shape. Add into
            # self.grad.
            raise NotImplementedError("exercise-8: Tensor.reshape backward")

        out._backward = _backward
        return out

    def transpose(self, axes=None):
        axes = tuple(reversed(range(self.data.ndim))) if axes is None else tuple(axes)
        out = Tensor(self.data.transpose(axes), (self,), "transpose")

        def _backward():
            # TODO exercise-8: Tensor.transpose backward
            # out's axis i is self's axis axes[i]. Add into self.grad: out.grad moved
            # back to self's axes. Which permutation undoes `axes`?
            raise NotImplementedError("exercise-8: Tensor.transpose backward")

        out._backward = _backward
        return out

    @property
    def T(self):
        return self.transpose()

    # -- backpropagation ----------------------------------------------------------------

    def backward(self):
        # TODO exercise-8: Tensor.backward
        # As Value.backward (exercise 3): every node reachable through _prev, each once,
        # in a topological order, without recursion; then seed self.grad and call each
        # node's _backward from self back to the inputs. Seed with what, of what shape?
        raise NotImplementedError("exercise-8: Tensor.backward")

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
            # TODO exercise-9: Tensor.__matmul__ backward
            # out = A @ B, matrices in the last two axes, the axes before them (batches)
            # broadcast; G is out.grad of A @ B's shape. Add into self.grad and
            # other.grad: which product of G with B (with A) has A's shape (B's)? Then
            # sum over broadcast batches, back to A's (B's) shape, and reshape to the
            # input's own shape: a vector input was made a row (1, k) or a column (k, 1).
            raise NotImplementedError("exercise-9: Tensor.__matmul__ backward")

        out._backward = _backward
        return out

    # -- softmax and cross-entropy --------------------------------------------------------

    def log_softmax(self, axis=-1):
        # log softmax(x)_i = x_i - log sum_j e**x_j; the max m subtracted first leaves it equal
        # (x_i - m - log sum_j e**(x_j - m)) and makes every exponent <= 0: no overflow.
        z = self.data - self.data.max(axis=axis, keepdims=True)
        out = Tensor(z - np.log(np.exp(z).sum(axis=axis, keepdims=True)), (self,), "log_softmax")

        def _backward():
            # TODO exercise-10: Tensor.log_softmax backward
            # out_i = x_i - log sum_j e**x_j along `axis`. Add into self.grad. Each x_j
            # moves every out_i of its row: through x_i itself, and through the log-sum.
            raise NotImplementedError("exercise-10: Tensor.log_softmax backward")

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
        # TODO exercise-10: cross_entropy backward
        # out = (1/N) sum_n -log softmax(logits_n)[y_n]. Add into logits.grad; out.grad
        # is a number (0-d). The softmax of each row is `probs` already; labels are
        # `labels`, the row indices `rows`. backward() may run twice: may you change
        # probs in place?
        raise NotImplementedError("exercise-10: cross_entropy backward")

    out._backward = _backward
    return out
