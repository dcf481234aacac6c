"""Checks on untrusted text and JSON: bad characters, nesting depth, NaN, storability."""

from __future__ import annotations

import pytest

from engine import untrusted


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("正常文本", None),
        ("emoji 😀 ok", None),
        ("a\x00b", untrusted.NUL),
        ("\ud800", untrusted.SURROGATE),
        ("x\udfff", untrusted.SURROGATE),
        ("\uffff", untrusted.NONCHARACTER),
        ("\ufffe", untrusted.NONCHARACTER),
        ("\ufdd0", untrusted.NONCHARACTER),
        ("\U0010ffff", untrusted.NONCHARACTER),
        ("\ufffd", None),
    ],
)
def test_text_problem_names_the_first_bad_character(text: str, problem: str | None) -> None:
    assert untrusted.text_problem(text) == problem


def test_value_problem_looks_into_keys_lists_and_deep_values() -> None:
    assert untrusted.value_problem({"a": [{"b": "ok"}], "n": 1, "f": 1.5, "t": True}) is None
    assert untrusted.value_problem({"\ud800": 1}) == untrusted.SURROGATE
    assert untrusted.value_problem({"a": [1, {"b": ["\uffff"]}]}) == untrusted.NONCHARACTER


def test_value_problem_does_not_recurse() -> None:
    deep: list[object] = ["\x00"]
    for _ in range(10_000):
        deep = [deep]
    assert untrusted.value_problem(deep) == untrusted.NUL


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        ("[" * 32 + "]" * 32, False),
        ("[" * 33 + "]" * 33, True),
        ('{"a": "' + "[" * 100 + '"}', False),
        ('{"a": "\\"' + "[" * 100 + '"}', False),
        ('{"a": {"b": {"c": []}}}', False),
    ],
)
def test_json_too_deep_counts_brackets_outside_strings(text: str, too_deep: bool) -> None:
    assert untrusted.json_too_deep(text) is too_deep


@pytest.mark.parametrize("text", ["NaN", '{"x": Infinity}', "[-Infinity]"])
def test_loads_strict_refuses_nan_and_infinity(text: str) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        untrusted.loads_strict(text)


def test_is_storable_is_false_only_for_lone_surrogates() -> None:
    assert untrusted.is_storable({"a": "ok", "b": ["\uffff"]})
    assert not untrusted.is_storable({"a": ["\ud800"]})
    assert not untrusted.is_storable("\udc00")
