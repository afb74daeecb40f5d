"""exercise-4: Neuron, Layer, MLP, parameters(), zero_grad(), against an equivalent torch model.

The grader sets every parameter to a known value through parameters(), so the order of the
list is part of what is checked: layer by layer, neuron by neuron, weights then bias.
"""

from typing import NamedTuple

from grader.checks.checking import Fail, check, close, fmt, numbers
from grader.checks.later import torch
from grader.checks.models import TorchMLP, param_count
from grader.sandbox import StudentError

ORDER_HINT = "parameters() order: layer by layer, neuron by neuron, each neuron's weights then bias"


def _case(nin, nouts, rows, rng):
    """Weights, inputs and upstreams drawn from the secret, drawn again until every layer's
    weighted sums have both signs across the rows: a missing or misplaced activation then
    changes the outputs under every secret, not only under some."""
    while True:
        params = [round(rng.uniform(-1, 1), 4) for _ in range(param_count(nin, nouts))]
        inputs = [[round(rng.uniform(-2, 2), 3) for _ in range(nin)] for _ in range(rows)]
        if _both_signs(nin, nouts, params, inputs):
            break
    upstreams = [[round(rng.uniform(-2, 2), 3) for _ in range(nouts[-1])] for _ in range(rows)]
    return params, inputs, upstreams


def _both_signs(nin, nouts, params, inputs) -> bool:
    model = TorchMLP(nin, nouts, params)
    with torch.no_grad():
        h = torch.tensor(inputs, dtype=torch.float64)
        for i, (w, b) in enumerate(model.layers):
            h = h @ w.T + b
            if not (h.min() < -0.05 and h.max() > 0.05):
                return False
            if i < len(model.layers) - 1:
                h = torch.relu(h)
    return True


def run_mlp(ctx, nin, nouts):
    """The student's MLP and torch's on the same weights: (reply, torch outputs, torch grads).

    Weights, inputs and upstreams are drawn from the course's secret (ctx.rng)."""
    params, inputs, upstreams = _case(nin, nouts, 3, ctx.rng)
    reply = ctx.sandbox.request(
        "mlp", nin=nin, nouts=nouts, params=params, inputs=inputs, upstreams=upstreams
    )
    want = param_count(nin, nouts)
    if reply.get("count") != want:
        raise Fail(
            f"MLP({nin}, {nouts}).parameters() has {reply.get('count')} parameters, expected "
            f"{want}: every neuron has one weight per input plus a bias"
        )
    model = TorchMLP(nin, nouts, params)
    outs, grads = [], []
    for x, up in zip(inputs, upstreams):
        model.zero_grad()
        y = model(torch.tensor([x], dtype=torch.float64))[0]
        (y * torch.tensor(up, dtype=torch.float64)).sum().backward()
        outs.append(y.tolist())
        grads.append(model.flat_grads())
    return Run(reply, inputs, outs, grads, params)


class Run(NamedTuple):
    reply: dict
    inputs: list
    outs: list  # torch's
    grads: list  # torch's
    params: list


# Common mistakes, replayed in torch to say which one the outputs match
SHAPES = {
    "every layer non-linear, the last one too": lambda i, last: True,
    "no layer non-linear": lambda i, last: False,
}


def _mistake(nin, nouts, params, inputs, got) -> str:
    for why, nonlinear in SHAPES.items():
        model = TorchMLP(nin, nouts, params)
        with torch.no_grad():
            h = torch.tensor(inputs, dtype=torch.float64)
            for i, (w, b) in enumerate(model.layers):
                h = h @ w.T + b
                if nonlinear(i, i == len(model.layers) - 1):
                    h = torch.relu(h)
        if all(close(a, b) for row, want in zip(got, h.tolist()) for a, b in zip(row, want)):
            return f" Your outputs are those of an MLP with {why}."
    return ""


def expected_layout(nin, nouts):
    sizes = [nin, *nouts]
    return [
        f"layer {li} neuron {ni} " + (f"w[{k}]" if k < a else "b")
        for li, (a, b) in enumerate(zip(sizes, sizes[1:]))
        for ni in range(b)
        for k in range(a + 1)
    ]


@check(4, 2, "parameters(): count and order", hint=ORDER_HINT)
def parameters_count(ctx):
    for nin, nouts in [(3, [4, 4, 1]), (2, [3, 2])]:
        ran = run_mlp(ctx, nin, nouts)
        got, want = ran.reply.get("layout"), expected_layout(nin, nouts)
        # `layout` names each parameter by micrograd's attributes (layers, neurons, w, b), when
        # the model has them; the order is judged by the outputs in any case (each parameter
        # set through parameters() must land where torch's model has it)
        if isinstance(got, list) and len(got) == len(want) and got != want:
            i = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
            raise Fail(f"MLP({nin}, {nouts}).parameters()[{i}] is {got[i]}, expected {want[i]}")
        _forward(ctx, nin, nouts, ran)


@check(
    4,
    3,
    "MLP(3, [4, 4, 1]) outputs match torch",
    hint="hidden layers ReLU, output layer linear; " + ORDER_HINT,
)
def forward(ctx):
    _forward(ctx, 3, [4, 4, 1])


def _forward(ctx, nin, nouts, ran=None):
    ran = ran or run_mlp(ctx, nin, nouts)
    reply, inputs, outs = ran.reply, ran.inputs, ran.outs
    got = reply.get("outputs")
    if not isinstance(got, list) or len(got) != len(outs):
        raise Fail("the MLP gave no outputs")
    for x, g, w in zip(inputs, got, outs):
        g = numbers({"v": g}, "v", len(w), f"outputs for x = {x}")
        if not all(close(a, b) for a, b in zip(g, w)):
            rows = [numbers({"v": r}, "v", len(w), "outputs") for r in got]
            mistake = _mistake(nin, nouts, ran.params, inputs, rows)
            raise Fail(
                f"MLP({nin}, {nouts}) at x = {x}: expected {[fmt(v) for v in w]}, got "
                f"{[fmt(v) for v in g]}. Check: each neuron is relu(w . x + b) except in the last "
                f"layer, which is linear; {ORDER_HINT}." + mistake,
                # the outputs are wrong, whatever the check was after: the hint is about them
                details={"diagnosis": "activation" if mistake else "outputs"},
            )
    return reply


@check(4, 3, "MLP(3, [4, 4, 1]) gradients of every parameter match torch")
def gradients(ctx):
    _gradients(ctx, 3, [4, 4, 1])


def _gradients(ctx, nin, nouts, ran=None):
    ran = ran or run_mlp(ctx, nin, nouts)
    reply, inputs, grads = ran.reply, ran.inputs, ran.grads
    _forward(ctx, nin, nouts, ran)  # gradients are only meaningful once outputs agree
    got = reply.get("grads")
    if not isinstance(got, list) or len(got) != len(grads):
        raise Fail(f"MLP({nin}, {nouts}): no gradients came back ({str(got)[:80]})")
    for x, g, w in zip(inputs, got, grads):
        g = numbers({"v": g}, "v", len(w), f"gradients at x = {x}")
        bad = [i for i, (a, b) in enumerate(zip(g, w)) if not close(a, b)]
        if bad:
            i, names = bad[0], expected_layout(nin, nouts)
            raise Fail(
                f"MLP({nin}, {nouts}) at x = {x}: d/d({names[i]}) (parameters()[{i}]) expected "
                f"{fmt(w[i])}, got {fmt(g[i])} ({len(bad)} of {len(w)} parameters wrong)"
            )


def _shape(reply, nin, nouts):
    # the page's contract: a layer of one neuron returns a Value, of several a list
    listed = reply.get("returns_list")
    if listed is not (nouts[-1] > 1):
        raise Fail(
            f"MLP({nin}, {nouts})(x) returned "
            + (
                f"{'a list' if listed else 'a single Value'}; its last layer has {nouts[-1]} "
                f"neuron(s), so it should return "
                f"{'a list of Values' if nouts[-1] > 1 else 'a Value, not a list of one'}"
                if isinstance(listed, bool)
                else "nothing the grader could read"
            )
        )


@check(
    4,
    2,
    "a layer gives a list of its outputs, or one Value when it has one output",
    hint="Layer.__call__: out[0] if len(out) == 1 else out",
)
def several_outputs(ctx):
    for nouts in ([3, 2], [3, 1]):
        ran = run_mlp(ctx, 2, nouts)
        _shape(ran.reply, 2, nouts)
        _gradients(ctx, 2, nouts, ran)


@check(
    4,
    1,
    "zero_grad() sets every parameter's grad to 0",
    hint="grads accumulate with +=: zero them before every backward pass",
)
def zero_grad(ctx):
    # the grads zero_grad() must clear are first checked to be the real ones (a reply of
    # zeros alone proves nothing)
    ran = run_mlp(ctx, 2, [3, 1])
    reply = ran.reply
    _gradients(ctx, 2, [3, 1], ran)
    if "zero_grad_error" in reply:  # the worker caught it, so the other checks keep their answers
        raise StudentError(*reply["zero_grad_error"])
    after = numbers(reply, "after_zero_grad", param_count(2, [3, 1]), "grads after zero_grad()")
    left = [i for i, v in enumerate(after) if v != 0]
    if left:
        names = expected_layout(2, [3, 1])
        shown = ", ".join(f"parameters()[{i}] ({names[i]}) {fmt(after[i])}" for i in left[:6])
        raise Fail(
            f"after zero_grad(), {len(left)} of {len(after)} grads are not 0: {shown}"
            + (" ..." if len(left) > 6 else "")
            + ": does zero_grad() reach every parameter, the last one too?"
        )
