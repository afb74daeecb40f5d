"""What each input of a tensor op is, as a failure names it: which operand, its shape, and
along which axes the op broadcasts or reduces it ("the right operand, other, shape (3,),
broadcast along axis 0 to the result's (4, 3)"); and the arguments that decide the op's
gradient (axis, keepdims, stride, ...)."""

from __future__ import annotations

from grader.checks.tensors import (
    BINARY,
    REDUCTIONS,
    TensorExpr,
    axes_text,
    broadcast_axes,
    operands,
    reduced_axes,
    shape_text,
)


def op_params(node) -> str:
    """The arguments of an op that decide its gradient, as the failure shows them."""
    op = node[0]
    if op in REDUCTIONS:
        axis = node[2] if node[2] is None or isinstance(node[2], int) else tuple(node[2])
        return f" (axis={axis}, keepdims={bool(node[3])})"
    if op == "transpose":
        return f" (axes={tuple(node[2])})"
    if op == "reshape":
        return f" (to shape {tuple(node[2])})"
    if op == "log_softmax":
        return f" (axis={node[2]})"
    if op == "conv2d":
        return f" (stride={node[4]}, padding={node[5]})"
    if op == "max_pool2d":
        return f" (size={node[2]}, stride={node[3]}, padding={node[4]})"
    if op in ("pow", "mulc", "addc", "radd", "rsub", "rmul", "rdiv"):
        return f" (constant {node[2]})"
    return ""


NAMED = {
    "linear": ["the input x", "the weights W", "the bias b"],
    "conv2d": ["the input x", "the kernel w", "the bias b"],
    "cross_entropy": ["the logits, a row per example, the classes along axis 1"],
}


def role(expr: TensorExpr, c: int, j: int, values: list) -> str:
    """Input j of node c: its name, then in parentheses which operand it is, its shape, and
    along which axes the op repeats or reduces it."""
    node, op = expr.nodes[c], expr.nodes[c][0]
    ins = operands(node)
    shape, out = values[j].shape, values[c].shape
    if op in BINARY or op == "matmul":
        which = "the left operand, self" if ins[0] == j else "the right operand, other"
        if ins.count(j) == 2:
            which = "both operands"
    elif op in NAMED:
        which = NAMED[op][ins.index(j)]
    else:
        which = "its input"
    text = f"{which}, shape {shape_text(shape)}"
    if op in BINARY or op in ("mulc", "addc", "radd", "rsub", "rmul", "rdiv"):
        axes = broadcast_axes(shape, out)
        text += (
            f", broadcast along {axes_text(axes)} to the result's {shape_text(out)}"
            if axes
            else f", broadcast along no axis: the result's shape is {shape_text(out)} too"
        )
    elif op == "matmul" and len(shape) == 1:
        side = "a row (1, k) on the left" if ins[0] == j else "a column (k, 1) on the right"
        text += f", a vector, taken as {side}; the result's shape is {shape_text(out)}"
    elif op == "matmul":
        batch = broadcast_axes(shape[:-2], out[:-2])
        text += f"; the result's shape is {shape_text(out)}, matrices in the last two axes"
        text += f", the batch broadcast along {axes_text(batch)}" if batch else ""
    elif op in REDUCTIONS:
        dims = list(range(len(shape))) if node[2] is None else reduced_axes(node[2], len(shape))
        text += f", reduced along {axes_text(dims)}" if dims else ", a single number"
        text += f" to the result's {shape_text(out)}"
    elif op == "transpose":
        text += f", its axes permuted by axes={tuple(node[2])} to {shape_text(out)}"
    elif op == "linear" and ins.index(j) == 2:
        text += f", added to every row: broadcast along axis 0 to the result's {shape_text(out)}"
    elif op == "linear":
        text += (
            f"; the result's shape is {shape_text(out)}: rows along axis 0, outputs along axis 1"
        )
    elif op in ("conv2d", "max_pool2d"):
        text += (
            f"; the result's shape is {shape_text(out)}: channels along axis 1, each image "
            "along axes 2 and 3"
        )
    elif op == "cross_entropy":
        text += "; the loss, their mean, is a number"
    elif op in ("reshape", "log_softmax"):
        text += f"; the result's shape is {shape_text(out)}"
    return f"{expr.text(j)} ({text})"
