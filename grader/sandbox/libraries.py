"""The shared libraries a program needs, read from the binaries themselves (no `ldd`).

bwrap binds the interpreter, numpy and exactly the libraries they load, not all of /usr/lib:
whatever else a system bundles there (a cloud SDK's Python packages, other programs' code)
stays outside the sandbox. The dynamic loader finds a library by the name in a DT_NEEDED entry
of the ELF file that needs it, in this order: the file's DT_RPATH (if it has no DT_RUNPATH),
DT_RUNPATH ($ORIGIN is the file's own folder), /etc/ld.so.cache, the default folders. We do
the same, keeping every candidate whose ELF class and machine match (the cache may list a
library once per glibc-hwcaps level; binding a few extra copies of one library costs nothing),
and follow their DT_NEEDED in turn. A pure-Python reader: ~100 files in tens of milliseconds,
once per grading process, where `ldd` takes most of a second.
"""

from __future__ import annotations

import functools
import mmap
import os
import struct
from collections.abc import Iterable

PT_DYNAMIC, PT_INTERP, PT_LOAD = 2, 3, 1
DT_NEEDED, DT_STRTAB, DT_RPATH, DT_RUNPATH = 1, 5, 15, 29
CACHE = "/etc/ld.so.cache"
CACHE_MAGIC = b"glibc-ld.so.cache1.1"
DEFAULT_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib")
# glibc dlopens libgcc_s for thread cancellation and unwinding: no DT_NEEDED names it
ALSO_LOADED = ("libgcc_s.so.1",)


class Elf:
    """What the loader reads of one ELF file: its kind, interpreter, needs and search path."""

    def __init__(self, path: str):
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data[:4] != b"\x7fELF":
                raise ValueError(f"{path} is not an ELF file")
            self._read(data, path)

    def _read(self, data: mmap.mmap, path: str) -> None:
        bits64, end = data[4] == 2, "<" if data[5] == 1 else ">"
        self.kind = (data[4], data[5], struct.unpack_from(end + "H", data, 18)[0])  # machine
        # the program headers: where the segments are; (type, offset, vaddr, filesz)
        if bits64:
            phoff = struct.unpack_from(end + "Q", data, 32)[0]
            size, count = struct.unpack_from(end + "HH", data, 54)
            headers = [
                struct.unpack_from(end + "I4xQQ8xQ", data, phoff + i * size) for i in range(count)
            ]
            entry = end + "qQ"
        else:
            phoff = struct.unpack_from(end + "I", data, 28)[0]
            size, count = struct.unpack_from(end + "HH", data, 42)
            headers = [
                struct.unpack_from(end + "IIIII", data, phoff + i * size) for i in range(count)
            ]
            headers = [(t, o, v, n) for t, o, v, _, n in headers]  # no p_paddr
            entry = end + "iI"
        self.interp = ""
        tags: list[tuple[int, int]] = []
        for kind, offset, _, filesz in headers:
            if kind == PT_INTERP:
                self.interp = data[offset : offset + filesz].split(b"\0")[0].decode()
            elif kind == PT_DYNAMIC:
                step = struct.calcsize(entry)
                for at in range(offset, offset + filesz - step + 1, step):
                    tag, value = struct.unpack_from(entry, data, at)
                    if tag == 0:
                        break
                    tags.append((tag, value))
        # DT_STRTAB is an address: the PT_LOAD segment holding it says where it is in the file
        strtab = next((v for t, v in tags if t == DT_STRTAB), -1)
        base = next(
            (o + strtab - v for t, o, v, n in headers if t == PT_LOAD and v <= strtab < v + n),
            None,
        )

        def strings(tag: int) -> list[str]:
            if base is None:
                return []
            found = []
            for t, v in tags:
                if t == tag:
                    at = base + v
                    found.append(data[at : data.find(b"\0", at)].decode("utf-8", "replace"))
            return found

        self.needed = strings(DT_NEEDED)
        # DT_RUNPATH, else the older DT_RPATH; $ORIGIN is the file's own folder
        paths = strings(DT_RUNPATH) or strings(DT_RPATH)
        origin = os.path.dirname(os.path.realpath(path)) if "ORIGIN" in "".join(paths) else ""
        self.search = [
            d.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
            for p in paths
            for d in p.split(":")
            if d
        ]


@functools.cache
def cache() -> dict[str, tuple[str, ...]]:
    """{library name: its paths} from ld.so's cache (glibc's format 1.1), or {} without one."""
    try:
        with open(CACHE, "rb") as f:
            data = f.read()
    except OSError:
        return {}
    base = data.find(CACHE_MAGIC)
    if base < 0:
        return {}
    count = struct.unpack_from("<I", data, base + 20)[0]
    found: dict[str, list[str]] = {}

    def string(offset: int) -> str:
        at = base + offset
        return data[at : data.index(b"\0", at)].decode("utf-8", "replace")

    for i in range(count):
        _, key, value = struct.unpack_from("<iII", data, base + 48 + 24 * i)
        found.setdefault(string(key), []).append(string(value))
    return {name: tuple(paths) for name, paths in found.items()}


def _read(path: str) -> Elf | None:
    try:
        return Elf(path)
    except (OSError, ValueError, struct.error, IndexError):
        return None


def _identity(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, hash(path))
    return (st.st_dev, st.st_ino)


def _candidates(name: str, needer: Elf) -> list[str]:
    """Where the loader may find `name` for `needer`: its own search path, the cache, the
    default folders (existing files only)."""
    if "/" in name:
        return [name]
    paths = [os.path.join(d, name) for d in needer.search]
    paths += cache().get(name, ())
    paths += [os.path.join(d, name) for d in DEFAULT_DIRS]
    return [p for p in dict.fromkeys(paths) if os.path.isfile(p)]


def needed_by(binaries: Iterable[str]) -> list[str]:
    """Every shared library (and the program interpreter, ld.so) that `binaries` load, as the
    paths the loader looks them up by. Files that are not ELF are skipped."""
    found: dict[str, None] = {}
    read: dict[tuple[int, int], Elf | None] = {}  # by (device, inode): each file read once
    todo: list[tuple[Elf, list[str]]] = []
    for path in binaries:
        elf = read.setdefault(_identity(path), _read(path))
        if elf is not None:
            todo.append((elf, elf.needed))
            found.update(dict.fromkeys([elf.interp] if elf.interp else []))
    if todo:
        todo.append((todo[0][0], list(ALSO_LOADED)))  # as if the first one named them
    while todo:
        needer, names = todo.pop()
        for name in names:
            for path in _candidates(name, needer):
                key = _identity(path)
                new = key not in read
                lib = read.setdefault(key, _read(path) if new else None)
                if lib is None or lib.kind != needer.kind:
                    continue
                found[path] = None
                if new:
                    todo.append((lib, lib.needed))
    return list(found)
