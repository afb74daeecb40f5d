"""The regions of the reference a student writes, and a student's module with the kit's
reference standing in for the regions of earlier exercises.

reference/ marks each piece a student writes as a region:

    # BEGIN exercise-N: Title
    # ask: ... / # derivative: ...   (the math, kept in the stub at some hint level)
    code                            (removed from the stub)
    # END exercise-N

tools/generate_course.py turns each region into a stub; the grader (`compose`) does the
opposite for the exercises before the one it grades: exercise N's checks run on the student's
code for exercise N, with the reference's definitions standing in for the definitions that
hold earlier exercises' regions (Value.__add__'s _backward, Neuron.__init__, train_step, ...),
so that one mistake costs points in its own exercise, not in every exercise after it.

A definition is replaced whole, and only where the student's module has one of the same name
and place, with the same parameters, in a scope that gives it every name the reference's
body reads (self, other, out; dot, Layer, hinge_loss, ...). The student's file is parsed,
never run. Where one of an exercise's definitions cannot be found that way (an engine
written from scratch, a file that does not parse), none of that exercise's code is replaced:
it is graded as it is, and the report says that its mistakes may cost points later.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib.util
import re
import symtable
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN exercise-(?P<n>\d+): (?P<title>.+?)\s*$")
END = re.compile(r"^\s*# END exercise-(?P<n>\d+)\s*$")
HINT_TAG = re.compile(r"^(?P<indent>\s*)# (?P<tag>ask|derivative): ?(?P<text>.*)$")

# The modules with regions, in the order a student meets them.
MODULES = ["gradcheck.py", "engine.py", "nn.py", "losses.py", "optim.py", "train.py"]


@dataclass(frozen=True)
class Region:
    module: str  # e.g. "engine.py"
    exercise: int
    title: str  # e.g. "Value.tanh backward"
    indent: str
    math: list[str]  # the leading comment lines, kept in the stub
    code: list[str]  # the lines the student writes
    line: int = 0  # the BEGIN marker's line (1-based)

    @property
    def message(self) -> str:
        return f"exercise-{self.exercise}: {self.title}"


def split_regions(module: str, text: str) -> tuple[list[str | Region], list[Region]]:
    """Cut a module into plain lines and regions; raise ValueError on a malformed marker."""
    parts: list[str | Region] = []
    regions: list[Region] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if END.match(lines[i]):
            raise ValueError(f"{module}:{i + 1}: END without BEGIN")
        if not m:
            parts.append(lines[i])
            i += 1
            continue
        body = []
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise ValueError(f"{module}:{j + 1}: nested BEGIN")
            body.append(lines[j])
            j += 1
        if j == len(lines) or END.match(lines[j])["n"] != m["n"]:
            raise ValueError(f"{module}:{i + 1}: BEGIN exercise-{m['n']} has no matching END")
        k = 0
        while k < len(body) and body[k].strip().startswith("#"):
            if not HINT_TAG.match(body[k]):
                raise ValueError(
                    f"{module}:{i + 2 + k}: a region's comment must start `# ask:` or "
                    "`# derivative:` (the stub hint level that shows it)"
                )
            k += 1
        region = Region(module, int(m["n"]), m["title"], m["indent"], body[:k], body[k:], i + 1)
        parts.append(region)
        regions.append(region)
        i = j + 1
    return parts, regions


# -- definitions, found by their place in a module ------------------------------------------

DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _children(node: ast.AST) -> list[ast.AST]:
    """The definitions directly inside node (inside its if/for/try blocks too, not deeper defs)."""
    found: list[ast.AST] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, DEFS):
            found.append(child)
        elif isinstance(child, ast.stmt):
            found += _children(child)
    return found


def find_def(tree: ast.Module, path: tuple[str, ...]) -> ast.AST | None:
    """The definition at `path` ("Value", "__add__", "_backward"); the last of a name wins,
    as it does when Python runs the module."""
    node: ast.AST = tree
    for name in path:
        same = [c for c in _children(node) if c.name == name]  # type: ignore[attr-defined]
        if not same:
            return None
        node = same[-1]
    return node


def def_path(tree: ast.Module, line: int) -> tuple[str, ...]:
    """The names of the definitions that enclose `line`, outermost first."""
    path: list[str] = []
    node: ast.AST = tree
    while True:
        inner = [c for c in _children(node) if c.lineno <= line <= (c.end_lineno or 0)]
        if not inner:
            return tuple(path)
        node = inner[-1]
        path.append(node.name)  # type: ignore[attr-defined]


def _parameters(fn: ast.AST) -> list[str]:
    a = fn.args  # type: ignore[attr-defined]
    names = [x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]]
    return names + [f"*{a.vararg.arg}" if a.vararg else "", f"**{a.kwarg.arg}" if a.kwarg else ""]


def _table(top: symtable.SymbolTable, path: tuple[str, ...]) -> list[symtable.SymbolTable]:
    """The symbol tables along `path`, outermost first (the last of a name wins)."""
    tables, table = [], top
    for name in path:
        same = [t for t in table.get_children() if t.get_name() == name]
        if not same:
            raise LookupError(name)
        table = same[-1]
        tables.append(table)
    return tables


def _reads_from_outside(table: symtable.SymbolTable) -> tuple[set[str], set[str]]:
    """(names from enclosing functions, names from the module or builtins) that the code of
    `table`, its comprehensions and nested functions included, reads."""
    frees = set(table.get_frees()) if isinstance(table, symtable.Function) else set()
    module = {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
    for child in table.get_children():
        _, more = _reads_from_outside(child)
        module |= more
    return frees, module


def _provides(
    top: symtable.SymbolTable,
    enclosing: list[symtable.SymbolTable],
    frees: set[str],
    module: set[str],
) -> str:
    """'' if the student's scopes give the reference's body every name it reads, else the
    first name they lack."""
    functions = [t for t in enclosing if isinstance(t, symtable.Function)]
    for name in sorted(frees):
        if not any(name in t.get_identifiers() and t.lookup(name).is_local() for t in functions):
            return name
    for name in sorted(module):
        if hasattr(builtins, name):
            continue
        try:
            sym = top.lookup(name)
        except KeyError:
            return name
        if not (sym.is_assigned() or sym.is_imported() or sym.is_namespace()):
            return name
    return ""


# -- the reference's definitions ----------------------------------------------------------


@dataclass(frozen=True)
class Stand:
    """A definition of the reference that holds a region: what may replace the student's."""

    module: str
    exercise: int
    title: str
    path: tuple[str, ...]
    source: list[str]  # its lines, markers and hints removed, indented as in the reference
    indent: int  # its `def` line's indentation
    parameters: list[str]
    dump: str  # ast.dump of the definition: an equal student definition is left as it is
    frees: frozenset[str]
    globals: frozenset[str]


def reference_folder() -> Path:
    spec = importlib.util.find_spec("micrograd_reference")
    assert spec is not None and spec.submodule_search_locations, "the kit is not installed"
    return Path(list(spec.submodule_search_locations)[0])


@functools.cache
def stand_ins() -> tuple[Stand, ...]:
    """The reference's definitions holding regions, module by module."""
    out: list[Stand] = []
    for module in MODULES:
        text = (reference_folder() / module).read_text()
        _, regions = split_regions(module, text)
        tree, top, lines = (
            ast.parse(text),
            symtable.symtable(text, module, "exec"),
            text.split("\n"),
        )
        for r in regions:
            path = def_path(tree, r.line)
            node = find_def(tree, path)
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)), r.message
            body = lines[node.lineno - 1 : node.end_lineno]
            frees, module_names = _reads_from_outside(_table(top, path)[-1])
            out.append(
                Stand(
                    module,
                    r.exercise,
                    r.title,
                    path,
                    [x for x in body if not (BEGIN.match(x) or END.match(x) or HINT_TAG.match(x))],
                    node.col_offset,
                    _parameters(node),
                    ast.dump(node),
                    frozenset(frees),
                    frozenset(module_names),
                )
            )
    return tuple(out)


def where(s: Stand) -> str:
    return f"`{'.'.join(s.path)}` in micrograd/{s.module}"


@functools.lru_cache(maxsize=16)
def _parse(module: str, text: str) -> tuple[ast.Module, symtable.SymbolTable] | None:
    """A student's module parsed (never run), once for all the definitions looked up in it."""
    try:
        return ast.parse(text), symtable.symtable(text, module, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _plan(s: Stand, text: str | None) -> tuple[int, int, list[str]] | str | None:
    """How to put the reference's definition in place of the student's: (first line, last
    line, new lines); None when they are the same already; a string saying why it cannot."""
    if text is None:
        return f"micrograd/{s.module} is missing"
    parsed = _parse(s.module, text)
    if parsed is None:
        return f"micrograd/{s.module} does not parse"
    tree, top = parsed
    node = find_def(tree, s.path)
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"there is no {where(s)}"
    if ast.dump(node) == s.dump:
        return None
    if _parameters(node) != s.parameters:
        return f"{where(s)} takes other parameters than the kit's"
    try:
        tables = _table(top, s.path)
    except LookupError:
        return f"there is no {where(s)}"
    lacking = _provides(top, tables[:-1], set(s.frees), set(s.globals))
    if lacking:
        return f"{where(s)} has no `{lacking}` around it, which the kit's code uses"
    pad = " " * node.col_offset
    new = [pad + line[s.indent :] if line.strip() else "" for line in s.source]
    return node.lineno, node.end_lineno or node.lineno, new


def compose(files: dict[str, str | None], exercises: set[int]) -> tuple[dict[str, str], dict]:
    """The student's modules ({"engine.py": text}) with the reference's definitions standing in
    for those of `exercises`: (the modules changed, {exercise: why it stays the student's}).

    An exercise is replaced whole or not at all: where one of its definitions cannot be found
    (see the top), all of its code stays the student's.
    """
    edits: dict[str, list[tuple[int, int, list[str]]]] = {}
    kept: dict[int, str] = {}
    for n in sorted(exercises):
        mine = [s for s in stand_ins() if s.exercise == n]
        plans = [(s, _plan(s, files.get(s.module))) for s in mine]
        why = next((p for _, p in plans if isinstance(p, str)), "")
        if why:
            kept[n] = why
            continue
        for s, p in plans:
            if isinstance(p, tuple):
                edits.setdefault(s.module, []).append(p)
    changed: dict[str, str] = {}
    for module, plans in edits.items():
        lines = (files[module] or "").split("\n")
        outer: list[tuple[int, int, list[str]]] = []
        for first, last, new in sorted(plans, key=lambda p: (p[0], -p[1])):
            if not any(a <= first and last <= b for a, b, _ in outer):  # not inside another
                outer.append((first, last, new))
        for first, last, new in reversed(outer):  # later lines first: earlier ones stay right
            lines[first - 1 : last] = new
        changed[module] = "\n".join(lines)
    return changed, kept


class Composer:
    """The modules a check's worker sees: for exercise N, the student's with the reference
    standing in for exercises 1 to N-1 (exercise 0 is no other's foundation); for an
    end-to-end check, the student's own throughout."""

    def __init__(self, read: Callable[[str], str | None]):
        self.originals = {m: read(m) for m in MODULES}
        self._composed: dict[int, tuple[dict[str, str], dict[int, str]]] = {}

    def files(self, exercise: int, whole: bool = False) -> tuple[dict[str, str], str]:
        """(every module's text, a note for the report: '' when nothing needs saying)."""
        mine = {m: t for m, t in self.originals.items() if t is not None}
        earlier = set(range(1, exercise))
        if whole or not earlier:
            note = (
                f"this check runs your whole code, exercises 1-{exercise - 1} included: a "
                "mistake there can show here too"
                if whole and earlier
                else ""
            )
            return mine, note
        if exercise not in self._composed:
            self._composed[exercise] = compose(self.originals, earlier)
        changed, kept = self._composed[exercise]
        note = "; ".join(
            f"exercise-{n}'s code ran as you wrote it ({why}), so its mistakes may cost points "
            "here too"
            for n, why in sorted(kept.items())
        )
        return {**mine, **changed}, note
