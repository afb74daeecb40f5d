"""The grader's layout is its architecture: imports run one way, and no module is too long.

    front ends (cli, notebook) -> classroom -> runner -> checks -> sandbox, feedback,
    submissions (and the catalogue of exercises, a leaf)

Every `grader.*` import is read from the source (module level and inside functions alike), so a
lazy import cannot hide a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.kit

GRADER = Path(__file__).resolve().parents[1] / "grader"
WORKER = GRADER / "sandbox" / "worker"

# the floor of each room; an import may only go down or stay on its floor
FLOORS = {
    "grader.cli": 4,
    "grader.notebook": 4,
    "grader.classroom": 3,
    "grader.runner": 2,
    "grader.suite": 2,  # the pytest suite runs checks as the runner does
    "grader.checks": 1,
    "grader.sandbox": 0,
    "grader.feedback": 0,
    "grader.submissions": 0,
    "grader.exercises": 0,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(GRADER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def grader_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for p in GRADER.rglob("*.py")
        if "__pycache__" not in p.parts and WORKER not in p.parents
    }


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The grader modules `path` imports: `from grader.x import y` is grader.x.y when y is a
    module, else grader.x."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                for a in node.names
            ]
        else:
            continue
        found |= {n for n in names if n in modules}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = grader_modules()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def floor(module: str) -> int:
    room = max((r for r in FLOORS if module == r or module.startswith(r + ".")), key=len)
    return FLOORS[room]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_every_module_has_a_room():
    for module in grader_modules():
        if module != "grader":
            floor(module)  # raises ValueError (max of nothing) for a module in no room


def test_no_import_loops():
    assert cycles(import_graph()) == []


def test_the_loop_finder_finds_loops():
    """The test above can fail: a planted loop is found, a chain is not."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_imports_run_one_way():
    upward = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if module != "grader"
        for target in targets
        if floor(target) > floor(module)
    ]
    assert upward == []


def test_the_worker_imports_nothing_of_the_kit():
    """The worker package (sent to the worker through a pipe) imports nothing of the kit."""
    for path in WORKER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert not (node.module or "").startswith(("grader", "micrograd")), path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith(("grader", "micrograd")) for a in node.names)


def test_no_file_in_the_grader_over_500_lines():
    long = {
        str(p.relative_to(GRADER)): n
        for p in GRADER.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
        for n in [len(p.read_bytes().splitlines())]
        if n > 500
    }
    assert long == {}


def test_checks_run_exercise_by_exercise_whatever_was_imported_first():
    """Registration follows import order, which the layout leaves to chance (a receipt's
    tolerances import exercise 5's module first): the grader still runs exercise 0's checks
    first, and so on."""
    import subprocess
    import sys

    code = (
        "import grader.classroom.receipt\n"
        "grader.classroom.receipt.tolerances()\n"
        "from grader.runner import checks_for\n"
        "print(*[c.exercise for c in checks_for(list(range(14)))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    order = [int(n) for n in out.stdout.split()]
    assert order and order == sorted(order)


def test_what_grades_nothing_imports_no_torch():
    """torch takes 2 s to import: only a process that grades pays it. The CLI's own module,
    `grade batch`'s process (its grading processes import it), export, verify and bundle
    load without it."""
    import subprocess
    import sys

    modules = ["cli", "classroom.batch", "classroom.export", "classroom.verify"]
    modules += ["classroom.bundle", "classroom.gradebook", "classroom.report_page"]
    code = "import sys\n" + "".join(f"import grader.{m}\n" for m in modules)
    code += "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_grading_stubs_of_the_first_exercises_imports_no_torch(tmp_path):
    """A student's first `grade` (stubs, or exercise 0's slopes) computes nothing with torch,
    so it does not wait 2 s for it: the checks import torch at first use (checks/later.py)."""
    import shutil
    import subprocess
    import sys

    shutil.copytree(GRADER.parent / "exercises" / "micrograd", tmp_path / "micrograd")
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from grader.cli import main\n"
        "for n in (0, 1, 3):\n"
        f"    args = [f'exercise-{{n}}', '--submission', {str(tmp_path)!r}, '--format', 'json']\n"
        "    print(CliRunner().invoke(main, args).exit_code)\n"
        "print('torch' in sys.modules)"
    )
    root = GRADER.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.stdout.split() == ["1", "1", "1", "False"], out.stdout + out.stderr[-2000:]
