"""What student code can see: the whole bubblewrap policy, in one place.

The worker's file system is empty but for what is listed here, read-only unless said:

  the Python interpreter and its standard library  at their own paths, its site-packages and
                                                     dist-packages hidden under an empty
                                                     read-only tmpfs
  the shared libraries they and numpy load          each file at its own path (libraries.py
                                                     reads them from the binaries' ELF headers):
                                                     no other file of /usr/lib or /lib*
  /sandbox/numpy/numpy, numpy.libs                  numpy alone, on the worker's sys.path
  /sandbox/submission                               the copy of the submission's micrograd/
  /proc                                             a fresh one: the worker's own processes only
  /dev                                              null, zero, random, urandom, tty
  /tmp (the cwd and HOME), /dev/shm                 private tmpfs, size-capped, writable

Not there: the kit, the grader, site-packages (torch), other submissions, results, /home,
/root, /etc (but ld.so's cache), other programs' files under /usr/lib, the network. All
namespaces are the worker's own (user, mount, pid, ipc, net, uts, cgroup), with no
capabilities, a cleared environment and a new session; it dies with the grader. The seccomp
filter (seccomp.py) forbids new processes, sockets and IPC objects. bwrap reads these
arguments from a descriptor (`--args`), so no host path is on any command line in the sandbox
(/proc/1/cmdline is bwrap's).

The worker's own code is not there either: it comes through a pipe that its launcher reads and
closes before any student code runs (worker_process.py), so no file of it can be read, nor its
modules imported.

As root, bwrap runs as the worker's own unprivileged user (setpriv), so every source must be
reachable by that user: the submission is copied into a fresh folder that only that user may
read, the interpreter is the system's where ours sits under /root,
and numpy is copied once.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from grader.sandbox import libraries as elf
from grader.submissions.scratch import private_folder

TMP_BYTES = 32 * 1024**2  # /tmp: the cwd, HOME and any file the worker writes
SHM_BYTES = 8 * 1024**2  # /dev/shm (POSIX shared memory, multiprocessing's semaphores)
NUMPY_DIR = "/sandbox/numpy"
SUBMISSION_DIR = "/sandbox/submission"
SYS_PATH = [NUMPY_DIR]  # numpy (the student's code comes first)
ENV = {
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    # numpy's BLAS would start a thread per core; one is plenty and keeps CPU time honest
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
KIT = Path(__file__).resolve().parents[2]  # the kit's source tree, denied to workers
SYSTEM_LIBS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32")


READ, EXECUTE = 0o004, 0o001  # the "other" permission bits a worker's user has


def reachable(path: str, need: int = READ) -> bool:
    """Can any user (the worker's own) reach `path` and use it as `need` says (READ a library,
    EXECUTE an interpreter, or both)? Each folder on the way needs o+x, on the way to the path
    as given (a venv's link) and on the way to what it links to (as root, bwrap runs as the
    worker's own user, who must find each source by its path)."""
    for target in {Path(os.path.abspath(path)), Path(os.path.realpath(path))}:
        for part in [*reversed(target.parents), target]:
            bits = need if part == target else EXECUTE
            if part.stat().st_mode & bits != bits:
                return False
    return True


@functools.cache
def interpreter(as_other_user: bool) -> tuple[str, str, str]:
    """(binary, standard library, LIBDIR) of a Python of our version that the worker can run:
    the base interpreter of our venv, or the system's where a normal user cannot reach that
    (a pyenv under /root) or it sits inside the kit. Real paths; its site-packages are hidden
    anyway. Every mode runs this one (outside bwrap too, with -I -S)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [os.path.realpath(getattr(sys, "_base_executable", sys.executable))]
    candidates += [f"{d}/{version}" for d in ("/usr/bin", "/usr/local/bin")]
    for python in candidates:
        if os.path.isfile(python) and (not as_other_user or runnable_by_workers(python)):
            python = os.path.realpath(python)
            if python == candidates[0]:  # our own base interpreter: no need to ask it
                stdlib = sysconfig.get_paths()["stdlib"]
                libdir = sysconfig.get_config_var("LIBDIR") or os.path.dirname(stdlib)
                return python, os.path.realpath(stdlib), os.path.realpath(libdir)
            return (python, *_paths_of(python))
    return "", "", ""


def runnable_by_workers(python: str) -> bool:
    """Can the worker's own user run `python`? It must reach, read and execute it, and it must
    not sit inside the kit, which the "permissions" mode denies to workers (acl.py)."""
    inside_kit = KIT in Path(os.path.realpath(python)).parents or KIT in Path(python).parents
    return not inside_kit and reachable(python, READ | EXECUTE)


def _paths_of(python: str) -> tuple[str, str]:
    code = (
        "import sysconfig as s; print(s.get_paths()['stdlib']); print(s.get_config_var('LIBDIR'))"
    )
    out = subprocess.run([python, "-I", "-S", "-c", code], capture_output=True, text=True)
    stdlib, libdir = (out.stdout.splitlines() + ["", ""])[:2]
    return os.path.realpath(stdlib), os.path.realpath(libdir or os.path.dirname(stdlib))


@functools.cache
def numpy_dirs(as_other_user: bool, alone: bool = False) -> tuple[str, ...]:
    """numpy's package folder and, beside it, its bundled libraries (wheels' numpy.libs).

    Where the worker's user cannot reach them (a venv under /root), or where they must be
    `alone` in their folder (outside bwrap, that folder goes on the worker's sys.path), a copy
    made once per grading process, in a fresh folder that anyone may read, removed at exit.
    """
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return ()
    pkg = os.path.realpath(next(iter(spec.submodule_search_locations)))
    libs = os.path.join(os.path.dirname(pkg), "numpy.libs")
    dirs = [pkg, *([libs] if os.path.isdir(libs) else [])]
    if not alone and (not as_other_user or all(reachable(d) for d in dirs)):
        return tuple(dirs)
    staging = str(private_folder("micrograd-numpy-"))
    os.chmod(staging, 0o755)
    for d in dirs:  # hard links where one file system holds both: no copying
        shutil.copytree(
            d,
            os.path.join(staging, os.path.basename(d)),
            symlinks=True,
            ignore=shutil.ignore_patterns("tests", "__pycache__"),
            copy_function=_link_or_copy,
        )
    return tuple(os.path.join(staging, os.path.basename(d)) for d in dirs)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@functools.cache
def _nested_packages(lib: str) -> tuple[str, ...]:
    """Every site-packages or dist-packages folder anywhere below `lib`: other programs bundle
    Pythons of their own with packages in them (seen: /usr/lib/google-cloud-sdk's). A walk of
    /usr/lib takes about 0.2 s, once per grading process."""
    found = []
    for folder, dirs, _ in os.walk(lib):
        for d in dirs:
            if d in ("site-packages", "dist-packages"):
                found.append(os.path.join(folder, d))
        dirs[:] = [d for d in dirs if d not in ("site-packages", "dist-packages")]
    return tuple(found)


def _hidden_in(lib: str, stdlib: str) -> list[str]:
    """The folders of `lib` that must not exist in the sandbox: other Pythons' python* folders
    (Debian's python3/dist-packages), our standard library's site- and dist-packages, and any
    other site- or dist-packages below it."""
    hidden = []
    for entry in sorted(Path(lib).glob("python*")):
        if not entry.is_dir() or entry.is_symlink():
            continue
        if str(entry) == stdlib:
            hidden += [str(entry / d) for d in ("site-packages", "dist-packages")]
        else:
            hidden.append(str(entry))
    outer = tuple(h + "/" for h in hidden)  # already gone with a folder above them
    hidden += [d for d in _nested_packages(lib) if d not in hidden and not d.startswith(outer)]
    return [h for h in hidden if os.path.isdir(h)]


LOCALES = ("/usr/lib/locale/C.utf8", "/usr/lib/locale/C.UTF-8")  # LANG=C.UTF-8 (old glibc)


def _inside(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


@functools.cache
def libraries(as_other_user: bool) -> tuple[tuple[str, str], ...]:
    """(source, destination) of each shared library that the interpreter, its standard
    library's extension modules and numpy's load (libraries.py reads them from the binaries):
    the file itself, bound where the loader looks it up (the folder's links resolved, as the
    sandbox has only the links of SYSTEM_LIBS). Those inside numpy's folders or the standard
    library come with them."""
    python, stdlib, _ = interpreter(as_other_user)
    numpy = [os.path.realpath(d) for d in numpy_dirs(as_other_user)]
    binaries = [python, *map(str, Path(stdlib, "lib-dynload").glob("*.so"))]
    binaries += [str(p) for d in numpy[:1] for p in Path(d).rglob("*.so")]
    binds = []
    for lib in elf.needed_by(binaries):
        real = os.path.realpath(lib)
        if not _inside(real, [*numpy, stdlib]):
            where = os.path.join(os.path.realpath(os.path.dirname(lib)), os.path.basename(lib))
            binds.append((real, where))
    return tuple(dict.fromkeys(binds))


@functools.cache
def read_only_sources(as_other_user: bool) -> tuple[tuple[str, str], ...]:
    """(source, destination) of everything bound read-only but the submission:
    the interpreter, its standard library, numpy, and the libraries they load, nothing else
    of the system's folders."""
    python, stdlib, _ = interpreter(as_other_user)
    binds = [(python, python), (stdlib, stdlib)]
    binds += [(d, f"{NUMPY_DIR}/{os.path.basename(d)}") for d in numpy_dirs(as_other_user)]
    binds += [b for b in libraries(as_other_user) if not _inside(b[1], [python, stdlib])]
    binds += [(f, f) for f in ("/etc/ld.so.cache", *LOCALES) if os.path.exists(f)]
    return tuple(binds)


def bwrap_args(
    submission: Path, python_args: list[str], as_other_user: bool
) -> tuple[list[str], list[str]]:
    """bwrap's options (host paths: read from a descriptor), and the command it runs in the
    sandbox (`-- python python_args`: no host path but the interpreter's own, the same inside)."""
    python, stdlib, _ = interpreter(as_other_user)
    args = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"]
    args += ["--new-session", "--cap-drop", "ALL", "--clearenv"]
    for lib in SYSTEM_LIBS:  # merged /usr: /lib is a link to usr/lib
        if os.path.islink(lib):
            args += ["--symlink", os.readlink(lib), lib]
    for src, dst in read_only_sources(as_other_user):
        args += ["--ro-bind", src, dst]
    for hidden in _hidden_in(stdlib, stdlib):  # its site-packages (Debian's dist-packages)
        args += ["--size", "4096", "--tmpfs", hidden, "--remount-ro", hidden]
    args += ["--ro-bind", str(submission), SUBMISSION_DIR]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    args += ["--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]
    args += ["--chdir", "/tmp"]
    for key, value in ENV.items():
        args += ["--setenv", key, value]
    return args, ["--", python, *python_args]
