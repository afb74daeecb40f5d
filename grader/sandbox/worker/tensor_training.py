"""The worker's requests on the student's tensor_nn.py, tensor_train.py and conv.py's ConvNet
(exercises 11-13): layers, the optimiser, an epoch, a whole run of training.

The grader sends the parameters to start from (set through parameters(), in its documented
order W1, b1, W2, b2, ...), the data, the seeds of every draw; back come the parameters and
losses the student's code reached. Held-out data never comes here: accuracy on it is measured
in the grader. numpy is imported inside the handlers, as in tensor_requests.py.
"""

from .student import import_student
from .tensor_requests import _np, from_array, tensor_class, to_array, walk


def _rng(seed):
    return _np().random.default_rng(seed)


def make_model(spec):
    """The student's model: {"kind": "mlp", "nin", "nouts", "seed"} or {"kind": "conv",
    "channels", "seed"}, its initial draws from default_rng(seed)."""
    if spec["kind"] == "conv":
        conv = import_student("micrograd.conv")
        return conv.ConvNet(_rng(spec["seed"]), channels=spec["channels"])
    nn = import_student("micrograd.tensor_nn")
    return nn.MLP(spec["nin"], spec["nouts"], _rng(spec["seed"]))


def set_params(model, values):
    """Put the grader's parameters into the model, in parameters() order. Returns the shapes
    parameters() has (the grader compares them first) and whether the values went in."""
    np = _np()
    params = list(model.parameters())
    shapes = [list(np.shape(getattr(p, "data", None))) for p in params]
    wanted = [list(v["shape"]) for v in values]
    if shapes != wanted:
        return params, shapes, False
    for p, v in zip(params, values):
        p.data = to_array(v)
    return params, shapes, True


def _params(params):
    return [from_array(p.data) for p in params]


def do_tensor_init(req):
    """Linear(nin, nout, rng) or MLP(nin, nouts, rng), rng = default_rng(seed): the drawn
    parameters, in parameters() order (a Linear's: W, then b)."""
    nn = import_student("micrograd.tensor_nn")
    if "nout" in req:
        layer = nn.Linear(req["nin"], req["nout"], _rng(req["seed"]))
        params = [layer.W, layer.b]
    else:
        params = nn.MLP(req["nin"], req["nouts"], _rng(req["seed"])).parameters()
    return {"params": [from_array(p.data) for p in params]}


def do_tensor_mlp(req):
    """The model's output for x, the grads of its parameters for the upstream gradient (the
    grader's walk), then the grads after model.zero_grad()."""
    model = make_model(req["model"])
    params, shapes, ok = set_params(model, req["params"])
    if not ok:
        return {"shapes": shapes}
    x = to_array(req["x"])
    out = model(tensor_class()(x) if req.get("x_tensor") else x)
    walk(out, to_array(req["upstream"]))
    reply = {"shapes": shapes, "output": from_array(out.data), "grads": _grads(params)}
    model.zero_grad()
    reply["zeroed"] = _grads(params)
    return reply


def _grads(params):
    return [from_array(p.grad) for p in params]


def do_tensor_sgd(req):
    """SGD(params, lr, momentum): for each step, grads zeroed (the optimiser's zero_grad),
    the step's grads added in (as backward() does), step(); the parameters after each."""
    nn = import_student("micrograd.tensor_nn")
    Tensor = tensor_class()
    params = [Tensor(to_array(v)) for v in req["params"]]
    opt = nn.SGD(params, lr=req["lr"], momentum=req["momentum"])
    after = []
    for grads in req["grads"]:
        opt.zero_grad()
        for p, g in zip(params, grads):
            p.grad += to_array(g)
        opt.step()
        after.append(_params(params))
    return {"params": after}


def do_tensor_train_steps(req):
    """Steps of training on the batches given: logits, cross_entropy, model.zero_grad(), the
    grader's walk back from the loss, step(). Each step's loss, the parameters after each."""
    np = _np()
    tensor = import_student("micrograd.tensor")
    nn = import_student("micrograd.tensor_nn")
    model = make_model(req["model"])
    params, shapes, ok = set_params(model, req["params"])
    if not ok:
        return {"shapes": shapes}
    X, y = to_array(req["X"]), np.array(req["y"], dtype=np.intp)
    opt = nn.SGD(model.parameters(), lr=req["lr"], momentum=req["momentum"])
    losses, after = [], []
    for idx in req["batches"]:
        loss = tensor.cross_entropy(model(X[idx]), y[idx])
        model.zero_grad()
        walk(loss, np.ones(()))
        opt.step()
        losses.append(from_array(loss.data))
        after.append(_params(params))
    return {"shapes": shapes, "losses": losses, "params": after}


def do_tensor_batches(req):
    train = import_student("micrograd.tensor_train")
    got = train.batches(req["n"], req["batch_size"], _rng(req["seed"]))
    if not isinstance(got, (list, tuple)):
        return {"type": type(got).__name__}
    return {"batches": [from_array(b) for b in got]}


def do_tensor_accuracy(req):
    train = import_student("micrograd.tensor_train")
    np = _np()
    got = train.accuracy(to_array(req["logits"]), np.array(req["y"], dtype=np.intp))
    return {"value": from_array(got)}


def _training(req):
    np = _np()
    model = make_model(req["model"])
    params, shapes, ok = set_params(model, req["params"])
    X, y = to_array(req["X"]), np.array(req["y"], dtype=np.intp)
    return model, params, shapes, ok, X, y


def do_tensor_epoch(req):
    """One train_epoch of the student's: the losses it returns, the parameters after."""
    nn = import_student("micrograd.tensor_nn")
    train = import_student("micrograd.tensor_train")
    model, params, shapes, ok, X, y = _training(req)
    if not ok:
        return {"shapes": shapes}
    opt = nn.SGD(model.parameters(), lr=req["lr"], momentum=req["momentum"])
    losses = train.train_epoch(model, X, y, opt, req["batch_size"], _rng(req["seed"]))
    if not isinstance(losses, (list, tuple)):
        return {"shapes": shapes, "type": type(losses).__name__, "params": _params(params)}
    return {"shapes": shapes, "losses": [from_array(v) for v in losses], "params": _params(params)}


def do_tensor_fit(req):
    """fit() on the data given (the kit's loop, calling the student's train_epoch): the
    parameters it ends with, and each epoch's mean loss."""
    train = import_student("micrograd.tensor_train")
    model, params, shapes, ok, X, y = _training(req)
    if not ok:
        return {"shapes": shapes}
    losses = train.fit(
        model,
        X,
        y,
        epochs=req["epochs"],
        batch_size=req["batch_size"],
        lr=req["lr"],
        momentum=req["momentum"],
        seed=req["seed"],
    )
    losses = list(losses) if isinstance(losses, (list, tuple)) else []
    return {"shapes": shapes, "params": _params(params), "losses": [from_array(v) for v in losses]}
