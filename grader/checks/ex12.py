"""exercise-12: training on the handwritten digits: batches, an epoch, accuracy, then a whole run.

The digits (reference/micrograd/datasets/digits.csv.gz, read here with micrograd_reference's
load_digits) are split by a seed drawn from the course's secret; the grader sends the training
rows to the worker, never the held-out ones, and measures held-out accuracy itself, from the
parameters the student's code trained. As needle's homework does, an epoch is checked loss by
loss against the reference engine's epoch from the same start and the same order (the
reference, installed as micrograd_reference, runs in the grader's process).

Regions these checks run: tensor_train.py's exercise-12 regions; the epoch and the run also
run the student's MLP, SGD and zero_grad (exercise 11), relu, backward() (8) and
cross_entropy (10): a right answer needs them all.

Why these numbers (measured on 12 splits): MLP(64, [32, 10]), 15 epochs, batch 32, lr 0.05,
momentum 0.9 reaches 0.944 to 0.983 held-out (0.16 s of CPU with the reference engine); the
threshold is THRESHOLD, and a split is used only if the reference clears it by MARGIN from the
very start the student's code is given. (A straight line, softmax regression, reaches 0.96 on
digits: the threshold is a sanity check of a whole run; the epoch's trajectory is the test.)
"""

from __future__ import annotations

import functools
import random

import numpy as np
from hypothesis import strategies as st

from grader.checks import course
from grader.checks.checking import Fail, check, close, fmt
from grader.checks.properties import for_all
from grader.checks.strategies import _SEED, tie_arrays
from grader.checks.tensor_models import (
    check_shapes,
    mlp_init,
    mlp_shapes,
    param_names,
    params_payload,
    read_params,
)
from grader.checks.tensors import calling, one_thread, shape_text, show, unwire, wire

NOUTS = [32, 10]
EPOCHS, BATCH, LR, MOMENTUM = 15, 32, 0.05, 0.9
THRESHOLD, MARGIN = 0.94, 0.01


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    from micrograd_reference.data import load_digits

    return load_digits()


def split(seed: int):
    from micrograd_reference.data import split as split_rows

    return split_rows(*digits(), seed=seed)


def reference_model(kind: str, params: list[np.ndarray]):
    """The reference engine's MLP (or ConvNet) holding these parameters."""
    from micrograd_reference.conv import ConvNet
    from micrograd_reference.tensor_nn import MLP

    model = (
        ConvNet(np.random.default_rng(0), channels=8)
        if kind == "conv"
        else MLP(64, NOUTS, np.random.default_rng(0))
    )
    for p, v in zip(model.parameters(), params):
        p.data = np.array(v, dtype=np.float64)
    return model


def reference_fit(kind, params, X, y, epochs, seed) -> tuple[list[float], list[np.ndarray]]:
    from micrograd_reference.tensor_train import fit

    model = reference_model(kind, params)
    losses = fit(model, X, y, epochs=epochs, batch_size=BATCH, lr=LR, momentum=MOMENTUM, seed=seed)
    return losses, [p.data for p in model.parameters()]


def held_out(kind: str, params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    from micrograd_reference.tensor_train import accuracy

    return accuracy(reference_model(kind, params)(X).data, y)


# -- batches and accuracy --------------------------------------------------------------------


@check(
    12,
    1,
    "batches: one rng.permutation(n), cut from the front into batch_size pieces",
    hint="order = rng.permutation(n); then order[i : i + batch_size] for i = 0, batch_size, ...",
)
def batches(ctx):
    def judge(case):
        n, size, seed = case
        with calling(f"batches({n}, {size}, np.random.default_rng({seed}))", "batches"):
            reply = ctx.sandbox.request("tensor_batches", n=n, batch_size=size, seed=seed)
        want = [
            list(b)
            for b in np.array_split(
                np.random.default_rng(seed).permutation(n), range(size, n, size)
            )
        ]
        got = reply.get("batches")
        got = [unwire(b) for b in got] if isinstance(got, list) else None
        if got is not None and all(not isinstance(b, str) for b in got):
            if [b.astype(int).tolist() for b in got] == want:
                return
            flat = sorted(int(i) for b in got for i in b.ravel())
            why = (
                "every index 0..n-1 once, so the order is wrong: rng.permutation(n), one draw"
                if flat == list(range(n))
                else "every index 0..n-1 must be in exactly one batch"
            )
            shown = [b.astype(int).tolist() for b in got][:4]
        else:
            why, shown = "expected a list of index arrays", reply.get("type", got)
        raise Fail(
            f"batches({n}, {size}, np.random.default_rng({seed})): expected {str(want)[:150]}, "
            f"got {str(shown)[:150]}: {why}",
            rule="batches",
        )

    sizes = st.integers(1, 40).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(1, n + 2), _SEED)
    )
    for_all(ctx, sizes, judge, 4)


@check(
    12,
    1,
    "accuracy: the fraction of rows whose largest logit is at the label (ties: the first)",
    hint="logits.argmax(axis=1) == y, then the mean, as a float.",
)
def accuracy(ctx):
    def judge(case):
        logits, y = case
        with calling(f"accuracy(logits of shape {shape_text(logits.shape)}, y)", "accuracy"):
            reply = ctx.sandbox.request("tensor_accuracy", logits=wire(logits), y=y)
        got = unwire(reply.get("value"))
        want = float(np.mean(logits.argmax(axis=1) == np.array(y)))
        if isinstance(got, str) or got.shape != () or not close(float(got), want):
            shown = got if isinstance(got, str) else show(got)
            raise Fail(
                f"accuracy(logits of shape {shape_text(logits.shape)}, y = {y}): expected "
                f"{fmt(want)}, got {shown}. The prediction of a row is the index of its "
                f"largest logit along axis 1 (the classes), the first of tied ones\n    logits: "
                f"{show(logits, 12)}",
                rule="accuracy",
            )

    @st.composite
    def cases(draw):
        n, c = draw(st.integers(1, 8)), draw(st.integers(2, 5))
        y = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
        return draw(tie_arrays((n, c))), y

    for_all(ctx, cases(), judge, 4)


# -- an epoch, and a whole run --------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def epoch_case(seed: int) -> tuple:
    """A split, a start and an order drawn from the check's seed (the course's secret), and
    the reference's epoch from there: (X, y, params, order, its losses). Cached: a batch
    draws and trains it once, not once per student (nothing here is a student's)."""
    rng = random.Random(seed)  # the check's ctx.rng, before any other draw
    (X, y), _ = split(rng.randrange(2**32))
    order = rng.randrange(2**32)
    params = mlp_init(64, NOUTS, order)
    losses, _ = reference_fit("mlp", params, X, y, 1, order)
    for a in (X, y, *params):
        a.flags.writeable = False  # shared by every submission: no one may change it
    return X, y, params, order, losses


def _train(ctx, kind: str, X, y, params, seed, epochs: int | None) -> dict:
    model = {"kind": "mlp", "nin": 64, "nouts": NOUTS, "seed": seed}
    if kind == "conv":
        model = {"kind": "conv", "channels": 8, "seed": seed}
    payload = dict(
        model=model,
        params=params_payload(params),
        X=wire(X, scale=16),
        y=[int(v) for v in y],
        lr=LR,
        momentum=MOMENTUM,
        batch_size=BATCH,
        seed=seed,
        timeout=60,
    )
    what = f"training ({kind}) on {len(X)} digits"
    with calling(what, "train_epoch" if kind == "mlp" else "conv2d"):
        if epochs is None:
            return ctx.sandbox.request("tensor_epoch", **payload)
        return ctx.sandbox.request("tensor_fit", epochs=epochs, **payload)


def judge_losses(what: str, got_raw, want: list[float], rule: str) -> None:
    """Every batch's loss, in order, against the reference's."""
    if not isinstance(got_raw, list) or len(got_raw) != len(want):
        n = len(got_raw) if isinstance(got_raw, list) else "no list"
        raise Fail(
            f"{what}: expected {len(want)} losses, one per batch of {BATCH} (the last one "
            f"smaller), in order; got {n}",
            rule=rule,
        )
    for k, (g, w) in enumerate(zip(got_raw, want)):
        g = unwire(g)
        if isinstance(g, str) or g.shape != () or not close(float(g), w):
            shown = g if isinstance(g, str) else show(g)
            later = (
                ""
                if k
                else (
                    " The first batch is the rows rng.permutation(n)[:batch_size], before any step"
                )
            )
            raise Fail(
                f"{what}: the loss of batch {k} is {shown}, expected (the reference's) "
                f"{fmt(w)}"
                + (
                    f"; batches 0..{k - 1} matched: check the step after a batch "
                    "(zero_grad, backward, optimizer.step)"
                    if k
                    else "." + later
                ),
                rule=rule,
            )


@check(
    12,
    3,
    "one seeded epoch on the digits: every batch's loss equals the reference's",
    hint="for each batch of batches(len(X), batch_size, rng): loss = cross_entropy(model(X[idx]), "
    "y[idx]); zero_grad; backward; step; keep float(loss.data).",
)
def epoch(ctx):
    X, y, params, seed, want = epoch_case(course.seed_for(ctx.purpose))
    reply = _train(ctx, "mlp", X, y, params, seed, None)
    what = f"train_epoch on {len(X)} digits, MLP(64, {NOUTS}), batches of {BATCH}"
    check_shapes(reply, mlp_shapes(64, NOUTS), param_names(NOUTS), what)
    if "losses" not in reply:
        raise Fail(f"{what}: train_epoch should return a list of losses, got a {reply.get('type')}")
    judge_losses(what, reply.get("losses"), want, "train_epoch")


@functools.lru_cache(maxsize=4)
def run_case(seed: int, kind: str = "mlp", epochs: int = EPOCHS, threshold: float = THRESHOLD):
    """A split and a start from which the reference clears `threshold` by MARGIN: (split seed,
    params, order seed, the reference's losses, its held-out accuracy). Cached: a batch draws
    it once, not once per student."""
    from micrograd_reference.conv import ConvNet

    rng = random.Random(seed)
    for _ in range(20):
        split_seed, order = rng.randrange(2**32), rng.randrange(2**32)
        (X, y), (Xt, yt) = split(split_seed)
        if kind == "conv":
            params = [
                p.data for p in ConvNet(np.random.default_rng(order), channels=8).parameters()
            ]
        else:
            params = mlp_init(64, NOUTS, order)
        losses, trained = reference_fit(kind, params, X, y, epochs, order)
        acc = held_out(kind, trained, Xt, yt)
        if acc >= threshold + MARGIN:
            return split_seed, params, order, losses, acc
    raise RuntimeError("no split on which the reference clears the threshold")


def judge_run(ctx, kind: str, epochs: int, threshold: float, rule: str) -> None:
    with one_thread():
        _judge_run(ctx, kind, epochs, threshold, rule)


def _judge_run(ctx, kind: str, epochs: int, threshold: float, rule: str) -> None:
    split_seed, params, order, want_losses, ref_acc = run_case(
        course.seed_for(ctx.purpose), kind, epochs, threshold
    )
    (X, y), (Xt, yt) = split(split_seed)
    reply = _train(ctx, kind, X, y, params, order, epochs)
    name = "ConvNet(channels=8)" if kind == "conv" else f"MLP(64, {NOUTS})"
    what = f"fit({name}, {epochs} epochs, batches of {BATCH}) on {len(X)} digits"
    shapes = [np.shape(p) for p in params]
    check_shapes(reply, shapes, [f"parameters()[{k}]" for k in range(len(shapes))], what)
    trained = read_params(reply, "params", shapes, f"{what}: the trained parameters")
    acc = held_out(kind, trained, Xt, yt)
    if acc < threshold:
        losses = [unwire(v) for v in reply.get("losses") or []]
        losses = [float(v) for v in losses if not isinstance(v, str) and v.shape == ()]
        trend = (
            f"; the batch loss went from {fmt(losses[0])} to {fmt(losses[-1])}" if losses else ""
        )
        raise Fail(
            f"{what}: held-out accuracy {acc:.1%} on {len(Xt)} digits your code never saw, "
            f"below {threshold:.0%} (the reference reaches {ref_acc:.1%} from the same start, "
            f"in the same order){trend}",
            rule=rule,
        )
    judge_losses(what, reply.get("losses"), want_losses, rule)


@check(
    12,
    3,
    f"a whole run ({EPOCHS} epochs) reaches {THRESHOLD:.0%} held-out accuracy on a secret split",
    hint="fit() calls your train_epoch each epoch with one rng: a right epoch gives a right run.",
)
def run(ctx):
    judge_run(ctx, "mlp", EPOCHS, THRESHOLD, "train_epoch")
