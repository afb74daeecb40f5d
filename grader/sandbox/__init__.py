"""Run student code in a separate, limited worker process and talk to it in plain numbers.

The worker runs `python -I -S` on a temporary copy of the submission's `micrograd/` package;
its own code (grader/sandbox/worker/) comes through a pipe, so that no file of it is in the
sandbox, and it holds no answer (questions.py: the grader orders the rules it grades one by
one). It runs in one of three modes (modes.py; MICROGRAD_SANDBOX forces one):

- "bwrap" (bwrap.py): inside bubblewrap, whose whole policy is policy.py: it sees its own files,
  the standard library, numpy and the libraries they load (libraries.py), nothing else; no
  network, no other process, no new process (seccomp.py). As root, bwrap itself runs as a
  user of the worker's own.
- "permissions" (permissions.py), as root where namespaces are forbidden (Docker's default
  profile): the worker runs as a user of its own, and what it must not read is denied to that
  user by POSIX ACLs (acl.py); a process limit of 1 forbids new processes and threads, the
  seccomp filter sockets and IPC objects, a PID namespace (where `unshare` works) the sight of
  other processes. A probe run as a worker checks every lock (shortfall()): where one does
  not hold, batches and Gradescope refuse.
- "unprotected", a normal user without bwrap: basic isolation only (no site-packages, PID and
  network namespaces where allowed); fine for a student's own work, refused for a batch and
  for Gradescope unless asked for with --unsafe-no-sandbox.

worker_process.py starts, feeds and stops the worker; worker_program.py is what it runs first
(its code, from a pipe); processes.py holds its user, limits and clean-up;
replies.py what comes back. This face is what the rest of the grader imports.
"""

from grader.sandbox.modes import (
    BWRAP,
    NO_SANDBOX,
    NO_SANDBOX_NOTE,
    PERMISSIONS,
    UNPROTECTED,
    mode,
    protect,
    shortfall,
)
from grader.sandbox.processes import Limits, die_with_parent
from grader.sandbox.replies import (
    OutOfTime,
    StudentError,
    TooLarge,
    UnreadableReply,
    WorkerFailed,
    clean,
    describe_exit,
    finite,
    student_error,
)
from grader.sandbox.worker_process import Sandbox

__all__ = [
    "BWRAP",
    "NO_SANDBOX",
    "NO_SANDBOX_NOTE",
    "PERMISSIONS",
    "UNPROTECTED",
    "Limits",
    "OutOfTime",
    "Sandbox",
    "StudentError",
    "student_error",
    "TooLarge",
    "UnreadableReply",
    "WorkerFailed",
    "clean",
    "describe_exit",
    "die_with_parent",
    "finite",
    "mode",
    "protect",
    "shortfall",
]
