"""Size limits: single C-level operations that would run for minutes are refused before they start.

Each payload below held the interpreter (and so every request of the server) for 30 s or more,
or exhausted memory, before the guards; now each is refused at once.
"""

from __future__ import annotations

import pytest

from engine.errors import UnsafeScript
from engine.execution.limits import MAX_DATA_SIZE
from engine.execution.limits import ScriptLimitExceeded
from engine.execution.sandbox import check_source
from engine.execution.script_engine import GuardedEnvironment

HOSTILE = {
    "power_of_a_power": "x = 10 ** 64\ny = x ** 64",
    "list_sum": "n = len(sum([[0] * 10] * 200000, []))",
    "string_repeat": "s = 'a' * 10 ** 9",
    "list_repeat": "l = [0] * 10 ** 9",
    "reversed_repeat": "l = 10 ** 9 * [0]",
    "shift": "x = 1 << 10 ** 10",
    "string_repeat_in_place": "s = 'ab'\nwhile True:\n    s *= 2",
    "item_repeat_in_place": "d = {'s': 'ab'}\nwhile True:\n    d['s'] *= 2",
    "concatenation_doubling": "s = 'ab'\nwhile True:\n    s = s + s",
    "integer_squaring": "n = 3\nwhile True:\n    n = n * n",
    "zfill": "s = 'a'.zfill(10 ** 9)",
    "replace": "s = ('a' * 10 ** 6).replace('a', 'aa')",
    "join": "s = ('a' * 10 ** 6).join(['x', 'y', 'z'])",
    "extend_doubling": "l = list(range(10 ** 6))\nwhile True:\n    l.extend(l)",
    "star_doubling": "l = list(range(10 ** 6))\nwhile True:\n    l = [*l, *l]",
    "str_of_aliases": "big = 'a' * 10 ** 6\ns = str([big] * 1000)",
    "fstring_of_aliases": "big = 'a' * 10 ** 6\ns = f'{[big] * 1000}'",
    "fstring_width": "s = f'{1:>999999999}'",
    "percent_width": "s = '%999999999d' % 1",
    "percent_of_aliases": "big = 'a' * 10 ** 6\ns = '%s' * 1000 % ((big,) * 1000)",
    "round_to_huge_digits": "x = round(5, -10 ** 9)",
    "aliased_task_data": "big = 'a' * 10 ** 6\nl = [big] * 1000",
}


def _environment(budget: float = 2.0) -> GuardedEnvironment:
    return GuardedEnvironment(budget, lambda name, params: {})


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_payload_is_refused_before_it_runs(source: str) -> None:
    with pytest.raises(ScriptLimitExceeded):
        _environment().execute(source, {})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = ((((10**64)**64)**64)**64)**64", "combined exponent larger than 64"),
        ("x = 10**10**10", "exponent must be a numeric constant"),
        ("match x:\n    case str(__class__=c):\n        pass", "attribute '__class__'"),
        ("match x:\n    case {'a': 1, **_rest}:\n        pass", "name '_rest'"),
        ("match x:\n    case [_first, *_]:\n        pass", "name '_first'"),
    ],
    ids=["nested_power", "tower_of_powers", "match_dunder", "match_private_rest", "match_private"],
)
def test_the_gate_refuses_nested_powers_and_match_patterns_reading_private_attributes(
    source: str, message: str
) -> None:
    with pytest.raises(UnsafeScript, match=message):
        check_source(source)


def test_the_refusal_names_the_operation_and_the_limit() -> None:
    with pytest.raises(ScriptLimitExceeded, match=r"result of \* would have more than 1000000"):
        _environment().execute("s = 'a' * 10 ** 9", {})
    with pytest.raises(ScriptLimitExceeded, match="sum\\(\\) takes numbers only"):
        _environment().evaluate("sum([[1]], [])", {})


def test_an_expression_with_a_huge_value_is_refused() -> None:
    with pytest.raises(ScriptLimitExceeded, match="value of the expression"):
        _environment().evaluate("[items] * 1000", {"items": "a" * 10**6})


def test_task_data_too_large_to_save_is_dropped_with_the_refusal() -> None:
    context: dict[str, object] = {"kept": 1}

    with pytest.raises(ScriptLimitExceeded, match=f"larger than {MAX_DATA_SIZE}"):
        _environment().execute("big = 'a' * 10 ** 6\nl = [big] * 1000", context)

    assert "l" not in context
    assert context["kept"] == 1


def test_ordinary_operations_still_work() -> None:
    context: dict[str, object] = {"amounts": [100, 250.5], "parts": ["a", "b"], "n": 7}
    script = (
        "total = sum(amounts)\n"
        "label = f'{total:.2f}|{n:>4}|{parts!r}'\n"
        "code = '%05.1f-%s' % (3.14159, 'x')\n"
        "joined = ','.join(parts).upper().zfill(5)\n"
        "items = parts + ['c']\n"
        "items *= 2\n"
        "items.extend([1, 2])\n"
        "power = 2 ** 64 + (2 ** 8) ** 8\n"
        "shifted = 1 << 100\n"
        "text = str(items)\n"
        "is_text = isinstance(text, str) and isinstance(n, (int, str))\n"
        "rounded = round(2.567, 2)\n"
        "counts = {'x': 1}\n"
        "counts['x'] += 41\n"
        "match parts:\n"
        "    case [first, *rest]:\n"
        "        head = first\n"
    )

    _environment().execute(script, context)

    assert context["total"] == 350.5
    assert context["label"] == "350.50|   7|['a', 'b']"
    assert context["code"] == "003.1-x"
    assert context["joined"] == "00A,B"
    assert context["items"] == ["a", "b", "c", "a", "b", "c", 1, 2]
    assert context["power"] == 2 * 2**64
    assert context["shifted"] == 2**100
    assert context["text"] == "['a', 'b', 'c', 'a', 'b', 'c', 1, 2]"
    assert context["is_text"] is True
    assert context["rounded"] == 2.57
    assert context["counts"] == {"x": 42}
    assert context["head"] == "a"
