"""The grader's own scratch folders: fresh, private (tempfile.mkdtemp: mode 0700, a name no
one can guess and create first as a link), and removed when the grader exits, even through
the quick exit of `grade` (cli.entry calls remove_all)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

_FOLDERS: list[Path] = []


def private_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    _FOLDERS.append(folder)
    return folder


@atexit.register
def remove_all() -> None:
    while _FOLDERS:
        shutil.rmtree(_FOLDERS.pop(), ignore_errors=True)
