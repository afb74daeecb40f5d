"""Evidence for exercise-5's moons threshold and time limit, measured in one run.

1. The reference's held-out accuracy with the check's recipe on 20 seeds (data and weights):
   the threshold must sit below the worst of them with a margin.
2. Engines with a broken rule, graded by the real check: they must fall below it.
3. The wall time of the check with micrograd 0.1.0's engine.py and nn.py as the student's
   code: it must stay under 30 s.

    python benchmarks/moons_threshold.py [--seeds 20]
"""

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from grader.checking import Context  # noqa: E402
from grader.checks import ex5  # noqa: E402
from grader.sandbox import Sandbox  # noqa: E402
from micrograd_reference import nn, train  # noqa: E402
from micrograd_reference.data import moons_split, to_lists  # noqa: E402

BROKEN = {
    "relu backward gives 0": (
        "engine.py",
        "self.grad += (out.data > 0) * out.grad",
        "self.grad += 0",
    ),
    "* backward uses own data": (
        "engine.py",
        "self.grad += other.data * out.grad",
        "self.grad += self.data * out.grad",
    ),
    "SGD step uphill": ("optim.py", "p.data -= lr * p.grad", "p.data += lr * p.grad"),
    "hinge without relu": ("losses.py", "(1 + -y * s).relu()", "(1 + -y * s)"),
}


def reference_accuracies(seeds):
    accs = []
    for seed in range(seeds):
        (Xtr, ytr), (Xte, yte) = moons_split(ex5.MOONS_TRAIN, ex5.MOONS_TEST, ex5.MOONS_NOISE, seed)
        (X, y), (Xt, yt) = to_lists(Xtr, ytr), to_lists(Xte, yte)
        random.seed(seed)
        model = nn.MLP(2, ex5.MOONS_SIZES)
        train.fit(model, X, y, steps=ex5.MOONS_STEPS, alpha=ex5.MOONS_ALPHA)
        accs.append(ex5.accuracy([p.data for p in model.parameters()], Xt, yt)[0])
    return accs


def check_on(workspace):
    start = time.perf_counter()
    with Sandbox(workspace) as sandbox:
        try:
            ex5.moons(Context(sandbox))
            verdict = "passes"
        except Exception as exc:  # Fail, or the student's error
            verdict = f"fails: {str(exc).splitlines()[0][:90]}"
    return verdict, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    print(
        f"recipe: {ex5.MOONS_TRAIN} points, {ex5.MOONS_STEPS} steps, MLP(2, {ex5.MOONS_SIZES}), "
        f"threshold {ex5.MOONS_THRESHOLD:.0%}"
    )
    accs = reference_accuracies(args.seeds)
    print(
        f"reference on {args.seeds} seeds: min {min(accs):.3f}  mean {statistics.mean(accs):.3f}  "
        f"margin over the threshold {min(accs) - ex5.MOONS_THRESHOLD:+.3f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, (file, old, new) in BROKEN.items():
            ws = Path(tmp) / name.replace(" ", "_")
            shutil.copytree(ROOT / "reference" / "micrograd", ws / "micrograd")
            path = ws / "micrograd" / file
            assert path.read_text().count(old) == 1, name
            path.write_text(path.read_text().replace(old, new))
            verdict, seconds = check_on(ws)
            print(f"broken: {name:<28} {verdict}  ({seconds:.1f} s)")
        from conftest import micrograd_0_1_0

        ws = Path(tmp) / "micrograd-0.1.0"
        shutil.copytree(ROOT / "reference" / "micrograd", ws / "micrograd")
        for name in ["engine.py", "nn.py"]:
            shutil.copy(micrograd_0_1_0() / "micrograd" / name, ws / "micrograd" / name)
        verdict, seconds = check_on(ws)
        print(
            f"micrograd 0.1.0 engine + nn: {verdict}; the check took {seconds:.1f} s (limit 30 s)"
        )
        verdict, seconds = check_on(ROOT / "reference")
        print(f"reference: {verdict}; the check took {seconds:.1f} s")


if __name__ == "__main__":
    main()
