"""Working in a notebook: the student's micrograd, live, and check() from a cell.

    from grader.notebook import check, start
    start(2)              # in exercise-2's notebook: load micrograd, add %%micrograd and %%try
    check("exercise-2")   # grade it now: the same sandboxed worker and checks as `grade`

`start` makes `import micrograd` the workspace's package with the definitions of the
notebook's `%%micrograd` cells (as saved, and as run since in this kernel) and of the earlier
exercises' notebooks (as saved) spliced in, as grader/submissions/submission.py does for
`grade`. So after a kernel restart, `start(N)` alone gives the code `grade exercise-N` grades.
The modules are written to a folder of this kernel's own, never to the workspace: no notebook
overwrites another's work.

`check` grades those modules with grader.runner, in a fresh sandboxed worker, exactly as
`grade` does; where a cell run in this kernel differs from the saved notebook, it grades the
cell as run and says so in one line. Torch and the checks stay loaded in the kernel, so after
the first check the next ones take a fraction of a second. Failures climb the same hint ladder
as `grade`'s (the history is the workspace's .grade-history.json, shared with `grade`).
"""

from __future__ import annotations

import atexit
import base64
import html
import importlib
import os
import re
import shutil
import sys
import time
import traceback
import types
import warnings
from pathlib import Path

from grader.feedback.hints import HISTORY_FILE, History
from grader.submissions import workspace as workspace_module
from grader.submissions.definitions import (
    Locations,
    apply_traced,
    cell_module,
    definitions,
    ignored_statements,
    names,
)
from grader.submissions.scratch import private_folder, scratch_folder
from grader.submissions.submission import (
    Cell,
    SubmissionError,
    earlier_definitions,
    notebook_code,
    notebook_workspace,
    workspace_files,
)


def _same(a: str, b: str) -> bool:
    """Whether two cell bodies hold the same code (trailing spaces and blank lines aside)."""

    def norm(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip("\n").splitlines()]

    return norm(a) == norm(b)


class Session:
    """The code a notebook's kernel runs as `micrograd`, and the folder it is loaded from."""

    def __init__(self, exercise: int, folder: Path):
        self.exercise = exercise
        self.folder = folder  # the notebook's folder
        self.workspace = notebook_workspace(folder) or workspace_module.current()
        self.notebook = _notebook_path(folder, exercise)
        self.run: dict[str, tuple[str, str]] = {}  # cell key -> (module, body), as run here
        self.locations = Locations()
        self.loaded = private_folder("micrograd-notebook-")
        atexit.register(shutil.rmtree, self.loaded, ignore_errors=True)

    def saved(self) -> list[Cell]:
        """The notebook's marked cells as saved (none if it is not saved, or unreadable)."""
        try:
            return notebook_code(self.notebook).cells if self.notebook.is_file() else []
        except SubmissionError:
            return []

    def key(self, module: str, body: str) -> str:
        """The saved cell a body run here stands for: the one marked for a name it defines."""
        defined = names(body)
        for cell in self.saved():
            if cell.module == module and cell.key.split(" ", 1)[1] in defined:
                return cell.key
        return f"{module} {', '.join(defined) or '(no definition)'}"

    def differ(self) -> list[str]:
        """The cells run in this kernel whose code is not what the saved notebook holds."""
        saved = {c.key: c.body for c in self.saved()}
        return [k for k, (_, body) in self.run.items() if not _same(saved.get(k, ""), body)]

    def traced(self) -> tuple[dict[str, str], Locations]:
        """The workspace's modules with the earlier notebooks' cells (saved) and this
        notebook's (as run here, else as saved) spliced in; and where each line came from."""
        defs = earlier_definitions(self.folder, self.exercise)
        saved = self.saved()
        for cell in saved:
            module, body = self.run.get(cell.key, (cell.module, cell.body))
            defs += definitions(module, body, cell.origin, cell.first)
        for key, (module, body) in self.run.items():
            if key not in {c.key for c in saved}:
                defs += definitions(module, body, f"{self.notebook.name}, a cell run here")
        return apply_traced(workspace_files(self.workspace), defs)

    def files(self) -> dict[str, str]:
        return self.traced()[0]

    def load(self) -> None:
        """Write the modules to this kernel's folder and import them afresh as `micrograd`."""
        package = self.loaded / "micrograd"
        shutil.rmtree(package, ignore_errors=True)  # no stale bytecode, no removed modules
        package.mkdir()
        files, self.locations = self.traced()
        for rel, source in files.items():
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
        except Exception as exc:  # the student's code does not import: say where, briefly
            raise YourCodeRaised(exc, self) from None
        finally:
            _rebind(old, new)


def _notebook_path(folder: Path, exercise: int) -> Path:
    """The notebook this kernel runs: Jupyter names it (JPY_SESSION_NAME) where it can;
    else exercise-N.ipynb in the kernel's folder."""
    named = os.environ.get("JPY_SESSION_NAME", "")
    if named.endswith(".ipynb") and Path(named).is_file():
        return Path(named).resolve()
    return folder / f"exercise-{exercise}.ipynb"


class YourCodeRaised(Exception):
    """An error in the student's code, shown as a short traceback of their own lines only:
    named by cell ("exercise-2.ipynb, cell 7 (Value.tanh), line 4"), not by the kit's frames
    or the kernel's scratch folder. IPython shows `_render_traceback_` instead of its own."""

    def __init__(self, exc: BaseException, session: Session | None, cell_file: str = ""):
        self.exc = exc
        self.lines = student_traceback(exc, session, cell_file)
        super().__init__(self.lines[-1])

    def _render_traceback_(self) -> list[str]:
        return self.lines


def student_traceback(exc: BaseException, session: Session | None, cell_file: str) -> list[str]:
    """The traceback of `exc` from the cell's own code on, each frame named where the
    student wrote it; the kit's frames (this module, IPython) are left out."""
    frames = traceback.extract_tb(exc.__traceback__)
    start = next((i for i, f in enumerate(frames) if f.filename == cell_file), 0)
    loaded = str(session.loaded) + os.sep if session is not None else None
    kit = str(Path(__file__).resolve().parent) + os.sep
    out = ["Traceback (most recent call last):"]
    for f in frames[start:]:
        if f.filename == cell_file:
            where = f"this cell, line {f.lineno + 1}"  # the %%try line is the cell's first
        elif loaded and f.filename.startswith(loaded):
            rel = os.path.relpath(f.filename, session.loaded)
            found = session.locations.name(rel, f.lineno)
            where = found or f"{session.workspace / rel}, line {f.lineno}"
        elif f.filename.startswith((kit, "<frozen")) or "IPython" in f.filename:
            continue  # the kit's, IPython's and the import system's own frames
        else:
            where = f"{f.filename}, line {f.lineno}"
        out.append(f"  {where}, in {f.name}")
        if f.line:
            out.append(f"    {f.line.strip()}")
    last = "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
    if isinstance(exc, SyntaxError) and session is not None and exc.filename:
        rel = os.path.relpath(exc.filename, session.loaded) if loaded else exc.filename
        found = session.locations.name(rel, exc.lineno or 0)
        if found:
            last = f"{type(exc).__name__}: {exc.msg} ({found})\n    {(exc.text or '').strip()}"
    return [*out, last] if len(out) > 1 else [last]


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
    # torch and the checks, loaded now rather than at the first check(): every check, the
    # first included, then takes a fraction of a second
    import grader.checks.registered  # noqa: F401

    SESSION.load()
    return SESSION


def _micrograd_magic(line: str, cell: str) -> None:
    """%%micrograd FILE: the cell's definitions take their place in micrograd/FILE."""
    parsed = cell_module(f"%%micrograd {line.strip()}\n{cell}")
    if SESSION is None or parsed is None:
        print("run the notebook's first cell (start(...)) first; then this one again")
        return
    module, body = parsed
    key = SESSION.key(module, body)
    SESSION.run.pop(key, None)  # the latest run last: it is what the kernel has now
    SESSION.run[key] = (module, body)
    try:
        compile(body, "this cell", "exec")
    except SyntaxError as exc:
        exc.lineno = (exc.lineno or 0) + 1  # the cell's own line, after the %%micrograd line
        raise YourCodeRaised(exc, None) from None
    for statement in ignored_statements(body):
        print(f"not kept (only definitions and imports go into micrograd/{module}): {statement}")
    SESSION.load()


def _try_magic(line: str, cell: str) -> None:
    """%%try: run the cell; a stub not written yet is one line, not a traceback, and an error
    in your code shows your own lines only, named by cell.

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
            raise YourCodeRaised(exc, SESSION, filename) from None
        print(f"not implemented yet: {exc}. {_where_to_write(str(exc))}")
    except Exception as exc:
        raise YourCodeRaised(exc, SESSION, filename) from None


def _where_to_write(stub: str) -> str:
    """Where the stub named "exercise-K: ..." is written, from this notebook's point of view."""
    k = int(re.match(r"exercise-(\d+)", stub)[1])
    here = SESSION.exercise if SESSION is not None else k
    if k == here:
        return "Write it (its %%micrograd cell above, or the file), run it, then this cell again."
    if k < here:
        return (
            f"It is exercise-{k}'s: write it in exercise-{k}.ipynb (and save it) or in the file, "
            "then run this notebook's first cell and this one again."
        )
    return f"It is exercise-{k}'s, a later exercise: this cell works once that is written."


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

    In a notebook after start(), the code is micrograd as this kernel runs it: the saved
    notebook's cells, or the version run here where one differs (the report says which);
    elsewhere, the workspace's files with its notebooks' cells, as `grade` grades them.
    Same worker, same checks, same scores, same hint ladder as `grade`.
    """
    from grader.runner import grade, relocate
    from grader.submissions.submission import earlier_definitions as saved_cells

    if what is None:
        what = SESSION.exercise if SESSION is not None else "all"
    exercises = _exercises(what)
    start_time = time.monotonic()
    note = ""
    if SESSION is not None:
        files, where = SESSION.traced()
        ws = SESSION.workspace
        differ = SESSION.differ()
        if differ:
            cells = ", ".join(k.split(" ", 1)[1] for k in differ)
            note = (
                f"graded as run in this kernel; {len(differ)} cell(s) differ from the saved "
                f"{SESSION.notebook.name}: {cells}. Save the notebook (or run the saved cells "
                f"again) so that `grade exercise-{SESSION.exercise}` grades the same."
            )
    else:
        ws = workspace_module.current()
        defs = saved_cells(ws / "notebooks", max(exercises) + 1)
        files, where = apply_traced(workspace_files(ws), defs)
    history = History(ws / HISTORY_FILE)
    inline = _shell() is not None  # pictures shown in the cell: no file left behind
    with scratch_folder("micrograd-check-") as tmp:
        (Path(tmp) / "ws" / "micrograd").mkdir(parents=True)
        for rel, source in files.items():
            (Path(tmp) / "ws" / rel).write_text(source)
        # in a terminal, where `grade` puts them too, so that the text report's paths stay valid
        pictures = Path(tmp) / "pictures" if inline else Path.cwd() / "grade-pictures"
        report = grade(Path(tmp) / "ws", exercises, pictures, history=history)
        relocate(report, where)
        history.save()
        images = {p: _image(Path(p)) for p in report.pictures}
    report.execution_time = time.monotonic() - start_time
    return LiveReport(report, images, note, inline)


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

    def __init__(self, report, images: dict[str, tuple[str, str]], note="", inline=False):
        self.report = report
        self.images = images
        self.note = note  # one line: which cells were graded as run, not as saved
        self.inline = inline  # the pictures exist only in this report

    @property
    def score(self) -> float:
        return self.report.score

    @property
    def max_score(self) -> float:
        return self.report.max_score

    def __repr__(self) -> str:
        from grader.feedback import reports

        text = reports.text(self.report).rstrip("\n")
        if self.inline:  # no path to a file that is gone: the picture is in the HTML
            text = re.sub(r"\n *picture: .*|\n\nPictures: .*", "", text)
        return f"note: {self.note}\n{text}" if self.note else text

    def _picture(self, path: str) -> str:
        kind, data = self.images.get(path, ("text/plain", ""))
        if kind == "text/plain":
            source = base64.b64decode(data).decode(errors="replace")
            return f"<pre>{html.escape(source)}</pre>" if source else ""
        return f'<img src="data:{kind};base64,{data}" style="max-width:100%">'

    def _repr_html_(self) -> str:
        from grader.exercises import EXERCISES
        from grader.feedback import results as R

        r, e = self.report, _html
        if r.error:
            return f"<p><b>Could not grade:</b> {e(r.error)}</p>"
        out = [f"<p><b>note:</b> {e(self.note)}</p>"] if self.note else []
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
            printed = html.escape(r.output)
            out.append(f"<p>What your code printed (truncated):</p><pre>{printed}</pre>")
        return "\n".join(out)


def _html(text: str) -> str:
    """Text made HTML, with `code` in backticks shown as code (not as literal backticks)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
