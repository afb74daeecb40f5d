"""`grade bundle`: what runs the grader elsewhere.

`grade bundle gradescope OUT.zip`: an autograder bundle for Gradescope. The zip holds, at its
root, `setup.sh` and `run_autograder` (from grader/classroom/gradescope/) and the kit under
`kit/`: pyproject.toml, README.md, grader/, reference/ and the stubs in exercises/micrograd/ (a
notebook's cells are graded on top of them). Gradescope unzips it into /autograder/source;
setup.sh installs the kit, editable, into /autograder/venv.

`grade bundle github-classroom [REPOSITORY]`: GitHub Classroom's autograding workflow
(grader/classroom/github_classroom.py).
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import click

from grader.classroom.options import exercises_option
from grader.exercises import EXERCISES
from grader.submissions.submission import KIT

TEMPLATES = Path(__file__).with_name("gradescope")
# What the grader needs at run time, relative to the kit's source tree.
KIT_PARTS = ["pyproject.toml", "README.md", "grader", "reference/micrograd", "exercises/micrograd"]
# gradescope/: the templates, already at the zip's root
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".cache", "gradescope"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same kit makes the same zip


def kit_files(kit: Path) -> list[Path]:
    """The kit's files that go into a bundle, relative to `kit`, sorted."""
    missing = [p for p in [*KIT_PARTS, "tools/generate_course.py"] if not (kit / p).exists()]
    if missing:
        raise click.ClickException(
            f"the kit's source tree at {kit} lacks {', '.join(missing)}: a bundle is built from "
            "a checkout of the kit installed editable (`pip install -e .` in it)"
        )
    files = []
    for part in KIT_PARTS:
        top = kit / part
        for path in [top] if top.is_file() else top.rglob("*"):
            rel = path.relative_to(kit)
            if (
                path.is_file()
                and not path.is_symlink()
                and path.suffix not in SKIP_SUFFIXES
                and not any(p in SKIP_DIRS or p.endswith(".egg-info") for p in rel.parts)
            ):
                files.append(rel)
    return sorted(files)


def check_stubs(kit: Path) -> None:
    """Fail unless exercises/micrograd/ holds the stubs the generator makes from reference/.

    A notebook's cells are graded on top of these files: a stub solved in the instructor's
    checkout would hand every notebook the points for the modules it does not carry.
    """
    generator = kit / "tools" / "generate_course.py"
    spec = importlib.util.spec_from_file_location("_kit_generate", generator)
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate  # dataclasses look their module up while it loads
    try:
        spec.loader.exec_module(generate)
        sources, _ = generate.load_reference()
    finally:
        del sys.modules[spec.name]
    stale = [
        m
        for m, text in sources.items()
        if not (kit / "exercises" / "micrograd" / m).is_file()
        or (kit / "exercises" / "micrograd" / m).read_text() != text
    ]
    if stale:
        raise click.ClickException(
            "exercises/micrograd/ differs from the stubs made from reference/ "
            f"({', '.join(stale)}): run `python tools/generate_course.py` "
            "(or `git checkout exercises/`) "
            "and build again"
        )


def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.external_attr = (0o100000 | mode) << 16  # a regular file, with its permission bits
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_gradescope(
    out: Path,
    kit: Path | None = None,
    extra_checks: Path | None = None,
    visibility: str = "after_published",
    course_secret: Path | None = None,
    unsafe: bool = False,
) -> int:
    """Write the bundle of `kit` (this kit's source tree) to `out`; return its file count.

    An instructor's extra checks (the *.py of `extra_checks`) go in as kit/extra-checks/, and
    run_autograder grades them with the rest; Gradescope shows students their results as
    `visibility` says ("after_published": once the instructor publishes the grades). The
    course's secret file goes in as kit/course-secret, which run_autograder grades with.
    """
    kit = kit or KIT
    files = kit_files(kit)
    check_stubs(kit)
    from grader.runner import checks_for, load_extra_checks

    extra = load_extra_checks(extra_checks) if extra_checks else []
    max_score = sum(c.points for c in checks_for(list(EXERCISES), extra))
    run_autograder = (TEMPLATES / "run_autograder").read_text()
    run_autograder = run_autograder.replace("@MAX_SCORE@", f"{max_score:g}")
    run_autograder = run_autograder.replace("@EXTRA_VISIBILITY@", visibility)
    run_autograder = run_autograder.replace("@REQUIRE_SANDBOX@", "0" if unsafe else "1")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")  # never a half-written OUT
    try:
        with zipfile.ZipFile(partial, "w") as zf:
            _add(zf, "setup.sh", (TEMPLATES / "setup.sh").read_bytes(), 0o755)
            _add(zf, "run_autograder", run_autograder.encode(), 0o755)
            for rel in files:
                mode = 0o755 if (kit / rel).stat().st_mode & 0o100 else 0o644
                _add(zf, f"kit/{rel.as_posix()}", (kit / rel).read_bytes(), mode)
            for path in sorted(Path(extra_checks).glob("*.py")) if extra_checks else []:
                _add(zf, f"kit/extra-checks/{path.name}", path.read_bytes(), 0o644)
            if course_secret:
                _add(zf, "kit/course-secret", Path(course_secret).read_bytes(), 0o600)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return len(files) + 2


@click.group()
def bundle() -> None:
    """Build bundles that run the grader elsewhere."""


@bundle.command("gradescope")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--extra-checks",
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of the instructor's own checks (*.py using @check), graded too.",
)
@click.option(
    "--extra-checks-visibility",
    "visibility",
    type=click.Choice(["hidden", "after_due_date", "after_published", "visible"]),
    default="after_published",
    show_default=True,
    help="When Gradescope shows students the results of --extra-checks.",
)
@click.option(
    "--course-secret-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file whose first line is the course's secret; the bundle carries it and grades "
    "with it.",
)
@click.option(
    "--unsafe-no-sandbox",
    is_flag=True,
    help="Grade even where student code cannot be sandboxed (no bwrap, no root).",
)
def gradescope(
    out: Path,
    extra_checks: Path | None,
    visibility: str,
    course_secret_file: Path | None,
    unsafe_no_sandbox: bool,
) -> None:
    """Write a Gradescope autograder bundle to OUT (a .zip).

    Upload OUT as the assignment's autograder (Ubuntu base image); students submit a workspace
    folder (zipped), a notebook, or their micrograd/*.py files.
    """
    from grader.runner import ExtraChecksError

    try:
        count = build_gradescope(
            out,
            extra_checks=extra_checks,
            visibility=visibility,
            course_secret=course_secret_file,
            unsafe=unsafe_no_sandbox,
        )
    except ExtraChecksError as exc:
        raise click.UsageError(str(exc)) from None
    size = out.stat().st_size / 1024
    click.echo(f"wrote {out}: {count} files, {size:.0f} KB", err=True)


@bundle.command("github-classroom")
@click.argument(
    "repository",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
)
@click.option(
    "--workspace",
    default="exercises",
    show_default=True,
    help="The student's workspace in the repository (the folder holding micrograd/).",
)
@exercises_option
@click.option(
    "--kit-url",
    help="Install the grader from this git repository (the instructor's copy of the kit) "
    "instead of the student's own repository.",
)
@click.option("--kit-ref", help="The branch or tag of --kit-url to install.")
def github_classroom(
    repository: Path,
    workspace: str,
    exercises: tuple[int, ...],
    kit_url: str | None,
    kit_ref: str | None,
) -> None:
    """Write REPOSITORY/.github/workflows/classroom.yml: GitHub Classroom's autograding, one
    step per exercise for its points (default REPOSITORY: here, the kit that students get as
    their template repository)."""
    from grader.classroom.github_classroom import write_workflow

    if kit_ref and not kit_url:
        raise click.UsageError("--kit-ref needs --kit-url")
    try:
        path = write_workflow(
            repository,
            workspace=workspace,
            exercises=sorted(set(exercises)) or None,
            kit_url=kit_url,
            kit_ref=kit_ref,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path}", err=True)
