"""Losses and regularisation, each a composition of Value operations (no rules of their own).

Labels follow the loss: hinge and mean squared error take y in {-1, +1}; binary
cross-entropy takes y in {0, 1}. `scores` are the model's raw outputs (Values).
"""


def mse_loss(scores, ys):
    """Mean squared error: (1/n) * sum_i (s_i - y_i)**2."""
    # TODO exercise-6: mse_loss
    # Return a Value: the mean over points of (s - y)**2, built from Value ops so that
    # backward() reaches every score.
    raise NotImplementedError("exercise-6: mse_loss")


def hinge_loss(scores, ys):
    """micrograd's max-margin loss: (1/n) * sum_i max(0, 1 - y_i * s_i)."""
    # TODO exercise-5: hinge_loss
    # Return a Value: the mean over points of max(0, 1 - y*s), built from Value ops
    # (relu(x) is max(0, x)) so that backward() reaches every score.
    raise NotImplementedError("exercise-5: hinge_loss")


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
    # TODO exercise-5: l2_penalty
    # Return a Value: alpha times the sum of p**2 over params (built from Value ops).
    raise NotImplementedError("exercise-5: l2_penalty")
