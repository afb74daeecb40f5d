"""A seccomp filter that lets the worker start threads but no processes.

A student's engine needs no process of its own. With one process per submission, the
per-process limits set before the worker starts (RLIMIT_AS on memory, RLIMIT_CPU on CPU time)
become limits of the whole submission: threads share their process's address space and CPU
account, and a process that cannot fork cannot multiply them.

The filter, in classic BPF over `struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6]}`:
  arch not ours                       -> kill (no second syscall table, e.g. i386's int 0x80)
  x32 syscall numbers (x86-64)        -> EPERM
  fork, vfork                         -> EPERM
  clone with CLONE_THREAD in its flags -> allowed (a thread), any other clone -> EPERM
  clone3                              -> ENOSYS (its flags sit in memory, where BPF cannot
                                         look; libc then falls back to clone, judged above)
  anything else                       -> allowed
bwrap loads it (`--seccomp FD`) just before it starts the worker, after its own forks.
"""

from __future__ import annotations

import errno
import os
import platform
import struct

# BPF opcodes: load the word at an offset, jump if equal / if >= / if any bit set, return
OPCODES = {"ld": 0x20, "jeq": 0x15, "jge": 0x35, "jset": 0x45}
RET = 0x06
ALLOW, ERRNO, KILL = 0x7FFF0000, 0x00050000, 0x80000000  # SECCOMP_RET_*
CLONE_THREAD = 0x00010000
NR, ARCH, ARG0 = 0, 4, 16  # offsets in seccomp_data; ARG0's low 32 bits (little-endian)

# machine -> (AUDIT_ARCH_*, {syscall: number}); aarch64 has no fork or vfork syscall
ARCHES = {
    "x86_64": (0xC000003E, {"fork": 57, "vfork": 58, "clone": 56, "clone3": 435}),
    "aarch64": (0xC00000B7, {"clone": 220, "clone3": 435}),
}


def supported() -> bool:
    return platform.machine() in ARCHES


def program() -> bytes:
    """The filter for this machine: `struct sock_filter {u16 code; u8 jt, jf; u32 k}`s."""
    arch, calls = ARCHES[platform.machine()]
    deny = ERRNO | errno.EPERM
    code: list[tuple] = [
        ("ld", ARCH, None, None),
        ("jeq", arch, None, "kill"),
        ("ld", NR, None, None),
    ]
    if "fork" in calls:  # x86-64: the x32 ABI's numbers have bit 30 set
        code.append(("jge", 0x40000000, "deny", None))
    for name in ("fork", "vfork"):
        if name in calls:
            code.append(("jeq", calls[name], "deny", None))
    code += [
        ("jeq", calls["clone3"], "nosys", None),
        ("jeq", calls["clone"], None, "allow"),
        ("ld", ARG0, None, None),
        ("jset", CLONE_THREAD, "allow", "deny"),
    ]
    labels = {"allow": ALLOW, "deny": deny, "nosys": ERRNO | errno.ENOSYS, "kill": KILL}
    at = {name: len(code) + i for i, name in enumerate(labels)}
    out = b""
    for i, (op, k, jt, jf) in enumerate(code):
        # jumps count instructions after the next one; None: fall through to the next
        jt, jf = (0 if t is None else at[t] - i - 1 for t in (jt, jf))
        out += struct.pack("=HBBI", OPCODES[op], jt, jf, k)
    for value in labels.values():
        out += struct.pack("=HBBI", RET, 0, 0, value)
    return out


def pipe_with_program() -> int:
    """A pipe's read end, the filter written into it (bwrap reads it to its end)."""
    r, w = os.pipe()
    os.write(w, program())
    os.close(w)
    return r
