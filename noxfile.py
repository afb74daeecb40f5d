"""Sessions for the micrograd course kit: `nox -l` lists them."""

import os
import shutil

import nox

nox.needs_version = ">=2024.3.2"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


# command -> the Debian package that has it: graphviz's `dot` draws the pictures; bubblewrap's
# `bwrap` sandboxes student code (tests/test_sandbox.py); chromium opens report.html and
# feedback.html in the page tests (tests/browser.py). System packages, not Python ones.
SYSTEM_PACKAGES = {"dot": "graphviz", "bwrap": "bubblewrap", "chromium": "chromium"}


def system_packages(session: nox.Session, *commands: str) -> None:
    """Install the packages of `commands` (default: all of SYSTEM_PACKAGES) that are missing,
    with apt-get where that is possible (as root); elsewhere the picture and browser tests
    skip, and the sandbox falls back (README: Security model)."""
    wanted = {cmd: SYSTEM_PACKAGES[cmd] for cmd in commands or SYSTEM_PACKAGES}
    missing = [pkg for cmd, pkg in wanted.items() if not shutil.which(cmd)]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        anything = list(range(256))  # a failure is reported below, by what is still missing
        session.run("apt-get", "update", "-qq", external=True, success_codes=anything, env=env)
        session.run(
            "apt-get",
            "install",
            "-y",
            "-qq",
            *missing,
            external=True,
            success_codes=anything,
            env=env,
        )
    for cmd, pkg in wanted.items():
        if not shutil.which(cmd):
            session.warn(f"{cmd} is missing (apt-get install {pkg})")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the kit's full test suite (pytest; extra arguments pass through)."""
    system_packages(session)
    session.install("-e", ".[test]")
    session.run("python", "tools/generate_course.py", "--check")
    session.run("pytest", *session.posargs)
    if os.geteuid() == 0 and not session.posargs:
        # the sandbox where namespaces are forbidden (Docker's default), forced: ACLs, a
        # worker user of its own, seccomp; the same hostile submissions must get nothing,
        # with `unshare` (PID, network and IPC namespaces) and without it
        hostile = ["tests/test_sandbox.py", "tests/test_hostile.py", "tests/test_promises.py"]
        forced = {"MICROGRAD_SANDBOX": "permissions"}
        session.run("pytest", "-q", *hostile, env=forced)
        without = path_without(session, "unshare")
        session.run("pytest", "-q", *hostile, env={**forced, "PATH": without})


def path_without(session: nox.Session, command: str) -> str:
    """A PATH with every command of this one but `command` (the sandbox finds it with
    shutil.which): a folder of links, the session's own bin first."""
    folder = os.path.join(session.create_tmp(), f"path-without-{command}")
    os.makedirs(folder, exist_ok=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory) or directory == session.bin:
            continue
        for name in os.listdir(directory):
            link = os.path.join(folder, name)
            if name != command and not os.path.lexists(link):
                os.symlink(os.path.join(directory, name), link)
    return os.pathsep.join([session.bin, folder])


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check formatting and lint with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, default=False)
def build(session: nox.Session) -> None:
    """Regenerate exercises/, the notebooks and solutions/ from reference/."""
    system_packages(session, "dot")  # the pages' pictures
    session.install("nbformat>=5.9")
    session.run("python", "tools/generate_course.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def grade(session: nox.Session) -> None:
    """Grade a folder of submissions: nox -s grade -- SUBMISSIONS [grade batch options]."""
    if not session.posargs:
        session.error(
            "usage: nox -s grade -- SUBMISSIONS [--out grades] [--jobs N] [-e N] "
            "[--extra-checks DIR] (all options: grade batch --help)"
        )
    system_packages(session, "bwrap", "dot")  # the sandbox, the failing graphs
    session.install("-e", ".")
    # Exit 1 means "graded, but some submissions could not be": the gradebook says which.
    session.run("grade", "batch", *session.posargs, success_codes=[0, 1])


@nox.session(python=PYTHON, default=False)
def demo(session: nox.Session) -> None:
    """Grade a synthetic class of 40 end to end and check it against grading each alone."""
    system_packages(session, "bwrap", "dot")
    session.install("-e", ".")
    session.run("python", "tools/demo_class.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks (reference vs micrograd 0.1.0 on the moons recipe)."""
    session.install("-e", ".")
    session.run("python", "benchmarks/train_moons.py", *session.posargs)
