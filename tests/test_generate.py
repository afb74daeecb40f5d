"""The generator: committed files match its output, stubs raise what they name."""

import json
import subprocess
import sys

import nbformat
import pytest

from tests.conftest import ROOT, workspace_modules
from tools import generate

pytestmark = pytest.mark.kit

EXERCISES = ROOT / "exercises"


def test_committed_files_equal_the_generators_output():
    stale = [
        str(path.relative_to(ROOT))
        for path, text in generate.expected_files().items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], "run `nox -s build` and commit the result"


def test_generator_is_deterministic():
    assert generate.expected_files() == generate.expected_files()


def test_workspace_imports_without_site_packages():
    # the way the grader's worker imports it: isolated, no site-packages on the path
    code = "import sys; sys.path.insert(0, sys.argv[1]); import micrograd.engine, micrograd.nn"
    code += ", micrograd.losses, micrograd.optim, micrograd.train"
    subprocess.run([sys.executable, "-I", "-S", "-c", code, str(EXERCISES)], check=True)


def _triggers(m):
    """For each stub, a call that reaches it in the untouched workspace."""
    V = m.engine.Value

    def rule(make):
        return lambda: make(V(0.5), V(2.0))._backward()

    return {
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


def test_every_stub_raises_the_message_that_names_it():
    _, regions = generate.load_reference()
    with workspace_modules(EXERCISES, "engine", "nn", "losses", "optim", "train") as m:
        triggers = _triggers(m)
        assert sorted(triggers) == sorted(r.title for r in regions), "a stub has no trigger"
        for r in regions:
            with pytest.raises(NotImplementedError, match=f"^{r.message}$"):
                triggers[r.title]()


def test_stubs_keep_the_math_and_lose_the_code():
    engine = (EXERCISES / "micrograd" / "engine.py").read_text()
    assert "# TODO exercise-2: Value.tanh backward" in engine
    assert "1 - tanh(x)**2" in engine  # the math comment stays
    assert "(1 - out.data**2) * out.grad" not in engine  # the answer goes
    assert "self.grad += out.grad" not in engine


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
    files = [c.metadata[generate.NOTEBOOK_KEY]["file"] for c in marked]
    assert files == [f"micrograd/{m}" for m in generate.EXERCISES_INFO[n][1]]
    for cell, file in zip(marked, files):
        first, _, rest = cell.source.partition("\n")
        assert first == f"%%writefile {file}"
        assert rest == (EXERCISES / file).read_text()
    assert json.loads((EXERCISES / "notebooks" / f"exercise-{n}.ipynb").read_text())
