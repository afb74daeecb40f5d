"""Generate the student's workspace, the notebooks and the solutions from reference/.

reference/ is the one source of truth. Inside it, each piece a student writes is a region

    # BEGIN exercise-N: Title
    # the math, as comments (kept in the stub)
    code                          (removed from the stub, shown in the solution)
    # END exercise-N

In exercises/ the region becomes a stub: the comments, then
`raise NotImplementedError("exercise-N: Title")`. The prose lives by hand in
exercises/exercise-N.md and solutions/exercise-N.md; this script only rewrites the part of
each page between the GENERATED markers, and the notebooks, which are built from the page.

    python tools/generate.py           # write everything
    python tools/generate.py --check   # exit 1 if anything committed differs
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference" / "micrograd"
EXERCISES = ROOT / "exercises"
SOLUTIONS = ROOT / "solutions"

# The modules of the workspace, in the order a student meets them. Every module is copied;
# those with regions become stubs.
MODULES = [
    "__init__.py",
    "engine.py",
    "nn.py",
    "losses.py",
    "optim.py",
    "train.py",
    "data.py",
    "viz.py",
]

# exercise number -> (title, the modules whose code a notebook for it carries). A notebook
# carries every module the exercise's code runs on, so that it can be graded on its own.
EXERCISES_INFO = {
    1: ("The chain rule for + and *", ["engine.py"]),
    2: ("Powers, quotients and functions of one input", ["engine.py"]),
    3: ("backward(): the whole graph", ["engine.py"]),
    4: ("Neurons, layers and the MLP", ["engine.py", "nn.py"]),
    5: ("Training on two moons", ["engine.py", "nn.py", "losses.py", "optim.py", "train.py"]),
    6: (
        "Mean squared error and minibatches",
        ["engine.py", "nn.py", "losses.py", "optim.py", "train.py"],
    ),
}

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN exercise-(?P<n>\d+): (?P<title>.+?)\s*$")
END = re.compile(r"^\s*# END exercise-(?P<n>\d+)\s*$")
GENERATED_BEGIN = "<!-- BEGIN GENERATED: do not edit below; `nox -s build` rewrites it -->"
GENERATED_END = "<!-- END GENERATED -->"
NOTEBOOK_KEY = "micrograd_kit"  # cell metadata key that marks a cell holding student code


@dataclass(frozen=True)
class Region:
    module: str  # e.g. "engine.py"
    exercise: int
    title: str  # e.g. "Value.tanh backward"
    indent: str
    math: list[str]  # the leading comment lines, kept in the stub
    code: list[str]  # the lines the student writes

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
            k += 1
        region = Region(module, int(m["n"]), m["title"], m["indent"], body[:k], body[k:])
        parts.append(region)
        regions.append(region)
        i = j + 1
    return parts, regions


def stub(region: Region) -> list[str]:
    return [
        f"{region.indent}# TODO {region.message}",
        *region.math,
        f'{region.indent}raise NotImplementedError("{region.message}")',
    ]


def render_stubbed(parts: list[str | Region]) -> str:
    out: list[str] = []
    for part in parts:
        out.extend(stub(part) if isinstance(part, Region) else [part])
    return "\n".join(out) + "\n"


def dedent(lines: list[str], indent: str) -> list[str]:
    return [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines]


def load_reference() -> tuple[dict[str, str], list[Region]]:
    """Return {module: stubbed source} and every region, in module order."""
    sources: dict[str, str] = {}
    regions: list[Region] = []
    for module in MODULES:
        parts, found = split_regions(module, (REFERENCE / module).read_text())
        sources[module] = render_stubbed(parts)
        regions.extend(found)
    return sources, regions


def replace_generated(page: str, generated: str) -> str:
    """Keep the page's prose; replace everything from the GENERATED marker on."""
    head = page.split(GENERATED_BEGIN)[0].rstrip("\n")
    return f"{head}\n\n{GENERATED_BEGIN}\n\n{generated.strip()}\n\n{GENERATED_END}\n"


def exercise_section(n: int, regions: list[Region]) -> str:
    rows = [f"| `{r.title}` | `micrograd/{r.module}` |" for r in regions if r.exercise == n]
    return "\n".join(
        [
            "## The stubs to fill in",
            "",
            f'Each raises `NotImplementedError("exercise-{n}: ...")` until you replace it;',
            f"`grep -rn 'TODO exercise-{n}' micrograd/` finds them all.",
            "",
            "| stub | file |",
            "|---|---|",
            *rows,
        ]
    )


def solution_section(n: int, regions: list[Region]) -> str:
    blocks = ["## The solution code", "", "Taken from `reference/` by the generator."]
    for r in regions:
        if r.exercise != n:
            continue
        code = "\n".join(dedent(r.math + r.code, r.indent))
        blocks += ["", f"### `{r.title}` (`micrograd/{r.module}`)", "", "```python", code, "```"]
    return "\n".join(blocks)


SETUP_CELL = """\
# Setup: this notebook writes your code into micrograd/ beside it and imports it from there.
# The modules you do not write (data.py, viz.py) are copied from the workspace folder.
import importlib, os, shutil, sys
os.makedirs("micrograd", exist_ok=True)
for name in ["__init__.py", "data.py", "viz.py"]:
    if not os.path.exists(os.path.join("micrograd", name)):
        shutil.copy(os.path.join("..", "micrograd", name), os.path.join("micrograd", name))
sys.path.insert(0, os.getcwd())
"""

RELOAD_CELL = """\
# Run this after editing a cell above: it reloads your modules so the new code is used.
import micrograd
for name in {modules!r}:
    importlib.reload(importlib.import_module("micrograd." + name))
from micrograd.engine import Value
"""


def notebook(n: int, page: str, sources: dict[str, str]) -> nbformat.NotebookNode:
    """A notebook for exercise n: the page, then one marked cell per module it carries."""
    prose = page.split(GENERATED_BEGIN)[0].rstrip()
    _, modules = EXERCISES_INFO[n]
    cells = [nbformat.v4.new_markdown_cell(prose), nbformat.v4.new_code_cell(SETUP_CELL)]
    for module in modules:
        cell = nbformat.v4.new_code_cell(f"%%writefile micrograd/{module}\n{sources[module]}")
        cell.metadata[NOTEBOOK_KEY] = {"file": f"micrograd/{module}"}
        cell.metadata["tags"] = ["student-code"]
        cells.append(cell)
    names = [m.removesuffix(".py") for m in modules]
    cells.append(nbformat.v4.new_code_cell(RELOAD_CELL.format(modules=names)))
    cells.append(
        nbformat.v4.new_markdown_cell(
            f"When you are ready, save this notebook and grade it from a terminal:\n\n"
            f"    grade exercise-{n} --submission exercises/notebooks/exercise-{n}.ipynb"
        )
    )
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    # the marked cells it must keep: the grader names one that went missing
    nb.metadata[NOTEBOOK_KEY] = {"exercise": n, "files": [f"micrograd/{m}" for m in modules]}
    # nbformat gives each cell a random id; derive them from the position instead, so that
    # the generator's output is the same every time it runs.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"exercise-{n}-cell-{i}"
    return nb


def expected_files() -> dict[Path, str]:
    """Every generated file and its content, as the generator would write it now."""
    sources, regions = load_reference()
    files: dict[Path, str] = {}
    for module, text in sources.items():
        files[EXERCISES / "micrograd" / module] = text
    for n in EXERCISES_INFO:
        page_path = EXERCISES / f"exercise-{n}.md"
        page = replace_generated(page_path.read_text(), exercise_section(n, regions))
        files[page_path] = page
        nb = notebook(n, page, sources)
        files[EXERCISES / "notebooks" / f"exercise-{n}.ipynb"] = nbformat.writes(nb) + "\n"
        sol_path = SOLUTIONS / f"exercise-{n}.md"
        files[sol_path] = replace_generated(sol_path.read_text(), solution_section(n, regions))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report what differs")
    args = parser.parse_args(argv)
    stale = []
    for path, text in expected_files().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    verb = "differ from the generator's output" if args.check else "written"
    print(f"{len(stale)} file(s) {verb}" + "".join(f"\n  {p}" for p in stale))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
