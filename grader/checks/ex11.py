"""exercise-11: the Linear layer as one node, Linear's initialisation, the MLP, zero_grad, and SGD
with momentum, each against PyTorch (float64), parameter by parameter.

The grader sends the parameters to start from (drawn from the course's secret), through
parameters(), so the order W1, b1, W2, b2, ... is part of what is checked; the initialisation
has a check of its own, against numpy's default_rng(seed) drawing as tensor_nn documents.

Regions these checks run: tensor_nn.py's exercise-11 regions; the MLP checks also run Tensor's
relu rule (exercise 8), and the training check cross_entropy's rule (exercise 10). The grader
walks the graph itself (no backward() of the student's).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader.checks.checking import Fail, check
from grader.checks.later import torch
from grader.checks.properties import for_all
from grader.checks.strategies import _SEED, arrays, upstreams
from grader.checks.tensor_judge import judge_case
from grader.checks.tensor_models import (
    SGD,
    check_shapes,
    describe_difference,
    first_difference,
    mlp_init,
    mlp_shapes,
    param_names,
    params_payload,
    read_params,
    torch_mlp,
    torch_steps,
)
from grader.checks.tensors import allclose, calling, shape_text, show, unwire, wire


@st.composite
def _linear(draw):
    n, nin, nout = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    leaf = draw(st.sampled_from(["x", "x", "data"]))  # x a Tensor, or plain data (no grad)
    nodes = [[leaf, 0], ["x", 1], ["x", 2], ["linear", 0, 1, 2]]
    inputs = [draw(arrays((n, nin))), draw(arrays((nin, nout))), draw(arrays((nout,)))]
    return nodes, inputs, draw(_SEED)


@check(
    11,
    2,
    "linear backward: W, b and x (when a Tensor), against PyTorch",
    hint="out = x @ W + b: W gets x^T @ g, b gets g summed over the rows, x gets g @ W^T.",
)
def linear_backward(ctx):
    for_all(ctx, _linear(), lambda case: judge_case(ctx, case), 6)


@st.composite
def _model(draw, min_layers: int = 1):
    nin = draw(st.integers(1, 5))
    nouts = draw(st.lists(st.integers(1, 4), min_size=min_layers, max_size=3))
    return nin, nouts


@check(
    11,
    1,
    "Linear and MLP initialisation: W (nin, nout) then b, uniform in +-1/sqrt(nin), from rng",
    hint="bound = 1 / sqrt(nin); W = Tensor(rng.uniform(-bound, bound, size=(nin, nout))), "
    "then b the same way, size=nout: W drawn first.",
)
def initialisation(ctx):
    def judge(case):
        (nin, nouts), seed, whole = case
        nouts = nouts if whole else nouts[:1]
        payload = {"nin": nin, "seed": seed}
        payload.update({"nouts": nouts} if whole else {"nout": nouts[0]})
        what = f"MLP({nin}, {nouts}, rng)" if whole else f"Linear({nin}, {nouts[0]}, rng)"
        with calling(what, "Linear.__init__"):
            reply = ctx.sandbox.request("tensor_init", **payload)
        shapes = mlp_shapes(nin, nouts)
        got = read_params(reply, "params", shapes, f"{what}: W (nin, nout), b (nout,)")
        want = mlp_init(nin, nouts, seed)
        where = first_difference(got, want)
        if where is not None:
            k, index = where
            raise Fail(
                f"{what}, rng = np.random.default_rng({seed}): "
                + describe_difference(got, want, param_names(nouts), k, index)
                + "\n    Each layer draws W, then b, from rng.uniform(-1/sqrt(nin), "
                "1/sqrt(nin)), layer by layer",
                rule="Linear.__init__",
            )

    for_all(ctx, st.tuples(_model(), _SEED, st.booleans()), judge, 4)


def _mlp_reply(ctx, case):
    (nin, nouts), params_seed, rows, x_tensor = case
    rng = np.random.default_rng(params_seed)
    params = [np.round(rng.uniform(-1, 1, s), 3) for s in mlp_shapes(nin, nouts)]
    x = np.round(rng.uniform(-2, 2, (rows, nin)), 3)
    G = np.round(rng.uniform(0.5, 2.5, (rows, nouts[-1])) * rng.choice((-1, 1), (rows, 1)), 3)
    model = {"kind": "mlp", "nin": nin, "nouts": nouts, "seed": params_seed}
    what = f"MLP({nin}, {nouts})"
    with calling(f"{what} on x of shape {shape_text(x.shape)}", "MLP.__call__"):
        reply = ctx.sandbox.request(
            "tensor_mlp",
            model=model,
            params=params_payload(params),
            x=wire(x),
            upstream=wire(G),
            x_tensor=x_tensor,
        )
    check_shapes(reply, mlp_shapes(nin, nouts), param_names(nouts), what)
    return reply, params, x, G, what


_MLP_CASES = st.tuples(_model(2), _SEED, st.integers(1, 4), st.booleans())


@check(
    11,
    2,
    "MLP: outputs and every parameter's gradient against PyTorch (ReLU between layers)",
    hint="each layer's output is the next one's input, through relu between two layers, not "
    "after the last; parameters() layer by layer, W before b.",
)
def mlp(ctx):
    def judge(case):
        reply, params, x, G, what = _mlp_reply(ctx, case)
        forward, tensors = torch_mlp(params)
        out = forward(x)
        (out * torch.from_numpy(G)).sum().backward()
        got = unwire(reply.get("output"))
        if not allclose(got, out.detach().numpy()):
            raise Fail(
                f"{what} on x of shape {shape_text(x.shape)}: expected output (PyTorch) "
                f"{show(out.detach().numpy(), 8)}, got "
                f"{got if isinstance(got, str) else show(got, 8)}" + _mistake(params, x, got),
                rule="MLP.__call__",
            )
        shapes = [p.shape for p in params]
        grads = read_params(reply, "grads", shapes, f"{what}: the parameters' grads")
        want = [t.grad.numpy() for t in tensors]
        where = first_difference(grads, want)
        if where is not None:
            k, index = where
            raise Fail(
                f"{what}, upstream gradient of shape {shape_text(G.shape)}: the grad of "
                + describe_difference(grads, want, param_names(case[0][1]), k, index)
                + "\n    (linear's backward gives W and b theirs; relu's passes g on)",
                rule="linear",
            )

    for_all(ctx, _MLP_CASES, judge, 4)


def _mistake(params, x, got) -> str:
    """Which wrong placement of the ReLUs the outputs match, if any."""
    if isinstance(got, str):
        return ""
    for why, last in (("after every layer, the last one too", True), ("nowhere", None)):
        h = x
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            if last is not None and (last or k + 2 < len(params)):
                h = np.maximum(h, 0)
        if allclose(got, h):
            return f"\n    Your outputs are those of an MLP with ReLU {why}"
    return ""


@check(
    11,
    1,
    "zero_grad(): every parameter's grad back to zeros, of its shape",
    hint="for p in self.parameters(): p.grad.fill(0.0), or a new np.zeros of p's shape.",
)
def zero_grad(ctx):
    def judge(case):
        reply, params, _, _, what = _mlp_reply(ctx, case)
        zeroed = read_params(reply, "zeroed", [p.shape for p in params], f"{what}, zero_grad()")
        for k, z in enumerate(zeroed):
            if np.any(z != 0):
                raise Fail(
                    f"{what}: after model.zero_grad(), parameters()[{k}].grad is "
                    f"{show(z, 8)}, expected zeros of shape {shape_text(z.shape)}",
                    rule="Module.zero_grad",
                )

    for_all(ctx, _MLP_CASES, judge, 2)


@st.composite
def _sgd(draw, steps: int):
    shapes = draw(st.lists(st.sampled_from([(3,), (2, 3), (), (4, 1)]), min_size=1, max_size=3))
    params = [draw(arrays(s)) for s in shapes]
    grads = [[draw(upstreams(s)) for s in shapes] for _ in range(steps)]
    lr = round(draw(st.floats(0.01, 0.5)), 3)
    # plain SGD (momentum 0) once in a while; with momentum mostly, where velocity matters
    choices = [0.9, 0.5, round(draw(st.floats(0.1, 0.95)), 2), 0.0 if steps == 1 else 0.8]
    momentum = draw(st.sampled_from(choices))
    return params, grads, lr, momentum


def torch_sgd(params, grads, lr, momentum) -> list[list[np.ndarray]]:
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    opt = SGD(tensors, lr=lr, momentum=momentum)
    after = []
    for step in grads:
        for t, g in zip(tensors, step):
            t.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        after.append([t.detach().numpy().copy() for t in tensors])
    return after


def _judge_sgd(ctx, case) -> None:
    params, grads, lr, momentum = case
    with calling(f"SGD(lr={lr}, momentum={momentum}).step()", "SGD.step"):
        reply = ctx.sandbox.request(
            "tensor_sgd",
            params=params_payload(params),
            grads=[params_payload(step) for step in grads],
            lr=lr,
            momentum=momentum,
        )
    want = torch_sgd(params, grads, lr, momentum)
    steps = reply.get("params")
    if not isinstance(steps, list) or len(steps) != len(grads):
        raise Fail(f"SGD: expected the parameters after each of {len(grads)} steps")
    names = [f"parameters()[{k}]" for k in range(len(params))]
    for n, (got_step, want_step) in enumerate(zip(steps, want), start=1):
        got = read_params({"p": got_step}, "p", [p.shape for p in params], f"after step {n}")
        where = first_difference(got, want_step)
        if where is not None:
            k, index = where
            raise Fail(
                f"SGD(lr={lr}, momentum={momentum}).step(), step {n} of {len(grads)}: "
                + describe_difference(got, want_step, names, k, index)
                + _sgd_mistake(params, grads[:n], lr, momentum, got),
                rule="SGD.step",
            )


def _sgd_mistake(params, grads, lr, momentum, got) -> str:
    """Which common mistake the parameters match: v <- v + g (no momentum factor), plain SGD
    (the velocity forgotten), or the step added instead of subtracted."""
    candidates = {
        "the velocity never kept (v rebound, not changed in place: plain SGD)": (lr, 0.0, 1),
        "the step added to p instead of subtracted": (lr, momentum, -1),
    }
    for why, (rate, mu, sign) in candidates.items():
        want = torch_sgd(params, [[g * sign for g in step] for step in grads], rate, mu)[-1]
        if first_difference(got, want) is None:
            return f"\n    That is what {why} gives"
    return ""


@check(
    11,
    1,
    "SGD with momentum: one step, parameter by parameter",
    hint="v <- momentum * v + p.grad, then p.data <- p.data - lr * v, both in place.",
)
def sgd_one(ctx):
    for_all(ctx, _sgd(1), lambda case: _judge_sgd(ctx, case), 3)


@check(
    11,
    2,
    "SGD with momentum: ten steps equal PyTorch's, parameter by parameter",
    hint="self.velocity must last from step to step: change v in place (v *= momentum; "
    "v += p.grad), never rebind it.",
)
def sgd_ten(ctx):
    for_all(ctx, _sgd(10), lambda case: _judge_sgd(ctx, case), 3)


@st.composite
def _training(draw):
    nin, hidden, classes = draw(st.integers(2, 5)), draw(st.integers(2, 5)), draw(st.integers(2, 4))
    rows = draw(st.integers(6, 12))
    X = draw(arrays((rows, nin)))
    y = draw(st.lists(st.integers(0, classes - 1), min_size=rows, max_size=rows))
    size = draw(st.integers(1, rows))
    batches = [
        sorted(draw(st.lists(st.integers(0, rows - 1), min_size=size, max_size=size, unique=True)))
        for _ in range(10)
    ]
    lr, momentum = round(draw(st.floats(0.01, 0.3)), 3), draw(st.sampled_from([0.5, 0.9]))
    return nin, [hidden, classes], X, y, batches, lr, momentum, draw(_SEED)


@check(
    11,
    2,
    "ten training steps (MLP, cross_entropy, SGD) equal PyTorch's, parameter by parameter",
    hint="each step: the logits, cross_entropy, model.zero_grad(), backward, optimizer.step(); "
    "the layers, zero_grad and step must all be right.",
)
def training_steps(ctx):
    def judge(case):
        nin, nouts, X, y, batches, lr, momentum, seed = case
        params = mlp_init(nin, nouts, seed)
        with calling(f"a training step of MLP({nin}, {nouts})", "training step"):
            reply = ctx.sandbox.request(
                "tensor_train_steps",
                model={"kind": "mlp", "nin": nin, "nouts": nouts, "seed": seed},
                params=params_payload(params),
                X=wire(X),
                y=y,
                batches=batches,
                lr=lr,
                momentum=momentum,
            )
        what = f"MLP({nin}, {nouts}), SGD(lr={lr}, momentum={momentum})"
        check_shapes(reply, mlp_shapes(nin, nouts), param_names(nouts), what)
        losses, after = torch_steps(params, X, y, batches, lr, momentum)
        got_steps = reply.get("params")
        if not isinstance(got_steps, list) or len(got_steps) != len(batches):
            raise Fail(f"{what}: expected the parameters after each of {len(batches)} steps")
        for n, (got_step, want) in enumerate(zip(got_steps, after), start=1):
            shapes = [p.shape for p in params]
            got = read_params({"p": got_step}, "p", shapes, f"{what}, after step {n}")
            where = first_difference(got, want)
            if where is not None:
                k, index = where
                raise Fail(
                    f"{what}, step {n} of {len(batches)} (batch {batches[n - 1]}): "
                    + describe_difference(got, want, param_names(nouts), k, index),
                    rule="training step",
                )

    for_all(ctx, _training(), judge, 2)
