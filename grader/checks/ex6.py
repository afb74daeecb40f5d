"""exercise-6: mean squared error on the lecture's four examples with a tanh MLP, and minibatch
SGD (batches shuffled with a seed, a learning rate that decays), each followed step by step in
PyTorch. The grader replays the student's shuffle with the same random.Random(seed), which the
page states exactly, so every batch's loss can be compared.
"""

import random

from grader.checks.checking import Fail, check, close, fmt, numbers
from grader.checks.ex5 import _compare_loss, _rate, _schedule
from grader.checks.later import torch
from grader.checks.models import TorchMLP, param_count

# the lecture's tiny data set
LECTURE_X = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
LECTURE_Y = [1.0, -1.0, -1.0, 1.0]


def expected_batches(n: int, batch_size: int, rng: random.Random) -> list[list[int]]:
    order = list(range(n))
    rng.shuffle(order)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def torch_minibatch(nin, nouts, activation, params, X, y, loss, lr, batch_size, epochs, seed):
    """minibatch_sgd in PyTorch: every batch's loss, and the parameters after."""
    model = TorchMLP(nin, nouts, params, activation)
    rng, losses, k = random.Random(seed), [], 0
    for _ in range(epochs):
        for batch in expected_batches(len(X), batch_size, rng):
            model.zero_grad()
            s = model(torch.tensor([X[i] for i in batch], dtype=torch.float64))[:, 0]
            ys = torch.tensor([y[i] for i in batch], dtype=torch.float64)
            value = ((s - ys) ** 2).mean() if loss == "mse_loss" else torch.relu(1 - ys * s).mean()
            value.backward()
            model.step(_rate(lr, k))
            losses.append(value.item())
            k += 1
    return losses, model.flat_params()


@check(6, 1, "mse_loss: value and gradient", hint="the mean over points of (score - label)**2")
def mse(ctx):
    for n in (3, 6):
        scores, labels = (
            [ctx.uniform(-2, 2) for _ in range(n)],
            [ctx.uniform(-1, 1) for _ in range(n)],
        )
        ys = torch.tensor(labels, dtype=torch.float64)
        f = lambda s, ys=ys: ((s - ys) ** 2).mean()  # noqa: E731
        _compare_loss(ctx, "mse_loss", f, scores=scores, labels=labels)


@check(
    6,
    2,
    "batches: every index once, in the order of rng.shuffle, cut from the front",
    hint="order = list(range(n)); rng.shuffle(order); then slices of batch_size",
)
def batches(ctx):
    # the first n is no multiple of 3: a short last batch, under every secret
    short = ctx.rng.choice([7, 8, 10, 11, 13, 14])
    for n, size in [(short, 3), (ctx.rng.randint(4, 9), 1), (5, 5)]:
        seed = ctx.rng.randrange(2**31)
        reply = ctx.sandbox.request("batches", n=n, batch_size=size, seed=seed)
        got, want = reply.get("batches"), expected_batches(n, size, random.Random(seed))
        if got != want:
            shown = str(got)[:120]
            if isinstance(got, list) and sorted(
                i for b in got if isinstance(b, list) for i in b
            ) != list(range(n)):
                why = "every index 0..n-1 must appear exactly once"
            else:
                why = (
                    "the order must be rng.shuffle's on list(range(n)), cut into batch_size slices"
                )
            raise Fail(
                f"batches({n}, {size}, random.Random({seed})): expected {want}, got {shown}: {why}",
                rule="batches",
            )


def _judge_training(ctx, what, nin, nouts, activation, X, y, loss, lr, batch_size, epochs):
    label = f"minibatch_sgd, {what}"
    params = [ctx.uniform(-1, 1) for _ in range(param_count(nin, nouts))]
    seed = ctx.rng.randrange(2**31)
    reply = ctx.sandbox.request(
        "minibatch",
        nin=nin,
        nouts=nouts,
        activation=activation,
        params=params,
        X=X,
        y=y,
        loss=loss,
        lr=lr,
        batch_size=batch_size,
        epochs=epochs,
        seed=seed,
        timeout=30,
    )
    want_losses, want = torch_minibatch(
        nin, nouts, activation, params, X, y, loss, lr, batch_size, epochs, seed
    )
    got_losses = reply.get("losses")
    if not isinstance(got_losses, list) or len(got_losses) != len(want_losses):
        count = len(got_losses) if isinstance(got_losses, list) else got_losses
        raise Fail(
            f"{label}: {epochs} epochs of {len(X)} points in batches of {batch_size} are "
            f"{len(want_losses)} steps, so {len(want_losses)} losses; got {str(count)[:60]}",
            rule="minibatch_sgd",
        )
    got_losses = numbers(reply, "losses", len(want_losses), f"{label}: the batches' losses")
    for k, (g, w) in enumerate(zip(got_losses, want_losses)):
        if not close(g, w):
            raise Fail(
                f"{label}: the loss of step k = {k} is {fmt(g)}, expected {fmt(w)} (steps before "
                "it matched). Check the batch's rows, that zero_grad comes before backward, and "
                "that step(k) gets the step count of the whole run",
                rule="minibatch_sgd",
            )
    got = numbers(reply, "params", len(want), f"{label}: the trained parameters")
    bad = [i for i, (a, b) in enumerate(zip(got, want)) if not close(a, b)]
    if bad:
        raise Fail(
            f"{label}: every loss matched, but after the last step parameters()[{bad[0]}] is "
            f"{fmt(got[bad[0]])}, expected {fmt(want[bad[0]])}: is the last batch's step taken?",
            rule="minibatch_sgd",
        )


@check(
    6,
    3,
    "MSE on the lecture's four examples, tanh MLP(3, [4, 4, 1]), step by step against PyTorch",
    hint="full batches (batch_size 4): loss = mse_loss, zero_grad, backward, step(k)",
)
def lecture_mse(ctx):
    lr = [ctx.uniform(0.05, 0.2), ctx.uniform(0.005, 0.02), 40]
    _judge_training(
        ctx,
        "the lecture's examples",
        3,
        [4, 4, 1],
        "tanh",
        LECTURE_X,
        LECTURE_Y,
        "mse_loss",
        lr,
        batch_size=4,
        epochs=8,
    )


@check(
    6,
    3,
    "minibatch SGD: shuffled batches, a decaying learning rate, step by step against PyTorch",
    hint="one random.Random(seed) for the run; batches(len(X), batch_size, rng) every epoch; "
    "k counts steps over all epochs",
)
def minibatch(ctx):
    batch_size = ctx.rng.randint(2, 4)
    # n is no multiple of the batch size: each epoch ends with a short batch
    n = ctx.rng.choice([k for k in range(9, 14) if k % batch_size])
    X = [[ctx.uniform(-2, 2) for _ in range(2)] for _ in range(n)]
    y = [ctx.rng.choice((-1.0, 1.0)) for _ in range(n)]
    _judge_training(
        ctx,
        "minibatch SGD",
        2,
        [4, 1],
        "relu",
        X,
        y,
        "hinge_loss",
        _schedule(ctx),
        batch_size=batch_size,
        epochs=3,
    )
