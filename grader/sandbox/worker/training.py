"""The worker's requests on the student's network, losses, optimiser and training loops."""

import math
import random

from .student import StudentError, backprop, grads, import_student, number, plain, value_class


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
