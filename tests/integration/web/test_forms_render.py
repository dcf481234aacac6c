"""The one form macro: every supported JSON Schema shape renders, and posts coerce back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import select_autoescape
from werkzeug.datastructures import MultiDict

from web.form_input import CoercionError
from web.form_input import coerce_form
from web.form_input import values_from_form
from web.form_input import wants_more_rows
from web.form_schema import FormContext
from web.form_schema import OrgChoice
from web.form_values import display_rows
from web.form_values import offered_choices
from web.form_values import values_from_data
from web.forms_render import build_fields
from web.forms_render import place_errors

TEMPLATES = Path(__file__).resolve().parents[3] / "web" / "templates"

SCHEMA = {
    "title": "测试表单",
    "type": "object",
    "required": ["case_no", "decision", "count"],
    "properties": {
        "case_no": {"type": "string", "title": "案件编号", "maxLength": 40},
        "summary": {"type": "string", "title": "案情摘要", "x-widget": "textarea"},
        "long_text": {"type": "string", "title": "长文本", "maxLength": 2000},
        "count": {"type": "integer", "title": "数量", "minimum": 1},
        "amount": {"type": "number", "title": "金额"},
        "urgent": {"type": "boolean", "title": "紧急"},
        "found_on": {"type": "string", "format": "date", "title": "发现日期"},
        "meet_at": {"type": "string", "format": "date-time", "title": "会商时间"},
        "decision": {
            "title": "决定",
            "oneOf": [
                {"const": "approve", "title": "批准"},
                {"const": "reject", "title": "不批准"},
            ],
        },
        "agency": {
            "type": "string",
            "title": "机关",
            "oneOf": [{"const": f"YJS-{i}", "title": f"机关{i}"} for i in range(6)],
        },
        "names": {"type": "array", "title": "人员", "items": {"type": "string"}},
        "fields": {
            "type": "array",
            "title": "执法领域",
            "items": {
                "oneOf": [{"const": "food", "title": "食品"}, {"const": "drug", "title": "药品"}]
            },
        },
        "party": {
            "type": "object",
            "title": "当事人",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "title": "名称"},
                "credit_code": {"type": "string", "title": "统一社会信用代码"},
            },
        },
        "signed_at": {
            "type": "string",
            "format": "date-time",
            "title": "签收时间",
            "x-xietong-stamp": True,
        },
    },
}


def render(fields, general=()):
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    template = env.from_string(
        '{% import "_macros/form.html" as forms %}{{ forms.render_form(fields, general) }}'
    )
    return template.render(fields=fields, general=general)


def widgets(fields):
    return {f.name: f.widget for f in fields}


def test_each_schema_shape_gets_its_widget():
    assert widgets(build_fields(SCHEMA)) == {
        "case_no": "text",
        "summary": "textarea",
        "long_text": "textarea",
        "count": "integer",
        "amount": "number",
        "urgent": "checkbox",
        "found_on": "date",
        "meet_at": "datetime",
        "decision": "radios",
        "agency": "select",
        "names": "lines",
        "fields": "checkboxes",
        "party": "fieldset",
        "signed_at": "stamp",
    }


def test_rendered_form_has_inputs_required_markers_and_stamp_note():
    html = render(build_fields(SCHEMA))
    assert 'type="datetime-local" id="f-meet_at" name="meet_at"' in html
    assert 'type="date" id="f-found_on"' in html
    assert 'type="number" id="f-count" name="count" value="" min="1" required' in html
    assert '<textarea id="f-summary" name="summary"' in html
    assert '<input type="radio" name="decision" value="reject" required> 不批准' in html
    assert '<option value="YJS-5">机关5</option>' in html
    assert '<input type="checkbox" name="fields" value="drug"> 药品' in html
    assert "<legend>当事人</legend>" in html
    assert 'name="party.name"' in html
    assert "提交时自动记录" in html
    assert 'name="signed_at"' not in html
    assert html.count('class="required"') == 4  # case_no, count, decision, party.name


def test_prefill_shows_data_in_local_time_and_lines():
    data = {
        "meet_at": "2026-03-01T02:30:00+00:00",
        "names": ["zhang", "li"],
        "fields": ["food"],
        "urgent": True,
        "party": {"name": "某公司"},
    }
    html = render(build_fields(SCHEMA, values_from_data(SCHEMA, data)))
    assert 'value="2026-03-01T10:30"' in html
    assert ">zhang\nli</textarea>" in html
    assert 'value="food" checked' in html
    assert 'id="f-urgent" name="urgent" value="true" checked' in html
    assert 'name="party.name" value="某公司"' in html


def test_posted_strings_become_json_types():
    form = MultiDict(
        [
            ("case_no", " A-1 "),
            ("count", "3"),
            ("amount", "2.5"),
            ("urgent", "true"),
            ("found_on", "2026-02-03"),
            ("meet_at", "2026-03-01T10:30"),
            ("decision", "approve"),
            ("names", "zhang\r\n\r\nli\r\n"),
            ("fields", "food"),
            ("fields", "drug"),
            ("party.name", "某公司"),
            ("party.credit_code", ""),
            ("signed_at", "2020-01-01T00:00"),
        ]
    )
    assert coerce_form(SCHEMA, form) == {
        "case_no": "A-1",
        "count": 3,
        "amount": 2.5,
        "urgent": True,
        "found_on": "2026-02-03",
        "meet_at": "2026-03-01T10:30:00+08:00",
        "decision": "approve",
        "names": ["zhang", "li"],
        "fields": ["food", "drug"],
        "party": {"name": "某公司"},
    }


def test_unchecked_box_is_false_and_empty_inputs_are_left_out():
    assert coerce_form(SCHEMA, MultiDict([("case_no", ""), ("count", "")])) == {
        "urgent": False,
        "fields": [],
    }


def test_values_that_are_not_their_type_become_field_errors():
    form = MultiDict([("count", "三"), ("found_on", "2026-13-01"), ("amount", "x")])
    with pytest.raises(CoercionError) as caught:
        coerce_form(SCHEMA, form)
    assert caught.value.field_errors == {
        "count": "请输入整数",
        "found_on": "请输入有效日期",
        "amount": "请输入数字",
    }


def test_errors_are_shown_inline_and_typed_values_kept():
    form = MultiDict([("case_no", "A-<1>"), ("count", "三"), ("party.name", "")])
    placed, general = place_errors(
        SCHEMA,
        {"count": "请输入整数", "party/name": "必填", "names/1": "无此用户", "": "整体错误"},
    )
    assert placed == {"count": "请输入整数", "party.name": "必填", "names": "无此用户"}
    assert general == ["整体错误"]
    html = render(build_fields(SCHEMA, values_from_form(SCHEMA, form), placed), general)
    assert 'value="A-&lt;1&gt;"' in html
    assert 'value="三"' in html
    assert '<p class="field-error" id="e-count" role="alert">请输入整数</p>' in html
    assert 'aria-invalid="true"' in html
    assert "<li>整体错误</li>" in html


def test_submitted_data_reads_back_with_titles_and_labels():
    data = {
        "decision": "reject",
        "urgent": False,
        "names": ["zhang", "li"],
        "party": {"name": "某公司", "credit_code": "X1"},
        "meet_at": "2026-03-01T02:30:00+00:00",
        "not_in_form": 1,
    }
    assert display_rows(SCHEMA, data) == [
        ("紧急", "否"),
        ("会商时间", "2026-03-01 10:30"),
        ("决定", "不批准"),
        ("人员", "zhang、li"),
        ("当事人", "名称：某公司；统一社会信用代码：X1"),
    ]


TABLE_SCHEMA = {
    "type": "object",
    "required": ["goods"],
    "properties": {
        "goods": {
            "type": "array",
            "title": "涉案物品清单",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["item", "quantity"],
                "properties": {
                    "item": {"type": "string", "title": "物品"},
                    "quantity": {"type": "integer", "title": "数量", "minimum": 1},
                    "kind": {
                        "title": "类别",
                        "oneOf": [
                            {"const": "food", "title": "食品"},
                            {"const": "drug", "title": "药品"},
                        ],
                    },
                    "sealed": {"type": "boolean", "title": "已封存"},
                },
            },
        },
        "matrix": {"type": "array", "title": "矩阵", "items": {"type": "array"}},
    },
}


def test_a_list_of_objects_is_a_table_with_blank_rows():
    fields = build_fields(TABLE_SCHEMA, values_from_data(TABLE_SCHEMA, {}))
    assert widgets(fields) == {"goods": "table", "matrix": "json"}
    html = render(fields)
    assert [c.title for c in fields[0].children] == ["物品", "数量", "类别", "已封存"]
    assert len(fields[0].rows) == 3
    assert 'name="goods.2.sealed"' in html and 'name="goods.3.item"' not in html
    assert '<select name="goods.0.kind" aria-label="类别（第1行）">' in html
    assert 'name="_more_rows" value="goods"' in html


def test_table_rows_prefill_from_data_plus_blank_rows():
    data = {"goods": [{"item": "白酒", "quantity": 12, "kind": "food", "sealed": True}]}
    fields = build_fields(TABLE_SCHEMA, values_from_data(TABLE_SCHEMA, data))
    html = render(fields)
    assert len(fields[0].rows) == 4
    assert 'name="goods.0.item" value="白酒"' in html
    assert '<option value="food" selected>食品</option>' in html
    assert 'name="goods.0.sealed" value="true" aria-label="已封存（第1行）" checked' in html


def test_blank_table_rows_are_dropped_and_the_rest_renumbered():
    form = MultiDict(
        [
            ("goods.0.item", "白酒"),
            ("goods.0.quantity", "12"),
            ("goods.0.kind", "food"),
            ("goods.0.sealed", "true"),
            ("goods.1.item", " "),
            ("goods.1.quantity", ""),
            ("goods.2.item", "药品甲"),
            ("goods.2.quantity", "3"),
            ("goods.3.item", ""),
            ("goods.4.quantity", ""),
        ]
    )
    assert coerce_form(TABLE_SCHEMA, form) == {
        "goods": [
            {"item": "白酒", "quantity": 12, "kind": "food", "sealed": True},
            {"item": "药品甲", "quantity": 3, "sealed": False},
        ]
    }
    shown = build_fields(TABLE_SCHEMA, values_from_form(TABLE_SCHEMA, form))[0].rows
    assert [row[0].value for row in shown] == ["白酒", "药品甲", "", "", ""]
    assert coerce_form(TABLE_SCHEMA, MultiDict([("goods.0.item", "")])) == {"goods": []}


def test_more_rows_button_adds_rows_and_keeps_what_was_typed():
    form = MultiDict([("goods.0.item", "白酒"), ("goods.2.item", ""), ("_more_rows", "goods")])
    assert wants_more_rows(form)
    fields = build_fields(TABLE_SCHEMA, values_from_form(TABLE_SCHEMA, form))
    assert len(fields[0].rows) == 7
    assert fields[0].rows[0][0].value == "白酒"


def test_table_cell_errors_land_on_their_cell():
    with pytest.raises(CoercionError) as caught:
        coerce_form(TABLE_SCHEMA, MultiDict([("goods.0.item", "白酒"), ("goods.0.quantity", "三")]))
    assert caught.value.field_errors == {"goods.0.quantity": "请输入整数"}
    placed, general = place_errors(
        TABLE_SCHEMA, {"goods.1.quantity": "必填", "goods": "至少 1 项", "goods.1": "不允许"}
    )
    assert placed == {"goods.1.quantity": "必填", "goods": "至少 1 项；不允许"}
    assert general == []
    form = MultiDict([("goods.0.item", "a"), ("goods.1.item", "b")])
    html = render(build_fields(TABLE_SCHEMA, values_from_form(TABLE_SCHEMA, form), placed))
    assert '<p class="field-error" id="e-goods.1.quantity" role="alert">必填</p>' in html
    assert '<p class="field-error" id="e-goods" role="alert">至少 1 项；不允许</p>' in html


ORGS = FormContext(
    orgs=(
        OrgChoice("YJS-SCJG", "英吉沙县市场监督管理局", "agency"),
        OrgChoice("YJS-YJ", "英吉沙县应急管理局", "agency"),
        OrgChoice("TWP-WUQIA", "乌恰镇人民政府", "township"),
    ),
    user_org="YJS-SCJG",
)
ORG = {"type": "string", "x-xietong-widget": "org"}
KEYED_SCHEMA = {
    "type": "object",
    "required": ["participants"],
    "properties": {
        "lead_org": {
            **ORG,
            "title": "牵头部门",
            "x-xietong-org-types": ["agency"],
            "x-xietong-default": "user_org",
        },
        "township_org": {**ORG, "title": "乡镇", "x-xietong-org-types": ["township"]},
        "any_org": {**ORG, "title": "任一机构"},
        "participants": {
            "type": "object",
            "title": "配合部门",
            "minProperties": 1,
            "x-xietong-key": "org",
            "additionalProperties": {
                "type": "object",
                "required": ["org", "field"],
                "properties": {
                    "org": {**ORG, "title": "部门", "x-xietong-org-types": ["agency"]},
                    "field": {
                        "type": "string",
                        "title": "执法领域",
                        "oneOf": [
                            {"const": "work_safety", "title": "安全生产"},
                            {"const": "health", "title": "卫生健康"},
                        ],
                    },
                },
            },
        },
    },
}


def test_org_pickers_offer_active_organizations_by_name_and_preselect_the_users_own():
    values = values_from_data(KEYED_SCHEMA, {}, context=ORGS)
    fields = {f.name: f for f in build_fields(KEYED_SCHEMA, values, context=ORGS)}
    assert fields["lead_org"].widget == "org"
    assert fields["lead_org"].options == [
        ("YJS-SCJG", "英吉沙县市场监督管理局"),
        ("YJS-YJ", "英吉沙县应急管理局"),
    ]
    assert fields["township_org"].options == [("TWP-WUQIA", "乌恰镇人民政府")]
    assert values["lead_org"] == "YJS-SCJG"
    assert "township_org" not in values
    html = render(list(fields.values()))
    assert '<option value="YJS-SCJG" selected>英吉沙县市场监督管理局</option>' in html
    assert '<optgroup label="行政执法机关">' in html
    assert '<optgroup label="乡镇人民政府"><option value="TWP-WUQIA">乌恰镇人民政府' in html
    assert '<select name="participants.0.org" aria-label="部门（第1行）">' in html


def test_the_user_org_default_is_left_empty_when_the_picker_does_not_offer_it():
    township_user = FormContext(orgs=ORGS.orgs, user_org="TWP-WUQIA")
    assert "lead_org" not in values_from_data(KEYED_SCHEMA, {}, context=township_user)


def test_a_stored_org_no_longer_offered_stays_selectable_and_reads_as_its_name():
    fields = build_fields(KEYED_SCHEMA, {"township_org": "TWP-GONE"}, context=ORGS)
    assert ("TWP-GONE", "TWP-GONE") in fields[1].options
    rows = display_rows(
        KEYED_SCHEMA,
        {
            "lead_org": "YJS-SCJG",
            "participants": {"YJS-YJ": {"org": "YJS-YJ", "field": "work_safety"}},
        },
        context=ORGS,
    )
    assert rows == [
        ("牵头部门", "英吉沙县市场监督管理局"),
        ("配合部门", "部门：英吉沙县应急管理局；执法领域：安全生产"),
    ]


def test_a_keyed_object_is_a_table_of_rows_read_back_as_a_dict():
    fields = {f.name: f for f in build_fields(KEYED_SCHEMA, context=ORGS)}
    assert fields["participants"].widget == "keyed"
    assert len(fields["participants"].rows) == 3
    form = MultiDict(
        [
            ("lead_org", "YJS-SCJG"),
            ("participants.0.org", ""),
            ("participants.0.field", ""),
            ("participants.1.org", "YJS-YJ"),
            ("participants.1.field", "work_safety"),
            ("participants.2.org", "YJS-SCJG"),
            ("participants.2.field", "health"),
        ]
    )
    assert coerce_form(KEYED_SCHEMA, form) == {
        "lead_org": "YJS-SCJG",
        "participants": {
            "YJS-YJ": {"org": "YJS-YJ", "field": "work_safety"},
            "YJS-SCJG": {"org": "YJS-SCJG", "field": "health"},
        },
    }
    values = values_from_form(KEYED_SCHEMA, form)
    assert values["participants.0.org"] == "YJS-YJ"
    assert values["participants.#rows"] == "5"


def test_keyed_rows_prefill_from_data_and_more_rows_adds_three():
    data = {"participants": {"YJS-YJ": {"org": "YJS-YJ", "field": "work_safety"}}}
    fields = build_fields(KEYED_SCHEMA, values_from_data(KEYED_SCHEMA, data), context=ORGS)
    participants = fields[3]
    assert len(participants.rows) == 4
    assert [c.value for c in participants.rows[0]] == ["YJS-YJ", "work_safety"]
    form = MultiDict([("participants.0.org", "YJS-YJ"), ("_more_rows", "participants")])
    more = build_fields(KEYED_SCHEMA, values_from_form(KEYED_SCHEMA, form), context=ORGS)
    assert len(more[3].rows) == 7
    assert '<button type="submit" class="secondary" name="_more_rows" value="participants"' in (
        render(more)
    )


def test_keyed_row_without_a_key_or_with_a_repeated_key_is_an_error_on_its_cell():
    form = MultiDict(
        [
            ("participants.0.org", "YJS-YJ"),
            ("participants.0.field", "health"),
            ("participants.1.field", "work_safety"),
            ("participants.2.org", "YJS-YJ"),
        ]
    )
    with pytest.raises(CoercionError) as caught:
        coerce_form(KEYED_SCHEMA, form)
    assert caught.value.field_errors == {
        "participants.1.org": "必填",
        "participants.2.org": "与前面的行重复",
    }


def test_engine_errors_on_a_keyed_row_land_on_the_cell_of_that_row():
    placed, general = place_errors(
        KEYED_SCHEMA,
        {
            "participants.YJS-YJ.field": "不是允许的选项",
            "participants.YJS-X.org": "没有这个机构",
            "participants": "至少 1 项",
        },
    )
    assert general == []
    form = MultiDict(
        [
            ("participants.0.org", "YJS-X"),
            ("participants.0.field", "health"),
            ("participants.1.org", "YJS-YJ"),
            ("participants.1.field", "x"),
        ]
    )
    fields = build_fields(KEYED_SCHEMA, values_from_form(KEYED_SCHEMA, form), placed, ORGS)
    rows = fields[3].rows
    assert [c.error for c in rows[0]] == ["没有这个机构", None]
    assert [c.error for c in rows[1]] == [None, "不是允许的选项"]
    assert fields[3].error == "至少 1 项"


def test_choices_from_the_data_turn_a_date_into_a_select_that_survives_a_failed_post():
    schema = {
        "type": "object",
        "properties": {
            "visit_date": {
                "type": "string",
                "format": "date",
                "title": "检查日期",
                "x-xietong-choices": "date_proposals.dates",
            }
        },
    }
    data = {"date_proposals": {"dates": ["2026-12-14", "2026-12-15"]}}
    html = render(build_fields(schema, values_from_data(schema, data)))
    assert '<option value="2026-12-15">2026-12-15</option>' in html
    assert "#choices" not in html, "the offer is not handed to the browser to post back"
    form = MultiDict([("visit_date", "2026-12-15")])
    fields = build_fields(
        schema, {**values_from_form(schema, form), **offered_choices(schema, data)}
    )
    assert fields[0].widget == "choices"
    assert '<option value="2026-12-15" selected>' in render(fields)
    assert coerce_form(schema, form) == {"visit_date": "2026-12-15"}
    assert build_fields(schema, values_from_data(schema, {}))[0].widget == "date"


def test_choices_posted_back_by_the_browser_are_ignored():
    schema = {
        "type": "object",
        "properties": {
            "visit_date": {"type": "string", "format": "date", "x-xietong-choices": "d.dates"}
        },
    }
    form = MultiDict([("visit_date", "1900-01-01"), ("visit_date.#choices", "1900-01-01")])
    values = values_from_form(schema, form)
    assert "visit_date.#choices" not in values
    assert build_fields(schema, values)[0].widget == "date"


def test_offered_item_codes_are_ticked_as_checkboxes():
    schema = {
        "type": "object",
        "properties": {
            "handed_items": {
                "type": "array",
                "title": "事项编码",
                "items": {"type": "string"},
                "x-xietong-choices": {"path": "items", "key": "item_code"},
            }
        },
    }
    data = {"items": [{"item_code": "A-1"}, {"item_code": "B-2"}], "handed_items": ["B-2"]}
    [built] = build_fields(schema, values_from_data(schema, data))
    assert (built.widget, built.options, built.value) == (
        "checkboxes",
        [("A-1", "A-1"), ("B-2", "B-2")],
        ["B-2"],
    )
    form = MultiDict([("handed_items", "A-1"), ("handed_items", "B-2")])
    assert coerce_form(schema, form) == {"handed_items": ["A-1", "B-2"]}


def test_a_huge_number_stays_a_float_and_reads_as_an_amount():
    schema = {"type": "object", "properties": {"amount": {"type": "number", "title": "金额"}}}
    assert coerce_form(schema, MultiDict([("amount", "1e308")])) == {"amount": 1e308}
    assert coerce_form(schema, MultiDict([("amount", "1200")])) == {"amount": 1200}
    with pytest.raises(CoercionError):
        coerce_form(schema, MultiDict([("amount", "inf")]))
    assert display_rows(schema, {"amount": 1234567.5}) == [("金额", "1,234,567.5")]
    assert display_rows(schema, {"amount": 1e308}) == [("金额", "1.000e+308")]


WORKFLOW_FORMS = sorted((TEMPLATES.parents[1] / "workflows").glob("*/forms/*.json"))


@pytest.mark.parametrize("path", WORKFLOW_FORMS, ids=lambda p: f"{p.parts[-3]}/{p.stem}")
def test_every_deployed_form_renders_an_input_for_each_field(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    fields = build_fields(schema, values_from_data(schema, {}))
    html = render(fields)
    for f in fields:
        assert f.widget != "json", f"{f.name} falls back to raw JSON"
        expected = {
            "stamp": f'id="f-{f.name}"',
            "table": f'name="{f.name}.0.',
            "keyed": f'name="{f.name}.0.',
            "fieldset": f'id="f-{f.name}"',
        }.get(f.widget, f'name="{f.name}"')
        assert expected in html, f.name
    assert isinstance(coerce_form(schema, MultiDict()), dict)


def test_a_table_column_offers_the_drawn_objects_on_every_row():
    schema = {
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "title": "检查发现",
                "items": {
                    "type": "object",
                    "properties": {
                        "object_credit_code": {
                            "type": "string",
                            "title": "检查对象",
                            "x-xietong-choices": {"path": "objects", "key": "credit_code"},
                        },
                        "note": {"type": "string", "title": "说明"},
                    },
                },
            }
        },
    }
    data = {"objects": [{"credit_code": "91A"}, {"credit_code": "91B"}]}
    [table] = build_fields(schema, values_from_data(schema, data))
    cells = [row[0] for row in table.rows]
    assert {cell.widget for cell in cells} == {"choices"}
    assert cells[0].options == [("91A", "91A"), ("91B", "91B")]
    assert '<option value="91B">91B</option>' in render([table])


def test_an_acting_organization_picker_offers_only_the_users_own():
    schema = {
        "type": "object",
        "properties": {
            "lead_org": {"type": "string", "x-xietong-widget": "org", "x-xietong-acting-org": True},
            "partner": {"type": "string", "x-xietong-widget": "org"},
        },
    }
    orgs = [OrgChoice("YJS-YJ", "应急管理局", "agency"), OrgChoice("YJS-WJW", "卫健委", "agency")]
    context = FormContext(orgs=orgs, user_org="YJS-YJ", acting=frozenset({"YJS-YJ"}))
    posted = {"lead_org": "YJS-WJW", "partner": "YJS-WJW"}
    lead, partner = build_fields(schema, posted, context=context)
    assert lead.options == [("YJS-YJ", "应急管理局")]
    assert [code for code, _name in partner.options] == ["YJS-YJ", "YJS-WJW"]
