"""Judging the student's Tensor on an expression: every node's value and grad against PyTorch,
and a failure that names the rule at fault, the input (which operand, its shape, the axes it
was broadcast or reduced along), and shows PyTorch's gradient, a finite-difference estimate
from the student's own forward pass, and the student's, side by side.

As judge_expression does for Value: scanning from the output back, the first node whose grad
is wrong has right grads in all the nodes that use it, so one of their rules is at fault.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from grader.checks.checking import Context, Fail
from grader.checks.tensor_graph import graph_details, summarise
from grader.checks.tensor_mistakes import shape_mistake, shape_symptom, symptom
from grader.checks.tensor_roles import op_params, role
from grader.checks.tensors import (
    TensorExpr,
    allclose,
    close_mask,
    cut,
    operands,
    rule_of,
    shape_text,
    show,
    torch_forward,
    torch_values,
    unwire,
    wire,
)
from grader.sandbox import StudentError

log = logging.getLogger("grader")
FD_STEP = 1e-6
FD_MAX_ENTRIES = 128  # finite differences cost two forward passes per entry
WIDTH = 34  # where the three arrays of a failure start, after their names


def judge_tensors(
    ctx: Context, expr: TensorExpr, upstream: np.ndarray | None, mode: str = "rules", twice=False
) -> None:
    """Build expr with the student's Tensor, backpropagate, compare with PyTorch; Fail if any
    value, grad, or the memory the grads use is wrong. `upstream` is out.grad (mode "rules",
    the grader walks the graph) or None (mode "backward": the student's backward(), ones)."""
    n = len(expr.nodes)
    reply = ctx.sandbox.request(
        "tensor_graph",
        mode=mode,
        twice=twice,
        upstream=None if upstream is None else wire(upstream),
        **expr.payload(),
    )
    want_data, want_grads = torch_values(expr, upstream)
    G = np.ones(want_data[-1].shape) if upstream is None else upstream
    data = _list(reply, "data", n)
    for i, node in enumerate(expr.nodes):
        if node[0] in ("x", "data"):
            continue
        got = unwire(data[i])
        if not allclose(got, want_data[i]):
            fail = Fail(
                f"`{rule_of(node)}` forward: {expr.text(i)} with {expr.inputs_text()}: expected "
                f"{_value(want_data[i])}, got {_value(got)}",
                rule=rule_of(node),
            )
            raise pictured(fail, expr, want_data, i, "data", got, want_data[i])
    if reply.get("raised"):
        if not isinstance(reply["raised"], dict):
            raise Fail("a backward rule raised, and the worker's reply does not say which")
        seed = unwire(reply["raised"].get("seed")) if "seed" in reply["raised"] else None
        if seed is not None and not allclose(seed, np.ones(want_data[-1].shape)):
            raise Fail(
                f"backward() must seed the output's grad with ones of its shape "
                f"{shape_text(want_data[-1].shape)}: d(out)/d(out) = 1 for every entry. Got "
                f"{_value(seed)}, and then a rule raised: {reply['raised'].get('message')}",
                rule="seed",
            )
        raise _raised(expr, reply["raised"], want_data, want_grads)
    grads = [None if g is None else unwire(g) for g in _list(reply, "grads", n)]
    wrong = [
        i
        for i, node in enumerate(expr.nodes)
        if node[0] != "data" and not allclose(grads[i], want_grads[i])
    ]
    if wrong:
        if reply.get("shared"):  # one grad array for two nodes: what made the grads wrong
            _memory(expr, reply, want_data)
        raise _wrong_grad(ctx, expr, max(wrong), grads, want_data, want_grads, G, mode)
    _memory(expr, reply, want_data)
    if twice:
        again = [None if g is None else unwire(g) for g in _list(reply, "grads_again", n)]
        for i, node in enumerate(expr.nodes):
            if node[0] != "data" and not allclose(again[i], want_grads[i]):
                users = expr.consumers(i)
                named = role(expr, users[0], i, want_data) if len(users) == 1 else expr.text(i)
                raise Fail(
                    f"a second backward pass, after every grad was set back to zeros, gave "
                    f"another grad for {named}: {_value(again[i])}, expected "
                    f"{_value(want_grads[i])}. {_consumer_rules(expr, i)} backward changed, in "
                    "place, an array it keeps for the next pass (copy it before changing it)",
                    rule=_consumer_rules(expr, i),
                )


def judge_case(ctx: Context, case, mode: str = "rules", twice: bool = False) -> None:
    """judge_tensors on a drawn case (nodes, inputs, seed): the upstream gradient, of the
    output's shape, drawn from numpy's default_rng(seed) (0.5 to 2.5 in size, either sign)."""
    nodes, inputs, seed = case
    expr = TensorExpr.of(nodes, inputs)
    G = None
    if mode == "rules":
        shape = tuple(torch_forward(expr)[-1].shape)
        rng = np.random.default_rng(seed)
        G = np.round(rng.uniform(0.5, 2.5, shape) * rng.choice((-1.0, 1.0), shape), 3)
    judge_tensors(ctx, expr, np.asarray(G) if G is not None else None, mode, twice)


def _list(reply: dict, key: str, n: int) -> list:
    got = reply.get(key)
    if not isinstance(got, list) or len(got) != n:
        raise Fail(f"the worker's reply has no readable `{key}` (expected {n} entries)")
    return got


def _value(a) -> str:
    if isinstance(a, str):
        return a
    if a.ndim == 0:
        return show(a)
    return f"shape {shape_text(a.shape)} {show(a, 8)}"


def _consumer_rules(expr: TensorExpr, i: int) -> str:
    rules = sorted({rule_of(expr.nodes[c]) for c in expr.consumers(i)})
    return " or ".join(f"`{r}`" for r in rules)


# -- failures -----------------------------------------------------------------------------------


def _raised(expr: TensorExpr, raised: dict, values: list, want: list) -> Fail:
    c = raised.get("node")
    if type(c) is not int or not 0 <= c < len(expr.nodes) or expr.nodes[c][0] in ("x", "data"):
        return _raised_inside(expr, raised)
    node = expr.nodes[c]
    where = f" ({raised.get('where')})" if raised.get("where") else ""
    ins = sorted(set(operands(node)), key=operands(node).index)
    described = "; ".join(role(expr, c, j, values) for j in ins)
    why, at = "", None  # the input whose grad, by the shapes in the message, went wrong
    for got in _message_shapes(raised):
        for j in ins:
            short, full = shape_mistake(node, values[j].shape, values[c].shape, got.shape)
            if full and not why:
                why, at = full, (j, got.shape, short)
        if not why and node[0] in WITH_A_CONSTANT:  # the constant is a Tensor of shape ()
            why = shape_symptom(("mul",), (), values[c].shape, got)
            why = f" the constant, a Tensor of shape (), has its grad wrong{why}" if why else ""
    if not why and node[0] == "matmul" and max(len(values[j].shape) for j in ins) > 2:
        if "matmul" in str(raised.get("message")):
            why = (
                ": `.T` reverses every axis of a batch of matrices, not only the last two; "
                "swap those (swapaxes(-1, -2))"
            )
    why = f"\n    Likely{why}" if why else ""
    fail = Fail(
        f"`{rule_of(node)}` backward{op_params(node)} raised {raised.get('kind')}: "
        f"{raised.get('message')}{where}\n    at {expr.text(c)}: {described}. Each input's grad "
        f"must have that input's own shape.{why}\n    expression: {expr.text()}   with "
        f"{expr.inputs_text()}{expr.named()}",
        rule=rule_of(node),
    )
    if at is None:  # the rule itself is marked
        return pictured(fail, expr, values, c, f"backward raised {raised.get('kind')}")
    j, got, short = at  # only the shape of the grad it made is known
    return pictured(fail, expr, values, j, "grad", got, want[j], short)


def pictured(
    fail: Fail, expr, values: list, j: int, what: str, got=None, want=None, why="", grads=None
) -> Fail:
    """`fail` with the expression's graph in its details (the runner draws it), node j marked:
    its `what` ("grad", "data") is `got`, expected `want` (tensor_graph.summarise), or, with
    no `want`, `what` is the whole note. `grads`: the student's, where the pass finished."""
    try:
        note, summary = (what, {}) if want is None else summarise(what, got, want, why)
        fail.details["tensor_graph"] = graph_details(expr, values, j, note, grads, summary)
    except Exception as exc:  # a picture is an extra: the verdict stands without one
        log.warning("no picture of the failing graph: %r", exc)
    return fail


# the student's op names of the nodes a composition makes, as the grader names them
INSIDE = {"+": "add", "*": "mul"}


def _raised_inside(expr: TensorExpr, raised: dict) -> Fail:
    """A rule raised at a node the grader did not build: one a composition made (a - b's -b,
    which is b * -1; a / b's b**-1). The worker says its op and its inputs' and result's
    shapes; without them, only what was raised."""
    op, shapes = raised.get("op"), _shapes(raised.get("shapes"))
    what = f"a backward rule raised {raised.get('kind')}: {raised.get('message')}"
    if not isinstance(op, str) or not op or not shapes:
        return Fail(what)
    where = f" ({raised.get('where')})" if raised.get("where") else ""
    rule = "**" if op.startswith("**") else op
    *ins, out = shapes
    why = ""
    if rule in INSIDE:
        for got in _message_shapes(raised):
            for shape in ins:
                why = why or shape_symptom((INSIDE[rule],), shape, out, got)
    why = f"\n    Likely{why}" if why else ""
    inputs = " and ".join(shape_text(x) for x in ins)
    return Fail(
        f"`{rule}` backward raised {raised.get('kind')}: {raised.get('message')}{where}\n    at "
        f"a `{op}` node made inside a composition (-a is a * -1, a - b is a + -b, a / b is "
        f"a * b**-1): its inputs of shapes {inputs}, its result {shape_text(out)}. Each "
        f"input's grad must have that input's own shape.{why}\n    expression: {expr.text()}"
        f"   with {expr.inputs_text()}{expr.named()}",
        rule=rule,
    )


# ops whose node is a + or * with a constant, made a Tensor of shape ()
WITH_A_CONSTANT = ("neg", "addc", "mulc", "radd", "rmul")


def _message_shapes(raised: dict) -> list[np.ndarray]:
    """Empty arrays of the shapes numpy's error message names, "(2, 3)" or "()"."""
    found = re.findall(r"\((\d+(?:, ?\d+)*),?\)|\(\)", str(raised.get("message")))
    return [np.empty(tuple(int(v) for v in f.split(",")) if f else ()) for f in found]


def _shapes(raw) -> list[tuple[int, ...]] | None:
    """Shapes as the worker sent them, if they are shapes at all (it is the student's process)."""
    if not isinstance(raw, list) or not 1 < len(raw) <= 4:
        return None
    shapes = []
    for shape in raw:
        if not isinstance(shape, list) or len(shape) > 8:
            return None
        if not all(type(n) is int and 0 <= n < 10**6 for n in shape):
            return None
        shapes.append(tuple(shape))
    return shapes


def _wrong_grad(ctx, expr, j, grads, values, want, G, mode) -> Fail:
    n = len(expr.nodes)
    got = grads[j]
    if j == n - 1:
        if mode == "backward":
            fail = Fail(
                f"backward() must seed the output's grad with ones of its shape "
                f"{shape_text(values[j].shape)}: d(out)/d(out) = 1 for every entry. Got "
                f"{_value(got)}",
                rule="seed",
            )
        else:
            fail = Fail(
                f"the output's grad changed during the backward pass: `{rule_of(expr.nodes[j])}` "
                f"backward wrote into out.grad. Expected {_value(want[j])}, got {_value(got)}",
                rule=rule_of(expr.nodes[j]),
            )
        return pictured(fail, expr, values, j, "grad", got, want[j], grads=grads)
    consumers = expr.consumers(j)
    fd = finite_differences(ctx, expr, j, values[j], G)
    short = ""  # the mistake a wrong shape points to, in a few words, for the picture
    if len(consumers) == 1:
        c = consumers[0]
        node = expr.nodes[c]
        rule = rule_of(node)
        if not isinstance(got, str):
            short = shape_mistake(node, values[j].shape, values[c].shape, got.shape)[0]
        head = f"`{rule}` backward{op_params(node)}: the grad of {role(expr, c, j, values)}"
        if operands(node).count(j) > 1:
            head += " is wrong (this node is both operands here: each use adds its share, `+=`)"
        else:
            head += " is wrong" + symptom(node, c, j, values, want[c], got, want[j])
    else:
        rules = sorted({rule_of(expr.nodes[c]) for c in consumers})
        rule = " or ".join(f"`{r}`" for r in rules)
        uses = "; ".join(f"in {expr.text(c)}: {role(expr, c, j, values)}" for c in consumers[:3])
        head = (
            f"{expr.text(j)} feeds {len(consumers)} operations and its grad is wrong: it must "
            f"be the sum of every use's share. Check {rule} backward, and that each adds with "
            f"`+=`\n    its uses: {uses}"
        )
    lines = [head, _where(got, want[j])]
    lead, label = _window(got, want[j])
    if isinstance(got, str):
        yours = got
    else:
        yours = show(got[lead] if got.shape == want[j].shape else got, 4 + WIDTH)
    fd_text = "not computed (too many entries)" if fd is None else show(fd[lead], 4 + WIDTH)
    for name, text in [
        ("expected (PyTorch)", show(want[j][lead], 4 + WIDTH)),
        ("finite differences", fd_text),
        ("yours", yours),
    ]:
        lines.append(f"{name + label + ':':<{WIDTH}}{text}")
    lines.append(
        f"expression: {expr.text()}   with {expr.inputs_text()}; the output's grad (upstream) "
        f"of shape {shape_text(G.shape)}" + ("" if mode == "rules" else ", ones") + expr.named()
    )
    details = {"expression": expr.text(), "node": expr.text(j), "tensor_rule": rule}
    fail = Fail("\n    ".join(lines), rule=rule, details=details)
    return pictured(fail, expr, values, j, "grad", got, want[j], short, grads)


def _window(got, want: np.ndarray) -> tuple[tuple, str]:
    """For a large array, the 2-D slice (last two axes) that holds the first wrong entry."""
    if want.ndim < 3 or want.size <= 24:
        return (), ""
    lead = (0,) * (want.ndim - 2)
    if not isinstance(got, str) and got.shape == want.shape:
        bad = np.argwhere(~close_mask(got, want))
        lead = tuple(int(i) for i in bad[0][:-2]) if len(bad) else lead
    return lead, f" [{', '.join(map(str, lead))}, :, :]"


def _where(got, want: np.ndarray) -> str:
    if isinstance(got, str):
        return f"it is {got}"
    if got.shape != want.shape:
        return f"expected shape {shape_text(want.shape)}, got shape {shape_text(got.shape)}"
    bad = np.argwhere(~close_mask(got, want))
    index = tuple(int(i) for i in bad[0]) if got.ndim else ()
    return (
        f"{len(bad)} of {want.size} entries differ; the first at index {index}: expected "
        f"{show(want[index])}, got {show(got[index])}"
    )


def finite_differences(ctx, expr: TensorExpr, j: int, value: np.ndarray, G) -> np.ndarray | None:
    """d(sum(G * out))/d(node j) by central differences of the student's forward pass, node j
    made an input (tensors.cut); None when it is too large or the forward pass fails."""
    if value.size > FD_MAX_ENTRIES or value.size == 0:
        return None
    cut_expr, k = cut(expr, j, value)
    points = [[k, e, s * FD_STEP] for e in range(value.size) for s in (1, -1)]
    try:
        reply = ctx.sandbox.request("tensor_forward", points=points, **cut_expr.payload())
    except StudentError:
        return None
    outs = reply.get("outputs")
    if not isinstance(outs, list) or len(outs) != len(points):
        return None
    losses = []
    for o in outs:
        a = unwire(o)
        if isinstance(a, str) or a.shape != G.shape:
            return None
        losses.append(float(np.sum(a * G)))
    fd = [(losses[2 * e] - losses[2 * e + 1]) / (2 * FD_STEP) for e in range(value.size)]
    return np.array(fd).reshape(value.shape)


def _memory(expr: TensorExpr, reply: dict, values: list) -> None:
    """Inputs unchanged, no data changed by the backward pass, no grad sharing memory."""
    changed = reply.get("inputs_changed") or []
    if changed:
        raise Fail(
            f"the numpy array given for x{changed[0]} was changed: Tensor(x) must copy what "
            "it is given, and no op may write into its inputs' data",
            rule=_consumer_rules(expr, 0),
        )
    for i in reply.get("changed") or []:
        if type(i) is int and 0 <= i < len(expr.nodes):
            rules = sorted({rule_of(expr.nodes[c]) for c in [i, *expr.consumers(i)]})
            rules = [r for r in rules if r not in ("x", "data")]
            rule = " or ".join(f"`{r}`" for r in rules)
            raise Fail(
                f"the data of {expr.text(i)} (shape {shape_text(expr_shape(reply, i))}) changed "
                f"during the backward pass: a rule wrote into an array in place (`*=`, `+=`, "
                f"`-=` on out.data, self.data, or an array that shares their memory). "
                f"Rules that see it: {rule} backward",
                rule=rule,
            )
    for kind, i, k in _pairs(reply.get("shared"), len(expr.nodes)):
        what = "grad" if kind == "grad" else "data"
        users = expr.consumers(i)
        if kind == "grad" and i in expr.consumers(k):  # the grad of k's input is k's own
            i, k = k, i
            users = expr.consumers(i)
        named = f"{expr.text(i)}"
        shared = [c for c in users if kind == "grad" and (c == k or k in operands(expr.nodes[c]))]
        if shared:  # one rule gave out.grad to its input, or one array to two of its inputs
            users = shared[:1]
            named = role(expr, shared[0], i, values)
        rule = " or ".join(f"`{r}`" for r in dict.fromkeys(rule_of(expr.nodes[c]) for c in users))
        raise Fail(
            f"the grad of {named} and the {what} of {expr.text(k)} are one array (they share "
            f"memory): a grad must be an array of its own. {rule or 'backward()'} backward "
            "assigned an array (`self.grad = out.grad`, or a view of it) where it must add "
            "into self.grad (`self.grad += ...`)",
            rule=rule or "backward()",
        )


def expr_shape(reply: dict, i: int) -> tuple:
    got = unwire((reply.get("data") or [None] * (i + 1))[i])
    return () if isinstance(got, str) else got.shape


def _pairs(shared, n: int) -> list:
    out = []
    for item in shared if isinstance(shared, list) else []:
        if (
            isinstance(item, list)
            and len(item) == 3
            and item[0] in ("grad", "data")
            and all(type(v) is int and 0 <= v < n for v in item[1:])
        ):
            out.append(item)
    return out
