"""The guarded script engine: every BPMN script and condition is gated and time-boxed.

Service tasks reach the database through one callback that the step provides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine as SpiffScriptEngine
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment as SpiffEnvironment
from SpiffWorkflow.task import Task as SpiffTask

from engine.errors import UnstorableData
from engine.execution.sandbox import bounded_range
from engine.execution.sandbox import check_source
from engine.execution.sandbox import run_with_budget
from engine.execution.script_api import SAFE_BUILTINS
from engine.execution.script_api import SCRIPT_API
from engine.execution.script_api import step_time
from engine.untrusted import is_storable

ServiceCall = Callable[[str, dict[str, Any]], Any]


class GuardedEnvironment(SpiffEnvironment):  # type: ignore[misc]
    """Task-data environment that gates and time-boxes every piece of BPMN code."""

    def __init__(self, budget: float, services: ServiceCall, now: datetime | None = None) -> None:
        builtins = {**SAFE_BUILTINS, "range": bounded_range}
        super().__init__({"__builtins__": builtins, **SCRIPT_API})
        self.budget = budget
        self.services = services
        self.now = now

    def evaluate(self, expression: str, context: Any, external_context: Any = None) -> Any:
        check_source(expression, "eval")
        parent = super().evaluate
        with step_time(self.now):
            return run_with_budget(
                lambda: parent(expression, context, external_context), self.budget
            )

    def execute(self, script: str, context: Any, external_context: Any = None) -> Any:
        check_source(script, "exec")
        parent = super().execute
        before = dict(context)
        with step_time(self.now):
            result = run_with_budget(lambda: parent(script, context, external_context), self.budget)
        if not is_storable(context):
            # Put the task's data back, so the failed task (and the instance) can be saved.
            context.clear()
            context.update(before)
            raise UnstorableData("the script produced text that cannot be stored as UTF-8")
        return result

    def call_service(self, context: Any, **kwargs: Any) -> str:
        params = {k: v["value"] for k, v in kwargs["operation_params"].items()}
        result = json.dumps(self.services(kwargs["operation_name"], params), ensure_ascii=False)
        if not is_storable(result):
            raise UnstorableData("the service returned text that cannot be stored as UTF-8")
        return result


class GuardedScriptEngine(SpiffScriptEngine):  # type: ignore[misc]
    """Reports service failures itself: 3.2.0's own handler hides them behind a NameError."""

    def call_service(self, task: SpiffTask, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as exc:
            from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

            name = kwargs.get("operation_name")
            raise WorkflowTaskException(
                f"service {name} failed: {exc}", task=task, exception=exc
            ) from exc
