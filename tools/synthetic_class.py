"""Write a synthetic class of submissions, to test and time the batch grader on.

    nox -s synthetic -- OUT [--size 40] [--seed 0] [--manifest PATH]
    python tools/synthetic_class.py OUT ...     # a Python with the kit (or nbformat) installed

OUT gets one entry per student, named by a sortable student id (s01-full, s02-bug-...): a
workspace folder, a .zip of one, or a notebook. The manifest, a JSON list with one record per
student, goes to PATH (default: OUT.manifest.json beside OUT), never inside OUT, since the batch
grader grades every entry of OUT:

    {"id": "s02-bug-add-ignores-upstream", "entry": "s02-bug-add-ignores-upstream.zip",
     "form": "folder" | "zip" | "ipynb",
     "kind": "full" | "partial" | "bug" | "broken" | "hostile",
     "description": "...",
     "expect": {"gradable": false when the submission itself cannot be read,
                "full_marks": [exercises at full marks], "loses_points": [exercises that lose]}}

An exercise in neither list is not predicted (a planted bug's later exercises, for instance).
The catalogue is 40 students: full marks in each form, partial work, one student per planted
bug of tools/planted_bugs.py, unreadable submissions, and hostile ones that are quick to grade.
It is ordered so that any prefix of 5 or more holds every kind; a larger class is filled with
full, partial and buggy students drawn by the seed. Same arguments, byte-identical files.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import random
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as `python tools/synthetic_class.py`: make `tools` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    import nbformat
except ModuleNotFoundError:  # a Python without the kit: say how to run it instead
    sys.exit(
        "tools/synthetic_class.py needs nbformat, which this Python lacks: run it as "
        "`nox -s synthetic -- DIR --size N` (nox installs what it needs), or with the kit's "
        "own venv (.venv/bin/python tools/synthetic_class.py ...)"
    )

from tools import generate_course as generate  # noqa: E402
from tools.planted_bugs import BUGS  # noqa: E402
from tools.planted_edits import ADD_RULE, Bug, apply_edits  # noqa: E402

ALL = tuple(generate.EXERCISES_INFO)  # a full student does every exercise
FORMS = ("folder", "zip", "ipynb")
SUFFIX = {"folder": "", "zip": ".zip", "ipynb": ".ipynb"}
KINDS = ("full", "partial", "bug", "broken", "hostile")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: fixed, so zips are reproducible

Files = dict[str, str]  # path in the workspace ("micrograd/engine.py") -> text


@dataclass(frozen=True)
class Student:
    slug: str  # the id without its number: "full", "bug-mul-uses-own-data"
    kind: str
    form: str
    description: str
    expect: dict
    write: Callable[[Path], None]  # writes the entry at a path that has the form's suffix


def expect(full: Iterable[int] = (), loses: Iterable[int] = (), gradable: bool = True) -> dict:
    return {"gradable": gradable, "full_marks": list(full), "loses_points": list(loses)}


UNREADABLE = expect(loses=ALL, gradable=False)


# -- what a student's files hold ---------------------------------------------------------------


def package(
    done: Iterable[int] = ALL, edits: dict[str, list[tuple[str, str]]] | None = None
) -> Files:
    """micrograd/*.py of a student who did the exercises `done` (the rest still the stubs of
    exercises/micrograd), with `edits` made to the reference first. The BEGIN/END markers are
    dropped, as in a student's file."""
    done = set(done)
    files: Files = {}
    for module in generate.MODULES:
        text = (generate.REFERENCE / module).read_text(encoding="utf-8")
        text = apply_edits(module, text, (edits or {}).get(module, []))
        lines: list[str] = []
        for part in generate.split_regions(module, text)[0]:
            if not isinstance(part, generate.Region):
                lines.append(part)
            elif part.exercise in done:
                lines += part.math + part.code
            else:
                lines += generate.stub(part)
        files[f"micrograd/{module}"] = "\n".join(lines) + "\n"
    return files


def with_prelude(files: Files, prelude: str) -> Files:
    """Code that runs when engine.py is imported, before the student's Value."""
    return {**files, "micrograd/engine.py": prelude + files["micrograd/engine.py"]}


def notebook(files: Files) -> nbformat.NotebookNode:
    """A notebook carrying the student's whole workspace, a marked %%writefile cell per module
    (the grader reads these whole; the kit's own notebooks carry one exercise each)."""
    cells = []
    for rel in sorted(files):
        cell = nbformat.v4.new_code_cell(f"%%writefile {rel}\n{files[rel]}")
        cell.metadata[generate.NOTEBOOK_KEY] = {"file": rel}
        cell["id"] = f"cell-{len(cells)}"
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata[generate.NOTEBOOK_KEY] = {"files": sorted(files)}
    return nb


# -- writers: each returns a function of the entry's path ---------------------------------------


def folder(files: Files) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        for rel, text in sorted(files.items()):
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(text, encoding="utf-8")

    return write


def zipped(files: Files, prefix: str = "exercises/") -> Callable[[Path], None]:
    """A zip of the workspace as a student makes it: the folder itself zipped, so under a prefix."""

    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w") as zf:
            for rel in sorted(files):
                info = zipfile.ZipInfo(prefix + rel, date_time=ZIP_TIME)
                info.create_system = 3  # unix, whatever the platform: same bytes everywhere
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, files[rel])

    return write


def ipynb(
    files: Files,
    change: Callable[[nbformat.NotebookNode], None] | None = None,
    version: int = 4,
) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        nb = notebook(files)
        if change:
            change(nb)
        if version != 4:
            nb = nbformat.convert(nb, version)
        path.write_text(nbformat.writes(nb, version=version) + "\n", encoding="utf-8")

    return write


def raw(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


def definition(source: str, name: str) -> str:
    """The source of function `name`, or of method "Class.method" inside its class line."""
    owner, _, method = name.partition(".")
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if method and isinstance(node, ast.ClassDef) and node.name == owner:
            for m in node.body:
                if isinstance(m, ast.FunctionDef) and m.name == method:
                    first = min([m.lineno, *(d.lineno for d in m.decorator_list)])
                    return f"class {owner}:\n" + "\n".join(lines[first - 1 : m.end_lineno])
        if not method and isinstance(node, ast.FunctionDef) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            return "\n".join(lines[first - 1 : node.end_lineno])
    raise KeyError(name)


def notebooks(files: Files) -> Callable[[Path], None]:
    """A folder of the kit's own notebooks (exercises/notebooks/exercise-N.ipynb), each marked
    cell holding the student's definition: a class that works in notebooks only, and submits
    them without micrograd/."""

    def write(path: Path) -> None:
        path.mkdir(parents=True)
        for source in sorted((generate.ROOT / "exercises" / "notebooks").glob("exercise-*.ipynb")):
            nb = nbformat.read(source, as_version=4)
            for cell in nb.cells:
                meta = cell.metadata.get(generate.NOTEBOOK_KEY)
                if meta and meta.get("definition"):
                    module = meta["file"].removeprefix("micrograd/")
                    body = definition(files[meta["file"]], meta["definition"])
                    cell.source = f"%%micrograd {module}\n{body}"
            (path / source.name).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")

    return write


# FORMS are the catalogue's; "notebooks" is written on demand (tests, trials)
WRITERS = {"folder": folder, "zip": zipped, "ipynb": ipynb, "notebooks": notebooks}


# -- the catalogue ------------------------------------------------------------------------------


def full(form: str) -> Student:
    return Student(
        "full",
        "full",
        form,
        f"every exercise done ({form})",
        expect(full=ALL),
        WRITERS[form](package()),
    )


def partial(last: int, form: str) -> Student:
    return Student(
        f"partial-1-{last}",
        "partial",
        form,
        f"exercises 1-{last} done, the rest still the stubs ({form})",
        expect(full=range(1, last + 1), loses=range(last + 1, max(ALL) + 1)),
        WRITERS[form](package(range(1, last + 1))),
    )


def bug(name: str, b: Bug, form: str) -> Student:
    # what tests/test_planted_bugs.py asserts: its exercise loses points, the earlier ones don't
    return Student(
        f"bug-{name}",
        "bug",
        form,
        f"planted bug {name}: exercise-{b.exercise} check {b.check!r} fails ({form})",
        expect(full=range(1, b.exercise), loses=[b.exercise]),
        WRITERS[form](package(edits=b.edits)),
    )


def _duplicate_engine_cell(nb: nbformat.NotebookNode) -> None:
    key = generate.NOTEBOOK_KEY
    cell = next(c for c in nb.cells if c.metadata.get(key, {}).get("file") == "micrograd/engine.py")
    copy = nbformat.from_dict(json.loads(json.dumps(cell)))
    copy["id"] = cell["id"] + "-copy"  # Jupyter gives a pasted cell a new id
    nb.cells.append(copy)


def _unmark_cells(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        cell.metadata.pop(generate.NOTEBOOK_KEY, None)


def broken() -> list[Student]:
    """Submissions that are broken as a whole: all but the first cannot even be read."""
    ref = package()
    engine = ref["micrograd/engine.py"]
    syntax = apply_edits(
        "engine.py", engine, [("def __add__(self, other):", "def __add__(self, other)")]
    )
    whole_nb = nbformat.writes(notebook(ref))
    escaping = zipped({**ref, "../escaped.py": "print('escaped')\n"}, prefix="")
    cases = [
        (
            "syntax-error",
            "folder",
            "engine.py has a SyntaxError",
            expect(loses=ALL),
            folder({**ref, "micrograd/engine.py": syntax}),
        ),
        (
            "corrupted-notebook",
            "ipynb",
            "a notebook cut off halfway: not JSON",
            UNREADABLE,
            raw(whole_nb[: len(whole_nb) // 2]),
        ),
        ("not-a-zip", "zip", "engine.py renamed to .zip", UNREADABLE, raw(engine)),
        (
            "no-micrograd-folder",
            "folder",
            "engine.py and nn.py loose, no micrograd/ folder",
            UNREADABLE,
            folder(
                {"README.md": "my work\n", "engine.py": engine, "nn.py": ref["micrograd/nn.py"]}
            ),
        ),
        (
            "nbformat-3",
            "ipynb",
            "a notebook saved in the old format 3",
            UNREADABLE,
            ipynb(ref, version=3),
        ),
        ("zip-parent-path", "zip", "a zip with a member ../escaped.py", UNREADABLE, escaping),
        (
            "duplicated-cell",
            "ipynb",
            "the engine.py cell pasted twice, both marked",
            UNREADABLE,
            ipynb(ref, _duplicate_engine_cell),
        ),
        (
            "unmarked-cells",
            "ipynb",
            "the code copied into a notebook without the cell markers",
            UNREADABLE,
            ipynb(ref, _unmark_cells),
        ),
    ]
    return [Student(f"broken-{s}", "broken", f, d, e, w) for s, f, d, e, w in cases]


FAKE_REPORT = (
    'print(\'{"score": 100, "max_score": 100, "tests": [{"name": "all", "status": "passed"}]}\')\n'
    "print('===== 10 passed in 0.01s =====')\n"
)
FLOOD = "for _ in range(10**4):\n    print('x' * 10**4)\n"
LIAR = """\
class _Liar(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __float__(self):
        return 2.0

    def __repr__(self):
        return "2.0"

    __hash__ = float.__hash__


"""


def hostile() -> list[Student]:
    """Code that tries to fool or swamp the grader, each quick to grade: no endless loops or
    memory hogs, which would slow every batch run down to the time limits."""
    ref = package()
    liar = package(
        edits={
            "engine.py": [
                ("def _noop() -> None:", LIAR + "def _noop() -> None:"),
                (ADD_RULE, "self.grad = _Liar(-999.0)\n            other.grad = _Liar(-999.0)"),
            ]
        }
    )
    cases = [
        (
            "fake-report",
            "ipynb",
            "stubs only, printing a perfect report at import",
            expect(loses=ALL),
            with_prelude(package(done=()), FAKE_REPORT),
        ),
        (
            "flood-stdout",
            "folder",
            "prints 100 MB at import",
            expect(loses=ALL),
            with_prelude(ref, FLOOD),
        ),
        (
            "import-torch",
            "zip",
            "imports torch in engine.py",
            expect(loses=ALL),
            with_prelude(ref, "import torch\n"),
        ),
        (
            "os-exit-0",
            "folder",
            "os._exit(0) at import",
            expect(loses=ALL),
            with_prelude(ref, "import os\nos._exit(0)\n"),
        ),
        (
            "float-equals-everything",
            "folder",
            "+ gives grads of a float subclass equal to everything",
            expect(loses=[1]),
            liar,
        ),
    ]
    return [
        Student(f"hostile-{s}", "hostile", f, d, e, WRITERS[f](files))
        for s, f, d, e, files in cases
    ]


def interleaved_bugs() -> list[tuple[str, Bug]]:
    """BUGS, one per exercise in turn, so that a few bugs already span the exercises."""
    seen: dict[int, int] = {}
    ranked = []
    for name, b in BUGS:
        seen[b.exercise] = seen.get(b.exercise, 0) + 1
        ranked.append(((seen[b.exercise], b.exercise), name, b))
    return [(name, b) for _, name, b in sorted(ranked, key=lambda r: r[0])]


def catalogue() -> list[Student]:
    """Every kind of student once or more, interleaved by kind so that a prefix keeps them all."""
    groups = [
        [full(form) for form in FORMS],
        [partial(2, "folder"), partial(3, "ipynb")],
        [bug(name, b, FORMS[i % 3]) for i, (name, b) in enumerate(interleaved_bugs())],
        broken(),
        hostile(),
    ]
    out = []
    for i in range(max(map(len, groups))):
        out += [group[i] for group in groups if i < len(group)]
    return out


def extra(rng: random.Random, i: int) -> Student:
    """The i-th student beyond the catalogue: full, partial and buggy in turn, forms by seed."""
    form = rng.choice(FORMS)
    kind = ("full", "partial", "bug")[i % 3]
    if kind == "full":
        return full(form)
    if kind == "partial":
        return partial(rng.randint(1, 4), form)
    name, b = rng.choice(BUGS)
    return bug(name, b, form)


def roster(size: int = 40, seed: int = 0) -> list[Student]:
    students = catalogue()[:size]
    rng = random.Random(seed)
    students += [extra(rng, i) for i in range(size - len(students))]
    return students


def default_manifest(out: Path) -> Path:
    out = Path(out).resolve()  # so that OUT "." still has a name to add to
    return out.with_name(out.name + ".manifest.json")


def write_class(
    out: Path, size: int = 40, seed: int = 0, manifest: Path | None = None
) -> list[dict]:
    """Write `size` students into `out` (which must be empty or absent) and the manifest to
    `manifest` (default: beside `out`); return the manifest's records."""
    if size < 1:
        raise ValueError(f"size must be at least 1, not {size}")
    out = Path(out)
    manifest = Path(manifest) if manifest else default_manifest(out)
    if manifest.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"the manifest {manifest} is inside {out}: it would be graded")
    if out.exists() and any(out.iterdir()):
        # an older, larger class would leave students behind that the manifest does not list
        raise FileExistsError(f"{out} is not empty: give a new folder")
    out.mkdir(parents=True, exist_ok=True)
    width = max(2, len(str(size)))
    records = []
    for n, student in enumerate(roster(size, seed), start=1):
        sid = f"s{n:0{width}d}-{student.slug}"
        entry = sid + SUFFIX[student.form]
        student.write(out / entry)
        records.append(
            {
                "id": sid,
                "entry": entry,
                "form": student.form,
                "kind": student.kind,
                "description": student.description,
                "expect": copy.deepcopy(student.expect),  # records share nothing
            }
        )
    manifest.parent.mkdir(parents=True, exist_ok=True)
    # one student a line: easy to read, grep and diff
    manifest.write_text("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n")
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder to write the students into")
    parser.add_argument("--size", type=int, default=40, help="how many students (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="picks the students beyond 40")
    parser.add_argument("--manifest", type=Path, help="default: OUT.manifest.json beside OUT")
    args = parser.parse_args(argv)
    manifest = args.manifest or default_manifest(args.out)
    try:
        records = write_class(args.out, args.size, args.seed, manifest)
    except (FileExistsError, ValueError) as exc:
        parser.error(str(exc))
    kinds = {k: sum(r["kind"] == k for r in records) for k in KINDS}
    print(f"{len(records)} students in {args.out} ({kinds}); manifest {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
