"""The rewrite engine: (pattern, function) rules applied to a fixed point.

A pattern is data: ``P("log", P("softmax", X))`` matches ``log(softmax(x))`` and binds ``x``.
``X``/``Y``/``Var(name)`` bind any value, ``Lit(0.0)`` matches a constant whose elements all
equal 0. Commutative ops are tried in both operand orders. A rule's function receives the
match and an Emitter positioned at the root node and returns the replacement value or None
(declined). A replacement must have exactly the root's type, so a rule can never change a
shape or dtype by accident (``x + zeros[4,4]`` with x: [4] stays as is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphc.ir.emit import Emitter
from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Node, Value
from graphc.passes.util import Rewriter, rewrite_loc, splat_value

MAX_SWEEPS = 32


@dataclass(frozen=True)
class Var:
    """Matches any value (optionally one satisfying ``where``) and binds it to ``name``."""

    name: str
    where: Callable[[Value], bool] | None = None


@dataclass(frozen=True)
class Lit:
    """Matches a constant whose elements all equal ``value``."""

    value: float


@dataclass(frozen=True)
class P:
    """Matches a node of op ``op`` (a name or a tuple of names) whose operands match ``args``.

    ``name`` binds the node itself (for its attributes); ``where`` filters on the node.
    """

    op: str | tuple[str, ...]
    args: tuple[Any, ...] = ()
    name: str | None = None
    where: Callable[[Node], bool] | None = None

    def __init__(self, op: str | tuple[str, ...], *args: Any, name: str | None = None,
                 where: Callable[[Node], bool] | None = None) -> None:
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "where", where)

    @property
    def ops(self) -> tuple[str, ...]:
        """The op names this pattern's root accepts."""
        return (self.op,) if isinstance(self.op, str) else self.op


X, Y = Var("x"), Var("y")


@dataclass
class Match:
    """Bindings of a successful match: ``m["x"]`` is a value, ``m.node("sm")`` a node."""

    root: Node
    values: dict[str, Value] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Value:
        return self.values[name]

    def node(self, name: str) -> Node:
        """The node bound to ``name`` by ``P(..., name=...)``."""
        return self.nodes[name]


RuleFn = Callable[[Match, Emitter], Value | None]


@dataclass(frozen=True)
class Rule:
    """A named rewrite: when ``pattern`` matches, ``fn`` builds the replacement."""

    name: str
    pattern: P
    fn: RuleFn


def match(pat: Any, v: Value, m: Match) -> bool:
    """Whether value ``v`` matches ``pat``, extending ``m``'s bindings."""
    if isinstance(pat, Var):
        if pat.where is not None and not pat.where(v):
            return False
        bound = m.values.setdefault(pat.name, v)
        return bound is v
    if isinstance(pat, Lit):
        return splat_value(v) == pat.value
    if v.node is None or len(v.node.outputs) != 1:
        return False
    return match_node(pat, v.node, m)


def match_node(pat: P, node: Node, m: Match) -> bool:
    """Whether ``node`` matches ``pat`` (operands in order, or swapped if commutative)."""
    if node.op.name not in pat.ops or (pat.args and len(node.inputs) != len(pat.args)):
        return False
    if pat.where is not None and not pat.where(node):
        return False
    orders = [node.inputs]
    if node.op.commutative and len(node.inputs) == 2:
        orders.append(node.inputs[::-1])
    for operands in orders:
        trial = Match(m.root, dict(m.values), dict(m.nodes))
        if all(match(a, v, trial) for a, v in zip(pat.args, operands, strict=False)):
            if pat.name:
                trial.nodes[pat.name] = node
            m.values, m.nodes = trial.values, trial.nodes
            return True
    return False


class RuleSet:
    """Rules indexed by the op at their root."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.by_op: dict[str, list[Rule]] = {}
        for r in rules:
            for op in r.pattern.ops:
                self.by_op.setdefault(op, []).append(r)

    def names(self) -> list[str]:
        """Rule names, in order (for messages)."""
        return [r.name for r in self.rules]


def _try_rules(rules: RuleSet, node: Node, graph: Graph) -> Value | None:
    for rule in rules.by_op.get(node.op.name, ()):
        m = Match(node)
        if not match_node(rule.pattern, node, m):
            continue
        mark = len(graph.nodes)
        try:
            new = rule.fn(m, Emitter(graph, rewrite_loc(node.loc, rule.name)))
        except GraphcError:
            new = None  # e.g. a replacement op refused these operands: the rule does not apply
        if new is not None and new.type == node.outputs[0].type and new is not node.outputs[0]:
            return new
        del graph.nodes[mark:]  # a declined rule leaves nothing behind
    return None


def _sweep(graph: Graph, rules: RuleSet) -> int:
    rw = Rewriter(graph)
    fired = 0
    for node in rw.walk():
        new = _try_rules(rules, node, graph) if len(node.outputs) == 1 else None
        if new is not None:
            rw.replace(node, [new])
            fired += 1
    rw.finish()
    return fired


def apply_rules(graph: Graph, rules: RuleSet, max_sweeps: int = MAX_SWEEPS) -> int:
    """Rewrite ``graph`` in place until no rule fires; returns the number of rewrites."""
    total = 0
    for _ in range(max_sweeps):
        fired = _sweep(graph, rules)
        total += fired
        if not fired:
            return total
    raise GraphcError(f"rewrites did not reach a fixed point in {max_sweeps} sweeps "
                      f"(rules: {', '.join(rules.names())})")
