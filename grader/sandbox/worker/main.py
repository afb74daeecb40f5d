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


def grads(root, values):
    """The grads of `values` as plain numbers. A grad that is not a number (a Value, made by a
    rule that computed with Values where it needed their .data) is traced back to that rule:
    the first node, walking back from root, whose grad is not a number got it from one of the
    nodes that use it, whose own grad still is one."""
    try:
        return plain([v.grad for v in values])
    except TypeError:
        pass
    order = list(reversed(topological(root)))
    for v in order:
        if isinstance(v.grad, (int, float)):
            continue
        users = [u for u in order if any(c is v for c in u._prev)]
        culprit = next((u for u in users if isinstance(u.grad, (int, float))), None)
        if culprit is None:
            raise TypeError(f"the output's grad is a {type(v.grad).__name__}, not a number")
        raise TypeError(not_a_number(culprit, v.grad))
    return plain([v.grad for v in values])


def not_a_number(node, grad):
    """Why a grad is not a number: node's rule, named with its file and line, made it so."""
    op = getattr(node, "_op", "") or "?"
    code = getattr(getattr(node, "_backward", None), "__code__", None)
    where = ""
    if code is not None and code.co_filename.startswith(WORKSPACE):
        where = f" ({os.path.relpath(code.co_filename, WORKSPACE)}:{code.co_firstlineno})"
    return (
        f"the `{op}` backward rule{where} made a grad that is a {type(grad).__name__}, not a "
        "number: inside _backward compute with plain numbers, e.g. out.data and self.data "
        "(use .data), not with Values"
    )


def _json_number(x):
    # JSON has no NaN or infinity; send them as strings the grader understands.
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def import_student(name):
    import importlib

    module = importlib.import_module(name)
    engine = sys.modules.get("micrograd.engine")
    if isinstance(getattr(engine, "Value", None), type):
        stamp_creation_order(engine.Value)
    return module


def value_class():
    return import_student("micrograd.engine").Value


# -- the same answers run after run ------------------------------------------------------------
#
# Students keep `_prev` as a set (micrograd does). A set of Values iterates in the order of
# their hashes, and object.__hash__ comes from the object's address, which changes from run to
# run: so would the order of visits, and with a bug whose effect depends on it, the grade. Each
# Value gets a creation number instead (counted afresh for every request), and where the class
# keeps object's own hash, its hash becomes that number: sets, the grader's walk and the
# student's alike (graph.topological), then iterate the same way every run.

CREATED = [0]


def stamp_creation_order(Value):
    if getattr(Value, "_grader_stamped", None) is not None:
        return
    try:  # __slots__ without room for a stamp: the class keeps its ways
        object.__setattr__(Value.__new__(Value), "_grader_seq", 0)
    except Exception:
        Value._grader_stamped = False
        return
    init = Value.__init__

    def __init__(self, *args, **kwargs):
        CREATED[0] += 1
        object.__setattr__(self, "_grader_seq", CREATED[0])
        init(self, *args, **kwargs)

    try:
        Value.__init__ = __init__
        if Value.__hash__ is object.__hash__:
            Value.__hash__ = _creation_hash
        Value._grader_stamped = True
    except (AttributeError, TypeError):  # a class that cannot be changed keeps its ways
        pass


def _creation_hash(self):
    seq = getattr(self, "_grader_seq", None)
    return object.__hash__(self) if seq is None else seq


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
            # caught as it happens: afterwards, a node used by two rules cannot tell which
            # of them made its grad a Value
            for c in v._prev:
                if not isinstance(c.grad, (int, float)):
                    raise TypeError(not_a_number(v, c.grad))
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
    visits = trace_visits(out, built) if req.get("trace") else None
    backprop(out, req.get("upstream", 1.0), req.get("mode", "rules"))
    reply = {"data": plain([v.data for v in built]), "grads": grads(out, built)}
    if visits is not None:
        reply["visits"] = visits
    if req.get("twice"):
        # zero every grad in the graph and run again: a second call must give the same
        for v in topological(out):
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

    for v in topological(out):
        v._backward = recorder(index.get(id(v), -1), v._backward)
    return visits


def do_forward_batch(req):
    """Forward values of the expression's output at many input points (finite differences)."""
    Value = value_class()
    return {"outputs": plain([build(Value, req["nodes"], x)[-1].data for x in req["points"]])}


def do_chain(req):
    """A chain x -> x + 0.0 -> ... of n nodes, some of them `* factor`; backward() from its
    end, d/dx back (the product of the factors).

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
    factors = {int(k): float(f) for k, f in req.get("factors", [])}

    def chain():
        x = Value(float(req["x"]))
        y = x
        for k in range(req["length"]):
            y = y * factors[k] if k in factors else y + 0.0
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
    if "activation" in req:
        model = nn.MLP(req["nin"], req["nouts"], activation=req["activation"])
    else:
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
    grad_rows = []
    for x, upstream in zip(req["inputs"], req["upstreams"]):
        out = model(list(x))
        outs_here = out if isinstance(out, (list, tuple)) else [out]
        reply["returns_list"] = isinstance(out, (list, tuple))
        outs.append(plain([o.data for o in outs_here]))
        # one scalar to backpropagate: sum_k upstream_k * out_k, through the student's ops
        loss = outs_here[0] * upstream[0]
        for o, g in zip(outs_here[1:], upstream[1:]):
            loss = loss + o * g
        for p in params:
            p.grad = 0
        backprop(loss, 1.0, req.get("mode", "rules"))
        grad_rows.append(grads(loss, params))
    reply.update(outputs=outs, grads=grad_rows)
    try:  # a model without zero_grad() loses that check only, not the answers above
        model.zero_grad()
        reply["after_zero_grad"] = plain([p.grad for p in params])
    except Exception as exc:
        err = StudentError(exc)
        reply["zero_grad_error"] = [err.kind, err.message, err.where]
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
    return {"value": number(loss.data), "grads": grads(loss, scores)}


def learning_rate(lr):
    """A number, or [start, end, steps]: the schedule lr(k) = start - (start - end) * k / steps."""
    if isinstance(lr, list):
        start, end, steps = lr
        return lambda k: start - (start - end) * k / steps
    return lr


def do_sgd(req):
    optim = import_student("micrograd.optim")
    Value = value_class()
    params = [Value(float(v)) for v in req["params"]]
    for p, g in zip(params, req["grads"]):
        p.grad = g
    optim.SGD(params, lr=learning_rate(req["lr"])).step(req["k"])
    return {"params": plain([p.data for p in params])}


def returned_pair(r):
    """train_step's return value as [loss, accuracy], or None (the grader says what came)."""
    try:
        if isinstance(r, (list, tuple)) and len(r) == 2:
            return plain(r)
    except TypeError:
        pass
    return None


def trainer(req):
    """The student's model with the grader's parameters and an SGD on them, for a training
    request: (model, params, optimizer), or None when the model has another number of
    parameters (the reply then carries only the count, which fails the check)."""
    nn = import_student("micrograd.nn")
    optim = import_student("micrograd.optim")
    model, params = make_mlp(nn, req)
    if len(params) != len(req["params"]):
        return model, params, None
    return model, params, optim.SGD(params, lr=learning_rate(req["lr"]))


def do_train_step(req):
    model, params, opt = trainer(req)
    if opt is None:
        return {"count": len(params)}
    train = import_student("micrograd.train")
    returns, texts = [], []
    for k in range(req["k0"], req["k0"] + req["steps"]):
        r = train.train_step(model, req["X"], req["y"], opt, k, req["alpha"])
        returns.append(returned_pair(r))
        texts.append(repr(r)[:60])
    reply = {"count": len(params), "params": plain([p.data for p in params])}
    if all(r is not None for r in returns):
        reply["returns"] = returns
    else:
        reply["returns_text"] = texts[0]
    return reply


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


def do_slopes(req):
    """exercise-0: one of the student's gradcheck functions, on a function the grader describes.

    The function is f(xs) = sum_k c_k * prod_j xs[j]**p_kj + d * exp(sum_j e_j * xs[j]) from
    req["terms"] ([[c, [p_0, p_1, ...]], ...]) and req["exp"] ([d, [e_0, e_1, ...]]); the
    student's code sees it as f(x) (one input) or f(xs) (a list), and only numbers come back.
    """
    gradcheck = import_student("micrograd.gradcheck")
    terms, (d, es) = req.get("terms", []), req.get("exp", [0.0, []])

    def f_of_list(xs):
        xs = [number(x) for x in xs]
        total = d * math.exp(sum(e * x for e, x in zip(es, xs)))
        for c, powers in terms:
            total += c * math.prod(x**p for x, p in zip(xs, powers))
        return total

    def f_of_one(x):
        return f_of_list([x])

    name, args = req["function"], req.get("args", {})
    fn = getattr(gradcheck, name)
    if name in ("forward_difference", "central_difference"):
        result = fn(f_of_one, float(args["x"]), float(args["h"]))
    elif name == "relative_error":
        result = fn(float(args["a"]), float(args["b"]))
    elif name == "good_step":
        result = fn()
    elif name == "numerical_gradient":
        xs = [float(x) for x in args["xs"]]
        result = fn(f_of_list, xs, args["h"]) if "h" in args else fn(f_of_list, xs)
        return {"result": plain(result), "xs_after": plain(xs)}
    else:  # gradient_check
        xs, grads = [float(x) for x in args["xs"]], [float(g) for g in args["grads"]]
        result = fn(f_of_list, xs, grads, args["h"]) if "h" in args else fn(f_of_list, xs, grads)
    return {"result": plain([result])[0]}


def do_batches(req):
    train = import_student("micrograd.train")
    out = train.batches(req["n"], req["batch_size"], random.Random(req["seed"]))
    if not isinstance(out, (list, tuple)):
        raise TypeError(f"batches returned a {type(out).__name__}, not a list of lists")
    return {"batches": [[int.__int__(i) if isinstance(i, int) else -1 for i in b] for b in out]}


def do_minibatch(req):
    model, params, opt = trainer(req)
    if opt is None:
        return {"count": len(params)}
    train = import_student("micrograd.train")
    losses = import_student("micrograd.losses")
    loss_fn = getattr(losses, req["loss"])
    history = train.minibatch_sgd(
        model, req["X"], req["y"], loss_fn, opt, req["batch_size"], req["epochs"], req["seed"]
    )
    if not isinstance(history, (list, tuple)):
        raise TypeError(f"minibatch_sgd returned a {type(history).__name__}, not a list")
    return {
        "count": len(params),
        "params": plain([p.data for p in params]),
        "losses": plain(history),
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
    "slopes": do_slopes,
    "batches": do_batches,
    "minibatch": do_minibatch,
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
        CREATED[0] = 0  # the same request numbers its Values the same way every time
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
