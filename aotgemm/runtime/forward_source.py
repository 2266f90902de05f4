"""A module class's forward read from its own source, and an edited copy of it compiled: the mechanism of
runtime/fuse_transformers.py's rewrites (what they recognise and change, the rules, stay there).

transformers writes the structure aotgemm fuses (which projections a forward calls on one input, where a decoder
layer adds its residual) only in its forwards' code, so the fusions read that code: `parsed` gives the AST of the
forward under any run-time wrapper, `compiled` compiles an edited AST in the original's globals, `body_text`
gives a forward's body as text for a pattern to match.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap


def parsed(cls: type):
    """(cls.forward under any run-time wrapper, its module's AST, the FunctionDef), or None where the source
    cannot be read or parsed, or uses zero-argument super() / __class__ (no cell for them in a recompiled
    function). transformers 5 wraps decoder and attention forwards at run time, in other modules: the
    unwrapped function's globals are the ones its source names."""
    try:
        inner = inspect.unwrap(cls.forward)
        src = textwrap.dedent(inspect.getsource(inner))
        tree = ast.parse(src)
    except (OSError, TypeError, SyntaxError, ValueError):
        return None
    f = tree.body[0] if tree.body else None
    if not isinstance(f, ast.FunctionDef) or "super()" in src or "__class__" in src:
        return None
    return inner, tree, f


def compiled(cls: type, inner, tree, f, what: str):
    """The rewritten FunctionDef `f` of `tree` compiled in a copy of the original's globals (its decorators
    applied again)."""
    ast.fix_missing_locations(tree)
    code = compile(tree, f"<aotgemm: {cls.__qualname__}.forward, {what}>", "exec")
    scope: dict = {}
    exec(code, dict(inner.__globals__), scope)  # noqa: S102 - the class's own, checked source
    return scope.get(f.name)


def self_calls(f: ast.FunctionDef, attr: str) -> list[ast.Call]:
    """The calls `self.<attr>(..)` in f."""
    return [n for n in ast.walk(f) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == attr and isinstance(n.func.value, ast.Name) and n.func.value.id == "self"]


def is_name(node, name: str | None = None) -> bool:
    """Whether node is a bare name (`name`, where given)."""
    return isinstance(node, ast.Name) and (name is None or node.id == name)


def body_text(cls: type) -> str:
    """cls.forward's body as one string with comments, docstrings and all whitespace removed ("" where the source
    cannot be read), for a pattern of the whole body to match."""
    try:
        body = inspect.getsource(cls.forward).split(":", 1)[1]
    except (OSError, TypeError, IndexError):
        return ""
    body = re.sub(r"#.*", "", body)
    body = re.sub(r'"""[\s\S]*?"""', "", body)
    return re.sub(r"\s+", "", body)
