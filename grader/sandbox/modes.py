"""Which of the three modes isolates the worker here (the package's docstring says each)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from grader.sandbox import bwrap, permissions

BWRAP, PERMISSIONS, UNPROTECTED = "bwrap", "permissions", "unprotected"

NO_SANDBOX = (
    "student code cannot be sandboxed here: bubblewrap (bwrap) is missing or cannot run, and "
    "the grader is not root"
)

NO_SANDBOX_NOTE = (
    "bubblewrap is not installed, so your code ran with basic isolation only (fine for your "
    "own work; `sudo apt-get install bubblewrap` for the full sandbox)"
)


@functools.cache
def mode() -> str:
    """How the worker is isolated here: BWRAP, PERMISSIONS or UNPROTECTED (see the top).

    MICROGRAD_SANDBOX=bwrap|permissions|unprotected forces one (permissions needs root).
    """
    forced = os.environ.get("MICROGRAD_SANDBOX", "")
    if forced == BWRAP or (not forced and bwrap.works()):
        return BWRAP
    if forced in ("", PERMISSIONS) and permissions.isolation()[1] and permissions.acls_work():
        return PERMISSIONS
    return UNPROTECTED


@functools.cache
def shortfall() -> str:
    """Empty where student code is held to every promise of the README's security model here;
    else why not, in one line (no sandbox at all, or a lock of the "permissions" mode that
    does not hold on this machine: permissions.shortfall runs a probe as a worker)."""
    if mode() == UNPROTECTED:
        return NO_SANDBOX
    if mode() == PERMISSIONS:
        return permissions.shortfall()
    return ""


def protect(paths: list[Path]) -> None:
    """In "permissions" mode, make `paths` unreadable to every worker (acl.py); elsewhere
    nothing to do: in bwrap they do not exist, and a normal user's worker is the user."""
    if mode() == PERMISSIONS:
        permissions.deny(paths)
