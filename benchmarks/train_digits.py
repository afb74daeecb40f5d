"""The digits MLP trained three ways, side by side: the reference Tensor engine, PyTorch on the
CPU (float64 and float32), and the same loop written by hand in numpy.

Same data (the 1,438 training rows of digits_split(seed=0)), same initial weights (the
reference MLP's, copied), same minibatch order (batches() from np.random.default_rng(seed)
each epoch), same recipe: MLP 64-64-10, ReLU, cross-entropy, batch 32, 30 epochs, SGD with
momentum 0.9 (torch's convention), lr 0.05. So the runs differ only in the engine, and in
float64 they must end at the same loss (asserted to 1e-10). One BLAS thread everywhere: the
variables below are set before numpy is imported, threadpoolctl (if installed) pins the
libraries already loaded, and torch.set_num_threads(1). Each time is the best of --repeat
runs, the four taken in turn each round (on a shared machine the best is the least disturbed,
and a busy spell falls on all four alike).

    python benchmarks/train_digits.py [--epochs 30] [--repeat 3] [--seed 0]
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from micrograd_reference.data import digits_split  # noqa: E402
from micrograd_reference.tensor_nn import MLP  # noqa: E402
from micrograd_reference.tensor_train import batches, evaluate, fit  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # the environment variables above do it alone
    threadpool_limits = None

BATCH, LR, MOMENTUM = 32, 0.05, 0.9


def train_tensor(params, X, y, epochs, seed):
    """The reference engine's own training loop, tensor_train.fit; returns (losses, model)."""
    model = MLP(64, [64, 10], np.random.default_rng(0))
    for p, value in zip(model.parameters(), params, strict=True):
        p.data[...] = value
    losses = fit(model, X, y, epochs, BATCH, LR, MOMENTUM, seed)
    return losses, model


def train_torch(params, X, y, epochs, seed, dtype):
    """The same loop in PyTorch: nn.Linear layers (weight = the reference's W transposed)."""
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
    ).to(dtype)
    with torch.no_grad():
        for layer, (W, b) in zip([model[0], model[2]], [params[:2], params[2:]], strict=True):
            layer.weight.copy_(torch.from_numpy(W.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    X_t, y_t = torch.from_numpy(X).to(dtype), torch.from_numpy(y)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        for idx in batches(len(X), BATCH, rng):
            idx = torch.from_numpy(idx)
            loss = torch.nn.functional.cross_entropy(model(X_t[idx]), y_t[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses, model


def train_numpy(params, X, y, epochs, seed):
    """The same loop by hand: forward, the gradients written out, the momentum step."""
    W1, b1, W2, b2 = (p.copy() for p in params)
    velocity = [np.zeros_like(p) for p in (W1, b1, W2, b2)]
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        for idx in batches(len(X), BATCH, rng):
            x, labels, rows = X[idx], y[idx], np.arange(len(idx))
            a = x @ W1
            a += b1
            h = np.maximum(a, 0.0)
            z = h @ W2
            z += b2
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            total = e.sum(axis=1, keepdims=True)
            losses.append(float(np.mean(np.log(total[:, 0]) - z[rows, labels])))
            dz = e / total  # (softmax - onehot) / N
            dz[rows, labels] -= 1.0
            dz *= 1.0 / len(idx)
            dh = dz @ W2.T
            dh *= a > 0
            grads = (x.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0))
            for p, g, v in zip((W1, b1, W2, b2), grads, velocity):
                v *= MOMENTUM
                v += g
                p -= LR * v
    return losses, (W1, b1, W2, b2)


def best_of(repeat, runs):
    """{name: (result, best time)}: the runs taken in turn, `repeat` rounds, so that a busy
    spell of the machine falls on all of them alike, not on one."""
    best = {name: (None, float("inf")) for name in runs}
    for _ in range(repeat):
        for name, train in runs.items():
            start = time.perf_counter()
            result = train()
            seconds = time.perf_counter() - start
            best[name] = (result, min(best[name][1], seconds))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best kept (3)")
    parser.add_argument("--seed", type=int, default=0, help="the minibatch order's seed (0)")
    args = parser.parse_args()
    if threadpool_limits is not None:
        threadpool_limits(1)
    torch.set_num_threads(1)
    # torch's first optimizer imports more of torch (1.7 s here): not the loop's time
    torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=LR, momentum=MOMENTUM)

    (X, y), (X_test, y_test) = digits_split(seed=0)
    init = [p.data.copy() for p in MLP(64, [64, 10], np.random.default_rng(args.seed)).parameters()]
    steps = args.epochs * len(batches(len(X), BATCH, np.random.default_rng(0)))
    runs = {
        "Tensor (reference)": lambda: train_tensor(init, X, y, args.epochs, args.seed),
        "PyTorch float64": lambda: train_torch(init, X, y, args.epochs, args.seed, torch.float64),
        "PyTorch float32": lambda: train_torch(init, X, y, args.epochs, args.seed, torch.float32),
        "numpy by hand": lambda: train_numpy(init, X, y, args.epochs, args.seed),
    }
    results = best_of(args.repeat, runs)

    print(
        f"digits MLP 64-64-10, {len(X)} rows, batch {BATCH}, {args.epochs} epochs ({steps} "
        f"steps), SGD lr {LR} momentum {MOMENTUM}, one BLAS thread, best of {args.repeat}"
    )
    for name, ((losses, _), seconds) in results.items():
        print(
            f"  {name:<19} {seconds:6.3f} s  {seconds / steps * 1e6:6.1f} us/step  "
            f"final batch loss {losses[-1]:.15f}"
        )
    t = {name: seconds for name, (_, seconds) in results.items()}
    ratio_torch = t["Tensor (reference)"] / t["PyTorch float32"]
    ratio_torch64 = t["Tensor (reference)"] / t["PyTorch float64"]
    ratio_numpy = t["Tensor (reference)"] / t["numpy by hand"]
    print(
        f"  Tensor / PyTorch float32: {ratio_torch:.2f}, / PyTorch float64: {ratio_torch64:.2f} "
        f"(goal <= 0.5: {'met' if max(ratio_torch, ratio_torch64) <= 0.5 else 'NOT met'})"
    )
    verdict = "met" if ratio_numpy <= 3 else "NOT met"
    print(f"  Tensor / numpy by hand: {ratio_numpy:.2f} (goal <= 3: {verdict})")

    ref = np.array(results["Tensor (reference)"][0][0])
    for name in ("PyTorch float64", "numpy by hand"):
        gap = np.abs(np.array(results[name][0][0]) - ref).max()
        print(f"  largest gap between the batch losses, Tensor and {name}: {gap:.1e}")
        assert gap < 1e-10, f"{name} and the Tensor engine diverged: {gap}"
    gap32 = np.abs(np.array(results["PyTorch float32"][0][0]) - ref).max()
    print(f"  (PyTorch float32: {gap32:.1e}, float32's rounding)")
    model = results["Tensor (reference)"][0][1]
    loss, acc = evaluate(model, X_test, y_test)
    print(f"  the Tensor model on {len(X_test)} held-out rows: loss {loss:.4f}, accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
