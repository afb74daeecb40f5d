"""check() from a notebook cell against `grade exercise-N`, measured side by side in one run.

A workspace with every notebook holding the reference's code (so every check runs to the end),
one real Jupyter kernel per exercise, as a student has: the notebook's first cell (start(),
which loads torch and the checks), the first check() in the kernel, then later ones; and
`grade exercise-N --submission NOTEBOOK` in a fresh process each time, as from a terminal.
Wall times as the kernel's client sees them; grade and later checks, the median of --repeat.

    python benchmarks/check_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
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
sys.path[:0] = [str(ROOT)]

from jupyter_client.manager import start_new_kernel  # noqa: E402

from tests.test_notebooks import fill, reference_files  # noqa: E402
from tools.generate_course import EXERCISES_INFO  # noqa: E402


def run(client, code: str) -> str:
    """Execute code in the kernel; return what it printed (raise on an error)."""
    printed = []
    reply = client.execute_interactive(
        code,
        timeout=600,
        output_hook=lambda msg: (
            printed.append(msg["content"].get("text", ""))
            if msg["msg_type"] == "stream"
            else (
                printed.append("ERROR " + msg["content"]["evalue"])
                if msg["msg_type"] == "error"
                else None
            )
        ),
    )
    if reply["content"]["status"] != "ok":
        raise RuntimeError("".join(printed))
    return "".join(printed)


def timed_check(client, n: int) -> tuple[float, float]:
    """(seconds seen by the client, score) of one check() in the kernel."""
    start = time.perf_counter()
    out = run(client, f'_r = check("exercise-{n}"); print(_r.score, _r.max_score)')
    seconds = time.perf_counter() - start
    score, top = map(float, out.split())
    assert score == top, f"exercise-{n}: {score}/{top}"
    return seconds, score


def timed_grade(notebook: Path, n: int) -> tuple[float, float]:
    grade = Path(sys.executable).with_name("grade")
    start = time.perf_counter()
    done = subprocess.run(
        [str(grade), f"exercise-{n}", "--submission", str(notebook), "--format", "json"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    import json

    return seconds, float(json.loads(done.stdout)["score"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(ROOT / "exercises" / "micrograd", ws / "micrograd")
        shutil.copytree(ROOT / "exercises" / "notebooks", ws / "notebooks")
        files = reference_files()
        for n in EXERCISES_INFO:
            fill(ws / "notebooks" / f"exercise-{n}.ipynb", files)
        head = f"{'':11} {'grade (s)':>10} {'setup cell':>10} {'1st check':>10} {'later':>8}"
        print(f"{head}  later/grade")
        for n in sorted(EXERCISES_INFO):
            notebook = ws / "notebooks" / f"exercise-{n}.ipynb"
            manager, client = start_new_kernel(kernel_name="python3", cwd=str(notebook.parent))
            try:
                # what the notebook's first cell (which loads torch and the checks) and its
                # %%micrograd cells do
                began = time.perf_counter()
                run(client, f"from grader.notebook import check, start\nstart({n})")
                setup = time.perf_counter() - began
                import nbformat

                for cell in nbformat.read(notebook, as_version=4).cells:
                    if cell.source.startswith("%%micrograd"):
                        run(client, cell.source)
                first, score = timed_check(client, n)
                later = statistics.median(timed_check(client, n)[0] for _ in range(args.repeat))
                graded = [timed_grade(notebook, n) for _ in range(args.repeat)]
                assert all(s == score for _, s in graded), "check() and grade disagree"
                grade_s = statistics.median(s for s, _ in graded)
            finally:
                client.stop_channels()
                manager.shutdown_kernel(now=True)
            ratios = f"{later / grade_s:10.2f}   (first/grade {first / grade_s:.2f})"
            times = f"{grade_s:10.2f} {setup:10.2f} {first:10.2f} {later:8.3f}"
            print(f"exercise-{n}  {times}  {ratios}")


if __name__ == "__main__":
    main()
