"""Wall time of `grade exercise-N` on the reference, as a ratio to `python -c "import torch"`.

Both are measured in the same run, alternating, best of --repeat, so that a noisy machine
slows both alike. Goals: at most 1.5 for exercises 1 to 4 and for part two's 7 to 11; part
two's training exercises, 12 and 13, within 10 s; 5 and 6 train, with no goal.

    python benchmarks/grade_time.py [--repeat 3] [--exercises 7-13]
"""

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


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exercises", default="1-13", help="a range, e.g. 7-13")
    args = parser.parse_args()
    first, _, last = args.exercises.partition("-")
    grade = shutil.which("grade") or str(Path(sys.executable).with_name("grade"))
    pictures = tempfile.mkdtemp(prefix="grade-bench-")  # not a predictable path in /tmp
    torch_cmd = [sys.executable, "-c", "import torch"]
    for n in range(int(first), int(last or first) + 1):
        cmd = [
            grade,
            f"exercise-{n}",
            "--submission",
            "reference",
            "--pictures",
            pictures,
        ]
        t_torch, t_grade = [], []
        for _ in range(args.repeat):
            t_torch.append(wall(torch_cmd))
            t_grade.append(wall(cmd))
        ratio = min(t_grade) / min(t_torch)
        if n in (12, 13):
            goal = f"goal <= 10 s (trains a model): {'met' if min(t_grade) <= 10 else 'MISSED'}"
        elif n in (5, 6):
            goal = "no goal (trains a model)"
        else:
            goal = f"goal <= 1.5: {'met' if ratio <= 1.5 else 'MISSED'}"
        print(
            f"exercise-{n} ({mode()} sandbox): grade {min(t_grade):.2f} s, "
            f"import torch {min(t_torch):.2f} s, "
            f"ratio {ratio:.2f} ({goal})"
        )
    shutil.rmtree(pictures, ignore_errors=True)


def mode() -> str:
    from grader.sandbox import mode

    return mode()


if __name__ == "__main__":
    main()
