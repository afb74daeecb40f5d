"""The one question a worker may ask mid-request, and the grader's answer.

Backward rules are graded one by one before the student's backward() exists (exercises 1, 2,
and the network's and losses' gradients): the worker then runs each node's `_backward` in
reverse topological order. That order is computed here, in the grader, from the graph the
worker lists (each node's `_prev` as positions): the sandbox holds no topological sort that
student code could borrow as its backward(). A request whose answer must come from the
student's own backward() gets no answer: a question there is a malformed reply.
"""

from __future__ import annotations

# the requests that may run rules in the grader's order, unless they ask for mode "backward"
RULES_KINDS = ("graph", "mlp", "loss", "tensor_graph", "tensor_mlp", "tensor_train_steps")
MAX_QUESTIONS = 64  # a request asks one per graph it builds (an MLP request: one per input)


def may_ask(kind: str, payload: dict) -> bool:
    if kind == "many":  # a batch asks only if every request in it may (the grader never mixes)
        subs = payload.get("requests")
        return bool(subs) and all(may_ask(str(r.get("kind")), r) for r in subs)  # type: ignore
    return kind in RULES_KINDS and payload.get("mode", "rules") == "rules"


def most_questions(kind: str, payload: dict) -> int:
    """How many questions a request may ask: MAX_QUESTIONS for each request of a batch."""
    subs = payload.get("requests") if kind == "many" else None
    return MAX_QUESTIONS * max(1, len(subs) if isinstance(subs, list) else 1)


def answer(question: dict) -> list[int] | None:
    """The order for an "order" question, or None when the question is malformed."""
    children, root = question.get("children"), question.get("root")
    if question.get("question") != "order" or not isinstance(children, list):
        return None
    n = len(children)
    if type(root) is not int or not 0 <= root < n:
        return None
    for cs in children:
        if not isinstance(cs, list) or not all(type(c) is int and 0 <= c < n for c in cs):
            return None
    return backward_order(children, root)


def backward_order(children: list[list[int]], root: int) -> list[int]:
    """The nodes reachable from root, each before the nodes it uses: a depth-first walk without
    recursion (a graph may be 100,000 nodes deep), children in their `_prev` order; reversed
    post-order, the order micrograd's backward() runs the rules in."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif v not in seen:
            seen.add(v)
            stack.append((v, True))
            stack.extend((c, False) for c in children[v] if c not in seen)
    return order[::-1]
