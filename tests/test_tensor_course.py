"""Part two's course helpers: a Tensor's graph shows each array's shape, the digits' pictures
(images, weights, a confusion matrix, the misclassified), and the digits found from a
workspace through the installed kit, never inside a sandbox-like interpreter."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from micrograd_reference import viz
from micrograd_reference.data import DIGITS, digits_file, load_digits
from micrograd_reference.engine import Value
from micrograd_reference.tensor import Tensor
from tests.conftest import ROOT

pytestmark = pytest.mark.kit
PNG = b"\x89PNG\r\n\x1a\n"


def test_a_tensor_graph_shows_each_shape_and_a_wrong_shaped_grad():
    x = Tensor(np.arange(6.0).reshape(2, 3), label="x")
    b = Tensor([1.0, 2.0, 3.0], label="b")
    out = (x + b).sum()
    out.backward()
    dot = viz.graph_dot(out)
    assert "data (2, 3): 1, 3, 5, …" in dot and "grad (3,): 2, 2, 2" in dot
    assert "data 27.0000" in dot  # a 0-d loss reads as a number
    b.grad = np.ones((1, 3))  # the classic bug: a gradient of the wrong shape shows as such
    assert "grad (1, 3): 1, 1, 1" in viz.graph_dot(out)
    # fields stacked one above the other: downward (the default) braces turn a record's
    # fields; left to right, a Tensor's go without them, a Value's keep theirs (side by side)
    assert 'label="{ x | data (2, 3)' in dot
    assert 'label="x | data (2, 3)' in viz.graph_dot(out, rankdir="LR")
    assert 'label="{ data 1.0000 | grad 0.0000 }"' in viz.graph_dot(Value(1.0), rankdir="LR")


def test_a_broken_tensor_grad_is_drawn_not_raised():
    t = Tensor([1.0, 2.0])
    t.grad = None
    assert "grad None" in viz.graph_dot(t)


def test_digit_pictures_are_pngs_and_square_images_only():
    X, y = load_digits()
    for picture in [
        viz.plot_images(X[:12], y[:12]),
        viz.plot_weights(np.random.default_rng(0).normal(size=(64, 20))),
        viz.plot_confusion(y, np.roll(y, 1)),
        viz.plot_misclassified(X, y, np.roll(y, 1)),
        viz.plot_misclassified(X, y, y),  # none wrong: still a picture
        viz.plot_curves([(1.0, 0.5), (0.5, 0.9)], xlabel="epoch"),
    ]:
        assert picture.png.startswith(PNG)
    with pytest.raises(ValueError, match="not square"):
        viz.plot_images(np.ones((2, 10)))


def test_plot_confusion_counts(monkeypatch):
    shown = {}
    monkeypatch.setattr(viz, "_finish", lambda fig, path: shown.setdefault("fig", fig))
    viz.plot_confusion([0, 0, 1, 2], [0, 1, 1, 2], classes=3)
    (ax,) = shown["fig"].axes
    assert "75.0% right" in ax.get_title()
    assert ax.images[0].get_array().tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_decision_boundary_of_a_tensor_model_scoring_numpy_numbers():
    # a numpy float64 has a .data too (a memoryview): scores must be read as numbers
    def predict(rows):
        return np.asarray(rows)[:, 0] - np.asarray(rows)[:, 1]

    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert viz.plot_decision_boundary(predict, X, [0, 1], resolution=5).png.startswith(PNG)


def test_digits_are_found_from_a_workspace_through_the_installed_kit(tmp_path):
    # a workspace's data.py has no datasets/ beside it: the installed kit's copy is found
    package = tmp_path / "micrograd"
    package.mkdir()
    shutil.copy(ROOT / "exercises" / "micrograd" / "data.py", package)
    (package / "__init__.py").write_text("")
    code = "from micrograd.data import digits_file, load_digits; print(digits_file()); "
    code += "print(load_digits()[0].shape)"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    found, shape = run.stdout.splitlines()
    assert found == str(DIGITS) == str(digits_file()) and shape == "(1797, 64)"
    # where neither is to be seen (as in the grader's sandbox: numpy alone, no site-packages),
    # a clear error
    numpy_only = tmp_path / "numpy-only"
    numpy_only.mkdir()
    for name in ["numpy", "numpy.libs"]:
        if (Path(np.__file__).parents[1] / name).exists():
            (numpy_only / name).symlink_to(Path(np.__file__).parents[1] / name)
    code = "import sys; sys.path[:0] = ['.', sys.argv[1]]; import micrograd.data as d; "
    code += "d.digits_file()"
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(numpy_only)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "FileNotFoundError" in run.stderr
    assert "load_digits(path)" in run.stderr


def test_micrograd_exports_tensor_lazily():
    code = "import sys, micrograd; assert 'micrograd.tensor' not in sys.modules; "
    code += "from micrograd import Tensor; print(Tensor([1.0, 2.0]).shape)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "(2,)"
