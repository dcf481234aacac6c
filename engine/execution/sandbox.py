"""The gate BPMN code passes before it runs: an AST check and a wall-clock budget.

SpiffWorkflow evaluates scripts, conditions and expressions with plain exec/eval, and
restricting builtins is no sandbox (SPIFFWORKFLOW.md §3.2). So every piece of BPMN code is
parsed and rejected if it imports, touches a name starting with an underscore, names an
escape hatch, or reads an attribute outside a short list of plain data methods (frames,
code objects and `str.format` fields lead back to real modules without a single
underscore); the same check runs at deploy (lint) and before every run.

CPU bombs: a pure-Python loop is stopped by a trace function that checks the clock on every
line and raises once the budget is spent; it runs only while BPMN code runs, so the rest of
the process is not slowed. A single huge C-level operation cannot be interrupted that way:
the gate refuses large and nested constant exponents, `range` is bounded, and every other
operation that can build a huge value is checked before it runs (engine.execution.rewrite
and engine.execution.limits).
"""

from __future__ import annotations

import ast
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any
from typing import TypeVar

from engine.errors import UnsafeScript

T = TypeVar("T")

FORBIDDEN_NAMES = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "globals",
        "locals",
        "vars",
        "dir",
        "type",
        "object",
        "super",
        "input",
        "breakpoint",
        "help",
        "memoryview",
        "bytearray",
        "classmethod",
        "staticmethod",
        "property",
        "exit",
        "quit",
    }
)
FORBIDDEN_NODES = (
    ast.Import,
    ast.ImportFrom,
    ast.Global,
    ast.Nonlocal,
    ast.ClassDef,
    ast.AsyncFunctionDef,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.Lambda,
    ast.FunctionDef,
)
# The only attributes BPMN code may read: methods and fields of plain data (dict, list, str,
# set, date/datetime/timedelta). Everything else is refused, because introspection
# attributes without underscores (`gi_frame.f_back.f_globals`) reach real modules, and
# str.format resolves `{0.attr}` fields at run time where the gate cannot see them.
ALLOWED_ATTRIBUTES = frozenset(
    {
        # dict
        "get", "items", "keys", "values", "copy", "update", "setdefault", "pop",
        # list
        "append", "extend", "insert", "remove", "index", "count", "sort", "reverse",
        # str
        "upper", "lower", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines",
        "join", "startswith", "endswith", "replace", "find", "rfind", "isdigit", "isalpha",
        "isalnum", "isspace", "isdecimal", "isnumeric", "title", "capitalize", "casefold",
        "zfill", "ljust", "rjust", "center", "partition", "rpartition", "removeprefix",
        "removesuffix",
        # set
        "add", "discard", "union", "intersection", "difference", "symmetric_difference",
        "issubset", "issuperset", "isdisjoint",
        # date, datetime, timedelta
        "year", "month", "day", "hour", "minute", "second", "weekday", "isoweekday",
        "isoformat", "date", "days", "seconds", "total_seconds",
    }
)  # fmt: skip
MAX_EXPONENT = 64


MAX_RANGE = 1_000_000


class ScriptTimeoutError(Exception):
    """Raised inside BPMN code when its time budget is spent."""


def bounded_range(*args: int) -> range:
    """`range` for BPMN code: `sum(range(10**15))` is one C call the budget cannot stop.

    Raises:
        ValueError: when the range holds more than MAX_RANGE numbers.
    """
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise ValueError(f"range of more than {MAX_RANGE} numbers")
    return numbers


def _node_problem(node: ast.AST) -> str | None:
    if isinstance(node, FORBIDDEN_NODES):
        return f"{type(node).__name__} is not allowed"
    if isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in FORBIDDEN_NAMES):
        return f"name '{node.id}' is not allowed"
    if isinstance(node, ast.Attribute) and node.attr not in ALLOWED_ATTRIBUTES:
        return f"attribute '{node.attr}' is not allowed"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
        return "strings containing '__' are not allowed"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return _power_problem(node)
    if isinstance(node, ast.pattern):
        return _pattern_problem(node)
    return None


def _power_problem(node: ast.BinOp) -> str | None:
    """Exponents are small constants, and so is their product along a chain of powers."""
    total = 1.0
    current: ast.expr = node
    while isinstance(current, ast.BinOp) and isinstance(current.op, ast.Pow):
        exponent = current.right
        if not (isinstance(exponent, ast.Constant) and isinstance(exponent.value, int | float)):
            return "exponent must be a numeric constant"
        if abs(exponent.value) > MAX_EXPONENT:
            return f"exponent larger than {MAX_EXPONENT}"
        total *= abs(exponent.value)
        current = current.left
    if total > MAX_EXPONENT:
        return f"nested powers with a combined exponent larger than {MAX_EXPONENT}"
    return None


def _pattern_problem(node: ast.pattern) -> str | None:
    """`match` patterns read attributes (`case str(__class__=c)`) and bind names: same rules."""
    if isinstance(node, ast.MatchClass):
        for attribute in node.kwd_attrs:
            if attribute not in ALLOWED_ATTRIBUTES:
                return f"attribute '{attribute}' is not allowed"
    names = [getattr(node, "name", None), getattr(node, "rest", None)]
    for name in names:
        if name and (name.startswith("_") or name in FORBIDDEN_NAMES):
            return f"name '{name}' is not allowed"
    return None


def check_source(source: str, mode: str = "exec") -> None:
    """Reject BPMN code that could escape the script environment.

    Raises:
        UnsafeScript: on a syntax error or a forbidden construct, with its line.
    """
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise UnsafeScript(f"syntax error: {exc.msg}", line=exc.lineno) from exc
    for node in ast.walk(tree):
        problem = _node_problem(node)
        if problem:
            raise UnsafeScript(problem, line=getattr(node, "lineno", None))


def run_with_budget(func: Callable[[], T], seconds: float) -> T:
    """Run `func` (which executes BPMN code) and stop it once `seconds` have passed.

    Raises:
        ScriptTimeoutError: from inside the running code when the budget is spent.
    """
    deadline = time.monotonic() + seconds
    previous = sys.gettrace()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise ScriptTimeoutError(f"script ran longer than {seconds:g} s")
        return tracer

    sys.settrace(tracer)
    try:
        return func()
    finally:
        sys.settrace(previous)
