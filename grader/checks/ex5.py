"""exercise-5: the hinge loss, L2, the SGD step, the training step; then training on moons.

Every number a check sends (scores, labels, alpha, parameters, gradients, learning rates, step
numbers, the moons themselves) is drawn from the course's secret, and each function is tried
at more than one input, with every argument and returned value compared with PyTorch's.

The moons check runs the student's own `fit` (which calls their train_step) in the worker, from
initial parameters the grader chooses, takes back only the trained parameters, and measures
accuracy here, on held-out points the student's code never sees. The moons are rotated,
shifted and labelled (which moon is +1) at random, so no fixed set of weights can pass.

Why these numbers (benchmarks/moons_threshold.py measures them):
- A draw is used only if the best straight line on the held-out points (every direction tried)
  stays MOONS_LINEAR_MARGIN below MOONS_THRESHOLD, so that only a boundary that curls passes,
  and only if the same recipe, trained in PyTorch from the same initial parameters, clears the
  threshold by MOONS_TORCH_MARGIN: a correct train_step follows that very trajectory.
- MOONS_TRAIN points, MOONS_STEPS steps, MLP(2, MOONS_SIZES): under 30 s with micrograd 0.1.0's
  engine and nn as the student's code.
"""

import functools
import math
import random

import numpy as np

from grader.checks import course
from grader.checks.checking import Fail, check, close, fmt, numbers
from grader.checks.ex4 import expected_layout
from grader.checks.later import torch
from grader.checks.models import TorchMLP, param_count

MOONS_TRAIN, MOONS_TEST, MOONS_NOISE = 40, 200, 0.1
MOONS_STEPS, MOONS_SIZES, MOONS_ALPHA = 80, [8, 8, 1], 1e-4
MOONS_THRESHOLD = 0.95
MOONS_LINEAR_MARGIN = 0.05  # the best straight line reaches at most 0.90 on every draw used
MOONS_TORCH_MARGIN = 0.02  # the recipe in PyTorch reaches at least 0.97 on every draw used


def _labels(ctx, n):
    return [ctx.rng.choice((-1, 1)) for _ in range(n)]


def _compare_loss(ctx, function, torch_value, **payload):
    reply = ctx.sandbox.request("loss", module="micrograd.losses", function=function, **payload)
    n = len(payload["scores"])
    value = numbers({"v": [reply.get("value")]}, "v", 1, f"{function}'s value")[0]
    grads = numbers(reply, "grads", n, f"{function}'s gradients")
    s = torch.tensor(payload["scores"], dtype=torch.float64, requires_grad=True)
    want = torch_value(s)
    want.backward()
    args = ", ".join(f"{k} = {v}" for k, v in payload.items())
    if not close(value, want.item()):
        raise Fail(f"{function}({args}): expected {fmt(want.item())}, got {fmt(value)}", function)
    for i, (g, w) in enumerate(zip(grads, s.grad.tolist())):
        if not close(g, w):
            raise Fail(
                f"{function}({args}): d/d(scores[{i}]) expected {fmt(w)}, got {fmt(g)}", function
            )


@check(
    5,
    2,
    "hinge_loss: value and gradient",
    hint="mean over points of relu(1 - y * score), with y in {-1, +1}",
)
def hinge(ctx):
    for n in (4, 7):
        # scores on both sides of the margin y * s = 1, labels of both signs
        scores, labels = [ctx.uniform(-2.5, 2.5) for _ in range(n)], _labels(ctx, n)
        y = torch.tensor(labels, dtype=torch.float64)
        f = lambda s, y=y: torch.relu(1 - y * s).mean()  # noqa: E731
        _compare_loss(ctx, "hinge_loss", f, scores=scores, labels=labels)


@check(5, 1, "l2_penalty: value and gradient", hint="alpha * sum of p * p over the parameters")
def l2(ctx):
    for n in (3, 6):
        scores, alpha = [ctx.uniform(-2, 2) for _ in range(n)], ctx.uniform(0.001, 0.5)
        f = lambda s, a=alpha: a * (s * s).sum()  # noqa: E731
        _compare_loss(ctx, "l2_penalty", f, scores=scores, alpha=alpha)


def _schedule(ctx):
    """A linear-decay schedule [start, end, steps] (lr(k) = start - (start - end) * k / steps)."""
    start = ctx.uniform(0.2, 1.5)
    return [start, round(start * ctx.uniform(0.05, 0.5), 4), ctx.rng.randint(10, 200)]


def _rate(lr, k):
    if isinstance(lr, list):
        start, end, steps = lr
        return start - (start - end) * k / steps
    return lr


@check(
    5,
    2,
    "SGD.step: each parameter moves against its gradient, by the step's learning rate",
    hint="p.data changes by -lr(k) * p.grad, in place; lr may be a number or a schedule of k",
)
def sgd(ctx):
    for lr, k in [(ctx.uniform(0.01, 1), 0), (_schedule(ctx), ctx.rng.randint(1, 9))]:
        n = ctx.rng.randint(3, 6)
        params = [ctx.uniform(-2, 2) for _ in range(n)]
        grads = [ctx.uniform(-3, 3) for _ in range(n)]
        reply = ctx.sandbox.request("sgd", params=params, grads=grads, lr=lr, k=k)
        got = numbers(reply, "params", n, "parameters after one step")
        rate = _rate(lr, k)
        want = [p - rate * g for p, g in zip(params, grads)]
        if not all(close(a, b) for a, b in zip(got, want)):
            what = f"lr {lr}" if k == 0 else f"the schedule lr(k) = {fmt(rate)} at step k = {k}"
            raise Fail(
                f"after step({k}) with {what}, parameters {params} and grads {grads}: expected "
                f"{[fmt(v) for v in want]}, got {[fmt(v) for v in got]}",
                rule="SGD.step",
            )


def torch_steps(nouts, params, X, y, lr, alpha, steps, k0=0, mistake=""):
    """Train torch's MLP with train_step's recipe: (loss, accuracy) before each step, and the
    parameters after. `mistake` replays a common error, to say which one a student made."""
    model = TorchMLP(len(X[0]), nouts, params)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    returns = []
    for k in range(k0, k0 + steps):
        if mistake != "no zero_grad":
            model.zero_grad()
        scores = model(Xt)[:, 0]
        data_loss = torch.relu(1 - yt * scores).mean()
        penalty = alpha * sum((t * t).sum() for t in model.tensors())
        loss = data_loss if mistake == "no L2" else data_loss + penalty
        acc = ((scores > 0) == (yt > 0)).double().mean().item()
        returns.append([loss.item(), acc])
        loss.backward()
        model.step(_rate(lr, 0 if mistake == "step(0)" else k))
    return returns, model.flat_params()


MISTAKES = {
    "no zero_grad": "the grads were never zeroed, so each step added to the last one's: "
    "call optimizer.zero_grad() before loss.backward()",
    "no L2": "the loss has no L2 penalty: loss = hinge_loss(...) + l2_penalty(params, alpha)",
    "step(0)": "the step number was not passed on: optimizer.step(k), so that the schedule "
    "moves on",
}


def _diagnose(got, nouts, params, X, y, lr, alpha, steps, k0) -> str:
    """Which common mistake the student's parameters match, if any."""
    if all(close(a, b) for a, b in zip(got, params)):
        return (
            " The parameters did not move at all: is optimizer.step(k) called, and after "
            "loss.backward() (a step before backward uses grads that were just zeroed)?"
        )
    for mistake, why in MISTAKES.items():
        _, want = torch_steps(nouts, params, X, y, lr, alpha, steps, k0, mistake)
        if all(close(a, b, rel=1e-5) for a, b in zip(got, want)):
            return f" They match what happens when {why}."
    return ""


@check(
    5,
    2,
    "train_step: parameters after each step and the (loss, accuracy) it returns",
    hint="forward, loss = hinge + L2, zero_grad, backward, step(k); return (loss.data, accuracy) "
    "from before the step",
)
def train_step(ctx):
    nouts, rows, steps = [4, 1], 6, 3
    # drawn again until a step changes the accuracy: then an accuracy (or a loss) measured
    # after the step, not before it as the page says, differs under every secret
    while True:
        params = [ctx.uniform(-1, 1) for _ in range(param_count(2, nouts))]
        X = [[ctx.uniform(-1.5, 1.5) for _ in range(2)] for _ in range(rows)]
        y = _labels(ctx, rows - 2) + [1, -1]
        lr, alpha, k0 = _schedule(ctx), ctx.uniform(1e-3, 0.05), ctx.rng.randint(1, 9)
        want_returns, want = torch_steps(nouts, params, X, y, lr, alpha, steps, k0)
        if len({acc for _, acc in want_returns}) > 1:
            break
    payload = dict(nin=2, nouts=nouts, params=params, X=X, y=y, lr=lr, alpha=alpha, steps=steps)
    reply = ctx.sandbox.request("train_step", k0=k0, **payload)
    got = numbers(reply, "params", len(params), "parameters after training steps")
    bad = [i for i, (a, b) in enumerate(zip(got, want)) if not close(a, b)]
    if bad:
        i = bad[0]
        raise Fail(
            f"after {steps} calls of train_step (k = {k0}..{k0 + steps - 1}, lr a schedule), "
            f"parameters()[{i}] ({expected_layout(2, nouts)[i]}) is {fmt(got[i])}, expected "
            f"{fmt(want[i])} ({len(bad)} of "
            f"{len(want)} differ)." + _diagnose(got, nouts, params, X, y, lr, alpha, steps, k0),
            rule="train_step",
        )
    returned = reply.get("returns")
    if not isinstance(returned, list) or len(returned) != steps:
        raise Fail(
            "train_step should return (loss, accuracy), two numbers; it returned "
            f"{str(reply.get('returns_text', returned))[:120]}",
            rule="train_step",
        )
    for k, (pair, (loss, acc)) in enumerate(zip(returned, want_returns), start=k0):
        pair = numbers({"v": pair}, "v", 2, f"train_step's (loss, accuracy) at k = {k}")
        if not close(pair[0], loss):
            raise Fail(
                f"train_step at k = {k} returned loss {fmt(pair[0])}, expected {fmt(loss)}: "
                "loss.data of hinge + L2, from before the step",
                rule="train_step",
            )
        if not close(pair[1], acc):
            raise Fail(
                f"train_step at k = {k} returned accuracy {fmt(pair[1])}, expected {fmt(acc)}: "
                "accuracy(scores, y) of the scores before the step",
                rule="train_step",
            )


# -- the moons ------------------------------------------------------------------------------


def best_linear(X: np.ndarray, y: np.ndarray, directions: int = 720) -> float:
    """The best accuracy any straight line reaches on (X, y): every direction, every cut."""
    best = 0.0
    for a in np.linspace(0, 2 * np.pi, directions, endpoint=False):
        ys = y[np.argsort(X @ np.array([math.cos(a), math.sin(a)]))]
        # predict +1 above the cut: right are the -1s below it and the +1s above it
        below = np.concatenate([[0], np.cumsum(ys < 0)])
        above = np.concatenate([np.cumsum((ys > 0)[::-1])[::-1], [0]])
        best = max(best, float((below + above).max()) / len(y))
    return best


def draw_moons(rng):
    """((X, y), (X_test, y_test)) as lists: moons rotated, shifted and labelled at random."""
    from micrograd_reference.data import make_moons

    X, y = make_moons(MOONS_TRAIN + MOONS_TEST, noise=MOONS_NOISE, seed=rng.randrange(2**32))
    turn = rng.uniform(0, 2 * math.pi)
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    shift = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5)])
    X = (X - np.array([0.5, 0.25])) @ rotation.T + shift  # centred, turned, moved
    y = (2 * y - 1) * rng.choice((-1, 1))
    X, y = np.round(X, 4), y.astype(int)
    n = MOONS_TRAIN
    return (X[:n].tolist(), y[:n].tolist()), (X[n:].tolist(), y[n:].tolist())


def initial_params(rng) -> list[float]:
    """micrograd's initialisation: weights uniform in [-1, 1], biases 0."""
    sizes = [2, *MOONS_SIZES]
    out: list[float] = []
    for a, b in zip(sizes, sizes[1:]):
        for _ in range(b):
            out += [round(rng.uniform(-1, 1), 4) for _ in range(a)] + [0.0]
    return out


def moons_case(rng):
    """A draw that only a curling boundary passes and that the recipe, done right, clears."""
    # tiny tensors: one thread is fastest, and several fight over a busy machine's cores
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _moons_case(rng)
    finally:
        torch.set_num_threads(threads)


def _moons_case(rng):
    schedule = [1.0, 0.1, MOONS_STEPS]  # fit's default, linear_decay(1.0, 0.1, steps)
    while True:
        (X, y), (Xt, yt) = draw_moons(rng)
        linear = best_linear(np.array(Xt), np.array(yt))
        if linear > MOONS_THRESHOLD - MOONS_LINEAR_MARGIN:
            continue
        for _ in range(5):
            params = initial_params(rng)
            _, trained = torch_steps(MOONS_SIZES, params, X, y, schedule, MOONS_ALPHA, MOONS_STEPS)
            if accuracy(trained, Xt, yt)[0] >= MOONS_THRESHOLD + MOONS_TORCH_MARGIN:
                return (X, y), (Xt, yt), params, linear


@functools.lru_cache(maxsize=4)
def cached_case(seed: int):
    """moons_case for the check's own seed (ctx.rng's): a batch draws it once, not per student."""
    return moons_case(random.Random(seed))


def accuracy(params, X, y):
    model = TorchMLP(2, MOONS_SIZES, params)
    with torch.no_grad():
        scores = model(torch.tensor(X, dtype=torch.float64))[:, 0]
    return sum((s > 0) == (t > 0) for s, t in zip(scores.tolist(), y)) / len(y), model


@check(
    5,
    3,
    f"end to end, your whole code: training on two moons reaches {MOONS_THRESHOLD:.0%} "
    "held-out accuracy",
    hint="the grader runs your fit() -> train_step() on a secret training set from its own "
    "initial parameters, then measures accuracy itself on points your code never saw",
    end_to_end=True,  # the course's one check of the whole stack: engine, MLP, losses, SGD
)
def moons(ctx):
    (X, y), (Xt, yt), params, linear = cached_case(course.seed_for(ctx.purpose))
    reply = ctx.sandbox.request(
        "fit",
        nin=2,
        nouts=MOONS_SIZES,
        params=params,
        X=X,
        y=y,
        steps=MOONS_STEPS,
        alpha=MOONS_ALPHA,
        timeout=60,
    )
    trained = numbers(reply, "params", param_count(2, MOONS_SIZES), "trained parameters")
    acc, model = accuracy(trained, Xt, yt)
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
            f"below {MOONS_THRESHOLD:.0%} (the best straight line gets {linear:.1%} on these "
            f"points: the boundary must curl){trend}"
        )
