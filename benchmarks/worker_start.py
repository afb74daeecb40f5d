"""What starting a sandboxed worker costs a grader that has torch loaded: with no code of ours
between fork and exec (Python then uses vfork), against a preexec_fn (a full fork).

A fork copies the page tables of the grader, which holds torch (half a gigabyte and more);
vfork copies nothing. Each start is a new Sandbox on the reference and one small request
("ops"); both ways alternate in one run, best of --repeat rounds, so that a noisy machine slows
both alike. The grader's own CPU time is what the fork spends in the parent.

    python benchmarks/worker_start.py [--starts 20] [--repeat 3]
"""

import argparse
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402,F401 - a grader's size: what a fork has to copy

import grader.checks.registered  # noqa: E402,F401
from grader.sandbox import Sandbox, mode  # noqa: E402


@contextmanager
def with_preexec():
    """Every Popen gets a preexec_fn that does nothing: Python must fork, not vfork."""
    real = subprocess.Popen.__init__

    def init(self, *args, **kwargs):
        kwargs["preexec_fn"] = kwargs.get("preexec_fn") or (lambda: None)
        real(self, *args, **kwargs)

    subprocess.Popen.__init__ = init
    try:
        yield
    finally:
        subprocess.Popen.__init__ = real


def starts(n: int) -> tuple[float, float]:
    """(wall seconds, the grader's CPU seconds) per start of a worker and its first reply."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        with Sandbox(ROOT / "reference") as sandbox:
            sandbox.request("ops")
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    starts(2)  # warm: the sandbox's mode probed, the worker's source read
    vfork, fork = [], []
    for _ in range(args.repeat):
        vfork.append(starts(args.starts))
        with with_preexec():
            fork.append(starts(args.starts))
    (v_wall, v_cpu), (f_wall, f_cpu) = min(vfork), min(fork)
    print(f"sandbox mode: {mode()}; {args.starts} starts, best of {args.repeat}")
    print(f"as the grader starts it:  {v_wall * 1000:6.1f} ms wall, {v_cpu * 1000:5.1f} ms CPU")
    print(f"with a preexec_fn (fork): {f_wall * 1000:6.1f} ms wall, {f_cpu * 1000:5.1f} ms CPU")
    print(f"ratio fork / as started: wall {f_wall / v_wall:.2f}, grader CPU {f_cpu / v_cpu:.2f}")


if __name__ == "__main__":
    main()
