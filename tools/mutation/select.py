"""Static test selection: which op a mutation site belongs to, and the tests to run for it.

Coverage (covplugin.py) is exact but needs one traced run of every test, which a busy 2-core
machine cannot afford; this picks tests from the code instead. For the op catalogue and the
llvm lowering, a site belongs to the ops its top-level statement names (a string "exp", an
attribute ops.exp, a decorator @lowers(ops.exp)), or, for a helper, to the ops of the
statements that use the helper; the table-driven tests then run with ``-k`` on those names.
"""

from __future__ import annotations

import ast
from functools import cache

from tools.mutation import config
from tools.mutation.mutator import Site

MAX_OPS = 6  # a helper used by many ops: a few of them are enough to kill a broken helper


@cache
def op_names() -> frozenset[str]:
    """Every registered op."""
    import graphc  # noqa: F401  (fills the registry)
    from graphc.ir.opdef import REGISTRY

    return frozenset(REGISTRY)


def _mentions(stmt: ast.AST, names: frozenset[str]) -> set[str]:
    found = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Constant) and node.value in names:
            found.add(node.value)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "ops" and node.attr in names:
            found.add(node.attr)
    return found


def _defined(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, ast.Assign):
        return {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    return set()


def _uses(stmt: ast.stmt, defined: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in defined for n in ast.walk(stmt))


def ops_of(tree: ast.Module, line: int, names: frozenset[str]) -> list[str]:
    """The ops the top-level statement at ``line`` belongs to (through up to 3 helpers)."""
    top = [s for s in tree.body if s.lineno <= line <= (s.end_lineno or s.lineno)]
    frontier, seen, found = top, set(), set()
    for _ in range(4):
        nxt = []
        for stmt in frontier:
            if id(stmt) in seen:
                continue
            seen.add(id(stmt))
            mine = _mentions(stmt, names)
            found |= mine
            if not mine and _defined(stmt):
                nxt += [s for s in tree.body if s is not stmt and _uses(s, _defined(stmt))]
        if found or not nxt:
            break
        frontier = nxt
    return sorted(found)[:MAX_OPS]


@cache
def _tree(path: str, source: str) -> ast.Module:
    return ast.parse(source)


def tests_for(site: Site, source: str, fallback: list[str]) -> list[list[str]]:
    """Pytest runs for ``site`` (each a list of arguments; the next runs if one passes): the
    group's files with ``-k`` on the site's ops, then the group's second run."""
    group = config.GROUPS.get(site.path)
    if group is None:
        return [list(fallback)]
    files, prefix, then = group
    ops = ops_of(_tree(site.path, source), site.line, op_names())
    if not ops:
        return [list(fallback)] + ([then] if then else [])
    expr = " or ".join(ops)
    first = [*files, "-k", f"{prefix} and ({expr})" if prefix else expr]
    return [first] + ([then] if then else [])
