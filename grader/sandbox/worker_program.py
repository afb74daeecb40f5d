"""The worker's program: the few lines that start it (BOOT, under `python -I -S -c`) and its
code, sent through a pipe (grader/sandbox/worker/, standard library only)."""

from __future__ import annotations

import functools
import importlib.util
import marshal
from pathlib import Path

WORKER = Path(__file__).parent / "worker"  # the worker's source, sent through a pipe
WORKER_MODULES = (
    "ops",
    "graph",
    "student",
    "training",
    "tensor_requests",
    "tensor_training",
    "main",
)  # each after what it imports

# The worker's program. Its own code arrives through the pipe whose descriptor is its first
# argument: read whole, closed, made into modules under the name `worker` only while they
# import one another, then taken out of sys.modules, all before any student code runs. So no
# file of it is in the sandbox, `import worker` finds nothing, and the pipe is empty and shut.
# The code comes compiled (marshal), which spares each worker 20 ms of compiling; a Python of
# another bytecode (the worker's is of our version, so only in theory) compiles the source.
BOOT = """
def boot(fd):
    import marshal, os, types
    with os.fdopen(fd, "rb") as pipe:
        magic, modules = marshal.loads(pipe.read())
    compiled = magic == sys.modules["_frozen_importlib_external"].MAGIC_NUMBER
    package = sys.modules["worker"] = types.ModuleType("worker")
    package.__path__ = []
    try:
        for name, source, code in modules:
            module = sys.modules["worker." + name] = types.ModuleType("worker." + name)
            module.__package__ = "worker"
            if not compiled:
                code = compile(source, "<worker " + name + ">", "exec", optimize=2)
            exec(code, module.__dict__)
        return sys.modules["worker.main"].main
    finally:
        for name in [n for n in sys.modules if n == "worker" or n.startswith("worker.")]:
            del sys.modules[name]
boot(int(sys.argv.pop(1)))()
"""


def launcher(path: list[str]) -> str:
    """The worker's `python -c` program: `path` (numpy's folder) on sys.path, then BOOT."""
    return f"import sys; sys.path[:0] = {path!r}\n{BOOT}"


@functools.cache
def worker_source() -> bytes:
    """What BOOT reads: (bytecode magic, [(module, source, code), ...] in WORKER_MODULES'
    order), marshalled."""
    modules = []
    for name in WORKER_MODULES:
        source = (WORKER / f"{name}.py").read_text()
        code = compile(source, f"<worker {name}>", "exec", dont_inherit=True, optimize=2)
        modules.append((name, source, code))
    return marshal.dumps((importlib.util.MAGIC_NUMBER, modules))
