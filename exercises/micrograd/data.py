"""Two interleaving half circles ("moons"), the data set of micrograd's demo.

The points follow scikit-learn's make_moons formula; the random draws (shuffle and noise)
come from numpy's default_rng(seed), not sklearn's RandomState, so with noise or shuffling
the points differ from sklearn's for the same seed. Only the noise-free, unshuffled points
(noise=0, shuffle=False) equal sklearn's exactly.

Part two's handwritten digits: the 8x8 digits shipped in datasets/ (load_digits, digits_split)
and MNIST where you have its files (load_mnist). numpy and the standard library only.
"""

import gzip
import math
from pathlib import Path

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


# -- part two: handwritten digits ------------------------------------------------------------

DIGITS = Path(__file__).resolve().parent / "datasets" / "digits.csv.gz"


def digits_file() -> Path:
    """Where the digits are: beside this file (the kit's reference), else in the kit's
    installed reference package, micrograd_reference, as a workspace or notebook that
    `pip install -e .` set up finds it. Student code run by the grader finds neither (it
    sees no file of the kit): the grader hands it the arrays."""
    if DIGITS.is_file():
        return DIGITS
    import importlib.util

    spec = importlib.util.find_spec("micrograd_reference")  # found, not imported
    for folder in (spec and spec.submodule_search_locations) or []:
        path = Path(folder) / "datasets" / "digits.csv.gz"
        if path.is_file():
            return path
    raise FileNotFoundError(
        "the digits (datasets/digits.csv.gz) are neither beside micrograd/data.py nor in an "
        "installed kit (pip install -e . at the kit's root); pass the file's path: "
        "load_digits(path)"
    )


def load_digits(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): the 1,797 8x8 digits, X float64 (1797, 64) in [0, 1], y int64 (1797,) in 0..9.

    Each line of the file is 64 pixel counts 0..16 (the image row by row), then the label
    (datasets/README.md says where it comes from); the counts are divided by 16. Without a
    path, the file is found by digits_file().
    """
    with gzip.open(path or digits_file(), "rt") as f:
        raw = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return raw[:, :64] / 16.0, raw[:, 64]


def split(X: np.ndarray, y: np.ndarray, seed: int = 0, test_fraction: float = 0.2):
    """((X_train, y_train), (X_test, y_test)): the rows in the order
    np.random.default_rng(seed).permutation(len(X)), the first round(test_fraction * len(X))
    of them held out for testing, the rest for training."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = round(test_fraction * len(X))
    test, train = order[:n_test], order[n_test:]
    return (X[train], y[train]), (X[test], y[test])


def digits_split(seed: int = 0, test_fraction: float = 0.2):
    """The digits, split by split(): ((X_train, y_train), (X_test, y_test))."""
    return split(*load_digits(), seed=seed, test_fraction=test_fraction)


# IDX files (MNIST's format): two zero bytes, a type code, the number of dimensions, each
# dimension as a big-endian int32, then the values, big-endian, row-major.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """One IDX file, gzipped (by its first two bytes, 1f 8b) or not, as a numpy array."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (it starts {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int(n) for n in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    body = raw[4 + 4 * ndim :]
    if len(body) != dtype.itemsize * math.prod(shape):
        raise ValueError(f"{path}: {len(body)} bytes of data for a shape {shape} of {dtype}")
    return np.frombuffer(body, dtype).reshape(shape).astype(dtype.newbyteorder("="))


MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def load_mnist(folder: str | Path):
    """((X_train, y_train), (X_test, y_test)) from MNIST's four IDX files in `folder`.

    Each file may be named as published (train-images-idx3-ubyte, ...; also with a '.'
    before idx) and gzipped (.gz) or not. X is float32 (N, 784) in [0, 1] (pixels / 255;
    float32 halves the 60,000 rows' memory, 188 MB; a Tensor makes each batch float64),
    y int64 (N,).
    """
    folder = Path(folder)
    arrays = {}
    for key, name in MNIST_FILES.items():
        names = [name, name.replace("-idx", ".idx")]
        found = [folder / f"{n}{gz}" for n in names for gz in ("", ".gz")]
        found = [p for p in found if p.exists()]
        if not found:
            raise FileNotFoundError(f"{folder}: no {name} (nor {name}.gz)")
        arrays[key] = read_idx(found[0])
    images = {k: arrays[f"{k}_images"] for k in ("train", "test")}
    labels = {k: arrays[f"{k}_labels"] for k in ("train", "test")}
    for k in ("train", "test"):
        if len(images[k]) != len(labels[k]):
            raise ValueError(f"{k}: {len(images[k])} images but {len(labels[k])} labels")
    return tuple(
        (
            images[k].reshape(len(images[k]), -1).astype(np.float32) / np.float32(255),
            labels[k].astype(np.int64),
        )
        for k in ("train", "test")
    )
