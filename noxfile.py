"""Sessions for the micrograd course kit: `nox -l` lists them."""

import os
import shutil
import subprocess

import nox

nox.needs_version = ">=2024.3.2"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


# command -> the Debian package that has it: graphviz's `dot` draws the pictures; bubblewrap's
# `bwrap` sandboxes student code (tests/test_sandbox.py); chromium opens report.html and
# feedback.html in the page tests (tests/browser.py); LibreOffice opens the kit's CSVs as an
# instructor's office suite would (tests/test_class_files.py). System packages, not Python ones.
SYSTEM_PACKAGES = {
    "dot": "graphviz",
    "bwrap": "bubblewrap",
    "chromium": "chromium",
    "soffice": "libreoffice-calc-nogui",
}


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
    """Run the kit's full test suite on every core (pytest; extra arguments pass through)."""
    system_packages(session)
    session.install("-e", ".[test]")
    session.run("python", "tools/generate_course.py", "--check")
    # -n auto: one pytest worker per core; loadgroup keeps the modules that share a graded
    # class on one worker (tests/conftest.py). As root, the hostile tests also run in the
    # permissions mode and as an ordinary user (tests/test_permissions_mode.py,
    # tests/test_normal_user.py), each a pytest of its own started first, beside the rest.
    args = session.posargs or ["-n", "auto", "--dist", "loadgroup", "--durations", "25"]
    session.run("pytest", *args, env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})


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
    session.install("nbformat>=5.9", "numpy")  # numpy: part two's pictures run the Tensor engine
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
    # grade batch's exit status is nox's: 1 says some submissions could not be graded (the
    # gradebook says which), which a script or CI that runs this session must be able to see.
    # session.run would turn every failure into nox's own 1, so the status is passed on whole.
    grade = os.path.join(session.bin, "grade")
    session.log(f"grade batch {' '.join(session.posargs)}")
    code = subprocess.call([grade, "batch", *session.posargs])
    if code:
        session.log(f"grade batch exited with status {code}")
        raise SystemExit(code)


@nox.session(python=PYTHON, default=False)
def synthetic(session: nox.Session) -> None:
    """Write a synthetic class: nox -s synthetic -- DIR [--size N] [--seed S]."""
    session.install("nbformat>=5.9")
    session.run("python", "tools/synthetic_class.py", *session.posargs)


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
