"""`grade bundle github-classroom`: the autograding workflow, checked against the documented
format of GitHub Classroom's actions, then run here step by step on a student's workspace.

What the actions document (their action.yml and README):
- education/autograding-command-grader@v1: inputs `test-name` (required), `setup-command`,
  `command` (required; exit status 0 passes), `timeout` (minutes, default 10, at most 6 hours),
  `max-score` (read as a whole number); output `result`. It runs the command through a shell
  with PATH, HOME and a few fixed variables only.
- education/autograding-grading-reporter@v1: input `runners`, the graders' step ids, comma
  separated; each step's result comes in the environment variable `<ID in capitals>_RESULTS`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.exercises import EXERCISES
from grader.runner import checks_for
from tests.grader_helpers import invoke
from tools.synthetic_class import WRITERS, package

pytestmark = pytest.mark.grader

yaml = pytest.importorskip("yaml")

COMMAND_GRADER = "education/autograding-command-grader@v1"
REPORTER = "education/autograding-grading-reporter@v1"
GRADER_INPUTS = {"test-name": True, "setup-command": False, "command": True}
GRADER_INPUTS |= {"timeout": False, "max-score": False}  # name -> required


def write_workflow(repo: Path, *args: str) -> dict:
    result = invoke(["bundle", "github-classroom", str(repo), *args])
    assert result.exit_code == 0, result.output
    path = repo / ".github" / "workflows" / "classroom.yml"
    return yaml.safe_load(path.read_text())


def grader_steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return [s for s in job["steps"] if s.get("uses") == COMMAND_GRADER]


def test_the_workflow_follows_the_actions_documented_format(tmp_path):
    workflow = write_workflow(tmp_path)
    assert workflow["name"] and "push" in workflow["on"]
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")

    graders = grader_steps(workflow)
    assert [s["id"] for s in graders] == [f"exercise-{n}" for n in EXERCISES]  # one each
    for step, n in zip(graders, EXERCISES):
        inputs = step["with"]
        assert set(inputs) <= set(GRADER_INPUTS), inputs
        assert all(k in inputs for k, required in GRADER_INPUTS.items() if required)
        assert isinstance(inputs["max-score"], int)  # the action reads it with parseInt
        assert inputs["max-score"] == sum(c.points for c in checks_for([n]))
        assert 0 < inputs["timeout"] <= 360
        assert inputs["test-name"].startswith(f"exercise-{n}: ")
        assert inputs["command"] == f"grade exercise-{n} --submission exercises"
    assert sum(s["with"]["max-score"] for s in graders) == sum(
        c.points for c in checks_for(list(EXERCISES))
    )

    reporter = steps[-1]
    assert reporter["uses"] == REPORTER
    ids = [s["id"] for s in graders]
    assert reporter["with"]["runners"] == ",".join(ids)
    assert reporter["env"] == {
        f"{i.upper()}_RESULTS": "${{steps." + i + ".outputs.result}}" for i in ids
    }
    # installed once, before the graders, and put on the PATH they run with
    install = next(s for s in steps if "run" in s)
    assert steps.index(install) < steps.index(graders[0])
    assert "-e ." in install["run"] and "GITHUB_PATH" in install["run"]


def test_options_choose_the_exercises_the_workspace_and_the_kit(tmp_path):
    url = "https://github.com/our-course/micrograd-kit.git"
    args = ["-e", "2", "-e", "1", "--workspace", "hw", "--kit-url", url, "--kit-ref", "v1"]
    workflow = write_workflow(tmp_path, *args)
    graders = grader_steps(workflow)
    assert [s["with"]["command"] for s in graders] == [
        "grade exercise-1 --submission hw",
        "grade exercise-2 --submission hw",
    ]
    (job,) = workflow["jobs"].values()
    install = next(s for s in job["steps"] if "run" in s)["run"]
    assert f"git clone --depth 1 --branch v1 {url}" in install and "-e ." not in install


def run_step(step: dict, repo: Path) -> tuple[str, int, int]:
    """Run a command-grader step as the action does: the command through a shell, in the
    repository, with PATH (the grader's venv on it, as the install step puts it there), HOME
    and FORCE_COLOR only. (command, exit status, points)."""
    inputs = step["with"]
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/root"),
        "FORCE_COLOR": "true",
    }
    if inputs.get("setup-command"):
        subprocess.run(inputs["setup-command"], shell=True, cwd=repo, env=env, check=True)
    done = subprocess.run(
        inputs["command"],
        shell=True,
        cwd=repo,
        env=env,
        capture_output=True,
        timeout=inputs["timeout"] * 60,
    )
    points = inputs["max-score"] if done.returncode == 0 else 0
    return inputs["command"], done.returncode, points


def test_the_workflow_runs_step_by_step_on_a_workspace(tmp_path):
    """A student who did exercises 1-3: those steps pass with their points, the others fail
    with none, and the reporter's total is what `grade` gives those exercises."""
    if shutil.which("grade", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the kit is not installed in this Python (pip install -e .)")
    repo = tmp_path / "student-repo"
    WRITERS["folder"](package(range(1, 4)))(repo / "exercises")
    workflow = write_workflow(repo)
    ran = [run_step(step, repo) for step in grader_steps(workflow)]
    for command, status, points in ran:
        print(f"{command:<40} exit {status}  {points} points")
    by_exercise = {int(c.split()[1].removeprefix("exercise-")): (s, p) for c, s, p in ran}
    for n in (1, 2, 3):
        assert by_exercise[n] == (0, sum(c.points for c in checks_for([n]))), n
    for n in (0, 4, 5, 6):
        assert by_exercise[n] == (1, 0), n  # graded, some check failed: no points
    assert sum(p for _, _, p in ran) == 35
