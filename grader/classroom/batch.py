"""Grade a folder of submissions, one entry per student, into a gradebook.

    grade batch SUBMISSIONS --out grades --jobs 2

A pool of grading processes (grader/classroom/grading_process.py) each imports torch once and grades
one submission after another; every submission still runs in a sandboxed worker of its own.
This process only hands out work, moves each finished student folder into place and keeps
gradebook.csv and summary.md up to date (grader/classroom/gradebook.py).

Resuming: a student's results.json records a key, the hash of the submission's content and
of everything that decides its grade (the grader's code, the exercises chosen, the extra
checks). A rerun skips every student whose key is unchanged and whose status is final, so an
interrupted batch (Ctrl-C, kill -9) picks up where it stopped, and an edited submission is
graded again. Student folders appear whole (a rename) and the gradebook is replaced whole,
so neither is ever seen half written.

With `hint_ladder` (`grade batch --hint-ladder`), each student's failures are remembered in
OUT/hint-history/ID.json, so that a resubmission that fails a check the same way gets the
formula as its hint, as `grade` gives a student at home; off by default, the hints stay nudges.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from grader.classroom import gradebook as G
from grader.classroom import roster as class_files
from grader.classroom.receipt import content_hash, grading_fingerprint
from grader.classroom.report_page import report_html
from grader.classroom.sheets import write_atomically
from grader.submissions.scratch import remove_abandoned
from grader.submissions.submission import KIT

SUBMISSION_SUFFIXES = (".zip", ".ipynb")
STARTUP_SECONDS = 120.0  # for a grading process to import torch and say it is ready


@dataclass(frozen=True)
class Entry:
    student: str
    path: Path
    key: str = ""


def entry_name(path: Path) -> str:
    """An entry's name without .zip/.ipynb."""
    if path.is_file() and path.suffix.lower() in SUBMISSION_SUFFIXES:
        return path.stem
    return path.name


def student_id(path: Path) -> str:
    """The student id of an entry: its name without .zip/.ipynb, safe as a folder name and
    in a spreadsheet (grader/classroom/roster.py)."""
    return class_files.student_id(entry_name(path))


def find_entries(folder: Path) -> tuple[list[Entry], list[G.Row]]:
    """The entries of a submissions folder, and rows for ids that two entries share."""
    by_id: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name == "__MACOSX":
            continue  # .DS_Store, .git, a zip tool's leftovers: not students
        by_id.setdefault(student_id(path), []).append(path)
    entries, clashes = [], []
    for student, paths in sorted(by_id.items()):
        if len(paths) == 1:
            entries.append(Entry(student, paths[0]))
        else:
            names = " and ".join(p.name for p in paths)
            note = f"{names} are both {student}'s: keep one and run the batch again"
            clashes.append(G.Row(student, G.AMBIGUOUS, note, entry=names))
    return entries, clashes


# -- the pool of grading processes ---------------------------------------------------------


@dataclass
class Slot:
    """One grading process and the task it is on."""

    proc: subprocess.Popen
    log: Path
    ready: bool = False
    entry: Entry | None = None
    out: Path | None = None
    started: float = 0.0
    buffer: bytes = b""


@dataclass
class Finished:
    entry: Entry
    out: Path  # the student's folder, complete, in the work area
    results: dict | None  # None: the grading process failed; see status and note
    status: str = G.GRADED
    note: str = ""


class Pool:
    """`jobs` grading processes, restarted when one dies or overruns a submission's time."""

    def __init__(
        self,
        jobs: int,
        exercises: list[int],
        extra_checks: Path | None,
        work: Path,
        timeout: float,
        hint_history: Path | None = None,
    ):
        self.args = [f"--exercise={n}" for n in exercises]
        if extra_checks:
            self.args.append(f"--extra-checks={Path(extra_checks).resolve()}")
        if hint_history:
            self.args.append(f"--hint-history={Path(hint_history).resolve()}")
        self.work, self.timeout = work, timeout
        self.slots = [self._spawn(i) for i in range(jobs)]
        self.crashes_in_a_row = 0

    def _spawn(self, index: int) -> Slot:
        # what a grading process prints (warnings, a crash's traceback) is kept for later
        log = self.work.parent / "logs" / f"grading-process-{index}.log"
        log.parent.mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(log, "ab") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "grader.classroom.grading_process", *self.args]
                + [f"--parent={os.getpid()}"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                cwd=KIT,
                start_new_session=True,  # Ctrl-C reaches the batch only, which stops the pool
            )
        os.set_blocking(proc.stdout.fileno(), False)
        return Slot(proc, log, started=time.monotonic())

    def _restart(self, slot: Slot) -> Slot:
        _kill(slot.proc)
        fresh = self._spawn(self.slots.index(slot))
        self.slots[self.slots.index(slot)] = fresh
        return fresh

    def _log_tail(self, slot: Slot) -> str:
        try:
            lines = slot.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def run(self, entries: list[Entry]) -> Iterator[Finished]:
        """Grade the entries; yield each as it finishes, in whatever order they finish."""
        queue = list(reversed(entries))
        busy = 0
        while queue or busy:
            for slot in self.slots:
                if slot.ready and slot.entry is None and queue:
                    self._assign(slot, queue.pop())
                    busy += 1
            fds = {slot.proc.stdout.fileno(): slot for slot in self.slots}
            readable, _, _ = select.select(list(fds), [], [], 0.25)
            for fd in readable:
                for done in self._read(fds[fd]):
                    busy -= 1
                    yield done
            now = time.monotonic()
            for slot in list(self.slots):
                if slot.ready and slot.entry is None:
                    continue  # idle, waiting for work
                limit = self.timeout if slot.ready else STARTUP_SECONDS
                if now - slot.started > limit:
                    done = self._failed(slot, G.TIMED_OUT, f"took longer than {limit:g} s")
                    if done is not None:
                        busy -= 1
                        yield done

    def _assign(self, slot: Slot, entry: Entry) -> None:
        slot.entry, slot.started = entry, time.monotonic()
        slot.out = self.work / f"{entry.student}.{os.getpid()}.{time.monotonic_ns()}"
        task = {
            "student": entry.student,
            "entry": str(entry.path.resolve()),
            "out": str(slot.out),
            "key": entry.key,
        }
        try:
            slot.proc.stdin.write(json.dumps(task).encode() + b"\n")
            slot.proc.stdin.flush()
        except OSError:
            pass  # it died: the empty read that follows says so

    def _read(self, slot: Slot) -> list[Finished]:
        try:
            chunk = os.read(slot.proc.stdout.fileno(), 1 << 20)
        except BlockingIOError:
            return []
        if not chunk:  # the grading process died
            why = f"the grading process died ({self._log_tail(slot) or 'no message'})"
            done = self._failed(slot, G.CRASHED, why)
            return [done] if done is not None else []
        slot.buffer += chunk
        finished = []
        while b"\n" in slot.buffer:
            line, _, slot.buffer = slot.buffer.partition(b"\n")
            message = json.loads(line)
            if message.get("ready"):
                slot.ready, slot.started = True, time.monotonic()
                continue
            assert slot.entry is not None and slot.out is not None
            finished.append(Finished(slot.entry, slot.out, message["results"]))
            self.crashes_in_a_row = 0
            slot.entry = slot.out = None
        return finished

    def _failed(self, slot: Slot, status: str, note: str) -> Finished | None:
        """Replace a grading process that died or overran; the task it was on, if any, ends
        with `status`. A process that fails to start, again and again, stops the batch."""
        done = None
        if slot.entry is not None and slot.out is not None:
            done = Finished(slot.entry, slot.out, None, status, note)
        if not slot.ready:
            self.crashes_in_a_row += 1
            if self.crashes_in_a_row > 2 * len(self.slots):
                raise BatchError(f"the grading processes cannot start: {note}")
        self._restart(slot)
        return done

    def close(self) -> None:
        for slot in self.slots:
            try:
                slot.proc.stdin.close()
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for slot in self.slots:
            try:
                slot.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(slot.proc)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.kill()
    proc.wait()


class BatchError(Exception):
    """The batch cannot go on (its grading processes cannot start); the message says why."""


# -- progress ------------------------------------------------------------------------------


class Progress:
    """`[#####.....] 12/40 graded, 28 left, about 0:35 to go`: redrawn on a terminal, a line
    every few seconds elsewhere (a CI log)."""

    def __init__(self, total: int, stream: TextIO, width: int = 24):
        self.total, self.stream, self.width = total, stream, width
        self.done, self.start = 0, time.monotonic()
        self.tty = stream.isatty()
        self.last = 0.0

    def line(self) -> str:
        filled = int(self.width * self.done / self.total) if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        left = self.total - self.done
        if self.done and left:
            eta = (time.monotonic() - self.start) / self.done * left
            to_go = f", about {int(eta // 60)}:{int(eta % 60):02d} to go"
        else:
            to_go = ""
        return f"[{bar}] {self.done}/{self.total} graded, {left} left{to_go}"

    def step(self, student: str = "") -> None:
        self.done += 1
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r\033[K" + self.line())
            self.stream.flush()
        elif now - self.last >= 5 or self.done == self.total:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self.last = now

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# -- the batch -----------------------------------------------------------------------------


@dataclass
class BatchResult:
    rows: list[G.Row]
    interrupted: bool = False
    counts: dict[str, int] = field(default_factory=dict)


def load_results(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def install(done: Finished, students: Path) -> None:
    """Move a finished student folder into place, replacing the old one; atomic enough that a
    kill at any moment leaves either the old folder, the new one, or none (graded again)."""
    target = students / done.entry.student
    if target.exists():
        old = done.out.with_name(done.out.name + ".old")
        os.replace(target, old)
        os.replace(done.out, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(done.out, target)


def write_failed(
    done: Finished, folder: Path, exercises: list[int], extra: list, grader_hash: str
) -> dict:
    """The folder of a student whose grading process died or overran: no scores, the reason,
    and, as for every student, the receipt and the look-alike fingerprint (read, never run)."""
    from grader.classroom import lookalike, receipt
    from grader.classroom.grading_process import results_json, write_student
    from grader.runner import could_not_grade

    report = could_not_grade(exercises, f"{done.status}: {done.note}", extra)
    task = {"student": done.entry.student, "entry": str(done.entry.path), "key": done.entry.key}
    more = {
        "receipt": receipt.make(done.entry.path, exercises, grader_hash=grader_hash),
        "lookalike": lookalike.workspace_fingerprint(done.entry.path),
    }
    data = results_json(report, task, done.status, done.note, more)
    write_student(folder, report, data)
    return data


def run_batch(
    submissions: Path,
    out: Path,
    exercises: list[int],
    jobs: int,
    extra_checks: Path | None = None,
    timeout: float = 900.0,
    force: bool = False,
    stream: TextIO = sys.stderr,
    hint_ladder: bool = False,
    roster: Path | None = None,
    adjustments: Path | None = None,
) -> BatchResult:
    """Grade every entry of `submissions` into `out`; see the module's docstring. `roster` and
    `adjustments`: the instructor's files (grader/classroom/roster.py); a copy of each is kept
    in `out`, and used when a later run names none."""
    from grader.runner import load_extra_checks

    extra = load_extra_checks(extra_checks) if extra_checks else []
    entries, clashes = find_entries(submissions)
    # the ladder changes hints, not scores: only a change of submission grades it again
    fingerprint = grading_fingerprint(exercises, extra_checks) + ("+ladder" if hint_ladder else "")
    hint_history = out / "hint-history" if hint_ladder else None
    students, work = out / "students", out / ".work"
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / ".lock", "w")  # held until this process ends, however it ends
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise BatchError(f"another batch is writing to {out}: wait for it, or stop it") from None
    people, changes = None, {}
    roster_file = class_files.chosen(roster, out, class_files.ROSTER)
    adjustments_file = class_files.chosen(adjustments, out, class_files.ADJUSTMENTS)
    try:
        if roster_file is not None:
            people, warnings = class_files.read_roster(roster_file)
            stream.writelines(f"note: {w}\n" for w in warnings)
        if adjustments_file is not None:
            changes = class_files.read_adjustments(adjustments_file)
        class_files.keep(roster, out, class_files.ROSTER)
        class_files.keep(adjustments, out, class_files.ADJUSTMENTS)
    except (class_files.ClassFileError, OSError) as exc:
        lock.close()
        raise BatchError(str(exc)) from None
    for used, what in [(roster_file, "roster"), (adjustments_file, "adjustments")]:
        if used is not None:
            stream.write(f"{what}: {used}\n")
    shutil.rmtree(work, ignore_errors=True)  # leftovers of a killed run: half-written folders
    remove_abandoned()  # and its scratch folders in /tmp (submissions, sandboxes, numpy)
    students.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True)

    rows: dict[str, G.Row] = {r.student: r for r in clashes}
    notes = {e.student: class_files.renamed_note(entry_name(e.path), e.student) for e in entries}
    todo: list[Entry] = []
    for entry in entries:
        key = hashlib.sha256((fingerprint + content_hash(entry.path)).encode()).hexdigest()
        entry = Entry(entry.student, entry.path, key)
        old = None if force else load_results(students / entry.student)
        old_row = G.row_from_results(old) if old else None
        batch = (old or {}).get("extra_data", {}).get("batch", {})
        if old_row and batch.get("key") == key and old_row.status in G.FINAL:
            rows[entry.student] = old_row
        else:
            rows[entry.student] = G.Row(entry.student, G.PENDING, entry=entry.path.name)
            todo.append(entry)

    def save(final: bool = False) -> list[G.Row]:
        listed = class_files.complete(rows, people, changes, notes)
        write_atomically(out / "gradebook.csv", G.gradebook_csv(listed, exercises))
        write_atomically(out / "summary.md", G.summary_md(listed, exercises))
        pages = {r.student for r in listed if (students / r.student / "feedback.html").exists()}
        write_atomically(out / "report.html", report_html(listed, exercises, pages))
        if final:
            class_files.show_on_pages(students, [r for r in listed if r.student in pages])
        return listed

    save()
    reused = len(entries) - len(todo)
    # no more processes than submissions to grade: an idle one would only import torch (2 s
    # of CPU that the busy ones need)
    jobs = max(1, min(jobs, len(todo)))
    stream.write(
        f"{len(rows)} submissions in {submissions}: {reused} already graded, "
        f"{len(todo)} to grade with {jobs} process{'es' if jobs > 1 else ''}\n"
    )
    for sid in class_files.unknown_ids(class_files.complete(rows, people, {}), changes):
        stream.write(f"note: the adjustments name {sid}, who has no row: a typo?\n")
    progress = Progress(len(todo), stream)
    interrupted, last_save = False, time.monotonic()
    pool = Pool(jobs, exercises, extra_checks, work, timeout, hint_history) if todo else None
    try:
        for done in pool.run(todo) if pool else []:
            if done.results is None:
                shutil.rmtree(done.out, ignore_errors=True)  # whatever it had written
                done.results = write_failed(done, done.out, exercises, extra, fingerprint)
            install(done, students)
            rows[done.entry.student] = G.row_from_results(done.results)
            progress.step(done.entry.student)
            if time.monotonic() - last_save > 1.0:
                save()
                last_save = time.monotonic()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if pool:
            pool.close()
        progress.finish()
        listed = save(final=True)
        shutil.rmtree(work, ignore_errors=True)
    lock.close()
    counts: dict[str, int] = {}
    for r in listed:
        counts[r.status] = counts.get(r.status, 0) + 1
    return BatchResult(listed, interrupted, counts)
