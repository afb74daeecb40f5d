"""Submissions the grader cannot read end as `unreadable`, with a note, never as `grader-error`
(which a batch retries on every run); scratch folders of a killed grader do not pile up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader.classroom import gradebook as G
from grader.classroom.grading_process import grade_one
from grader.submissions.scratch import remove_abandoned
from tests.grader_helpers import REFERENCE, ROOT

pytestmark = pytest.mark.grader

STUDENT_NOTEBOOK = json.loads((ROOT / "exercises" / "notebooks" / "exercise-1.ipynb").read_text())


def notebook_with(**changes) -> str:
    return json.dumps({**STUDENT_NOTEBOOK, **changes})


def deep(opening: str, closing: str, depth: int = 100_000) -> str:
    return opening * depth + "1" + closing * depth


def zip_of_reference(path: Path, compression: int = zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for source in sorted(REFERENCE.glob("*.py")):
            zf.write(source, f"micrograd/{source.name}")


def corrupt_the_stream(path: Path) -> None:
    """Damage engine.py's compressed bytes (not its header): zlib fails while reading it."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("micrograd/engine.py")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 10, start + 60):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def unknown_compression(path: Path) -> None:
    """Say engine.py is compressed with method 99 (AE-x): the zip module knows no such method."""
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    while central != -1:  # the central directory's entry for engine.py says how to read it
        name_len = int.from_bytes(data[central + 28 : central + 30], "little")
        if data[central + 46 : central + 46 + name_len] == b"micrograd/engine.py":
            data[central + 10 : central + 12] = (99).to_bytes(2, "little")
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


CASES = {
    "notebook-100000-lists-deep": lambda p: p.write_text(deep("[", "]")),
    "notebook-100000-objects-deep": lambda p: p.write_text(deep('{"a": ', "}")),
    "notebook-of-odd-shapes": lambda p: p.write_text(notebook_with(metadata={"micrograd_kit": []})),
    "notebook-over-50-MB": lambda p: (p.write_text(notebook_with()), os.truncate(p, 51 * 2**20)),
}


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_a_notebook_that_cannot_be_read_is_unreadable(tmp_path, make):
    entry = tmp_path / "submissions" / "ada.ipynb"
    entry.parent.mkdir()
    make(entry)
    status, note = graded(entry, tmp_path)
    assert status == G.UNREADABLE, note
    assert "ada.ipynb" in note and "grader error" not in note


ZIPS = {"corrupt-stream": corrupt_the_stream, "unknown-compression": unknown_compression}


@pytest.mark.parametrize("damage", ZIPS.values(), ids=ZIPS.keys())
def test_a_zip_that_cannot_be_read_is_unreadable(tmp_path, damage):
    entry = tmp_path / "submissions" / "ada.zip"
    entry.parent.mkdir()
    zip_of_reference(entry)
    damage(entry)
    status, note = graded(entry, tmp_path)
    assert status == G.UNREADABLE, note
    assert "ada.zip" in note and "grader error" not in note


def test_a_cell_too_deep_for_python_is_the_students_error(tmp_path):
    """Code nested deeper than Python's parser goes is graded like a SyntaxError: the student's
    own failure, a zero, not a submission the grader could not read."""
    nb = json.loads(notebook_with())
    cell = next(c for c in nb["cells"] if "micrograd_kit" in c.get("metadata", {}))
    cell["source"] = "".join(cell["source"]) + "\n_deep = " + "-" * 200_000 + "1\n"
    entry = tmp_path / "submissions" / "ada.ipynb"
    entry.parent.mkdir()
    entry.write_text(json.dumps(nb))
    status, note = graded(entry, tmp_path)
    assert status == G.GRADED, note


def graded(entry: Path, tmp_path: Path) -> tuple[str, str]:
    """(status, note) of the entry as a batch's grading process records it."""
    out = tmp_path / "grades" / "students" / entry.stem
    task = {"student": entry.stem, "entry": str(entry), "out": str(out), "key": "k"}
    batch = grade_one(task, [1], [])["extra_data"]["batch"]
    return batch["status"], batch["note"]


# -- scratch folders -------------------------------------------------------------------------

MAKE_AND_WAIT = """
import sys, time
from grader.submissions.scratch import private_folder
print(private_folder("micrograd-grade-"), flush=True)
time.sleep(60)
"""


def scratch_of_a_process(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", MAKE_AND_WAIT], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    return proc, Path(proc.stdout.readline().strip())


def test_the_folders_of_a_killed_grader_are_removed_and_no_others(tmp_path):
    killed, left = scratch_of_a_process(tmp_path)
    alive, kept = scratch_of_a_process(tmp_path)
    foreign = tmp_path / f"micrograd-grade-{killed.pid}-notours"  # a dead owner, another user
    if os.geteuid() == 0:
        foreign.mkdir()
        os.chown(foreign, 12345, 12345)
    other = tmp_path / "micrograd-stuff"  # not a scratch folder
    other.mkdir()
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert left.is_dir() and left.name.startswith(f"micrograd-grade-{killed.pid}-")
        assert remove_abandoned(tmp_path) == [left]
        assert not left.exists() and kept.is_dir() and other.is_dir()
        assert foreign.is_dir() == (os.geteuid() == 0)
    finally:
        alive.kill()
        alive.wait()
    time.sleep(0.1)
    assert kept in remove_abandoned(tmp_path)  # its owner is gone now


def test_the_folders_of_a_killed_grader_not_yet_collected_are_removed(tmp_path):
    """A grading process killed with its batch waits, a zombie, for PID 1 to collect it (in a
    container, seconds, or never): it has ended all the same, and its folders go."""
    killed, left = scratch_of_a_process(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        stat = Path(f"/proc/{killed.pid}/stat")
        while stat.read_text().split(")")[-1].split()[0] != "Z":  # ended, not collected
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert remove_abandoned(tmp_path) == [left]
    finally:
        killed.wait()
