"""Engine error tree. Every class has a stable `code`; messages are English, no HTTP statuses."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    code = "not_found"


class NotAllowed(EngineError):
    code = "not_allowed"


class Conflict(EngineError):
    """The thing changed under the caller: a task no longer open, a stale version."""

    code = "conflict"


class InstanceLocked(Conflict):
    code = "instance_locked"


class AmbiguousMessage(Conflict):
    """A message matches several waiting instances and the sender did not ask for all."""

    code = "ambiguous"

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


class InvalidTaskData(EngineError):
    """Submitted data failed validation; `field_errors` maps field path to message."""

    code = "invalid_data"

    def __init__(self, message: str, field_errors: dict[str, str]) -> None:
        super().__init__(message)
        self.field_errors = field_errors


@dataclass(frozen=True)
class Problem:
    """One problem in a BPMN or form file: where it is and what is wrong."""

    file: str
    line: int | None
    element: str | None
    message: str
    # A warning is reported but does not refuse the deployment.
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.file}:{self.line or 0}: {self.element or '-'}: {kind}{self.message}"


class WorkflowDefinitionError(EngineError):
    """A process definition failed validation; `problems` lists each one."""

    code = "invalid_definition"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems) or "invalid process definition")
        self.problems = problems


class ScriptFailed(EngineError):
    """A BPMN script, condition or service raised, was rejected, or ran out of time."""

    code = "script_failed"

    def __init__(
        self, message: str, *, element: str | None = None, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.element = element
        self.line = line


class UnsafeScript(ScriptFailed):
    code = "unsafe_script"


class UnstorableData(ScriptFailed):
    """A script or service produced data the database cannot store (a lone surrogate)."""

    code = "unstorable_data"


class StepBudgetExceeded(EngineError):
    """Engine tasks kept running past the step's time budget (a loop with no wait state)."""

    code = "step_budget_exceeded"

    def __init__(self, message: str, *, element: str | None = None) -> None:
        super().__init__(message)
        self.element = element


class DomainRuleViolation(EngineError):
    """A legal rule was broken (team too small, certificate expired, reason missing)."""

    code = "domain_rule"

    def __init__(self, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}
