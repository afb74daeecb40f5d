"""Planted bugs, the first table: each rule and step of exercises 0-6 wrong in one line."""

from __future__ import annotations

from tools.planted_edits import (
    ADD_RULE,
    CENTRAL,
    ITERATIVE_TOPO,
    MUL_RULE,
    SEED_AND_WALK,
    WALK,
    Bug,
    engine,
    gradcheck,
)

# (id, bug): the ids are the tests' ids in tests/test_planted_bugs.py
RULES: list[tuple[str, Bug]] = [
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
