"""The graph of a failing tensor expression, as plain data for the failure's details, and back
as nodes for micrograd_reference.viz.draw_dot (the runner draws it, in the grader's process).

Each node: its op, its operands, its shape (PyTorch's, which the student's forward pass matched
up to there), and the shape of the student's grad where that differs; then which node is
wrong, a note that says how ("grad of shape (3, 1) expected, got (3, 4): not summed over the
broadcast axis 1", "grad wrong by up to 0.5 (2 of 6 entries)"), and a summary of the expected
and the student's array: shapes, the largest difference, the numbers themselves only where
there are few. No full arrays: details travel in results.json.
"""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

import numpy as np

from grader.checks.tensors import REDUCTIONS, close_mask, operands, shape_text
from grader.sandbox.worker.ops import WITH_CONSTANT

SMALL = 8  # arrays of at most this many entries go into the details whole
SHOWN = 24  # nodes drawn at most: those nearest the wrong one (dot lays out 1,000 in minutes)
USES = 2  # uses of one node followed at most (a weight used 400 times shows 2)


def op_text(node) -> str:
    """A node's op as its box shows it, the expression's name for it, its arguments as a
    call's: "matmul", "add", "mulc(1.5)", "sum(axis=1)", "conv2d(stride=2, padding=0)"."""
    op = node[0]
    if op in WITH_CONSTANT:
        return f"{op}({node[2]})"
    if op in REDUCTIONS:
        args = ([] if node[2] is None else [f"axis={_axis(node[2])}"]) + ["keepdims"] * bool(
            node[3]
        )
        return f"{op}({', '.join(args)})" if args else op
    if op == "transpose":
        return f"transpose{tuple(node[2])}"
    if op == "log_softmax":
        return f"log_softmax(axis={node[2]})"
    if op == "conv2d":
        return f"conv2d(stride={node[4]}, padding={node[5]})"
    if op == "max_pool2d":
        return f"max_pool2d({node[2]}, stride={node[3]}, padding={node[4]})"
    return op


def _axis(axis):
    return axis if isinstance(axis, int) else tuple(axis)


def graph_details(expr, values: list, wrong: int, note: str, grads=None, summary=None) -> dict:
    """The details["tensor_graph"] of a failure at node `wrong` of `expr` (a TensorExpr):
    `values` PyTorch's arrays, `grads` the student's (or None where the backward pass did
    not finish), `summary` what summarise() made of the wrong array.

    A graph of more than SHOWN nodes is cut to the SHOWN nearest the wrong one; an input
    left out is a box "…" of its shape, and the rest of the way to the output one box too."""
    n = len(expr.nodes)
    kept = list(range(n)) if n <= SHOWN else _around(expr, wrong)
    at = {i: k for k, i in enumerate(kept)}
    nodes = [_entry(expr, values, grads, i) for i in kept]
    for k, i in enumerate(kept):
        for m in operands(expr.nodes[i]):
            if m not in at:  # an input left out: its shape alone
                at[m] = len(nodes)
                nodes.append({"op": "", "inputs": [], "shape": list(values[m].shape), "label": "…"})
        nodes[k]["inputs"] = [at[m] for m in operands(expr.nodes[i])]
    # the nodes with a use left out lead to one box: the rest of the graph, to the output
    ends = [at[i] for i in kept if i != n - 1 and not set(expr.consumers(i)) <= set(kept)]
    if ends:
        rest = {"op": "", "inputs": ends, "shape": list(values[-1].shape), "label": "… output"}
        if n - 1 in at:  # the output shown: the rest leads to it
            nodes[at[n - 1]]["inputs"].append(len(nodes))
        nodes.append(rest)
    graph = {"nodes": nodes, "output": at.get(n - 1, len(nodes) - 1)}
    graph.update(wrong=at[wrong], note=note, hidden=n - len(kept), **(summary or {}))
    return graph


def _entry(expr, values: list, grads, i: int) -> dict:
    node = expr.nodes[i]
    leaf = node[0] in ("x", "data")
    entry = {"op": "" if leaf else op_text(node), "inputs": [], "shape": list(values[i].shape)}
    if leaf:
        entry["label"] = expr.text(i)
    grad = None if grads is None else grads[i]
    if isinstance(grad, str):
        entry["grad"] = grad
    elif grad is not None and grad.shape != values[i].shape:
        entry["grad"] = list(grad.shape)
    return entry


def _around(expr, j: int) -> list[int]:
    """The SHOWN nodes nearest node j, through inputs and the first USES uses of each (a
    weight used 400 times shows two of them, then what they lead to), in the graph's order."""
    near, todo = [j], deque([j])
    while todo and len(near) < SHOWN:
        i = todo.popleft()
        for k in [*operands(expr.nodes[i]), *expr.consumers(i)[:USES]]:
            if k not in near and len(near) < SHOWN:
                near.append(k)
                todo.append(k)
    return sorted(near)


def summarise(what: str, got, want: np.ndarray, why: str = "") -> tuple[str, dict]:
    """(the note that marks the wrong node, a summary of its expected and got arrays) for the
    node's `what` ("grad" or "data"). `got`: the student's array, a text saying what came
    instead of one, or a tuple: the shape alone (a rule raised on it). `why`: the mistake a
    wrong shape points to, in a few words."""
    summary: dict = {"expected_shape": list(want.shape)}
    if want.size <= SMALL:
        summary["expected"] = _numbers(want)
    if got is None or isinstance(got, str):
        got = "nothing" if got is None else got
        return f"{what} of shape {shape_text(want.shape)} expected, got {got}", summary
    shape = got if isinstance(got, tuple) else got.shape
    summary["got_shape"] = list(shape)
    if not isinstance(got, tuple) and got.size <= SMALL:
        summary["got"] = _numbers(got)
    if shape != want.shape:
        note = f"{what} of shape {shape_text(want.shape)} expected, got {shape_text(shape)}"
        return note + (f": {why}" if why else ""), summary
    wrong = ~close_mask(got, want)
    with np.errstate(invalid="ignore"):
        gap = np.abs(got - want)
    largest = float(np.max(np.where(np.isnan(gap), np.inf, gap), initial=0.0))
    summary["largest_difference"] = _number(largest)
    summary["entries_wrong"] = int(wrong.sum())
    if np.isfinite(largest):
        note = f"{what} wrong by up to {largest:.3g}"
    else:
        note = f"{what} holds nan or inf where numbers belong"
    if want.size > 1:
        note += f" ({int(wrong.sum())} of {want.size} entries)"
    return note, summary


def _number(x: float) -> float | str:
    """A float for JSON: nan and infinities as text (strict JSON has none)."""
    return float(x) if np.isfinite(x) else str(x)


def _numbers(a: np.ndarray) -> list:
    return [_number(float(v)) for v in np.ravel(a)]


def drawable(graph: dict) -> tuple[SimpleNamespace, list]:
    """details["tensor_graph"] as nodes that draw_dot(..., shapes=True) draws (each with the
    .data, .grad, ._prev, ._op and .label it reads; .data and .grad hold only a .shape), and
    the mark of the wrong node: (output node, [(node, note)])."""
    nodes = []
    for entry in graph["nodes"]:
        shape = tuple(entry["shape"])
        grad = entry.get("grad", shape)
        nodes.append(
            SimpleNamespace(
                data=SimpleNamespace(shape=shape),
                grad=grad if isinstance(grad, str) else SimpleNamespace(shape=tuple(grad)),
                _op=entry["op"],
                label=entry.get("label", ""),
            )
        )
    for node, entry in zip(nodes, graph["nodes"]):
        node._prev = [nodes[k] for k in entry["inputs"]]
    return nodes[graph["output"]], [(nodes[graph["wrong"]], graph["note"])]
