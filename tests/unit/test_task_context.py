"""`x-xietong-context`: case data a task form shows beside itself."""

from __future__ import annotations

from web.task_display import ContextItem
from web.task_display import context_items

SCHEMA = {
    "type": "object",
    "x-xietong-context": [
        {"path": "draw_record.seed", "title": "随机种子"},
        {"path": "draw_record.record_id", "title": "抽取记录", "kind": "draw_record"},
        {
            "path": "object_draw.objects",
            "title": "抽中的检查对象",
            "columns": {"credit_code": "统一社会信用代码", "name": "名称"},
        },
        {"path": "date_proposals.dates", "title": "建议日期"},
        {"path": "missing.value", "title": "不显示"},
    ],
}
DATA = {
    "draw_record": {"seed": "abc123", "record_id": 7},
    "object_draw": {"objects": [{"credit_code": "91X", "name": "甲商行", "township": "x"}]},
    "date_proposals": {"dates": ["2026-12-01", "2026-12-02"]},
}


def test_values_tables_and_draw_links_are_shown_and_missing_paths_skipped() -> None:
    assert context_items(SCHEMA, DATA) == [
        ContextItem("随机种子", text="abc123"),
        ContextItem("抽取记录", text="#7", verify_record=7),
        ContextItem(
            "抽中的检查对象", headers=("统一社会信用代码", "名称"), rows=(("91X", "甲商行"),)
        ),
        ContextItem("建议日期", text="2026-12-01、2026-12-02"),
    ]


def test_a_form_without_context_shows_nothing() -> None:
    assert context_items({"type": "object"}, DATA) == []
