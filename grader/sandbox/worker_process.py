"""The worker process for one workspace: started, fed requests, read, stopped, restarted after
any failure, its time budget kept (runner.py sets one per exercise) in the worker's own CPU
seconds, measured from outside (processes.WorkerClock), so that load changes no grade."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from grader.sandbox import acl, bwrap, permissions, policy, questions
from grader.sandbox.modes import BWRAP, PERMISSIONS, mode
from grader.sandbox.processes import (
    BACKSTOP,
    Limits,
    WorkerClock,
    adopt_orphans,
    kill_processes_of,
    limit,
    prlimit_prefix,
    remove_files_of,
    remove_ipc_of,
    worker_uid,
)
from grader.sandbox.replies import (
    OutOfTime,
    StudentError,
    TooLarge,
    UnreadableReply,
    WorkerFailed,
    clean,
    describe_exit,
    student_error,
)
from grader.sandbox.worker_program import launcher, worker_source
from grader.submissions.scratch import private_folder, remove

GIVE_UP_AFTER = 3  # timeouts in a row after which a sandbox stops starting workers
POLL_SECONDS = 0.05  # how often a slow request's time is read while it runs


def copy_package(src: Path, dst: Path, max_files: int = 200, max_bytes: int = 20 * 1024**2) -> None:
    """Copy the submission's micrograd/ package: regular files only, links never followed."""
    count = size = 0
    for path in sorted(src.rglob("*")):
        if path.is_symlink() or "__pycache__" in path.parts:
            continue
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            count += 1
            size += path.stat().st_size
            if count > max_files or size > max_bytes:
                raise TooLarge(
                    f"the submission's micrograd/ folder is too large "
                    f"(over {max_files} files or {max_bytes // 1024**2} MB)"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


class Sandbox:
    """One worker process for a workspace, restarted after any failure."""

    def __init__(self, workspace: Path, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.mode = mode()
        if self.mode == PERMISSIONS:
            permissions.prepare()  # the kit and the rest denied; /tmp not listable
        self.prefix, self.drops = permissions.isolation() if self.mode != BWRAP else ([], False)
        self.filter = permissions.seccomp_filter() if self.mode == PERMISSIONS else None
        self._prlimit = prlimit_prefix(self.limits) if self.mode == BWRAP else []
        if self.drops:  # its processes, orphaned when it is killed, are ours to reap
            adopt_orphans()
        # A fresh private folder (mkdtemp: mode 0700, an unpredictable name): the copies the
        # worker reads, and its scratch folder, open to the worker's own user alone.
        self.root = private_folder("micrograd-grade-")
        self.package = self.root / "workspace"
        self.package.mkdir()
        try:
            copy_package(Path(workspace) / "micrograd", self.package / "micrograd")
        except BaseException:
            remove(self.root)
            raise
        self.scratch = self.root / "scratch"  # outside bwrap: the worker's cwd and HOME
        self.scratch.mkdir()
        self._open_to_worker()
        if self.drops and self.mode != PERMISSIONS:  # unprotected, as root: it writes there
            os.chown(self.scratch, worker_uid(), worker_uid())
        self.output_path = self.root / "output.txt"
        self.proc: subprocess.Popen | None = None
        self.outputs: list[str] = []
        self.failures = 0
        self.timeouts_in_a_row = 0
        self._texts: dict[str, str] = {}  # files of micrograd/ rewritten by use()
        self.clock: WorkerClock | None = None
        self.set_budget(None)

    def _open_to_worker(self) -> None:
        """The folder readable by the worker's user alone: as root, whose worker runs as a user
        of its own (bwrap too), by an ACL entry for that user (acl.only_for), or where the file
        system keeps no ACL, by giving it the files; else (the worker is us) by mode 0700.
        Classmates graded beside it run as other users: they cannot list or read it."""
        paths = [self.root, *self.root.rglob("*")]
        if os.geteuid() != 0 or not (self.mode == BWRAP or self.drops):
            for path in paths:
                path.chmod(0o700 if path.is_dir() else 0o600)
            return
        uid = worker_uid()
        try:
            for path in paths:  # the top folder crossed only: nothing in it to list
                allow = 0o1 if path == self.root else 0o5 if path.is_dir() else 0o4
                acl.only_for(path, uid, allow)
        except acl.CannotProtect:
            for path in paths:
                os.chown(path, uid, uid)
                path.chmod(0o500 if path.is_dir() else 0o400)

    # -- process life ------------------------------------------------------------------

    def _command(self, source_r: int, req_r: int, rep_w: int) -> tuple[list[str], list[int]]:
        """The worker's command line, and the descriptors it must inherit."""
        flags = ["-I", "-S", "-B", "-u", "-c"]
        fds = [str(source_r), str(req_r), str(rep_w)]
        if self.mode == BWRAP:
            args = [*flags, launcher(policy.SYS_PATH), fds[0], policy.SUBMISSION_DIR, *fds[1:]]
            cmd, fds = bwrap.bwrap_command(self.package, args)
            return [*self._prlimit, *cmd], [source_r, req_r, rep_w, *fds]
        numpy = policy.numpy_dirs(self.drops, alone=True)[:1]
        path = [os.path.dirname(d) for d in numpy]
        python = policy.interpreter(self.drops)[0]
        args = [python, *flags, launcher(path), fds[0], str(self.package), *fds[1:]]
        cmd = [*self.prefix, *(permissions.drop() if self.drops else []), *args]
        return cmd, [source_r, req_r, rep_w]

    def _start(self) -> None:
        source_r, source_w = os.pipe()
        req_r, self._req_w = os.pipe()
        os.set_blocking(self._req_w, False)  # written with a deadline (_send)
        self._rep_r, rep_w = os.pipe()
        cmd, fds = self._command(source_r, req_r, rep_w)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.scratch), **policy.ENV}
        env["HOME"] = str(self.scratch)
        # No code of ours between fork and exec where bwrap does that part: `prlimit` sets the
        # limits of bwrap and all below it, bwrap dies with the grader (--die-with-parent) and
        # loads the seccomp filter. A preexec_fn makes Python fork() rather than vfork(): that
        # copies the grader's page tables, torch's included, about 10 ms of the grader's CPU
        # a worker (benchmarks/worker_start.py).
        preexec = None
        if not self._prlimit:  # the limits, the filter, die with the grader: before unshare
            preexec = functools.partial(
                limit, self.limits, self.mode == PERMISSIONS and self.drops, self.filter
            )
        try:
            with open(self.output_path, "wb") as out:
                self.proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    pass_fds=fds,
                    cwd=self.scratch,
                    env=env,
                    start_new_session=True,
                    preexec_fn=preexec,
                )
        finally:
            for fd in fds:
                os.close(fd)
        self._buffer = b""
        try:  # the worker reads its code first of all; one that died early is seen by the reply
            _write_all(source_w, worker_source())
        except OSError:
            pass
        finally:
            os.close(source_w)
        self.clock = WorkerClock(self.proc.pid)
        self._base = 0.0

    def _stop(self) -> None:
        if self.proc is None:
            return
        self._spent += self._worker_seconds()  # what it used until now, before it is gone
        self.clock = None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.kill()
        self.proc.wait()
        if self.mode == PERMISSIONS:
            # its processes die with it, but are reaped a moment later; the next worker's
            # process limit of 1 counts them until then. No IPC object outlives it either.
            kill_processes_of(worker_uid())
            remove_ipc_of(worker_uid())
        for fd in (self._req_w, self._rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.outputs.append(self._read_output())
        self.proc = None

    def _read_output(self) -> str:
        try:
            with open(self.output_path, "rb") as f:
                data = f.read(self.limits.output_chars + 1)
        except OSError:
            return ""
        text = clean(data.decode("utf-8", "replace"))
        if len(text) > self.limits.output_chars:
            text = text[: self.limits.output_chars] + "\n... (output truncated)"
        return text

    def close(self) -> None:
        self._stop()
        remove(self.root)
        if self.drops:  # outside bwrap, /tmp and System V IPC are shared
            remove_files_of(worker_uid())
            remove_ipc_of(worker_uid())

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def output(self) -> str:
        """What student code printed, truncated, across every worker process so far."""
        text = "".join(o for o in self.outputs if o)
        if self.proc is not None:
            text += self._read_output()
        return text[: self.limits.output_chars + 40]

    # -- the code the worker sees --------------------------------------------------------

    def read(self, name: str) -> str | None:
        """The text of micrograd/NAME as copied from the submission (None: no such regular
        file, or not UTF-8)."""
        if name in self._texts:
            return self._texts[name]
        path = self.package / "micrograd" / name
        try:
            if path.is_symlink() or not path.is_file():
                return None
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def use(self, files: dict[str, str]) -> None:
        """Give the worker these texts for these files of micrograd/ (the runner composes
        them, grader/submissions/regions.py); a worker that imported other code is stopped,
        and the next request starts one on these."""
        changed = {n: t for n, t in files.items() if self.read(n) != t}
        if not changed:
            return
        self._stop()
        for name, text in changed.items():
            (self.package / "micrograd" / name).write_text(text, encoding="utf-8")
            self._texts[name] = text

    # -- requests --------------------------------------------------------------------------

    def request(self, kind: str, timeout: float | None = None, **payload: object) -> dict:
        """Send one request and return the worker's reply (a dict of plain values).

        Raises StudentError when the student's code raised, WorkerFailed when the worker
        could not answer (it is then stopped; the next request starts a new one).
        """
        if self.timeouts_in_a_row >= GIVE_UP_AFTER:
            # A worker that hangs at import would cost every check its full wall time; after
            # a few timeouts in a row the rest fail at once, for the same reason.
            raise WorkerFailed(
                f"not run: the worker timed out {GIVE_UP_AFTER} times in a row "
                "(an infinite loop when your code is imported, or far too slow)"
            )
        left = self.time_left()
        if left <= 0:
            raise OutOfTime(self.budget_note)
        if self.proc is None:
            self._start()
        self._id = getattr(self, "_id", 0) + 1
        limit = min(timeout or self.limits.request_seconds, left)
        # the wall-clock backstop of the whole request, its questions included; its budget
        # proper is `limit` seconds of the worker's own time (_read_reply)
        deadline = time.monotonic() + BACKSTOP * limit
        self._send({"id": self._id, "kind": kind, **payload}, deadline, limit)
        reply = self._read_reply(deadline, limit)
        for _ in range(questions.most_questions(kind, payload)):
            if not (isinstance(reply, dict) and "question" in reply):
                break
            self._answer(reply, questions.may_ask(kind, payload), deadline, limit)
            reply = self._read_reply(deadline, limit)
        self.timeouts_in_a_row = 0
        if not isinstance(reply, dict) or reply.get("id") != self._id or "question" in reply:
            self._unreadable("a reply to another request, or no reply object at all")
        if not isinstance(reply.get("ok"), bool):
            self._unreadable("a reply without its `ok` field")
        if not reply["ok"]:
            student_error(
                str(reply.get("error", "Error")),
                str(reply.get("message", "")),
                str(reply.get("where", "")),
            )
        return reply

    @contextlib.contextmanager
    def trial(self) -> Iterator[None]:
        """Requests made ahead of their turn (a batch of a check's examples): if they fail,
        the sandbox is as if they had never been made, their time given back and their
        timeouts and failures not counted, for the requests made in turn to find."""
        used, timeouts, failures = self.time_used(), self.timeouts_in_a_row, self.failures
        try:
            yield
        except (StudentError, WorkerFailed):
            self._spent -= self.time_used() - used
            self.timeouts_in_a_row, self.failures = timeouts, failures
            raise

    def _answer(self, question: dict, allowed: bool, deadline: float, limit: float) -> None:
        """Answer the worker's question (questions.py): the order in which to run the rules."""
        if not allowed:
            self._unreadable(
                "a question for the grader in a request that runs your own backward() (the "
                "grader orders the rules only where it grades them one by one)"
            )
        order = questions.answer(question) if question.get("id") == self._id else None
        if order is None:
            self._unreadable("a malformed question for the grader")
        self._send({"id": self._id, "order": order}, deadline, limit)

    def _send(self, message: dict, deadline: float, timeout: float) -> None:
        """Write one line to the worker by `deadline`: a worker that stops reading its pipe
        (student code can take its place) fails the request, it cannot hang the grader."""
        view = memoryview(json.dumps(message).encode() + b"\n")
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                self.timeouts_in_a_row += 1
                self._fail(f"timed out after {timeout:g} s (it stopped reading its requests)")
            _, ready, _ = select.select([], [self._req_w], [], left)
            try:
                if ready:
                    view = view[os.write(self._req_w, view) :]
            except BlockingIOError:
                continue
            except OSError:
                self._fail()

    def set_budget(self, seconds: float | None, note: str = "", wall: float | None = None) -> None:
        """From now on, all requests together may take `seconds` of the worker's time, its CPU
        seconds and any time it sleeps on a request (None: no budget); past it, each raises
        OutOfTime(note). Wall-clock time is a far backstop: BACKSTOP x seconds, or `wall`
        seconds when given (a whole run's limit)."""
        self.budget = seconds
        self._spent = 0.0
        self._base = self.clock.read()[0] if self.clock is not None else 0.0
        now = time.monotonic()
        backstop = None if seconds is None else BACKSTOP * seconds
        if wall is not None:
            backstop = wall if backstop is None else min(backstop, wall)
        self.deadline = None if backstop is None else now + backstop
        self.budget_note = note or "ran out of time"

    def _worker_seconds(self) -> float:
        """The running worker's CPU seconds since the budget was set (or since it started)."""
        return self.clock.read()[0] - self._base if self.clock is not None else 0.0

    def time_used(self) -> float:
        """The worker's time charged to the budget so far: CPU seconds, and seconds asleep."""
        return self._spent + self._worker_seconds()

    def time_left(self) -> float:
        """What is left of the budget (math.inf: none set); 0 once the backstop has passed."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return 0.0
        return math.inf if self.budget is None else self.budget - self.time_used()

    def _read_reply(self, deadline: float, timeout: float) -> object:
        """The next reply line, parsed. The request may use `timeout` seconds of the worker's
        time (CPU, or asleep); `deadline` is its wall-clock backstop (BACKSTOP times that)."""
        clock = self.clock
        assert clock is not None
        last = time.monotonic()
        cpu_at_start, asleep_for = clock.read()[0], 0.0
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._rep_r], [], [], POLL_SECONDS)
            if not ready:
                cpu, asleep = clock.read()
                now = time.monotonic()
                if asleep:  # a stall costs its time too; waiting for a busy CPU costs nothing
                    asleep_for += now - last
                    self._spent += now - last
                last = now
                used = cpu - cpu_at_start + asleep_for
                backstop = now >= deadline or now >= (self.deadline or math.inf)
                if used < timeout and not backstop:
                    continue
                if self.time_left() <= 0:  # the exercise's budget, not this request's limit
                    self._stop()
                    raise OutOfTime(self.budget_note)
                self.timeouts_in_a_row += 1
                self._fail(f"timed out after {timeout:g} s (an infinite loop, or far too slow)")
            chunk = os.read(self._rep_r, 1 << 16)
            if not chunk:
                self._fail()
            self._buffer += chunk
            if len(self._buffer) > self.limits.reply_bytes:
                self._fail("the worker's reply was too large")
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line, parse_constant=lambda c: None)
        except (ValueError, RecursionError) as exc:  # not JSON; an int of 5,000 digits
            self._unreadable(f"not JSON ({str(exc)[:80]})")
        raise AssertionError  # unreachable

    def _unreadable(self, why: str) -> None:
        """A reply the grader cannot read: the student's wrong answer to this request. The
        worker is replaced (what it sends next cannot be trusted to line up)."""
        self._stop()
        raise UnreadableReply(
            f"your code sent a malformed reply, which the grader cannot read: {why}"
        )

    def _fail(self, reason: str | None = None) -> None:
        proc = self.proc
        if reason is None and proc is not None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            reason = describe_exit(code, self.limits)
        self.failures += 1
        self._stop()
        raise WorkerFailed(reason or "the worker stopped")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
