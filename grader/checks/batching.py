"""A check's examples drawn once a process, and judged in few round trips to the worker.

for_all (properties.py) judges draws of a strategy, seeded by the course's secret, one
request to the worker at a time, hypothesis's engine running between them. On a busy machine
each round trip waits for the scheduler twice, and the engine costs the grader more than the
judging does. Where a submission passes (most do), the same draws are judged the same way by
a shorter road:

1. The draws (`drawn`): hypothesis run once with a test that keeps each example, kept per
   process by what decides them: the check's seed (from the secret), the check, which of its
   for_all calls this is, and how many examples. Until a test fails, hypothesis draws the same
   examples whatever the test does, so these are the examples it judges on a submission that
   passes. A batch draws them once, not once per student; nothing of a submission is kept.
2. The judging (`judge_all`): each example's judge runs in a thread of its own that pauses at
   each request. The paused requests go to the worker together as one request, "many" (the
   worker serves each as if it came alone: grader/sandbox/worker/main.py), the replies come
   back together, and the judges go on, one at a time, until each has ended.
3. Every example passed: the check passed, as hypothesis would have found. Otherwise the first
   example, in order, that did not pass decides: the student's error (a stub's
   NotImplementedError) is raised, as for_all raises it; anything else is hypothesis's to
   judge as before (it draws the same examples, meets the same failure and shrinks it), the
   requests it repeats answered from the replies in hand. A batch the worker could not answer
   (it hung, died, ran out of time) is as if never made (Sandbox.trial): the check runs as
   before, one request at a time, and so do the submission's later checks.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import deque
from collections.abc import Callable

from grader.checks import course
from grader.checks.checking import Context
from grader.sandbox import OutOfTime, StudentError, UnreadableReply, WorkerFailed, student_error
from grader.sandbox.questions import may_ask

MAX_KEPT = 1024  # draws of (check, secret, call) a process keeps; then it starts afresh
_DRAWN: dict[tuple, list] = {}


def drawn(ctx: Context, call: object, examples: int, run: Callable[[Callable], None]) -> list:
    """The examples hypothesis draws for for_all call number `call` of the check, as fresh
    copies (a judge may change its example). run(test) runs hypothesis with that test.
    `call` holds whatever else the draws depend on: random_expressions passes the operations
    the submission's Value has, which differ from one submission to the next."""
    key = (course.seed_for(ctx.purpose), ctx.purpose, call, examples)
    if key not in _DRAWN:
        kept: list = []
        run(lambda example: kept.append(copy.deepcopy(example)))
        if len(_DRAWN) >= MAX_KEPT:
            _DRAWN.clear()
        _DRAWN[key] = kept
    return copy.deepcopy(_DRAWN[key])


# -- judging many examples at once ---------------------------------------------------------


class _Abandoned(BaseException):
    """The batch a paused judge waits on is given up: the judge ends here (a BaseException,
    which no judge catches)."""


_here = threading.local()  # the slot whose judge runs in this thread


class _Slot:
    """One example's judge, in a thread that pauses at each request."""

    def __init__(self, example, judge: Callable) -> None:
        self.example, self.judge = example, judge
        self.request: tuple | None = None  # (kind, timeout, payload) the judge waits on
        self.answer: object = None  # the reply it gets, or the exception raised in it
        self.outcome: BaseException | None = None  # how it ended: None, it passed
        self.done = False
        self.paused, self.resume = threading.Event(), threading.Event()
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        _here.slot = self
        try:
            self.judge(self.example)
        except BaseException as exc:  # every ending is the caller's to weigh
            self.outcome = exc
        self.done = True
        self.paused.set()

    def step(self) -> None:
        """Let the judge run until it pauses on a request, or ends."""
        self.paused.clear()
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        else:
            self.resume.set()
        self.paused.wait()

    def wait_for(self, kind: str, timeout: float | None, payload: dict) -> dict:
        """In the judge's thread: pause until the batch brings this request's answer."""
        self.request = (kind, timeout, payload)
        self.resume.clear()
        self.paused.set()
        self.resume.wait()
        answer, self.answer = self.answer, None
        return _given(answer)


def _given(answer) -> dict:
    """The reply, or the student's error raised as Sandbox.request raises it. (Judges only
    read replies: a reply is handed over as it is, and copied where it is handed again.)"""
    if isinstance(answer, tuple):
        student_error(*answer)
    if isinstance(answer, BaseException):
        raise answer
    return answer


class _Batched:
    """The sandbox as judges in slots see it: a request waits for the batch's answer."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox

    def __getattr__(self, name: str):
        return getattr(self.sandbox, name)

    def request(self, kind: str, timeout: float | None = None, **payload: object) -> dict:
        slot = getattr(_here, "slot", None)
        if slot is None:
            return self.sandbox.request(kind, timeout, **payload)
        return slot.wait_for(kind, timeout, payload)


class Answered:
    """The sandbox with answers in hand: a request made before (the same kind, limit and
    payload, each answer used once, in order) gets its answer; any other goes to the worker."""

    def __init__(self, sandbox, answers: dict[str, deque]) -> None:
        self.sandbox, self.answers = sandbox, answers

    def __getattr__(self, name: str):
        return getattr(self.sandbox, name)

    def request(self, kind: str, timeout: float | None = None, **payload: object) -> dict:
        queue = self.answers.get(_key(kind, timeout, payload) or "")
        if queue:
            return _given(copy.deepcopy(queue.popleft()))
        return self.sandbox.request(kind, timeout, **payload)


def _key(kind: str, timeout: float | None, payload: dict) -> str | None:
    try:
        return json.dumps([kind, timeout, payload])
    except (TypeError, ValueError):
        return None


def _exchange(sandbox, requests: list[tuple]) -> list:
    """The answers to these requests, in order (a reply, or the student's error as (kind,
    message, where)): one request "many" for those that may ask the grader the order of the
    rules, one for those that may not (a batch never mixes them: questions.may_ask)."""
    answers: list = [None] * len(requests)
    groups: dict[bool, list[int]] = {}
    for i, (kind, _, payload) in enumerate(requests):
        groups.setdefault(may_ask(kind, payload), []).append(i)
    for members in groups.values():
        subs = [{**requests[i][2], "kind": requests[i][0]} for i in members]
        limits = [requests[i][1] for i in members if requests[i][1]]
        reply = sandbox.request("many", max(limits) if limits else None, requests=subs)
        got = reply.get("replies")
        if not isinstance(got, list) or len(got) != len(members):
            raise UnreadableReply("a batch's reply without a reply for each request")
        for i, r in zip(members, got):
            if not isinstance(r, dict) or not isinstance(r.get("ok"), bool):
                raise UnreadableReply("a batch's reply without its `ok` field")
            error = (
                str(r.get("error", "Error")),
                str(r.get("message", "")),
                str(r.get("where", "")),
            )
            answers[i] = r if r["ok"] else error
    return answers


def judge_all(ctx: Context, examples: list, judge: Callable) -> dict[str, deque] | None:
    """Judge every example, the requests of all of them in batches (the module's docstring).
    None: every example passed. Otherwise the answers in hand, for hypothesis to judge the
    check with; the student's error that ends the check is raised."""
    sandbox = ctx.sandbox
    slots = [_Slot(example, judge) for example in examples]
    answers: dict[str, deque] = {}
    ctx.sandbox = _Batched(sandbox)
    try:
        for slot in slots:
            slot.step()
        while not any(s.done and s.outcome is not None for s in slots):
            waiting = [s for s in slots if not s.done]
            if not waiting:
                break
            requests = [s.request for s in waiting]
            try:
                with sandbox.trial():  # failed: as if never sent
                    got = _exchange(sandbox, requests)
            except OutOfTime:  # the exercise's budget is spent: the check says so, as before
                return {}
            except (StudentError, WorkerFailed):  # hung, died, or sent what cannot be read
                ctx.batches = False  # one request at a time for the rest of this submission
                return {}
            for slot, request, answer in zip(waiting, requests, got):
                key = _key(*request)
                if key is not None:
                    answers.setdefault(key, deque()).append(answer)
                slot.answer = answer
                slot.step()
    finally:
        ctx.sandbox = sandbox
        for slot in slots:  # judges still waiting end now
            if slot.thread is not None and not slot.done:
                slot.answer = _Abandoned()
                slot.step()
    for slot in slots:
        if slot.outcome is None:
            continue
        if isinstance(slot.outcome, StudentError):
            raise slot.outcome
        # a wrong answer (hypothesis shrinks it), a judge given up, a bug in the grader:
        # the check goes to hypothesis, with what the worker already answered
        return answers
    return None
