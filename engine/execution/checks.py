"""Deploy-time checks the BPMN parser does not make: gated code, forms, ids and lanes.

Every problem names the file, line and element (engine.errors.Problem)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as SpiffTimerEvent
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask as SpiffScriptTask
from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask
from SpiffWorkflow.spiff.specs.defaults import UserTask as SpiffUserTask

from engine.errors import Problem
from engine.errors import UnsafeScript
from engine.execution.bounds import WorkLimits
from engine.execution.bounds import literal_problems
from engine.execution.bundles import BPMN_NS
from engine.execution.bundles import SAFE_XML
from engine.execution.bundles import ParsedDefinition
from engine.execution.bundles import ProcessBundle
from engine.execution.bundles import first_file
from engine.execution.personal_data import PERSONAL_MARK
from engine.execution.personal_data import official_fields
from engine.execution.personal_data import unmarked_official_fields
from engine.execution.rewrite import compile_guarded
from engine.execution.script_api import SAFE_BUILTIN_NAMES
from engine.execution.script_api import SCRIPT_API

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
CALLABLE_NAMES = frozenset(SCRIPT_API) | frozenset(SAFE_BUILTIN_NAMES)


def _code_items(spec: Any) -> Iterator[tuple[str, str, str, str]]:
    """(bpmn id, kind, source, mode) for every piece of code in a process spec."""
    for ts in spec.task_specs.values():
        bpmn_id = ts.bpmn_id or ts.name
        for kind, source, mode in _task_code(ts):
            yield bpmn_id, kind, source, mode


def _task_code(ts: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(ts, SpiffScriptTask) and ts.script:
        yield "script", ts.script, "exec"
    for attr in ("prescript", "postscript"):
        if getattr(ts, attr, None):
            yield attr, getattr(ts, attr), "exec"
    for attr, kind in (("condition", "completion condition"), ("cardinality", "cardinality")):
        value = getattr(ts, attr, None)
        if isinstance(value, str) and value:
            yield kind, value, "eval"
    yield from _event_code(getattr(ts, "event_definition", None))
    if isinstance(ts, SpiffServiceTask):
        for param in ts.operation_params.values():
            yield "service parameter", str(param.get("value", "")), "eval"


def _event_code(event: Any) -> Iterator[tuple[str, str, str]]:
    expression = getattr(event, "expression", None)
    if isinstance(expression, str) and expression:
        kind = "timer" if isinstance(event, SpiffTimerEvent) else "event payload"
        yield kind, expression, "eval"


def check_code(source: str, mode: str) -> str | None:
    """Why a piece of BPMN code is refused (the script gate, unregistered calls), or None.

    Conditions are checked per sequence flow by engine.execution.structure.
    """
    try:
        compile_guarded(source, mode)  # the gate, and the guarded form compiles
    except UnsafeScript as exc:
        return f"{exc.message} (line {exc.line})" if exc.line else exc.message
    calls = (n for n in ast.walk(ast.parse(source, mode=mode)) if isinstance(n, ast.Call))
    for call in calls:
        if isinstance(call.func, ast.Name) and call.func.id not in CALLABLE_NAMES:
            return f"call to unregistered function {call.func.id}()"
    return None


def all_specs(parsed: ParsedDefinition) -> list[Any]:
    """The process spec and every subprocess spec of a parsed definition."""
    return [parsed.spec, *(s for s in parsed.subprocess_specs.values() if s is not None)]


def bound_problems(
    parsed: ParsedDefinition,
    bundle: ProcessBundle,
    work_limits: WorkLimits,
    now: datetime | None = None,
) -> list[Problem]:
    """Literal timers beyond the horizon and literal cardinalities above the limit."""
    problems: list[Problem] = []
    for spec in all_specs(parsed):
        file_name = Path(spec.file).name if getattr(spec, "file", None) else first_file(bundle)
        for bpmn_id, message in literal_problems(spec, work_limits, now or datetime.now(UTC)):
            line = parsed.elements[bpmn_id].line if bpmn_id in parsed.elements else None
            problems.append(Problem(file_name, line, bpmn_id, message))
    return problems


def lint(parsed: ParsedDefinition, bundle: ProcessBundle) -> list[Problem]:
    """Problems in code, forms, manifest and ids that the parser does not see."""
    problems: list[Problem] = []
    for spec in all_specs(parsed):
        file_name = Path(spec.file).name if getattr(spec, "file", None) else first_file(bundle)
        for bpmn_id, kind, source, mode in _code_items(spec):
            message = check_code(source, mode)
            if message:
                line = parsed.elements[bpmn_id].line if bpmn_id in parsed.elements else None
                problems.append(Problem(file_name, line, bpmn_id, f"{kind}: {message}"))
    problems.extend(_shared_id_problems(bundle))
    if bundle.strict:
        problems.extend(_strict_problems(parsed, bundle))
    return problems


def _shared_id_problems(bundle: ProcessBundle) -> list[Problem]:
    """BPMN ids used in two files of one bundle: lanes and properties are looked up by id.

    An uploaded (non-strict) bundle may repeat ids that nothing is looked up by (modelers
    name every first start event StartEvent_1); user tasks, lanes and elements carrying
    properties must still be unique, since routing and deadlines read them by id.
    """
    first_seen: dict[str, str] = {}
    problems: list[Problem] = []
    for file_name, text in bundle.files.items():
        if file_name.lower().endswith(".dmn"):
            continue
        root = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        for node in root.iter(f"{{{BPMN_NS}}}*"):
            node_id = node.get("id")
            if not node_id or etree.QName(node).localname == "definitions":
                continue
            if not bundle.strict and not _looked_up_by_id(node):
                continue
            owner = first_seen.setdefault(node_id, file_name)
            if owner != file_name:
                message = f"id is also used in {owner}"
                problems.append(Problem(file_name, node.sourceline, node_id, message))
    return problems


def _looked_up_by_id(node: Any) -> bool:
    kind = etree.QName(node).localname
    has_properties = node.find(f"{{{BPMN_NS}}}extensionElements") is not None
    return kind in {"userTask", "lane"} or has_properties


def _user_tasks(parsed: ParsedDefinition) -> dict[str, str]:
    found: dict[str, str] = {}
    for spec in all_specs(parsed):
        file_name = Path(spec.file).name if getattr(spec, "file", None) else ""
        for ts in spec.task_specs.values():
            if isinstance(ts, SpiffUserTask) and ts.bpmn_id:
                found[ts.bpmn_id] = file_name
    return found


def _strict_problems(parsed: ParsedDefinition, bundle: ProcessBundle) -> list[Problem]:
    problems: list[Problem] = []
    user_tasks = _user_tasks(parsed)
    main_file = f"{bundle.process_id}.bpmn"
    for task_id, file_name in sorted(user_tasks.items()):
        if task_id not in bundle.forms:
            line = parsed.elements[task_id].line if task_id in parsed.elements else None
            problems.append(Problem(file_name, line, task_id, "user task has no form"))
    for form_id, schema in sorted(bundle.forms.items()):
        form_file = f"forms/{form_id}.json"
        if form_id != "start" and form_id not in user_tasks:
            problems.append(Problem(form_file, None, form_id, "form has no user task"))
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append(Problem(form_file, None, form_id, f"invalid schema: {exc.message}"))
    problems.extend(_id_problems(parsed, main_file))
    problems.extend(_lane_problems(parsed, bundle, main_file))
    problems.extend(_return_problems(bundle.manifest.get("return_to"), set(user_tasks)))
    problems.extend(_personal_data_problems(bundle))
    return problems


def _personal_data_problems(bundle: ProcessBundle) -> list[Problem]:
    """Official's data outside a confidential process, or unmarked inside one."""
    confidential = bool(bundle.manifest.get("confidential", False))
    problems: list[Problem] = []
    for form_id, schema in sorted(bundle.forms.items()):
        form_file = f"forms/{form_id}.json"
        if confidential:
            problems.extend(
                Problem(form_file, None, form_id, f"{path}: mark it {PERSONAL_MARK}: official")
                for path in unmarked_official_fields(schema)
            )
            continue
        problems.extend(
            Problem(
                form_file,
                None,
                form_id,
                f"{path}: {reason}; a public official's data belongs in a confidential process",
            )
            for path, reason in official_fields(schema)
        )
    return problems


def _id_problems(parsed: ParsedDefinition, main_file: str) -> list[Problem]:
    return [
        Problem(main_file, info.line, info.bpmn_id, "id is not readable snake_case")
        for info in parsed.elements.values()
        if not SNAKE_CASE.match(info.bpmn_id) and info.tag not in {"definitions"}
    ]


def _lane_problems(
    parsed: ParsedDefinition, bundle: ProcessBundle, main_file: str
) -> list[Problem]:
    declared = bundle.manifest.get("lanes", {})
    lane_ids = {i.lane_id for i in parsed.elements.values() if i.lane_id}
    return [
        Problem("process.json", None, lane_id, "lane has no routing in process.json")
        for lane_id in sorted(lane_ids - set(declared))
    ]


def _return_problems(table: object, user_tasks: set[str]) -> list[Problem]:
    """`return_to` maps a user task id to a list of user task ids it may send the case back to."""
    if table is None:
        return []
    if not isinstance(table, dict):
        return [Problem("process.json", None, "return_to", "return_to must be an object")]
    problems: list[Problem] = []
    for task_id, targets in sorted(table.items()):
        if task_id not in user_tasks:
            problems.append(Problem("process.json", None, task_id, "return_to: not a user task"))
        if not isinstance(targets, list) or not targets:
            message = "return_to: targets must be a non-empty list of user task ids"
            problems.append(Problem("process.json", None, task_id, message))
            continue
        for target in targets:
            if target not in user_tasks or target == task_id:
                message = f"return_to: {target!r} is not another user task"
                problems.append(Problem("process.json", None, task_id, message))
    return problems
