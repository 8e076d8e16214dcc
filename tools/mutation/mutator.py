"""A small AST mutator: mutation sites of a Python module and the module text with one applied.

Operators: arithmetic swaps (+ -, * /, ** -> *), comparison flips (< <=, == !=, is / is not,
in / not in), boolean swaps (and / or, not x -> x), a dropped unary minus, constant tweaks
(ints +1, floats x2 or 0 -> 1, True / False), flipped predicate strings ("<" -> "<=", as
llvmlite's icmp/fcmp take them), dropped statements (calls, augmented
assignments, stores into subscripts or attributes) and the first two positional arguments
of a call swapped. Strings, docstrings, annotations, raise and assert statements are left
alone (messages are not behaviour). A site is named by its function, its kind and the code
before and after, so a list of equivalent mutants survives unrelated edits.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass

BINOPS: dict[type, type] = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div,
                            ast.Div: ast.Mult, ast.Pow: ast.Mult, ast.FloorDiv: ast.Div,
                            ast.Mod: ast.FloorDiv}
CMPOPS: dict[type, type] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                            ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot,
                            ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
# comparison predicates passed as strings (llvmlite's icmp/fcmp): flipped like comparisons
PREDICATES = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
# calls whose operands are not interchangeable values: swapping them only raises TypeError
NO_SWAP_CALLS = {"isinstance", "issubclass", "getattr", "hasattr", "setattr", "range", "super"}
# calls whose first two operands commute: swapping them is an equivalent mutant
COMMUTATIVE_CALLS = {"add", "mul", "and_", "or_", "xor", "fadd", "fmul", "maximum", "minimum",
                     "multiply", "logical_and", "logical_or", "equal", "not_equal", "max", "min"}
NO_TWEAK_KEYWORDS = {"strict"}  # zip(strict=...): a check, not behaviour
SKIPPED_STATEMENTS = (ast.Raise, ast.Assert, ast.Import, ast.ImportFrom, ast.Global,
                      ast.Nonlocal)


@dataclass(frozen=True)
class Site:
    """One mutation: ``index`` in the module's walk order, and how to name it."""

    path: str
    index: int
    line: int
    end_line: int
    scope: str  # enclosing function or class qualname; "<module>" at top level
    kind: str
    before: str
    after: str
    context: str = ""  # the enclosing expression, for small sites (a constant, a predicate)
    occurrence: int = 1  # among sites of the same scope, kind, code and context

    @property
    def key(self) -> str:
        """A name stable under unrelated edits (no line numbers)."""
        where = f" in {self.context}" if self.context else ""
        nth = f" #{self.occurrence}" if self.occurrence > 1 else ""
        return f"{self.path}::{self.scope}: {self.kind}: {self.before} -> {self.after}{where}{nth}"


def _constant_tweak(value: object) -> object | None:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return 1.0 if value == 0 else value * 2
    return None


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _droppable(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Expr):
        return isinstance(stmt.value, ast.Call)
    if isinstance(stmt, ast.AugAssign):
        return True
    if isinstance(stmt, ast.Assign):
        return all(isinstance(t, (ast.Subscript, ast.Attribute)) for t in stmt.targets)
    return False


def _swappable(call: ast.Call) -> bool:
    if len(call.args) < 2 or any(isinstance(a, ast.Starred) for a in call.args[:2]):
        return False
    if isinstance(call.func, ast.Name) and call.func.id in NO_SWAP_CALLS | COMMUTATIVE_CALLS:
        return False
    if isinstance(call.func, ast.Attribute) and call.func.attr in COMMUTATIVE_CALLS:
        return False
    if any(_string_like(a) for a in call.args[:2]):  # names and messages, not operands
        return False
    return ast.dump(call.args[0]) != ast.dump(call.args[1])


def _string_like(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


class _Walker:
    """Visits a module in a fixed order, yielding (node, kind, mutate) for each site."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree

    def sites(self) -> Iterator[tuple[ast.AST, str, str, object]]:
        self.parents: dict[int, ast.AST] = {}
        yield from self._visit(self.tree, "<module>")

    def _visit(self, node: ast.AST, scope: str) -> Iterator[tuple[ast.AST, str, str, object]]:
        for child in ast.iter_child_nodes(node):
            self.parents[id(child)] = node
        if isinstance(node, ast.Constant) and node.value in PREDICATES:
            yield node, scope, "predicate", PREDICATES[node.value]
            return
        if isinstance(node, SKIPPED_STATEMENTS) or _string_like(node):
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = node.name if scope == "<module>" else f"{scope}.{node.name}"
            for child in node.body:  # decorators, arguments and annotations stay
                yield from self._visit(child, scope)
            return
        if isinstance(node, (ast.AnnAssign,)):
            if node.value is not None:
                yield from self._visit(node.value, scope)
            return
        yield from self._own(node, scope)
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns", "type_comment"):
                continue
            if isinstance(node, ast.keyword) and node.arg in NO_TWEAK_KEYWORDS:
                continue
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, ast.AST) and not _is_docstring(child, node):
                    yield from self._visit(child, scope)

    def _own(self, node: ast.AST, scope: str) -> Iterator[tuple[ast.AST, str, str, object]]:
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            if not (isinstance(node.op, ast.Mod) and _string_like(node.left)):
                yield node, scope, "arith", BINOPS[type(node.op)]
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in CMPOPS:
            yield node, scope, "compare", CMPOPS[type(node.ops[0])]
        elif isinstance(node, ast.BoolOp):
            yield node, scope, "boolean", ast.Or if isinstance(node.op, ast.And) else ast.And
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            yield node, scope, "unary", None
        elif isinstance(node, ast.Constant) and _constant_tweak(node.value) is not None:
            yield node, scope, "constant", _constant_tweak(node.value)
        elif isinstance(node, ast.Call) and _swappable(node):
            yield node, scope, "swap-args", None
        if isinstance(node, ast.stmt) and _droppable(node):
            yield node, scope, "drop", None


def _apply(node: ast.AST, kind: str, arg: object) -> ast.AST:
    """The replacement of ``node`` (a new node; the tree is a private copy)."""
    if kind == "arith":
        node.op = arg()
    elif kind == "compare":
        node.ops = [arg()]
    elif kind == "boolean":
        node.op = arg()
    elif kind == "unary":
        return node.operand
    elif kind in ("constant", "predicate"):
        node.value = arg
    elif kind == "swap-args":
        node.args[0], node.args[1] = node.args[1], node.args[0]
    elif kind == "drop":
        return ast.copy_location(ast.Pass(), node)
    return node


def _short(node: ast.AST) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= 70 else text[:67] + "..."


SMALL_KINDS = ("constant", "predicate", "unary")


def list_sites(path: str, source: str) -> list[Site]:
    """Every mutation site of ``source`` (the module at ``path``), in walk order."""
    out, seen = [], {}
    walker = _Walker(ast.parse(source))
    for i, (node, scope, kind, arg) in enumerate(walker.sites()):
        before = _short(node)
        after = _short(_apply(copy.deepcopy(node), kind, arg)) if kind != "drop" else "pass"
        parent = walker.parents.get(id(node))
        context = _short(parent) if kind in SMALL_KINDS and isinstance(parent, ast.expr) else ""
        base = (scope, kind, before, after, context)
        seen[base] = seen.get(base, 0) + 1
        out.append(Site(path, i, node.lineno, node.end_lineno or node.lineno, scope, kind,
                        before, after, context, seen[base]))
    return out


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, new: ast.AST) -> None:
        self.target, self.new = target, new

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.new
        return super().visit(node)


def mutate(source: str, index: int) -> str:
    """``source`` with mutation ``index`` applied (as list_sites numbers them)."""
    tree = ast.parse(source)
    for i, (node, _, kind, arg) in enumerate(_Walker(tree).sites()):
        if i == index:
            new = _apply(copy.deepcopy(node), kind, arg)
            return ast.unparse(ast.fix_missing_locations(_Replace(node, new).visit(tree)))
    raise IndexError(f"no mutation site {index}")
