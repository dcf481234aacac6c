"""Camunda Modeler files run with SpiffWorkflow's Camunda dialect; ignored extensions warn."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from engine.cases import instances
from engine.execution import catalog
from engine.execution import processes
from engine.execution.uploads import UploadedFile
from engine.models import InstanceStatus
from engine.models import User
from engine.settings import Settings

CAMUNDA_TASK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="x">
  <bpmn:process id="review" isExecutable="true" camunda:historyTimeToLive="30">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="审核" camunda:candidateGroups="legal" camunda:formKey="k">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_camunda_multi_instance_business_rule_task_runs_its_decision(
    session: Session, admin: User, settings: Settings, corpus: Path
) -> None:
    data = corpus / "spiffworkflow-tests" / "camunda" / "data"
    files = [
        UploadedFile("DMNMultiInstance.bpmn", (data / "DMNMultiInstance.bpmn").read_bytes()),
        UploadedFile(
            "decision.dmn", (data / "dmn" / "test_integer_decision_multi.dmn").read_bytes()
        ),
    ]

    [(definition, _created)] = processes.deploy_files(session, files, actor="tester")
    instance = instances.start_instance(
        session, process_id=definition.process_id, data={}, user=admin, settings=settings
    )

    assert instance.status == InstanceStatus.COMPLETED, instance.error
    stuff = instances.instance_data(session, instance)["stuff"]
    assert sorted(stuff) == ["A", "B", "C", "D", "E"]
    # The decision maps x = 3, 4, 5, ... to y = "A", "B", "C", ... for each item.
    assert [stuff[key]["y"] for key in "ABC"] == ["A", "B", "C"]


def test_ignored_camunda_extensions_are_warnings_and_the_model_deploys(tmp_path: Path) -> None:
    path = tmp_path / "review.bpmn"
    path.write_text(CAMUNDA_TASK, encoding="utf-8")

    problems = catalog.check_paths([path])

    assert all(p.warning for p in problems)
    messages = {p.element: p.message for p in problems}
    assert messages["check"].startswith("camunda:candidateGroups is ignored: tasks go to the lane")
    assert "camunda:historyTimeToLive is ignored" in messages["review"]
    assert not any("formKey" in p.message for p in problems)  # the Camunda dialect reads it
