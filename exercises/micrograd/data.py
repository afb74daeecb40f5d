"""Two interleaving half circles ("moons"), the data set of micrograd's demo.

The points follow scikit-learn's make_moons formula; the random draws (shuffle and noise)
come from numpy's default_rng(seed), not sklearn's RandomState, so with noise or shuffling
the points differ from sklearn's for the same seed. Only the noise-free, unshuffled points
(noise=0, shuffle=False) equal sklearn's exactly.
"""

import numpy as np


def make_moons(n_samples=100, noise=0.1, seed=0, shuffle=True):
    """(X, y): X of shape (n_samples, 2), y of shape (n_samples,) with labels 0 and 1.

    With n_out = n_samples // 2 and n_in = n_samples - n_out, t running over
    linspace(0, pi, n) for each moon:
        outer moon, label 0: (cos t, sin t)
        inner moon, label 1: (1 - cos t, 1 - sin t - 0.5)
    then, as in sklearn, the rows are shuffled and N(0, noise**2) is added to each coordinate.
    """
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.vstack(
        [
            np.append(np.cos(t_out), 1 - np.cos(t_in)),
            np.append(np.sin(t_out), 1 - np.sin(t_in) - 0.5),
        ]
    ).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    rng = np.random.default_rng(seed)
    if shuffle:
        order = rng.permutation(n_samples)
        X, y = X[order], y[order]
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    return X, y


def moons_split(n_train=100, n_test=100, noise=0.1, seed=0):
    """((X_train, y_train), (X_test, y_test)) from one shuffled draw of n_train + n_test points.

    One draw, cut in two, so that no point is in both sets and both come from the same moons.
    """
    X, y = make_moons(n_train + n_test, noise=noise, seed=seed)
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


def to_lists(X, y, labels="pm1"):
    """(rows, labels) as plain Python numbers, which is what a Value engine takes.

    labels="pm1" maps {0, 1} to {-1, +1} (y * 2 - 1, for hinge and squared losses);
    labels="01" keeps {0, 1} (for binary cross-entropy).
    """
    if labels not in ("pm1", "01"):
        raise ValueError(f'labels must be "pm1" or "01", got {labels!r}')
    rows = [[float(v) for v in row] for row in X]
    ys = [int(v) * 2 - 1 if labels == "pm1" else int(v) for v in y]
    return rows, ys
