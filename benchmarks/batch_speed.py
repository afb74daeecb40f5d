"""How fast `grade batch` grades a class, with one grading process and with two.

    python benchmarks/batch_speed.py [--size 100] [--sample 20]

Writes a synthetic class (tools/synthetic_class.py), then, in the same run:
1. grades it on exercises 1-4 with --jobs 1 and with --jobs 2, and prints submissions per
   minute for each, seconds per submission, and the ratio. Goals: --jobs 2 at least 1.7 times
   --jobs 1, and at most 0.5 s per submission with --jobs 2. Then on every exercise (training
   included) with --jobs 2: at most 1.0 s per submission; and on part two's exercises (7-13,
   the Tensor engine) alone, with --jobs 2: at most 1.0 s per submission.
2. grades a sample of it twice, on exercise 1 and on every exercise: a separate `grade`
   command per student (torch imported once per student), and one batch with --jobs 1 (torch
   imported once per grading process), and prints the cost per submission of each.
Times are wall times of whole commands, start-up included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# numpy's BLAS and PyTorch's OpenMP on one thread in this process and in every command it
# times (the grader sets the same; a pool of threads per process only fights over 2 cores)
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
sys.path.insert(0, str(ROOT))

from tools import generate_course as generate  # noqa: E402
from tools.synthetic_class import write_class  # noqa: E402

GRADE = [sys.executable, "-m", "grader.cli"]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--sample", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="batch-speed-"))
    try:
        records = write_class(tmp / "class", args.size, manifest=tmp / "class.json")
        n = len(records)
        print(f"{n} submissions ({tmp / 'class'}), exercises 1-4")
        first_four = [f"--exercise={e}" for e in (1, 2, 3, 4)]
        walls = {}
        for jobs in (1, 2):
            out = tmp / f"grades-{jobs}"
            walls[jobs] = timed(
                [*GRADE, "batch", str(tmp / "class"), "--out", str(out)]
                + first_four
                + [f"--jobs={jobs}"]
            )
            per_minute = 60 * n / walls[jobs]
            print(
                f"  --jobs {jobs}: {walls[jobs]:6.1f} s, {per_minute:6.1f} submissions/min, "
                f"{walls[jobs] / n:.3f} s per submission"
            )
        same = (tmp / "grades-1" / "gradebook.csv").read_text() == (
            tmp / "grades-2" / "gradebook.csv"
        ).read_text()
        print(f"  ratio --jobs 2 / --jobs 1: {walls[1] / walls[2]:.2f} (goal >= 1.7)")
        print(f"  s per submission with --jobs 2: {walls[2] / n:.3f} (goal <= 0.5)")
        print(f"  the two gradebooks are identical: {same}")
        # every exercise, training included (5 and 6), beside exercises 1-4 above
        every = timed(
            [*GRADE, "batch", str(tmp / "class"), "--out", str(tmp / "grades-all")] + ["--jobs=2"]
        )
        print(
            f"every exercise, --jobs 2: {every:6.1f} s, {every / n:.3f} s per submission "
            f"(goal <= 1.0), beside {walls[2] / n:.3f} for exercises 1-4"
        )
        # part two alone (the Tensor engine, 7-13): its share of the above
        if "tensor.py" in generate.MODULES:
            part_two = [f"--exercise={e}" for e in range(7, 14)]
            out = tmp / "grades-tensor"
            tensor = timed(
                [*GRADE, "batch", str(tmp / "class"), "--out", str(out), *part_two, "--jobs=2"]
            )
            print(
                f"exercises 7-13, --jobs 2: {tensor:6.1f} s, {tensor / n:.3f} s per submission "
                "(goal <= 1.0)"
            )
        else:
            print("exercises 7-13: not timed (the generator's MODULES has no tensor.py yet)")

        sample = tmp / "sample"
        sample.mkdir()
        step = max(1, n // args.sample)
        chosen = [r for r in records if r["expect"]["gradable"]][::step][: args.sample]
        for r in chosen:
            src = tmp / "class" / r["entry"]
            (shutil.copytree if src.is_dir() else shutil.copy)(src, sample / r["entry"])
        for label, command, only in [
            ("exercise-1", "exercise-1", ["--exercise=1"]),
            ("every exercise", "all", []),
        ]:
            alone = sum(
                timed(
                    [*GRADE, command, "--submission", str(sample / r["entry"]), "--format"]
                    + ["json", "--pictures", str(tmp / "pictures")]
                )
                for r in chosen
            )
            out = tmp / f"sample-grades-{command}"
            batch = timed([*GRADE, "batch", str(sample), "--out", str(out), "--jobs=1", *only])
            print(f"{len(chosen)} of them, {label}, seconds per submission:")
            separate = f"a separate `grade {command}` per student:"
            print(f"  {separate:<46} {alone / len(chosen):.2f}")
            print(f"  {'one batch, --jobs 1:':<46} {batch / len(chosen):.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
