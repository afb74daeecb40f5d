"""A killed worker's processes are reaped by the grader at once, not whenever PID 1 gets to it.

Outside bwrap, as root, the worker runs as a user of its own whose process limit is 1: the next
worker cannot start while a zombie of the last one is left. A container's PID 1 may take a
second or two to reap it (this machine's does), or never; the grader adopts the orphans
(processes.adopt_orphans) and reaps them itself (processes.kill_processes_of).
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from grader.sandbox import permissions
from grader.sandbox.processes import adopt_orphans, kill_processes_of, pids_of

pytestmark = [
    pytest.mark.grader,
    pytest.mark.skipif(os.geteuid() != 0, reason="a worker user of its own needs root"),
]


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


@pytest.mark.parametrize("prefix", ["unshare", "none"])
def test_a_killed_workers_orphans_are_the_graders_to_reap(prefix):
    """The worker as the grader starts it (its `unshare`, then setpriv to its user), forking a
    child of its own; killed as Sandbox._stop kills it. Its child, orphaned, is the grader's
    child, and is gone when kill_processes_of returns, well before PID 1 would reap it."""
    isolate = permissions.isolation()[0] if prefix == "unshare" else []
    if prefix == "unshare" and not isolate:
        pytest.skip("no unshare here")
    adopt_orphans()
    # a user of this test's own: the grader's worker user may have processes still waiting for
    # PID 1 from the tests before (bwrap's, whose grader does not adopt them)
    uid = 260_000 + os.getpid() % 10_000
    # the worker's own process forks a child that outlives it (the worker's user may fork
    # here: no process limit in this test)
    script = "import os, time\nif os.fork() == 0:\n    time.sleep(100)\ntime.sleep(100)\n"
    as_user = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    cmd = [*isolate, *as_user, "/usr/bin/python3", "-c", script]
    proc = subprocess.Popen(cmd, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(pids_of(uid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(pids_of(uid)) >= 2
        os.killpg(proc.pid, 9)
        proc.wait()
        left = pids_of(uid)
        for pid in left:  # adopted (the grader's), or a child of one adopted; not PID 1's
            try:
                assert parent_of(pid) == os.getpid() or parent_of(pid) in left
            except FileNotFoundError:
                pass
        kill_processes_of(uid, wait=0.5)
        assert pids_of(uid) == []
    finally:
        kill_processes_of(uid)
