"""`grade bundle github-classroom`: the workflow that grades each push on GitHub's runners.

GitHub Classroom's autograding is a GitHub Actions workflow in the student's repository
(.github/workflows/classroom.yml) built from two actions:

- education/autograding-command-grader@v1, one step per test, with the inputs `test-name`,
  `command` (run by a shell; exit status 0 passes), `setup-command` (optional, run before),
  `timeout` (minutes, 10 by default, 6 hours at most) and `max-score` (whole points, given
  when the command passes, else none). Its result is the step's output `result`.
- education/autograding-grading-reporter@v1, last, with `runners`: the steps' ids, comma
  separated; it reads each step's result from the environment variable `<ID>_RESULTS` (the id
  in capitals) and reports the points to Classroom and to the student's log.

The workflow written here installs the kit once (the student's repository is a copy of it, or
`kit_url` names the instructor's), then runs one step per exercise, `grade exercise-N` on the
student's workspace, for that exercise's points. The command grader gives all of a step's
points or none: an exercise counts whole on Classroom, while the step's log shows each check.
The README says what this channel cannot promise: the student owns the repository, and so the
workflow, the grader's copy and whatever the runner can read.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from grader.exercises import EXERCISES
from grader.runner import checks_for

COMMAND_GRADER = "education/autograding-command-grader@v1"
REPORTER = "education/autograding-grading-reporter@v1"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
WORKFLOW = Path(".github") / "workflows" / "classroom.yml"
TIMEOUT_MINUTES = 10  # the command grader's own default; exercise-5 takes well under one


def q(text: str) -> str:
    """A YAML scalar that means exactly `text`: JSON's double-quoted strings are YAML's."""
    return json.dumps(text)


def step_id(n: int) -> str:
    return f"exercise-{n}"


def exercise_points(n: int) -> int:
    points = sum(c.points for c in checks_for([n]))
    if points != int(points):
        raise ValueError(
            f"exercise-{n} is worth {points:g} points: GitHub Classroom's command grader "
            "counts whole points only"
        )
    return int(points)


def install_script(kit_url: str | None, kit_ref: str | None) -> list[str]:
    """The shell lines of the step that installs the grader (torch's CPU build, the kit)."""
    lines = ['python -m venv "$RUNNER_TEMP/grader"']
    kit = "."
    if kit_url:
        ref = f" --branch {shlex.quote(kit_ref)}" if kit_ref else ""
        lines.append(f'git clone --depth 1{ref} {shlex.quote(kit_url)} "$RUNNER_TEMP/kit"')
        kit = '"$RUNNER_TEMP/kit"'
    lines += [
        f'"$RUNNER_TEMP/grader/bin/python" -m pip install --quiet --extra-index-url {TORCH_INDEX}'
        f" -e {kit}",
        # the command grader runs each test with PATH (and little else) from the runner
        'echo "$RUNNER_TEMP/grader/bin" >> "$GITHUB_PATH"',
        "grade list",
    ]
    return lines


def workflow(
    workspace: str = "exercises",
    exercises: list[int] | None = None,
    kit_url: str | None = None,
    kit_ref: str | None = None,
) -> str:
    """The text of .github/workflows/classroom.yml."""
    chosen = exercises or list(EXERCISES)
    total = sum(exercise_points(n) for n in chosen)
    out = [
        "# Written by `grade bundle github-classroom` (the micrograd course kit): one",
        "# autograding step per exercise, each worth that exercise's points, all or none. Each",
        "# step's log shows the full report, check by check. Write it again after changing the",
        f"# kit's checks. Total: {total} points.",
        "name: Autograding Tests",
        "'on':",  # quoted: a bare `on` is YAML 1.1's true
        "  - push",
        "  - repository_dispatch",
        "  - workflow_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - name: Set up Python",
        "        uses: actions/setup-python@v5",
        "        with:",
        '          python-version: "3.11"',
        "      - name: Install the grader",
        "        run: |",
        *(f"          {line}" for line in install_script(kit_url, kit_ref)),
    ]
    for n in chosen:
        name = f"exercise-{n}: {EXERCISES[n]}"
        out += [
            f"      - name: {q(name)}",
            f"        id: {step_id(n)}",
            f"        uses: {COMMAND_GRADER}",
            "        with:",
            f"          test-name: {q(name)}",
            f"          command: {q(f'grade exercise-{n} --submission {workspace}')}",
            f"          timeout: {TIMEOUT_MINUTES}",
            f"          max-score: {exercise_points(n)}",
        ]
    out += [
        "      - name: Autograding Reporter",
        f"        uses: {REPORTER}",
        "        env:",
        *(
            f"          {step_id(n).upper()}_RESULTS: "
            + q("${{steps." + step_id(n) + ".outputs.result}}")
            for n in chosen
        ),
        "        with:",
        f"          runners: {','.join(step_id(n) for n in chosen)}",
    ]
    return "\n".join(out) + "\n"


def write_workflow(repository: Path, **options) -> Path:
    """Write the workflow into `repository` (its root); return the file's path."""
    path = Path(repository) / WORKFLOW
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(workflow(**options), encoding="utf-8")
    return path
