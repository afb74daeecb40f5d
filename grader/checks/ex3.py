"""exercise-3: backward() — topological order, seeding, shared nodes, deep graphs.

Here the student's own backward() runs (mode "backward"); the expressions use only the
operations of exercise-1, so a wrong answer points at backward() itself.
"""

from grader.checks.checking import (
    Expression,
    Fail,
    check,
    close,
    fmt,
    judge_expression,
    numbers,
    single,
)
from grader.checks.ex1 import OPS as EX1_OPS
from grader.checks.expressions import torch_values
from grader.checks.properties import random_expressions
from grader.sandbox import StudentError, WorkerFailed

CHAIN = 100_000
CHAIN_FACTORS = 12
DEFAULT_RECURSION_LIMIT = 1000
RECURSION_HINT = (
    "a recursive topological sort goes one Python call deeper per node and overflows the "
    "call stack; keep your own stack (a list) of nodes to visit instead"
)


def judge_backward(ctx, expr):
    """judge_expression through the student's backward(); a failure says, where it can, which
    node's rule ran too early, twice, or never."""
    try:
        judge_expression(ctx, expr, upstream=1.0, mode="backward")
    except Fail as exc:
        why = visit_order(ctx, expr)
        if why:  # the order is at fault, not a rule: say that first
            exc.message = f"backward(): {why}.\n    What came of it: {exc.message}"
            exc.rule = "backward() order"
            exc.details["diagnosis"] = diagnosis(why)
        raise


def order_problem(ctx, expr) -> tuple[str, str]:
    """(what is wrong with backward()'s order, its diagnosis), or ('', '')."""
    why = visit_order(ctx, expr)
    return (f"backward(): {why}", diagnosis(why)) if why else ("", "")


def diagnosis(why: str) -> str:
    """The hint's key for what visit_order found."""
    if "times: each node" in why:
        return "visited twice"
    if "never ran" in why or "no node's" in why:
        return "never ran"
    return "order"


def visit_order(ctx, expr) -> str:
    """What is wrong with the order in which backward() ran the rules of expr's nodes."""
    reply = ctx.sandbox.request(
        "graph", mode="backward", upstream=1.0, trace=True, **expr.payload()
    )
    visits = reply.get("visits")
    n = len(expr.nodes)
    if not isinstance(visits, list) or not all(type(v) is int and -1 <= v < n for v in visits):
        return ""
    named = [v for v in visits if v >= 0]
    inner = [i for i, node in enumerate(expr.nodes) if node[0] != "x"]
    if not named:
        return "no node's _backward ran at all"
    for i in inner:
        if named.count(i) > 1:
            return (
                f"the rule of {expr.text(i)} ran {named.count(i)} times: each node's _backward "
                "must run once (remember which nodes were visited)"
            )
    for i in inner:
        if i not in named:
            return f"the rule of {expr.text(i)} never ran"
    for i in inner:
        late = [c for c in expr.consumers(i) if named.index(c) > named.index(i)]
        if late:
            return (
                f"the rule of {expr.text(i)} ran before that of {expr.text(late[0])}, which "
                f"uses it and had not yet added its share to {expr.text(i)}.grad: run the "
                "rules in reverse topological order, each node after every node that uses it"
            )
    return ""


@check(
    3,
    2,
    "backward() seeds the output's grad with 1",
    hint="before walking the graph, set self.grad = 1: dL/dL = 1.",
)
def seeds(ctx):
    x0, x1 = ctx.uniform(-2, 2, away_from=0), ctx.uniform(-2, 2, away_from=0)
    expr = single("mul", x0, x1)
    judge_backward(ctx, expr)
    # called again without zeroing: the seed is set to 1 (not added), and the rules add
    # their shares once more, so each input's grad doubles
    reply = ctx.sandbox.request(
        "graph", mode="backward", upstream=1.0, twice="keep", **expr.payload()
    )
    again = numbers(reply, "grads_again", 3, "gradients after a second backward()")
    _, want = torch_values(expr, 1.0)
    expected = [2 * want[0], 2 * want[1], 1.0]
    if not all(close(a, b) for a, b in zip(again, expected)):
        raise Fail(
            f"{expr.text()} at {expr.inputs_text()}: after a second backward() without zeroing, "
            f"the output's grad is {fmt(again[2])} (expected 1: backward() sets it, "
            f"`self.grad = 1`, it does not add to it) and the inputs' grads "
            f"{fmt(again[0])}, {fmt(again[1])} (expected {fmt(expected[0])}, {fmt(expected[1])})",
            rule="seed",
            details={"diagnosis": "seed added"},
        )


@check(
    3,
    2,
    "topological order: every node's grad is complete before its rule runs",
    hint="visit nodes in reverse topological order: a node after all the nodes that use it.",
)
def topological_order(ctx):
    # x = w * c feeds both y = x + d and out = x * y: x's rule must wait for both uses
    c, d = ctx.uniform(-3, 3, away_from=0), ctx.uniform(-3, 3, away_from=0)
    nodes = [["x", 0], ["mulc", 0, c], ["addc", 1, d], ["mul", 1, 2]]
    judge_backward(ctx, Expression.of(nodes, [ctx.uniform(-2, 2, away_from=0)]))
    longer = Expression.of(
        [["x", 0], ["x", 1], ["mul", 0, 1], ["add", 2, 0], ["mul", 3, 2], ["add", 4, 3]],
        [ctx.uniform(-2, 2, away_from=0), ctx.uniform(-2, 2, away_from=0)],
    )
    judge_backward(ctx, longer)


@check(3, 2, "shared nodes: a diamond", hint="a node reached by two paths is visited once.")
def diamond(ctx):
    c, d = ctx.uniform(-3, 3, away_from=0), ctx.uniform(-3, 3, away_from=0)
    nodes = [["x", 0], ["mulc", 0, c], ["addc", 0, d], ["mul", 1, 2]]
    judge_backward(ctx, Expression.of(nodes, [ctx.uniform(-2, 2, away_from=0)]))
    # the shared node inside the graph, not a leaf: if its rule ran twice, x's grad would too
    c, d = ctx.uniform(-3, 3, away_from=0), ctx.uniform(-3, 3, away_from=0)
    nodes = [["x", 0], ["mul", 0, 0], ["addc", 1, c], ["mulc", 1, d], ["mul", 2, 3]]
    x = ctx.uniform(-2, 2, away_from=0)
    judge_backward(ctx, Expression.of(nodes, [x]))


@check(
    3,
    1,
    "a second backward() after zeroing the grads gives the same grads",
    hint="keep no state between calls: build the order afresh every time.",
)
def twice(ctx):
    xs = [ctx.uniform(-2, 2, away_from=0), ctx.uniform(-2, 2, away_from=0)]
    expr = Expression.of([["x", 0], ["x", 1], ["mul", 0, 1], ["add", 2, 1]], xs)
    judge_backward(ctx, expr)
    reply = ctx.sandbox.request(
        "graph", mode="backward", upstream=1.0, twice=True, **expr.payload()
    )
    n = len(expr.nodes)
    first = numbers(reply, "grads", n, "gradients of the first call")
    again = numbers(reply, "grads_again", n, "gradients of the second call")
    _, want = torch_values(expr, 1.0)
    if not all(close(a, w) and close(b, w) for a, b, w in zip(first, again, want)):
        raise Fail(
            f"{expr.text()} at {expr.inputs_text()}: the first call gave grads "
            f"{[fmt(g) for g in first]}, the second (after zeroing) {[fmt(g) for g in again]}; "
            f"both should be {[fmt(g) for g in want]}"
        )


@check(
    3,
    1,
    "random expressions through backward()",
    hint="the smallest expression found that gets a wrong gradient is shown.",
)
def random_ex3(ctx):
    random_expressions(ctx, EX1_OPS, mode="backward", examples=15, explain=order_problem)


def chain_answer(x: float, times_x: list[int], plus: list) -> tuple[float, float]:
    """(value, d/dx) at the end of deep_chain's chain, carried forward step by step: the value
    v and its derivative d, with (v * x)' = d * x + v and (v + c)' = d."""
    steps = {k: None for k in times_x} | {k: c for k, c in plus}
    v, d = x, 1.0
    for k in sorted(steps):
        if steps[k] is None:
            v, d = v * x, d * x + v
        else:
            v = v + steps[k]
    return v, d


# Last of the exercise: the worker frees the chain's 200,000 Values after its reply, and no
# other check of exercise-3 then waits for that.
@check(3, 2, f"a chain of {CHAIN:,} nodes", hint=RECURSION_HINT)
def deep_chain(ctx):
    # x -> y + 0.0 -> ... with, at steps drawn from the secret, y * x and y + c: x feeds the
    # chain many times, so d/dx adds a share from each use, the chain's value there times the
    # grad from above. No product of the request's numbers is the answer (a chain of `* c`
    # alone gave the product of the c's, which a reply could compute without backward()).
    steps = ctx.rng.sample(range(CHAIN), 2 * CHAIN_FACTORS)
    times_x = sorted(steps[:CHAIN_FACTORS])
    plus = sorted([k, ctx.uniform(0.5, 2)] for k in steps[CHAIN_FACTORS:])
    x = ctx.uniform(0.8, 1.25, away_from=1)  # positive: the shares add up, none cancels
    try:
        reply = ctx.sandbox.request(
            "chain", x=x, length=CHAIN, times_x=times_x, plus=plus, timeout=30
        )
    except StudentError as exc:
        if exc.kind == "RecursionError":
            where = f" ({exc.where})" if exc.where else ""
            raise Fail(f"RecursionError on a chain of {CHAIN:,} nodes{where}") from None
        raise
    except WorkerFailed as exc:
        raise Fail(f"on a chain of {CHAIN:,} nodes, {exc}") from None
    want_data, want = chain_answer(x, times_x, plus)
    data = numbers({"v": [reply.get("data")]}, "v", 1, "the chain's value at its end")[0]
    if not close(data, want_data):
        raise Fail(
            f"the chain's value at its end should be {fmt(want_data)}, got {fmt(data)} (the "
            "forward pass was given: did an edit change it?)"
        )
    got = numbers({"v": [reply.get("grad")]}, "v", 1, "d/dx at the chain's start")[0]
    if not close(got, want):
        raise Fail(
            f"x -> x + 0.0 -> ... ({CHAIN:,} nodes, {CHAIN_FACTORS} of them `* x`, "
            f"{CHAIN_FACTORS} `+ c`) at x = {fmt(x)}: d/dx should be {fmt(want)}, got {fmt(got)}"
        )
    recursive = reply.get("recursive")
    if not isinstance(recursive, bool):
        raise Fail(f"the worker's reply says nothing readable about recursion ({recursive!r})")
    if recursive:
        # Full marks (micrograd's own backward() is recursive), and a word on why it matters.
        return (
            f"your backward() is recursive: it raised RecursionError at Python's default limit "
            f"of {DEFAULT_RECURSION_LIMIT:,} calls, and passed once the grader raised the limit. "
            f"Your own programs keep the default, so {RECURSION_HINT}"
        )
    return None
