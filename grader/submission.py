"""Turn a submission (a workspace folder, a .zip of one, or a notebook) into a workspace folder.

A workspace is a folder holding the package `micrograd/` (engine.py, nn.py, ...). Nothing
here runs student code; a submission that cannot be read raises SubmissionError with a
message that says what to do.
"""

from __future__ import annotations

import json
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

KIT = Path(__file__).resolve().parents[1]
STUBS = KIT / "exercises"  # the untouched workspace, the base a notebook's cells go into
NOTEBOOK_KEY = "micrograd_kit"
MAX_UNZIPPED = 50 * 1024**2
MAX_MEMBERS = 2000


class SubmissionError(Exception):
    """The submission cannot be graded as it is; the message says why and what to do."""


def find_workspace(folder: Path) -> Path:
    """The folder inside `folder` that holds micrograd/engine.py (the shallowest one)."""
    if (folder / "micrograd" / "engine.py").is_file():
        return folder
    if folder.name == "micrograd" and (folder / "engine.py").is_file():
        return folder.parent
    found = sorted(
        (p.parent.parent for p in folder.rglob("micrograd/engine.py") if not p.is_symlink()),
        key=lambda p: (len(p.parts), str(p)),
    )
    if not found:
        raise SubmissionError(
            f"no micrograd/engine.py in {folder.name}: a submission is a folder (or a .zip of "
            "one) that holds your micrograd/ package, like exercises/ in the kit"
        )
    return found[0]


def refuse_links_outside(submission: Path, package: Path) -> None:
    """Raise SubmissionError if micrograd/, or anything in it, is a link that leads outside
    the submission (e.g. to the kit's own reference engine)."""
    inside = submission.resolve()
    for path in [package, *package.rglob("*")]:
        if not path.is_symlink():
            continue
        target = path.resolve()
        if target != inside and inside not in target.parents:
            rel = path.relative_to(submission)
            raise SubmissionError(
                f"{rel} is a link to {target}, outside the submission: submit your own "
                "files, not links to others (copy them in)"
            )


def _extract_zip(path: Path, dest: Path) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"{path.name} is not a readable .zip file ({exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNZIPPED:
            raise SubmissionError(
                f"{path.name} is too large to grade (over {MAX_MEMBERS} files "
                f"or {MAX_UNZIPPED // 1024**2} MB unpacked)"
            )
        for m in members:
            name = PurePosixPath(m.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts:
                raise SubmissionError(
                    f"{path.name} holds an unsafe path ({m.filename!r}): zip your folder again "
                    "from inside it, with relative paths only"
                )
            if stat.S_ISLNK(m.external_attr >> 16):
                continue  # links are never followed or created
            target = dest.joinpath(*name.parts)
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                raise SubmissionError(f"{path.name}: cannot read {m.filename} ({exc})") from None


def notebook_files(path: Path) -> dict[str, str]:
    """{relative path: source} of the notebook's marked cells, the %%writefile line removed."""
    import nbformat

    try:
        raw = path.read_text(encoding="utf-8")
        json.loads(raw)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SubmissionError(
            f"{path.name} is not a valid notebook: it is not JSON ({exc})"
        ) from None
    try:
        nb = nbformat.reads(raw, as_version=nbformat.NO_CONVERT)
    except Exception as exc:  # nbformat raises several types for unreadable notebooks
        raise SubmissionError(f"{path.name} is not a notebook nbformat can read ({exc})") from None
    if nb.get("nbformat", 0) < 4:
        raise SubmissionError(
            f"{path.name} is in notebook format {nb.get('nbformat')}: save it with Jupyter 4 or "
            "newer (File > Save), or start again from the kit's exercises/notebooks/"
        )
    files: dict[str, str] = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get(NOTEBOOK_KEY)
        if cell.get("cell_type") != "code" or not isinstance(meta, dict):
            continue
        rel = str(meta.get("file", ""))
        if not rel.startswith("micrograd/") or ".." in rel or not rel.endswith(".py"):
            raise SubmissionError(f"{path.name}: a marked cell names an unexpected file {rel!r}")
        if rel in files:
            raise SubmissionError(
                f"{path.name}: two cells are marked as {rel}; keep one (the other may be a copy "
                "you pasted: delete it, or remove its cell metadata)"
            )
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        first, _, rest = source.partition("\n")
        files[rel] = rest if first.startswith("%%writefile") else source
    if not files:
        raise SubmissionError(
            f"{path.name} has no marked code cells: use a notebook from the kit's "
            "exercises/notebooks/ and keep its cells holding micrograd/*.py"
        )
    expected = nb.get("metadata", {}).get(NOTEBOOK_KEY, {}).get("files", [])
    missing = [rel for rel in expected if isinstance(rel, str) and rel not in files]
    if missing:
        raise SubmissionError(
            f"{path.name} lacks its marked cell for {', '.join(missing)} (the cell that starts "
            f"with %%writefile {missing[0]}): was it deleted, or its metadata cleared? Copy "
            "that cell back from the kit's exercises/notebooks/, with your code in it"
        )
    return files


@contextmanager
def open_submission(path: Path) -> Iterator[Path]:
    """Yield a workspace folder for the submission; temporary copies are removed after."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path} does not exist: pass a workspace folder, a .zip or a .ipynb")
    if path.is_symlink():
        raise SubmissionError(
            f"{path.name} is a link: pass the folder, .zip or notebook itself "
            "(a submission that leads outside itself is not graded)"
        )
    if path.is_dir():
        workspace = find_workspace(path)
        refuse_links_outside(path, workspace / "micrograd")
        yield workspace
        return
    with tempfile.TemporaryDirectory(prefix="micrograd-submission-") as tmp:
        tmp_path = Path(tmp)
        if path.suffix == ".zip":
            _extract_zip(path, tmp_path)
            yield find_workspace(tmp_path)
        elif path.suffix == ".ipynb":
            files = notebook_files(path)
            if not (STUBS / "micrograd").is_dir():
                raise SubmissionError("the kit's exercises/ folder is missing: reinstall the kit")
            shutil.copytree(
                STUBS / "micrograd",
                tmp_path / "micrograd",
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            for rel, source in files.items():
                (tmp_path / rel).write_text(source)
            yield tmp_path
        else:
            raise SubmissionError(
                f"{path.name}: cannot grade a {path.suffix or 'file without extension'}; pass a "
                "workspace folder, a .zip of one, or a notebook (.ipynb)"
            )
