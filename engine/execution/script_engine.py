"""The guarded script engine: every BPMN script and condition is gated, bounded and time-boxed.

Code is compiled by engine.execution.rewrite (gate plus size guards), runs under the time
budget, and its result (an expression's value, or the task data a script leaves) must stay
small enough to save. Timer and cardinality values are checked against the work limits
(engine.execution.bounds) before SpiffWorkflow expands them. Service tasks reach the database
through one callback that the step provides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException as SpiffTaskError
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine as SpiffScriptEngine
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment as SpiffEnvironment
from SpiffWorkflow.task import Task as SpiffTask

from engine.errors import UnstorableData
from engine.execution import limits
from engine.execution.bounds import WorkLimits
from engine.execution.bounds import evaluated_problem
from engine.execution.rewrite import HELPERS
from engine.execution.rewrite import compile_guarded
from engine.execution.sandbox import bounded_range
from engine.execution.sandbox import run_with_budget
from engine.execution.script_api import SAFE_BUILTINS
from engine.execution.script_api import SCRIPT_API
from engine.execution.script_api import step_time
from engine.execution.script_worker import WorkerPool
from engine.execution.script_worker import request_for
from engine.untrusted import is_storable

ServiceCall = Callable[[str, dict[str, Any]], Any]


class GuardedEnvironment(SpiffEnvironment):  # type: ignore[misc]
    """Task-data environment that gates, bounds and time-boxes every piece of BPMN code.

    With `workers`, the code runs in an OS-limited worker process (engine.execution.script_worker)
    after passing the gate here.
    """

    def __init__(
        self,
        budget: float,
        services: ServiceCall,
        now: datetime | None = None,
        workers: WorkerPool | None = None,
    ) -> None:
        builtins = {
            **SAFE_BUILTINS,
            "range": bounded_range,
            "sum": limits.guarded_sum,
            "round": limits.guarded_round,
            **HELPERS,
        }
        super().__init__({"__builtins__": builtins, **SCRIPT_API})
        self.budget = budget
        self.services = services
        self.now = now
        self.workers = workers

    def evaluate(self, expression: str, context: Any, external_context: Any = None) -> Any:
        code = compile_guarded(expression, "eval")  # the gate, also for code sent to a worker
        if self.workers is not None:
            return self._in_worker("eval", expression, context, external_context)
        parent = super().evaluate
        with step_time(self.now):
            result = run_with_budget(lambda: parent(code, context, external_context), self.budget)
        limits.check_data_size(result, "the value of the expression")
        return result

    def execute(self, script: str, context: Any, external_context: Any = None) -> Any:
        code = compile_guarded(script, "exec")  # the gate, also for code sent to a worker
        before = dict(context)
        if self.workers is not None:
            new_context = self._in_worker("exec", script, context, external_context)
            context.clear()
            context.update(new_context)
            _check_storable(context, before)
            return True
        parent = super().execute
        with step_time(self.now):
            done = run_with_budget(lambda: parent(code, context, external_context), self.budget)
        _check_task_data(context)
        _check_storable(context, before)
        return done

    def _in_worker(self, mode: str, source: str, context: Any, external_context: Any) -> Any:
        assert self.workers is not None  # noqa: S101 - callers check
        request = request_for(
            mode, source, context, external_context, budget=self.budget, now=self.now
        )
        return self.workers.run(request)

    def call_service(self, context: Any, **kwargs: Any) -> str:
        params = {k: v["value"] for k, v in kwargs["operation_params"].items()}
        result = json.dumps(self.services(kwargs["operation_name"], params), ensure_ascii=False)
        if not is_storable(result):
            raise UnstorableData("the service returned text that cannot be stored as UTF-8")
        return result


def _check_storable(context: dict[str, Any], before: dict[str, Any]) -> None:
    """Refuse task data the database cannot store; put the task's data back so it saves."""
    if not is_storable(context):
        context.clear()
        context.update(before)
        raise UnstorableData("the script produced text that cannot be stored as UTF-8")


def _check_task_data(context: dict[str, Any]) -> None:
    """Refuse task data too large to save; drop the oversized keys so the failed task saves."""
    try:
        limits.check_data_size(context, "the task data")
    except limits.ScriptLimitExceeded:
        oversized = [
            k
            for k, v in context.items()
            if limits.text_size(v, limits.MAX_ITEMS) > limits.MAX_ITEMS
        ]
        for key in oversized:
            del context[key]
        raise


class GuardedScriptEngine(SpiffScriptEngine):  # type: ignore[misc]
    """Checks timer and cardinality values, and reports service failures itself.

    3.2.0's own service handler hides a failure behind a NameError.
    """

    def __init__(
        self, environment: GuardedEnvironment, work_limits: WorkLimits | None = None
    ) -> None:
        super().__init__(environment)
        self.work_limits = work_limits or WorkLimits()

    def evaluate(self, task: SpiffTask, expression: str, external_context: Any = None) -> Any:
        value = super().evaluate(task, expression, external_context)
        now = self.environment.now or datetime.now(UTC)
        problem = evaluated_problem(task.task_spec, expression, value, self.work_limits, now)
        if problem:
            raise SpiffTaskError(problem, task=task)
        return value

    def create_task_exec_exception(self, task: SpiffTask, script: str, err: Exception) -> Any:
        """SpiffWorkflow finds the failing line in the traceback; a worker reports it instead."""
        wrapped = super().create_task_exec_exception(task, script, err)
        line = getattr(err, "worker_line", None)
        if line and not getattr(wrapped, "line_number", None):
            wrapped.line_number = line
            wrapped.error_line = script.splitlines()[line - 1]
        return wrapped

    def call_service(self, task: SpiffTask, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as exc:
            name = kwargs.get("operation_name")
            raise SpiffTaskError(f"service {name} failed: {exc}", task=task, exception=exc) from exc
