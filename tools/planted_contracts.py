"""Planted bugs, the second table: every sentence of every page's contract section broken in
one line (tools/planted_bugs.py joins the tables)."""

from __future__ import annotations

from tools.planted_edits import (
    MUL_RULE,
    Bug,
    engine,
    gradcheck,
)

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
