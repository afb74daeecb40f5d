"""The worker holds no answers (issue 17): student code runs in the worker's own process, so it
can reach anything the worker has; each attack here is what a student who knows the protocol
would try, and each must earn nothing it did not write.

Every submission is the reference engine with backward() (exercise 3) left unwritten, plus the
attack: its exercise-3 score must stay at the stub's, 0. The same tests run in bwrap mode, in
"permissions" mode (MICROGRAD_SANDBOX) and as a normal user (tests/test_normal_user.py).
"""

from __future__ import annotations

import json
import random

import pytest

from grader.sandbox import UNPROTECTED, mode
from grader.sandbox.questions import answer, backward_order
from tests.grader_helpers import REFERENCE, ROOT, by_name, checks_of, exercise_score, make_workspace
from tests.test_hostile import grade_hostile

pytestmark = pytest.mark.grader

ENGINE = (REFERENCE / "engine.py").read_text()
CHAIN = "exercise-3: a chain of 100,000 nodes"


def engine_with_backward(body: str, prelude: str = "") -> str:
    """The reference engine, its backward() replaced by `body` (indented 8 spaces)."""
    start = ENGINE.index("    def backward(self):")
    end = ENGINE.index("    # -- compositions")
    method = "    def backward(self):\n" + body.rstrip() + "\n\n"
    return prelude + ENGINE[:start] + method + ENGINE[end:]


UNWRITTEN = '        raise NotImplementedError("exercise-3: Value.backward")\n'


def exercise_3(tmp_path, engine: str) -> dict:
    ws = make_workspace(tmp_path, files={"engine.py": engine})
    return grade_hostile(ws, "exercise-3", codes=(0, 1))


def assert_nothing_earned(report: dict) -> None:
    earned = {t["name"]: t["output"] for t in checks_of(report, 3) if t["score"] > 0}
    assert earned == {}, earned
    assert exercise_score(report, 3)[0] == 0


# -- the worker's code cannot be imported or read ------------------------------------------

KIT_GRAPH = str(ROOT / "grader" / "sandbox" / "worker" / "graph.py")
READ_THE_WORKER = f"""
import importlib, inspect, os, sys

def _try(what, attempt):
    try:
        found = attempt()
    except Exception as exc:
        found = None
    print(what, "LEAKED" if found else "refused", flush=True)

def _frames_source():
    f, found = sys._getframe(), []
    while f is not None:
        name = f.f_code.co_filename
        if name != __file__ and not name.startswith(os.path.dirname(os.__file__)):
            try:
                found.append(inspect.getsource(f.f_code))
            except (OSError, TypeError):
                pass
        f = f.f_back
    return [s for s in found if "HANDLERS" in s or "def main" in s]

def _source_pipe():
    args = open("/proc/self/cmdline", "rb").read().split(b"\\0")
    fd = int(args[args.index(b"-c") + 2])  # the launcher's first argument
    os.fstat(fd)  # open still?
    return os.read(fd, 100) or b"open"

_try("import-worker", lambda: importlib.import_module("worker"))
_try("import-graph", lambda: importlib.import_module("worker.graph").topological)
_try("in-sys-modules", lambda: [m for m in sys.modules if "worker" in m])
_try("file-in-sandbox", lambda: open("/sandbox/worker/graph.py").read())
_try("file-in-kit", lambda: open({KIT_GRAPH!r}).read())
_try("source-of-frames", _frames_source)
_try("source-pipe", _source_pipe)
"""


def test_the_workers_code_cannot_be_imported_or_read(tmp_path):
    report = exercise_3(tmp_path, READ_THE_WORKER + ENGINE)
    printed = report["extra_data"]["student_output"]
    lines = dict(line.split(" ", 1) for line in printed.splitlines() if " " in line)
    attempts = [
        "import-worker",
        "import-graph",
        "in-sys-modules",
        "file-in-sandbox",
        "source-of-frames",
        "source-pipe",
    ]
    if mode() != UNPROTECTED:  # without a sandbox, student code is the user and reads the kit
        attempts.append("file-in-kit")
    assert {a: lines.get(a) for a in attempts} == {a: "refused" for a in attempts}, printed
    assert exercise_score(report, 3)[0] == 10  # the attempts cost the real backward() nothing


# -- no topological sort to borrow -----------------------------------------------------------

# backward() looks for a function that orders the graph: by import, then every function the
# garbage collector knows that is not the student's, the standard library's or numpy's, called
# on the output (and as backprop(self, 1.0, "rules")). A list that is a topological order of the
# graph, checked here (a check is not a sort), is used; if none is found, nothing is done.
BORROW = """
        import gc, inspect, os
        nodes, stack = {id(self): self}, [self]
        while stack:
            for c in stack.pop()._prev:
                if id(c) not in nodes:
                    nodes[id(c)] = c
                    stack.append(c)

        def users_first(order):
            if not isinstance(order, (list, tuple)) or len(order) != len(nodes):
                return False
            at = {id(v): i for i, v in enumerate(order)}
            return set(at) == set(nodes) and all(
                at[id(c)] > at[id(v)] for v in order for c in v._prev
            )

        def use(found):
            for order in [found, *(found if isinstance(found, tuple) else ())]:
                for candidate in (order, list(reversed(order)) if order else order):
                    if users_first(candidate):
                        self.grad = 1
                        for v in candidate:
                            v._backward()
                        return True
            return False

        try:
            from worker.graph import topological
            if use(topological(self)):
                return
        except ImportError:
            pass
        ours = (os.path.dirname(os.__file__), "<frozen", __file__)
        for f in [o for o in gc.get_objects() if inspect.isfunction(o)]:
            name = f.__code__.co_filename
            if name.startswith(ours) or "numpy" in name or f.__name__.startswith("__"):
                continue
            for args in ((self,), (self, 1.0, "rules")):
                try:
                    inspect.signature(f).bind(*args)
                except (TypeError, ValueError):
                    continue
                grads = {id(v): v.grad for v in nodes.values()}
                try:
                    result = f(*args)
                except Exception:
                    continue
                if use(result):
                    return
                if len(args) == 3 and self.grad != grads[id(self)]:
                    return  # it ran the rules itself
        raise NotImplementedError("exercise-3: nothing to borrow")
"""


def test_the_worker_has_no_topological_sort_to_borrow(tmp_path):
    report = exercise_3(tmp_path, engine_with_backward(BORROW))
    assert_nothing_earned(report)


# -- replacing the worker gains nothing ------------------------------------------------------

# At import, found through the frames that are importing the student's code: the worker's
# request table and its reply pipe.
FIND_THE_WORKER = """
import sys as _sys

def _worker_frame():
    f = _sys._getframe()
    while f is not None and not isinstance(f.f_globals.get("HANDLERS"), dict):
        f = f.f_back
    return f

_frame = _worker_frame()
"""

# every graph request answered by the worker's own rule-by-rule mode, not the student's backward()
REPLACE_HANDLERS = (
    FIND_THE_WORKER
    + """
if _frame is not None:
    _handlers = _frame.f_globals["HANDLERS"]
    _graph = _handlers["graph"]
    _handlers["graph"] = lambda req: _graph({**req, "mode": "rules"})
"""
)

# every reply that says backward() is not written is replaced by the rule-by-rule answer
REPLACE_THE_WRITER = (
    FIND_THE_WORKER
    + """
import json as _json

def _main_frame():
    f = _sys._getframe()
    while f is not None and "replies" not in f.f_locals:
        f = f.f_back
    return f

_main = _main_frame()
if _main is not None and _frame is not None:
    _replies, _handlers = _main.f_locals["replies"], _frame.f_globals["HANDLERS"]
    _write = _replies.write

    def _forge(text):
        reply = _json.loads(text) if text.startswith("{") else {}
        req = _main_frame().f_locals.get("req", {})
        if reply.get("ok") is False and req.get("kind") == "graph":
            try:
                text = _json.dumps(
                    {"ok": True, **_handlers["graph"]({**req, "mode": "rules"}), "id": req["id"]}
                ) + "\\n"
            except Exception:
                pass
        return _write(text)

    _replies.write = _forge
"""
)


@pytest.mark.parametrize(
    "attack", [REPLACE_HANDLERS, REPLACE_THE_WRITER], ids=["handlers", "reply-writer"]
)
def test_replacing_the_worker_gains_nothing(tmp_path, attack):
    report = exercise_3(tmp_path, engine_with_backward(UNWRITTEN, prelude=attack))
    assert_nothing_earned(report)


def test_the_attacks_reach_the_worker(tmp_path):
    """The attacks above are real: they find the worker's table and replace it (an empty reply
    for every request then fails every check after the first, written backward() or not; the
    first passes only where its request was the one being served when the code was imported,
    and not where the worker served another before it, as it does when an exercise is graded
    with the reference standing in for the earlier ones)."""
    empty = (
        FIND_THE_WORKER
        + "if _frame is not None:\n"
        + "    for _k in list(_frame.f_globals['HANDLERS']):\n"
        + "        _frame.f_globals['HANDLERS'][_k] = lambda req: {}\n"
    )
    report = exercise_3(tmp_path, empty + ENGINE)
    first, *later = checks_of(report, 3)
    assert later and all(t["status"] == "failed" for t in later), later


# -- no request carries the numbers its answer is made of ------------------------------------

# The chain's answer computed from the request: before, d/dx was the product of the factors the
# request listed; here the end's value is carried forward honestly (the forward pass is given)
# and d/dx is again the product of the request's multipliers.
PRODUCT_FROM_THE_REQUEST = (
    FIND_THE_WORKER
    + """
import math as _math

def _chain(req):
    factors = [f for _, f in req.get("factors", [])] or [req["x"]] * len(req.get("times_x", []))
    steps = {k: None for k in req.get("times_x", [])} | {k: c for k, c in req.get("plus", [])}
    value = req["x"]
    for k in sorted(steps):
        value = value * req["x"] if steps[k] is None else value + steps[k]
    return {"grad": _math.prod(factors), "data": value, "recursive": False}

if _frame is not None:
    _frame.f_globals["HANDLERS"]["chain"] = _chain
"""
)

# backward() that multiplies the constants found along the chain and gives every input the
# product, without running a rule: other.data * upstream, all the way down
PRODUCT_IN_BACKWARD = """
        product, node, leaves = 1.0, self, []
        while node._prev:
            kids = list(node._prev)
            inner = [k for k in kids if k._prev]
            if node._op == "*":
                product *= next((k.data for k in kids if not k._prev), 1.0)
            leaves += [k for k in kids if not k._prev]
            if not inner:
                break
            node = inner[0]
        for leaf in leaves:
            leaf.grad = product
"""


@pytest.mark.parametrize(
    "engine",
    [
        engine_with_backward(UNWRITTEN, prelude=PRODUCT_FROM_THE_REQUEST),
        engine_with_backward(PRODUCT_IN_BACKWARD),
    ],
    ids=["replaced-handler", "in-backward"],
)
def test_the_product_of_the_requests_numbers_earns_nothing(tmp_path, engine):
    report = exercise_3(tmp_path, engine)
    chain = by_name(report)[CHAIN]
    assert chain["score"] == 0, chain["output"]


# -- the grader's answer to the worker's question ----------------------------------------------


def test_the_graders_order_runs_every_user_before_what_it_uses():
    rng = random.Random(17)
    for _ in range(200):
        n = rng.randint(1, 30)
        # node i uses some nodes after it in a shuffled numbering: any DAG, root first
        label = list(range(n))
        rng.shuffle(label)
        children = [[] for _ in range(n)]
        for i in range(n - 1):
            for j in rng.sample(range(i + 1, n), rng.randint(1, min(3, n - 1 - i))):
                children[label[i]].append(label[j])
        order = backward_order(children, label[0])
        at = {v: k for k, v in enumerate(order)}
        assert sorted(order) == sorted(set(order)) and label[0] == order[0]
        assert all(at[c] > at[v] for v in order for c in children[v])


def test_a_malformed_question_gets_no_answer():
    good = {"question": "order", "children": [[1], []], "root": 0}
    assert answer(good) == [0, 1]
    for bad in [
        {**good, "question": "answers"},
        {**good, "root": 2},
        {**good, "root": True},
        {**good, "children": [[5], []]},
        {**good, "children": "[[1], []]"},
        json.loads('{"question": "order"}'),
    ]:
        assert answer(bad) is None, bad
