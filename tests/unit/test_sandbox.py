"""The script gate: escapes are rejected before they run, and CPU bombs run out of time."""

from __future__ import annotations

import pytest

from engine.errors import UnsafeScript
from engine.execution.sandbox import ScriptTimeoutError
from engine.execution.sandbox import check_source
from engine.execution.sandbox import run_with_budget
from engine.execution.script_engine import GuardedEnvironment

ESCAPES = {
    "subclasses_popen": (
        "w = [c for c in ().__class__.__base__.__subclasses__()"
        " if c.__name__ == '_wrap_close'][0]\n"
        "out = w.__init__.__globals__['popen']('id').read()"
    ),
    "dunder_import": "os = __import__('os')",
    "function_globals": "g = len.__self__",
    "globals_of_a_helper": "g = now_utc.__globals__",
    "getattr_escape": "c = getattr((), '__cla' + 'ss__')",
    "getattr_no_dunder_literal": "c = getattr(x, name)",
    "format_attribute": "s = '{0.__class__}'.format(x)",
    "format_attribute_concatenated": "s = ('{0._' + '_class__}').format(x)",
    "format_map": "s = '{x.y}'.format_map(d)",
    "format_assembled": "s = ('{0.' + '_' + '_class' + '_' + '_}').format(x)",
    "generator_frame_walk": (
        "gens = []\n"
        "g = (gens[0].gi_frame.f_back.f_back.f_back.f_back for i in [1])\n"
        "gens.append(g)\n"
        "out = list(g)[0].f_globals['sys'].modules['os'].popen('id').read()"
    ),
    "type_hierarchy": "bases = int.mro()",
    "import_statement": "import os",
    "from_import": "from os import system",
    "vars_builtin": "v = vars()",
    "type_builtin": "t = type(x)",
    "lambda": "f = lambda: 1",
    "huge_power": "n = 10 ** 10 ** 8",
    "power_of_a_variable": "n = 10 ** exponent",
    "eval_builtin": "eval('1')",
    "private_attribute": "x = y._private",
    "nested_power": "x = ((((10 ** 64) ** 64) ** 64) ** 64) ** 64",
    "match_class_dunder": "match x:\n    case str(__class__=c):\n        pass",
}


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_escapes_are_rejected_by_the_gate(source: str) -> None:
    with pytest.raises(UnsafeScript):
        check_source(source)


@pytest.mark.parametrize(
    "source",
    [
        "total = sum(v['amount'] for v in items.values())",
        "label = f'case {case_no}'",
        "ok = approved and len(reasons) == 0",
        "n = 2 ** 10",
        "due = now_utc()",
        "names = sorted({k: v for k, v in agencies.items()})",
        "code = case_no.strip().upper().replace(' ', '')",
        "late = (decided_on - received_on).days > 3",
        "first = parties.get('main', {}).get('name', '')",
    ],
)
def test_ordinary_scripts_pass_the_gate(source: str) -> None:
    check_source(source)


def test_a_syntax_error_names_its_line() -> None:
    with pytest.raises(UnsafeScript) as caught:
        check_source("a = 1\nb = (")

    assert caught.value.line == 2
    assert "syntax error" in caught.value.message


def test_a_forbidden_construct_names_its_line() -> None:
    with pytest.raises(UnsafeScript) as caught:
        check_source("a = 1\nb = 2\nimport os")

    assert caught.value.line == 3


def _environment(budget: float = 0.5) -> GuardedEnvironment:
    return GuardedEnvironment(budget, lambda name, params: {})


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_the_environment_refuses_escapes_at_run_time(source: str) -> None:
    context: dict[str, object] = {"x": 1, "y": 1, "d": {}, "name": "a", "exponent": 3}

    with pytest.raises(UnsafeScript):
        _environment().execute(source, context)


def test_the_environment_refuses_escapes_in_expressions() -> None:
    with pytest.raises(UnsafeScript):
        _environment().evaluate("().__class__.__base__.__subclasses__()", {})


def test_the_environment_runs_ordinary_scripts_with_the_script_api() -> None:
    context: dict[str, object] = {"items": {"a": 2, "b": 3}}

    _environment().execute("total = sum(items.values())\nstamp = now_utc()", context)

    assert context["total"] == 5
    assert isinstance(context["stamp"], str)


def test_the_environment_offers_only_safe_builtins() -> None:
    with pytest.raises(NameError, match="print"):
        _environment().execute("print('x')", {})


def test_a_cpu_bomb_is_stopped_by_the_budget() -> None:
    with pytest.raises(ScriptTimeoutError, match=r"longer than 0\.2 s"):
        _environment(budget=0.2).execute("while True:\n    pass", {})


def test_run_with_budget_restores_the_previous_tracer() -> None:
    import sys

    before = sys.gettrace()

    assert run_with_budget(lambda: 42, 1.0) == 42
    assert sys.gettrace() is before


def test_a_huge_range_is_refused_before_a_c_level_loop_starts() -> None:
    with pytest.raises(ValueError, match="range of more than"):
        _environment().execute("total = sum(range(10 ** 15))", {})


def test_a_small_range_still_works() -> None:
    context: dict[str, object] = {}

    _environment().execute("total = sum(range(1, 11))", context)

    assert context["total"] == 55
