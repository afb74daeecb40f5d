"""The grader of the micrograd course kit."""

import os

# numpy's BLAS (and PyTorch's OpenMP) on one thread in the grader's process and in every process
# it starts, unless someone set them: its arrays are small, and on a shared machine a pool of
# threads only fights other processes for the cores (part two's digits epoch: 19.5 s with
# OpenBLAS's default threads against 1.07 s with one, measured for an MNIST-sized epoch). Set
# here, before anything imports numpy; the sandbox's worker gets them from sandbox/policy.py.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
