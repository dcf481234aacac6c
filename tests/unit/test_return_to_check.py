"""process.json `return_to` is checked at deploy: user task ids on both sides, lists of them."""

from __future__ import annotations

from engine.execution.checks import _return_problems

TASKS = {"draft_report", "head_decision"}


def _messages(table: object) -> list[str]:
    return [f"{p.element}: {p.message}" for p in _return_problems(table, TASKS)]


def test_a_listed_earlier_user_task_is_accepted() -> None:
    assert _messages({"head_decision": ["draft_report"]}) == []
    assert _messages(None) == []


def test_unknown_tasks_self_returns_and_bad_shapes_are_refused() -> None:
    assert _messages([]) == ["return_to: return_to must be an object"]
    assert _messages({"nowhere": ["draft_report"]}) == ["nowhere: return_to: not a user task"]
    assert _messages({"head_decision": ["head_decision", "gateway"]}) == [
        "head_decision: return_to: 'head_decision' is not another user task",
        "head_decision: return_to: 'gateway' is not another user task",
    ]
    assert _messages({"head_decision": "draft_report"}) == [
        "head_decision: return_to: targets must be a non-empty list of user task ids"
    ]
