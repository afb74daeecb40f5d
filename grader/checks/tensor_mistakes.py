"""What a common mistake in a tensor rule would give, replayed from PyTorch's values: a failure
then says which mistake the student's gradient matches ("; that is what <mistake> gives").

Shapes first (a gradient of the result's shape: not summed back over the broadcast axes; the
reduced shape: not spread back; axes permuted by `axes` itself, not its inverse), then values
(the other operand's data, out.grad left out, ties of max, the kernel flipped, ...).
"""

from __future__ import annotations

import numpy as np

from grader.checks.tensors import (
    BINARY,
    REDUCTIONS,
    allclose,
    axes_text,
    broadcast_axes,
    operands,
    reduced_axes,
    rule_alone,
    shape_text,
)


def sum_to(a: np.ndarray, shape) -> np.ndarray:
    """a summed back to `shape` (numpy's broadcasting undone): the right unbroadcast."""
    a = a.sum(axis=tuple(range(a.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1)
    return a.sum(axis=axes, keepdims=True) if axes else a


def symptom(node, c: int, j: int, values: list, g: np.ndarray, got, want: np.ndarray) -> str:
    """'; that is what <mistake> gives' when the student's grad of node j, an input of node c,
    is what a known mistake in c's rule gives (values: PyTorch's; g: c's upstream)."""
    if isinstance(got, str):
        return ""
    if got.shape != values[j].shape:
        return shape_symptom(node, values[j].shape, values[c].shape, got)
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        return (
            "; it holds nan or inf: an exponent overflowed. Subtract each row's maximum "
            "before exp (softmax is unchanged by it), or use what the forward pass kept"
        )
    try:
        candidates = _mistakes(node, j, values, g)
    except (ValueError, ArithmeticError, RuntimeError, IndexError):
        return ""
    for why, value in candidates.items():
        if value is not None and allclose(got, np.asarray(value, dtype=np.float64)):
            if not allclose(value, want):
                return f"; that is what {why} gives"
    return ""


def shape_symptom(node, shape, out, got) -> str:
    """Why a gradient of `got`'s shape, for an input of `shape` and a result of `out`: the
    common mistakes that give that shape."""
    return shape_mistake(node, shape, out, got.shape)[1]


def shape_mistake(node, shape, out, got) -> tuple[str, str]:
    """(in a few words, in full) the common mistake that gives a gradient of shape `got` for an
    input of `shape` and a result of `out`; ("", "") when none does. The few words label the
    failure's picture ("not summed over the broadcast axis 1"), the full text its message."""
    op, got = node[0], tuple(got)
    if got == tuple(shape):
        return "", ""
    if op in BINARY or op == "matmul" or (op == "linear" and len(shape) == 1):  # linear's b
        axes = broadcast_axes(shape, out)
        if got == out and axes:
            return f"not summed over the broadcast {axes_text(axes)}", (
                f": it has the result's shape {shape_text(out)}; sum it back over the broadcast "
                f"{axes_text(axes)} to {shape_text(shape)} (unbroadcast)"
            )
        kept = tuple(n for i, n in enumerate(shape) if not (n == 1 and i in _stretched(shape, out)))
        if got == kept:
            return "its size-1 axes dropped (keepdims=True keeps them)", (
                ": the size-1 axes were dropped; sum with keepdims=True to keep them"
            )
    if op in REDUCTIONS and got == out:
        return "the reduced axes not put back", (
            ": it has the reduced shape; put the reduced axes back (np.expand_dims) so that "
            "out.grad spreads over them"
        )
    if op == "log_softmax":
        return f"summed along axis {node[2]} without keepdims", (
            f": out.grad summed along axis {node[2]} lost that axis, and numpy broadcast the "
            "sum along another; keep it (keepdims=True)"
        )
    if op == "transpose" and got == tuple(shape[a] for a in node[2]):
        return f"moved back with axes={tuple(node[2])}, not its inverse", (
            f": it was moved back with axes={tuple(node[2])} itself; the inverse "
            "permutation, np.argsort(axes), undoes it"
        )
    return "", ""


def _stretched(shape, out) -> list[int]:
    pad = len(out) - len(shape)
    return [i for i, n in enumerate(shape) if n == 1 and out[i + pad] != 1]


def _mistakes(node, j: int, values: list, g: np.ndarray) -> dict:
    op, ins = node[0], operands(node)
    x = values[ins[0]]
    out: dict = {"leaving out out.grad": rule_alone(node, j, values, None)}
    if op == "mul" and ins[0] != ins[1]:
        own = values[j]
        out["using its own value where the other operand's belongs"] = sum_to(
            np.broadcast_to(own, g.shape) * g, own.shape
        )
    if op == "exp":
        out["using the input's value where out.data (e**x) belongs"] = x * g
    if op == "tanh":
        out["using 1 - x**2 with x the input, not out.data"] = (1 - x * x) * g
    if op == "log":
        out["multiplying by x where 1 / x belongs"] = x * g
    if op == "pow":
        out["using n * x**n (the exponent should be n - 1)"] = node[2] * x ** node[2] * g
    if op == "relu" and np.any(x == 0):
        out["passing the gradient where x == 0 (PyTorch gives 0 there)"] = (x >= 0) * g
    if op in ("mean", "max", "sum"):
        dims = tuple(range(x.ndim)) if node[2] is None else tuple(reduced_axes(node[2], x.ndim))
        gk = g if node[3] else np.expand_dims(g, dims)
        if op == "mean":
            out["the sum's gradient, not divided by the count averaged"] = np.broadcast_to(
                gk, x.shape
            )
            out["dividing by the number of every entry, not of those averaged"] = np.broadcast_to(
                gk, x.shape
            ) / max(x.size, 1)
        if op == "max":
            mask = x == x.max(axis=dims, keepdims=True)
            out["giving every tied maximum the whole gradient (they share it: 1/k each)"] = (
                mask * gk
            )
            out["giving only the first tied maximum the gradient (as torch.amax, they share)"] = (
                _first_max(x, dims) * gk
            )
            out["counting the tied maxima over the whole array, not over each reduced slice"] = (
                mask * gk / max(int(mask.sum()), 1)
            )
    if op == "transpose":
        out[f"moving out.grad back with axes={tuple(node[2])}, not its inverse"] = g.transpose(
            node[2]
        )
    if op == "matmul":
        A, B = values[ins[0]], values[ins[1]]
        A2 = A if A.ndim > 1 else A[None, :]
        B2 = B if B.ndim > 1 else B[:, None]
        G2 = g.reshape(
            np.broadcast_shapes(A2.shape[:-2], B2.shape[:-2]) + (A2.shape[-2], B2.shape[-1])
        )
        if j == ins[0] and G2.shape[-1] == B2.shape[-2]:
            out["G @ B without transposing B (dA = G @ B^T)"] = sum_to(G2 @ B2, A2.shape).reshape(
                A.shape
            )
        if j == ins[1] and A2.shape[-1] == G2.shape[-2]:
            out["A @ G without transposing A (dB = A^T @ G)"] = sum_to(A2 @ G2, B2.shape).reshape(
                B.shape
            )
        if j == ins[1] and B.ndim == 1 and len(B) > 1:
            column = sum_to(np.swapaxes(A2, -1, -2) @ G2, B2.shape)  # (k, 1)
            out[
                f"unbroadcast of the column's grad {shape_text(column.shape)} to the vector's "
                f"{shape_text(B.shape)} (it sums the column; reshape it instead)"
            ] = np.broadcast_to(sum_to(column, B.shape), B.shape)
    if op == "log_softmax":
        s = np.exp(_log_softmax(x, node[2]))
        out["leaving out the sum of out.grad along the axis"] = g - s
        out["using out.grad entry by entry where its sum along the axis belongs"] = g - s * g
        try:  # numpy raises unless the shapes happen to line up (square ones)
            lost = g - s * g.sum(axis=node[2])
        except ValueError:
            lost = None
        out[
            "summing out.grad along the axis without keepdims (numpy lines the sum up on "
            "the right, along the wrong axis)"
        ] = lost
    if op == "cross_entropy":
        p = np.exp(_log_softmax(x, 1))
        onehot = np.eye(x.shape[1])[list(node[2])]
        out["softmax - one-hot not divided by N, the number of rows"] = (p - onehot) * g
        out["one-hot - softmax, the sign swapped"] = (onehot - p) / len(x) * g
    if op == "conv2d" and j == ins[0]:
        out["the kernel flipped (w[:, :, ::-1, ::-1]), which im2col's form does not need"] = (
            rule_alone(node, j, _with_flipped(values, ins[1]), g)
        )
    return out


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _first_max(x: np.ndarray, dims: tuple) -> np.ndarray:
    """True at the first maximum (in C order) over the axes `dims`, for each other index."""
    keep = [i for i in range(x.ndim) if i not in dims]
    moved = np.transpose(x, keep + list(dims))
    flat = moved.reshape(moved.shape[: len(keep)] + (-1,))
    mask = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(mask, flat.argmax(axis=-1)[..., None], True, axis=-1)
    return np.transpose(mask.reshape(moved.shape), np.argsort(keep + list(dims)))


def _with_flipped(values: list, w: int) -> list:
    flipped = list(values)
    flipped[w] = np.ascontiguousarray(values[w][:, :, ::-1, ::-1])
    return flipped
