"""The planted-bug catalogue: each an edit of the reference that a student could make, and the
check that must catch it. Plain data, no pytest: tests/test_planted_bugs.py grades each one, and
tools/synthetic_class.py turns each into a student. The two tables are tools/planted_rules.py
(every rule) and tools/planted_contracts.py (every sentence of the pages' contracts).
"""

from __future__ import annotations

from pathlib import Path

from tools.planted_contracts import CONTRACTS
from tools.planted_edits import Bug, apply_edits
from tools.planted_rules import RULES

# The mutation table, (id, bug): the ids are the tests' ids in tests/test_planted_bugs.py, which
# fails on any bug that scores full marks on its exercise.
MUTATIONS: list[tuple[str, Bug]] = RULES + CONTRACTS

# The first catalogue, one student each in the demo's class of 40 (tools/synthetic_class.py).
DEMO = {
    "central-difference-is-a-forward-difference",
    "relative-error-is-absolute",
    "add-assigns-instead-of-accumulating",
    "mul-uses-own-data",
    "add-ignores-upstream",
    "pow-exponent-missing-minus-one",
    "exp-uses-self-data",
    "log-multiplies-by-x",
    "tanh-uses-self-data",
    "relu-gradient-one-at-zero",
    "sigmoid-missing-one-minus-s",
    "backward-without-seed",
    "backward-in-topological-not-reverse-order",
    "topological-sort-forgets-visited-nodes",
    "backward-does-nothing",
    "neuron-parameters-without-bias",
    "layer-parameters-in-reverse-order",
    "layer-parameters-in-reverse-order-changes-outputs",
    "mlp-last-layer-nonlinear",
    "zero-grad-no-op",
    "sgd-step-sign-flipped",
    "hinge-without-relu",
    "l2-penalty-not-squared",
    "train-step-without-zero-grad",
}
BUGS: list[tuple[str, Bug]] = [(name, bug) for name, bug in MUTATIONS if name in DEMO]


def charges(folder: Path) -> list[tuple[str, Bug, float, float, list[str]]]:
    """Grade each bug on every exercise, in this process: (name, bug, points lost in its own
    exercise, points lost elsewhere, the checks elsewhere that lost them)."""
    import shutil

    from grader.runner import grade

    reference = Path(__file__).resolve().parents[1] / "reference" / "micrograd"
    out = []
    for name, bug in MUTATIONS:
        ws = folder / name
        shutil.copytree(reference, ws / "micrograd", ignore=shutil.ignore_patterns("__pycache__"))
        for module, edits in bug.edits.items():
            path = ws / "micrograd" / module
            path.write_text(apply_edits(name, path.read_text(), edits))
        report = grade(ws, list(range(7)))
        own = sum(c.max_score - c.score for c in report.checks if c.exercise == bug.exercise)
        lost = [c for c in report.checks if c.exercise != bug.exercise and not c.passed]
        out.append(
            (name, bug, own, sum(c.max_score - c.score for c in lost), [c.name for c in lost])
        )
    return out


def table(rows: list[tuple[str, Bug, float, float, list[str]]]) -> str:
    """The README's table: per exercise, what one planted bug costs, there and elsewhere."""
    lines = [
        "| bugs in | planted | points lost there | points lost elsewhere | where |",
        "|---|---|---|---|---|",
    ]
    for n in range(7):
        mine = [r for r in rows if r[1].exercise == n]
        own = sorted(r[2] for r in mine)
        elsewhere = [r for r in mine if r[3]]
        where = {c for r in elsewhere for c in r[4]}
        where = sorted(
            "the end-to-end check (exercise 5's two moons)" if c.startswith("end to end") else c
            for c in where
        )
        lines.append(
            f"| exercise-{n} | {len(mine)} | {own[0]:g} to {own[-1]:g} | "
            f"{f'{max(r[3] for r in elsewhere):g}' if elsewhere else '0'} "
            f"({len(elsewhere)} of {len(mine)} bugs) | {'; '.join(where) or '-'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="planted-bugs-") as tmp:
        print(table(charges(Path(tmp))))
