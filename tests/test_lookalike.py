"""Look-alike submissions (grader/classroom/lookalike.py): a synthetic class with planted
copies, renamed, re-commented and re-spaced, in other forms (zip, notebook); exactly those
groups are found."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.classroom import lookalike
from tools.synthetic_class import WRITERS, package, write_class

pytestmark = pytest.mark.grader

# A second way to write each rule: a student's own style. Which rules a student writes their
# own way (a bitmask over STYLES) makes their own code; the rest is the reference's.
STYLES = [
    (
        "engine.py",
        "self.grad += out.grad\n            other.grad += out.grad",
        "self.grad = self.grad + out.grad\n            other.grad = other.grad + out.grad",
    ),
    (
        "engine.py",
        "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
        "self.grad += out.grad * other.data\n            other.grad += out.grad * self.data",
    ),
    (
        "engine.py",
        "self.grad += (1 - out.data**2) * out.grad",
        "self.grad += out.grad * (1 - out.data * out.data)",
    ),
    ("engine.py", "self.grad += out.grad / self.data", "self.grad += (1 / self.data) * out.grad"),
    (
        "engine.py",
        "self.grad += (out.data > 0) * out.grad",
        "self.grad += out.grad if out.data > 0 else 0.0",
    ),
    (
        "engine.py",
        "self.grad += out.data * (1 - out.data) * out.grad",
        "self.grad += out.grad * out.data * (1 - out.data)",
    ),
    ("optim.py", "p.data -= lr * p.grad", "p.data = p.data - lr * p.grad"),
]


def styled(mask: int) -> dict[str, str]:
    edits: dict[str, list[tuple[str, str]]] = {}
    for i, (module, old, new) in enumerate(STYLES):
        if mask >> i & 1:
            edits.setdefault(module, []).append((old, new))
    return package(edits=edits)


def disguised(files: dict[str, str]) -> dict[str, str]:
    """The same code, made to look different: names changed, comments rewritten or dropped,
    blank lines and spaces added."""
    out = {}
    for rel, text in files.items():
        text = re.sub(r"#[^\n]*", "# my own words here", text)  # no '#' in this code's strings
        text = re.sub(r"(?<!\.)\bout\b", "result", text)  # names, never attributes
        text = re.sub(r"(?<!\.)\bother\b", "rhs", text)
        text = text.replace("lr = self.rate(k)", "step_size = self.rate(k)")  # a local
        text = text.replace("lr * p.grad", "step_size * p.grad")
        text = text.replace("def _backward():\n", "def _backward():\n\n")
        text = text.replace(" * ", "  *  ").replace("(1 - ", "( 1 - ")
        out[rel] = text
    return out


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Path, list[list[str]]]:
    """A synthetic class of 12 (full marks, partial work, planted bugs, broken, hostile), six
    students with code of their own, and copies of three of them."""
    folder = tmp_path_factory.mktemp("lookalikes") / "class"
    write_class(folder, size=12)
    masks = {"own-a": 0b0000111, "own-b": 0b0011100, "own-c": 0b1110000}
    masks |= {"own-d": 0b1010101, "own-e": 0b0101011, "own-f": 0b1100110}
    for student, mask in masks.items():
        WRITERS["folder"](styled(mask))(folder / student)
    WRITERS["zip"](disguised(styled(masks["own-a"])))(folder / "copy-of-a.zip")
    WRITERS["folder"](disguised(styled(masks["own-b"])))(folder / "copy-of-b")
    WRITERS["ipynb"](disguised(styled(masks["own-b"])))(folder / "copy-of-b-2.ipynb")
    # a near copy: one rule more of its own, so not the same code
    WRITERS["folder"](disguised(styled(masks["own-c"] | 1)))(folder / "near-copy-of-c")
    WRITERS["folder"](styled(masks["own-d"]))(folder / "twin-of-d")
    expected = [
        ["copy-of-b", "copy-of-b-2", "own-b"],
        ["copy-of-a", "own-a"],
        ["own-d", "twin-of-d"],
    ]
    return folder, expected


def test_planted_copies_are_exactly_the_groups(planted):
    folder, expected = planted
    prints = {
        p.name.removesuffix(".zip").removesuffix(".ipynb"): lookalike.workspace_fingerprint(p)
        for p in sorted(folder.iterdir())
    }
    assert lookalike.groups(prints) == expected
    # the reference as it is (every full-marks student) is listed apart, never a group
    assert {s for s, fp in prints.items() if fp.get("solution")} == {
        "s01-full",
        "s06-full",
        "s11-full",
    }
    assert prints["copy-of-a"]["units"] == prints["own-a"]["units"]
    assert "engine.py:Value.__add__" in prints["own-a"]["units"]


def test_stubs_and_small_slips_are_not_evidence(tmp_path):
    stubs = package(done=())
    WRITERS["folder"](stubs)(tmp_path / "stubs")
    one_slip = package(edits={"engine.py": [STYLES[2][1:]]})  # one rule written differently
    WRITERS["folder"](one_slip)(tmp_path / "slip")
    assert lookalike.workspace_fingerprint(tmp_path / "stubs")["own"] == ""
    slip = lookalike.workspace_fingerprint(tmp_path / "slip")
    assert slip["units"] == ["engine.py:Value.tanh"] and slip["own"] == ""


def test_hostile_text_is_parsed_never_run(tmp_path):
    marker = tmp_path / "ran"
    files = package()
    files["micrograd/engine.py"] = (
        f"open({str(marker)!r}, 'w').write('x')\n" + (files["micrograd/engine.py"])
    )
    files["micrograd/nn.py"] = "(" * 5000 + "1" + ")" * 5000 + "\n"  # too deep for the parser
    files["micrograd/train.py"] = "def broken(:\n"
    WRITERS["folder"](files)(tmp_path / "hostile")
    found = lookalike.workspace_fingerprint(tmp_path / "hostile")
    assert not marker.exists()
    assert "nn.py:<unparsed>" in found["units"] and "train.py:<unparsed>" in found["units"]
    assert lookalike.workspace_fingerprint(tmp_path / "missing") == {}
