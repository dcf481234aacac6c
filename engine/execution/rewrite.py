"""Compile BPMN code with its size-growing operations routed through engine.execution.limits.

The gate (engine.execution.sandbox.check_source) runs first and refuses every name that starts
with an underscore, so the `_xt_*` helpers this rewrite calls cannot be named, replaced or
reached by the code itself; they live in the environment's builtins, never in task data.

What is rewritten (everything else compiles as written):
- `a ** b`, `a * b`, `a << b`, `a + b`, `a % b` and their augmented forms;
- f-string fields, `str` (except as the class in `isinstance` and `match`);
- the methods in limits.SIZED_METHODS (`zfill`, `replace`, `join`, `extend`, ...);
- starred operands (`[*a, *a]`) and values assigned to slices.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from types import CodeType
from typing import Any

from engine.execution import limits
from engine.execution.sandbox import check_source

_OPERATOR_NAMES: dict[type[ast.operator], str] = {
    ast.Pow: "pow",
    ast.Mult: "mul",
    ast.LShift: "lshift",
    ast.Add: "add",
    ast.Mod: "mod",
}

HELPERS: dict[str, Any] = {
    **{f"_xt_{name}": guard for name, guard in limits.BINARY_GUARDS.items()},
    **{f"_xt_i{name}": guard for name, guard in limits.INPLACE_GUARDS.items()},
    "_xt_aug_item": limits.aug_item,
    "_xt_slice": slice,
    "_xt_str": limits.guarded_str,
    "_xt_format": limits.guarded_format,
    "_xt_method": limits.sized_method,
    "_xt_items": limits.sized_items,
}


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=list(args), keywords=[])


def _as_load(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Slice):
        none = ast.Constant(value=None)
        return _call("_xt_slice", node.lower or none, node.upper or none, node.step or none)
    return node


class _Guards(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        name = _OPERATOR_NAMES.get(type(node.op))
        if name is None:
            return node
        return ast.copy_location(_call(f"_xt_{name}", node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        name = _OPERATOR_NAMES.get(type(node.op))
        target = node.target
        if name is None or isinstance(target, ast.Attribute):
            return node
        if isinstance(target, ast.Name):
            value = _call(f"_xt_i{name}", ast.Name(id=target.id, ctx=ast.Load()), node.value)
            assign = ast.Assign(targets=[target], value=value)
            return ast.copy_location(assign, node)
        assert isinstance(target, ast.Subscript)  # noqa: S101 - the only other target kind
        call = _call(
            "_xt_aug_item", target.value, _as_load(target.slice), ast.Constant(name), node.value
        )
        return ast.copy_location(ast.Expr(value=call), node)

    def visit_Assign(self, node: ast.Assign) -> ast.stmt:
        self.generic_visit(node)
        if any(
            isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Slice) for t in node.targets
        ):
            node.value = ast.copy_location(_call("_xt_items", node.value), node.value)
        return node

    def visit_Starred(self, node: ast.Starred) -> ast.Starred:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = ast.copy_location(_call("_xt_items", node.value), node.value)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.FormattedValue:
        self.generic_visit(node)
        spec: ast.expr = node.format_spec or ast.Constant(value="")
        call = _call("_xt_format", node.value, ast.Constant(value=node.conversion), spec)
        formatted = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        return ast.copy_location(formatted, node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        self.generic_visit(node)
        if node.attr in limits.SIZED_METHODS and isinstance(node.ctx, ast.Load):
            call = _call("_xt_method", node.value, ast.Constant(value=node.attr))
            return ast.copy_location(call, node)
        return node

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id == "str" and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Name(id="_xt_str", ctx=ast.Load()), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.Call:
        if isinstance(node.func, ast.Name) and node.func.id == "isinstance" and node.args:
            # The class argument stays the real `str`: isinstance needs a type.
            node.args[0] = self.visit(node.args[0])
            node.args[1:] = [_keep_classes(self, a) for a in node.args[1:]]
            node.keywords = [self.visit(k) for k in node.keywords]
            return node
        self.generic_visit(node)
        return node

    def visit_MatchClass(self, node: ast.MatchClass) -> ast.MatchClass:
        node.patterns = [self.visit(p) for p in node.patterns]
        node.kwd_patterns = [self.visit(p) for p in node.kwd_patterns]
        return node


def _keep_classes(transformer: _Guards, node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Name):
        return node
    if isinstance(node, ast.Tuple):
        node.elts = [_keep_classes(transformer, e) for e in node.elts]
        return node
    result: ast.expr = transformer.visit(node)
    return result


@lru_cache(maxsize=2048)
def compile_guarded(source: str, mode: str) -> CodeType:
    """Gate, rewrite and compile BPMN code (cached: the same source is checked once).

    The file name stays `<string>`: SpiffWorkflow finds the failing line by it.

    Raises:
        UnsafeScript: when the gate refuses the code.
    """
    check_source(source, mode)
    tree = _Guards().visit(ast.parse(source, mode=mode))
    ast.fix_missing_locations(tree)
    return compile(tree, "<string>", mode)
