"""A notebook's code cells, put into the student's modules definition by definition.

A notebook cell that starts with `%%micrograd engine.py` holds definitions for that module:
functions, and classes holding methods (`class Value:` with `def __add__` in it means
"Value.__add__"). Each one replaces the definition of the same name in the module, or is
added to it; everything else in the module stays as it was. So a notebook carries only its
own exercise's code, and the rest comes from the workspace and the earlier notebooks.

A definition that still raises its stub's NotImplementedError("exercise-...") is not used:
until you start it, the workspace's version stands (which may be done, in the file).

The kernel (grader/notebook.py) and the grader (grader/submissions/submission.py) both
build a student's modules with `apply`, so that a check from a cell grades what `grade` grades.
`apply_traced` also says where each line of the modules came from (a notebook's cell, or the
file's own line before splicing), so that an error is located where the student wrote it:
"exercise-1.ipynb, cell 5 (Value.__mul__), line 6", not line 131 of a module they never saw.
"""

from __future__ import annotations

import ast
import hashlib
import re
import textwrap
from dataclasses import dataclass

MAGIC = "%%micrograd"


@dataclass(frozen=True)
class Definition:
    module: str  # e.g. "engine.py"
    name: str  # "Value.__add__", "hinge_loss", or "import" for an import line
    text: str  # its source, dedented
    origin: str = ""  # where it was written, e.g. "exercise-1.ipynb, cell 5 (Value.__add__)"
    line: int = 1  # the line of that cell its text starts on


# (where, line): a line of a module came from line `line` of `where` (a cell, or the file)
Origin = tuple[str, int]


def parse(source: str) -> ast.Module | None:
    """The module's syntax tree, or None where Python's own parser gives up: a SyntaxError, a
    null byte, or nesting too deep for it (RecursionError, MemoryError): the code is then
    graded as it is, failing with the student's own error when imported."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def cell_module(source: str) -> tuple[str, str] | None:
    """(module, body) of a `%%micrograd MODULE` cell; None for any other cell."""
    first, _, body = source.partition("\n")
    words = first.split()
    if len(words) != 2 or words[0] != MAGIC:
        return None
    return words[1].removeprefix("micrograd/"), body


def _start(node: ast.stmt) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _lines(body: list[str], node: ast.stmt) -> str:
    return textwrap.dedent("\n".join(body[_start(node) - 1 : node.end_lineno])) + "\n"


def definitions(module: str, body: str, origin: str = "", first: int = 2) -> list[Definition]:
    """The definitions in a cell's body (`first`: the cell's line number of the body's first
    line, 2 after the %%micrograd line). One that does not parse is kept whole, as
    "<unparsed>": put at the end of its module, it makes the import fail with the student's
    own SyntaxError, as a file with that error would."""
    tree = parse(body)
    if tree is None:
        return [Definition(module, "<unparsed>", body, origin, first)]
    lines = body.splitlines()
    found: list[Definition] = []

    def made(name: str, node: ast.stmt) -> Definition:
        return Definition(module, name, _lines(lines, node), origin, first + _start(node) - 1)

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(made(node.name, node))
        elif isinstance(node, ast.ClassDef):
            # the whole class, used only where the module has no class of that name; else
            # each method on its own
            found.append(made(f"class {node.name}", node))
            found += [
                made(f"{node.name}.{m.name}", m)
                for m in node.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
            ]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(made("import", node))
    return found


def names(body: str) -> list[str]:
    """The names a cell's body defines ("Value.__add__", "hinge_loss"), in order; read from
    its `class` and `def` lines when it does not parse, so that a cell with a SyntaxError is
    still known by what it defines."""
    found = [d.name for d in definitions("", body) if d.name != "import"]
    if found != ["<unparsed>"]:
        return [n.removeprefix("class ") for n in found]
    owner, out = "", []
    for line in body.splitlines():
        m = re.match(r"(\s*)(class|def|async def)\s+(\w+)", line)
        if not m:
            continue
        if m[2] == "class" and not m[1]:
            owner = m[3]
            out.append(owner)
        elif m[1] and owner:
            out.append(f"{owner}.{m[3]}")
        elif not m[1]:
            owner = ""
            out.append(m[3])
    return out


def ignored_statements(body: str) -> list[str]:
    """The cell's top-level statements that are not kept (neither a definition nor an import)."""
    kept = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    tree = parse(body)
    if tree is None:
        return []
    lines = body.splitlines()
    return [
        lines[n.lineno - 1].strip()
        for n in tree.body
        if not isinstance(n, kept) and not isinstance(n, ast.Pass)
    ]


def is_stub(definition: Definition) -> bool:
    """Whether the definition still raises a stub's NotImplementedError("exercise-...")."""
    tree = parse(definition.text)
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func, args = node.exc.func, node.exc.args
            if (
                isinstance(func, ast.Name)
                and func.id == "NotImplementedError"
                and args
                and isinstance(args[0], ast.Constant)
                and str(args[0].value).startswith("exercise-")
            ):
                return True
    return False


def _indent(text: str, indent: str) -> list[str]:
    return [indent + line if line.strip() else "" for line in text.rstrip("\n").splitlines()]


def splice(source: str, defs: list[Definition]) -> str:
    """`source` (a module) with each definition put in place of the one of the same name.

    A method or function the module lacks is added (at the end of its class, or of the
    module); an import is added at the end of the module unless the module has that line.
    A module that does not parse is returned as it is: its own SyntaxError is the news.
    """
    return splice_traced(source, defs, [])[0]


def _origins(d: Definition) -> list[Origin]:
    return [(d.origin, d.line + k) for k in range(len(d.text.rstrip("\n").splitlines()))]


def splice_traced(
    source: str, defs: list[Definition], origins: list[Origin]
) -> tuple[str, list[Origin]]:
    """splice(), and where each line of the result came from (`origins`: the source's own;
    missing ones count as unknown, ("", 0))."""
    tree = parse(source)
    if tree is None:
        return source, origins
    lines = source.splitlines()
    where = [*origins[: len(lines)], *[("", 0)] * (len(lines) - len(origins))]
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {
        n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    # (first line, last line, new lines, their origins), 1-based
    edits: list[tuple[int, int, list[str], list[Origin]]] = []
    tail: list[str] = []
    tail_where: list[Origin] = []
    blank = [("", 0), ("", 0)]

    def add(new: list[str], d: Definition, gap: bool = True) -> None:
        tail.extend(["", "", *new] if gap else new)
        tail_where.extend([*blank, *_origins(d)] if gap else _origins(d))

    added = {d.name.removeprefix("class ") for d in defs if d.name.startswith("class ")}
    added -= set(classes)
    for d in defs:
        owner, _, method = d.name.partition(".")
        if d.name == "<unparsed>":
            add(d.text.rstrip("\n").splitlines(), d)
        elif d.name == "import":
            if d.text.strip() not in (line.strip() for line in lines):
                add(_indent(d.text, ""), d, gap=False)
        elif d.name.startswith("class "):
            if d.name.removeprefix("class ") in added:
                add(_indent(d.text, ""), d)
        elif method and owner in added:
            continue  # the class comes whole
        elif method and owner in classes:
            cls = classes[owner]
            indent = " " * cls.body[0].col_offset
            old = next(
                (
                    n
                    for n in cls.body
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == method
                ),
                None,
            )
            new = _indent(d.text, indent)
            if old is not None:
                edits.append((_start(old), old.end_lineno, new, _origins(d)))
            else:
                edits.append(
                    (cls.end_lineno + 1, cls.end_lineno, ["", *new], [("", 0), *_origins(d)])
                )
        elif d.name in functions or d.name in classes:
            old = functions.get(d.name) or classes[d.name]
            edits.append((_start(old), old.end_lineno, _indent(d.text, ""), _origins(d)))
        else:
            add(_indent(d.text, ""), d)
    # later edits first, so that earlier line numbers stay right; an insertion (first > last)
    # after the replacements at the same place
    for first, last, new, new_where in sorted(
        edits, key=lambda e: (e[0], e[0] <= e[1]), reverse=True
    ):
        lines[first - 1 : last] = new
        where[first - 1 : last] = new_where
    return "\n".join(lines + tail) + "\n", where + tail_where


def apply(files: dict[str, str], defs: list[Definition]) -> dict[str, str]:
    """files ({"micrograd/engine.py": source}) with the started definitions spliced in.

    Later definitions of a name win over earlier ones (a later notebook over an earlier one).
    """
    return apply_traced(files, defs)[0]


def apply_traced(
    files: dict[str, str], defs: list[Definition], base: Locations | None = None
) -> tuple[dict[str, str], Locations]:
    """apply(), and the Locations of every line of the result: those of `base` (an earlier
    apply_traced on these files), else each file's own line numbers."""
    latest: dict[tuple[str, str], Definition] = {}
    for d in defs:
        if d.name in ("import", "<unparsed>") or d.name.startswith("class "):
            key = (d.module, d.name + hashlib.sha256(d.text.encode()).hexdigest())
        else:
            key = (d.module, d.name)
        if not is_stub(d):
            latest.pop(key, None)
            latest[key] = d
    out = dict(files)
    where = {
        rel: [(rel, i + 1) for i in range(len(text.splitlines()))] for rel, text in files.items()
    }
    if base is not None:
        where.update({rel: lines for rel, lines in base.where.items() if rel in files})
    for module in sorted({d.module for d in latest.values()}):
        rel = f"micrograd/{module}"
        mine = [d for d in latest.values() if d.module == module]
        out[rel], where[rel] = splice_traced(out.get(rel, ""), mine, where.get(rel, []))
    return out, Locations(where)


class Locations:
    """Where each line of the spliced modules came from, to name it as the student knows it."""

    def __init__(self, where: dict[str, list[Origin]] | None = None):
        self.where = where or {}

    def name(self, rel: str, line: int) -> str | None:
        """ "exercise-1.ipynb, cell 5 (Value.__mul__), line 6" for line `line` of module `rel`
        ("micrograd/engine.py"); None where nothing is known, or the file's line did not move."""
        lines = self.where.get(rel if rel.startswith("micrograd/") else f"micrograd/{rel}")
        if not lines or not 0 < line <= len(lines) or not lines[line - 1][0]:
            return None
        origin, at = lines[line - 1]
        if at == line and ", cell " not in origin:
            return None  # the file's own line, where it was
        return f"{origin}, line {at}"

    def relocate(self, text: str) -> str:
        """`text` with each location in a module ("micrograd/engine.py:131 in f", "(engine.py,
        line 131)") named where the student wrote it; others are left as they are."""

        def named(m: re.Match) -> str:
            syntax = m["file"] is not None
            found = self.name(m["file"] or m["file2"], int(m["line"] or m["line2"]))
            if found is None:
                return m[0]
            return f"({found})" if syntax else found

        pattern = (
            r"\((?P<file>\w+\.py), line (?P<line>\d+)\)"
            r"|(?:micrograd/)?(?P<file2>\w+\.py):(?P<line2>\d+)"
        )
        return re.sub(pattern, named, text)
