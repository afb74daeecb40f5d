"""Receipts: what a results.json needs to be reproduced, and `grade verify`, which regrades.

A receipt (results.json's extra_data.receipt) holds the kit's version; the grader's hash (the
one the batch resumes by: grader code, reference, stubs, exercises, extra checks); the course
secret's fingerprint and whether it is the public one (never the secret: it would reveal the
numbers each check tries); the tolerances; Python's, torch's and numpy's versions; and the
submission's content hash. Regrading the same submission with an equal receipt gives the same
verdicts, since every check draws its numbers from the secret and hypothesis is derandomised.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path

from grader.checks import course
from grader.submissions.submission import KIT

# What differs between two receipts, named for people; `verify` checks them in this order.
FIELDS = {
    "submission": "the submission's content hash",
    "secret": "the course secret's fingerprint",
    "grader": "the grader's hash (its code, the exercises, the extra checks, the secret)",
    "kit_version": "the kit's version",
    "tolerances": "the tolerances",
    "python": "Python's version",
    "torch": "torch's version",
    "numpy": "numpy's version",
}


def content_hash(path: Path) -> str:
    """sha256 of an entry's content: file names and bytes; links by their target, not followed."""
    h = hashlib.sha256()
    paths = [path] if not path.is_dir() else sorted(path.rglob("*"))
    for p in paths:
        if "__pycache__" in p.parts or p.name == ".ipynb_checkpoints":
            continue
        rel = p.name if p == path else str(p.relative_to(path))
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        try:
            if p.is_symlink():
                h.update(b"link\0" + os.readlink(p).encode("utf-8", "surrogateescape"))
            elif p.is_file():
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
        except OSError as exc:  # unreadable: the key still changes when it becomes readable
            h.update(f"unreadable {exc.errno}".encode())
        h.update(b"\0")
    return h.hexdigest()


def grading_fingerprint(exercises: list[int], extra_checks: Path | None) -> str:
    """sha256 of what decides a grade besides the submission: code, exercises, extra checks,
    the course's secret."""
    h = hashlib.sha256(json.dumps([exercises, course.fingerprint()]).encode())
    sources = [KIT / "grader", KIT / "reference" / "micrograd", KIT / "exercises" / "micrograd"]
    if extra_checks:
        sources.append(Path(extra_checks))
    for folder in sources:
        for p in sorted(folder.rglob("*.py")):
            if "__pycache__" not in p.parts:
                h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def tolerances() -> dict[str, float]:
    from grader.checks import checking, ex5  # torch with them: only where grades are made

    return {
        "torch_rel": checking.TORCH_REL,
        "torch_abs": checking.TORCH_ABS,
        "fd_step": checking.FD_STEP,
        "fd_rel": checking.FD_REL,
        "moons_threshold": ex5.MOONS_THRESHOLD,
    }


def torch_version() -> str:
    """torch.__version__, read from the installed package's metadata (the same string): a
    grade that never computed with torch need not import it (2 s) to write its receipt."""
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        import torch

        return torch.__version__


def environment() -> dict:
    """The parts of a receipt that do not depend on the submission or the options."""
    import numpy

    try:
        version = metadata.version("micrograd-kit")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "kit_version": version,
        "secret": {"fingerprint": course.fingerprint(), "public": course.is_public()},
        "tolerances": tolerances(),
        "python": platform.python_version(),
        "torch": torch_version(),
        "numpy": numpy.__version__,
    }


def make(
    submission: Path,
    exercises: list[int],
    extra_checks: Path | None = None,
    grader_hash: str | None = None,
    submission_hash: str | None = None,
) -> dict:
    """The receipt of grading `submission`; the batch passes the hashes it has already."""
    return {
        "submission": submission_hash or content_hash(Path(submission)),
        "grader": grader_hash or grading_fingerprint(exercises, extra_checks),
        "exercises": list(exercises),
        "extra_checks": bool(extra_checks),
        **environment(),
    }


def differences(old: dict, new: dict) -> list[str]:
    """What differs between two receipts, in words; empty when they agree."""
    out = []
    secret = old.get("secret") != new.get("secret")
    for key, what in FIELDS.items():
        if old.get(key) == new.get(key):
            continue
        line = f"{what}: {_short(old.get(key))} then, {_short(new.get(key))} now"
        if key == "secret":
            line += (
                ": grade with the secret the grade was made with (--course-secret-file); "
                "every check draws its inputs from it"
            )
        elif key == "grader" and secret:
            # the secret is part of the grader's hash: a different secret alone changes it
            line = (
                "the grader's hash differs too, as the secret is part of it: verify with the "
                "secret the grade was made with, to compare the rest"
            )
        out.append(line)
    return out


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and len(value) == 64:
        return value[:12]  # a sha256: its start is enough to tell two apart
    if isinstance(value, dict) and "fingerprint" in value:
        return value["fingerprint"] + (" (public)" if value.get("public") else "")
    return str(value) if value is not None else "none recorded"


def verdicts(results: dict) -> dict[str, tuple[str, float]]:
    """test name -> (outcome, score) of a results.json."""
    return {
        t["name"]: (t.get("extra_data", {}).get("outcome") or t.get("status", ""), t["score"])
        for t in results.get("tests", [])
    }


def compare(old: dict, new: dict) -> list[str]:
    """Every difference between two results.json that would change or explain a grade."""
    out = []
    if old.get("score") != new.get("score"):
        out.append(f"score: {_short(old.get('score'))} then, {_short(new.get('score'))} now")
    before, after = verdicts(old), verdicts(new)
    for name in sorted(set(before) | set(after), key=lambda n: (n not in before, n)):
        a, b = before.get(name), after.get(name)
        if a != b:
            then = f"{a[0]} ({a[1]:g})" if a else "absent"
            now = f"{b[0]} ({b[1]:g})" if b else "absent"
            out.append(f"check {name!r}: {then} then, {now} now")
    if old.get("extra_data", {}).get("error") != new.get("extra_data", {}).get("error"):
        out.append("could-not-grade message differs")
    old_receipt = old.get("extra_data", {}).get("receipt") or {}
    out += differences(old_receipt, new.get("extra_data", {}).get("receipt") or {})
    return out
