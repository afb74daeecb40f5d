"""Part two's data: the shipped digits, their splits, MNIST's IDX files; and the modules a
student's sandbox runs import nothing but numpy and the standard library."""

import ast
import gzip
import hashlib
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from micrograd_reference import data
from micrograd_reference.data import digits_split, load_digits, load_mnist, read_idx

pytestmark = pytest.mark.kit
PACKAGE = Path(data.__file__).resolve().parent


def test_load_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 1 and ((X * 16) == np.round(X * 16)).all()
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_the_shipped_file_is_scikit_learns():
    digest = hashlib.sha256(data.DIGITS.read_bytes()).hexdigest()
    assert digest == "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
    assert digest in (PACKAGE / "datasets" / "README.md").read_text()
    datasets = pytest.importorskip("sklearn.datasets")
    theirs = datasets.load_digits()
    X, y = load_digits()
    assert (X * 16 == theirs.data).all() and (y == theirs.target).all()


def test_digits_split():
    (X, y), (X_test, y_test) = digits_split(seed=3, test_fraction=0.25)
    assert len(X_test) == round(0.25 * 1797) and len(X) + len(X_test) == 1797
    rows = {r.tobytes() for r in X}
    all_rows = {r.tobytes() for r in load_digits()[0]}
    assert len(all_rows - rows - {r.tobytes() for r in X_test}) == 0
    (X2, _), (X2_test, _) = digits_split(seed=3, test_fraction=0.25)
    assert (X2 == X).all() and (X2_test == X_test).all()
    (_, _), (X4_test, _) = digits_split(seed=4, test_fraction=0.25)
    assert not (X4_test == X_test).all()
    order = np.random.default_rng(3).permutation(1797)
    assert (y_test == load_digits()[1][order[: len(y_test)]]).all()


def write_idx(path: Path, array: np.ndarray, code: int, compress: bool) -> None:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}i", *array.shape)
    body = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(body) if compress else body)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dot_names", [False, True])
def test_load_mnist_reads_the_four_idx_files(tmp_path, compress, dot_names):
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (5, 28, 28)), "t10k": rng.integers(0, 256, (3, 28, 28))}
    labels = {"train": rng.integers(0, 10, 5), "t10k": rng.integers(0, 10, 3)}
    for split in ("train", "t10k"):
        sep = "." if dot_names else "-"
        gz = ".gz" if compress else ""
        path = tmp_path / f"{split}-images{sep}idx3-ubyte{gz}"
        write_idx(path, images[split].astype(np.uint8), 0x08, compress)
        path = tmp_path / f"{split}-labels{sep}idx1-ubyte{gz}"
        write_idx(path, labels[split].astype(np.uint8), 0x08, compress)
    (X, y), (X_test, y_test) = load_mnist(tmp_path)
    assert X.shape == (5, 784) and X_test.shape == (3, 784) and X.dtype == np.float32
    assert (X * 255 == images["train"].reshape(5, -1)).all()
    assert (X_test * 255 == images["t10k"].reshape(3, -1)).all()
    assert y.dtype == np.int64 and (y == labels["train"]).all() and (y_test == labels["t10k"]).all()


def test_read_idx_types_and_errors(tmp_path):
    a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    write_idx(tmp_path / "a", a, 0x0C, False)
    assert (read_idx(tmp_path / "a") == a).all()
    f = np.linspace(-1, 1, 7)
    write_idx(tmp_path / "f", f, 0x0E, True)
    assert (read_idx(tmp_path / "f") == f).all()
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(struct.pack(">BBBBi", 0, 0, 8, 1, 10) + bytes(9))
    with pytest.raises(ValueError, match="9 bytes"):
        read_idx(tmp_path / "short")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)


STANDARD = set(sys.stdlib_module_names)


@pytest.mark.parametrize(
    "module", ["data.py", "tensor.py", "tensor_nn.py", "tensor_train.py", "conv.py"]
)
def test_part_two_imports_numpy_and_the_standard_library_only(module):
    # a student's code runs where only numpy and the standard library exist
    tree = ast.parse((PACKAGE / module).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported - STANDARD <= {"numpy"}, imported - STANDARD
