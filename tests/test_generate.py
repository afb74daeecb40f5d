"""The generator: committed files match its output, stubs raise what they name."""

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT, workspace_modules
from tools import generate_course as generate

pytestmark = pytest.mark.kit

EXERCISES = ROOT / "exercises"


def test_committed_files_equal_the_generators_output():
    stale = [
        str(path.relative_to(ROOT))
        for path, text in generate.expected_files().items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], "run `nox -s build` and commit the result"


def test_page_pictures_are_drawn_from_the_reference_and_up_to_date():
    assert generate.stale_pictures() == {}, "run `nox -s build` and commit the result"
    svg = (EXERCISES / "pictures" / "exercise-1-graph.svg").read_text()
    # micrograd's lecture example: L = (a*b + c) * f, dL/da = 6, dL/db = -4
    assert "grad 6.0000" in svg and "grad &#45;4.0000" in svg
    for n in generate.EXERCISES_INFO:
        page = (EXERCISES / f"exercise-{n}.md").read_text()
        # exercise 0 (slopes, before any engine) has no graph; every later exercise has one
        assert (f"](pictures/exercise-{n}-graph.svg)" in page) == (n >= 1)


def test_generator_is_deterministic():
    assert generate.expected_files() == generate.expected_files()


def test_workspace_imports_without_site_packages(tmp_path):
    # the way the grader's worker imports it: isolated, no site-packages on the path
    code = "import sys; sys.path.insert(0, sys.argv[1]); import micrograd.engine, micrograd.nn"
    code += ", micrograd.losses, micrograd.optim, micrograd.train"
    subprocess.run([sys.executable, "-I", "-S", "-c", code, str(EXERCISES)], check=True)
    # part two: numpy too, and nothing else
    import numpy

    for name in ["numpy", "numpy.libs"]:
        found = Path(numpy.__file__).parents[1] / name
        if found.exists():
            (tmp_path / name).symlink_to(found)
    code = "import sys; sys.path[:0] = sys.argv[1:]; import micrograd.tensor, micrograd.conv"
    code += ", micrograd.tensor_nn, micrograd.tensor_train, micrograd.data"
    code += "; from micrograd import Tensor; assert 'micrograd_reference' not in sys.modules"
    command = [sys.executable, "-I", "-S", "-c", code, str(EXERCISES), str(tmp_path)]
    subprocess.run(command, check=True)


def _triggers(m):
    """For each stub, a call that reaches it in the untouched workspace."""
    V = m.engine.Value

    def rule(make):
        return lambda: make(V(0.5), V(2.0))._backward()

    g = m.gradcheck
    return {
        "forward_difference": lambda: g.forward_difference(abs, 1.0, 0.1),
        "central_difference": lambda: g.central_difference(abs, 1.0, 0.1),
        "relative_error": lambda: g.relative_error(1.0, 2.0),
        "good_step": lambda: g.good_step(),
        "numerical_gradient": lambda: g.numerical_gradient(sum, [1.0], 0.1),
        "gradient_check": lambda: g.gradient_check(sum, [1.0], [1.0], 0.1),
        "Value.__add__ backward": rule(lambda a, b: a + b),
        "Value.__mul__ backward": rule(lambda a, b: a * b),
        "Value.__pow__ backward": rule(lambda a, b: a**3),
        "Value.exp backward": rule(lambda a, b: a.exp()),
        "Value.log backward": rule(lambda a, b: a.log()),
        "Value.tanh backward": rule(lambda a, b: a.tanh()),
        "Value.relu backward": rule(lambda a, b: a.relu()),
        "Value.sigmoid backward": rule(lambda a, b: a.sigmoid()),
        "Value.backward": lambda: V(1.0).backward(),
        "Module.zero_grad": lambda: m.nn.Module().zero_grad(),
        "Neuron.__init__": lambda: m.nn.Neuron(2),
        "Neuron.__call__": lambda: m.nn.Neuron.__call__(object.__new__(m.nn.Neuron), [1.0]),
        "Neuron.parameters": lambda: object.__new__(m.nn.Neuron).parameters(),
        "Layer.__init__": lambda: m.nn.Layer(2, 2),
        "Layer.__call__": lambda: object.__new__(m.nn.Layer)([1.0]),
        "Layer.parameters": lambda: object.__new__(m.nn.Layer).parameters(),
        "MLP.__init__": lambda: m.nn.MLP(2, [2, 1]),
        "MLP.__call__": lambda: object.__new__(m.nn.MLP)([1.0]),
        "MLP.parameters": lambda: object.__new__(m.nn.MLP).parameters(),
        "hinge_loss": lambda: m.losses.hinge_loss([V(1.0)], [1]),
        "l2_penalty": lambda: m.losses.l2_penalty([V(1.0)], 0.1),
        "SGD.step": lambda: m.optim.SGD([V(1.0)], lr=0.1).step(),
        "train_step": lambda: m.train.train_step(None, [], [], None, 0),
        "mse_loss": lambda: m.losses.mse_loss([V(1.0)], [1.0]),
        "batches": lambda: m.train.batches(3, 2, None),
        "minibatch_sgd": lambda: m.train.minibatch_sgd(None, [], [], None, None, 1, 1),
    }


def _tensor_triggers(m):
    """Part two's stubs, each reached by a call (an earlier exercise's stub that the call
    would meet first stands in from the reference)."""
    import numpy as np

    from micrograd_reference import conv as reference_conv

    T, t, nn, tt, conv = m.tensor.Tensor, m.tensor, m.tensor_nn, m.tensor_train, m.conv
    rng = np.random.default_rng(0)

    def rule(make):
        return lambda: make(T(np.ones((2, 3))), T(np.ones(3)))._backward()

    def matmul():
        t.broadcast_shape = np.broadcast_shapes  # exercise 7's, which the given code calls
        (T(np.ones((2, 3))) @ T(np.ones((3, 4))))._backward()

    def conv2d():
        conv.im2col = reference_conv.im2col  # exercise 13's forward half, given here
        conv.conv2d(T(np.ones((1, 1, 3, 3))), T(np.ones((1, 1, 2, 2))))._backward()

    return {
        "broadcast_shape": lambda: t.broadcast_shape((2,), (2,)),
        "unbroadcast": lambda: t.unbroadcast(np.ones(2), (2,)),
        "Tensor.__add__ backward": rule(lambda a, b: a + b),
        "Tensor.__mul__ backward": rule(lambda a, b: a * b),
        "Tensor.__pow__ backward": rule(lambda a, b: a**2),
        "Tensor.exp backward": rule(lambda a, b: a.exp()),
        "Tensor.log backward": rule(lambda a, b: a.log()),
        "Tensor.tanh backward": rule(lambda a, b: a.tanh()),
        "Tensor.relu backward": rule(lambda a, b: a.relu()),
        "Tensor.sum backward": rule(lambda a, b: a.sum(axis=1)),
        "Tensor.mean backward": rule(lambda a, b: a.mean()),
        "Tensor.max backward": rule(lambda a, b: a.max(axis=0)),
        "Tensor.reshape backward": rule(lambda a, b: a.reshape(3, 2)),
        "Tensor.transpose backward": rule(lambda a, b: a.transpose()),
        "Tensor.backward": lambda: T(1.0).backward(),
        "Tensor.__matmul__ backward": matmul,
        "Tensor.log_softmax backward": rule(lambda a, b: a.log_softmax()),
        "cross_entropy backward": rule(lambda a, b: t.cross_entropy(a, [0, 2])),
        "linear backward": lambda: nn.linear(
            np.ones((2, 3)), T(np.ones((3, 2))), T(np.ones(2))
        )._backward(),
        "Module.zero_grad": lambda: nn.Module().zero_grad(),
        "Linear.__init__": lambda: nn.Linear(3, 2, rng),
        "MLP.__call__": lambda: object.__new__(nn.MLP)(np.ones((1, 3))),
        "MLP.parameters": lambda: object.__new__(nn.MLP).parameters(),
        "SGD.step": lambda: nn.SGD([T(np.ones(2))]).step(),
        "batches": lambda: tt.batches(3, 2, rng),
        "train_epoch": lambda: tt.train_epoch(None, np.ones((3, 2)), np.zeros(3), None, 2, rng),
        "accuracy": lambda: tt.accuracy(np.ones((2, 3)), np.zeros(2)),
        "im2col": lambda: conv.im2col(np.ones((1, 1, 3, 3)), 2, 2),
        "col2im": lambda: conv.col2im(np.ones((1, 2, 2, 4)), (1, 1, 3, 3), 2, 2),
        "conv2d backward": conv2d,
        "max_pool2d backward": lambda: conv.max_pool2d(T(np.ones((1, 1, 4, 4))))._backward(),
    }


def test_every_stub_raises_the_message_that_names_it():
    _, regions = generate.load_reference()
    modules = ["gradcheck", "engine", "nn", "losses", "optim", "train"]
    modules += ["tensor", "tensor_nn", "tensor_train", "conv"]
    with workspace_modules(EXERCISES, *modules) as m:
        # part two's names repeat part one's (SGD.step, batches, ...): one table for each
        parts = {False: _triggers(m), True: _tensor_triggers(m)}
        for two, triggers in parts.items():
            titles = [r.title for r in regions if generate.part_two(r.exercise) == two]
            assert sorted(triggers) == sorted(titles), "a stub has no trigger"
        for r in regions:
            with pytest.raises(NotImplementedError, match=f"^{re.escape(r.message)}$"):
                parts[generate.part_two(r.exercise)][r.title]()


def test_stubs_ask_and_lose_the_code_and_the_derivative():
    engine = (EXERCISES / "micrograd" / "engine.py").read_text()
    assert "# TODO exercise-2: Value.tanh backward" in engine
    assert "# out = tanh(self). Add into self.grad dout/dself * out.grad" in engine  # the ask
    assert "1 - tanh(x)**2" not in engine  # the derivative goes to solutions/
    assert "(1 - out.data**2) * out.grad" not in engine  # the answer goes
    assert "self.grad += out.grad" not in engine
    assert "ask:" not in engine and "derivative:" not in engine  # tags stripped
    solution = (ROOT / "solutions" / "exercise-2.md").read_text()
    assert "# dout/dx = 1 - tanh(x)**2 = 1 - out.data**2." in solution


def _tanh_stub(level: str) -> str:
    sources, _ = generate.load_reference(level)
    engine = sources["engine.py"]
    start = engine.index("# TODO exercise-2: Value.tanh backward")
    return engine[start : engine.index("raise NotImplementedError", start)]


def test_stub_hint_levels_show_more_in_turn():
    none, ask, derivative = (_tanh_stub(level) for level in ("none", "ask", "derivative"))
    assert none.strip() == "# TODO exercise-2: Value.tanh backward"
    assert "out = tanh(self)" in ask and "1 - tanh(x)**2" not in ask
    assert "out = tanh(self)" in derivative and "1 - tanh(x)**2" in derivative


def test_stub_hint_level_option(tmp_path, capsys):
    with pytest.raises(SystemExit):
        generate.main(["--stub-hints", "everything"])
    with pytest.raises(SystemExit):  # --check compares with the default level only
        generate.main(["--check", "--stub-hints", "none"])
    files = generate.expected_files("derivative")
    engine = files[EXERCISES / "micrograd" / "engine.py"]
    assert "# dout/dx = 1 / x." in engine
    nb = files[EXERCISES / "notebooks" / "exercise-2.ipynb"]
    assert "dout/dx = 1 / x." in nb  # the notebooks carry the same stubs


def test_a_region_comment_needs_a_level_tag():
    text = "# BEGIN exercise-1: x\n# ask: fill it\n# the answer\ncode\n# END exercise-1\n"
    with pytest.raises(ValueError, match=r"m.py:3: .*`# ask:` or `# derivative:`"):
        generate.split_regions("m.py", text)


@pytest.mark.parametrize(
    "text, error",
    [
        ("# BEGIN exercise-1: x\ncode\n", "no matching END"),
        ("# END exercise-1\n", "END without BEGIN"),
        ("# BEGIN exercise-1: x\n# BEGIN exercise-1: y\n# END exercise-1\n", "nested"),
        ("# BEGIN exercise-1: x\ncode\n# END exercise-2\n", "no matching END"),
    ],
)
def test_malformed_markers_are_errors(text, error):
    with pytest.raises(ValueError, match=error):
        generate.split_regions("m.py", text)


@pytest.mark.parametrize("n", sorted(generate.EXERCISES_INFO))
def test_notebooks_are_valid_and_mark_the_student_cells(n):
    nb = nbformat.read(EXERCISES / "notebooks" / f"exercise-{n}.ipynb", as_version=4)
    nbformat.validate(nb)
    marked = [c for c in nb.cells if generate.NOTEBOOK_KEY in c.metadata]
    _, regions = generate.load_reference()
    titles = [r.title for r in regions if r.exercise == n]
    assert marked and len(marked) <= len(titles)
    keys = []
    for cell in marked:
        meta = cell.metadata[generate.NOTEBOOK_KEY]
        keys.append(f"{meta['file']} {meta['definition']}")
        first, _, rest = cell.source.partition("\n")
        assert first == f"%%micrograd {meta['file'].removeprefix('micrograd/')}"
        # the definition as the stub file has it, and it holds this exercise's stubs
        method = rest.split("\n", 1)[1] if rest.startswith("class ") else rest
        assert method in (EXERCISES / meta["file"]).read_text()
        assert f"# TODO exercise-{n}:" in rest
    assert sum(c.source.count(f"# TODO exercise-{n}:") for c in marked) == len(titles)
    assert nb.metadata[generate.NOTEBOOK_KEY] == {"exercise": n, "cells": keys}
    assert nb.cells[-1].source == f'check("exercise-{n}")'
    assert json.loads((EXERCISES / "notebooks" / f"exercise-{n}.ipynb").read_text())
