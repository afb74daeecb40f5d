"""Sessions for the micrograd course kit: `nox -l` lists them."""

import os
import shutil

import nox

nox.needs_version = ">=2024.3.2"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


def system_graphviz(session: nox.Session) -> None:
    """Graphviz's `dot` draws the pictures; it is a system package, not a Python one, so it is
    installed with apt-get where that is possible (as root), and its tests skip elsewhere."""
    if shutil.which("dot"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        anything = list(range(256))  # a failure here only means the pictures stay .dot files
        session.run("apt-get", "update", "-qq", external=True, success_codes=anything, env=env)
        session.run(
            "apt-get",
            "install",
            "-y",
            "-qq",
            "graphviz",
            external=True,
            success_codes=anything,
            env=env,
        )
    if not shutil.which("dot"):
        session.warn("graphviz's dot is missing (apt-get install graphviz): SVG tests will skip")


def system_chromium(session: nox.Session) -> None:
    """Debian's chromium opens report.html and feedback.html in the page tests (driven over
    its DevTools pipe, tests/browser.py); installed like graphviz, and those tests skip
    (saying why) where it cannot be."""
    if shutil.which("chromium"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        anything = list(range(256))  # a failure here only means the browser tests skip
        session.run("apt-get", "update", "-qq", external=True, success_codes=anything, env=env)
        session.run(
            "apt-get",
            "install",
            "-y",
            "-qq",
            "chromium",
            external=True,
            success_codes=anything,
            env=env,
        )
    if not shutil.which("chromium"):
        session.warn("chromium is missing (apt-get install chromium): browser tests will skip")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the kit's full test suite (pytest; extra arguments pass through)."""
    system_graphviz(session)
    system_chromium(session)
    session.install("-e", ".[test]")
    session.run("python", "tools/generate.py", "--check")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check formatting and lint with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, default=False)
def build(session: nox.Session) -> None:
    """Regenerate exercises/, the notebooks and solutions/ from reference/."""
    system_graphviz(session)  # draws the pages' pictures
    session.install("nbformat>=5.9")
    session.run("python", "tools/generate.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def grade(session: nox.Session) -> None:
    """Grade a folder of submissions: nox -s grade -- SUBMISSIONS [grade batch options]."""
    if not session.posargs:
        session.error(
            "usage: nox -s grade -- SUBMISSIONS [--out grades] [--jobs N] [-e N] "
            "[--extra-checks DIR] (all options: grade batch --help)"
        )
    session.install("-e", ".")
    # Exit 1 means "graded, but some submissions could not be": the gradebook says which.
    session.run("grade", "batch", *session.posargs, success_codes=[0, 1])


@nox.session(python=PYTHON, default=False)
def demo(session: nox.Session) -> None:
    """Grade a synthetic class of 40 end to end and check it against grading each alone."""
    session.install("-e", ".")
    session.run("python", "tools/demo.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks (reference vs micrograd 0.1.0 on the moons recipe)."""
    session.install("-e", ".")
    session.run("python", "benchmarks/train_moons.py", *session.posargs)
