"""What a check is, how one is declared, and how gradients are judged.

A check is a function of a Context, declared with its points beside it:

    @check(exercise=2, points=2, name="tanh backward")
    def tanh_backward(ctx): ...

It passes by returning (a string it returns is a note shown beside the pass), and fails by
raising Fail with an explanation. Exceptions from the
student's code (sandbox.StudentError) and a failed worker (sandbox.WorkerFailed) are turned
into results by the runner, so a check only says what it expected.

Tolerances, in the style of CS231n's gradient check, on the relative error
    rel(a, b) = |a - b| / max(|a|, |b|)
- against PyTorch (float64): rel <= 1e-6, or |a - b| <= 1e-9 near zero. Both sides compute
  the same formula in double precision, so anything larger is a wrong rule, not rounding.
- the central difference (f(x+h) - f(x-h)) / 2h of the student's own forward pass, with
  h = 1e-6: shown beside PyTorch's gradient as a second opinion that needs no PyTorch. Its
  truncation error is O(h^2) and its rounding error about 1e-16 / h, so rel <= 1e-4 agrees.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.checks.expressions import Expression, local_grad, rule_of, torch_values
from grader.feedback.results import BACKWARD, CONTRACT, FORWARD
from grader.sandbox import Sandbox, finite
from grader.sandbox.worker.ops import operands
from grader.submissions.regions import Composer

TORCH_REL, TORCH_ABS = 1e-6, 1e-9
# A rule's derivative, written out, agrees with PyTorch's float64 to a few units in the last
# place (~1e-15, relative to the sizes of the shares summed); a finite difference with the best
# step h reaches ~1e-10, a five-point one ~1e-12. Checks of one rule ask for EXACT_REL.
EXACT_REL = 1e-13
NUMERIC_REL = 1e-8  # within it but not EXACT_REL: a rule computed numerically; beyond: wrong
FD_STEP, FD_REL = 1e-6, 1e-4


@dataclass
class Context:
    sandbox: Sandbox
    out_dir: Path | None = None  # where pictures go; None: no pictures
    pictures: list[Path] = field(default_factory=list)
    # The check being run ("exercise-2/tanh backward") and its numbers: drawn from the course's
    # secret (grader/checks/course.py), which the worker never sees, so no answer can be recorded in
    # advance. The runner sets both afresh before each check.
    purpose: str = "unnamed"
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    composer: Composer | None = None
    # for_all's calls in this check so far (each call's draws are kept per process by the
    # check, the secret and this count: grader/checks/batching.py), and whether a check's
    # examples still go to the worker in batches (not after a batch failed)
    draws: int = 0
    batches: bool = True

    def start(self, purpose: str) -> None:
        from grader.checks import course

        self.purpose, self.rng, self.draws = purpose, course.rng_for(purpose), 0

    def use_code_for(self, check: Check) -> str:
        """Give the worker the code `check` grades: the student's code for its exercise, with
        the reference standing in for earlier exercises' (an end-to-end check: the student's
        own throughout). Returns what a failure's message should add ('' for nothing)."""
        if self.composer is None:
            self.composer = Composer(self.sandbox.read)
        files, note = self.composer.files(check.exercise, whole=check.end_to_end)
        self.sandbox.use(files)
        return note

    def uniform(self, lo: float, hi: float, away_from: float | None = None) -> float:
        """A number in [lo, hi], 3 decimals; at least 0.1 from `away_from` (a kink) if given."""
        while True:
            x = round(self.rng.uniform(lo, hi), 3)
            if away_from is None or abs(x - away_from) >= 0.1:
                return x

    def upstream(self) -> float:
        """An upstream gradient: either sign, 0.5 to 2.5 in size, never exactly 1."""
        while True:
            g = round(self.rng.choice((-1, 1)) * self.rng.uniform(0.5, 2.5), 3)
            if abs(g) != 1:
                return g


@dataclass(frozen=True)
class Check:
    exercise: int
    name: str
    points: float
    run: Callable[[Context], str | None]
    hint: str = ""
    # False: graded on the student's code for this exercise, the reference standing in for
    # earlier exercises' (one mistake, charged once); True: on the student's whole code
    end_to_end: bool = False


REGISTRY: list[Check] = []


def check(exercise: int, points: float, name: str, hint: str = "", end_to_end: bool = False):
    def register(fn: Callable[[Context], str | None]) -> Callable[[Context], str | None]:
        REGISTRY.append(Check(exercise, name, points, fn, hint, end_to_end))
        return fn

    return register


class Fail(Exception):
    """A check's verdict: wrong, with why. `rule` names what is at fault, `kind` what it is
    (BACKWARD, FORWARD or CONTRACT; a named rule is a CONTRACT unless said otherwise)."""

    def __init__(self, message: str, rule: str = "", details: dict | None = None, kind: str = ""):
        super().__init__(message)
        self.message, self.rule, self.details = message, rule, details or {}
        self.kind = kind or (CONTRACT if rule else "")


def close(got: float, want: float, rel: float = TORCH_REL, abs_: float = TORCH_ABS) -> bool:
    return abs(got - want) <= max(abs_, rel * max(abs(got), abs(want)))


def fmt(x: object) -> str:
    if isinstance(x, float):
        return f"{x + 0.0:.6g}"  # + 0.0: -0.0 becomes 0.0, never "expected -0"
    return "nan/inf" if x is None else str(x)


def numbers(reply: dict, key: str, count: int, what: str) -> list[float]:
    """reply[key] as `count` finite floats, or a Fail that says what came instead."""
    values = finite(reply.get(key), count)
    if values is None:
        got = reply.get(key)
        if isinstance(got, list) and any(v in ("nan", "inf", "-inf") for v in got):
            bad = next(v for v in got if v in ("nan", "inf", "-inf"))
            raise Fail(f"{what}: some are {bad} (the numbers blew up: a wrong sign or rule?)")
        shown = got[:8] if isinstance(got, list) else got
        raise Fail(f"{what}: expected {count} finite numbers, got {shown!r}")
    return values


def central_differences(ctx: Context, expr: Expression, upstream: float) -> list[float]:
    """d(upstream * out)/d(x_k) for each input, from the student's own forward pass."""
    points = []
    for k in range(len(expr.inputs)):
        for sign in (1, -1):
            xs = list(expr.inputs)
            xs[k] += sign * FD_STEP
            points.append(xs)
    reply = ctx.sandbox.request("forward_batch", nodes=[list(n) for n in expr.nodes], points=points)
    outs = numbers(reply, "outputs", len(points), "forward values")
    return [
        upstream * (outs[2 * k] - outs[2 * k + 1]) / (2 * FD_STEP) for k in range(len(expr.inputs))
    ]


def judge_expression(
    ctx: Context, expr: Expression, upstream: float, mode: str = "rules", exact: bool = False
) -> None:
    """Build expr with the student's Value, backpropagate, compare every node with torch.

    On a wrong gradient, name the rule: scanning from the output back, the first node whose
    grad is wrong has correct grads in all its consumers, so one of their rules is at fault.
    `exact` (the checks of one rule): the grads must agree with PyTorch's to EXACT_REL, as an
    exact derivative does; within NUMERIC_REL but not EXACT_REL, the message says that the
    rule looks computed numerically (a finite difference cannot do better).
    """
    n = len(expr.nodes)
    reply = ctx.sandbox.request("graph", mode=mode, upstream=upstream, **expr.payload())
    data = numbers(reply, "data", n, "forward values")
    grads = numbers(reply, "grads", n, "gradients")
    want_data, want_grads = torch_values(expr, upstream)
    for i in range(n):
        if not close(data[i], want_data[i]):
            raise Fail(
                f"forward value of {expr.text(i)} at {expr.inputs_text()}: "
                f"expected {fmt(want_data[i])}, got {fmt(data[i])} (the forward pass was given: "
                "did an edit change it?)",
                rule=rule_of(list(expr.nodes[i])),
                kind=FORWARD,
            )
    loose = (NUMERIC_REL, 1e-12) if exact else (TORCH_REL, TORCH_ABS)
    wrong = [i for i in range(n) if not close(grads[i], want_grads[i], *loose)]
    if not wrong:
        if exact:
            judge_exactness(expr, want_data, want_grads, grads, upstream)
        return
    j = max(wrong)
    consumers = expr.consumers(j)
    fd = central_differences(ctx, expr, upstream)
    inputs = [i for i, node in enumerate(expr.nodes) if node[0] == "x"]
    details = {
        "expression": expr.text(),
        "inputs": expr.inputs_text(),
        "upstream": upstream,
        "node": expr.text(j),
        "expected": want_grads[j],
        "got": grads[j],
        "torch_grads": [want_grads[i] for i in inputs],
        "finite_difference_grads": fd,
        "student_grads": [grads[i] for i in inputs],
        "nodes": [list(nd) for nd in expr.nodes],
        "student_node_data": data,
        "student_node_grads": grads,
        "wrong_node": j,
        "expected_node_grads": want_grads,
    }
    if len(consumers) == 1 and consumers[0] != n:
        c = consumers[0]
        node = expr.nodes[c]
        rule = rule_of(list(node))
        upstream_here = upstream if c == n - 1 else want_grads[c]
        message = (
            f"`{rule}` backward: at {expr.text(c)} with upstream {fmt(upstream_here)}, "
            f"expected grad of {expr.text(j)} {fmt(want_grads[j])}, got {fmt(grads[j])}"
        )
        if sum(1 for k in operands(node) if k == j) > 1:
            message += " (this node is used twice here: each use must add its share, `+=`)"
            if close(grads[j], want_grads[j] / 2):  # one use's share: the other was overwritten
                details["diagnosis"] = "assigns"
        else:
            seen = symptom(node, j, want_data, upstream_here, grads[j])
            message += seen
            if "leaving out out.grad" in seen:
                details["diagnosis"] = "no upstream"
    elif j == n - 1:
        rule = "seed"
        message = f"the output's own grad should be {fmt(upstream)} (the seed), got {fmt(grads[j])}"
    else:
        rule, message = shared_node(ctx, expr, j, consumers, want_data, want_grads, grads[j])
        if "assigns its share" in message:
            details["diagnosis"] = "assigns"
    message += (
        f"\n    expression: {expr.text()}   with {expr.inputs_text()}, upstream {fmt(upstream)}"
        f"\n    d/dx  PyTorch: {', '.join(fmt(g) for g in details['torch_grads'])}"
        f"   finite differences: {', '.join(fmt(g) for g in fd)}"
        f"   yours: {', '.join(fmt(g) for g in details['student_grads'])}"
    )
    raise Fail(message, rule=rule, details=details, kind=BACKWARD)


def judge_exactness(
    expr: Expression, values: list[float], want: list[float], got: list[float], up: float
) -> None:
    """Fail when a grad, right to TORCH_REL, is not right to EXACT_REL: measured against the
    size of the shares that make it (a sum of shares of opposite signs loses digits to
    rounding, not to the rule)."""
    n = len(expr.nodes)
    for j in reversed(range(n)):
        consumers = expr.consumers(j)
        shares = [abs(want[c] * local_grad(expr.nodes[c], values, j)) for c in consumers]
        scale = max(sum(shares) if consumers else abs(up), abs(want[j]), abs(got[j]))
        error = abs(got[j] - want[j])
        if error <= EXACT_REL * scale:
            continue
        digits = max(0, math.floor(-math.log10(error / scale))) if scale else 0
        rules = sorted({rule_of(list(expr.nodes[c])) for c in consumers}) or ["seed"]
        rule = " or ".join(f"`{r}`" for r in rules)
        where = f" at {expr.text(consumers[0])}" if len(consumers) == 1 else ""
        raise Fail(
            f"{rule} backward{where}: the grad of {expr.text(j)} is {got[j] + 0.0:.16g}, "
            f"PyTorch's {want[j] + 0.0:.16g}: right to {digits} digits, not 15. Is this rule "
            "computed numerically (a finite difference)? A backward rule is exact: write out "
            f"its derivative.\n    expression: {expr.text()}   with {expr.inputs_text()}, "
            f"upstream {fmt(up)}",
            rule=rules[0] if len(rules) == 1 else rule,
            details={"diagnosis": "inexact", "digits": digits},
        )


def shared_node(
    ctx: Context,
    expr: Expression,
    j: int,
    consumers: list[int],
    values: list[float],
    want: list[float],
    got: float,
) -> tuple[str, str]:
    """(rule, message) for node j, used by several nodes, whose grad is wrong while theirs are
    right. Where the grad is one user's share alone, either that user's rule assigns (`=`)
    and overwrote the others' shares, or the others' rules gave nothing: each other user is
    tried alone (a failure there is that rule's, and raised as such), and if all are right,
    the rule that assigns is named. Otherwise one of the users' rules is wrong."""
    try:
        shares = {c: want[c] * local_grad(expr.nodes[c], values, j) for c in consumers}
    except (RuntimeError, ArithmeticError, ValueError):
        shares = {}
    alone = [c for c in shares if close(got, shares[c])]
    if len(alone) == 1 and not close(got, want[j]):
        c = alone[0]
        for d in consumers:
            if d != c:
                judge_expression(ctx, on_its_own(expr, d, values), upstream=1.5)
        rule = rule_of(list(expr.nodes[c]))
        others = " and ".join(expr.text(k) for k in consumers if k != c)
        return rule, (
            f"`{rule}` backward: {expr.text(j)} feeds {len(consumers)} operations and its grad "
            f"is {fmt(got)}, the share of {expr.text(c)} alone, expected {fmt(want[j])}: the "
            f"share of {others} was lost (its rule, tried alone, is right). The `{rule}` rule "
            "assigns its share (`=`) where it must add it (`+=`)"
        )
    rules = sorted({rule_of(list(expr.nodes[c])) for c in consumers})
    rule = " or ".join(f"`{r}`" for r in rules)
    return rule, (
        f"{expr.text(j)} feeds {len(consumers)} operations and its grad is "
        f"{fmt(got)}, expected {fmt(want[j])}: the sum of every use's share. "
        f"Check {rule} backward, and that each adds with `+=`"
    )


def on_its_own(expr: Expression, d: int, values: list[float]) -> Expression:
    """Node d's operation alone, on inputs holding its operands' values."""
    node = list(expr.nodes[d])
    ins = list(dict.fromkeys(operands(node)))  # each operand once (a * a uses one input)
    new = [node[0], *[ins.index(k) for k in operands(node)]] + node[1 + len(operands(node)) :]
    return Expression.of([["x", k] for k in range(len(ins))] + [new], [values[k] for k in ins])


def symptom(node: tuple, j: int, values: list[float], g: float, got: float) -> str:
    """What a common mistake in node's rule would give for input j's grad; if `got` is that,
    say which mistake. `values` are the nodes' values (PyTorch's), g the node's upstream."""
    try:
        candidates = _mistakes(node, j, values, g)
    except (ArithmeticError, ValueError):  # a value where a formula is undefined: no guess
        return ""
    for why, value in candidates.items():
        if close(got, value):
            return f"; that is what {why} gives"
    return ""


def _mistakes(node: tuple, j: int, values: list[float], g: float) -> dict[str, float]:
    op, x = node[0], values[node[1]]
    if op == "mul" and len(node) == 3:
        own, other = (x, values[node[2]]) if j == node[1] else (values[node[2]], x)
        return {
            "using the input's own value instead of the other input's": own * g,
            "leaving out out.grad": other,
        }
    if op == "add":
        return {"adding 1 instead of out.grad": 1.0}
    if op == "pow":
        n = node[2]
        return {
            "using n * x**n (the exponent should be n - 1)": n * x**n * g,
            "leaving out out.grad": n * x ** (n - 1),
        }
    if op == "exp":
        return {"using the input's value where the output's, out.data, belongs": x * g}
    if op == "tanh":
        return {"using 1 - x**2 with x the input, not the output (out.data)": (1 - x * x) * g}
    if op == "sigmoid":
        s = 1 / (1 + math.exp(-x))
        return {"using s(x) alone, where the derivative is s(x) * (1 - s(x))": s * g}
    if op == "log":
        return {"multiplying by x, where the derivative of ln x is 1 / x": x * g}
    return {}


def single(op: str, *args: float | int, const: float | None = None) -> Expression:
    """The graph of one operation on inputs x0 (and x1), or on x0 and a constant."""
    nodes: list[list] = [["x", k] for k in range(len(args))]
    if const is not None:
        nodes.append([op, 0, const])
    elif len(args) == 1:
        nodes.append([op, 0])
    else:
        nodes.append([op, 0, 1])
    return Expression.of(nodes, list(args))
