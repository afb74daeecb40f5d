"""The grader's own scratch folders: fresh, private (tempfile.mkdtemp: mode 0700, a name no
one can guess and create first as a link), and removed when the grader exits, even through
the quick exit of `grade` (cli.entry calls remove_all).

A process killed outright (kill -9, the OOM killer) cannot remove its folders. Each is named
for its owner, micrograd-ROLE-PID-XXXXXXXX, so that the next `grade batch` removes those whose
owner is gone (remove_abandoned): a batch run again after a crash cleans up after it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_FOLDERS: list[Path] = []
_OWNED = re.compile(r"micrograd-[a-z]+-(\d+)-[A-Za-z0-9_]+")


def private_folder(prefix: str) -> Path:
    """A new folder `prefix` + this process's pid + random letters (prefix "micrograd-ROLE-"),
    removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    _FOLDERS.append(folder)
    return folder


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if folder in _FOLDERS:
        _FOLDERS.remove(folder)


@contextlib.contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A private_folder for the length of a `with`."""
    folder = private_folder(prefix)
    try:
        yield folder
    finally:
        remove(folder)


@atexit.register
def remove_all() -> None:
    while _FOLDERS:
        shutil.rmtree(_FOLDERS.pop(), ignore_errors=True)


def remove_abandoned(where: Path | None = None) -> list[Path]:
    """Remove the scratch folders in `where` (the temporary folder) that belong to this user and
    whose owner process is gone; the folders removed."""
    removed = []
    try:
        entries = list(os.scandir(where or tempfile.gettempdir()))
    except OSError:
        return removed
    for entry in entries:
        owned = _OWNED.fullmatch(entry.name)
        try:
            if not owned or not entry.is_dir(follow_symlinks=False):
                continue
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if info.st_uid != os.geteuid() or _alive(int(owned[1]), info.st_ctime):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def _alive(pid: int, since: float) -> bool:
    """Is process `pid` alive, and the folder's owner: started before the folder changed last
    (`since`, its ctime)? A process that started after only got the dead owner's pid again."""
    if pid <= 0:
        return True  # no such owner (0 would mean our own process group)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3, the state
        if fields[0] == "Z":
            # a zombie: it has ended, and waits for its parent to collect it (a killed batch's
            # grading process waits for PID 1, which in a container may take seconds, or never)
            return False
        ticks = int(fields[19])  # field 22: start, since boot
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return True  # cannot tell: keep the folder
    return boot + ticks / os.sysconf("SC_CLK_TCK") <= since + 1
