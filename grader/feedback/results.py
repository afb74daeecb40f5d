"""Results: small typed records that serialise to JSON (Gradescope's results.json schema)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# why a check did not pass, as the report words it
PASSED, WRONG, NOT_IMPLEMENTED, MISSING, ERROR, WORKER = (
    "passed",
    "wrong",
    "not implemented yet",
    "missing",
    "error in your code",
    "worker failed",
)

# what a failure's `rule` names: a backward rule of Value (`tanh`, `*`, the seed, the order
# backward() runs them in), an op's forward value, or a function or method with a contract
# (`hinge_loss`, `SGD.step`, `train_step`); the class's page counts them apart
BACKWARD, FORWARD, CONTRACT = "backward", "forward", "contract"


@dataclass
class CheckResult:
    exercise: int
    name: str
    score: float
    max_score: float
    outcome: str  # one of the constants above
    message: str = ""
    hint: str = ""
    rule: str = ""
    details: dict = field(default_factory=dict)
    rule_kind: str = ""  # what `rule` names: BACKWARD, FORWARD or CONTRACT

    @property
    def passed(self) -> bool:
        return self.outcome == PASSED


@dataclass
class Report:
    exercises: list[int]
    checks: list[CheckResult]
    execution_time: float = 0.0
    output: str = ""  # what the student's code printed, truncated
    error: str = ""  # why grading could not be done, if it could not
    pictures: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)

    @property
    def all_passed(self) -> bool:
        return not self.error and all(c.passed for c in self.checks)

    def by_exercise(self) -> dict[int, tuple[float, float]]:
        out: dict[int, tuple[float, float]] = {}
        for c in self.checks:
            s, m = out.get(c.exercise, (0.0, 0.0))
            out[c.exercise] = (s + c.score, m + c.max_score)
        return out

    def to_dict(self) -> dict:
        return {
            "exercises": self.exercises,
            "checks": [asdict(c) for c in self.checks],
            "error": self.error,
            "output": self.output,
        }
