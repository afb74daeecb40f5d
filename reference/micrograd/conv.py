"""Convolution and max-pooling on Tensor, by im2col; a small conv net for the digits.

Images are NCHW (batch, channels, height, width) and kernels OIHW (out channels, in channels,
height, width), as in torch. With padding p and stride s, an input of height H gives an
output of height Ho = (H + 2p - kh) // s + 1 (and likewise for widths).

im2col turns a convolution into one matrix product: each output position's receptive field,
C * kh * kw numbers, becomes a row of `cols` (N, Ho, Wo, C*kh*kw); with the kernel as a matrix
Wm (O, C*kh*kw), the output is cols @ Wm^T. Its backward is exercise 9's matmul rule, and
col2im, the adjoint of im2col: where im2col copies each input entry into every row that sees
it, col2im sums those rows' gradients back into it (as unbroadcast sums a broadcast's copies).
Max-pooling reads the same windows, one kernel offset at a time, and keeps the maximum.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor
from .tensor_nn import Linear, Module


def _out_size(n: int, k: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - k) // stride + 1


def _pad(x: np.ndarray, p: int, fill: float = 0.0) -> np.ndarray:
    """x (N, C, H, W) with p rows and columns of `fill` added on every side (np.pad, faster)."""
    if not p:
        return x
    N, C, H, W = x.shape
    xp = np.full((N, C, H + 2 * p, W + 2 * p), fill)
    xp[:, :, p : p + H, p : p + W] = x
    return xp


def im2col(
    x: np.ndarray, kh: int, kw: int, stride: int = 1, padding: int = 0, fill: float = 0.0
) -> np.ndarray:
    """(N, C, H, W) -> (N, Ho, Wo, C*kh*kw): row (n, i, j) holds the window of x, padded with
    `fill`, that output position (i, j) sees, ordered channel, then kernel row, then column."""
    N, C, H, W = x.shape
    Ho, Wo = _out_size(H, kh, stride, padding), _out_size(W, kw, stride, padding)
    xp = _pad(x, padding, fill)
    # BEGIN exercise-13: im2col
    # ask: Make `cols`, an array (N, Ho, Wo, C, kh, kw) that the line after this reshapes,
    # ask: with cols[n, i, j, c, a, b] = xp[n, c, s*i + a, s*j + b], s the stride. Loop over
    # ask: the kernel offsets (a, b) only, not over pixels: for each, which strided slice of
    # ask: xp gives every (n, c, i, j) at once?
    # derivative: For offset (a, b) the rows s*i + a, i < Ho, are the slice a : a + s*Ho : s
    # derivative: (columns likewise); transpose (N, C, Ho, Wo) to (N, Ho, Wo, C).
    cols = np.empty((N, Ho, Wo, C, kh, kw))
    for a in range(kh):
        for b in range(kw):
            window = xp[:, :, a : a + stride * Ho : stride, b : b + stride * Wo : stride]
            cols[:, :, :, :, a, b] = window.transpose(0, 2, 3, 1)
    # END exercise-13
    return cols.reshape(N, Ho, Wo, C * kh * kw)


def col2im(
    cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, stride: int = 1, padding: int = 0
) -> np.ndarray:
    """The adjoint of im2col: (N, Ho, Wo, C*kh*kw) -> `shape` (N, C, H, W), each entry of x
    the sum of the entries of cols that im2col copied it to (padding dropped)."""
    N, C, H, W = shape
    Ho, Wo = cols.shape[1:3]
    cols = cols.reshape(N, Ho, Wo, C, kh, kw)
    p = padding
    # BEGIN exercise-13: col2im
    # ask: Undo im2col's copies by summing: for each kernel offset (a, b), add cols[..., a, b]
    # ask: back into the strided slice of a padded zero array that im2col read it from; then
    # ask: return it with the padding cut off. Why must it be +=, not =?
    # derivative: With stride < kernel, windows overlap: one input entry is in several rows,
    # derivative: and its gradient is the sum over all of them.
    xp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for a in range(kh):
        for b in range(kw):
            window = xp[:, :, a : a + stride * Ho : stride, b : b + stride * Wo : stride]
            window += cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return xp[:, :, p : p + H, p : p + W]
    # END exercise-13


def conv2d(
    x: Tensor | np.ndarray, w: Tensor, b: Tensor | None = None, stride: int = 1, padding: int = 0
) -> Tensor:
    """torch.nn.functional.conv2d's cross-correlation: x (N, C, H, W), w (O, C, kh, kw), b (O,).

    out[n, o, i, j] = b[o] + sum_{c,a,b} w[o, c, a, b] * xpad[n, c, s*i + a, s*j + b]
    """
    x_data = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
    n_out, C, kh, kw = w.data.shape
    cols = im2col(x_data, kh, kw, stride, padding)  # (N, Ho, Wo, C*kh*kw)
    Wm = w.data.reshape(n_out, C * kh * kw)
    y = cols @ Wm.T  # (N, Ho, Wo, O)
    if b is not None:
        y += b.data
    parents = tuple(t for t in (x, w, b) if isinstance(t, Tensor))
    out = Tensor(y.transpose(0, 3, 1, 2), parents, "conv2d")

    def _backward():
        g = out.grad.transpose(0, 2, 3, 1).reshape(-1, n_out)  # (N*Ho*Wo, O), like y's rows
        # BEGIN exercise-13: conv2d backward
        # ask: y = cols @ Wm^T (+ b), with cols (N, Ho, Wo, C*kh*kw), Wm (O, C*kh*kw), and g
        # ask: (N*Ho*Wo, O) in y's row order. Add into w.grad (w's shape), into b.grad when
        # ask: there is a b, and into x.grad when x is a Tensor: the gradient of cols first,
        # ask: then back to x's shape.
        # derivative: Exercise 9: dWm = g^T @ cols, d(cols) = g @ Wm; db = g summed over rows;
        # derivative: dx = col2im(d(cols)).
        w.grad += (g.T @ cols.reshape(g.shape[0], -1)).reshape(w.data.shape)
        if b is not None:
            b.grad += g.sum(axis=0)
        if isinstance(x, Tensor):
            dcols = (g @ Wm).reshape(cols.shape)
            x.grad += col2im(dcols, x_data.shape, kh, kw, stride, padding)
        # END exercise-13

    out._backward = _backward
    return out


def max_pool2d(x: Tensor, size: int = 2, stride: int | None = None, padding: int = 0) -> Tensor:
    """torch.nn.functional.max_pool2d: the maximum of each size x size window, channel by
    channel (padding with -inf). Ties: the whole gradient goes to the first maximum of the
    window, row by row, as torch's CPU kernel does."""
    stride = size if stride is None else stride
    N, C, H, W = x.data.shape
    Ho, Wo = _out_size(H, size, stride, padding), _out_size(W, size, stride, padding)
    p = padding
    xp = _pad(x.data, p, -np.inf)
    # as im2col, one kernel offset (a, b) at a time: window[n, c, i, j] = xp[n, c, s*i + a,
    # s*j + b]; keep the largest so far and which offset, a * size + b, it came from (a strict
    # > keeps the first of equal maxima)
    best = np.full((N, C, Ho, Wo), -np.inf)
    first_max = np.zeros((N, C, Ho, Wo), dtype=np.intp)
    for a in range(size):
        for b in range(size):
            window = xp[:, :, a : a + stride * Ho : stride, b : b + stride * Wo : stride]
            larger = window > best
            best = np.where(larger, window, best)
            first_max[larger] = a * size + b
    out = Tensor(best, (x,), "max_pool2d")

    def _backward():
        # BEGIN exercise-13: max_pool2d backward
        # ask: out[n, c, i, j] is one entry of its window, the one at offset first_max[n, c,
        # ask: i, j] = a * size + b: the window's other entries do not change it. Add into
        # ask: x.grad, through a padded zero array as col2im does (windows may overlap).
        # derivative: d(max)/dx = 1 at the chosen entry, 0 elsewhere: for each offset (a, b),
        # derivative: out.grad where first_max == a * size + b, added into that strided slice.
        dxp = np.zeros(xp.shape)
        for a in range(size):
            for b in range(size):
                window = dxp[:, :, a : a + stride * Ho : stride, b : b + stride * Wo : stride]
                window += (first_max == a * size + b) * out.grad
        x.grad += dxp[:, :, p : p + H, p : p + W]
        # END exercise-13

    out._backward = _backward
    return out


class Conv2d(Module):
    """A convolution layer: w (O, C, k, k) and b (O,) uniform in +-1/sqrt(C*k*k), from rng."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int,
        rng: np.random.Generator,
        stride: int = 1,
        padding: int = 0,
    ):
        bound = 1.0 / np.sqrt(cin * k * k)
        self.w = Tensor(rng.uniform(-bound, bound, size=(cout, cin, k, k)))
        self.b = Tensor(rng.uniform(-bound, bound, size=cout))
        self.stride, self.padding = stride, padding

    def __call__(self, x: Tensor | np.ndarray) -> Tensor:
        return conv2d(x, self.w, self.b, self.stride, self.padding)

    def parameters(self) -> list[Tensor]:
        return [self.w, self.b]


class ConvNet(Module):
    """For the 8x8 digits, rows of 64 pixels: conv 3x3 (1 -> `channels`, padding 1), ReLU,
    max-pool 2 (to 4x4), then Linear(channels * 16, 10)."""

    def __init__(self, rng: np.random.Generator, channels: int = 16):
        self.conv = Conv2d(1, channels, 3, rng, padding=1)
        self.fc = Linear(channels * 16, 10, rng)

    def __call__(self, x: np.ndarray) -> Tensor:
        x = np.asarray(x, dtype=np.float64).reshape(-1, 1, 8, 8)
        h = max_pool2d(self.conv(x).relu(), 2)
        return self.fc(h.reshape(len(x), -1))

    def parameters(self) -> list[Tensor]:
        return self.conv.parameters() + self.fc.parameters()
