"""The sandboxed worker: imports the student's code and answers requests with plain numbers.

Runs as `python -I -S -c "...from worker.main import main; main()" WORKSPACE REQ REP` in a
separate process (grader/sandbox/__init__.py starts it), with no site-packages on its path (so
no torch, no grader), standard input closed, and its output captured.
It reads one JSON request per line from one pipe and writes one JSON reply per line to
another (their descriptors come as arguments).
A reply carries numbers only; every verdict is reached in the grader's process.

Standard library only: this package (main.py, ops.py, graph.py) is the one part of the
grader that student code can see.
"""

import gc
import json
import math
import os
import random
import sys
import traceback

from .graph import build, topological


class StudentError(Exception):
    """An exception raised by student code, described for the report."""

    def __init__(self, exc):
        tb = traceback.extract_tb(exc.__traceback__)
        # the innermost frame in the student's files says where it happened
        where = ""
        for frame in reversed(tb):
            if frame.filename.startswith(WORKSPACE):
                rel = os.path.relpath(frame.filename, WORKSPACE)
                where = f"{rel}:{frame.lineno} in {frame.name}"
                break
        super().__init__(type(exc).__name__, str(exc)[:500], where)
        self.kind = type(exc).__name__
        self.message = str(exc)[:500]
        self.where = where


WORKSPACE = ""


def number(x):
    """A plain float from whatever the student's code produced (int, bool, float subclass).

    The base classes' own conversions ignore anything a subclass overrides, so a float
    whose `__eq__` is always true arrives in the grader as the bare number it holds.
    """
    if isinstance(x, float):
        return float.__float__(x)
    if isinstance(x, int):
        return float(int.__int__(x))
    raise TypeError(f"expected a number, got {type(x).__name__}")


def plain(xs):
    return [_json_number(number(x)) for x in xs]


def _json_number(x):
    # JSON has no NaN or infinity; send them as strings the grader understands.
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def import_student(name):
    import importlib

    return importlib.import_module(name)


def value_class():
    return import_student("micrograd.engine").Value


def backprop(root, upstream, mode):
    """Propagate from root with d(loss)/d(root) = upstream.

    mode "rules": the worker orders the graph itself and calls each node's `_backward`,
    so that backward rules can be graded before the student's backward() exists.
    mode "backward": the student's own backward(), on root * upstream.
    """
    if mode == "rules":
        order = topological(root)
        root.grad = upstream
        for v in reversed(order):
            v._backward()
        return root
    out = root * upstream if upstream != 1 else root
    out.backward()
    return out


# -- requests --------------------------------------------------------------------------------


def do_graph(req):
    Value = value_class()
    built = build(Value, req["nodes"], req["inputs"])
    out = built[-1]
    if req.get("forward_only"):
        return {"data": plain([v.data for v in built])}
    backprop(out, req.get("upstream", 1.0), req.get("mode", "rules"))
    reply = {"data": plain([v.data for v in built]), "grads": plain([v.grad for v in built])}
    if req.get("twice"):
        # zero every grad in the graph and run again: a second call must give the same
        for v in topological(out):
            v.grad = 0
        backprop(out, req.get("upstream", 1.0), req.get("mode", "rules"))
        reply["grads_again"] = plain([v.grad for v in built])
    return reply


def do_forward_batch(req):
    """Forward values of the expression's output at many input points (finite differences)."""
    Value = value_class()
    return {"outputs": plain([build(Value, req["nodes"], x)[-1].data for x in req["points"]])}


def do_chain(req):
    """A chain x -> x + 0.0 -> ... of n nodes; backward() from its end, d/dx back.

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

    def chain():
        x = Value(float(req["x"]))
        y = x
        for _ in range(req["length"]):
            y = y + 0.0
        return x, y

    x, y = chain()
    try:
        y.backward()
        return {"grad": plain([x.grad])[0], "recursive": False}
    except RecursionError:
        pass
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(4 * req["length"] + 10_000)
    try:
        x, y = chain()
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    return {"grad": plain([x.grad])[0], "recursive": True}


def make_mlp(nn, req):
    random.seed(req.get("seed", 0))
    model = nn.MLP(req["nin"], req["nouts"])
    params = list(model.parameters())
    if "params" in req:
        if len(params) != len(req["params"]):
            return model, params
        for p, v in zip(params, req["params"]):
            p.data = float(v)
    return model, params


def layout(model, params):
    """Name each parameter by where it sits in the model (micrograd's attribute names)."""
    names = {}
    try:
        for li, layer in enumerate(model.layers):
            for ni, neuron in enumerate(layer.neurons):
                for k, w in enumerate(neuron.w):
                    names[id(w)] = f"layer {li} neuron {ni} w[{k}]"
                names[id(neuron.b)] = f"layer {li} neuron {ni} b"
    except Exception:  # other attribute names: the forward check still tests the order
        return None
    return [names.get(id(p), "?") for p in params]


def do_mlp(req):
    nn = import_student("micrograd.nn")
    model, params = make_mlp(nn, req)
    reply = {"count": len(params), "layout": layout(model, params)}
    if len(params) != len(req.get("params", params)):
        return reply
    outs = []
    grads = []
    for x, upstream in zip(req["inputs"], req["upstreams"]):
        out = model(list(x))
        outs_here = out if isinstance(out, (list, tuple)) else [out]
        outs.append(plain([o.data for o in outs_here]))
        # one scalar to backpropagate: sum_k upstream_k * out_k, through the student's ops
        loss = outs_here[0] * upstream[0]
        for o, g in zip(outs_here[1:], upstream[1:]):
            loss = loss + o * g
        for p in params:
            p.grad = 0
        backprop(loss, 1.0, req.get("mode", "rules"))
        grads.append(plain([p.grad for p in params]))
    reply.update(outputs=outs, grads=grads)
    model.zero_grad()
    reply["after_zero_grad"] = plain([p.grad for p in params])
    return reply


def do_loss(req):
    """A loss function of the student's on given scores and labels: value and d/dscores."""
    module = import_student(req["module"])
    fn = getattr(module, req["function"])
    Value = value_class()
    scores = [Value(float(s)) for s in req["scores"]]
    args = [scores, req["labels"]] if "labels" in req else [scores, req["alpha"]]
    loss = fn(*args)
    backprop(loss, 1.0, "rules")
    return {"value": number(loss.data), "grads": plain([s.grad for s in scores])}


def do_sgd(req):
    optim = import_student("micrograd.optim")
    Value = value_class()
    params = [Value(float(v)) for v in req["params"]]
    for p, g in zip(params, req["grads"]):
        p.grad = g
    optim.SGD(params, lr=req["lr"]).step(req.get("k", 0))
    return {"params": plain([p.data for p in params])}


def do_train_step(req):
    nn = import_student("micrograd.nn")
    optim = import_student("micrograd.optim")
    train = import_student("micrograd.train")
    model, params = make_mlp(nn, req)
    if len(params) != len(req["params"]):
        return {"count": len(params)}
    opt = optim.SGD(params, lr=req["lr"])
    for k in range(req.get("steps", 1)):
        train.train_step(model, req["X"], req["y"], opt, k, req["alpha"])
    return {"count": len(params), "params": plain([p.data for p in params])}


def do_fit(req):
    nn = import_student("micrograd.nn")
    train = import_student("micrograd.train")
    model, params = make_mlp(nn, req)
    history = train.fit(model, req["X"], req["y"], steps=req["steps"], alpha=req["alpha"])
    losses = [h[0] for h in history] if isinstance(history, (list, tuple)) else []
    return {
        "count": len(params),
        "params": plain([p.data for p in params]),
        "losses": plain(losses),
    }


def do_ops(req):
    """Which of the exercise-2 functions the student's Value has."""
    Value = value_class()
    names = ["exp", "log", "tanh", "relu", "sigmoid"]
    return {"ops": [n for n in names if callable(getattr(Value, n, None))]}


HANDLERS = {
    "ops": do_ops,
    "graph": do_graph,
    "forward_batch": do_forward_batch,
    "chain": do_chain,
    "mlp": do_mlp,
    "loss": do_loss,
    "sgd": do_sgd,
    "train_step": do_train_step,
    "fit": do_fit,
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
    global WORKSPACE
    WORKSPACE = os.path.realpath(sys.argv[1])
    sys.path.insert(0, WORKSPACE)
    sys.meta_path.append(OnlyWhatExists)
    sys.setrecursionlimit(10_000)  # deep enough for ordinary code, not a crash of C's stack
    requests = os.fdopen(int(sys.argv[2]), "r")
    replies = os.fdopen(int(sys.argv[3]), "w")
    for line in requests:
        req = json.loads(line)
        try:
            reply = {"ok": True, **HANDLERS[req["kind"]](req)}
        except BaseException as exc:  # every failure of student code, SystemExit too, is a reply
            err = StudentError(exc)
            reply = {"ok": False, "error": err.kind, "message": err.message, "where": err.where}
        reply["id"] = req["id"]
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        if not gc.isenabled():  # a request paused the collector: its garbage goes now,
            gc.enable()  # while the grader reads the reply
            gc.collect()


if __name__ == "__main__":
    main()
