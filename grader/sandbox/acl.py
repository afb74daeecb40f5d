"""Where namespaces are forbidden ("permissions" mode, as root): make folders unreadable to
every worker by a POSIX ACL entry.

Each worker runs as a user of its own and with one supplementary group, WORKERS. An ACL entry
`group:WORKERS:---` on a folder denies that group everything: by POSIX.1e's access check, a
process that matches a group entry (the owning group or a named group) is granted only what
one of those entries grants, and "other" is never consulted. So a worker cannot enter the
folder, whatever its mode bits say, while everyone else's access is unchanged (the ACL's mask
is set to the group bits, which keeps the owning group's rights as they were).

The other way round, a worker's own copy of the submission is open to that worker's user
alone (only_for): owned by root, mode 0700, one entry `user:UID:r-x`; no other worker, in no
group, can list or read it, and the worker cannot change its mode.

Written as the kernel's `system.posix_acl_access` attribute with os.setxattr: no `setfacl`
needed. The entries stay after grading; they concern only the workers' group.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

WORKERS = 199_999  # the workers' group id (their user ids are UID_BASE + pid, above it)
XATTR = "system.posix_acl_access"
VERSION = 2
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
NO_ID = 0xFFFFFFFF
ENTRY = struct.Struct("<HHI")  # tag, permissions (rwx bits), id

_done: set[tuple[str, int]] = set()


class CannotProtect(Exception):
    """The file system keeps no ACLs (or refused one): the folder stays readable."""


def _entries(path: Path) -> dict[tuple[int, int], int]:
    """{(tag, id): permissions} of the path's ACL; its mode bits when it has none."""
    try:
        raw = os.getxattr(path, XATTR, follow_symlinks=False)
    except OSError:
        raw = b""
    if len(raw) >= 4 and struct.unpack("<I", raw[:4])[0] == VERSION:
        body = raw[4:]
        return {
            (tag, eid): perm
            for tag, perm, eid in (ENTRY.unpack_from(body, i) for i in range(0, len(body), 8))
        }
    mode = path.lstat().st_mode
    return {
        (USER_OBJ, NO_ID): mode >> 6 & 7,
        (GROUP_OBJ, NO_ID): mode >> 3 & 7,
        (OTHER, NO_ID): mode & 7,
    }


def _write(path: Path, entries: dict[tuple[int, int], int]) -> None:
    data = struct.pack("<I", VERSION) + b"".join(
        ENTRY.pack(tag, perm, eid) for (tag, eid), perm in sorted(entries.items())
    )
    try:
        os.setxattr(path, XATTR, data, follow_symlinks=False)
    except OSError as exc:
        raise CannotProtect(f"cannot set an ACL on {path} ({exc.strerror})") from None


def only_for(path: Path, uid: int, allow: int) -> None:
    """Make `path` readable (with allow=0o5, a folder listable; 0o1, only crossable; 0o4, a file
    readable) by user `uid` alone, besides its owner: its group and everyone else get nothing."""
    owner = 0o7 if path.is_dir() else 0o6
    entries = {(USER_OBJ, NO_ID): owner, (GROUP_OBJ, NO_ID): 0, (OTHER, NO_ID): 0}
    _write(path, {**entries, (USER, uid): allow, (MASK, NO_ID): allow})


def deny_workers(path: Path, allow: int = 0) -> None:
    """Add `group:WORKERS:---` to the ACL of `path` (a folder or a file); with allow=0o1,
    `group:WORKERS:--x` (a folder they may cross to their own copies but not list, e.g. /tmp)."""
    path = Path(path).resolve()
    if (str(path), allow) in _done or not path.exists():
        return
    entries = _entries(path)
    entries[(GROUP, WORKERS)] = allow
    if (MASK, NO_ID) not in entries:
        entries[(MASK, NO_ID)] = entries[(GROUP_OBJ, NO_ID)]
    _write(path, entries)
    _done.add((str(path), allow))
