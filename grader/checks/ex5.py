"""exercise-5: the hinge loss, L2, the SGD step, the training step; then training on moons.

The moons check runs the student's own `fit` (which calls their train_step) in the worker,
takes back only the trained parameters, and measures accuracy here, on held-out points the
student's code never sees.

Why these numbers (measured with tools in benchmarks/, see the closing notes of the issue):
- MOONS_TRAIN points, MOONS_STEPS steps, MLP(2, MOONS_SIZES): the reference clears
  MOONS_THRESHOLD on each of 20 seeds with a margin, and takes under 30 s with micrograd
  0.1.0's engine and nn as the student's code.
- MOONS_THRESHOLD sits above what a linear classifier reaches on moons (about 0.86), so
  training that does not really learn (a broken rule, a sign error) does not clear it.
"""

import random

import torch

from grader.checking import Fail, check, close, fmt, numbers
from grader.models import TorchMLP, param_count

SCORES = [0.3, -2.0, 1.7, 0.4, -0.6]
LABELS = [1, -1, 1, -1, -1]

MOONS_TRAIN, MOONS_TEST, MOONS_NOISE, MOONS_SEED = 40, 200, 0.1, 7
MOONS_STEPS, MOONS_SIZES, MOONS_ALPHA = 80, [8, 8, 1], 1e-4
MOONS_THRESHOLD = 0.80


def _compare_loss(ctx, function, torch_value, **payload):
    reply = ctx.sandbox.request("loss", module="micrograd.losses", function=function, **payload)
    n = len(payload["scores"])
    value = numbers({"v": [reply.get("value")]}, "v", 1, f"{function}'s value")[0]
    grads = numbers(reply, "grads", n, f"{function}'s gradients")
    s = torch.tensor(payload["scores"], dtype=torch.float64, requires_grad=True)
    want = torch_value(s)
    want.backward()
    if not close(value, want.item()):
        raise Fail(f"{function}: expected {fmt(want.item())}, got {fmt(value)}", rule=function)
    for i, (g, w) in enumerate(zip(grads, s.grad.tolist())):
        if not close(g, w):
            raise Fail(f"{function}: d/d(input {i}) expected {fmt(w)}, got {fmt(g)}", rule=function)


@check(
    5,
    2,
    "hinge_loss: value and gradient",
    hint="mean over points of relu(1 - y * score), with y in {-1, +1}",
)
def hinge(ctx):
    y = torch.tensor(LABELS, dtype=torch.float64)
    _compare_loss(
        ctx, "hinge_loss", lambda s: torch.relu(1 - y * s).mean(), scores=SCORES, labels=LABELS
    )


@check(5, 1, "l2_penalty: value and gradient", hint="alpha * sum of p * p over the parameters")
def l2(ctx):
    _compare_loss(ctx, "l2_penalty", lambda s: 0.01 * (s * s).sum(), scores=SCORES, alpha=0.01)


@check(5, 2, "SGD.step: p.data -= lr * p.grad", hint="step against the gradient, in place")
def sgd(ctx):
    params, grads, lr = [0.5, -1.0, 2.0], [0.25, -3.0, 0.0], 0.1
    reply = ctx.sandbox.request("sgd", params=params, grads=grads, lr=lr)
    got = numbers(reply, "params", 3, "parameters after one step")
    want = [p - lr * g for p, g in zip(params, grads)]
    if not all(close(a, b) for a, b in zip(got, want)):
        raise Fail(
            f"after a step with lr {lr} and grads {grads}: expected "
            f"{[fmt(v) for v in want]}, got {[fmt(v) for v in got]}",
            rule="SGD.step",
        )


def _torch_steps(nin, nouts, params, X, y, lr, alpha, steps):
    model = TorchMLP(nin, nouts, params)
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    for _ in range(steps):
        for t in model.tensors():
            t.grad = None
        scores = model(Xt)[:, 0]
        loss = torch.relu(1 - yt * scores).mean() + alpha * sum(
            (t * t).sum() for t in model.tensors()
        )
        loss.backward()
        with torch.no_grad():
            for t in model.tensors():
                t -= lr * t.grad
    return model.flat_params()


@check(
    5,
    2,
    "train_step: forward, hinge + L2, zero_grad, backward, step",
    hint="zero the grads before backward(): they accumulate with +=",
)
def train_step(ctx):
    rng = random.Random(5)
    nouts = [4, 1]
    params = [round(rng.uniform(-1, 1), 4) for _ in range(param_count(2, nouts))]
    X = [[round(rng.uniform(-1.5, 1.5), 3) for _ in range(2)] for _ in range(6)]
    y = [1, -1, 1, -1, 1, -1]
    lr, alpha, steps = 0.5, 1e-3, 3
    reply = ctx.sandbox.request(
        "train_step", nin=2, nouts=nouts, params=params, X=X, y=y, lr=lr, alpha=alpha, steps=steps
    )
    got = numbers(reply, "params", len(params), "parameters after training steps")
    want = _torch_steps(2, nouts, params, X, y, lr, alpha, steps)
    bad = [i for i, (a, b) in enumerate(zip(got, want)) if not close(a, b)]
    if bad:
        i = bad[0]
        raise Fail(
            f"after {steps} steps of train_step, parameter {i} is {fmt(got[i])}, expected "
            f"{fmt(want[i])} ({len(bad)} of {len(want)} differ)",
            rule="train_step",
        )


def moons_data():
    from micrograd_reference.data import moons_split, to_lists

    (Xtr, ytr), (Xte, yte) = moons_split(
        MOONS_TRAIN, MOONS_TEST, noise=MOONS_NOISE, seed=MOONS_SEED
    )
    return to_lists(Xtr, ytr), to_lists(Xte, yte)


def accuracy(params, X, y):
    model = TorchMLP(2, MOONS_SIZES, params)
    with torch.no_grad():
        scores = model(torch.tensor(X, dtype=torch.float64))[:, 0]
    return sum((s > 0) == (t > 0) for s, t in zip(scores.tolist(), y)) / len(y), model


@check(
    5,
    3,
    f"training on two moons reaches {MOONS_THRESHOLD:.0%} held-out accuracy",
    hint="the grader runs your fit() -> train_step() on a seeded training set, then measures "
    "accuracy itself on points your code never saw",
)
def moons(ctx):
    (X, y), (Xt, yt) = moons_data()
    reply = ctx.sandbox.request(
        "fit",
        nin=2,
        nouts=MOONS_SIZES,
        seed=MOONS_SEED,
        X=X,
        y=y,
        steps=MOONS_STEPS,
        alpha=MOONS_ALPHA,
        timeout=60,
    )
    params = numbers(reply, "params", param_count(2, MOONS_SIZES), "trained parameters")
    acc, model = accuracy(params, Xt, yt)
    if ctx.out_dir is not None:
        from micrograd_reference.viz import plot_decision_boundary

        def predict(rows):
            with torch.no_grad():
                return model(torch.tensor(rows, dtype=torch.float64))[:, 0].tolist()

        ctx.out_dir.mkdir(parents=True, exist_ok=True)
        path = ctx.out_dir / "exercise-5-decision-boundary.png"
        plot_decision_boundary(predict, Xt, yt, path, title=f"held-out accuracy {acc:.1%}")
        ctx.pictures.append(path)
    if acc < MOONS_THRESHOLD:
        losses = reply.get("losses") or []
        trend = f"; loss went from {fmt(losses[0])} to {fmt(losses[-1])}" if len(losses) > 1 else ""
        raise Fail(
            f"held-out accuracy {acc:.1%} after {MOONS_STEPS} steps on {MOONS_TRAIN} points, "
            f"below {MOONS_THRESHOLD:.0%}{trend}"
        )
