"""What comes back from the worker: the student's errors, a failed worker, and the numbers.

Nothing the worker prints or exits with is a verdict: replies are JSON numbers that the checks
validate and compare; a reply the grader cannot read is the student's wrong answer.
"""

from __future__ import annotations

import math
import signal
from typing import NoReturn

from grader.sandbox.processes import Limits


class WorkerFailed(Exception):
    """The worker could not answer: it hung, died, exited, or sent something malformed."""


class TooLarge(Exception):
    """The submission's package is too large to copy into the sandbox."""


class StudentError(Exception):
    """The student's code raised an exception while serving a request."""

    def __init__(self, kind: str, message: str, where: str):
        kind, message, where = clean(kind), clean(message), clean(where)
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.where = kind, message, where

    @property
    def not_implemented(self) -> bool:
        return self.kind == "NotImplementedError"


def student_error(kind: str, message: str, where: str) -> NoReturn:
    """Raise the student's error as the worker reported it. From this one line, wherever the
    reply was read (one request, or a batch's): hypothesis tells failures apart by where their
    exceptions were raised, chained ones included, and a batch's answer replayed one by one
    must be the same failure, or it is reported as flaky code."""
    raise StudentError(kind, message, where)


class OutOfTime(StudentError):
    """The exercise's time budget is spent: this check, and those after it, fail."""

    def __init__(self, message: str):
        super().__init__("OutOfTime", message, "")


class UnreadableReply(StudentError):
    """The worker's reply is not what the protocol says (malformed JSON, a wrong id...)."""

    def __init__(self, message: str):
        super().__init__("UnreadableReply", message, "")


def clean(text: str) -> str:
    """Student text made safe to print and to put in XML: valid UTF-8, no control characters."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(c if c in "\n\t" or (c.isprintable() and c != "\ufffe") else "?" for c in text)


def describe_exit(code: int | None, limits: Limits) -> str:
    if code is None:
        return "the worker closed its pipe and stopped answering"
    if code == 0:
        return "the worker exited early with status 0 (did your code call exit()?)"
    if code < 0:
        sig = signal.Signals(-code)
        why = {
            signal.SIGXCPU: f"it used more than {limits.cpu_seconds} s of CPU time",
            signal.SIGXFSZ: f"it wrote over {limits.file_bytes // 1024**2} MB (flooding output?)",
            signal.SIGKILL: "it was killed (out of memory?)",
            signal.SIGSEGV: "it crashed (segmentation fault: infinite recursion?)",
        }.get(sig, f"it was stopped by {sig.name}")
        return f"the worker died: {why}"
    return f"the worker exited with status {code}"


def finite(values: object, count: int | None = None) -> list[float] | None:
    """The list of floats the worker sent, or None when it is not count finite numbers."""
    if not isinstance(values, list) or (count is not None and len(values) != count):
        return None
    out = []
    for v in values:
        try:
            if type(v) not in (int, float) or not math.isfinite(float(v)):
                return None
        except OverflowError:  # an int too large for a float
            return None
        out.append(float(v))
    return out
