"""Script safety through deployed processes: lint at deploy, the gate and budget at run time."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.errors import WorkflowDefinitionError
from engine.execution import catalog
from engine.models import InstanceStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.factories import fixture_path
from tests.integration.engine.conftest import AGENCY
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload
from tests.unit.test_sandbox import ESCAPES

SAFE_SCRIPT = 'approved = True\nroute = "auto"'


def _bundle_with_script(script: str) -> catalog.ProcessBundle:
    bundle = catalog.read_folder(fixture_path("seq_gateway"))
    text = bundle.files["seq_gateway.bpmn"]
    assert SAFE_SCRIPT in text
    files = {"seq_gateway.bpmn": text.replace(SAFE_SCRIPT, escape(script))}
    return catalog.ProcessBundle(bundle.process_id, files, bundle.forms, bundle.manifest)


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_an_unsafe_script_is_refused_at_deploy(session: Session, source: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        catalog.deploy(session, _bundle_with_script(source), actor="tester")

    [problem] = caught.value.problems
    assert (problem.file, problem.element) == ("seq_gateway.bpmn", "auto_approve")
    assert problem.line is not None and problem.line > 1
    assert problem.message.startswith("script: ")


def test_a_script_calling_an_unregistered_function_is_refused(session: Session) -> None:
    with pytest.raises(WorkflowDefinitionError, match=r"unregistered function print\(\)"):
        catalog.deploy(session, _bundle_with_script("print(1)"), actor="tester")


def _run_small_request(session: Session, officer: User, settings: Settings, clock: Clock) -> int:
    instance = instances.start_instance(
        session,
        process_id="seq_gateway",
        data={"subject": "x", "agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    [fill] = open_tasks(session, instance.id)
    instances.complete_task(
        session, task_id=fill.id, data={"amount": 1}, user=officer, settings=settings, now=clock.now
    )
    return instance.id


@pytest.mark.parametrize(
    "source", [ESCAPES["subclasses_popen"], ESCAPES["dunder_import"], ESCAPES["format_attribute"]]
)
def test_a_script_swapped_after_deploy_is_refused_at_run_time(
    session: Session,
    officer: User,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    definition = deploy_fixture(session, "seq_gateway")
    script_task = catalog.get_parsed(definition).spec.task_specs["auto_approve"]
    monkeypatch.setattr(script_task, "script", source)

    instance = reload(session, _run_small_request(session, officer, settings, clock))

    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert instance.error["element"] == "auto_approve"
    assert "not allowed" in instance.error["message"]


def test_a_cpu_bomb_ends_in_error_instead_of_hanging(
    session: Session,
    officer: User,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    definition = deploy_fixture(session, "seq_gateway")
    script_task = catalog.get_parsed(definition).spec.task_specs["auto_approve"]
    monkeypatch.setattr(script_task, "script", "n = 0\nwhile True:\n    n = n + 1")

    instance = reload(session, _run_small_request(session, officer, settings, clock))

    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert instance.error["element"] == "auto_approve"
    assert (
        f"script ran longer than {settings.script_time_budget_seconds:g} s"
        in instance.error["message"]
    )


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("a = 1\nresult = 1 << 10 ** 10", 2, "result of << would have more than 10000 bits"),
        ("n = len(sum([[0] * 10] * 200000, []))", 1, "sum() takes numbers only"),
        ("s = 'ab'\nwhile True:\n    s *= 2", 3, "result of * would have more than 1000000"),
    ],
    ids=["huge_shift", "list_sum", "repeat_in_place"],
)
def test_an_oversized_operation_ends_in_an_incident_naming_element_and_line(
    session: Session,
    officer: User,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    line: int,
    message: str,
) -> None:
    definition = deploy_fixture(session, "seq_gateway")
    script_task = catalog.get_parsed(definition).spec.task_specs["auto_approve"]
    monkeypatch.setattr(script_task, "script", source)

    instance = reload(session, _run_small_request(session, officer, settings, clock))

    assert instance.status == InstanceStatus.ERROR
    assert instance.error is not None
    assert (instance.error["element"], instance.error["line"]) == ("auto_approve", line)
    assert message in instance.error["message"]
