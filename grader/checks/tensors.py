"""Tensor expressions as plain data, their values and gradients in PyTorch (float64), and
arrays to and from the worker: part two's counterpart of expressions.py.

An expression is a list of nodes in topological order, as for Value (expressions.py), with
the tensor ops of grader/sandbox/worker/tensor_requests.py besides:
    ["sum" | "mean" | "max", i, axis, keepdims]   axis None, an int or a list of ints
    ["reshape", i, shape]   ["transpose", i, axes]   ["log_softmax", i, axis]
    ["matmul", i, j]   ["linear", x, W, b]   ["conv2d", x, w, b or None, stride, padding]
    ["max_pool2d", x, size, stride, padding]   ["cross_entropy", logits, labels]
    ["data", k]: input k as a plain array
Inputs are numpy float64 arrays; the last node is the output. The worker builds the same
list with the student's Tensor (build_tensors), this module with torch tensors.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from grader.checks.checking import TORCH_ABS, TORCH_REL, Fail
from grader.checks.later import F, torch
from grader.sandbox import OutOfTime, StudentError, UnreadableReply
from grader.sandbox.worker.ops import BINARY, UNARY, WITH_CONSTANT

REDUCTIONS = ("sum", "mean", "max")
ONE_INPUT = ("reshape", "transpose", "log_softmax", "max_pool2d", "cross_entropy", *REDUCTIONS)

# op -> the student's rule it exercises (what a failure names, in backquotes)
RULE = {
    "add": "+",
    "sub": "+ and * (via a - b = a + -b)",
    "mul": "*",
    "div": "* and ** (via a / b = a * b**-1)",
    "neg": "* (via -a = a * -1)",
    "pow": "**",
    "addc": "+",
    "radd": "+ (via __radd__)",
    "rsub": "+ and * (via __rsub__)",
    "mulc": "*",
    "rmul": "* (via __rmul__)",
    "rdiv": "* and ** (via __rtruediv__)",
    "matmul": "@",
}


def rule_of(node) -> str:
    return RULE.get(node[0], node[0])


def operands(node) -> list[int]:
    """The indices of the nodes that `node` is a function of."""
    op = node[0]
    if op in ("x", "data"):
        return []
    if op in BINARY or op == "matmul":
        return [node[1], node[2]]
    if op == "conv2d":
        return [node[1], node[2]] + ([] if node[3] is None else [node[3]])
    if op == "linear":
        return [node[1], node[2], node[3]]
    return [node[1]]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """PyTorch on one thread for a while (BLAS too): on these tiny tensors a pool of threads only
    costs time, and on a busy machine it fights other processes for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def calling(what: str, rule: str) -> Iterator[None]:
    """An exception from the student's code while the grader calls one function of theirs (not
    a stub's NotImplementedError): a wrong answer that names the call, its inputs, the line."""
    try:
        yield
    except StudentError as exc:
        if exc.not_implemented or isinstance(exc, (OutOfTime, UnreadableReply)):
            raise
        where = f" ({exc.where})" if exc.where else ""
        if exc.where.endswith(" in _backward"):
            # raised by a backward rule while backward() ran, not by the function called: the
            # rule is the one to blame (and to hint at); tensor_nn.py's only rule is linear's
            linear = "tensor_nn.py:" in exc.where
            raise Fail(
                f"{what} raised {exc.kind}: {exc.message}{where}\n    in "
                + ("`linear`'s backward rule" if linear else "a backward rule")
                + ", while backward() ran: the line named is in that rule, not in the code "
                "that called it",
                rule="linear" if linear else "a backward rule",
            ) from None
        raise Fail(f"{what} raised {exc.kind}: {exc.message}{where}", rule=rule) from None


# -- arrays on the wire ------------------------------------------------------------------------


def wire(a, scale: int | None = None) -> dict:
    """An array for the worker; with `scale`, the counts a * scale (whole numbers 0..255: the
    digits' pixels, 0..16 over 16, exactly) are sent as bytes in base64, and the worker
    divides. The digits go three times to every submission: as a list of numbers in JSON they
    were 300 kB to write and read at each end, as bytes 120 kB and next to no time."""
    a = np.asarray(a, dtype=np.float64)
    if scale is None:
        return {"shape": list(a.shape), "data": a.ravel().tolist()}
    counts = np.rint(a * scale)
    assert np.array_equal(counts / scale, a), "only exact multiples of 1/scale"
    assert counts.size == 0 or 0 <= counts.min() <= counts.max() <= 255, "counts of 0..255"
    data = base64.b64encode(counts.astype(np.uint8).tobytes()).decode("ascii")
    return {"shape": list(a.shape), "bytes": data, "scale": scale}


NONFINITE = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}


def unwire(obj) -> np.ndarray | str:
    """An array the worker sent, or a string saying what came instead ("a Tensor")."""
    if not isinstance(obj, dict):
        return "nothing readable"
    if "type" in obj and "shape" not in obj:
        kind = str(obj["type"])[:40]
        return f"a {kind}, not a numpy array"
    shape, data = obj.get("shape"), obj.get("data")
    if not isinstance(shape, list) or not all(type(n) is int and 0 <= n < 10**6 for n in shape):
        return "an array with an unreadable shape"
    if not isinstance(data, list) or len(data) != int(np.prod(shape, dtype=np.int64)):
        return "an array whose numbers do not fill its shape"
    values = []
    for v in data:
        if type(v) in (int, float):
            values.append(float(v))
        elif v in NONFINITE:
            values.append(NONFINITE[v])
        else:
            return "an array with something other than numbers in it"
    return np.array(values, dtype=np.float64).reshape(shape)


def array_of(obj, what: str) -> np.ndarray:
    """unwire, or a Fail that says what came instead."""
    got = unwire(obj)
    if isinstance(got, str):
        raise Fail(f"{what}: expected a numpy array, got {got}")
    return got


def close_mask(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Entry by entry: within PyTorch's tolerance (checking.close's rule)."""
    scale = np.maximum(np.abs(got), np.abs(want))
    with np.errstate(invalid="ignore"):
        return np.abs(got - want) <= np.maximum(TORCH_ABS, TORCH_REL * scale)


def allclose(got, want) -> bool:
    return (
        isinstance(got, np.ndarray)
        and got.shape == want.shape
        and bool(np.all(close_mask(got, want)))
    )


def show(a, indent: int = 0) -> str:
    """A short text of an array (or a number), continuation lines indented."""
    if isinstance(a, str):
        return a
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return f"{a.item():.6g}"
    text = np.array2string(
        a, precision=4, separator=", ", threshold=64, edgeitems=3, max_line_width=100 - indent
    )
    return text.replace("\n", "\n" + " " * indent)


def shape_text(shape) -> str:
    shape = tuple(int(n) for n in shape)
    return "()" if not shape else str(shape)


def axes_text(axes) -> str:
    axes = list(axes)
    if len(axes) == 1:
        return f"axis {axes[0]}"
    return "axes " + ", ".join(str(a) for a in axes[:-1]) + f" and {axes[-1]}"


def reduced_axes(axis, ndim: int) -> list[int]:
    """A reduction's `axis` (an int or a list, maybe negative; not None) as sorted axes."""
    axis = [axis] if isinstance(axis, int) else list(axis)
    return sorted(a % ndim for a in axis)


def broadcast_axes(shape, result) -> list[int]:
    """The axes of `result` along which an input of `shape` was repeated: those it lacks (on
    the left) and those where it has size 1 and the result has more."""
    pad = len(result) - len(shape)
    return [i for i, n in enumerate(result) if i < pad or (shape[i - pad] == 1 and n != 1)]


TEXT_DEPTH = 6
CONSTANT_TEXT = {
    "pow": "{a}**{c}",
    "addc": "{a} + {c}",
    "mulc": "{a} * {c}",
    "radd": "{c} + {a}",
    "rsub": "{c} - {a}",
    "rmul": "{c} * {a}",
    "rdiv": "{c} / {a}",
}

# -- expressions ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TensorExpr:
    nodes: tuple[tuple, ...]
    inputs: tuple[np.ndarray, ...]

    @staticmethod
    def of(nodes: list, inputs: list) -> TensorExpr:
        arrays = tuple(np.array(a, dtype=np.float64) for a in inputs)
        return TensorExpr(tuple(_frozen(n) for n in nodes), arrays)

    def payload(self) -> dict:
        return {"nodes": [_plain(n) for n in self.nodes], "inputs": [wire(a) for a in self.inputs]}

    def consumers(self, i: int) -> list[int]:
        return [j for j, n in enumerate(self.nodes) if i in operands(n)]

    def text(self, i: int | None = None, depth: int = 0) -> str:
        """Node i (default: the output) as code, inputs named x0, x1, ...; past DEPTH levels
        an inner node is named by its index, t12 (a deep graph's text would not end)."""
        i = len(self.nodes) - 1 if i is None else i
        node, op = self.nodes[i], self.nodes[i][0]
        if op in ("x", "data"):
            return f"x{node[1]}"
        if depth > TEXT_DEPTH:
            return f"t{i}"

        def inner(j: int) -> str:
            t, kind = self.text(j, depth + 1), self.nodes[j][0]
            simple = kind in ("x", "data") or kind in REDUCTIONS or kind in ONE_INPUT
            return t if simple or kind in ("exp", "log", "tanh", "relu") else f"({t})"

        a = inner(node[1])
        if op == "neg":
            return f"-{a}"
        if op in UNARY:
            return f"{a}.{op}()"
        if op in BINARY or op == "matmul":
            sign = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@"}[op]
            return f"{a} {sign} {inner(node[2])}"
        other = lambda k: self.text(k, depth + 1)  # noqa: E731
        if op in WITH_CONSTANT:
            return CONSTANT_TEXT[op].format(a=a, c=node[2])
        if op in REDUCTIONS:
            args = [] if node[2] is None else [f"axis={_tuple(node[2])}"]
            args += ["keepdims=True"] if node[3] else []
            return f"{a}.{op}({', '.join(args)})"
        if op == "reshape":
            return f"{a}.reshape({tuple(node[2])})"
        if op == "transpose":
            return f"{a}.transpose({tuple(node[2])})"
        if op == "log_softmax":
            return f"{a}.log_softmax(axis={node[2]})"
        if op == "linear":
            return f"linear({a}, {other(node[2])}, {other(node[3])})"
        if op == "conv2d":
            b = "None" if node[3] is None else other(node[3])
            return f"conv2d({a}, {other(node[2])}, {b}, stride={node[4]}, padding={node[5]})"
        if op == "max_pool2d":
            return f"max_pool2d({a}, {node[2]}, stride={node[3]}, padding={node[4]})"
        if op == "cross_entropy":
            return f"cross_entropy({a}, labels={list(node[2])})"
        raise ValueError(f"unknown op {op}")

    def reachable(self) -> set[int]:
        """The nodes the output depends on (itself included)."""
        seen, todo = set(), [len(self.nodes) - 1]
        while todo:
            i = todo.pop()
            if i not in seen:
                seen.add(i)
                todo += operands(self.nodes[i])
        return seen

    def named(self, limit: int = 6) -> str:
        """The inner nodes that text() names by index (t12), each written out, as a line to
        put after the expression: '' when it names none."""
        todo, defs = [int(k) for k in re.findall(r"\bt(\d+)\b", self.text())], {}
        while todo and len(defs) < limit:
            k = todo.pop(0)
            if k not in defs and 0 <= k < len(self.nodes):
                defs[k] = self.text(k)
                todo += [int(m) for m in re.findall(r"\bt(\d+)\b", defs[k])]
        more = "; ..." if todo else ""
        shown = "; ".join(f"t{k} = {defs[k]}" for k in sorted(defs))
        return f"\n    where {shown}{more}" if defs else ""

    def inputs_text(self) -> str:
        used = self.reachable()
        leaves = [n for i, n in enumerate(self.nodes) if n[0] in ("x", "data") and i in used]
        return ", ".join(
            f"x{n[1]} of shape {shape_text(self.inputs[n[1]].shape)}"
            + (" (a plain array)" if n[0] == "data" else "")
            for n in leaves
        )


def _frozen(node) -> tuple:
    return tuple(tuple(v) if isinstance(v, list) else v for v in node)


def _plain(node) -> list:
    return [list(v) if isinstance(v, tuple) else v for v in node]


def _tuple(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


# -- PyTorch ------------------------------------------------------------------------------------


def _dims(axis, ndim: int):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in axis) if isinstance(axis, (list, tuple)) else axis % ndim


def _reduce(op: str, t: torch.Tensor, axis, keepdims: bool) -> torch.Tensor:
    if t.ndim == 0:  # nothing to reduce; torch reads dim=() as "every axis", fine here
        return {"sum": t.sum, "mean": t.mean, "max": lambda: torch.amax(t)}[op]()
    dims = _dims(axis, t.ndim)
    if op == "max":
        return torch.amax(t, dim=dims, keepdim=keepdims)  # ties share, as Tensor.max
    return getattr(t, op)(dim=dims, keepdim=keepdims)


def torch_node(built: list, node) -> torch.Tensor:
    op = node[0]
    if op in UNARY:
        return UNARY[op](built[node[1]])
    if op in BINARY:
        return BINARY[op](built[node[1]], built[node[2]])
    if op in WITH_CONSTANT:
        return WITH_CONSTANT[op](built[node[1]], node[2])
    a = built[node[1]]
    if op == "matmul":
        return a @ built[node[2]]
    if op in REDUCTIONS:
        return _reduce(op, a, node[2], node[3])
    if op == "reshape":
        return a.reshape(tuple(node[2]))
    if op == "transpose":
        return a.permute(tuple(node[2]))
    if op == "log_softmax":
        return torch.log_softmax(a, dim=node[2])
    if op == "linear":
        return a @ built[node[2]] + built[node[3]]
    if op == "conv2d":
        b = None if node[3] is None else built[node[3]]
        return F.conv2d(a, built[node[2]], b, stride=node[4], padding=node[5])
    if op == "max_pool2d":
        return F.max_pool2d(a, node[2], stride=node[3], padding=node[4])
    if op == "cross_entropy":
        return F.cross_entropy(a, torch.tensor(list(node[2]), dtype=torch.long))
    raise ValueError(f"unknown op {op}")


def torch_forward(expr: TensorExpr) -> list[torch.Tensor]:
    """Every node as a float64 torch tensor; inputs ("x") require grad, plain data does not."""
    built: list[torch.Tensor] = []
    for node in expr.nodes:
        if node[0] in ("x", "data"):
            t = torch.tensor(expr.inputs[node[1]], dtype=torch.float64)
            built.append(t.requires_grad_(node[0] == "x"))
        else:
            built.append(torch_node(built, node))
    return built


def torch_values(expr: TensorExpr, upstream: np.ndarray | None):
    """Every node's value and d(sum(upstream * out))/d(node), float64 (upstream None: ones);
    None for plain data."""
    built = torch_forward(expr)
    for t in built:
        if t.requires_grad and not t.is_leaf:
            t.retain_grad()
    out = built[-1]
    if out.requires_grad:
        g = torch.ones_like(out) if upstream is None else torch.from_numpy(np.asarray(upstream))
        (out * g).sum().backward()
    data = [t.detach().numpy().copy() for t in built]
    grads = [
        None
        if node[0] == "data"
        else (t.grad.numpy().copy() if t.grad is not None else np.zeros(t.shape))
        for node, t in zip(expr.nodes, built)
    ]
    return data, grads


def rule_alone(node, j: int, values: list, upstream: np.ndarray | None) -> np.ndarray | None:
    """PyTorch's gradient of node's input j (a node index) through node alone, at the inputs'
    `values`, for `upstream` (None: ones, what a rule that drops out.grad computes)."""
    ins = operands(node)
    leaves = {k: torch.tensor(values[k], dtype=torch.float64, requires_grad=True) for k in ins}
    out = torch_node(leaves, node)  # a dict by node index stands in for the list
    g = np.ones(tuple(out.shape)) if upstream is None else upstream
    if g.shape != tuple(out.shape):
        return None
    (out * torch.from_numpy(np.asarray(g, dtype=np.float64))).sum().backward()
    return leaves[j].grad.numpy().copy() if leaves[j].grad is not None else None


def cut(expr: TensorExpr, j: int, value: np.ndarray) -> tuple[TensorExpr, int]:
    """expr with node j made a new input (holding `value`): the expression downstream of j,
    for finite differences by node j. Returns it and the new input's number."""
    k = len(expr.inputs)
    nodes = list(expr.nodes)
    nodes[j] = ("x", k)
    return TensorExpr(tuple(nodes), (*expr.inputs, np.array(value, dtype=np.float64))), k
