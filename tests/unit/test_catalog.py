"""Malformed BPMN is reported with file, line and element; good fixtures pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import Problem
from engine.errors import WorkflowDefinitionError
from engine.execution import catalog

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "engine"

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
"""


def _process(process_id: str, body: str) -> str:
    return (
        HEADER
        + f"""  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:outgoing>flow_a</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="flow_a" sourceRef="start" targetRef="work" />
{body}
    <bpmn:endEvent id="end">
      <bpmn:incoming>flow_b</bpmn:incoming>
    </bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
    )


def _script(source: str) -> str:
    return f"""    <bpmn:scriptTask id="work">
      <bpmn:incoming>flow_a</bpmn:incoming>
      <bpmn:outgoing>flow_b</bpmn:outgoing>
      <bpmn:script>{source}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="flow_b" sourceRef="work" targetRef="end" />"""


GOOD_BODY = _script("done = True")


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def _check_file(tmp_path: Path, text: str, name: str = "broken.bpmn") -> list[Problem]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return catalog.check_paths([path])


def test_every_engine_fixture_is_valid() -> None:
    problems = catalog.check_paths(sorted(p for p in FIXTURES.iterdir() if p.is_dir()))
    assert [p for p in problems if not p.warning] == []


def test_a_good_single_file_has_no_problems(tmp_path: Path) -> None:
    assert _check_file(tmp_path, _process("good", GOOD_BODY)) == []


def test_broken_xml_names_file_and_line(tmp_path: Path) -> None:
    text = _process("broken", GOOD_BODY).replace(
        '<bpmn:endEvent id="end">', '<bpmn:endEvent id="end"'
    )

    [problem] = _check_file(tmp_path, text)

    assert problem.file == str(tmp_path / "broken.bpmn")
    broken_line = _line_of(text, '<bpmn:endEvent id="end"')
    # libxml2 notices the missing '>' where the next tag starts.
    assert problem.line in (broken_line, broken_line + 1)


def test_an_unknown_element_names_its_line(tmp_path: Path) -> None:
    body = GOOD_BODY.replace("bpmn:scriptTask", "bpmn:fancyTask")
    text = _process("unknown", body)

    [problem] = _check_file(tmp_path, text)

    assert problem.line == _line_of(text, "<bpmn:fancyTask")
    assert "fancyTask" in problem.message


def test_a_flow_to_a_missing_node_names_the_element(tmp_path: Path) -> None:
    text = _process("dangling", GOOD_BODY.replace('targetRef="end"', 'targetRef="nowhere"'))

    [problem] = _check_file(tmp_path, text)

    assert problem.element is not None
    assert problem.line == _line_of(text, f'id="{problem.element}"')


def test_a_duplicate_process_id_across_files_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "twice"
    folder.mkdir()
    (folder / "twice.bpmn").write_text(_process("twice", GOOD_BODY), encoding="utf-8")
    (folder / "other.bpmn").write_text(_process("twice", GOOD_BODY), encoding="utf-8")

    [problem] = catalog.check_paths([folder])

    assert "Duplicate process ID" in problem.message
    assert problem.element == "twice"
    assert problem.file.startswith(str(folder))


def test_a_script_syntax_error_names_element_and_line(tmp_path: Path) -> None:
    text = _process("syntax", _script("done = (True"))

    [problem] = _check_file(tmp_path, text)

    assert (problem.element, problem.line) == (
        "work",
        _line_of(text, '<bpmn:scriptTask id="work">'),
    )
    assert problem.message.startswith("script: syntax error")


def test_an_unsafe_script_is_a_lint_problem(tmp_path: Path) -> None:
    text = _process("unsafe", _script("x = ().__class__.__base__.__subclasses__()"))

    [problem] = _check_file(tmp_path, text)

    assert problem.element == "work"
    assert "not allowed" in problem.message


def test_an_unsafe_condition_names_the_sequence_flow_that_holds_it(tmp_path: Path) -> None:
    body = """    <bpmn:exclusiveGateway id="work" default="flow_b">
      <bpmn:incoming>flow_a</bpmn:incoming>
      <bpmn:outgoing>flow_b</bpmn:outgoing>
      <bpmn:outgoing>flow_c</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="flow_b" sourceRef="work" targetRef="end" />
    <bpmn:sequenceFlow id="flow_c" sourceRef="work" targetRef="end">
      <bpmn:conditionExpression>__import__('os').system('id') == 0</bpmn:conditionExpression>
    </bpmn:sequenceFlow>"""

    text = _process("condition", body)
    [problem] = _check_file(tmp_path, text)

    assert problem.element == "flow_c"
    assert problem.line == _line_of(text, "<bpmn:conditionExpression>")
    assert problem.message.startswith("condition: ")


def test_problem_lines_read_file_line_element_message(tmp_path: Path) -> None:
    text = _process("syntax", _script("done = (True"))
    [problem] = _check_file(tmp_path, text, name="syntax.bpmn")

    line = _line_of(text, '<bpmn:scriptTask id="work">')
    assert str(problem).startswith(f"{tmp_path / 'syntax.bpmn'}:{line}: work: script: syntax error")


def test_a_problem_without_line_or_element_prints_placeholders() -> None:
    assert str(Problem("x.bpmn", None, None, "bad")) == "x.bpmn:0: -: bad"


def test_a_folder_without_bpmn_files_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "empty_process"
    folder.mkdir()

    [problem] = catalog.check_paths([folder])

    assert (problem.file, problem.message) == (
        str(folder / "empty_process.bpmn"),
        "no .bpmn file in the bundle",
    )


def test_a_strict_folder_needs_a_form_for_every_user_task(tmp_path: Path) -> None:
    folder = tmp_path / "seq_gateway"
    folder.mkdir()
    source = FIXTURES / "seq_gateway"
    (folder / "seq_gateway.bpmn").write_text(
        (source / "seq_gateway.bpmn").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (folder / "process.json").write_text(
        (source / "process.json").read_text(encoding="utf-8"), encoding="utf-8"
    )

    problems = catalog.check_paths([folder])

    assert sorted((p.element, p.message) for p in problems) == [
        ("fill_request", "user task has no form"),
        ("head_review", "user task has no form"),
    ]


def test_parse_bundle_raises_with_every_problem() -> None:
    bundle = catalog.ProcessBundle(
        "p", {"p.bpmn": _process("p", _script("import os"))}, strict=False
    )

    with pytest.raises(WorkflowDefinitionError) as caught:
        catalog.parse_bundle(bundle)

    assert [(p.file, p.element) for p in caught.value.problems] == [("p.bpmn", "work")]


def test_an_id_shared_by_two_files_of_a_process_folder_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "process.json").write_text('{"title": "共用"}', encoding="utf-8")
    (folder / "shared.bpmn").write_text(_process("shared", GOOD_BODY), encoding="utf-8")
    (folder / "helper.bpmn").write_text(_process("helper", GOOD_BODY), encoding="utf-8")

    problems = catalog.check_paths([folder])

    assert sorted(p.element or "" for p in problems) == ["end", "flow_a", "flow_b", "start", "work"]
    assert {p.message for p in problems} == {"id is also used in helper.bpmn"}


def test_a_gateway_without_outgoing_flows_is_named(tmp_path: Path) -> None:
    body = """    <bpmn:parallelGateway id="split">
      <bpmn:incoming>flow_a</bpmn:incoming>
    </bpmn:parallelGateway>
    <bpmn:sequenceFlow id="flow_x" sourceRef="start" targetRef="end" />"""
    text = _process("no_way_out", body.replace("split", "work"))

    problems = _check_file(tmp_path, text)

    assert [(p.element, p.message, p.warning) for p in problems] == [
        ("work", "parallelGateway has no outgoing sequence flow", False)
    ]
    assert problems[0].line == _line_of(text, '<bpmn:parallelGateway id="work">')


def test_all_conditional_flows_without_default_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    body = """    <bpmn:exclusiveGateway id="work">
      <bpmn:incoming>flow_a</bpmn:incoming>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="flow_b" sourceRef="work" targetRef="end">
      <bpmn:conditionExpression>amount &gt; 10</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_c" sourceRef="work" targetRef="end">
      <bpmn:conditionExpression>amount &lt; 5</bpmn:conditionExpression>
    </bpmn:sequenceFlow>"""

    [problem] = _check_file(tmp_path, _process("no_default", body))

    assert (problem.element, problem.warning) == ("work", True)
    assert "none is the default" in problem.message
    assert str(problem).split(": ", 3)[2] == "warning"


def test_a_dangling_flow_names_the_flow_and_the_missing_target(tmp_path: Path) -> None:
    body = """    <bpmn:task id="work" />
    <bpmn:sequenceFlow id="flow_lost" sourceRef="work" targetRef="nowhere" />"""
    text = _process("dangling", body)

    problems = [p for p in _check_file(tmp_path, text) if p.element == "flow_lost"]

    assert [p.message for p in problems] == [
        "sequence flow flow_lost has a missing target: 'nowhere'"
    ]
    assert problems[0].line == _line_of(text, 'id="flow_lost"')


def test_a_duplicate_id_names_the_id_and_both_lines(tmp_path: Path) -> None:
    body = """    <bpmn:task id="work" />
    <bpmn:task id="work" name="again" />"""
    text = _process("twice", body)

    problems = [p for p in _check_file(tmp_path, text) if "duplicate" in p.message]

    first, second = _line_of(text, '<bpmn:task id="work" />'), _line_of(text, 'name="again"')
    assert [(p.element, p.line, p.message) for p in problems] == [
        ("work", second, f"duplicate id 'work': lines {first} and {second}")
    ]


def test_uploaded_files_may_share_ids_nothing_is_looked_up_by(tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    folder.mkdir()
    (folder / "first.bpmn").write_text(_process("first", GOOD_BODY), encoding="utf-8")
    (folder / "second.bpmn").write_text(_process("second", GOOD_BODY), encoding="utf-8")

    assert catalog.check_paths([folder]) == []


def test_check_reports_a_literal_timer_beyond_the_horizon(tmp_path: Path) -> None:
    body = """    <bpmn:intermediateCatchEvent id="work">
      <bpmn:incoming>flow_a</bpmn:incoming>
      <bpmn:outgoing>flow_b</bpmn:outgoing>
      <bpmn:timerEventDefinition id="work_timer">
        <bpmn:timeDuration>"P99999999Y"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="flow_b" sourceRef="work" targetRef="end" />"""
    text = _process("far_timer", body)

    [problem] = _check_file(tmp_path, text, "far_timer.bpmn")

    assert problem.element == "work"
    assert problem.line == _line_of(text, 'intermediateCatchEvent id="work"')
    assert problem.message == (
        "timer: timer duration 'P99999999Y' reaches beyond the 10-year horizon"
    )
