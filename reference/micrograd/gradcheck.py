"""Slopes by finite differences, and the gradient check every later exercise can lean on.

A derivative is a limit: f'(x) = lim_{h -> 0} (f(x + h) - f(x)) / h. A computer cannot take
the limit, so it takes a small h, and pays twice: for a step too large (the slope of a chord
is not the slope of the curve) and for a step too small (f is computed in floating point).
exercise-0.md asks how each error grows with h, and which h balances them.
"""


def forward_difference(f, x, h):
    """The slope of f at x from one step forward: (f(x + h) - f(x)) / h."""
    # BEGIN exercise-0: forward_difference
    # ask: Estimate f'(x) from f's values at x and at x + h (f takes and returns a number).
    # derivative: (f(x + h) - f(x)) / h; its error is about h/2 |f''(x)|.
    return (f(x + h) - f(x)) / h
    # END exercise-0


def central_difference(f, x, h):
    """The slope of f at x from one step each way: (f(x + h) - f(x - h)) / (2h)."""
    # BEGIN exercise-0: central_difference
    # ask: Estimate f'(x) from f's values at x + h and at x - h, one step each side of x.
    # derivative: (f(x + h) - f(x - h)) / (2 * h): the h**2 terms of the two Taylor
    # derivative: expansions cancel, so its error is about h**2/6 |f'''(x)|.
    return (f(x + h) - f(x - h)) / (2 * h)
    # END exercise-0


def relative_error(a, b):
    """|a - b| relative to the larger of |a| and |b|; 0 when both are 0."""
    # BEGIN exercise-0: relative_error
    # ask: How far apart a and b are, relative to their size, so that 1e-7 means "seven
    # ask: digits agree" whether the numbers are near 1e-3 or 1e3. Two zeros agree exactly.
    # derivative: |a - b| / max(|a|, |b|), and 0 when both are 0 (no division by zero).
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale
    # END exercise-0


def good_step():
    """The step h that numerical_gradient uses unless told otherwise."""
    # BEGIN exercise-0: good_step
    # ask: Return the h for central differences of functions whose values are about 1:
    # ask: small enough that the truncation error is tiny, large enough that the rounding
    # ask: error is too. Print the error for h = 1e-1, 1e-2, ..., 1e-13 and look.
    # derivative: Truncation ~ h**2/6, rounding ~ eps/h (eps = 2.2e-16): their sum is
    # derivative: smallest near h = (3 * eps) ** (1/3), about 1e-5.
    return 1e-5
    # END exercise-0


def numerical_gradient(f, xs, h=None):
    """[df/dxs[0], df/dxs[1], ...] by central differences; f takes a list of numbers.

    h defaults to good_step().
    """
    # BEGIN exercise-0: numerical_gradient
    # ask: One central difference per input: move xs[i] alone by +h and -h (keep the
    # ask: others fixed) and take the slope. Leave the caller's xs as it was.
    h = good_step() if h is None else h
    grads = []
    for i in range(len(xs)):
        up = list(xs)
        down = list(xs)
        up[i] += h
        down[i] -= h
        grads.append((f(up) - f(down)) / (2 * h))
    return grads
    # END exercise-0


def gradient_check(f, xs, grads, h=None):
    """The largest relative error between `grads` (e.g. from backward()) and the numerical
    gradient of f at xs; below 1e-6 or so the two agree."""
    # BEGIN exercise-0: gradient_check
    # ask: Compare each of grads with the numerical gradient of f at xs (same h), and
    # ask: return the worst relative error, one number.
    numeric = numerical_gradient(f, xs, h)
    return max((relative_error(g, n) for g, n in zip(grads, numeric)), default=0.0)
    # END exercise-0
