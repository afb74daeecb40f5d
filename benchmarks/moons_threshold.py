"""Evidence for exercise-5's moons threshold and time limit, measured in one run.

1. On 20 draws of the check (each course secret draws its own moons, rotated, shifted and
   relabelled, and its own initial parameters): the reference's held-out accuracy, trained
   in this process from the grader's initial parameters, must clear the threshold; the best
   straight line on the same held-out points (every direction, every cut) and a least-squares
   linear classifier fitted on the training points must stay below it by a clear margin.
2. Engines with a broken rule, graded by the real check: they must fall below it.
3. The wall time of the check with micrograd 0.1.0's engine.py and nn.py as the student's
   code: it must stay under 30 s.

Measured 2026-11-26 on 2 cores shared with other jobs: threshold 95%; the reference, trained
from the grader's initial parameters, min 97.0% and mean 98.3% over 20 draws; the best
straight line on the same held-out points max 89.5%, mean 89.1%; least squares max 89.5%.
Broken engines all fail. The check with micrograd 0.1.0's engine and nn: 12.2 s (limit 30 s);
with the reference: 1.7 s.
"""

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from grader.checks import ex5  # noqa: E402
from grader.checks.checking import Context  # noqa: E402
from grader.sandbox import Sandbox  # noqa: E402
from micrograd_reference import nn, train  # noqa: E402

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


def least_squares_accuracy(X, y, Xt, yt):
    """A linear classifier: w minimising |[X 1] w - y|^2 on the training points, on the test."""
    A = np.hstack([np.array(X), np.ones((len(X), 1))])
    w, *_ = np.linalg.lstsq(A, np.array(y, dtype=float), rcond=None)
    scores = np.hstack([np.array(Xt), np.ones((len(Xt), 1))]) @ w
    return float(np.mean((scores > 0) == (np.array(yt) > 0)))


def draws(count):
    """(reference accuracy, best line, least squares) on `count` draws of the check."""
    rows = []
    for i in range(count):
        (X, y), (Xt, yt), params, linear = ex5.moons_case(random.Random(f"draw {i}"))
        model = nn.MLP(2, ex5.MOONS_SIZES)
        for p, v in zip(model.parameters(), params):
            p.data = v
        train.fit(model, X, y, steps=ex5.MOONS_STEPS, alpha=ex5.MOONS_ALPHA)
        acc = ex5.accuracy([p.data for p in model.parameters()], Xt, yt)[0]
        rows.append((acc, linear, least_squares_accuracy(X, y, Xt, yt)))
    return rows


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
    rows = draws(args.seeds)
    accs, lines, squares = zip(*rows)
    print(
        f"reference on {args.seeds} draws: min {min(accs):.3f}  mean {statistics.mean(accs):.3f}"
        f"  margin over the threshold {min(accs) - ex5.MOONS_THRESHOLD:+.3f}"
    )
    print(
        f"best straight line on the same held-out points: max {max(lines):.3f}  mean "
        f"{statistics.mean(lines):.3f}  margin under the threshold "
        f"{ex5.MOONS_THRESHOLD - max(lines):+.3f}"
    )
    print(f"least squares (fitted on the training points): max {max(squares):.3f}")
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
