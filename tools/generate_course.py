"""Generate the student's workspace, the notebooks and the solutions from reference/.

reference/ is the one source of truth. Inside it, each piece a student writes is a region

    # BEGIN exercise-N: Title
    # the math, as comments (kept in the stub)
    code                          (removed from the stub, shown in the solution)
    # END exercise-N

In exercises/ the region becomes a stub: the comments, then
`raise NotImplementedError("exercise-N: Title")`. Each comment line of a region is tagged with
the hint level that shows it, so instructors choose at build time how much a stub gives away:

    # ask: out = self * other. Add into self.grad and other.grad ...   (what to fill in)
    # derivative: dout/dself = other.data, dout/dother = self.data     (the answer's math)

`--stub-hints ask` (the default) keeps the `ask:` lines, `derivative` keeps both, `none`
keeps neither (a bare TODO); the tags themselves are stripped. The solutions show every line.
`grep -rn '# derivative:' reference/` lists what the default stubs hold back.

The prose lives by hand in exercises/exercise-N.md and solutions/exercise-N.md; this script
only rewrites the part of each page between the GENERATED markers, and the notebooks, which
are built from the page.

    python tools/generate_course.py           # write everything
    python tools/generate_course.py --check   # exit 1 if anything committed differs (default level)
    python tools/generate_course.py --stub-hints derivative   # stubs that carry the derivative too

The notebooks (one per exercise, from its page): the page's text; a `%%micrograd FILE` cell
per function or method holding one of the exercise's stubs (graded definition by definition,
see grader/submissions/definitions.py); the page's ```python blocks as `%%try` cells; the
graph of a small example (EXAMPLES); a check() cell. The pages' pictures (exercises/pictures/)
are that example, run on the reference and drawn by graphviz's `dot`; each SVG carries the
hash of its DOT source, so --check needs no graphviz. Everything is data-driven over EXERCISES_INFO.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

if __package__ in (None, ""):  # run as `python tools/generate_course.py`: make `tools` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.tensor_examples import TENSOR_EXAMPLES, TENSOR_PICTURES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python tools/generate_course.py` without the kit installed
    sys.path.insert(0, str(ROOT))

# one parser of the region markers, shared with the grader, which composes a student's modules
# with the reference's regions (standard library only, so `nox -s build` needs no kit)
from grader.submissions.regions import (  # noqa: E402, F401
    BEGIN,
    END,
    HINT_TAG,
    Region,
    split_regions,
)

REFERENCE = ROOT / "reference" / "micrograd"
EXERCISES = ROOT / "exercises"
SOLUTIONS = ROOT / "solutions"

# The modules of the workspace, in the order a student meets them. Every module is copied;
# those with regions become stubs.
MODULES = [
    "__init__.py",
    "gradcheck.py",
    "engine.py",
    "nn.py",
    "losses.py",
    "optim.py",
    "train.py",
    "tensor.py",
    "tensor_nn.py",
    "tensor_train.py",
    "conv.py",
    "data.py",
    "viz.py",
]

# exercise number -> (title, the modules whose code a notebook for it carries). A notebook
# carries every module the exercise's code runs on, so that it can be graded on its own; the
# last one carries every module a student writes, so that it can be graded on everything.
EXERCISES_INFO = {
    0: ("Slopes and gradient checks", ["gradcheck.py"]),
    1: ("The chain rule for + and *", ["engine.py"]),
    2: ("Powers, quotients and functions of one input", ["engine.py"]),
    3: ("backward(): the whole graph", ["engine.py"]),
    4: ("Neurons, layers and the MLP", ["engine.py", "nn.py"]),
    5: (
        "Training on two moons",
        ["gradcheck.py", "engine.py", "nn.py", "losses.py", "optim.py", "train.py"],
    ),
    6: (
        "Mean squared error and minibatches",
        ["gradcheck.py", "engine.py", "nn.py", "losses.py", "optim.py", "train.py"],
    ),
    # part two: the same engine over numpy arrays
    7: ("Broadcasting: shapes and their gradients", ["tensor.py"]),
    8: ("Elementwise ops, reductions and shapes", ["tensor.py"]),
    9: ("Matrix products", ["tensor.py"]),
    10: ("Log-softmax and cross-entropy", ["tensor.py"]),
    11: ("Linear layers, the MLP and SGD with momentum", ["tensor.py", "tensor_nn.py"]),
    12: ("Handwritten digits", ["tensor.py", "tensor_nn.py", "tensor_train.py"]),
    13: (
        "Convolution and max-pooling",
        ["tensor.py", "tensor_nn.py", "tensor_train.py", "conv.py"],
    ),
}
PART_TWO = 7  # the first exercise on Tensor: its notebooks import numpy and Tensor
OPTIONAL = re.compile(r"^## Optional", re.M)  # a page's section that nothing depends on

HINT_LEVELS = ("none", "ask", "derivative")  # each level shows the tags of the ones before it
GENERATED_BEGIN = "<!-- BEGIN GENERATED: do not edit below; `nox -s build` rewrites it -->"
GENERATED_END = "<!-- END GENERATED -->"
NOTEBOOK_KEY = "micrograd_kit"  # cell metadata key that marks a cell holding student code


def untagged(lines: list[str], level: str = "derivative") -> list[str]:
    """The comment lines shown at this hint level, their tags stripped."""
    shown = HINT_LEVELS[1 : HINT_LEVELS.index(level) + 1]
    out = []
    for line in lines:
        m = HINT_TAG.match(line)
        if m and m["tag"] in shown:
            out.append(f"{m['indent']}# {m['text']}".rstrip())
    return out


def stub(region: Region, level: str = "ask") -> list[str]:
    return [
        f"{region.indent}# TODO {region.message}",
        *untagged(region.math, level),
        f'{region.indent}raise NotImplementedError("{region.message}")',
    ]


def render_stubbed(parts: list[str | Region], level: str = "ask") -> str:
    out: list[str] = []
    for part in parts:
        out.extend(stub(part, level) if isinstance(part, Region) else [part])
    return "\n".join(out) + "\n"


def dedent(lines: list[str], indent: str) -> list[str]:
    return [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines]


def load_reference(level: str = "ask") -> tuple[dict[str, str], list[Region]]:
    """Return {module: stubbed source} and every region, in module order."""
    sources: dict[str, str] = {}
    regions: list[Region] = []
    for module in MODULES:
        parts, found = split_regions(module, (REFERENCE / module).read_text())
        sources[module] = render_stubbed(parts, level)
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
        code = "\n".join(dedent(untagged(r.math) + r.code, r.indent))
        blocks += ["", f"### `{r.title}` (`micrograd/{r.module}`)", "", "```python", code, "```"]
    return "\n".join(blocks)


# -- notebooks ------------------------------------------------------------------------------

SETUP_CELL = """\
# Run this cell first. `micrograd` is now your workspace's package (the folder above this
# notebook), with the code of this notebook's %%micrograd cells (as saved, then as you run
# them) and of the earlier exercises' notebooks (as saved); nothing is written to its files.
# check() grades it as `grade` does, and says which cells you ran but did not save.
from grader.notebook import check, start

start({n})
from micrograd import {names}
"""

YOUR_CODE = """\
**Your code.** Each cell below starting with `%%micrograd FILE` holds one definition of
`micrograd/FILE` with a stub in it. Replace the `raise NotImplementedError(...)` with your code
and run the cell (Shift-Enter): the definition takes the stub's place in `micrograd`, for this
notebook and the later ones (until you start a cell, your workspace's file stands, so work done
in the files counts too). Keep the `%%micrograd` line: it is how `grade` finds your code."""

TRY_IT = """\
**Try it.** Cells starting with `%%try` run as usual, but a stub not written yet is reported
in one line instead of a traceback."""

CHECK_CELL = 'check("exercise-{n}")'

PART_TWO_IMPORTS = """\
import numpy as np

from micrograd import Tensor, draw_dot"""

# The small expression drawn for each exercise, in the notebook (on the student's code) and on
# the exercise's page (on the reference, when the kit is built). `draw` builds it and shows
# it before any gradient; `backprop` fills the gradients and shows it again (one cell, so that
# a stub not written yet stops it after the first picture). An exercise
# without an entry gets the one of the nearest exercise before it (exercise 0, before any
# engine, gets none).
LECTURE_EXPRESSION = """\
a = Value(2.0, label="a")
b = Value(-3.0, label="b")
c = Value(10.0, label="c")
e = a * b; e.label = "e"
d = e + c; d.label = "d"
f = Value(-2.0, label="f")
L = d * f; L.label = "L"
display(draw_dot(L))  # before any gradient
"""
NEURON = """\
# a neuron of two inputs: o = tanh(x1*w1 + x2*w2 + b)
x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
x1w1 = x1 * w1; x1w1.label = "x1*w1"
x2w2 = x2 * w2; x2w2.label = "x2*w2"
x1w1x2w2 = x1w1 + x2w2; x1w1x2w2.label = "x1*w1 + x2*w2"
n = x1w1x2w2 + b; n.label = "n"
o = n.tanh(); o.label = "o"
display(draw_dot(o))  # before any gradient
"""
BY_HAND = (
    "# backward() is exercise 3: until then, run each node's rule by hand, from the output back\n"
)
SMALL_MLP = """\
import random

random.seed(1)
model = MLP(2, [2, 1]{activation})
for i, p in enumerate(model.parameters()):
    p.label = f"p{{i}}"
x = [Value(2.0, label="x1"), Value(-1.0, label="x2")]
{tail}"""
# exercise 5's loss over two points, on a model of one linear neuron: the loss's own graph
# stays small enough to read in a notebook's column
LINEAR_HINGE = """\
import random

from micrograd.losses import hinge_loss

random.seed(1)
model = MLP(2, [1])  # one linear neuron
for i, p in enumerate(model.parameters()):
    p.label = f"p{i}"
x = [Value(2.0, label="x1"), Value(-1.0, label="x2")]
scores = [model(x), model([-1.0, 0.5])]
loss = hinge_loss(scores, [1, -1]); loss.label = "loss"
display(draw_dot(loss))  # before any gradient
"""
EXAMPLES = {
    1: {
        "draw": LECTURE_EXPRESSION,
        "backprop": BY_HAND
        + "L.grad = 1.0\nfor node in [L, d, e]:\n    node._backward()\ndraw_dot(L)\n",
    },
    2: {
        "draw": NEURON,
        "backprop": BY_HAND
        + "o.grad = 1.0\n"
        + "for node in [o, n, x1w1x2w2, x2w2, x1w1]:\n    node._backward()\ndraw_dot(o)\n",
    },
    3: {"draw": NEURON, "backprop": "o.backward()\ndraw_dot(o)\n"},
    4: {
        "draw": SMALL_MLP.format(
            activation="",
            tail='out = model(x); out.label = "out"\n'
            "display(draw_dot(out))  # before any gradient\n",
        ),
        "backprop": "out.backward()\ndraw_dot(out)\n",
    },
    5: {"draw": LINEAR_HINGE, "backprop": "loss.backward()\ndraw_dot(loss)\n"},
    6: {
        "draw": SMALL_MLP.format(
            activation=', activation="tanh"',
            tail="from micrograd.losses import mse_loss\n\n"
            'loss = mse_loss([model(x)], [1.0]); loss.label = "loss"\n'
            "display(draw_dot(loss))  # before any gradient\n",
        ),
        "backprop": "loss.backward()\ndraw_dot(loss)\n",
    },
}
# Lines added to the page's last code cell, for the pictures a notebook shows inline.
AFTER_PAGE_CODE = {
    5: [
        "plot_curves(history)",
        'plot_decision_boundary(model, X_test, y_test, title="held-out points", resolution=40)',
    ],
}
EXAMPLES.update(TENSOR_EXAMPLES)  # part two's, in tools/tensor_examples.py
AFTER_PAGE_CODE.update(TENSOR_PICTURES)  # (there, after the page's main code cell)


def part_two(n: int) -> bool:
    return n >= PART_TWO


def graph_caption(n: int) -> str:
    """What a box and an oval of exercise n's graph show (lower case: it follows a colon)."""
    if part_two(n):
        return (
            "each box is a `Tensor` (label | data | grad, each array shown as its shape, then "
            "its first entries), each oval the operation that made it"
        )
    return "each box is a `Value` (label | data | grad), each oval the operation that made it"


def example(n: int) -> dict[str, str] | None:
    """The example drawn for exercise n; None before the engine exists (exercise 0's slopes)."""
    before = [k for k in EXAMPLES if k <= n]
    return EXAMPLES[max(before)] if before else None


def _first_line(node: ast.stmt) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def definition_cells(n: int, sources: dict[str, str]) -> list[tuple[str, str, str]]:
    """(module, definition, cell body) for each function or method holding an exercise-n stub."""
    found = []
    for module in MODULES:
        text = sources[module]
        lines = text.splitlines()
        todo = {i + 1 for i, line in enumerate(lines) if f"# TODO exercise-{n}:" in line}
        for node in ast.parse(text).body if todo else []:
            members = node.body if isinstance(node, ast.ClassDef) else [node]
            for m in members:
                if not isinstance(m, ast.FunctionDef):
                    continue
                if not any(m.lineno <= i <= m.end_lineno for i in todo):
                    continue
                body = "\n".join(lines[_first_line(m) - 1 : m.end_lineno])
                if m is node:
                    found.append((module, m.name, body))
                else:
                    found.append((module, f"{node.name}.{m.name}", f"class {node.name}:\n{body}"))
    return found


def main_code(parts: list[tuple[str, str]]) -> int | None:
    """The index of the page's main code block: the last one before an "## Optional" section
    (or the last one). Its cell shows the exercise's pictures, and the graph follows it."""
    optional = [
        i for i, (kind, text) in enumerate(parts) if kind == "markdown" and OPTIONAL.search(text)
    ]
    codes = [
        i
        for i, (kind, _) in enumerate(parts)
        if kind == "code" and i < min(optional or [len(parts)])
    ]
    return codes[-1] if codes else None


def page_parts(prose: str) -> list[tuple[str, str]]:
    """The page's prose as ("markdown", text) and ("code", text) parts, at its ```python blocks."""
    parts: list[tuple[str, str]] = []
    for i, chunk in enumerate(
        re.split(r"^```python\n(.*?)^```\n?", prose + "\n", flags=re.M | re.S)
    ):
        if chunk.strip():
            parts.append(("code" if i % 2 else "markdown", chunk.strip("\n")))
    return parts


def notebook(n: int, page: str, sources: dict[str, str]) -> nbformat.NotebookNode:
    """A notebook for exercise n: the page, the setup, a cell per definition the student
    writes, the page's examples, the graph of a small expression, and a check cell."""
    prose = page.split(GENERATED_BEGIN)[0].rstrip()
    new_md, new_code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    parts = page_parts(prose)
    title, _, rest = parts[0][1].partition("\n")
    intro, heading, after = rest.partition("\n## ")
    # the network's names too once an exercise so far has written nn.py (importing it earlier
    # would make an exercise-1 notebook depend on nn.py importing)
    nn_done = any(f"# TODO exercise-{k}:" in sources["nn.py"] for k in EXERCISES_INFO if k <= n)
    names = "MLP, Value, draw_dot" if nn_done else "Value, draw_dot"
    setup = SETUP_CELL.format(n=n, names=names)
    if part_two(n):  # the tensor engine: numpy arrays in, Tensor out
        setup = setup.replace(f"from micrograd import {names}", PART_TWO_IMPORTS)
    elif example(n) is None:  # exercise 0, before any engine: its cells import what they use
        setup = setup.rsplit("from micrograd import", 1)[0]
    cells = [new_md(f"{title}\n{intro}".strip()), new_code(setup)]
    parts[0] = ("markdown", (heading + after).strip())
    own = []
    for module, name, body in definition_cells(n, sources):
        cell = new_code(f"%%micrograd {module}\n{body}")
        cell.metadata[NOTEBOOK_KEY] = {"file": f"micrograd/{module}", "definition": name}
        cell.metadata["tags"] = ["student-code"]
        own.append(cell)
    ex = example(n)
    graph = (
        []
        if ex is None
        else [
            new_md(
                "## The graph\n\nA small expression drawn with `draw_dot`, as in micrograd's "
                f"lecture: {graph_caption(n)}, the output at the bottom; first before any "
                "gradient, then after backpropagation. With the reference's code it looks like "
                "this (click it for its full size):\n\n"
                f"[![](../pictures/exercise-{n}-graph.svg)](../pictures/exercise-{n}-graph.svg)"
            ),
            new_code(f"%%try\n{ex['draw']}{ex['backprop']}".strip()),
        ]
    )
    codes = [i for i, (kind, _) in enumerate(parts) if kind == "code"]
    if not codes:
        cells += [new_md(YOUR_CODE), *own, *graph]
    for i, (kind, text) in enumerate(parts):
        if codes and i == codes[0]:
            cells += [new_md(YOUR_CODE), *own, new_md(TRY_IT)]
        if kind == "markdown":
            cells.append(new_md(text))
            continue
        if i != main_code(parts):
            cells.append(new_code(f"%%try\n{text}"))
            continue
        # in the same cell: a stub not written yet stops the page's code, and these with it
        extra = "".join(f"\ndisplay({line})" for line in AFTER_PAGE_CODE.get(n, []))
        cells += [new_code(f"%%try\n{text}{extra}"), *graph]
    cells += [
        new_md(
            f"## Check\n\nGrade exercise-{n} as it is now, with the same checks as "
            f"`grade exercise-{n}` in a terminal (which grades this notebook when you pass it "
            f"with `--submission`, once saved)."
        ),
        new_code(CHECK_CELL.format(n=n)),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    # the marked cells it must keep: the grader names one that went missing
    keys = [
        f"{c.metadata[NOTEBOOK_KEY]['file']} {c.metadata[NOTEBOOK_KEY]['definition']}" for c in own
    ]
    nb.metadata[NOTEBOOK_KEY] = {"exercise": n, "cells": keys}
    # nbformat gives each cell a random id; derive them from the position instead, so that
    # the generator's output is the same every time it runs.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"exercise-{n}-cell-{i}"
    return nb


# -- the pictures on the pages -----------------------------------------------------------------

PICTURES = EXERCISES / "pictures"
STAMP = "<!-- drawn from DOT source sha256 {} -->"


def _reference_package():
    """The reference engine as a package (by path: the build session installs only nbformat)."""
    import importlib.util

    name = "micrograd_kit_generate_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, REFERENCE / "__init__.py", submodule_search_locations=[str(REFERENCE)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return sys.modules[name]


def example_source(n: int) -> str:
    """The example's code as a page shows it (without the notebook's display() lines)."""
    ex = example(n)
    lines = (ex["draw"] + ex["backprop"]).splitlines()
    return "\n".join(line for line in lines if "display(" not in line) + "\n"


def graph_source(n: int) -> str:
    """DOT source of exercise n's example expression, computed by the reference."""
    import importlib

    package = _reference_package()
    modules = ["engine", "nn", "losses", "optim", "train", "viz"]
    if part_two(n):  # numpy: the build session installs it (nox -s build)
        modules += ["data", "tensor", "tensor_nn", "tensor_train", "conv"]
    loaded = {m: importlib.import_module(f"{package.__name__}.{m}") for m in modules}
    drawn = []
    saved = {k: v for k, v in sys.modules.items() if k == "micrograd" or k.startswith("micrograd.")}
    # the example's own imports (`from micrograd.losses import ...`) find the reference
    sys.modules["micrograd"] = package
    sys.modules.update({f"micrograd.{m}": mod for m, mod in loaded.items()})
    try:
        namespace = {
            "Value": loaded["engine"].Value,
            "MLP": loaded["nn"].MLP,
            "draw_dot": lambda root: drawn.append(loaded["viz"].graph_dot(root)),
            **(
                {"np": sys.modules["numpy"], "Tensor": loaded["tensor"].Tensor}
                if part_two(n)
                else {}
            ),
            "display": lambda *args: None,
        }
        exec(example(n)["draw"] + example(n)["backprop"], namespace)
    finally:
        for k in [k for k in sys.modules if k == "micrograd" or k.startswith("micrograd.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    return drawn[-1]


def picture_section(n: int) -> str:
    if example(n) is None:
        return ""
    return "\n".join(
        [
            "## The graph of a small example",
            "",
            f"[![a small graph, with data and gradients](pictures/exercise-{n}-graph.svg)]"
            f"(pictures/exercise-{n}-graph.svg)",
            "",
            graph_caption(n)[0].upper() + graph_caption(n)[1:] + "; the output is at the bottom",
            "(click the picture for its full size).",
            "Drawn by `draw_dot` from this code, run on the reference when the kit was built;",
            "the notebook draws it from your code:",
            "",
            "```python",
            example_source(n).rstrip(),
            "```",
        ]
    )


def stale_pictures() -> dict[Path, str]:
    """{svg path: DOT source} of each page picture missing or drawn from other DOT source.

    The SVG carries the SHA-256 of the DOT source it was drawn from, so that --check needs
    no graphviz (and no particular graphviz version) to tell whether it is up to date.
    """
    import hashlib

    stale = {}
    for n in [n for n in EXERCISES_INFO if example(n) is not None]:
        source = graph_source(n)
        stamp = STAMP.format(hashlib.sha256(source.encode()).hexdigest())
        path = PICTURES / f"exercise-{n}-graph.svg"
        if not path.exists() or stamp not in path.read_text():
            stale[path] = source
    return stale


def draw_picture(path: Path, source: str) -> None:
    """Draw the SVG with graphviz's `dot`, stamped with the DOT source's hash."""
    import hashlib
    import shutil
    import subprocess

    if not shutil.which("dot"):
        raise SystemExit(
            f"{path.relative_to(ROOT)} must be redrawn, and that needs graphviz's `dot` "
            "(apt-get install graphviz)"
        )
    svg = subprocess.run(["dot", "-Tsvg"], input=source, text=True, capture_output=True, check=True)
    stamp = STAMP.format(hashlib.sha256(source.encode()).hexdigest())
    head, _, rest = svg.stdout.partition("\n")  # after the <?xml ...?> line
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}\n{stamp}\n{rest}")


def expected_files(stub_hints: str = "ask") -> dict[Path, str]:
    """Every generated file and its content, as the generator would write it now."""
    sources, regions = load_reference(stub_hints)
    files: dict[Path, str] = {}
    for module, text in sources.items():
        files[EXERCISES / "micrograd" / module] = text
    for n in EXERCISES_INFO:
        page_path = EXERCISES / f"exercise-{n}.md"
        generated = "\n\n".join(filter(None, [exercise_section(n, regions), picture_section(n)]))
        page = replace_generated(page_path.read_text(), generated)
        files[page_path] = page
        nb = notebook(n, page, sources)
        files[EXERCISES / "notebooks" / f"exercise-{n}.ipynb"] = nbformat.writes(nb) + "\n"
        sol_path = SOLUTIONS / f"exercise-{n}.md"
        files[sol_path] = replace_generated(sol_path.read_text(), solution_section(n, regions))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report what differs")
    parser.add_argument(
        "--stub-hints",
        choices=HINT_LEVELS,
        default="ask",
        help="what the stubs' comments give away: none, ask (what to fill in; the default), "
        "derivative (the math of the answer too)",
    )
    args = parser.parse_args(argv)
    if args.check and args.stub_hints != "ask":
        parser.error("--check compares with the committed output, built with the default level")
    stale = []
    for path, text in expected_files(args.stub_hints).items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for path, source in stale_pictures().items():
        stale.append(path.relative_to(ROOT))
        if not args.check:
            draw_picture(path, source)
    verb = "differ from the generator's output" if args.check else "written"
    print(f"{len(stale)} file(s) {verb}" + "".join(f"\n  {p}" for p in stale))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
