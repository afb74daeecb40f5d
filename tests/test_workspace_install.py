"""In the kit installed as the README says, `import micrograd` is the student's workspace."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.kit


def python(code: str, cwd) -> str:
    run = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_import_micrograd_is_the_workspace_and_the_reference_has_its_own_name(tmp_path):
    code = (
        "import micrograd, micrograd_reference\n"
        "from micrograd import MLP, Value\n"
        "print(micrograd.__file__); print(micrograd_reference.__file__); print(Value.__module__)"
    )
    mine, reference, module = python(code, tmp_path).splitlines()
    assert mine == str(ROOT / "exercises" / "micrograd" / "__init__.py")
    assert reference == str(ROOT / "reference" / "micrograd" / "__init__.py")
    assert module == "micrograd.engine"


def test_the_workspace_runs_the_students_code_not_the_reference(tmp_path):
    code = (
        "from micrograd import Value\n"
        "try:\n    (Value(2.0) * Value(3.0)).backward()\n"
        "except NotImplementedError as e:\n    print(e)"
    )
    assert python(code, tmp_path).startswith("exercise-")


def test_importing_the_engine_does_not_import_nn(tmp_path):
    # a later exercise's broken file must not stop an earlier exercise's code from loading
    code = "import sys, micrograd.engine; print('micrograd.nn' in sys.modules)"
    assert python(code, tmp_path) == "False"


def test_grade_workspace_names_another_folder(tmp_path):
    import shutil

    shutil.copytree(ROOT / "exercises" / "micrograd", tmp_path / "mine" / "micrograd")
    grade = [sys.executable, "-m", "grader.cli", "workspace"]
    try:
        subprocess.run([*grade, str(tmp_path / "mine")], check=True, capture_output=True)
        found = python("import micrograd; print(micrograd.__file__)", tmp_path)
        assert found == str(tmp_path / "mine" / "micrograd" / "__init__.py")
        shown = subprocess.run(grade, capture_output=True, text=True, check=True).stdout
        assert shown.strip() == f"workspace: {tmp_path / 'mine'}"
    finally:
        subprocess.run([*grade, "--reset"], check=True, capture_output=True)
    found = python("import micrograd; print(micrograd.__file__)", tmp_path)
    assert found == str(ROOT / "exercises" / "micrograd" / "__init__.py")
