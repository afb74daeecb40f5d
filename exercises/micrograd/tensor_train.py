"""Training a classifier on Tensor: minibatches, an epoch, the loop, and accuracy.

X is an array of input rows (N, features), y an array of integer labels (N,); the model maps
a batch of rows to logits (rows, classes). Every random draw (each epoch's order) comes from
one numpy Generator, so a seed fixes the whole run.
"""

from __future__ import annotations

import numpy as np

from .tensor import cross_entropy
from .tensor_nn import SGD, Module


def batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The indices 0..n-1 in the order rng.permutation(n), cut from the front into arrays of
    batch_size (the last one smaller when batch_size does not divide n)."""
    # TODO exercise-12: batches
    # One draw of rng.permutation(n), cut from the front into batches of batch_size.
    raise NotImplementedError("exercise-12: batches")


def train_epoch(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    optimizer: SGD,
    batch_size: int,
    rng: np.random.Generator,
) -> list[float]:
    """One pass over the data in the order batches(len(X), batch_size, rng) draws; returns
    each batch's loss (before its step), in order."""
    # TODO exercise-12: train_epoch
    # For each batch of indices: the logits of those rows of X, their cross_entropy with
    # those labels, zero the grads, backward, a step of the optimizer; keep each loss
    # as a float.
    raise NotImplementedError("exercise-12: train_epoch")


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """The fraction of rows whose largest logit is at their label."""
    # TODO exercise-12: accuracy
    # The predicted class of a row is the index of its largest logit (ties: the first).
    raise NotImplementedError("exercise-12: accuracy")


def evaluate(model: Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of the model on all of X at once, no step taken."""
    logits = model(X)
    return float(cross_entropy(logits, y).data), accuracy(logits.data, y)


def fit(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 30,
    batch_size: int = 32,
    lr: float = 0.05,
    momentum: float = 0.9,
    seed: int = 0,
    log=None,
) -> list[float]:
    """Train with SGD and momentum; returns every batch's loss. One Generator,
    np.random.default_rng(seed), draws every epoch's order; `log`, if given, is called as
    log(epoch, losses of that epoch) after each epoch."""
    rng = np.random.default_rng(seed)
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = []
    for epoch in range(epochs):
        epoch_losses = train_epoch(model, X, y, optimizer, batch_size, rng)
        losses += epoch_losses
        if log is not None:
            log(epoch, epoch_losses)
    return losses
