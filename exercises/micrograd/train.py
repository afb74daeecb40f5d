"""Training a binary classifier on Value: one step, the loop, and accuracy.

X is a list of input rows (lists of numbers), y a list of labels in {-1, +1}; the model's
output for a row is a score whose sign is the predicted class.
"""

import random

from .losses import hinge_loss, l2_penalty
from .optim import SGD, linear_decay


def accuracy(scores, ys):
    """The fraction of points whose score has the sign of their label."""
    return sum((s.data > 0) == (y > 0) for s, y in zip(scores, ys)) / len(ys)


def train_step(model, X, y, optimizer, k, alpha=1e-4):
    """One full-batch step of gradient descent; returns (loss, accuracy) before the step."""
    # TODO exercise-5: train_step
    # Scores for every row of X; loss = hinge_loss + l2_penalty(model.parameters(),
    # alpha); every parameter's grad made the gradient of this loss alone; then
    # optimizer.step(k). Return (loss as a number, accuracy(scores, y)), both from
    # before the step.
    raise NotImplementedError("exercise-5: train_step")


def fit(model, X, y, steps=100, lr=None, alpha=1e-4, log=None):
    """Train `model` for `steps` full-batch steps; returns the history of (loss, accuracy).

    lr defaults to micrograd's schedule, 1.0 - 0.9 * k / steps. `log`, if given, is called
    as log(k, loss, acc) after each step.
    """
    optimizer = SGD(model.parameters(), lr=lr if lr is not None else linear_decay(1.0, 0.1, steps))
    history = []
    for k in range(steps):
        loss, acc = train_step(model, X, y, optimizer, k, alpha)
        history.append((loss, acc))
        if log is not None:
            log(k, loss, acc)
    return history


def batches(n, batch_size, rng):
    """The indices 0..n-1 in a random order, cut into batches of `batch_size` (the last one
    smaller if batch_size does not divide n). The order is [0, 1, ..., n-1] shuffled in place
    by `rng.shuffle` (rng a random.Random), then cut from the front."""
    # TODO exercise-6: batches
    # Shuffle [0, 1, ..., n-1] with rng.shuffle, then cut it from the front into lists of
    # batch_size indices. Why a fresh order every epoch?
    raise NotImplementedError("exercise-6: batches")


def minibatch_sgd(model, X, y, loss_fn, optimizer, batch_size, epochs, seed=0):
    """Stochastic gradient descent on minibatches; returns every batch's loss, in order.

    One rng = random.Random(seed) for the whole run; each epoch draws its batches with
    batches(len(X), batch_size, rng); for each batch: the scores of its rows, loss_fn(scores,
    labels of its rows), zero_grad, backward, optimizer.step(k), with k counting the steps
    from 0 across all epochs (so that a schedule decays over the whole run).
    """
    # TODO exercise-6: minibatch_sgd
    # One rng for the whole run; per epoch, per batch: scores, loss, zero_grad, backward,
    # step(k) with k counting steps across epochs; keep each batch's loss.data.
    raise NotImplementedError("exercise-6: minibatch_sgd")
