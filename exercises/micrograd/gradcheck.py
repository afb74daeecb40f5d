"""Slopes by finite differences, and the gradient check every later exercise can lean on.

A derivative is a limit: f'(x) = lim_{h -> 0} (f(x + h) - f(x)) / h. A computer cannot take
the limit, so it takes a small h, and pays twice: for a step too large (the slope of a chord
is not the slope of the curve) and for a step too small (f is computed in floating point).
exercise-0.md asks how each error grows with h, and which h balances them.
"""


def forward_difference(f, x, h):
    """The slope of f at x from one step forward: (f(x + h) - f(x)) / h."""
    # TODO exercise-0: forward_difference
    # Estimate f'(x) from f's values at x and at x + h (f takes and returns a number).
    raise NotImplementedError("exercise-0: forward_difference")


def central_difference(f, x, h):
    """The slope of f at x from one step each way: (f(x + h) - f(x - h)) / (2h)."""
    # TODO exercise-0: central_difference
    # Estimate f'(x) from f's values at x + h and at x - h, one step each side of x.
    raise NotImplementedError("exercise-0: central_difference")


def relative_error(a, b):
    """|a - b| relative to the larger of |a| and |b|; 0 when both are 0."""
    # TODO exercise-0: relative_error
    # How far apart a and b are, relative to their size, so that 1e-7 means "seven
    # digits agree" whether the numbers are near 1e-3 or 1e3. Two zeros agree exactly.
    raise NotImplementedError("exercise-0: relative_error")


def good_step():
    """The step h that numerical_gradient uses unless told otherwise."""
    # TODO exercise-0: good_step
    # Return the h for central differences of functions whose values are about 1:
    # small enough that the truncation error is tiny, large enough that the rounding
    # error is too. Print the error for h = 1e-1, 1e-2, ..., 1e-13 and look.
    raise NotImplementedError("exercise-0: good_step")


def numerical_gradient(f, xs, h=None):
    """[df/dxs[0], df/dxs[1], ...] by central differences; f takes a list of numbers.

    h defaults to good_step().
    """
    # TODO exercise-0: numerical_gradient
    # One central difference per input: move xs[i] alone by +h and -h (keep the
    # others fixed) and take the slope. Leave the caller's xs as it was.
    raise NotImplementedError("exercise-0: numerical_gradient")


def gradient_check(f, xs, grads, h=None):
    """The largest relative error between `grads` (e.g. from backward()) and the numerical
    gradient of f at xs; below 1e-6 or so the two agree."""
    # TODO exercise-0: gradient_check
    # Compare each of grads with the numerical gradient of f at xs (same h), and
    # return the worst relative error, one number.
    raise NotImplementedError("exercise-0: gradient_check")
