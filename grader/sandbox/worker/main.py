"""The sandboxed worker: imports the student's code and answers requests with plain numbers.

Runs as `python -I -S -c BOOT SOURCE WORKSPACE REQ REP` in a separate process
(grader/sandbox/worker_process.py starts it), with no site-packages on its path (so no torch,
no grader), standard input closed, and its output captured. Its own code comes through the pipe
SOURCE, which the launcher reads and closes before any student code runs: no file of it exists
in the sandbox, and its modules are not in sys.modules once loaded.
It reads one JSON request per line from one pipe and writes one JSON reply per line to
another (their descriptors come as arguments). A request that grades backward rules one by one
asks, mid-request, for the order to run them in (student.backprop): the grader computes it.
A reply carries numbers only; every verdict is reached in the grader's process.

It runs in the student's process, so student code can reach and replace any of it (frames,
the garbage collector): nothing here is trusted. It holds no answer (no topological sort, no
request that carries the numbers its reply is made of), so that replacing it gains nothing.

Standard library only: main.py with the engine's requests, student.py, training.py, ops.py,
graph.py, and tensor_requests.py and tensor_training.py for part two (they import numpy inside
their handlers).
"""

import gc
import json
import os
import sys

from . import student, tensor_requests, tensor_training
from .graph import build, listing
from .student import CREATED, StudentError, backprop, grads, plain, value_class
from .training import (
    do_batches,
    do_fit,
    do_loss,
    do_minibatch,
    do_mlp,
    do_sgd,
    do_slopes,
    do_train_step,
)

# -- requests --------------------------------------------------------------------------------


def do_graph(req):
    Value = value_class()
    built = build(Value, req["nodes"], req["inputs"])
    out = built[-1]
    if req.get("forward_only"):
        return {"data": plain([v.data for v in built])}
    visits = trace_visits(out, built) if req.get("trace") else None
    backprop(out, req.get("upstream", 1.0), req.get("mode", "rules"))
    reply = {"data": plain([v.data for v in built]), "grads": grads(out, built)}
    if visits is not None:
        reply["visits"] = visits
    if req.get("twice"):
        # zero every grad in the graph and run again: a second call must give the same
        # ("keep": run again without zeroing, to see whether the seed is set or added)
        if req["twice"] != "keep":
            for v in listing(out)[0]:
                v.grad = 0
        backprop(out, req.get("upstream", 1.0), req.get("mode", "rules"))
        reply["grads_again"] = plain([v.grad for v in built])
    return reply


def trace_visits(out, built):
    """Record the order in which backward() calls the nodes' `_backward`: a list that fills
    with each node's index in `built` (-1 for a node the expression does not name)."""
    index = {id(v): i for i, v in enumerate(built)}
    visits = []

    def recorder(i, rule):
        def _backward():
            visits.append(i)
            return rule()

        return _backward

    for v in listing(out)[0]:
        v._backward = recorder(index.get(id(v), -1), v._backward)
    return visits


def do_forward_batch(req):
    """Forward values of the expression's output at many input points (finite differences)."""
    Value = value_class()
    return {"outputs": plain([build(Value, req["nodes"], x)[-1].data for x in req["points"]])}


def do_chain(req):
    """A chain from x of n nodes, each y -> y + 0.0 but at a few steps y -> y * x or y -> y + c;
    backward() from its end. The reply: d/dx and the end's value.

    x feeds every `* x` step too, so its grad adds up a share from each (the chain's value
    there times the grad coming down): an answer that takes the graph's values and the order
    of its rules, not the product of numbers in the request (a chain of `* c` alone would).

    Every node stays alive until the end, yet the cyclic garbage collector, triggered by the
    new objects, scans the growing graph again and again: that was most of the check's time.
    It is paused here; main() collects the graph (cyclic through each node's `_backward`
    closure) once the reply is on its way.

    A recursive topological sort (micrograd's own) stops near Python's default limit of 1,000
    calls. Then the chain is built again and walked once more with the limit raised past its
    length, so the reply tells a recursive backward() (`recursive`) from a wrong one.
    """
    Value = value_class()
    gc.disable()
    times_x = {int(k) for k in req.get("times_x", [])}
    plus = {int(k): float(c) for k, c in req.get("plus", [])}

    def chain():
        x = Value(float(req["x"]))
        y = x
        for k in range(req["length"]):
            y = y * x if k in times_x else y + plus.get(k, 0.0)
        return x, y

    x, y = chain()
    try:
        y.backward()
        return {"grad": plain([x.grad])[0], "data": plain([y.data])[0], "recursive": False}
    except RecursionError:
        pass
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(4 * req["length"] + 10_000)
    try:
        x, y = chain()
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    return {"grad": plain([x.grad])[0], "data": plain([y.data])[0], "recursive": True}


def do_ops(req):
    """Which of the exercise-2 functions the student's Value has."""
    Value = value_class()
    names = ["exp", "log", "tanh", "relu", "sigmoid"]
    return {"ops": [n for n in names if callable(getattr(Value, n, None))]}


def serve(req):
    """The reply to one request: the handler's, or the student's error as a reply."""
    CREATED[0] = 0  # the same request numbers its Values the same way every time
    try:
        reply = {"ok": True, **HANDLERS[req["kind"]](req)}
    except BaseException as exc:  # every failure of student code, SystemExit too, is a reply
        err = StudentError(exc)
        reply = {"ok": False, "error": err.kind, "message": err.message, "where": err.where}
    reply["id"] = req["id"]
    return reply


def collect():
    """A request paused the garbage collector (do_chain): its garbage goes now."""
    if not gc.isenabled():
        gc.enable()
        gc.collect()


def do_many(req):
    """Several requests in one round trip (a check's examples, grader/checks/batching.py):
    each one served as if it came alone, in order, each reply the one it would get alone."""
    replies = []
    for sub in req["requests"]:
        if sub["kind"] == "many":
            raise ValueError("a batch of requests holds no batch")
        replies.append(serve({**sub, "id": req["id"]}))
        collect()
    return {"replies": replies}


HANDLERS = {
    "many": do_many,
    "ops": do_ops,
    "graph": do_graph,
    "forward_batch": do_forward_batch,
    "chain": do_chain,
    "mlp": do_mlp,
    "loss": do_loss,
    "sgd": do_sgd,
    "train_step": do_train_step,
    "fit": do_fit,
    "slopes": do_slopes,
    "batches": do_batches,
    "minibatch": do_minibatch,
    # part two, the Tensor engine (tensor_requests.py, tensor_training.py)
    "tensor_graph": tensor_requests.do_tensor_graph,
    "tensor_forward": tensor_requests.do_tensor_forward,
    "tensor_broadcast_shape": tensor_requests.do_tensor_broadcast_shape,
    "tensor_unbroadcast": tensor_requests.do_tensor_unbroadcast,
    "tensor_im2col": tensor_requests.do_tensor_im2col,
    "tensor_init": tensor_training.do_tensor_init,
    "tensor_mlp": tensor_training.do_tensor_mlp,
    "tensor_sgd": tensor_training.do_tensor_sgd,
    "tensor_train_steps": tensor_training.do_tensor_train_steps,
    "tensor_batches": tensor_training.do_tensor_batches,
    "tensor_accuracy": tensor_training.do_tensor_accuracy,
    "tensor_epoch": tensor_training.do_tensor_epoch,
    "tensor_fit": tensor_training.do_tensor_fit,
}


class OnlyWhatExists:
    """The last import finder: a module that no other finder found gets a message saying
    which modules the grader offers (torch and the like are not there, on purpose)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if "." in name or name == "micrograd":
            return None  # a missing submodule, or no micrograd/ at all: Python says it well
        raise ModuleNotFoundError(
            f"No module named {name!r}: the grader runs your code with the Python standard "
            "library and numpy only, no other package",
            name=name,
        )


def main():
    student.WORKSPACE = os.path.realpath(sys.argv[1])
    sys.path.insert(0, student.WORKSPACE)
    sys.meta_path.append(OnlyWhatExists)
    sys.setrecursionlimit(10_000)  # deep enough for ordinary code, not a crash of C's stack
    requests = os.fdopen(int(sys.argv[2]), "r")
    replies = os.fdopen(int(sys.argv[3]), "w")
    current = [None]  # the id of the request being served

    def send(message):
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    def ask_order(children, root):
        """The grader's order for running the rules of the graph `children` describes."""
        send({"id": current[0], "question": "order", "children": children, "root": root})
        answer = json.loads(requests.readline() or "{}")
        if answer.get("id") != current[0] or not isinstance(answer.get("order"), list):
            raise RuntimeError("the grader sent no order for the rules")
        return answer["order"]

    student.ASK[0] = ask_order
    for line in requests:
        req = json.loads(line)
        current[0] = req["id"]
        send(serve(req))
        collect()  # while the grader reads the reply
