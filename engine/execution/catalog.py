"""Process catalog: read, validate, deploy and cache process definitions.

A definition is a set of files (BPMN, forms, manifest) identified by the hash of their
content. Parsed SpiffWorkflow specs are cached per hash, so an instance load never re-parses
and the spec is never serialized into instance state.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import (
    ValidationException as SpiffValidationError,
)
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.errors import WorkflowDefinitionError
from engine.execution import dialects
from engine.execution import uploads
from engine.execution.bounds import WorkLimits
from engine.execution.bounds import guard_multi_instance
from engine.execution.bundles import BPMN_NS
from engine.execution.bundles import SAFE_XML
from engine.execution.bundles import SPIFF_NS
from engine.execution.bundles import ElementInfo
from engine.execution.bundles import ParsedDefinition
from engine.execution.bundles import ProcessBundle
from engine.execution.bundles import first_file
from engine.execution.checks import all_specs
from engine.execution.checks import bound_problems
from engine.execution.checks import lint
from engine.execution.structure import structure_problems
from engine.execution.uploads import MODEL_SUFFIXES
from engine.models import ProcessDefinition
from engine.settings import load_settings

logger = logging.getLogger(__name__)


_CACHE: dict[str, ParsedDefinition] = {}


def read_folder(folder: Path) -> ProcessBundle:
    """Read `workflows/<process_id>/`: BPMN files, forms/*.json and process.json."""
    process_id = folder.name
    files = {p.name: p.read_text(encoding="utf-8") for p in model_files(folder)}
    forms_dir = folder / "forms"
    forms: dict[str, Any] = {}
    if forms_dir.is_dir():
        for path in sorted(forms_dir.glob("*.json")):
            forms[path.stem] = _read_json(path)
    manifest_path = folder / "process.json"
    manifest = _read_json(manifest_path) if manifest_path.exists() else {}
    return ProcessBundle(process_id=process_id, files=files, forms=forms, manifest=manifest)


def model_files(folder: Path) -> list[Path]:
    """The .bpmn and .dmn files of a folder, by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in MODEL_SUFFIXES)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problem = Problem(str(path), exc.lineno, None, f"invalid JSON: {exc.msg}")
        raise WorkflowDefinitionError([problem]) from exc


def parse_bundle(bundle: ProcessBundle) -> ParsedDefinition:
    """Parse and validate a bundle; return its specs.

    Raises:
        WorkflowDefinitionError: listing every problem found (file, line, element, message).
    """
    if not bundle.files:
        missing = Problem(f"{bundle.process_id}.bpmn", None, None, "no .bpmn file in the bundle")
        raise WorkflowDefinitionError([missing])
    found = structure_problems(bundle)
    errors = [p for p in found if not p.warning]
    if errors:
        raise WorkflowDefinitionError(errors)
    spec, subprocess_specs = _spiff_specs(bundle)
    warnings = (*(p for p in found if p.warning), *dialects.ignored_extensions(bundle))
    dialect = "camunda" if dialects.is_camunda(bundle) else "spiff"
    elements = _element_infos(bundle)
    parsed = ParsedDefinition(spec, subprocess_specs, elements, warnings, dialect)
    for process_spec in all_specs(parsed):
        for task_spec in process_spec.task_specs.values():
            guard_multi_instance(task_spec)
    problems = lint(parsed, bundle)
    if problems:
        raise WorkflowDefinitionError(problems)
    return parsed


def _spiff_specs(bundle: ProcessBundle) -> tuple[Any, dict[str, Any]]:
    """The bundle's process spec and subprocess specs, from the parser of its dialect."""
    parser = dialects.make_parser(bundle)
    current = first_file(bundle)
    try:
        for current, text in bundle.files.items():
            if current.lower().endswith(".dmn"):
                parser.add_dmn_str(text.encode("utf-8"), filename=current)
            else:
                parser.add_bpmn_str(text.encode("utf-8"), filename=current)
        return parser.get_spec(bundle.process_id), parser.get_subprocess_specs(bundle.process_id)
    except etree.XMLSyntaxError as exc:
        # lxml names a parsed string "<string>": the file is the one being added.
        name = exc.filename if exc.filename and exc.filename != "<string>" else current
        raise WorkflowDefinitionError([Problem(name, exc.lineno, None, exc.msg)]) from exc
    except SpiffValidationError as exc:
        raise WorkflowDefinitionError([_spiff_problem(exc, bundle)]) from exc
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        # The parsers assume what the XSD does not require (a Camunda business rule task
        # without camunda:decisionRef raises KeyError): report it, never a crash.
        message = f"SpiffWorkflow cannot read the model: {type(exc).__name__}: {exc}"
        raise WorkflowDefinitionError([Problem(current, None, None, message)]) from exc


def _spiff_problem(exc: SpiffValidationError, bundle: ProcessBundle) -> Problem:
    file_name = Path(exc.file_name).name if exc.file_name else first_file(bundle)
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
    """Validate process folders, folders of loose model files, or single files; every problem.

    Warnings (`Problem.warning`) are listed too; only the other problems refuse a model.

    A folder with a process.json is a Xietong process folder (conventions enforced); any
    other folder, and a single file, is checked as an upload: every executable process in it.
    """
    problems: list[Problem] = []
    for path in paths:
        try:
            bundles = _bundles_to_check(path)
        except WorkflowDefinitionError as exc:
            problems.extend(_located(path, p) for p in exc.problems)
            continue
        for bundle in bundles:
            try:
                parsed = parse_bundle(bundle)
                bounds = bound_problems(parsed, bundle, WorkLimits.of(load_settings()))
                if bounds:
                    raise WorkflowDefinitionError(bounds)
                problems.extend(_located(path, p) for p in parsed.warnings)
            except WorkflowDefinitionError as exc:
                problems.extend(_located(path, p) for p in exc.problems)
    return list(dict.fromkeys(problems))


def _bundles_to_check(path: Path) -> list[ProcessBundle]:
    if path.is_dir() and ((path / "process.json").exists() or not model_files(path)):
        return [read_folder(path)]
    paths = model_files(path) if path.is_dir() else [path]
    return uploads.bundles_from_files([uploads.UploadedFile(p.name, p.read_bytes()) for p in paths])


def _located(path: Path, problem: Problem) -> Problem:
    file = str(path / problem.file) if path.is_dir() else str(path)
    return Problem(file, problem.line, problem.element, problem.message, problem.warning)


def process_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.bpmn")))


def cached(spec_hash: str) -> ParsedDefinition | None:
    return _CACHE.get(spec_hash)
