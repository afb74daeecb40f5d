"""The worker's requests on the student's Tensor engine (exercises 7-10 and 13's ops).

A request carries shapes, input arrays and the upstream gradient; the reply carries the
student's outputs and gradients, as arrays {"shape": [...], "data": [flat numbers]}, and a
few facts only the student's process can see (which arrays share memory, which changed). It
never carries what the answer should be: the grader computes that with PyTorch.

Standard library at import time, like the rest of the worker package: numpy is imported
inside the handlers (the student's code has it; the grader imports this module too).
"""

from . import student
from .graph import listing
from .ops import BINARY, UNARY, WITH_CONSTANT
from .student import StudentError, _json_number, import_student


def _np():
    import numpy

    return numpy


# -- arrays on the wire ----------------------------------------------------------------------


def to_array(spec):
    """An array sent by the grader: {"shape": [...], "data": [flat numbers]}, or whole counts
    0..255 as bytes in base64 with the scale to divide them by: {"shape", "bytes", "scale"}."""
    np = _np()
    if "bytes" in spec:
        import base64

        counts = np.frombuffer(base64.b64decode(spec["bytes"]), dtype=np.uint8)
        return counts.astype(np.float64).reshape(spec["shape"]) / spec["scale"]
    return np.array(spec["data"], dtype=np.float64).reshape(spec["shape"])


def from_array(x):
    """What the student's code gave, as the grader reads it: an array's shape and numbers, a
    number as shape [], anything else by its type's name only."""
    np = _np()
    if isinstance(x, bool) or not isinstance(x, (np.ndarray, np.generic, int, float)):
        return {"type": type(x).__name__}
    try:
        a = np.array(x, dtype=np.float64)  # a base-class copy: no subclass's methods run later
    except (TypeError, ValueError):
        return {"type": type(x).__name__}
    return {
        "shape": [int(n) for n in a.shape],
        "data": [_json_number(v) for v in a.ravel().tolist()],
    }


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# -- expressions of tensors -------------------------------------------------------------------
#
# Nodes as in ops.py (["x", k], [op, i], [op, i, j], [op, i, c]: those ops work on Tensors as
# they are), and the tensor ops below. conv2d and max_pool2d come from micrograd/conv.py,
# linear from micrograd/tensor_nn.py, imported only when an expression uses them.


def _conv(name):
    return getattr(import_student("micrograd.conv"), name)


def _linear(x, W, b):
    return import_student("micrograd.tensor_nn").linear(x, W, b)


TENSOR_OPS = {
    "matmul": lambda b, n: b[n[1]] @ b[n[2]],
    "sum": lambda b, n: b[n[1]].sum(axis=_axis(n[2]), keepdims=n[3]),
    "mean": lambda b, n: b[n[1]].mean(axis=_axis(n[2]), keepdims=n[3]),
    "max": lambda b, n: b[n[1]].max(axis=_axis(n[2]), keepdims=n[3]),
    "reshape": lambda b, n: b[n[1]].reshape(tuple(n[2])),
    "transpose": lambda b, n: b[n[1]].transpose(tuple(n[2])),
    "log_softmax": lambda b, n: b[n[1]].log_softmax(axis=n[2]),
    # ["conv2d", x, w, b or None, stride, padding]
    "conv2d": lambda b, n: _conv("conv2d")(
        b[n[1]], b[n[2]], None if n[3] is None else b[n[3]], stride=n[4], padding=n[5]
    ),
    # ["max_pool2d", x, size, stride, padding]
    "max_pool2d": lambda b, n: _conv("max_pool2d")(b[n[1]], n[2], stride=n[3], padding=n[4]),
    "linear": lambda b, n: _linear(b[n[1]], b[n[2]], b[n[3]]),
    # ["cross_entropy", logits, labels]
    "cross_entropy": lambda b, n: _cross_entropy(b[n[1]], n[2]),
}


def _cross_entropy(logits, labels):
    np = _np()
    fn = import_student("micrograd.tensor").cross_entropy
    return fn(logits, np.array(labels, dtype=np.intp))


# ["data", k]: input k as a plain numpy array, not a Tensor (linear's and conv2d's x may be)
LEAVES = ("x", "data")


def build_tensors(Tensor, nodes, inputs):
    """Every node of the expression, in order, from the student's Tensor."""
    built = []
    for node in nodes:
        op = node[0]
        if op == "x":
            built.append(Tensor(inputs[node[1]]))
        elif op == "data":
            built.append(inputs[node[1]].copy())
        elif op in UNARY:
            built.append(UNARY[op](built[node[1]]))
        elif op in BINARY:
            built.append(BINARY[op](built[node[1]], built[node[2]]))
        elif op in WITH_CONSTANT:
            built.append(WITH_CONSTANT[op](built[node[1]], node[2]))
        elif op in TENSOR_OPS:
            built.append(TENSOR_OPS[op](built, node))
        else:
            raise ValueError(f"unknown op {op}")
    return built


def tensor_class():
    return import_student("micrograd.tensor").Tensor


def walk(root, upstream, blame=False):
    """The grader's own backward pass: root.grad = upstream, then every node's `_backward` in
    reverse topological order. Exercises 8-10 grade rules with it, before or without the
    student's backward(). With `blame`, an exception in a rule (not NotImplementedError)
    comes out as RuleFailed, which says whose rule it was."""
    order = student.graders_order(root)
    root.grad = upstream
    for v in order:
        if not blame:
            v._backward()
            continue
        try:
            v._backward()
        except NotImplementedError:
            raise
        except Exception as exc:
            raise RuleFailed(v, exc) from exc


def _blaming(v, rule):
    def _backward():
        try:
            rule()
        except NotImplementedError:
            raise
        except RuleFailed:
            raise
        except Exception as exc:
            raise RuleFailed(v, exc) from exc

    return _backward


class RuleFailed(Exception):
    def __init__(self, node, exc):
        super().__init__(str(exc))
        self.node, self.exc = node, exc


def _raised(failed, built):
    err = StudentError(failed.exc)
    node = next((i for i, v in enumerate(built) if v is failed.node), -1)
    raised = {"kind": err.kind, "message": err.message, "where": err.where, "node": node}
    if node < 0:  # a node made inside a composition (a - b's -b): say what it was
        raised["op"], raised["shapes"] = _made_inside(failed.node)
    return raised


def _made_inside(v):
    """The op of a node the grader did not build, its inputs' shapes and its result's."""
    np = _np()
    try:
        shapes = [list(np.shape(p.data)) for p in tuple(v._prev)[:3]] + [list(np.shape(v.data))]
        return str(v._op)[:40], shapes
    except Exception:  # the student's node may be anything
        return "", []


def _is_tensor(v, Tensor):
    return isinstance(v, Tensor)


def sharing(built, Tensor):
    """[kind, i, j]: node i's grad shares memory with node j's grad ("grad") or with node j's
    data ("data", i == j included). Views of data by data (reshape, transpose) are fine.

    The arrays' byte ranges are swept in order, so that only overlapping ranges are compared
    (a deep graph has thousands of nodes; every pair would be millions of comparisons)."""
    np = _np()
    byte_bounds = getattr(np.lib, "array_utils", np).byte_bounds  # numpy 2 moved it
    spans = []
    for i, v in enumerate(built):
        if not _is_tensor(v, Tensor):
            continue
        for kind, a in (("grad", v.grad), ("data", v.data)):
            if isinstance(a, np.ndarray) and a.size:
                low, high = byte_bounds(a)
                spans.append((low, high, kind, i, a))
    spans.sort(key=lambda s: s[0])
    found, active = set(), []
    for low, high, kind, i, a in spans:
        active = [s for s in active if s[1] > low]
        for _, _, kind2, j, b in active:
            if "grad" not in (kind, kind2) or (i == j and kind == kind2):
                continue
            if not np.shares_memory(a, b):
                continue
            if kind == kind2:  # two grads
                found.add(("grad", min(i, j), max(i, j)))
            else:
                g, d = (i, j) if kind == "grad" else (j, i)
                found.add(("data", g, d))
        active.append((low, high, kind, i, a))
    return [list(f) for f in sorted(found)]


def _snapshot(built, Tensor):
    np = _np()
    return [np.array(v.data, copy=True) if _is_tensor(v, Tensor) else None for v in built]


def do_tensor_graph(req):
    """Build the expression with the student's Tensor, backpropagate `upstream` from its
    output (mode "rules": the grader's walk; "backward": the student's backward(), seeded
    with ones), and send back every node's data and grad, what changed, what is shared."""
    np = _np()
    Tensor = tensor_class()
    inputs = [to_array(a) for a in req["inputs"]]
    originals = [a.copy() for a in inputs]
    built = build_tensors(Tensor, req["nodes"], inputs)
    out = built[-1]
    data = [from_array(v.data) if _is_tensor(v, Tensor) else None for v in built]
    if req.get("forward_only"):
        return {"data": data}
    before = _snapshot(built, Tensor)
    if req.get("mode") == "backward":
        for v in listing(out)[0]:  # each rule says whose it is if it raises
            v._backward = _blaming(v, v._backward)
        try:
            out.backward()
        except RuleFailed as failed:
            raised = _raised(failed, built)
            raised["seed"] = from_array(out.grad)  # what backward() seeded the output with
            return {"data": data, "raised": raised}
    else:
        try:
            walk(out, to_array(req["upstream"]), blame=True)
        except RuleFailed as failed:
            return {"data": data, "raised": _raised(failed, built)}
    reply = {"data": data, "grads": [_grad(v, Tensor) for v in built]}
    reply["changed"] = [
        i for i, (v, b) in enumerate(zip(built, before)) if b is not None and not _same(v.data, b)
    ]
    reply["inputs_changed"] = [
        k for k, (a, o) in enumerate(zip(inputs, originals)) if not _same(a, o)
    ]
    reply["shared"] = sharing(built, Tensor)
    if req.get("twice"):
        # every grad back to zeros (the nodes a composition made too: a - b's -b), then the
        # same pass again: it must give the same grads
        for v in listing(out)[0]:
            v.grad = np.zeros(np.shape(v.data))
        if req.get("mode") == "backward":
            out.backward()
        else:
            walk(out, to_array(req["upstream"]))
        reply["grads_again"] = [_grad(v, Tensor) for v in built]
    return reply


def _grad(v, Tensor):
    return from_array(v.grad) if _is_tensor(v, Tensor) else None


def _same(a, b):
    np = _np()
    try:
        return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b, equal_nan=True))
    except (TypeError, ValueError):
        return False


def do_tensor_forward(req):
    """The output of the expression at the inputs, and at each perturbed point [k, index,
    delta] (input k's flat entry `index` moved by delta): the student's own forward pass,
    for finite differences."""
    Tensor = tensor_class()
    base = [to_array(a) for a in req["inputs"]]
    outputs = []
    for k, index, delta in req["points"]:
        inputs = [a.copy() for a in base]
        inputs[k].reshape(-1)[index] += delta
        outputs.append(from_array(build_tensors(Tensor, req["nodes"], inputs)[-1].data))
    return {"outputs": outputs}


# -- exercise 7: shapes ---------------------------------------------------------------------


def _shape_result(fn, a, b):
    try:
        got = fn(tuple(a), tuple(b))
    except NotImplementedError:
        raise
    except Exception as exc:  # a ValueError is what the page asks for; others are named
        return {"raised": type(exc).__name__, "message": str(exc)[:200]}
    if isinstance(got, tuple) and all(isinstance(n, int) and not isinstance(n, bool) for n in got):
        return {"shape": [int(n) for n in got]}
    return {"type": type(got).__name__, "text": repr(got)[:80]}


def do_tensor_broadcast_shape(req):
    fn = import_student("micrograd.tensor").broadcast_shape
    return {"results": [_shape_result(fn, a, b) for a, b in req["pairs"]]}


def do_tensor_unbroadcast(req):
    """unbroadcast(grad, shape) for each case; `changed` says whether grad was written into."""
    fn = import_student("micrograd.tensor").unbroadcast
    results = []
    for case in req["cases"]:
        g = to_array(case["grad"])
        kept = g.copy()
        try:
            got = fn(g, tuple(case["shape"]))
        except NotImplementedError:
            raise
        except Exception as exc:  # said of this case, not of the whole request
            err = StudentError(exc)
            results.append({"raised": err.kind, "message": err.message, "where": err.where})
            continue
        results.append({"value": from_array(got), "changed": not _same(g, kept)})
    return {"results": results}


# -- exercise 13: im2col and col2im ----------------------------------------------------------


def do_tensor_im2col(req):
    """im2col of x, or col2im of cols into `shape`: the student's exercise-13 helpers."""
    conv = import_student("micrograd.conv")
    k = req["kernel"]
    if "x" in req:
        got = conv.im2col(to_array(req["x"]), k[0], k[1], req["stride"], req["padding"])
    else:
        shape = tuple(req["shape"])
        got = conv.col2im(to_array(req["cols"]), shape, k[0], k[1], req["stride"], req["padding"])
    return {"value": from_array(got)}
