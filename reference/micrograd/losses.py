"""Losses and regularisation, each a composition of Value operations (no rules of their own).

Labels follow the loss: hinge and mean squared error take y in {-1, +1}; binary
cross-entropy takes y in {0, 1}. `scores` are the model's raw outputs (Values).
"""


def mse_loss(scores, ys):
    """Mean squared error: (1/n) * sum_i (s_i - y_i)**2."""
    # BEGIN exercise-6: mse_loss
    # ask: Return a Value: the mean over points of (s - y)**2, built from Value ops so that
    # ask: backward() reaches every score.
    # derivative: Each point costs the square of its miss, whichever side it is on; the mean
    # derivative: keeps the loss's size (and so a good learning rate) the same whatever the
    # derivative: number of points. d/ds_i = 2 * (s_i - y_i) / n.
    return sum((s - y) ** 2 for s, y in zip(scores, ys)) * (1.0 / len(ys))
    # END exercise-6


def hinge_loss(scores, ys):
    """micrograd's max-margin loss: (1/n) * sum_i max(0, 1 - y_i * s_i)."""
    # BEGIN exercise-5: hinge_loss
    # ask: Return a Value: the mean over points of max(0, 1 - y*s), built from Value ops
    # ask: (relu(x) is max(0, x)) so that backward() reaches every score.
    # derivative: A point costs nothing once on the right side with a margin (y*s >= 1).
    losses = [(1 + -y * s).relu() for s, y in zip(scores, ys)]
    return sum(losses) * (1.0 / len(losses))
    # END exercise-5


def _softplus(z):
    # log(1 + e**z), the smooth ramp; its derivative is sigmoid(z). For z >= 0 the same
    # function is z + log(1 + e**-z), whose exp cannot overflow; both forms are smooth, so
    # choosing by the sign of z keeps every gradient exact.
    if z.data >= 0:
        return z + (1 + (-z).exp()).log()
    return (1 + z.exp()).log()


def bce_loss(scores, ys):
    """Binary cross-entropy through the sigmoid, labels in {0, 1}.

    -[y log s(z) + (1-y) log(1 - s(z))] with s the sigmoid equals
    y * softplus(-z) + (1-y) * softplus(z); written that way, a confident prediction
    (s(z) rounding to exactly 1.0) never takes log(0). Its gradient is s(z) - y.
    """
    terms = [y * _softplus(-z) + (1 - y) * _softplus(z) for z, y in zip(scores, ys)]
    return sum(terms) * (1.0 / len(terms))


def l2_penalty(params, alpha):
    """L2 regularisation: alpha * sum_p p**2, which pulls every weight towards 0."""
    # BEGIN exercise-5: l2_penalty
    # ask: Return a Value: alpha times the sum of p**2 over params (built from Value ops).
    # derivative: d/dp (alpha * p**2) = 2 * alpha * p: each step shrinks p in proportion
    # derivative: to its size.
    return alpha * sum(p * p for p in params)
    # END exercise-5
