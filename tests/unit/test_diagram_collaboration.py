"""Whole diagrams: other pools, message flows, data, artifacts, groups, event sub-processes.

The models are the BPMN MIWG reference set in ../shared/conformance (read there, never
copied); each test names the reference model whose picture it checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.diagram import render_diagram_svg
from engine.diagram import render_svg
from engine.diagram.model import Box
from engine.diagram.shapes import fitted_lines

MIWG = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "miwg-reference"
SVG = "{http://www.w3.org/2000/svg}"

pytestmark = pytest.mark.skipif(not MIWG.is_dir(), reason=f"conformance corpus missing: {MIWG}")


def drawn(name: str, index: int = 0) -> etree._Element:
    svg = render_diagram_svg((MIWG / f"{name}.bpmn").read_bytes(), index)
    return etree.fromstring(svg.encode())


def groups(root: etree._Element, css_class: str) -> list[etree._Element]:
    return [g for g in root.iter(f"{SVG}g") if css_class in (g.get("class") or "").split()]


def test_both_pools_and_their_message_flows_are_drawn() -> None:
    root = drawn("A.4.1")

    pools = groups(root, "bpmn-participant")
    flows = groups(root, "bpmn-messageflow")

    assert sorted(p.find(f"{SVG}title").text for p in pools) == ["Pool 1", "Pool 2"]
    assert len(flows) == 2
    for flow in flows:
        line = flow.find(f"{SVG}polyline")
        assert line.get("stroke-dasharray") == "7 4"
        assert flow.find(f"{SVG}circle") is not None  # the message flow's source end
        assert flow.find(f"{SVG}polygon").get("fill") == "#ffffff"  # open arrowhead


def test_vertical_pools_carry_their_name_in_a_header_on_top() -> None:
    root = drawn("A.4.1")
    pool = next(
        p for p in groups(root, "bpmn-participant") if p.find(f"{SVG}title").text == "Pool 1"
    )

    outline, header = pool.findall(f"{SVG}rect")[:2]

    assert header.get("y") == outline.get("y")
    assert header.get("width") == outline.get("width")
    assert float(header.get("height")) < float(outline.get("height"))
    assert "".join(pool.find(f"{SVG}text").itertext()) == "Pool 1"


def test_process_page_shows_the_whole_collaboration_with_the_other_pools() -> None:
    xml = (MIWG / "C.2.0.bpmn").read_bytes()
    root = etree.fromstring(render_svg(xml, "WFP-Page_1-2").encode())

    names = {p.find(f"{SVG}title").text for p in groups(root, "bpmn-participant")}

    assert {"Customer", "Amazon", "Carrier", "Credit Card Company"} <= names
    assert len(groups(root, "bpmn-messageflow")) >= 5


def test_data_store_and_its_data_associations_are_drawn() -> None:
    root = drawn("C.4.0", 0)

    stores = groups(root, "bpmn-datastorereference")
    associations = groups(root, "bpmn-datainputassociation") + groups(
        root, "bpmn-dataoutputassociation"
    )

    assert stores
    assert stores[0].find(f"{SVG}ellipse") is not None
    assert "Employee Details" in "".join(stores[0].itertext())
    assert len(associations) >= 2
    assert all(a.find(f"{SVG}polyline").get("stroke-dasharray") == "2 3" for a in associations)


def test_group_annotation_and_data_object_with_their_associations() -> None:
    root = drawn("B.2.0")

    group = groups(root, "bpmn-group")
    annotations = groups(root, "bpmn-textannotation")
    objects = groups(root, "bpmn-dataobjectreference")
    associations = groups(root, "bpmn-association")

    assert len(group) == 1
    frame = group[0].find(f"{SVG}rect")
    assert frame.get("stroke-dasharray") == "8 4 2 4"
    assert "Group" in "".join(group[0].itertext())  # the category value's name
    assert "Annotation" in "".join(annotations[0].itertext())
    assert objects and objects[0].find(f"{SVG}polygon") is not None
    assert associations


def test_a_data_object_shows_its_state_under_its_name() -> None:
    root = drawn("C.7.0")

    texts = ["".join(g.itertext()) for g in groups(root, "bpmn-dataoutput")]

    assert any("Advertisement" in text and "[Approved]" in text for text in texts)


def test_event_sub_process_has_a_dotted_border() -> None:
    root = drawn("C.6.0")

    event_subs = groups(root, "bpmn-event-subprocess")

    assert event_subs
    assert event_subs[0].find(f"{SVG}rect").get("stroke-dasharray") == "2 3"


def test_expanded_call_activity_is_drawn_below_the_called_process_it_shows() -> None:
    root = drawn("B.2.0")
    order = [g.get("id") for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("node-")]
    call = "node-_ba16239e-181e-4b9f-bc5b-0bb2ee973450"  # Expanded Call Activity
    child = "node-_c57a5344-213f-4834-a6c3-94ce878b413c"  # User Task 12, inside it

    assert order.index(call) < order.index(child)
    assert "bpmn-container" in (root.find(f".//{SVG}g[@id='{call}']").get("class") or "")


def test_gateway_marker_and_call_activity_plus_follow_the_model() -> None:
    root = drawn("B.1.0")

    def node_named(name: str) -> etree._Element:
        return next(g for g in groups(root, "bpmn-node") if g.find(f"{SVG}title").text == name)

    plain = node_named("Exclusive Gateway Divergence 1")  # DI: isMarkerVisible="false"
    calls_process = node_named("Call Activity Collapsed")
    calls_task = node_named("Call Activity Calling a Global Task")

    assert plain.find(f"{SVG}path") is None
    assert calls_process.find(f".//{SVG}g[@class='bpmn-marker-collapsed']") is not None
    assert calls_task.find(f".//{SVG}g[@class='bpmn-marker-collapsed']") is None


def test_long_names_shrink_before_they_are_cut() -> None:
    area = Box(0, 0, 86, 56)  # a 100 x 80 task, less padding and its type icon
    name = "Perform training for time reports sick leave and holidays"

    size, lines = fitted_lines(name, area)

    assert size < 12.0
    assert "".join(lines).replace(" ", "") == name.replace(" ", "")
    assert not any(line.endswith("\u2026") for line in lines)


def test_a_word_is_not_broken_while_a_smaller_font_keeps_it_whole() -> None:
    size, lines = fitted_lines("Prove/Provide identity", Box(0, 0, 70, 40))

    assert size < 12.0
    assert "Prove/Provide" in lines


def test_chinese_names_wrap_per_character_at_the_full_font() -> None:
    size, lines = fitted_lines("先行登记保存物品处理决定", Box(0, 0, 86, 56))

    assert size == 12.0
    assert "".join(lines) == "先行登记保存物品处理决定"


def test_a_name_too_long_for_any_font_ends_with_an_ellipsis() -> None:
    size, lines = fitted_lines("很长的名称" * 20, Box(0, 0, 60, 30))

    assert size == 9.0
    assert lines[-1].endswith("\u2026")


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in MIWG.glob("*.bpmn")) if MIWG.is_dir() else []
)
def test_every_diagram_of_every_reference_model_renders(name: str) -> None:
    xml = (MIWG / f"{name}.bpmn").read_bytes()
    count = len(
        list(etree.fromstring(xml).iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNDiagram"))
    )

    for index in range(count):
        root = etree.fromstring(render_diagram_svg(xml, index).encode())
        assert len(list(root.iter(f"{SVG}g"))) > 3
