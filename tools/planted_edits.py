"""What a planted bug is (Bug), and the edits that plant one in a copy of the reference: each
`old` text replaced by `new`, `old` found exactly once. Shared by the two tables
(tools/planted_rules.py, tools/planted_contracts.py) and the catalogue (tools/planted_bugs.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    exercise: int
    check: str  # the check's exact name, or for exercise-5 a regex its name matches
    edits: dict[str, list[tuple[str, str]]]
    op: str = ""  # the operation the failing check's output must name
    only: bool = False  # the named check is the only one of its exercise that fails
    outcome: str = "wrong"  # how the named check fails ("error in your code": the code raised)


ADD_RULE = "self.grad += out.grad\n            other.grad += out.grad"
MUL_RULE = "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad"

ITERATIVE_TOPO = """\
        topo = []
        visited = set()
        stack = [(self, False)]
        while stack:
            v, inputs_done = stack.pop()
            if inputs_done:
                topo.append(v)
            elif v not in visited:
                visited.add(v)
                stack.append((v, True))
                stack.extend((child, False) for child in v._prev if child not in visited)
"""
RECURSIVE_TOPO = """\
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
"""


WALK = "        for v in reversed(topo):\n            v._backward()\n"
SEED_AND_WALK = "        self.grad = 1\n" + WALK


def engine(*edits: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Edits of engine.py, the file most bugs are in."""
    return {"engine.py": list(edits)}


def apply_edits(name: str, text: str, replacements: list[tuple[str, str]]) -> str:
    """`text` with each (old, new) replaced; each `old` must occur exactly once, so that a change
    to the reference breaks the bug loudly instead of planting nothing."""
    for old, new in replacements:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"{name}: {old!r} occurs {count} times, expected exactly once")
        text = text.replace(old, new)
    return text


def gradcheck(*edits: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Edits of gradcheck.py (exercise-0)."""
    return {"gradcheck.py": list(edits)}


CENTRAL = "return (f(x + h) - f(x - h)) / (2 * h)"
