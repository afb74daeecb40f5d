"""The course's secret: where every check draws the numbers a student's code is tried on.

A check's expected answer must be impossible to give without doing the computation, so the
inputs it sends to the worker are drawn from a seed the worker never sees. Grades must stay
reproducible all the same, so the seed is fixed per course: an instructor sets a secret once
(for a batch or a Gradescope bundle), and self-study uses the public default below.

    seed = sha256(secret + "\\0" + purpose)   (first 8 bytes, as an integer)

`purpose` names the check (e.g. "exercise-1/mul backward"), so that each check draws its own
numbers and adding a check does not change another's. Only a fingerprint of the secret is ever
written into results: enough to tell whether two grades used the same secret, not to recover it.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

ENV_SECRET = "MICROGRAD_COURSE_SECRET"
ENV_SECRET_FILE = "MICROGRAD_COURSE_SECRET_FILE"
PUBLIC_SECRET = "micrograd-kit public practice secret"


def secret() -> str:
    """The course's secret: $MICROGRAD_COURSE_SECRET_FILE's first line, $MICROGRAD_COURSE_SECRET,
    or the public default (self-study, where nothing needs hiding)."""
    path = os.environ.get(ENV_SECRET_FILE)
    if path:
        text = Path(path).read_text(encoding="utf-8").strip().splitlines()
        if text and text[0].strip():
            return text[0].strip()
    return os.environ.get(ENV_SECRET) or PUBLIC_SECRET


def is_public() -> bool:
    """True when grading with the public default secret (anyone can compute its numbers)."""
    return secret() == PUBLIC_SECRET


def seed_for(purpose: str) -> int:
    """A 64-bit seed for one purpose (a check's name), fixed for the course."""
    digest = hashlib.sha256(f"{secret()}\0{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def rng_for(purpose: str) -> random.Random:
    """A random generator of its own for one purpose, seeded from the course's secret."""
    return random.Random(seed_for(purpose))


def fingerprint() -> str:
    """12 hex digits that identify the secret without revealing it (for receipts)."""
    return hashlib.sha256(f"fingerprint\0{secret()}".encode()).hexdigest()[:12]
