"""Hints that arrive in turn: a nudge on a check's first failure, the formula on a repeat.

Each ladder has two rungs, (nudge, formula): the second gives the formula or the idea, never
the whole function. A hint follows what the grader found, not which check failed: ladders are
keyed first by the diagnosis a failure carries (a rule that assigns where it must add, out.grad
left out, a rule computed numerically, backward()'s order, wrong outputs), then by the backward
rule a failing check names (`CheckResult.rule`: "tanh", "*", ...) and, for checks without a
rule, by the check ("exercise-0: central difference"). A check with no ladder keeps the hint it
declares.

Which rung a student sees depends on how often the same check failed in the same way before,
which `History` keeps in a small JSON file that only the grader's process reads and writes:
`grade` (text reports, to a terminal, a pipe or a file) and `check()` in a notebook share
HISTORY_FILE beside the workspace's micrograd/ folder (see grader/cli.py, grader/notebook.py);
`grade batch --hint-ladder` keeps one per student in its output folder (off by default: a
class's hints stay nudges unless the instructor allows more); Gradescope grades every
submission afresh and keeps none, so it shows the nudge, never the formula.

    {"version": 1, "failures": {"exercise-2: tanh backward [tanh]": 2, ...}}

A check counts as failed when its answer was wrong or the student's code raised; a stub not
written yet, a missing method and a worker that died count for nothing. A pass clears that
check's entries (a later failure is a new mistake, and starts at the nudge again); nothing
else is ever cleared.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from grader.feedback import results as R
from grader.feedback import tensor_hints

# rule -> (nudge, formula)
RULES: dict[str, tuple[str, str]] = {
    "+": (
        "How much does a + b change when a changes by a small h? That ratio is what a receives, "
        "times out.grad; b likewise.",
        "d(a + b)/da = 1 and d(a + b)/db = 1: each input receives out.grad, times 1.",
    ),
    "*": (
        "Hold b fixed and nudge a: a * b changes by h * (what?). Each input's share involves "
        "the other input's value.",
        "d(ab)/da = b and d(ab)/db = a: each input receives the other input's value times "
        "out.grad.",
    ),
    "**": (
        "The power rule, with the exponent a plain number; mind the exponent of the result.",
        "d(x**n)/dx = n * x**(n - 1), with n the plain number `other`; times out.grad.",
    ),
    "exp": (
        "Which function is its own derivative? The forward pass already computed it.",
        "d(e**x)/dx = e**x, which is out.data; times out.grad.",
    ),
    "log": (
        "ln x is the inverse of e**x: differentiate x = e**out on both sides.",
        "d(ln x)/dx = 1 / x, with x = self.data; times out.grad.",
    ),
    "tanh": (
        "Write tanh as sinh / cosh and use the quotient rule; the result can be written with "
        "tanh itself, that is with out.data (a number, not the Value out).",
        "d(tanh x)/dx = 1 - tanh(x)**2 = 1 - out.data**2; times out.grad.",
    ),
    "relu": (
        "relu is x on one side of 0 and constant on the other: what is the slope on each side? "
        "At exactly 0, PyTorch uses 0.",
        "d relu(x)/dx = 1 where x > 0, 0 where x <= 0; times out.grad.",
    ),
    "sigmoid": (
        "s(x) = (1 + e**-x)**-1: the chain rule through the power and the exponential; the "
        "result can be written with s(x) = out.data alone.",
        "d s(x)/dx = s(x) * (1 - s(x)), with s(x) = out.data; times out.grad.",
    ),
    "seed": (
        "backward() starts the chain rule at the output: what is d(out)/d(out)?",
        "Set self.grad = 1 before calling the nodes' _backward, output first.",
    ),
    "hinge_loss": (
        "Build the loss from Value operations only, so that backward() reaches every score; "
        "a point with y*s >= 1 costs nothing.",
        "(1/n) * sum over i of max(0, 1 - y_i * s_i), and max(0, z) is relu(z): Value ops only.",
    ),
    "l2_penalty": (
        "The penalty is a Value built from the parameters: alpha times the sum of squares.",
        "alpha * (the sum of p**2 over the parameters), a Value; its gradient is 2 * alpha * p.",
    ),
}

# "exercise-N: check name" -> (nudge, formula), for checks whose failures name no rule
CHECKS: dict[str, tuple[str, str]] = {
    "exercise-0: forward difference": (
        "Rise over run, stepping forward from x only.",
        "(f(x + h) - f(x)) / h.",
    ),
    "exercise-0: central difference": (
        "One step each side of x: the run between the two points is 2h.",
        "(f(x + h) - f(x - h)) / (2 * h).",
    ),
    "exercise-0: relative error": (
        "Divide the difference by the size of the numbers, and think of a = b = 0.",
        "abs(a - b) / max(abs(a), abs(b)), and 0.0 when both are 0.",
    ),
    "exercise-0: a step h that balances truncation and rounding": (
        "Print the central difference's error for h = 1e-1 ... 1e-13 on exp at 1: the "
        "smallest error is near the bottom of the V.",
        "Truncation ~ h**2, rounding ~ 2.2e-16 / h; their sum is smallest near h = 1e-5.",
    ),
    "exercise-0: numerical gradient of a function of several inputs": (
        "Move one input at a time, on a copy of xs, and take the central difference.",
        "grad_i = (f(xs with xs[i] + h) - f(xs with xs[i] - h)) / (2h), each on a copy of xs; "
        "h = good_step() when h is None.",
    ),
    "exercise-0: gradient check: a right gradient passes, a wrong one is measured": (
        "Compare each given gradient with the numerical one, with relative_error; one bad "
        "component must show.",
        "The largest over i of relative_error(grads[i], numerical_gradient(f, xs, h)[i]).",
    ),
}

MAX_BYTES = 1_000_000
HISTORY_FILE = ".grade-history.json"
# exercises 1 and 3-5, by check name (tests/test_hints.py fails when a check is renamed and its
# key here does not follow)
CHECKS.update(
    {
        "exercise-1: a node used twice accumulates (+=)": (
            "In a + a or a * a one Value is both inputs, so its rule runs with self and other "
            "the same object: what is left of the first share if the second is assigned with =?",
            "Add every share: self.grad += ... and other.grad += ...; for a + a, a.grad gets "
            "2 * out.grad, for a * a, 2a * out.grad.",
        ),
        "exercise-1: ops built on + and * (-a, a - b, c + a, c - a, c * a)": (
            "These are written with + and * at the bottom of engine.py: make + and * right first.",
            "-a = a * -1, a - b = a + (-b), c - a = c + (-a): d(a - b)/db = -1 comes from * "
            "and + alone.",
        ),
        "exercise-3: backward() seeds the output's grad with 1": (
            "Where does the chain rule start? What is d(self)/d(self)?",
            "self.grad = 1, before calling any node's _backward.",
        ),
        "exercise-3: topological order: every node's grad is complete before its rule runs": (
            "A node's _backward passes its grad on: it may run only once every node that uses "
            "it has added its share.",
            "Build topo with every node after its inputs, then: for v in reversed(topo): "
            "v._backward().",
        ),
        "exercise-3: shared nodes: a diamond": (
            "A node reached along two paths must appear once in the order: remember what you "
            "have visited.",
            "Keep a set of visited nodes; append a node to topo once, after all of its inputs.",
        ),
        "exercise-3: a second backward() after zeroing the grads gives the same grads": (
            "Does your backward() keep anything from an earlier call, on the object or in the "
            "module?",
            "Make topo and visited local variables of backward(), built afresh on every call.",
        ),
        "exercise-3: a chain of 100,000 nodes": (
            "A recursive sort goes one Python call deeper per node, and Python stops near 1,000.",
            "An explicit stack: stack = [(self, False)]; pop (v, done); if done, append v to "
            "topo; else push (v, True), then each input not yet visited.",
        ),
        "exercise-4: parameters(): count and order": (
            "The grader reads parameters() in the order the page states; count them by hand "
            "for MLP(3, [4, 4, 1]).",
            "Neuron: self.w + [self.b]; Layer: neuron by neuron; MLP: layer by layer.",
        ),
        "exercise-4: MLP(3, [4, 4, 1]) outputs match torch": (
            "Compare with the page: a neuron's w . x + b, its activation, and which layer has "
            "none.",
            "Hidden neurons return relu(w . x + b); the last layer's (nonlin=False) w . x + b.",
        ),
        "exercise-4: MLP(3, [4, 4, 1]) gradients of every parameter match torch": (
            "Outputs right, gradients wrong: are the Values used in __call__ the very ones "
            "parameters() returns?",
            "Use self.w and self.b themselves in __call__ (no copies, no floats); the rules of "
            "exercises 1-2 do the rest.",
        ),
        "exercise-4: a layer gives a list of its outputs, or one Value when it has one output": (
            "A layer of several neurons gives one Value per neuron.",
            "One Value per neuron, in a list; a layer of one neuron returns that Value itself, "
            "not a list of one.",
        ),
        "exercise-4: zero_grad() sets every parameter's grad to 0": (
            "What must every parameter's grad be before a new backward pass?",
            "Every parameter's grad back to 0, reached through self.parameters(), the last "
            "one too.",
        ),
        "exercise-5: SGD.step: each parameter moves against its gradient, "
        "by the step's learning rate": (
            "p.grad points where the loss grows; which way should the step go, and by which "
            "rate at step k?",
            "p.data <- p.data - lr(k) * p.grad for every parameter, in place; lr(k) is "
            "self.rate(k).",
        ),
        "exercise-5: train_step: parameters after each step and the (loss, accuracy) it returns": (
            "Compare the order of your steps, and what you return, with the page.",
            "In order: the scores, loss = hinge + L2, zero the grads, backward, step(k); the "
            "loss's .data and the accuracy returned are both from before the step.",
        ),
    }
)

# exercise 6, by check name
CHECKS.update(
    {
        "exercise-6: mse_loss: value and gradient": (
            "Each point costs the square of its miss; how do n points' costs make one number "
            "whose size does not grow with n?",
            "(1/n) * the sum of (s - y)**2 over the points, built from Value ops.",
        ),
        "exercise-6: batches: every index once, in the order of rng.shuffle, cut from the front": (
            "The grader replays your shuffle: shuffle exactly once, a list of 0..n-1, with the "
            "rng you are given, and cut it without changing its order.",
            "Shuffle list(range(n)) once with rng.shuffle, then cut it into consecutive slices "
            "of batch_size, the last one shorter when batch_size does not divide n.",
        ),
        "exercise-6: MSE on the lecture's four examples, tanh MLP(3, [4, 4, 1]), "
        "step by step against PyTorch": (
            "Compare one step with the page: the batch's scores, the loss, zero_grad, backward, "
            "step(k); which loss.data goes in the list, before or after the step?",
            "Per batch: the loss of its rows, zero the grads, backward, step(k), keep the "
            "loss's .data; k counts every step of the run.",
        ),
        "exercise-6: minibatch SGD: shuffled batches, a decaying learning rate, "
        "step by step against PyTorch": (
            "Does k keep counting across epochs, and is there one rng for the whole run?",
            "rng = random.Random(seed) once; k = 0 before the epochs, k += 1 after every step; "
            "batches(len(X), batch_size, rng) at the start of each epoch.",
        ),
    }
)

# what the grader found (CheckResult.details["diagnosis"]) -> (nudge, formula): chosen before
# the check's own ladder, so that a hint follows the diagnosis, never the check alone
DIAGNOSES: dict[str, tuple[str, str]] = {
    "assigns": (
        "This node is used more than once, and its grad holds one use's share only: what "
        "happens to the first share when the second is stored with `=`?",
        "Each rule adds its share into the grad, `+=`, never `=`: the grads start at 0.",
    ),
    "no upstream": (
        "The chain rule: what reaches an input is the local derivative times the gradient "
        "that reached the output. Where is out.grad in this rule?",
        "input.grad += (d out / d input) * out.grad, in every rule.",
    ),
    "inexact": (
        "A backward rule is exact: work out this operation's derivative by hand (the page's "
        "math) and write it with self.data and out.data, no finite differences.",
        "The derivative in closed form, times out.grad: the page lists each one.",
    ),
    "seed added": (
        "backward() sets the output's grad: what does `+=` do to it when backward() runs twice?",
        "d(out)/d(out) = 1: assign 1 to the output's grad (do not add to it) before the walk.",
    ),
    "order": CHECKS[
        "exercise-3: topological order: every node's grad is complete before its rule runs"
    ],
    "visited twice": CHECKS["exercise-3: shared nodes: a diamond"],
    "never ran": (
        "Every node below the output must have its _backward called: does your walk reach "
        "every node through _prev?",
        "Collect every node reachable through _prev, each once, then call each one's "
        "_backward, from the output back.",
    ),
    "activation": CHECKS["exercise-4: MLP(3, [4, 4, 1]) outputs match torch"],
    "outputs": (
        "The outputs are wrong before any gradient: compare a neuron's w . x + b, its "
        "activation, and the order of parameters() with the page.",
        "Hidden neurons return relu(w . x + b), the last layer's w . x + b; parameters() go "
        "layer by layer, neuron by neuron, weights then bias.",
    ),
}

COUNTED = {R.WRONG, R.ERROR}  # outcomes that are a failure of the student's own answer
NEXT_TIME = " (If this check fails the same way again, the next hint gives the formula.)"


def ladder(res: R.CheckResult) -> tuple[str, str] | None:
    """The (nudge, formula) for this failure: by what the grader diagnosed (a rule that
    assigns, out.grad left out, a numerical rule, backward()'s order, wrong outputs), else by
    the check, by its rule or a rule it names, or, for a check named "<rule> backward" that
    failed with no rule (the student's code raised), by that rule."""
    if res.details.get("diagnosis") in DIAGNOSES:
        return DIAGNOSES[res.details["diagnosis"]]
    name = f"exercise-{res.exercise}: {res.name}"
    # part two's rules share names with part one's (+, *), not their formulas
    checks, rules = (CHECKS, RULES) if res.exercise < tensor_hints.FIRST else tensor_hints.TABLES
    if name in checks:
        return checks[name]
    for rule in [res.rule, *re.findall(r"`([^`]+)`", res.rule), res.name.removesuffix(" backward")]:
        if rule in rules:
            return rules[rule]
    # a composition's rules, "+ and * (via a - b = a + -b)": the ladders of the rules it uses
    named = [r for r in res.rule.split(" (via ")[0].split(" and ") if r in rules]
    if " (via " in res.rule and named:
        return tuple("; ".join(f"`{r}`: {rules[r][k]}" for r in named) for k in (0, 1))
    return None


def key(res: R.CheckResult) -> str:
    name = f"exercise-{res.exercise}: {res.name}"
    return f"{name} [{res.rule}]" if res.rule else name


def counts(res: R.CheckResult) -> bool:
    return res.outcome in COUNTED and not res.details.get("grader_error")


class History:
    """How often each check failed in each way, in earlier runs; None path: nothing kept."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.failures: dict[str, int] = {}
        if path is not None:
            self.failures = _load(path)

    def seen(self, res: R.CheckResult) -> int:
        return self.failures.get(key(res), 0)

    def record(self, checks: list[R.CheckResult]) -> None:
        for res in checks:
            if res.passed:
                prefix = f"exercise-{res.exercise}: {res.name}"
                for k in [k for k in self.failures if k == prefix or k.startswith(prefix + " [")]:
                    del self.failures[k]
            elif counts(res):
                self.failures[key(res)] = self.seen(res) + 1

    def save(self) -> None:
        """Write the file whole (a temporary file renamed), or leave it: hints are not grades."""
        if self.path is None:
            return
        data = json.dumps({"version": 1, "failures": self.failures}, indent=1, sort_keys=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".grade-history.", dir=self.path.parent)
            with os.fdopen(fd, "w") as f:
                f.write(data + "\n")
            os.replace(tmp, self.path)
        except OSError:
            pass


def _load(path: Path) -> dict[str, int]:
    """The failures recorded in `path`; anything unreadable or malformed counts as none."""
    try:
        # a regular file of reasonable size only: never block on a FIFO or read /dev/zero
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        failures = data["failures"]
        return {
            k: v
            for k, v in failures.items()
            if isinstance(k, str) and type(v) is int and 0 < v < 1_000_000
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return {}


def choose(res: R.CheckResult, history: History | None) -> str:
    """The hint to show for this result: its ladder's nudge, or the formula on a repeat."""
    if not counts(res):
        return res.hint
    rungs = ladder(res)
    if rungs is None:
        return res.hint
    nudge, formula = rungs
    if history is None or history.path is None:
        return nudge
    if history.seen(res) >= 1:
        return formula
    return nudge + NEXT_TIME
