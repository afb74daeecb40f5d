"""Turn a submission (a workspace folder, a .zip of one, or a notebook) into a workspace folder.

A workspace is a folder holding the package `micrograd/` (engine.py, nn.py, ...), and maybe
the kit's notebooks in notebooks/, whose %%micrograd cells count as the student's code. Nothing
here runs student code; a submission that cannot be read raises SubmissionError with a
message that says what to do.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.submissions.definitions import (
    MAGIC,
    Definition,
    Locations,
    apply,
    apply_traced,
    definitions,
    is_stub,
)
from grader.submissions.scratch import scratch_folder

KIT = Path(__file__).resolve().parents[2]
STUBS = KIT / "exercises"  # the untouched workspace, the base a notebook's cells go into
NOTEBOOK_KEY = "micrograd_kit"
MAX_UNZIPPED = 50 * 1024**2
MAX_MEMBERS = 2000
MAX_NOTEBOOK = MAX_UNZIPPED  # a notebook larger is not read


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
            "one) that holds your micrograd/ package, like exercises/ in the kit, or your "
            "notebooks"
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
    """Unpack `path` into `dest`. Whatever the zip module raises on a damaged or odd zip (a
    bad header, an unknown compression, a corrupt stream, a password) is SubmissionError."""
    try:
        _unpack(path, dest)
    except SubmissionError:
        raise
    except Exception as exc:  # noqa: BLE001 - zlib.error, NotImplementedError, EOFError, ...
        raise SubmissionError(
            f"{path.name} is not a readable .zip file ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _unpack(path: Path, dest: Path) -> None:
    with zipfile.ZipFile(path) as zf:
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
            with zf.open(m) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)


def _read_notebook(path: Path):
    """The notebook at `path`, read by nbformat; SubmissionError if it cannot be: too large,
    not UTF-8, not JSON, nested deeper than Python's parser goes, not a notebook."""
    import nbformat

    try:
        if path.stat().st_size > MAX_NOTEBOOK:
            raise SubmissionError(
                f"{path.name} is too large to grade (over {MAX_NOTEBOOK // 1024**2} MB): clear "
                "its outputs (Edit > Clear outputs of all cells) and save it again"
            )
        raw = path.read_text(encoding="utf-8")
        json.loads(raw)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, MemoryError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise SubmissionError(
            f"{path.name} is not a valid notebook: it is not JSON ({why})"
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
    return nb


@dataclass
class Cell:
    """A marked %%micrograd cell of a notebook, as saved."""

    key: str  # "engine.py Value.__add__": its module and the definition it is marked for
    module: str  # "engine.py"
    body: str  # its code, after the %%micrograd line
    origin: str  # "exercise-1.ipynb, cell 5 (Value.__add__)"
    first: int  # the cell's line number of the body's first line


@dataclass
class NotebookCode:
    """The student code a notebook carries."""

    exercise: int | None  # the exercise it is for, from its metadata
    files: dict[str, str]  # whole modules ({"micrograd/engine.py": source}), from %%writefile cells
    definitions: list[Definition]  # from %%micrograd cells, in the notebook's order
    cells: list[Cell]  # those cells themselves


def notebook_code(path: Path) -> NotebookCode:
    """The marked cells of a notebook: %%micrograd cells (definitions put into a module) and,
    in notebooks of the kit's first release, %%writefile cells (whole modules). A notebook
    whose parts are not what the format says (a cell that is not an object...) is
    SubmissionError, like one that is not JSON."""
    nb = _read_notebook(path)
    try:
        return _marked_cells(path, nb)
    except SubmissionError:
        raise
    except Exception as exc:  # noqa: BLE001 - nbformat validates loosely: any shape may come
        raise SubmissionError(
            f"{path.name} is not a notebook the grader can read ({type(exc).__name__}: "
            f"{str(exc)[:200]})"
        ) from None


def _marked_cells(path: Path, nb) -> NotebookCode:
    files: dict[str, str] = {}
    defs: list[Definition] = []
    cells: list[Cell] = []
    seen: set[str] = set()
    for index, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {}).get(NOTEBOOK_KEY)
        if cell.get("cell_type") != "code" or not isinstance(meta, dict):
            continue
        rel = str(meta.get("file", ""))
        if not rel.startswith("micrograd/") or ".." in rel or not rel.endswith(".py"):
            raise SubmissionError(f"{path.name}: a marked cell names an unexpected file {rel!r}")
        key = rel + (f" {meta['definition']}" if meta.get("definition") else "")
        if key in seen:
            raise SubmissionError(
                f"{path.name}: two cells are marked as {key}; keep one (the other may be a copy "
                "you pasted: delete it, or remove its cell metadata)"
            )
        seen.add(key)
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        first, _, rest = source.partition("\n")
        module = rel.removeprefix("micrograd/")
        origin = f"{path.name}, cell {index + 1}" + (
            f" ({meta['definition']})" if meta.get("definition") else ""
        )
        if first.startswith("%%writefile"):
            files[rel] = rest
            continue
        if not first.startswith(MAGIC):  # the magic line deleted: still the module's code
            rest = source
        line = 2 if first.startswith(MAGIC) else 1
        cells.append(Cell(key.removeprefix("micrograd/"), module, rest, origin, line))
        defs += definitions(module, rest, origin, line)
    if not seen:
        raise SubmissionError(
            f"{path.name} has no marked code cells: use a notebook from the kit's "
            "exercises/notebooks/ and keep its cells that start with %%micrograd"
        )
    meta = nb.get("metadata", {}).get(NOTEBOOK_KEY, {})
    expected = meta.get("cells", meta.get("files", []))
    missing = [key for key in expected if isinstance(key, str) and key not in seen]
    if missing:
        raise SubmissionError(
            f"{path.name} lacks its marked cell for {', '.join(missing)}: was it deleted, or "
            "its metadata cleared? Copy that cell back from the kit's exercises/notebooks/, "
            "with your code in it"
        )
    exercise = meta.get("exercise")
    return NotebookCode(exercise if isinstance(exercise, int) else None, files, defs, cells)


def notebook_workspace(folder: Path) -> Path | None:
    """The workspace of the notebooks in `folder`: WORKSPACE for WORKSPACE/notebooks/."""
    folder = Path(folder).resolve()
    if folder.name == "notebooks" and (folder.parent / "micrograd" / "engine.py").is_file():
        return folder.parent
    return None


def earlier_notebooks(folder: Path, exercise: int | None) -> list[Path]:
    """exercise-K.ipynb beside a notebook, for each K before its exercise, in order."""
    if exercise is None:
        return []
    found = []
    for p in folder.glob("exercise-*.ipynb"):
        k = p.stem.removeprefix("exercise-")
        # a link could bring in a notebook that is not the student's; a huge file, a stall
        if p.is_symlink() or not p.is_file() or p.stat().st_size > MAX_UNZIPPED:
            continue
        if k.isdigit() and int(k) < exercise:
            found.append((int(k), p))
    return [p for _, p in sorted(found)]


def earlier_definitions(folder: Path, exercise: int | None) -> list[Definition]:
    """The definitions of the earlier notebooks; one that cannot be read adds nothing."""
    defs: list[Definition] = []
    for p in earlier_notebooks(folder, exercise):
        try:
            defs += notebook_code(p).definitions
        except SubmissionError:
            continue
    return defs


ALL = 10**6  # every exercise's notebook


def notebook_overrides(workspace: Path, up_to: int) -> list[str]:
    """ "exercise-1.ipynb: Value.__add__, Value.__mul__" for each of the workspace's notebooks
    (up to exercise `up_to`) whose saved cells put code other than the files' in place (what
    `with_notebooks` grades), so that a student who fixed a file but not the saved cell can
    see why the old code is still graded. A cell the same as the file's definition, or still
    a stub, is not named."""
    files = workspace_files(workspace)
    own = {d.module + " " + d.name: d.text for d in _file_definitions(files)}
    found = []
    for p in earlier_notebooks(workspace / "notebooks", up_to + 1):
        try:
            defs = notebook_code(p).definitions
        except SubmissionError:
            continue
        differ = []
        for d in defs:
            if d.name == "import" or d.name.startswith("class ") or is_stub(d):
                continue
            if own.get(f"{d.module} {d.name}", "").strip() != d.text.strip():
                differ.append(d.name)
        if differ:
            found.append(f"{p.name}: {', '.join(dict.fromkeys(differ))}")
    return found


def _file_definitions(files: dict[str, str]) -> list[Definition]:
    """The functions and methods of the workspace's files, as definitions (to compare)."""
    found = []
    for rel, text in files.items():
        module = rel.removeprefix("micrograd/")
        found += [d for d in definitions(module, text) if d.name != "<unparsed>"]
    return found


# the Locations of each workspace that open_submission made, while it is open
LOCATIONS: dict[Path, Locations] = {}


def locations(workspace: Path) -> Locations:
    """Where the lines of a workspace that open_submission made came from (empty: as is)."""
    return LOCATIONS.get(Path(workspace), Locations())


@contextmanager
def with_notebooks(workspace: Path, up_to: int) -> Iterator[Path]:
    """The workspace with the code of its notebooks (notebooks/exercise-K.ipynb, K <= up_to)
    put in, as their kernels run it: what plain `grade exercise-N` grades. Without a started
    definition in them, the workspace itself."""
    defs = [d for d in earlier_definitions(workspace / "notebooks", up_to + 1) if not is_stub(d)]
    if not defs or not (workspace / "micrograd").is_dir():
        yield workspace
        return
    with scratch_folder("micrograd-workspace-") as tmp:
        copy = Path(tmp) / "micrograd"
        shutil.copytree(
            workspace / "micrograd",
            copy,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        files, LOCATIONS[Path(tmp)] = apply_traced(workspace_files(workspace), defs)
        for rel, source in files.items():
            (Path(tmp) / rel).write_text(source)
        try:
            yield Path(tmp)
        finally:
            LOCATIONS.pop(Path(tmp), None)


def workspace_files(workspace: Path) -> dict[str, str]:
    return {
        f"micrograd/{p.name}": p.read_text(encoding="utf-8", errors="replace")
        for p in sorted((workspace / "micrograd").glob("*.py"))
        if p.is_file() and not p.is_symlink()
    }


def notebook_files(path: Path) -> dict[str, str]:
    return notebook_files_traced(path)[0]


def notebook_files_traced(path: Path) -> tuple[dict[str, str], Locations]:
    """{relative path: source} of the workspace a notebook makes.

    The base is the kit's stubs; for a notebook that sits in a workspace's notebooks/
    folder, it is that workspace, with the work of the earlier exercises' notebooks beside
    it (as in the notebook's own kernel, so that `grade` agrees with a check from a cell).
    The notebook's %%writefile cells replace whole modules; its %%micrograd cells, the
    definitions they hold (see grader/submissions/definitions.py).
    """
    code = notebook_code(path)
    # the kit's own notebook in a workspace, not a class's entry named by a student's id
    mine = re.fullmatch(r"exercise-\d+\.ipynb", path.name)
    home = notebook_workspace(path.parent) if mine else None
    base = home if home is not None else STUBS
    if not (base / "micrograd").is_dir():
        raise SubmissionError("the kit's exercises/ folder is missing: reinstall the kit")
    files = workspace_files(base)
    where = None
    if home is not None:
        earlier = earlier_definitions(path.resolve().parent, code.exercise)
        files, where = apply_traced(files, earlier)
    files.update(code.files)
    if code.files and where is not None:  # whole modules replaced: their own lines
        where.where = {k: v for k, v in where.where.items() if k not in code.files}
    return apply_traced(files, code.definitions, where)


def notebook_folder(folder: Path) -> Path | None:
    """The shallowest folder inside `folder` that holds notebooks (no links, no checkpoints)."""
    found = sorted(
        (
            p.parent
            for p in folder.rglob("*.ipynb")
            if p.is_file()
            and not p.is_symlink()
            and ".ipynb_checkpoints" not in p.parts
            and not p.name.startswith(".")
        ),
        key=lambda p: (len(p.parts), str(p)),
    )
    return found[0] if found else None


def notebooks_files(folder: Path) -> dict[str, str]:
    """{relative path: source} of a submission of notebooks only (no micrograd/): the kit's
    stubs with every notebook's cells put in, the earlier exercises' first, as each notebook's
    kernel would have run them. A notebook that cannot be read makes the whole unreadable: its
    exercise would otherwise be graded as the stubs, and lose its points unseen."""
    notebooks = sorted(
        p
        for p in folder.glob("*.ipynb")
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
    )
    for p in notebooks:
        if p.stat().st_size > MAX_UNZIPPED:
            raise SubmissionError(
                f"{p.name} is too large to grade (over {MAX_UNZIPPED // 1024**2} MB): clear its "
                "outputs (Edit > Clear All Outputs) and save it again"
            )
    codes = [notebook_code(p) for p in notebooks]
    order = sorted(
        zip(codes, notebooks),
        key=lambda cp: (cp[0].exercise is None, cp[0].exercise or 0, cp[1].name),
    )
    files = workspace_files(STUBS)
    for code, _ in order:
        files.update(code.files)
        files = apply(files, code.definitions)
    return files


@contextmanager
def written(files: dict[str, str]) -> Iterator[Path]:
    """A temporary workspace holding `files`."""
    with scratch_folder("micrograd-submission-") as tmp:
        (Path(tmp) / "micrograd").mkdir()
        for rel, source in files.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_text(source)
        yield Path(tmp)


@contextmanager
def folder_workspace(folder: Path, root: Path) -> Iterator[Path]:
    """The workspace of an unpacked submission: its micrograd/ with its notebooks' cells, or,
    with no micrograd/ at all, its notebooks over the kit's stubs."""
    try:
        workspace = find_workspace(folder)
    except SubmissionError:
        notebooks = notebook_folder(folder)
        if notebooks is None:
            raise
        with written(notebooks_files(notebooks)) as workspace:
            yield workspace
        return
    refuse_links_outside(root, workspace / "micrograd")
    with with_notebooks(workspace, ALL) as workspace:
        yield workspace


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
        with folder_workspace(path, path) as workspace:
            yield workspace
        return
    with scratch_folder("micrograd-submission-") as tmp:
        tmp_path = Path(tmp)
        if path.suffix == ".zip":
            _extract_zip(path, tmp_path)
            with folder_workspace(tmp_path, tmp_path) as workspace:
                yield workspace
        elif path.suffix == ".ipynb":
            files, where = notebook_files_traced(path)
            with written(files) as workspace:
                LOCATIONS[workspace] = where
                try:
                    yield workspace
                finally:
                    LOCATIONS.pop(workspace, None)
        else:
            raise SubmissionError(
                f"{path.name}: cannot grade a {path.suffix or 'file without extension'}; pass a "
                "workspace folder, a .zip of one, or a notebook (.ipynb)"
            )
