"""micrograd's demo, trained with the reference engine and with micrograd 0.1.0 from PyPI.

Same 100 moons, same initial weights, same recipe (MLP(2, [16, 16, 1]), hinge loss + 1e-4 L2,
lr = 1.0 - 0.9 * k / 100, full batch), so the two runs differ only in the engine; then the
time and memory of backward() through a chain of a million additions, which micrograd's
recursive topological sort cannot do (it stops near 1,000 deep).

    python benchmarks/train_moons.py [--steps 100] [--quick]

micrograd 0.1.0 comes from $MICROGRAD_WHEEL if set, else from benchmarks/.cache/, where the
first run saves it with `pip download`.
"""

import argparse
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"


def load_pypi_micrograd():
    """(Value, MLP) of micrograd 0.1.0; then clears sys.modules, so `micrograd` is unchanged.

    Both are packages named `micrograd`: import PyPI's from its unzipped wheel, keep the two
    classes, and forget every micrograd module it loaded.
    """
    wheel = os.environ.get("MICROGRAD_WHEEL")
    if wheel is None:
        found = sorted(CACHE.glob("micrograd-0.1.0-*.whl"))
        if not found:
            CACHE.mkdir(parents=True, exist_ok=True)
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "micrograd==0.1.0"]
            subprocess.run([*pip, "-d", str(CACHE)], check=True)
            found = sorted(CACHE.glob("micrograd-0.1.0-*.whl"))
        wheel = found[0]
    unpacked = CACHE / "micrograd-0.1.0"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(unpacked)
    sys.path.insert(0, str(unpacked))
    try:
        from micrograd.engine import Value
        from micrograd.nn import MLP
    finally:
        sys.path.remove(str(unpacked))
    for name in [m for m in sys.modules if m == "micrograd" or m.startswith("micrograd.")]:
        del sys.modules[name]
    return Value, MLP


MgValue, MgMLP = load_pypi_micrograd()
from micrograd_reference.data import make_moons, to_lists  # noqa: E402
from micrograd_reference.engine import Value  # noqa: E402
from micrograd_reference.nn import MLP  # noqa: E402
from micrograd_reference.optim import linear_decay  # noqa: E402
from micrograd_reference.train import fit  # noqa: E402

assert MgValue is not Value, "both imports found the same micrograd"


def train_micrograd(model, X, y, steps):
    """micrograd's demo.ipynb loop, as written there; returns the history of (loss, accuracy)."""
    history = []
    for k in range(steps):
        inputs = [list(map(MgValue, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores, strict=True)]
        history.append((total_loss.data, sum(accuracy) / len(accuracy)))
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
    return history


def timed(train):
    start = time.perf_counter()
    history = train()
    return history, time.perf_counter() - start


def chain_backward(n):
    """Build y = x + 1.0 + 1.0 + ... (n additions, so n + 1 deep), then time its backward()."""
    x = Value(0.0)
    y = x
    start = time.perf_counter()
    for _ in range(n):
        y = y + 1.0
    build = time.perf_counter() - start
    start = time.perf_counter()
    y.backward()
    seconds = time.perf_counter() - start
    assert x.grad == 1, x.grad  # dy/dx = 1 through every addition
    # tracemalloc slows every allocation, so the memory is measured on a second backward,
    # not the timed one; the graph is the same, so the sort allocates the same.
    tracemalloc.start()
    y.backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return build, seconds, peak, rss


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    parser.add_argument("--quick", action="store_true", help="10 steps, a 100,000-long chain")
    parser.add_argument("--chain", type=int, help="additions in the chain (default 1,000,000)")
    args = parser.parse_args()
    steps = 10 if args.quick else args.steps
    chain = args.chain or (100_000 if args.quick else 1_000_000)

    X, y = to_lists(*make_moons(n_samples=100, noise=0.1, seed=1337))  # y * 2 - 1, in {-1, 1}
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    mg_model = MgMLP(2, [16, 16, 1])
    params, mg_params = model.parameters(), mg_model.parameters()
    assert len(params) == len(mg_params) == 337
    for p, q in zip(params, mg_params, strict=True):
        q.data = p.data

    # lr fixed to micrograd's 1.0 - 0.9 * k / 100 whatever the number of steps, like its loop
    lr = linear_decay(1.0, 0.1, 100)
    ref_hist, ref_s = timed(lambda: fit(model, X, y, steps=steps, lr=lr))
    mg_hist, mg_s = timed(lambda: train_micrograd(mg_model, X, y, steps))
    drift = max(abs(p.data - q.data) for p, q in zip(params, mg_params, strict=True))

    print(f"micrograd demo: 100 moons, MLP(2, [16, 16, 1]), {steps} steps, 337 parameters")
    for name, (loss, acc), s in [
        ("reference", ref_hist[-1], ref_s),
        ("micrograd", mg_hist[-1], mg_s),
    ]:
        print(f"  {name:<10} loss {loss:.6f}  accuracy {acc:.2f}  {s / steps * 1000:7.1f} ms/step")
    ratio = ref_s / mg_s
    verdict = "met" if ratio <= 0.25 else "NOT met"
    print(f"  time reference / micrograd: {ratio:.3f} (goal <= 0.25: {verdict})")
    print(f"  largest difference between the two models' parameters after training: {drift:.2e}")

    build, seconds, peak, rss = chain_backward(chain)
    print(f"reference backward() on a chain of {chain:,} additions ({2 * chain + 1:,} nodes):")
    print(f"  build {build:.2f} s, backward {seconds:.2f} s")
    print(f"  backward's own peak memory {peak / 2**20:.0f} MiB (tracemalloc), ", end="")
    print(f"the process's peak RSS, graph included, {rss / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
