"""Working in a notebook: the student's micrograd, live, and check() from a cell.

    from grader.notebook import check, start
    start(2)              # in exercise-2's notebook: load micrograd, add %%micrograd and %%try
    check("exercise-2")   # grade it now: the same sandboxed worker and checks as `grade`

`start` makes `import micrograd` the workspace's package with the definitions of the
notebook's `%%micrograd` cells (and of the earlier exercises' notebooks) spliced in, as
grader/submissions/submission.py does for `grade --submission NOTEBOOK`. The modules are
written to a folder of this kernel's own, never to the workspace: no notebook overwrites
another's work.

`check` writes those modules to a temporary workspace and grades it with grader.runner, in a
fresh sandboxed worker, exactly as `grade` does; torch and the checks stay loaded in the
kernel, so after the first check the next ones take a fraction of a second.
"""

from __future__ import annotations

import atexit
import base64
import html
import importlib
import shutil
import sys
import time
import types
import warnings
from pathlib import Path

from grader.submissions import workspace as workspace_module
from grader.submissions.definitions import (
    Definition,
    apply,
    cell_module,
    definitions,
    ignored_statements,
)
from grader.submissions.scratch import private_folder, scratch_folder
from grader.submissions.submission import earlier_definitions, notebook_workspace, workspace_files


class Session:
    """The code a notebook's kernel runs as `micrograd`, and the folder it is loaded from."""

    def __init__(self, exercise: int, folder: Path):
        self.exercise = exercise
        self.folder = folder  # the notebook's folder
        self.workspace = notebook_workspace(folder) or workspace_module.current()
        self.defs: list[Definition] = []  # from the cells run in this kernel, in order
        self.loaded = private_folder("micrograd-notebook-")
        atexit.register(shutil.rmtree, self.loaded, ignore_errors=True)

    def files(self) -> dict[str, str]:
        """The workspace's modules now, with the earlier notebooks' and this kernel's cells."""
        files = workspace_files(self.workspace)
        files = apply(files, earlier_definitions(self.folder, self.exercise))
        return apply(files, self.defs)

    def load(self) -> None:
        """Write the modules to this kernel's folder and import them afresh as `micrograd`."""
        package = self.loaded / "micrograd"
        shutil.rmtree(package, ignore_errors=True)  # no stale bytecode, no removed modules
        package.mkdir()
        for rel, source in self.files().items():
            (self.loaded / rel).write_text(source)
        old = {
            k: m for k, m in sys.modules.items() if k == "micrograd" or k.startswith("micrograd.")
        }
        for k in old:
            del sys.modules[k]
        if str(self.loaded) in sys.path:
            sys.path.remove(str(self.loaded))
        sys.path.insert(0, str(self.loaded))
        importlib.invalidate_caches()
        new = {}
        try:
            for k in sorted(old, key=len) or ["micrograd", "micrograd.engine"]:
                new[k] = importlib.import_module(k)
        finally:
            _rebind(old, new)


def _rebind(old: dict[str, types.ModuleType], new: dict[str, types.ModuleType]) -> None:
    """Point the notebook's names (Value, MLP, the module micrograd...) at the new modules."""
    shell = _shell()
    if shell is None or not old:
        return
    ns = shell.user_ns
    by_module = {k: new.get(k) for k in old}
    for name, value in list(ns.items()):
        if isinstance(value, types.ModuleType) and value.__name__ in by_module:
            if by_module[value.__name__] is not None:
                ns[name] = by_module[value.__name__]
            continue
        module = getattr(value, "__module__", None)
        qualname = getattr(value, "__qualname__", None)
        if module in by_module and by_module[module] is not None and isinstance(qualname, str):
            if getattr(old[module], qualname, None) is value and hasattr(
                by_module[module], qualname
            ):
                ns[name] = getattr(by_module[module], qualname)


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


SESSION: Session | None = None


def start(exercise: int, folder: Path | str | None = None) -> Session:
    """Load micrograd for exercise N's notebook (run in its folder) and add the cell magics."""
    global SESSION
    if SESSION is not None:
        shutil.rmtree(SESSION.loaded, ignore_errors=True)
    SESSION = Session(exercise, Path(folder or Path.cwd()).resolve())
    shell = _shell()
    if shell is not None:
        shell.register_magic_function(_micrograd_magic, "cell", "micrograd")
        shell.register_magic_function(_try_magic, "cell", "try")
    SESSION.load()
    # torch and the checks, loaded now rather than at the first check(): every check, the
    # first included, then takes a fraction of a second
    import grader.checks.registered  # noqa: F401

    return SESSION


def _micrograd_magic(line: str, cell: str) -> None:
    """%%micrograd FILE: the cell's definitions take their place in micrograd/FILE."""
    parsed = cell_module(f"%%micrograd {line.strip()}\n{cell}")
    if SESSION is None or parsed is None:
        print("run the notebook's first cell (start(...)) first; then this one again")
        return
    module, body = parsed
    found = definitions(module, body)
    if found and found[0].name != "<unparsed>":  # a cell of this module parses again
        SESSION.defs = [d for d in SESSION.defs if (d.module, d.name) != (module, "<unparsed>")]
    SESSION.defs += found
    if found and found[0].name == "<unparsed>":
        compile(body, f"<%%micrograd {module}>", "exec")  # shows the SyntaxError
    for statement in ignored_statements(body):
        print(f"not kept (only definitions and imports go into micrograd/{module}): {statement}")
    SESSION.load()


def _try_magic(line: str, cell: str) -> None:
    """%%try: run the cell; a stub not written yet is one line, not a traceback.

    The last line, if an expression, is shown as a cell's last line is (a graph, a picture).
    """
    import ast

    from IPython.display import display

    shell = _shell()
    source = shell.transform_cell(cell)
    filename = shell.compile.cache(source)  # so that a traceback shows the cell's lines
    tree = ast.parse(source, filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    try:
        exec(compile(tree, filename, "exec"), shell.user_ns)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), filename, "eval"), shell.user_ns)
            if value is not None:
                display(value)
    except NotImplementedError as exc:
        if not str(exc).startswith("exercise-"):
            raise
        print(
            f"not implemented yet: {exc}. Write it (its %%micrograd cell above, or the "
            "file), run it, then this cell again."
        )


# -- check() ----------------------------------------------------------------------------------


def _exercises(what: str | int | list) -> list[int]:
    from grader.exercises import EXERCISES

    if what == "all":
        return list(EXERCISES)
    items = what if isinstance(what, list) else [what]
    chosen = []
    for item in items:
        n = int(str(item).removeprefix("exercise-"))
        if n not in EXERCISES:
            raise ValueError(f"no such exercise: {item}; there are {sorted(EXERCISES)}")
        chosen.append(n)
    return chosen


def check(what: str | int | list | None = None) -> LiveReport:
    """Grade the code as it is now ("exercise-2", 2, "all"; default: the notebook's exercise).

    In a notebook after start(), the code is micrograd as this kernel runs it; elsewhere,
    the workspace's files. Same worker, same checks, same scores as `grade`.
    """
    from grader.runner import grade

    if what is None:
        what = SESSION.exercise if SESSION is not None else "all"
    exercises = _exercises(what)
    start_time = time.monotonic()
    with scratch_folder("micrograd-check-") as tmp:
        if SESSION is not None:
            files = SESSION.files()
        else:
            files = workspace_files(workspace_module.current())
        (Path(tmp) / "ws" / "micrograd").mkdir(parents=True)
        for rel, source in files.items():
            (Path(tmp) / "ws" / rel).write_text(source)
        # where `grade` puts them too, so that the text report's paths stay valid
        report = grade(Path(tmp) / "ws", exercises, Path.cwd() / "grade-pictures")
        images = {p: _image(Path(p)) for p in report.pictures}
    report.execution_time = time.monotonic() - start_time
    return LiveReport(report, images)


def _image(path: Path) -> tuple[str, str]:
    """(MIME type, base64 data) of a picture the grader drew; .dot source stays text."""
    kinds = {".svg": "image/svg+xml", ".png": "image/png", ".dot": "text/plain"}
    try:
        return kinds.get(path.suffix, "text/plain"), base64.b64encode(path.read_bytes()).decode()
    except OSError as exc:
        warnings.warn(f"cannot read the picture {path.name}: {exc}", stacklevel=2)
        return "text/plain", ""


class LiveReport:
    """A grading report that Jupyter shows as a table, failures explained, pictures inline."""

    def __init__(self, report, images: dict[str, tuple[str, str]]):
        self.report = report
        self.images = images

    @property
    def score(self) -> float:
        return self.report.score

    @property
    def max_score(self) -> float:
        return self.report.max_score

    def __repr__(self) -> str:
        from grader.feedback import reports

        return reports.text(self.report).rstrip("\n")

    def _picture(self, path: str) -> str:
        kind, data = self.images.get(path, ("text/plain", ""))
        if kind == "text/plain":
            source = base64.b64decode(data).decode(errors="replace")
            return f"<pre>{html.escape(source)}</pre>" if source else ""
        return f'<img src="data:{kind};base64,{data}" style="max-width:100%">'

    def _repr_html_(self) -> str:
        from grader.exercises import EXERCISES
        from grader.feedback import results as R

        r, e = self.report, html.escape
        if r.error:
            return f"<p><b>Could not grade:</b> {e(r.error)}</p>"
        out = []
        for n in r.exercises:
            score, top = r.by_exercise().get(n, (0, 0))
            out.append(f"<h4>exercise-{n}: {e(EXERCISES[n])} &mdash; {score:g}/{top:g}</h4>")
            rows = []
            for c in (c for c in r.checks if c.exercise == n):
                colour = "green" if c.passed else "#c00"
                mark = "PASS" if c.passed else "FAIL"
                why = "" if c.passed else f" ({e(c.outcome)})"
                rows.append(
                    f'<tr><td style="color:{colour};font-weight:bold">{mark}</td>'
                    f'<td style="text-align:left">{e(c.name)}{why}</td>'
                    f"<td>{c.score:g}/{c.max_score:g}</td></tr>"
                )
            out.append("<table>" + "".join(rows) + "</table>")
        out.append(f"<p><b>total {r.score:g}/{r.max_score:g}</b></p>")
        failures = [c for c in r.checks if not c.passed]
        if failures:
            out.append("<h4>What went wrong</h4>")
        for c in failures:
            out.append(f"<p><b>exercise-{c.exercise}: {e(c.name)}</b> &mdash; {e(c.outcome)}</p>")
            if c.message and c.outcome != R.NOT_IMPLEMENTED:
                out.append(f"<pre>{e(c.message)}</pre>")
            elif c.message:
                out.append(f"<p>{e(c.message)}</p>")
            if c.hint:
                out.append(f"<p><i>hint:</i> {e(c.hint)}</p>")
            if c.details.get("picture"):
                out.append(self._picture(c.details["picture"]))
        shown = {c.details.get("picture") for c in failures}
        for picture in (p for p in r.pictures if p not in shown):
            out.append(self._picture(picture))
        notes = [c for c in r.checks if c.passed and c.message]
        for c in notes:
            out.append(f"<p>note, exercise-{c.exercise}: {e(c.name)}: {e(c.message)}</p>")
        if r.output.strip():
            out.append(f"<p>What your code printed (truncated):</p><pre>{e(r.output)}</pre>")
        return "\n".join(out)
