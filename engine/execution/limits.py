"""Size limits for BPMN code, checked before an operation runs, and the guards that check them.

A single C-level operation (`10**64**...`, `[0] * 10**9`, `1 << 10**10`, `sum` of lists) holds
the interpreter for as long as it runs, so the time budget cannot stop it. engine.execution.rewrite
routes every operator and builtin that can make a large value through the guards here; each
guard computes the size of the result from the sizes of its operands and raises
ScriptLimitExceeded instead of starting the operation. Nothing here imports SpiffWorkflow.
"""

from __future__ import annotations

import builtins
import math
import operator
import re
from collections.abc import Callable
from collections.abc import Iterable
from datetime import date
from datetime import timedelta
from decimal import Decimal
from typing import Any
from typing import NoReturn

# About 3,000 decimal digits: far beyond any amount or count, and printable (Python refuses
# to turn integers of more than 4,300 digits into text, so a larger one could not be saved).
MAX_INT_BITS = 10_000
# Characters of a string, items of a list, tuple, set or dict made by one operation.
MAX_ITEMS = 1_000_000
# Width or precision of one format field (`f"{x:>20}"`, `"%.2f" % x`).
MAX_FORMAT_WIDTH = 1_000
# Characters of the text (or JSON) form of a script result: what a save would write.
MAX_DATA_SIZE = 10_000_000
MAX_ROUND_DIGITS = 1_000

SEQUENCES = (str, bytes, list, tuple)
_FLAT_SIZES: dict[type, int] = {bool: 5, float: 24, type(None): 4, date: 32, timedelta: 32}
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d*))?")
_NUMBER = re.compile(r"\d+")


class ScriptLimitExceeded(Exception):
    """Raised inside BPMN code instead of an operation whose result would be too large."""


def _refuse(message: str) -> NoReturn:
    raise ScriptLimitExceeded(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _check_int_bits(bits: float, what: str) -> None:
    if bits > MAX_INT_BITS:
        _refuse(f"{what} would have more than {MAX_INT_BITS} bits")


def _check_items(count: int, what: str) -> None:
    if count > MAX_ITEMS:
        _refuse(f"{what} would have more than {MAX_ITEMS} items")


def check_pow(base: Any, exponent: Any) -> None:
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        _check_int_bits(exponent * math.log2(abs(base)), "result of **")


def check_mul(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        _check_int_bits(left.bit_length() + right.bit_length(), "result of *")
    elif isinstance(left, SEQUENCES) and _is_int(right):
        _check_items(len(left) * right, "result of *")
    elif isinstance(right, SEQUENCES) and _is_int(left):
        _check_items(len(right) * left, "result of *")


def check_lshift(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right) and left != 0:
        _check_int_bits(left.bit_length() + right, "result of <<")


def check_add(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        _check_int_bits(max(left.bit_length(), right.bit_length()) + 1, "result of +")
    elif isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
        _check_items(len(left) + len(right), "result of +")


def check_mod(left: Any, right: Any) -> None:
    """`"%s" % x` formatting: field widths plus the text of the arguments."""
    if not isinstance(left, str | bytes):
        return
    text = left.decode("latin-1") if isinstance(left, bytes) else left
    size = len(text) + text_size(right, MAX_ITEMS)
    for width, precision in _PERCENT_FIELD.findall(text):
        if "*" in (width, precision):
            _refuse("'*' widths in % formatting are not allowed")
        size += _checked_width(width) + _checked_width(precision)
    _check_items(size, "result of %")


def _checked_width(number: str) -> int:
    width = int(number) if number else 0
    if width > MAX_FORMAT_WIDTH:
        _refuse(f"format width {width} is larger than {MAX_FORMAT_WIDTH}")
    return width


def _guarded(function: Callable[[Any, Any], Any], check: Callable[[Any, Any], None]) -> Any:
    def guarded(left: Any, right: Any) -> Any:
        check(left, right)
        return function(left, right)

    return guarded


# (operator symbol, plain function, in-place function, check)
_OPERATORS: tuple[tuple[str, Any, Any, Callable[[Any, Any], None]], ...] = (
    ("pow", operator.pow, operator.ipow, check_pow),
    ("mul", operator.mul, operator.imul, check_mul),
    ("lshift", operator.lshift, operator.ilshift, check_lshift),
    ("add", operator.add, operator.iadd, check_add),
    ("mod", operator.mod, operator.imod, check_mod),
)
BINARY_GUARDS = {name: _guarded(plain, check) for name, plain, _inplace, check in _OPERATORS}
INPLACE_GUARDS = {name: _guarded(inplace, check) for name, _plain, inplace, check in _OPERATORS}


def aug_item(container: Any, key: Any, name: str, value: Any) -> None:
    """`container[key] op= value` with the operator's guard (the rewrite of an AugAssign)."""
    container[key] = INPLACE_GUARDS[name](container[key], value)


def text_size(value: Any, limit: int) -> int:
    """An estimate of len(str(value)), counted only up to just past `limit`.

    Shared references count once per occurrence, as they print (and save): `[s] * 1000`
    is a thousand times the text of `s`. The walk stops as soon as the limit is passed, so
    it costs at most about `limit` visits even for self-referencing or aliased data.
    """
    total = 0
    pending: list[Any] = [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 2
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            pending.extend(item)
        else:
            total += _FLAT_SIZES.get(type(item), 64)
    return total


def check_data_size(value: Any, what: str) -> None:
    size = text_size(value, MAX_DATA_SIZE)
    if size > MAX_DATA_SIZE:
        _refuse(f"{what} would be larger than {MAX_DATA_SIZE} characters")


def _check_printed(value: Any, what: str) -> None:
    size = len(value) if isinstance(value, str) else text_size(value, MAX_ITEMS)
    _check_items(size, what)


def guarded_str(*args: Any, **kwargs: Any) -> str:
    """`str()` for BPMN code: the text of a container can dwarf the container itself."""
    if args:
        _check_printed(args[0], "text of str()")
    return str(*args, **kwargs)


def guarded_format(value: Any, conversion: int, spec: str) -> str:
    """One f-string field: `{value!conversion:spec}` with its size checked first."""
    for number in _NUMBER.findall(spec):
        _checked_width(number)
    _check_printed(value, "text of an f-string field")
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("a"):
        value = ascii(value)
    elif conversion == ord("s"):
        value = str(value)
    return format(value, spec)


def guarded_sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    """`sum()` of numbers only: summing lists or strings is one quadratic C call."""
    items = list(iterable)
    if not set(map(type, [*items, start])) <= {int, float, bool, Decimal}:
        _refuse("sum() takes numbers only")
    return builtins.sum(items, start)


def guarded_round(number: Any, ndigits: int | None = None) -> Any:
    """`round()`: `round(5, -10**9)` computes a power of ten with a billion digits."""
    if _is_int(ndigits) and abs(ndigits) > MAX_ROUND_DIGITS:  # type: ignore[arg-type]
        _refuse(f"round() to more than {MAX_ROUND_DIGITS} digits")
    return round(number, ndigits)


def sized_items(value: Any) -> Any:
    """A starred operand or slice-assigned value (`[*a, *a]`, `l[:0] = a`) of bounded size."""
    if isinstance(value, (*SEQUENCES, dict, set, frozenset)):
        _check_items(len(value), "unpacked value")
    return value


def _check_width_method(text: Any, width: Any, *_rest: Any) -> None:
    if _is_int(width):
        _check_items(width, "padded text")


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if not isinstance(text, str | bytes) or not isinstance(old, str | bytes):
        return
    found = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
    if _is_int(count) and count >= 0:
        found = min(found, count)
    if isinstance(new, str | bytes):
        _check_items(len(text) + found * (len(new) - len(old)), "result of replace()")


_WIDTH_METHODS = ("zfill", "ljust", "rjust", "center")
SIZED_METHODS = frozenset({*_WIDTH_METHODS, "replace", "join", "extend"})


def sized_method(obj: Any, name: str) -> Any:
    """`obj.name` for the methods whose result can outgrow their operands, guarded."""
    method = getattr(obj, name)
    if not isinstance(obj, str | bytes | list):
        return method
    if name == "join":
        return lambda iterable: _join(obj, method, iterable)
    if name == "extend" and isinstance(obj, list):
        return lambda iterable: _extend(obj, method, iterable)

    def guarded(*args: Any) -> Any:
        if name == "replace":
            _check_replace(obj, *args)
        else:
            _check_width_method(obj, *args)
        return method(*args)

    return guarded


def _join(separator: Any, method: Any, iterable: Iterable[Any]) -> Any:
    parts = list(iterable)
    size = len(separator) * max(len(parts) - 1, 0)
    size += builtins.sum(len(p) for p in parts if isinstance(p, str | bytes))
    _check_items(size, "result of join()")
    return method(parts)


def _extend(target: list[Any], method: Any, iterable: Iterable[Any]) -> None:
    items = list(iterable)
    _check_items(len(target) + len(items), "result of extend()")
    method(items)
