"""The student's workspace: the folder whose micrograd/ package `import micrograd` finds.

The kit installs `micrograd` as exercises/micrograd (pyproject's package-dir). `grade workspace
PATH` names another folder: it writes a .pth file into site-packages that puts PATH on
sys.path, which Python searches before the kit's own mapping. `grade` then grades that folder
by default, and notebooks and Python sessions import from it.
"""

from __future__ import annotations

import importlib.util
import sysconfig
from pathlib import Path

PTH = "micrograd_kit_workspace.pth"
KIT_WORKSPACE = Path(__file__).resolve().parents[2] / "exercises"


def pth_file() -> Path:
    return Path(sysconfig.get_paths()["purelib"]) / PTH


def current() -> Path:
    """The folder holding the micrograd/ that `import micrograd` finds (without importing it)."""
    try:
        spec = importlib.util.find_spec("micrograd")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return KIT_WORKSPACE
    return Path(list(spec.submodule_search_locations)[0]).resolve().parent


def use(folder: Path | None) -> Path:
    """Make `folder` the workspace of new processes (None: the kit's exercises/); return it."""
    pth = pth_file()
    if folder is None or folder.resolve() == KIT_WORKSPACE:
        pth.unlink(missing_ok=True)
        return KIT_WORKSPACE
    folder = folder.resolve()
    if not (folder / "micrograd" / "__init__.py").is_file():
        raise ValueError(
            f"{folder} holds no micrograd/ package: copy the kit's exercises/micrograd/ there first"
        )
    pth.write_text(f"{folder}\n")
    return folder
