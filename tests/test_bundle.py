"""The Gradescope bundle, end to end: built with `grade bundle gradescope`, unzipped into a
folder standing in for /autograder, installed by its own setup.sh (a real venv and pip install;
no apt, no network), then run_autograder on real submissions, each results.json checked
against Gradescope's schema.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import jsonschema  # a dependency of nbformat
import nbformat
import pytest

from grader.classroom import bundle as bundle_module
from grader.exercises import EXERCISES
from grader.runner import checks_for
from grader.sandbox import policy
from tests.grader_helpers import EXERCISES as STUBS
from tests.grader_helpers import REFERENCE, ROOT, invoke

pytestmark = pytest.mark.grader

MAX_SCORE = sum(c.points for c in checks_for(list(EXERCISES)))
FORMATS = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
NUMBER = {"type": "number", "minimum": 0}
TEST_SCHEMA = {
    "type": "object",
    "required": ["name", "score", "max_score", "status", "output"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "score": NUMBER,
        "max_score": NUMBER,
        "status": {"enum": ["passed", "failed"]},
        "output": {"type": "string"},
        "number": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "name_format": FORMATS,
        "output_format": FORMATS,
        "visibility": VISIBILITY,
        "extra_data": {"type": "object"},
    },
}
RESULTS_SCHEMA = {  # Gradescope's results.json, with the kit's top-level max_score required
    "type": "object",
    "required": ["score", "max_score", "execution_time", "output", "tests"],
    "properties": {
        "score": NUMBER,
        "max_score": NUMBER,
        "execution_time": NUMBER,
        "output": {"type": "string"},
        "output_format": FORMATS,
        "test_output_format": FORMATS,
        "test_name_format": FORMATS,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": TEST_SCHEMA},
        "leaderboard": {"type": "array"},
    },
}
AUTOGRADER_ENV = {"MICROGRAD_KIT_TORCH_INDEX": "", "MICROGRAD_KIT_SKIP_APT": "1"}


def extract(bundle: Path, dest: Path) -> None:
    """Unzip like `unzip` does: with each file's permission bits (zipfile drops them)."""
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, dest))
            if info.external_attr >> 16:
                path.chmod(stat.S_IMODE(info.external_attr >> 16))


def run_autograder(root: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ROOT/run_autograder as Gradescope does; return it and the valid results.json."""
    shutil.rmtree(root / "results", ignore_errors=True)
    proc = subprocess.run(
        [root / "run_autograder"],
        cwd=root,
        env={**os.environ, "AUTOGRADER_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    assert all(t["score"] <= t["max_score"] for t in results["tests"])
    assert results["max_score"] == MAX_SCORE
    return proc, results


def submit(root: Path, files: dict[str, str | Path]) -> None:
    """Make ROOT/submission hold exactly `files` ({relative path: text, or a folder to copy})."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "submission").mkdir()
    for rel, content in files.items():
        target = root / "submission" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copytree(content, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.write_text(content)


def reference_notebook() -> str:
    """A notebook carrying the whole reference, a marked %%writefile cell per module."""
    from tools.synthetic_class import notebook

    files = {f"micrograd/{p.name}": p.read_text() for p in sorted(REFERENCE.glob("*.py"))}
    return nbformat.writes(notebook(files))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    result = invoke(["bundle", "gradescope", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def autograder(bundle: Path) -> Iterator[Path]:
    """A folder laid out like /autograder once setup.sh has run.

    Made in /tmp, not under pytest's tmp_path (0700), so the tests can open it to user nobody.
    """
    root = Path(tempfile.mkdtemp(prefix="autograder-"))
    try:
        extract(bundle, root / "source")
        proc = subprocess.run(
            [root / "source" / "setup.sh"],
            env={**os.environ, "AUTOGRADER_ROOT": str(root), **AUTOGRADER_ENV},
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
        # Gradescope copies run_autograder to /autograder and runs it from there
        shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- the zip -----------------------------------------------------------------------------------


def test_bundle_layout(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        run = zf.read("run_autograder").decode()
    for script in ["setup.sh", "run_autograder"]:
        assert stat.S_IMODE(infos[script].external_attr >> 16) == 0o755
    for rel in ["pyproject.toml", "README.md", "grader/cli.py", "grader/sandbox/worker/main.py"]:
        assert f"kit/{rel}" in infos
    for module in ["engine.py", "nn.py", "losses.py", "optim.py", "train.py", "data.py"]:
        assert f"kit/reference/micrograd/{module}" in infos
        assert f"kit/exercises/micrograd/{module}" in infos
    assert all(n.startswith("kit/") for n in infos if n not in {"setup.sh", "run_autograder"})
    for unwanted in ["tests/", ".git/", "__pycache__", ".pyc", ".cache/", "notebooks/", "egg-info"]:
        assert not [n for n in infos if unwanted in n], unwanted
    assert f"MAX_SCORE={MAX_SCORE:g}" in run and "@MAX_SCORE@" not in run


def copy_kit(dest: Path, skip: str = "") -> Path:
    for part in [*bundle_module.KIT_PARTS, "tools/generate_course.py"]:
        if part == skip:
            continue
        src, target = ROOT / part, dest / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(src, target)
    return dest


def test_refuses_a_kit_without_its_source_tree(tmp_path, monkeypatch) -> None:
    # what an installed (not editable) kit looks like: grader/ but no reference/ beside it
    monkeypatch.setattr(bundle_module, "KIT", copy_kit(tmp_path / "kit", "reference/micrograd"))
    result = invoke(["bundle", "gradescope", str(tmp_path / "out.zip")])
    assert result.exit_code == 1
    assert "lacks reference/micrograd" in result.output
    assert "pip install -e" in result.output
    assert not (tmp_path / "out.zip").exists()


def test_refuses_solved_stubs(tmp_path) -> None:
    kit = copy_kit(tmp_path / "kit")
    shutil.copyfile(REFERENCE / "nn.py", kit / "exercises" / "micrograd" / "nn.py")
    with pytest.raises(bundle_module.click.ClickException, match=r"differs .* \(nn\.py\)"):
        bundle_module.build_gradescope(tmp_path / "out.zip", kit)


# -- installed, grading ----------------------------------------------------------------------


def kit_notebooks() -> dict[str, str]:
    """The kit's seven notebooks, each marked cell holding the reference's definition: what a
    student who worked in the notebooks uploads (no micrograd/ folder)."""
    from tools.synthetic_class import WRITERS, package

    with tempfile.TemporaryDirectory() as tmp:
        WRITERS["notebooks"](package())(Path(tmp) / "nb")
        return {p.name: p.read_text() for p in sorted((Path(tmp) / "nb").glob("*.ipynb"))}


SUBMISSIONS = {
    "folder": lambda: {"micrograd": REFERENCE},
    "notebooks only": kit_notebooks,
    "repository": lambda: {"README.md": "my work\n", "hw/micrograd": REFERENCE},
    "notebook": lambda: {"exercise-5.ipynb": reference_notebook()},
    "loose files": lambda: {p.name: p.read_text() for p in REFERENCE.glob("*.py")},
}


# 0o755: the worker runs the venv's Python; 0o700: nobody cannot enter, /usr/bin/python3.11
@pytest.mark.parametrize(
    "kind, root_mode",
    [
        pytest.param("folder", 0o755, id="folder-venv-python"),
        pytest.param("folder", 0o700, id="folder-system-python"),
        pytest.param("repository", 0o700, id="repository"),
        pytest.param("notebook", 0o700, id="notebook"),
        pytest.param("notebooks only", 0o700, id="notebooks-only"),
        pytest.param("loose files", 0o755, id="loose-files"),
    ],
)
def test_reference_gets_full_marks(autograder: Path, kind: str, root_mode: int) -> None:
    autograder.chmod(root_mode)
    submit(autograder, SUBMISSIONS[kind]())
    proc, results = run_autograder(autograder)
    assert results["score"] == MAX_SCORE, proc.stdout
    assert len(results["tests"]) == len(checks_for(list(EXERCISES)))
    assert all(t["status"] == "passed" for t in results["tests"])


def test_worker_interpreter(autograder: Path) -> None:
    """The worker runs as a user of its own: a Python of our version that this user can reach
    and run, never one behind a folder it cannot enter.

    The venv holds copies, not links: a link would be judged by the /usr/bin Python it points
    to, and then started through a folder that nobody cannot enter.
    """
    python = autograder / "venv" / "bin" / "python"
    assert not python.is_symlink()
    probe = "from grader.sandbox import policy; print(policy.interpreter(True)[0])"
    for mode in (0o755, 0o700):
        autograder.chmod(mode)
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
        chosen = out.stdout.strip()
        assert chosen and policy.reachable(chosen, policy.READ | policy.EXECUTE)
        assert "python3.11" in Path(chosen).name or Path(chosen).name == "python3"
        if mode == 0o700:
            assert autograder not in Path(chosen).parents


def test_stubs_get_zero_and_say_why(autograder: Path) -> None:
    submit(autograder, {"micrograd": STUBS})
    _, results = run_autograder(autograder)  # grade exits 1; run_autograder still 0
    assert results["score"] == 0
    assert all("not implemented yet" in t["output"] for t in results["tests"])


def test_empty_submission(autograder: Path) -> None:
    submit(autograder, {})
    _, results = run_autograder(autograder)
    assert results["score"] == 0
    assert "Could not grade: no micrograd/engine.py" in results["output"]
    assert all(t["status"] == "failed" for t in results["tests"])


# -- the grader cannot start -----------------------------------------------------------------


def test_results_without_a_grader(bundle: Path, tmp_path: Path) -> None:
    extract(bundle, tmp_path / "source")
    shutil.copy2(tmp_path / "source" / "run_autograder", tmp_path / "run_autograder")
    submit(tmp_path, {"micrograd": REFERENCE})
    proc, results = run_autograder(tmp_path)  # no venv: setup.sh never ran
    assert results["score"] == 0 and results["tests"] == []
    assert "the grader is not installed" in results["output"]
    assert "did setup.sh fail?" in results["output"]
    assert "wrote a results.json with score 0" in proc.stderr


def test_results_when_the_grader_crashes(bundle: Path, tmp_path: Path) -> None:
    extract(bundle, tmp_path / "source")
    shutil.copy2(tmp_path / "source" / "run_autograder", tmp_path / "run_autograder")
    grade = tmp_path / "venv" / "bin" / "grade"
    grade.parent.mkdir(parents=True)
    grade.write_text(
        "#!/bin/sh\nprintf 'Traceback: \"quoted\" \\\\ back\\ttab\\033[31m é\\n'\nexit 3\n"
    )
    grade.chmod(0o755)
    submit(tmp_path, {})
    _, results = run_autograder(tmp_path)
    assert results["score"] == 0
    assert "stopped with status 3 before writing its report" in results["output"]
    assert 'Traceback: "quoted" \\ back tab[31m' in results["output"]


def test_extra_checks_travel_in_the_bundle(autograder: Path, tmp_path: Path) -> None:
    """`--extra-checks DIR` puts the instructor's checks in the bundle; they are graded there."""
    extra = ROOT / "examples" / "extra-checks"
    out = tmp_path / "with-extra.zip"
    result = invoke(["bundle", "gradescope", str(out), "--extra-checks", str(extra)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        assert "kit/extra-checks/sums_of_three.py" in zf.namelist()
        script = zf.read("run_autograder").decode()
    from grader.exercises import EXERCISES
    from grader.runner import checks_for

    top = sum(c.points for c in checks_for(list(EXERCISES))) + 2  # the kit's own, 2 extra
    assert f"MAX_SCORE={top:g}" in script
    kit = autograder / "source" / "kit"
    shutil.copytree(extra, kit / "extra-checks")  # the installed kit is the same code
    (autograder / "run_autograder").write_text(script)
    try:
        submit(autograder, {"micrograd": REFERENCE})
        proc = subprocess.run(
            [autograder / "run_autograder"],
            env={**os.environ, "AUTOGRADER_ROOT": str(autograder)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        results = json.loads((autograder / "results" / "results.json").read_text())
        jsonschema.validate(results, RESULTS_SCHEMA)
        assert results["score"] == results["max_score"] == top, proc.stdout
        assert any(t["name"].startswith("exercise-1: extra:") for t in results["tests"])
    finally:
        shutil.rmtree(kit / "extra-checks")
        shutil.copy2(autograder / "source" / "run_autograder", autograder / "run_autograder")


def test_a_slow_submission_ends_in_time_with_its_points(autograder: Path) -> None:
    """Past the autograder's overall limit (here 35 s, Gradescope's is 600; run_autograder
    gives the grader 30 s less, 5 s), the grader stops with what was earned: results.json
    keeps + backward's points. Each `*` backward stalls 0.9 s, so the wall-clock limit, not
    the exercise's budget (30 s), is what ends it."""
    engine = (REFERENCE / "engine.py").read_text()
    rule = "self.grad += other.data * out.grad"
    assert engine.count(rule) == 1
    slow = engine.replace(rule, "__import__('time').sleep(0.9)\n            " + rule)
    submit(autograder, {"micrograd/engine.py": slow})
    for path in (REFERENCE).glob("*.py"):
        if path.name != "engine.py":
            (autograder / "submission" / "micrograd" / path.name).write_text(path.read_text())
    shutil.rmtree(autograder / "results", ignore_errors=True)
    start = time.monotonic()
    proc = subprocess.run(
        [autograder / "run_autograder"],
        cwd=autograder,
        env={
            **os.environ,
            "AUTOGRADER_ROOT": str(autograder),
            "MICROGRAD_AUTOGRADER_SECONDS": "35",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - start < 30
    results = json.loads((autograder / "results" / "results.json").read_text())
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["exercise-1: + backward"]["status"] == "passed"
    assert results["score"] >= 2
    assert any("ran out of time" in t.get("output", "") for t in results["tests"])
