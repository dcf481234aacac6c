"""One deployment of several files: call activities across files, DMN, zips, several processes.

Models come from SpiffWorkflow's own test suite in ../shared/conformance (read there).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.errors import WorkflowDefinitionError
from engine.execution import processes
from engine.execution.uploads import MAX_RATIO
from engine.execution.uploads import UploadedFile
from engine.models import InstanceStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock


def upload(path: Path) -> UploadedFile:
    return UploadedFile(path.name, path.read_bytes())


def zipped(*files: tuple[str, bytes]) -> UploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return UploadedFile("models.zip", buffer.getvalue())


def test_business_rule_task_runs_its_dmn_from_the_same_deployment(
    session: Session, admin: User, settings: Settings, clock: Clock, corpus: Path
) -> None:
    data = corpus / "spiffworkflow-tests" / "spiff" / "data"
    files = [upload(data / "business_rule_task.bpmn"), upload(data / "dmn" / "business_rules.dmn")]

    [(definition, created)] = processes.deploy_files(session, files, actor="tester")
    instance = instances.start_instance(
        session, process_id=definition.process_id, data={}, user=admin, settings=settings
    )

    assert created
    assert sorted(definition.files) == ["business_rule_task.bpmn", "business_rules.dmn"]
    assert instance.status == InstanceStatus.COMPLETED, instance.error
    assert instances.instance_data(session, instance)["answer"] == "Y"  # question "X" -> "Y"


def test_a_call_activity_resolves_to_a_process_in_another_uploaded_file(
    session: Session, admin: User, settings: Settings, corpus: Path
) -> None:
    data = corpus / "spiffworkflow-tests" / "bpmn" / "data"
    files = [upload(data / "resetworkflowA-toplevel.bpmn")]
    files += [upload(data / "resetworkflowA-sublevel.bpmn")]  # holds SubProcessA

    results = processes.deploy_files(session, files, actor="tester")
    instance = instances.start_instance(
        session, process_id="TopLevel", data={}, user=admin, settings=settings
    )

    assert {d.process_id for d, _created in results} == {"TopLevel", "SubProcessA"}
    assert instance.status == InstanceStatus.RUNNING, instance.error
    [task] = instances.list_tasks(session, instance.id)
    assert task.bpmn_id == "Task1"  # the top level's first manual task, before the call


def test_a_zip_is_one_deployment_and_unchanged_files_are_a_no_op(
    session: Session, corpus: Path
) -> None:
    data = corpus / "spiffworkflow-tests" / "spiff" / "data"
    archive = zipped(
        ("models/business_rule_task.bpmn", (data / "business_rule_task.bpmn").read_bytes()),
        ("models/dmn/business_rules.dmn", (data / "dmn" / "business_rules.dmn").read_bytes()),
        ("README.txt", b"not a model"),
    )

    [(first, created)] = processes.deploy_files(session, [archive], actor="tester")
    [(again, created_again)] = processes.deploy_files(session, [archive], actor="tester")

    assert created and not created_again
    assert again.id == first.id
    assert sorted(first.files) == ["business_rule_task.bpmn", "business_rules.dmn"]


def test_a_file_with_several_executable_processes_deploys_each(
    session: Session, corpus: Path
) -> None:
    path = corpus / "spiffworkflow-tests" / "bpmn" / "data" / "correlation_two_conversations.bpmn"

    results = processes.deploy_files(session, [upload(path)], actor="tester")

    assert len(results) == 3
    assert all(created for _d, created in results)


def test_a_zip_bomb_is_refused_before_it_is_inflated(session: Session) -> None:
    bomb = zipped(("big.bpmn", b"<a>" + b" " * (MAX_RATIO * 20_000) + b"</a>"))

    with pytest.raises(WorkflowDefinitionError) as raised:
        processes.deploy_files(session, [bomb], actor="tester")

    [problem] = raised.value.problems
    assert (problem.file, problem.message) == ("models.zip", "big.bpmn: compression ratio too high")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([UploadedFile("a.bpmn", b"<x/>"), UploadedFile("a.bpmn", b"<x/>")], "two uploaded"),
        ([UploadedFile("a.bpmn", "<x/>".encode("utf-16"))], "not UTF-8"),
        ([UploadedFile("page.html", b"<html/>")], "not a .bpmn or .dmn file"),
        ([UploadedFile("a.bpmn", b"<definitions/>")], "no executable bpmn:process"),
        ([UploadedFile("a.zip", b"PK\x03\x04 broken")], "not a zip archive"),
    ],
)
def test_bad_uploads_name_the_file_and_store_nothing(
    session: Session, files: list[UploadedFile], message: str
) -> None:
    with pytest.raises(WorkflowDefinitionError) as raised:
        processes.deploy_files(session, files, actor="tester")

    assert any(message in p.message for p in raised.value.problems)
    assert processes.list_processes(session) == []
