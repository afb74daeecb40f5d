"""A seccomp filter: the worker may start threads, but no process, no socket, no IPC object.

A student's engine needs no process of its own. With one process per submission, the
per-process limits set before the worker starts (RLIMIT_AS on memory, RLIMIT_CPU on CPU time)
become limits of the whole submission: threads share their process's address space and CPU
account, and a process that cannot fork cannot multiply them. It needs no socket either (no
network where there is no network namespace: TCP to 127.0.0.1, abstract unix sockets, netlink)
and no IPC object (System V shared memory, message queues and semaphores, POSIX message
queues: outside an IPC namespace they would outlive the worker or reach other processes).

The filter, in classic BPF over `struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6]}`:
  arch not ours                       -> kill (no second syscall table, e.g. i386's int 0x80)
  x32 syscall numbers (x86-64)        -> EPERM
  socket, socketpair                  -> EPERM (every address family)
  shmget, msgget, semget, mq_open     -> EPERM
  io_uring_setup                      -> ENOSYS (its requests can open sockets unseen)
  fork, vfork                         -> EPERM
  clone with CLONE_THREAD in its flags -> allowed (a thread), any other clone -> EPERM
  clone3                              -> ENOSYS (its flags sit in memory, where BPF cannot
                                         look; libc then falls back to clone, judged above)
  anything else                       -> allowed
bwrap loads it (`--seccomp FD`) just before it starts the worker, after its own forks. In the
"permissions" mode the grader loads it itself between fork and exec (Installer), without the
rules on processes where `unshare` must still fork (the worker's process limit of 1 forbids
them there).
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

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2

# machine -> (AUDIT_ARCH_*, {syscall: number}); aarch64 has no fork or vfork syscall
ARCHES = {
    "x86_64": (
        0xC000003E,
        {"fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "io_uring_setup": 425}
        | {"socket": 41, "socketpair": 53, "shmget": 29, "semget": 64, "msgget": 68}
        | {"mq_open": 240},
    ),
    "aarch64": (
        0xC00000B7,
        {"clone": 220, "clone3": 435, "io_uring_setup": 425}
        | {"socket": 198, "socketpair": 199, "shmget": 194, "semget": 190, "msgget": 186}
        | {"mq_open": 180},
    ),
}
DENIED = ("socket", "socketpair", "shmget", "msgget", "semget", "mq_open")


def supported() -> bool:
    return platform.machine() in ARCHES


def program(processes: bool = True) -> bytes:
    """The filter for this machine: `struct sock_filter {u16 code; u8 jt, jf; u32 k}`s;
    without the rules on processes if not `processes`."""
    arch, calls = ARCHES[platform.machine()]
    deny = ERRNO | errno.EPERM
    code: list[tuple] = [
        ("ld", ARCH, None, None),
        ("jeq", arch, None, "kill"),
        ("ld", NR, None, None),
    ]
    if "fork" in calls:  # x86-64: the x32 ABI's numbers have bit 30 set
        code.append(("jge", 0x40000000, "deny", None))
    code += [("jeq", calls[name], "deny", None) for name in DENIED]
    code.append(("jeq", calls["io_uring_setup"], "nosys", None))
    if processes:
        code += [("jeq", calls[name], "deny", None) for name in ("fork", "vfork") if name in calls]
        code += [
            ("jeq", calls["clone3"], "nosys", None),
            ("jeq", calls["clone"], None, "allow"),
            ("ld", ARG0, None, None),
            ("jset", CLONE_THREAD, "allow", "deny"),
        ]
    # else: fall through to the first label, "allow"
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


def descriptor_with(data: bytes) -> int:
    """A descriptor to read `data` from, to its end (for bwrap's --seccomp and --args): an
    anonymous file, so that no size blocks the writer; a pipe where there is none."""
    try:
        fd = os.memfd_create("micrograd-sandbox", 0)  # no MFD_CLOEXEC: the child reads it
    except (AttributeError, OSError):
        r, w = os.pipe()
        os.write(w, data)  # small: the filter (~30 instructions) fits a pipe
        os.close(w)
        return r
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class Installer:
    """Loads the filter into the calling process, for subprocess's preexec_fn (after fork,
    before exec, where nothing may be imported): the libc handle and the program are made in
    the parent. no_new_privs first, which lets an unprivileged process load a filter and
    keeps it from gaining privileges by exec (root keeps the capabilities it has)."""

    def __init__(self, processes: bool = True):
        import ctypes

        class Program(ctypes.Structure):  # struct sock_fprog
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        code = program(processes)
        self._code = ctypes.create_string_buffer(code, len(code))
        self._program = Program(len(code) // 8, ctypes.addressof(self._code))
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._ctypes = ctypes

    def __call__(self) -> None:
        libc, ulong = self._libc, self._ctypes.c_ulong
        pointer = ulong(self._ctypes.addressof(self._program))
        if libc.prctl(PR_SET_NO_NEW_PRIVS, ulong(1), ulong(0), ulong(0), ulong(0)) != 0 or (
            libc.prctl(PR_SET_SECCOMP, ulong(SECCOMP_MODE_FILTER), pointer, ulong(0), ulong(0))
        ):
            raise OSError(self._ctypes.get_errno(), "the seccomp filter could not be loaded")
