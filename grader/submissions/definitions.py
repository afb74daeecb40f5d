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
"""

from __future__ import annotations

import ast
import hashlib
import textwrap
from dataclasses import dataclass

MAGIC = "%%micrograd"


@dataclass(frozen=True)
class Definition:
    module: str  # e.g. "engine.py"
    name: str  # "Value.__add__", "hinge_loss", or "import" for an import line
    text: str  # its source, dedented


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


def _lines(body: list[str], node: ast.stmt) -> str:
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return textwrap.dedent("\n".join(body[start - 1 : node.end_lineno])) + "\n"


def definitions(module: str, body: str) -> list[Definition]:
    """The definitions in a cell's body. One that does not parse is kept whole, as
    "<unparsed>": put at the end of its module, it makes the import fail with the student's
    own SyntaxError, as a file with that error would."""
    tree = parse(body)
    if tree is None:
        return [Definition(module, "<unparsed>", body)]
    lines = body.splitlines()
    found: list[Definition] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(Definition(module, node.name, _lines(lines, node)))
        elif isinstance(node, ast.ClassDef):
            # the whole class, used only where the module has no class of that name; else
            # each method on its own
            found.append(Definition(module, f"class {node.name}", _lines(lines, node)))
            found += [
                Definition(module, f"{node.name}.{m.name}", _lines(lines, m))
                for m in node.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
            ]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(Definition(module, "import", _lines(lines, node)))
    return found


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
    tree = parse(source)
    if tree is None:
        return source
    lines = source.splitlines()
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {
        n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line, new lines), 1-based
    tail: list[str] = []

    def start(node: ast.stmt) -> int:
        return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])

    added = {d.name.removeprefix("class ") for d in defs if d.name.startswith("class ")}
    added -= set(classes)
    for d in defs:
        owner, _, method = d.name.partition(".")
        if d.name == "<unparsed>":
            tail += ["", "", *d.text.rstrip("\n").splitlines()]
        elif d.name == "import":
            if d.text.strip() not in (line.strip() for line in lines):
                tail += _indent(d.text, "")
        elif d.name.startswith("class "):
            if d.name.removeprefix("class ") in added:
                tail += ["", "", *_indent(d.text, "")]
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
            if old is not None:
                edits.append((start(old), old.end_lineno, _indent(d.text, indent)))
            else:
                edits.append((cls.end_lineno + 1, cls.end_lineno, ["", *_indent(d.text, indent)]))
        elif d.name in functions or d.name in classes:
            old = functions.get(d.name) or classes[d.name]
            edits.append((start(old), old.end_lineno, _indent(d.text, "")))
        else:
            tail += ["", "", *_indent(d.text, "")]
    # later edits first, so that earlier line numbers stay right; an insertion (first > last)
    # after the replacements at the same place
    for first, last, new in sorted(edits, key=lambda e: (e[0], e[0] <= e[1]), reverse=True):
        lines[first - 1 : last] = new
    if tail:
        lines += tail
    return "\n".join(lines) + "\n"


def apply(files: dict[str, str], defs: list[Definition]) -> dict[str, str]:
    """files ({"micrograd/engine.py": source}) with the started definitions spliced in.

    Later definitions of a name win over earlier ones (a later notebook over an earlier one).
    """
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
    for module in sorted({d.module for d in latest.values()}):
        rel = f"micrograd/{module}"
        mine = [d for d in latest.values() if d.module == module]
        out[rel] = splice(out.get(rel, ""), mine)
    return out
