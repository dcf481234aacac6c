"""Process catalog: read, validate, deploy and cache process definitions.

A definition is a set of files (BPMN, forms, manifest) identified by the hash of their
content. Parsed SpiffWorkflow specs are cached per hash, so an instance load never re-parses
and the spec is never serialized into instance state.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import (
    ValidationException as SpiffValidationError,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as SpiffTimerEvent
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask as SpiffScriptTask
from SpiffWorkflow.spiff.parser import VALIDATOR as SPIFF_XSD
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask
from SpiffWorkflow.spiff.specs.defaults import UserTask as SpiffUserTask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.errors import UnsafeScript
from engine.errors import WorkflowDefinitionError
from engine.execution.bounds import WorkLimits
from engine.execution.bounds import guard_multi_instance
from engine.execution.bounds import literal_problems
from engine.execution.rewrite import compile_guarded
from engine.execution.script_api import SAFE_BUILTIN_NAMES
from engine.execution.script_api import SCRIPT_API
from engine.models import ProcessDefinition
from engine.settings import load_settings

logger = logging.getLogger(__name__)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
CALLABLE_NAMES = frozenset(SCRIPT_API) | frozenset(SAFE_BUILTIN_NAMES)
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class ProcessBundle:
    """The files of one process definition, before deployment."""

    process_id: str
    files: dict[str, str]
    forms: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    strict: bool = True

    @property
    def spec_hash(self) -> str:
        payload = json.dumps(
            {"files": self.files, "forms": self.forms, "manifest": self.manifest},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class ElementInfo:
    """What the engine reads from one BPMN element besides the Spiff spec."""

    bpmn_id: str
    name: str
    tag: str
    lane_id: str | None
    lane_name: str | None
    properties: dict[str, str]
    line: int | None


@dataclass
class ParsedDefinition:
    """A deployed definition ready to run: Spiff specs plus element metadata."""

    spec: Any
    subprocess_specs: dict[str, Any]
    elements: dict[str, ElementInfo]


_CACHE: dict[str, ParsedDefinition] = {}


def read_folder(folder: Path) -> ProcessBundle:
    """Read `workflows/<process_id>/`: BPMN files, forms/*.json and process.json."""
    process_id = folder.name
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.bpmn"))}
    forms_dir = folder / "forms"
    forms: dict[str, Any] = {}
    if forms_dir.is_dir():
        for path in sorted(forms_dir.glob("*.json")):
            forms[path.stem] = _read_json(path)
    manifest_path = folder / "process.json"
    manifest = _read_json(manifest_path) if manifest_path.exists() else {}
    return ProcessBundle(process_id=process_id, files=files, forms=forms, manifest=manifest)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problem = Problem(str(path), exc.lineno, None, f"invalid JSON: {exc.msg}")
        raise WorkflowDefinitionError([problem]) from exc


def bundle_from_upload(xml: bytes, filename: str) -> ProcessBundle:
    """A bundle from one uploaded BPMN file; the process id is its executable process.

    Raises:
        WorkflowDefinitionError: when the XML is broken or holds no executable process.
    """
    try:
        root = etree.fromstring(xml, SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise WorkflowDefinitionError([Problem(filename, exc.lineno, None, exc.msg)]) from exc
    processes = [
        p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable", "true") == "true"
    ]
    if not processes:
        problem = Problem(filename, None, None, "no executable bpmn:process in the file")
        raise WorkflowDefinitionError([problem])
    process = processes[0]
    process_id = process.get("id", "")
    manifest = {"title": process.get("name") or process_id, "start_roles": []}
    return ProcessBundle(
        process_id=process_id,
        files={filename: xml.decode("utf-8")},
        manifest=manifest,
        strict=False,
    )


def parse_bundle(bundle: ProcessBundle) -> ParsedDefinition:
    """Parse and validate a bundle; return its specs.

    Raises:
        WorkflowDefinitionError: listing every problem found (file, line, element, message).
    """
    if not bundle.files:
        missing = Problem(f"{bundle.process_id}.bpmn", None, None, "no .bpmn file in the bundle")
        raise WorkflowDefinitionError([missing])
    parser = SpiffBpmnParser(validator=SPIFF_XSD)
    try:
        for name, text in bundle.files.items():
            parser.add_bpmn_str(text.encode("utf-8"), filename=name)
        spec = parser.get_spec(bundle.process_id)
        subprocess_specs = parser.get_subprocess_specs(bundle.process_id)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno
        problem = Problem(exc.filename or _first_file(bundle), line, None, exc.msg)
        raise WorkflowDefinitionError([problem]) from exc
    except SpiffValidationError as exc:
        raise WorkflowDefinitionError([_spiff_problem(exc, bundle)]) from exc
    elements = _element_infos(bundle)
    parsed = ParsedDefinition(spec, subprocess_specs, elements)
    for process_spec in _all_specs(parsed):
        for task_spec in process_spec.task_specs.values():
            guard_multi_instance(task_spec)
    problems = lint(parsed, bundle)
    if problems:
        raise WorkflowDefinitionError(problems)
    return parsed


def _first_file(bundle: ProcessBundle) -> str:
    return next(iter(bundle.files), "<none>")


def _spiff_problem(exc: SpiffValidationError, bundle: ProcessBundle) -> Problem:
    file_name = Path(exc.file_name).name if exc.file_name else _first_file(bundle)
    line = exc.line_number if isinstance(exc.line_number, int) else None
    element = exc.id or None
    if line is None and element and file_name in bundle.files:
        line = _line_of(bundle.files[file_name], element)
    message = str(exc).strip().rstrip(".").strip() or type(exc).__name__
    return Problem(file_name, line, element, message)


def _line_of(xml_text: str, element_id: str) -> int | None:
    try:
        root = etree.fromstring(xml_text.encode("utf-8"), SAFE_XML)
    except etree.XMLSyntaxError:
        return None
    for node in root.iter():
        if node.get("id") == element_id:
            return int(node.sourceline) if node.sourceline else None
    return None


def _element_infos(bundle: ProcessBundle) -> dict[str, ElementInfo]:
    infos: dict[str, ElementInfo] = {}
    for text in bundle.files.values():
        root = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        lanes = _lane_index(root)
        for node in root.iter():
            node_id = node.get("id")
            if (
                not node_id
                or not isinstance(node.tag, str)
                or not node.tag.startswith(f"{{{BPMN_NS}")
            ):
                continue
            lane_id, lane_name = lanes.get(node_id, (None, None))
            infos[node_id] = ElementInfo(
                bpmn_id=node_id,
                name=node.get("name") or "",
                tag=etree.QName(node).localname,
                lane_id=lane_id,
                lane_name=lane_name,
                properties=_properties(node),
                line=node.sourceline,
            )
    return infos


def _lane_index(root: Any) -> dict[str, tuple[str, str]]:
    index: dict[str, tuple[str, str]] = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text:
                index[ref.text.strip()] = (lane.get("id"), lane.get("name") or lane.get("id"))
    return index


def _properties(node: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    ext = node.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is None:
        return props
    for prop in ext.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value", "")
    return props


def _code_items(spec: Any) -> Iterator[tuple[str, str, str, str]]:
    """(bpmn id, kind, source, mode) for every piece of code in a process spec."""
    for ts in spec.task_specs.values():
        bpmn_id = ts.bpmn_id or ts.name
        for kind, source, mode in _task_code(ts):
            yield bpmn_id, kind, source, mode


def _task_code(ts: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(ts, SpiffScriptTask) and ts.script:
        yield "script", ts.script, "exec"
    for cond, _target in getattr(ts, "cond_task_specs", []):
        if cond is not None:
            yield "condition", cond.args[0], "eval"
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


def _check_code(source: str, mode: str) -> str | None:
    try:
        compile_guarded(source, mode)  # the gate, and the guarded form compiles
    except UnsafeScript as exc:
        return f"{exc.message} (line {exc.line})" if exc.line else exc.message
    calls = (n for n in ast.walk(ast.parse(source, mode=mode)) if isinstance(n, ast.Call))
    for call in calls:
        if isinstance(call.func, ast.Name) and call.func.id not in CALLABLE_NAMES:
            return f"call to unregistered function {call.func.id}()"
    return None


def _all_specs(parsed: ParsedDefinition) -> list[Any]:
    return [parsed.spec, *(s for s in parsed.subprocess_specs.values() if s is not None)]


def lint(parsed: ParsedDefinition, bundle: ProcessBundle) -> list[Problem]:
    """Problems in code, forms, manifest and ids that the parser does not see."""
    problems: list[Problem] = []
    for spec in _all_specs(parsed):
        file_name = Path(spec.file).name if getattr(spec, "file", None) else _first_file(bundle)
        for bpmn_id, kind, source, mode in _code_items(spec):
            message = _check_code(source, mode)
            if message:
                line = parsed.elements[bpmn_id].line if bpmn_id in parsed.elements else None
                problems.append(Problem(file_name, line, bpmn_id, f"{kind}: {message}"))
    problems.extend(_shared_id_problems(bundle))
    if bundle.strict:
        problems.extend(_strict_problems(parsed, bundle))
    return problems


def bound_problems(
    parsed: ParsedDefinition,
    bundle: ProcessBundle,
    work_limits: WorkLimits,
    now: datetime | None = None,
) -> list[Problem]:
    """Literal timers beyond the horizon and literal cardinalities above the limit."""
    problems: list[Problem] = []
    for spec in _all_specs(parsed):
        file_name = Path(spec.file).name if getattr(spec, "file", None) else _first_file(bundle)
        for bpmn_id, message in literal_problems(spec, work_limits, now or datetime.now(UTC)):
            line = parsed.elements[bpmn_id].line if bpmn_id in parsed.elements else None
            problems.append(Problem(file_name, line, bpmn_id, message))
    return problems


def _shared_id_problems(bundle: ProcessBundle) -> list[Problem]:
    """BPMN ids used in two files of one bundle: lanes and properties are looked up by id."""
    first_seen: dict[str, str] = {}
    problems: list[Problem] = []
    for file_name, text in bundle.files.items():
        root = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        for node in root.iter(f"{{{BPMN_NS}}}*"):
            node_id = node.get("id")
            if not node_id or etree.QName(node).localname == "definitions":
                continue
            owner = first_seen.setdefault(node_id, file_name)
            if owner != file_name:
                message = f"id is also used in {owner}"
                problems.append(Problem(file_name, node.sourceline, node_id, message))
    return problems


def _user_tasks(parsed: ParsedDefinition) -> dict[str, str]:
    found: dict[str, str] = {}
    for spec in _all_specs(parsed):
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


def get_parsed(definition: ProcessDefinition) -> ParsedDefinition:
    """Parsed specs of a deployed definition, from the in-process cache."""
    parsed = _CACHE.get(definition.spec_hash)
    if parsed is None:
        parsed = parse_bundle(bundle_of(definition))
        _CACHE[definition.spec_hash] = parsed
    return parsed


def bundle_of(definition: ProcessDefinition) -> ProcessBundle:
    return ProcessBundle(
        process_id=definition.process_id,
        files=dict(definition.files),
        forms=dict(definition.forms),
        manifest=dict(definition.manifest),
        strict=bool(definition.manifest.get("strict", True)),
    )


def deploy(
    session: Session,
    bundle: ProcessBundle,
    *,
    actor: str,
    work_limits: WorkLimits | None = None,
    now: datetime | None = None,
) -> tuple[ProcessDefinition, bool]:
    """Deploy a bundle as a new version; unchanged files are a no-op.

    Returns the definition and whether a new version was created. Literal timers beyond
    the horizon and literal cardinalities above the limit are refused here, not at parse:
    a later, smaller setting must not make deployed versions unloadable.

    Raises:
        WorkflowDefinitionError: when validation fails (nothing is stored).
    """
    parsed = parse_bundle(bundle)
    problems = bound_problems(parsed, bundle, work_limits or WorkLimits.of(load_settings()), now)
    if problems:
        raise WorkflowDefinitionError(problems)
    spec_hash = bundle.spec_hash
    existing = session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.process_id == bundle.process_id,
            ProcessDefinition.spec_hash == spec_hash,
        )
    )
    if existing is not None:
        return existing, False
    latest = session.scalar(
        select(func.max(ProcessDefinition.version)).where(
            ProcessDefinition.process_id == bundle.process_id
        )
    )
    manifest = {**bundle.manifest, "strict": bundle.strict}
    definition = ProcessDefinition(
        process_id=bundle.process_id,
        version=(latest or 0) + 1,
        spec_hash=spec_hash,
        name=str(bundle.manifest.get("title") or parsed.spec.description or bundle.process_id),
        files=bundle.files,
        forms=bundle.forms,
        manifest=manifest,
        deployed_by=actor,
    )
    session.add(definition)
    session.flush()
    _CACHE[spec_hash] = parsed
    logger.info("deployed %s version %s", definition.process_id, definition.version)
    return definition, True


def check_paths(paths: list[Path]) -> list[Problem]:
    """Validate process folders or single BPMN files; every problem found."""
    problems: list[Problem] = []
    for path in paths:
        try:
            if path.is_dir():
                bundle = read_folder(path)
            else:
                bundle = bundle_from_upload(path.read_bytes(), path.name)
            bounds = bound_problems(parse_bundle(bundle), bundle, WorkLimits.of(load_settings()))
            if bounds:
                raise WorkflowDefinitionError(bounds)
        except WorkflowDefinitionError as exc:
            problems.extend(
                Problem(
                    str(path / p.file) if path.is_dir() else str(path), p.line, p.element, p.message
                )
                for p in exc.problems
            )
    return problems


def process_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.bpmn")))


def cached(spec_hash: str) -> ParsedDefinition | None:
    return _CACHE.get(spec_hash)
