"""The planted-bug catalogue: each an edit of the reference that a student could make, and the
check that must catch it. Plain data, no pytest: tests/test_planted_bugs.py grades each one, and
tools/synthetic_class.py turns each into a student.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Bug:
    exercise: int
    check: str  # the check's exact name, or for exercise-5 a regex its name matches
    edits: dict[str, list[tuple[str, str]]]
    op: str = ""  # the operation the failing check's output must name
    only: bool = False  # the named check is the only one of its exercise that fails
    outcome: str = "wrong"  # how the named check fails ("error in your code": the code raised)


ADD_RULE = "self.grad += out.grad\n            other.grad += out.grad"
MUL_RULE = "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad"

ITERATIVE_TOPO = """\
        topo = []
        visited = set()
        stack = [(self, False)]
        while stack:
            v, inputs_done = stack.pop()
            if inputs_done:
                topo.append(v)
            elif v not in visited:
                visited.add(v)
                stack.append((v, True))
                stack.extend((child, False) for child in v._prev if child not in visited)
"""
RECURSIVE_TOPO = """\
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
"""


WALK = "        for v in reversed(topo):\n            v._backward()\n"
SEED_AND_WALK = "        self.grad = 1\n" + WALK


def engine(*edits: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Edits of engine.py, the file most bugs are in."""
    return {"engine.py": list(edits)}


def apply_edits(name: str, text: str, replacements: list[tuple[str, str]]) -> str:
    """`text` with each (old, new) replaced; each `old` must occur exactly once, so that a change
    to the reference breaks the bug loudly instead of planting nothing."""
    for old, new in replacements:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"{name}: {old!r} occurs {count} times, expected exactly once")
        text = text.replace(old, new)
    return text


def gradcheck(*edits: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Edits of gradcheck.py (exercise-0)."""
    return {"gradcheck.py": list(edits)}


CENTRAL = "return (f(x + h) - f(x - h)) / (2 * h)"

# The mutation table, (id, bug): the ids are the tests' ids in tests/test_planted_bugs.py, which
# fails on any bug that scores full marks on its exercise.
MUTATIONS: list[tuple[str, Bug]] = [
    # exercise-0: slopes and gradient checks
    (
        "central-difference-is-a-forward-difference",
        Bug(
            0, "central difference", gradcheck((CENTRAL, "return (f(x + h) - f(x)) / h")), only=True
        ),
    ),
    (
        "central-difference-wrong-sign",
        Bug(
            0, "central difference", gradcheck((CENTRAL, "return (f(x - h) - f(x + h)) / (2 * h)"))
        ),
    ),
    (
        "numerical-gradient-forward-difference",
        Bug(
            0,
            "numerical gradient of a function of several inputs",
            gradcheck(
                ("grads.append((f(up) - f(down)) / (2 * h))", "grads.append((f(up) - f(xs)) / h)")
            ),
        ),
    ),
    (
        "step-too-small",
        Bug(
            0,
            "a step h that balances truncation and rounding",
            gradcheck(("return 1e-5", "return 1e-12")),
        ),
    ),
    (
        "step-too-large",
        Bug(
            0,
            "a step h that balances truncation and rounding",
            gradcheck(("return 1e-5", "return 1e-2")),
        ),
    ),
    (
        "relative-error-is-absolute",
        Bug(
            0,
            "relative error",
            gradcheck(("return 0.0 if scale == 0 else abs(a - b) / scale", "return abs(a - b)")),
        ),
    ),
    (
        "gradient-check-smallest-error",
        Bug(
            0,
            "gradient check: a right gradient passes, a wrong one is measured",
            gradcheck(("return max((relative_error", "return min((relative_error")),
            only=True,
        ),
    ),
    # exercise-1: + and *
    (
        "add-assigns-instead-of-accumulating",
        Bug(
            1,
            "a node used twice accumulates (+=)",
            engine((ADD_RULE, "self.grad = out.grad\n            other.grad = out.grad")),
            "+",
        ),
    ),
    (
        "mul-uses-own-data",
        Bug(
            1,
            "* backward",
            engine(
                (
                    MUL_RULE,
                    "self.grad += self.data * out.grad\n"
                    "            other.grad += other.data * out.grad",
                )
            ),
            "*",
        ),
    ),
    (
        "add-ignores-upstream",
        Bug(
            1, "+ backward", engine((ADD_RULE, "self.grad += 1\n            other.grad += 1")), "+"
        ),
    ),
    (
        "mul-forgets-upstream",
        Bug(
            1,
            "* backward",
            engine((MUL_RULE, "self.grad += other.data\n            other.grad += self.data")),
            "*",
        ),
    ),
    (
        "mul-assigns-instead-of-accumulating",
        Bug(
            1,
            "a node used twice accumulates (+=)",
            engine((MUL_RULE, MUL_RULE.replace("+=", "="))),
            "*",
        ),
    ),
    (
        "add-forgets-second-input",
        Bug(1, "+ backward", engine((ADD_RULE, "self.grad += out.grad")), "+"),
    ),
    # exercise-2: powers and functions of one input
    (
        "pow-exponent-missing-minus-one",
        Bug(2, "** backward", engine(("self.data ** (other - 1)", "self.data**other")), "**"),
    ),
    (
        "exp-uses-self-data",
        Bug(
            2,
            "exp backward",
            engine(("self.grad += out.data * out.grad", "self.grad += self.data * out.grad")),
            "exp",
        ),
    ),
    (
        "log-multiplies-by-x",
        Bug(
            2,
            "log backward",
            engine(("self.grad += out.grad / self.data", "self.grad += out.grad * self.data")),
            "log",
        ),
    ),
    (
        "tanh-uses-self-data",
        Bug(2, "tanh backward", engine(("(1 - out.data**2)", "(1 - self.data**2)")), "tanh"),
    ),
    (
        "relu-gradient-one-at-zero",
        Bug(2, "relu backward", engine(("(out.data > 0)", "(self.data >= 0)")), "relu"),
    ),
    (
        "sigmoid-missing-one-minus-s",
        Bug(
            2,
            "sigmoid backward",
            engine(("out.data * (1 - out.data) * out.grad", "out.data * out.grad")),
            "sigmoid",
        ),
    ),
    # `=` for `+=` in a rule of one input: right on x alone, wrong on op(x) + x
    *[
        (
            f"{name}-assigns-instead-of-accumulating",
            Bug(2, f"{op} backward", engine((rule, rule.replace("+=", "=", 1))), op),
        )
        for name, op, rule in [
            ("pow", "**", "self.grad += other * self.data ** (other - 1) * out.grad"),
            ("exp", "exp", "self.grad += out.data * out.grad"),
            ("log", "log", "self.grad += out.grad / self.data"),
            ("tanh", "tanh", "self.grad += (1 - out.data**2) * out.grad"),
            ("relu", "relu", "self.grad += (out.data > 0) * out.grad"),
            ("sigmoid", "sigmoid", "self.grad += out.data * (1 - out.data) * out.grad"),
        ]
    ],
    (
        "pow-forgets-upstream",
        Bug(
            2,
            "** backward",
            engine(
                ("other * self.data ** (other - 1) * out.grad", "other * self.data ** (other - 1)")
            ),
            "**",
        ),
    ),
    (
        "tanh-derivative-plus",
        Bug(2, "tanh backward", engine(("(1 - out.data**2)", "(1 + out.data**2)")), "tanh"),
    ),
    (
        "relu-gradient-on-the-wrong-side",
        Bug(2, "relu backward", engine(("(out.data > 0)", "(self.data < 0)")), "relu"),
    ),
    # exercise-3: backward()
    (
        "backward-seeds-after-the-walk",
        Bug(
            3,
            "backward() seeds the output's grad with 1",
            engine(
                (SEED_AND_WALK, WALK + "        self.grad = 1\n"),
            ),
        ),
    ),
    (
        "backward-without-seed",
        Bug(
            3,
            "backward() seeds the output's grad with 1",
            engine(("        self.grad = 1\n", "        pass\n")),
        ),
    ),
    (
        "backward-in-topological-not-reverse-order",
        Bug(
            3,
            "topological order: every node's grad is complete before its rule runs",
            engine(("for v in reversed(topo):", "for v in topo:")),
        ),
    ),
    (
        # A recursive sort (RECURSIVE_TOPO, micrograd's) is not a bug the grader takes points
        # for: it passes the deep chain with a note. Forgetting which nodes were visited is.
        "topological-sort-forgets-visited-nodes",
        Bug(
            3,
            "shared nodes: a diamond",
            engine(
                (
                    "            elif v not in visited:\n                visited.add(v)\n",
                    "            else:\n",
                )
            ),
        ),
    ),
    (
        "backward-does-nothing",
        Bug(
            3,
            "a second backward() after zeroing the grads gives the same grads",
            engine((ITERATIVE_TOPO, "        topo = []\n"), ("        self.grad = 1\n", "")),
        ),
    ),
    # exercise-4: the MLP
    (
        "neuron-parameters-without-bias",
        Bug(
            4,
            "parameters(): count and order",
            {"nn.py": [("return self.w + [self.b]", "return self.w")]},
        ),
    ),
    (
        "layer-parameters-in-reverse-order",
        Bug(
            4,
            "parameters(): count and order",
            {
                "nn.py": [
                    (
                        "for n in self.neurons for p in n.parameters()",
                        "for n in reversed(self.neurons) for p in n.parameters()",
                    )
                ]
            },
        ),
    ),
    (
        "layer-parameters-in-reverse-order-changes-outputs",
        Bug(
            4,
            "MLP(3, [4, 4, 1]) outputs match torch",
            {
                "nn.py": [
                    (
                        "for n in self.neurons for p in n.parameters()",
                        "for n in reversed(self.neurons) for p in n.parameters()",
                    )
                ]
            },
        ),
    ),
    (
        "mlp-last-layer-nonlinear",
        Bug(
            4,
            "MLP(3, [4, 4, 1]) outputs match torch",
            {"nn.py": [("nonlin=i != len(nouts) - 1", "nonlin=True")]},
        ),
    ),
    (
        "zero-grad-no-op",
        Bug(4, "zero_grad() sets every parameter's grad to 0", {"nn.py": [("p.grad = 0", "pass")]}),
    ),
    (
        "neuron-parameters-bias-first",
        Bug(
            4,
            "parameters(): count and order",
            {"nn.py": [("return self.w + [self.b]", "return [self.b] + self.w")]},
        ),
    ),
    (
        "neuron-without-nonlinearity",
        Bug(
            4,
            "MLP(3, [4, 4, 1]) outputs match torch",
            {"nn.py": [('act.tanh() if self.activation == "tanh" else act.relu()', "act")]},
        ),
    ),
    (
        "mlp-skips-the-last-layer",
        Bug(
            4,
            "MLP(3, [4, 4, 1]) outputs match torch",
            {
                "nn.py": [
                    (
                        "for layer in self.layers:\n            x = layer(x)",
                        "for layer in self.layers[:-1]:\n            x = layer(x)",
                    )
                ]
            },
        ),
    ),
    (
        "layer-returns-a-list-of-one",
        Bug(
            4,
            "a layer gives a list of its outputs, or one Value when it has one output",
            {"nn.py": [("return out[0] if len(out) == 1 else out", "return out")]},
        ),
    ),
    # exercise-5: losses, SGD, the training step (names matched by prefix)
    (
        "sgd-step-sign-flipped",
        Bug(5, r"SGD\.step", {"optim.py": [("p.data -= lr * p.grad", "p.data += lr * p.grad")]}),
    ),
    (
        "hinge-without-relu",
        Bug(
            5, r"hinge_loss", {"losses.py": [("(1 + -y * s).relu()", "(1 + -y * s)")]}, "hinge_loss"
        ),
    ),
    (
        "l2-penalty-not-squared",
        Bug(
            5,
            r"l2_penalty",
            {"losses.py": [("sum(p * p for p in params)", "sum(p for p in params)")]},
            "l2_penalty",
        ),
    ),
    (
        "train-step-without-zero-grad",
        Bug(
            5,
            r"train_step",
            {
                "train.py": [
                    ("    optimizer.zero_grad()\n    loss.backward()\n", "    loss.backward()\n")
                ]
            },
            "train_step",
        ),
    ),
    (
        "hinge-sum-not-mean",
        Bug(
            5,
            r"hinge_loss",
            {"losses.py": [("return sum(losses) * (1.0 / len(losses))", "return sum(losses)")]},
            "hinge_loss",
        ),
    ),
    (
        "hinge-sign-flipped",
        Bug(5, r"hinge_loss", {"losses.py": [("(1 + -y * s)", "(1 + y * s)")]}, "hinge_loss"),
    ),
    (
        "l2-penalty-without-alpha",
        Bug(
            5,
            r"l2_penalty",
            {"losses.py": [("return alpha * sum(p * p", "return sum(p * p")]},
            "l2_penalty",
        ),
    ),
    (
        "sgd-step-ignores-k",
        Bug(5, r"SGD\.step", {"optim.py": [("lr = self.rate(k)", "lr = self.rate(0)")]}),
    ),
    (
        "train-step-without-l2",
        Bug(
            5,
            r"train_step",
            {
                "train.py": [
                    (
                        "loss = hinge_loss(scores, y) + l2_penalty(model.parameters(), alpha)",
                        "loss = hinge_loss(scores, y)",
                    )
                ]
            },
            "L2",
        ),
    ),
    (
        "train-step-passes-step-zero",
        Bug(
            5,
            r"train_step",
            {
                "train.py": [
                    ("    optimizer.step(k)\n    return", "    optimizer.step(0)\n    return")
                ]
            },
            "step(k)",
        ),
    ),
    (
        "train-step-zero-grad-after-backward",
        Bug(
            5,
            r"train_step",
            {
                "train.py": [
                    (
                        "    optimizer.zero_grad()\n    loss.backward()\n",
                        "    loss.backward()\n    optimizer.zero_grad()\n",
                    )
                ]
            },
            "did not move",
        ),
    ),
    (
        "train-step-returns-the-loss-value-object",
        Bug(
            5,
            r"train_step",
            {"train.py": [("return loss.data, accuracy", "return loss, accuracy")]},
            "return",
        ),
    ),
    # exercise-6: mean squared error and minibatches
    (
        "mse-sum-not-mean",
        Bug(
            6,
            r"mse_loss",
            {"losses.py": [("zip(scores, ys)) * (1.0 / len(ys))", "zip(scores, ys))")]},
            "mse_loss",
        ),
    ),
    (
        "batches-without-shuffle",
        Bug(6, r"batches", {"train.py": [("    rng.shuffle(order)\n", "")]}, "batches"),
    ),
    (
        "minibatch-new-rng-every-epoch",
        Bug(
            6,
            r"minibatch SGD",
            {
                "train.py": [
                    (
                        "    rng = random.Random(seed)\n    losses = []\n    k = 0\n"
                        "    for _ in range(epochs):\n",
                        "    losses = []\n    k = 0\n    for _ in range(epochs):\n"
                        "        rng = random.Random(seed)\n",
                    )
                ]
            },
            "minibatch_sgd",
        ),
    ),
    (
        "minibatch-k-restarts-every-epoch",
        Bug(
            6,
            r"(MSE on the lecture|minibatch SGD)",
            {
                "train.py": [
                    (
                        "    k = 0\n    for _ in range(epochs):\n",
                        "    for _ in range(epochs):\n        k = 0\n",
                    )
                ]
            },
            "minibatch_sgd",
        ),
    ),
]

# Every sentence of every page's contract section (exercises/exercise-N.md) about code the
# student writes, broken in one line. Sentences about given code (Value's leaves, the reflected
# operators, fit) have no bug here: a student is not asked to write it.
ERROR = "error in your code"
NEURON_PARAMETERS = "return self.w + [self.b]"
CONTRACTS: list[tuple[str, Bug]] = [
    # exercise-0: "forward_difference: the slope from x and x + h"
    (
        "forward-difference-is-a-backward-difference",
        Bug(
            0,
            "forward difference",
            gradcheck(("return (f(x + h) - f(x)) / h", "return (f(x) - f(x - h)) / h")),
        ),
    ),
    # "relative_error: a number >= 0; 0 when both are 0"
    (
        "relative-error-scale-without-abs",
        Bug(0, "relative error", gradcheck(("max(abs(a), abs(b))", "max(a, b)"))),
    ),
    (
        "relative-error-signed",
        Bug(0, "relative error", gradcheck(("else abs(a - b) / scale", "else (a - b) / scale"))),
    ),
    (
        "relative-error-divides-by-zero",
        Bug(
            0,
            "relative error",
            gradcheck(
                ("return 0.0 if scale == 0 else abs(a - b) / scale", "return abs(a - b) / scale")
            ),
            outcome=ERROR,
        ),
    ),
    # "numerical_gradient: ... h defaults to good_step(); the caller's xs unchanged"
    (
        "numerical-gradient-moves-the-callers-xs",
        Bug(
            0,
            "numerical gradient of a function of several inputs",
            gradcheck(
                (
                    "        up = list(xs)\n        down = list(xs)\n        up[i] += h\n"
                    "        down[i] -= h\n        grads.append((f(up) - f(down)) / (2 * h))",
                    "        xs[i] += h\n        up = f(xs)\n        xs[i] -= 2 * h\n"
                    "        grads.append((up - f(xs)) / (2 * h))",
                )
            ),
        ),
    ),
    (
        "numerical-gradient-default-step-not-good-step",
        Bug(
            0,
            "numerical gradient of a function of several inputs",
            gradcheck(("h = good_step() if h is None else h", "h = 0.01 if h is None else h")),
        ),
    ),
    # "gradient_check: the largest relative error"
    (
        "gradient-check-absolute-error",
        Bug(
            0,
            "gradient check: a right gradient passes, a wrong one is measured",
            gradcheck(("max((relative_error(g, n)", "max((abs(g - n)")),
        ),
    ),
    # exercise-1: "inside _backward, compute with self.data, other.data and out.grad"
    (
        "mul-grad-becomes-a-value",
        Bug(
            1,
            "* backward",
            engine(
                (
                    MUL_RULE,
                    "self.grad += other * out.grad\n            other.grad += self * out.grad",
                )
            ),
            "*",
            outcome=ERROR,
        ),
    ),
    # exercise-2: "`.grad` stays a number: `1 - out**2` (a Value) fails"
    (
        "tanh-grad-becomes-a-value",
        Bug(
            2, "tanh backward", engine(("(1 - out.data**2)", "(1 - out**2)")), "tanh", outcome=ERROR
        ),
    ),
    # exercise-3: "it *sets* the output's grad to 1 (does not add to it)"
    (
        "backward-adds-the-seed",
        Bug(
            3,
            "backward() seeds the output's grad with 1",
            engine(("        self.grad = 1\n", "        self.grad += 1\n")),
            only=True,
        ),
    ),
    # "keeps nothing between calls"
    (
        "backward-keeps-its-visited-set",
        Bug(
            3,
            "a second backward() after zeroing the grads gives the same grads",
            engine(
                (
                    "def _noop() -> None:\n    pass\n",
                    "def _noop() -> None:\n    pass\n\n\n_SEEN = set()\n",
                ),
                (
                    "        visited = set()\n        stack",
                    "        visited = _SEEN\n        stack",
                ),
            ),
        ),
    ),
    # exercise-4: "the model must compute with these very objects"
    (
        "neuron-parameters-returns-copies",
        Bug(
            4,
            "parameters(): count and order",
            {"nn.py": [(NEURON_PARAMETERS, "return [Value(p.data) for p in self.w + [self.b]]")]},
        ),
    ),
    # "a list of Values otherwise"
    (
        "layer-returns-its-first-output-only",
        Bug(
            4,
            "a layer gives a list of its outputs, or one Value when it has one output",
            {"nn.py": [("return out[0] if len(out) == 1 else out", "return out[0]")]},
            outcome=ERROR,
        ),
    ),
    # "model.zero_grad(): every parameter's .grad is 0 afterwards"
    (
        "zero-grad-misses-the-last-parameter",
        Bug(
            4,
            "zero_grad() sets every parameter's grad to 0",
            {"nn.py": [("for p in self.parameters():\n", "for p in self.parameters()[:-1]:\n")]},
            "layer 1 neuron 0 b",
            only=True,
        ),
    ),
    # exercise-5: "SGD(params, lr).step(k): each p.data changed in place"
    (
        "sgd-step-replaces-the-values",
        Bug(
            5,
            r"SGD\.step",
            {
                "optim.py": [
                    (
                        "for p in self.params:\n            p.data -= lr * p.grad",
                        "self.params = [type(p)(p.data - lr * p.grad) for p in self.params]",
                    )
                ]
            },
        ),
    ),
    # "train_step: (loss, accuracy), plain numbers, from before the step"
    (
        "train-step-returns-the-loss-after-the-step",
        Bug(
            5,
            r"train_step",
            {
                "train.py": [
                    (
                        "return loss.data, accuracy(scores, y)",
                        "after = [model(x) for x in X]\n    loss = hinge_loss(after, y) + "
                        "l2_penalty(model.parameters(), alpha)\n"
                        "    return loss.data, accuracy(scores, y)",
                    )
                ]
            },
            "before the step",
        ),
    ),
    (
        "train-step-returns-the-accuracy-after-the-step",
        Bug(
            5,
            r"train_step",
            {
                "train.py": [
                    (
                        "return loss.data, accuracy(scores, y)",
                        "return loss.data, accuracy([model(x) for x in X], y)",
                    )
                ]
            },
            "before the step",
        ),
    ),
    # exercise-6: mse_loss "the mean over points of (s - y)**2"
    (
        "mse-not-squared",
        Bug(
            6,
            r"mse_loss",
            {"losses.py": [("(s - y) ** 2 for s, y", "(s - y) for s, y")]},
            "mse_loss",
        ),
    ),
    # batches: "shuffled once by rng.shuffle, then cut from the front" (sizes need not divide)
    (
        "batches-drop-a-short-last-batch",
        Bug(
            6,
            r"batches",
            {
                "train.py": [
                    ("range(0, n, batch_size)]", "range(0, n - batch_size + 1, batch_size)]")
                ]
            },
            "batches",
        ),
    ),
    (
        "batches-shuffle-twice",
        Bug(
            6,
            r"batches",
            {
                "train.py": [
                    ("    rng.shuffle(order)\n", "    rng.shuffle(order)\n    rng.shuffle(order)\n")
                ]
            },
            "batches",
        ),
    ),
    # minibatch_sgd: "every batch's loss.data, in order", the short last batch included
    (
        "minibatch-skips-a-short-batch",
        Bug(
            6,
            r"minibatch SGD",
            {
                "train.py": [
                    (
                        "        for batch in batches(len(X), batch_size, rng):\n",
                        "        for batch in batches(len(X), batch_size, rng):\n"
                        "            if len(batch) < batch_size:\n                continue\n",
                    )
                ]
            },
            "minibatch_sgd",
        ),
    ),
    (
        "minibatch-returns-the-loss-values",
        Bug(
            6,
            r"(MSE on the lecture|minibatch SGD)",
            {"train.py": [("losses.append(loss.data)", "losses.append(loss)")]},
            outcome=ERROR,
        ),
    ),
]
MUTATIONS += CONTRACTS

# The first catalogue, one student each in the demo's class of 40 (tools/synthetic_class.py).
DEMO = {
    "central-difference-is-a-forward-difference",
    "relative-error-is-absolute",
    "add-assigns-instead-of-accumulating",
    "mul-uses-own-data",
    "add-ignores-upstream",
    "pow-exponent-missing-minus-one",
    "exp-uses-self-data",
    "log-multiplies-by-x",
    "tanh-uses-self-data",
    "relu-gradient-one-at-zero",
    "sigmoid-missing-one-minus-s",
    "backward-without-seed",
    "backward-in-topological-not-reverse-order",
    "topological-sort-forgets-visited-nodes",
    "backward-does-nothing",
    "neuron-parameters-without-bias",
    "layer-parameters-in-reverse-order",
    "layer-parameters-in-reverse-order-changes-outputs",
    "mlp-last-layer-nonlinear",
    "zero-grad-no-op",
    "sgd-step-sign-flipped",
    "hinge-without-relu",
    "l2-penalty-not-squared",
    "train-step-without-zero-grad",
}
BUGS: list[tuple[str, Bug]] = [(name, bug) for name, bug in MUTATIONS if name in DEMO]


def charges(folder: Path) -> list[tuple[str, Bug, float, float, list[str]]]:
    """Grade each bug on every exercise, in this process: (name, bug, points lost in its own
    exercise, points lost elsewhere, the checks elsewhere that lost them)."""
    import shutil

    from grader.runner import grade

    reference = Path(__file__).resolve().parents[1] / "reference" / "micrograd"
    out = []
    for name, bug in MUTATIONS:
        ws = folder / name
        shutil.copytree(reference, ws / "micrograd", ignore=shutil.ignore_patterns("__pycache__"))
        for module, edits in bug.edits.items():
            path = ws / "micrograd" / module
            path.write_text(apply_edits(name, path.read_text(), edits))
        report = grade(ws, list(range(7)))
        own = sum(c.max_score - c.score for c in report.checks if c.exercise == bug.exercise)
        lost = [c for c in report.checks if c.exercise != bug.exercise and not c.passed]
        out.append(
            (name, bug, own, sum(c.max_score - c.score for c in lost), [c.name for c in lost])
        )
    return out


def table(rows: list[tuple[str, Bug, float, float, list[str]]]) -> str:
    """The README's table: per exercise, what one planted bug costs, there and elsewhere."""
    lines = [
        "| bugs in | planted | points lost there | points lost elsewhere | where |",
        "|---|---|---|---|---|",
    ]
    for n in range(7):
        mine = [r for r in rows if r[1].exercise == n]
        own = sorted(r[2] for r in mine)
        elsewhere = [r for r in mine if r[3]]
        where = {c for r in elsewhere for c in r[4]}
        where = sorted(
            "the end-to-end check (exercise 5's two moons)" if c.startswith("end to end") else c
            for c in where
        )
        lines.append(
            f"| exercise-{n} | {len(mine)} | {own[0]:g} to {own[-1]:g} | "
            f"{f'{max(r[3] for r in elsewhere):g}' if elsewhere else '0'} "
            f"({len(elsewhere)} of {len(mine)} bugs) | {'; '.join(where) or '-'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="planted-bugs-") as tmp:
        print(table(charges(Path(tmp))))
