"""Look-alike submissions: students whose own code is the same once names, comments and layout
are set aside. A flag for a person to look at, never a penalty.

The student's code is parsed (`ast`), never imported or run. Each function or method of the
modules a student writes (engine.py, nn.py, losses.py, optim.py, train.py) is one unit, named by
where it lives (`Value.__mul__`); a module's other statements, imports aside, are one more.
A unit is normalised: docstrings and annotations dropped, every name (variables, arguments,
nested functions) replaced by its order of first appearance, so `out`/`result` or `t`/`th` make
no difference, while attributes (`.grad`, `.data`) and the structure stay. Comments and
whitespace never reach the tree.

The kit's own code is not evidence: a unit equal to the stub (untouched) or to the reference
(the published solution) is left out. What remains is the student's own code; two students
whose own code is the same, unit for unit and big enough to mean something (MIN_NODES), are
look-alikes. A student with no own code at all and every region the reference's is listed
apart, as "the published solution".
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from grader.submissions.submission import KIT

MODULES = ("gradcheck.py", "engine.py", "nn.py", "losses.py", "optim.py", "train.py")
MAX_BYTES = 512 * 1024  # a larger file is not read (a hostile student's bloat)
MIN_NODES = 100  # less own code (one rule with one slip, a changed constant) is no evidence


class _Names(ast.NodeTransformer):
    """Every identifier renamed by order of first appearance; docstrings, annotations gone."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _name(self, name: str) -> str:
        return self.names.setdefault(name, f"n{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(self._name(node.id), ast.Load()), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.arg(self._name(node.arg))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        node.name = self._name(node.name)
        node.returns = None
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args = self.visit(node.args)
        node.body = [self.visit(s) for s in _without_docstring(node.body)]
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is None:
            return ast.Pass()
        return ast.Assign([self.visit(node.target)], self.visit(node.value))

    def visit_Global(self, node: ast.Global) -> ast.AST:
        return ast.Global([self._name(n) for n in node.names])

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        return ast.Nonlocal([self._name(n) for n in node.names])


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        if isinstance(first.value.value, str):
            return body[1:] or [ast.Pass()]
    return body


def _digest(node: ast.AST) -> tuple[str, int]:
    """(hash, size in nodes) of a unit, normalised."""
    tree = _Names().visit(node)
    dumped = ast.dump(tree, annotate_fields=False, include_attributes=False)
    size = sum(1 for _ in ast.walk(tree))
    return hashlib.sha256(dumped.encode()).hexdigest()[:16], size


def units(source: str) -> dict[str, tuple[str, int]]:
    """A module's units: qualified name -> (normalised hash, size). Raises SyntaxError and
    the like for code that does not parse; see `fingerprint`."""
    tree = ast.parse(source)
    found: dict[str, tuple[str, int]] = {}
    rest: list[ast.stmt] = []

    def walk(body: Iterable[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = prefix + node.name  # before _digest renames it
                found[name] = _digest(node)
            elif isinstance(node, ast.ClassDef):
                walk(_without_docstring(node.body), f"{prefix}{node.name}.")
            elif not isinstance(node, ast.Import | ast.ImportFrom):
                rest.append(node)

    walk(_without_docstring(tree.body), "")
    if rest:
        found["<module>"] = _digest(ast.Module(rest, type_ignores=[]))
    return found


@cache
def _kit_units(folder: str, module: str) -> dict[str, tuple[str, int]]:
    try:
        return units((KIT / folder / "micrograd" / module).read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return {}


def fingerprint(workspace: Path) -> dict:
    """The look-alike fingerprint of a workspace (a folder holding micrograd/):

        {"own": hash of the student's own units ("" when there is too little to compare),
         "units": ["engine.py:Value.tanh", ...], "size": nodes, "solution": bool}

    Code that cannot be read or parsed counts as its raw bytes (normalised whitespace), so a
    shared syntax error still groups two copies. Never raises on the student's text.
    """
    own: dict[str, str] = {}
    size, solution = 0, True
    for module in MODULES:
        path = workspace / "micrograd" / module
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
                raise OSError("not a plain file")
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        try:
            found = units(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raw = " ".join(text.split()).encode()
            own[f"{module}:<unparsed>"] = hashlib.sha256(raw).hexdigest()[:16]
            size += len(raw) // 8
            solution = False
            continue
        stub, reference = _kit_units("exercises", module), _kit_units("reference", module)
        for name, (digest, nodes) in found.items():
            if digest == reference.get(name, ("",))[0]:
                continue
            if digest != stub.get(name, ("",))[0]:
                own[f"{module}:{name}"] = digest
                size += nodes
            solution = False  # a region left as the stub, or written anew
        if any(name not in found for name in reference):
            solution = False
    key = json.dumps(sorted(own.items())).encode()
    return {
        "own": hashlib.sha256(key).hexdigest()[:16] if own and size >= MIN_NODES else "",
        "units": sorted(own),
        "size": size,
        "solution": solution,
    }


def groups(fingerprints: dict[str, dict]) -> list[list[str]]:
    """Students whose own code is the same, two or more to a group, largest groups first."""
    by_key: dict[str, list[str]] = {}
    for student, fp in sorted(fingerprints.items()):
        if fp and fp.get("own"):
            by_key.setdefault(fp["own"], []).append(student)
    found = [sorted(g) for g in by_key.values() if len(g) > 1]
    return sorted(found, key=lambda g: (-len(g), g))


def workspace_fingerprint(submission: Path) -> dict:
    """The fingerprint of a submission (folder, zip or notebook), {} when it cannot be read."""
    from grader.submissions.submission import SubmissionError, open_submission

    try:
        with open_submission(submission) as workspace:
            return fingerprint(workspace)
    except (SubmissionError, OSError, ValueError):
        return {}
    except Exception:  # noqa: BLE001 - a flag for people to look at: never worth a crash
        return {}
