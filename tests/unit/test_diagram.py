"""Server-side SVG rendering of BPMN diagrams (engine.diagram)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.diagram import COMPLETED_FLOW_COLOUR
from engine.diagram import MARK_PALETTES
from engine.diagram import render_svg
from engine.diagram import wrap_text

FIXTURES = Path(__file__).parent.parent / "fixtures" / "diagram"
SVG = "{http://www.w3.org/2000/svg}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"

NODE_NAMES = {
    "start_clue": "收到线索",
    "register_case": "受理登记并审查案件材料",
    "register_overdue": "3日未办结",
    "send_reminder": "发送督办提醒",
    "suspected_gate": "是否涉嫌犯罪？",
    "transfer_case": "移送公安机关",
    "wait_police_receipt": "收到受理回执",
    "police_review": "公安机关审查是否立案",
    "record_result": "记录审查结果",
    "notify_procuratorate": "通报检察机关",
    "end_transferred": "移送完成",
}


@pytest.fixture
def case_transfer() -> bytes:
    return (FIXTURES / "case_transfer.bpmn").read_bytes()


def parse_svg(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode())


def node(root: etree._Element, element_id: str) -> etree._Element:
    found = root.find(f".//{SVG}g[@id='node-{element_id}']")
    assert found is not None, f"node-{element_id} missing"
    return found


def classes(el: etree._Element) -> set[str]:
    return set(el.get("class", "").split())


def test_every_node_has_an_id_class_and_tooltip_with_its_name(case_transfer: bytes) -> None:
    root = parse_svg(render_svg(case_transfer, "case_transfer"))

    for element_id, name in NODE_NAMES.items():
        group = node(root, element_id)
        assert "bpmn-node" in classes(group)
        assert group.findtext(f"{SVG}title") == name


def test_task_names_are_drawn_and_wrapped_inside_the_shape(case_transfer: bytes) -> None:
    root = parse_svg(render_svg(case_transfer, "case_transfer"))

    lines = [t.text for t in node(root, "register_case").iter(f"{SVG}tspan")]

    assert len(lines) == 2
    assert "".join(lines) == "受理登记并审查案件材料"


def test_lanes_and_pool_are_drawn_as_labelled_bands(case_transfer: bytes) -> None:
    root = parse_svg(render_svg(case_transfer, "case_transfer"))

    for band_id, name in [
        ("lane-agency_officer", "行政执法机关"),
        ("lane-police_officer", "公安机关"),
        ("participant-pool_case_transfer", "涉嫌犯罪案件移送"),
    ]:
        band = root.find(f".//{SVG}g[@id='{band_id}']")
        assert band is not None
        assert band.findtext(f"{SVG}title") == name
        assert "".join(t.text or "" for t in band.iter(f"{SVG}tspan")) == name


def test_svg_is_standalone_at_its_natural_size(case_transfer: bytes) -> None:
    svg = render_svg(case_transfer, "case_transfer")
    root = parse_svg(svg)

    assert root.tag == f"{SVG}svg"
    _x, _y, width, height = root.get("viewBox").split()
    assert (root.get("width"), root.get("height")) == (width, height)
    assert "Noto Sans CJK SC" in root.get("font-family")
    assert root.find(f".//{SVG}script") is None
    assert "href" not in svg
    assert "http://" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_marks_set_state_classes_and_colours(case_transfer: bytes) -> None:
    marks = {
        "register_case": "completed",
        "transfer_case": "active",
        "police_review": "overdue",
        "send_reminder": "flagged",
        "record_result": "error",
        "suspected_gate": "completed",
        "flow_start": "completed",
    }
    root = parse_svg(render_svg(case_transfer, "case_transfer", marks=marks))

    for element_id, mark in marks.items():
        if element_id.startswith("flow_"):
            continue
        group = node(root, element_id)
        assert f"state-{mark}" in classes(group)
        outline = group.find(f"{SVG}rect")
        if outline is None:
            outline = group.find(f"{SVG}polygon")
        assert outline.get("fill") == MARK_PALETTES[mark].fill
        assert outline.get("stroke") == MARK_PALETTES[mark].stroke
    assert not any(c.startswith("state-") for c in classes(node(root, "start_clue")))


def test_completed_flows_are_coloured_and_others_are_not(case_transfer: bytes) -> None:
    root = parse_svg(render_svg(case_transfer, "case_transfer", marks={"flow_start": "completed"}))

    done = root.find(f".//{SVG}g[@id='flow-flow_start']")
    pending = root.find(f".//{SVG}g[@id='flow-flow_registered']")

    assert "state-completed" in classes(done)
    assert done.find(f"{SVG}polyline").get("stroke") == COMPLETED_FLOW_COLOUR
    assert "state-completed" not in classes(pending)
    assert pending.find(f"{SVG}polyline").get("stroke") != COMPLETED_FLOW_COLOUR


def test_unknown_mark_is_rejected(case_transfer: bytes) -> None:
    with pytest.raises(ValueError, match="Unknown diagram mark"):
        render_svg(case_transfer, "case_transfer", marks={"register_case": "done"})


def test_flow_follows_its_waypoints_and_shows_its_name(case_transfer: bytes) -> None:
    root = parse_svg(render_svg(case_transfer, "case_transfer"))

    flow = root.find(f".//{SVG}g[@id='flow-flow_suspected']")

    assert flow.find(f"{SVG}polyline").get("points") == "515,180 680,180"
    assert flow.find(f"{SVG}polygon") is not None
    assert "".join(t.text for t in flow.iter(f"{SVG}tspan")) == "涉嫌犯罪"


def test_default_flow_gets_a_slash_and_conditional_flow_does_not(case_transfer: bytes) -> None:
    root = parse_svg(render_svg(case_transfer, "case_transfer"))

    default = root.find(f".//{SVG}g[@id='flow-flow_not_suspected']")
    conditional = root.find(f".//{SVG}g[@id='flow-flow_suspected']")

    assert default.find(f"{SVG}path") is not None
    assert conditional.find(f"{SVG}path") is None


def test_labels_add_a_badge_and_extend_the_tooltip(case_transfer: bytes) -> None:
    root = parse_svg(
        render_svg(case_transfer, "case_transfer", labels={"police_review": "截止 11-30"})
    )

    group = node(root, "police_review")

    assert group.find(f"{SVG}rect[@class='bpmn-badge']") is not None
    assert group.findtext(f"{SVG}title") == "公安机关审查是否立案\n截止 11-30"
    assert node(root, "record_result").find(f"{SVG}rect[@class='bpmn-badge']") is None


def test_names_and_labels_cannot_inject_markup(case_transfer: bytes) -> None:
    hostile = "&lt;script&gt;alert(1)&lt;/script&gt;"
    xml = case_transfer.replace("受理登记并审查案件材料".encode(), hostile.encode())
    label = '"><img src=x onerror=alert(2)>'

    svg = render_svg(xml, "case_transfer", labels={"register_case": label})
    root = parse_svg(svg)

    assert "<script" not in svg
    assert "<img" not in svg
    assert root.find(f".//{SVG}script") is None
    assert not [el for el in root.iter() if el.tag == "img" or "onerror" in el.attrib]
    assert (
        node(root, "register_case").findtext(f"{SVG}title").startswith("<script>alert(1)</script>")
    )


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xml = (FIXTURES / "case_transfer.bpmn").read_text(encoding="utf-8")
    doctype = f'<!DOCTYPE d [<!ENTITY leak SYSTEM "file://{secret}">]>\n'
    xml = xml.replace("\n", "\n" + doctype, 1).replace("<bpmn:text>依据", "<bpmn:text>&leak;依据")

    svg = render_svg(xml.encode(), "case_transfer")

    assert "TOP-SECRET-VALUE" not in svg


def test_view_box_covers_every_shape_with_a_margin(case_transfer: bytes) -> None:
    root = parse_svg(render_svg(case_transfer, "case_transfer"))
    x, y, width, height = (float(v) for v in root.get("viewBox").split())

    bounds = etree.fromstring(case_transfer).iter(f"{DC}Bounds")
    for b in bounds:
        bx, by = float(b.get("x")), float(b.get("y"))
        bw, bh = float(b.get("width")), float(b.get("height"))
        assert x + 10 <= bx and bx + bw <= x + width - 10
        assert y + 10 <= by and by + bh <= y + height - 10


def test_legend_lists_every_state(case_transfer: bytes) -> None:
    root = parse_svg(render_svg(case_transfer, "case_transfer"))

    legend = root.find(f".//{SVG}g[@class='bpmn-legend']")
    texts = [t.text for t in legend.iter(f"{SVG}tspan")]

    assert texts == ["已完成", "进行中", "已超期", "需关注", "出错"]


def test_process_without_diagram_raises_value_error(case_transfer: bytes) -> None:
    tree = etree.fromstring(case_transfer)
    diagram = tree.find(f"{BPMNDI}BPMNDiagram")
    tree.remove(diagram)

    with pytest.raises(ValueError, match=r"no diagram \(BPMNDI\) for process 'case_transfer'"):
        render_svg(etree.tostring(tree), "case_transfer")


def test_unknown_process_and_malformed_xml_raise_value_error(case_transfer: bytes) -> None:
    with pytest.raises(ValueError, match="no process 'other'"):
        render_svg(case_transfer, "other")
    with pytest.raises(ValueError, match="not well-formed"):
        render_svg(b"<bpmn:definitions", "case_transfer")


def test_elements_without_shapes_are_skipped(case_transfer: bytes) -> None:
    tree = etree.fromstring(case_transfer)
    shape = tree.find(f".//{BPMNDI}BPMNShape[@bpmnElement='record_result']")
    shape.getparent().remove(shape)

    root = parse_svg(render_svg(etree.tostring(tree), "case_transfer"))

    assert root.find(f".//{SVG}g[@id='node-record_result']") is None
    node(root, "police_review")


def test_spiff_example_with_placeholder_waypoints_gets_drawn_connectors() -> None:
    xml = (FIXTURES / "pmi.bpmn").read_bytes()

    root = parse_svg(render_svg(xml, "pmi", marks={"init": "completed"}))

    assert "state-completed" in classes(node(root, "init"))
    review = node(root, "agency_review")
    assert review.findtext(f"{SVG}title") == "Agency review"
    assert review.find(f"{SVG}g[@class='bpmn-marker-parallel']") is not None
    flow = root.find(f".//{SVG}g[@id='flow-f1']").find(f"{SVG}polyline")
    assert flow.get("points").startswith("350,150 ")
    assert flow.get("points").endswith(" 400,160")


def test_cjk_text_wraps_per_character_and_latin_per_word() -> None:
    assert wrap_text("受理登记并审查案件材料", 72, 12, 3) == ["受理登记并审", "查案件材料"]
    assert wrap_text("Agency review task", 70, 12, 3) == ["Agency", "review task"]


def test_wrapped_text_is_cut_with_an_ellipsis() -> None:
    lines = wrap_text("一二三四五六七八九十", 36, 12, 2)

    assert lines == ["一二三", "四五\u2026"]


def test_every_supported_element_kind_is_drawn() -> None:
    xml = (FIXTURES / "gallery.bpmn").read_bytes()
    ids = [shape.get("bpmnElement") for shape in etree.fromstring(xml).iter(f"{BPMNDI}BPMNShape")]

    root = parse_svg(render_svg(xml, "gallery"))

    for element_id in ids:
        assert len(node(root, element_id)) > 1, element_id  # a title and some drawing


def test_expanded_sub_process_is_drawn_below_its_children() -> None:
    root = parse_svg(render_svg((FIXTURES / "gallery.bpmn").read_bytes(), "gallery"))
    order = [g.get("id") for g in root.iter(f"{SVG}g") if g.get("id")]

    container = node(root, "a_expanded")

    assert "bpmn-container" in classes(container)
    assert order.index("node-a_expanded") < order.index("node-sub_task")
    assert order.index("node-a_expanded") < order.index("flow-sub_flow")


def test_entity_expansion_bomb_is_refused(case_transfer: bytes) -> None:
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    xml = case_transfer.decode().replace("\n", f"\n<!DOCTYPE d [{entities}]>\n", 1)
    xml = xml.replace("<bpmn:text>依据", "<bpmn:text>&a9;依据")

    with pytest.raises(ValueError, match="not well-formed"):
        render_svg(xml.encode(), "case_transfer")


def test_control_characters_in_labels_are_dropped(case_transfer: bytes) -> None:
    svg = render_svg(case_transfer, "case_transfer", labels={"register_case": "截止\x00\x0b 11-30"})

    title = node(parse_svg(svg), "register_case").findtext(f"{SVG}title")

    assert title.endswith("\n截止 11-30")


def test_diagram_with_only_unsupported_shapes_raises_value_error() -> None:
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="d" targetNamespace="x">
  <bpmn:process id="p"><bpmn:ioSpecification id="store" /></bpmn:process>
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="store_di" bpmnElement="store">
      <dc:Bounds x="0" y="0" width="50" height="50" />
    </bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""

    with pytest.raises(ValueError, match="diagram 'p' has no shapes"):
        render_svg(xml, "p")
